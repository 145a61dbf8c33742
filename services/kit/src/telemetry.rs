//! Tracing setup: human-readable lines on a terminal, JSON lines for log
//! collectors. Logs go to stderr so stdout stays for command output (a new
//! API key, `models list --json`).

use tracing_subscriber::EnvFilter;

/// Log line format.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Install the global subscriber. `filter` uses `RUST_LOG` syntax
/// (`info`, `stratus_gateway=debug,info`). Calling it twice is harmless.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
