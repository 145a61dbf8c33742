//! [`Error`]: what a call can fail with. An answer of 4xx/5xx becomes an
//! [`ApiError`] carrying the API's error envelope
//! (`{"error": {"message", "type", "param", "code"}}`), its status and
//! `Retry-After`, so callers match on [`ErrorKind`] or the envelope's `code`.

use std::time::Duration;

use crate::models::{AudioJob, ErrorBody, ErrorEnvelope};

/// Any failure of a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error (after the retries ran out for
    /// 429/503), or a stream ended with an `error` event.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The server could not be reached, the request timed out, or the
    /// connection broke while the answer was read.
    #[error("could not reach Stratus: {0}")]
    Connection(#[source] reqwest_middleware::Error),
    /// A 2xx answer that is not what the document promises.
    #[error("unexpected response from Stratus: {0}")]
    Decode(String),
    /// The client's settings are unusable (e.g. a key that is not a valid header).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// [`crate::Stratus::wait_for_job`]: the job ended `failed` or
    /// `cancelled` (its `error` says why).
    #[error("job {} ended {}: {}", .0.id, .0.status, .0.error.as_ref().map_or("", |e| e.message.as_str()))]
    JobFailed(Box<AudioJob>),
    /// [`crate::Stratus::wait_for_job`]: the timeout passed first (the job
    /// goes on; here as last seen).
    #[error("job {} still {} when the wait timed out", .0.id, .0.status)]
    JobTimeout(Box<AudioJob>),
    /// Reading an audio file from disk.
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        Error::Connection(reqwest_middleware::Error::Reqwest(e))
    }
}

impl From<reqwest_middleware::Error> for Error {
    fn from(e: reqwest_middleware::Error) -> Self {
        Error::Connection(e)
    }
}

impl Error {
    /// The API error, if the server answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// What kind of failure an [`ApiError`] is, from its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400, 405, 413, 415, 422: the request is wrong; fix it before retrying.
    BadRequest,
    /// 401: no API key, or an invalid one.
    Authentication,
    /// 403: the key lacks the scope.
    PermissionDenied,
    /// 404: no such resource or model.
    NotFound,
    /// 429: a rate or quota limit (the retries ran out).
    RateLimit,
    /// 503: overloaded or not ready (the retries ran out).
    ServiceUnavailable,
    /// Any other 5xx.
    Server,
    /// An `error` event ended a stream that had started (status 200).
    Stream,
    /// Any other status.
    Other,
}

/// An error answer: status, envelope, and the wait the server asked for.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {}: {}", .error.r#type, .error.message)]
pub struct ApiError {
    /// The HTTP status (200 for an `error` event in a stream).
    pub status: u16,
    /// What kind of failure, from the status.
    pub kind: ErrorKind,
    /// The envelope's `error` object.
    pub error: ErrorBody,
    /// `Retry-After`, when the server sent one (429, 503).
    pub retry_after: Option<Duration>,
    /// The gateway's `x-request-id` of the failed request (quote it in a report).
    pub request_id: Option<String>,
    /// How many times the request was resent before this answer.
    pub retries_taken: u32,
}

impl ApiError {
    /// The error of a response body: the envelope when it is one, else the
    /// body's text as the message (a proxy in front of Stratus may answer
    /// without the envelope).
    pub fn from_body(status: u16, body: &[u8], retry_after: Option<Duration>) -> ApiError {
        let error = serde_json::from_slice::<ErrorEnvelope>(body)
            .map(|envelope| envelope.error)
            .unwrap_or_else(|_| {
                let text = String::from_utf8_lossy(body).trim().to_string();
                let message = if text.is_empty() {
                    format!("HTTP {status}")
                } else {
                    text
                };
                ErrorBody::new(message, "unknown".to_string())
            });
        ApiError {
            status,
            kind: kind_of(status),
            error,
            retry_after,
            request_id: None,
            retries_taken: 0,
        }
    }

    /// The error an `error` event of a stream carries.
    pub fn from_stream(error: ErrorBody) -> ApiError {
        ApiError {
            status: 200,
            kind: ErrorKind::Stream,
            error,
            retry_after: None,
            request_id: None,
            retries_taken: 0,
        }
    }

    /// The envelope's `message`.
    pub fn message(&self) -> &str {
        &self.error.message
    }

    /// The envelope's `type` (`invalid_request_error`, `authentication_error`, …).
    pub fn error_type(&self) -> &str {
        &self.error.r#type
    }

    /// The envelope's `code` (`invalid_api_key`, `model_not_found`, …), when there is one.
    pub fn code(&self) -> Option<&str> {
        self.error.code.as_deref()
    }

    /// The request parameter at fault, when there is one.
    pub fn param(&self) -> Option<&str> {
        self.error.param.as_deref()
    }
}

fn kind_of(status: u16) -> ErrorKind {
    match status {
        400 | 405 | 413 | 415 | 422 => ErrorKind::BadRequest,
        401 => ErrorKind::Authentication,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        429 => ErrorKind::RateLimit,
        503 => ErrorKind::ServiceUnavailable,
        500..=599 => ErrorKind::Server,
        _ => ErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_envelope() {
        let body = br#"{"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": "rate_limit_exceeded"}}"#;
        let e = ApiError::from_body(429, body, Some(Duration::from_secs(2)));
        assert_eq!(e.kind, ErrorKind::RateLimit);
        assert_eq!(e.code(), Some("rate_limit_exceeded"));
        assert_eq!(e.param(), None);
        assert_eq!(e.message(), "slow down");
        assert_eq!(e.to_string(), "429 rate_limit_error: slow down");
    }

    #[test]
    fn a_body_without_the_envelope_becomes_the_message() {
        let e = ApiError::from_body(502, b"Bad Gateway", None);
        assert_eq!(e.kind, ErrorKind::Server);
        assert_eq!(e.message(), "Bad Gateway");
        assert_eq!(e.error_type(), "unknown");
    }
}
