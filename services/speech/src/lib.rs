//! # stratus-speech
//!
//! The speech service: Whisper models on worker threads, behind an axum
//! router. (Transcription and translation endpoints build on this.)
//!
//! ## Layout
//! - [`SpeechService`] — loads models in the background and reports each to
//!   readiness; [`SpeechService::router`] serves
//!   `/v1/models`, `/healthz`, `/readyz`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use candle_core::Device;
use stratus_kit::health::{self, Readiness};
use stratus_models::card::ModelList;
use stratus_models::catalog::Task;
use stratus_models::store::ResolvedModel;
use stratus_models::whisper::WhisperModel;
use stratus_models::worker::{LoadedCards, WorkerSet, load_into};

/// Knobs of the speech service.
#[derive(Debug, Clone)]
pub struct SpeechConfig {
    /// Requests that may wait per model before new ones are refused.
    pub queue_capacity: usize,
}

/// Errors of the speech service layer.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error("model `{name}` is a {task} model; the speech service serves speech-to-text models")]
    WrongTask { name: String, task: &'static str },
    #[error("could not start a model thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// The speech service's state: the Whisper models it hosts.
#[derive(Debug, Clone)]
pub struct SpeechService {
    pub whisper: WorkerSet<WhisperModel>,
    pub cards: LoadedCards,
    pub readiness: Readiness,
    pub config: SpeechConfig,
}

impl SpeechService {
    /// A service with no models yet; [`SpeechService::load`] adds them.
    pub fn new(config: SpeechConfig, readiness: Readiness) -> Self {
        Self {
            whisper: WorkerSet::default(),
            cards: LoadedCards::default(),
            readiness,
            config,
        }
    }

    /// Start loading `model` on its own thread; readiness shows it as
    /// loading until it is ready (or failed).
    pub fn load(&self, model: &ResolvedModel) -> Result<(), SpeechError> {
        if model.task != Task::SpeechToText {
            return Err(SpeechError::WrongTask {
                name: model.name.clone(),
                task: model.task.as_str(),
            });
        }
        self.readiness.starting(&model.name, "loading");
        let dir = model.dir.clone();
        let readiness = self.readiness.clone();
        load_into(
            &self.whisper,
            &self.cards,
            model,
            "speech",
            self.config.queue_capacity,
            move || WhisperModel::load(&dir, &Device::Cpu),
            Box::new(move |name, result| readiness.loaded(name, result)),
        )?;
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

async fn list_models(State(service): State<SpeechService>) -> Json<ModelList> {
    Json(ModelList::new(service.cards.list()))
}
