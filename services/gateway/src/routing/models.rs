//! `GET /v1/models`: the models every upstream has loaded, in one list.

use axum::Json;
use axum::extract::State;
use stratus_kit::ApiError;
use stratus_models::card::ModelList;

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
    let mut data = Vec::new();
    for upstream in state.upstreams.all() {
        let list: ModelList = upstream
            .get_json("/v1/models", &state.internal_token)
            .await?;
        data.extend(list.data);
    }
    data.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Json(ModelList::new(data)))
}
