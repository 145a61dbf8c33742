//! The language service's OpenAPI document: the operations annotated on the
//! handlers of [`crate::api`], and the schemas of inputs the handlers keep
//! raw (so each wrong shape gets its own message).

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::api;

/// `input` of `/v1/embeddings`: one text or a list of texts (token-id arrays
/// are refused: this model's tokenizer is not OpenAI's).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EmbeddingsInput {
    #[schema(title = "text")]
    One(String),
    #[schema(title = "texts")]
    Many(Vec<String>),
}

#[derive(OpenApi)]
#[openapi(
    paths(
        api::embeddings::create,
        api::detect::detect,
        api::pii::pii,
        api::pii::entities,
        api::key_phrases::key_phrases,
        api::classify::classify,
        api::sentiment::sentiment,
        api::summarize::summarize,
    ),
    tags(
        (name = "embeddings", description = "OpenAI-compatible sentence embeddings."),
        (name = "language", description = "Text analysis over batches of documents: language detection, entities and PII redaction, key phrases, zero-shot classification, sentiment, extractive summaries.")
    )
)]
struct LanguageDoc;

/// The language service's public operations, with the shared parts of
/// [`stratus_kit::openapi`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = LanguageDoc::openapi();
    doc.merge(stratus_kit::openapi::openapi());
    doc
}
