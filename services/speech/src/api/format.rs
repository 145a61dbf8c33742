//! A [`Transcript`] written in each of OpenAI's response formats: `json`,
//! `text`, `srt`, `vtt`, `verbose_json`.
//!
//! Subtitle times are made monotonic and kept within the audio here, whatever
//! the decoder produced, because players reject cues that go backwards.

use serde::Serialize;
use stratus_models::whisper::{Task, Transcript};

use super::languages;

/// OpenAI's `usage` object for audio: billed by duration.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[schema(as = AudioUsage)]
pub struct Usage {
    /// Always `duration`.
    #[serde(rename = "type")]
    #[schema(example = "duration")]
    pub kind: &'static str,
    /// Seconds of audio, to the millisecond.
    #[schema(example = 4.2)]
    pub seconds: f64,
}

impl Usage {
    pub fn duration(seconds: f64) -> Self {
        Self {
            kind: "duration",
            seconds: round_ms(seconds),
        }
    }
}

/// `response_format=json`: the text and the audio's duration.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Transcription, example = json!({
    "text": "He was not an ill disposed young man.",
    "usage": {"type": "duration", "seconds": 4.2}
}))]
pub struct JsonBody<'a> {
    pub text: &'a str,
    pub usage: Usage,
}

/// One segment of `verbose_json`: its times in seconds and Whisper's
/// confidence measures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = TranscriptionSegment)]
pub struct VerboseSegment<'a> {
    pub id: usize,
    pub seek: usize,
    pub start: f64,
    pub end: f64,
    pub text: &'a str,
    pub tokens: &'a [u32],
    pub temperature: f32,
    pub avg_logprob: f64,
    pub compression_ratio: f64,
    pub no_speech_prob: f32,
}

/// One word of `verbose_json` (with `timestamp_granularities[]=word`).
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
#[schema(as = TranscriptionWord)]
pub struct VerboseWord<'a> {
    /// The word without Whisper's leading space, as OpenAI writes it.
    pub word: &'a str,
    pub start: f64,
    pub end: f64,
}

/// `response_format=verbose_json`: the text with its segments, the
/// language (in words, as OpenAI writes it) and the duration.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = TranscriptionVerbose)]
pub struct VerboseBody<'a> {
    /// `transcribe` or `translate`.
    #[schema(example = "transcribe")]
    pub task: &'static str,
    /// The spoken language in English words, e.g. `english`.
    #[schema(example = "english")]
    pub language: &'a str,
    pub duration: f64,
    pub text: &'a str,
    pub segments: Vec<VerboseSegment<'a>>,
    /// Present when word timestamps were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<VerboseWord<'a>>>,
    pub usage: Usage,
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// Segment times, monotonic and within `[0, duration]`.
pub fn cue_times(transcript: &Transcript) -> Vec<(f64, f64)> {
    let duration = transcript.duration.max(0.0);
    let mut previous_end = 0.0f64;
    transcript
        .segments
        .iter()
        .map(|s| {
            let start = s.start.clamp(previous_end, duration);
            let end = s.end.clamp(start, duration);
            previous_end = end;
            (start, end)
        })
        .collect()
}

/// The `verbose_json` body; `with_words` adds the `words` list.
pub fn verbose(transcript: &Transcript, task: Task, with_words: bool) -> VerboseBody<'_> {
    let times = cue_times(transcript);
    VerboseBody {
        task: match task {
            Task::Transcribe => "transcribe",
            Task::Translate => "translate",
        },
        language: languages::name_of(&transcript.language),
        duration: round_ms(transcript.duration),
        text: &transcript.text,
        segments: transcript
            .segments
            .iter()
            .zip(times)
            .map(|(s, (start, end))| VerboseSegment {
                id: s.id,
                seek: s.seek,
                start: round_ms(start),
                end: round_ms(end),
                text: &s.text,
                tokens: &s.tokens,
                temperature: s.temperature,
                avg_logprob: s.avg_logprob,
                compression_ratio: s.compression_ratio,
                no_speech_prob: s.no_speech_prob,
            })
            .collect(),
        words: with_words.then(|| {
            transcript
                .words
                .iter()
                .map(|w| VerboseWord {
                    word: w.word.trim(),
                    start: round_ms(w.start),
                    end: round_ms(w.end),
                })
                .collect()
        }),
        usage: Usage::duration(transcript.duration),
    }
}

/// `hh:mm:ss` + `sep` + milliseconds.
fn timestamp(seconds: f64, sep: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{ms:03}")
}

/// SubRip: numbered cues from 1, `,` before the milliseconds, a blank
/// line after each cue.
pub fn srt(transcript: &Transcript) -> String {
    let mut out = String::new();
    for (n, (segment, (start, end))) in transcript
        .segments
        .iter()
        .zip(cue_times(transcript))
        .enumerate()
    {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            n + 1,
            timestamp(start, ','),
            timestamp(end, ','),
            segment.text.trim()
        ));
    }
    out
}

/// WebVTT: the `WEBVTT` header, `.` before the milliseconds.
pub fn vtt(transcript: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for (segment, (start, end)) in transcript.segments.iter().zip(cue_times(transcript)) {
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            timestamp(start, '.'),
            timestamp(end, '.'),
            segment.text.trim()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_models::whisper::{Segment, Timings};

    fn transcript(times: &[(f64, f64, &str)], duration: f64) -> Transcript {
        Transcript {
            language: "en".into(),
            language_probability: None,
            segments: times
                .iter()
                .enumerate()
                .map(|(id, &(start, end, text))| Segment {
                    id,
                    seek: 0,
                    start,
                    end,
                    text: text.into(),
                    tokens: vec![],
                    avg_logprob: -0.2,
                    no_speech_prob: 0.01,
                    compression_ratio: 1.1,
                    temperature: 0.0,
                })
                .collect(),
            words: Vec::new(),
            text: String::new(),
            duration,
            timings: Timings::default(),
        }
    }

    #[test]
    fn srt_and_vtt_cues() {
        let t = transcript(&[(0.0, 2.5, " Hello."), (2.5, 3661.042, " World.")], 4000.0);
        assert_eq!(
            srt(&t),
            "1\n00:00:00,000 --> 00:00:02,500\nHello.\n\n2\n00:00:02,500 --> 01:01:01,042\nWorld.\n\n"
        );
        assert_eq!(
            vtt(&t),
            "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello.\n\n00:00:02.500 --> 01:01:01.042\nWorld.\n\n"
        );
    }

    #[test]
    fn cue_times_never_go_back_or_past_the_end() {
        let t = transcript(&[(0.0, 3.0, "a"), (2.0, 2.5, "b"), (4.0, 9.0, "c")], 5.0);
        assert_eq!(cue_times(&t), vec![(0.0, 3.0), (3.0, 3.0), (4.0, 5.0)]);
    }

    #[test]
    fn verbose_names_the_language_and_counts_usage() {
        let t = transcript(&[(0.0, 1.0, " Hi")], 1.23456);
        let body = serde_json::to_value(verbose(&t, Task::Transcribe, false)).unwrap();
        assert_eq!(body["language"], "english");
        assert_eq!(body["task"], "transcribe");
        assert_eq!(body["duration"], 1.235);
        assert_eq!(body["usage"]["type"], "duration");
        assert_eq!(body["segments"][0]["seek"], 0);
        assert!(body.get("words").is_none());
        let mut t = t;
        t.words = vec![stratus_models::whisper::align::Word {
            word: " Hi".into(),
            start: 0.12345,
            end: 0.5,
        }];
        let body = serde_json::to_value(verbose(&t, Task::Transcribe, true)).unwrap();
        assert_eq!(
            body["words"],
            serde_json::json!([{"word": "Hi", "start": 0.123, "end": 0.5}])
        );
    }
}
