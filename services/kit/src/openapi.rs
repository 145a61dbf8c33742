//! What every service's OpenAPI document shares: the one reusable error
//! response (`#/components/responses/ErrorEnvelope`, the envelope of
//! [`crate::error`] with `Retry-After`), and the health routes' operations.
//!
//! Handlers name error statuses with `(status = 4xx, response =
//! ErrorEnvelope)`, so every error of the document points at one schema and
//! the SDK generators make one error type of it. Each service crate exposes
//! its own `openapi()`; the gateway merges them into `openapi/stratus.json`.

use std::collections::BTreeMap;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Response};
use utoipa::{IntoResponses, OpenApi, ToResponse};

use crate::error::ErrorEnvelope;

/// The name of the error response and of its schema in `components`.
pub const ERROR_ENVELOPE: &str = "ErrorEnvelope";

impl<'r> ToResponse<'r> for ErrorEnvelope {
    fn response() -> (&'r str, RefOr<Response>) {
        let retry_after = HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
            .description(Some(
                "Seconds to wait before retrying; sent with 429 (rate or quota \
                 limit) and 503 (overloaded or not ready).",
            ))
            .build();
        let response = ResponseBuilder::new()
            .description(
                "An error, in OpenAI's envelope: `{\"error\": {\"message\", \"type\", \
                 \"param\", \"code\"}}`. The status says the class (400 bad input, \
                 401 no or invalid key, 403 wrong scope, 404 unknown resource or \
                 model, 413 too large, 415 wrong media type, 429 rate limit, 503 \
                 overloaded); `type` and `code` say it for programs.",
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(ERROR_ENVELOPE)))
                    .build(),
            )
            .header("Retry-After", retry_after)
            .build();
        (ERROR_ENVELOPE, response.into())
    }
}

/// The error answers every model endpoint documents, each the shared
/// [`ErrorEnvelope`] response: 400 (bad input), 404 (unknown model), 413
/// (body too large), 415 (not the body's media type) and 503 (overloaded
/// or not ready). Named once here, as `responses(…, ModelErrors)`, rather
/// than the same five lines in every handler.
pub struct ModelErrors;

impl IntoResponses for ModelErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [400, 404, 413, 415, 503]
            .into_iter()
            .map(|status| {
                (
                    status.to_string(),
                    Ref::from_response_name(ERROR_ENVELOPE).into(),
                )
            })
            .collect()
    }
}

/// The shared parts: the health routes, the error schema and response.
#[derive(OpenApi)]
#[openapi(
    paths(crate::health::healthz, crate::health::readyz),
    components(schemas(ErrorEnvelope), responses(ErrorEnvelope)),
    tags((name = "health", description = "Liveness and readiness probes (no key needed)."))
)]
struct KitDoc;

/// The shared document, to merge into each service's.
pub fn openapi() -> utoipa::openapi::OpenApi {
    KitDoc::openapi()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_points_at_the_envelope_schema() {
        let doc = serde_json::to_value(openapi()).unwrap();
        let response = &doc["components"]["responses"]["ErrorEnvelope"];
        assert_eq!(
            response["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorEnvelope"
        );
        assert_eq!(
            response["headers"]["Retry-After"]["schema"]["type"],
            "integer"
        );
        let body = &doc["components"]["schemas"]["ErrorBody"];
        assert!(body["properties"]["type"].is_object(), "{body}");
    }
}
