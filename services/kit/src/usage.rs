//! The usage every service reports on every response, in headers the
//! gateway meters from (ARCHITECTURE.md: "never from guesses").

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
