//! The usage every service reports on every response, in headers the
//! gateway meters from (docs/ARCHITECTURE.md, "Contract between gateway and services":
//! usage is what a service measured, never a guess).

/// Seconds of audio processed (decimal).
pub const AUDIO_SECONDS: &str = "x-stratus-usage-audio-seconds";
/// Model input tokens.
pub const INPUT_TOKENS: &str = "x-stratus-usage-input-tokens";
/// Characters of text processed.
pub const CHARACTERS: &str = "x-stratus-usage-characters";
/// Documents processed.
pub const DOCUMENTS: &str = "x-stratus-usage-documents";
/// The model that served the request (its name as `/v1/models` lists it),
/// so usage can be priced and grouped per model.
pub const MODEL: &str = "x-stratus-model";

/// On the `202` of a job's submit: the id of the job it queued. The job's
/// audio is metered when the job ends, not on this response; the gateway
/// keeps the submit's budget reservation open for the job until then.
pub const JOB_ID: &str = "x-stratus-job-id";
/// On the `202` of a job's submit: the most audio seconds the queued job
/// can be billed (the duration its file's header declares, else the
/// longest audio the service accepts). Not usage of this response (that
/// is [`AUDIO_SECONDS`] when the job ends): the bound the gateway reserves
/// against the tenant's budget while the job waits and runs.
pub const JOB_AUDIO_SECONDS: &str = "x-stratus-usage-job-audio-seconds";
