//! `POST /v1/embeddings`, OpenAI-compatible.
//!
//! - `input`: a string or an array of strings. Arrays of token ids (OpenAI's
//!   tiktoken ids) are refused with a 400: they mean nothing to this model's
//!   WordPiece tokenizer, and silently embedding them would return garbage.
//! - `encoding_format`: `float` (default) or `base64` (the little-endian f32
//!   bytes, as OpenAI sends them; the official SDKs ask for it by default).
//! - `dimensions`: keep the first N components and L2-normalise again
//!   (Matryoshka-style truncation); more than the model has is a 400.
//! - `truncate: true` cuts inputs over the model's token limit; without it
//!   such an input is a 400 naming its index.
//! - Limits ([`crate::Limits`]): inputs per request, chars per input, chars
//!   per request.

use axum::extract::State;
use axum::response::Response;
use base64::Engine;
use serde::{Deserialize, Serialize};
use stratus_kit::ApiError;
use stratus_models::batching::BatchError;

use super::{ApiJson, Usage, char_len};
use crate::LanguageService;
use crate::error::LanguageError;

/// The request body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmbeddingsRequest {
    /// A string, or an array of strings (kept raw here so that each wrong
    /// shape gets its own message).
    #[schema(value_type = crate::openapi::EmbeddingsInput)]
    pub input: serde_json::Value,
    /// A loaded embeddings model (`GET /v1/models`).
    #[schema(example = "all-minilm-l6-v2")]
    pub model: String,
    #[serde(default)]
    pub encoding_format: EncodingFormat,
    pub dimensions: Option<usize>,
    /// Cut inputs longer than the model's context instead of refusing them.
    #[serde(default)]
    pub truncate: bool,
    /// OpenAI's end-user id; accepted and ignored.
    pub user: Option<String>,
}

/// How vectors are written in the response.
#[derive(Debug, Default, Clone, Copy, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    #[default]
    Float,
    Base64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct EmbeddingsResponse {
    object: &'static str,
    data: Vec<EmbeddingItem>,
    model: String,
    usage: EmbeddingsUsage,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct EmbeddingItem {
    object: &'static str,
    index: usize,
    embedding: Embedding,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum Embedding {
    Float(Vec<f32>),
    Base64(String),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct EmbeddingsUsage {
    prompt_tokens: usize,
    total_tokens: usize,
}

/// Create embeddings of one or more texts.
///
/// OpenAI-compatible. `encoding_format: base64` sends the little-endian f32
/// bytes; `dimensions` truncates and re-normalises; `truncate: true` cuts
/// over-long inputs instead of refusing them.
#[utoipa::path(
    post,
    path = "/v1/embeddings",
    tag = "embeddings",
    operation_id = "createEmbeddings",
    request_body(content = EmbeddingsRequest, example = json!({"input": ["The quick brown fox", "A fast auburn fox"], "model": "all-minilm-l6-v2"})),
    responses(
        (status = 200, description = "One embedding per input, in order.",
            body = EmbeddingsResponse,
            headers(("x-stratus-usage-input-tokens" = u64, description = "Model input tokens consumed."),
                ("x-stratus-usage-documents" = u64, description = "Inputs embedded."),
                ("x-stratus-usage-characters" = u64, description = "Characters (Unicode scalar values) of the inputs."))),
        stratus_kit::openapi::ModelErrors,
    )
)]
pub async fn create(
    State(service): State<LanguageService>,
    ApiJson(request): ApiJson<EmbeddingsRequest>,
) -> Result<Response, ApiError> {
    Ok(embed(&service, request).await?)
}

async fn embed(
    service: &LanguageService,
    request: EmbeddingsRequest,
) -> Result<Response, LanguageError> {
    let limits = &service.config.limits;
    let texts = texts_of(request.input, limits.max_embedding_inputs)?;
    let mut characters = 0;
    for (index, text) in texts.iter().enumerate() {
        let chars = char_len(text);
        if chars > limits.max_input_chars {
            return Err(LanguageError::too_large(
                "input",
                format!(
                    "input[{index}] is {chars} characters; at most {} per input",
                    limits.max_input_chars
                ),
            ));
        }
        characters += chars;
    }
    if characters > limits.max_total_chars {
        return Err(LanguageError::too_large(
            "input",
            format!(
                "the inputs total {characters} characters; at most {} per request",
                limits.max_total_chars
            ),
        ));
    }
    if request.dimensions == Some(0) {
        return Err(LanguageError::invalid(
            "dimensions",
            "dimensions must be at least 1",
        ));
    }
    let batcher = service.embedding_batcher(&request.model)?;
    let dimensions = request.dimensions;
    let documents = texts.len();
    let embedded = batcher
        .embed(texts, request.truncate)
        .await
        .map_err(|e| match e {
            BatchError::Worker(e) => LanguageError::Worker(e),
            BatchError::Model(e) => LanguageError::Model(e),
            BatchError::TooLong { index, tokens, max } => LanguageError::invalid(
                "input",
                format!(
                    "input[{index}] is {tokens} tokens; the model takes at most {max} \
                     (send `truncate: true` to cut it)"
                ),
            ),
        })?;
    let prompt_tokens = embedded.tokens;
    let vectors = cut_dimensions(embedded.vectors, dimensions)?;

    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(index, vector)| EmbeddingItem {
            object: "embedding",
            index,
            embedding: match request.encoding_format {
                EncodingFormat::Float => Embedding::Float(vector),
                EncodingFormat::Base64 => Embedding::Base64(to_base64(&vector)),
            },
        })
        .collect();
    let usage = Usage {
        characters,
        documents,
        input_tokens: Some(prompt_tokens),
    };
    Ok(usage.respond(
        Some(batcher.name()),
        EmbeddingsResponse {
            object: "list",
            data,
            model: request.model,
            usage: EmbeddingsUsage {
                prompt_tokens,
                total_tokens: prompt_tokens,
            },
        },
    ))
}

/// `input` as a list of texts: a string, or a non-empty array of strings of
/// at most `max` items.
fn texts_of(input: serde_json::Value, max: usize) -> Result<Vec<String>, LanguageError> {
    use serde_json::Value;
    let items = match input {
        Value::String(text) => return Ok(vec![text]),
        Value::Array(items) => items,
        _ => {
            return Err(LanguageError::invalid(
                "input",
                "input must be a string or an array of strings",
            ));
        }
    };
    if items.is_empty() {
        return Err(LanguageError::invalid("input", "input must not be empty"));
    }
    if items.len() > max {
        return Err(LanguageError::invalid(
            "input",
            format!("input has {} items; at most {max} per request", items.len()),
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::String(text) => Ok(text),
            Value::Number(_) | Value::Array(_) => Err(LanguageError::invalid(
                "input",
                format!(
                    "input[{index}] is token ids; this model's tokenizer is not OpenAI's \
                     (tiktoken), so token arrays cannot be embedded: send the text instead"
                ),
            )),
            _ => Err(LanguageError::invalid(
                "input",
                format!("input[{index}] must be a string"),
            )),
        })
        .collect()
}

/// Keep the first `dimensions` components of each vector and normalise
/// again; more than the model has is a 400.
fn cut_dimensions(
    mut vectors: Vec<Vec<f32>>,
    dimensions: Option<usize>,
) -> Result<Vec<Vec<f32>>, LanguageError> {
    let Some(dimensions) = dimensions else {
        return Ok(vectors);
    };
    let dim = vectors.first().map_or(0, Vec::len);
    if dimensions > dim {
        return Err(LanguageError::invalid(
            "dimensions",
            format!("dimensions is {dimensions}; this model's embeddings have {dim}"),
        ));
    }
    if dimensions < dim {
        for vector in &mut vectors {
            vector.truncate(dimensions);
            normalize(vector);
        }
    }
    Ok(vectors)
}

/// L2-normalise in place; a zero vector stays zero.
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    for x in vector {
        *x /= norm;
    }
}

/// The vector's little-endian f32 bytes in standard base64 (OpenAI's
/// `encoding_format: "base64"`).
fn to_base64(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_shapes() {
        assert_eq!(texts_of(json!("a"), 4).unwrap(), ["a"]);
        assert_eq!(texts_of(json!(["a", "b"]), 4).unwrap(), ["a", "b"]);
        let message = |v| texts_of(v, 2).unwrap_err().to_string();
        assert!(message(json!([])).contains("empty"));
        assert!(message(json!(["a", "b", "c"])).contains("at most 2"));
        assert!(message(json!([[1, 2]])).contains("token ids"));
        assert!(message(json!([1, 2])).contains("input[0] is token ids"));
        assert!(message(json!(["a", null])).contains("input[1]"));
        assert!(message(json!(3)).contains("string"));
    }

    #[test]
    fn base64_is_little_endian_f32() {
        let encoded = to_base64(&[1.0, -2.5]);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(
            bytes,
            [1f32.to_le_bytes(), (-2.5f32).to_le_bytes()].concat()
        );
    }

    #[test]
    fn normalize_unit_length() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut zero = vec![0.0, 0.0];
        normalize(&mut zero);
        assert_eq!(zero, [0.0, 0.0]);
    }
}
