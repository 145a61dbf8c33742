//! A rule-based sentence splitter, with Unicode scalar (char) offsets.
//!
//! A sentence ends at `.`, `!`, `?` or `…` (a run of them, then any closing
//! quotes or brackets) when whitespace follows and the next word does not
//! start in lowercase, and at a blank line. A period does not end a
//! sentence after a known abbreviation that is not normally sentence-final
//! (`Dr.`, `e.g.`, `vs.`), after a single letter (initials: `J. Smith`), or
//! inside a number (`3.14`: no whitespace follows). Rules, not a model: the
//! cases it misses (an abbreviation that does end a sentence, `etc.`
//! followed by a name) cost a sentence boundary, not a crash.

/// One sentence of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// The sentence, surrounding whitespace trimmed.
    pub text: String,
    /// Char offset of its first char in the text.
    pub start: usize,
    /// Char offset just past its last char.
    pub end: usize,
}

/// Abbreviations (lowercase, without the final period) after which a period
/// does not end a sentence: titles and Latin/reference forms that are
/// almost always followed by more of the same sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "e.g", "i.e", "cf", "fig",
    "figs", "no", "nos", "vol", "pp", "approx", "dept", "est", "gen", "gov", "sen", "rep", "rev",
    "capt", "col", "lt", "sgt", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "a.m", "p.m", "ph.d", "al",
];

fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

fn is_closing(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | '»' | ')' | ']')
}

/// The sentences of `text`, in order.
pub fn split(text: &str) -> Vec<Sentence> {
    let chars: Vec<char> = text.chars().collect();
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // A blank line ends a paragraph, and with it a sentence (headings,
        // list items without final punctuation).
        if c == '\n' && next_line_is_blank(&chars, i) {
            push(&chars, start, i, &mut sentences);
            start = i + 1;
            i += 1;
            continue;
        }
        if !is_terminal(c) {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < chars.len() && (is_terminal(chars[end]) || is_closing(chars[end])) {
            end += 1;
        }
        let followed_by_space = end == chars.len() || chars[end].is_whitespace();
        if followed_by_space && ends_sentence(&chars, start, i, end) {
            push(&chars, start, end, &mut sentences);
            start = end;
        }
        i = end;
    }
    push(&chars, start, chars.len(), &mut sentences);
    sentences
}

/// Whether the line after the newline at `at` holds only whitespace.
fn next_line_is_blank(chars: &[char], at: usize) -> bool {
    for &c in &chars[at + 1..] {
        if c == '\n' {
            return true;
        }
        if !c.is_whitespace() {
            return false;
        }
    }
    false
}

/// Whether the terminal run `mark..end` ends the sentence begun at `start`.
fn ends_sentence(chars: &[char], start: usize, mark: usize, end: usize) -> bool {
    // What follows: a lowercase word continues the sentence ("e.g. the").
    let next = chars[end..].iter().find(|c| !c.is_whitespace());
    if next.is_some_and(|c| c.is_lowercase()) {
        return false;
    }
    if chars[mark] != '.' || end - mark > 1 && chars[mark + 1] == '.' {
        // `!`, `?`, `…` and ellipses always end a sentence before a
        // non-lowercase word.
        return true;
    }
    // The word the period closes, back to whitespace or an opening mark.
    let word_start = chars[start..mark]
        .iter()
        .rposition(|c| c.is_whitespace() || matches!(c, '(' | '"' | '“' | '\'' | '‘'))
        .map_or(start, |p| start + p + 1);
    let word: String = chars[word_start..mark]
        .iter()
        .flat_map(|c| c.to_lowercase())
        .collect();
    if word.chars().count() == 1 && word.chars().all(char::is_alphabetic) {
        return false;
    }
    !ABBREVIATIONS.contains(&word.as_str())
}

fn push(chars: &[char], start: usize, end: usize, out: &mut Vec<Sentence>) {
    let Some(first) = chars[start..end].iter().position(|c| !c.is_whitespace()) else {
        return;
    };
    let Some(last) = chars[start..end].iter().rposition(|c| !c.is_whitespace()) else {
        return;
    };
    let (start, end) = (start + first, start + last + 1);
    out.push(Sentence {
        text: chars[start..end].iter().collect(),
        start,
        end,
    });
}

/// Consecutive sentences of `text` joined into pieces of at most
/// `max_chars` chars (a longer sentence is a piece of its own): the units a
/// long document is embedded in, since the model reads only its first 256
/// tokens of any one text.
pub fn chunks(text: &str, max_chars: usize) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_chars = 0;
    for sentence in split(text) {
        let len = sentence.end - sentence.start;
        if current_chars > 0 && current_chars + 1 + len > max_chars {
            pieces.push(std::mem::take(&mut current));
            current_chars = 0;
        }
        if current_chars > 0 {
            current.push(' ');
            current_chars += 1;
        }
        current.push_str(&sentence.text);
        current_chars += len;
    }
    if current_chars > 0 {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        split(text).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn plain_sentences_and_offsets() {
        let text = "  Héllo there. How are you?  Fine!";
        let sentences = split(text);
        assert_eq!(
            sentences
                .iter()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>(),
            ["Héllo there.", "How are you?", "Fine!"]
        );
        let chars: Vec<char> = text.chars().collect();
        for s in &sentences {
            assert_eq!(chars[s.start..s.end].iter().collect::<String>(), s.text);
        }
        assert_eq!(sentences[0].start, 2);
    }

    #[test]
    fn abbreviations_decimals_initials_quotes() {
        assert_eq!(
            texts("Dr. Smith paid $3.50 for it, e.g. a coffee. Then he left."),
            [
                "Dr. Smith paid $3.50 for it, e.g. a coffee.",
                "Then he left."
            ]
        );
        assert_eq!(
            texts("The paper by J. R. Tolkien was cited. It helped."),
            ["The paper by J. R. Tolkien was cited.", "It helped."]
        );
        assert_eq!(
            texts("She said \"Stop.\" He stopped. (It worked.) Good."),
            ["She said \"Stop.\"", "He stopped.", "(It worked.)", "Good."]
        );
        assert_eq!(
            texts("Wait... what? Prices rose 2.5 percent vs. last year."),
            ["Wait... what?", "Prices rose 2.5 percent vs. last year."]
        );
        assert_eq!(
            texts("Version 1.2.3 shipped in the U.S. yesterday."),
            ["Version 1.2.3 shipped in the U.S. yesterday."]
        );
    }

    #[test]
    fn blank_lines_and_no_final_punctuation() {
        assert_eq!(
            texts("A heading\n\nBody text here. More text"),
            ["A heading", "Body text here.", "More text"]
        );
        assert!(split("   \n ").is_empty());
    }

    #[test]
    fn chunks_pack_sentences() {
        let pieces = chunks("One two. Three four. Five six seven eight nine ten.", 20);
        assert_eq!(
            pieces,
            ["One two. Three four.", "Five six seven eight nine ten."]
        );
    }
}
