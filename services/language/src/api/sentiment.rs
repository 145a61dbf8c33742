//! `POST /v1/language/sentiment`: positive, negative, neutral or mixed, per
//! document and per sentence.
//!
//! Each document is split into sentences ([`crate::analysis::sentences`]);
//! each sentence gets `scores` (`positive`, `neutral`, `negative`, summing
//! to 1) from the sentiment model (a head trained on VADER's human ratings
//! over all-MiniLM-L6-v2, see `stratus_models::sentiment`) and the best of
//! them as its `sentiment`. The document's scores and label follow
//! [`crate::analysis::sentiment`] (length-weighted mean; `mixed` when
//! sentences disagree strongly). Sentence `start`/`end` are offsets in
//! Unicode scalar values (chars). `sentences: false` leaves the sentence
//! list out. English only: the model was trained on English ratings.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;
use stratus_models::sentiment::SentimentScores;

use super::documents::{Batch, DocumentResult, DocumentUsage, DocumentsInput};
use super::{ApiJson, Usage, model_or_default};
use crate::LanguageService;
use crate::analysis::sentences;
use crate::analysis::sentiment::{self as aggregate, Label};
use crate::error::LanguageError;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SentimentRequest {
    pub input: DocumentsInput,
    /// A loaded sentiment model (default: the only one).
    pub model: Option<String>,
    /// Include each sentence's result (default true).
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub sentences: bool,
}

fn yes() -> bool {
    true
}

/// One document's sentiment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DocumentSentiment {
    id: String,
    sentiment: Label,
    scores: SentimentScores,
    #[serde(skip_serializing_if = "Option::is_none")]
    sentences: Option<Vec<SentenceSentiment>>,
}

/// One sentence's sentiment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SentenceSentiment {
    text: String,
    /// Char offset of the sentence in the document.
    start: usize,
    /// Char offset just past it.
    end: usize,
    sentiment: Label,
    scores: SentimentScores,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SentimentResponse {
    /// Always `list`.
    object: &'static str,
    model: String,
    data: Vec<DocumentResult<DocumentSentiment>>,
    usage: DocumentUsage,
}

/// Score the sentiment of each document and of its sentences.
///
/// `positive`, `neutral` or `negative` per sentence with the three
/// probabilities; per document their length-weighted mean, labelled `mixed`
/// when sentences disagree strongly. Sentence `start`/`end` are char
/// offsets. English only.
#[utoipa::path(
    post,
    path = "/v1/language/sentiment",
    tag = "language",
    operation_id = "analyzeSentiment",
    request_body(content = SentimentRequest, example = json!({"input": ["I love this product.", {"id": "b", "text": "The delivery was late. The support was great."}]})),
    responses(
        (status = 200, description = "One result per document, in order; a document that could not be processed has `{id, error}` in its place.",
            body = SentimentResponse,
            headers(("x-stratus-usage-documents" = u64, description = "Documents processed (failed documents do not count)."),
                ("x-stratus-usage-characters" = u64, description = "Characters (Unicode scalar values) of the processed documents."))),
        stratus_kit::openapi::ModelErrors,
    )
)]
pub async fn sentiment(
    State(service): State<LanguageService>,
    ApiJson(request): ApiJson<SentimentRequest>,
) -> Result<Response, ApiError> {
    Ok(run(&service, request).await?)
}

async fn run(
    service: &LanguageService,
    request: SentimentRequest,
) -> Result<Response, LanguageError> {
    let with_sentences = request.sentences;
    let batch = Batch::parse(request.input, &service.config.limits)?;
    let worker = model_or_default(
        &service.sentiment_models,
        request.model.as_deref(),
        "sentiment",
    )?;
    let (data, usage) = batch
        .run_each(&worker, move |model, document| {
            let split = sentences::split(&document.text);
            let texts: Vec<&str> = split.iter().map(|s| s.text.as_str()).collect();
            let scores = model.classify(&texts)?;
            let weighted: Vec<(usize, SentimentScores)> = split
                .iter()
                .zip(&scores)
                .map(|(s, scores)| (s.end - s.start, *scores))
                .collect();
            let (label, document_scores) = aggregate::document(&weighted);
            let sentences = with_sentences.then(|| {
                split
                    .into_iter()
                    .zip(scores)
                    .map(|(s, scores)| SentenceSentiment {
                        text: s.text,
                        start: s.start,
                        end: s.end,
                        sentiment: Label::of(&scores),
                        scores,
                    })
                    .collect()
            });
            Ok(DocumentSentiment {
                id: document.id,
                sentiment: label,
                scores: document_scores,
                sentences,
            })
        })
        .await?;
    let headers = Usage::from(&usage);
    let model = worker.name().to_string();
    Ok(headers.respond(
        Some(&model),
        SentimentResponse {
            object: "list",
            model: model.clone(),
            data,
            usage,
        },
    ))
}
