//! `POST /v1/language/{key-phrases,classify,summarize}` over real HTTP with
//! the real all-MiniLM-L6-v2: key phrases of a topical paragraph, zero-shot
//! accuracy on varied documents (measured and printed), independent
//! multi-label scores, extractive summaries that skip an off-topic sentence
//! with offsets that slice back, usage, validation and per-document errors.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure should stop with the value it saw"
)]

mod common;

use common::{EMBEDDER, Server, header_number};
use serde_json::{Value, json};
use stratus_language::analysis::phrases::is_stopword;
use stratus_language::{LanguageConfig, Limits};

const PHOTOSYNTHESIS: &str = "Photosynthesis is the process by which green plants use \
sunlight to make their own food. In the chloroplasts, chlorophyll absorbs sunlight and \
converts light energy into chemical energy. Plants take in carbon dioxide from the air and \
water from the soil, and photosynthesis turns them into glucose and oxygen. The oxygen \
released by photosynthesis is what most living things breathe.";

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_phrases_of_a_topical_paragraph() {
    let server = Server::start(&[EMBEDDER]).await;
    let input = json!([
        {"id": "photo", "text": PHOTOSYNTHESIS},
        {"id": "blank", "text": "  "},
    ]);
    let started = std::time::Instant::now();
    let (status, headers, body) = server
        .post("/v1/language/key-phrases", &json!({"input": input}))
        .await;
    eprintln!("key phrases of one paragraph: {:?}", started.elapsed());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], EMBEDDER);
    let phrases = body["data"][0]["key_phrases"].as_array().unwrap();
    let texts: Vec<String> = phrases
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_lowercase())
        .collect();
    eprintln!("key phrases: {phrases:?}");
    assert_eq!(texts.len(), 5);
    assert!(
        texts.iter().any(|t| t.contains("photosynthesis")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("sunlight") || t.contains("chlorophyll") || t.contains("light")),
        "{texts:?}"
    );
    let scores: Vec<f64> = phrases
        .iter()
        .map(|p| p["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    for text in &texts {
        let words: Vec<&str> = text.split(' ').collect();
        assert!(words.len() <= 3);
        assert!(
            !is_stopword(words[0]) && !is_stopword(words[words.len() - 1]),
            "stopword-edged phrase `{text}`"
        );
        assert!(!text.contains([',', '.']), "{text}");
    }
    assert_eq!(body["data"][1]["error"]["code"], "empty_document");
    let chars = PHOTOSYNTHESIS.chars().count() as u64;
    assert_eq!(body["usage"]["documents"], 1);
    assert_eq!(body["usage"]["characters"], chars);
    assert_eq!(header_number(&headers, "x-stratus-usage-characters"), chars);
    assert_eq!(header_number(&headers, "x-stratus-usage-documents"), 1);

    // No diversity: the most relevant phrases; top_k bounds the count.
    let started = std::time::Instant::now();
    let (status, _, ranked) = server
        .post(
            "/v1/language/key-phrases",
            &json!({"input": PHOTOSYNTHESIS, "top_k": 8, "diversity": 0.0}),
        )
        .await;
    eprintln!("again, warm: {:?}", started.elapsed());
    assert_eq!(status, 200, "{ranked}");
    assert_eq!(
        ranked["data"][0]["key_phrases"].as_array().unwrap().len(),
        8
    );

    for (request, param) in [
        (json!({"input": "x", "top_k": 21}), "top_k"),
        (json!({"input": "x", "diversity": 1.5}), "diversity"),
    ] {
        let (status, _, answer) = server.post("/v1/language/key-phrases", &request).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["param"], param);
    }
}

/// (expected label, document): three varied documents per label.
const LABELLED: [(&str, &str); 12] = [
    (
        "sports",
        "The striker scored twice in the second half as the home side came from behind \
         to win the league match 3-2 in front of a sold-out stadium.",
    ),
    (
        "sports",
        "She set a new personal best in the 400 metres and qualified for the Olympic final.",
    ),
    (
        "sports",
        "The coach said the team's defence must improve before next week's championship game.",
    ),
    (
        "politics",
        "Parliament voted on the new budget late last night after the opposition \
         demanded changes to the tax plan.",
    ),
    (
        "politics",
        "The senator announced she will run for president, promising election reform \
         and lower healthcare costs.",
    ),
    (
        "politics",
        "Ministers from both parties met to negotiate a coalition government after the vote.",
    ),
    (
        "cooking",
        "Whisk the eggs with sugar, fold in the flour and bake the cake for thirty \
         minutes at 180 degrees.",
    ),
    (
        "cooking",
        "Fry the onions and garlic in olive oil, then add the tomatoes and simmer the \
         sauce until it thickens.",
    ),
    (
        "cooking",
        "This recipe for roast chicken uses lemon, thyme and plenty of butter under the skin.",
    ),
    (
        "technology",
        "The new smartphone ships with a faster processor, more memory and a camera that \
         uses machine learning.",
    ),
    (
        "technology",
        "Engineers released a software update that fixes a security bug in the operating system.",
    ),
    (
        "technology",
        "The startup builds cloud servers and chips designed to train artificial intelligence models.",
    ),
];

/// A document about sports and politics at once.
const MIXED: &str = "The football club's owner met the prime minister to lobby the \
government for public money for a new stadium.";

const LABELS: [&str; 4] = ["sports", "politics", "cooking", "technology"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_shot_classification() {
    let server = Server::start(&[EMBEDDER]).await;
    let input: Vec<Value> = LABELLED
        .iter()
        .enumerate()
        .map(|(i, (_, text))| json!({"id": format!("d{i}"), "text": text}))
        .collect();
    let (status, headers, body) = server
        .post(
            "/v1/language/classify",
            &json!({"input": input, "labels": LABELS}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["multi_label"], false);
    let mut correct = 0;
    for ((want, text), got) in LABELLED.iter().zip(body["data"].as_array().unwrap()) {
        let labels = got["labels"].as_array().unwrap();
        assert_eq!(labels.len(), 4);
        let sum: f64 = labels.iter().map(|l| l["score"].as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-4, "softmax scores sum to {sum}");
        let top = labels[0]["name"].as_str().unwrap();
        let cosines: Vec<String> = labels
            .iter()
            .map(|l| format!("{} {:.3}", l["name"], l["similarity"].as_f64().unwrap()))
            .collect();
        eprintln!(
            "{want} → {top} ({:.3}; cos {}): {text}",
            labels[0]["score"].as_f64().unwrap(),
            cosines.join(", ")
        );
        if top == *want {
            correct += 1;
        }
    }
    let accuracy = f64::from(correct) / LABELLED.len() as f64;
    eprintln!(
        "zero-shot accuracy: {correct}/{} = {accuracy:.3}",
        LABELLED.len()
    );
    assert!(accuracy >= 0.9, "zero-shot accuracy {accuracy}");
    assert_eq!(header_number(&headers, "x-stratus-usage-documents"), 12);

    // Multi-label: independent scores; a football-and-politics document
    // scores high on both, low on cooking.
    let (status, _, multi) = server
        .post(
            "/v1/language/classify",
            &json!({
                "input": MIXED,
                "labels": [
                    "sports",
                    "politics",
                    {"name": "cooking", "description": "cooking, recipes and food"},
                    "technology"
                ],
                "multi_label": true,
            }),
        )
        .await;
    assert_eq!(status, 200, "{multi}");
    let labels = multi["data"][0]["labels"].as_array().unwrap();
    let score = |name: &str| {
        labels.iter().find(|l| l["name"] == name).unwrap()["score"]
            .as_f64()
            .unwrap()
    };
    eprintln!("multi-label: {labels:?}");
    let sum: f64 = LABELS.iter().map(|l| score(l)).sum();
    assert!(
        (sum - 1.0).abs() > 1e-3,
        "multi-label scores sum to 1: {sum}"
    );
    assert!(
        score("sports") > 0.5 && score("politics") > 0.5,
        "{labels:?}"
    );
    assert!(score("cooking") < 0.5, "{labels:?}");
    // Independent: a label's score does not depend on the other labels.
    let (status, _, fewer) = server
        .post(
            "/v1/language/classify",
            &json!({
                "input": MIXED,
                "labels": ["technology", "sports"],
                "multi_label": true,
            }),
        )
        .await;
    assert_eq!(status, 200, "{fewer}");
    let alone = fewer["data"][0]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "sports")
        .unwrap()["score"]
        .as_f64()
        .unwrap();
    assert!(
        (alone - score("sports")).abs() < 1e-5,
        "{alone} vs {}",
        score("sports")
    );

    for (labels, needle) in [
        (json!(["sports"]), "between 2 and 50"),
        (json!(["sports", "Sports"]), "twice"),
        (json!(["sports", ""]), "empty"),
        (json!(vec!["a"; 51]), "between 2 and 50"),
    ] {
        let (status, _, answer) = server
            .post(
                "/v1/language/classify",
                &json!({"input": "text", "labels": labels}),
            )
            .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["param"], "labels");
        assert!(error_message(&answer).contains(needle), "{answer}");
    }
}

/// Five sentences about bees and one that is not.
const BEES: [&str; 6] = [
    "Honey bees live in colonies ruled by a single queen.",
    "Worker bees collect nectar and pollen from flowers to feed the hive.",
    "Dr. Smith's survey found that bee colonies lost 30.5 percent of their workers last winter.",
    "The stock market closed higher on Friday after strong bank earnings.",
    "Inside the hive, bees turn nectar into honey and store it in wax combs.",
    "Beekeepers worry that pesticides are harming honey bee populations.",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extractive_summaries() {
    let server = Server::start(&[EMBEDDER]).await;
    // A multi-byte prefix, so char and byte offsets differ.
    let text = format!("Über bees: {}", BEES.join(" "));
    let (status, headers, body) = server
        .post(
            "/v1/language/summarize",
            &json!({"input": [text.clone(), ""], "max_sentences": 3}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let summary = &body["data"][0];
    let sentences = summary["sentences"].as_array().unwrap();
    eprintln!("summary: {}", summary["summary"]);
    assert_eq!(sentences.len(), 3);
    let chars: Vec<char> = text.chars().collect();
    let mut previous_end = 0;
    let mut joined = Vec::new();
    for sentence in sentences {
        let (start, end) = (
            sentence["start"].as_u64().unwrap() as usize,
            sentence["end"].as_u64().unwrap() as usize,
        );
        let slice: String = chars[start..end].iter().collect();
        assert_eq!(slice, sentence["text"].as_str().unwrap());
        assert!(start >= previous_end, "sentences in document order");
        previous_end = end;
        assert!(!slice.contains("stock market"), "off-topic sentence picked");
        joined.push(slice);
    }
    assert_eq!(summary["summary"], joined.join(" "));
    // The abbreviation and the decimal did not split the third sentence.
    assert!(
        sentences
            .iter()
            .all(|s| !s["text"].as_str().unwrap().starts_with("Smith")),
        "{sentences:?}"
    );
    assert_eq!(body["data"][1]["error"]["code"], "empty_document");
    assert_eq!(
        header_number(&headers, "x-stratus-usage-characters"),
        chars.len() as u64
    );

    // The off-topic sentence is never picked, whatever the length; ratio
    // 0.5 of 6 sentences is 3.
    for length in 1..=5 {
        let (_, _, answer) = server
            .post(
                "/v1/language/summarize",
                &json!({"input": BEES.join(" "), "max_sentences": length}),
            )
            .await;
        let picked = answer["data"][0]["sentences"].as_array().unwrap();
        assert_eq!(picked.len(), length);
        assert!(
            !answer["data"][0]["summary"]
                .as_str()
                .unwrap()
                .contains("stock")
        );
    }
    let (_, _, half) = server
        .post(
            "/v1/language/summarize",
            &json!({"input": BEES.join(" "), "ratio": 0.5}),
        )
        .await;
    assert_eq!(half["data"][0]["sentences"].as_array().unwrap().len(), 3);

    for (request, param, needle) in [
        (
            json!({"input": "x", "mode": "abstractive"}),
            "mode",
            "smollm2",
        ),
        (
            json!({"input": "x", "max_sentences": 0}),
            "max_sentences",
            "between",
        ),
        (json!({"input": "x", "ratio": 1.5}), "ratio", "at most 1"),
        (
            json!({"input": "x", "ratio": 0.5, "max_sentences": 2}),
            "ratio",
            "not both",
        ),
    ] {
        let (status, _, answer) = server.post("/v1/language/summarize", &request).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["param"], param);
        assert!(error_message(&answer).contains(needle), "{answer}");
    }
    let (status, _, answer) = server
        .post("/v1/language/summarize", &json!({"input": vec!["a"; 26]}))
        .await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_documents_and_a_full_queue() {
    // One request runs, one waits, the rest are refused at once; documents
    // over 2,000 bytes fail alone.
    let config = LanguageConfig {
        limits: Limits {
            max_document_bytes: 2_000,
            ..Limits::default()
        },
        ..LanguageConfig::new(1)
    };
    let server = Server::start_with(&[EMBEDDER], config).await;
    let long = PHOTOSYNTHESIS.repeat(6);
    for path in ["key-phrases", "summarize"] {
        let (status, _, body) = server
            .post(
                &format!("/v1/language/{path}"),
                &json!({"input": [long.clone(), PHOTOSYNTHESIS]}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"][0]["error"]["code"], "document_too_large");
        assert_eq!(body["data"][1]["id"], "1");
        assert_eq!(body["usage"]["documents"], 1);
    }

    // Enough work per request that nine at once overrun a queue of one,
    // on every endpoint.
    let documents = vec![PHOTOSYNTHESIS; 4];
    let bodies = [
        ("key-phrases", json!({"input": documents})),
        (
            "classify",
            json!({"input": documents, "labels": ["biology", "finance"]}),
        ),
        ("summarize", json!({"input": documents})),
    ];
    let requests = (0..9).map(|i| {
        let (path, body) = bodies[i % 3].clone();
        let (client, base) = (server.client.clone(), server.base.clone());
        tokio::spawn(async move {
            client
                .post(format!("{base}/v1/language/{path}"))
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
        }
        statuses.push(status);
    }
    eprintln!("statuses: {statuses:?}");
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(statuses.contains(&503), "{statuses:?}");
}

const VOLCANO: &str = "Mount Etna, on the east coast of Sicily, erupted on Sunday night, \
sending a column of ash several kilometres into the sky. The airport of Catania closed for \
twelve hours and dozens of flights were cancelled. No one was hurt, and lava flows stayed \
far from the villages on the slopes. Etna is one of the most active volcanoes in the world \
and erupts several times a year.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abstractive_summaries() {
    let server = Server::start(&[common::GENERATOR]).await;
    let started = std::time::Instant::now();
    let long = "The lake was calm. ".repeat(700);
    let input = json!([
        {"id": "etna", "text": VOLCANO},
        {"id": "blank", "text": " "},
        {"id": "long", "text": long},
    ]);
    let request = json!({"input": input, "mode": "abstractive", "max_tokens": 60});
    let (status, headers, body) = server.post("/v1/language/summarize", &request).await;
    eprintln!("abstractive summary in {:?}: {body}", started.elapsed());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], common::GENERATOR);
    let etna = &body["data"][0];
    assert_eq!(etna["id"], "etna");
    let summary = etna["summary"].as_str().unwrap();
    assert!(
        !summary.is_empty() && summary.len() < VOLCANO.len(),
        "{summary}"
    );
    // A summary of this text names what it is about.
    assert!(
        summary.contains("Etna") || summary.to_lowercase().contains("volcano"),
        "{summary}"
    );
    assert!(etna["sentences"].as_array().unwrap().is_empty());
    let finish = etna["finish_reason"].as_str().unwrap();
    assert!(finish == "stop" || finish == "length", "{finish}");
    // Per-document errors, the others unharmed.
    assert_eq!(body["data"][1]["error"]["code"], "empty_document");
    assert_eq!(body["data"][2]["error"]["code"], "document_too_long");
    assert!(
        error_message(&body["data"][2]).contains("2048"),
        "{}",
        body["data"][2]
    );
    // Usage: the one summarized document, its characters and prompt tokens.
    assert_eq!(body["usage"]["documents"], 1);
    assert_eq!(body["usage"]["characters"], VOLCANO.chars().count() as u64);
    let tokens = header_number(&headers, "x-stratus-usage-input-tokens");
    assert!((80..400).contains(&tokens), "{tokens}");

    // Greedy decoding: the same document gets the same summary; a budget of
    // 3 tokens ends for length.
    let (_, _, again) = server
        .post(
            "/v1/language/summarize",
            &json!({"input": VOLCANO, "mode": "abstractive", "max_tokens": 60}),
        )
        .await;
    assert_eq!(again["data"][0]["summary"], etna["summary"]);
    let (_, _, short) = server
        .post(
            "/v1/language/summarize",
            &json!({"input": VOLCANO, "mode": "abstractive", "max_tokens": 3}),
        )
        .await;
    assert_eq!(short["data"][0]["finish_reason"], "length", "{short}");

    for (request, param, needle) in [
        (
            json!({"input": "x", "mode": "abstractive", "max_tokens": 0}),
            "max_tokens",
            "between 1 and 512",
        ),
        (
            json!({"input": "x", "mode": "abstractive", "max_tokens": 513}),
            "max_tokens",
            "between 1 and 512",
        ),
        (
            json!({"input": "x", "mode": "abstractive", "max_sentences": 2}),
            "max_sentences",
            "extractive",
        ),
        (
            json!({"input": vec!["a"; 9], "mode": "abstractive"}),
            "input",
            "at most 8",
        ),
        (
            json!({"input": "x", "max_tokens": 20}),
            "max_tokens",
            "abstractive",
        ),
    ] {
        let (status, _, answer) = server.post("/v1/language/summarize", &request).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["param"], param, "{answer}");
        assert!(error_message(&answer).contains(needle), "{answer}");
    }
    // A model that is not a loaded generator is a 404.
    let (status, _, answer) = server
        .post(
            "/v1/language/summarize",
            &json!({"input": "x", "mode": "abstractive", "model": "all-minilm-l6-v2"}),
        )
        .await;
    assert_eq!(status, 404, "{answer}");
}
