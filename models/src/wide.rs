//! Hot loops compiled for AVX-512, chosen at run time: the row helpers
//! around the AMX tiles (softmax over 1,500 keys, GELU, layer norms,
//! rounding to bf16), the int8 decoder's dot products and the attention of
//! its decoding steps (`crate::whisper::model`'s host steps).
//!
//! Why not `simd_math::with_simd` (pulp's dispatch): it compiles a closure
//! for the CPU's features only when the closure is inlined into pulp's
//! dispatched function, and a closure around a loop of any size was not
//! (the profile showed the int8 products and the softmax running as
//! baseline x86-64: scalar `floorf` calls, SSE2). A `#[target_feature]`
//! function is compiled for its features whatever the inliner decides;
//! calling it needs `unsafe`, after checking the CPU has them, which
//! [`avx512`] does once. Elsewhere each helper runs through `with_simd`.
#![expect(
    unsafe_code,
    reason = "calling #[target_feature] functions after checking the CPU"
)]

use std::sync::OnceLock;

/// Whether the CPU has AVX-512 F/BW/VL/DQ and FMA. Asked once.
pub fn avx512() -> bool {
    static AVX512: OnceLock<bool> = OnceLock::new();
    *AVX512.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Define `pub fn $name` running `$body` compiled for AVX-512 where the
/// CPU has it, through `with_simd` elsewhere.
macro_rules! avx512_helper {
    ($(#[$doc:meta])* $name:ident, $body:ident, ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma")]
            fn wide($($arg: $ty),*) $(-> $ret)? {
                $body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            if avx512() {
                // SAFETY: `avx512` checked that the CPU has every feature
                // `wide` is compiled for.
                return unsafe { wide($($arg),*) };
            }
            crate::bert::simd_math::with_simd(|| $body($($arg),*))
        }
    };
}

avx512_helper!(
    /// `out[i] = crate::amx::to_bf16(x[i])`.
    convert, convert_row, (x: &[f32], out: &mut [half::bf16])
);

#[inline(always)]
fn convert_row(x: &[f32], out: &mut [half::bf16]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = crate::amx::to_bf16(v);
    }
}

avx512_helper!(
    /// `softmax(scores)` rounded to bf16 into `out` (`scores` is
    /// overwritten with the unnormalised exponentials).
    softmax_to_bf16, softmax_row, (scores: &mut [f32], out: &mut [half::bf16])
);

/// Lanes of the running maxima and sums: a single running value is a
/// dependency chain the compiler must keep in order, which also keeps the
/// `exp` beside it scalar.
const LANES: usize = 16;

#[inline(always)]
fn softmax_row(scores: &mut [f32], out: &mut [half::bf16]) {
    let inv = exponentials(scores);
    for (o, &e) in out.iter_mut().zip(scores.iter()) {
        *o = crate::amx::to_bf16(e * inv);
    }
}

/// The softmax's first half: `scores` become `exp(s - max)`; returns one
/// over their sum.
#[inline(always)]
fn exponentials(scores: &mut [f32]) -> f32 {
    use crate::bert::simd_math::exp;
    let mut maxima = [f32::NEG_INFINITY; LANES];
    let mut chunks = scores.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (m, &s) in maxima.iter_mut().zip(chunk) {
            // Not f32::max, whose NaN rule costs a compare and a blend per
            // lane: scores are finite.
            *m = if s > *m { s } else { *m };
        }
    }
    let max = chunks
        .remainder()
        .iter()
        .chain(&maxima)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sums = [0f32; LANES];
    let mut chunks = scores.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (sum, s) in sums.iter_mut().zip(chunk.iter_mut()) {
            *s = exp(*s - max);
            *sum += *s;
        }
    }
    let mut sum: f32 = sums.iter().sum();
    for s in chunks.into_remainder() {
        *s = exp(*s - max);
        sum += *s;
    }
    1.0 / sum
}

avx512_helper!(
    /// Exact (erf) GELU of `x`, rounded to bf16 into `out`.
    gelu_to_bf16, gelu_row, (x: &[f32], out: &mut [half::bf16])
);

#[inline(always)]
fn gelu_row(x: &[f32], out: &mut [half::bf16]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = crate::amx::to_bf16(crate::bert::simd_math::gelu_erf(v));
    }
}

avx512_helper!(
    /// Layer norm of one row (eps 1e-5, as Whisper's), rounded to bf16.
    layer_norm_to_bf16, layer_norm_row, (row: &[f32], weight: &[f32], bias: &[f32], out: &mut [half::bf16])
);

#[inline(always)]
fn layer_norm_row(row: &[f32], weight: &[f32], bias: &[f32], out: &mut [half::bf16]) {
    let (mean, scale) = moments(row);
    for (((o, &v), &w), &b) in out.iter_mut().zip(row).zip(weight).zip(bias) {
        *o = crate::amx::to_bf16((v - mean) * scale * w + b);
    }
}

avx512_helper!(
    /// Layer norm of one row (eps 1e-5, as Whisper's) into `out`.
    layer_norm, layer_norm_f32_row, (row: &[f32], weight: &[f32], bias: &[f32], out: &mut [f32])
);

#[inline(always)]
fn layer_norm_f32_row(row: &[f32], weight: &[f32], bias: &[f32], out: &mut [f32]) {
    let (mean, scale) = moments(row);
    for (((o, &v), &w), &b) in out.iter_mut().zip(row).zip(weight).zip(bias) {
        *o = (v - mean) * scale * w + b;
    }
}

/// A layer norm's mean and `1/√(variance + 1e-5)` of `row`.
#[inline(always)]
fn moments(row: &[f32]) -> (f32, f32) {
    use crate::bert::simd_math::{sum, sum_by};
    let d = row.len() as f32;
    let mean = sum(row) / d;
    let var = sum_by(row, |v| (v - mean) * (v - mean)) / d;
    (mean, 1.0 / (var + 1e-5).sqrt())
}

avx512_helper!(
    /// Exact (erf) GELU of every value of `x`, in place.
    gelu, gelu_in_place, (x: &mut [f32])
);

#[inline(always)]
fn gelu_in_place(x: &mut [f32]) {
    for v in x {
        *v = crate::bert::simd_math::gelu_erf(*v);
    }
}

/// Width of an attention head: 64 in every Whisper.
pub const HEAD: usize = 64;

/// Keys per cross-attention panel (see [`attend_panels`]).
pub const PANEL: usize = 64;

avx512_helper!(
    /// One query's softmax attention over cached keys and values: `q`
    /// (scaled, [`HEAD`] wide) against `len` positions found at
    /// `keys[p * stride..]` / `values[p * stride..]`; `scores` is scratch of
    /// at least `len`. Writes the `HEAD` outputs to `out`.
    attend_cached, attend_cached_row, (q: &[f32], keys: &[f32], values: &[f32], stride: usize, len: usize, scores: &mut [f32], out: &mut [f32])
);

#[inline(always)]
fn attend_cached_row(
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    stride: usize,
    len: usize,
    scores: &mut [f32],
    out: &mut [f32],
) {
    let scores = &mut scores[..len];
    for (p, s) in scores.iter_mut().enumerate() {
        *s = crate::bert::simd_math::dot(q, &keys[p * stride..][..HEAD]);
    }
    let inv = exponentials(scores);
    let mut sums = [0f32; HEAD];
    for (p, &w) in scores.iter().enumerate() {
        for (s, &v) in sums.iter_mut().zip(&values[p * stride..][..HEAD]) {
            *s += w * v;
        }
    }
    for (o, s) in out.iter_mut().zip(sums) {
        *o = s * inv;
    }
}

avx512_helper!(
    /// One query's softmax attention over a window's audio positions:
    /// `q` (scaled, [`HEAD`] wide) against `audio` keys stored as panels
    /// of [`PANEL`] keys, each `[HEAD, PANEL]` (key `t`'s value `j` at
    /// `panel[j * PANEL + t]`, the last panel padded), and values
    /// `[audio, HEAD]`; `scores` is scratch of at least `audio`.
    attend_panels, attend_panels_row, (q: &[f32], panels: &[f32], values: &[f32], audio: usize, scores: &mut [f32], out: &mut [f32])
);

#[inline(always)]
fn attend_panels_row(
    q: &[f32],
    panels: &[f32],
    values: &[f32],
    audio: usize,
    scores: &mut [f32],
    out: &mut [f32],
) {
    // Panels turn the scores into PANEL running sums kept in registers,
    // each weight read once in order: a dot product per key would end in a
    // horizontal sum for every one of 1,500 keys.
    let scores = &mut scores[..audio];
    for (panel, chunk) in panels
        .chunks_exact(HEAD * PANEL)
        .zip(scores.chunks_mut(PANEL))
    {
        let mut sums = [0f32; PANEL];
        for (&qj, keys) in q.iter().zip(panel.chunks_exact(PANEL)) {
            for (s, &k) in sums.iter_mut().zip(keys) {
                *s += qj * k;
            }
        }
        let n = chunk.len();
        chunk.copy_from_slice(&sums[..n]);
    }
    let inv = exponentials(scores);
    // Two sets of sums, for even and odd positions: one set is a chain of
    // 1,500 dependent additions per lane.
    let (mut even, mut odd) = ([0f32; HEAD], [0f32; HEAD]);
    let mut pairs = values.chunks_exact(2 * HEAD).zip(scores.chunks_exact(2));
    for (v, w) in &mut pairs {
        for i in 0..HEAD {
            even[i] += w[0] * v[i];
            odd[i] += w[1] * v[HEAD + i];
        }
    }
    if !audio.is_multiple_of(2) {
        let w = scores[audio - 1];
        for (e, &v) in even.iter_mut().zip(&values[(audio - 1) * HEAD..][..HEAD]) {
            *e += w * v;
        }
    }
    for ((o, e), d) in out.iter_mut().zip(even).zip(odd) {
        *o = (e + d) * inv;
    }
}

/// Cross-attention keys `[heads, audio, HEAD]` as [`attend_panels`] reads
/// them: per head, `audio.div_ceil(PANEL)` panels of `[HEAD, PANEL]`.
pub fn key_panels(keys: &[f32], heads: usize, audio: usize) -> Vec<f32> {
    let per_head = audio.div_ceil(PANEL) * HEAD * PANEL;
    let mut panels = vec![0f32; heads * per_head];
    for (head, out) in keys
        .chunks_exact(audio * HEAD)
        .zip(panels.chunks_exact_mut(per_head))
    {
        for (t, key) in head.chunks_exact(HEAD).enumerate() {
            let panel = &mut out[(t / PANEL) * HEAD * PANEL..];
            for (j, &k) in key.iter().enumerate() {
                panel[j * PANEL + t % PANEL] = k;
            }
        }
    }
    panels
}

/// Weight rows per block of a packed int8 weight ([`Int8Weight`]): one
/// AVX-512 register of f32 outputs.
pub const INT8_BLOCK: usize = 16;

/// An int8 weight as [`crate::whisper::int8::Int8Rows`] keeps it: blocks
/// of [`INT8_BLOCK`] rows, each stored column by column (`[cols,
/// INT8_BLOCK]`: the block's values of column `c` side by side), the last
/// block padded with zero rows; one scale per row and an optional bias
/// (padded alike).
///
/// Why column by column: one column of a block, widened to f32, is a
/// register holding one weight of each of 16 rows, multiplied by one input
/// value: sixteen outputs accumulate in lanes, with no horizontal sum per
/// row, and each widened column serves every input row of the batch.
#[derive(Debug, Clone, Copy)]
pub struct Int8Weight<'a> {
    pub values: &'a [i8],
    pub scales: &'a [f32],
    pub bias: Option<&'a [f32]>,
    pub cols: usize,
}

avx512_helper!(
    /// The int8 products' inner loop: the blocks of rows from `first` (a
    /// multiple of [`INT8_BLOCK`]; as many rows as `out` holds, `n` values
    /// each: `[rows, n]`) times each of the `n` input rows (`inputs`,
    /// `[n, cols]`), scaled, plus bias.
    int8_rows_times_inputs, int8_blocks, (weight: &Int8Weight<'_>, first: usize, inputs: &[f32], n: usize, out: &mut [f32])
);

/// Inputs taken together through a block: each widened column is used by
/// this many, with four running sums per input, which keeps 16 sums and a
/// column in registers.
const INPUTS_PER_PASS: usize = 4;

#[inline(always)]
fn int8_blocks(weight: &Int8Weight<'_>, first: usize, inputs: &[f32], n: usize, out: &mut [f32]) {
    let cols = weight.cols;
    for (index, out) in out.chunks_mut(INT8_BLOCK * n.max(1)).enumerate() {
        let row = first + index * INT8_BLOCK;
        let block = &weight.values[row * cols..][..INT8_BLOCK * cols];
        let mut input = 0;
        while input < n {
            let taken = (n - input).min(INPUTS_PER_PASS);
            let rows = &inputs[input * cols..(input + taken) * cols];
            let mut sums = [[0f32; INT8_BLOCK]; INPUTS_PER_PASS];
            match taken {
                4 => block_times::<4>(block, rows, cols, &mut sums),
                3 => block_times::<3>(block, rows, cols, &mut sums),
                2 => block_times::<2>(block, rows, cols, &mut sums),
                _ => block_times::<1>(block, rows, cols, &mut sums),
            }
            for (k, sums) in sums.iter().take(taken).enumerate() {
                for (lane, &sum) in sums.iter().enumerate() {
                    let r = row + lane;
                    let bias = weight.bias.map_or(0.0, |b| b[r]);
                    if let Some(o) = out.get_mut(lane * n + input + k) {
                        *o = sum * weight.scales[r] + bias;
                    }
                }
            }
            input += taken;
        }
    }
}

/// `sums[k][lane] = Σ_c rows[k][c] · block[c][lane]` for the `G` input
/// rows of `rows` (`[G, cols]`).
#[inline(always)]
fn block_times<const G: usize>(
    block: &[i8],
    rows: &[f32],
    cols: usize,
    sums: &mut [[f32; INT8_BLOCK]; INPUTS_PER_PASS],
) {
    // Four sums per input, over every fourth column: one sum is a chain of
    // dependent multiply-adds, as long as the row.
    let mut partial = [[[0f32; INT8_BLOCK]; 4]; G];
    let whole = cols / 4 * 4;
    for (c4, columns) in block[..whole * INT8_BLOCK]
        .chunks_exact(4 * INT8_BLOCK)
        .enumerate()
    {
        for phase in 0..4 {
            let mut w = [0f32; INT8_BLOCK];
            for (w, &q) in w
                .iter_mut()
                .zip(&columns[phase * INT8_BLOCK..][..INT8_BLOCK])
            {
                *w = f32::from(q);
            }
            for (k, partial) in partial.iter_mut().enumerate() {
                let x = rows[k * cols + c4 * 4 + phase];
                for (s, &w) in partial[phase].iter_mut().zip(&w) {
                    *s += x * w;
                }
            }
        }
    }
    for c in whole..cols {
        let column = &block[c * INT8_BLOCK..][..INT8_BLOCK];
        for (k, partial) in partial.iter_mut().enumerate() {
            let x = rows[k * cols + c];
            for (s, &q) in partial[0].iter_mut().zip(column) {
                *s += x * f32::from(q);
            }
        }
    }
    for (sums, partial) in sums.iter_mut().zip(&partial) {
        for (lane, sum) in sums.iter_mut().enumerate() {
            *sum = (partial[0][lane] + partial[1][lane]) + (partial[2][lane] + partial[3][lane]);
        }
    }
}
