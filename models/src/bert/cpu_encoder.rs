//! [`CpuBert`]: a BERT encoder for the CPU that computes what
//! candle-transformers' `BertModel` computes, with the work between the
//! matrix products done on every core and without padding.
//!
//! Why not `BertModel` on the CPU: its linear layers are fine (one gemm
//! each, on every core), but everything between them runs on one thread in
//! several passes — bias additions, GELU (erf for 1,536 values per token),
//! residual additions, layer norms, an unfused softmax — and its attention
//! is `batch × heads` tiny gemms (384 per layer at batch 32), each a thread
//! pool fork/join, over padded keys. Measured on all-MiniLM-L6-v2, that
//! left sentence-transformers (PyTorch) 1.5× ahead. Here:
//! - Q, K and V come from one gemm over the concatenated weights;
//! - attention runs one task per (sequence, head) on the rayon pool, over
//!   the sequence's real tokens only (a padded key's weight is exactly 0 in
//!   `BertModel` too: its score is `f32::MIN` before the softmax), with the
//!   softmax fused in;
//! - bias + GELU, and bias + residual + layer norm, are each one parallel
//!   pass over rows;
//! - those loops and the attention's are compiled for the CPU tier in force
//!   ([`crate::cpu::with_simd`]: AVX-512, AVX2 + FMA, …), with polynomial
//!   `exp`/`erf` ([`crate::cpu::math`]) that vectorise (libm's do not).
//!
//! Tokens are packed without padding between the matrix products (the
//! linear layers see only real tokens); rows of padding are zero in the
//! output (`BertModel` fills them with values nobody reads: pooling and
//! tagging use the mask). A sequence's rows do not depend on what else is
//! in the batch beyond the gemm's own blocking, so batched results equal
//! single ones (the embeddings tests check it to 1e-5).

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use rayon::prelude::*;

use crate::cpu::math::{self, dot, sum};
use crate::cpu::with_simd;
use crate::{ModelError, Result};

/// Rows of a parallel pass handed to one task at least: below this the
/// hand-off costs more than the work.
const MIN_ROWS_PER_TASK: usize = 4;

/// Narrowest column block worth its own product: one AVX-512 register of
/// f32s.
const MIN_BLOCK_COLUMNS: usize = 16;

/// One layer's weights.
struct Layer {
    /// `[hidden, 3·hidden]`: query, key and value weights, transposed and
    /// side by side, so one gemm makes all three.
    qkv: Weight,
    qkv_bias: Vec<f32>,
    /// `[hidden, hidden]`, transposed.
    attention_out: Weight,
    attention_out_bias: Vec<f32>,
    attention_norm: Norm,
    /// `[hidden, intermediate]`, transposed.
    intermediate: Weight,
    intermediate_bias: Vec<f32>,
    /// `[intermediate, hidden]`, transposed.
    output: Weight,
    output_bias: Vec<f32>,
    output_norm: Norm,
}

/// Layer-norm parameters.
struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

/// A BERT encoder on the CPU (see the module doc).
pub struct CpuBert {
    word: Vec<f32>,
    position: Vec<f32>,
    /// Token type 0's embedding: callers encode single segments.
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    intermediate: usize,
    vocab: usize,
    positions: usize,
    activation: HiddenAct,
    device: Device,
}

fn floats(vb: &VarBuilder, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    Ok(vb
        .get(shape, name)?
        .flatten_all()?
        .to_dtype(candle_core::DType::F32)?
        .to_vec1::<f32>()?)
}

impl Norm {
    fn load(vb: &VarBuilder, size: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: floats(vb, "weight", &[size])?,
            bias: floats(vb, "bias", &[size])?,
            eps: eps as f32,
        })
    }

    /// `row ← layer_norm(row)` in place.
    #[inline(always)]
    fn apply(&self, row: &mut [f32]) {
        let n = row.len() as f32;
        let mean = sum(row) / n;
        for v in row.iter_mut() {
            *v -= mean;
        }
        let variance = dot(row, row) / n;
        let scale = 1.0 / (variance + self.eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
            *v = *v * scale * w + b;
        }
    }
}

/// A linear layer's weight `[out, in]` as `[in, out]` (contiguous) and its
/// bias.
fn linear(vb: &VarBuilder, inputs: usize, outputs: usize) -> Result<(Tensor, Vec<f32>)> {
    let weight = vb.get((outputs, inputs), "weight")?;
    Ok((weight.t()?.contiguous()?, floats(vb, "bias", &[outputs])?))
}

/// A linear layer's transposed weight `[inputs, outputs]`, kept as column
/// blocks side by side: one per thread of the pool it was loaded in.
///
/// Why: Candle's gemm shares a product out among threads by rows, so the
/// few dozen rows of one sentence keep one core busy however many the pool
/// has (measured on MiniLM's 24 products at 32 rows: 6.4 ms on one thread,
/// 6.1 ms on two; 4.9 ms as two column halves side by side —
/// models/tests/embeddings_speed.rs). One product per block, the blocks in
/// parallel, gives every core a share at any row count. Each output value
/// is still one dot product of an input row and a weight column.
struct Weight {
    blocks: Vec<Tensor>,
    outputs: usize,
}

impl Weight {
    /// Cut `whole` (`[inputs, outputs]`) into `parts` column blocks of
    /// near-equal width (fewer when they would be narrower than
    /// [`MIN_BLOCK_COLUMNS`]).
    fn new(whole: &Tensor, parts: usize) -> Result<Self> {
        let outputs = whole.dim(1)?;
        let parts = parts.min(outputs / MIN_BLOCK_COLUMNS).max(1);
        let mut blocks = Vec::with_capacity(parts);
        let mut start = 0;
        for part in 0..parts {
            let end = outputs * (part + 1) / parts;
            blocks.push(whole.narrow(1, start, end - start)?.contiguous()?);
            start = end;
        }
        Ok(Self { blocks, outputs })
    }
}

impl CpuBert {
    /// Load from `vb` at the model's root (`embeddings.*`, `encoder.*`; a
    /// `bert.` prefix is looked through).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let hidden = config.hidden_size;
        let heads = config.num_attention_heads;
        if heads == 0 || !hidden.is_multiple_of(heads) {
            return Err(ModelError::format(
                "config.json",
                format!("hidden_size {hidden} is not a multiple of {heads} attention heads"),
            ));
        }
        let intermediate = config.intermediate_size;
        let eps = config.layer_norm_eps;
        let embeddings = vb.pp("embeddings");
        let token_types = floats(
            &embeddings,
            "token_type_embeddings.weight",
            &[config.type_vocab_size, hidden],
        )?;
        // The pool this runs in (a model worker's own) does the products.
        let parts = rayon::current_num_threads();
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for index in 0..config.num_hidden_layers {
            let layer = vb.pp(format!("encoder.layer.{index}"));
            let attention = layer.pp("attention");
            let (q, qb) = linear(&attention.pp("self.query"), hidden, hidden)?;
            let (k, kb) = linear(&attention.pp("self.key"), hidden, hidden)?;
            let (v, vb_) = linear(&attention.pp("self.value"), hidden, hidden)?;
            let (attention_out, attention_out_bias) =
                linear(&attention.pp("output.dense"), hidden, hidden)?;
            let (intermediate_w, intermediate_bias) =
                linear(&layer.pp("intermediate.dense"), hidden, intermediate)?;
            let (output, output_bias) = linear(&layer.pp("output.dense"), intermediate, hidden)?;
            layers.push(Layer {
                qkv: Weight::new(&Tensor::cat(&[&q, &k, &v], 1)?, parts)?,
                qkv_bias: [qb, kb, vb_].concat(),
                attention_out: Weight::new(&attention_out, parts)?,
                attention_out_bias,
                attention_norm: Norm::load(&attention.pp("output.LayerNorm"), hidden, eps)?,
                intermediate: Weight::new(&intermediate_w, parts)?,
                intermediate_bias,
                output: Weight::new(&output, parts)?,
                output_bias,
                output_norm: Norm::load(&layer.pp("output.LayerNorm"), hidden, eps)?,
            });
        }
        Ok(Self {
            word: floats(
                &embeddings,
                "word_embeddings.weight",
                &[config.vocab_size, hidden],
            )?,
            position: floats(
                &embeddings,
                "position_embeddings.weight",
                &[config.max_position_embeddings, hidden],
            )?,
            token_type: token_types
                .get(..hidden)
                .map(<[f32]>::to_vec)
                .ok_or_else(|| {
                    ModelError::format("config.json", "type_vocab_size must be at least 1")
                })?,
            embedding_norm: Norm::load(&embeddings.pp("LayerNorm"), hidden, eps)?,
            layers,
            hidden,
            heads,
            intermediate,
            vocab: config.vocab_size,
            positions: config.max_position_embeddings,
            activation: config.hidden_act,
            device: Device::Cpu,
        })
    }

    /// The last hidden state `[sequences.len(), longest, hidden]` of
    /// token-id sequences padded to the longest (padding rows are zero).
    ///
    /// Inside, the sequences' tokens are packed one after another with no
    /// padding: every linear layer works on real tokens only, so a batch of
    /// mixed lengths costs the sum of its lengths, not batch × longest.
    pub fn forward(&self, sequences: &[&[u32]]) -> Result<Tensor> {
        let batch = sequences.len();
        let longest = sequences.iter().map(|s| s.len()).max().unwrap_or(0);
        let hidden = self.hidden;
        if longest > self.positions {
            return Err(ModelError::InvalidInput(format!(
                "{longest} tokens is more than the model's {} positions",
                self.positions
            )));
        }
        let lengths: Vec<usize> = sequences.iter().map(|s| s.len()).collect();
        let mut x = self.embed(sequences)?;
        for layer in &self.layers {
            x = self.layer(layer, &x, &lengths)?;
        }
        let mut padded = vec![0f32; batch * longest * hidden];
        let mut packed = x.as_slice();
        for (rows, &length) in padded.chunks_mut(longest * hidden).zip(&lengths) {
            let (sequence, rest) = packed.split_at(length * hidden);
            rows[..length * hidden].copy_from_slice(sequence);
            packed = rest;
        }
        Ok(Tensor::from_vec(
            padded,
            (batch, longest, hidden),
            &self.device,
        )?)
    }

    /// Packed embedding rows (word + position + token type 0, normalised).
    fn embed(&self, sequences: &[&[u32]]) -> Result<Vec<f32>> {
        let hidden = self.hidden;
        for id in sequences.iter().flat_map(|s| s.iter()) {
            if *id as usize >= self.vocab {
                return Err(ModelError::InvalidInput(format!(
                    "token id {id} is outside the vocabulary of {}",
                    self.vocab
                )));
            }
        }
        let total: usize = sequences.iter().map(|s| s.len()).sum();
        let mut x = vec![0f32; total * hidden];
        split_by(&mut x, sequences.iter().map(|s| s.len() * hidden))
            .into_par_iter()
            .zip(sequences.par_iter())
            .for_each(|(rows, sequence)| with_simd(|| self.embed_sequence(rows, sequence)));
        Ok(x)
    }

    /// One sequence's embedding rows.
    #[inline(always)]
    fn embed_sequence(&self, rows: &mut [f32], sequence: &[u32]) {
        let hidden = self.hidden;
        for (position, (row, &id)) in rows.chunks_mut(hidden).zip(sequence).enumerate() {
            let word = &self.word[id as usize * hidden..][..hidden];
            let place = &self.position[position * hidden..][..hidden];
            for (((v, w), t), p) in row.iter_mut().zip(word).zip(&self.token_type).zip(place) {
                *v = w + t + p;
            }
            self.embedding_norm.apply(row);
        }
    }

    fn layer(&self, layer: &Layer, x: &[f32], lengths: &[usize]) -> Result<Vec<f32>> {
        let hidden = self.hidden;
        let rows = x.len() / hidden;
        let qkv = self.matmul(x, rows, hidden, &layer.qkv)?;
        let context = self.attention(&qkv, &layer.qkv_bias, lengths);
        let projected = self.matmul(&context, rows, hidden, &layer.attention_out)?;
        let attended = add_and_norm(
            projected,
            &layer.attention_out_bias,
            x,
            &layer.attention_norm,
            hidden,
        );
        let mut inner = self.matmul(&attended, rows, hidden, &layer.intermediate)?;
        let (activation, bias) = (self.activation, &layer.intermediate_bias);
        inner
            .par_chunks_mut(self.intermediate)
            .with_min_len(MIN_ROWS_PER_TASK)
            .for_each(|row| activate(activation, row, bias));
        let out = self.matmul(&inner, rows, self.intermediate, &layer.output)?;
        Ok(add_and_norm(
            out,
            &layer.output_bias,
            &attended,
            &layer.output_norm,
            hidden,
        ))
    }

    /// `x [rows, inputs] · weight [inputs, outputs]` with Candle's gemm, one
    /// product per column block in parallel (see [`Weight`]).
    fn matmul(&self, x: &[f32], rows: usize, inputs: usize, weight: &Weight) -> Result<Vec<f32>> {
        let x = Tensor::from_slice(x, (rows, inputs), &self.device)?;
        let product = |block: &Tensor| -> Result<Vec<f32>> {
            Ok(x.matmul(block)?.flatten_all()?.to_vec1::<f32>()?)
        };
        if let [whole] = weight.blocks.as_slice() {
            return product(whole);
        }
        let parts = weight
            .blocks
            .par_iter()
            .map(product)
            .collect::<Result<Vec<_>>>()?;
        let mut out = vec![0f32; rows * weight.outputs];
        out.par_chunks_mut(weight.outputs)
            .with_min_len(MIN_ROWS_PER_TASK)
            .enumerate()
            .for_each(|(row, out)| {
                // Each block's product is `[rows, its width]`.
                let mut at = 0;
                for part in &parts {
                    let width = part.len() / rows;
                    out[at..at + width].copy_from_slice(&part[row * width..(row + 1) * width]);
                    at += width;
                }
            });
        Ok(out)
    }

    /// Scaled dot-product attention of every sequence and head over its
    /// tokens (packed QKV rows); returns the packed context rows.
    fn attention(&self, qkv: &[f32], qkv_bias: &[f32], lengths: &[usize]) -> Vec<f32> {
        let hidden = self.hidden;
        let heads = self.heads;
        let head = hidden / heads;
        let scale = 1.0 / (head as f32).sqrt();
        let stride = 3 * hidden;
        let starts: Vec<usize> = lengths
            .iter()
            .scan(0, |next, &length| {
                let start = *next;
                *next += length;
                Some(start)
            })
            .collect();
        // Per (sequence, head): `[length, head]`, then put back in rows.
        let total: usize = lengths.iter().sum();
        let mut per_head = vec![0f32; total * hidden];
        let blocks = lengths
            .iter()
            .flat_map(|&length| std::iter::repeat_n(length * head, heads));
        split_by(&mut per_head, blocks)
            .into_par_iter()
            .enumerate()
            .for_each(|(task, out)| {
                let (sequence, h) = (task / heads, task % heads);
                let head_of = HeadOf {
                    qkv: &qkv[starts[sequence] * stride..],
                    bias: qkv_bias,
                    hidden,
                    offset: h * head,
                    width: head,
                };
                let length = lengths[sequence];
                with_simd(|| attend(&head_of, length, scale, out));
            });
        let mut context = vec![0f32; total * hidden];
        split_by(&mut context, lengths.iter().map(|l| l * hidden))
            .into_par_iter()
            .zip(split_by(&mut per_head, lengths.iter().map(|l| l * hidden)))
            .for_each(|(rows, sequence_heads)| {
                let length = rows.len() / hidden;
                for (h, source) in sequence_heads.chunks(length.max(1) * head).enumerate() {
                    for (row, part) in rows.chunks_mut(hidden).zip(source.chunks(head)) {
                        row[h * head..(h + 1) * head].copy_from_slice(part);
                    }
                }
            });
        context
    }
}

/// `buffer` cut into consecutive pieces of the given sizes (which must add
/// up to at most its length; what is left over is dropped).
fn split_by(buffer: &mut [f32], sizes: impl Iterator<Item = usize>) -> Vec<&mut [f32]> {
    let mut rest = buffer;
    let mut pieces = Vec::new();
    for size in sizes {
        let (piece, tail) = std::mem::take(&mut rest).split_at_mut(size);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// Where one head of one sequence lives in the fused QKV rows.
struct HeadOf<'a> {
    /// The sequence's QKV rows, `[tokens, 3·hidden]`, from its first.
    qkv: &'a [f32],
    /// The QKV bias, `[3·hidden]`.
    bias: &'a [f32],
    hidden: usize,
    /// The head's first column within each of Q, K and V.
    offset: usize,
    width: usize,
}

impl HeadOf<'_> {
    /// Part 0 (Q), 1 (K) or 2 (V) of `token`, bias added, into `out`.
    #[inline(always)]
    fn read(&self, part: usize, token: usize, out: &mut [f32]) {
        let column = part * self.hidden + self.offset;
        let raw = &self.qkv[token * 3 * self.hidden + column..][..self.width];
        let bias = &self.bias[column..][..self.width];
        for ((o, r), b) in out.iter_mut().zip(raw).zip(bias) {
            *o = r + b;
        }
    }
}

/// Softmax attention of one head over a sequence's `length` real tokens:
/// `out` (`[longest, width]`, zeroed) gets the context of each real token.
///
/// Keys are held transposed (`[width, length]`), so a query's scores are
/// `width` passes of `scores += q[d] · keyᵀ[d]` over contiguous memory —
/// vector instructions across keys, no horizontal sums.
#[inline(always)]
fn attend(head: &HeadOf<'_>, length: usize, scale: f32, out: &mut [f32]) {
    let width = head.width;
    let mut row = vec![0f32; width];
    let mut keys_t = vec![0f32; width * length];
    let mut values = vec![0f32; length * width];
    for (t, v) in values.chunks_mut(width).enumerate() {
        head.read(1, t, &mut row);
        for (d, k) in row.iter().enumerate() {
            keys_t[d * length + t] = *k;
        }
        head.read(2, t, v);
    }
    let mut query = vec![0f32; width];
    let mut scores = vec![0f32; length];
    for (i, out_row) in out.chunks_mut(width).take(length).enumerate() {
        head.read(0, i, &mut query);
        scores.fill(0.0);
        for (q, key_column) in query.iter().zip(keys_t.chunks(length)) {
            let q = q * scale;
            for (score, k) in scores.iter_mut().zip(key_column) {
                *score += q * k;
            }
        }
        let top = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for score in scores.iter_mut() {
            *score = math::exp(*score - top);
        }
        let inverse = 1.0 / sum(&scores);
        for (weight, value) in scores.iter().zip(values.chunks(width)) {
            let weight = weight * inverse;
            for (o, v) in out_row.iter_mut().zip(value) {
                *o += weight * v;
            }
        }
    }
}

/// `layer_norm(values + bias + residual)` row by row, on every core.
fn add_and_norm(
    mut values: Vec<f32>,
    bias: &[f32],
    residual: &[f32],
    norm: &Norm,
    hidden: usize,
) -> Vec<f32> {
    values
        .par_chunks_mut(hidden)
        .zip(residual.par_chunks(hidden))
        .with_min_len(MIN_ROWS_PER_TASK)
        .for_each(|(row, residual)| with_simd(|| add_and_norm_row(row, bias, residual, norm)));
    values
}

#[inline(always)]
fn add_and_norm_row(row: &mut [f32], bias: &[f32], residual: &[f32], norm: &Norm) {
    for ((v, b), r) in row.iter_mut().zip(bias).zip(residual) {
        *v += b + r;
    }
    norm.apply(row);
}

#[inline(always)]
fn gelu_row(row: &mut [f32], bias: &[f32]) {
    for (v, b) in row.iter_mut().zip(bias) {
        *v = math::gelu_erf(*v + b);
    }
}

/// `row ← activation(row + bias)`.
fn activate(activation: HiddenAct, row: &mut [f32], bias: &[f32]) {
    match activation {
        HiddenAct::Gelu => with_simd(|| gelu_row(row, bias)),
        HiddenAct::GeluApproximate => {
            const SQRT_TWO_OVER_PI: f32 = 0.797_884_6;
            for (v, b) in row.iter_mut().zip(bias) {
                let x = *v + b;
                *v = 0.5 * x * (1.0 + (SQRT_TWO_OVER_PI * (x + 0.044_715 * x * x * x)).tanh());
            }
        }
        HiddenAct::Relu => {
            for (v, b) in row.iter_mut().zip(bias) {
                *v = (*v + b).max(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_equals_the_plain_sum() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.25 - 3.0).collect();
        let b: Vec<f32> = (0..37).map(|i| (i as f32).sin()).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4);
    }

    #[test]
    fn norm_matches_the_definition() {
        let norm = Norm {
            weight: vec![2.0, 1.0, 1.0, 1.0],
            bias: vec![0.0, 0.0, 0.0, 1.0],
            eps: 1e-12,
        };
        let mut row = vec![1.0, 2.0, 3.0, 4.0];
        norm.apply(&mut row);
        // mean 2.5, variance 1.25.
        let s = 1.25f32.sqrt();
        let expected = [2.0 * -1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s + 1.0];
        for (got, want) in row.iter().zip(expected) {
            assert!((got - want).abs() < 1e-5, "{row:?}");
        }
    }
}
