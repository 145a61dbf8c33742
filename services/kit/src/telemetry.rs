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

/// Colours only for a person at a terminal: not in files, pipes or a
/// journal (where escape codes are noise), and never with `NO_COLOR` set
/// to anything (no-color.org).
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    colour_wanted(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

fn colour_wanted(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Install the global subscriber. `filter` uses `RUST_LOG` syntax
/// (`info`, `stratus_gateway=debug,info`). Calling it twice is harmless.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_at_a_terminal_without_no_color() {
        assert!(colour_wanted(true, None));
        assert!(!colour_wanted(false, None));
        assert!(!colour_wanted(true, Some(std::ffi::OsStr::new("1"))));
        // An empty NO_COLOR is unset, as no-color.org says.
        assert!(colour_wanted(true, Some(std::ffi::OsStr::new(""))));
    }
}
