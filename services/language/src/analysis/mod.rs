//! Text analysis over sentence embeddings, free of HTTP and of the model:
//! what `/v1/language/key-phrases`, `/classify` and `/summarize` compute
//! once the embedder has turned text into vectors.
//!
//! - [`sentences`] — the sentence splitter (char offsets) and chunking of
//!   long documents.
//! - [`phrases`] — key-phrase candidates and the English stopword list.
//! - [`scoring`] — cosine, centroids, MMR, score calibrations.
//! - [`sentiment`] — a document's sentiment from its sentences'.

pub mod phrases;
pub mod scoring;
pub mod sentences;
pub mod sentiment;

/// Chars per piece a document is embedded in: well under the embedder's
/// 256-token window (English runs ~4–5 chars per token), so a long
/// document's embedding is the mean of all of it, not of its first 256
/// tokens.
pub const CHUNK_CHARS: usize = 800;
