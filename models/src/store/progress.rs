//! Progress of a pull: a bar on a terminal, plain log lines otherwise (CI
//! logs and `docker logs` should read as sentences, not as redrawn bars).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Reports the steps of pulling one model.
#[derive(Debug)]
pub struct PullProgress {
    bar: Option<ProgressBar>,
    model: String,
}

impl PullProgress {
    /// A bar of `steps` steps when stderr is a terminal and `interactive`
    /// allows it, else log lines.
    pub fn new(model: &str, steps: u64, interactive: bool) -> Self {
        let bar = (interactive && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(steps);
            if let Ok(style) =
                ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {wide_msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(model.to_string());
            bar
        });
        Self {
            bar,
            model: model.to_string(),
        }
    }

    /// A step begins.
    pub fn step(&self, message: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(message.to_string());
                bar.inc(1);
            }
            None => tracing::info!(model = %self.model, "{message}"),
        }
    }

    /// Suspend the bar while another program draws on the terminal.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// The pull ended; `message` says how.
    pub fn finish(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(message.to_string()),
            None => tracing::info!(model = %self.model, "{message}"),
        }
    }
}
