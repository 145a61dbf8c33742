//! `POST /v1/language/detect` over real HTTP with the real lid.176: real
//! sentences in seven languages, per-document errors that leave the other
//! documents alone, `top_k`, usage in body and headers.

mod common;

use common::{LID, Server, header_number};
use serde_json::json;

/// (expected code, sentence): two real sentences per language.
const SENTENCES: [(&str, &str); 14] = [
    (
        "en",
        "The weather was lovely, so we walked along the river until sunset.",
    ),
    (
        "en",
        "Please send me the quarterly report before the meeting on Thursday.",
    ),
    (
        "fr",
        "Nous avons passé l'après-midi à discuter du projet avec nos collègues.",
    ),
    (
        "fr",
        "Le train pour Lyon part à huit heures depuis la gare de Lyon.",
    ),
    (
        "de",
        "Wir haben gestern Abend im Garten gegrillt und lange geredet.",
    ),
    (
        "de",
        "Bitte schicken Sie mir die Unterlagen bis Ende der Woche.",
    ),
    ("es", "Mañana vamos a visitar a mis abuelos en el pueblo."),
    (
        "es",
        "El informe debe entregarse antes del viernes por la tarde.",
    ),
    (
        "ru",
        "Вчера мы долго гуляли по парку и разговаривали о жизни.",
    ),
    ("ru", "Пожалуйста, отправьте мне документы до конца недели."),
    ("zh", "我们昨天晚上在公园里散步，聊了很多关于工作的事情。"),
    ("zh", "请在本周末之前把报告发给我。"),
    (
        "ja",
        "昨日は友達と一緒に新しいレストランで晩ご飯を食べました。",
    ),
    ("ja", "会議の前に報告書を送ってください。"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detects_seven_languages_with_per_document_errors() {
    let server = Server::start(&[LID]).await;
    let mut input: Vec<serde_json::Value> = SENTENCES
        .iter()
        .enumerate()
        .map(|(i, (_, text))| json!({"id": format!("doc-{i}"), "text": text}))
        .collect();
    // An empty document in the middle fails alone.
    input.insert(3, json!({"id": "empty", "text": "   "}));
    let (status, headers, body) = server
        .post("/v1/language/detect", &json!({"input": input, "top_k": 2}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], LID);
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), SENTENCES.len() + 1);
    assert_eq!(data[3]["id"], "empty");
    assert_eq!(data[3]["error"]["code"], "empty_document");

    let results: Vec<_> = data.iter().filter(|d| d.get("error").is_none()).collect();
    let mut correct = 0;
    for ((want, text), got) in SENTENCES.iter().zip(&results) {
        let language = got["language"].as_str().unwrap();
        let confidence = got["confidence"].as_f64().unwrap();
        eprintln!("{want} → {language} ({confidence:.3}): {text}");
        assert!(
            (0.0..=1.0).contains(&confidence),
            "confidence {confidence} is not a probability"
        );
        let alternatives = got["alternatives"].as_array().unwrap();
        assert_eq!(alternatives.len(), 2);
        assert_eq!(alternatives[0]["language"], language);
        assert!(alternatives[1]["confidence"].as_f64().unwrap() <= confidence);
        if language == *want {
            correct += 1;
        }
    }
    eprintln!("LID accuracy: {correct}/{}", SENTENCES.len());
    assert_eq!(correct, SENTENCES.len());

    let chars: usize = SENTENCES.iter().map(|(_, t)| t.chars().count()).sum();
    assert_eq!(body["usage"]["documents"], SENTENCES.len());
    assert_eq!(body["usage"]["characters"], chars);
    assert_eq!(
        header_number(&headers, "x-stratus-usage-documents"),
        SENTENCES.len() as u64
    );
    assert_eq!(
        header_number(&headers, "x-stratus-usage-characters"),
        chars as u64
    );

    // A bare string is one document with id "0"; default top_k is 3.
    let (status, _, one) = server
        .post(
            "/v1/language/detect",
            &json!({"input": "Bonjour tout le monde, comment allez-vous ?"}),
        )
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["data"][0]["id"], "0");
    assert_eq!(one["data"][0]["language"], "fr");
    assert_eq!(one["data"][0]["alternatives"].as_array().unwrap().len(), 3);

    // Request-level errors.
    let too_many: Vec<&str> = vec!["hello"; 26];
    for (body, want, needle) in [
        (json!({"input": too_many}), 400, "at most 25"),
        (json!({"input": "hi", "top_k": 0}), 400, "top_k"),
        (json!({"input": ["a", "b"], "model": "nope"}), 404, "nope"),
        (
            json!({"input": [{"id": "x", "text": "a"}, {"id": "x", "text": "b"}]}),
            400,
            "twice",
        ),
    ] {
        let (status, _, answer) = server.post("/v1/language/detect", &body).await;
        assert_eq!(status, want, "{body} → {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{answer}"
        );
    }
}
