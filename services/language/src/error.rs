//! The language service's errors, and the one place they become the API's
//! error envelope ([`ApiError`]).
//!
//! Request validation, model lookup, queueing and inference failures are
//! all variants here, so each handler returns `Result<_, LanguageError>` and
//! the status code of every failure is decided in [`From<LanguageError> for
//! ApiError`] below, nowhere else.

use stratus_kit::ApiError;
use stratus_models::ModelError;
use stratus_models::worker::WorkerError;

/// Seconds a client is told to wait when a model's queue is full.
const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// Errors of the language service layer.
#[derive(Debug, thiserror::Error)]
pub enum LanguageError {
    #[error("model `{name}` is a {task} model, which the language service does not serve yet")]
    UnsupportedTask { name: String, task: &'static str },
    #[error("could not start a model thread: {0}")]
    Thread(#[from] std::io::Error),

    /// A request field is missing, malformed or out of range (400).
    #[error("{message}")]
    InvalidRequest {
        param: Option<&'static str>,
        message: String,
    },
    /// A request or one of its parts is over a size limit (413).
    #[error("{message}")]
    TooLarge {
        param: Option<&'static str>,
        message: String,
    },
    /// No loaded model of that name serves this endpoint (404, OpenAI's
    /// `model_not_found`).
    #[error("{0}")]
    ModelNotFound(String),
    /// The model's queue is full or its thread stopped (503 + Retry-After).
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// The model refused an input (400) or failed (500).
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl LanguageError {
    /// 400 naming the parameter at fault.
    pub fn invalid(param: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            param: Some(param),
            message: message.into(),
        }
    }

    /// 413 naming the parameter at fault.
    pub fn too_large(param: &'static str, message: impl Into<String>) -> Self {
        Self::TooLarge {
            param: Some(param),
            message: message.into(),
        }
    }
}

impl From<LanguageError> for ApiError {
    fn from(error: LanguageError) -> Self {
        match error {
            LanguageError::InvalidRequest { param, message } => {
                with_param(ApiError::bad_request(message), param)
            }
            LanguageError::TooLarge { param, message } => {
                with_param(ApiError::payload_too_large(message), param)
            }
            LanguageError::ModelNotFound(message) => ApiError::not_found(message)
                .with_param("model")
                .with_code("model_not_found"),
            LanguageError::Worker(e) => ApiError::unavailable(e.to_string(), BUSY_RETRY_AFTER_SECS),
            LanguageError::Model(ModelError::InvalidInput(message)) => {
                ApiError::bad_request(message).with_param("input")
            }
            LanguageError::Model(e) => {
                // The detail goes to the log, not to the caller.
                tracing::error!(error = %e, "inference failed");
                ApiError::internal("inference failed; see the server log")
            }
            e @ (LanguageError::UnsupportedTask { .. } | LanguageError::Thread(_)) => {
                tracing::error!(error = %e, "language service error");
                ApiError::internal("internal error; see the server log")
            }
        }
    }
}

fn with_param(error: ApiError, param: Option<&'static str>) -> ApiError {
    match param {
        Some(param) => error.with_param(param),
        None => error,
    }
}
