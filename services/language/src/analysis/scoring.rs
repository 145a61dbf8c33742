//! Vector arithmetic and ranking over sentence embeddings: cosine,
//! centroids, maximal marginal relevance, and the zero-shot score
//! calibrations.

/// Cosine similarity (0 when either vector is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

/// The L2-normalised mean of `vectors` (empty when there are none): a
/// document's embedding from its pieces' embeddings.
pub fn centroid(vectors: &[Vec<f32>]) -> Vec<f32> {
    let Some(dim) = vectors.first().map(Vec::len) else {
        return Vec::new();
    };
    let mut sum = vec![0.0f32; dim];
    for vector in vectors {
        for (s, v) in sum.iter_mut().zip(vector) {
            *s += v;
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        sum.iter_mut().for_each(|x| *x /= norm);
    }
    sum
}

/// Maximal marginal relevance (Carbonell & Goldstein, 1998), as KeyBERT
/// uses it: pick the candidate most similar to the document, then
/// repeatedly the one maximising
/// `(1 − diversity)·sim(doc, c) − diversity·max sim(c, picked)`.
/// `diversity` 0 ranks by relevance alone; 1 by novelty alone (after the
/// first pick). Returns up to `k` indices into `relevance`, in pick order.
pub fn mmr(relevance: &[f32], candidates: &[Vec<f32>], k: usize, diversity: f32) -> Vec<usize> {
    let mut picked: Vec<usize> = Vec::new();
    // Most similarity of each candidate to anything picked so far.
    let mut redundancy = vec![f32::NEG_INFINITY; relevance.len()];
    while picked.len() < k.min(relevance.len()) {
        let best = (0..relevance.len())
            .filter(|i| !picked.contains(i))
            .map(|i| {
                let penalty = if picked.is_empty() {
                    0.0
                } else {
                    redundancy[i]
                };
                (i, (1.0 - diversity) * relevance[i] - diversity * penalty)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let Some((chosen, _)) = best else { break };
        picked.push(chosen);
        for (i, r) in redundancy.iter_mut().enumerate() {
            *r = r.max(cosine(&candidates[i], &candidates[chosen]));
        }
    }
    picked
}

/// Softmax of `scores / temperature`: a distribution over exclusive labels.
pub fn softmax(scores: &[f32], temperature: f32) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = scores
        .iter()
        .map(|s| ((s - max) / temperature).exp())
        .collect();
    let total: f32 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

/// Logistic `1 / (1 + e^{−(x − center)/scale})`: an independent score per
/// label from its cosine alone.
pub fn sigmoid(x: f32, center: f32, scale: f32) -> f32 {
    1.0 / (1.0 + (-(x - center) / scale).exp())
}

/// Indices of the `k` highest `scores` (ties: earlier first), returned in
/// ascending index order: the sentences of an extractive summary, in the
/// order they were written.
pub fn top_k_in_order(scores: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(k);
    order.sort_unstable();
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn cosine_and_centroid() {
        assert!(close(cosine(&[1.0, 0.0], &[2.0, 0.0]), 1.0));
        assert!(close(cosine(&[1.0, 0.0], &[0.0, 3.0]), 0.0));
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        let c = centroid(&[vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert!(close(c[0], std::f32::consts::FRAC_1_SQRT_2) && close(c[0], c[1]));
        assert!(centroid(&[]).is_empty());
    }

    #[test]
    fn mmr_trades_relevance_for_novelty() {
        // 0 and 1 are near-duplicates and the most relevant; 2 is less
        // relevant but different.
        let vectors = vec![vec![1.0, 0.0], vec![0.99, 0.14], vec![0.0, 1.0]];
        let relevance = [0.9, 0.89, 0.5];
        assert_eq!(mmr(&relevance, &vectors, 2, 0.0), [0, 1]);
        assert_eq!(mmr(&relevance, &vectors, 2, 0.7), [0, 2]);
        assert_eq!(mmr(&relevance, &vectors, 5, 0.5).len(), 3);
        assert!(mmr(&[], &[], 3, 0.5).is_empty());
    }

    #[test]
    fn calibrations() {
        let p = softmax(&[0.5, 0.3, 0.1], 0.1);
        assert!(close(p.iter().sum(), 1.0));
        assert!(p[0] > p[1] && p[1] > p[2]);
        // A lower temperature sharpens.
        assert!(softmax(&[0.5, 0.3], 0.05)[0] > softmax(&[0.5, 0.3], 0.1)[0]);
        assert!(close(sigmoid(0.3, 0.3, 0.05), 0.5));
        assert!(sigmoid(0.5, 0.3, 0.05) > 0.98 && sigmoid(0.1, 0.3, 0.05) < 0.02);
    }

    #[test]
    fn top_k_keeps_document_order() {
        assert_eq!(top_k_in_order(&[0.1, 0.9, 0.5, 0.8], 2), [1, 3]);
        assert_eq!(top_k_in_order(&[0.1, 0.9], 5), [0, 1]);
    }
}
