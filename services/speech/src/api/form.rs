//! OpenAI's multipart form for `/v1/audio/transcriptions` and
//! `/translations`, read and checked into an [`AudioForm`].
//!
//! The file is read chunk by chunk and counted, so an upload over the limit
//! is refused with 413 without ever being held whole. Fields OpenAI defines
//! that are not served yet are refused by name rather than ignored, so a
//! client never silently gets less than it asked for.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};

use super::languages;
use crate::SpeechError;

/// Largest text field (the prompt is the only long one; Whisper keeps at
/// most 223 tokens of it anyway).
const MAX_TEXT_FIELD: usize = 64 * 1024;

/// How the result is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    Json,
    Text,
    Srt,
    Vtt,
    VerboseJson,
}

impl ResponseFormat {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "json" => Self::Json,
            "text" => Self::Text,
            "srt" => Self::Srt,
            "vtt" => Self::Vtt,
            "verbose_json" => Self::VerboseJson,
            _ => return None,
        })
    }

    /// The name a client sends.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Text => "text",
            Self::Srt => "srt",
            Self::Vtt => "vtt",
            Self::VerboseJson => "verbose_json",
        }
    }

    /// Whether the format is JSON (else plain text).
    pub fn is_json(self) -> bool {
        matches!(self, Self::Json | Self::VerboseJson)
    }

    /// Whether the format shows segment times (then the model decodes with
    /// timestamp tokens).
    pub fn needs_segment_times(self) -> bool {
        matches!(self, Self::Srt | Self::Vtt | Self::VerboseJson)
    }
}

/// The uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    pub bytes: Bytes,
    pub filename: Option<String>,
    pub content_type: Option<String>,
}

/// A checked request.
#[derive(Debug, Clone)]
pub struct AudioForm {
    pub file: Upload,
    pub model: String,
    /// ISO-639-1 code, lowercase.
    pub language: Option<String>,
    pub prompt: Option<String>,
    pub response_format: ResponseFormat,
    /// `temperature`: absent or 0 lets the decoder fall back from 0 to
    /// higher temperatures when a window decodes badly (as OpenAI
    /// documents); above 0 fixes it.
    pub temperature: Option<f32>,
    /// `timestamp_granularities[]` included `segment`.
    pub segment_granularity: bool,
    /// `timestamp_granularities[]` included `word`.
    pub word_granularity: bool,
    /// `stream=true`: answer with server-sent events ([`super::stream`]).
    pub stream: bool,
    /// `task` (async jobs only: `transcribe` or `translate`; the
    /// synchronous endpoints ignore it, their path says the task).
    pub task: Option<String>,
    /// `webhook_url` (async jobs only).
    pub webhook_url: Option<String>,
}

fn multipart_error(e: MultipartError) -> SpeechError {
    SpeechError::Multipart {
        too_large: e.status() == StatusCode::PAYLOAD_TOO_LARGE,
        message: e.body_text(),
    }
}

fn invalid(param: &'static str, message: impl Into<String>) -> SpeechError {
    SpeechError::Invalid {
        param,
        message: message.into(),
    }
}

/// Read the form; the file may be at most `max_upload` bytes.
pub async fn read(mut multipart: Multipart, max_upload: usize) -> Result<AudioForm, SpeechError> {
    let mut file = None;
    let mut model = None;
    let mut language = None;
    let mut prompt = None;
    let mut response_format = ResponseFormat::Json;
    let mut temperature = None;
    let mut segment_granularity = false;
    let mut word_granularity = false;
    let mut stream = false;
    let mut task = None;
    let mut webhook_url = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let filename = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let mut bytes = BytesMut::new();
            let mut over = false;
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                // Past the limit, keep reading (to the router's body limit,
                // a little above this one) without keeping anything, so the
                // client hears the 413 instead of a reset connection.
                if over || bytes.len() + chunk.len() > max_upload {
                    over = true;
                    continue;
                }
                bytes.extend_from_slice(&chunk);
            }
            if over {
                return Err(SpeechError::UploadTooLarge { limit: max_upload });
            }
            file = Some(Upload {
                bytes: bytes.freeze(),
                filename,
                content_type,
            });
            continue;
        }
        let value = text(&mut field, &name).await?;
        match name.as_str() {
            "model" => model = Some(value.trim().to_owned()),
            "language" => {
                let code = value.trim().to_ascii_lowercase();
                if !code.is_empty() {
                    language = Some(code);
                }
            }
            "prompt" => prompt = Some(value).filter(|p| !p.trim().is_empty()),
            "response_format" => {
                response_format = ResponseFormat::parse(value.trim()).ok_or_else(|| {
                    invalid(
                        "response_format",
                        format!(
                            "`response_format` must be one of json, text, srt, vtt, verbose_json; got `{value}`"
                        ),
                    )
                })?;
            }
            "temperature" => {
                temperature = value
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|t| (0.0..=1.0).contains(t))
                    .map(Some)
                    .ok_or_else(|| {
                        invalid(
                            "temperature",
                            format!("`temperature` must be a number from 0 to 1; got `{value}`"),
                        )
                    })?;
            }
            "timestamp_granularities[]" | "timestamp_granularities" => match value.trim() {
                "segment" => segment_granularity = true,
                "word" => word_granularity = true,
                other => {
                    return Err(invalid(
                        "timestamp_granularities[]",
                        format!(
                            "`timestamp_granularities[]` takes `segment` or `word`; got `{other}`"
                        ),
                    ));
                }
            },
            "stream" => {
                stream = match value.trim() {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(invalid(
                            "stream",
                            format!("`stream` must be `true` or `false`; got `{other}`"),
                        ));
                    }
                };
            }
            "task" => task = Some(value.trim().to_owned()),
            "webhook_url" => webhook_url = Some(value.trim().to_owned()).filter(|u| !u.is_empty()),
            // OpenAI's other fields (`chunking_strategy`, `include[]`)
            // change nothing here.
            _ => {}
        }
    }
    let file = file.ok_or(SpeechError::Missing("file"))?;
    let model = model
        .filter(|m| !m.is_empty())
        .ok_or(SpeechError::Missing("model"))?;
    if let Some(code) = &language
        && !languages::is_known(code)
    {
        return Err(invalid(
            "language",
            format!(
                "`language` must be an ISO-639-1 code Whisper knows (e.g. `en`, `de`); got `{code}`"
            ),
        ));
    }
    if (segment_granularity || word_granularity) && response_format != ResponseFormat::VerboseJson {
        return Err(invalid(
            "timestamp_granularities[]",
            "`timestamp_granularities[]` needs `response_format=verbose_json`",
        ));
    }
    // Like OpenAI: the events carry text only, so the formats made of
    // segments and times cannot stream.
    if stream && !matches!(response_format, ResponseFormat::Json | ResponseFormat::Text) {
        return Err(invalid(
            "stream",
            "`stream=true` works with `response_format` json or text only; the other formats need the whole transcript",
        ));
    }
    Ok(AudioForm {
        file,
        model,
        language,
        prompt,
        response_format,
        temperature,
        segment_granularity,
        word_granularity,
        stream,
        task,
        webhook_url,
    })
}

/// A text field, at most [`MAX_TEXT_FIELD`] bytes of UTF-8.
async fn text(
    field: &mut axum::extract::multipart::Field<'_>,
    name: &str,
) -> Result<String, SpeechError> {
    let param = static_param(name);
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(invalid(
                param,
                format!("`{name}` is longer than {MAX_TEXT_FIELD} bytes"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| invalid(param, format!("`{name}` is not UTF-8 text")))
}

/// The `param` of an error about field `name` (known fields by name).
fn static_param(name: &str) -> &'static str {
    match name {
        "model" => "model",
        "language" => "language",
        "prompt" => "prompt",
        "response_format" => "response_format",
        "temperature" => "temperature",
        "timestamp_granularities[]" | "timestamp_granularities" => "timestamp_granularities[]",
        "stream" => "stream",
        "task" => "task",
        "webhook_url" => "webhook_url",
        _ => "form",
    }
}
