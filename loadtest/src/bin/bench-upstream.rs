//! A trivial upstream for the gateway overhead benchmark: an
//! OpenAI-compatible `POST /v1/embeddings` that answers a fixed small
//! embedding at once (with Stratus's usage header, as a real service
//! would), plus `/readyz` and `/healthz`. Both Stratus and LiteLLM forward
//! to it, so the difference to calling it directly is the proxy's own cost.

use std::io::Write;
use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18081")]
    listen: SocketAddr,
    /// Tokio worker threads (1 keeps the upstream's share of two cores small).
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

const EMBEDDING: &str = r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0123,-0.0456,0.0789,0.0321,-0.0654,0.0987,0.0111,-0.0222]}],"model":"bench-embed","usage":{"prompt_tokens":2,"total_tokens":2}}"#;

async fn embeddings() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::HeaderName::from_static("x-stratus-usage-input-tokens"),
                "2",
            ),
        ],
        EMBEDDING,
    )
}

async fn models() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"object":"list","data":[{"id":"bench-embed","object":"model","created":0,"owned_by":"bench"}]}"#,
    )
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = Router::new()
            .route("/v1/embeddings", post(embeddings))
            .route("/embeddings", post(embeddings))
            .route("/v1/models", get(models))
            .route("/readyz", get(|| async { "ready" }))
            .route("/healthz", get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        writeln!(
            std::io::stderr(),
            "bench-upstream on http://{}",
            listener.local_addr()?
        )?;
        axum::serve(listener, app).await
    })
}
