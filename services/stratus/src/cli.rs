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
    /// Create and list tenants (organisations), against the same store as
    /// a running server.
    Tenants(TenantsArgs),
    /// Create, list and revoke a tenant's API keys.
    Keys(KeysArgs),
    /// Create dashboard users.
    Users(UsersArgs),
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
}

/// The secret proving a request came from the gateway.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct InternalTokenArgs {
    /// Shared secret (32+ visible ASCII characters) the gateway sends with
    /// the tenant context it forwards; services believe that context only
    /// with it. Give the gateway and every speech/language replica the same
    /// value. Unset on a service: no context is believed. Unset on the
    /// gateway: a random one, which remote services will not know.
    #[arg(long, env = "STRATUS_INTERNAL_TOKEN", hide_env_values = true)]
    pub internal_token: Option<String>,
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

    #[command(flatten)]
    #[serde(flatten)]
    pub internal: InternalTokenArgs,
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
}
