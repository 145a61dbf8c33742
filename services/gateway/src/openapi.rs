//! The public OpenAPI document (`openapi/stratus.json`) and the routes that
//! serve it: `/openapi.json` and a readable reference at `/docs` (Swagger
//! UI, its assets embedded in the binary at compile time: works offline).
//!
//! The document is the gateway's own operations merged with each service's
//! (`stratus_speech::openapi()`, `stratus_language::openapi()`), plus what
//! the gateway adds to every operation behind a key: the bearer security
//! scheme and its 401/403/429 answers. A new route is documented where its
//! handler is (`#[utoipa::path]`) and listed in its crate's `openapi()`;
//! `stratus openapi --output openapi/stratus.json` regenerates the file and
//! a test fails while the committed one differs.

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::limits::admin as limits;
use crate::{auth, billing, metering, routing, tenants};

/// Name of the API-key security scheme.
pub const API_KEY_SCHEME: &str = "api_key";
/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// Where the reference is served.
pub const DOCS_PATH: &str = "/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stratus API",
        description = "Self-hosted speech and language AI behind one multi-tenant API. \
            OpenAI-compatible where OpenAI has the endpoint (transcriptions, translations, \
            embeddings, models); every error is OpenAI's envelope \
            `{\"error\": {\"message\", \"type\", \"param\", \"code\"}}`; every response states \
            what it consumed in `x-stratus-usage-*` headers.\n\n\
            Authenticate with `Authorization: Bearer sk_…`. 429 and 503 answers carry \
            `Retry-After`: wait that many seconds and retry."
    ),
    paths(
        routing::models::list_models,
        routing::models::retrieve_model,
        limits::get_tenant_limits,
        limits::put_tenant_limits,
        limits::delete_tenant_limits,
        limits::get_key_limits,
        limits::put_key_limits,
        limits::delete_key_limits,
        billing::api::own_budget,
        billing::api::list_invoices,
        billing::api::get_invoice,
        billing::api::get_plan,
        billing::api::set_plan,
        billing::api::get_budget,
        billing::api::set_budget,
        billing::api::get_key_budget,
        billing::api::set_key_budget,
        billing::api::get_own_key_budget,
        billing::api::set_own_key_budget,
        auth::session::login,
        auth::session::logout,
        auth::session::me,
        tenants::admin::list_own_keys,
        tenants::admin::create_own_key,
        tenants::admin::revoke_own_key,
        tenants::admin::list_tenants,
        tenants::admin::create_tenant,
        tenants::admin::list_tenant_keys,
        tenants::admin::create_tenant_key,
        tenants::admin::revoke_tenant_key,
        tenants::admin::create_tenant_user,
        tenants::admin::list_tenant_users,
        tenants::admin::get_tenant_user,
        tenants::admin::update_tenant_user,
        tenants::admin::delete_tenant_user,
        metering::api::usage,
        metering::api::events,
    ),
    modifiers(&ApiKeyAuth),
    security(("api_key" = [])),
    tags(
        (name = "models", description = "The models this deployment serves."),
        (name = "auth", description = "Dashboard sessions (email and password) and who the caller is."),
        (name = "keys", description = "Your tenant's own API keys (`keys` scope)."),
        (name = "usage", description = "Your tenant's metered usage (`usage:read` scope)."),
        (name = "admin", description = "Operating the deployment: tenants, their keys, users and limits (`admin` scope, keys of the system tenant only)."),
        (name = "billing", description = "Budgets, plans and monthly invoices.")
    )
)]
struct GatewayDoc;

/// The bearer scheme, and what it means for every operation that needs it.
struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sk_…")
                    .description(Some(
                        "An API key from the admin API: `Authorization: Bearer sk_…`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole public document: the gateway's operations and every
/// service's, each operation behind a key answering 401, 403 and 429 in
/// the error envelope.
pub fn document() -> Document {
    let mut doc = GatewayDoc::openapi();
    doc.merge(stratus_speech::openapi());
    doc.merge(stratus_language::openapi());
    add_gateway_errors(&mut doc);
    doc
}

/// What the gateway itself answers before a request reaches a service:
/// 401 (no or invalid key), 403 (wrong scope), 429 (rate or quota limit,
/// with `Retry-After`). Operations marked public (`security(())`) are left
/// alone.
fn add_gateway_errors(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let public = operation
                .security
                .as_ref()
                .is_some_and(|s| s.iter().any(is_empty_requirement));
            if public {
                continue;
            }
            for status in ["401", "403", "429"] {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| {
                        RefOr::Ref(Ref::from_response_name(
                            stratus_kit::openapi::ERROR_ENVELOPE,
                        ))
                    });
            }
        }
    }
}

fn is_empty_requirement(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement).is_ok_and(|v| v.as_object().is_some_and(|m| m.is_empty()))
}

/// The document as written to `openapi/stratus.json`: pretty JSON with a
/// final newline.
pub fn document_json() -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(&document())?;
    json.push('\n');
    Ok(json)
}

/// `GET /openapi.json` and the reference at `/docs` (`/docs/` and its
/// assets). Public: mount them outside authentication.
pub fn openapi_routes() -> Router {
    SwaggerUi::new(DOCS_PATH)
        .url(OPENAPI_PATH, document())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secured_operations_answer_gateway_errors_and_health_stays_public() {
        let doc = serde_json::to_value(document()).unwrap();
        let transcribe = &doc["paths"]["/v1/audio/transcriptions"]["post"];
        for status in ["400", "401", "403", "413", "429", "503"] {
            assert_eq!(
                transcribe["responses"][status]["$ref"], "#/components/responses/ErrorEnvelope",
                "{status}"
            );
        }
        let health = &doc["paths"]["/healthz"]["get"];
        assert!(health["responses"]["401"].is_null());
        assert_eq!(doc["security"][0][API_KEY_SCHEME], serde_json::json!([]));
    }

    #[tokio::test]
    async fn serves_the_document_and_an_offline_reference() {
        use http_body_util::BodyExt;
        use tower::ServiceExt;

        let get = |path: &str| {
            openapi_routes().oneshot(
                axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
        };
        let response = get(OPENAPI_PATH).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let served: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(served, serde_json::to_value(document()).unwrap());

        let page = get("/docs/").await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.into_body().collect().await.unwrap().to_bytes();
        let html = String::from_utf8_lossy(&html);
        // Assets come from this server, not a CDN.
        assert!(html.contains("./swagger-ui-bundle.js"), "{html}");
        assert!(!html.contains("https://"), "{html}");
        let bundle = get("/docs/swagger-ui-bundle.js").await.unwrap();
        assert_eq!(bundle.status(), 200);
    }

    /// The methods `handler` routes, read from the `Allow` value axum keeps
    /// in every method router (its `Debug` shows `allow_header:
    /// Bytes(b"GET,HEAD,POST")`; `HEAD` comes with `GET` and is not
    /// documented apart). `None` for `any(…)` (shown as `Skip`): a route
    /// that forwards every method to a service.
    fn methods_of<S>(handler: &axum::routing::MethodRouter<S>) -> Option<Vec<String>> {
        let debug = format!("{handler:?}");
        if debug.contains("allow_header: Skip") {
            return None;
        }
        let marker = "allow_header: Bytes(b\"";
        let start = debug
            .find(marker)
            .unwrap_or_else(|| panic!("axum's Debug of a MethodRouter changed: {debug}"))
            + marker.len();
        let end = start + debug[start..].find('"').unwrap();
        Some(
            debug[start..end]
                .split(',')
                .filter(|m| *m != "HEAD")
                .map(str::to_lowercase)
                .collect(),
        )
    }

    /// Whether the gateway pattern `pattern` (`/v1/audio/{*rest}`,
    /// `/v1/embeddings`) forwards requests for the service path `path`.
    fn forwards(pattern: &str, path: &str) -> bool {
        match pattern.strip_suffix("{*rest}") {
            Some(prefix) => path.starts_with(prefix),
            None => pattern == path,
        }
    }

    /// Every route and method of the gateway's table is an operation of
    /// the document; a route that forwards any method stands for every
    /// route of the services that it reaches, each with its own methods.
    #[test]
    fn every_public_route_and_method_is_documented() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut services: Vec<(&str, Vec<String>)> = Vec::new();
        for (path, handler) in stratus_speech::SpeechService::public_routes() {
            services.push((path, methods_of(&handler).unwrap()));
        }
        for (path, handler) in stratus_language::LanguageService::public_routes() {
            services.push((path, methods_of(&handler).unwrap()));
        }
        let mut wanted: Vec<(String, String)> = Vec::new();
        for route in crate::routes::table() {
            // Dashboard pages are HTML for browsers, not part of the API.
            if route.path.starts_with(crate::dashboard::ROOT) {
                continue;
            }
            match methods_of(&route.handler) {
                Some(methods) => {
                    assert!(!methods.is_empty(), "{route:?}");
                    for method in methods {
                        wanted.push((route.path.to_owned(), method));
                    }
                }
                None => {
                    let reached: Vec<_> = services
                        .iter()
                        .filter(|(path, _)| forwards(route.path, path))
                        .collect();
                    assert!(
                        !reached.is_empty(),
                        "{route:?} forwards to no route of a service"
                    );
                    for (path, methods) in reached {
                        for method in methods {
                            wanted.push(((*path).to_owned(), method.clone()));
                        }
                    }
                }
            }
        }
        // The table, the speech service's jobs and the language service's
        // analyses, at least.
        assert!(wanted.len() >= 25, "{wanted:?}");
        let missing: Vec<String> = wanted
            .iter()
            .filter(|(path, method)| !doc["paths"][path][method].is_object())
            .map(|(path, method)| format!("{} {path}", method.to_uppercase()))
            .collect();
        assert!(
            missing.is_empty(),
            "public routes missing from the OpenAPI document (annotate the handler with \
             #[utoipa::path] and list it in its crate's openapi()): {missing:#?}"
        );
        // Each documented operation says what it does and how it fails.
        for (path, method) in &wanted {
            let operation = &doc["paths"][path][method];
            assert!(
                operation["summary"].is_string(),
                "{method} {path}: no summary"
            );
            assert!(operation["operationId"].is_string(), "{method} {path}");
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                if !status.starts_with('2') {
                    assert_eq!(
                        response["$ref"], "#/components/responses/ErrorEnvelope",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn reads_the_methods_of_a_method_router() {
        use axum::routing::{any, get};
        async fn handler() {}
        let both: axum::routing::MethodRouter<()> = get(handler).delete(handler);
        assert_eq!(
            methods_of(&both),
            Some(vec!["get".to_owned(), "delete".to_owned()])
        );
        let layered = both.layer(axum::extract::DefaultBodyLimit::max(1));
        assert_eq!(methods_of(&layered).map(|m| m.len()), Some(2));
        assert_eq!(methods_of(&any::<_, _, ()>(handler)), None);
    }

    /// Merging keeps the first schema of a name: two services naming
    /// different shapes alike would silently lose one.
    #[test]
    fn services_share_no_schema_name_with_another_shape() {
        let speech = serde_json::to_value(stratus_speech::openapi()).unwrap();
        let language = serde_json::to_value(stratus_language::openapi()).unwrap();
        let gateway = serde_json::to_value(GatewayDoc::openapi()).unwrap();
        let docs = [&speech, &language, &gateway];
        for (i, a) in docs.iter().enumerate() {
            for b in &docs[i + 1..] {
                let (Some(sa), Some(sb)) = (
                    a["components"]["schemas"].as_object(),
                    b["components"]["schemas"].as_object(),
                ) else {
                    continue;
                };
                for (name, schema) in sa {
                    if let Some(other) = sb.get(name) {
                        assert_eq!(schema, other, "schema `{name}` differs between documents");
                    }
                }
            }
        }
    }
}
