//! Configuration: flags, then environment (`STRATUS_*`), then an optional
//! TOML file, then defaults — in that precedence.
//!
//! clap handles flags, environment and defaults. The file is layered in
//! afterwards: a key of the file sets an argument only where clap reports the
//! value came from its default. File keys are the long flag names
//! (`listen`, `store`, `model_dir` or `model-dir`), so the file needs no
//! second schema; a key that no command knows is an error, because a typo
//! that is silently ignored is worse than one that stops the start.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Command};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What can be wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "config file {path}: unknown setting `{key}` (settings are the long flag names; see --help)"
    )]
    UnknownKey { path: PathBuf, key: String },
    #[error("config file {path}: setting `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// A parsed config file and where it came from.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub table: toml::Table,
}

impl ConfigFile {
    /// Read and parse `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let table = text
            .parse::<toml::Table>()
            .map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            table,
        })
    }

    /// Refuse keys that no (sub)command of `root` has as an argument.
    pub fn check_keys(&self, root: &Command) -> Result<(), ConfigError> {
        let known = all_arg_ids(root);
        for key in self.table.keys() {
            if !known.contains(&normalise(key)) {
                return Err(ConfigError::UnknownKey {
                    path: self.path.clone(),
                    key: key.clone(),
                });
            }
        }
        Ok(())
    }

    /// Fill the arguments of `args` that were left at their defaults with
    /// the file's values. `matches` are the matches of the command `args`
    /// was parsed from.
    pub fn layer_under<T>(&self, args: T, matches: &ArgMatches) -> Result<T, ConfigError>
    where
        T: Serialize + DeserializeOwned,
    {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: self.path.clone(),
            key: key.to_string(),
            message,
        };
        let original = serde_json::to_value(&args).map_err(|e| invalid("*", e.to_string()))?;
        let mut value = original.clone();
        let Some(object) = value.as_object_mut() else {
            return Ok(args);
        };
        let mut applied = Vec::new();
        for (key, setting) in &self.table {
            let id = normalise(key);
            if !object.contains_key(&id) {
                // Known to another command (checked by `check_keys`).
                continue;
            }
            let given_explicitly = matches!(
                matches.value_source(&id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            );
            if !given_explicitly {
                let json =
                    serde_json::to_value(setting).map_err(|e| invalid(key, e.to_string()))?;
                object.insert(id.clone(), json.clone());
                applied.push((key, id, json));
            }
        }
        serde_json::from_value(value).map_err(|e| {
            // Name the setting: the first whose value alone does not fit
            // (serde's message names the type, not the key).
            let culprit = applied.iter().find(|(_, id, json)| {
                let mut alone = original.clone();
                if let Some(object) = alone.as_object_mut() {
                    object.insert(id.clone(), json.clone());
                }
                serde_json::from_value::<T>(alone).is_err()
            });
            invalid(
                culprit.map_or("*", |(key, _, _)| key.as_str()),
                e.to_string(),
            )
        })
    }
}

fn normalise(key: &str) -> String {
    key.replace('-', "_")
}

fn all_arg_ids(command: &Command) -> BTreeSet<String> {
    let mut ids: BTreeSet<String> = command
        .get_arguments()
        .map(|a| a.get_id().as_str().to_string())
        .collect();
    for sub in command.get_subcommands() {
        ids.extend(all_arg_ids(sub));
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};
    use serde::Deserialize;

    #[derive(Debug, Parser, Serialize, Deserialize, PartialEq)]
    struct Args {
        #[arg(long, env = "KIT_TEST_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        #[arg(long, default_value_t = 4)]
        workers: u32,
        #[arg(long)]
        store: Option<String>,
    }

    fn parse(argv: &[&str], toml: &str) -> Result<Args, ConfigError> {
        let matches = Args::command().try_get_matches_from(argv).unwrap();
        let args = Args::from_arg_matches(&matches).unwrap();
        let file = ConfigFile {
            path: "test.toml".into(),
            table: toml.parse().unwrap(),
        };
        file.check_keys(&Args::command())?;
        file.layer_under(args, &matches)
    }

    #[test]
    fn file_fills_defaults_but_flags_win() {
        let args = parse(
            &["x", "--workers", "9"],
            "workers = 2\nstore = \"sqlite://a\"\nlisten = \"0.0.0.0:1\"",
        )
        .unwrap();
        assert_eq!(args.workers, 9);
        assert_eq!(args.store.as_deref(), Some("sqlite://a"));
        assert_eq!(args.listen, "0.0.0.0:1");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = parse(&["x"], "wokers = 2").unwrap_err().to_string();
        assert!(err.contains("wokers"), "{err}");
    }

    #[test]
    fn wrong_types_are_refused_naming_the_setting() {
        let err = parse(&["x"], "listen = \"0.0.0.0:1\"\nworkers = \"many\"").unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key, .. } if key == "workers"),
            "{err}"
        );
        assert!(err.to_string().contains("setting `workers`"), "{err}");
    }
}
