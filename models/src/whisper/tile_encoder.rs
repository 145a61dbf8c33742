//! The Whisper encoder's transformer blocks on AMX tiles ([`crate::cpu::amx`]):
//! every matrix product in bf16 with f32 sums, everything else (layer
//! norms, softmax, GELU, residuals) in f32.
//!
//! Why: the encoder is ~37 GFLOP per 30 s window for tiny (about 0.4 s in
//! f32 on two cores), and every request pays it at least once, so it is
//! most of a short clip's time. bf16 keeps f32's range and 8 bits of
//! mantissa; the word error rate test checks that transcripts hold
//! (`models/tests/whisper.rs`).
//!
//! Shapes: `t` positions per window (1500), `d` model width, heads of 64.
//! Windows of a batch never mix: the linear layers take all rows at once
//! (each result row depends on its own input row only), attention runs per
//! window and head in blocks of 32 queries. A window's result is therefore
//! the same bits whether it is encoded alone or in a batch.

use candle_core::{Result, Tensor};
use candle_nn::{LayerNorm, Linear};
use rayon::prelude::*;

use crate::cpu::amx::{self, BLOCK, Lhs, PackedRhs};

/// Layer norm parameters (Whisper's eps is 1e-5).
#[derive(Debug, Clone)]
pub(super) struct Norm {
    pub(super) weight: Vec<f32>,
    pub(super) bias: Vec<f32>,
}

impl Norm {
    pub(super) fn from_candle(ln: &LayerNorm) -> Result<Self> {
        let weight = ln.weight().to_vec1::<f32>()?;
        let bias = match ln.bias() {
            Some(b) => b.to_vec1::<f32>()?,
            None => vec![0.0; weight.len()],
        };
        Ok(Self { weight, bias })
    }

    /// Normalise each row of `x` (`d` wide) into a bf16 left side.
    fn apply(&self, x: &[f32], rows: usize, d: usize) -> Lhs {
        Lhs::from_rows(x, d, rows, d, |row, out| {
            crate::cpu::rows::layer_norm_to_bf16(row, &self.weight, &self.bias, out);
        })
    }
}

/// A linear layer, packed.
#[derive(Debug, Clone)]
struct TileLinear {
    weight: PackedRhs,
    bias: Vec<f32>,
}

impl TileLinear {
    /// From `[out, in]` weights and `[out]` biases.
    fn new(weight: &[f32], bias: Vec<f32>, out: usize, input: usize) -> Self {
        Self {
            weight: PackedRhs::from_out_in(weight, out, input),
            bias,
        }
    }

    fn apply(&self, x: &Lhs) -> Vec<f32> {
        amx::product(x, &self.weight, Some(&self.bias))
    }
}

fn weight_of(linear: &Linear) -> Result<(Vec<f32>, Vec<f32>, usize, usize)> {
    let (out, input) = linear.weight().dims2()?;
    let weight = linear.weight().flatten_all()?.to_vec1::<f32>()?;
    let bias = match linear.bias() {
        Some(b) => b.to_vec1::<f32>()?,
        None => vec![0.0; out],
    };
    Ok((weight, bias, out, input))
}

/// One residual block's weights, as candle-nn layers (what
/// [`super::model`] loads), to be packed.
#[derive(Debug)]
pub(super) struct BlockLayers<'a> {
    pub attn_ln: &'a LayerNorm,
    pub query: &'a Linear,
    pub key: &'a Linear,
    pub value: &'a Linear,
    pub out: &'a Linear,
    pub mlp_ln: &'a LayerNorm,
    pub fc1: &'a Linear,
    pub fc2: &'a Linear,
}

#[derive(Debug, Clone)]
struct TileBlock {
    attn_ln: Norm,
    /// Queries (scaled), keys and values in one product: `[t, 3d]`.
    qkv: TileLinear,
    out: TileLinear,
    mlp_ln: Norm,
    fc1: TileLinear,
    fc2: TileLinear,
}

/// The encoder's blocks, packed for the tiles.
#[derive(Debug, Clone)]
pub struct TileEncoder {
    blocks: Vec<TileBlock>,
    heads: usize,
}

impl TileEncoder {
    /// Pack the blocks. Call only where [`amx::available`] is true.
    pub(super) fn new(blocks: &[BlockLayers<'_>], heads: usize) -> Result<Self> {
        let blocks = blocks
            .iter()
            .map(|b| {
                let (q_w, q_b, d, _) = weight_of(b.query)?;
                let (k_w, k_b, _, _) = weight_of(b.key)?;
                let (v_w, v_b, _, _) = weight_of(b.value)?;
                let head_dim = d / heads.max(1);
                // 1/√64 = 1/8 for Whisper: exact in binary.
                let scale = (head_dim as f32).powf(-0.5);
                let mut weight = Vec::with_capacity(3 * d * d);
                weight.extend(q_w.iter().map(|w| w * scale));
                weight.extend(k_w);
                weight.extend(v_w);
                let mut bias = Vec::with_capacity(3 * d);
                bias.extend(q_b.iter().map(|b| b * scale));
                bias.extend(k_b);
                bias.extend(v_b);
                let linear = |l: &Linear| -> Result<TileLinear> {
                    let (w, b, out, input) = weight_of(l)?;
                    Ok(TileLinear::new(&w, b, out, input))
                };
                Ok(TileBlock {
                    attn_ln: Norm::from_candle(b.attn_ln)?,
                    qkv: TileLinear::new(&weight, bias, 3 * d, d),
                    out: linear(b.out)?,
                    mlp_ln: Norm::from_candle(b.mlp_ln)?,
                    fc1: linear(b.fc1)?,
                    fc2: linear(b.fc2)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self { blocks, heads })
    }

    /// Run the blocks over `x`, `[windows, t, d]` (after the convolutions
    /// and positions); returns the same shape, before the final layer norm.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (windows, t, d) = x.dims3()?;
        let rows = windows * t;
        let mut x: Vec<f32> = x.contiguous()?.flatten_all()?.to_vec1()?;
        for block in &self.blocks {
            let h = block.attn_ln.apply(&x, rows, d);
            let qkv = block.qkv.apply(&h);
            let attended = self.attention(&qkv, windows, t, d);
            add_into(&mut x, &block.out.apply(&attended));
            let h = block.mlp_ln.apply(&x, rows, d);
            let width = block.fc1.weight.n();
            let hidden = Lhs::from_rows(
                &block.fc1.apply(&h),
                width,
                rows,
                width,
                crate::cpu::rows::gelu_to_bf16,
            );
            add_into(&mut x, &block.fc2.apply(&hidden));
        }
        Tensor::from_vec(x, (windows, t, d), &candle_core::Device::Cpu)
    }

    /// Softmax attention of every window and head, from the `[rows, 3d]`
    /// queries/keys/values; the result is the output projection's bf16 input.
    fn attention(&self, qkv: &[f32], windows: usize, t: usize, d: usize) -> Lhs {
        let head_dim = d / self.heads;
        let rows = windows * t;
        // Queries as tile rows: head h is columns h·64.. of each row.
        let queries = Lhs::from_rows(qkv, 3 * d, rows, d, crate::cpu::rows::convert);
        // Per window and head: keys as the right side of Q·Kᵀ, values as
        // the right side of P·V.
        let packed: Vec<(PackedRhs, PackedRhs)> = (0..windows * self.heads)
            .into_par_iter()
            .map(|wh| {
                let (w, h) = (wh / self.heads, wh % self.heads);
                // This window's rows, from this head's keys / values on.
                let from = |part: usize| &qkv[w * t * 3 * d + part * d + h * head_dim..];
                (
                    PackedRhs::from_columns(from(1), 3 * d, head_dim, t),
                    PackedRhs::from_rows(from(2), 3 * d, t, head_dim),
                )
            })
            .collect();
        let row_blocks = t.div_ceil(BLOCK);
        let score_stride = amx::round_up(t, BLOCK);
        // Each task: one window, head and block of 32 queries → its
        // [32, head_dim] outputs (scattered into place afterwards).
        let blocks: Vec<Vec<f32>> = (0..windows * self.heads * row_blocks)
            .into_par_iter()
            .map_init(
                || (vec![0f32; BLOCK * score_stride], Lhs::zeros(BLOCK, t)),
                |(scores, probs), task| {
                    let (wh, r) = (task / row_blocks, task % row_blocks);
                    let (w, h) = (wh / self.heads, wh % self.heads);
                    let (keys, values) = &packed[wh];
                    let first = w * t + r * BLOCK;
                    for block in 0..keys.column_blocks() {
                        amx::block_product(
                            &queries,
                            first,
                            h * head_dim,
                            keys,
                            block,
                            &mut scores[block * BLOCK..],
                            score_stride,
                        );
                    }
                    let valid = BLOCK.min(t - r * BLOCK);
                    for i in 0..valid {
                        crate::cpu::rows::softmax_to_bf16(
                            &mut scores[i * score_stride..i * score_stride + t],
                            &mut probs.row_mut(i)[..t],
                        );
                    }
                    let mut out = vec![0f32; BLOCK * head_dim.max(BLOCK)];
                    let out_stride = amx::round_up(head_dim, BLOCK);
                    for block in 0..values.column_blocks() {
                        amx::block_product(
                            probs,
                            0,
                            0,
                            values,
                            block,
                            &mut out[block * BLOCK..],
                            out_stride,
                        );
                    }
                    out.truncate(valid * out_stride);
                    out
                },
            )
            .collect();
        let mut attended = Lhs::zeros(rows, d);
        let out_stride = amx::round_up(head_dim, BLOCK);
        for (task, out) in blocks.iter().enumerate() {
            let (wh, r) = (task / row_blocks, task % row_blocks);
            let (w, h) = (wh / self.heads, wh % self.heads);
            for (i, values) in out.chunks(out_stride).enumerate() {
                let row = attended.row_mut(w * t + r * BLOCK + i);
                crate::cpu::rows::convert(
                    &values[..head_dim],
                    &mut row[h * head_dim..(h + 1) * head_dim],
                );
            }
        }
        attended
    }
}

/// `x += y`, element-wise, in parallel.
fn add_into(x: &mut [f32], y: &[f32]) {
    x.par_chunks_mut(1 << 14)
        .zip(y.par_chunks(1 << 14))
        .for_each(|(x, y)| {
            for (a, b) in x.iter_mut().zip(y) {
                *a += b;
            }
        });
}
