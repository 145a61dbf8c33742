//! A language replica given an internal token (`stratus language
//! --internal-token …`, the way it runs behind a gateway) answers nobody
//! else: every route of the service's route table, with every method, is
//! 401 without the token or with a wrong one; with it, each reaches its
//! handler (the embedder loaded here makes `/v1/embeddings` succeed; the
//! other routes answer their handler's own verdict on a model that is not
//! loaded, never 401). Only `/healthz` and `/readyz` answer without it.
//! The route table is iterated, so a route added later is covered.

mod common;

use std::time::{Duration, Instant};

use common::EMBEDDER;
use serde_json::{Value, json};
use stratus_kit::context::{INTERNAL_TOKEN, InternalToken, TENANT_ID};
use stratus_kit::health::Readiness;
use stratus_language::{LanguageConfig, LanguageService};

const TOKEN: &str = "replica-internal-token-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_with_a_token_serves_only_requests_that_carry_it() {
    let model = tokio::task::spawn_blocking(|| common::resolved(EMBEDDER))
        .await
        .unwrap();
    let service = LanguageService::new(LanguageConfig::new(8), Readiness::default());
    service.load(&model).unwrap();
    let router = service.router_with_context(Some(InternalToken::new(TOKEN).unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .status()
        != 200
    {
        assert!(started.elapsed() < Duration::from_secs(120), "not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body =
        json!({"model": EMBEDDER, "input": "hello", "documents": ["hello"], "text": "hello"});

    let methods = [
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ];
    let routes = LanguageService::public_routes();
    assert!(routes.len() >= 9, "the route table lost routes");
    for (path, _) in &routes {
        for method in &methods {
            for presented in [None, Some("x".repeat(TOKEN.len())), Some(String::new())] {
                let mut request = client
                    .request(method.clone(), format!("{base}{path}"))
                    .header(TENANT_ID, "default")
                    .json(&body);
                if let Some(presented) = &presented {
                    request = request.header(INTERNAL_TOKEN, presented);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let answer: Value = response.json().await.unwrap();
                assert_eq!(status, 401, "{method} {path} with {presented:?}: {answer}");
                assert_eq!(answer["error"]["code"], "internal_token_required");
            }
        }
    }
    assert_eq!(
        client
            .get(format!("{base}/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    for path in ["/healthz", "/readyz"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }

    for (path, _) in &routes {
        let method = if *path == "/v1/models" {
            reqwest::Method::GET
        } else {
            reqwest::Method::POST
        };
        let response = client
            .request(method.clone(), format!("{base}{path}"))
            .header(INTERNAL_TOKEN, TOKEN)
            .header(TENANT_ID, "acme")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_ne!(status, 401, "{method} {path}: {answer}");
        if matches!(*path, "/v1/models" | "/v1/embeddings") {
            assert_eq!(status, 200, "{method} {path}: {answer}");
        }
    }
}
