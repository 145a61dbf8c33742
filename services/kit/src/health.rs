//! Health: `/healthz` answers 200 while the process serves requests;
//! `/readyz` answers 200 only when every component (model loads, the store,
//! upstreams) is ready, so a load balancer or Kubernetes sends no traffic to
//! a replica that would fail it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::BoxFuture;
use serde::Serialize;

use crate::ApiError;

/// State of one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ComponentState {
    Starting {
        detail: String,
    },
    /// Ready; `detail` says how where it matters to an operator (the CPU
    /// tier the models run at).
    Ready {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    Failed {
        detail: String,
    },
}

impl ComponentState {
    pub fn is_ready(&self) -> bool {
        matches!(self, ComponentState::Ready { .. })
    }
}

type Probe = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Readiness of a process: components set their state as they come up;
/// probes are asked at each `/readyz`.
#[derive(Clone, Default)]
pub struct Readiness {
    components: Arc<RwLock<BTreeMap<String, ComponentState>>>,
    probes: Arc<RwLock<Vec<(String, Probe)>>>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness").finish_non_exhaustive()
    }
}

/// What `/readyz` answers.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessReport {
    pub ready: bool,
    pub components: BTreeMap<String, ComponentState>,
}

impl Readiness {
    /// Set a component's state.
    pub fn set(&self, component: &str, state: ComponentState) {
        // A poisoned lock only means a writer panicked mid-insert of a plain
        // map entry; the map is still usable.
        let mut map = self.components.write().unwrap_or_else(|p| p.into_inner());
        map.insert(component.to_string(), state);
    }

    /// The component is coming up; `detail` says what it is doing.
    pub fn starting(&self, component: &str, detail: impl Into<String>) {
        self.set(
            component,
            ComponentState::Starting {
                detail: detail.into(),
            },
        );
    }

    /// The component is ready.
    pub fn ready(&self, component: &str) {
        self.set(component, ComponentState::Ready { detail: None });
    }

    /// The component is ready, `detail` saying how.
    pub fn ready_as(&self, component: &str, detail: impl Into<String>) {
        self.set(
            component,
            ComponentState::Ready {
                detail: Some(detail.into()),
            },
        );
    }

    /// The component failed and will not become ready by itself.
    pub fn failed(&self, component: &str, detail: impl Into<String>) {
        self.set(
            component,
            ComponentState::Failed {
                detail: detail.into(),
            },
        );
    }

    /// Record how loading `component` ended, and log it (a failed load is
    /// the operator's to fix, so it is an error in the log too).
    pub fn loaded<E: std::fmt::Display>(&self, component: &str, result: Result<(), E>) {
        match result {
            Ok(()) => {
                tracing::info!(component, "loaded");
                self.ready(component);
            }
            Err(e) => {
                tracing::error!(component, error = %e, "failed to load");
                self.failed(component, e.to_string());
            }
        }
    }

    /// A check run at every `/readyz` (e.g. the store answers a query).
    pub fn add_probe<F>(&self, component: &str, probe: F)
    where
        F: Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync + 'static,
    {
        let mut probes = self.probes.write().unwrap_or_else(|p| p.into_inner());
        probes.push((component.to_string(), Arc::new(probe)));
    }

    /// Current state of everything.
    pub async fn report(&self) -> ReadinessReport {
        let mut components = self
            .components
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let probes: Vec<(String, Probe)> = self
            .probes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (name, probe) in probes {
            let state = match probe().await {
                Ok(()) => ComponentState::Ready { detail: None },
                Err(detail) => ComponentState::Failed { detail },
            };
            components.insert(name, state);
        }
        let ready = components.values().all(ComponentState::is_ready);
        ReadinessReport { ready, components }
    }
}

/// `/readyz` while something is not ready: the components and the error
/// envelope side by side.
#[derive(Serialize, utoipa::ToSchema)]
struct NotReadyBody {
    status: &'static str,
    components: BTreeMap<String, ComponentState>,
    #[serde(flatten)]
    envelope: crate::error::ErrorEnvelope,
}

/// Liveness: the process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    operation_id = "healthz",
    security(()),
    responses((status = 200, description = "The process is up.", body = Object,
        example = json!({"status": "ok"})))
)]
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: every model, the store and every upstream are ready.
///
/// Load balancers and Kubernetes send traffic only while this answers 200.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    operation_id = "readyz",
    security(()),
    responses(
        (status = 200, description = "Ready to serve; the state of each component.", body = Object,
            example = json!({"status": "ready", "components": {"whisper-tiny.en": {"status": "ready"}}})),
        (status = 503, description = "Not ready yet (models loading) or a dependency failed.",
            body = NotReadyBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before asking again.")))
    )
)]
pub(crate) async fn readyz(State(readiness): State<Readiness>) -> Response {
    let report = readiness.report().await;
    if report.ready {
        return Json(serde_json::json!({ "status": "ready", "components": report.components }))
            .into_response();
    }
    let waiting: Vec<String> = report
        .components
        .iter()
        .filter(|(_, s)| !s.is_ready())
        .map(|(name, state)| match state {
            ComponentState::Starting { detail } | ComponentState::Failed { detail } => {
                format!("{name}: {detail}")
            }
            ComponentState::Ready { .. } => name.clone(),
        })
        .collect();
    let error = ApiError::unavailable(format!("not ready: {}", waiting.join("; ")), 5);
    let body = NotReadyBody {
        status: "not_ready",
        components: report.components,
        envelope: error.envelope(),
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(axum::http::header::RETRY_AFTER, "5")],
        Json(body),
    )
        .into_response()
}

/// `/healthz` and `/readyz`, to merge into a service's router.
pub fn routes(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(readiness)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get_status(router: &Router, path: &str) -> (StatusCode, serde_json::Value) {
        let response = router
            .clone()
            .oneshot(
                axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn ready_only_when_every_component_and_probe_is() {
        let readiness = Readiness::default();
        readiness.starting("whisper-tiny.en", "loading");
        let router = routes(readiness.clone());
        assert_eq!(get_status(&router, "/healthz").await.0, StatusCode::OK);
        let (status, body) = get_status(&router, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["components"]["whisper-tiny.en"]["status"], "starting");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("whisper-tiny.en")
        );

        readiness.ready("whisper-tiny.en");
        assert_eq!(get_status(&router, "/readyz").await.0, StatusCode::OK);

        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let probe_flag = flag.clone();
        readiness.add_probe("store", move || {
            let ok = probe_flag.load(std::sync::atomic::Ordering::SeqCst);
            Box::pin(async move {
                if ok {
                    Ok(())
                } else {
                    Err("unreachable".into())
                }
            })
        });
        assert_eq!(
            get_status(&router, "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(get_status(&router, "/readyz").await.0, StatusCode::OK);
    }
}
