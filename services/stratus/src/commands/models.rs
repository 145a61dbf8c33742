//! `stratus models pull|list|verify|remove`.

use std::io::{IsTerminal, Write};

use stratus_models::catalog::Task;
use stratus_models::convert::ggml_whisper::GgmlType;
use stratus_models::store::PullOutcome;

use crate::cli::{ModelsAction, ModelsArgs};
use crate::commands::open_store;
use crate::error::CliError;

pub fn run(args: ModelsArgs) -> Result<(), CliError> {
    let interactive = std::io::stderr().is_terminal();
    let store = open_store(&args.home)?.interactive(interactive);
    let mut out = std::io::stdout().lock();
    match args.action {
        ModelsAction::Pull {
            names,
            all,
            force,
            ggml,
        } => {
            let names: Vec<String> = if all {
                store
                    .catalog()
                    .models
                    .iter()
                    .map(|m| m.name.clone())
                    .collect()
            } else if names.is_empty() {
                store.catalog().defaults().map(|m| m.name.clone()).collect()
            } else {
                names
            };
            let mut failed = Vec::new();
            let ggml: Vec<GgmlType> = ggml.iter().filter_map(|t| GgmlType::parse(t)).collect();
            for name in &names {
                match store.pull(name, force) {
                    Ok(PullOutcome::Pulled) => {
                        writeln!(out, "{name}: installed").map_err(CliError::Output)?
                    }
                    Ok(PullOutcome::AlreadyInstalled) => {
                        writeln!(out, "{name}: already installed").map_err(CliError::Output)?
                    }
                    Err(e) => {
                        tracing::error!("{e}");
                        failed.push(name.clone());
                        continue;
                    }
                }
                let speech = store
                    .resolve(name)
                    .is_ok_and(|m| m.task == Task::SpeechToText);
                for &weights in ggml.iter().filter(|_| speech) {
                    match store.derive_ggml(name, weights) {
                        Ok(path) => {
                            writeln!(out, "{name}: whisper.cpp weights in {}", path.display())
                                .map_err(CliError::Output)?
                        }
                        Err(e) => {
                            tracing::error!("{e}");
                            failed.push(format!("{name} ({})", weights.as_str()));
                        }
                    }
                }
            }
            finish(failed)
        }
        ModelsAction::List { json } => {
            let rows = store.list();
            if json {
                let text =
                    serde_json::to_string_pretty(&rows).map_err(|e| CliError::Output(e.into()))?;
                writeln!(out, "{text}").map_err(CliError::Output)?;
                return Ok(());
            }
            writeln!(
                out,
                "{:<24} {:<24} {:<8} {:<10} {:>9}  LICENSE",
                "NAME", "TASK", "DEFAULT", "INSTALLED", "SIZE"
            )
            .map_err(CliError::Output)?;
            for row in rows {
                let size = if row.installed {
                    format!("{:.1} MB", row.bytes_on_disk as f64 / 1e6)
                } else {
                    "-".into()
                };
                writeln!(
                    out,
                    "{:<24} {:<24} {:<8} {:<10} {:>9}  {}",
                    row.name,
                    row.task.as_str(),
                    if row.default { "yes" } else { "" },
                    if row.installed { "yes" } else { "no" },
                    size,
                    row.license.unwrap_or_default()
                )
                .map_err(CliError::Output)?;
            }
            Ok(())
        }
        ModelsAction::Verify { names } => {
            let names: Vec<String> = if names.is_empty() {
                store
                    .list()
                    .into_iter()
                    .filter(|r| r.installed)
                    .map(|r| r.name)
                    .collect()
            } else {
                names
            };
            let mut failed = Vec::new();
            for name in &names {
                match store.verify(name) {
                    Ok(()) => writeln!(out, "{name}: ok").map_err(CliError::Output)?,
                    Err(e) => {
                        tracing::error!("{e}");
                        failed.push(name.clone());
                    }
                }
            }
            finish(failed)
        }
        ModelsAction::Remove { names, force } => {
            for name in &names {
                let removed = store.remove(name, force)?;
                let what = if removed {
                    "removed"
                } else {
                    "was not installed"
                };
                writeln!(out, "{name}: {what}").map_err(CliError::Output)?;
            }
            Ok(())
        }
    }
}

fn finish(failed: Vec<String>) -> Result<(), CliError> {
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::SomeFailed {
            count: failed.len(),
            names: failed.join(", "),
        })
    }
}
