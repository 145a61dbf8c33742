//! `POST /v1/embeddings` over real HTTP on the real all-MiniLM-L6-v2
//! weights: the same vectors as `Embedder::embed` called directly, batches
//! equal to singles, base64 equal to floats, `dimensions` re-normalised,
//! every limit and unknown model answered in the OpenAI error shape; a
//! burst of small requests is served, real overload refused with 503.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure should stop with the value it saw"
)]

mod common;

use base64::Engine;
use common::{EMBEDDER, LID, Server, header_number};
use serde_json::{Value, json};
use stratus_language::{LanguageConfig, Limits};
use stratus_models::bert::Embedder;

const SENTENCES: [&str; 6] = [
    "The quick brown fox jumps over the lazy dog.",
    "Stratus runs speech and language models on your own machines.",
    "Ein kurzer deutscher Satz über das Wetter.",
    "短い日本語の文です。",
    "Embeddings map text to vectors; similar meanings land close together.",
    "ok",
];

fn floats(item: &Value) -> Vec<f32> {
    item["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectors_batches_base64_dimensions_and_usage() {
    let server = Server::start(&[EMBEDDER]).await;
    let started = std::time::Instant::now();

    // The batch over HTTP equals Embedder::embed on the same folder.
    let (status, headers, body) = server
        .post(
            "/v1/embeddings",
            &json!({"model": EMBEDDER, "input": SENTENCES}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "list");
    assert_eq!(body["model"], EMBEDDER);
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), SENTENCES.len());
    let dir = common::resolved(EMBEDDER).dir;
    let direct = Embedder::load(&dir, &candle_core::Device::Cpu)
        .unwrap()
        .embed(&SENTENCES)
        .unwrap();
    for (i, item) in data.iter().enumerate() {
        assert_eq!(item["object"], "embedding");
        assert_eq!(item["index"], i);
        let got = floats(item);
        assert_eq!(got.len(), 384);
        // JSON carries f32 exactly (shortest round-trip form).
        assert_eq!(got, direct[i], "input {i}");
    }
    let prompt_tokens = body["usage"]["prompt_tokens"].as_u64().unwrap();
    assert_eq!(body["usage"]["total_tokens"], prompt_tokens);
    assert!(prompt_tokens > 40, "{prompt_tokens}");
    assert_eq!(
        header_number(&headers, "x-stratus-usage-input-tokens"),
        prompt_tokens
    );
    let chars: usize = SENTENCES.iter().map(|s| s.chars().count()).sum();
    assert_eq!(
        header_number(&headers, "x-stratus-usage-characters"),
        chars as u64
    );
    assert_eq!(header_number(&headers, "x-stratus-usage-documents"), 6);

    // Each alone (a bare string) equals its row of the batch to 1e-5.
    let mut single_tokens = 0;
    for (i, sentence) in SENTENCES.iter().enumerate() {
        let (status, _, single) = server
            .post(
                "/v1/embeddings",
                &json!({"model": EMBEDDER, "input": sentence}),
            )
            .await;
        assert_eq!(status, 200, "{single}");
        single_tokens += single["usage"]["prompt_tokens"].as_u64().unwrap();
        let diff = max_diff(&floats(&single["data"][0]), &floats(&data[i]));
        assert!(diff <= 1e-5, "input {i}: batch vs single differ by {diff}");
    }
    assert_eq!(single_tokens, prompt_tokens);

    // base64: little-endian f32 of the same vectors.
    let (status, _, b64) = server
        .post(
            "/v1/embeddings",
            &json!({"model": EMBEDDER, "input": SENTENCES, "encoding_format": "base64"}),
        )
        .await;
    assert_eq!(status, 200, "{b64}");
    for (i, item) in b64["data"].as_array().unwrap().iter().enumerate() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(item["embedding"].as_str().unwrap())
            .unwrap();
        let decoded: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(decoded, direct[i]);
    }

    // dimensions: the first N components, unit length again.
    let (status, _, short) = server
        .post(
            "/v1/embeddings",
            &json!({"model": EMBEDDER, "input": SENTENCES[0], "dimensions": 64}),
        )
        .await;
    assert_eq!(status, 200, "{short}");
    let cut = floats(&short["data"][0]);
    assert_eq!(cut.len(), 64);
    let norm = cut.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    let head_norm = direct[0][..64].iter().map(|x| x * x).sum::<f32>().sqrt();
    for (a, b) in cut.iter().zip(&direct[0][..64]) {
        assert!((a - b / head_norm).abs() < 1e-6);
    }
    eprintln!("embeddings checks took {:?}", started.elapsed());
}

/// The error's status, OpenAI `type`, `param` and `code`.
async fn error_of(server: &Server, body: Value) -> (u16, Value) {
    let (status, _, answer) = server.post("/v1/embeddings", &body).await;
    (status, answer["error"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_errors_in_the_openai_shape() {
    let config = LanguageConfig {
        limits: Limits {
            max_embedding_inputs: 4,
            max_input_chars: 2_000,
            max_total_chars: 3_000,
            ..Limits::default()
        },
        ..LanguageConfig::new(8)
    };
    let server = Server::start_with(&[EMBEDDER, LID], config).await;

    // Unknown model: 404 model_not_found, like OpenAI.
    let (status, error) = error_of(
        &server,
        json!({"model": "text-embedding-3-small", "input": "hi"}),
    )
    .await;
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["code"], "model_not_found");
    assert_eq!(error["param"], "model");
    assert_eq!(error["type"], "not_found_error");
    // A loaded model of another kind is not an embedding model either.
    assert_eq!(
        error_of(&server, json!({"model": LID, "input": "hi"}))
            .await
            .0,
        404
    );

    // Over the model's 256 tokens: 400 naming the input, unless truncating.
    let long = "word ".repeat(300);
    let (status, error) = error_of(
        &server,
        json!({"model": EMBEDDER, "input": ["short", long]}),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("input[1]"),
        "{error}"
    );
    assert_eq!(error["param"], "input");
    let (status, _, truncated) = server
        .post(
            "/v1/embeddings",
            &json!({"model": EMBEDDER, "input": ["short", long], "truncate": true}),
        )
        .await;
    assert_eq!(status, 200, "{truncated}");
    // "short" is 3 tokens with [CLS]/[SEP]; the long one is cut to 256.
    assert_eq!(truncated["usage"]["prompt_tokens"], 3 + 256);

    // Request limits.
    let cases = [
        (
            json!({"model": EMBEDDER, "input": ["a", "b", "c", "d", "e"]}),
            400,
            "at most 4",
        ),
        (
            json!({"model": EMBEDDER, "input": "x".repeat(2_001)}),
            413,
            "input[0]",
        ),
        (
            json!({"model": EMBEDDER, "input": ["x".repeat(1_600), "y".repeat(1_600)]}),
            413,
            "3000",
        ),
        (json!({"model": EMBEDDER, "input": []}), 400, "empty"),
        (
            json!({"model": EMBEDDER, "input": [[101, 2023, 102]]}),
            400,
            "token ids",
        ),
        (
            json!({"model": EMBEDDER, "input": "hi", "dimensions": 385}),
            400,
            "384",
        ),
        (
            json!({"model": EMBEDDER, "input": "hi", "dimensions": 0}),
            400,
            "at least 1",
        ),
        (
            json!({"model": EMBEDDER, "input": "hi", "encoding_format": "int8"}),
            400,
            "encoding_format",
        ),
        (json!({"input": "hi"}), 400, "model"),
    ];
    for (body, want_status, needle) in cases {
        let (status, error) = error_of(&server, body.clone()).await;
        assert_eq!(status, want_status, "{body} → {error}");
        assert!(
            error["message"].as_str().unwrap().contains(needle),
            "{body} → {error}"
        );
    }

    // Not JSON: 415 in the same envelope.
    let response = server
        .client
        .post(format!("{}/v1/embeddings", server.base))
        .body("input=hi")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after() {
    // Work far beyond the budget: each request counts ~2,800 tokens of a
    // 4,096 budget, so one is admitted at a time and the rest are refused
    // at once.
    let mut config = LanguageConfig::new(1);
    config.batching.max_pending_tokens = 4096;
    let server = Server::start_with(&[EMBEDDER], config).await;
    let batch: Vec<String> = (0..64)
        .map(|i| format!("sentence number {i} about queues and load"))
        .collect();
    let body = json!({"model": EMBEDDER, "input": batch});
    let requests = (0..6).map(|_| {
        let (client, base, body) = (server.client.clone(), server.base.clone(), body.clone());
        tokio::spawn(async move {
            client
                .post(format!("{base}/v1/embeddings"))
                .json(&body)
                .send()
                .await
                .unwrap()
        })
    });
    let mut statuses = Vec::new();
    for request in requests.collect::<Vec<_>>() {
        let response = request.await.unwrap();
        let status = response.status().as_u16();
        if status == 503 {
            assert_eq!(response.headers()["retry-after"], "1");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["type"], "service_unavailable");
        }
        statuses.push(status);
    }
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(statuses.contains(&503), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_small_requests_is_served_not_refused() {
    // 300 one-word requests at once from one caller: a few tokens each,
    // far under the work budget (the default), however many there are.
    let server = Server::start(&[EMBEDDER]).await;
    let started = std::time::Instant::now();
    let requests: Vec<_> = (0..300)
        .map(|i| {
            let (client, base) = (server.client.clone(), server.base.clone());
            tokio::spawn(async move {
                let response = client
                    .post(format!("{base}/v1/embeddings"))
                    .json(&json!({"model": EMBEDDER, "input": format!("word{i}")}))
                    .send()
                    .await
                    .unwrap();
                response.status().as_u16()
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::new();
    for request in requests {
        *statuses.entry(request.await.unwrap()).or_insert(0) += 1;
    }
    eprintln!(
        "300 concurrent one-word requests: {statuses:?} in {:?}",
        started.elapsed()
    );
    assert_eq!(statuses.get(&200), Some(&300), "{statuses:?}");
    // All answered: nothing is left counted against the budget.
    let batcher = server.service.embedding_batcher(EMBEDDER).unwrap();
    assert_eq!(batcher.pending_tokens(), 0);
}
