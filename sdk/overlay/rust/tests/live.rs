//! The Rust SDK against a live `stratus serve`. Ignored by a plain
//! `cargo test`; services/stratus/tests/sdk_rust.rs starts the server
//! (whisper-tiny.en, whisper-base, all-minilm-l6-v2, lid-176) and runs
//! `cargo test -- --include-ignored` with STRATUS_BASE_URL,
//! STRATUS_ADMIN_KEY (a key with the `admin` scope) and STRATUS_TEST_AUDIO
//! (a real English speech WAV); the server signs job webhooks and may
//! deliver them over http to 127.0.0.1. Each test makes its own tenant and
//! key over the admin API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use stratus_client::models::{
    DetectRequest, DocumentResultDetection, DocumentResultEntities, LimitSpec, PiiRequest,
    RedactionMode, TimestampGranularity,
};
use stratus_client::webhooks::{self, WebhookError};
use stratus_client::{
    AudioFile, AudioJobStatus, AudioOptions, EmbeddingsRequest, Error, ErrorKind, JobOptions,
    JobResult, ResponseFormatName, Scope, Srt, Stratus, StreamEvent, Text, TranscriptionOutput,
    UsageEventsQuery, UsageQuery, VerboseJson, WaitOptions,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: services/stratus/tests/sdk_rust.rs runs this suite")
    })
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
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let tenant = admin
        .create_tenant(&format!("sdk-rust-{tenant}-{nanos}"))
        .await
        .unwrap();
    let key = admin
        .create_tenant_key(
            &tenant.id,
            &[Scope::Speech, Scope::Language, Scope::UsageRead],
            Some("sdk test"),
        )
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
    AudioFile::from_path(env("STRATUS_TEST_AUDIO"))
        .await
        .unwrap()
}

fn words(text: &str) -> String {
    let kept: String = text
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn transcribes_a_wav_upload_in_each_format() {
    let stratus = client("transcribe").await;
    let audio = audio().await;
    // json: a `Transcription`.
    let json = stratus
        .transcribe(&audio, &AudioOptions::default())
        .await
        .unwrap();
    assert!(words(&json.text).contains("young man"), "{}", json.text);
    assert_eq!(json.usage.r#type, "duration");
    assert!(json.usage.seconds > 2.0);

    // verbose_json: a `TranscriptionVerbose`, with words when asked for.
    let options = AudioOptions {
        timestamp_granularities: vec![TimestampGranularity::Word, TimestampGranularity::Segment],
        ..Default::default()
    };
    let verbose = stratus.transcribe_verbose(&audio, &options).await.unwrap();
    assert_eq!(verbose.language, "english");
    assert!(!verbose.segments.is_empty());
    assert!(verbose.segments.iter().all(|s| s.end >= s.start));
    let timed = verbose.words.expect("words were asked for");
    assert!(
        timed
            .iter()
            .any(|w| w.word.to_lowercase().contains("young")),
        "{timed:?}"
    );
    let plain = stratus
        .transcribe_verbose(&audio, &AudioOptions::default())
        .await
        .unwrap();
    assert_eq!(plain.words, None);

    // text, srt, vtt: a `String`.
    let srt: String = stratus
        .transcribe_as::<Srt>(&audio, &AudioOptions::default())
        .await
        .unwrap();
    assert!(srt.starts_with("1\n") && srt.contains(" --> "), "{srt}");
    let text: String = stratus
        .transcribe_as::<Text>(&audio, &AudioOptions::default())
        .await
        .unwrap();
    assert!(words(&text).contains("young man"), "{text}");
    let vtt = stratus
        .transcribe_as::<stratus_client::Vtt>(&audio, &AudioOptions::default())
        .await
        .unwrap();
    assert!(vtt.starts_with("WEBVTT"), "{vtt}");
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn translates_with_a_multilingual_model_and_refuses_an_english_only_one() {
    let stratus = client("translate").await;
    let audio = audio().await;
    let base = AudioOptions {
        model: Some("whisper-base".into()),
        ..Default::default()
    };
    let translated = stratus.translate(&audio, &base).await.unwrap();
    assert!(
        words(&translated.text).contains("young man"),
        "{}",
        translated.text
    );

    let tiny = AudioOptions {
        model: Some("whisper-tiny.en".into()),
        ..Default::default()
    };
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
    let stream = stratus
        .stream_transcription(&audio().await, &AudioOptions::default())
        .await
        .unwrap();
    assert!(
        stream.headers().contains_key("x-request-id"),
        "{:?}",
        stream.headers()
    );
    // A `futures::Stream`: the combinators work on it.
    let events: Vec<StreamEvent> = stream.try_collect().await.unwrap();
    let (done, deltas) = events.split_last().unwrap();
    assert!(!deltas.is_empty());
    let joined: String = deltas
        .iter()
        .map(|e| match e {
            StreamEvent::Delta(d) => d.as_str(),
            other => panic!("a delta expected, got {other:?}"),
        })
        .collect();
    let StreamEvent::Done { text, usage } = done else {
        panic!("done expected, got {done:?}")
    };
    assert_eq!(joined.trim(), text.trim());
    assert!(words(text).contains("young man"), "{text}");
    assert!(usage.seconds > 2.0);

    // Read one event at a time with `StreamExt::next`.
    let mut stream = stratus
        .stream_transcription(&audio().await, &AudioOptions::default())
        .await
        .unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first, StreamEvent::Delta(_)), "{first:?}");
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn embeds_detects_language_and_redacts_pii_then_reads_usage() {
    let stratus = client("language").await;
    let request = EmbeddingsRequest::of("all-minilm-l6-v2", ["a cat", "a dog"]);
    let embeddings = stratus.embed(&request).await.unwrap();
    assert_eq!(embeddings.data.len(), 2);
    let vector = embeddings.data[1].embedding.as_floats().unwrap();
    assert_eq!(vector.len(), 384);
    assert_eq!(embeddings.data[1].index, 1);
    assert!(embeddings.usage.prompt_tokens > 0);

    let detect = DetectRequest::new("Bonjour tout le monde, comment allez-vous ?".into());
    let detected = stratus.detect_language(&detect).await.unwrap();
    let DocumentResultDetection::DocumentResultDetectionOneOf(first) = &detected.data[0] else {
        panic!("{detected:?}")
    };
    assert_eq!(first.language, "fr");

    let mut pii = PiiRequest::new("Write to ana@example.com today.".into());
    pii.redaction = Some(RedactionMode::Type);
    let redacted = stratus.redact_pii(&pii).await.unwrap();
    let DocumentResultEntities::DocumentResultEntitiesOneOf(doc) = &redacted.data[0] else {
        panic!("{redacted:?}")
    };
    let text = doc.redacted_text.clone().unwrap_or_default();
    assert!(text.contains("[EMAIL]"), "{text}");

    let models = stratus.list_models().await.unwrap();
    assert!(models.data.iter().any(|m| m.id == "whisper-tiny.en"));
    let model = stratus.retrieve_model("all-minilm-l6-v2").await.unwrap();
    assert_eq!(model.id, "all-minilm-l6-v2");

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
    let bad = Stratus::builder()
        .api_key("sk_not_a_real_key")
        .base_url(env("STRATUS_BASE_URL"))
        .build()
        .unwrap();
    let error = bad.list_models().await.unwrap_err();
    let error = error.api().expect("an API error");
    assert_eq!(error.kind, ErrorKind::Authentication);
    assert_eq!(error.status, 401);
    assert_eq!(error.error_type(), "authentication_error");
    assert_eq!(error.code(), Some("invalid_api_key"));

    let stratus = client("errors").await;
    let hot = AudioOptions {
        temperature: Some(7.0),
        ..Default::default()
    };
    let error = stratus.transcribe(&audio().await, &hot).await.unwrap_err();
    let error = error.api().expect("an API error");
    assert_eq!(error.kind, ErrorKind::BadRequest);
    assert_eq!(error.param(), Some("temperature"));
    assert_eq!(error.error_type(), "invalid_request_error");

    let unknown = EmbeddingsRequest::of("no-such-model", "hello");
    let error = stratus.embed(&unknown).await.unwrap_err();
    assert_eq!(error.api().map(|e| e.kind), Some(ErrorKind::NotFound));
    assert_eq!(error.api().and_then(|e| e.code()), Some("model_not_found"));
    assert!(
        error.api().and_then(|e| e.request_id.as_deref()).is_some(),
        "{error:?}"
    );
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("sdk-rust-{name}-{nanos}")
}

fn detect(text: &str) -> DetectRequest {
    DetectRequest::new(text.into())
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn a_rate_limit_is_a_typed_error_with_retry_after() {
    let admin = admin();
    let tenant = admin.create_tenant(&unique("limited")).await.unwrap();
    let limits = LimitSpec {
        requests_per_minute: Some(2),
        ..LimitSpec::new()
    };
    let view = admin.set_tenant_limits(&tenant.id, &limits).await.unwrap();
    assert_eq!(view.requests_per_minute, Some(2));
    let key = admin
        .create_tenant_key(&tenant.id, &[Scope::Language], Some("limited"))
        .await
        .unwrap();
    // No retries: the 429 itself reaches the caller.
    let stratus = Stratus::builder()
        .api_key(key.secret)
        .base_url(env("STRATUS_BASE_URL"))
        .max_retries(0)
        .build()
        .unwrap();
    stratus
        .detect_language(&detect("Guten Morgen, wie geht es dir heute?"))
        .await
        .unwrap();
    stratus
        .detect_language(&detect("Bonjour tout le monde."))
        .await
        .unwrap();
    let error = stratus
        .detect_language(&detect("Good morning to you all."))
        .await
        .unwrap_err();
    let error = error.api().expect("an API error");
    assert_eq!(error.kind, ErrorKind::RateLimit);
    assert_eq!(error.status, 429);
    assert_eq!(error.code(), Some("rate_limit_exceeded"));
    assert!(
        error.retry_after.is_some_and(|wait| wait > Duration::ZERO),
        "{error:?}"
    );
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn usage_events_page_as_a_stream_and_the_draft_invoice() {
    let admin = admin();
    let tenant = admin.create_tenant(&unique("billed")).await.unwrap();
    let scopes = [Scope::Language, Scope::UsageRead, Scope::BillingRead];
    let key = admin
        .create_tenant_key(&tenant.id, &scopes, Some("billed"))
        .await
        .unwrap();
    let stratus = Stratus::builder()
        .api_key(key.secret)
        .base_url(env("STRATUS_BASE_URL"))
        .build()
        .unwrap();
    let texts = [
        "Guten Morgen, wie geht es dir heute?",
        "Bonjour tout le monde.",
        "Good morning to you all.",
    ];
    for text in texts {
        stratus.detect_language(&detect(text)).await.unwrap();
    }
    // Metering may record a moment after the answer: poll briefly. One
    // event a page: the stream follows `x-stratus-cursor` over three pages.
    let by_one = || UsageEventsQuery {
        limit: Some(1),
        ..Default::default()
    };
    let mut events = Vec::new();
    for _ in 0..50 {
        events = stratus.usage_events(by_one()).try_collect().await.unwrap();
        if events.len() >= texts.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events.iter().all(|e| e.tenant_id == tenant.id));
    let characters: Vec<i64> = events.iter().map(|e| e.units.characters).collect();
    let expected: Vec<i64> = texts.iter().map(|t| t.chars().count() as i64).collect();
    assert_eq!(characters, expected, "oldest first");
    let first = stratus.usage_events_page(&by_one()).await.unwrap();
    assert_eq!(first.events.len(), 1);
    assert!(first.has_more && first.cursor.is_some(), "{first:?}");
    // From the last page's cursor on: nothing new yet.
    let mut last = first;
    while last.has_more {
        let query = UsageEventsQuery {
            cursor: last.cursor.clone(),
            ..by_one()
        };
        last = stratus.usage_events_page(&query).await.unwrap();
    }
    let query = UsageEventsQuery {
        cursor: last.cursor.clone(),
        ..Default::default()
    };
    assert_eq!(stratus.usage_events(query).count().await, 0);

    let usage = stratus.usage(&UsageQuery::default()).await.unwrap();
    assert_eq!(usage.tenant_id, tenant.id);
    assert_eq!(usage.totals.documents, 3, "{usage:?}");

    let invoices = stratus.list_invoices().await.unwrap();
    let draft = &invoices.data[0];
    assert_eq!(draft.status, "draft");
    assert_eq!(draft.tenant_id, tenant.id);
    assert_eq!(
        draft
            .lines
            .iter()
            .filter(|line| line.unit == "1k_characters")
            .count(),
        1,
        "{draft:?}"
    );
    assert_eq!(
        draft
            .lines
            .iter()
            .map(|line| line.amount_nanos)
            .sum::<i64>(),
        draft.subtotal_nanos
    );
    assert_eq!(
        stratus.get_invoice(&draft.id).await.unwrap().subtotal,
        draft.subtotal
    );
    let csv = stratus.invoice_csv(&draft.id).await.unwrap();
    assert!(csv.starts_with("invoice_id,"), "{csv}");
    assert!(csv.contains("1k_characters"), "{csv}");
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn a_job_is_waited_for_with_progress_and_its_result_is_typed() {
    let stratus = client("jobs").await;
    let audio = audio().await;
    let options = JobOptions {
        response_format: Some(ResponseFormatName::VerboseJson),
        ..Default::default()
    };
    let job = stratus.create_job(&audio, &options).await.unwrap();
    assert!(!job.id.is_empty(), "{job:?}");
    assert!(
        matches!(job.status, AudioJobStatus::Queued | AudioJobStatus::Running),
        "{job:?}"
    );
    assert_eq!(job.result, None);

    let mut seen = Vec::new();
    let wait = WaitOptions {
        timeout: Duration::from_secs(300),
        poll_interval: Duration::from_millis(100),
    };
    let done = stratus
        .wait_for_job(&job.id, wait, |j| seen.push((j.status, j.progress)))
        .await
        .unwrap();
    assert_eq!(done.status, AudioJobStatus::Succeeded);
    assert_eq!(
        seen.last().map(|s| s.0),
        Some(AudioJobStatus::Succeeded),
        "{seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0].1 <= w[1].1),
        "progress only grows: {seen:?}"
    );
    let verbose = done.result_as::<VerboseJson>().unwrap().expect("a result");
    assert!(
        words(&verbose.text).contains("young man"),
        "{}",
        verbose.text
    );
    assert!(!verbose.segments.is_empty());
    assert!(matches!(
        done.output().unwrap(),
        Some(TranscriptionOutput::Verbose(_))
    ));
    assert!(
        done.result_as::<Text>().is_err(),
        "the job's format is verbose_json"
    );
    assert!(
        done.usage.as_ref().is_some_and(|u| u.seconds > 2.0),
        "{done:?}"
    );

    // A job waited for less than it takes: the timeout (the job goes on),
    // unless it finished before the first poll.
    let text = JobOptions {
        response_format: Some(ResponseFormatName::Text),
        ..Default::default()
    };
    let second = stratus.create_job(&audio, &text).await.unwrap();
    match stratus
        .wait_for_job(&second.id, WaitOptions::timeout(Duration::ZERO), |_| {})
        .await
    {
        Err(Error::JobTimeout(job)) => assert!(!job.is_finished(), "{job:?}"),
        Ok(job) => assert_eq!(job.status, AudioJobStatus::Succeeded),
        Err(other) => panic!("{other:?}"),
    }
    let second = stratus
        .wait_for_job(&second.id, wait, |_| {})
        .await
        .unwrap();
    let text: String = second.result_as::<Text>().unwrap().expect("a result");
    assert!(words(&text).contains("young man"), "{text}");

    // The jobs list, one a page, newest first, as a stream.
    let listed: Vec<_> = stratus
        .list_jobs(1)
        .map_ok(|j| j.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed, vec![second.id.clone(), job.id.clone()]);
    let page = stratus.list_jobs_page(1, None).await.unwrap();
    assert!(page.has_more);
    assert_eq!(page.data[0].result, None, "list entries carry no result");

    let missing = stratus.get_job("job_does_not_exist").await.unwrap_err();
    assert_eq!(missing.api().map(|e| e.kind), Some(ErrorKind::NotFound));
}

/// One HTTP request on `listener`: its headers (lowercase names) and body;
/// answers 204.
async fn receive_one(listener: &tokio::net::TcpListener) -> (http::HeaderMap, Vec<u8>) {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "the sender closed early");
        data.extend_from_slice(&buf[..n]);
        let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&data[..end]).to_string();
        let mut headers = http::HeaderMap::new();
        for line in head.lines().skip(1) {
            if let Some((name, value)) = line.split_once(':') {
                let name =
                    http::HeaderName::from_bytes(name.trim().to_lowercase().as_bytes()).unwrap();
                headers.append(name, value.trim().parse().unwrap());
            }
        }
        let length: usize = headers
            .get("content-length")
            .map_or(0, |v| v.to_str().unwrap().parse().unwrap());
        while data.len() < end + 4 + length {
            let n = socket.read(&mut buf).await.unwrap();
            data.extend_from_slice(&buf[..n]);
        }
        socket
            .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        return (headers, data[end + 4..end + 4 + length].to_vec());
    }
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn a_job_webhook_verifies_and_a_tampered_or_old_one_does_not() {
    let stratus = client("webhook").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let delivery = Arc::new(Mutex::new(None));
    let sink = delivery.clone();
    let receiver = tokio::spawn(async move {
        let received = receive_one(&listener).await;
        *sink.lock().unwrap() = Some(received);
    });
    let options = JobOptions {
        webhook_url: Some(url.clone()),
        ..Default::default()
    };
    let job = stratus.create_job(&audio().await, &options).await.unwrap();
    assert_eq!(job.webhook_url.as_deref(), Some(url.as_str()));
    stratus
        .wait_for_job(
            &job.id,
            WaitOptions::timeout(Duration::from_secs(300)),
            |_| {},
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), receiver)
        .await
        .expect("no webhook arrived")
        .unwrap();
    let (headers, body) = delivery.lock().unwrap().take().unwrap();

    let secret = stratus.get_webhook_secret().await.unwrap().secret;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let event = webhooks::unwrap(&body, &headers, &secret).unwrap();
    assert_eq!(event.event, "audio.job.succeeded");
    assert_eq!(event.job.id, job.id);
    let Some(TranscriptionOutput::Json(result)) = event.job.output().unwrap() else {
        panic!("{event:?}")
    };
    assert!(words(&result.text).contains("young man"), "{}", result.text);

    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("succeeded", "failed");
    assert_eq!(
        webhooks::verify(tampered.as_bytes(), &headers, &secret),
        Err(WebhookError::Mismatch)
    );
    let other = format!("whsec_{}", "0".repeat(64));
    assert_eq!(
        webhooks::verify(&body, &headers, &other),
        Err(WebhookError::Mismatch)
    );
    assert_eq!(
        webhooks::verify(&body, &http::HeaderMap::new(), &secret),
        Err(WebhookError::MissingSignature)
    );
    let signature = headers[webhooks::SIGNATURE_HEADER].to_str().unwrap();
    let sent: i64 = signature
        .split(',')
        .next()
        .unwrap()
        .trim_start_matches("t=")
        .parse()
        .unwrap();
    let tolerance = webhooks::DEFAULT_TOLERANCE;
    assert_eq!(
        webhooks::verify_signature(&body, signature, &secret, sent + 301, tolerance),
        Err(WebhookError::Expired)
    );
    assert_eq!(
        webhooks::verify_signature(&body, signature, &secret, sent + 299, tolerance),
        Ok(())
    );
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn raw_responses_carry_the_request_id_rate_limits_and_usage() {
    let admin = admin();
    let tenant = admin.create_tenant(&unique("raw")).await.unwrap();
    let limits = LimitSpec {
        requests_per_minute: Some(100),
        ..LimitSpec::new()
    };
    admin.set_tenant_limits(&tenant.id, &limits).await.unwrap();
    let key = admin
        .create_tenant_key(&tenant.id, &[Scope::Language, Scope::Speech], Some("raw"))
        .await
        .unwrap();
    let stratus = Stratus::builder()
        .api_key(key.secret)
        .base_url(env("STRATUS_BASE_URL"))
        .build()
        .unwrap();

    let raw = stratus
        .with_raw_response()
        .embed(&EmbeddingsRequest::of("all-minilm-l6-v2", "a cat"))
        .await
        .unwrap();
    assert_eq!(raw.status, 200);
    assert!(
        raw.request_id().is_some_and(|id| !id.is_empty()),
        "{:?}",
        raw.headers
    );
    assert_eq!(raw.usage()["characters"], 5.0);
    assert_eq!(raw.usage()["documents"], 1.0);
    let requests = &raw.rate_limits()["requests"];
    assert_eq!(requests.limit, 100);
    assert!(requests.remaining < 100, "{requests:?}");
    assert!(!requests.reset.is_empty());
    assert_eq!(raw.retries_taken, 0);
    // `Raw` derefs to the result; `into_inner` takes it.
    assert_eq!(raw.data.data.len(), 1);
    assert_eq!(raw.into_inner().model, "all-minilm-l6-v2");

    let raw = stratus
        .with_raw_response()
        .transcribe_as::<Srt>(&audio().await, &AudioOptions::default())
        .await
        .unwrap();
    assert!(
        raw.usage().get("audio_seconds").is_some_and(|s| *s > 2.0),
        "{:?}",
        raw.headers
    );
    assert!(raw.contains(" --> "));
    let models = stratus.with_raw_response().list_models().await.unwrap();
    assert!(models.request_id().is_some());
}

#[tokio::test]
#[ignore = "needs a live stratus serve (services/stratus/tests/sdk_rust.rs)"]
async fn the_webhook_secret_rotates_with_a_keys_key() {
    let admin = admin();
    let tenant = admin.create_tenant(&unique("rotate")).await.unwrap();
    let key = admin
        .create_tenant_key(&tenant.id, &[Scope::Speech, Scope::Keys], Some("rotate"))
        .await
        .unwrap();
    assert_eq!(key.scopes, vec![Scope::Speech, Scope::Keys]);
    let stratus = Stratus::builder()
        .api_key(key.secret)
        .base_url(env("STRATUS_BASE_URL"))
        .build()
        .unwrap();
    let before = stratus.get_webhook_secret().await.unwrap();
    let after = stratus
        .rotate_webhook_secret(Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(
        after.secret.starts_with("whsec_") && after.secret != before.secret,
        "{after:?}"
    );
    assert!(after.previous_secret_expires_at.is_some(), "{after:?}");
    assert_eq!(
        stratus.get_webhook_secret().await.unwrap().secret,
        after.secret
    );
}
