//! [`Int8Rows`]: a weight matrix as int8 with one scale per row, for the
//! decoder's output projection and linear layers on the CPU.
//!
//! Why: a decoding step multiplies one hidden row (a few, with beams) by the
//! tied output projection, `vocab × d` f32 — 80 MB for tiny.en, read whole
//! for every token, and the step is bound by how fast memory delivers it
//! (models/tests/whisper_speed.rs: ~4 ms a token on a 2-core Xeon, most of
//! it this product). Stored as int8 it is a quarter of the bytes. The
//! scheme is CTranslate2's int8 (what faster-whisper runs): symmetric, one
//! scale per output row (`max |w| / 127`), so a row's logit is its int8 dot
//! product times its scale. Each input row is quantized too, at every
//! product, as two int8 planes ([`crate::cpu::int8::Int8Inputs`]: the row at
//! its own scale, then what that rounding left at a 254th of it; one plane
//! is CTranslate2's dynamic int8 and cost word error rate here), so the dot
//! products are integer sums, which AVX-512 VNNI does 64 to an instruction
//! (`VPDPBUSD`, [`crate::cpu::int8::Int8Weight`]'s layout): several times the
//! rate of widening the weights to f32 for f32 inputs, what this did
//! before.
//!
//! The error of an output is bounded by `s_w / 2 · Σ|x| + s_x / 2 · Σ|w| +
//! s_w s_x / 4 · cols` (`s_w` the row's scale, `s_x` the input's finer
//! plane's scale);
//! whether it moves a transcript is checked end to end by the
//! word-error-rate tests with it on (`CpuKernels::int8_decoder`). The sums are exact integers on every CPU, so every
//! CPU gives the same bits.

use candle_core::{DType, Result, Tensor};
use rayon::prelude::*;

use crate::cpu::int8::{INT8_BLOCK, INT8_GROUP, INT8_INPUT_OFFSET, Int8Inputs};

/// Most weight rows per parallel task: big enough that the hand-off is
/// noise next to reading them (128 × 384 bytes for tiny.en), small enough
/// to spread 51,864 rows over any core count.
const ROWS_PER_TASK: usize = 128;

/// Fewest weight rows per task, for the decoder's small layers (384 rows
/// for tiny): four tasks a thread, so two threads end together.
const MIN_ROWS_PER_TASK: usize = 16;

/// Rows converted to f32 at a time while quantizing (1.5 MB at 384
/// columns).
const QUANTIZE_ROWS_PER_CHUNK: usize = 1024;

/// A `[rows, cols]` weight as int8 values and one f32 scale per row.
#[derive(Debug, Clone)]
pub struct Int8Rows {
    /// In blocks of [`INT8_BLOCK`] rows, groups of [`INT8_GROUP`] columns
    /// row by row, zero rows padding the last block and zero columns the
    /// last group ([`crate::cpu::int8::Int8Weight`]).
    values: Vec<i8>,
    /// One per row, padded like the rows.
    scales: Vec<f32>,
    /// Each row's sum times [`INT8_INPUT_OFFSET`], padded likewise: what
    /// the unsigned inputs' offset adds to its products.
    offsets: Vec<i32>,
    /// Added to each output row, when the layer has one (padded likewise).
    bias: Option<Vec<f32>>,
    rows: usize,
    cols: usize,
}

impl Int8Rows {
    /// Quantize `weight` (`[rows, cols]`, any float type).
    pub fn quantize(weight: &Tensor) -> Result<Self> {
        let (rows, cols) = weight.dims2()?;
        let padded = rows.next_multiple_of(INT8_BLOCK);
        let width = cols.next_multiple_of(INT8_GROUP);
        let mut values = vec![0i8; padded * width];
        let mut scales = vec![1f32; padded];
        let mut offsets = vec![0i32; padded];
        // A slice of rows at a time: an f32 copy of the whole table would
        // add its size (80 MB for tiny.en) to the process's peak memory.
        // Chunks are whole blocks, so each fills its own part of `values`.
        let chunk = QUANTIZE_ROWS_PER_CHUNK;
        for (index, ((values, scales), offsets)) in values
            .chunks_mut((chunk * width).max(1))
            .zip(scales.chunks_mut(chunk))
            .zip(offsets.chunks_mut(chunk))
            .enumerate()
        {
            let first = index * chunk;
            let taken = chunk.min(rows.saturating_sub(first));
            if taken == 0 {
                break;
            }
            let data = weight
                .narrow(0, first, taken)?
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            values
                .par_chunks_mut((INT8_BLOCK * width).max(1))
                .zip(scales.par_chunks_mut(INT8_BLOCK))
                .zip(offsets.par_chunks_mut(INT8_BLOCK))
                .zip(data.par_chunks((INT8_BLOCK * cols).max(1)))
                .for_each(|(((block, scales), offsets), rows)| {
                    for (lane, ((row, scale), offset)) in rows
                        .chunks(cols.max(1))
                        .zip(scales)
                        .zip(offsets)
                        .enumerate()
                    {
                        let largest = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                        // An all-zero row: any scale gives zeros.
                        *scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
                        let mut sum = 0i32;
                        for (c, v) in row.iter().enumerate() {
                            // In range by construction: |v| / scale ≤ 127.
                            let q = (v / *scale).round().clamp(-127.0, 127.0) as i8;
                            let (group, within) = (c / INT8_GROUP, c % INT8_GROUP);
                            block[(group * INT8_BLOCK + lane) * INT8_GROUP + within] = q;
                            sum += i32::from(q);
                        }
                        *offset = sum * INT8_INPUT_OFFSET;
                    }
                });
        }
        Ok(Self {
            values,
            scales,
            offsets,
            bias: None,
            rows,
            cols,
        })
    }

    /// Quantize a linear layer: `weight` `[rows, cols]` and its bias
    /// `[rows]` (kept in f32, added after the product).
    pub fn quantize_linear(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let mut quantized = Self::quantize(weight)?;
        quantized.bias = bias
            .map(|b| {
                let mut bias = b.to_dtype(DType::F32)?.to_vec1::<f32>()?;
                bias.resize(quantized.scales.len(), 0.0);
                Ok::<_, candle_core::Error>(bias)
            })
            .transpose()?;
        Ok(quantized)
    }

    /// `x · Wᵀ (+ bias)` for `x` `[n, cols]`: `[n, rows]`, on every thread
    /// of the current pool ([`products`]).
    pub fn product(&self, x: &Tensor) -> Result<Tensor> {
        let (n, _) = x.dims2()?;
        let inputs = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let out = products(&[self], &inputs, n)?.pop().unwrap_or_default();
        Tensor::from_vec(out, (n, self.rows), x.device())
    }

    /// Output rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    fn weight(&self) -> crate::cpu::int8::Int8Weight<'_> {
        crate::cpu::int8::Int8Weight {
            values: &self.values,
            scales: &self.scales,
            offsets: &self.offsets,
            bias: self.bias.as_deref(),
            groups: self.cols.div_ceil(INT8_GROUP),
        }
    }
}

/// `inputs · Wᵀ (+ bias)` for each weight `W` of `weights`, `inputs` being
/// `[n, cols]` (row-major, `cols` the weights' common width): one `[n,
/// rows]` result per weight, all computed in one parallel pass over their
/// rows (one hand-off to the pool for, say, a layer's queries, keys and
/// values). Each output is one dot product of its input row and weight
/// row, so a row's result does not depend on the other rows of `inputs`:
/// a batch gives each row the bits it gets alone.
pub fn products(weights: &[&Int8Rows], inputs: &[f32], n: usize) -> Result<Vec<Vec<f32>>> {
    for weight in weights {
        if inputs.len() != n * weight.cols {
            candle_core::bail!(
                "int8 product: {} input values for {n} rows, the weight has {} columns",
                inputs.len(),
                weight.cols
            );
        }
    }
    let cols = weights.first().map_or(0, |w| w.cols);
    let quantized = Int8Inputs::quantize(inputs, n, cols);
    // Per weight `[n, padded rows]`; each task takes a range of weight
    // rows (read once for all inputs) and writes that range of every
    // input's row of results.
    let mut results: Vec<Vec<f32>> = weights
        .iter()
        .map(|w| vec![0f32; w.scales.len() * n])
        .collect();
    let all_rows: usize = weights.iter().map(|w| w.rows).sum();
    let per_task = (all_rows / (4 * rayon::current_num_threads()).max(1))
        .clamp(MIN_ROWS_PER_TASK, ROWS_PER_TASK)
        .next_multiple_of(INT8_BLOCK);
    let mut tasks = Vec::new();
    for (weight, out) in weights.iter().zip(results.iter_mut()) {
        let padded = weight.scales.len();
        let mut by_input: Vec<_> = out
            .chunks_mut(padded.max(1))
            .map(|row| row.chunks_mut(per_task))
            .collect();
        for task in 0..padded.div_ceil(per_task) {
            let slices: Vec<&mut [f32]> = by_input.iter_mut().filter_map(Iterator::next).collect();
            tasks.push((weight.weight(), task * per_task, slices));
        }
    }
    tasks.into_par_iter().for_each(|(weight, first, mut out)| {
        crate::cpu::int8::int8_rows_times_inputs(&weight, first, &quantized, &mut out);
    });
    Ok(results
        .into_iter()
        .zip(weights)
        .map(|(mut result, weight)| {
            let padded = weight.scales.len();
            if padded != weight.rows {
                // Drop each input's padding rows, in place.
                for input in 0..n {
                    result.copy_within(
                        input * padded..input * padded + weight.rows,
                        input * weight.rows,
                    );
                }
                result.truncate(n * weight.rows);
            }
            result
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn the_product_is_within_the_quantization_bound() {
        let dev = Device::Cpu;
        // Odd sizes: partial last chunk and task, and a dot-product tail.
        let weight = Tensor::randn(0f32, 1.0, (2101, 70), &dev).unwrap();
        let quantized = Int8Rows::quantize(&weight).unwrap();
        for n in [1, 3] {
            let x = Tensor::randn(0f32, 1.0, (n, 70), &dev).unwrap();
            let exact: Vec<Vec<f32>> = x.matmul(&weight.t().unwrap()).unwrap().to_vec2().unwrap();
            let approx: Vec<Vec<f32>> = quantized.product(&x).unwrap().to_vec2().unwrap();
            let inputs: Vec<Vec<f32>> = x.to_vec2().unwrap();
            let rows: Vec<Vec<f32>> = weight.to_vec2().unwrap();
            for (i, (e, a)) in exact.iter().zip(&approx).enumerate() {
                assert_eq!(a.len(), 2101);
                let x_l1: f32 = inputs[i].iter().map(|v| v.abs()).sum();
                // The finer plane's scale (`crate::cpu::int8::Int8Inputs`).
                let x_scale = inputs[i].iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0 / 254.0;
                for (row, (e, a)) in e.iter().zip(a).enumerate() {
                    let w_scale = quantized.scales[row];
                    let w_l1: f32 = rows[row].iter().map(|v| v.abs()).sum();
                    let bound = w_scale / 2.0 * x_l1
                        + x_scale / 2.0 * w_l1
                        + w_scale * x_scale / 4.0 * 70.0
                        + 1e-4;
                    assert!(
                        (e - a).abs() <= bound,
                        "n {n} input {i} row {row}: {e} vs {a}"
                    );
                }
            }
        }
    }

    #[test]
    fn rows_of_zeros_and_mismatched_inputs() {
        let dev = Device::Cpu;
        let weight = Tensor::zeros((4, 32), DType::F32, &dev).unwrap();
        let quantized = Int8Rows::quantize(&weight).unwrap();
        let x = Tensor::ones((1, 32), DType::F32, &dev).unwrap();
        let out: Vec<Vec<f32>> = quantized.product(&x).unwrap().to_vec2().unwrap();
        assert_eq!(out, vec![vec![0.0; 4]]);
        let wrong = Tensor::ones((1, 31), DType::F32, &dev).unwrap();
        assert!(quantized.product(&wrong).is_err());
    }
}
