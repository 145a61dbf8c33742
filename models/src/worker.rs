//! Inference off the async runtime: a model is owned by one OS thread and
//! fed through a bounded queue. A full queue is refused at once
//! ([`WorkerError::Busy`], which services answer with 429/503 and
//! `Retry-After`) instead of piling up requests that would time out anyway.
//!
//! One thread per model, not per request: Candle's matmuls already use every
//! core through their own thread pool, so more concurrent forward passes
//! would only fight over the same cores.

use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

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
#[derive(Debug)]
pub struct ModelWorker<M> {
    name: String,
    sender: SyncSender<Job<M>>,
}

impl<M> Clone for ModelWorker<M> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            sender: self.sender.clone(),
        }
    }
}

impl<M: Send + 'static> ModelWorker<M> {
    /// Move `model` onto a new thread that runs queued jobs in order; at most
    /// `queue_capacity` jobs wait.
    pub fn spawn(name: &str, queue_capacity: usize, mut model: M) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel::<Job<M>>(queue_capacity);
        std::thread::Builder::new()
            .name(format!("model-{name}"))
            .spawn(move || {
                // Ends when every handle is dropped.
                while let Ok(job) = receiver.recv() {
                    job(&mut model);
                }
            })?;
        Ok(Self {
            name: name.to_string(),
            sender,
        })
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
        let (reply, answer) = tokio::sync::oneshot::channel();
        let boxed: Job<M> = Box::new(move |model| {
            // The caller may have gone away (client disconnected); then
            // there is nobody to tell.
            let _ = reply.send(job(model));
        });
        self.sender.try_send(boxed).map_err(|e| match e {
            TrySendError::Full(_) => WorkerError::Busy(self.name.clone()),
            TrySendError::Disconnected(_) => WorkerError::Stopped(self.name.clone()),
        })?;
        answer
            .await
            .map_err(|_| WorkerError::Stopped(self.name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
