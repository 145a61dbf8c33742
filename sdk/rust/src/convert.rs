//! Conversions that make the generated request types short to write:
//! `EmbeddingsRequest::new("a cat".into(), …)`, `vec!["a", "b"].into()`,
//! `DetectRequest::new("Bonjour".into())`, and the vector of an
//! [`Embedding`] as a slice.

use crate::models::{DocumentInput, DocumentsInput, Embedding, EmbeddingsInput, EmbeddingsRequest};

impl From<&str> for EmbeddingsInput {
    fn from(text: &str) -> Self {
        EmbeddingsInput::Text(text.to_string())
    }
}

impl From<String> for EmbeddingsInput {
    fn from(text: String) -> Self {
        EmbeddingsInput::Text(text)
    }
}

impl From<Vec<String>> for EmbeddingsInput {
    fn from(texts: Vec<String>) -> Self {
        EmbeddingsInput::Texts(texts)
    }
}

impl From<Vec<&str>> for EmbeddingsInput {
    fn from(texts: Vec<&str>) -> Self {
        EmbeddingsInput::Texts(texts.into_iter().map(str::to_string).collect())
    }
}

impl<const N: usize> From<[&str; N]> for EmbeddingsInput {
    fn from(texts: [&str; N]) -> Self {
        EmbeddingsInput::Texts(texts.into_iter().map(str::to_string).collect())
    }
}

impl EmbeddingsRequest {
    /// Embeddings of `input` (one text or several) with `model`.
    pub fn of(model: impl Into<String>, input: impl Into<EmbeddingsInput>) -> Self {
        EmbeddingsRequest::new(input.into(), model.into())
    }
}

impl Embedding {
    /// The vector (`encoding_format` `float`, the default); `None` for
    /// `base64`.
    pub fn as_floats(&self) -> Option<&[f32]> {
        match self {
            Embedding::ArrayVecf32(v) => Some(v),
            Embedding::String(_) => None,
        }
    }
}

impl From<&str> for DocumentsInput {
    fn from(text: &str) -> Self {
        DocumentsInput::String(text.to_string())
    }
}

impl From<String> for DocumentsInput {
    fn from(text: String) -> Self {
        DocumentsInput::String(text)
    }
}

impl From<Vec<DocumentInput>> for DocumentsInput {
    fn from(documents: Vec<DocumentInput>) -> Self {
        DocumentsInput::ArrayVecDocumentInput(documents)
    }
}

#[cfg(test)]
mod tests {
    use crate::models::{AudioJobStatus, Scope};

    #[test]
    fn a_value_a_newer_server_adds_parses_as_unknown() {
        let known: AudioJobStatus = serde_json::from_str("\"queued\"").unwrap();
        assert_eq!(known, AudioJobStatus::Queued);
        let newer: AudioJobStatus = serde_json::from_str("\"paused\"").unwrap();
        assert_eq!(newer, AudioJobStatus::Unknown);
        assert_eq!(newer.to_string(), "unknown");
        // Inside a list, as a key's scopes arrive.
        let scopes: Vec<Scope> = serde_json::from_str(r#"["speech", "audit:read"]"#).unwrap();
        assert_eq!(scopes, [Scope::Speech, Scope::Unknown]);
    }
}
