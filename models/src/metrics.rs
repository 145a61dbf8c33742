//! What the model workers report to Prometheus, through the `metrics`
//! facade (the process's recorder and `/metrics` belong to the service
//! layer: `stratus_kit::metrics`). Recorded in [`crate::worker`] and the
//! batchers, where every request to a model passes, so no service repeats
//! them.
//!
//! Labels are the service (`speech`, `language`) and the model's name,
//! both from configuration: a bounded set.

/// Seconds a job ran on its model (a transcription, a batch of
/// embeddings), by `service` and `model`.
pub const MODEL_INFERENCE: &str = "stratus_model_inference_seconds";
/// Seconds a job waited in its model's queue before a worker took it, by
/// `service` and `model`.
pub const MODEL_QUEUE_WAIT: &str = "stratus_model_queue_wait_seconds";
/// Jobs queued for a model and not yet taken by a worker, by `service` and
/// `model`.
pub const MODEL_QUEUE_DEPTH: &str = "stratus_model_queue_depth";
/// Inputs per forward pass of a batching model (sentences per embedding
/// batch, streams per Whisper pass), by `service` and `model`.
pub const MODEL_BATCH_SIZE: &str = "stratus_model_batch_size";
/// Compute seconds per second of audio of a finished transcription (below
/// 1: faster than real time), by `model`.
pub const SPEECH_REALTIME_FACTOR: &str = "stratus_speech_realtime_factor";

/// Describe the models' metrics to the installed recorder (the text of
/// their `# HELP` lines).
pub fn describe() {
    metrics::describe_histogram!(
        MODEL_INFERENCE,
        metrics::Unit::Seconds,
        "Time a job ran on its model, by service and model."
    );
    metrics::describe_histogram!(
        MODEL_QUEUE_WAIT,
        metrics::Unit::Seconds,
        "Time a job waited in its model's queue before a worker took it."
    );
    metrics::describe_gauge!(
        MODEL_QUEUE_DEPTH,
        "Jobs queued for a model and not yet taken by a worker."
    );
    metrics::describe_histogram!(
        MODEL_BATCH_SIZE,
        "Inputs per forward pass of a batching model."
    );
    metrics::describe_histogram!(
        SPEECH_REALTIME_FACTOR,
        "Compute seconds per audio second of a finished transcription (below 1: faster than real time)."
    );
}

/// The handles one model's worker records into, made once per model (a
/// handle looks its series up when made, not per record).
#[derive(Clone)]
pub(crate) struct WorkerMetrics {
    pub inference: metrics::Histogram,
    pub queue_wait: metrics::Histogram,
    pub queue_depth: metrics::Gauge,
    pub batch_size: metrics::Histogram,
}

impl WorkerMetrics {
    pub fn new(service: &str, model: &str) -> Self {
        let labels = [("service", service.to_owned()), ("model", model.to_owned())];
        Self {
            inference: metrics::histogram!(MODEL_INFERENCE, &labels),
            queue_wait: metrics::histogram!(MODEL_QUEUE_WAIT, &labels),
            queue_depth: metrics::gauge!(MODEL_QUEUE_DEPTH, &labels),
            batch_size: metrics::histogram!(MODEL_BATCH_SIZE, &labels),
        }
    }
}

/// Record a finished transcription's real-time factor.
pub fn record_realtime_factor(model: &str, compute_seconds: f64, audio_seconds: f64) {
    if audio_seconds > 0.0 {
        metrics::histogram!(SPEECH_REALTIME_FACTOR, "model" => model.to_owned())
            .record(compute_seconds / audio_seconds);
    }
}
