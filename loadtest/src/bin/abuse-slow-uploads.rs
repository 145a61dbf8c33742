//! The slow-upload abuse run (issue 18, item 5): one tenant keeps N uploads
//! trickling a byte every few seconds (reopening each one the server cuts),
//! while another tenant's requests are timed, first with the server idle,
//! then under the abuse. Prints p50/p99 of each phase, their ratio and what
//! both tenants got back.
//!
//! Loopback only, bounded: `--idle` + `--settle` + `--abuse` seconds in all,
//! and at most `--uploads` sockets open at once.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

#[derive(Debug, Parser)]
struct Cli {
    /// The server, on loopback (`127.0.0.1:8080`).
    #[arg(long)]
    addr: SocketAddr,
    /// The abusing tenant's API key.
    #[arg(long)]
    abuser_key: String,
    /// The other tenant's API key.
    #[arg(long)]
    victim_key: String,
    /// Slow uploads kept open at once.
    #[arg(long, default_value_t = 50)]
    uploads: usize,
    /// Seconds between the bytes of a slow upload.
    #[arg(long, default_value_t = 5)]
    byte_every: u64,
    /// Seconds of victim requests with the server idle.
    #[arg(long, default_value_t = 10)]
    idle: u64,
    /// Seconds the uploads get to open before measuring.
    #[arg(long, default_value_t = 3)]
    settle: u64,
    /// Seconds of victim requests under the abuse.
    #[arg(long, default_value_t = 20)]
    abuse: u64,
    /// Victim requests a second (each path in turn).
    #[arg(long, default_value_t = 20)]
    rate: u64,
}

/// The victim's requests: the gateway's own route and a forwarded one.
const PATHS: [&str; 2] = ["/v1/models", "/v1/audio/jobs"];

#[derive(Default)]
struct Phase {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    statuses: BTreeMap<String, u64>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if !cli.addr.ip().is_loopback() {
        return Err("abuse runs only against a loopback address".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let base = format!("http://{}", cli.addr);

    let idle = measure(&client, &base, &cli.victim_key, cli.rate, cli.idle).await;

    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let opened = Arc::new(AtomicU64::new(0));
    let mut abusers = Vec::new();
    for _ in 0..cli.uploads {
        abusers.push(tokio::spawn(slow_uploader(
            cli.addr,
            cli.abuser_key.clone(),
            Duration::from_secs(cli.byte_every),
            stop.clone(),
            outcomes.clone(),
            opened.clone(),
        )));
        // Spread the opens a little, as real clients would.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_secs(cli.settle)).await;
    let abused = measure(&client, &base, &cli.victim_key, cli.rate, cli.abuse).await;
    stop.store(true, Ordering::Release);
    for abuser in abusers {
        abuser.abort();
    }

    let answers = outcomes.lock().await.clone();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "slow uploads: {} kept open (1 byte / {} s, reopened when cut), {} opened in all; the abuser's answers: {answers:?}",
        cli.uploads,
        cli.byte_every,
        opened.load(Ordering::Acquire),
    )?;
    writeln!(out, "victim statuses idle: {:?}", idle.statuses)?;
    writeln!(out, "victim statuses under abuse: {:?}", abused.statuses)?;
    writeln!(
        out,
        "{:<16} {:>10} {:>10} {:>12} {:>12} {:>9}",
        "path", "idle p50", "idle p99", "abuse p50", "abuse p99", "p99 ratio"
    )?;
    for path in PATHS {
        let (i50, i99) = percentiles(idle.latencies.get(path));
        let (a50, a99) = percentiles(abused.latencies.get(path));
        writeln!(
            out,
            "{path:<16} {:>8.2}ms {:>8.2}ms {:>10.2}ms {:>10.2}ms {:>8.2}x",
            i50,
            i99,
            a50,
            a99,
            a99 / i99.max(1e-9)
        )?;
    }
    Ok(())
}

/// Victim requests at `rate` a second for `seconds` (closed loop per tick,
/// so a slow answer shows as latency, not as a pile-up).
async fn measure(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    rate: u64,
    seconds: u64,
) -> Phase {
    let mut phase = Phase::default();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / rate.max(1)));
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut n = 0usize;
    while Instant::now() < end {
        tick.tick().await;
        let path = PATHS[n % PATHS.len()];
        n += 1;
        let started = Instant::now();
        let status = match client
            .get(format!("{base}{path}"))
            .bearer_auth(key)
            .send()
            .await
        {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                status.to_string()
            }
            Err(e) if e.is_timeout() => "timeout".to_owned(),
            Err(_) => "error".to_owned(),
        };
        let took = started.elapsed();
        *phase
            .statuses
            .entry(format!("{path} {status}"))
            .or_default() += 1;
        if status == "200" {
            phase.latencies.entry(path).or_default().push(took);
        }
    }
    phase
}

/// Milliseconds at the 50th and 99th percentile (NaN without samples).
fn percentiles(samples: Option<&Vec<Duration>>) -> (f64, f64) {
    let Some(samples) = samples.filter(|s| !s.is_empty()) else {
        return (f64::NAN, f64::NAN);
    };
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99))
}

/// One slow upload after another: send the head of a large multipart
/// transcription, then a byte every `every`, until the server answers or
/// closes; record what it answered and open the next.
async fn slow_uploader(
    addr: SocketAddr,
    key: String,
    every: Duration,
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<BTreeMap<String, u64>>>,
    opened: Arc<AtomicU64>,
) {
    while !stop.load(Ordering::Acquire) {
        opened.fetch_add(1, Ordering::AcqRel);
        let outcome = one_slow_upload(addr, &key, every).await;
        *outcomes.lock().await.entry(outcome).or_default() += 1;
        // A refused client retries, but not in a tight loop.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn one_slow_upload(addr: SocketAddr, key: &str, every: Duration) -> String {
    let Ok(mut socket) = TcpStream::connect(addr).await else {
        return "connect failed".to_owned();
    };
    let boundary = "slowslowslow";
    let head = format!(
        "POST /v1/audio/transcriptions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\ncontent-type: multipart/form-data; boundary={boundary}\r\ncontent-length: 10000000\r\n\r\n--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\ncontent-type: audio/wav\r\n\r\n"
    );
    if socket.write_all(head.as_bytes()).await.is_err() {
        return "closed".to_owned();
    }
    let mut buf = [0u8; 1024];
    loop {
        tokio::select! {
            read = socket.read(&mut buf) => {
                return match read {
                    Ok(n) if n > 0 => {
                        let text = String::from_utf8_lossy(&buf[..n]);
                        text.split_whitespace().nth(1).unwrap_or("?").to_owned()
                    }
                    _ => "closed".to_owned(),
                };
            }
            () = tokio::time::sleep(every) => {
                if socket.write_all(b"R").await.is_err() {
                    return "closed".to_owned();
                }
            }
        }
    }
}
