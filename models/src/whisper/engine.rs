//! [`Engine`]: one Whisper network shared by concurrent transcriptions,
//! run on a thread of its own that batches their work.
//!
//! Each transcription (a session: the long-audio loop in `mod.rs`, on its
//! own thread) asks the engine for every forward pass and waits for the
//! answer. The engine's thread takes whatever is queued when it comes
//! round and runs alike requests together:
//! - windows to encode go through the encoder as one batch
//!   (`[windows, n_mels, 3000]`);
//! - decoding steps go through [`Whisper::step_many`] together: one read
//!   of the decoder's weights for every live stream's next token, where a
//!   step is bound by memory, not arithmetic.
//!
//! Nothing waits on purpose to fill a batch: while a batch runs the next
//! requests queue up, so concurrent streams fall into step by themselves
//! and a lone stream never waits for company.
//!
//! A batch gives each request the result it gets alone (tests in
//! `models/tests/whisper.rs`): the encoder never mixes windows, and the
//! int8 decoder's products are row by row.
//!
//! The thread runs inside a rayon pool of its own (one thread per core),
//! as every model worker does (see `crate::worker`); sessions only do host
//! work (logit rules, text, segments) and wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use candle_core::{Result, Tensor};

use super::model::{KvCache, Whisper};

/// Most windows encoded in one batch: four 30 s windows are ~8 MB of
/// features each for tiny, and more does not go faster on the CPU.
const MAX_ENCODE_BATCH: usize = 4;

/// Most rows in one batched decoding step: the int8 products' limit, e.g.
/// sixteen greedy streams or three five-beam searches.
const MAX_STEP_ROWS: usize = super::model::INT8_MAX_ROWS;

/// Longest the engine waits for the rest of a batch of decoding steps
/// (see `serve`): a few times what a stream's host work between two steps
/// takes (logit rules over 51,864 logits, ~0.3 ms), well under a step.
const GATHER_STEPS_FOR: Duration = Duration::from_micros(1500);

type Reply<T> = Sender<Result<T>>;

/// A queued decoding step: its tokens, the cache they follow, where to answer.
type QueuedStep = (Vec<u32>, KvCache, Reply<(KvCache, Tensor)>);

enum Op {
    Encode {
        mel: Tensor,
        reply: Reply<Tensor>,
    },
    Step {
        tokens: Vec<u32>,
        cache: KvCache,
        reply: Reply<(KvCache, Tensor)>,
    },
    Run(Box<dyn FnOnce(&Whisper) + Send>),
}

/// A handle to the network's thread; clones share it. The thread ends when
/// the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Engine {
    ops: Sender<Op>,
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    encode_batches: AtomicU64,
    windows: AtomicU64,
    batched_windows: AtomicU64,
    step_batches: AtomicU64,
    steps: AtomicU64,
    batched_steps: AtomicU64,
}

/// How much of an engine's work ran batched, since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Encoder passes, and the windows they encoded.
    pub encode_batches: u64,
    pub windows: u64,
    /// Windows encoded together with another.
    pub batched_windows: u64,
    /// Batched decoding steps, and the sequences' steps they ran.
    pub step_batches: u64,
    pub steps: u64,
    /// Step batches that held more than one sequence.
    pub batched_steps: u64,
}

fn stopped() -> candle_core::Error {
    candle_core::Error::Msg("the Whisper engine thread has stopped".into())
}

impl Engine {
    /// Move `whisper` onto a new thread, in a rayon pool of `threads`
    /// threads (0: as many as the global pool).
    pub fn start(whisper: Whisper, threads: usize) -> std::io::Result<Self> {
        let threads = if threads == 0 {
            rayon::current_num_threads()
        } else {
            threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("whisper-engine-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        let (ops, queue) = channel();
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        std::thread::Builder::new()
            .name("whisper-engine".into())
            .spawn(move || pool.install(move || serve(whisper, &queue, &shared)))?;
        Ok(Self { ops, counters })
    }

    /// What ran batched so far.
    pub fn batching(&self) -> Batching {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Batching {
            encode_batches: get(&c.encode_batches),
            windows: get(&c.windows),
            batched_windows: get(&c.batched_windows),
            step_batches: get(&c.step_batches),
            steps: get(&c.steps),
            batched_steps: get(&c.batched_steps),
        }
    }

    fn ask<T: Send + 'static>(&self, make: impl FnOnce(Reply<T>) -> Op) -> Result<T> {
        let (reply, answer) = channel();
        self.ops.send(make(reply)).map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }

    /// Run `f` on the network's thread, in turn with everything else.
    pub fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Whisper) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.ask(|reply| {
            Op::Run(Box::new(move |whisper| {
                // The session may have gone; nobody to tell then.
                let _ = reply.send(f(whisper));
            }))
        })
    }

    /// Encode one `[1, n_mels, 3000]` window (batched with other sessions').
    pub fn encode(&self, mel: &Tensor) -> Result<Tensor> {
        let mel = mel.clone();
        self.ask(|reply| Op::Encode { mel, reply })
    }

    /// One decoding step: `tokens` (one per cache row) after what `cache`
    /// holds; returns the logits `[rows, vocab]` (batched with other
    /// sessions' steps).
    pub fn step(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        // Here, on the session's thread, rather than on the engine's, which
        // all sessions wait for.
        cache.to_host()?;
        let taken = std::mem::take(cache);
        let tokens = tokens.to_vec();
        let (back, logits) = self.ask(|reply| Op::Step {
            tokens,
            cache: taken,
            reply,
        })?;
        *cache = back;
        Ok(logits)
    }
}

/// The engine thread: take what is queued, run it, batching alike work.
fn serve(whisper: Whisper, queue: &Receiver<Op>, counters: &Counters) {
    // Sequences in the last step batch: how many to expect in the next.
    let mut expected_steps = 0;
    while let Ok(first) = queue.recv() {
        let mut encodes = Vec::new();
        let mut steps = Vec::new();
        let take = |op: Op, encodes: &mut Vec<_>, steps: &mut Vec<_>| match op {
            Op::Run(f) => f(&whisper),
            Op::Encode { mel, reply } => encodes.push((mel, reply)),
            Op::Step {
                tokens,
                cache,
                reply,
            } => steps.push((tokens, cache, reply)),
        };
        take(first, &mut encodes, &mut steps);
        while let Ok(op) = queue.try_recv() {
            take(op, &mut encodes, &mut steps);
        }
        // Streams that stepped together last time are each a little
        // behind the first (their logit rules and sampling run on their own
        // threads between steps): give the rest a moment to arrive rather
        // than run the step for one and the others right after it. Only
        // when the last batch held several; a lone stream never waits.
        if expected_steps > 1 {
            let deadline = Instant::now() + GATHER_STEPS_FOR;
            while !steps.is_empty() && encodes.is_empty() && steps.len() < expected_steps {
                let left = deadline.saturating_duration_since(Instant::now());
                match queue.recv_timeout(left) {
                    Ok(op) => take(op, &mut encodes, &mut steps),
                    Err(_) => break,
                }
            }
        }
        if !steps.is_empty() {
            expected_steps = steps.len();
        }
        for batch in encodes.chunks(MAX_ENCODE_BATCH) {
            let n = batch.len() as u64;
            counters.encode_batches.fetch_add(1, Ordering::Relaxed);
            counters.windows.fetch_add(n, Ordering::Relaxed);
            if n > 1 {
                counters.batched_windows.fetch_add(n, Ordering::Relaxed);
            }
            encode_batch(&whisper, batch);
        }
        let mut steps = steps.into_iter().peekable();
        while steps.peek().is_some() {
            let mut batch = Vec::new();
            let mut rows = 0;
            while let Some((tokens, _, _)) = steps.peek() {
                if !batch.is_empty() && rows + tokens.len() > MAX_STEP_ROWS {
                    break;
                }
                rows += tokens.len();
                batch.extend(steps.next());
            }
            let n = batch.len() as u64;
            counters.step_batches.fetch_add(1, Ordering::Relaxed);
            counters.steps.fetch_add(n, Ordering::Relaxed);
            if n > 1 {
                counters.batched_steps.fetch_add(1, Ordering::Relaxed);
            }
            step_batch(&whisper, batch);
        }
    }
}

fn encode_batch(whisper: &Whisper, batch: &[(Tensor, Reply<Tensor>)]) {
    let result = Tensor::cat(&batch.iter().map(|(m, _)| m).collect::<Vec<_>>(), 0)
        .and_then(|mels| whisper.encode(&mels));
    for (i, (_, reply)) in batch.iter().enumerate() {
        let _ = reply.send(match &result {
            Ok(features) => features.narrow(0, i, 1),
            Err(e) => Err(candle_core::Error::Msg(format!("encoding failed: {e}"))),
        });
    }
}

fn step_batch(whisper: &Whisper, mut batch: Vec<QueuedStep>) {
    let result = {
        let mut steps: Vec<(&[u32], &mut KvCache)> = batch
            .iter_mut()
            .map(|(tokens, cache, _)| (tokens.as_slice(), cache))
            .collect();
        whisper.step_many(&mut steps)
    };
    match result {
        Ok(logits) => {
            for ((_, cache, reply), logits) in batch.into_iter().zip(logits) {
                let _ = reply.send(Ok((cache, logits)));
            }
        }
        Err(e) => {
            for (_, _, reply) in batch {
                let _ = reply.send(Err(candle_core::Error::Msg(format!(
                    "decoding step failed: {e}"
                ))));
            }
        }
    }
}
