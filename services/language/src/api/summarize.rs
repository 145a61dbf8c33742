//! `POST /v1/language/summarize`: extractive summaries.
//!
//! Each document is split into sentences ([`crate::analysis::sentences`]),
//! every sentence is embedded (one call to the embedder's worker per
//! request), and each sentence is scored by its centrality: the cosine of
//! its embedding to the document's centroid (the normalised mean of all its
//! sentence embeddings). The best `max_sentences` (default 3, at most
//! [`MAX_SENTENCES`]), or `ratio` (0 < ratio ≤ 1) of the sentences rounded
//! up, come back **in their original order** with their `start`/`end`
//! offsets in **Unicode scalar values (chars)** and their `score`, and
//! `summary` joins them with a space.
//!
//! `mode: "abstractive"` writes a new summary with a text-generation
//! model (SmolLM2-135M-Instruct, loaded with `--models
//! …,smollm2-135m-instruct`): greedy decoding, so the same document gets
//! the same summary, of at most `max_tokens` (default
//! [`DEFAULT_SUMMARY_TOKENS`], at most [`MAX_SUMMARY_TOKENS`]). Generation
//! costs seconds per document on a CPU, so an abstractive request takes at
//! most [`crate::Limits::max_abstractive_documents`] documents and each at
//! most [`crate::Limits::max_abstractive_input_tokens`] prompt tokens (a
//! longer one fails alone, `document_too_long`). `sentences` is empty for
//! an abstractive summary; `finish_reason` says whether it ended by itself
//! (`stop`) or at `max_tokens` (`length`).

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;
use stratus_models::bert::Embedder;
use stratus_models::generation::{GenerationParams, Generator, Message, Role};

use super::documents::{
    Batch, Document, DocumentError, DocumentResult, DocumentUsage, DocumentsInput,
};
use super::{ApiJson, Usage, model_or_default};
use crate::LanguageService;
use crate::analysis::{scoring, sentences};
use crate::error::LanguageError;

/// Sentences returned when the request says neither `max_sentences` nor
/// `ratio`.
const DEFAULT_SENTENCES: usize = 3;
/// Most sentences a request may ask for.
pub const MAX_SENTENCES: usize = 100;
/// Tokens of an abstractive summary when the request does not say.
pub const DEFAULT_SUMMARY_TOKENS: usize = 128;
/// Most tokens an abstractive summary may ask for.
pub const MAX_SUMMARY_TOKENS: usize = 512;

/// What the generation model is told; the document follows the user
/// instruction.
const SYSTEM_PROMPT: &str = "You are a precise assistant. You summarize texts faithfully, \
     without adding facts that are not in them.";
const INSTRUCTION: &str = "Summarize the following text in two or three sentences.";

/// Kind of summary.
#[derive(Debug, Default, Clone, Copy, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = SummaryMode)]
pub enum Mode {
    #[default]
    Extractive,
    Abstractive,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SummarizeRequest {
    pub input: DocumentsInput,
    /// Extractive: a loaded embeddings model; abstractive: a loaded
    /// text-generation model (default: the only one of its kind).
    pub model: Option<String>,
    /// Extractive only: sentences to keep (default 3, at most 100).
    pub max_sentences: Option<usize>,
    /// Extractive only: share of the sentences to keep, in (0, 1].
    pub ratio: Option<f32>,
    /// Abstractive only: most tokens of each summary (default 128, at
    /// most 512).
    pub max_tokens: Option<usize>,
    #[serde(default)]
    pub mode: Mode,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Summary {
    id: String,
    summary: String,
    /// The extracted sentences (empty for an abstractive summary).
    sentences: Vec<SummarySentence>,
    /// Abstractive only: `stop` (the model ended the summary) or `length`
    /// (it reached `max_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'static str>,
    /// Prompt tokens the model read (reported in the usage headers).
    #[serde(skip)]
    input_tokens: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SummarySentence {
    text: String,
    /// Char offset of the sentence in the document.
    start: usize,
    /// Char offset just past it.
    end: usize,
    score: f32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SummarizeResponse {
    object: &'static str,
    model: String,
    data: Vec<DocumentResult<Summary>>,
    usage: DocumentUsage,
}

/// How many sentences a summary keeps.
#[derive(Debug, Clone, Copy)]
enum Length {
    Sentences(usize),
    Ratio(f32),
}

impl Length {
    fn of(self, sentences: usize) -> usize {
        match self {
            Self::Sentences(n) => n.min(sentences),
            // `ratio` is in (0, 1] and counts are small: the product is
            // exact enough, and at least one sentence is kept.
            Self::Ratio(ratio) => {
                let wanted = (ratio * sentences as f32).ceil();
                (wanted.max(1.0) as usize).min(sentences)
            }
        }
    }
}

/// Summarize each document: its most central sentences, or a new text.
///
/// Extractive (default): the best `max_sentences` (default 3) or `ratio` of the sentences, in
/// their original order, with char offsets and scores; or, with `mode:
/// "abstractive"`, a summary written by a text-generation model
/// (SmolLM2), at most `max_tokens` long.
#[utoipa::path(
    post,
    path = "/v1/language/summarize",
    tag = "language",
    operation_id = "summarizeText",
    request_body(content = SummarizeRequest, example = json!({"input": "First sentence. Second sentence. Third sentence. Fourth one.", "max_sentences": 2})),
    responses(
        (status = 200, description = "One result per document, in order; a document that could not be processed has `{id, error}` in its place.",
            body = SummarizeResponse,
            headers(("x-stratus-usage-documents" = u64, description = "Documents processed (failed documents do not count)."),
                ("x-stratus-usage-characters" = u64, description = "Characters (Unicode scalar values) of the processed documents."))),
        stratus_kit::openapi::ModelErrors,
    )
)]
pub async fn summarize(
    State(service): State<LanguageService>,
    ApiJson(request): ApiJson<SummarizeRequest>,
) -> Result<Response, ApiError> {
    Ok(run(&service, request).await?)
}

fn length(request: &SummarizeRequest) -> Result<Length, LanguageError> {
    match (request.max_sentences, request.ratio) {
        (Some(_), Some(_)) => Err(LanguageError::invalid(
            "ratio",
            "give max_sentences or ratio, not both",
        )),
        (_, Some(ratio)) if !(ratio > 0.0 && ratio <= 1.0) => Err(LanguageError::invalid(
            "ratio",
            "ratio must be above 0 and at most 1",
        )),
        (_, Some(ratio)) => Ok(Length::Ratio(ratio)),
        (Some(n), None) if !(1..=MAX_SENTENCES).contains(&n) => Err(LanguageError::invalid(
            "max_sentences",
            format!("max_sentences must be between 1 and {MAX_SENTENCES}"),
        )),
        (n, None) => Ok(Length::Sentences(n.unwrap_or(DEFAULT_SENTENCES))),
    }
}

async fn run(
    service: &LanguageService,
    request: SummarizeRequest,
) -> Result<Response, LanguageError> {
    if request.mode == Mode::Abstractive {
        return run_abstractive(service, request).await;
    }
    if request.max_tokens.is_some() {
        return Err(LanguageError::invalid(
            "max_tokens",
            "max_tokens applies to abstractive summaries; extractive ones take max_sentences or ratio",
        ));
    }
    let length = length(&request)?;
    let batch = Batch::parse(request.input, &service.config.limits)?;
    let worker = model_or_default(&service.embedders, request.model.as_deref(), "embeddings")?;
    let (data, usage) = batch
        .run_each(&worker, move |model, document| {
            summarize_one(model, document, length)
        })
        .await?;
    Ok(respond(worker.name(), data, usage, None))
}

/// On the model's thread: one document's summary.
fn summarize_one(
    model: &mut Embedder,
    document: Document,
    length: Length,
) -> Result<Summary, LanguageError> {
    let all = sentences::split(&document.text);
    let texts: Vec<&str> = all.iter().map(|s| s.text.as_str()).collect();
    let vectors = model.embed(&texts)?;
    let centroid = scoring::centroid(&vectors);
    let scores: Vec<f32> = vectors
        .iter()
        .map(|v| scoring::cosine(v, &centroid))
        .collect();
    let picked = scoring::top_k_in_order(&scores, length.of(all.len()));
    let chosen: Vec<SummarySentence> = picked
        .into_iter()
        .filter_map(|i| {
            let sentence = all.get(i)?;
            Some(SummarySentence {
                text: sentence.text.clone(),
                start: sentence.start,
                end: sentence.end,
                score: scores[i],
            })
        })
        .collect();
    let summary = chosen
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Summary {
        id: document.id,
        summary,
        sentences: chosen,
        finish_reason: None,
        input_tokens: 0,
    })
}

async fn run_abstractive(
    service: &LanguageService,
    request: SummarizeRequest,
) -> Result<Response, LanguageError> {
    if request.max_sentences.is_some() || request.ratio.is_some() {
        let param = if request.ratio.is_some() {
            "ratio"
        } else {
            "max_sentences"
        };
        return Err(LanguageError::invalid(
            param,
            "max_sentences and ratio apply to extractive summaries; abstractive ones take max_tokens",
        ));
    }
    let max_tokens = request.max_tokens.unwrap_or(DEFAULT_SUMMARY_TOKENS);
    if !(1..=MAX_SUMMARY_TOKENS).contains(&max_tokens) {
        return Err(LanguageError::invalid(
            "max_tokens",
            format!("max_tokens must be between 1 and {MAX_SUMMARY_TOKENS}"),
        ));
    }
    let limits = &service.config.limits;
    if let super::documents::DocumentsInput::Many(items) = &request.input
        && items.len() > limits.max_abstractive_documents
    {
        return Err(LanguageError::invalid(
            "input",
            format!(
                "abstractive summaries take at most {} documents per request ({} given); \
                 send several requests or use mode \"extractive\"",
                limits.max_abstractive_documents,
                items.len()
            ),
        ));
    }
    let worker = if service.generators.names().is_empty() && request.model.is_none() {
        return Err(LanguageError::invalid(
            "mode",
            "abstractive summaries need a text-generation model and none is loaded; \
             start the service with smollm2-135m-instruct among its models \
             (--models …,smollm2-135m-instruct) or use mode \"extractive\"",
        ));
    } else {
        model_or_default(
            &service.generators,
            request.model.as_deref(),
            "text-generation",
        )?
    };
    let batch = Batch::parse(request.input, limits)?;
    let params = GenerationParams {
        max_tokens,
        ..GenerationParams::default()
    };
    let max_input_tokens = limits.max_abstractive_input_tokens;
    let (data, usage) = batch
        .run_each_fallible(&worker, move |model, document| {
            abstract_one(model, document, &params, max_input_tokens)
        })
        .await?;
    let input_tokens = data
        .iter()
        .map(|result| match result {
            DocumentResult::Ok(summary) => summary.input_tokens,
            DocumentResult::Failed { .. } => 0,
        })
        .sum();
    Ok(respond(worker.name(), data, usage, Some(input_tokens)))
}

/// A summary response with its usage headers; `input_tokens`: the prompt
/// tokens a generation model read, when one ran.
fn respond(
    model: &str,
    data: Vec<DocumentResult<Summary>>,
    usage: DocumentUsage,
    input_tokens: Option<usize>,
) -> Response {
    let mut headers = Usage::from(&usage);
    headers.input_tokens = input_tokens;
    headers.respond(
        Some(model),
        SummarizeResponse {
            object: "list",
            model: model.to_string(),
            data,
            usage,
        },
    )
}

/// On the generation model's thread: one document's abstractive summary,
/// or the reason this document gets none.
fn abstract_one(
    model: &mut Generator,
    document: Document,
    params: &GenerationParams,
    max_input_tokens: usize,
) -> Result<Result<Summary, DocumentError>, LanguageError> {
    let messages = [
        Message::new(Role::System, SYSTEM_PROMPT),
        Message::new(Role::User, format!("{INSTRUCTION}\n\n{}", document.text)),
    ];
    let prompt_tokens = model.prompt(&messages)?.len();
    if prompt_tokens > max_input_tokens {
        return Ok(Err(DocumentError {
            code: "document_too_long",
            message: format!(
                "the document and instructions are {prompt_tokens} tokens; abstractive summaries \
                 read at most {max_input_tokens} (extractive summaries have no such limit)"
            ),
        }));
    }
    let generation = model.generate(&messages, params)?;
    Ok(Ok(Summary {
        id: document.id,
        summary: generation.text,
        sentences: Vec::new(),
        finish_reason: Some(generation.finish_reason.as_str()),
        input_tokens: generation.prompt_tokens,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(Length::Sentences(3).of(2), 2);
        assert_eq!(Length::Ratio(0.3).of(10), 3);
        assert_eq!(Length::Ratio(0.01).of(10), 1);
        assert_eq!(Length::Ratio(1.0).of(7), 7);
        assert_eq!(Length::Ratio(0.5).of(0), 0);
    }
}
