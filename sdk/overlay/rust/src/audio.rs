//! Transcription and translation: the audio upload ([`AudioFile`]), its
//! form fields ([`AudioOptions`]), and a result type per `response_format`
//! ([`ResponseFormat`]: [`Json`] → [`Transcription`], [`VerboseJson`] →
//! [`TranscriptionVerbose`], [`Text`], [`Srt`], [`Vtt`] → `String`).

use std::path::Path;

use reqwest::Method;

use crate::client::{Stratus, WithRawResponse, decode, read_raw};
use crate::error::Error;
use crate::models::{
    ResponseFormatName, TimestampGranularity, Transcription, TranscriptionVerbose,
};
use crate::raw::Raw;
use crate::stream::TranscriptionStream;

/// An audio file to upload: its bytes and name. Held in memory (uploads are
/// at most 25 MiB by default) so that a retried request can send it again.
#[derive(Debug, Clone)]
pub struct AudioFile {
    data: Vec<u8>,
    file_name: String,
}

impl AudioFile {
    /// The bytes of an audio file, named `file_name` (its extension helps
    /// the server tell the format).
    pub fn from_bytes(file_name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        let data = bytes.into();
        Self {
            data,
            file_name: file_name.into(),
        }
    }

    /// Read an audio file from disk.
    pub async fn from_path(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let data = tokio::fs::read(path).await.map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "audio".to_string());
        Ok(Self::from_bytes(name, data))
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn part(&self) -> reqwest::multipart::Part {
        reqwest::multipart::Part::bytes(self.data.clone()).file_name(self.file_name.clone())
    }
}

/// The form fields of a transcription or translation besides the file and
/// the format (OpenAI's names). `Default` is `model = whisper-1` (the
/// default speech model) and the server's defaults for the rest.
#[derive(Debug, Clone, Default)]
pub struct AudioOptions {
    /// A loaded speech model (`GET /v1/models`); `None` sends `whisper-1`.
    pub model: Option<String>,
    /// ISO-639-1 code of the spoken language; detected when `None`.
    pub language: Option<String>,
    /// Text that precedes the audio, to steer spelling and style.
    pub prompt: Option<String>,
    /// Sampling temperature, 0 to 1.
    pub temperature: Option<f32>,
    /// `segment` and/or `word` with `verbose_json`.
    pub timestamp_granularities: Vec<TimestampGranularity>,
}

impl AudioOptions {
    /// Options with `model`.
    pub fn model(model: impl Into<String>) -> Self {
        Self {
            model: Some(model.into()),
            ..Self::default()
        }
    }

    pub(crate) fn form(
        &self,
        file: &AudioFile,
        format: ResponseFormatName,
    ) -> reqwest::multipart::Form {
        let mut form = reqwest::multipart::Form::new()
            .part("file", file.part())
            .text(
                "model",
                self.model.clone().unwrap_or_else(|| "whisper-1".into()),
            )
            .text("response_format", format.to_string());
        if let Some(language) = &self.language {
            form = form.text("language", language.clone());
        }
        if let Some(prompt) = &self.prompt {
            form = form.text("prompt", prompt.clone());
        }
        if let Some(temperature) = self.temperature {
            form = form.text("temperature", temperature.to_string());
        }
        for granularity in &self.timestamp_granularities {
            form = form.text("timestamp_granularities[]", granularity.to_string());
        }
        form
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A `response_format` and the type its result reads as: the type
/// parameter of [`Stratus::transcribe_as`], [`Stratus::translate_as`] and
/// [`crate::JobResult::result_as`].
pub trait ResponseFormat: sealed::Sealed {
    /// What the result reads as.
    type Output;
    /// The form value.
    const NAME: ResponseFormatName;
    /// The result from the answer's body.
    fn parse(body: &[u8]) -> Result<Self::Output, Error>;
    /// The result from a job's `result` (JSON for `json`/`verbose_json`, a
    /// string otherwise).
    fn from_value(value: serde_json::Value) -> Result<Self::Output, Error>;
}

macro_rules! formats {
    ($($(#[$doc:meta])* $marker:ident => $name:ident, $output:ty, $kind:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $marker;
        impl sealed::Sealed for $marker {}
        impl ResponseFormat for $marker {
            type Output = $output;
            const NAME: ResponseFormatName = ResponseFormatName::$name;
            fn parse(body: &[u8]) -> Result<$output, Error> {
                formats!(@parse $kind body)
            }
            fn from_value(value: serde_json::Value) -> Result<$output, Error> {
                formats!(@value $kind value)
            }
        }
    )*};
    (@parse json $body:ident) => { decode($body) };
    (@parse text $body:ident) => {
        String::from_utf8($body.to_vec()).map_err(|e| Error::Decode(e.to_string()))
    };
    (@value json $value:ident) => {
        serde_json::from_value($value).map_err(|e| Error::Decode(format!("job result: {e}")))
    };
    (@value text $value:ident) => {
        match $value {
            serde_json::Value::String(text) => Ok(text),
            other => Err(Error::Decode(format!("job result: a string expected, got {other}"))),
        }
    };
}

formats! {
    /// `json` (the default): the text and usage.
    Json => Json, Transcription, json;
    /// `verbose_json`: language, duration, segments (and words when asked for).
    VerboseJson => VerboseJson, TranscriptionVerbose, json;
    /// `text`: the plain text.
    Text => Text, String, text;
    /// `srt`: SubRip subtitles.
    Srt => Srt, String, text;
    /// `vtt`: WebVTT subtitles.
    Vtt => Vtt, String, text;
}

/// A result whose format is known only at run time (a job's).
#[derive(Debug, Clone, PartialEq)]
pub enum TranscriptionOutput {
    /// `json`.
    Json(Transcription),
    /// `verbose_json`.
    Verbose(TranscriptionVerbose),
    /// `text`, `srt` or `vtt`, as the server wrote it.
    Text(String),
}

impl TranscriptionOutput {
    /// The text, whatever the format (subtitles as written).
    pub fn text(&self) -> &str {
        match self {
            TranscriptionOutput::Json(t) => &t.text,
            TranscriptionOutput::Verbose(t) => &t.text,
            TranscriptionOutput::Text(t) => t,
        }
    }

    /// A job's `result` written in `format`.
    pub fn from_value(format: &str, value: serde_json::Value) -> Result<Self, Error> {
        Ok(match format {
            "json" => TranscriptionOutput::Json(Json::from_value(value)?),
            "verbose_json" => TranscriptionOutput::Verbose(VerboseJson::from_value(value)?),
            _ => TranscriptionOutput::Text(Text::from_value(value)?),
        })
    }
}

const TRANSCRIPTIONS: &str = "/v1/audio/transcriptions";
const TRANSLATIONS: &str = "/v1/audio/translations";

impl Stratus {
    /// Transcribe audio (`POST /v1/audio/transcriptions`, `json`).
    pub async fn transcribe(
        &self,
        file: &AudioFile,
        options: &AudioOptions,
    ) -> Result<Transcription, Error> {
        self.transcribe_as::<Json>(file, options).await
    }

    /// Transcribe with segments (and words, when `timestamp_granularities`
    /// asks for them): `verbose_json`.
    pub async fn transcribe_verbose(
        &self,
        file: &AudioFile,
        options: &AudioOptions,
    ) -> Result<TranscriptionVerbose, Error> {
        self.transcribe_as::<VerboseJson>(file, options).await
    }

    /// Transcribe in format `F`: `stratus.transcribe_as::<Srt>(…)` is a `String`.
    pub async fn transcribe_as<F: ResponseFormat>(
        &self,
        file: &AudioFile,
        options: &AudioOptions,
    ) -> Result<F::Output, Error> {
        self.with_raw_response()
            .transcribe_as::<F>(file, options)
            .await
            .map(Raw::into_inner)
    }

    /// Translate speech into English text (`POST /v1/audio/translations`,
    /// `json`; needs a multilingual model).
    pub async fn translate(
        &self,
        file: &AudioFile,
        options: &AudioOptions,
    ) -> Result<Transcription, Error> {
        self.translate_as::<Json>(file, options).await
    }

    /// Translate in format `F`.
    pub async fn translate_as<F: ResponseFormat>(
        &self,
        file: &AudioFile,
        options: &AudioOptions,
    ) -> Result<F::Output, Error> {
        self.with_raw_response()
            .translate_as::<F>(file, options)
            .await
            .map(Raw::into_inner)
    }

    /// Transcribe with `stream=true`: a [`futures_util::Stream`] of typed
    /// events while the audio is decoded. An error before the stream starts
    /// is this call's; one after is an item of the stream.
    pub async fn stream_transcription(
        &self,
        file: &AudioFile,
        options: &AudioOptions,
    ) -> Result<TranscriptionStream, Error> {
        let request = self
            .http
            // No whole-request timeout: a stream lasts as long as the audio
            // takes; the client's read timeout bounds each wait.
            .post(format!("{}{}", self.base_url(), TRANSCRIPTIONS))
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .multipart(
                options
                    .form(file, ResponseFormatName::Json)
                    .text("stream", "true"),
            );
        let response = self.send(request).await?;
        Ok(TranscriptionStream::new(response))
    }
}

impl WithRawResponse<'_> {
    /// [`Stratus::transcribe_as`] with the response.
    pub async fn transcribe_as<F: ResponseFormat>(
        &self,
        file: &AudioFile,
        options: &AudioOptions,
    ) -> Result<Raw<F::Output>, Error> {
        self.audio::<F>(TRANSCRIPTIONS, file, options).await
    }

    /// [`Stratus::translate_as`] with the response.
    pub async fn translate_as<F: ResponseFormat>(
        &self,
        file: &AudioFile,
        options: &AudioOptions,
    ) -> Result<Raw<F::Output>, Error> {
        self.audio::<F>(TRANSLATIONS, file, options).await
    }

    async fn audio<F: ResponseFormat>(
        &self,
        path: &str,
        file: &AudioFile,
        options: &AudioOptions,
    ) -> Result<Raw<F::Output>, Error> {
        let request = self
            .0
            .request(Method::POST, path)
            .multipart(options.form(file, F::NAME));
        read_raw(self.0.send(request).await?, F::parse).await
    }
}
