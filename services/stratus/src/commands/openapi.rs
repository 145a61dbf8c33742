//! `stratus openapi`: the public OpenAPI document, generated from the
//! code's annotations (see `stratus_gateway::openapi`), to standard output
//! or a file. `openapi/stratus.json` is this command's output, checked in.

use std::io::Write;

use crate::cli::OpenapiArgs;
use crate::error::CliError;

pub fn run(args: &OpenapiArgs) -> Result<(), CliError> {
    let json = stratus_gateway::openapi::document_json().map_err(CliError::Openapi)?;
    match &args.output {
        Some(path) => std::fs::write(path, json).map_err(CliError::Output),
        None => std::io::stdout()
            .write_all(json.as_bytes())
            .map_err(CliError::Output),
    }
}
