//! Sustained usage-event write throughput (loadtest/usage-throughput.sh runs
//! it; results in loadtest/RESULTS.md).
//!
//! `usage_throughput STORE_URL SECONDS CONCURRENCY WAL_DIR [nosync]`: CONCURRENCY
//! tasks record events through the real pipeline as fast as they can for
//! SECONDS (each `record` returns once the event is synced in the
//! write-ahead log, as a request would wait), then the writer drains into
//! the store. Prints events/s made durable, events/s stored (including the
//! drain), and the record latency percentiles. Then the store's raw batch
//! insert rate, for reference.

use std::time::{Duration, Instant};

use stratus_gateway::Store;
use stratus_gateway::metering::{Meter, MeteringConfig, Units, UsageEvent};

fn event(i: u64) -> UsageEvent {
    UsageEvent {
        id: uuid::Uuid::now_v7(),
        request_id: Some(uuid::Uuid::now_v7().to_string()),
        client_request_id: None,
        tenant_id: format!("tenant-{}", i % 16),
        key_id: Some(format!("key_{}", i % 64)),
        user_id: None,
        service: "language".into(),
        endpoint: "/v1/embeddings".into(),
        model: Some("all-minilm-l6-v2".into()),
        status: 200,
        latency_ms: 3,
        time_ms: stratus_gateway::metering::event::now_ms(),
        units: Units {
            requests: 1,
            audio_ms: 0,
            input_tokens: 12,
            characters: 48,
            documents: 1,
        },
    }
}

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("usage: usage_throughput STORE_URL SECONDS CONCURRENCY WAL_DIR [nosync]")]
    Usage,
    #[error(transparent)]
    Store(#[from] stratus_gateway::StoreError),
    #[error(transparent)]
    Metering(#[from] stratus_gateway::metering::MeteringError),
    #[error("{0}")]
    Task(String),
}

#[tokio::main]
async fn main() -> Result<(), BenchError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, seconds, concurrency, wal, sync) = match args.as_slice() {
        [url, seconds, concurrency, wal] => (url, seconds, concurrency, wal, true),
        [url, seconds, concurrency, wal, nosync] if nosync == "nosync" => {
            (url, seconds, concurrency, wal, false)
        }
        _ => return Err(BenchError::Usage),
    };
    let seconds: u64 = seconds.parse().map_err(|_| BenchError::Usage)?;
    let concurrency: usize = concurrency.parse().map_err(|_| BenchError::Usage)?;
    let store = Store::open(url).await?;
    let mut config = MeteringConfig::new(wal);
    config.wal_sync = sync;
    let meter = Meter::start(store.clone(), config).await?;

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let meter = meter.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = t as u64;
                while Instant::now() < deadline {
                    let at = Instant::now();
                    meter.record(&event(i)).await?;
                    latencies.push(at.elapsed().as_micros() as u64);
                    i += concurrency as u64;
                }
                Ok::<_, stratus_gateway::metering::MeteringError>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| BenchError::Task(e.to_string()))??);
    }
    let recorded_in = started.elapsed().as_secs_f64();
    meter.drain(Duration::from_secs(600)).await?;
    let stored_in = started.elapsed().as_secs_f64();
    meter.shutdown(Duration::from_secs(5)).await?;
    if latencies.is_empty() {
        return Err(BenchError::Task("no event was recorded".into()));
    }
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let n = latencies.len();
    let line = format!(
        "{backend}: concurrency {concurrency}, log sync {sync}: {n} events; durable {:.0}/s; stored {:.0}/s (drained {:.2} s after the load); record latency p50 {} us, p99 {} us, max {} us",
        n as f64 / recorded_in,
        n as f64 / stored_in,
        stored_in - recorded_in,
        pct(0.5),
        pct(0.99),
        latencies[n - 1],
        backend = store.backend(),
    );
    tracing_free_print(&line);

    // The store alone: batches of 1000 inserted back to back.
    let batches = 20;
    let started = Instant::now();
    for b in 0..batches {
        let events: Vec<UsageEvent> = (0..1000).map(|i| event(b * 1000 + i)).collect();
        store.insert_usage_events(&events).await?;
    }
    let rate = (batches * 1000) as f64 / started.elapsed().as_secs_f64();
    tracing_free_print(&format!(
        "{}: store alone, batches of 1000: {rate:.0} events/s",
        store.backend()
    ));
    Ok(())
}

/// Results go to stdout for the script (examples may print; the workspace
/// lint is for services).
fn tracing_free_print(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}
