//! The speech service's OpenAPI document: the operations annotated on the
//! handlers of [`crate::api`], and the schema of the multipart form they
//! read by hand ([`crate::api::form`] streams the file instead of
//! deserializing a struct, so the form is described here, field by field,
//! with the same names and limits).

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::api;

/// `response_format`: how the result is written.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormatName {
    /// `{"text", "usage"}` (the default).
    Json,
    /// The text and a newline, `text/plain`.
    Text,
    /// SubRip subtitles, `text/plain`.
    Srt,
    /// WebVTT subtitles, `text/vtt`.
    Vtt,
    /// Text, language, duration and timed segments.
    VerboseJson,
}

/// `timestamp_granularities[]`: which timestamps `verbose_json` carries.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimestampGranularity {
    /// Segment start and end times (what is served).
    Segment,
    /// Word times: not available yet, refused with 400.
    Word,
}

/// The multipart form of `POST /v1/audio/transcriptions` and
/// `/v1/audio/translations` (OpenAI's fields).
#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "describes the form for the document; never built")]
pub struct AudioForm {
    /// The audio file: WAV, FLAC, MP3, OGG/Vorbis, M4A/AAC, WebM/MKV, AIFF,
    /// CAF; any sample rate and channel count. At most `--max-upload-bytes`
    /// (25 MiB by default; 413 above) and `--max-audio-seconds` long.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
    /// A loaded speech model (`GET /v1/models`), or `whisper-1` for the
    /// default one.
    #[schema(example = "whisper-1")]
    model: String,
    /// ISO-639-1 code of the spoken language (e.g. `en`); detected when
    /// omitted. English-only models accept only `en`.
    #[schema(example = "en")]
    language: Option<String>,
    /// Text that precedes the audio, to steer spelling and style (at most
    /// 64 KiB; Whisper keeps its last 223 tokens).
    prompt: Option<String>,
    /// Output format (default `json`). `stream=true` takes `json` or `text`.
    response_format: Option<ResponseFormatName>,
    /// Sampling temperature, 0 to 1 (decoding is greedy for now).
    #[schema(minimum = 0.0, maximum = 1.0, example = 0.0)]
    temperature: Option<f32>,
    /// `segment` with `response_format=verbose_json`.
    #[schema(rename = "timestamp_granularities[]")]
    timestamp_granularities: Option<TimestampGranularity>,
    /// `true`: answer with server-sent events (`text/event-stream`) as the
    /// audio is decoded; see `TranscriptionStreamEvent`.
    #[schema(example = false)]
    stream: Option<bool>,
}

/// `task` of an asynchronous job.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AudioJobTask {
    /// Text in the spoken language (the default).
    Transcribe,
    /// English text (a multilingual model is needed).
    Translate,
}

/// The multipart form of `POST /v1/audio/jobs`: the fields of
/// [`AudioForm`] (but `stream`, which jobs refuse) plus `task` and
/// `webhook_url`.
#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "describes the form for the document; never built")]
pub struct AudioJobForm {
    /// The audio file, as for `/v1/audio/transcriptions` (same limits).
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
    /// A loaded speech model (`GET /v1/models`), or `whisper-1` for the
    /// default one.
    #[schema(example = "whisper-1")]
    model: String,
    /// What to do with the audio (default `transcribe`).
    task: Option<AudioJobTask>,
    /// ISO-639-1 code of the spoken language; detected when omitted.
    #[schema(example = "en")]
    language: Option<String>,
    /// Text that precedes the audio, to steer spelling and style.
    prompt: Option<String>,
    /// Format of the job's `result` (default `json`).
    response_format: Option<ResponseFormatName>,
    /// Sampling temperature, 0 to 1.
    #[schema(minimum = 0.0, maximum = 1.0, example = 0.0)]
    temperature: Option<f32>,
    /// Timestamps of `verbose_json`, as for `/v1/audio/transcriptions`.
    #[schema(rename = "timestamp_granularities[]")]
    timestamp_granularities: Option<TimestampGranularity>,
    /// An `https` URL to POST the finished job to, signed with the
    /// tenant's webhook secret (`GET /v1/audio/webhook-secret`; refused
    /// when the server has no webhook key).
    /// Only public destinations: a host that is or resolves to a loopback,
    /// private, link-local or metadata address is refused (400 at submit,
    /// or a `failed` delivery when only its resolution shows it), unless the
    /// operator allowed it; `http` only where the operator allowed it.
    #[schema(example = "https://example.com/hooks/stratus")]
    webhook_url: Option<String>,
}

/// The JSON bodies of a transcription: `verbose_json` or `json`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TranscriptionResponse<'a> {
    #[schema(title = "verbose_json")]
    Verbose(api::format::VerboseBody<'a>),
    #[schema(title = "json")]
    Json(api::format::JsonBody<'a>),
}

#[derive(OpenApi)]
#[openapi(
    paths(
        api::transcriptions,
        api::translations,
        crate::jobs::api::submit,
        crate::jobs::api::list,
        crate::jobs::api::show,
        crate::jobs::api::cancel,
        crate::jobs::signing::show,
        crate::jobs::signing::rotate,
    ),
    tags((name = "audio", description = "Speech to text: OpenAI-compatible transcription and translation of uploaded audio, whole or streamed, or as asynchronous jobs for long audio."))
)]
struct SpeechDoc;

/// The speech service's public operations, with the shared parts of
/// [`stratus_kit::openapi`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = SpeechDoc::openapi();
    doc.merge(stratus_kit::openapi::openapi());
    doc
}
