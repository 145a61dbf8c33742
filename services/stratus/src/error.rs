//! What a command can fail with. Each message says what went wrong and, where
//! the operator can act, what to do.

use stratus_gateway::StoreError;
use stratus_gateway::auth::AuthError;
use stratus_kit::config::ConfigError;
use stratus_kit::context::TokenError;
use stratus_language::LanguageError;
use stratus_models::ModelError;
use stratus_speech::SpeechError;
use stratus_speech::jobs::{JobError, JobStoreError};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("--cpu-isa: {0}")]
    Cpu(#[from] stratus_models::cpu::CpuError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Metering(#[from] stratus_gateway::metering::MeteringError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Otlp(#[from] stratus_kit::telemetry::OtlpError),
    /// The admin API (`--url`) refused or could not be reached.
    #[error("{}{message}", status.map(|s| format!("the server answered {s}: ")).unwrap_or_default())]
    Api {
        status: Option<u16>,
        message: String,
    },
    #[error("internal token: {0}")]
    Token(#[from] TokenError),
    #[error(transparent)]
    Speech(#[from] SpeechError),
    #[error(transparent)]
    Jobs(#[from] JobError),
    #[error(transparent)]
    JobStore(#[from] JobStoreError),
    #[error(transparent)]
    Language(#[from] LanguageError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Serve(std::io::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a Stratus home: it has no {missing}. The identity commands work on the \
         home of the server (`stratus serve`) they manage: set STRATUS_HOME (or --home) to the one \
         it was started with (its default, ./data, is relative to the directory it was started \
         in), or give --store and --auth-secret as the server has them. To create a new, empty \
         home here on purpose, add --init."
    )]
    NoHome {
        path: std::path::PathBuf,
        missing: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the admin key in {path}: {source}")]
    AdminKey {
        path: std::path::PathBuf,
        #[source]
        source: AuthError,
    },
    #[error("writing output: {0}")]
    Output(std::io::Error),
    #[error("cannot serialize the OpenAPI document: {0}")]
    Openapi(serde_json::Error),
    #[error("{count} model(s) failed: {names}")]
    SomeFailed { count: usize, names: String },
}
