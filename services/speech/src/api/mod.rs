//! OpenAI's audio endpoints: `POST /v1/audio/transcriptions` and
//! `POST /v1/audio/translations`.
//!
//! A request goes: multipart form ([`form`]) → choose the model (`whisper-1`
//! is the default) → decode the file on a blocking thread ([`crate::audio`]),
//! its audio seconds taken from the server's budget (503 with `Retry-After`
//! when they are not free) → transcribe on the model's worker thread (a full queue answers 503 with
//! `Retry-After` at once) → write the chosen format ([`format`]) with the
//! usage in the body (json formats) and always in
//! `x-stratus-usage-audio-seconds`. With `stream=true` the text arrives as
//! server-sent events instead ([`stream`]).

pub mod form;
pub mod format;
pub mod languages;
pub mod stream;

use std::time::Instant;

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use stratus_kit::error::ApiError;
use stratus_kit::usage;
use stratus_models::whisper::vad::VadOptions;
use stratus_models::whisper::{Prompt, Task, TranscribeOptions, Transcript};

use crate::audio::{self, Limits};
use crate::{ModelInfo, SpeechConfig, SpeechError, SpeechService};
use form::{AudioForm, ResponseFormat};

/// OpenAI's model name; here an alias of the default model.
pub const DEFAULT_ALIAS: &str = "whisper-1";

/// Room for the form's other fields and multipart framing on top of the
/// file limit, so that an oversized file is counted (and answered 413) by
/// the form reader rather than cut off by the body limit.
pub(crate) const FORM_OVERHEAD: usize = 1024 * 1024;

/// The audio routes and their methods: [`routes`] serves exactly these,
/// and the gateway's OpenAPI coverage test reads them.
pub fn table() -> Vec<(&'static str, MethodRouter<SpeechService>)> {
    vec![
        ("/v1/audio/transcriptions", post(transcriptions)),
        ("/v1/audio/translations", post(translations)),
    ]
}

/// The audio routes; the body limit follows `config.max_upload_bytes`.
pub fn routes(config: &SpeechConfig) -> Router<SpeechService> {
    table()
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        })
        .layer(DefaultBodyLimit::max(
            config.max_upload_bytes.saturating_add(FORM_OVERHEAD),
        ))
}

/// Transcribe audio into text in its own language.
///
/// OpenAI-compatible (`/v1/audio/transcriptions`): upload the file as
/// `multipart/form-data`; the answer is in `response_format`, or streamed as
/// server-sent events with `stream=true`.
#[utoipa::path(
    post,
    path = "/v1/audio/transcriptions",
    tag = "audio",
    operation_id = "createTranscription",
    request_body(content = crate::openapi::AudioForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The result in the chosen `response_format`: `application/json` for json and verbose_json, `text/plain` for text and srt, `text/vtt` for vtt. With `stream=true`, `text/event-stream`: one `data: <TranscriptionStreamEvent JSON>` line per event, deltas then one done (or error) event.",
            content(
                (crate::openapi::TranscriptionResponse = "application/json"),
                (String = "text/plain", example = "He was not an ill disposed young man.\n"),
                (String = "text/vtt", example = "WEBVTT\n\n00:00:00.000 --> 00:00:04.200\nHe was not an ill disposed young man.\n\n"),
                (stream::StreamEvent = "text/event-stream")
            ),
            headers(("x-stratus-usage-audio-seconds" = String,
                description = "Seconds of audio processed (e.g. `4.200`): what the request is metered by."))),
        stratus_kit::openapi::ModelErrors,
    )
)]
pub async fn transcriptions(
    State(service): State<SpeechService>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    Ok(handle(service, multipart.map_err(not_multipart)?, Task::Transcribe).await?)
}

/// Translate speech into English text.
///
/// OpenAI-compatible (`/v1/audio/translations`): the same form as a
/// transcription (a multilingual model is needed); the text is English
/// whatever was spoken.
#[utoipa::path(
    post,
    path = "/v1/audio/translations",
    tag = "audio",
    operation_id = "createTranslation",
    request_body(content = crate::openapi::AudioForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The result in the chosen `response_format`: `application/json` for json and verbose_json, `text/plain` for text and srt, `text/vtt` for vtt. With `stream=true`, `text/event-stream`: one `data: <TranscriptionStreamEvent JSON>` line per event, deltas then one done (or error) event.",
            content(
                (crate::openapi::TranscriptionResponse = "application/json"),
                (String = "text/plain", example = "He was not an ill disposed young man.\n"),
                (String = "text/vtt", example = "WEBVTT\n\n00:00:00.000 --> 00:00:04.200\nHe was not an ill disposed young man.\n\n"),
                (stream::StreamEvent = "text/event-stream")
            ),
            headers(("x-stratus-usage-audio-seconds" = String,
                description = "Seconds of audio processed (e.g. `4.200`): what the request is metered by."))),
        stratus_kit::openapi::ModelErrors,
    )
)]
pub async fn translations(
    State(service): State<SpeechService>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    Ok(handle(service, multipart.map_err(not_multipart)?, Task::Translate).await?)
}

pub(crate) fn not_multipart(rejection: MultipartRejection) -> ApiError {
    ApiError::unsupported_media_type(format!(
        "expected a `multipart/form-data` body with a `file` field: {}",
        rejection.body_text()
    ))
}

async fn handle(
    service: SpeechService,
    multipart: Multipart,
    task: Task,
) -> Result<Response, SpeechError> {
    let config = &service.config;
    let form = form::read(multipart, config.max_upload_bytes).await?;
    let model = choose_model(&service, &form.model, task)?;
    check_language(&model, form.language.as_deref())?;
    let worker = service
        .whisper
        .get(&model.name)
        .ok_or(SpeechError::NoModelYet)?;

    let limits = Limits {
        max_seconds: config.max_audio_seconds,
        max_decoded_samples: config.max_decoded_samples,
    };
    let started = Instant::now();
    let upload = form.file.clone();
    // The audio's seconds come from the server's budget before its samples
    // exist (503 when they cannot), and stay taken until the model is done
    // with the samples: the reservation travels with them.
    let mut reservation = service.audio_budget.reservation();
    let (decoded, reservation) = tokio::task::spawn_blocking(move || {
        audio::decode(
            upload.bytes,
            upload.filename.as_deref(),
            upload.content_type.as_deref(),
            limits,
            &mut reservation,
        )
        .map(|decoded| (decoded, reservation))
    })
    .await
    .map_err(|e| SpeechError::Join(e.to_string()))??;
    let decode_s = started.elapsed().as_secs_f64();

    let options = options_for(&form, task, config);
    if form.stream {
        let duration = decoded.seconds();
        let mut response = stream::respond(
            &worker,
            decoded.samples,
            reservation,
            options,
            duration,
            model.name.clone(),
        )?;
        set_model_header(&mut response, &model.name);
        return Ok(response);
    }
    let samples = decoded.samples;
    let started = Instant::now();
    let transcript = worker
        .run(move |whisper| {
            let transcript = whisper.transcribe(&samples, &options);
            drop(samples);
            drop(reservation);
            transcript
        })
        .await??;
    let infer_s = started.elapsed().as_secs_f64();
    tracing::info!(
        model = %model.name,
        task = ?task,
        format = ?form.response_format,
        audio_s = transcript.duration,
        source_rate = decoded.source_rate,
        source_channels = decoded.source_channels,
        decode_s,
        infer_s,
        real_time_factor = transcript.duration / infer_s.max(1e-9),
        temperature = form.temperature,
        "transcribed"
    );
    let mut response = respond(
        &transcript,
        task,
        form.response_format,
        form.word_granularity,
    );
    set_model_header(&mut response, &model.name);
    Ok(response)
}

/// Name the model that served the request in `x-stratus-model`, for the
/// gateway's metering.
fn set_model_header(response: &mut Response, model: &str) {
    if let Ok(value) = HeaderValue::from_str(model) {
        response.headers_mut().insert(usage::MODEL, value);
    }
}

/// The model a request names; `whisper-1` is the first loaded model that
/// can do the task.
pub(crate) fn choose_model(
    service: &SpeechService,
    name: &str,
    task: Task,
) -> Result<ModelInfo, SpeechError> {
    let loaded = service.infos.list();
    let can = |m: &ModelInfo| task == Task::Transcribe || m.multilingual;
    if name == DEFAULT_ALIAS {
        return match loaded.iter().find(|m| can(m)) {
            Some(m) => Ok(m.clone()),
            None => Err(match loaded.first() {
                Some(m) => SpeechError::NotMultilingual(m.name.clone()),
                None => SpeechError::NoModelYet,
            }),
        };
    }
    let model =
        loaded
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| SpeechError::UnknownModel {
                name: name.to_owned(),
                loaded: std::iter::once(DEFAULT_ALIAS)
                    .chain(loaded.iter().map(|m| m.name.as_str()))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
    if !can(model) {
        return Err(SpeechError::NotMultilingual(model.name.clone()));
    }
    Ok(model.clone())
}

/// A language the model cannot take is the client's mistake: say so
/// before decoding anything.
pub(crate) fn check_language(model: &ModelInfo, language: Option<&str>) -> Result<(), SpeechError> {
    match language {
        Some(code) if !model.languages.iter().any(|l| l == code) => Err(SpeechError::Invalid {
            param: "language",
            message: if model.multilingual {
                format!("model `{}` does not know language `{code}`", model.name)
            } else {
                format!(
                    "model `{}` is English-only; language `{code}` needs a multilingual model",
                    model.name
                )
            },
        }),
        _ => Ok(()),
    }
}

fn options_for(form: &AudioForm, task: Task, config: &SpeechConfig) -> TranscribeOptions {
    let defaults = TranscribeOptions::default();
    TranscribeOptions {
        task,
        // Translation output is English whatever was said; the language
        // field names what was spoken.
        language: form.language.clone(),
        prompt: form.prompt.clone().map(Prompt::Text),
        // Never `timestamps`: the decode is the same whatever the format
        // (the one the WER gates measure), and segments are timed apart.
        segment_times: form.response_format.needs_segment_times() || form.segment_granularity,
        word_timestamps: form.word_granularity,
        // OpenAI: "if set to 0, the model will use log probability to
        // automatically increase the temperature until certain thresholds
        // are hit"; any other value is used as it is.
        temperatures: match form.temperature {
            Some(t) if t > 0.0 => vec![t],
            _ => defaults.temperatures.clone(),
        },
        vad: config.vad.then(VadOptions::default),
        ..defaults
    }
}

fn respond(
    transcript: &Transcript,
    task: Task,
    format: ResponseFormat,
    with_words: bool,
) -> Response {
    let usage = format::Usage::duration(transcript.duration);
    let mut response = match format {
        ResponseFormat::Json => axum::Json(format::JsonBody {
            text: &transcript.text,
            usage,
        })
        .into_response(),
        ResponseFormat::VerboseJson => {
            axum::Json(format::verbose(transcript, task, with_words)).into_response()
        }
        ResponseFormat::Text => plain(
            format!("{}\n", transcript.text),
            "text/plain; charset=utf-8",
        ),
        ResponseFormat::Srt => plain(format::srt(transcript), "text/plain; charset=utf-8"),
        ResponseFormat::Vtt => plain(format::vtt(transcript), "text/vtt; charset=utf-8"),
    };
    if let Ok(value) = HeaderValue::from_str(&format!("{:.3}", transcript.duration)) {
        response.headers_mut().insert(usage::AUDIO_SECONDS, value);
    }
    response
}

fn plain(body: String, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
