//! Text offsets. The APIs report spans in Unicode scalar (char) offsets,
//! while tokenizers and regexes work in byte offsets; [`CharIndex`] converts
//! one to the other for every span of a text with one pass over it.

/// The char index of every char boundary of a text.
#[derive(Debug, Clone)]
pub struct CharIndex {
    /// Byte offset of each char, then the text's length.
    boundaries: Vec<usize>,
}

impl CharIndex {
    /// Index `text`'s char boundaries.
    pub fn new(text: &str) -> Self {
        Self {
            boundaries: text
                .char_indices()
                .map(|(byte, _)| byte)
                .chain(std::iter::once(text.len()))
                .collect(),
        }
    }

    /// The char offset of byte offset `byte`, or `None` when `byte` is not on
    /// a char boundary (such a span would slice a character in two).
    pub fn char_at(&self, byte: usize) -> Option<usize> {
        self.boundaries.binary_search(&byte).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_become_char_offsets() {
        let index = CharIndex::new("né à x");
        assert_eq!(index.char_at(0), Some(0));
        assert_eq!(index.char_at(3), Some(2)); // after "né"
        assert_eq!(index.char_at(2), None); // inside "é"
        assert_eq!(index.char_at("né à x".len()), Some(6));
        assert_eq!(index.char_at(99), None);
    }
}
