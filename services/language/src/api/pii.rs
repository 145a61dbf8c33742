//! `POST /v1/language/entities` and `POST /v1/language/pii`.
//!
//! Both find spans with the Rampart tagger (when one is loaded) and the
//! deterministic recognizers of [`crate::pii::recognizers`], resolve
//! overlaps (validated recognizer spans first, then the longest, then the
//! higher score; see [`crate::pii::resolve`]) and answer per document
//! `{id, entities: [{type, text, start, end, score}]}`. **Offsets are
//! Unicode scalar values (chars), not bytes or UTF-16 units.** `/pii` adds
//! `redacted_text` in the requested `redaction` mode (`mask`, the default:
//! one `*` per char, so offsets still line up; `type`: `[EMAIL]`; `hash`:
//! `[EMAIL:<12 hex of HMAC-SHA256>]` with the operator's key).
//!
//! Type filters: `deny` (when given) lists the only types to report;
//! `allow` lists types that are never reported or redacted. Unknown type
//! names are a 400 so a typo cannot silently switch redaction off.
//!
//! `model` names a loaded token classifier; without it the only loaded one
//! is used, and with none loaded only the recognizers run.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;
use stratus_models::bert::TokenClassifier;

use super::documents::{Batch, Document, DocumentResult, DocumentUsage, DocumentsInput};
use super::{ApiJson, Usage, find_model};
use crate::LanguageService;
use crate::error::LanguageError;
use crate::pii::redact::{self, Mode};
use crate::pii::{self, Span};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PiiRequest {
    pub input: DocumentsInput,
    pub model: Option<String>,
    /// Types never reported (nor redacted).
    #[serde(default)]
    pub allow: Vec<String>,
    /// When non-empty, the only types reported.
    #[serde(default)]
    pub deny: Vec<String>,
    /// `/pii` only.
    #[serde(default)]
    pub redaction: Mode,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Entities {
    id: String,
    entities: Vec<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redacted_text: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct EntitiesResponse {
    object: &'static str,
    model: Option<String>,
    data: Vec<DocumentResult<Entities>>,
    usage: DocumentUsage,
}

/// Find named entities and personal data in each document.
///
/// The Rampart tagger (when loaded) merged with deterministic recognizers
/// (emails, phones, cards, IBANs, …). Offsets are Unicode scalar values.
#[utoipa::path(
    post,
    path = "/v1/language/entities",
    tag = "language",
    operation_id = "recognizeEntities",
    request_body(content = PiiRequest, example = json!({"input": "Write to ana@example.com or call +1 415 555 0100."})),
    responses(
        (status = 200, description = "One result per document, in order; a document that could not be processed has `{id, error}` in its place.",
            body = EntitiesResponse,
            headers(("x-stratus-usage-documents" = u64, description = "Documents processed (failed documents do not count)."),
                ("x-stratus-usage-characters" = u64, description = "Characters (Unicode scalar values) of the processed documents."))),
        stratus_kit::openapi::ModelErrors,
    )
)]
pub async fn entities(
    State(service): State<LanguageService>,
    ApiJson(request): ApiJson<PiiRequest>,
) -> Result<Response, ApiError> {
    Ok(run(&service, request, false).await?)
}

/// Find and redact personal data in each document.
///
/// Like `/v1/language/entities`, plus `redacted_text` in the chosen
/// `redaction` mode. `allow` lists types never reported; `deny` (when
/// given) the only types reported.
#[utoipa::path(
    post,
    path = "/v1/language/pii",
    tag = "language",
    operation_id = "redactPii",
    request_body(content = PiiRequest, example = json!({"input": "Write to ana@example.com.", "redaction": "type"})),
    responses(
        (status = 200, description = "One result per document, in order; a document that could not be processed has `{id, error}` in its place.",
            body = EntitiesResponse,
            headers(("x-stratus-usage-documents" = u64, description = "Documents processed (failed documents do not count)."),
                ("x-stratus-usage-characters" = u64, description = "Characters (Unicode scalar values) of the processed documents."))),
        stratus_kit::openapi::ModelErrors,
    )
)]
pub async fn pii(
    State(service): State<LanguageService>,
    ApiJson(request): ApiJson<PiiRequest>,
) -> Result<Response, ApiError> {
    Ok(run(&service, request, true).await?)
}

/// Which types a request keeps.
struct TypeFilter {
    allow: BTreeSet<String>,
    deny: BTreeSet<String>,
}

impl TypeFilter {
    fn new(allow: Vec<String>, deny: Vec<String>) -> Result<Self, LanguageError> {
        for (param, types) in [("allow", &allow), ("deny", &deny)] {
            if let Some(unknown) = types.iter().find(|t| !pii::is_known_type(t)) {
                let mut known: Vec<&str> = pii::RULE_TYPES
                    .iter()
                    .chain(pii::MODEL_TYPES.iter())
                    .copied()
                    .collect();
                known.sort_unstable();
                known.dedup();
                return Err(LanguageError::invalid(
                    param,
                    format!(
                        "unknown entity type `{unknown}`; known: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(Self {
            allow: allow.into_iter().collect(),
            deny: deny.into_iter().collect(),
        })
    }

    fn keeps(&self, kind: &str) -> bool {
        !self.allow.contains(kind) && (self.deny.is_empty() || self.deny.contains(kind))
    }
}

async fn run(
    service: &LanguageService,
    request: PiiRequest,
    with_redaction: bool,
) -> Result<Response, LanguageError> {
    let filter = TypeFilter::new(request.allow, request.deny)?;
    let key = service.config.redaction_key.clone();
    if with_redaction && request.redaction == Mode::Hash && key.is_none() {
        return Err(LanguageError::invalid(
            "redaction",
            "hash redaction needs a key: start the service with --redaction-key \
             (or STRATUS_REDACTION_KEY)",
        ));
    }
    let batch = Batch::parse(request.input, &service.config.limits)?;
    let tagger = match request.model.as_deref() {
        Some(name) => Some(find_model(&service.taggers, name, "token-classification")?),
        None => match service.taggers.names().as_slice() {
            [] => None,
            [only] => Some(find_model(&service.taggers, only, "token-classification")?),
            many => {
                return Err(LanguageError::invalid(
                    "model",
                    format!(
                        "several token-classification models are loaded ({}); name one in `model`",
                        many.join(", ")
                    ),
                ));
            }
        },
    };
    let documents = batch.documents();
    let model = tagger.as_ref().map(|t| t.name().to_string());
    let found: Vec<Vec<Span>> = match tagger {
        Some(tagger) => {
            tagger
                .run(move |model| find_all(Some(model), &documents))
                .await??
        }
        // Regexes over up to the request's character limit: short, but
        // still CPU work that does not belong on the async runtime.
        None => tokio::task::spawn_blocking(move || find_all(None, &documents))
            .await
            .map_err(|e| LanguageError::Thread(std::io::Error::other(e)))??,
    };
    let mode = request.redaction;
    let results = batch
        .documents()
        .into_iter()
        .zip(found)
        .map(|(document, spans)| {
            let spans: Vec<Span> = spans
                .into_iter()
                .filter(|s| filter.keeps(&s.kind))
                .collect();
            let redacted_text =
                with_redaction.then(|| redact::redact(&document.text, &spans, mode, key.as_ref()));
            Entities {
                id: document.id,
                entities: spans,
                redacted_text,
            }
        })
        .collect();
    let (data, usage) = batch.assemble(results);
    let headers = Usage::from(&usage);
    let served = model.clone();
    Ok(headers.respond(
        served.as_deref(),
        EntitiesResponse {
            object: "list",
            model,
            data,
            usage,
        },
    ))
}

/// Spans of every document: the tagger's (if any) and the recognizers',
/// overlaps resolved.
fn find_all(
    tagger: Option<&mut TokenClassifier>,
    documents: &[Document],
) -> Result<Vec<Vec<Span>>, LanguageError> {
    let tagger = tagger.map(|t| &*t);
    documents
        .iter()
        .map(|document| {
            let rules = pii::recognizers::recognize(&document.text);
            let model = match tagger {
                Some(tagger) => tagger
                    .tag(&document.text)?
                    .into_iter()
                    .map(|e| Span {
                        kind: e.label,
                        text: e.text,
                        start: e.start,
                        end: e.end,
                        score: e.score,
                    })
                    .collect(),
                None => Vec::new(),
            };
            Ok(pii::resolve(rules, model))
        })
        .collect()
}
