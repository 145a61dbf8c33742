//! `GET /v1/models`: the models every upstream has loaded, in one list;
//! `GET /v1/models/{model}`: one of them (OpenAI's `models.retrieve`).

use axum::Json;
use axum::extract::{Path, State};
use stratus_kit::ApiError;
use stratus_models::card::{ModelCard, ModelList};

use crate::GatewayState;

/// List the models this deployment serves.
///
/// Every upstream's loaded models in one OpenAI-style list, with what
/// Stratus adds (task, service, languages, license, attribution, aliases
/// such as `whisper-1`). An upstream that cannot answer fails the request
/// (503): a partial list would make clients believe a model is gone.
#[utoipa::path(
    get,
    path = "/v1/models",
    tag = "models",
    operation_id = "listModels",
    responses(
        (status = 200, description = "The loaded models, by id.", body = ModelList),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn list_models(State(state): State<GatewayState>) -> Result<Json<ModelList>, ApiError> {
    Ok(Json(ModelList::new(loaded(&state).await?)))
}

/// Every upstream's loaded models, by id.
async fn loaded(state: &GatewayState) -> Result<Vec<ModelCard>, ApiError> {
    let mut data = Vec::new();
    for upstream in state.upstreams.all() {
        let list: ModelList = upstream
            .get_json("/v1/models", &state.internal_token)
            .await?;
        data.extend(list.data);
    }
    data.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(data)
}

/// One loaded model.
///
/// By its id or one of its aliases (`whisper-1` answers with the model it
/// stands for, under that model's own id). A model that is not loaded is a
/// 404 `model_not_found`, as OpenAI answers.
#[utoipa::path(
    get,
    path = "/v1/models/{model}",
    tag = "models",
    operation_id = "retrieveModel",
    params(("model" = String, Path, description = "A model id or alias, as `/v1/models` lists it.")),
    responses(
        (status = 200, description = "The model.", body = ModelCard),
        (status = 404, response = stratus_kit::error::ErrorEnvelope),
        (status = 503, response = stratus_kit::error::ErrorEnvelope),
    )
)]
pub async fn retrieve_model(
    State(state): State<GatewayState>,
    Path(model): Path<String>,
) -> Result<Json<ModelCard>, ApiError> {
    loaded(&state)
        .await?
        .into_iter()
        .find(|card| card.id == model || card.aliases.contains(&model))
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "the model `{}` is not loaded here; GET /v1/models lists the models that are",
                model.chars().take(128).collect::<String>()
            ))
            .with_param("model")
            .with_code("model_not_found")
        })
}
