//! The `/v1/models` shapes: OpenAI's list of models, plus what Stratus adds
//! (task, languages, license and attribution — attribution is a license
//! condition for some weights, so it travels with the model everywhere).

use serde::{Deserialize, Serialize};

use crate::store::ResolvedModel;

/// One loaded model, as `/v1/models` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Model)]
pub struct ModelCard {
    pub id: String,
    /// Always `"model"`.
    pub object: String,
    /// Unix seconds when this process loaded it.
    pub created: u64,
    pub owned_by: String,
    pub task: String,
    /// `speech` or `language`.
    pub service: String,
    pub languages: Vec<String>,
    pub license: Option<String>,
    pub attribution: Option<String>,
    /// Other names accepted for this model (e.g. `whisper-1`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// OpenAI's list envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModelList {
    /// Always `"list"`.
    pub object: String,
    pub data: Vec<ModelCard>,
}

impl ModelList {
    pub fn new(data: Vec<ModelCard>) -> Self {
        Self {
            object: "list".into(),
            data,
        }
    }
}

impl ModelCard {
    /// The card of a resolved model served by `service`, loaded at `created`.
    pub fn from_resolved(
        model: &ResolvedModel,
        service: &str,
        created: u64,
        aliases: Vec<String>,
    ) -> Self {
        Self {
            id: model.name.clone(),
            object: "model".into(),
            created,
            owned_by: "stratus".into(),
            task: model.task.as_str().into(),
            service: service.into(),
            languages: model.languages.clone(),
            license: model.license.clone(),
            attribution: model.attribution.clone(),
            aliases,
        }
    }
}
