//! The document batch every analysis endpoint takes, and the per-document
//! result shape it answers with.
//!
//! `input` is a string, or an array of at most [`crate::Limits::max_documents`]
//! items, each a string or `{id, text, language?}`. Ids default to the
//! document's position (`"0"`, `"1"`, …) and must be unique. Results come
//! back one per document, in order; a document that cannot be processed
//! (empty, or over [`crate::Limits::max_document_bytes`]) gets `{id, error}`
//! in its place and never fails the others. Whole-request limits (too many
//! documents, too many characters in all) fail the request.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use stratus_models::worker::ModelWorker;

use super::char_len;
use crate::Limits;
use crate::error::LanguageError;

/// One document as the caller may write it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum DocumentInput {
    Text(String),
    Object {
        id: Option<String>,
        text: String,
        language: Option<String>,
    },
}

/// `input`: one document or a list.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum DocumentsInput {
    One(String),
    Many(Vec<DocumentInput>),
}

/// A document ready for a model.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub text: String,
    /// The caller's language hint, if any.
    pub language: Option<String>,
}

/// Why one document was not processed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct DocumentError {
    pub code: &'static str,
    pub message: String,
}

/// A document's result, or the error in its place.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum DocumentResult<T> {
    Ok(T),
    Failed { id: String, error: DocumentError },
}

/// `usage` of the analysis endpoints: the documents processed and their
/// characters (failed documents count for neither).
#[derive(Debug, Clone, Copy, Serialize, Default, utoipa::ToSchema)]
pub struct DocumentUsage {
    pub documents: usize,
    pub characters: usize,
}

/// The batch after validation: each slot a document to process or the
/// reason it will not be.
#[derive(Debug)]
pub struct Batch {
    pub slots: Vec<Result<Document, (String, DocumentError)>>,
}

impl Batch {
    /// Validate `input` against `limits`.
    pub fn parse(input: DocumentsInput, limits: &Limits) -> Result<Self, LanguageError> {
        let items = match input {
            DocumentsInput::One(text) => vec![DocumentInput::Text(text)],
            DocumentsInput::Many(items) => items,
        };
        if items.is_empty() {
            return Err(LanguageError::invalid("input", "input must not be empty"));
        }
        if items.len() > limits.max_documents {
            return Err(LanguageError::invalid(
                "input",
                format!(
                    "input has {} documents; at most {} per request",
                    items.len(),
                    limits.max_documents
                ),
            ));
        }
        let mut seen = HashSet::new();
        let mut total_chars = 0;
        let mut slots = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let (id, text, language) = match item {
                DocumentInput::Text(text) => (index.to_string(), text, None),
                DocumentInput::Object { id, text, language } => {
                    (id.unwrap_or_else(|| index.to_string()), text, language)
                }
            };
            if !seen.insert(id.clone()) {
                return Err(LanguageError::invalid(
                    "input",
                    format!("document id `{id}` appears twice; ids must be unique"),
                ));
            }
            let slot = if text.trim().is_empty() {
                Err((
                    id,
                    DocumentError {
                        code: "empty_document",
                        message: "the document has no text".into(),
                    },
                ))
            } else if text.len() > limits.max_document_bytes {
                Err((
                    id,
                    DocumentError {
                        code: "document_too_large",
                        message: format!(
                            "the document is {} bytes of UTF-8; at most {} per document",
                            text.len(),
                            limits.max_document_bytes
                        ),
                    },
                ))
            } else {
                total_chars += char_len(&text);
                Ok(Document { id, text, language })
            };
            slots.push(slot);
        }
        if total_chars > limits.max_request_chars {
            return Err(LanguageError::too_large(
                "input",
                format!(
                    "the documents total {total_chars} characters; at most {} per request",
                    limits.max_request_chars
                ),
            ));
        }
        Ok(Self { slots })
    }

    /// The documents to process, in order.
    pub fn documents(&self) -> Vec<Document> {
        self.slots
            .iter()
            .filter_map(|s| s.as_ref().ok())
            .cloned()
            .collect()
    }

    /// Run `analyse` on every document of the batch, in order, on the model's
    /// own thread (one queue slot for the whole request), then put the
    /// results back in their slots and count the usage.
    pub async fn run_each<M, T, F>(
        self,
        worker: &ModelWorker<M>,
        mut analyse: F,
    ) -> Result<(Vec<DocumentResult<T>>, DocumentUsage), LanguageError>
    where
        M: Send + 'static,
        T: Send + 'static,
        F: FnMut(&mut M, Document) -> Result<T, LanguageError> + Send + 'static,
    {
        self.run_each_fallible(worker, move |model, document| {
            analyse(model, document).map(Ok)
        })
        .await
    }

    /// [`Self::run_each`] where `analyse` may also fail one document alone
    /// (`Ok(Err(_))`): that document gets `{id, error}` in its place and
    /// does not count in the usage.
    pub async fn run_each_fallible<M, T, F>(
        self,
        worker: &ModelWorker<M>,
        mut analyse: F,
    ) -> Result<(Vec<DocumentResult<T>>, DocumentUsage), LanguageError>
    where
        M: Send + 'static,
        T: Send + 'static,
        F: FnMut(&mut M, Document) -> Result<Result<T, DocumentError>, LanguageError>
            + Send
            + 'static,
    {
        let documents = self.documents();
        let results = worker
            .run(move |model| {
                documents
                    .into_iter()
                    .map(|document| analyse(model, document))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await??;
        Ok(self.assemble_fallible(results))
    }

    /// Put each processed result (in the order of [`Self::documents`]) back
    /// in its slot, errors where they were, and count the usage.
    pub fn assemble<T>(self, results: Vec<T>) -> (Vec<DocumentResult<T>>, DocumentUsage) {
        self.assemble_fallible(results.into_iter().map(Ok).collect())
    }

    /// [`Self::assemble`] of results that may each be a document's error.
    pub fn assemble_fallible<T>(
        self,
        results: Vec<Result<T, DocumentError>>,
    ) -> (Vec<DocumentResult<T>>, DocumentUsage) {
        let mut results = results.into_iter();
        let mut usage = DocumentUsage::default();
        let data = self
            .slots
            .into_iter()
            .filter_map(|slot| match slot {
                Ok(document) => match results.next()? {
                    Ok(result) => {
                        usage.documents += 1;
                        usage.characters += char_len(&document.text);
                        Some(DocumentResult::Ok(result))
                    }
                    Err(error) => Some(DocumentResult::Failed {
                        id: document.id,
                        error,
                    }),
                },
                Err((id, error)) => Some(DocumentResult::Failed { id, error }),
            })
            .collect();
        (data, usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> Limits {
        Limits {
            max_documents: 3,
            max_document_bytes: 10,
            max_request_chars: 15,
            ..Limits::default()
        }
    }

    fn parse(value: serde_json::Value) -> Result<Batch, LanguageError> {
        Batch::parse(serde_json::from_value(value).unwrap(), &limits())
    }

    #[test]
    fn shapes_ids_and_per_document_errors() {
        let batch =
            parse(json!(["héllo", {"id": "b", "text": "  "}, {"text": "x".repeat(11)}])).unwrap();
        let docs = batch.documents();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].id, "0");
        let (data, usage) = batch.assemble(vec!["done"]);
        assert_eq!(usage.documents, 1);
        assert_eq!(usage.characters, 5);
        let value = serde_json::to_value(&data).unwrap();
        assert_eq!(value[0], "done");
        assert_eq!(value[1]["id"], "b");
        assert_eq!(value[1]["error"]["code"], "empty_document");
        assert_eq!(value[2]["id"], "2");
        assert_eq!(value[2]["error"]["code"], "document_too_large");
        assert_eq!(parse(json!("one")).unwrap().documents()[0].text, "one");
    }

    #[test]
    fn request_limits() {
        let message = |v| parse(v).unwrap_err().to_string();
        assert!(message(json!([])).contains("empty"));
        assert!(message(json!(["a", "b", "c", "d"])).contains("at most 3"));
        assert!(
            message(json!([{"id": "x", "text": "a"}, {"id": "x", "text": "b"}])).contains("twice")
        );
        assert!(matches!(
            parse(json!(["123456789", "123456789"])),
            Err(LanguageError::TooLarge { .. })
        ));
    }
}
