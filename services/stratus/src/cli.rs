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
    Speech(ServiceArgs),
    /// Run only the language service (one replica of a scaled-out deployment).
    Language(ServiceArgs),
    /// Pull, list, verify or remove model weights.
    Models(ModelsArgs),
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

    /// Milliseconds a lone /v1/embeddings request may wait for others to
    /// batch with when the model is idle: a little latency bought for
    /// throughput when requests arrive together (0: never wait).
    #[arg(long, env = "STRATUS_EMBED_BATCH_WAIT_MS", default_value_t = 2)]
    pub embed_batch_wait_ms: u64,

    /// Where models run: cpu, cuda[:N] or metal[:N]. GPUs need a binary
    /// built with `--features cuda` (or metal); asking for one without it
    /// fails at start rather than silently running on the CPU.
    #[arg(long, env = "STRATUS_DEVICE", default_value = "cpu")]
    pub device: String,

    /// Secret key for `redaction: "hash"` on /v1/language/pii: values become
    /// HMAC-SHA256 tokens that stay equal across requests (so redacted
    /// records can still be joined) but cannot be reversed by hashing
    /// guesses. Without it, hash redaction is refused. Keep it secret and
    /// stable: changing it changes every token.
    #[arg(long, env = "STRATUS_REDACTION_KEY", hide_env_values = true)]
    pub redaction_key: Option<String>,
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

    /// Base URL of the speech service (e.g. http://10.0.0.5:8081).
    #[arg(long, env = "STRATUS_SPEECH_UPSTREAM")]
    pub speech_upstream: Option<String>,

    /// Base URL of the language service (e.g. http://10.0.0.6:8082).
    #[arg(long, env = "STRATUS_LANGUAGE_UPSTREAM")]
    pub language_upstream: Option<String>,

    /// Seconds to wait for an upstream to answer before giving up with 503;
    /// long enough for a long transcription, short enough to free sockets.
    #[arg(long, env = "STRATUS_UPSTREAM_TIMEOUT", default_value_t = 600)]
    pub upstream_timeout: u64,
}

#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ServiceArgs {
    /// Address to listen on. Keep it private: the gateway is the public edge.
    #[arg(long, env = "STRATUS_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,

    #[command(flatten)]
    #[serde(flatten)]
    pub home: HomeArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    #[serde(flatten)]
    pub speech_limits: SpeechLimitArgs,
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
    },
    /// List the catalog and what is installed.
    List {
        /// Print JSON instead of a table (for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Recompute every file's checksum of installed models (default: all).
    Verify { names: Vec<String> },
    /// Delete installed models.
    Remove {
        #[arg(required = true)]
        names: Vec<String>,
    },
}
