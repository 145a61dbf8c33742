//! The fastText dictionary: its on-disk form, and turning a line of text into
//! the rows of the input matrix that fastText averages.
//!
//! The id of a line is, for each whitespace-separated word, the word's own row
//! (if it is in the vocabulary) plus one row per character n-gram, then one row
//! per word n-gram; n-grams land in hash buckets after the vocabulary rows.
//! Matching fastText bit for bit depends on two quirks of its C++, kept here
//! on purpose:
//! - its FNV-1a hash xors each byte *as a signed char*, so bytes ≥ 0x80 are
//!   sign-extended to 32 bits before the xor;
//! - word n-gram hashes are stored as `int32` and widened to `uint64` when
//!   combined, which sign-extends them too.

use std::collections::HashMap;

use super::reader::{ByteReader, corrupt};
use crate::Result;

/// The end-of-sentence token: fastText emits it for every newline, and it is
/// an ordinary entry of the vocabulary.
pub(crate) const EOS: &[u8] = b"</s>";
/// The prefix that marks a label (fastText's default `-label`, which the
/// model file does not store).
pub(crate) const LABEL_PREFIX: &str = "__label__";
const BOW: u8 = b'<';
const EOW: u8 = b'>';

/// fastText's 32-bit FNV-1a, with its signed-char quirk.
pub(crate) fn hash(bytes: &[u8]) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for &b in bytes {
        // C++ `uint32_t(int8_t(c))`: sign-extends bytes ≥ 0x80.
        h ^= i32::from(b as i8) as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// Whether fastText's `readWord` splits on this byte.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c | 0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryType {
    Word,
    Label,
}

#[derive(Debug)]
struct Entry {
    text: Vec<u8>,
    count: i64,
}

/// The settings of the model (from its `Args`) that tokenization depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NgramSettings {
    pub minn: i32,
    pub maxn: i32,
    pub bucket: i32,
    pub word_ngrams: i32,
}

#[derive(Debug)]
pub(crate) struct Dictionary {
    /// Words first, then labels (fastText sorts them so; `getLabel` relies on it).
    entries: Vec<Entry>,
    ids: HashMap<Vec<u8>, i32>,
    nwords: i32,
    nlabels: i32,
    /// -1: not pruned (every bucket has a row); 0: every n-gram pruned away;
    /// > 0: only buckets in `pruneidx` have a row.
    pruneidx_size: i64,
    pruneidx: HashMap<i32, i32>,
    settings: NgramSettings,
}

impl Dictionary {
    pub(crate) fn read(r: &mut ByteReader<'_>, settings: NgramSettings) -> Result<Self> {
        let size = r.i32("dictionary size")?;
        let nwords = r.i32("dictionary word count")?;
        let nlabels = r.i32("dictionary label count")?;
        let _ntokens = r.i64("dictionary token count")?;
        let pruneidx_size = r.i64("dictionary pruneidx size")?;
        if nwords < 0 || nlabels < 0 || i64::from(size) != i64::from(nwords) + i64::from(nlabels) {
            return Err(corrupt(format!(
                "dictionary has {size} entries but {nwords} words and {nlabels} labels"
            )));
        }
        // An entry is at least a NUL, an i64 count and an i8 type.
        let size = r.check_count(i64::from(size), 10, "dictionary size")?;
        let mut entries = Vec::with_capacity(size);
        let mut ids = HashMap::with_capacity(size);
        for i in 0..size {
            let text = r.c_string("dictionary word")?.to_vec();
            let count = r.i64("dictionary word count")?;
            let kind = match r.u8("dictionary entry type")? {
                0 => EntryType::Word,
                1 => EntryType::Label,
                other => {
                    return Err(corrupt(format!("dictionary entry {i} has type {other}")));
                }
            };
            let expected = if i < nwords as usize {
                EntryType::Word
            } else {
                EntryType::Label
            };
            if kind != expected {
                return Err(corrupt(format!(
                    "dictionary entry {i} is a {kind:?} among the {expected:?}s"
                )));
            }
            // A later duplicate wins, as in fastText's `word2int_`.
            ids.insert(text.clone(), i as i32);
            entries.push(Entry { text, count });
        }
        let mut pruneidx = HashMap::new();
        if pruneidx_size > 0 {
            let n = r.check_count(pruneidx_size, 8, "dictionary pruneidx size")?;
            pruneidx.reserve(n);
            for _ in 0..n {
                let bucket = r.i32("pruneidx bucket")?;
                let row = r.i32("pruneidx row")?;
                if row < 0 {
                    return Err(corrupt(format!(
                        "pruneidx maps bucket {bucket} to row {row}"
                    )));
                }
                pruneidx.insert(bucket, row);
            }
        }
        Ok(Self {
            entries,
            ids,
            nwords,
            nlabels,
            pruneidx_size,
            pruneidx,
            settings,
        })
    }

    pub(crate) fn nwords(&self) -> usize {
        self.nwords as usize
    }

    pub(crate) fn nlabels(&self) -> usize {
        self.nlabels as usize
    }

    /// Label `i` as stored (with its `__label__` prefix).
    pub(crate) fn label(&self, i: usize) -> Option<String> {
        let entry = self.entries.get(self.nwords() + i)?;
        Some(String::from_utf8_lossy(&entry.text).into_owned())
    }

    /// The counts of the labels, in label order: what the Huffman tree of
    /// hierarchical softmax is built from.
    pub(crate) fn label_counts(&self) -> Vec<i64> {
        self.entries[self.nwords()..]
            .iter()
            .map(|e| e.count)
            .collect()
    }

    /// How many input rows the n-gram buckets need beyond the vocabulary:
    /// the largest row any n-gram of any text can map to, plus one.
    pub(crate) fn ngram_rows(&self) -> usize {
        if !self.uses_ngrams() || self.pruneidx_size == 0 {
            0
        } else if self.pruneidx_size > 0 {
            self.pruneidx
                .values()
                .map(|&row| row as usize + 1)
                .max()
                .unwrap_or(0)
        } else {
            self.settings.bucket.max(0) as usize
        }
    }

    fn uses_ngrams(&self) -> bool {
        self.settings.bucket > 0 && (self.settings.maxn > 0 || self.settings.word_ngrams > 1)
    }

    /// fastText's `pushHash`: bucket → input row, through `pruneidx` when the
    /// model was pruned (buckets not kept are dropped).
    fn push_hash(&self, out: &mut Vec<usize>, bucket: i32) {
        if self.pruneidx_size == 0 || bucket < 0 {
            return;
        }
        let row = if self.pruneidx_size > 0 {
            match self.pruneidx.get(&bucket) {
                Some(&row) => row,
                None => return,
            }
        } else {
            bucket
        };
        out.push(self.nwords() + row as usize);
    }

    /// fastText's `computeSubwords` on `<word>`: every run of `minn..=maxn`
    /// UTF-8 characters, except the lone `<` and `>`.
    fn push_char_ngrams(&self, word: &[u8], out: &mut Vec<usize>) {
        let NgramSettings {
            minn, maxn, bucket, ..
        } = self.settings;
        if bucket <= 0 {
            return;
        }
        let mut wrapped = Vec::with_capacity(word.len() + 2);
        wrapped.push(BOW);
        wrapped.extend_from_slice(word);
        wrapped.push(EOW);
        let is_continuation = |b: u8| b & 0xc0 == 0x80;
        for i in 0..wrapped.len() {
            if is_continuation(wrapped[i]) {
                continue;
            }
            let mut j = i;
            let mut n = 1;
            while j < wrapped.len() && n <= maxn {
                j += 1;
                while j < wrapped.len() && is_continuation(wrapped[j]) {
                    j += 1;
                }
                if n >= minn && !(n == 1 && (i == 0 || j == wrapped.len())) {
                    let h = hash(&wrapped[i..j]) % bucket as u32;
                    self.push_hash(out, h as i32);
                }
                n += 1;
            }
        }
    }

    /// fastText's `addWordNgrams`.
    fn push_word_ngrams(&self, hashes: &[i32], out: &mut Vec<usize>) {
        let n = self.settings.word_ngrams;
        let bucket = self.settings.bucket;
        if n <= 1 || bucket <= 0 {
            return;
        }
        for i in 0..hashes.len() {
            // `uint64_t h = hashes[i]` with `hashes` a vector of int32.
            let mut h = i64::from(hashes[i]) as u64;
            for &next in hashes.iter().take(i.saturating_add(n as usize)).skip(i + 1) {
                h = h
                    .wrapping_mul(116_049_371)
                    .wrapping_add(i64::from(next) as u64);
                self.push_hash(out, (h % bucket as u64) as i32);
            }
        }
    }

    /// The input rows of one line, as fastText's `getLine` computes them for
    /// `text + "\n"` (which is what its Python `predict` passes): newlines
    /// inside `text` are treated as spaces, and the line ends with `</s>`.
    pub(crate) fn line_rows(&self, text: &str) -> Vec<usize> {
        let mut rows = Vec::new();
        let mut word_hashes = Vec::new();
        let tokens = text
            .as_bytes()
            .split(|&b| is_space(b))
            .filter(|t| !t.is_empty())
            .chain(std::iter::once(EOS));
        for token in tokens {
            let id = self.ids.get(token).copied();
            let is_word = match id {
                Some(id) => (id as usize) < self.nwords(),
                None => !token.starts_with(LABEL_PREFIX.as_bytes()),
            };
            if !is_word {
                continue;
            }
            if let Some(id) = id {
                rows.push(id as usize);
            }
            if token != EOS && self.settings.maxn > 0 {
                self.push_char_ngrams(token, &mut rows);
            }
            // C++ stores the uint32 hash in a vector<int32_t>.
            word_hashes.push(hash(token) as i32);
        }
        self.push_word_ngrams(&word_hashes, &mut rows);
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(settings: NgramSettings, words: &[&str], pruneidx: &[(i32, i32)]) -> Dictionary {
        let entries: Vec<Entry> = words
            .iter()
            .map(|w| Entry {
                text: w.as_bytes().to_vec(),
                count: 1,
            })
            .collect();
        let ids = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_bytes().to_vec(), i as i32))
            .collect();
        Dictionary {
            entries,
            ids,
            nwords: words.len() as i32,
            nlabels: 0,
            pruneidx_size: if pruneidx.is_empty() {
                -1
            } else {
                pruneidx.len() as i64
            },
            pruneidx: pruneidx.iter().copied().collect(),
            settings,
        }
    }

    #[test]
    fn hash_is_fnv1a_on_ascii() {
        // Reference FNV-1a 32-bit values.
        assert_eq!(hash(b""), 0x811c_9dc5);
        assert_eq!(hash(b"a"), 0xe40c_292c);
        assert_eq!(hash(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn hash_sign_extends_high_bytes() {
        // Plain FNV-1a of 0xC3 0xA9 ("é") would xor 0xC3; fastText xors
        // 0xFFFFFFC3. Worked by hand from the definition:
        let mut h: u32 = 0x811c_9dc5;
        for b in [0xffff_ffc3u32, 0xffff_ffa9] {
            h = (h ^ b).wrapping_mul(16_777_619);
        }
        assert_eq!(hash("é".as_bytes()), h);
        let mut plain: u32 = 0x811c_9dc5;
        for b in [0xc3u32, 0xa9] {
            plain = (plain ^ b).wrapping_mul(16_777_619);
        }
        assert_ne!(h, plain);
    }

    #[test]
    fn char_ngrams_follow_fasttext() {
        let s = NgramSettings {
            minn: 2,
            maxn: 3,
            bucket: 1000,
            word_ngrams: 1,
        };
        let d = dict(s, &["</s>"], &[]);
        let mut rows = Vec::new();
        d.push_char_ngrams(b"ab", &mut rows);
        // "<ab>": <a, <ab, ab, ab>, b>  (lone < and > are skipped; 1-grams are below minn)
        let expected: Vec<usize> = ["<a", "<ab", "ab", "ab>", "b>"]
            .iter()
            .map(|g| 1 + (hash(g.as_bytes()) % 1000) as usize)
            .collect();
        assert_eq!(rows, expected);

        // n counts characters, not bytes: "é" is one.
        let mut rows = Vec::new();
        d.push_char_ngrams("é".as_bytes(), &mut rows);
        let expected: Vec<usize> = ["<é", "<é>", "é>"]
            .iter()
            .map(|g| 1 + (hash(g.as_bytes()) % 1000) as usize)
            .collect();
        assert_eq!(rows, expected);
    }

    #[test]
    fn pruned_buckets_map_through_pruneidx() {
        let s = NgramSettings {
            minn: 2,
            maxn: 2,
            bucket: 1000,
            word_ngrams: 1,
        };
        let kept = (hash(b"<a") % 1000) as i32;
        let d = dict(s, &["</s>", "x"], &[(kept, 7)]);
        let mut rows = Vec::new();
        d.push_char_ngrams(b"a", &mut rows);
        // "<a" is kept (row nwords + 7); "a>" is pruned away.
        assert_eq!(rows, vec![2 + 7]);
        assert_eq!(d.ngram_rows(), 8);
    }

    #[test]
    fn line_rows_cover_words_subwords_eos_and_word_ngrams() {
        let s = NgramSettings {
            minn: 0,
            maxn: 0,
            bucket: 100,
            word_ngrams: 2,
        };
        let d = dict(s, &["</s>", "hi"], &[]);
        let rows = d.line_rows("hi\tthere\n");
        let hashes = [hash(b"hi") as i32, hash(b"there") as i32, hash(EOS) as i32];
        let bigram = |a: i32, b: i32| {
            let h = (i64::from(a) as u64)
                .wrapping_mul(116_049_371)
                .wrapping_add(i64::from(b) as u64);
            2 + (h % 100) as usize
        };
        // "hi" → 1, unknown "there" → nothing, "</s>" → 0, then the bigrams.
        assert_eq!(
            rows,
            vec![
                1,
                0,
                bigram(hashes[0], hashes[1]),
                bigram(hashes[1], hashes[2])
            ]
        );
    }
}
