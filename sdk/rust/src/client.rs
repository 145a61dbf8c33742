//! [`Stratus`]: the client. One `reqwest` client (API key, base URL,
//! timeouts) under a [`reqwest_middleware`] stack whose [`RetryMiddleware`]
//! resends 429/503 answers after the wait `Retry-After` asks for; every
//! call goes through [`Stratus::send`], which turns error answers into
//! [`ApiError`]s with the envelope. Request and response bodies are the
//! generated [`crate::models`]; the audio operations (multipart upload,
//! streaming) are written here because the generated Rust operations stream
//! uploads from disk (so they cannot be resent) and read only JSON answers.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest_middleware::{ClientWithMiddleware, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Error};
use crate::models::{
    ClassifyRequest, ClassifyResponse, DetectRequest, DetectResponse, EmbeddingsRequest,
    EmbeddingsResponse, EntitiesResponse, KeyPhrasesRequest, KeyPhrasesResponse, Model, ModelList,
    PiiRequest, SentimentRequest, SentimentResponse, SummarizeRequest, SummarizeResponse,
};
use crate::raw::Raw;
use crate::retry::{RetriesTaken, RetryMiddleware, retry_after};

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
        let api_key = self
            .api_key
            .or_else(|| std::env::var("STRATUS_API_KEY").ok())
            .filter(|k| !k.is_empty());
        let mut headers = HeaderMap::new();
        if let Some(key) = &api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
                .map_err(|_| Error::Config("the API key is not a valid header value".into()))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.timeout)
            .user_agent(self.user_agent)
            .default_headers(headers)
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        let http = reqwest_middleware::ClientBuilder::new(client)
            .with(RetryMiddleware::new(
                self.max_retries,
                self.backoff,
                self.max_retry_wait,
            ))
            .build();
        let base_url = self
            .base_url
            .or_else(|| std::env::var("STRATUS_BASE_URL").ok())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
            .trim_end_matches('/')
            .to_string();
        Ok(Stratus {
            http,
            base_url,
            has_key: api_key.is_some(),
            timeout: self.timeout,
        })
    }
}

/// A Stratus client: cheap to clone, share it.
#[derive(Debug, Clone)]
pub struct Stratus {
    pub(crate) http: ClientWithMiddleware,
    base_url: String,
    has_key: bool,
    timeout: Duration,
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

    /// Whether the client sends an API key.
    pub fn has_api_key(&self) -> bool {
        self.has_key
    }

    /// The same calls answering [`Raw`]: the typed result with the
    /// response's status and headers (request id, rate limits, usage).
    pub fn with_raw_response(&self) -> WithRawResponse<'_> {
        WithRawResponse(self)
    }

    /// A request to `path` (from the base URL), with the whole-request
    /// timeout; send it with [`Self::send`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base_url, path))
            .timeout(self.timeout)
    }

    /// Send `request` through the retry layer; an error answer (after the
    /// retries, for 429/503) becomes [`Error::Api`] with the envelope.
    pub async fn send(&self, request: RequestBuilder) -> Result<reqwest::Response, Error> {
        let response = request.send().await?;
        let status = response.status().as_u16();
        if status < 400 {
            return Ok(response);
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let after = header(RETRY_AFTER.as_str());
        let request_id = header("x-request-id");
        let retries_taken = response
            .extensions()
            .get::<RetriesTaken>()
            .map_or(0, |r| r.0);
        let body = response.bytes().await?;
        let mut error = ApiError::from_body(status, &body, retry_after(after.as_deref()));
        error.request_id = request_id;
        error.retries_taken = retries_taken;
        Err(error.into())
    }

    /// POST `body` as JSON to `path`; the answer read as `T`.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        self.with_raw_response()
            .post_json(path, body)
            .await
            .map(Raw::into_inner)
    }

    /// GET `path` (with `query`); the answer read as `T`.
    pub async fn get_json<Q: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, Error> {
        self.with_raw_response()
            .get_json(path, query)
            .await
            .map(Raw::into_inner)
    }

    /// One model (`GET /v1/models/{model}`; an alias such as `whisper-1` works).
    pub async fn retrieve_model(&self, model: &str) -> Result<Model, Error> {
        self.get_json(&format!("/v1/models/{model}"), &()).await
    }
}

/// [`Stratus::with_raw_response`]: each call answers [`Raw`] (the result
/// with its response's status and headers).
#[derive(Debug, Clone, Copy)]
pub struct WithRawResponse<'a>(pub(crate) &'a Stratus);

impl WithRawResponse<'_> {
    /// Send `request`; the answer read as `T` with its response.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<Raw<T>, Error> {
        let response = self.0.send(request).await?;
        read_raw(response, |body| decode(body)).await
    }

    /// POST `body` as JSON to `path`.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Raw<T>, Error> {
        self.send_json(self.0.request(Method::POST, path).json(body))
            .await
    }

    /// GET `path` with `query`.
    pub async fn get_json<Q: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<Raw<T>, Error> {
        self.send_json(self.0.request(Method::GET, path).query(query))
            .await
    }
}

/// The JSON operations of the language service and `/v1/models`, on
/// [`Stratus`] (the result) and [`WithRawResponse`] (the result and its
/// response) alike.
macro_rules! json_operations {
    ($($(#[$doc:meta])* $name:ident($($request:ty)?) -> $response:ty = $method:ident $path:literal;)*) => {
        impl Stratus {
            $(
                $(#[$doc])*
                pub async fn $name(&self $(, request: &$request)?) -> Result<$response, Error> {
                    self.with_raw_response().$name($(json_operations!(@arg request $request))?).await.map(Raw::into_inner)
                }
            )*
        }
        impl WithRawResponse<'_> {
            $(
                $(#[$doc])*
                pub async fn $name(&self $(, request: &$request)?) -> Result<Raw<$response>, Error> {
                    json_operations!(@call self $method $path $(, request, $request)?)
                }
            )*
        }
    };
    (@arg $request:ident $type:ty) => { $request };
    (@call $self:ident POST $path:literal, $request:ident, $type:ty) => { $self.post_json($path, $request).await };
    (@call $self:ident GET $path:literal) => { $self.get_json($path, &()).await };
}

json_operations! {
    /// Embeddings of one text or a list (`POST /v1/embeddings`).
    embed(EmbeddingsRequest) -> EmbeddingsResponse = POST "/v1/embeddings";
    /// The language of each document (`POST /v1/language/detect`).
    detect_language(DetectRequest) -> DetectResponse = POST "/v1/language/detect";
    /// Personal data in each document, and its redacted text (`POST /v1/language/pii`).
    redact_pii(PiiRequest) -> EntitiesResponse = POST "/v1/language/pii";
    /// Named entities of each document (`POST /v1/language/entities`).
    recognize_entities(PiiRequest) -> EntitiesResponse = POST "/v1/language/entities";
    /// Key phrases of each document (`POST /v1/language/key-phrases`).
    extract_key_phrases(KeyPhrasesRequest) -> KeyPhrasesResponse = POST "/v1/language/key-phrases";
    /// Labels of each document (`POST /v1/language/classify`).
    classify(ClassifyRequest) -> ClassifyResponse = POST "/v1/language/classify";
    /// Sentiment of each document and its sentences (`POST /v1/language/sentiment`).
    analyze_sentiment(SentimentRequest) -> SentimentResponse = POST "/v1/language/sentiment";
    /// A summary of each document (`POST /v1/language/summarize`).
    summarize(SummarizeRequest) -> SummarizeResponse = POST "/v1/language/summarize";
    /// The models this deployment serves (`GET /v1/models`).
    list_models() -> ModelList = GET "/v1/models";
}

/// The body of `response` turned into `T` by `parse`, with the response's
/// status and headers.
pub(crate) async fn read_raw<T>(
    response: reqwest::Response,
    parse: impl FnOnce(&[u8]) -> Result<T, Error>,
) -> Result<Raw<T>, Error> {
    let status = response.status();
    let headers = response.headers().clone();
    let retries_taken = response
        .extensions()
        .get::<RetriesTaken>()
        .map_or(0, |r| r.0);
    let body = response.bytes().await?;
    Ok(Raw {
        data: parse(&body)?,
        status,
        headers,
        retries_taken,
    })
}

/// `body` read as JSON `T`.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        let start = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        Error::Decode(format!("{e} in `{start}`"))
    })
}
