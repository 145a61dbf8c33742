//! Decoding one 30 s window: greedy search with OpenAI's logit filters
//! (`SuppressBlank`, `SuppressTokens`, `ApplyTimestampRules` in
//! <https://github.com/openai/whisper/blob/main/whisper/decoding.py>), and
//! cutting the result into timestamped segments as `transcribe.py` does.
//!
//! The filters work on a plain `Vec<f32>` of logits: one row per step, a few
//! tens of thousands of floats, cheaper on the host than as tensor ops.

use super::tokens::SpecialTokens;

/// Seconds per timestamp token.
pub const TIME_PRECISION: f64 = 0.02;
/// Latest timestamp allowed as the first token of a window, in timestamp
/// steps (OpenAI's `max_initial_timestamp = 1.0` s).
const MAX_INITIAL_TIMESTAMP_INDEX: u32 = 50;

/// The fixed suppression lists of a model.
#[derive(Debug, Clone, Default)]
pub struct Suppression {
    /// Always suppressed (non-speech symbols plus the task/start tokens).
    pub always: Vec<u32>,
    /// Suppressed at the first sampled position only (blank, end-of-text).
    pub at_begin: Vec<u32>,
}

/// What decoding one window produced.
#[derive(Debug, Clone)]
pub struct WindowResult {
    /// Sampled tokens, without the final end-of-text.
    pub tokens: Vec<u32>,
    /// Sum of the log-probabilities of the sampled tokens (end-of-text
    /// included), from the logits before any temperature scaling, as OpenAI
    /// sums them.
    pub sum_logprob: f64,
    /// Probability of `<|nospeech|>` at the start-of-transcript position.
    pub no_speech_prob: f32,
    /// Temperature the window was decoded at (0 = greedy).
    pub temperature: f32,
    /// zlib compression ratio of the window's text (see
    /// [`super::compression_ratio`]); filled in by the fallback loop.
    pub compression_ratio: f64,
}

impl WindowResult {
    /// OpenAI's `avg_logprob`: the sum divided by (tokens + 1) for the end-of-text.
    pub fn avg_logprob(&self) -> f64 {
        self.sum_logprob / (self.tokens.len() + 1) as f64
    }
}

/// Applies the per-step logit rules; `sampled` are the tokens sampled so far
/// in this window (after the prompt and start sequence).
#[derive(Debug)]
pub struct LogitFilter<'a> {
    pub specials: &'a SpecialTokens,
    pub suppression: &'a Suppression,
    /// Whether the window is decoded with timestamp tokens. Without them
    /// (`<|notimestamps|>` in the prompt) the timestamp rules do not apply
    /// and timestamp tokens are suppressed, so the window is text only.
    pub timestamps: bool,
}

fn set(logits: &mut [f32], range: std::ops::Range<usize>) {
    let end = range.end.min(logits.len());
    let start = range.start.min(end);
    logits[start..end].fill(f32::NEG_INFINITY);
}

fn suppress(logits: &mut [f32], id: u32) {
    if let Some(l) = logits.get_mut(id as usize) {
        *l = f32::NEG_INFINITY;
    }
}

/// `log_softmax` of a row.
pub fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let log_sum = crate::cpu::rows::log_sum_exp(logits);
    if log_sum == f32::NEG_INFINITY {
        return vec![f32::NEG_INFINITY; logits.len()];
    }
    logits.iter().map(|&l| l - log_sum).collect()
}

/// The log-probability of token `id` under `softmax(logits)`, without the
/// whole row of them (a greedy step needs only the one it picked).
pub fn log_probability(logits: &[f32], id: u32) -> f32 {
    let log_sum = crate::cpu::rows::log_sum_exp(logits);
    match logits.get(id as usize) {
        Some(&l) if log_sum > f32::NEG_INFINITY => l - log_sum,
        _ => f32::NEG_INFINITY,
    }
}

impl LogitFilter<'_> {
    /// Apply every rule to `logits` in place, in OpenAI's order.
    pub fn apply(&self, logits: &mut [f32], sampled: &[u32]) {
        let st = self.specials;
        // SuppressBlank: the first token must not be a space or end-of-text.
        if sampled.is_empty() {
            for &id in &self.suppression.at_begin {
                suppress(logits, id);
            }
        }
        // SuppressTokens.
        for &id in &self.suppression.always {
            suppress(logits, id);
        }
        if self.timestamps {
            self.timestamp_rules(logits, sampled, st);
        } else {
            // OpenAI leaves timestamp tokens unsuppressed here (the model
            // rarely emits them after <|notimestamps|>); suppressing them
            // keeps a text-only window free of stray times.
            suppress(logits, st.no_timestamps);
            set(logits, st.timestamp_begin as usize..logits.len());
        }
    }

    /// `ApplyTimestampRules`: timestamps come in pairs around text, never go
    /// backwards, and win when their total probability beats any text token.
    fn timestamp_rules(&self, logits: &mut [f32], sampled: &[u32], st: &SpecialTokens) {
        let ts = st.timestamp_begin as usize;
        let eot = st.eot as usize;
        suppress(logits, st.no_timestamps);

        let last_was_ts = sampled.last().is_some_and(|&t| st.is_timestamp(t));
        let penultimate_was_ts = sampled.len() < 2 || st.is_timestamp(sampled[sampled.len() - 2]);
        if last_was_ts {
            if penultimate_was_ts {
                // Two timestamps in a row closed a segment: text must follow.
                set(logits, ts..logits.len());
            } else {
                // An open segment: the next token is its closing timestamp or end-of-text.
                set(logits, 0..eot);
            }
        }

        if let Some(&last_ts) = sampled.iter().rev().find(|&&t| st.is_timestamp(t)) {
            // Monotonic; a closing timestamp may equal the opening one only
            // when it directly follows it (which the rule above forbids), so
            // anything after text must move forward.
            let bound = if last_was_ts && !penultimate_was_ts {
                last_ts
            } else {
                last_ts + 1
            };
            set(logits, ts..bound as usize);
        }

        if sampled.is_empty() {
            // A window starts with a timestamp, within its first second.
            set(logits, 0..ts);
            set(
                logits,
                ts + MAX_INITIAL_TIMESTAMP_INDEX as usize + 1..logits.len(),
            );
        }

        // If the timestamps together are likelier than any single text
        // token, sample a timestamp. OpenAI compares log-probabilities;
        // both sides carry the same normaliser, so the logits compare the
        // same without the whole vocabulary's log-softmax.
        if ts < logits.len() {
            let (text, stamps) = logits.split_at(ts);
            let max_text = crate::cpu::rows::maximum(text);
            let stamps_together = crate::cpu::rows::log_sum_exp(stamps);
            if stamps_together > f32::NEG_INFINITY && stamps_together > max_text {
                set(logits, 0..ts);
            }
        }
    }
}

/// A small seeded generator (SplitMix64) for sampling at temperature > 0.
/// The same seed gives the same transcript, so a sampled result can be
/// reproduced; picking one token from a softmax needs no more than this.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Draw a token from `softmax(logits / temperature)` (OpenAI's
/// `Categorical(logits=logits / temperature).sample()`); suppressed
/// (−∞) tokens are never drawn. A temperature of 0 or less is `argmax`.
pub fn sample(logits: &[f32], temperature: f32, rng: &mut SplitMix64) -> u32 {
    if temperature <= 0.0 {
        return argmax(logits);
    }
    let max = crate::cpu::rows::maximum(logits);
    if max == f32::NEG_INFINITY {
        return argmax(logits);
    }
    let t = f64::from(temperature);
    let weights: Vec<f64> = logits
        .iter()
        .map(|&l| (f64::from(l - max) / t).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut target = rng.next_f64() * total;
    for (i, &w) in weights.iter().enumerate() {
        if w > 0.0 && target < w {
            return i as u32;
        }
        target -= w;
    }
    // Rounding left the target past the end: the last possible token.
    weights
        .iter()
        .rposition(|&w| w > 0.0)
        .map_or_else(|| argmax(logits), |i| i as u32)
}

/// Index of the largest value (the first on ties; NaNs are passed over),
/// as `argmax` does.
pub fn argmax(values: &[f32]) -> u32 {
    // The maximum in vector lanes, then the first chunk holding it: a
    // running index is a dependency chain the compiler keeps scalar, and a
    // greedy step asks this of the whole vocabulary.
    const CHUNK: usize = 64;
    let max = crate::cpu::rows::maximum(values);
    for (c, chunk) in values.chunks(CHUNK).enumerate() {
        if chunk.iter().fold(false, |found, &v| found | (v == max)) {
            let at = chunk.iter().position(|&v| v == max).unwrap_or(0);
            return (c * CHUNK + at) as u32;
        }
    }
    // Empty, or nothing but NaN.
    0
}

/// A segment cut from a window's tokens, times in seconds from the start of the audio.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSegment {
    pub start: f64,
    pub end: f64,
    /// The segment's tokens, timestamps included.
    pub tokens: Vec<u32>,
}

/// Cut a window's tokens into segments at consecutive timestamp pairs and say
/// how many mel frames to advance (`transcribe.py`, the block after
/// `decode_with_fallback`). `segment_frames` is how many frames of real audio
/// the window held; `frames_per_token` is 2 (3000 frames / 1500 positions).
pub fn split_segments(
    tokens: &[u32],
    st: &SpecialTokens,
    time_offset: f64,
    segment_frames: usize,
    frames_per_token: usize,
) -> (Vec<RawSegment>, usize) {
    let is_ts: Vec<bool> = tokens.iter().map(|&t| st.is_timestamp(t)).collect();
    let at = |i: usize| f64::from(tokens[i] - st.timestamp_begin) * TIME_PRECISION;
    let n = tokens.len();
    let single_timestamp_ending = n >= 2 && !is_ts[n - 2] && is_ts[n - 1];
    // Slice ends: just after the first of every two consecutive timestamps.
    let mut cuts: Vec<usize> = (1..n).filter(|&i| is_ts[i - 1] && is_ts[i]).collect();
    let mut segments = Vec::new();
    if !cuts.is_empty() {
        if single_timestamp_ending {
            cuts.push(n);
        }
        let mut last = 0;
        for &cut in &cuts {
            let slice = &tokens[last..cut];
            // Both ends of a slice are timestamps by construction, except a
            // first slice that starts with text (the rules forbid it, but a
            // model folder may not follow them): treat that start as 0.
            let start = if is_ts[last] { at(last) } else { 0.0 };
            let end = if is_ts[cut - 1] { at(cut - 1) } else { start };
            segments.push(RawSegment {
                start: time_offset + start,
                end: time_offset + end,
                tokens: slice.to_vec(),
            });
            last = cut;
        }
        let advance = if single_timestamp_ending {
            segment_frames
        } else {
            // Seek to the last complete timestamp, so speech cut by the
            // window's end is decoded again from its start in the next window.
            let last_ts = tokens[last - 1].saturating_sub(st.timestamp_begin) as usize;
            last_ts * frames_per_token
        };
        (segments, advance)
    } else {
        let mut duration =
            segment_frames as f64 * super::mel::HOP_LENGTH as f64 / super::mel::SAMPLE_RATE as f64;
        if let Some(i) = (0..n).rev().find(|&i| is_ts[i])
            && tokens[i] != st.timestamp_begin
        {
            duration = at(i);
        }
        segments.push(RawSegment {
            start: time_offset,
            end: time_offset + duration,
            tokens: tokens.to_vec(),
        });
        (segments, segment_frames)
    }
}

/// A text-only piece longer than this many tokens is cut again at a
/// clause mark: about ten seconds of speech, the length a subtitle cue or
/// a segment of timestamped decoding rarely exceeds.
pub const MAX_PIECE_TOKENS: usize = 40;
/// Neither side of a clause cut may be shorter than this many tokens.
const MIN_PIECE_TOKENS: usize = 4;
/// Words whose full stop ends no sentence.
const ABBREVIATIONS: [&str; 12] = [
    "Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "St.", "Jr.", "Sr.", "vs.", "etc.", "e.g.", "i.e.",
];

/// Cut one window's text-only segment (decoded after `<|notimestamps|>`)
/// into sentences, and sentences longer than [`MAX_PIECE_TOKENS`] at the
/// clause mark nearest their middle, so its words can be timed as several
/// segments rather than one spanning the window. `texts[i]` is the decoded
/// text of `piece.tokens[i]`. Each piece keeps the parent's times: word
/// alignment gives them their own. A cut falls after a token ending in
/// sentence (or clause) punctuation, closing quotes aside, when the next
/// token starts a word — so "3.5" or "U.S." stay whole.
pub fn sentence_pieces(piece: &RawSegment, texts: &[String]) -> Vec<RawSegment> {
    let n = piece.tokens.len().min(texts.len());
    let ends_with = |i: usize, marks: &[char]| {
        let text = texts[i]
            .trim_end()
            .trim_end_matches(['"', '\'', ')', ']', '»', '”', '’']);
        text.ends_with(marks)
    };
    let starts_word = |i: usize| {
        texts
            .get(i)
            .is_some_and(|t| t.starts_with(char::is_whitespace))
    };
    // The word token `i` ends: back to the token that starts it.
    let word_ending_at = |i: usize| {
        let first = (0..=i).rev().find(|&j| starts_word(j)).unwrap_or(0);
        texts[first..=i].concat()
    };
    let sentence_end = ['.', '?', '!', '…', '。', '？', '！'];
    let clause_mark = [',', ';', ':', '，', '、', '；'];

    let mut cuts = vec![0];
    cuts.extend((1..n).filter(|&i| {
        ends_with(i - 1, &sentence_end)
            && starts_word(i)
            && !ABBREVIATIONS.contains(&word_ending_at(i - 1).trim())
    }));
    cuts.push(n);
    let mut ranges: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
    // Long sentences split at the clause mark nearest their middle, again
    // and again until every piece fits or has no mark left to cut at.
    let mut i = 0;
    while let Some(&(start, end)) = ranges.get(i) {
        let middle = (start + end) / 2;
        let cut = (end - start > MAX_PIECE_TOKENS)
            .then(|| {
                (start + MIN_PIECE_TOKENS..=end.saturating_sub(MIN_PIECE_TOKENS))
                    .filter(|&c| ends_with(c - 1, &clause_mark) && starts_word(c))
                    .min_by_key(|&c| c.abs_diff(middle))
            })
            .flatten();
        match cut {
            Some(c) => {
                ranges[i] = (start, c);
                ranges.insert(i + 1, (c, end));
            }
            None => i += 1,
        }
    }
    let mut pieces: Vec<RawSegment> = ranges
        .into_iter()
        .filter(|&(start, end)| end > start)
        .map(|(start, end)| RawSegment {
            start: piece.start,
            end: piece.end,
            tokens: piece.tokens[start..end].to_vec(),
        })
        .collect();
    // Tokens past the texts (none, when called as documented) stay on the last piece.
    if let Some(last) = pieces.last_mut() {
        last.tokens.extend_from_slice(&piece.tokens[n..]);
    }
    if pieces.is_empty() {
        pieces.push(piece.clone());
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece_of(texts: &[&str]) -> (RawSegment, Vec<String>) {
        let piece = RawSegment {
            start: 1.0,
            end: 29.0,
            tokens: (0..texts.len() as u32).collect(),
        };
        (piece, texts.iter().map(|t| (*t).to_owned()).collect())
    }

    fn joined(pieces: &[RawSegment], texts: &[String]) -> Vec<String> {
        pieces
            .iter()
            .map(|p| {
                p.tokens
                    .iter()
                    .map(|&t| texts[t as usize].as_str())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn text_only_pieces_are_cut_at_sentence_ends_only_before_a_new_word() {
        let (piece, texts) = piece_of(&[
            " It", " was", " 3", ".", "5", " metres", ".", " Was", " it", "?\"", " Mr", ".",
            " Smith", " said", " yes", "!",
        ]);
        let pieces = sentence_pieces(&piece, &texts);
        assert_eq!(
            joined(&pieces, &texts),
            [" It was 3.5 metres.", " Was it?\"", " Mr. Smith said yes!"]
        );
        assert!(pieces.iter().all(|p| p.start == 1.0 && p.end == 29.0));
        // No punctuation: one piece, the parent itself.
        let (piece, texts) = piece_of(&[" go", " forward", " ten", " meters"]);
        assert_eq!(sentence_pieces(&piece, &texts), [piece]);
    }

    #[test]
    fn a_long_sentence_is_cut_at_the_clause_mark_nearest_its_middle() {
        let mut words: Vec<String> = (0..60).map(|i| format!(" w{i}")).collect();
        words[9].push(',');
        words[31].push(',');
        words[57].push(';');
        words[59].push('.');
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let (piece, texts) = piece_of(&refs);
        let pieces = sentence_pieces(&piece, &texts);
        let lengths: Vec<usize> = pieces.iter().map(|p| p.tokens.len()).collect();
        // 60 > 40: cut after w31 (nearest the middle); 32 and 28 then fit.
        assert_eq!(lengths, [32, 28]);
        assert_eq!(pieces.iter().flat_map(|p| p.tokens.clone()).count(), 60);
        // Without a clause mark a long sentence stays whole.
        let plain: Vec<String> = (0..60).map(|i| format!(" w{i}")).collect();
        let refs: Vec<&str> = plain.iter().map(String::as_str).collect();
        let (piece, texts) = piece_of(&refs);
        assert_eq!(sentence_pieces(&piece, &texts).len(), 1);
    }

    /// A toy vocabulary: text 0..10, eot 10, sot 11, languages 12..14,
    /// translate 14, transcribe 15, sot_lm 16, sot_prev 17, no_speech 18,
    /// no_timestamps 19, timestamps from 20.
    fn specials() -> SpecialTokens {
        SpecialTokens {
            eot: 10,
            sot: 11,
            sot_prev: 17,
            sot_lm: 16,
            transcribe: 15,
            translate: 14,
            no_timestamps: 19,
            no_speech: Some(18),
            timestamp_begin: 20,
            languages: vec![("en".into(), 12), ("de".into(), 13)],
        }
    }

    const VOCAB: usize = 20 + 1501;

    fn allowed(sampled: &[u32], logits: &mut [f32]) -> Vec<u32> {
        allowed_in(true, sampled, logits)
    }

    fn allowed_in(timestamps: bool, sampled: &[u32], logits: &mut [f32]) -> Vec<u32> {
        let st = specials();
        let sup = Suppression {
            always: vec![3],
            at_begin: vec![1, 10],
        };
        LogitFilter {
            specials: &st,
            suppression: &sup,
            timestamps,
        }
        .apply(logits, sampled);
        (0..logits.len() as u32)
            .filter(|&i| logits[i as usize] > f32::NEG_INFINITY)
            .collect()
    }

    #[test]
    fn first_token_is_an_early_timestamp() {
        let mut logits = vec![0.0; VOCAB];
        let ok = allowed(&[], &mut logits);
        assert_eq!(ok, (20..=70).collect::<Vec<_>>());
    }

    #[test]
    fn without_timestamps_only_text_and_eot_are_allowed() {
        // First step: no blank, no end-of-text, no timestamp.
        // (Other specials are the `always` list's business.)
        let mut logits = vec![0.0; VOCAB];
        let ok = allowed_in(false, &[], &mut logits);
        assert_eq!(ok[..8], [0, 2, 4, 5, 6, 7, 8, 9]);
        assert!(ok.iter().all(|&t| t != 10 && t < 19), "{ok:?}");
        // Later: text or end-of-text, even when timestamps are likelier.
        let mut logits = vec![5.0; VOCAB];
        logits[5] = 0.0;
        let ok = allowed_in(false, &[5], &mut logits);
        assert_eq!(ok[..9], [0, 1, 2, 4, 5, 6, 7, 8, 9]);
        assert!(ok.contains(&10) && ok.iter().all(|&t| t < 19), "{ok:?}");
    }

    #[test]
    fn text_only_window_is_one_segment_and_a_whole_window() {
        let st = specials();
        let (segs, advance) = split_segments(&[1, 2, 4], &st, 30.0, 3000, 2);
        assert_eq!(segs.len(), 1);
        assert_eq!((segs[0].start, segs[0].end), (30.0, 60.0));
        assert_eq!(segs[0].tokens, vec![1, 2, 4]);
        assert_eq!(advance, 3000);
    }

    #[test]
    fn open_segment_closes_with_a_later_timestamp_or_eot() {
        // <|0.00|> text text: text, a timestamp ≥ <|0.02|>, or eot.
        let mut logits = vec![0.0; VOCAB];
        logits[5] = 10.0; // text is likely, so timestamps do not win outright
        let ok = allowed(&[20, 5, 6], &mut logits);
        assert!(ok.contains(&5) && ok.contains(&10) && !ok.contains(&3));
        assert!(!ok.contains(&20) && ok.contains(&21));
        // <|0.00|> text <|1.00|>: the pair must close (≥ 1.00) or end.
        let mut logits = vec![0.0; VOCAB];
        let ok = allowed(&[20, 5, 70], &mut logits);
        assert!(
            ok.iter().all(|&t| t >= 10 && !(20..70).contains(&t)),
            "{ok:?}"
        );
        assert!(ok.contains(&70));
        // A closed pair: text must follow, no timestamps.
        let mut logits = vec![0.0; VOCAB];
        logits[5] = 10.0;
        let ok = allowed(&[20, 5, 70, 70], &mut logits);
        assert!(ok.iter().all(|&t| t < 20) && ok.contains(&5));
    }

    #[test]
    fn likely_timestamps_beat_text() {
        // Many timestamps each a bit less likely than the best text token,
        // but together likelier: text is suppressed.
        let mut logits = vec![0.0; VOCAB];
        logits[5] = 2.0;
        let ok = allowed(&[20, 5], &mut logits);
        assert!(ok.iter().all(|&t| t >= 21), "{ok:?}");
    }

    #[test]
    fn segments_split_at_timestamp_pairs_and_seek_to_last_pair() {
        let st = specials();
        // <|0.00|> a b <|1.00|><|1.00|> c <|2.00|><|2.00|> d  (cut mid-speech)
        let tokens = [20, 1, 2, 70, 70, 3, 120, 120, 4];
        let (segs, advance) = split_segments(&tokens, &st, 30.0, 3000, 2);
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[0].start, segs[0].end), (30.0, 31.0));
        assert_eq!(segs[0].tokens, vec![20, 1, 2, 70]);
        assert_eq!((segs[1].start, segs[1].end), (31.0, 32.0));
        // Seek to 2.00 s = 100 tokens = 200 frames, not the whole window.
        assert_eq!(advance, 200);
    }

    #[test]
    fn single_timestamp_ending_consumes_the_window() {
        let st = specials();
        let tokens = [20, 1, 70, 70, 2, 120];
        let (segs, advance) = split_segments(&tokens, &st, 0.0, 2500, 2);
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[1].start, segs[1].end), (1.0, 2.0));
        assert_eq!(advance, 2500);
    }

    #[test]
    fn no_pairs_make_one_segment() {
        let st = specials();
        let (segs, advance) = split_segments(&[20, 1, 2, 95], &st, 0.0, 1000, 2);
        assert_eq!(segs.len(), 1);
        assert_eq!((segs[0].start, segs[0].end), (0.0, 1.5));
        assert_eq!(advance, 1000);
        let (segs, _) = split_segments(&[1, 2], &st, 0.0, 1000, 2);
        assert_eq!(segs[0].end, 10.0);
    }

    #[test]
    fn sampling_is_seeded_and_follows_the_temperature() {
        let logits = [2.0, 1.0, f32::NEG_INFINITY, 0.0];
        let draw = |t: f32, seed: u64| {
            let mut rng = SplitMix64::new(seed);
            (0..4000)
                .map(|_| sample(&logits, t, &mut rng))
                .collect::<Vec<_>>()
        };
        // Reproducible with the same seed, different with another.
        assert_eq!(draw(1.0, 7), draw(1.0, 7));
        assert_ne!(draw(1.0, 7), draw(1.0, 8));
        let share = |draws: &[u32], token: u32| {
            draws.iter().filter(|&&t| t == token).count() as f64 / draws.len() as f64
        };
        let hot = draw(1.0, 1);
        assert_eq!(share(&hot, 2), 0.0, "a suppressed token is never drawn");
        // softmax([2, 1, 0]) = [0.665, 0.245, 0.090]
        assert!((share(&hot, 0) - 0.665).abs() < 0.03, "{}", share(&hot, 0));
        assert!((share(&hot, 3) - 0.090).abs() < 0.02, "{}", share(&hot, 3));
        // Colder sampling concentrates on the best token; 0 is argmax.
        assert!(share(&draw(0.2, 1), 0) > 0.95);
        assert!(draw(0.0, 1).iter().all(|&t| t == 0));
    }

    #[test]
    fn log_probabilities_match_f64() {
        // A vocabulary-sized row with suppressed tokens and no token
        // that dominates (the normaliser is far from the maximum: ~10 in
        // log terms), against the sums in f64.
        let mut logits: Vec<f32> = (0..51_865)
            .map(|i| ((i * 7919) % 1000) as f32 / 100.0 - 5.0)
            .collect();
        for i in (0..logits.len()).step_by(5) {
            logits[i] = f32::NEG_INFINITY;
        }
        let max = f64::from(logits.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        let sum: f64 = logits.iter().map(|&l| (f64::from(l) - max).exp()).sum();
        let log_sum = sum.ln() + max;
        assert!(log_sum - max > 5.0, "{log_sum} vs {max}");
        let rows = log_softmax(&logits);
        for (id, &l) in logits.iter().enumerate().step_by(97) {
            let want = f64::from(l) - log_sum;
            let got = rows[id];
            if l == f32::NEG_INFINITY {
                assert_eq!(got, f32::NEG_INFINITY);
                continue;
            }
            assert!(
                (f64::from(got) - want).abs() < 1e-5,
                "{id}: {got} vs {want}"
            );
            assert_eq!(log_probability(&logits, id as u32), got);
        }
        assert_eq!(
            log_probability(&[f32::NEG_INFINITY; 3], 1),
            f32::NEG_INFINITY
        );
        assert_eq!(log_probability(&[1.0], 5), f32::NEG_INFINITY);
        assert!(
            log_softmax(&[f32::NEG_INFINITY; 4])
                .iter()
                .all(|l| *l == f32::NEG_INFINITY)
        );
    }

    #[test]
    fn log_softmax_normalises() {
        let lp = log_softmax(&[1.0, 2.0, f32::NEG_INFINITY]);
        let total: f32 = lp.iter().map(|l| l.exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[]), 0);
        assert_eq!(argmax(&[f32::NAN, f32::NAN]), 0);
        assert_eq!(argmax(&[f32::NAN, 2.0, f32::NAN, 2.0]), 1);
        assert_eq!(argmax(&[f32::NEG_INFINITY; 3]), 0);
        // Past the first chunks and lanes, ties in later chunks.
        let mut long: Vec<f32> = (0..1000).map(|i| (i % 13) as f32).collect();
        long[700] = 50.0;
        long[901] = 50.0;
        assert_eq!(argmax(&long), 700);
    }
}
