//! PLACEHOLDER: whisper models.
