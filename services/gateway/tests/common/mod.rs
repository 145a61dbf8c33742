//! A real gateway on 127.0.0.1:0 over a real store, with in-process
//! upstreams that answer with the tenant context they were given, and a
//! fresh PostgreSQL database per test.
#![allow(dead_code)]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a failing test stops with the value it saw"
)]

use axum::Json;
use axum::Router;
use axum::extract::Request;
use axum::routing::get;
use stratus_gateway::auth::ServerSecret;
use stratus_gateway::{Auth, GatewayState, Store, Upstream, Upstreams};
use stratus_kit::context::{InternalToken, TenantContext};
use stratus_kit::health::Readiness;

pub fn secret() -> ServerSecret {
    ServerSecret::new("test-secret-test-secret-test-secret").unwrap()
}

/// An upstream that answers `/v1/models` with an empty list and anything
/// else with the context it believed and the context headers it still saw.
fn echo_upstream(token: InternalToken) -> Router {
    Router::new()
        .route(
            "/v1/models",
            get(|| async { Json(serde_json::json!({"object": "list", "data": []})) }),
        )
        .fallback(|request: Request| async move {
            let context = request.extensions().get::<TenantContext>().cloned();
            let leaked: Vec<String> = request
                .headers()
                .keys()
                .map(|k| k.as_str().to_string())
                .filter(|k| k.starts_with("x-stratus-"))
                .collect();
            Json(serde_json::json!({
                "tenant_id": context.as_ref().map(|c| c.tenant_id.clone()),
                "key_id": context.as_ref().and_then(|c| c.key_id.clone()),
                "user_id": context.as_ref().and_then(|c| c.user_id.clone()),
                "headers_left": leaked,
            }))
        })
        .layer(axum::middleware::from_fn_with_state(
            Some(token),
            stratus_kit::context::accept,
        ))
}

/// A gateway listening on port 0.
pub struct Gateway {
    pub base: String,
    pub auth: Auth,
    pub client: reqwest::Client,
    /// The bootstrap admin key.
    pub admin_key: String,
    _home: tempfile::TempDir,
}

impl Gateway {
    pub async fn start(store_url: &str) -> Gateway {
        Gateway::start_with(store_url, false).await
    }

    /// A gateway with billing on (the built-in price catalog), as
    /// `--price-catalog` left out does.
    pub async fn with_billing(store_url: &str) -> Gateway {
        Gateway::start_with(store_url, true).await
    }

    /// A gateway on SQLite whose identity layer runs with `config` (sign-in
    /// throttling, trusted proxies, the key cap).
    pub async fn sqlite_with_auth(config: stratus_gateway::auth::AuthConfig) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/stratus.db", dir.path().display());
        let gateway = Gateway::start_full(&url, false, config).await;
        std::mem::forget(dir);
        gateway
    }

    /// [`Gateway::sqlite_with_auth`] on `store_url`.
    pub async fn start_with_auth(
        store_url: &str,
        config: stratus_gateway::auth::AuthConfig,
    ) -> Gateway {
        Gateway::start_full(store_url, false, config).await
    }

    async fn start_with(store_url: &str, billing: bool) -> Gateway {
        Gateway::start_full(store_url, billing, Default::default()).await
    }

    async fn start_full(
        store_url: &str,
        billing: bool,
        config: stratus_gateway::auth::AuthConfig,
    ) -> Gateway {
        let store = Store::open(store_url).await.unwrap();
        let auth = Auth::with_config(store.clone(), &secret(), config);
        let home = tempfile::tempdir().unwrap();
        let path = stratus_gateway::tenants::bootstrap_admin(&auth, home.path())
            .await
            .unwrap()
            .expect("a fresh store bootstraps an admin key");
        let admin_key = std::fs::read_to_string(path).unwrap().trim().to_string();
        let token = InternalToken::generate().unwrap();
        let upstream = |service| Upstream::InProcess {
            service,
            router: echo_upstream(token.clone()),
        };
        let store_for_limits = store.clone();
        let billing = billing.then(|| {
            stratus_gateway::billing::Billing::start(
                store.clone(),
                stratus_gateway::billing::BillingConfig::new(
                    stratus_gateway::billing::Catalog::builtin(),
                ),
            )
        });
        let state = GatewayState {
            upstreams: Upstreams {
                speech: Some(upstream("speech")),
                language: Some(upstream("language")),
            }
            .into(),
            store,
            auth: auth.clone(),
            internal_token: token.clone(),
            metering: None,
            billing,
            edge: stratus_gateway::EdgeConfig::default(),
            // On, with no limits set: every request goes through the check.
            limits: stratus_gateway::limits::Limits::new(
                store_for_limits,
                stratus_gateway::limits::LimitsConfig::default(),
            )
            .await
            .unwrap(),
        };
        let app = stratus_gateway::router(state, Readiness::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // With peer addresses, as `stratus serve` runs it (sign-in
        // throttling counts per client address).
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        Gateway {
            base,
            auth,
            client: reqwest::Client::new(),
            admin_key,
            _home: home,
        }
    }

    pub async fn sqlite() -> Gateway {
        Gateway::sqlite_with(false).await
    }

    /// [`Gateway::with_billing`] on SQLite.
    pub async fn sqlite_with_billing() -> Gateway {
        Gateway::sqlite_with(true).await
    }

    async fn sqlite_with(billing: bool) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/stratus.db", dir.path().display());
        // The store keeps the file open; the folder may go once it is open.
        let gateway = Gateway::start_with(&url, billing).await;
        std::mem::forget(dir);
        gateway
    }

    /// `method path` with `bearer` (if any) and a JSON body (if any):
    /// status and JSON body (Null when not JSON).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }
}
