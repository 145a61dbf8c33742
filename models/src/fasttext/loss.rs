//! From the averaged hidden vector to the k best labels, for each of
//! fastText's losses, computed as fastText's `loss.cc` does so the scores
//! match its own: softmax; sigmoid per label (negative sampling and
//! one-vs-all, through fastText's 512-entry sigmoid table); hierarchical
//! softmax, a depth-first search of a Huffman tree over the labels, pruned by
//! the best k found so far.
//!
//! Scores are log-probabilities `ln(p + 1e-5)` (fastText's `std_log`); the
//! caller exponentiates them.

use super::matrix::Matrix;

/// fastText's `std_log`.
fn std_log(x: f32) -> f32 {
    (f64::from(x) + 1e-5).ln() as f32
}

const SIGMOID_TABLE_SIZE: usize = 512;
const MAX_SIGMOID: f32 = 8.0;

/// One node of the Huffman tree; leaves are the labels (`0..osz`), the
/// internal nodes follow (`osz..2·osz-1`), the root is the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Node {
    pub left: Option<usize>,
    pub right: Option<usize>,
    pub count: i64,
}

/// fastText's `buildTree`: the two-queue Huffman construction, which assumes
/// the label counts are sorted in decreasing order (the dictionary stores them
/// so). Leaves are consumed from the end (smallest count), internal nodes in
/// creation order; on a tie the internal node is taken, exactly as fastText
/// compares with a strict `<`. Internal node `osz + j` uses output row `j`.
pub(crate) fn huffman_tree(counts: &[i64]) -> Vec<Node> {
    let osz = counts.len();
    if osz == 0 {
        return Vec::new();
    }
    let mut tree: Vec<Node> = counts
        .iter()
        .map(|&count| Node {
            left: None,
            right: None,
            count,
        })
        .collect();
    let mut leaf = osz; // one past the next leaf to take, counting down
    let mut node = osz; // the next internal node to take
    for i in osz..2 * osz - 1 {
        let mut pick = [0usize; 2];
        for slot in &mut pick {
            // fastText compares with the count of a not-yet-built node (1e15)
            // when no internal node is waiting; taking the leaf then is the
            // same choice without reading a node that does not exist (and
            // without ever making a node its own child).
            let take_leaf = leaf > 0 && (node >= i || tree[leaf - 1].count < tree[node].count);
            if take_leaf {
                leaf -= 1;
                *slot = leaf;
            } else {
                *slot = node;
                node += 1;
            }
        }
        let count = tree[pick[0]].count.saturating_add(tree[pick[1]].count);
        tree.push(Node {
            left: Some(pick[0]),
            right: Some(pick[1]),
            count,
        });
    }
    tree
}

#[derive(Debug)]
pub(crate) enum Loss {
    Softmax,
    /// Negative sampling and one-vs-all: an independent sigmoid per label.
    Sigmoid {
        table: Vec<f32>,
    },
    Hierarchical {
        tree: Vec<Node>,
    },
}

/// The `k` best `(score, label)` pairs, as fastText's heap keeps them.
struct TopK {
    k: usize,
    items: Vec<(f32, usize)>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            items: Vec::with_capacity(k + 1),
        }
    }

    fn worst(&self) -> Option<f32> {
        self.items.iter().map(|p| p.0).reduce(f32::min)
    }

    fn is_full(&self) -> bool {
        self.items.len() >= self.k
    }

    /// Whether `score` cannot enter a full list (fastText: `score < heap.front()`).
    fn rejects(&self, score: f32) -> bool {
        self.is_full() && self.worst().is_some_and(|w| score < w)
    }

    fn push(&mut self, score: f32, label: usize) {
        self.items.push((score, label));
        if self.items.len() > self.k {
            // Drop the lowest score.
            if let Some((pos, _)) = self
                .items
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.0.total_cmp(&b.1.0))
            {
                self.items.swap_remove(pos);
            }
        }
    }

    fn into_sorted(mut self) -> Vec<(f32, usize)> {
        self.items.sort_by(|a, b| b.0.total_cmp(&a.0));
        self.items
    }
}

impl Loss {
    pub(crate) fn sigmoid() -> Self {
        let table = (0..=SIGMOID_TABLE_SIZE)
            .map(|i| {
                let x = (i as f32 * 2.0 * MAX_SIGMOID) / SIGMOID_TABLE_SIZE as f32 - MAX_SIGMOID;
                (1.0 / (1.0 + f64::from((-x).exp()))) as f32
            })
            .collect();
        Self::Sigmoid { table }
    }

    pub(crate) fn hierarchical(label_counts: &[i64]) -> Self {
        Self::Hierarchical {
            tree: huffman_tree(label_counts),
        }
    }

    /// How many output rows this loss reads for `nlabels` labels.
    pub(crate) fn output_rows(&self, nlabels: usize) -> usize {
        match self {
            Self::Hierarchical { .. } => nlabels.saturating_sub(1),
            _ => nlabels,
        }
    }

    /// The `k` best `(ln p, label index)`, best first, keeping only labels
    /// with `p ≥ threshold`.
    pub(crate) fn predict(
        &self,
        output: &Matrix,
        hidden: &[f32],
        nlabels: usize,
        k: usize,
        threshold: f32,
    ) -> Vec<(f32, usize)> {
        let mut top = TopK::new(k);
        if k == 0 || nlabels == 0 {
            return Vec::new();
        }
        match self {
            Self::Softmax => {
                let mut out: Vec<f32> = (0..nlabels).map(|i| output.dot_row(hidden, i)).collect();
                let max = out.iter().copied().fold(out[0], f32::max);
                let mut z = 0.0f32;
                for v in &mut out {
                    *v = (*v - max).exp();
                    z += *v;
                }
                for v in &mut out {
                    *v /= z;
                }
                find_k_best(&out, threshold, &mut top);
            }
            Self::Sigmoid { table } => {
                let out: Vec<f32> = (0..nlabels)
                    .map(|i| table_sigmoid(table, output.dot_row(hidden, i)))
                    .collect();
                find_k_best(&out, threshold, &mut top);
            }
            Self::Hierarchical { tree } => {
                hs_search(tree, nlabels, output, hidden, threshold, &mut top);
            }
        }
        top.into_sorted()
    }
}

fn table_sigmoid(table: &[f32], x: f32) -> f32 {
    if x < -MAX_SIGMOID {
        0.0
    } else if x > MAX_SIGMOID {
        1.0
    } else {
        let i = ((x + MAX_SIGMOID) * SIGMOID_TABLE_SIZE as f32 / MAX_SIGMOID / 2.0) as usize;
        table.get(i).copied().unwrap_or(1.0)
    }
}

/// fastText's `findKBest`.
fn find_k_best(out: &[f32], threshold: f32, top: &mut TopK) {
    for (i, &p) in out.iter().enumerate() {
        if p < threshold {
            continue;
        }
        let score = std_log(p);
        if top.rejects(score) {
            continue;
        }
        top.push(score, i);
    }
}

/// fastText's recursive `dfs`, with an explicit stack (a crafted file can make
/// the tree as deep as it has labels) visiting nodes in the same order: left
/// (`1 - σ`) before right (`σ`).
fn hs_search(
    tree: &[Node],
    osz: usize,
    output: &Matrix,
    hidden: &[f32],
    threshold: f32,
    top: &mut TopK,
) {
    let Some(root) = tree.len().checked_sub(1) else {
        return;
    };
    let floor = std_log(threshold);
    let mut stack = vec![(root, 0.0f32)];
    while let Some((node, score)) = stack.pop() {
        if score < floor || top.rejects(score) {
            continue;
        }
        let Node { left, right, .. } = tree[node];
        let (Some(left), Some(right)) = (left, right) else {
            top.push(score, node);
            continue;
        };
        let f = output.dot_row(hidden, node - osz);
        let f = (1.0 / (1.0 + f64::from((-f).exp()))) as f32;
        stack.push((right, score + std_log(f)));
        stack.push((left, score + std_log((1.0 - f64::from(f)) as f32)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(tree: &[Node], n: usize) -> String {
        match (tree[n].left, tree[n].right) {
            (Some(l), Some(r)) => format!("({} {})", shape(tree, l), shape(tree, r)),
            _ => n.to_string(),
        }
    }

    #[test]
    fn huffman_tree_matches_fasttext_on_sorted_counts() {
        // Counts sorted decreasing, as the dictionary stores them.
        let tree = huffman_tree(&[10, 6, 3, 1]);
        assert_eq!(tree.len(), 7);
        // 1+3 → node 4 (4); then leaf 1 (6) vs node 4 (4): node 4 first,
        // then leaf 1 → node 5 (10); then leaf 0 (10) vs node 5 (10): the
        // strict `<` takes the internal node first → root (5 0).
        assert_eq!(shape(&tree, 6), "(((3 2) 1) 0)");
        assert_eq!(tree[4].count, 4);
        assert_eq!(tree[5].count, 10);
        assert_eq!(tree[6].count, 20);
        assert_eq!(tree[6].left, Some(5));
        assert_eq!(tree[6].right, Some(0));
    }

    #[test]
    fn huffman_tree_degenerate_sizes() {
        assert!(huffman_tree(&[]).is_empty());
        let one = huffman_tree(&[5]);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].left, None);
        let two = huffman_tree(&[5, 5]);
        assert_eq!(two[2].left, Some(1));
        assert_eq!(two[2].right, Some(0));
    }

    #[test]
    fn huffman_tree_survives_huge_counts() {
        // Counts at or above fastText's 1e15 sentinel must not make a node
        // its own child (which would loop forever in the search).
        let tree = huffman_tree(&[i64::MAX, i64::MAX, 2_000_000_000_000_000]);
        for (i, n) in tree.iter().enumerate() {
            assert_ne!(n.left, Some(i));
            assert_ne!(n.right, Some(i));
        }
        assert_eq!(tree.len(), 5);
    }

    #[test]
    fn topk_keeps_the_best() {
        let mut top = TopK::new(2);
        for (s, l) in [(-3.0, 0), (-1.0, 1), (-2.0, 2), (-5.0, 3)] {
            if !top.rejects(s) {
                top.push(s, l);
            }
        }
        assert_eq!(top.into_sorted(), vec![(-1.0, 1), (-2.0, 2)]);
    }
}
