//! Key-phrase candidates: noun-phrase-like n-grams of a document.
//!
//! Without a part-of-speech tagger, "noun-phrase-like" is approximated the
//! way KeyBERT's default vectorizer does it, slightly stricter: runs of 1–3
//! words that are not broken by punctuation (a phrase never spans a comma
//! or a sentence end), that neither start nor end with a stopword, and whose
//! only inner stopword may be `of` ("rate of change"). Words are letters and
//! digits with inner `-` or `'` ("light-dependent", "plant's"); numbers alone
//! and single letters are not phrases. Candidates are counted
//! case-insensitively and keep the casing of their first occurrence.

use std::collections::HashMap;

/// English stopwords: function words, auxiliaries, pronouns and the
/// vaguest adverbs, which never make a key phrase on their own nor at a
/// phrase's edge. Written for this service (lowercase, sorted).
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "across",
    "after",
    "again",
    "against",
    "all",
    "almost",
    "also",
    "although",
    "always",
    "am",
    "among",
    "an",
    "and",
    "another",
    "any",
    "anyone",
    "anything",
    "are",
    "around",
    "as",
    "at",
    "be",
    "became",
    "because",
    "become",
    "becomes",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "cannot",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "done",
    "down",
    "during",
    "each",
    "either",
    "else",
    "enough",
    "even",
    "ever",
    "every",
    "few",
    "for",
    "from",
    "further",
    "get",
    "gets",
    "got",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "less",
    "like",
    "many",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "neither",
    "never",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "often",
    "on",
    "once",
    "one",
    "only",
    "onto",
    "or",
    "other",
    "others",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "per",
    "perhaps",
    "quite",
    "rather",
    "really",
    "same",
    "several",
    "shall",
    "she",
    "should",
    "since",
    "so",
    "some",
    "something",
    "still",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "therefore",
    "these",
    "they",
    "this",
    "those",
    "though",
    "through",
    "thus",
    "to",
    "too",
    "toward",
    "towards",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "use",
    "used",
    "uses",
    "using",
    "very",
    "via",
    "was",
    "we",
    "well",
    "were",
    "what",
    "whatever",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "yet",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// Whether `word` (any case) is a stopword.
pub fn is_stopword(word: &str) -> bool {
    let lower = word.to_lowercase();
    // Possessives and contractions of stopwords ("it's", "don't") too.
    let base = lower.split('\'').next().unwrap_or(&lower);
    STOPWORDS.binary_search(&lower.as_str()).is_ok()
        || STOPWORDS.binary_search(&base).is_ok()
        || matches!(base, "don" | "doesn" | "isn" | "aren" | "won" | "can")
}

/// A candidate phrase and how often it occurs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The phrase as first written in the document (words joined by one
    /// space).
    pub text: String,
    pub count: usize,
    /// Order of first occurrence, to break ties deterministically.
    pub first: usize,
}

/// The runs of words of `text` that no punctuation interrupts.
fn segments(text: &str) -> Vec<Vec<String>> {
    let mut segments = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let joins = matches!(c, '-' | '\'' | '’')
            && !word.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || joins {
            word.push(if c == '’' { '\'' } else { c });
            continue;
        }
        if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() && !words.is_empty() {
            segments.push(std::mem::take(&mut words));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    if !words.is_empty() {
        segments.push(words);
    }
    segments
}

/// Whether `word` can stand at a phrase's edge.
fn is_edge_word(word: &str) -> bool {
    word.chars().count() > 1 && !word.chars().all(|c| c.is_numeric()) && !is_stopword(word)
}

/// The candidate phrases of `text`, most frequent first (ties: first
/// occurrence first), at most `limit` of them.
pub fn candidates(text: &str, max_words: usize, limit: usize) -> Vec<Candidate> {
    let mut by_key: HashMap<String, Candidate> = HashMap::new();
    let mut order = 0;
    for words in segments(text) {
        for start in 0..words.len() {
            if !is_edge_word(&words[start]) {
                continue;
            }
            for len in 1..=max_words.min(words.len() - start) {
                let phrase = &words[start..start + len];
                let last = &phrase[len - 1];
                // Words strictly inside (none for one or two words).
                let inner = phrase.get(1..len - 1).unwrap_or_default();
                let inner_ok = inner
                    .iter()
                    .all(|w| !is_stopword(w) || w.eq_ignore_ascii_case("of"));
                if !inner_ok {
                    // A longer phrase would contain the same inner word.
                    break;
                }
                if !is_edge_word(last) {
                    continue;
                }
                let text = phrase.join(" ");
                let key = text.to_lowercase();
                by_key
                    .entry(key)
                    .and_modify(|c| c.count += 1)
                    .or_insert_with(|| {
                        order += 1;
                        Candidate {
                            text,
                            count: 1,
                            first: order,
                        }
                    });
            }
        }
    }
    let mut all: Vec<Candidate> = by_key.into_values().collect();
    all.sort_by(|a, b| b.count.cmp(&a.count).then(a.first.cmp(&b.first)));
    all.truncate(limit);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        let mut all: Vec<String> = candidates(text, 3, 100)
            .into_iter()
            .map(|c| c.text)
            .collect();
        all.sort();
        all
    }

    #[test]
    fn stopword_list_is_sorted_for_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_stopword("The") && is_stopword("it's") && !is_stopword("sunlight"));
    }

    #[test]
    fn ngrams_trim_stopwords_and_stop_at_punctuation() {
        assert_eq!(
            texts("The rate of change, in green plants."),
            [
                "change",
                "green",
                "green plants",
                "plants",
                "rate",
                "rate of change"
            ]
        );
        // No phrase crosses the full stop; numbers and letters alone are not
        // phrases; hyphens and apostrophes stay inside words.
        assert_eq!(
            texts("Light-dependent reactions. 42 x plant's leaves"),
            [
                "Light-dependent",
                "Light-dependent reactions",
                "leaves",
                "plant's",
                "plant's leaves",
                "reactions"
            ]
        );
    }

    #[test]
    fn counts_case_insensitively_and_ranks_by_frequency() {
        let found = candidates("Solar energy. solar energy is energy from the Sun.", 2, 3);
        assert_eq!(found.len(), 3);
        assert_eq!((found[0].text.as_str(), found[0].count), ("energy", 3));
        // Ties keep the first occurrence's order and casing.
        assert_eq!((found[1].text.as_str(), found[1].count), ("Solar", 2));
        assert_eq!(
            (found[2].text.as_str(), found[2].count),
            ("Solar energy", 2)
        );
    }
}
