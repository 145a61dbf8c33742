//! An open-loop, constant-rate HTTP load generator, and the report that
//! turns its results into the overhead table.
//!
//! Open loop: request *i* is sent at `start + i / rate` whether or not
//! earlier ones have answered, so a slow target meets the same arrival rate
//! as a fast one (a closed loop would slow down with it and hide its
//! latency). Latency is measured from the moment each request is handed to
//! the connection pool to the last byte of its response; the generator's
//! own lag behind the schedule is reported beside it (`late_max_ms`), so a
//! starved generator shows instead of silently lowering the rate.
//!
//! `run` appends one JSON line per run to `--out`; `report` reads those
//! lines and prints, per rate, each target's latency minus the direct
//! target's (the proxy's overhead) and the ratio of the peers' overheads.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send POST requests at a constant rate and record their latency.
    Run(RunArgs),
    /// Print the overhead table from the results of `run`.
    Report {
        /// The JSON lines file `run --out` wrote.
        results: PathBuf,
        /// The label of the direct (no proxy) runs.
        #[arg(long, default_value = "direct")]
        baseline: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    /// Target URL (POST).
    #[arg(long)]
    url: String,
    /// Requests per second.
    #[arg(long)]
    rate: u32,
    /// Seconds measured.
    #[arg(long, default_value_t = 10)]
    duration: u32,
    /// Seconds sent first and not measured (connections, caches, JITs warm up).
    #[arg(long, default_value_t = 2)]
    warmup: u32,
    /// Extra header, `Name: value` (repeatable), e.g. an API key.
    #[arg(long = "header")]
    headers: Vec<String>,
    /// Request body (JSON).
    #[arg(
        long,
        default_value = r#"{"model":"bench-embed","input":"the quick brown fox"}"#
    )]
    body: String,
    /// A request not answered within this many milliseconds is an error.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// Name of this target in the report (`direct`, `stratus`, `litellm`).
    #[arg(long)]
    label: String,
    /// Append the result as one JSON line here.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One run's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunResult {
    label: String,
    rate: u32,
    measured: usize,
    ok: usize,
    errors: usize,
    error_kinds: BTreeMap<String, usize>,
    /// `None` when no request succeeded.
    p50_ms: Option<f64>,
    p90_ms: Option<f64>,
    p99_ms: Option<f64>,
    max_ms: Option<f64>,
    late_max_ms: f64,
}

struct Sample {
    measured: bool,
    latency: Duration,
    late: Duration,
    error: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            // One thread: the generator's share of a two-core machine stays
            // one core at most, and its timing is not spread across threads.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let result = runtime.block_on(run(args.clone()))?;
            let line = serde_json::to_string(&result)?;
            writeln!(std::io::stderr(), "{line}")?;
            if let Some(path) = &args.out {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                writeln!(file, "{line}")?;
            }
            Ok(())
        }
        Command::Report { results, baseline } => report(&results, &baseline),
    }
}

async fn run(args: RunArgs) -> Result<RunResult, Box<dyn std::error::Error>> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(4096)
        .build(connector);
    let uri: hyper::Uri = args.url.parse()?;
    let mut headers = hyper::HeaderMap::new();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("--header `{h}`: expected `Name: value`"))?;
        headers.insert(
            HeaderName::try_from(name.trim())?,
            HeaderValue::try_from(value.trim())?,
        );
    }
    let body = Bytes::from(args.body.clone());
    let rate = args.rate.max(1);
    let warm = (rate as u64) * args.warmup as u64;
    let total = warm + (rate as u64) * args.duration as u64;
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let timeout = Duration::from_millis(args.timeout_ms);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Sample>();

    let start = Instant::now() + Duration::from_millis(50);
    let mut next = 0u64;
    while next < total {
        let due = start + period.mul_f64(next as f64);
        tokio::time::sleep_until(due.into()).await;
        // Send everything that is due (the timer wheel ticks in ms, so at
        // 2000/s two requests are due per tick).
        let now = Instant::now();
        while next < total && start + period.mul_f64(next as f64) <= now {
            let scheduled = start + period.mul_f64(next as f64);
            let mut request = Request::post(uri.clone()).body(Full::new(body.clone()))?;
            *request.headers_mut() = headers.clone();
            let client = client.clone();
            let tx = tx.clone();
            let measured = next >= warm;
            tokio::spawn(async move {
                let sent = Instant::now();
                let outcome = tokio::time::timeout(timeout, async {
                    let response = client.request(request).await.map_err(|e| {
                        if e.is_connect() {
                            "connect".to_string()
                        } else {
                            "transport".to_string()
                        }
                    })?;
                    let status = response.status();
                    response
                        .into_body()
                        .collect()
                        .await
                        .map_err(|_| "body".to_string())?;
                    if status.is_success() {
                        Ok(())
                    } else {
                        Err(format!("status {}", status.as_u16()))
                    }
                })
                .await
                .unwrap_or_else(|_| Err("timeout".into()));
                let _ = tx.send(Sample {
                    measured,
                    latency: sent.elapsed(),
                    late: sent.saturating_duration_since(scheduled),
                    error: outcome.err(),
                });
            });
            next += 1;
        }
    }
    drop(tx);

    let mut latencies = Vec::new();
    let mut error_kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut late_max = Duration::ZERO;
    while let Some(sample) = rx.recv().await {
        if !sample.measured {
            continue;
        }
        late_max = late_max.max(sample.late);
        match sample.error {
            None => latencies.push(sample.latency),
            Some(kind) => *error_kinds.entry(kind).or_default() += 1,
        }
    }
    latencies.sort();
    let pick = |q: f64| -> Option<f64> {
        if latencies.is_empty() {
            return None;
        }
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        Some(latencies[i].as_secs_f64() * 1000.0)
    };
    let errors: usize = error_kinds.values().sum();
    Ok(RunResult {
        label: args.label,
        rate,
        measured: latencies.len() + errors,
        ok: latencies.len(),
        errors,
        error_kinds,
        p50_ms: pick(0.50),
        p90_ms: pick(0.90),
        p99_ms: pick(0.99),
        max_ms: pick(1.0),
        late_max_ms: late_max.as_secs_f64() * 1000.0,
    })
}

fn report(path: &PathBuf, baseline: &str) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let results: Vec<RunResult> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let mut by_rate: BTreeMap<u32, Vec<&RunResult>> = BTreeMap::new();
    for r in &results {
        by_rate.entry(r.rate).or_default().push(r);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "| rate/s | target | p50 ms | p99 ms | max ms | errors | overhead p50 ms | overhead p99 ms | overhead max ms | gen lag max ms |"
    )?;
    writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    let mut ratios = Vec::new();
    for (rate, runs) in &by_rate {
        let direct = runs.iter().find(|r| r.label == baseline);
        let mut overheads: BTreeMap<&str, f64> = BTreeMap::new();
        let ms = |v: Option<f64>| v.unwrap_or(f64::NAN);
        for r in runs {
            let (o50, o99, omax) = match direct {
                Some(d) if r.label != baseline => {
                    overheads.insert(&r.label, ms(r.p99_ms) - ms(d.p99_ms));
                    (
                        format!("{:.3}", ms(r.p50_ms) - ms(d.p50_ms)),
                        format!("{:.3}", ms(r.p99_ms) - ms(d.p99_ms)),
                        format!("{:.3}", ms(r.max_ms) - ms(d.max_ms)),
                    )
                }
                _ => ("—".into(), "—".into(), "—".into()),
            };
            writeln!(
                out,
                "| {rate} | {} | {:.3} | {:.3} | {:.3} | {} of {} | {o50} | {o99} | {omax} | {:.1} |",
                r.label,
                ms(r.p50_ms),
                ms(r.p99_ms),
                ms(r.max_ms),
                r.errors,
                r.measured,
                r.late_max_ms
            )?;
        }
        if let Some(l) = overheads.get("litellm") {
            for (label, s) in &overheads {
                if label.starts_with("stratus") {
                    ratios.push((*rate, label.to_string(), *s, *l));
                }
            }
        }
    }
    writeln!(out)?;
    for (rate, label, s, l) in ratios {
        if l.is_nan() {
            writeln!(
                out,
                "{rate}/s: p99 overhead {label} {s:.3} ms; litellm answered nothing in time (no ratio)"
            )?;
            continue;
        }
        let ratio = if s > 0.0 { l / s } else { f64::INFINITY };
        writeln!(
            out,
            "{rate}/s: p99 overhead {label} {s:.3} ms, litellm {l:.3} ms — litellm/{label} = {ratio:.1}x"
        )?;
    }
    Ok(())
}
