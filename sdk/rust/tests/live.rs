//! The Rust SDK against a live `stratus serve`. Ignored by a plain
//! `cargo test`; services/stratus/tests/sdk_rust.rs starts the server
//! (whisper-tiny.en, whisper-base, all-minilm-l6-v2, lid-176) and runs
//! `cargo test -- --include-ignored` with STRATUS_BASE_URL,
//! STRATUS_ADMIN_KEY (a key with the `admin` scope) and STRATUS_TEST_AUDIO
//! (a real English speech WAV). Each test makes its own tenant and key over
//! the admin API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

use std::time::Duration;

use stratus_client::models::{
    DetectRequest, DocumentResultDetection, DocumentResultEntities, DocumentsInput, EmbeddingsInput,
    EmbeddingsRequest, LimitSpec, PiiRequest, RedactionMode, ResponseFormatName,
};
use stratus_client::{AudioFile, AudioOptions, ErrorKind, Stratus, StreamEvent, TranscriptionOutput, UsageQuery};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: services/stratus/tests/sdk_rust.rs runs this suite"))
}

fn admin() -> Stratus {
    Stratus::builder()
        .api_key(env("STRATUS_ADMIN_KEY"))
        .base_url(env("STRATUS_BASE_URL"))
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

/// A client with a key made over the admin API for a tenant of its own.
async fn client(tenant: &str) -> Stratus {
    let admin = admin();
    // Unique: a server may outlive one run of this suite.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let tenant = admin.create_tenant(&format!("sdk-rust-{tenant}-{nanos}")).await.unwrap();
    let key = admin
        .create_tenant_key(&tenant.id, &["speech", "language", "usage:read"], Some("sdk test"))
        .await
        .unwrap();
    assert!(key.secret.starts_with("sk_"), "{key:?}");
    assert_eq!(key.tenant_id, tenant.id);
    Stratus::builder()
        .api_key(key.secret)
        .base_url(env("STRATUS_BASE_URL"))
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

async fn audio() -> AudioFile {
    AudioFile::from_path(env("STRATUS_TEST_AUDIO")).await.unwrap()
}

fn words(text: &str) -> String {
    let kept: String = text.to_lowercase().chars().filter(|c| c.is_alphanumeric() || c.is_whitespace()).collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn transcribes_a_wav_upload_in_each_format() {
    let stratus = client("transcribe").await;
    let audio = audio().await;
    let TranscriptionOutput::Json(json) = stratus.transcribe(&audio, &AudioOptions::default()).await.unwrap() else {
        panic!("json expected")
    };
    assert!(words(&json.text).contains("young man"), "{}", json.text);
    assert_eq!(json.usage.r#type, "duration");
    assert!(json.usage.seconds > 2.0);

    let verbose = AudioOptions { response_format: Some(ResponseFormatName::VerboseJson), ..Default::default() };
    let TranscriptionOutput::Verbose(verbose) = stratus.transcribe(&audio, &verbose).await.unwrap() else {
        panic!("verbose_json expected")
    };
    assert_eq!(verbose.language, "english");
    assert!(!verbose.segments.is_empty());

    let srt = AudioOptions { response_format: Some(ResponseFormatName::Srt), ..Default::default() };
    let TranscriptionOutput::Text(srt) = stratus.transcribe(&audio, &srt).await.unwrap() else {
        panic!("srt expected")
    };
    assert!(srt.starts_with("1\n") && srt.contains(" --> "), "{srt}");
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn translates_with_a_multilingual_model_and_refuses_an_english_only_one() {
    let stratus = client("translate").await;
    let audio = audio().await;
    let base = AudioOptions { model: Some("whisper-base".into()), ..Default::default() };
    let translated = stratus.translate(&audio, &base).await.unwrap();
    assert!(words(translated.text()).contains("young man"), "{}", translated.text());

    let tiny = AudioOptions { model: Some("whisper-tiny.en".into()), ..Default::default() };
    let error = stratus.translate(&audio, &tiny).await.unwrap_err();
    let error = error.api().expect("an API error");
    assert_eq!(error.kind, ErrorKind::BadRequest);
    assert_eq!(error.status, 400);
    assert_eq!(error.param(), Some("model"));
    assert!(error.message().contains("multilingual"), "{error}");
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn streams_a_transcription() {
    let stratus = client("stream").await;
    let events = stratus.stream_transcription(&audio().await, &AudioOptions::default()).await.unwrap().collect().await.unwrap();
    let (done, deltas) = events.split_last().unwrap();
    assert!(!deltas.is_empty());
    let joined: String = deltas
        .iter()
        .map(|e| match e {
            StreamEvent::Delta(d) => d.as_str(),
            other => panic!("a delta expected, got {other:?}"),
        })
        .collect();
    let StreamEvent::Done { text, usage } = done else { panic!("done expected, got {done:?}") };
    assert_eq!(joined.trim(), text.trim());
    assert!(words(text).contains("young man"), "{text}");
    assert!(usage.seconds > 2.0);
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn embeds_detects_language_and_redacts_pii_then_reads_usage() {
    let stratus = client("language").await;
    let request = EmbeddingsRequest::new(EmbeddingsInput::texts(vec!["a cat".into(), "a dog".into()]), "all-minilm-l6-v2".into());
    let embeddings = stratus.embed(&request).await.unwrap();
    assert_eq!(embeddings.data.len(), 2);

    let detect = DetectRequest::new(DocumentsInput::String("Bonjour tout le monde, comment allez-vous ?".into()));
    let detected = stratus.detect_language(&detect).await.unwrap();
    let DocumentResultDetection::DocumentResultDetectionOneOf(first) = &detected.data[0] else {
        panic!("{detected:?}")
    };
    assert_eq!(first.language, "fr");

    let mut pii = PiiRequest::new(DocumentsInput::String("Write to ana@example.com today.".into()));
    pii.redaction = Some(RedactionMode::Type);
    let redacted = stratus.redact_pii(&pii).await.unwrap();
    let DocumentResultEntities::DocumentResultEntitiesOneOf(doc) = &redacted.data[0] else {
        panic!("{redacted:?}")
    };
    let text = doc.redacted_text.clone().flatten().unwrap_or_default();
    assert!(text.contains("[EMAIL]"), "{text}");

    let models = stratus.list_models().await.unwrap();
    assert!(models.data.iter().any(|m| m.id == "whisper-tiny.en"));

    // Metering may record a moment after the answer: poll briefly.
    let mut usage = stratus.usage(&UsageQuery::default()).await.unwrap();
    for _ in 0..50 {
        if usage.totals.documents >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        usage = stratus.usage(&UsageQuery::default()).await.unwrap();
    }
    assert!(usage.totals.requests >= 3, "{usage:?}");
    assert!(usage.totals.documents >= 4, "{usage:?}");
    assert!(usage.totals.characters > 0, "{usage:?}");
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn a_bad_key_and_a_bad_field_are_typed_errors_with_the_envelope() {
    let bad = Stratus::builder().api_key("sk_not_a_real_key").base_url(env("STRATUS_BASE_URL")).build().unwrap();
    let error = bad.list_models().await.unwrap_err();
    let error = error.api().expect("an API error");
    assert_eq!(error.kind, ErrorKind::Authentication);
    assert_eq!(error.status, 401);
    assert_eq!(error.error_type(), "authentication_error");
    assert_eq!(error.code(), Some("invalid_api_key"));

    let stratus = client("errors").await;
    let hot = AudioOptions { temperature: Some(7.0), ..Default::default() };
    let error = stratus.transcribe(&audio().await, &hot).await.unwrap_err();
    let error = error.api().expect("an API error");
    assert_eq!(error.kind, ErrorKind::BadRequest);
    assert_eq!(error.param(), Some("temperature"));
    assert_eq!(error.error_type(), "invalid_request_error");

    let unknown = EmbeddingsRequest::new(EmbeddingsInput::Text("hello".into()), "no-such-model".into());
    let error = stratus.embed(&unknown).await.unwrap_err();
    assert_eq!(error.api().map(|e| e.kind), Some(ErrorKind::NotFound));
    assert_eq!(error.api().and_then(|e| e.code()), Some("model_not_found"));
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("sdk-rust-{name}-{nanos}")
}

fn detect(text: &str) -> DetectRequest {
    DetectRequest::new(DocumentsInput::String(text.into()))
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn a_rate_limit_is_a_typed_error_with_retry_after() {
    let admin = admin();
    let tenant = admin.create_tenant(&unique("limited")).await.unwrap();
    let limits = LimitSpec { requests_per_minute: Some(Some(2)), ..LimitSpec::new() };
    let view = admin.set_tenant_limits(&tenant.id, &limits).await.unwrap();
    assert_eq!(view.requests_per_minute, Some(Some(2)));
    let key = admin.create_tenant_key(&tenant.id, &["language"], Some("limited")).await.unwrap();
    // No retries: the 429 itself reaches the caller.
    let stratus = Stratus::builder().api_key(key.secret).base_url(env("STRATUS_BASE_URL")).max_retries(0).build().unwrap();
    stratus.detect_language(&detect("Guten Morgen, wie geht es dir heute?")).await.unwrap();
    stratus.detect_language(&detect("Bonjour tout le monde.")).await.unwrap();
    let error = stratus.detect_language(&detect("Good morning to you all.")).await.unwrap_err();
    let error = error.api().expect("an API error");
    assert_eq!(error.kind, ErrorKind::RateLimit);
    assert_eq!(error.status, 429);
    assert_eq!(error.code(), Some("rate_limit_exceeded"));
    assert!(error.retry_after.is_some_and(|wait| wait > Duration::ZERO), "{error:?}");
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn usage_events_and_the_draft_invoice() {
    let admin = admin();
    let tenant = admin.create_tenant(&unique("billed")).await.unwrap();
    let key = admin.create_tenant_key(&tenant.id, &["language", "usage:read", "billing:read"], Some("billed")).await.unwrap();
    let stratus = Stratus::builder().api_key(key.secret).base_url(env("STRATUS_BASE_URL")).build().unwrap();
    let text = "Guten Morgen, wie geht es dir heute?";
    stratus.detect_language(&detect(text)).await.unwrap();
    // Metering may record a moment after the answer: poll briefly.
    let mut events = Vec::new();
    for _ in 0..50 {
        events = stratus.usage_events(None, None).await.unwrap();
        if !events.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].tenant_id, tenant.id);
    assert_eq!(events[0].units.characters, text.chars().count() as i64);

    let invoices = stratus.list_invoices().await.unwrap();
    let draft = &invoices.data[0];
    assert_eq!(draft.status, "draft");
    assert_eq!(draft.tenant_id, tenant.id);
    assert_eq!(draft.lines.iter().filter(|line| line.unit == "1k_characters").count(), 1, "{draft:?}");
    assert_eq!(draft.lines.iter().map(|line| line.amount_nanos).sum::<i64>(), draft.subtotal_nanos);
    assert_eq!(stratus.get_invoice(&draft.id).await.unwrap().subtotal, draft.subtotal);
    let csv = stratus.invoice_csv(&draft.id).await.unwrap();
    assert!(csv.starts_with("invoice_id,"), "{csv}");
    assert!(csv.contains("1k_characters"), "{csv}");
}
