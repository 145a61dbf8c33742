//! `POST /v1/language/detect`: the language of each document with fastText
//! lid.176.
//!
//! Codes are lid.176's: ISO 639-1 where the language has one (`en`, `fr`,
//! `zh`), otherwise ISO 639-2/3 (`ceb`, `war`). `confidence` is the model's
//! probability. `alternatives` holds the `top_k` (default 3, at most 10)
//! best candidates, best first, so it starts with `language` itself. A
//! caller's `language` hint on a document is ignored here: detecting it is
//! the point.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;

use super::documents::{Batch, DocumentResult, DocumentUsage, DocumentsInput};
use super::{ApiJson, Usage, model_or_default};
use crate::LanguageService;
use crate::error::LanguageError;

/// Candidates returned when the request does not say.
const DEFAULT_TOP_K: usize = 3;
/// Most candidates a request may ask for.
const MAX_TOP_K: usize = 10;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DetectRequest {
    pub input: DocumentsInput,
    /// A loaded language-identification model (default: the only one).
    pub model: Option<String>,
    pub top_k: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Detection {
    id: String,
    language: String,
    confidence: f32,
    alternatives: Vec<Candidate>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Candidate {
    language: String,
    confidence: f32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DetectResponse {
    object: &'static str,
    model: String,
    data: Vec<DocumentResult<Detection>>,
    usage: DocumentUsage,
}

/// Detect the language of each document.
///
/// fastText lid.176: ISO 639-1 codes where the language has one, else ISO
/// 639-2/3; `confidence` is a probability; `alternatives` holds the `top_k`
/// best candidates, best first.
#[utoipa::path(
    post,
    path = "/v1/language/detect",
    tag = "language",
    operation_id = "detectLanguage",
    request_body(content = DetectRequest, example = json!({"input": ["Bonjour tout le monde", {"id": "b", "text": "Guten Morgen"}], "top_k": 2})),
    responses(
        (status = 200, description = "One result per document, in order; a document that could not be processed has `{id, error}` in its place.",
            body = DetectResponse,
            headers(("x-stratus-usage-documents" = u64, description = "Documents processed (failed documents do not count)."),
                ("x-stratus-usage-characters" = u64, description = "Characters (Unicode scalar values) of the processed documents."))),
        stratus_kit::openapi::ModelErrors,
    )
)]
pub async fn detect(
    State(service): State<LanguageService>,
    ApiJson(request): ApiJson<DetectRequest>,
) -> Result<Response, ApiError> {
    Ok(run(&service, request).await?)
}

async fn run(service: &LanguageService, request: DetectRequest) -> Result<Response, LanguageError> {
    let top_k = request.top_k.unwrap_or(DEFAULT_TOP_K);
    if !(1..=MAX_TOP_K).contains(&top_k) {
        return Err(LanguageError::invalid(
            "top_k",
            format!("top_k must be between 1 and {MAX_TOP_K}"),
        ));
    }
    let batch = Batch::parse(request.input, &service.config.limits)?;
    let worker = model_or_default(
        &service.language_ids,
        request.model.as_deref(),
        "language-identification",
    )?;
    let (data, usage) = batch
        .run_each(&worker, move |model, document| {
            // fastText classifies one line; newlines would end the
            // text early.
            let line = document.text.replace(['\n', '\r'], " ");
            let candidates: Vec<Candidate> = model
                .predict(&line, top_k)
                .into_iter()
                .map(|(language, confidence)| Candidate {
                    language,
                    // fastText adds 1e-5 to every probability (its
                    // log-of-zero guard); a confidence above 1 would
                    // read as a bug to callers.
                    confidence: confidence.min(1.0),
                })
                .collect();
            let (language, confidence) = candidates
                .first()
                .map_or((String::new(), 0.0), |c| (c.language.clone(), c.confidence));
            Ok(Detection {
                id: document.id,
                language,
                confidence,
                alternatives: candidates,
            })
        })
        .await?;
    let headers = Usage::from(&usage);
    Ok(headers.respond(
        Some(worker.name()),
        DetectResponse {
            object: "list",
            model: worker.name().to_string(),
            data,
            usage,
        },
    ))
}
