//! The speech service's errors, and the one place they become the API's
//! error envelope ([`ApiError`]) with a status code.

use stratus_kit::error::ApiError;
use stratus_models::ModelError;
use stratus_models::worker::WorkerError;

use crate::audio::AudioError;

/// Seconds a client is told to wait when a model's queue is full: one
/// short transcription's worth.
const BUSY_RETRY_AFTER_S: u64 = 1;
/// Seconds to wait while models are still loading.
const LOADING_RETRY_AFTER_S: u64 = 5;
/// Seconds a client is told to wait when the server holds as much audio as
/// its budget allows: long transcriptions free their seconds as they end,
/// which takes a while.
const AUDIO_BUDGET_RETRY_AFTER_S: u64 = 5;

/// Errors of the speech service layer.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error("model `{name}` is a {task} model; the speech service serves speech-to-text models")]
    WrongTask { name: String, task: &'static str },
    #[error("could not start a model thread: {0}")]
    Thread(#[from] std::io::Error),

    /// A multipart field is missing.
    #[error("`{0}` is required")]
    Missing(&'static str),
    /// A field's value is wrong; `param` names it as the client sent it.
    #[error("{message}")]
    Invalid {
        param: &'static str,
        message: String,
    },
    #[error("the upload is larger than the limit of {limit} bytes")]
    UploadTooLarge { limit: usize },
    #[error("could not read the multipart body: {message}")]
    Multipart { message: String, too_large: bool },
    #[error("the model `{name}` does not exist or is not loaded here; loaded: {loaded}")]
    UnknownModel { name: String, loaded: String },
    #[error("no speech model is loaded yet; retry shortly")]
    NoModelYet,
    #[error(
        "translation needs a multilingual model and `{0}` is English-only: start the server with \
         one loaded (e.g. `--models whisper-tiny.en,whisper-base`), then name it or `whisper-1`"
    )]
    NotMultilingual(String),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("a background task failed: {0}")]
    Join(String),
}

impl From<SpeechError> for ApiError {
    fn from(e: SpeechError) -> Self {
        let message = e.to_string();
        match e {
            SpeechError::Missing(param) => ApiError::bad_request(message).with_param(param),
            SpeechError::Invalid { param, .. } => ApiError::bad_request(message).with_param(param),
            SpeechError::UploadTooLarge { .. } => {
                ApiError::payload_too_large(message).with_param("file")
            }
            SpeechError::Multipart {
                too_large: true, ..
            } => ApiError::payload_too_large(message),
            SpeechError::Multipart { .. } => ApiError::bad_request(message),
            SpeechError::UnknownModel { .. } => ApiError::not_found(message)
                .with_param("model")
                .with_code("model_not_found"),
            SpeechError::NoModelYet => ApiError::unavailable(message, LOADING_RETRY_AFTER_S),
            SpeechError::NotMultilingual(_) => ApiError::bad_request(message).with_param("model"),
            SpeechError::Audio(audio) => audio_error(audio, message),
            SpeechError::Worker(WorkerError::Busy(_)) => {
                ApiError::unavailable(message, BUSY_RETRY_AFTER_S).with_code("model_busy")
            }
            SpeechError::Worker(WorkerError::Stopped(_)) => {
                tracing::error!(error = %message, "model worker stopped");
                ApiError::unavailable(message, LOADING_RETRY_AFTER_S)
            }
            SpeechError::Model(ModelError::InvalidInput(_)) => ApiError::bad_request(message),
            SpeechError::Model(_)
            | SpeechError::Join(_)
            | SpeechError::WrongTask { .. }
            | SpeechError::Thread(_) => {
                tracing::error!(error = %message, "transcription failed");
                ApiError::internal("the transcription failed on the server")
            }
        }
    }
}

fn audio_error(e: AudioError, message: String) -> ApiError {
    let with_file = |e: ApiError| e.with_param("file");
    match e {
        AudioError::UnknownFormat { .. } | AudioError::UnsupportedCodec(_) => {
            with_file(ApiError::unsupported_media_type(message).with_code("unsupported_format"))
        }
        AudioError::TooLong { .. } | AudioError::TooManySamples { .. } => {
            with_file(ApiError::payload_too_large(message).with_code("audio_too_long"))
        }
        AudioError::Empty
        | AudioError::NoTrack
        | AudioError::Corrupt(_)
        | AudioError::Malformed
        | AudioError::BadParameter { .. }
        | AudioError::Truncated { .. }
        | AudioError::NoSamples
        | AudioError::RateChanged { .. }
        | AudioError::BadRate(_) => {
            with_file(ApiError::bad_request(message).with_code("invalid_audio"))
        }
        // Not the client's fault and not for long: the server's memory
        // for audio in flight is taken.
        AudioError::OverBudget(_) => ApiError::unavailable(message, AUDIO_BUDGET_RETRY_AFTER_S)
            .with_code("audio_budget_exhausted"),
        AudioError::Resample(_) => {
            tracing::error!(error = %message, "resampling failed");
            ApiError::internal("the audio could not be resampled")
        }
    }
}
