//! The command line: every knob has a flag, a `STRATUS_*` environment
//! variable and a TOML key (the long flag name), and its `--help` says why
//! it exists.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};
use stratus_kit::telemetry::LogFormat;

/// Stratus: self-hosted speech and language AI behind one API.
#[derive(Debug, Parser)]
#[command(name = "stratus", version, about, long_about = None)]
pub struct Cli {
    /// A TOML file of settings (keys are the long flag names, e.g.
    /// `listen = "0.0.0.0:8080"`), for deployments that prefer a file to a
    /// long command line. Flags and STRATUS_* variables override it.
    #[arg(long, env = "STRATUS_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Log line format: `text` reads well on a terminal, `json` is what log
    /// collectors (Loki, Elasticsearch, CloudWatch) parse without rules.
    #[arg(
        long,
        env = "STRATUS_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// Which logs to keep, in RUST_LOG syntax (`info`, `debug`,
    /// `stratus_gateway=debug,info`): raise it to debug one part without
    /// drowning in the rest.
    #[arg(long, env = "STRATUS_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Export traces (each request's spans: gateway, service, model) to an
    /// OpenTelemetry collector at this OTLP/HTTP traces URL, e.g.
    /// http://otel-collector:4318/v1/traces. A caller's W3C `traceparent`
    /// is continued. Unset: no traces leave the process (request and trace
    /// ids are still on every log line).
    #[arg(long, env = "STRATUS_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything in one process: gateway, speech and language services,
    /// SQLite under STRATUS_HOME. Pulls missing models on first start.
    Serve(ServeArgs),
    /// Run only the gateway, in front of speech and language replicas
    /// reached over HTTP (scaled-out deployments).
    Gateway(GatewayArgs),
    /// Run only the speech service (one replica of a scaled-out deployment).
    Speech(SpeechArgs),
    /// Run only the language service (one replica of a scaled-out deployment).
    Language(ServiceArgs),
    /// Pull, list, verify or remove model weights.
    Models(ModelsArgs),
    /// Create and list tenants (organisations), against the same store as
    /// a running server.
    Tenants(TenantsArgs),
    /// Create, list and revoke a tenant's API keys.
    Keys(KeysArgs),
    /// Create, list, change (role, password), disable, enable and delete
    /// dashboard users.
    Users(UsersArgs),
    /// Write the OpenAPI document generated from the code (what
    /// `openapi/stratus.json` holds and the SDKs are generated from).
    Openapi(OpenapiArgs),
}

/// Where `stratus openapi` writes the document.
#[derive(Debug, Clone, Args)]
pub struct OpenapiArgs {
    /// File to write (default: standard output). CI regenerates
    /// `openapi/stratus.json` and fails on any difference, so write it
    /// there after changing an endpoint.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Where Stratus keeps its state.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct HomeArgs {
    /// Folder for models, the embedded database and secrets. Point several
    /// commands (serve, models pull) at the same one to share them.
    #[arg(long, env = "STRATUS_HOME", default_value = "./data")]
    pub home: PathBuf,

    /// Where downloaded model packages are kept (default: HOME/cache/packages).
    /// Share one between machines or CI runs to download each package once.
    #[arg(long, env = "STRATUS_PACKAGE_CACHE")]
    pub package_cache: Option<PathBuf>,
}

/// Which models a service loads.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ModelArgs {
    /// Models to load, comma-separated (default: the catalog's default models
    /// for this service). Fewer models start faster and use less memory.
    #[arg(long, env = "STRATUS_MODELS", value_delimiter = ',')]
    pub models: Option<Vec<String>>,

    /// Serve a model from your own Hugging Face-layout folder instead of
    /// pulling it: NAME=PATH (repeatable). A catalog name replaces that model.
    #[arg(long = "model-dir", env = "STRATUS_MODEL_DIRS", value_delimiter = ',')]
    pub model_dir: Vec<String>,

    /// Never download: fail at start if a model is missing. For air-gapped
    /// machines where a surprise download attempt would hang on a firewall.
    #[arg(long, env = "STRATUS_OFFLINE")]
    pub offline: bool,

    /// What is checked of a pulled model before it is loaded: `full` (the
    /// default) hashes every file against the sha256 its manifest recorded
    /// at pull time, so a corrupted or tampered weights file is refused
    /// (the model shows as failed in /readyz, naming the file) instead of
    /// loading and serving wrong answers; `size` only checks that every
    /// file is there with its recorded size, for the fastest start where
    /// the volume is verified some other way.
    #[arg(long, env = "STRATUS_VERIFY_MODELS", value_enum, default_value_t = VerifyModelsArg::Full)]
    #[serde(default)]
    pub verify_models: VerifyModelsArg,

    /// Requests that may wait per model before new ones are refused with
    /// 503: a short queue answers overload at once instead of letting
    /// requests time out after waiting.
    #[arg(long, env = "STRATUS_QUEUE_CAPACITY", default_value_t = 64)]
    pub queue_capacity: usize,

    /// Most tokens of concurrent /v1/embeddings requests embedded in one
    /// batch: larger batches keep the matrix kernels busier under load,
    /// smaller ones bound the memory and the latency of one batch.
    #[arg(long, env = "STRATUS_EMBED_BATCH_TOKENS", default_value_t = 8192)]
    pub embed_batch_tokens: usize,

    /// Most tokens of /v1/embeddings requests waiting or running per model
    /// (counted from their text as an upper bound: a character or more per
    /// token) before new ones are refused with 503. Work, not requests:
    /// a burst of hundreds of one-word requests is one batch and waits to
    /// be served, while a flood of long texts is refused at once instead of
    /// waiting past its callers' timeouts.
    #[arg(long, env = "STRATUS_EMBED_QUEUE_TOKENS", default_value_t = 32768)]
    pub embed_queue_tokens: usize,

    /// Milliseconds a lone /v1/embeddings request may wait for others to
    /// batch with when the model is idle. 0 (the default) never waits:
    /// requests that arrive while a batch runs still go together in the
    /// next one, so batches form under load without taxing a lone caller;
    /// a few ms buy bigger batches from clients that send in bursts.
    #[arg(long, env = "STRATUS_EMBED_BATCH_WAIT_MS", default_value_t = 0)]
    pub embed_batch_wait_ms: u64,

    /// Where models run: cpu, cuda[:N] or metal[:N]. GPUs need a binary
    /// built with `--features cuda` (or metal); asking for one without it
    /// fails at start rather than silently running on the CPU.
    #[arg(long, env = "STRATUS_DEVICE", default_value = "cpu")]
    pub device: String,

    /// Cap the CPU instruction tier the model kernels use: `auto` (the
    /// default) takes the best this CPU has; `amx`, `avx512`, `avx2`,
    /// `neon` or `portable` only ever lower it (asking for one the CPU
    /// lacks fails at start, naming what it has). For comparing tiers on
    /// one machine, reproducing what an older fleet gets, and working
    /// around a kernel bug on one tier. Candle's own matrix products pick
    /// their instructions themselves and are not capped.
    #[arg(long, env = "STRATUS_CPU_ISA", value_enum, default_value_t = CpuIsaArg::Auto)]
    #[serde(default)]
    pub cpu_isa: CpuIsaArg,

    /// Cap glibc's malloc arenas (0: glibc's default, eight per core).
    /// Each thread that allocates beside another gets an arena and keeps
    /// what it frees there, so with the default a speech server's peak
    /// memory grows with its threads, not with what it holds; two keep it
    /// near the working set at the same speed. Raise it only if a profile
    /// shows threads waiting in malloc. No effect where the C library is
    /// not glibc.
    #[arg(long, env = "STRATUS_MALLOC_ARENAS", default_value_t = 2)]
    pub malloc_arenas: usize,

    /// Secret key for `redaction: "hash"` on /v1/language/pii: values become
    /// HMAC-SHA256 tokens that stay equal across requests (so redacted
    /// records can still be joined) but cannot be reversed by hashing
    /// guesses. Without it, hash redaction is refused. Keep it secret and
    /// stable: changing it changes every token.
    #[arg(long, env = "STRATUS_REDACTION_KEY", hide_env_values = true)]
    pub redaction_key: Option<String>,
}

/// `--cpu-isa`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuIsaArg {
    #[default]
    Auto,
    Amx,
    Avx512,
    Avx2,
    Neon,
    Portable,
}

impl CpuIsaArg {
    /// The cap it asks for; `None` for the best the CPU has.
    pub fn cap(self) -> Option<stratus_models::cpu::Isa> {
        use stratus_models::cpu::Isa;
        match self {
            CpuIsaArg::Auto => None,
            CpuIsaArg::Amx => Some(Isa::Amx),
            CpuIsaArg::Avx512 => Some(Isa::Avx512),
            CpuIsaArg::Avx2 => Some(Isa::Avx2),
            CpuIsaArg::Neon => Some(Isa::Neon),
            CpuIsaArg::Portable => Some(Isa::Portable),
        }
    }
}

/// Limits on audio uploads (speech service).
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct SpeechLimitArgs {
    /// Largest audio upload in bytes (OpenAI's limit is 25 MiB). Counted
    /// while the upload streams in, so a bigger one is refused without being
    /// held in memory.
    #[arg(long, env = "STRATUS_MAX_UPLOAD_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub max_upload_bytes: usize,

    /// Longest audio accepted, in seconds; checked against the file header
    /// and again while decoding, so a lying header cannot tie up a worker.
    #[arg(long, env = "STRATUS_MAX_AUDIO_SECONDS", default_value_t = 7200.0)]
    pub max_audio_seconds: f64,

    /// Audio seconds this server holds at once, over synchronous requests,
    /// streams and running jobs together. A small upload can hold hours of
    /// audio (7 MB of 8-bit 1 kHz WAV is two), and each second being
    /// transcribed costs about 0.3 MB of memory (its 16 kHz samples, their
    /// copies and spectrogram inside the model), so this, not the upload
    /// size, bounds the memory audio takes: the default two hours is about
    /// 2.1 GB above the models at most. Over it, requests and streams
    /// answer 503 with Retry-After and jobs wait in their queue; a file
    /// longer than the budget runs alone.
    #[arg(long, env = "STRATUS_AUDIO_BUDGET_SECONDS", default_value_t = stratus_speech::DEFAULT_AUDIO_BUDGET_SECONDS)]
    pub audio_budget_seconds: f64,

    /// Cut silences longer than two seconds before decoding (energy-based
    /// voice activity detection, tuned to keep all speech): recordings with
    /// long pauses decode faster and the model is not asked to transcribe
    /// silence, where it may invent text. Times stay those of the upload.
    #[arg(long, env = "STRATUS_VAD", default_value_t = true, action = clap::ArgAction::Set)]
    pub vad: bool,

    /// On the CPU, decode with int8 copies of Whisper's decoder weights
    /// (per-row scales, as CTranslate2's int8; the output projection and
    /// the linear layers): each decoding step reads a quarter of the bytes,
    /// and concurrent streams batched into one step get the numbers each
    /// gets alone. Same word error rate on the test corpus. `false` decodes
    /// with the f32 weights only.
    #[arg(long, alias = "whisper-int8-projection", env = "STRATUS_WHISPER_INT8_DECODER", default_value_t = true, action = clap::ArgAction::Set)]
    pub whisper_int8_decoder: bool,

    /// Run the Whisper encoder on the CPU as our own bf16 network (weights
    /// and products' inputs in bf16, sums in f32, attention in blocks)
    /// instead of Candle's f32 one: on AMX tiles (Intel Sapphire Rapids
    /// and later), AVX-512 BF16 dot products (Cooper Lake, Zen 4), or AVX2
    /// and NEON FMA on the widened values. The encoder is most of a short
    /// clip's time; the word error rate on the test corpus is the same.
    /// Set false to compare with Candle's path; ignored on GPUs and at the
    /// portable tier.
    #[arg(long, env = "STRATUS_WHISPER_AMX_ENCODER", default_value_t = true, action = clap::ArgAction::Set)]
    pub whisper_amx_encoder: bool,

    /// Transcriptions run at once per speech model. They share the model's
    /// weights and its network thread, which batches their audio windows
    /// and decoding steps (one read of the decoder's weights per step for
    /// every stream); further requests wait in the queue.
    #[arg(long, env = "STRATUS_SPEECH_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub speech_concurrency: u16,

    /// What runs the Whisper models: `candle` (this project's own CPU
    /// kernels, and CUDA or Metal with --device), or `whisper-cpp` with
    /// f16, q8_0 or q5_0 weights (`whisper-cpp:q8_0`): whisper.cpp's ggml
    /// kernels, strongest on ARM and with 8- or 5-bit weights that take
    /// half or a third of the memory. loadtest/RESULTS.md compares them on
    /// each CPU tier. The ggml file is converted from the model's folder on
    /// first start (or by `stratus models pull NAME --ggml TYPE`).
    #[arg(long, env = "STRATUS_SPEECH_ENGINE", default_value = "candle")]
    pub speech_engine: String,

    /// The engine of one model, over --speech-engine: NAME=ENGINE, e.g.
    /// `whisper-base=whisper-cpp:q5_0`; repeat the flag (or separate with
    /// commas in the variable) for more models.
    #[arg(
        long,
        env = "STRATUS_MODEL_ENGINE",
        value_delimiter = ',',
        value_name = "NAME=ENGINE"
    )]
    pub model_engine: Vec<String>,

    /// Threads each whisper.cpp transcription computes on (0: one per
    /// core). whisper.cpp's threads spin while they wait, so sessions ×
    /// threads above the cores slows every one of them: with
    /// --speech-concurrency above 1 on few cores, fewer threads each
    /// serve more streams at once.
    #[arg(long, env = "STRATUS_WHISPER_CPP_THREADS", default_value_t = 0)]
    pub whisper_cpp_threads: usize,

    /// Run the whisper.cpp engine on this GPU (its index in whisper.cpp's
    /// GPU backend) instead of the CPU: whisper.cpp has its own CUDA, Metal
    /// and Vulkan kernels, apart from Candle's --device (Vulkan reaches AMD
    /// and Intel GPUs Candle cannot). Needs a binary built with
    /// whisper-cpp-cuda, whisper-cpp-metal or whisper-cpp-vulkan.
    #[arg(long, env = "STRATUS_WHISPER_CPP_GPU")]
    pub whisper_cpp_gpu: Option<u32>,
}

/// Metering: the usage event written for every request (log under
/// HOME/wal, then the store), and its push export.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct MeteringArgs {
    /// Push every usage event as a CloudEvent (OpenMeter's ingest shape,
    /// e.g. http://openmeter:8888/api/v1/events) so an external billing
    /// system sees usage without polling. At least once: retried until the
    /// sink answers 2xx; receivers de-duplicate by event id.
    #[arg(long, env = "STRATUS_USAGE_SINK_URL")]
    pub usage_sink_url: Option<String>,

    /// Bearer token for --usage-sink-url, for sinks that require one.
    #[arg(long, env = "STRATUS_USAGE_SINK_TOKEN", hide_env_values = true)]
    pub usage_sink_token: Option<String>,

    /// Most usage events per database insert: larger batches write more
    /// events per second, at the cost of a longer insert.
    #[arg(long, env = "STRATUS_USAGE_BATCH_SIZE", default_value_t = 1000)]
    pub usage_batch_size: usize,

    /// Milliseconds the usage writer waits for more events once traffic is
    /// quiet, so a trickle of requests still shares one insert; also how
    /// stale `/v1/usage` may be at most (plus the insert time).
    #[arg(long, env = "STRATUS_USAGE_FLUSH_MS", default_value_t = 100)]
    pub usage_flush_ms: u64,

    /// Sync the usage log to disk (fdatasync) before each response goes
    /// out, so usage also survives a power loss or kernel crash, at about a
    /// disk sync of latency per request (shared by concurrent requests;
    /// measured here: +0.3 ms p50, +1-2 ms p99). The default `false` writes
    /// each event to the log before its response goes out, which survives
    /// the gateway process being killed at any moment (the kernel holds the
    /// write) and costs microseconds.
    #[arg(long, env = "STRATUS_USAGE_WAL_SYNC", default_value_t = false, action = clap::ArgAction::Set)]
    pub usage_wal_sync: bool,
}

/// Billing: the price catalog and how budgets are enforced and announced.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct BillingArgs {
    /// A TOML price catalog (currency, plans of prices per model and unit,
    /// optional default budgets; see the billing docs). Unset: the built-in
    /// catalog, one `standard` plan with list prices and no budgets, so
    /// usage is priced and invoiced from the first request.
    #[arg(long, env = "STRATUS_PRICE_CATALOG")]
    pub price_catalog: Option<PathBuf>,

    /// Seconds a budget reservation may stay open before it is released:
    /// a gateway killed between admitting a request and settling its cost
    /// would otherwise hold that budget forever. Kept above the request
    /// timeout (and long streams), at least --request-timeout + 60.
    #[arg(long, env = "STRATUS_BUDGET_RESERVATION_TTL", default_value_t = 3600)]
    pub budget_reservation_ttl: u64,

    /// Audio seconds reserved against the budget for each speech request
    /// while its real duration is unknown: a compressed upload's length
    /// says little about its duration. The speech service's longest
    /// accepted audio is the safe bound; lower it to admit more concurrent
    /// requests near a small budget (at the cost of a looser overshoot
    /// bound if uploads are longer).
    #[arg(
        long,
        env = "STRATUS_BUDGET_RESERVE_AUDIO_SECONDS",
        default_value_t = 7200
    )]
    pub budget_reserve_audio_seconds: u32,

    /// Budget a gateway leases from the store at once, in requests' worth
    /// (each request's maximum cost; less near the hard limit, where a lease
    /// is at most half of what is left): a busy tenant makes one store
    /// transaction per this many requests instead of two per request, and
    /// the budget one gateway holds unused is at most this much.
    #[arg(long, env = "STRATUS_BUDGET_LEASE_REQUESTS", default_value_t = 64)]
    pub budget_lease_requests: u32,

    /// Milliseconds between moving the spend settled in memory to the
    /// store: how stale `GET /v1/billing/budget`, soft-limit alerts and
    /// other gateways' view of the spend may be, and at most how much
    /// spend a killed gateway leaves out of the month's running total
    /// (invoices come from usage events and lose nothing).
    #[arg(long, env = "STRATUS_BUDGET_SYNC_MS", default_value_t = 200)]
    pub budget_sync_ms: u64,

    /// POST budget alerts (`budget.soft_limit_reached`,
    /// `budget.hard_limit_reached`, once a month each) here, signed like job
    /// webhooks (`x-stratus-signature`), so someone hears about a budget
    /// before customers hit 429s.
    #[arg(long, env = "STRATUS_BUDGET_WEBHOOK_URL")]
    pub budget_webhook_url: Option<String>,

    /// The secret budget alerts are signed with (HMAC-SHA256); receivers
    /// check it to trust an alert. Required with --budget-webhook-url.
    #[arg(long, env = "STRATUS_BUDGET_WEBHOOK_SECRET", hide_env_values = true)]
    pub budget_webhook_secret: Option<String>,
}

/// Asynchronous transcription jobs (`/v1/audio/jobs`, speech service).
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct JobArgs {
    /// Jobs this process transcribes at once. Each holds a model worker for
    /// a whole file, so keep it low enough to leave room for synchronous
    /// requests; more replicas add more workers.
    #[arg(long, env = "STRATUS_JOB_WORKERS", default_value_t = 1)]
    pub job_workers: usize,

    /// How long a claimed job stays with its worker without a heartbeat
    /// (renewed every third of it). After a crash the job waits this long
    /// before another worker retries it: shorter recovers sooner, longer
    /// tolerates stalls and clock skew between replicas.
    #[arg(long, env = "STRATUS_JOB_LEASE_SECONDS", default_value_t = 60)]
    pub job_lease_seconds: u64,

    /// Times a job may be started (the first included) before one whose
    /// worker keeps dying fails with `worker_lost`, so a file that crashes
    /// the process cannot take the fleet down in a loop.
    #[arg(long, env = "STRATUS_JOB_MAX_ATTEMPTS", default_value_t = 3)]
    pub job_max_attempts: u32,

    /// Jobs one tenant may have queued or running; more are refused with
    /// 429, so one tenant cannot fill the store with audio or starve the
    /// others' jobs.
    #[arg(long, env = "STRATUS_MAX_JOBS_PER_TENANT", default_value_t = 100)]
    pub max_jobs_per_tenant: u32,

    /// Key each tenant's webhook signing secret is derived from (tenants
    /// read theirs at `GET /v1/audio/webhook-secret` and rotate it; job
    /// webhooks carry `x-stratus-signature: t=…,v1=…`, HMAC-SHA256 over
    /// `<t>.<body>`), so receivers can tell a delivery came from here for
    /// them. Without it, jobs with a `webhook_url` are refused. Keep it
    /// secret and the same on every replica; changing it changes every
    /// tenant's secret at once.
    #[arg(long, env = "STRATUS_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// Seconds one webhook try may take before it counts as failed, so a
    /// slow receiver cannot pile up connections; failed tries are retried
    /// with doubling waits.
    #[arg(long, env = "STRATUS_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10)]
    pub webhook_timeout_seconds: u64,

    /// Tries per webhook before giving up (the job's `webhook_status` then
    /// says `failed`; the result can still be polled).
    #[arg(long, env = "STRATUS_WEBHOOK_ATTEMPTS", default_value_t = 5)]
    pub webhook_attempts: u32,
}

/// How the public edge protects itself and reports (gateway and serve).
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct EdgeArgs {
    /// Requests the gateway forwards at once, across all callers; one more
    /// is answered 503 + Retry-After at once instead of queueing. A queue
    /// would add its wait to every request behind it and hold sockets for
    /// callers that may have given up; a quick 503 lets a client retry or
    /// go to another gateway replica. Streaming responses hold a slot until
    /// they end, uploads from their headers on. The gateway's own routes
    /// (/v1/models, usage, keys, admin, dashboard) have as many slots of
    /// their own, so a full model edge never blocks them.
    #[arg(long, env = "STRATUS_MAX_IN_FLIGHT", default_value_t = 1024)]
    pub max_in_flight: usize,

    /// Forwarded requests one tenant may have in flight (uploads included)
    /// when no concurrency limit is set for it (per tenant, or by
    /// --default-tenant-limits): past it the tenant gets 429, so one
    /// tenant's slow uploads or burst cannot take every --max-in-flight slot
    /// and turn every other tenant away with 503. Unset: half of
    /// --max-in-flight.
    #[arg(long, env = "STRATUS_MAX_IN_FLIGHT_PER_TENANT")]
    pub max_in_flight_per_tenant: Option<usize>,

    /// Milliseconds the gateway's async runtime may run late (a timer due
    /// every 5 ms firing this much after it should) before the in-flight
    /// limit of the routes to the model services shrinks below what is in
    /// flight; while the runtime is on time the limit grows back, up to
    /// --max-in-flight. Requests past it are refused 503 + Retry-After
    /// before any other work (authentication included), so past capacity
    /// admitted requests keep their latency instead of queueing behind a
    /// saturated CPU; long transcriptions wait on their upstream without
    /// making the runtime late, so they do not shrink it. 0 (the default)
    /// turns it off, leaving the fixed --max-in-flight: on a machine
    /// shared with the load (the models of `stratus serve`, a benchmark's
    /// generator) lateness also comes from the neighbours. For a gateway
    /// on cores of its own, 2: at five times its capacity it held the
    /// admitted requests' p99 under 30 ms (loadtest/RESULTS.md).
    #[arg(long, env = "STRATUS_SHED_SCHEDULING_DELAY_MS", default_value_t = 0)]
    pub shed_scheduling_delay_ms: u64,

    /// Seconds from a request's arrival to its response headers (upload and
    /// upstream work included) before the gateway gives up with 504 and
    /// closes the upstream call. Long enough for a long transcription,
    /// short enough that a stuck replica does not hold sockets forever.
    #[arg(long, env = "STRATUS_REQUEST_TIMEOUT", default_value_t = 600)]
    pub request_timeout: u64,

    /// Largest request body in bytes, counted while it streams in, so a
    /// chunked upload that announces no length is cut off too (413). Keep it
    /// a little above the speech service's upload limit, so its own more
    /// precise message reaches callers first.
    #[arg(long, env = "STRATUS_MAX_REQUEST_BODY", default_value_t = 32 * 1024 * 1024)]
    pub max_request_body: u64,

    /// Serve Prometheus `/metrics` on this address (e.g. 127.0.0.1:9090).
    /// A separate listener, not a route of the public API: the public router
    /// stays deny-by-default, and traffic shape and replica addresses are
    /// never exposed by a forgotten allowlist entry. Unset: no endpoint.
    #[arg(long, env = "STRATUS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

/// How much of a pulled model is checked before it is loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyModelsArg {
    /// Every file's size and sha256 against the manifest.
    #[default]
    Full,
    /// Every file's size only.
    Size,
}

impl From<VerifyModelsArg> for stratus_models::store::Verification {
    fn from(arg: VerifyModelsArg) -> Self {
        match arg {
            VerifyModelsArg::Full => Self::Full,
            VerifyModelsArg::Size => Self::Size,
        }
    }
}

/// How long the HTTP server waits on its clients (every command that
/// serves HTTP: serve, gateway, speech, language).
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ConnectionArgs {
    /// Seconds a client has to send a request's headers: from the connect
    /// for its first request, from the first byte for later ones on a
    /// kept-alive connection. Connections that send nothing or half a
    /// request are closed after it, so opening sockets and saying nothing
    /// cannot exhaust the server's sockets and tasks.
    #[arg(long, env = "STRATUS_HEADER_READ_TIMEOUT", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: u64,

    /// Seconds a kept-alive connection may wait for its next request before
    /// it is closed, so idle sockets do not pile up. Keep it above the idle
    /// timeout of whatever sits in front (a load balancer: AWS ALB's is 60
    /// s; the gateway's pool to replicas keeps connections 60 s), or it will
    /// send requests on connections this server is closing.
    #[arg(long, env = "STRATUS_IDLE_TIMEOUT", default_value_t = 75, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,

    /// The minimum transfer rate of a request body: at least this many
    /// bytes in every --min-body-rate-window, or the request is answered
    /// 408 and its connection closed. An upload holds a request slot (and
    /// its tenant's concurrency) from its headers on; without a minimum, a
    /// client trickling a byte every few seconds holds one until the
    /// request timeout. 0: no minimum.
    #[arg(long, env = "STRATUS_MIN_BODY_RATE_BYTES", default_value_t = 1024)]
    pub min_body_rate_bytes: u64,

    /// Seconds over which --min-body-rate-bytes is measured: longer
    /// tolerates clients that stall briefly (a mobile link), shorter frees
    /// a stuck upload's slot sooner.
    #[arg(long, env = "STRATUS_MIN_BODY_RATE_WINDOW", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub min_body_rate_window: u64,
}

/// What the gateway does when the rate-limit Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisFailureArg {
    /// Keep serving, limited by this gateway's own in-process buckets.
    Local,
    /// Answer 503 until Redis is back.
    Refuse,
}

/// Per-key and per-tenant rate and concurrency limits (gateway and serve).
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct LimitArgs {
    /// Limits of every API key that has none of its own, as
    /// `requests_per_minute=600,tokens_per_minute=200000,audio_seconds_per_minute=3600,concurrent_requests=16`
    /// (any subset; empty: none). A default stops one leaked or runaway key
    /// from taking the whole capacity before an operator has set its
    /// limits; limits set per key (admin API, `stratus keys limits`)
    /// override it field by field.
    #[arg(long, env = "STRATUS_DEFAULT_KEY_LIMITS", default_value = "")]
    pub default_key_limits: String,

    /// Limits of every tenant that has none of its own, shared by all its
    /// keys, in the syntax of --default-key-limits: one tenant's traffic
    /// cannot crowd out the others'. Set per tenant with the admin API or
    /// `stratus tenants limits`.
    #[arg(long, env = "STRATUS_DEFAULT_TENANT_LIMITS", default_value = "")]
    pub default_tenant_limits: String,

    /// Keep the rate-limit buckets in this Redis (redis://host:6379/0)
    /// instead of in this process, so several gateway replicas share one
    /// budget per key and tenant exactly (each check is one atomic script
    /// on the Redis clock). Unset: in-process, right for one gateway.
    #[arg(long = "redis", env = "STRATUS_REDIS_URL", hide_env_values = true)]
    pub redis: Option<String>,

    /// Prefix of the rate-limit keys in Redis, so several deployments can
    /// share one Redis without sharing budgets.
    #[arg(long, env = "STRATUS_REDIS_PREFIX", default_value = "stratus:limits")]
    pub redis_prefix: String,

    /// When Redis cannot be reached: `local` keeps serving, limited by this
    /// gateway's own buckets (limits then hold per replica rather than
    /// across them: an outage of the limiter should not become an outage
    /// of the API); `refuse` answers 503 until Redis is back, for
    /// deployments where a limit must never be exceeded.
    #[arg(
        long,
        env = "STRATUS_LIMITS_ON_REDIS_FAILURE",
        value_enum,
        default_value = "local"
    )]
    pub limits_on_redis_failure: RedisFailureArg,
}

/// The secret API key hashes and dashboard sessions are keyed with.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct AuthArgs {
    /// Server secret (32+ visible ASCII characters) that API key hashes and
    /// session tokens are keyed with, so a copy of the database verifies no
    /// key and forges no session. Unset: generated once into
    /// HOME/auth-secret (0600), shared by `serve` and the CLI on that home.
    /// Set the same value on every gateway that shares a PostgreSQL store.
    #[arg(long, env = "STRATUS_AUTH_SECRET", hide_env_values = true)]
    pub auth_secret: Option<String>,

    /// File holding the deployment's admin API key (`sk_` + 16 hex + `_` +
    /// 64 hex, e.g. `echo sk_$(openssl rand -hex 8)_$(openssl rand -hex 32)`),
    /// typically a mounted Kubernetes Secret, so operators hold the admin key
    /// before any gateway starts and every replica agrees on it. The key is
    /// stored (as a keyed hash) on first start; no admin key is generated
    /// into HOME/admin-key. Unset: a fresh store gets a generated key there.
    #[arg(long, env = "STRATUS_ADMIN_KEY_FILE")]
    pub admin_key_file: Option<PathBuf>,

    /// The URL browsers reach this deployment at (e.g.
    /// https://stratus.example.com). When it is https, session cookies are
    /// marked `Secure` (never sent over plain HTTP, where anyone on the path
    /// could read them), and its origin is accepted for cookie-authenticated
    /// API calls from the dashboard's pages.
    #[arg(long, env = "STRATUS_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Reverse proxies / load balancers in front of the gateway, as IP
    /// addresses or CIDR ranges (e.g. 10.0.0.0/8), comma-separated. From
    /// them, and only them, `X-Forwarded-For` names the client (whose
    /// address sign-in throttling counts) and `X-Forwarded-Proto: https`
    /// marks cookies `Secure`. Unset: the connecting address is the client
    /// and those headers are ignored, since any client can write them.
    #[arg(long, env = "STRATUS_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// Sign-in attempts one client address may make a minute (a burst of
    /// this many, then evenly spread; 429 + Retry-After past it), so one
    /// source cannot guess passwords across accounts or spend the CPU on
    /// password checks.
    #[arg(long, env = "STRATUS_LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 30)]
    pub login_attempts_per_minute: u32,

    /// Failed sign-ins one account may have from one client address before
    /// each further try waits a minute (a success starts over), and ten
    /// times as many an hour from all addresses together. Keyed by address
    /// too, so a guesser elsewhere cannot lock the real user out; the wait
    /// is always bounded.
    #[arg(long, env = "STRATUS_LOGIN_FAILURES_PER_ACCOUNT", default_value_t = 5)]
    pub login_failures_per_account: u32,

    /// Password checks (Argon2: ~20 MiB and tens of ms of CPU each) run at
    /// once, off the request threads; a sign-in that finds them all busy
    /// gets 503 at once, so a flood of sign-ins cannot take the CPU the
    /// models need.
    #[arg(long, env = "STRATUS_LOGIN_CONCURRENCY", default_value_t = 2)]
    pub login_concurrency: usize,

    /// API keys a tenant may hold (working: not revoked, not expired)
    /// through self-service (`POST /v1/keys`, the dashboard); one more is
    /// refused with 409 `key_limit_reached`. Bounds what a leaked `keys`
    /// key can mint. Operators (admin API, CLI) are not capped.
    #[arg(long, env = "STRATUS_MAX_KEYS_PER_TENANT", default_value_t = 100)]
    pub max_keys_per_tenant: u32,
}

/// The secret proving a request came from the gateway.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct InternalTokenArgs {
    /// Shared secret (32+ visible ASCII characters) the gateway sends with
    /// every request it forwards; a service given one refuses (401) every
    /// request without it except /healthz and /readyz, and believes the
    /// tenant context only with it. Give the gateway and every
    /// speech/language replica the same value. Unset on a service: it serves
    /// anyone as tenant `default`, so it listens only on loopback unless
    /// --allow-unauthenticated. Unset on the gateway: a random one, which
    /// remote services will not know.
    #[arg(long, env = "STRATUS_INTERNAL_TOKEN", hide_env_values = true)]
    pub internal_token: Option<String>,
}

/// Where webhooks (job completions, budget alerts) may be sent. A
/// `webhook_url` is chosen by a tenant, so by default only https to public
/// addresses is allowed: never this machine, its private network or the
/// cloud metadata service, checked at submit and again on every
/// connection after DNS resolution.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct WebhookPolicyArgs {
    /// Also send webhooks to private networks (10/8, 172.16/12,
    /// 192.168/16, 100.64/10, fc00::/7), for receivers on premises. Every
    /// tenant may then reach those networks through its `webhook_url`;
    /// prefer --webhook-allow-hosts where the receivers are known. Never
    /// opens loopback, link-local or the metadata service.
    #[arg(long, env = "STRATUS_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// Host names, addresses or CIDR networks webhooks may go to whatever
    /// they resolve to (e.g. hooks.corp.example,10.20.0.0/16), for known
    /// receivers on premises: the narrow way to open the policy.
    #[arg(long, env = "STRATUS_WEBHOOK_ALLOW_HOSTS", value_delimiter = ',')]
    pub webhook_allow_hosts: Vec<String>,

    /// Also send webhooks over plain http:// (signed, but readable and
    /// alterable on the way). For receivers inside a trusted network.
    #[arg(long, env = "STRATUS_WEBHOOK_ALLOW_HTTP")]
    pub webhook_allow_http: bool,
}

#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ServeArgs {
    /// Address to listen on. The default stays on this machine; use
    /// 0.0.0.0:8080 to accept connections from others.
    #[arg(long, env = "STRATUS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Database: sqlite://PATH (default: HOME/stratus.db) for one machine,
    /// postgres://… when several gateways share state.
    #[arg(long, env = "STRATUS_STORE")]
    pub store: Option<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub home: HomeArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub speech_limits: SpeechLimitArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub metering: MeteringArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub billing: BillingArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub jobs: JobArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub webhooks: WebhookPolicyArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub edge: EdgeArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct GatewayArgs {
    /// Address to listen on.
    #[arg(long, env = "STRATUS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Database: sqlite://PATH (default: HOME/stratus.db) or postgres://…
    /// (required when several gateways run).
    #[arg(long, env = "STRATUS_STORE")]
    pub store: Option<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub home: HomeArgs,

    /// Speech service replicas (e.g. http://10.0.0.5:8081): repeat the flag
    /// or separate with commas. Requests go to the healthy replica with the
    /// fewest outstanding requests. A DNS name that resolves to several
    /// addresses can be re-resolved (--upstream-dns-refresh).
    #[arg(
        long,
        alias = "speech-upstream",
        env = "STRATUS_SPEECH_URL",
        value_delimiter = ','
    )]
    pub speech_url: Vec<String>,

    /// Language service replicas (e.g. http://10.0.0.6:8082), as --speech-url.
    #[arg(
        long,
        alias = "language-upstream",
        env = "STRATUS_LANGUAGE_URL",
        value_delimiter = ','
    )]
    pub language_url: Vec<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub metering: MeteringArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub billing: BillingArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub webhooks: WebhookPolicyArgs,

    /// Milliseconds to wait for a TCP connection to a replica. A replica
    /// that does not accept by then counts as down, and the request (whose
    /// body has not been sent) is tried on another replica.
    #[arg(
        long,
        env = "STRATUS_UPSTREAM_CONNECT_TIMEOUT_MS",
        default_value_t = 2000
    )]
    pub upstream_connect_timeout_ms: u64,

    /// Extra attempts on other replicas when connecting fails. Only these are
    /// retried: once a request may have reached a replica it is never sent
    /// twice (a transcription must not run, or bill, twice).
    #[arg(long, env = "STRATUS_UPSTREAM_RETRIES", default_value_t = 2)]
    pub upstream_retries: u32,

    /// Milliseconds between health checks (GET /readyz) of each replica: a
    /// shorter interval notices a dead or not-ready replica sooner, at the
    /// cost of more probe traffic.
    #[arg(long, env = "STRATUS_HEALTH_INTERVAL_MS", default_value_t = 2000)]
    pub health_interval_ms: u64,

    /// Consecutive connection failures (refused, reset) that eject a replica
    /// before the next health check would notice; 1 ejects at the first.
    #[arg(long, env = "STRATUS_EJECT_AFTER_FAILURES", default_value_t = 3)]
    pub eject_after_failures: u32,

    /// Milliseconds an ejected replica waits before it is probed again;
    /// doubles each time it fails again (to 30 s), so a dead replica costs
    /// little while a restarted one comes back quickly.
    #[arg(long, env = "STRATUS_EJECT_BACKOFF_MS", default_value_t = 1000)]
    pub eject_backoff_ms: u64,

    /// Seconds between DNS lookups of replica host names (0: off). With
    /// a name that resolves to many addresses (a Kubernetes headless
    /// service), each address becomes a replica, and scaling up or down is
    /// followed without a restart.
    #[arg(long, env = "STRATUS_UPSTREAM_DNS_REFRESH", default_value_t = 0)]
    pub upstream_dns_refresh: u64,

    #[command(flatten)]
    #[serde(flatten)]
    pub edge: EdgeArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub auth: AuthArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub internal: InternalTokenArgs,
}

#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ServiceArgs {
    /// Address to listen on. Keep it private: the gateway is the public edge.
    /// Beyond loopback it needs --internal-token (or
    /// --allow-unauthenticated).
    #[arg(long, env = "STRATUS_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,

    /// Listen beyond loopback without --internal-token: anyone who can
    /// connect is then served, unauthenticated, as tenant `default` (its
    /// jobs included). Only for a network where every client is trusted;
    /// behind a gateway, give both the same --internal-token instead.
    #[arg(long, env = "STRATUS_ALLOW_UNAUTHENTICATED")]
    pub allow_unauthenticated: bool,

    /// Serve Prometheus `/metrics` (the models' latency, queue wait and
    /// depth, batch sizes, real-time factor, the job backlog, webhook
    /// deliveries) on this address, e.g. 0.0.0.0:9090. A listener of its
    /// own, apart from the service's port, so a scraper needs no internal
    /// token and the service's port stays the gateway's. Unset: no
    /// endpoint.
    #[arg(long, env = "STRATUS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    #[command(flatten)]
    #[serde(flatten)]
    pub home: HomeArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub speech_limits: SpeechLimitArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub internal: InternalTokenArgs,
}

/// `stratus speech`: one speech replica, with its job store.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct SpeechArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub service: ServiceArgs,

    /// Where async transcription jobs (and their audio) live: sqlite://PATH
    /// (default: HOME/stratus.db) or postgres://…. Replicas must share one
    /// PostgreSQL database so any of them can work and answer for any job.
    #[arg(long, env = "STRATUS_STORE")]
    pub store: Option<String>,

    #[command(flatten)]
    #[serde(flatten)]
    pub jobs: JobArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub webhooks: WebhookPolicyArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ModelsArgs {
    #[command(flatten)]
    pub home: HomeArgs,

    #[command(subcommand)]
    pub action: ModelsAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ModelsAction {
    /// Download, verify and convert models (default: the catalog's defaults).
    Pull {
        /// Model names from `stratus models list`.
        names: Vec<String>,
        /// Pull every model of the catalog.
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// Pull again even if installed (repairs a damaged folder).
        #[arg(long)]
        force: bool,
        /// Also write a Whisper model's weights for the whisper.cpp engine
        /// (`--speech-engine whisper-cpp:TYPE`): its ggml file in f16, or
        /// quantized to q8_0 or q5_0 (half and a third of the memory),
        /// checksummed into the manifest. `serve` writes it on first start
        /// otherwise.
        #[arg(long, value_name = "TYPE", value_parser = ["f16", "q8_0", "q5_0"])]
        ggml: Vec<String>,
    },
    /// List the catalog and what is installed.
    List {
        /// Print JSON instead of a table (for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Recompute every file's checksum of installed models (default: all).
    Verify { names: Vec<String> },
    /// Delete installed models. A model a running server on this home has
    /// loaded is kept (that server could not load it at its next start)
    /// unless --force.
    Remove {
        #[arg(required = true)]
        names: Vec<String>,
        /// Delete even a model a running server has loaded: it keeps
        /// serving it from memory until it stops, and its next start
        /// cannot load it.
        #[arg(long)]
        force: bool,
    },
}

/// Where the identity commands find the store and the server secret: the
/// same as the server's, so what they create works there at once.
#[derive(Debug, Clone, Args)]
pub struct IdentityArgs {
    /// Database: sqlite://PATH (default: HOME/stratus.db) or postgres://…;
    /// the one the server uses.
    #[arg(long, env = "STRATUS_STORE", global = true)]
    pub store: Option<String>,

    /// The server's home: its SQLite store and generated auth secret.
    #[arg(long, env = "STRATUS_HOME", default_value = "./data", global = true)]
    pub home: PathBuf,

    /// The server's secret (see `serve --help`); unset: HOME/auth-secret.
    #[arg(
        long,
        env = "STRATUS_AUTH_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub auth_secret: Option<String>,

    /// Create the home (its SQLite store and auth secret) if it does not
    /// exist yet. Without it these commands refuse a home that has neither:
    /// run from another directory they would otherwise make a new, empty
    /// store and print keys the running server does not know.
    #[arg(long, global = true)]
    pub init: bool,

    /// Work through a running gateway's admin API at this address (e.g.
    /// https://stratus.example.com) instead of opening its store: the
    /// natural choice with PostgreSQL and several gateways, or from a
    /// machine without the server's home. Needs an operator key (admin
    /// scope) in STRATUS_ADMIN_KEY; --store, --home, --auth-secret and
    /// --price-catalog are not used (the server's own apply).
    #[arg(long, env = "STRATUS_URL", global = true)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct TenantsArgs {
    #[command(flatten)]
    pub identity: IdentityArgs,

    #[command(subcommand)]
    pub action: TenantsAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum TenantsAction {
    /// Create a tenant; prints its id.
    Create {
        /// Letters, digits, `-`, `_`, `.` (at most 64).
        name: String,
    },
    /// List tenants.
    List {
        /// Print JSON instead of a table (for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Show or change a tenant's limits (shared by all its keys). With no
    /// flag, shows them; each flag given changes that limit and keeps the
    /// others. A running server applies a change within a second.
    Limits {
        /// The tenant's name.
        name: String,
        #[command(flatten)]
        set: LimitFlags,
    },
    /// Show or set a tenant's price plan (what its usage is priced with).
    Plan {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        /// Put the tenant on this plan of the price catalog.
        #[arg(long, conflicts_with = "default")]
        set: Option<String>,
        /// Put the tenant back on the catalog's default plan.
        #[arg(long)]
        default: bool,
        /// The price catalog the server uses (to check the plan exists).
        #[arg(long, env = "STRATUS_PRICE_CATALOG")]
        price_catalog: Option<PathBuf>,
    },
    /// Show or set a tenant's monthly budget (soft: alert; hard: requests
    /// refused with 429 insufficient_quota). Decimal amounts in the
    /// catalog's currency; `none` returns a limit to the plan's default.
    Budget {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        /// Soft limit (e.g. 80 or 80.50), or `none`.
        #[arg(long)]
        soft: Option<String>,
        /// Hard limit, or `none`.
        #[arg(long)]
        hard: Option<String>,
        /// The price catalog the server uses (currency and plan defaults).
        #[arg(long, env = "STRATUS_PRICE_CATALOG")]
        price_catalog: Option<PathBuf>,
        /// Print JSON instead of text (for scripts).
        #[arg(long)]
        json: bool,
    },
}

/// The limits a `limits` command sets.
#[derive(Debug, Clone, Args)]
pub struct LimitFlags {
    /// Requests a minute (a burst of this many, then evenly spread).
    #[arg(long)]
    pub requests_per_minute: Option<u64>,
    /// Input tokens a minute on the language routes.
    #[arg(long)]
    pub tokens_per_minute: Option<u64>,
    /// Seconds of audio a minute on the speech routes.
    #[arg(long)]
    pub audio_seconds_per_minute: Option<u64>,
    /// Requests in progress at once.
    #[arg(long)]
    pub concurrent_requests: Option<u64>,
    /// Remove every limit set here first (the server defaults apply to
    /// whatever no other flag sets).
    #[arg(long)]
    pub clear: bool,
    /// Print JSON (for scripts).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub identity: IdentityArgs,

    #[command(subcommand)]
    pub action: KeysAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KeysAction {
    /// Create an API key; prints the key (`sk_…`) on stdout, the only time
    /// it is ever shown.
    Create {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        /// Comma-separated: speech, language, usage:read, billing:read, keys,
        /// admin (admin only for the `system` tenant).
        #[arg(long, required = true)]
        scopes: String,
        /// Days until the key stops working (default: never).
        #[arg(long)]
        expires_in: Option<u32>,
        /// A label to tell keys apart.
        #[arg(long)]
        name: Option<String>,
    },
    /// List a tenant's keys (never their secrets).
    List {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        /// Print JSON instead of a table (for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id (`key_…`); refused everywhere within a second.
    Revoke { id: String },
    /// Show or change a key's limits (its tenant's apply as well). With no
    /// flag, shows them; each flag given changes that limit and keeps the
    /// others. A running server applies a change within a second.
    Limits {
        /// The key's id (`key_…`).
        id: String,
        #[command(flatten)]
        set: LimitFlags,
    },
    /// Show or set a key's own monthly budget, under its tenant's: once the
    /// key's spend this month reaches it, its requests are refused with 429
    /// insufficient_quota while the tenant's other keys go on. Spend the key
    /// made earlier in the month counts.
    Budget {
        /// The key's id (`key_…`).
        id: String,
        /// Hard limit in the catalog's currency (e.g. 25 or 25.50), or
        /// `none` to remove it.
        #[arg(long)]
        hard: Option<String>,
        /// The price catalog the server uses (currency, and the prices the
        /// key's spend so far is counted with).
        #[arg(long, env = "STRATUS_PRICE_CATALOG")]
        price_catalog: Option<PathBuf>,
        /// Print JSON instead of text (for scripts).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct UsersArgs {
    #[command(flatten)]
    pub identity: IdentityArgs,

    #[command(subcommand)]
    pub action: UsersAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum UsersAction {
    /// Create a dashboard user. The password comes from STRATUS_USER_PASSWORD
    /// or the first line of stdin, never a flag (flags show in `ps` and
    /// shell history).
    Create {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// owner (manages keys), member (uses the services), viewer (reads
        /// usage and bills).
        #[arg(long)]
        role: String,
    },
    /// List a tenant's users (never their passwords).
    List {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        /// Print JSON instead of a table (for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: it cannot sign in, and every session it has ends
    /// (on a running server within a second).
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Delete a user; every session it has ends.
    Delete {
        #[arg(long)]
        email: String,
    },
    /// Change a user's role; its open sessions carry the new one within a
    /// second.
    SetRole {
        #[arg(long)]
        email: String,
        /// owner, member or viewer.
        #[arg(long)]
        role: String,
    },
    /// Give a user a new password (from STRATUS_USER_PASSWORD or the first
    /// line of stdin, never a flag); every session it has ends.
    SetPassword {
        #[arg(long)]
        email: String,
    },
}
