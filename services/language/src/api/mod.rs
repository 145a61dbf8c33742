//! The HTTP endpoints of the language service, one file each, and what they
//! share: the JSON extractor that answers in the error envelope, the usage
//! headers, and finding a loaded model by name.
//!
//! ## Layout
//! - [`embeddings`] — `POST /v1/embeddings` (OpenAI-compatible).
//! - [`documents`] — the document-batch request shape of the analysis
//!   endpoints (`input` as a string or up to N strings / `{id, text}`),
//!   its limits and per-document errors.
//! - [`detect`] — `POST /v1/language/detect` (fastText lid.176).
//! - [`pii`] — `POST /v1/language/pii` and `POST /v1/language/entities`
//!   (Rampart merged with the recognizers of [`crate::pii`]).
//! - [`sentiment`] — `POST /v1/language/sentiment` (the head trained on
//!   VADER's ratings, per document and per sentence).
//! - [`key_phrases`], [`classify`], [`summarize`] —
//!   `POST /v1/language/{key-phrases,classify,summarize}`: key phrases,
//!   zero-shot labels and extractive summaries over the sentence embedder
//!   (the arithmetic in [`crate::analysis`]). The served embedder and the
//!   stopword list are English: other languages are processed (a
//!   document's `language` hint is not used) with no measured quality.

pub mod classify;
pub mod detect;
pub mod documents;
pub mod embeddings;
pub mod key_phrases;
pub mod pii;
pub mod sentiment;
pub mod summarize;

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use stratus_kit::usage;
use stratus_models::worker::{ModelWorker, WorkerSet};

use crate::error::LanguageError;

pub use stratus_kit::ApiJson;

/// What one response consumed, reported in the `x-stratus-usage-*` headers
/// the gateway meters from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub characters: usize,
    pub documents: usize,
    /// Model input tokens, where the endpoint counts them.
    pub input_tokens: Option<usize>,
}

impl Usage {
    /// `body` as JSON with the usage headers set, and the model that served
    /// it (if one did) in `x-stratus-model`.
    pub fn respond(self, model: Option<&str>, body: impl serde::Serialize) -> Response {
        let mut response = axum::Json(body).into_response();
        let headers = response.headers_mut();
        if let Some(value) = model.and_then(|m| HeaderValue::from_str(m).ok()) {
            headers.insert(usage::MODEL, value);
        }
        headers.insert(usage::CHARACTERS, HeaderValue::from(self.characters));
        headers.insert(usage::DOCUMENTS, HeaderValue::from(self.documents));
        if let Some(tokens) = self.input_tokens {
            headers.insert(usage::INPUT_TOKENS, HeaderValue::from(tokens));
        }
        response
    }
}

impl From<&documents::DocumentUsage> for Usage {
    /// What a document-batch endpoint reports: characters and documents.
    fn from(usage: &documents::DocumentUsage) -> Self {
        Self {
            characters: usage.characters,
            documents: usage.documents,
            input_tokens: None,
        }
    }
}

/// The loaded model `name` of `set`, or 404 `model_not_found` naming what
/// this endpoint can use (OpenAI answers an unknown model the same way).
pub fn find_model<M: Send + 'static>(
    set: &WorkerSet<M>,
    name: &str,
    what: &str,
) -> Result<ModelWorker<M>, LanguageError> {
    set.get(name).ok_or_else(|| {
        let loaded = set.names();
        let known = if loaded.is_empty() {
            "none is loaded".to_string()
        } else {
            format!("loaded: {}", loaded.join(", "))
        };
        LanguageError::ModelNotFound(format!(
            "the model `{name}` does not exist or is not a loaded {what} model ({known})"
        ))
    })
}

/// The model a request names, or the only loaded one of its kind when the
/// request names none (analysis endpoints make `model` optional).
pub fn model_or_default<M: Send + 'static>(
    set: &WorkerSet<M>,
    name: Option<&str>,
    what: &str,
) -> Result<ModelWorker<M>, LanguageError> {
    match name {
        Some(name) => find_model(set, name, what),
        None => match set.names().as_slice() {
            [only] => find_model(set, only, what),
            [] => Err(LanguageError::ModelNotFound(format!(
                "no {what} model is loaded; the server loads the models named in its --models \
                 (`stratus models list` shows each model's task)"
            ))),
            many => Err(LanguageError::invalid(
                "model",
                format!(
                    "several {what} models are loaded ({}); name one in `model`",
                    many.join(", ")
                ),
            )),
        },
    }
}

/// Chars (Unicode scalar values) of `text`: the unit of every limit, offset
/// and usage count of this service.
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}
