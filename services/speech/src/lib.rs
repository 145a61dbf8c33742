//! # stratus-speech
//!
//! The speech service: Whisper models on worker threads, behind an axum
//! router serving OpenAI's audio endpoints.
//!
//! ## Layout
//! - `lib.rs` (this file) — [`SpeechService`]: loads models in the
//!   background, reports each to readiness, remembers what each can do
//!   ([`ModelInfo`]); [`SpeechService::router`] serves every route.
//! - [`api`] — `POST /v1/audio/transcriptions` and `/v1/audio/translations`:
//!   the multipart form, choosing the model, the response formats.
//! - [`jobs`] — asynchronous jobs for long audio (`/v1/audio/jobs`): the
//!   store, the worker pool, webhooks.
//! - [`audio`] — decoding any uploaded file to mono 16 kHz within limits.
//! - [`error`] — [`SpeechError`] and its one mapping to the error envelope.
//! - [`openapi`] — the service's OpenAPI operations ([`openapi()`]) and the
//!   multipart form's schema.

pub mod api;
pub mod audio;
pub mod error;
pub mod jobs;
pub mod openapi;

pub use openapi::openapi;

use std::sync::{Arc, RwLock};

use axum::extract::State;
use axum::routing::{MethodRouter, get};
use axum::{Json, Router};
use candle_core::Device;
use stratus_kit::health::{self, Readiness};
use stratus_models::card::ModelList;
use stratus_models::catalog::Task;
use stratus_models::speech::{SpeechEngine, SpeechLoad, SpeechModel};
use stratus_models::store::ResolvedModel;
use stratus_models::whisper::CpuKernels;
use stratus_models::worker::{LoadedCards, WorkerSet, load_sessions_into};

pub use error::SpeechError;

/// Audio seconds in flight by default: two hours, the longest file accepted
/// by default (memory per audio second: `--audio-budget-seconds` in
/// `stratus speech --help`, and loadtest/RESULTS.md).
pub const DEFAULT_AUDIO_BUDGET_SECONDS: f64 = 2.0 * 3600.0;

/// Knobs of the speech service.
#[derive(Debug, Clone)]
pub struct SpeechConfig {
    /// Requests that may wait per model before new ones are refused.
    pub queue_capacity: usize,
    /// Largest uploaded file, in bytes (OpenAI's limit is 25 MiB); counted
    /// while the upload streams in, so a bigger one is refused without
    /// being held.
    pub max_upload_bytes: usize,
    /// Longest audio accepted, in seconds; checked against the header and
    /// again while decoding.
    pub max_audio_seconds: f64,
    /// Most raw samples (all channels, at the file's rate) decoded per
    /// upload: caps the work a decompression bomb or a many-channel
    /// high-rate file can cause below the duration limit.
    pub max_decoded_samples: u64,
    /// Audio seconds held at once by this server, over synchronous
    /// requests, streams and running jobs together (see
    /// [`audio::budget`]): what bounds the memory that decoded audio takes,
    /// since a small upload can hold hours of it. Over it, requests and
    /// streams answer 503 with `Retry-After` and jobs wait in their queue.
    /// A file longer than the budget runs alone.
    pub audio_budget_seconds: f64,
    /// Where the models run (`--device`).
    pub device: Device,
    /// Cut silences longer than two seconds before decoding (energy-based
    /// voice activity detection, tuned to keep all speech): long recordings
    /// with pauses decode faster and the model is not asked to transcribe
    /// silence, where it may invent text. Times stay those of the upload.
    pub vad: bool,
    /// On the CPU, run decoding steps on int8 copies of the decoder's
    /// weights (CTranslate2's per-row int8; the output projection and the
    /// linear layers): a step reads a quarter of the bytes, and a batched
    /// step gives each stream the numbers it gets alone. The word error
    /// rate holds on the test corpus (models/tests/whisper.rs); turn it off
    /// for f32 decoding.
    pub int8_decoder: bool,
    /// On the CPU, run the encoder's blocks as bf16 products: on AMX tiles,
    /// AVX-512 BF16 dot products, or AVX2 / NEON FMA on the widened values
    /// (`stratus_models::cpu::amx`); transcripts hold on the test corpus.
    /// Ignored on GPUs and at the portable tier.
    pub amx_encoder: bool,
    /// Transcriptions run at once per model. They share the model's
    /// network, which batches their windows and decoding steps; more
    /// requests wait in the queue (`queue_capacity`).
    pub concurrency: usize,
    /// The engine every model runs on unless [`Self::model_engines`] names it.
    pub engine: SpeechEngine,
    /// Per-model engines, over [`Self::engine`].
    pub model_engines: std::collections::HashMap<String, SpeechEngine>,
    /// Threads of each whisper.cpp transcription.
    pub whisper_cpp_threads: usize,
    /// The GPU whisper.cpp runs on (`None`: the CPU).
    pub whisper_cpp_gpu: Option<u32>,
}

impl SpeechConfig {
    /// The engine `model` runs on.
    pub fn engine_of(&self, model: &str) -> SpeechEngine {
        self.model_engines
            .get(model)
            .copied()
            .unwrap_or(self.engine)
    }
}

impl Default for SpeechConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 8,
            max_upload_bytes: 25 * 1024 * 1024,
            max_audio_seconds: 2.0 * 3600.0,
            // Two hours of 48 kHz stereo.
            max_decoded_samples: 2 * 3600 * 48_000 * 2,
            audio_budget_seconds: DEFAULT_AUDIO_BUDGET_SECONDS,
            device: Device::Cpu,
            vad: true,
            int8_decoder: true,
            amx_encoder: true,
            concurrency: 4,
            engine: SpeechEngine::Candle,
            model_engines: std::collections::HashMap::new(),
            whisper_cpp_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            whisper_cpp_gpu: None,
        }
    }
}

/// What a loaded model can do, known once it has loaded (the handlers
/// decide with it without queueing behind inference).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    pub multilingual: bool,
    /// Language codes it accepts.
    pub languages: Vec<String>,
}

/// Loaded models in the order they finished loading: the first is the
/// default (`whisper-1`).
#[derive(Debug, Clone, Default)]
pub struct ModelInfos(Arc<RwLock<Vec<ModelInfo>>>);

impl ModelInfos {
    fn add(&self, info: ModelInfo) {
        // Poisoning only means a writer panicked pushing to a Vec, which
        // leaves it intact.
        let mut list = self.0.write().unwrap_or_else(|p| p.into_inner());
        list.retain(|m| m.name != info.name);
        list.push(info);
    }

    /// Every loaded model, first loaded first.
    pub fn list(&self) -> Vec<ModelInfo> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The speech service's state: the Whisper models it hosts.
#[derive(Debug, Clone)]
pub struct SpeechService {
    pub whisper: WorkerSet<SpeechModel>,
    pub cards: LoadedCards,
    pub infos: ModelInfos,
    pub readiness: Readiness,
    pub config: SpeechConfig,
    /// The job system, when the service has a store (`with_jobs`).
    pub jobs: Option<jobs::Jobs>,
    /// The audio seconds every decode takes from (`config.audio_budget_seconds`).
    pub audio_budget: audio::AudioBudget,
}

impl SpeechService {
    /// A service with no models yet; [`SpeechService::load`] adds them.
    pub fn new(config: SpeechConfig, readiness: Readiness) -> Self {
        Self {
            whisper: WorkerSet::default(),
            cards: LoadedCards::default(),
            infos: ModelInfos::default(),
            readiness,
            audio_budget: audio::AudioBudget::new(config.audio_budget_seconds),
            config,
            jobs: None,
        }
    }

    /// Serve `/v1/audio/jobs` from `jobs` (start the workers with
    /// [`jobs::JobWorkers::spawn`]).
    pub fn with_jobs(mut self, jobs: jobs::Jobs) -> Self {
        self.jobs = Some(jobs);
        self
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
        let (infos, name) = (self.infos.clone(), model.name.clone());
        // Asked for; the model applies those its device and tier allow.
        let how = SpeechLoad {
            device: self.config.device.clone(),
            kernels: CpuKernels {
                int8_decoder: self.config.int8_decoder,
                bf16_encoder: self.config.amx_encoder,
            },
            threads: self.config.whisper_cpp_threads,
            whisper_cpp_gpu: self.config.whisper_cpp_gpu,
        };
        let engine = self.config.engine_of(&model.name);
        load_sessions_into(
            &self.whisper,
            &self.cards,
            model,
            "speech",
            self.config.queue_capacity,
            self.config.concurrency.max(1),
            move || {
                let whisper = SpeechModel::load(&dir, engine, &how)?.named(&name);
                tracing::info!(model = %name, network = %whisper.describe(), "Whisper network chosen");
                infos.add(ModelInfo {
                    name,
                    multilingual: whisper.is_multilingual(),
                    languages: whisper.languages(),
                });
                Ok(whisper)
            },
            Box::new(move |name, result| readiness.loaded(name, result)),
        )?;
        Ok(())
    }

    /// Every public route of the service (jobs included, whether or not
    /// this instance enables them) with its methods, health routes aside:
    /// what [`Self::router`] serves, listed for the gateway's test that the
    /// OpenAPI document covers each.
    pub fn public_routes() -> Vec<(&'static str, MethodRouter<SpeechService>)> {
        let mut routes = vec![("/v1/models", get(list_models))];
        routes.extend(api::table());
        routes.extend(jobs::api::table());
        routes
    }

    /// The audio endpoints, `/v1/models` and health routes.
    pub fn router(&self) -> Router {
        let mut router = Router::new()
            .route("/v1/models", get(list_models))
            .merge(api::routes(&self.config));
        if self.jobs.is_some() {
            router = router.merge(jobs::api::routes(&self.config));
        }
        router
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

async fn list_models(State(service): State<SpeechService>) -> Json<ModelList> {
    let mut cards = service.cards.list();
    // `whisper-1` is the first loaded model (see `api::choose_model`): its
    // card says so, so OpenAI's `models.retrieve("whisper-1")` finds it.
    // (Translation takes the first multilingual model instead.)
    if let Some(first) = service.infos.list().first()
        && let Some(card) = cards.iter_mut().find(|c| c.id == first.name)
    {
        card.aliases.push(api::DEFAULT_ALIAS.to_owned());
    }
    Json(ModelList::new(cards))
}
