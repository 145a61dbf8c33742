//! `GET /v1/models`: the models every upstream has loaded, in one list.

use axum::Json;
use axum::extract::State;
use stratus_kit::ApiError;
use stratus_models::card::ModelList;

use crate::GatewayState;

/// Ask each upstream for its models and merge the lists. An upstream that
/// cannot answer fails the request (503): a partial list would make clients
/// believe a model is gone.
pub async fn list_models(State(state): State<GatewayState>) -> Result<Json<ModelList>, ApiError> {
    let mut data = Vec::new();
    for upstream in state.upstreams.all() {
        let list: ModelList = upstream.get_json("/v1/models").await?;
        data.extend(list.data);
    }
    data.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Json(ModelList::new(data)))
}
