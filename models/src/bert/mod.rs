//! PLACEHOLDER: bert models.
