//! Asynchronous transcription jobs (`/v1/audio/jobs`): submit
//! ([`Stratus::create_job`]), wait with a progress callback and a timeout
//! ([`Stratus::wait_for_job`]), read the typed result ([`JobResult`]), page
//! through the tenant's jobs as a `Stream` ([`Stratus::list_jobs`]), and
//! the tenant's webhook signing secret.

use std::time::{Duration, Instant};

use futures_util::{Stream, TryStreamExt};
use reqwest::Method;
use serde::Serialize;

use crate::audio::{AudioFile, AudioOptions, ResponseFormat, TranscriptionOutput};
use crate::client::Stratus;
use crate::error::Error;
use crate::models::{
    AudioJob, AudioJobList, AudioJobStatus, AudioJobTask, AudioWebhookSecret, ResponseFormatName,
    RotateAudioWebhookSecret,
};

/// What [`Stratus::create_job`] submits besides the file.
#[derive(Debug, Clone, Default)]
pub struct JobOptions {
    /// Model, language, prompt, temperature, timestamp granularities.
    pub audio: AudioOptions,
    /// `Transcribe` (the default) or `Translate`.
    pub task: Option<AudioJobTask>,
    /// Format of the job's `result` (default `json`).
    pub response_format: Option<ResponseFormatName>,
    /// Where Stratus POSTs the finished job, signed (see [`crate::webhooks`]).
    pub webhook_url: Option<String>,
}

/// How [`Stratus::wait_for_job`] polls.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// Longest wait in all (default 30 minutes); then [`Error::JobTimeout`].
    pub timeout: Duration,
    /// Wait between polls (default 1 s).
    pub poll_interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30 * 60),
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl WaitOptions {
    /// Wait at most `timeout`, polling every second.
    pub fn timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            ..Self::default()
        }
    }
}

/// The typed result of a finished job.
pub trait JobResult {
    /// The result in the format the job was submitted with; `None` until
    /// it succeeded (and in list entries, which carry no result).
    fn output(&self) -> Result<Option<TranscriptionOutput>, Error>;
    /// The result read as format `F` (which must be the job's format).
    fn result_as<F: ResponseFormat>(&self) -> Result<Option<F::Output>, Error>;
    /// Whether the job has ended (succeeded, failed or cancelled).
    fn is_finished(&self) -> bool;
}

impl JobResult for AudioJob {
    fn output(&self) -> Result<Option<TranscriptionOutput>, Error> {
        self.result
            .clone()
            .map(|value| TranscriptionOutput::from_value(&self.response_format, value))
            .transpose()
    }

    fn result_as<F: ResponseFormat>(&self) -> Result<Option<F::Output>, Error> {
        if self.result.is_some() && self.response_format != F::NAME.to_string() {
            return Err(Error::Decode(format!(
                "the job's result is {}, not {}",
                self.response_format,
                F::NAME
            )));
        }
        self.result.clone().map(F::from_value).transpose()
    }

    fn is_finished(&self) -> bool {
        matches!(
            self.status,
            AudioJobStatus::Succeeded | AudioJobStatus::Failed | AudioJobStatus::Cancelled
        )
    }
}

#[derive(Serialize)]
struct ListQuery<'a> {
    limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<&'a str>,
}

impl Stratus {
    /// Submit a job (`POST /v1/audio/jobs`): queued at once (the answer has
    /// no result yet); poll it with [`Self::wait_for_job`].
    pub async fn create_job(
        &self,
        file: &AudioFile,
        options: &JobOptions,
    ) -> Result<AudioJob, Error> {
        let format = options.response_format.unwrap_or(ResponseFormatName::Json);
        let mut form = options.audio.form(file, format);
        if let Some(task) = options.task {
            form = form.text("task", task.to_string());
        }
        if let Some(url) = &options.webhook_url {
            form = form.text("webhook_url", url.clone());
        }
        let response = self
            .send(self.request(Method::POST, "/v1/audio/jobs").multipart(form))
            .await?;
        crate::client::decode(&response.bytes().await?)
    }

    /// A job, with its result once it succeeded (`GET /v1/audio/jobs/{id}`).
    pub async fn get_job(&self, id: &str) -> Result<AudioJob, Error> {
        self.get_json(&format!("/v1/audio/jobs/{id}"), &()).await
    }

    /// Cancel a job (`DELETE /v1/audio/jobs/{id}`): a queued one at once, a
    /// running one before its next window of audio.
    pub async fn cancel_job(&self, id: &str) -> Result<AudioJob, Error> {
        let response = self
            .send(self.request(Method::DELETE, &format!("/v1/audio/jobs/{id}")))
            .await?;
        crate::client::decode(&response.bytes().await?)
    }

    /// Poll job `id` until it ends, calling `on_progress` with each state
    /// seen (status, `progress` 0 to 1). Succeeded: the job, with its
    /// result ([`JobResult`]); failed or cancelled: [`Error::JobFailed`];
    /// still running after `options.timeout`: [`Error::JobTimeout`] (the
    /// job goes on).
    pub async fn wait_for_job(
        &self,
        id: &str,
        options: WaitOptions,
        mut on_progress: impl FnMut(&AudioJob),
    ) -> Result<AudioJob, Error> {
        let deadline = Instant::now() + options.timeout;
        loop {
            let job = self.get_job(id).await?;
            on_progress(&job);
            match job.status {
                AudioJobStatus::Succeeded => return Ok(job),
                AudioJobStatus::Failed | AudioJobStatus::Cancelled => {
                    return Err(Error::JobFailed(Box::new(job)));
                }
                // A state a newer server added is not an end: wait on.
                AudioJobStatus::Queued | AudioJobStatus::Running | AudioJobStatus::Unknown => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::JobTimeout(Box::new(job)));
            }
            tokio::time::sleep(options.poll_interval.min(left)).await;
        }
    }

    /// One page of the tenant's jobs, newest first, without results
    /// (`GET /v1/audio/jobs`): `limit` 1 to 100, `after` the previous
    /// page's `last_id`.
    pub async fn list_jobs_page(
        &self,
        limit: u32,
        after: Option<&str>,
    ) -> Result<AudioJobList, Error> {
        self.get_json("/v1/audio/jobs", &ListQuery { limit, after })
            .await
    }

    /// Every job of the tenant, newest first, fetched `page_size` at a time
    /// as the stream is read.
    pub fn list_jobs(
        &self,
        page_size: u32,
    ) -> impl Stream<Item = Result<AudioJob, Error>> + Send + '_ {
        // State: the cursor of the next page; `None` once the last was read.
        futures_util::stream::try_unfold(Some(None::<String>), move |cursor| async move {
            let Some(after) = cursor else {
                return Ok::<_, Error>(None);
            };
            let page = self.list_jobs_page(page_size, after.as_deref()).await?;
            let next = page.has_more.then_some(page.last_id).flatten().map(Some);
            Ok(Some((
                futures_util::stream::iter(page.data.into_iter().map(Ok)),
                next,
            )))
        })
        .try_flatten()
    }

    /// The tenant's webhook signing secret (`whsec_…`, `GET /v1/audio/webhook-secret`).
    pub async fn get_webhook_secret(&self) -> Result<AudioWebhookSecret, Error> {
        self.get_json("/v1/audio/webhook-secret", &()).await
    }

    /// Move to a new signing secret (`POST /v1/audio/webhook-secret/rotate`;
    /// a `keys` key). Deliveries carry both signatures until the previous
    /// secret expires, after `previous_valid` (server default a day, at most
    /// a week).
    pub async fn rotate_webhook_secret(
        &self,
        previous_valid: Option<Duration>,
    ) -> Result<AudioWebhookSecret, Error> {
        let body = RotateAudioWebhookSecret {
            previous_secret_valid_seconds: previous_valid.map(|d| d.as_secs() as i64),
        };
        self.post_json("/v1/audio/webhook-secret/rotate", &body)
            .await
    }
}
