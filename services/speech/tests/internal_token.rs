//! A speech replica given an internal token (`stratus speech
//! --internal-token …`, the way it runs behind a gateway) answers nobody
//! else: every route of the service's route table, with every method, is
//! 401 without the token or with a wrong one, and does its work with it;
//! only `/healthz` and `/readyz` answer without it. The table is iterated,
//! so a route added later is covered without editing this test (and the
//! test fails until that route has a request that succeeds below).
#![expect(
    clippy::unwrap_used,
    reason = "a failing test stops with the value it saw"
)]

mod common;

use common::{CLIP, form, loaded_service};
use serde_json::Value;
use stratus_kit::context::{INTERNAL_TOKEN, InternalToken, TENANT_ID};
use stratus_speech::SpeechService;
use stratus_speech::jobs::{JobConfig, JobStore, Jobs};

const TOKEN: &str = "replica-internal-token-0123456789abcdef";

fn clip() -> Vec<u8> {
    std::fs::read(common::testdata_file(CLIP)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_with_a_token_serves_only_requests_that_carry_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/stratus.db", dir.path().display());
    let config = JobConfig {
        webhook_secret: Some(stratus_speech::jobs::webhook::WebhookSecret::new(
            "internal-token-test-webhook-key",
        )),
        ..JobConfig::default()
    };
    let jobs = Jobs::new(JobStore::open(&url).await.unwrap(), config).unwrap();
    let service = loaded_service(Default::default()).await.with_jobs(jobs);
    let token = InternalToken::new(TOKEN).unwrap();
    let router = service.router_with_context(Some(token));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = reqwest::Client::new();

    let methods = [
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ];
    let routes = SpeechService::public_routes();
    assert!(routes.len() >= 5, "the route table lost routes");
    for (path, _) in &routes {
        let path = path.replace("{id}", "job_0192f7c1a2b34c5d8e9f0a1b2c3d4e5f");
        for method in &methods {
            for presented in [None, Some("x".repeat(TOKEN.len())), Some(String::new())] {
                let mut request = client
                    .request(method.clone(), format!("{base}{path}"))
                    // A forged tenant changes nothing without the token.
                    .header(TENANT_ID, "default");
                if let Some(presented) = &presented {
                    request = request.header(INTERNAL_TOKEN, presented);
                }
                // No upload: the refusal comes before the body is read, and
                // the server may close while a large one is still on its way.
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                assert_eq!(status, 401, "{method} {path} with {presented:?}: {body}");
                assert_eq!(body["error"]["code"], "internal_token_required", "{body}");
            }
        }
    }
    // Unknown paths too: a prober learns nothing.
    let response = client.get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    // Health answers without it (load balancers, probes).
    for path in ["/healthz", "/readyz"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }

    // With the token, each route does its work.
    let with_token = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{base}{path}"))
            .header(INTERNAL_TOKEN, TOKEN)
            .header(TENANT_ID, "acme")
    };
    let mut job_id: Option<String> = None;
    let mut served = Vec::new();
    for (path, _) in &routes {
        let checks: Vec<(reqwest::Method, u16)> = match *path {
            "/v1/models" => vec![(reqwest::Method::GET, 200)],
            "/v1/audio/transcriptions" => vec![(reqwest::Method::POST, 200)],
            // tiny.en is English-only: the handler's own refusal.
            "/v1/audio/translations" => vec![(reqwest::Method::POST, 400)],
            "/v1/audio/jobs" => vec![(reqwest::Method::POST, 202), (reqwest::Method::GET, 200)],
            "/v1/audio/jobs/{id}" => {
                vec![(reqwest::Method::GET, 200), (reqwest::Method::DELETE, 200)]
            }
            "/v1/audio/webhook-secret" => vec![(reqwest::Method::GET, 200)],
            "/v1/audio/webhook-secret/rotate" => vec![(reqwest::Method::POST, 200)],
            other => panic!("route {other} has no request here: add one that succeeds"),
        };
        for (method, expected) in checks {
            let concrete = match &job_id {
                Some(id) => path.replace("{id}", id),
                None => path.to_string(),
            };
            let request = with_token(method.clone(), &concrete);
            // Audio routes take the clip; the rotation an empty body.
            let request = if method == reqwest::Method::POST && !path.contains("webhook-secret") {
                request.multipart(form(clip(), "clip.wav", &[("model", "whisper-1")]))
            } else {
                request
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            assert_eq!(status, expected, "{method} {concrete}: {body}");
            if *path == "/v1/audio/jobs" && method == reqwest::Method::POST {
                job_id = Some(body["id"].as_str().unwrap().to_owned());
            }
            served.push(format!("{method} {path}"));
        }
    }
    assert!(job_id.is_some(), "no job was created: {served:?}");
}
