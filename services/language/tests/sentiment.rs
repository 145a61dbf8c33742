//! `POST /v1/language/sentiment` over real HTTP with the head Stratus
//! trains on VADER's ratings (pulled, i.e. trained, once per test cache):
//! clear positives and negatives, a mixed review, per-sentence results with
//! char offsets that slice back, usage, per-document errors, `sentences:
//! false`, and a missing model.

mod common;

use common::{SENTIMENT, Server, header_number};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_and_sentences() {
    let server = Server::start(&[SENTIMENT]).await;
    let mixed = "The food at this place was absolutely wonderful and the staff were lovely. \
                 But the wait was terrible, the room was filthy and I will never go back.";
    let input = json!([
        {"id": "good", "text": "I love this phone, it is fantastic and works perfectly!"},
        {"id": "bad", "text": "This was the worst purchase I have ever made. Awful."},
        {"id": "mixed", "text": mixed},
        {"id": "empty", "text": " "},
    ]);
    let (status, headers, body) = server
        .post("/v1/language/sentiment", &json!({"input": input}))
        .await;
    assert_eq!(status, 200, "{body}");
    eprintln!("{body:#}");
    assert_eq!(body["model"], SENTIMENT);
    let data = body["data"].as_array().unwrap();
    assert_eq!(data[0]["sentiment"], "positive");
    assert_eq!(data[1]["sentiment"], "negative");
    assert_eq!(data[2]["sentiment"], "mixed");
    assert_eq!(data[3]["error"]["code"], "empty_document");
    for doc in &data[..3] {
        let scores = &doc["scores"];
        let sum: f64 = ["positive", "neutral", "negative"]
            .iter()
            .map(|k| scores[k].as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-4, "{scores}");
    }
    let sentences = data[2]["sentences"].as_array().unwrap();
    assert_eq!(sentences.len(), 2);
    assert_eq!(sentences[0]["sentiment"], "positive");
    assert_eq!(sentences[1]["sentiment"], "negative");
    let chars: Vec<char> = mixed.chars().collect();
    for s in sentences {
        let (start, end) = (
            s["start"].as_u64().unwrap() as usize,
            s["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(chars[start..end].iter().collect::<String>(), s["text"]);
    }
    assert_eq!(body["usage"]["documents"], 3);
    assert_eq!(header_number(&headers, "x-stratus-usage-documents"), 3);

    let (status, _, body) = server
        .post(
            "/v1/language/sentiment",
            &json!({"input": "What a lovely day.", "sentences": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["sentiment"], "positive");
    assert!(body["data"][0].get("sentences").is_none());

    let (status, _, body) = server
        .post(
            "/v1/language/sentiment",
            &json!({"input": "fine", "model": "nope"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "model_not_found");
}
