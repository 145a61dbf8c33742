//! Inference off the async runtime: a model is owned by one OS thread and
//! fed through a bounded queue. A full queue is refused at once
//! ([`WorkerError::Busy`], which services answer with 503 and
//! `Retry-After`) instead of piling up requests that would time out anyway.
//!
//! Where requests differ a thousandfold in size (one word or a thousand
//! sentences to embed), a queue bounded by its number of requests refuses a
//! burst of small ones the model would serve in a moment, while a few huge
//! ones fill the same slots with minutes of work. [`WorkBudget`] admits by
//! work instead (tokens, audio seconds): a request waits while the work
//! admitted and not yet done fits the budget, and is refused as busy once
//! it would not — a real overload.
//!
//! One thread per model, not per request: Candle's matmuls already use every
//! core through their own thread pool, so more concurrent forward passes
//! would only fight over the same cores. The exception is a model whose
//! clones share one network thread that batches their forward passes
//! (Whisper's `Engine`): [`ModelWorker::spawn_loading_sessions`] runs a
//! few jobs at once on such clones, so concurrent requests reach that
//! thread together and share its passes instead of queueing for them.
//!
//! Each model runs its jobs inside a rayon pool of its own (one thread per
//! core, as many as the global pool). A forward pass forks a hundred or
//! more parallel loops and matrix products; called from an ordinary thread,
//! each of those is handed to the pool and waited for through a mutex and
//! condition variable, while a caller that is itself one of the pool's
//! threads forks and joins through work-stealing deques. Measured on
//! all-MiniLM-L6-v2, one sentence at a time: 7.8 ms from outside the pool,
//! 7.2 ms inside (models/tests/embeddings_speed.rs). A pool per model, not
//! the global one, because a pool thread waiting on a join steals whatever
//! is queued in its pool: in a shared pool a sentence's embedding could end
//! up waiting beneath another model's whole transcription.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use crate::card::ModelCard;
use crate::metrics::WorkerMetrics;
use crate::store::ResolvedModel;

type Job<M> = Box<dyn FnOnce(&mut M) + Send>;

/// Why a job did not run.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WorkerError {
    #[error("model `{0}` is busy: its queue is full, retry shortly")]
    Busy(String),
    #[error("model `{0}` has stopped")]
    Stopped(String),
}

/// Handle to a model running on its own thread.
pub struct ModelWorker<M> {
    name: String,
    sender: SyncSender<Job<M>>,
    metrics: WorkerMetrics,
}

impl<M> std::fmt::Debug for ModelWorker<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelWorker")
            .field("name", &self.name)
            .finish()
    }
}

impl<M> Clone for ModelWorker<M> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            sender: self.sender.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

impl<M: Send + 'static> ModelWorker<M> {
    /// Move `model` onto a new thread that runs queued jobs in order; at most
    /// `queue_capacity` jobs wait. Its metrics carry no service label.
    pub fn spawn(name: &str, queue_capacity: usize, model: M) -> std::io::Result<Self> {
        Self::spawn_loading(name, "", queue_capacity, move || Ok(model), |_| {})
    }

    /// Start a thread that first loads the model with `load` (weights are
    /// read there, not on the async runtime), then runs queued jobs. `loaded`
    /// hears how loading went; on success the handle is usable at once. Its
    /// metrics are labelled with `service` (`speech`, `language`).
    pub fn spawn_loading<L, D>(
        name: &str,
        service: &str,
        queue_capacity: usize,
        load: L,
        loaded: D,
    ) -> std::io::Result<Self>
    where
        L: FnOnce() -> crate::Result<M> + Send + 'static,
        D: FnOnce(crate::Result<()>) + Send + 'static,
    {
        let (sender, receiver) = sync_channel::<Job<M>>(queue_capacity);
        let thread_name = format!("model-{name}");
        let pool_name = thread_name.clone();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .thread_name(move |index| format!("{pool_name}-{index}"))
            .build()
            .map_err(std::io::Error::other)?;
        std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || {
                // Loading and every job run on one of the pool's threads, so
                // their parallel loops fork and join inside it (module doc).
                // Waiting for the next job there blocks that thread only: the
                // pool has nothing else to do meanwhile.
                pool.install(move || {
                    let mut model = match load() {
                        Ok(model) => model,
                        Err(e) => {
                            loaded(Err(e));
                            return;
                        }
                    };
                    loaded(Ok(()));
                    while let Ok(job) = receiver.recv() {
                        job(&mut model);
                    }
                });
            })?;
        Ok(Self {
            name: name.to_string(),
            sender,
            metrics: WorkerMetrics::new(service, name),
        })
    }

    /// Like [`ModelWorker::spawn_loading`], for a model whose clones share
    /// one network and batch their work (Whisper's `Engine`): `sessions`
    /// threads, each with its own clone, take jobs from the one queue, so
    /// up to `sessions` jobs run at once. These threads are plain ones, not
    /// a pool's: they only prepare work and wait for the network's own
    /// thread (which has the pool).
    pub fn spawn_loading_sessions<L, D>(
        name: &str,
        service: &str,
        queue_capacity: usize,
        sessions: usize,
        load: L,
        loaded: D,
    ) -> std::io::Result<Self>
    where
        M: Clone,
        L: FnOnce() -> crate::Result<M> + Send + 'static,
        D: FnOnce(crate::Result<()>) + Send + 'static,
    {
        let (sender, receiver) = sync_channel::<Job<M>>(queue_capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        let thread_name = format!("model-{name}");
        std::thread::Builder::new()
            .name(thread_name.clone())
            .spawn(move || {
                let model = match load() {
                    Ok(model) => model,
                    Err(e) => {
                        loaded(Err(e));
                        return;
                    }
                };
                for session in 1..sessions.max(1) {
                    let (model, receiver) = (model.clone(), receiver.clone());
                    let spawned = std::thread::Builder::new()
                        .name(format!("{thread_name}-session-{session}"))
                        .spawn(move || run_jobs(model, &receiver));
                    if let Err(e) = spawned {
                        // Fewer sessions than asked: still serving.
                        tracing::warn!(error = %e, "could not start a model session thread");
                    }
                }
                loaded(Ok(()));
                run_jobs(model, &receiver);
            })?;
        Ok(Self {
            name: name.to_string(),
            sender,
            metrics: WorkerMetrics::new(service, name),
        })
    }

    pub(crate) fn metrics(&self) -> &WorkerMetrics {
        &self.metrics
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Run `job` on the model's thread and await its result.
    pub async fn run<R, F>(&self, job: F) -> Result<R, WorkerError>
    where
        R: Send + 'static,
        F: FnOnce(&mut M) -> R + Send + 'static,
    {
        self.submit(job)?
            .await
            .map_err(|_| WorkerError::Stopped(self.name.clone()))
    }

    /// Queue `job` now (a full queue is refused here, before anything is
    /// awaited) and return where its result will arrive. For callers that
    /// must know the job was accepted before answering, such as a streamed
    /// response whose status line goes out before the job ends.
    pub fn submit<R, F>(&self, job: F) -> Result<tokio::sync::oneshot::Receiver<R>, WorkerError>
    where
        R: Send + 'static,
        F: FnOnce(&mut M) -> R + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let metrics = self.metrics.clone();
        // The caller's span (the request and its id) goes with the job, so
        // whatever the model logs on its thread names the request it
        // serves.
        let span = tracing::Span::current();
        let enqueued = Instant::now();
        let boxed: Job<M> = Box::new(move |model| {
            metrics.queue_depth.decrement(1.0);
            metrics.queue_wait.record(enqueued.elapsed());
            let started = Instant::now();
            let result = span.in_scope(|| job(model));
            metrics.inference.record(started.elapsed());
            // The caller may have gone away (client disconnected); then
            // there is nobody to tell.
            let _ = reply.send(result);
        });
        self.metrics.queue_depth.increment(1.0);
        self.sender.try_send(boxed).map_err(|e| {
            // Refused: the job was never queued.
            self.metrics.queue_depth.decrement(1.0);
            match e {
                TrySendError::Full(_) => WorkerError::Busy(self.name.clone()),
                TrySendError::Disconnected(_) => WorkerError::Stopped(self.name.clone()),
            }
        })?;
        Ok(answer)
    }
}

/// Work admitted to a model and not yet done, held to a capacity in the
/// model's own unit of work (tokens, audio milliseconds): what a queue
/// admits by. Cheap to clone; clones share the count.
#[derive(Debug, Clone)]
pub struct WorkBudget {
    inner: Arc<BudgetInner>,
}

#[derive(Debug)]
struct BudgetInner {
    name: String,
    capacity: u64,
    admitted: AtomicU64,
}

/// Work admitted by a [`WorkBudget`]; given back when dropped (the request
/// was answered, or its caller went away).
#[derive(Debug)]
pub struct WorkPermit {
    budget: Arc<BudgetInner>,
    units: u64,
}

impl WorkBudget {
    /// A budget of `capacity` units for the model `name` (named in the
    /// busy error).
    pub fn new(name: &str, capacity: u64) -> Self {
        Self {
            inner: Arc::new(BudgetInner {
                name: name.to_string(),
                capacity,
                admitted: AtomicU64::new(0),
            }),
        }
    }

    /// Admit `units` of work, or refuse it as [`WorkerError::Busy`] when
    /// the work already admitted and this would pass the capacity. A
    /// request larger than the whole budget is admitted when nothing else
    /// is (it could never fit otherwise; alone it is the model's only work).
    pub fn try_admit(&self, units: u64) -> Result<WorkPermit, WorkerError> {
        let admitted = &self.inner.admitted;
        let mut current = admitted.load(Ordering::Acquire);
        loop {
            let next = current.saturating_add(units);
            if current > 0 && next > self.inner.capacity {
                return Err(WorkerError::Busy(self.inner.name.clone()));
            }
            match admitted.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return Ok(WorkPermit {
                        budget: self.inner.clone(),
                        units,
                    });
                }
                Err(seen) => current = seen,
            }
        }
    }

    /// Work admitted and not yet given back.
    pub fn admitted(&self) -> u64 {
        self.inner.admitted.load(Ordering::Acquire)
    }

    pub fn capacity(&self) -> u64 {
        self.inner.capacity
    }
}

impl WorkPermit {
    /// The units this permit holds.
    pub fn units(&self) -> u64 {
        self.units
    }
}

impl Drop for WorkPermit {
    fn drop(&mut self) {
        self.budget.admitted.fetch_sub(self.units, Ordering::AcqRel);
    }
}

/// A session thread's loop: the next job from the shared queue, until the
/// queue closes.
fn run_jobs<M>(mut model: M, receiver: &Mutex<Receiver<Job<M>>>) {
    loop {
        // The lock is held while waiting, so one idle session waits on the
        // queue and the others on the lock; poisoning only means another
        // session panicked while waiting, which leaves the receiver intact.
        let job = receiver.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match job {
            Ok(job) => job(&mut model),
            Err(_) => return,
        }
    }
}

/// The models of one kind a service has loaded, by name, with the cards
/// `/v1/models` lists. Entries appear when their load finishes.
pub struct WorkerSet<M> {
    workers: Arc<RwLock<BTreeMap<String, ModelWorker<M>>>>,
}

impl<M> std::fmt::Debug for WorkerSet<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let map = self.workers.read().unwrap_or_else(|p| p.into_inner());
        f.debug_list().entries(map.keys()).finish()
    }
}

impl<M> Clone for WorkerSet<M> {
    fn clone(&self) -> Self {
        Self {
            workers: self.workers.clone(),
        }
    }
}

impl<M> Default for WorkerSet<M> {
    fn default() -> Self {
        Self {
            workers: Arc::default(),
        }
    }
}

impl<M: Send + 'static> WorkerSet<M> {
    /// The loaded model `name`.
    pub fn get(&self, name: &str) -> Option<ModelWorker<M>> {
        // Poisoning only means a writer panicked while inserting into a
        // plain map, which leaves it intact.
        self.workers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Names of the loaded models.
    pub fn names(&self) -> Vec<String> {
        self.workers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    fn insert(&self, worker: ModelWorker<M>) {
        let mut map = self.workers.write().unwrap_or_else(|p| p.into_inner());
        map.insert(worker.name().to_string(), worker);
    }
}

/// Cards of every model a service has loaded.
#[derive(Debug, Clone, Default)]
pub struct LoadedCards(Arc<RwLock<Vec<ModelCard>>>);

impl LoadedCards {
    /// Add the card of a model that finished loading.
    pub fn add(&self, card: ModelCard) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).push(card);
    }

    /// Every card, sorted by id.
    pub fn list(&self) -> Vec<ModelCard> {
        let mut cards = self.0.read().unwrap_or_else(|p| p.into_inner()).clone();
        cards.sort_by(|a, b| a.id.cmp(&b.id));
        cards
    }
}

/// How a background load ended, for a service's readiness.
pub type LoadReport = Box<dyn FnOnce(&str, crate::Result<()>) + Send>;

/// Load `model` in the background into `set`: on success its card joins
/// `cards` and the worker joins `set`; either way `report` hears of it.
pub fn load_into<M, L>(
    set: &WorkerSet<M>,
    cards: &LoadedCards,
    model: &ResolvedModel,
    service: &str,
    queue_capacity: usize,
    load: L,
    report: LoadReport,
) -> std::io::Result<()>
where
    M: Send + 'static,
    L: FnOnce() -> crate::Result<M> + Send + 'static,
{
    register(set, cards, model, service, report, |loaded| {
        ModelWorker::spawn_loading(&model.name, service, queue_capacity, load, loaded)
    })
}

/// [`load_into`] for a model whose clones share one network and run up to
/// `sessions` jobs at once ([`ModelWorker::spawn_loading_sessions`]).
#[expect(
    clippy::too_many_arguments,
    reason = "load_into's arguments plus the session count"
)]
pub fn load_sessions_into<M, L>(
    set: &WorkerSet<M>,
    cards: &LoadedCards,
    model: &ResolvedModel,
    service: &str,
    queue_capacity: usize,
    sessions: usize,
    load: L,
    report: LoadReport,
) -> std::io::Result<()>
where
    M: Clone + Send + 'static,
    L: FnOnce() -> crate::Result<M> + Send + 'static,
{
    register(set, cards, model, service, report, |loaded| {
        ModelWorker::spawn_loading_sessions(
            &model.name,
            service,
            queue_capacity,
            sessions,
            load,
            loaded,
        )
    })
}

type Loaded = Box<dyn FnOnce(crate::Result<()>) + Send>;

/// Start a worker with `spawn` and, once it has loaded, add it and its
/// card to the service's lists.
fn register<M: Send + 'static>(
    set: &WorkerSet<M>,
    cards: &LoadedCards,
    model: &ResolvedModel,
    service: &str,
    report: LoadReport,
    spawn: impl FnOnce(Loaded) -> std::io::Result<ModelWorker<M>>,
) -> std::io::Result<()> {
    let name = model.name.clone();
    let card = ModelCard::from_resolved(model, service, unix_now(), Vec::new());
    let (set_on_load, cards_on_load) = (set.clone(), cards.clone());
    let handle_slot: Arc<std::sync::Mutex<Option<ModelWorker<M>>>> = Arc::default();
    let slot = handle_slot.clone();
    // Held until the handle is stored, so a load that finishes at once
    // still finds it.
    let mut guard = handle_slot.lock().unwrap_or_else(|p| p.into_inner());
    let worker = spawn(Box::new(move |result| {
        if result.is_ok()
            && let Some(worker) = slot.lock().unwrap_or_else(|p| p.into_inner()).take()
        {
            set_on_load.insert(worker);
            cards_on_load.add(card);
        }
        report(&name, result);
    }))?;
    *guard = Some(worker);
    Ok(())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_work_budget_admits_by_work_not_by_requests() {
        let budget = WorkBudget::new("m", 100);
        // Many small requests fit where a count of a few would refuse.
        let small: Vec<WorkPermit> = (0..50).map(|_| budget.try_admit(2).unwrap()).collect();
        assert_eq!(budget.admitted(), 100);
        assert_eq!(
            budget.try_admit(1).unwrap_err(),
            WorkerError::Busy("m".into())
        );
        drop(small);
        assert_eq!(budget.admitted(), 0);
        // Larger than the whole budget: only alone.
        let huge = budget.try_admit(1_000).unwrap();
        assert!(budget.try_admit(1).is_err());
        drop(huge);
        let one = budget.try_admit(1).unwrap();
        assert!(budget.try_admit(1_000).is_err());
        assert_eq!(one.units(), 1);
    }

    #[tokio::test]
    async fn runs_jobs_in_order_on_its_own_thread() {
        let worker = ModelWorker::spawn("counter", 4, 0u32).unwrap();
        let caller = std::thread::current().id();
        let (value, thread) = worker
            .run(move |n| {
                *n += 1;
                (*n, std::thread::current().id())
            })
            .await
            .unwrap();
        assert_eq!(value, 1);
        assert_ne!(thread, caller);
        assert_eq!(worker.run(|n| *n).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn jobs_run_on_a_thread_of_the_models_own_pool() {
        let worker = ModelWorker::spawn("pooled", 1, ()).unwrap();
        let (index, name, threads) = worker
            .run(|_| {
                (
                    rayon::current_thread_index(),
                    std::thread::current().name().map(str::to_owned),
                    rayon::current_num_threads(),
                )
            })
            .await
            .unwrap();
        assert!(index.is_some(), "the job ran outside any rayon pool");
        let name = name.unwrap();
        assert!(name.starts_with("model-pooled-"), "{name}");
        // Sized like the global pool (RAYON_NUM_THREADS or one per core).
        assert_eq!(threads, rayon::current_num_threads());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sessions_run_jobs_at_once_each_on_its_own_clone() {
        let worker =
            ModelWorker::spawn_loading_sessions("shared", "", 4, 2, || Ok(0u32), |_| {}).unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let go_rx = Arc::new(Mutex::new(go_rx));
        let replies: Vec<_> = (0..2)
            .map(|_| {
                let (started, go) = (started_tx.clone(), go_rx.clone());
                worker
                    .submit(move |n: &mut u32| {
                        *n += 1;
                        started.send(()).unwrap();
                        go.lock().unwrap().recv().unwrap();
                        *n
                    })
                    .unwrap()
            })
            .collect();
        // Both jobs start before either may finish: two sessions at once.
        for _ in 0..2 {
            started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        go_tx.send(()).unwrap();
        go_tx.send(()).unwrap();
        for reply in replies {
            // Each session counts on its own clone.
            assert_eq!(reply.await.unwrap(), 1);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_is_refused_at_once() {
        let worker = ModelWorker::spawn("slow", 1, ()).unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let busy = worker.clone();
        let first = tokio::spawn(async move {
            busy.run(move |_| {
                started_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(300));
            })
            .await
        });
        started_rx.recv().unwrap();
        // One job may wait; the next is refused without waiting.
        let waiting = worker.clone();
        let second = tokio::spawn(async move { waiting.run(|_| ()).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let start = std::time::Instant::now();
        let third = worker.run(|_| ()).await;
        assert_eq!(third, Err(WorkerError::Busy("slow".into())));
        assert!(start.elapsed() < Duration::from_millis(100));
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
    }
}
