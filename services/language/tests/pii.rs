//! `POST /v1/language/pii` and `/entities` over real HTTP with the real
//! Rampart tagger merged with the recognizers: recall and precision on a
//! labelled synthetic set (every recognizer type), checksum negatives,
//! redaction modes, type filters, per-document errors, char offsets.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure should stop with the value it saw"
)]

mod common;

use std::collections::BTreeMap;

use common::{Server, TAGGER, header_number};
use serde_json::{Value, json};
use stratus_language::pii::RULE_TYPES;
use stratus_language::{LanguageConfig, Limits, RedactionKey};

/// Sentences with their spans marked `{TYPE|value}`. Every value of a
/// recognizer type in a sentence is marked; the last ones hold none
/// (checksum failures and look-alikes).
const LABELLED: &[&str] = &[
    "Please email {EMAIL|jane.doe@example.com} before Friday.",
    "Contact support at {EMAIL|help-desk@stratus.io} or call {PHONE|+1 (415) 555-0132}.",
    "My card number is {CREDIT_CARD|4111 1111 1111 1111} and it expires next year.",
    "Charge it to {CREDIT_CARD|5500-0000-0000-0004}, please.",
    "The Amex on file is {CREDIT_CARD|378282246310005}.",
    "Wire the money to {IBAN|DE89 3704 0044 0532 0130 00} by Monday.",
    "Our UK account is {IBAN|GB82WEST12345698765432}.",
    "Send the refund to {IBAN|FR14 2004 1010 0505 0001 3M02 606}.",
    "The server at {IP_ADDRESS|192.168.10.24} stopped responding.",
    "Traffic came from {IP_ADDRESS|203.0.113.7} and {IP_ADDRESS|198.51.100.23}.",
    "Ping the IPv6 host {IP_ADDRESS|2001:db8:85a3::8a2e:370:7334} again.",
    "Loopback is {IP_ADDRESS|::1} on most systems.",
    "Read the docs at {URL|https://docs.example.com/guide?page=2}.",
    "Visit {URL|www.example.org} for details.",
    "The report is at {URL|http://intranet.example.net/reports/2023/q4.pdf}, ask {EMAIL|cfo@example.net} for access.",
    "His social security number is {US_SSN|123-45-6789}.",
    "SSN: {US_SSN|078-05-1120} was printed on the card.",
    "Applicant SSN {US_SSN|219 09 9999} on file.",
    "The meeting is on {DATE|2024-03-15} at noon.",
    "She was born on {DATE|March 3, 1985} in Ohio.",
    "Invoice dated {DATE|14/02/2023} is overdue.",
    "Delivery expected {DATE|12.11.2024}.",
    "Deadline: {DATE|1st of June 2025}.",
    "Call me on {PHONE|(212) 555-0199} after six.",
    "Our London office: {PHONE|+44 20 7946 0958}.",
    "Le numéro est {PHONE|01 23 45 67 89}, merci.",
    "Reach the Berlin team at {PHONE|+49 30 12345678}.",
    "Text {PHONE|555-867-5309} if you're late.",
    "WhatsApp: {PHONE|+4915112345678}",
    "Email {EMAIL|o.brien+news@mail.example.co.uk} and cc {EMAIL|ops@example.com}.",
    "Zoë Müller’s address is {EMAIL|zoe.mueller@beispiel.de}.",
    "Pay with {CREDIT_CARD|6011 1111 1111 1117} or transfer to {IBAN|NL91 ABNA 0417 1643 00}.",
    "Login from {IP_ADDRESS|10.0.0.5} at {DATE|2023-12-01} flagged.",
    "On {DATE|July 4, 2021}, {EMAIL|amy@example.com} reported the bug.",
    "Patient DOB {DATE|05/23/1979}, SSN {US_SSN|512-34-7788}.",
    "Customer Maria Garcia, phone {PHONE|+34 612 345 678}, email {EMAIL|maria.garcia@correo.es}.",
    "Server logs show {IP_ADDRESS|fe80::1ff:fe23:4567:890a} connecting to {URL|https://api.example.com/v1/items}.",
    "Send the documents to {EMAIL|legal@firm.example} by {DATE|30 September 2024}.",
    "Backup card {CREDIT_CARD|4012 8888 8888 1881} was declined.",
    "The Belgian account {IBAN|BE68 5390 0754 7034} received the payment.",
    "Contact John Smith at {PHONE|(646) 555-0147} or {EMAIL|john.smith@company.com}.",
    "Download it from {URL|https://github.com/example/repo/releases} today.",
    "Her new number is {PHONE|+1-202-555-0173}.",
    "He moved in on {DATE|2022-08-19} and left on {DATE|2023-01-05}.",
    "Firewall blocked {IP_ADDRESS|172.16.254.1} twice.",
    "Tax form lists SSN {US_SSN|401-22-9087} and the employer's email {EMAIL|payroll@acme-corp.com}.",
    "The order total was 1,250 dollars for 3 items.",
    "Card 4111 1111 1111 1112 was rejected as invalid.",
    "The IBAN GB82 WEST 1234 5698 7654 33 failed validation.",
    "Version 2.4.1 shipped with 16 bug fixes.",
    "We met at 10:30 and talked for 45 minutes.",
    "Number 666-12-3456 is not a valid SSN.",
];

/// (type, start, end) in chars.
type Key = (String, usize, usize);

/// The plain text and its gold spans.
fn parse(marked: &str) -> (String, Vec<Key>) {
    let mut text = String::new();
    let mut spans = Vec::new();
    let mut rest = marked;
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        let (kind, value) = rest[open + 1..close].split_once('|').unwrap();
        let start = text.chars().count();
        text.push_str(value);
        spans.push((kind.to_string(), start, text.chars().count()));
        rest = &rest[close + 1..];
    }
    text.push_str(rest);
    (text, spans)
}

fn keys(entities: &Value) -> Vec<Key> {
    entities
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["start"].as_u64().unwrap() as usize,
                e["end"].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_and_precision_on_a_labelled_set() {
    assert!(LABELLED.len() >= 40);
    let server = Server::start(&[TAGGER]).await;
    let started = std::time::Instant::now();
    let parsed: Vec<(String, Vec<Key>)> = LABELLED.iter().map(|m| parse(m)).collect();
    // Per type: (true positives, gold, predicted).
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    for chunk in parsed.chunks(25) {
        let input: Vec<&str> = chunk.iter().map(|(t, _)| t.as_str()).collect();
        let (status, _, body) = server
            .post("/v1/language/entities", &json!({"input": input}))
            .await;
        assert_eq!(status, 200, "{body}");
        for ((text, gold), result) in chunk.iter().zip(body["data"].as_array().unwrap()) {
            for entity in result["entities"].as_array().unwrap() {
                // The text is exactly the chars at the offsets.
                let (start, end) = (
                    entity["start"].as_u64().unwrap() as usize,
                    entity["end"].as_u64().unwrap() as usize,
                );
                let covered: String = text.chars().skip(start).take(end - start).collect();
                assert_eq!(entity["text"], covered.as_str());
            }
            // Scored over the recognizer types only: the gold set does not
            // mark names, cities and the like.
            let predicted: Vec<Key> = keys(&result["entities"])
                .into_iter()
                .filter(|(k, _, _)| RULE_TYPES.contains(&k.as_str()))
                .collect();
            for key in gold {
                let entry = counts.entry(key.0.clone()).or_default();
                entry.1 += 1;
                if predicted.contains(key) {
                    entry.0 += 1;
                } else {
                    misses.push(format!("missed {key:?} in {text:?}; got {predicted:?}"));
                }
            }
            for key in &predicted {
                counts.entry(key.0.clone()).or_default().2 += 1;
                if !gold.contains(key) {
                    misses.push(format!("spurious {key:?} in {text:?}"));
                }
            }
        }
    }
    for line in &misses {
        eprintln!("{line}");
    }
    let (mut tp, mut gold, mut predicted) = (0, 0, 0);
    for (kind, (t, g, p)) in &counts {
        eprintln!(
            "{kind:12} recall {t}/{g} = {:.3}  precision {t}/{p} = {:.3}",
            *t as f64 / (*g).max(1) as f64,
            *t as f64 / (*p).max(1) as f64
        );
        tp += t;
        gold += g;
        predicted += p;
    }
    let recall = tp as f64 / gold as f64;
    let precision = tp as f64 / predicted as f64;
    eprintln!(
        "overall over {} sentences: recall {recall:.3} ({tp}/{gold}), precision {precision:.3} ({tp}/{predicted}); {:?}",
        LABELLED.len(),
        started.elapsed()
    );
    for kind in RULE_TYPES {
        assert!(counts.get(kind).is_some_and(|c| c.1 > 0), "no gold {kind}");
    }
    assert!(recall >= RECALL_FLOOR, "recall {recall}");
    assert!(precision >= PRECISION_FLOOR, "precision {precision}");
}

/// Set from the measurement: 60/60 recall and precision when these floors
/// were set. The set was written while the recognizers were tuned, so it is
/// in-sample; the floors leave room for one miss and one false alarm per 20.
const RECALL_FLOOR: f64 = 0.95;
const PRECISION_FLOOR: f64 = 0.95;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksum_failures_are_not_flagged() {
    let server = Server::start(&[TAGGER]).await;
    let input = [
        "Card 4111 1111 1111 1112 was rejected.",
        "Card 5500-0000-0000-0005 too.",
        "IBAN GB82 WEST 1234 5698 7654 33 failed.",
        "IBAN DE89370400440532013001 failed too.",
    ];
    let (status, _, body) = server
        .post("/v1/language/pii", &json!({"input": input}))
        .await;
    assert_eq!(status, 200, "{body}");
    for result in body["data"].as_array().unwrap() {
        for entity in result["entities"].as_array().unwrap() {
            assert!(
                entity["type"] != "CREDIT_CARD" && entity["type"] != "IBAN",
                "{result}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redaction_modes_filters_and_per_document_errors() {
    let config = LanguageConfig {
        redaction_key: Some(RedactionKey::new(b"test-key".to_vec())),
        limits: Limits {
            max_document_bytes: 200,
            ..Limits::default()
        },
        ..LanguageConfig::new(8)
    };
    let server = Server::start_with(&[TAGGER], config).await;
    let text = "Grüße! Mail zoë@example.com or call +1 (415) 555-0132 on 2024-03-15.";
    let email = "zoë@example.com";

    let pii = |redaction: &str, extra: Value| {
        let mut body = json!({"input": [text, "", "x".repeat(201)], "redaction": redaction});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    };

    let (status, headers, body) = server
        .post("/v1/language/pii", &pii("mask", json!({})))
        .await;
    assert_eq!(status, 200, "{body}");
    let first = &body["data"][0];
    let masked = first["redacted_text"].as_str().unwrap();
    eprintln!("mask: {masked}");
    assert_eq!(masked.chars().count(), text.chars().count());
    assert!(!masked.contains("example.com") && !masked.contains("555"));
    let found = keys(&first["entities"]);
    let start = text[..text.find(email).unwrap()].chars().count();
    assert!(
        found.contains(&("EMAIL".into(), start, start + email.chars().count())),
        "{found:?}"
    );
    // Each span is masked at its char offsets.
    for (_, s, e) in &found {
        assert!(masked.chars().skip(*s).take(e - s).all(|c| c == '*'));
    }
    assert_eq!(body["data"][1]["error"]["code"], "empty_document");
    assert_eq!(body["data"][2]["error"]["code"], "document_too_large");
    assert_eq!(body["usage"]["documents"], 1);
    assert_eq!(header_number(&headers, "x-stratus-usage-documents"), 1);
    assert_eq!(
        header_number(&headers, "x-stratus-usage-characters"),
        text.chars().count() as u64
    );

    let (_, _, typed) = server
        .post("/v1/language/pii", &pii("type", json!({})))
        .await;
    let typed = typed["data"][0]["redacted_text"]
        .as_str()
        .unwrap()
        .to_string();
    eprintln!("type: {typed}");
    assert!(
        typed.contains("Mail [EMAIL] or call [PHONE] on [DATE]."),
        "{typed}"
    );

    let (_, _, hashed) = server
        .post("/v1/language/pii", &pii("hash", json!({})))
        .await;
    let hashed = hashed["data"][0]["redacted_text"]
        .as_str()
        .unwrap()
        .to_string();
    eprintln!("hash: {hashed}");
    let token =
        stratus_language::pii::redact::keyed_hash(&RedactionKey::new(b"test-key".to_vec()), email);
    assert!(hashed.contains(&format!("[EMAIL:{token}]")), "{hashed}");

    // allow: e-mail stays; deny: only dates are reported.
    let (_, _, allowed) = server
        .post(
            "/v1/language/pii",
            &pii("type", json!({"allow": ["EMAIL"]})),
        )
        .await;
    let allowed = allowed["data"][0]["redacted_text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        allowed.contains(email) && allowed.contains("[PHONE]"),
        "{allowed}"
    );
    let (_, _, denied) = server
        .post("/v1/language/pii", &pii("type", json!({"deny": ["DATE"]})))
        .await;
    let only_dates = &denied["data"][0];
    assert!(keys(&only_dates["entities"]).iter().all(|k| k.0 == "DATE"));
    assert!(
        only_dates["redacted_text"]
            .as_str()
            .unwrap()
            .contains(email)
    );

    // Unknown types, unknown redaction modes: 400 naming the parameter.
    let (status, _, error) = server
        .post(
            "/v1/language/pii",
            &json!({"input": text, "deny": ["EMAILS"]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["param"], "deny");
    let (status, _, _) = server
        .post(
            "/v1/language/pii",
            &json!({"input": text, "redaction": "blur"}),
        )
        .await;
    assert_eq!(status, 400);

    // /entities: the same spans, no redacted text.
    let (status, _, entities) = server
        .post("/v1/language/entities", &json!({"input": text}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(keys(&entities["data"][0]["entities"]), found);
    assert!(entities["data"][0].get("redacted_text").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_redaction_without_a_key_is_refused() {
    let server = Server::start(&[TAGGER]).await;
    let (status, _, body) = server
        .post(
            "/v1/language/pii",
            &json!({"input": "a@b.io", "redaction": "hash"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "redaction");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--redaction-key")
    );
}
