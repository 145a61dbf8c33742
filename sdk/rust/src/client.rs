//! [`Stratus`]: the client. One `reqwest` client with the API key, base URL
//! and timeouts; every request goes through [`Stratus::send`], which resends
//! answers 429/503 after the wait `Retry-After` asks for and turns error
//! answers into [`ApiError`]s with the envelope. Request and response bodies
//! are the generated [`crate::models`]; the audio operations (multipart
//! upload, streaming) are written here because the generated Rust
//! operations stream uploads from disk (so they cannot be resent) and read
//! only JSON answers.

use std::path::Path;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Error};
use crate::models::{
    ClassifyRequest, ClassifyResponse, DetectRequest, DetectResponse, EmbeddingsRequest,
    EmbeddingsResponse, EntitiesResponse, KeyPhrasesRequest, KeyPhrasesResponse, ModelList,
    PiiRequest, ResponseFormatName, SummarizeRequest, SummarizeResponse, TimestampGranularity,
    Transcription, TranscriptionResponse, TranscriptionVerbose,
};
use crate::retry::{X_SHOULD_RETRY, retry_after, retry_delay, retryable};
use crate::stream::TranscriptionStream;

/// Where a client goes when neither the builder nor `STRATUS_BASE_URL` says.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";

/// Settings of a [`Stratus`] client; [`Stratus::builder`] starts one.
#[derive(Debug, Clone)]
pub struct StratusBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    max_retries: u32,
    backoff: Duration,
    max_retry_wait: Duration,
    user_agent: String,
}

impl Default for StratusBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: None,
            // Transcribing an hour of audio on a CPU takes minutes.
            timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
            max_retries: 3,
            backoff: Duration::from_millis(500),
            max_retry_wait: Duration::from_secs(60),
            user_agent: concat!("stratus-client-rust/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

impl StratusBuilder {
    /// The API key (`sk_…`); default `$STRATUS_API_KEY`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The server; default `$STRATUS_BASE_URL`, else `http://127.0.0.1:8080`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Longest a request may take, answer included (default 10 minutes).
    /// For a stream it bounds the wait for each piece, not the whole stream.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest the connection may take to open (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many times a 429/503 answer is retried (default 3; 0 turns retries off).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// First wait of the exponential backoff when no `Retry-After` came (default 0.5 s).
    pub fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Longest single wait between attempts, whatever `Retry-After` says (default 60 s).
    pub fn max_retry_wait(mut self, wait: Duration) -> Self {
        self.max_retry_wait = wait;
        self
    }

    /// The client.
    pub fn build(self) -> Result<Stratus, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.timeout)
            .user_agent(self.user_agent)
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        let api_key = self
            .api_key
            .or_else(|| std::env::var("STRATUS_API_KEY").ok())
            .filter(|k| !k.is_empty());
        if let Some(key) = &api_key {
            reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
                .map_err(|_| Error::Config("the API key is not a valid header value".into()))?;
        }
        let base_url = self
            .base_url
            .or_else(|| std::env::var("STRATUS_BASE_URL").ok())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
            .trim_end_matches('/')
            .to_string();
        Ok(Stratus {
            http,
            base_url,
            api_key,
            timeout: self.timeout,
            max_retries: self.max_retries,
            backoff: self.backoff,
            max_retry_wait: self.max_retry_wait,
        })
    }
}

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
        Self { data, file_name: file_name.into() }
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

/// The form fields of a transcription or translation besides the file
/// (OpenAI's names). `Default` is `model = whisper-1` (the default speech
/// model) and the server's defaults for the rest.
#[derive(Debug, Clone, Default)]
pub struct AudioOptions {
    /// A loaded speech model (`GET /v1/models`); `None` sends `whisper-1`.
    pub model: Option<String>,
    /// ISO-639-1 code of the spoken language; detected when `None`.
    pub language: Option<String>,
    /// Text that precedes the audio, to steer spelling and style.
    pub prompt: Option<String>,
    /// Output format (default `json`).
    pub response_format: Option<ResponseFormatName>,
    /// Sampling temperature, 0 to 1.
    pub temperature: Option<f32>,
    /// `segment` and/or `word` with `verbose_json`.
    pub timestamp_granularities: Vec<TimestampGranularity>,
}

impl AudioOptions {
    fn form(&self, file: &AudioFile, stream: bool) -> reqwest::multipart::Form {
        let mut form = reqwest::multipart::Form::new()
            .part("file", file.part())
            .text("model", self.model.clone().unwrap_or_else(|| "whisper-1".into()));
        if let Some(language) = &self.language {
            form = form.text("language", language.clone());
        }
        if let Some(prompt) = &self.prompt {
            form = form.text("prompt", prompt.clone());
        }
        if let Some(format) = self.response_format {
            form = form.text("response_format", format.to_string());
        }
        if let Some(temperature) = self.temperature {
            form = form.text("temperature", temperature.to_string());
        }
        for granularity in &self.timestamp_granularities {
            form = form.text("timestamp_granularities[]", granularity.to_string());
        }
        if stream {
            form = form.text("stream", "true");
        }
        form
    }
}

/// The answer of a transcription or translation, by `response_format`.
#[derive(Debug, Clone, PartialEq)]
pub enum TranscriptionOutput {
    /// `json` (the default).
    Json(Transcription),
    /// `verbose_json`: language, duration, segments (and words).
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
}

/// A Stratus client: cheap to clone, share it.
#[derive(Debug, Clone)]
pub struct Stratus {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    timeout: Duration,
    max_retries: u32,
    backoff: Duration,
    max_retry_wait: Duration,
}

impl Stratus {
    /// Settings to build a client from.
    pub fn builder() -> StratusBuilder {
        StratusBuilder::default()
    }

    /// A client with `api_key` and the defaults (base URL from
    /// `$STRATUS_BASE_URL`, else `http://127.0.0.1:8080`).
    pub fn new(api_key: impl Into<String>) -> Result<Self, Error> {
        Self::builder().api_key(api_key).build()
    }

    /// The server this client talks to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Send the request `make` builds (again for each attempt: a multipart
    /// body cannot be cloned), with the key; resend it on 429/503 (unless the
    /// server said `x-should-retry: false`) after the wait `Retry-After` asks
    /// for; an error answer becomes [`Error::Api`].
    pub async fn send(&self, make: impl Fn() -> RequestBuilder) -> Result<Response, Error> {
        let mut attempt = 0;
        loop {
            let mut request = make();
            if let Some(key) = &self.api_key {
                request = request.bearer_auth(key);
            }
            let response = request.send().await.map_err(Error::Connection)?;
            let status = response.status().as_u16();
            let after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
            let said = response.headers().get(X_SHOULD_RETRY).and_then(|v| v.to_str().ok());
            if retryable(status, said) && attempt < self.max_retries {
                drop(response);
                tokio::time::sleep(retry_delay(after.as_deref(), attempt, self.backoff, self.max_retry_wait)).await;
                attempt += 1;
                continue;
            }
            if status >= 400 {
                let body = response.bytes().await.map_err(Error::Connection)?;
                return Err(ApiError::from_body(status, &body, retry_after(after.as_deref())).into());
            }
            return Ok(response);
        }
    }

    /// A request to `path` (from the base URL), with the whole-request timeout.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{}", self.base_url, path)).timeout(self.timeout)
    }

    /// POST `body` as JSON to `path`; the answer read as `T`.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, Error> {
        let response = self.send(|| self.request(Method::POST, path).json(body)).await?;
        read_json(response).await
    }

    /// GET `path` (with `query`); the answer read as `T`.
    pub async fn get_json<Q: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, query: &Q) -> Result<T, Error> {
        let response = self.send(|| self.request(Method::GET, path).query(query)).await?;
        read_json(response).await
    }

    // -- audio ---------------------------------------------------------------

    /// Transcribe audio (`POST /v1/audio/transcriptions`, multipart).
    pub async fn transcribe(&self, file: &AudioFile, options: &AudioOptions) -> Result<TranscriptionOutput, Error> {
        self.audio("/v1/audio/transcriptions", file, options).await
    }

    /// Translate speech into English text (`POST /v1/audio/translations`;
    /// needs a multilingual model).
    pub async fn translate(&self, file: &AudioFile, options: &AudioOptions) -> Result<TranscriptionOutput, Error> {
        self.audio("/v1/audio/translations", file, options).await
    }

    /// Transcribe with `stream=true`: the text arrives as server-sent events
    /// while the audio is decoded.
    pub async fn stream_transcription(&self, file: &AudioFile, options: &AudioOptions) -> Result<TranscriptionStream, Error> {
        let path = "/v1/audio/transcriptions";
        let response = self
            .send(|| {
                // No whole-request timeout: a stream lasts as long as the
                // audio takes; the client's read timeout bounds each wait.
                self.http
                    .post(format!("{}{}", self.base_url, path))
                    .header(reqwest::header::ACCEPT, "text/event-stream")
                    .multipart(options.form(file, true))
            })
            .await?;
        Ok(TranscriptionStream::new(response))
    }

    async fn audio(&self, path: &str, file: &AudioFile, options: &AudioOptions) -> Result<TranscriptionOutput, Error> {
        let response = self.send(|| self.request(Method::POST, path).multipart(options.form(file, false))).await?;
        let json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Ok(TranscriptionOutput::Text(response.text().await.map_err(Error::Connection)?));
        }
        Ok(match read_json::<TranscriptionResponse>(response).await? {
            TranscriptionResponse::VerboseJson(v) => TranscriptionOutput::Verbose(*v),
            TranscriptionResponse::Json(t) => TranscriptionOutput::Json(*t),
        })
    }

    // -- language --------------------------------------------------------------

    /// Embeddings of one text or a list (`POST /v1/embeddings`).
    pub async fn embed(&self, request: &EmbeddingsRequest) -> Result<EmbeddingsResponse, Error> {
        self.post_json("/v1/embeddings", request).await
    }

    /// The language of each document (`POST /v1/language/detect`).
    pub async fn detect_language(&self, request: &DetectRequest) -> Result<DetectResponse, Error> {
        self.post_json("/v1/language/detect", request).await
    }

    /// Personal data in each document, and its redacted text (`POST /v1/language/pii`).
    pub async fn redact_pii(&self, request: &PiiRequest) -> Result<EntitiesResponse, Error> {
        self.post_json("/v1/language/pii", request).await
    }

    /// Named entities of each document (`POST /v1/language/entities`).
    pub async fn recognize_entities(&self, request: &PiiRequest) -> Result<EntitiesResponse, Error> {
        self.post_json("/v1/language/entities", request).await
    }

    /// Key phrases of each document (`POST /v1/language/key-phrases`).
    pub async fn extract_key_phrases(&self, request: &KeyPhrasesRequest) -> Result<KeyPhrasesResponse, Error> {
        self.post_json("/v1/language/key-phrases", request).await
    }

    /// Labels of each document (`POST /v1/language/classify`).
    pub async fn classify(&self, request: &ClassifyRequest) -> Result<ClassifyResponse, Error> {
        self.post_json("/v1/language/classify", request).await
    }

    /// A summary of each document (`POST /v1/language/summarize`).
    pub async fn summarize(&self, request: &SummarizeRequest) -> Result<SummarizeResponse, Error> {
        self.post_json("/v1/language/summarize", request).await
    }

    /// The models this deployment serves (`GET /v1/models`).
    pub async fn list_models(&self) -> Result<ModelList, Error> {
        self.get_json("/v1/models", &()).await
    }
}

async fn read_json<T: DeserializeOwned>(response: Response) -> Result<T, Error> {
    let body = response.bytes().await.map_err(Error::Connection)?;
    serde_json::from_slice(&body).map_err(|e| {
        let start = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        Error::Decode(format!("{e} in `{start}`"))
    })
}
