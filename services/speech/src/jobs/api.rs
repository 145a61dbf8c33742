//! The job endpoints and the job's JSON.
//!
//! - `POST /v1/audio/jobs` — the multipart form of `/v1/audio/transcriptions`
//!   plus `task` (`transcribe` | `translate`) and `webhook_url`; answers
//!   `202` with the queued job and its `Location`. Everything that can be
//!   checked cheaply is checked here (form, model, language, the audio's
//!   container, codec, parameters — sample rate, channels, bits — and
//!   declared length), so a bad request is refused at once, not discovered
//!   by a worker. The server's audio budget is not taken here: a job takes
//!   its seconds when a worker decodes it, and waits in the queue for them.
//! - `GET /v1/audio/jobs/{id}` — the job with its `result` (in the
//!   requested `response_format`: an object for `json`/`verbose_json`, a
//!   string for `text`/`srt`/`vtt`) once it succeeded.
//! - `GET /v1/audio/jobs?limit=&after=` — the tenant's jobs newest first,
//!   without results; `after` is the previous page's `last_id`.
//! - `DELETE /v1/audio/jobs/{id}` — cancel: a queued job at once, a running
//!   one stops before its next 30 s window (the window in progress is
//!   finished, then dropped). A finished job is returned unchanged.

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use stratus_kit::context::TenantContext;
use stratus_kit::error::ApiError;
use stratus_kit::usage;
use stratus_models::whisper::{Task, Transcript};

use super::store::{JobRow, JobStatus, NewJob};
use super::{DEFAULT_TENANT, JobError, Jobs, webhook};
use crate::api::form::{self, ResponseFormat};
use crate::api::{FORM_OVERHEAD, check_language, choose_model, format, not_multipart};
use crate::audio::{self, Limits};
use crate::{SpeechConfig, SpeechError, SpeechService};

/// Jobs per page unless `limit` says otherwise.
const DEFAULT_PAGE: u32 = 20;
/// Most jobs per page.
pub const MAX_PAGE: u32 = 100;

/// The job routes and their methods: [`routes`] serves exactly these, and
/// the gateway's OpenAPI coverage test reads them.
pub fn table() -> Vec<(&'static str, MethodRouter<SpeechService>)> {
    let mut table = vec![
        ("/v1/audio/jobs", post(submit).get(list)),
        ("/v1/audio/jobs/{id}", get(show).delete(cancel)),
    ];
    table.extend(super::signing::table());
    table
}

/// The job routes; the body limit follows `config.max_upload_bytes`.
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

/// A job's error, as the job JSON shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AudioJobError)]
pub struct JobErrorView<'a> {
    pub code: &'a str,
    pub message: &'a str,
}

/// A job as the API shows it (`object: "audio.job"`). Times are unix
/// seconds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AudioJob, example = json!({
    "id": "job_0192f7c1a2b34c5d8e9f0a1b2c3d4e5f", "object": "audio.job", "status": "succeeded",
    "task": "transcribe", "model": "whisper-tiny.en", "response_format": "json",
    "progress": 1.0, "attempts": 1, "created_at": 1764300000, "started_at": 1764300001,
    "finished_at": 1764300003,
    "result": {"text": "He was not an ill disposed young man.", "usage": {"type": "duration", "seconds": 4.2}},
    "usage": {"type": "duration", "seconds": 4.2}
}))]
pub struct JobView<'a> {
    pub id: &'a str,
    /// Always `audio.job`.
    pub object: &'static str,
    pub status: JobStatus,
    /// `transcribe` or `translate`.
    pub task: &'a str,
    pub model: &'a str,
    pub response_format: &'a str,
    /// Share of the audio transcribed, 0 to 1.
    pub progress: f64,
    /// Times a worker started the job (more than 1 after a worker died).
    pub attempts: i32,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// Once succeeded (single-job answers only): an object for `json` and
    /// `verbose_json`, a string for `text`, `srt` and `vtt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobErrorView<'a>>,
    /// Audio seconds transcribed (what the job is billed by), once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<format::Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<&'a str>,
    /// The webhook's delivery: `pending`, then `delivered`, or `failed`
    /// once every retry failed (never why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_status: Option<&'a str>,
}

impl<'a> JobView<'a> {
    /// The view of `row`, with its result when `with_result`.
    pub fn new(row: &'a JobRow, with_result: bool) -> Self {
        let result = row.result.as_deref().filter(|_| with_result).map(|text| {
            let json = ResponseFormat::parse(&row.response_format).is_some_and(|f| f.is_json());
            if json {
                serde_json::from_str(text)
                    .unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
            } else {
                serde_json::Value::String(text.to_owned())
            }
        });
        let error = match (&row.error_code, &row.error_message) {
            (Some(code), Some(message)) => Some(JobErrorView { code, message }),
            _ => None,
        };
        Self {
            id: &row.id,
            object: "audio.job",
            status: row.status(),
            task: &row.task,
            model: &row.model,
            response_format: &row.response_format,
            progress: (row.progress * 1000.0).round() / 1000.0,
            attempts: row.attempt,
            created_at: row.created_at / 1000,
            started_at: row.started_at.map(|t| t / 1000),
            finished_at: row.finished_at.map(|t| t / 1000),
            result,
            error,
            usage: row.audio_seconds.map(format::Usage::duration),
            webhook_url: row.webhook_url.as_deref(),
            webhook_status: row.webhook_status.as_deref(),
        }
    }
}

/// `transcript` written in `format`, as the synchronous endpoint's body.
pub fn render(transcript: &Transcript, task: Task, format: ResponseFormat) -> String {
    match format {
        ResponseFormat::Json => serde_json::to_string(&format::JsonBody {
            text: &transcript.text,
            usage: format::Usage::duration(transcript.duration),
        })
        .unwrap_or_default(),
        ResponseFormat::VerboseJson => serde_json::to_string(&format::verbose(
            transcript,
            task,
            !transcript.words.is_empty(),
        ))
        .unwrap_or_default(),
        ResponseFormat::Text => format!("{}\n", transcript.text),
        ResponseFormat::Srt => format::srt(transcript),
        ResponseFormat::Vtt => format::vtt(transcript),
    }
}

pub(super) fn jobs_of(service: &SpeechService) -> Result<&Jobs, JobError> {
    service
        .jobs
        .as_ref()
        .ok_or_else(|| JobError::NotFound("(jobs are not enabled on this server)".into()))
}

pub(super) fn tenant_of(context: Option<Extension<TenantContext>>) -> String {
    context.map_or_else(|| DEFAULT_TENANT.to_owned(), |Extension(c)| c.tenant_id)
}

fn invalid(param: &'static str, message: impl Into<String>) -> JobError {
    JobError::Invalid {
        param,
        message: message.into(),
    }
}

/// Submit an asynchronous transcription or translation job.
///
/// The form of `/v1/audio/transcriptions` plus `task` and `webhook_url`.
/// Everything cheap to check (form, model, language, the audio's container,
/// codec and declared length) is checked now, so a bad request is refused
/// at once; the job then waits for a worker. Poll `GET
/// /v1/audio/jobs/{id}` or receive a signed webhook when it ends.
#[utoipa::path(
    post,
    path = "/v1/audio/jobs",
    tag = "audio",
    operation_id = "createAudioJob",
    request_body(content = crate::openapi::AudioJobForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Queued: the job (without a result), its URL in `Location`.",
            body = JobView,
            headers(("Location" = String, description = "`/v1/audio/jobs/{id}`: where to poll."),
                ("x-stratus-job-id" = String, description = "The job's id."),
                ("x-stratus-usage-job-audio-seconds" = String,
                    description = "The most audio seconds the job can be billed (its file's declared duration, else the longest audio accepted): held against the budget until the job ends."))),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 413, response = stratus_kit::error::ErrorEnvelope),
        (status = 415, response = stratus_kit::error::ErrorEnvelope),
        (status = 429, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn submit(
    State(service): State<SpeechService>,
    context: Option<Extension<TenantContext>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let jobs = jobs_of(&service)?;
    let key_id = context.as_ref().and_then(|Extension(c)| c.key_id.clone());
    let tenant_id = tenant_of(context);
    let multipart = multipart.map_err(not_multipart)?;
    let config = &service.config;
    let form = form::read(multipart, config.max_upload_bytes)
        .await
        .map_err(JobError::from)?;
    if form.stream {
        return Err(invalid(
            "stream",
            "jobs do not stream: poll `GET /v1/audio/jobs/{id}` or give a `webhook_url`",
        )
        .into());
    }
    let task = match form.task.as_deref() {
        None | Some("transcribe") => Task::Transcribe,
        Some("translate") => Task::Translate,
        Some(other) => {
            return Err(invalid(
                "task",
                format!("`task` must be `transcribe` or `translate`; got `{other}`"),
            )
            .into());
        }
    };
    let model = choose_model(&service, &form.model, task).map_err(JobError::from)?;
    check_language(&model, form.language.as_deref()).map_err(JobError::from)?;
    if let Some(url) = &form.webhook_url {
        if jobs.webhooks.is_none() {
            return Err(invalid(
                "webhook_url",
                "this server has no webhook key configured (--webhook-secret), so it cannot sign webhooks",
            )
            .into());
        }
        webhook::check_url(url, &jobs.config.webhook_policy)
            .map_err(|message| invalid("webhook_url", message))?;
    }

    // Container, codec, its parameters and declared length: headers only,
    // cheap. A file the decoder library panics on is refused here too.
    let limits = Limits {
        max_seconds: config.max_audio_seconds,
        max_decoded_samples: config.max_decoded_samples,
    };
    let upload = form.file.clone();
    let declared = tokio::task::spawn_blocking(move || {
        audio::probe(
            upload.bytes,
            upload.filename.as_deref(),
            upload.content_type.as_deref(),
            limits,
        )
    })
    .await
    .map_err(|e| JobError::Speech(SpeechError::Join(e.to_string())))?
    .map_err(|e| JobError::Speech(SpeechError::Audio(e)))?;
    let billable = billable_seconds(declared, config.max_audio_seconds);

    let new = NewJob {
        tenant_id,
        key_id,
        task: match task {
            Task::Transcribe => "transcribe",
            Task::Translate => "translate",
        }
        .to_owned(),
        model: model.name,
        language: form.language,
        prompt: form.prompt,
        response_format: form.response_format.as_str().to_owned(),
        segment_granularity: form.segment_granularity,
        filename: form.file.filename,
        content_type: form.file.content_type,
        audio: form.file.bytes.to_vec(),
        webhook_url: form.webhook_url,
    };
    let limit = jobs.config.max_active_per_tenant;
    let row = jobs
        .store
        .insert(new, limit)
        .await
        .map_err(JobError::from)?
        .ok_or(JobError::TooMany { limit })?;
    jobs.wake.notify_one();
    tracing::info!(job = %row.id, tenant = %row.tenant_id, model = %row.model, "job queued");
    let location = format!("/v1/audio/jobs/{}", row.id);
    Ok((
        StatusCode::ACCEPTED,
        [
            (header::LOCATION.as_str(), location),
            // What the gateway reserves against the tenant's budget until
            // the job ends (the job's audio is metered then).
            (usage::JOB_ID, row.id.clone()),
            (usage::JOB_AUDIO_SECONDS, format!("{billable:.3}")),
        ],
        Json(JobView::new(&row, false)),
    )
        .into_response())
}

/// The most audio seconds a job can be billed: what its file's header
/// declares, else (no declaration) the longest audio accepted; rounded up
/// to the millisecond, as usage is metered.
fn billable_seconds(declared: Option<f64>, max_seconds: f64) -> f64 {
    let seconds = declared
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(max_seconds, |s| s.min(max_seconds));
    (seconds * 1000.0).ceil() / 1000.0
}

/// Get a job, with its result once it succeeded.
///
/// Another tenant's job is 404, like one that does not exist.
#[utoipa::path(
    get,
    path = "/v1/audio/jobs/{id}",
    tag = "audio",
    operation_id = "getAudioJob",
    params(("id" = String, Path, description = "The job's id (`job_…`).")),
    responses(
        (status = 200, description = "The job; `result` once it succeeded, `error` once it failed.", body = JobView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn show(
    State(service): State<SpeechService>,
    context: Option<Extension<TenantContext>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let jobs = jobs_of(&service)?;
    let row = jobs
        .store
        .get(&tenant_of(context), &id)
        .await
        .map_err(JobError::from)?
        .ok_or(JobError::NotFound(id))?;
    Ok(Json(JobView::new(&row, true)).into_response())
}

/// Cancel a job.
///
/// A queued job is cancelled at once; a running one stops before its next
/// 30 s window of audio (it is `cancelled` at once and never gets a
/// result); a finished job is returned unchanged.
#[utoipa::path(
    delete,
    path = "/v1/audio/jobs/{id}",
    tag = "audio",
    operation_id = "cancelAudioJob",
    params(("id" = String, Path, description = "The job's id (`job_…`).")),
    responses(
        (status = 200, description = "The job after cancelling (`cancelled`, or its final status if it had already ended).", body = JobView),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn cancel(
    State(service): State<SpeechService>,
    context: Option<Extension<TenantContext>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let jobs = jobs_of(&service)?;
    let row = jobs
        .store
        .cancel(&tenant_of(context), &id)
        .await
        .map_err(JobError::from)?
        .ok_or(JobError::NotFound(id))?;
    if row.status() == JobStatus::Cancelled {
        // Running here: stop it now (another replica's worker sees the
        // cancel in the store within a second).
        jobs.running.stop(&row.id);
    }
    Ok(Json(JobView::new(&row, true)).into_response())
}

/// `GET /v1/audio/jobs` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Jobs per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    limit: Option<u32>,
    /// The previous page's `last_id`: list the jobs after it.
    after: Option<String>,
}

/// A page of jobs, newest first, in OpenAI's list shape.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AudioJobList)]
pub struct JobList<'a> {
    /// Always `list`.
    object: &'static str,
    data: Vec<JobView<'a>>,
    first_id: Option<&'a str>,
    last_id: Option<&'a str>,
    has_more: bool,
}

/// List the tenant's jobs, newest first.
///
/// Without results (get a job for its result); page with `after` = the
/// previous page's `last_id` while `has_more`.
#[utoipa::path(
    get,
    path = "/v1/audio/jobs",
    tag = "audio",
    operation_id = "listAudioJobs",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of jobs.", body = JobList),
        (status = 400, response = stratus_kit::error::ErrorEnvelope),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn list(
    State(service): State<SpeechService>,
    context: Option<Extension<TenantContext>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let jobs = jobs_of(&service)?;
    let Query(query) = query.map_err(|e| invalid("limit", e.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(invalid(
            "limit",
            format!("`limit` must be from 1 to {MAX_PAGE}; got {limit}"),
        )
        .into());
    }
    if query.after.as_ref().is_some_and(|a| a.len() > 64) {
        return Err(invalid("after", "`after` is not a job id").into());
    }
    let mut rows = jobs
        .store
        .list(&tenant_of(context), query.after.as_deref(), limit + 1)
        .await
        .map_err(JobError::from)?;
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let data: Vec<JobView<'_>> = rows.iter().map(|r| JobView::new(r, false)).collect();
    Ok(Json(JobList {
        object: "list",
        first_id: rows.first().map(|r| r.id.as_str()),
        last_id: rows.last().map(|r| r.id.as_str()),
        data,
        has_more,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::billable_seconds;

    #[test]
    fn a_job_is_billable_for_its_declared_duration_at_most_the_limit() {
        assert_eq!(billable_seconds(Some(4.2), 7200.0), 4.2);
        // Rounded up to the millisecond: never less than what is metered.
        assert_eq!(billable_seconds(Some(1.0001), 7200.0), 1.001);
        assert_eq!(billable_seconds(None, 7200.0), 7200.0);
        assert_eq!(billable_seconds(Some(f64::NAN), 60.0), 60.0);
        assert_eq!(billable_seconds(Some(9000.0), 7200.0), 7200.0);
    }
}
