//! The one error envelope of every Stratus API, in OpenAI's shape:
//! `{"error": {"message", "type", "param", "code"}}`.
//!
//! Each layer has its own thiserror enum; each service converts those into
//! [`ApiError`] in exactly one place (`From` impls in the service), and this
//! type turns into the response. Status codes follow docs/ARCHITECTURE.md.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The body of every error response, in OpenAI's shape.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[schema(example = json!({"error": {
    "message": "`temperature` must be a number from 0 to 1; got `7`",
    "type": "invalid_request_error",
    "param": "temperature",
    "code": null
}}))]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// OpenAI's error object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person to read.
    pub message: String,
    /// The class of error: `invalid_request_error` (400, 404, 405, 408, 413,
    /// 415, 422), `authentication_error` (401), `permission_error` (403),
    /// `not_found_error` (404), `rate_limit_error` and
    /// `insufficient_quota` (429),
    /// `service_unavailable` (503), `server_error` (500), `upstream_error`
    /// (502).
    #[serde(rename = "type")]
    #[schema(example = "invalid_request_error")]
    pub kind: String,
    /// The request parameter at fault, when one is.
    #[schema(example = "temperature")]
    pub param: Option<String>,
    /// A machine-readable code, when there is one (`invalid_api_key`,
    /// `rate_limit_exceeded`, `model_not_found`, `payload_too_large`).
    #[schema(example = "model_not_found")]
    pub code: Option<String>,
}

/// The header that tells a client whether to resend a failed request,
/// whatever its status says (OpenAI's convention, honoured by its SDKs).
pub const X_SHOULD_RETRY: &str = "x-should-retry";

/// An error on its way to becoming a response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub param: Option<String>,
    pub code: Option<String>,
    /// Seconds to put in `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
    /// Whether a client should resend the same request, when the status
    /// alone would mislead it: sent as `x-should-retry`, which OpenAI's
    /// SDKs (and ours) obey over their own status rules. Set to `false`
    /// where waiting cannot help (a spent budget, a conflict).
    pub should_retry: Option<bool>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            param: None,
            code: None,
            retry_after: None,
            should_retry: None,
        }
    }

    /// 400: the request is malformed or a value is out of range.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }
    /// 401: no or invalid credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "authentication_error", message)
            .with_code("invalid_api_key")
    }
    /// 403: valid credentials without the needed scope.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_error", message)
    }
    /// 404: no such resource (also for another tenant's resources).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found_error", message)
    }
    /// 405: the route exists with other methods.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            message,
        )
    }
    /// 408: the client sent its request too slowly (a body below the
    /// server's minimum transfer rate); the connection is closed after it.
    pub fn request_timeout(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request_error",
            message,
        )
        .with_code("request_timeout")
    }

    /// 413: the body or a part of it is over a limit.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            message,
        )
        .with_code("payload_too_large")
    }
    /// 409: the request conflicts with the state of a resource (a name
    /// taken, a count at its cap). Resending it unchanged cannot succeed,
    /// so clients are told not to (OpenAI's SDKs retry 409 by default).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "invalid_request_error", message)
            .with_code("conflict")
            .never_retry()
    }
    /// 415: a media type we cannot read.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request_error",
            message,
        )
    }
    /// 422: well-formed but unprocessable.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            message,
        )
    }
    /// 429: a rate or quota limit; retry after `retry_after` seconds.
    pub fn rate_limited(message: impl Into<String>, retry_after: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", message)
            .with_code("rate_limit_exceeded");
        e.retry_after = Some(retry_after);
        e
    }
    /// 429 `insufficient_quota`: the tenant's budget is spent. Nothing but
    /// an operator raising the limit (or the next month) changes that, so
    /// no `Retry-After` and `x-should-retry: false`: a client that waited
    /// and resent would hang its caller for nothing.
    pub fn quota_exhausted(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "insufficient_quota", message)
            .with_code("insufficient_quota")
            .never_retry()
    }
    /// 503: overloaded or not ready; retry after `retry_after` seconds.
    pub fn unavailable(message: impl Into<String>, retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            message,
        );
        e.retry_after = Some(retry_after);
        e
    }
    /// 504: an upstream did not answer within the gateway's request timeout.
    pub fn gateway_timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "timeout_error", message).with_code("timeout")
    }
    /// 500: our fault. The message must not leak internals; log them instead.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", message)
    }
    /// 502: an upstream answered with something unusable.
    pub fn bad_gateway(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "upstream_error", message)
    }

    /// Name the request parameter at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }
    /// A machine-readable code (OpenAI's `code`).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Tell clients that resending this request cannot succeed.
    pub fn never_retry(mut self) -> Self {
        self.should_retry = Some(false);
        self.retry_after = None;
        self
    }

    /// The envelope this error serializes to.
    pub fn envelope(&self) -> ErrorEnvelope {
        ErrorEnvelope {
            error: ErrorBody {
                message: self.message.clone(),
                kind: self.kind.into(),
                param: self.param.clone(),
                code: self.code.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = %self.status, message = %self.message, "request failed");
        }
        let mut response = (self.status, Json(self.envelope())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(retry) = self.should_retry {
            response.headers_mut().insert(
                X_SHOULD_RETRY,
                HeaderValue::from_static(if retry { "true" } else { "false" }),
            );
        }
        response
    }
}

/// `axum::Json` whose rejections (wrong content type, malformed JSON, a
/// field of the wrong type, a body over the limit) answer in the error
/// envelope like every other failure: the JSON extractor of every service.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::unsupported_media_type(
                "expected a JSON body with `Content-Type: application/json`",
            ),
            JsonRejection::JsonDataError(e) => {
                Self::bad_request(format!("invalid request body: {}", e.body_text()))
            }
            JsonRejection::JsonSyntaxError(e) => {
                Self::bad_request(format!("malformed JSON: {}", e.body_text()))
            }
            JsonRejection::BytesRejection(e) => {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Self::payload_too_large("request body is too large")
                } else {
                    Self::bad_request(format!(
                        "could not read the request body: {}",
                        e.body_text()
                    ))
                }
            }
            other => Self::bad_request(other.body_text()),
        }
    }
}

/// Fallback for unknown routes: a 404 in the envelope instead of an empty body.
pub async fn not_found_fallback(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

/// Fallback for a known route asked with a method it does not serve: a
/// 405 in the envelope instead of axum's empty body (axum still adds the
/// `Allow` header with the methods the route serves). Install it with
/// `Router::method_not_allowed_fallback` once every route is in the router:
/// it reaches only the routes present then.
pub async fn method_not_allowed_fallback(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> ApiError {
    ApiError::method_not_allowed(format!(
        "{method} is not allowed on {}; the `Allow` header lists the methods that are",
        uri.path()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn envelope_has_openai_shape_and_retry_after() {
        let response = ApiError::rate_limited("slow down", 7).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        let body = body_of(response).await;
        assert_eq!(body["error"]["message"], "slow down");
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        assert!(body["error"]["param"].is_null());
    }

    #[tokio::test]
    async fn a_spent_quota_or_a_conflict_tells_clients_not_to_retry() {
        let response = ApiError::quota_exhausted("budget spent").into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
        assert_eq!(response.headers()[X_SHOULD_RETRY], "false");
        let body = body_of(response).await;
        assert_eq!(body["error"]["type"], "insufficient_quota");
        assert_eq!(body["error"]["code"], "insufficient_quota");

        let response = ApiError::conflict("taken").into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(response.headers()[X_SHOULD_RETRY], "false");
        // A rate limit is worth a retry: the status says so, no override.
        let response = ApiError::rate_limited("slow down", 1).into_response();
        assert!(response.headers().get(X_SHOULD_RETRY).is_none());
    }

    #[tokio::test]
    async fn param_is_named() {
        let body = body_of(
            ApiError::bad_request("bad model")
                .with_param("model")
                .into_response(),
        )
        .await;
        assert_eq!(body["error"]["param"], "model");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
}
