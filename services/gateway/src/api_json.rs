//! `axum::Json` whose rejections (wrong content type, malformed JSON, a
//! field of the wrong type, a body over the limit) answer in the error
//! envelope like every other failure.

use axum::extract::FromRequest;
use stratus_kit::ApiError;

#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);
