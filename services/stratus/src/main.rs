//! # stratus — the one binary
//!
//! ## Layout
//! - [`cli`] — flags, environment and config-file knobs.
//! - `commands/serve.rs` — `serve`, `gateway`, `speech`, `language`: build
//!   the routers, pull/load models, listen, shut down gracefully.
//! - `commands/models.rs` — `models pull|list|verify|remove`.
//! - `commands/openapi.rs` — `openapi`: write the OpenAPI document.
//! - `commands/identity.rs` — `tenants`, `keys`, `users`: the operator's
//!   identity commands, against the server's store.
//! - [`error`] — what a command can fail with, and its exit message.

mod cli;
mod commands;
mod error;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use stratus_kit::config::ConfigFile;

use crate::cli::{Cli, Command};
use crate::error::CliError;

fn main() -> ExitCode {
    let result = run();
    // Spans still batched go out before the process ends.
    stratus_kit::telemetry::shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), CliError> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).map_err(|e| CliError::Usage(e.to_string()))?;
    stratus_kit::telemetry::init(
        cli.log_format,
        &cli.log,
        cli.otlp_endpoint.as_deref(),
        "stratus",
    )?;
    let file = match &cli.config {
        Some(path) => {
            let file = ConfigFile::load(path)?;
            file.check_keys(&Cli::command())?;
            file
        }
        None => ConfigFile::default(),
    };
    let (_, sub) = matches
        .subcommand()
        .ok_or_else(|| CliError::Usage("a command is required; see --help".into()))?;
    match cli.command {
        Command::Serve(args) => {
            runtime()?.block_on(commands::serve::serve(file.layer_under(args, sub)?))
        }
        Command::Gateway(args) => {
            runtime()?.block_on(commands::serve::gateway(file.layer_under(args, sub)?))
        }
        Command::Speech(args) => {
            runtime()?.block_on(commands::serve::speech(file.layer_under(args, sub)?))
        }
        Command::Language(args) => {
            runtime()?.block_on(commands::serve::language(file.layer_under(args, sub)?))
        }
        Command::Models(mut args) => {
            if let Some(path) = file.table.get("home").and_then(|v| v.as_str())
                && !matches!(
                    sub.value_source("home"),
                    Some(
                        clap::parser::ValueSource::CommandLine
                            | clap::parser::ValueSource::EnvVariable
                    )
                )
            {
                args.home.home = path.into();
            }
            commands::models::run(args)
        }
        Command::Openapi(args) => commands::openapi::run(&args),
        Command::Tenants(mut args) => {
            file_defaults(&file, sub, &mut args.identity);
            runtime()?.block_on(commands::identity::tenants(args))
        }
        Command::Keys(mut args) => {
            file_defaults(&file, sub, &mut args.identity);
            runtime()?.block_on(commands::identity::keys(args))
        }
        Command::Users(mut args) => {
            file_defaults(&file, sub, &mut args.identity);
            runtime()?.block_on(commands::identity::users(args))
        }
    }
}

/// `home`, `store` and `auth_secret` from the config file, where neither
/// the command line nor the environment gave them, so the identity
/// commands find what `serve --config FILE` uses.
fn file_defaults(file: &ConfigFile, sub: &clap::ArgMatches, args: &mut cli::IdentityArgs) {
    let given = |id: &str| {
        matches!(
            sub.value_source(id),
            Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
        )
    };
    let text = |key: &str| file.table.get(key).and_then(|v| v.as_str());
    if let Some(home) = text("home").filter(|_| !given("home")) {
        args.home = home.into();
    }
    if let Some(store) = text("store").filter(|_| !given("store")) {
        args.store = Some(store.to_string());
    }
    if let Some(secret) = text("auth_secret").filter(|_| !given("auth_secret")) {
        args.auth_secret = Some(secret.to_string());
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}
