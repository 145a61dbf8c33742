//! # stratus-language
//!
//! The language service: sentence embeddings, entity/PII tagging and
//! language identification models on worker threads, behind an axum router.
//! (The analysis endpoints build on this.)
//!
//! ## Layout
//! - [`LanguageService`] — loads models in the background by task and
//!   reports each to readiness; [`LanguageService::router`] serves
//!   `/v1/models`, `/healthz`, `/readyz`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use candle_core::Device;
use stratus_kit::health::{self, Readiness};
use stratus_models::bert::{Embedder, TokenClassifier};
use stratus_models::card::ModelList;
use stratus_models::catalog::Task;
use stratus_models::fasttext::LanguageIdentifier;
use stratus_models::store::ResolvedModel;
use stratus_models::worker::{LoadedCards, WorkerSet, load_into};

/// Knobs of the language service.
#[derive(Debug, Clone)]
pub struct LanguageConfig {
    /// Requests that may wait per model before new ones are refused.
    pub queue_capacity: usize,
}

/// Errors of the language service layer.
#[derive(Debug, thiserror::Error)]
pub enum LanguageError {
    #[error("model `{name}` is a {task} model, which the language service does not serve yet")]
    UnsupportedTask { name: String, task: &'static str },
    #[error("could not start a model thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// The language service's state: its models, by task.
#[derive(Debug, Clone)]
pub struct LanguageService {
    pub embedders: WorkerSet<Embedder>,
    pub taggers: WorkerSet<TokenClassifier>,
    pub language_ids: WorkerSet<LanguageIdentifier>,
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
            Task::Embeddings | Task::TokenClassification | Task::LanguageIdentification
        );
        if !served {
            return Err(unsupported());
        }
        // Before the thread starts, so a load that finishes at once is not
        // overwritten back to "loading".
        self.readiness.starting(&model.name, "loading");
        let dir = model.dir.clone();
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
                move || Embedder::load(&dir, &Device::Cpu),
                report,
            ),
            Task::TokenClassification => load_into(
                &self.taggers,
                cards,
                model,
                "language",
                capacity,
                move || TokenClassifier::load(&dir, &Device::Cpu),
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
            Task::TextGeneration | Task::SpeechToText => return Err(unsupported()),
        }?;
        Ok(())
    }

    /// `/v1/models` and health routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/models", get(list_models))
            .with_state(self.clone())
            .merge(health::routes(self.readiness.clone()))
            .fallback(stratus_kit::error::not_found_fallback)
    }
}

async fn list_models(State(service): State<LanguageService>) -> Json<ModelList> {
    Json(ModelList::new(service.cards.list()))
}
