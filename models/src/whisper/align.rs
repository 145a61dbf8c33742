//! Word timestamps from the decoder's cross-attention, as OpenAI's
//! `whisper/timing.py` (<https://github.com/openai/whisper/blob/main/whisper/timing.py>)
//! computes them.
//!
//! A few cross-attention heads of the decoder (the checkpoint's
//! `alignment_heads`) look at the audio frames where the token they predict
//! is spoken. After a window is decoded, its text is run through the
//! decoder once more; those heads' attention over the window's frames is
//! normalised per frame, smoothed by a median filter and averaged into one
//! token × frame matrix, and dynamic time warping over its negation finds
//! the monotonic path through it. Where the path moves to the next token is
//! where that token starts. Tokens are then grouped into words, punctuation
//! joined to its word, and implausibly long words at pauses trimmed (the
//! same heuristics as OpenAI).
//!
//! Everything here is plain arithmetic on host vectors: one matrix per
//! window, at most 224 tokens × 1500 frames.

use serde::Serialize;

/// Audio positions (encoder outputs) per second: 1500 per 30 s window.
pub const POSITIONS_PER_SECOND: f64 = 50.0;
/// Width of the median filter over frames (`medfilt_width`).
const MEDIAN_FILTER_WIDTH: usize = 7;
/// Punctuation joined to the following word (`prepend_punctuations`).
pub const PREPEND_PUNCTUATIONS: &str = "\"'\u{201c}\u{bf}([{-";
/// Punctuation joined to the preceding word (`append_punctuations`).
pub const APPEND_PUNCTUATIONS: &str =
    "\"'.\u{3002},\u{ff0c}!\u{ff01}?\u{ff1f}:\u{ff1a}\u{201d})]}\u{3001}";
/// Marks that end a sentence, for trimming long words there.
const SENTENCE_END_MARKS: &str = ".\u{3002}!\u{ff01}?\u{ff1f}";
/// Python's `string.punctuation`: a token made of these starts a new word.
const ASCII_PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// A word with its time in the audio (OpenAI's `words` entries).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Word {
    /// The word as decoded, with Whisper's leading space and any joined
    /// punctuation.
    pub word: String,
    /// Seconds from the start of the audio.
    pub start: f64,
    pub end: f64,
}

/// A word of one window with its tokens, times in seconds from the window's start.
#[derive(Debug, Clone, PartialEq)]
pub struct WordTiming {
    pub word: String,
    pub tokens: Vec<u32>,
    pub start: f64,
    pub end: f64,
}

/// The alignment matrix `[tokens × frames]` (row-major) from the raw
/// cross-attention scores of the alignment heads, each `[tokens × positions]`
/// row-major: softmax over the first `frames` positions, standardised per
/// frame across tokens, median-filtered along frames, averaged over heads.
pub fn alignment_matrix(
    heads: &[Vec<f32>],
    tokens: usize,
    positions: usize,
    frames: usize,
) -> Vec<f32> {
    let frames = frames.min(positions);
    let mut matrix = vec![0f32; tokens * frames];
    if heads.is_empty() || frames == 0 {
        return matrix;
    }
    for scores in heads {
        let mut weights = vec![0f32; tokens * frames];
        for t in 0..tokens {
            let Some(row) = scores.get(t * positions..t * positions + frames) else {
                continue;
            };
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exp: Vec<f64> = row.iter().map(|&s| f64::from(s - max).exp()).collect();
            let sum: f64 = exp.iter().sum();
            for (f, e) in exp.iter().enumerate() {
                weights[t * frames + f] = (e / sum) as f32;
            }
        }
        // Standardise each frame's column over the tokens (population std).
        for f in 0..frames {
            let column = (0..tokens).map(|t| f64::from(weights[t * frames + f]));
            let mean = column.clone().sum::<f64>() / tokens as f64;
            let var = column.map(|w| (w - mean).powi(2)).sum::<f64>() / tokens as f64;
            let std = var.sqrt().max(1e-12);
            for t in 0..tokens {
                let w = &mut weights[t * frames + f];
                *w = ((f64::from(*w) - mean) / std) as f32;
            }
        }
        for t in 0..tokens {
            let row = &mut weights[t * frames..(t + 1) * frames];
            let filtered = median_filter(row, MEDIAN_FILTER_WIDTH);
            for (m, w) in matrix[t * frames..(t + 1) * frames]
                .iter_mut()
                .zip(filtered)
            {
                *m += w / heads.len() as f32;
            }
        }
    }
    matrix
}

/// Median of each `width` (odd) neighbourhood, the edges reflected as
/// `F.pad(mode="reflect")` does; a row no longer than `width / 2` is
/// returned as it is.
pub fn median_filter(row: &[f32], width: usize) -> Vec<f32> {
    let pad = width / 2;
    let n = row.len();
    if n <= pad || pad == 0 {
        return row.to_vec();
    }
    let reflect = |i: isize| -> f32 {
        let last = n as isize - 1;
        let j = if i < 0 {
            -i
        } else if i > last {
            2 * last - i
        } else {
            i
        };
        row[j.clamp(0, last) as usize]
    };
    let mut window = vec![0f32; width];
    (0..n as isize)
        .map(|c| {
            for (k, w) in window.iter_mut().enumerate() {
                *w = reflect(c + k as isize - pad as isize);
            }
            window.sort_by(f32::total_cmp);
            window[pad]
        })
        .collect()
}

/// Dynamic time warping over `cost` (`rows × cols`, row-major): the
/// cheapest monotonic path from (0, 0) to the last cell moving right, down
/// or diagonally, as `(row, col)` pairs in order (`dtw_cpu` + `backtrace`).
pub fn dtw(cost: &[f32], rows: usize, cols: usize) -> Vec<(usize, usize)> {
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    let w = cols + 1;
    let mut acc = vec![f32::INFINITY; (rows + 1) * w];
    // 0: diagonal, 1: from the row above, 2: from the left.
    let mut trace = vec![u8::MAX; (rows + 1) * w];
    acc[0] = 0.0;
    for j in 1..=cols {
        for i in 1..=rows {
            let c0 = acc[(i - 1) * w + j - 1];
            let c1 = acc[(i - 1) * w + j];
            let c2 = acc[i * w + j - 1];
            let (c, t) = if c0 < c1 && c0 < c2 {
                (c0, 0)
            } else if c1 < c0 && c1 < c2 {
                (c1, 1)
            } else {
                (c2, 2)
            };
            acc[i * w + j] = cost[(i - 1) * cols + j - 1] + c;
            trace[i * w + j] = t;
        }
    }
    let (mut i, mut j) = (rows, cols);
    let mut path = Vec::with_capacity(rows + cols);
    while i > 0 || j > 0 {
        path.push((i.saturating_sub(1), j.saturating_sub(1)));
        let step = if i == 0 {
            2
        } else if j == 0 {
            1
        } else {
            trace[i * w + j]
        };
        match step {
            0 => {
                i -= 1;
                j -= 1;
            }
            1 => i -= 1,
            _ => j -= 1,
        }
    }
    path.reverse();
    path
}

/// Group tokens into words (`split_to_word_tokens`): first into pieces that
/// decode to whole characters (a character can span byte-level tokens), then,
/// for languages written with spaces, join pieces until one starts with a
/// space, is punctuation, or is a special token (id ≥ `eot`).
pub fn split_words<E>(
    tokens: &[u32],
    eot: u32,
    spaced: bool,
    decode: impl Fn(&[u32]) -> Result<String, E>,
) -> Result<Vec<(String, Vec<u32>)>, E> {
    let mut pieces: Vec<(String, Vec<u32>)> = Vec::new();
    let mut current = Vec::new();
    for &token in tokens {
        if token >= eot {
            if !current.is_empty() {
                pieces.push((decode(&current)?, std::mem::take(&mut current)));
            }
            pieces.push((String::new(), vec![token]));
            continue;
        }
        current.push(token);
        let text = decode(&current)?;
        // A partial character decodes to U+FFFD: wait for its other bytes
        // (but not forever, should the tokens really spell U+FFFD).
        if !text.contains('\u{fffd}') || current.len() >= 4 {
            pieces.push((text, std::mem::take(&mut current)));
        }
    }
    if !current.is_empty() {
        pieces.push((decode(&current)?, current));
    }
    if !spaced {
        return Ok(pieces);
    }
    let mut words: Vec<(String, Vec<u32>)> = Vec::new();
    for (text, ids) in pieces {
        let special = ids.first().is_some_and(|&t| t >= eot);
        let with_space = text.starts_with(' ');
        let punctuation = ASCII_PUNCTUATION.contains(text.trim());
        match words.last_mut() {
            Some((word, word_ids)) if !(special || with_space || punctuation) => {
                word.push_str(&text);
                word_ids.extend(ids);
            }
            _ => words.push((text, ids)),
        }
    }
    Ok(words)
}

/// Word times from a DTW path over the alignment matrix whose rows are the
/// positions predicting each text token and then end-of-text (`find_alignment`).
/// `words` are the word groups of the text tokens followed by end-of-text's
/// own group, which gets no timing.
pub fn word_times(path: &[(usize, usize)], words: Vec<(String, Vec<u32>)>) -> Vec<WordTiming> {
    // The time of the first path step on each row: where that token starts.
    let mut jump_times = Vec::new();
    let mut last_row = None;
    for &(row, col) in path {
        if last_row != Some(row) {
            jump_times.push(col as f64 / POSITIONS_PER_SECOND);
            last_row = Some(row);
        }
    }
    let time = |i: usize| jump_times.get(i).or(jump_times.last()).copied();
    let mut boundary = 0;
    let real = words.len().saturating_sub(1);
    words
        .into_iter()
        .take(real)
        .filter_map(|(word, tokens)| {
            let start = time(boundary)?;
            boundary += tokens.len();
            let end = time(boundary)?;
            Some(WordTiming {
                word,
                tokens,
                start,
                end,
            })
        })
        .collect()
}

/// The median duration of the words that last at all, at most 0.7 s, and
/// the longest a word may plausibly take (twice that).
pub fn duration_limits(alignment: &[WordTiming]) -> (f64, f64) {
    let mut durations: Vec<f64> = alignment
        .iter()
        .map(|w| w.end - w.start)
        .filter(|&d| d != 0.0)
        .collect();
    if durations.is_empty() {
        return (0.0, 0.0);
    }
    durations.sort_by(f64::total_cmp);
    let n = durations.len();
    let median = if n % 2 == 1 {
        durations[n / 2]
    } else {
        (durations[n / 2 - 1] + durations[n / 2]) / 2.0
    };
    let median = median.min(0.7);
    (median, median * 2.0)
}

/// Trim words longer than `max_duration` next to a sentence end: a full
/// stop does not last a second, and neither does the word after one (the
/// attention drifts into the pause).
pub fn trim_at_sentence_ends(alignment: &mut [WordTiming], max_duration: f64) {
    for i in 1..alignment.len() {
        if alignment[i].end - alignment[i].start > max_duration {
            if SENTENCE_END_MARKS.contains(alignment[i].word.as_str()) {
                alignment[i].end = alignment[i].start + max_duration;
            } else if SENTENCE_END_MARKS.contains(alignment[i - 1].word.as_str()) {
                alignment[i].start = alignment[i].end - max_duration;
            }
        }
    }
}

/// Join opening punctuation to the next word and closing punctuation to the
/// previous one (`merge_punctuations`); the emptied entries keep no word and
/// no tokens, and are skipped by the caller.
pub fn merge_punctuations(alignment: &mut [WordTiming]) {
    let n = alignment.len();
    if n < 2 {
        return;
    }
    // Opening punctuation, from the end backwards.
    let mut j = n - 1;
    for i in (0..n - 1).rev() {
        let previous = &alignment[i];
        if previous.word.starts_with(' ')
            && !previous.word.trim().is_empty()
            && PREPEND_PUNCTUATIONS.contains(previous.word.trim())
        {
            let (word, tokens) = (
                std::mem::take(&mut alignment[i].word),
                std::mem::take(&mut alignment[i].tokens),
            );
            let following = &mut alignment[j];
            following.word = word + &following.word;
            following.tokens.splice(0..0, tokens);
        } else {
            j = i;
        }
    }
    // Closing punctuation, from the start forwards.
    let mut i = 0;
    for j in 1..n {
        let following = &alignment[j];
        if !alignment[i].word.ends_with(' ')
            && !following.word.is_empty()
            && APPEND_PUNCTUATIONS.contains(following.word.as_str())
        {
            let (word, tokens) = (
                std::mem::take(&mut alignment[j].word),
                std::mem::take(&mut alignment[j].tokens),
            );
            let previous = &mut alignment[i];
            previous.word.push_str(&word);
            previous.tokens.extend(tokens);
        } else {
            i = j;
        }
    }
}

/// A segment's times and how many text tokens it holds, for [`assign_words`].
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSpan {
    pub start: f64,
    pub end: f64,
    pub text_tokens: usize,
}

/// Hand the window's words (punctuation merged, times from the window's
/// start) to its segments in order by token count, move them to
/// `time_offset`, and reconcile word and segment times the way
/// `add_word_timestamps` does: a first word after a long pause is not
/// allowed to stretch back into it, and a segment boundary wins over a
/// first or last word that runs more than half a second past it.
/// `last_speech` is the end of the previous speech, updated here.
pub fn assign_words(
    alignment: &[WordTiming],
    segments: &mut [SegmentSpan],
    time_offset: f64,
    median_duration: f64,
    max_duration: f64,
    last_speech: &mut f64,
) -> Vec<Vec<Word>> {
    let round = |t: f64| (t * 100.0).round() / 100.0;
    let mut next = 0;
    let mut out = Vec::with_capacity(segments.len());
    for segment in segments.iter_mut() {
        let mut saved = 0;
        let mut words: Vec<Word> = Vec::new();
        while next < alignment.len() && saved < segment.text_tokens {
            let timing = &alignment[next];
            if !timing.word.is_empty() {
                words.push(Word {
                    word: timing.word.clone(),
                    start: round(time_offset + timing.start),
                    end: round(time_offset + timing.end),
                });
            }
            saved += timing.tokens.len();
            next += 1;
        }
        if let (Some(first_end), Some(first_start)) =
            (words.first().map(|w| w.end), words.first().map(|w| w.start))
        {
            let second = words.get(1).map(|w| (w.start, w.end));
            let long_first = first_end - first_start > max_duration
                || second.is_some_and(|(_, end)| end - first_start > max_duration * 2.0);
            if first_end - *last_speech > median_duration * 4.0 && long_first {
                if let Some((s1, e1)) = second
                    && e1 - s1 > max_duration
                {
                    let boundary = (e1 / 2.0).max(e1 - max_duration);
                    words[0].end = boundary;
                    words[1].start = boundary;
                }
                words[0].start = (words[0].end - max_duration).max(0.0);
            }
            let first = &mut words[0];
            if segment.start < first.end && segment.start - 0.5 > first.start {
                first.start = (first.end - median_duration).min(segment.start).max(0.0);
            } else {
                segment.start = first.start;
            }
            if let Some(last) = words.last_mut() {
                if segment.end > last.start && segment.end + 0.5 < last.end {
                    last.end = (last.start + median_duration).max(segment.end);
                } else {
                    segment.end = last.end;
                }
            }
            *last_speech = segment.end;
        }
        out.push(words);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(word: &str, tokens: &[u32], start: f64, end: f64) -> WordTiming {
        WordTiming {
            word: word.into(),
            tokens: tokens.to_vec(),
            start,
            end,
        }
    }

    #[test]
    fn median_filter_reflects_at_the_edges() {
        let row = [5.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0];
        let out = median_filter(&row, 3);
        // Edges: [1, 5, 1] → 1 and [3, 7, 3] → 3.
        assert_eq!(out, vec![1.0, 5.0, 2.0, 8.0, 3.0, 7.0, 3.0]);
        assert_eq!(median_filter(&[1.0, 2.0], 7), vec![1.0, 2.0]);
    }

    #[test]
    fn dtw_follows_the_cheap_diagonal_band() {
        // 3 tokens over 6 frames; token k is cheap on frames 2k and 2k+1.
        let (rows, cols) = (3, 6);
        let cost: Vec<f32> = (0..rows * cols)
            .map(|i| {
                if (i % cols) / 2 == i / cols {
                    -1.0
                } else {
                    1.0
                }
            })
            .collect();
        let path = dtw(&cost, rows, cols);
        assert_eq!(path.first(), Some(&(0, 0)));
        assert_eq!(path.last(), Some(&(2, 5)));
        assert_eq!(path, vec![(0, 0), (0, 1), (1, 2), (1, 3), (2, 4), (2, 5)]);
        assert!(
            path.windows(2)
                .all(|p| p[1].0 >= p[0].0 && p[1].1 >= p[0].1)
        );
    }

    #[test]
    fn tokens_group_into_words_at_spaces_and_punctuation() {
        // " Hel" "lo" "," " world" "." <eot>
        let vocab = [" Hel", "lo", ",", " world", "."];
        let decode = |ids: &[u32]| -> Result<String, ()> {
            Ok(ids.iter().map(|&i| vocab[i as usize]).collect())
        };
        let words = split_words(&[0, 1, 2, 3, 4, 99], 99, true, decode).unwrap();
        let texts: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(texts, [" Hello", ",", " world", ".", ""]);
        assert_eq!(words[0].1, vec![0, 1]);
        assert_eq!(words[4].1, vec![99]);
        // A character split over two tokens stays whole.
        let bytes = |ids: &[u32]| -> Result<String, ()> {
            Ok(if ids == [7] {
                "\u{fffd}".into()
            } else {
                "é".into()
            })
        };
        let words = split_words(&[7, 8], 99, false, bytes).unwrap();
        assert_eq!(words, vec![("é".to_owned(), vec![7, 8])]);
    }

    #[test]
    fn word_times_come_from_where_the_path_changes_token() {
        // Rows 0..=3 (3 text tokens + eot) start at frames 0, 10, 25, 40.
        let mut path = Vec::new();
        for (row, (from, to)) in [(0, 10), (10, 25), (25, 40), (40, 50)].iter().enumerate() {
            path.extend((*from..*to).map(|c| (row, c)));
        }
        let words = vec![
            (" a".to_owned(), vec![1, 2]),
            (" b".to_owned(), vec![3]),
            (String::new(), vec![99]),
        ];
        let times = word_times(&path, words);
        assert_eq!(times.len(), 2);
        assert_eq!((times[0].start, times[0].end), (0.0, 0.5));
        assert_eq!((times[1].start, times[1].end), (0.5, 0.8));
    }

    #[test]
    fn punctuation_joins_its_word() {
        let mut a = vec![
            timing(" \"", &[1], 0.0, 0.1),
            timing(" Hello", &[2], 0.1, 0.5),
            timing(",", &[3], 0.5, 0.6),
            timing(" world", &[4], 0.6, 1.0),
            timing(".", &[5], 1.0, 1.1),
        ];
        merge_punctuations(&mut a);
        let words: Vec<&str> = a.iter().map(|w| w.word.as_str()).collect();
        assert_eq!(words, ["", " \" Hello,", "", " world.", ""]);
        assert_eq!(a[1].tokens, vec![1, 2, 3]);
        assert_eq!(a[3].tokens, vec![4, 5]);
    }

    #[test]
    fn words_go_to_their_segments_and_pauses_do_not_stretch_words() {
        let alignment = vec![
            timing(" one", &[1], 0.0, 0.4),
            timing(" two.", &[2, 3], 0.4, 0.8),
            // After a pause the attention drifts: " three" claims 3 s.
            timing(" three", &[4], 1.0, 4.0),
            timing(" four", &[5], 4.0, 4.4),
        ];
        let (median, max) = duration_limits(&alignment);
        assert!((median - 0.4).abs() < 1e-9 && (max - 0.8).abs() < 1e-9);
        // Segment times are from the start of the audio; the window starts at 10 s.
        let mut segments = vec![
            SegmentSpan {
                start: 10.0,
                end: 11.0,
                text_tokens: 3,
            },
            SegmentSpan {
                start: 13.0,
                end: 14.5,
                text_tokens: 2,
            },
        ];
        let mut last_speech = 0.0;
        let words = assign_words(
            &alignment,
            &mut segments,
            10.0,
            median,
            max,
            &mut last_speech,
        );
        assert_eq!(words[0].len(), 2);
        assert_eq!(words[1].len(), 2);
        assert_eq!(words[0][1].word, " two.");
        // Segment 0 now ends with its last word; segment 1's first word was
        // cut back to a plausible length, and the segment starts with it.
        assert_eq!(segments[0].end, 10.8);
        assert!((words[1][0].start - 13.2).abs() < 1e-9, "{:?}", words[1]);
        assert_eq!(words[1][0].end, 14.0);
        assert!((segments[1].start - 13.2).abs() < 1e-9);
        assert_eq!(segments[1].end, 14.4);
        assert_eq!(last_speech, segments[1].end);
    }
}
