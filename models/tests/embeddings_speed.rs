//! Where one sentence's embedding time goes (the batch-1 case of
//! loadtest/embeddings-vs-sentence-transformers.sh), in process:
//! - the whole `Embedder::embed` call for one sentence at a time, called from
//!   a thread outside any rayon pool and from inside one (how a model worker
//!   calls it, `stratus_models::worker`), back to back and 2 ms apart (how
//!   requests arrive over HTTP);
//! - the matrix products of all-MiniLM-L6-v2's six layers alone at the same
//!   row count: Candle's matmul as is, the weights as two column halves side
//!   by side (what `cpu_encoder::Weight` does), and on one thread. The rest
//!   of a sentence's time (tokenizer, attention, GELU, norms, pooling,
//!   hand-offs) is the difference.
//!
//! Ignored by default (it measures, it checks nothing); run with
//! `cargo nextest run --cargo-profile ci -p stratus-models --run-ignored only
//! --no-capture embeddings_speed` (set `RAYON_NUM_THREADS` to compare thread
//! counts).
#![expect(
    clippy::unwrap_used,
    reason = "measurement helpers: stop with the value they saw"
)]

mod common;

use candle_core::{Device, Tensor};
use std::time::Instant;
use stratus_models::bert::Embedder;

/// Sentences like the benchmark's: licence text cut at sentence ends,
/// 20–400 characters.
fn sentences(n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir("/usr/share/common-licenses")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for piece in flat.split_inclusive(['.', ';']) {
            let piece = piece.trim();
            if (20..=400).contains(&piece.len()) && !out.iter().any(|s: &String| s == piece) {
                out.push(piece.to_string());
                if out.len() == n {
                    return out;
                }
            }
        }
    }
    out
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[test]
#[ignore = "measures speed; run on demand"]
fn embeddings_speed() {
    let dir = common::model_dir("all-minilm-l6-v2");
    let embedder = Embedder::load(&dir, &Device::Cpu).unwrap();
    let texts = sentences(300);
    let tokens: Vec<usize> = texts
        .iter()
        .map(|t| embedder.count_tokens(t).unwrap())
        .collect();
    let mean_tokens = tokens.iter().sum::<usize>() as f64 / tokens.len() as f64;
    eprintln!(
        "{} sentences, {mean_tokens:.1} tokens on average, {} rayon threads",
        texts.len(),
        rayon::current_num_threads()
    );
    // From a thread outside the pool (how a model worker thread called it
    // before), then from inside a pool of its own.
    let one_at_a_time = |label: &str, gap: std::time::Duration| {
        for round in 0..3 {
            let mut each = Vec::new();
            for text in &texts {
                let t = Instant::now();
                embedder.embed(&[text.as_str()]).unwrap();
                each.push(t.elapsed().as_secs_f64());
                std::thread::sleep(gap);
            }
            let busy: f64 = each.iter().sum();
            eprintln!(
                "round {round}: {label}: {:.0}/s, p50 {:.2} ms",
                texts.len() as f64 / busy,
                1000.0 * median(each)
            );
        }
    };
    // A request over HTTP leaves the pool idle for a moment between
    // sentences; back to back it never sleeps.
    let gap = std::time::Duration::from_millis(2);
    one_at_a_time("outside the pool", std::time::Duration::ZERO);
    one_at_a_time("outside the pool, 2 ms apart", gap);
    let pool = rayon::ThreadPoolBuilder::new().build().unwrap();
    pool.install(|| one_at_a_time("inside a pool", std::time::Duration::ZERO));
    pool.install(|| one_at_a_time("inside a pool, 2 ms apart", gap));

    // The six layers' four products at the mean row count.
    let rows = mean_tokens.round() as usize;
    let (hidden, inner) = (384, 1536);
    let shapes = [
        (hidden, 3 * hidden),
        (hidden, hidden),
        (hidden, inner),
        (inner, hidden),
    ];
    let weights: Vec<(Tensor, Tensor)> = shapes
        .iter()
        .map(|&(k, n)| {
            (
                Tensor::randn(0f32, 1.0, (rows, k), &Device::Cpu).unwrap(),
                Tensor::randn(0f32, 1.0, (k, n), &Device::Cpu).unwrap(),
            )
        })
        .collect();
    let products = |label: &str| {
        for round in 0..3 {
            let mut each = Vec::new();
            for _ in 0..100 {
                let t = Instant::now();
                for _layer in 0..6 {
                    for (x, w) in &weights {
                        let y = x.matmul(w).unwrap();
                        std::hint::black_box(y.flatten_all().unwrap().to_vec1::<f32>().unwrap());
                    }
                }
                each.push(t.elapsed().as_secs_f64());
            }
            let flops = 2.0 * 6.0 * shapes.iter().map(|&(k, n)| rows * k * n).sum::<usize>() as f64;
            let p50 = median(each);
            eprintln!(
                "round {round}: {label}: the 24 products at {rows} rows: p50 {:.2} ms ({:.0} GFLOP/s)",
                1000.0 * p50,
                flops / p50 / 1e9
            );
        }
    };
    products("outside the pool");
    pool.install(|| products("inside a pool"));

    // Each weight cut into two column halves, multiplied side by side (what
    // `cpu_encoder::Weight` does with one block per pool thread).
    let halves: Vec<(Tensor, Tensor, Tensor)> = weights
        .iter()
        .map(|(x, w)| {
            let n = w.dim(1).unwrap();
            (
                x.clone(),
                w.narrow(1, 0, n / 2).unwrap().contiguous().unwrap(),
                w.narrow(1, n / 2, n - n / 2).unwrap().contiguous().unwrap(),
            )
        })
        .collect();
    let split = |label: &str| {
        for round in 0..3 {
            let mut each = Vec::new();
            for _ in 0..100 {
                let t = Instant::now();
                for _layer in 0..6 {
                    for (x, a, b) in &halves {
                        let (ya, yb) = rayon::join(
                            || {
                                x.matmul(a)
                                    .unwrap()
                                    .flatten_all()
                                    .unwrap()
                                    .to_vec1::<f32>()
                                    .unwrap()
                            },
                            || {
                                x.matmul(b)
                                    .unwrap()
                                    .flatten_all()
                                    .unwrap()
                                    .to_vec1::<f32>()
                                    .unwrap()
                            },
                        );
                        std::hint::black_box((ya, yb));
                    }
                }
                each.push(t.elapsed().as_secs_f64());
            }
            eprintln!(
                "round {round}: {label}: halves side by side: p50 {:.2} ms",
                1000.0 * median(each)
            );
        }
    };
    pool.install(|| split("inside a pool"));
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    one.install(|| products("one thread"));
}
