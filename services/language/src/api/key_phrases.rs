//! `POST /v1/language/key-phrases`: the key phrases of each document,
//! KeyBERT-style.
//!
//! Candidates are the noun-phrase-like 1–3-word n-grams of
//! [`crate::analysis::phrases`], at most [`MAX_CANDIDATES`] per document
//! (the most frequent). Each candidate and the document are embedded with
//! the sentence embedder in one call to its worker (the document as the
//! normalised mean of its ~800-char pieces, so all of a long document
//! counts); candidates are ranked by cosine similarity to the document with
//! maximal marginal relevance (`diversity`, 0..=1, default 0.5: 0 ranks by
//! relevance alone, higher values prefer phrases unlike those already
//! picked). Each phrase comes back with `score`, its cosine to the document
//! (−1..=1, higher is more central), best first; `top_k` (default 5, at
//! most 20) bounds the count.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;
use stratus_models::bert::Embedder;

use super::documents::{Batch, Document, DocumentResult, DocumentUsage, DocumentsInput};
use super::{ApiJson, Usage, model_or_default};
use crate::LanguageService;
use crate::analysis::{CHUNK_CHARS, phrases, scoring, sentences};
use crate::error::LanguageError;

/// Phrases returned when the request does not say.
const DEFAULT_TOP_K: usize = 5;
/// Most phrases a request may ask for.
const MAX_TOP_K: usize = 20;
/// Most candidates embedded per document: bounds one document's work to
/// a few forward passes of short texts.
pub const MAX_CANDIDATES: usize = 200;
/// Words per candidate phrase.
const MAX_WORDS: usize = 3;
/// MMR diversity when the request does not say.
const DEFAULT_DIVERSITY: f32 = 0.5;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct KeyPhrasesRequest {
    pub input: DocumentsInput,
    /// A loaded embeddings model (default: the only one).
    pub model: Option<String>,
    pub top_k: Option<usize>,
    pub diversity: Option<f32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct KeyPhrases {
    id: String,
    key_phrases: Vec<Phrase>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Phrase {
    text: String,
    score: f32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct KeyPhrasesResponse {
    object: &'static str,
    model: String,
    data: Vec<DocumentResult<KeyPhrases>>,
    usage: DocumentUsage,
}

/// Extract the key phrases of each document.
///
/// KeyBERT-style: noun-phrase candidates ranked by similarity to the
/// document with maximal marginal relevance (`diversity`); `score` is the
/// cosine to the document, best first.
#[utoipa::path(
    post,
    path = "/v1/language/key-phrases",
    tag = "language",
    operation_id = "extractKeyPhrases",
    request_body(content = KeyPhrasesRequest, example = json!({"input": "The new battery chemistry doubles the range of electric cars.", "top_k": 3})),
    responses(
        (status = 200, description = "One result per document, in order; a document that could not be processed has `{id, error}` in its place.",
            body = KeyPhrasesResponse,
            headers(("x-stratus-usage-documents" = u64, description = "Documents processed (failed documents do not count)."),
                ("x-stratus-usage-characters" = u64, description = "Characters (Unicode scalar values) of the processed documents."))),
        stratus_kit::openapi::ModelErrors,
    )
)]
pub async fn key_phrases(
    State(service): State<LanguageService>,
    ApiJson(request): ApiJson<KeyPhrasesRequest>,
) -> Result<Response, ApiError> {
    Ok(run(&service, request).await?)
}

async fn run(
    service: &LanguageService,
    request: KeyPhrasesRequest,
) -> Result<Response, LanguageError> {
    let top_k = request.top_k.unwrap_or(DEFAULT_TOP_K);
    if !(1..=MAX_TOP_K).contains(&top_k) {
        return Err(LanguageError::invalid(
            "top_k",
            format!("top_k must be between 1 and {MAX_TOP_K}"),
        ));
    }
    let diversity = request.diversity.unwrap_or(DEFAULT_DIVERSITY);
    if !(0.0..=1.0).contains(&diversity) {
        return Err(LanguageError::invalid(
            "diversity",
            "diversity must be between 0 and 1",
        ));
    }
    let batch = Batch::parse(request.input, &service.config.limits)?;
    let worker = model_or_default(&service.embedders, request.model.as_deref(), "embeddings")?;
    let (data, usage) = batch
        .run_each(&worker, move |model, document| {
            extract(model, document, top_k, diversity)
        })
        .await?;
    let headers = Usage::from(&usage);
    Ok(headers.respond(
        Some(worker.name()),
        KeyPhrasesResponse {
            object: "list",
            model: worker.name().to_string(),
            data,
            usage,
        },
    ))
}

/// On the model's thread: one document's key phrases.
fn extract(
    model: &mut Embedder,
    document: Document,
    top_k: usize,
    diversity: f32,
) -> Result<KeyPhrases, LanguageError> {
    let candidates = phrases::candidates(&document.text, MAX_WORDS, MAX_CANDIDATES);
    let pieces = sentences::chunks(&document.text, CHUNK_CHARS);
    // One embed call for the document's pieces and every candidate: the
    // embedder batches them by length.
    let lowered: Vec<String> = candidates.iter().map(|c| c.text.to_lowercase()).collect();
    let texts: Vec<&str> = pieces
        .iter()
        .map(String::as_str)
        .chain(lowered.iter().map(String::as_str))
        .collect();
    let mut vectors = model.embed(&texts)?;
    let phrase_vectors = vectors.split_off(pieces.len());
    let doc = scoring::centroid(&vectors);
    let relevance: Vec<f32> = phrase_vectors
        .iter()
        .map(|v| scoring::cosine(v, &doc))
        .collect();
    let mut key_phrases: Vec<Phrase> = scoring::mmr(&relevance, &phrase_vectors, top_k, diversity)
        .into_iter()
        .filter_map(|i| {
            Some(Phrase {
                text: candidates.get(i)?.text.clone(),
                score: relevance[i],
            })
        })
        .collect();
    // Best first by relevance; MMR decided which, not the order shown.
    key_phrases.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(KeyPhrases {
        id: document.id,
        key_phrases,
    })
}
