//! # stratus-language
//!
//! The language service: sentence embeddings, entity/PII tagging,
//! language identification, sentiment and text-generation (abstractive
//! summary) models on worker threads, behind an axum router.
//!
//! ## Layout
//! - this file — [`LanguageService`]: loads models in the background by
//!   task and reports each to readiness; [`LanguageService::router`] serves
//!   the endpoints, `/v1/models`, `/healthz`, `/readyz`. [`LanguageConfig`]
//!   and [`Limits`]: the knobs.
//! - [`api`] — one file per endpoint (`/v1/embeddings`,
//!   `/v1/language/detect`, `/v1/language/pii`, `/v1/language/entities`)
//!   and the document-batch request shape they share; key phrases,
//!   zero-shot classification and extractive summaries over the sentence
//!   embedder.
//! - [`analysis`] — sentence splitting, key-phrase candidates, MMR and
//!   scoring, free of HTTP and models.
//! - [`pii`] — deterministic recognizers, span merging, redaction.
//! - [`error`] — [`LanguageError`] and its one mapping to the API envelope.
//! - [`openapi`] — the service's OpenAPI operations ([`openapi()`]).
//!
//! All text offsets and character counts (limits, usage) are Unicode
//! scalar values (Rust `char`s).

pub mod analysis;
pub mod api;
pub mod error;
pub mod openapi;
pub mod pii;

pub use openapi::openapi;

pub use error::LanguageError;
pub use pii::redact::RedactionKey;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use candle_core::Device;
use stratus_kit::health::{self, Readiness};
use stratus_models::batching::{BatchConfig, EmbeddingBatcher};
use stratus_models::bert::{Embedder, TokenClassifier};
use stratus_models::card::ModelList;
use stratus_models::catalog::Task;
use stratus_models::fasttext::LanguageIdentifier;
use stratus_models::generation::Generator;
use stratus_models::sentiment::SentimentModel;
use stratus_models::store::ResolvedModel;
use stratus_models::worker::{LoadedCards, WorkerSet, load_into};

/// Knobs of the language service.
#[derive(Debug, Clone)]
pub struct LanguageConfig {
    /// Requests that may wait per model before new ones are refused (the
    /// embedder's batcher admits by tokens instead: `batching`).
    pub queue_capacity: usize,
    /// Request size limits.
    pub limits: Limits,
    /// Key of `hash` redaction; without one, `hash` is refused.
    pub redaction_key: Option<RedactionKey>,
    /// Where the transformer models run (`--device`); fastText is CPU code.
    pub device: Device,
    /// How `/v1/embeddings` requests of concurrent callers are grouped
    /// into one forward pass.
    pub batching: BatchConfig,
}

impl LanguageConfig {
    /// Default limits, no redaction key.
    pub fn new(queue_capacity: usize) -> Self {
        Self {
            queue_capacity,
            limits: Limits::default(),
            redaction_key: None,
            device: Device::Cpu,
            batching: BatchConfig::default(),
        }
    }
}

/// Request size limits. Counts are chars (Unicode scalar values) unless
/// the name says bytes. Whole-request limits fail the request (400 for
/// counts, 413 for sizes); [`Limits::max_document_bytes`] fails only the
/// document concerned.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Inputs per `/v1/embeddings` request (OpenAI's limit).
    pub max_embedding_inputs: usize,
    /// Chars per embeddings input. The model reads at most 256 tokens, so
    /// more only costs tokenization, and only with `truncate: true`.
    pub max_input_chars: usize,
    /// Chars per embeddings request.
    pub max_total_chars: usize,
    /// Documents per analysis request (Azure AI Language's batch size).
    pub max_documents: usize,
    /// UTF-8 bytes per analysis document: bounds the tagger's work (~12k
    /// tokens, ~25 windows) per document.
    pub max_document_bytes: usize,
    /// Chars per analysis request, all documents together.
    pub max_request_chars: usize,
    /// Bytes of a request body, checked before any JSON is parsed.
    pub max_body_bytes: usize,
    /// Documents per abstractive summary request: each costs seconds of
    /// generation on a CPU, so a full batch of 25 would outlast any
    /// sensible request timeout.
    pub max_abstractive_documents: usize,
    /// Prompt tokens (instructions and document) per abstractive summary:
    /// reading the prompt is quadratic in its length, and the 135M model
    /// summarizes long text poorly anyway.
    pub max_abstractive_input_tokens: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_embedding_inputs: 2048,
            max_input_chars: 50_000,
            max_total_chars: 1_000_000,
            max_documents: 25,
            max_document_bytes: 50_000,
            max_request_chars: 250_000,
            // 1M chars of JSON-escaped multi-byte text fits.
            max_body_bytes: 16 * 1024 * 1024,
            max_abstractive_documents: 8,
            max_abstractive_input_tokens: 2048,
        }
    }
}

/// The language service's state: its models, by task.
#[derive(Debug, Clone)]
pub struct LanguageService {
    pub embedders: WorkerSet<Embedder>,
    pub taggers: WorkerSet<TokenClassifier>,
    pub language_ids: WorkerSet<LanguageIdentifier>,
    pub sentiment_models: WorkerSet<SentimentModel>,
    pub generators: WorkerSet<Generator>,
    /// One batcher per embedder, made on first use.
    batchers: Arc<Mutex<BTreeMap<String, EmbeddingBatcher>>>,
    pub cards: LoadedCards,
    pub readiness: Readiness,
    pub config: LanguageConfig,
}

impl LanguageService {
    /// A service with no models yet; [`LanguageService::load`] adds them.
    pub fn new(config: LanguageConfig, readiness: Readiness) -> Self {
        Self {
            embedders: WorkerSet::default(),
            taggers: WorkerSet::default(),
            language_ids: WorkerSet::default(),
            sentiment_models: WorkerSet::default(),
            generators: WorkerSet::default(),
            batchers: Arc::default(),
            cards: LoadedCards::default(),
            readiness,
            config,
        }
    }

    /// Start loading `model` on its own thread, by its task; readiness shows
    /// it as loading until it is ready (or failed).
    pub fn load(&self, model: &ResolvedModel) -> Result<(), LanguageError> {
        let unsupported = || LanguageError::UnsupportedTask {
            name: model.name.clone(),
            task: model.task.as_str(),
        };
        let served = matches!(
            model.task,
            Task::Embeddings
                | Task::TokenClassification
                | Task::LanguageIdentification
                | Task::SentimentAnalysis
                | Task::TextGeneration
        );
        if !served {
            return Err(unsupported());
        }
        // Before the thread starts, so a load that finishes at once is not
        // overwritten back to "loading".
        self.readiness.starting(&model.name, "loading");
        let dir = model.dir.clone();
        let device = self.config.device.clone();
        let readiness = self.readiness.clone();
        let report = Box::new(move |name: &str, result| readiness.loaded(name, result));
        let (cards, capacity) = (&self.cards, self.config.queue_capacity);
        match model.task {
            Task::Embeddings => load_into(
                &self.embedders,
                cards,
                model,
                "language",
                capacity,
                // Truncation on: whether a request may cut its input is
                // decided per request in `api::embeddings`.
                move || Embedder::load(&dir, &device).map(|e| e.with_truncation(true)),
                report,
            ),
            Task::TokenClassification => load_into(
                &self.taggers,
                cards,
                model,
                "language",
                capacity,
                move || TokenClassifier::load(&dir, &device),
                report,
            ),
            Task::LanguageIdentification => load_into(
                &self.language_ids,
                cards,
                model,
                "language",
                capacity,
                move || LanguageIdentifier::load(&dir),
                report,
            ),
            Task::SentimentAnalysis => load_into(
                &self.sentiment_models,
                cards,
                model,
                "language",
                capacity,
                move || SentimentModel::load(&dir, &device),
                report,
            ),
            Task::TextGeneration => load_into(
                &self.generators,
                cards,
                model,
                "language",
                capacity,
                move || Generator::load(&dir, &device),
                report,
            ),
            Task::SpeechToText => return Err(unsupported()),
        }?;
        Ok(())
    }

    /// The batcher of the loaded embedder `name`, or 404 naming what is
    /// loaded.
    pub fn embedding_batcher(&self, name: &str) -> Result<EmbeddingBatcher, LanguageError> {
        let worker = api::find_model(&self.embedders, name, "embedding")?;
        let mut batchers = self.batchers.lock().unwrap_or_else(|p| p.into_inner());
        Ok(batchers
            .entry(name.to_string())
            .or_insert_with(|| EmbeddingBatcher::new(worker, self.config.batching.clone()))
            .clone())
    }

    /// Every public route of the service with its methods, health routes
    /// aside: [`Self::router`] serves exactly these, and the gateway's test
    /// checks that the OpenAPI document covers each.
    pub fn public_routes() -> Vec<(&'static str, MethodRouter<LanguageService>)> {
        vec![
            ("/v1/models", get(list_models)),
            ("/v1/embeddings", post(api::embeddings::create)),
            ("/v1/language/detect", post(api::detect::detect)),
            ("/v1/language/pii", post(api::pii::pii)),
            ("/v1/language/entities", post(api::pii::entities)),
            (
                "/v1/language/key-phrases",
                post(api::key_phrases::key_phrases),
            ),
            ("/v1/language/classify", post(api::classify::classify)),
            ("/v1/language/sentiment", post(api::sentiment::sentiment)),
            ("/v1/language/summarize", post(api::summarize::summarize)),
        ]
    }

    /// The endpoints, `/v1/models` and health routes.
    pub fn router(&self) -> Router {
        Self::public_routes()
            .into_iter()
            .fold(Router::new(), |router, (path, handler)| {
                router.route(path, handler)
            })
            .layer(DefaultBodyLimit::max(self.config.limits.max_body_bytes))
            .with_state(self.clone())
            .merge(health::routes(self.readiness.clone()))
            .fallback(stratus_kit::error::not_found_fallback)
            .method_not_allowed_fallback(stratus_kit::error::method_not_allowed_fallback)
    }

    /// [`Self::router`] behind a gateway: tenant context headers are
    /// believed only with `token` (`stratus_kit::context::accept`) and
    /// reach handlers as `Option<Extension<TenantContext>>`. `None`: no
    /// context is ever believed.
    pub fn router_with_context(
        &self,
        token: Option<stratus_kit::context::InternalToken>,
    ) -> Router {
        stratus_kit::context::behind_gateway(self.router(), token)
    }
}

async fn list_models(State(service): State<LanguageService>) -> Json<ModelList> {
    Json(ModelList::new(service.cards.list()))
}
