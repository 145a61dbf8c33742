//! Dynamic batching of embedding requests across callers.
//!
//! Each caller's texts join a shared pending queue; the embedder's worker
//! thread ([`crate::worker::ModelWorker`]) takes every request waiting
//! there, up to a token budget, and embeds all their texts in one call
//! (sorted by length into padded forward passes of the embedder's batch
//! size), then hands each caller its own vectors. While a batch runs, new
//! requests pile up and go together in the next one, so under load the
//! batches fill by themselves; `max_wait` (default 0) lets a lone request
//! wait a moment for company when the model is idle.
//!
//! Batching cannot change a result: padding is masked out of attention and
//! out of the mean pooling ([`crate::bert::Embedder`]), so a text's vector
//! is the same alone or beside texts of any length (to float rounding,
//! 1e-5; `tests/batching.rs` checks it with concurrent callers).
//!
//! Bounded by work, not by requests: a request is admitted while the
//! tokens of the requests waiting or running, with its own, fit
//! `max_pending_tokens` ([`WorkBudget`]); past it, it is refused at once
//! with [`WorkerError::Busy`], like a full worker queue. A request's tokens
//! are not known before the tokenizer runs (on the model's thread), so
//! admission counts an upper bound from its text: a WordPiece token covers
//! at least one character, plus `[CLS]` and `[SEP]`, and no text runs more
//! than the model's longest input. So a burst of hundreds of one-word
//! requests (a few tokens each, one forward pass together) waits and is
//! served, while a flood of long texts is refused as soon as its work
//! would pass the budget.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::ModelError;
use crate::bert::Embedder;
use crate::worker::{ModelWorker, WorkBudget, WorkPermit, WorkerError};

/// How requests are grouped.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Most tokens (real ones, `[CLS]`/`[SEP]` included) of the requests
    /// embedded together; a single larger request still runs, alone.
    pub token_budget: usize,
    /// How long a request may wait for others when the model is idle.
    pub max_wait: Duration,
    /// Tokens (counted from the texts as an upper bound, see the module
    /// doc) of the requests waiting or running; more are refused as busy.
    pub max_pending_tokens: usize,
}

/// Tokens a text of any length may count for at admission: the longest
/// input of BERT-family embedders (longer texts are truncated or refused).
const MAX_TEXT_TOKENS: usize = 512;

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            token_budget: 8192,
            // Never wait when idle: batches form from what arrives while
            // one runs, as in TEI.
            max_wait: Duration::ZERO,
            // Four full batches.
            max_pending_tokens: 4 * 8192,
        }
    }
}

/// The most tokens `texts` can be: at most one per character, plus
/// `[CLS]` and `[SEP]`, and at most [`MAX_TEXT_TOKENS`] each.
pub fn token_bound(texts: &[String]) -> u64 {
    texts
        .iter()
        .map(|t| (t.chars().count().saturating_add(2)).min(MAX_TEXT_TOKENS) as u64)
        .fold(0_u64, u64::saturating_add)
}

/// One request's answer.
#[derive(Debug, Clone)]
pub struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    /// Tokens consumed (after truncation).
    pub tokens: usize,
    /// Requests in the batch this one ran in (1: alone).
    pub batched_with: usize,
}

/// Why a request was not embedded.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// A text is over the model's tokens and the caller did not ask for
    /// truncation.
    #[error("input[{index}] is {tokens} tokens; the model takes at most {max}")]
    TooLong {
        index: usize,
        tokens: usize,
        max: usize,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
}

struct Request {
    texts: Vec<String>,
    truncate: bool,
    arrived: Instant,
    reply: tokio::sync::oneshot::Sender<Result<Embedded, BatchError>>,
    /// Its share of the pending budget, given back when it is answered.
    _admitted: WorkPermit,
}

#[derive(Default)]
struct Pending {
    queue: VecDeque<Request>,
    /// A flush job is queued on or running on the worker.
    scheduled: bool,
}

/// Batches embedding requests for one embedder worker. Cheap to clone; all
/// clones share the pending queue.
#[derive(Clone)]
pub struct EmbeddingBatcher {
    worker: ModelWorker<Embedder>,
    pending: Arc<Mutex<Pending>>,
    budget: WorkBudget,
    config: BatchConfig,
}

impl std::fmt::Debug for EmbeddingBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingBatcher")
            .field("worker", &self.worker)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EmbeddingBatcher {
    /// Batch requests for `worker` (whose embedder must truncate: whether a
    /// request may be cut is decided here, per request).
    pub fn new(worker: ModelWorker<Embedder>, config: BatchConfig) -> Self {
        let budget = WorkBudget::new(worker.name(), config.max_pending_tokens as u64);
        Self {
            worker,
            pending: Arc::default(),
            budget,
            config,
        }
    }

    /// Tokens (as admission counts them) of the requests waiting or
    /// running.
    pub fn pending_tokens(&self) -> u64 {
        self.budget.admitted()
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        self.worker.name()
    }

    /// Embed `texts` (in order), batched with whatever other callers are
    /// waiting. With `truncate` false, a text over the model's token limit
    /// fails the request with [`BatchError::TooLong`].
    pub async fn embed(&self, texts: Vec<String>, truncate: bool) -> Result<Embedded, BatchError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let admitted = self.budget.try_admit(token_bound(&texts))?;
        {
            let mut pending = lock(&self.pending);
            pending.queue.push_back(Request {
                texts,
                truncate,
                arrived: Instant::now(),
                reply,
                _admitted: admitted,
            });
            if !pending.scheduled {
                let (shared, config) = (self.pending.clone(), self.config.clone());
                let batch_size = self.worker.metrics().batch_size.clone();
                // Not awaited: the flush answers each request itself.
                match self
                    .worker
                    .submit(move |model| flush(model, &shared, &config, &batch_size))
                {
                    Ok(_) => pending.scheduled = true,
                    Err(e) => {
                        pending.queue.pop_back();
                        return Err(e.into());
                    }
                }
            }
        }
        answer
            .await
            .map_err(|_| BatchError::Worker(WorkerError::Stopped(self.worker.name().to_string())))?
    }
}

fn lock(pending: &Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
    // Poisoning means a flush panicked mid-way; the queue itself is intact.
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

/// On the model's thread: embed batches until nothing is pending.
fn flush(
    model: &mut Embedder,
    shared: &Mutex<Pending>,
    config: &BatchConfig,
    batch_size: &metrics::Histogram,
) {
    loop {
        let requests = {
            let mut pending = lock(shared);
            let Some(oldest) = pending.queue.front().map(|r| r.arrived) else {
                pending.scheduled = false;
                return;
            };
            let waited = oldest.elapsed();
            let tokens: u64 = pending.queue.iter().map(|r| r._admitted.units()).sum();
            if waited < config.max_wait && tokens < config.token_budget as u64 {
                drop(pending);
                std::thread::sleep(config.max_wait - waited);
                continue;
            }
            std::mem::take(&mut pending.queue)
        };
        let (batch, rest) = select(model, requests, config.token_budget);
        if !rest.is_empty() {
            // Back to the front, ahead of later arrivals.
            let mut pending = lock(shared);
            for request in rest.into_iter().rev() {
                pending.queue.push_front(request);
            }
        }
        run(model, batch, batch_size);
    }
}

/// Requests with their token counts: the first ones that fit `budget`
/// (at least one), and the rest. Requests with a text over the limit that
/// did not ask for truncation are answered here.
fn select(
    model: &Embedder,
    requests: VecDeque<Request>,
    budget: usize,
) -> (Vec<(Request, usize)>, Vec<Request>) {
    let max = model.max_tokens();
    let mut batch = Vec::new();
    let mut rest = Vec::new();
    let mut used = 0;
    for request in requests {
        if !rest.is_empty() {
            rest.push(request);
            continue;
        }
        let counted: Result<usize, BatchError> =
            request
                .texts
                .iter()
                .enumerate()
                .try_fold(0, |sum, (index, text)| {
                    let tokens = model.count_tokens(text)?;
                    if tokens > max && !request.truncate {
                        return Err(BatchError::TooLong { index, tokens, max });
                    }
                    Ok(sum + tokens.min(max))
                });
        match counted {
            Err(e) => {
                let _ = request.reply.send(Err(e));
            }
            Ok(tokens) if batch.is_empty() || used + tokens <= budget => {
                used += tokens;
                batch.push((request, tokens));
            }
            Ok(_) => rest.push(request),
        }
    }
    (batch, rest)
}

/// Embed every text of `batch` in one call and answer each request.
fn run(model: &Embedder, batch: Vec<(Request, usize)>, batch_size: &metrics::Histogram) {
    if batch.is_empty() {
        return;
    }
    let texts: Vec<&str> = batch
        .iter()
        .flat_map(|(r, _)| r.texts.iter().map(String::as_str))
        .collect();
    batch_size.record(texts.len() as f64);
    let size = batch.len();
    match model.embed(&texts) {
        Ok(vectors) => {
            let mut vectors = vectors.into_iter();
            for (request, tokens) in batch {
                let mine: Vec<Vec<f32>> = vectors.by_ref().take(request.texts.len()).collect();
                let _ = request.reply.send(Ok(Embedded {
                    vectors: mine,
                    tokens,
                    batched_with: size,
                }));
            }
        }
        // One bad request must not fail its neighbours: run each alone so
        // the error reaches only its own caller.
        Err(_) if size > 1 => {
            for (request, tokens) in batch {
                let refs: Vec<&str> = request.texts.iter().map(String::as_str).collect();
                let result = model.embed(&refs).map(|vectors| Embedded {
                    vectors,
                    tokens,
                    batched_with: 1,
                });
                let _ = request.reply.send(result.map_err(BatchError::from));
            }
        }
        Err(e) => {
            if let Some((request, _)) = batch.into_iter().next() {
                let _ = request.reply.send(Err(e.into()));
            }
        }
    }
}
