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

use rayon::prelude::*;

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

avx512_helper!(
    /// `softmax(scores)` in place.
    softmax, softmax_in_place, (scores: &mut [f32])
);

#[inline(always)]
fn softmax_in_place(scores: &mut [f32]) {
    let inv = exponentials(scores);
    for s in scores {
        *s *= inv;
    }
}

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

/// The largest of `start` and `f(v)` for every `v` of `values`, with
/// [`LANES`] running maxima. Not `f32::max`, whose NaN rule costs a
/// compare and a blend per lane; a NaN is passed over here too (`v > m`
/// is false for it), as `f32::max` does.
#[inline(always)]
fn lane_max(values: &[f32], start: f32, f: impl Fn(f32) -> f32) -> f32 {
    let mut maxima = [start; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (m, &v) in maxima.iter_mut().zip(chunk) {
            let v = f(v);
            *m = if v > *m { v } else { *m };
        }
    }
    chunks
        .remainder()
        .iter()
        .map(|&v| f(v))
        .chain(maxima)
        .fold(start, f32::max)
}

/// The softmax's first half: `scores` become `exp(s - max)`; returns one
/// over their sum.
#[inline(always)]
fn exponentials(scores: &mut [f32]) -> f32 {
    use crate::bert::simd_math::exp;
    // Scores are finite.
    let max = lane_max(scores, f32::NEG_INFINITY, |s| s);
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
    /// The largest of `values` (NaNs are passed over; −∞ when there is
    /// nothing else).
    maximum, maximum_row, (values: &[f32]) -> f32
);

#[inline(always)]
fn maximum_row(values: &[f32]) -> f32 {
    lane_max(values, f32::NEG_INFINITY, |v| v)
}

avx512_helper!(
    /// `ln Σ exp(v)` over `values`, −∞ when every value is −∞ (or there
    /// are none): the normaliser of a log-softmax over a vocabulary, which
    /// the decoding rules need once or twice a token per stream. Sums in
    /// f32 lanes (terms in [0, 1] after the maximum is taken out, so the
    /// sum's relative error stays near the lanes' length times 6e-8, far
    /// below what the log-probability thresholds can tell apart).
    log_sum_exp, log_sum_exp_row, (values: &[f32]) -> f32
);

#[inline(always)]
fn log_sum_exp_row(values: &[f32]) -> f32 {
    use crate::bert::simd_math::{exp, sum_by};
    // −∞ compares as any other value; only NaN would break the maximum,
    // and logits have none.
    let max = lane_max(values, f32::NEG_INFINITY, |v| v);
    if max == f32::NEG_INFINITY {
        return max;
    }
    // exp(−∞) is 0: suppressed tokens add nothing.
    sum_by(values, |v| exp(v - max)).ln() + max
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
    /// `[audio, HEAD]`, both in bf16 (sums in f32); `scores` is scratch
    /// of at least `audio`.
    attend_panels, attend_panels_row, (q: &[f32], panels: &[half::bf16], values: &[half::bf16], audio: usize, scores: &mut [f32], out: &mut [f32])
);

#[inline(always)]
fn attend_panels_row(
    q: &[f32],
    panels: &[half::bf16],
    values: &[half::bf16],
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
                *s += qj * widen(k);
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
            even[i] += w[0] * widen(v[i]);
            odd[i] += w[1] * widen(v[HEAD + i]);
        }
    }
    if !audio.is_multiple_of(2) {
        let w = scores[audio - 1];
        for (e, &v) in even.iter_mut().zip(&values[(audio - 1) * HEAD..][..HEAD]) {
            *e += w * widen(v);
        }
    }
    for ((o, e), d) in out.iter_mut().zip(even).zip(odd) {
        *o = (e + d) * inv;
    }
}

/// A bf16 as the f32 it is: its bits are the f32's top half (one shift,
/// where `half`'s conversion checks for NaN per value).
#[inline(always)]
pub fn widen(x: half::bf16) -> f32 {
    f32::from_bits(u32::from(x.to_bits()) << 16)
}

/// Cross-attention keys `[heads, audio, HEAD]` as [`attend_panels`] reads
/// them: per head, `audio.div_ceil(PANEL)` panels of `[HEAD, PANEL]`,
/// rounded to bf16.
pub fn key_panels(keys: &[f32], heads: usize, audio: usize) -> Vec<half::bf16> {
    let per_head = audio.div_ceil(PANEL) * HEAD * PANEL;
    let mut panels = vec![half::bf16::ZERO; heads * per_head];
    for (head, out) in keys
        .chunks_exact(audio * HEAD)
        .zip(panels.chunks_exact_mut(per_head))
    {
        for (t, key) in head.chunks_exact(HEAD).enumerate() {
            let panel = &mut out[(t / PANEL) * HEAD * PANEL..];
            for (j, &k) in key.iter().enumerate() {
                panel[j * PANEL + t % PANEL] = crate::amx::to_bf16(k);
            }
        }
    }
    panels
}

/// Weight rows per block of a packed int8 weight ([`Int8Weight`]): one
/// AVX-512 register of i32 sums.
pub const INT8_BLOCK: usize = 16;

/// Columns per group of a packed int8 weight: the four bytes one lane of
/// `VPDPBUSD` multiplies and sums.
pub const INT8_GROUP: usize = 4;

/// What the unsigned inputs are offset by: a signed value `q` is stored as
/// `q + 128`, and each weight row's sum times this is taken back off.
pub const INT8_INPUT_OFFSET: i32 = 128;

/// An int8 weight as [`crate::whisper::int8::Int8Rows`] keeps it: blocks
/// of [`INT8_BLOCK`] rows; in a block, groups of [`INT8_GROUP`] columns,
/// each group `[INT8_BLOCK][INT8_GROUP]` (row by row, the group's four
/// columns side by side), the columns padded with zeros to whole groups and
/// the last block with zero rows. Per row: a scale, the row's sum times
/// [`INT8_INPUT_OFFSET`], and an optional bias (all padded alike).
///
/// Why: one group of a block is exactly one 64-byte register of
/// `VPDPBUSD`'s signed operand, each 32-bit lane one row's four weights,
/// multiplied by four input bytes broadcast to every lane: sixteen rows'
/// sums accumulate in lanes (no horizontal sum per row), 64 multiply-adds
/// an instruction, and one loaded group serves every input row.
#[derive(Debug, Clone, Copy)]
pub struct Int8Weight<'a> {
    pub values: &'a [i8],
    pub scales: &'a [f32],
    pub offsets: &'a [i32],
    pub bias: Option<&'a [f32]>,
    /// Column groups per row.
    pub groups: usize,
}

/// Input rows quantized for [`int8_rows_times_inputs`], each as two int8
/// planes: the row at its own scale (`max |x| / 127`), then what that
/// rounding left, at a scale 254 times finer. Both are stored offset by
/// [`INT8_INPUT_OFFSET`] as unsigned bytes (`VPDPBUSD` multiplies unsigned
/// by signed bytes) and padded to whole column groups with the offset
/// (zero); plane rows are `[input][plane]`.
///
/// Why two planes: one plane's rounding error is up to `max |x| / 254` on
/// every value, and the decoder's activations have a few values far larger
/// than the rest, so the rest kept a couple of bits; that alone moved
/// tiny.en's word error rate on the test clips from 6.5% to 9.8% (what
/// faster-whisper's int8, which rounds activations so, gets there). With
/// the second plane the activations' error is a 254th of that, below the
/// weights' own int8 rounding, for twice the integer work, which at one to
/// four rows is still far less than the memory the weights take to read.
#[derive(Debug, Clone)]
pub struct Int8Inputs {
    pub values: Vec<u8>,
    /// Per plane row.
    pub scales: Vec<f32>,
    pub groups: usize,
}

/// Planes per input row ([`Int8Inputs`]).
pub const INT8_PLANES: usize = 2;

impl Int8Inputs {
    /// Quantize `n` rows of `cols` values (`x`, row-major).
    pub fn quantize(x: &[f32], n: usize, cols: usize) -> Self {
        let groups = cols.div_ceil(INT8_GROUP);
        let width = groups * INT8_GROUP;
        let mut values = vec![INT8_INPUT_OFFSET as u8; INT8_PLANES * n * width];
        let mut scales = vec![1f32; INT8_PLANES * n];
        let rows = x
            .par_chunks(cols.max(1))
            .zip(values.par_chunks_mut((INT8_PLANES * width).max(1)))
            .zip(scales.par_chunks_mut(INT8_PLANES));
        // A prompt's rows are worth spreading over the pool; a step's few
        // are not worth the hand-off.
        let least = if n > 16 { 4 } else { n.max(1) };
        rows.with_min_len(least).for_each(|((row, out), scales)| {
            let (high, low) = out.split_at_mut(width);
            quantize_row(row, high, low, scales);
        });
        Self {
            values,
            scales,
            groups,
        }
    }
}

avx512_helper!(
    /// One row of [`Int8Inputs`]: its two planes and their two scales.
    quantize_row, quantize_planes, (row: &[f32], high: &mut [u8], low: &mut [u8], scales: &mut [f32])
);

#[inline(always)]
fn quantize_planes(row: &[f32], high: &mut [u8], low: &mut [u8], scales: &mut [f32]) {
    let largest = lane_max(row, 0.0, f32::abs);
    // A row of zeros: any scale gives zeros.
    let coarse = if largest > 0.0 { largest / 127.0 } else { 1.0 };
    let fine = coarse / 254.0;
    scales.copy_from_slice(&[coarse, fine]);
    let (to_coarse, to_fine) = (1.0 / coarse, 1.0 / fine);
    for ((h, l), &v) in high.iter_mut().zip(low.iter_mut()).zip(row) {
        // In range by construction: |v| / coarse ≤ 127, and what is left
        // is at most half a coarse step, 127 fine ones. Ties to even: one
        // instruction (`round` is a library call here).
        let q = (v * to_coarse).round_ties_even().clamp(-127.0, 127.0);
        let left = v - q * coarse;
        let r = (left * to_fine).round_ties_even().clamp(-127.0, 127.0);
        *h = offset_byte(q);
        *l = offset_byte(r);
    }
}

/// A whole `q` in -127..=127 as the byte `q + 128`. Not `q as i32`: Rust's
/// float-to-int cast saturates and maps NaN to 0, which compiles to a
/// scalar compare and convert per value; adding 1.5 · 2²³ puts a whole
/// number of this size in the low bits of the sum (exactly, the sum's unit
/// being 1), which stays in vector registers.
#[inline(always)]
fn offset_byte(q: f32) -> u8 {
    const MAGIC: f32 = 12_582_912.0;
    let bits = (q + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32;
    (bits + INT8_INPUT_OFFSET) as u8
}

/// One output from its two planes' integer sums: the same float
/// operations on every path (multiplies, then adds: never fused), so every
/// CPU gives the same bits.
#[inline(always)]
fn dequantize(sums: [i32; 2], offset: i32, scales: [f32; 2], row_scale: f32, bias: f32) -> f32 {
    let high = (sums[0] - offset) as f32 * (scales[0] * row_scale);
    let low = (sums[1] - offset) as f32 * (scales[1] * row_scale);
    (high + low) + bias
}

/// The int8 products' inner loop: the blocks of rows from `first` (a
/// multiple of [`INT8_BLOCK`]) times each quantized input row; `out[k]` is
/// input `k`'s outputs for those rows (a whole number of blocks, all of
/// equal length), scaled, plus bias. With `VPDPBUSD` where the CPU has
/// AVX-512 VNNI, otherwise the same integer sums in portable code.
pub fn int8_rows_times_inputs(
    weight: &Int8Weight<'_>,
    first: usize,
    inputs: &Int8Inputs,
    out: &mut [&mut [f32]],
) {
    let n = out.len();
    let len = out.first().map_or(0, |o| o.len());
    let blocks = len / INT8_BLOCK;
    let block_len = INT8_BLOCK * INT8_GROUP * weight.groups;
    let first_block = first / INT8_BLOCK;
    let end = (first_block + blocks) * INT8_BLOCK;
    assert!(
        first.is_multiple_of(INT8_BLOCK)
            && len.is_multiple_of(INT8_BLOCK)
            && out.iter().all(|o| o.len() == len)
            && (first_block + blocks) * block_len <= weight.values.len()
            && end <= weight.scales.len()
            && end <= weight.offsets.len()
            && weight.bias.is_none_or(|b| end <= b.len())
            && inputs.groups == weight.groups
            && INT8_PLANES * n * INT8_GROUP * inputs.groups <= inputs.values.len()
            && INT8_PLANES * n <= inputs.scales.len(),
        "int8 product out of range"
    );
    #[cfg(target_arch = "x86_64")]
    if vnni() {
        // SAFETY: `vnni` checked the CPU has every feature `vnni_blocks`
        // is compiled for; the ranges it reads and writes were checked
        // above.
        unsafe { vnni_blocks(weight, first_block, blocks, inputs, out) };
        return;
    }
    portable_blocks(weight, first_block, blocks, inputs, out);
}

/// Whether the CPU has AVX-512 VNNI besides [`avx512`]. Asked once.
pub fn vnni() -> bool {
    static VNNI: OnceLock<bool> = OnceLock::new();
    *VNNI.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            avx512() && std::arch::is_x86_feature_detected!("avx512vnni")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// [`int8_rows_times_inputs`] without VNNI.
fn portable_blocks(
    weight: &Int8Weight<'_>,
    first_block: usize,
    blocks: usize,
    inputs: &Int8Inputs,
    out: &mut [&mut [f32]],
) {
    let width = INT8_GROUP * weight.groups;
    let block_len = INT8_BLOCK * width;
    for block in first_block..first_block + blocks {
        let values = &weight.values[block * block_len..][..block_len];
        for (input, out) in out.iter_mut().enumerate() {
            let mut sums = [[0i32; INT8_BLOCK]; INT8_PLANES];
            for (plane, sums) in sums.iter_mut().enumerate() {
                let x = &inputs.values[(INT8_PLANES * input + plane) * width..][..width];
                for (w, x) in values
                    .chunks_exact(INT8_BLOCK * INT8_GROUP)
                    .zip(x.chunks_exact(INT8_GROUP))
                {
                    for (sum, w) in sums.iter_mut().zip(w.chunks_exact(INT8_GROUP)) {
                        for (&w, &x) in w.iter().zip(x) {
                            *sum += i32::from(w) * i32::from(x);
                        }
                    }
                }
            }
            let out = &mut out[(block - first_block) * INT8_BLOCK..][..INT8_BLOCK];
            let scales = [
                inputs.scales[INT8_PLANES * input],
                inputs.scales[INT8_PLANES * input + 1],
            ];
            for (lane, o) in out.iter_mut().enumerate() {
                let r = block * INT8_BLOCK + lane;
                *o = dequantize(
                    [sums[0][lane], sums[1][lane]],
                    weight.offsets[r],
                    scales,
                    weight.scales[r],
                    weight.bias.map_or(0.0, |b| b[r]),
                );
            }
        }
    }
}

/// [`int8_rows_times_inputs`] with `VPDPBUSD`: a few blocks of rows times
/// a few inputs' planes at a time, up to sixteen independent sums, each
/// group of a block loaded once for every plane, each plane's four bytes
/// broadcast once for every block.
///
/// # Safety
/// The CPU has AVX-512 F/BW and VNNI; the ranges were checked by
/// [`int8_rows_times_inputs`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma,avx512vnni")]
unsafe fn vnni_blocks(
    weight: &Int8Weight<'_>,
    first_block: usize,
    blocks: usize,
    inputs: &Int8Inputs,
    out: &mut [&mut [f32]],
) {
    let n = out.len();
    let mut input = 0;
    while input < n {
        // Four inputs (eight planes) times two blocks, or fewer inputs
        // times four blocks: at most sixteen sums in registers.
        let taken = (n - input).min(4);
        let most_blocks = if taken > 2 { 2 } else { 4 };
        let mut block = first_block;
        let end = first_block + blocks;
        while block < end {
            let r = (end - block).min(most_blocks);
            let pass = Pass {
                weight,
                first_block,
                block,
                inputs,
                input,
            };
            let out = &mut out[input..input + taken];
            // SAFETY: as this function's; blocks `block..block + r` and
            // inputs `input..input + taken` are within the checked ranges.
            unsafe {
                match (r, taken) {
                    (4, 2) => pass.run::<4, 4>(out),
                    (4, _) => pass.run::<4, 2>(out),
                    (3, 2) => pass.run::<3, 4>(out),
                    (3, _) => pass.run::<3, 2>(out),
                    (2, 4) => pass.run::<2, 8>(out),
                    (2, 3) => pass.run::<2, 6>(out),
                    (2, 2) => pass.run::<2, 4>(out),
                    (2, _) => pass.run::<2, 2>(out),
                    (_, 4) => pass.run::<1, 8>(out),
                    (_, 3) => pass.run::<1, 6>(out),
                    (_, 2) => pass.run::<1, 4>(out),
                    (_, _) => pass.run::<1, 2>(out),
                }
            }
            block += r;
        }
        input += taken;
    }
}

/// One pass of [`vnni_blocks`]: blocks from `block`, inputs from `input`.
#[cfg(target_arch = "x86_64")]
struct Pass<'a, 'b> {
    weight: &'a Int8Weight<'b>,
    first_block: usize,
    block: usize,
    inputs: &'a Int8Inputs,
    input: usize,
}

#[cfg(target_arch = "x86_64")]
impl Pass<'_, '_> {
    /// `R` blocks times `P` plane rows (`P / 2` inputs) into `out` (those
    /// inputs' outputs). Where `R · P` is small the groups alternate
    /// between two sets of sums: one set is a chain of dependent
    /// `VPDPBUSD`s as long as the row, each waiting for the last.
    ///
    /// # Safety
    /// As [`vnni_blocks`]'s; blocks `block..block + R` and inputs
    /// `input..input + P / 2` exist, and `out` holds `P / 2` slices.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma,avx512vnni")]
    unsafe fn run<const R: usize, const P: usize>(&self, out: &mut [&mut [f32]]) {
        use std::arch::x86_64::{
            __m512i, _mm512_add_epi32, _mm512_add_ps, _mm512_cvtepi32_ps, _mm512_dpbusd_epi32,
            _mm512_loadu_ps, _mm512_loadu_si512, _mm512_mul_ps, _mm512_set1_epi32, _mm512_set1_ps,
            _mm512_setzero_ps, _mm512_setzero_si512, _mm512_storeu_ps, _mm512_sub_epi32,
        };
        let weight = self.weight;
        let groups = weight.groups;
        let block_len = INT8_BLOCK * INT8_GROUP * groups;
        let width = INT8_GROUP * groups;
        let two_sets = R * P <= 8;
        // SAFETY: the caller's contract: every block read is within
        // `weight.values` and its per-row vectors, every plane row within
        // `self.inputs.values`, every write within `out`'s slices (whole
        // blocks, checked by `int8_rows_times_inputs`).
        unsafe {
            let w = weight.values.as_ptr().add(self.block * block_len);
            let x = self
                .inputs
                .values
                .as_ptr()
                .add(INT8_PLANES * self.input * width);
            // Two sets of sums as two variables, each group's set known
            // at compile time: indexed by a run-time value, the sets would
            // live in memory, not registers.
            let mut even = [[_mm512_setzero_si512(); R]; P];
            let mut odd = [[_mm512_setzero_si512(); R]; P];
            let accumulate = |group: usize, sums: &mut [[__m512i; R]; P]| {
                let mut columns = [_mm512_setzero_si512(); R];
                for (r, column) in columns.iter_mut().enumerate() {
                    *column = _mm512_loadu_si512(
                        w.add(r * block_len + group * INT8_BLOCK * INT8_GROUP)
                            .cast::<__m512i>(),
                    );
                }
                for (p, sums) in sums.iter_mut().enumerate() {
                    let four = x
                        .add(p * width + group * INT8_GROUP)
                        .cast::<i32>()
                        .read_unaligned();
                    let four = _mm512_set1_epi32(four);
                    for (sum, column) in sums.iter_mut().zip(&columns) {
                        *sum = _mm512_dpbusd_epi32(*sum, four, *column);
                    }
                }
            };
            let mut group = 0;
            while group + 1 < groups {
                accumulate(group, &mut even);
                if two_sets {
                    accumulate(group + 1, &mut odd);
                } else {
                    accumulate(group + 1, &mut even);
                }
                group += 2;
            }
            if group < groups {
                accumulate(group, &mut even);
            }
            let sums = [even, odd];
            let plane_scales = &self.inputs.scales[INT8_PLANES * self.input..];
            #[expect(
                clippy::needless_range_loop,
                reason = "r picks a block's sums from every plane's set, and its rows"
            )]
            for r in 0..R {
                let row = (self.block + r) * INT8_BLOCK;
                let offsets =
                    _mm512_loadu_si512(weight.offsets.as_ptr().add(row).cast::<__m512i>());
                let scales = _mm512_loadu_ps(weight.scales.as_ptr().add(row));
                let bias = match weight.bias {
                    Some(b) => _mm512_loadu_ps(b.as_ptr().add(row)),
                    None => _mm512_setzero_ps(),
                };
                let at = (self.block + r - self.first_block) * INT8_BLOCK;
                for (k, out) in out.iter_mut().enumerate().take(P / INT8_PLANES) {
                    let plane = |p: usize| {
                        let total = _mm512_add_epi32(sums[0][p][r], sums[1][p][r]);
                        let scale = _mm512_mul_ps(_mm512_set1_ps(plane_scales[p]), scales);
                        _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(total, offsets)), scale)
                    };
                    let value = _mm512_add_ps(
                        _mm512_add_ps(plane(INT8_PLANES * k), plane(INT8_PLANES * k + 1)),
                        bias,
                    );
                    _mm512_storeu_ps(out.as_mut_ptr().add(at), value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A weight of `rows` × `cols` made of small pseudo-random values, in
    /// the packed layout, with its scales, offsets and bias.
    fn weight(rows: usize, cols: usize) -> (Vec<i8>, Vec<f32>, Vec<i32>, Vec<f32>, usize) {
        let groups = cols.div_ceil(INT8_GROUP);
        let padded = rows.next_multiple_of(INT8_BLOCK);
        let mut values = vec![0i8; padded * groups * INT8_GROUP];
        let mut offsets = vec![0i32; padded];
        for (r, offset) in offsets.iter_mut().enumerate().take(rows) {
            for c in 0..cols {
                let q = ((r * 31 + c * 17) % 255) as i32 - 127;
                let (block, lane) = (r / INT8_BLOCK, r % INT8_BLOCK);
                let at = block * INT8_BLOCK * groups * INT8_GROUP
                    + ((c / INT8_GROUP) * INT8_BLOCK + lane) * INT8_GROUP
                    + c % INT8_GROUP;
                values[at] = q as i8;
                *offset += q * INT8_INPUT_OFFSET;
            }
        }
        let scales = (0..padded).map(|r| 0.01 + r as f32 * 1e-4).collect();
        let bias = (0..padded).map(|r| r as f32 * 0.5).collect();
        (values, scales, offsets, bias, groups)
    }

    #[test]
    fn offset_bytes_are_exact() {
        for q in -127..=127 {
            assert_eq!(i32::from(offset_byte(q as f32)), q + INT8_INPUT_OFFSET);
        }
    }

    #[test]
    fn int8_products_are_the_integer_sums_on_every_path() {
        // Odd sizes: a partial column group, a partial last block, and every
        // block-and-input count of the VNNI passes.
        let (rows, cols) = (100, 70);
        let (values, scales, offsets, bias, groups) = weight(rows, cols);
        let w = Int8Weight {
            values: &values,
            scales: &scales,
            offsets: &offsets,
            bias: Some(&bias),
            groups,
        };
        for n in [1, 2, 3, 4, 5, 7] {
            let x: Vec<f32> = (0..n * cols)
                .map(|i| ((i * 7) % 23) as f32 - 11.0)
                .collect();
            let inputs = Int8Inputs::quantize(&x, n, cols);
            let padded = rows.next_multiple_of(INT8_BLOCK);
            let run = |first: usize, portable: bool| {
                let mut out = vec![vec![0f32; padded - first]; n];
                let mut slices: Vec<&mut [f32]> =
                    out.iter_mut().map(|o| o.as_mut_slice()).collect();
                if portable {
                    portable_blocks(
                        &w,
                        first / INT8_BLOCK,
                        (padded - first) / INT8_BLOCK,
                        &inputs,
                        &mut slices,
                    );
                } else {
                    int8_rows_times_inputs(&w, first, &inputs, &mut slices);
                }
                out
            };
            let fast = run(0, false);
            assert_eq!(fast, run(0, true), "{n} inputs");
            // And from a later first block, as a parallel task starts.
            let tail = run(2 * INT8_BLOCK, false);
            for (tail, fast) in tail.iter().zip(&fast) {
                assert_eq!(tail[..], fast[2 * INT8_BLOCK..], "{n} inputs, from block 2");
            }
            // Each output is its row's exact integer dot products with the
            // two planes, scaled.
            for r in 0..rows {
                for k in 0..n {
                    let row = &x[k * cols..(k + 1) * cols];
                    let largest = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let (coarse, fine) = (largest / 127.0, largest / 127.0 / 254.0);
                    let (mut high, mut low) = (0i32, 0i32);
                    for (c, &v) in row.iter().enumerate() {
                        let w = ((r * 31 + c * 17) % 255) as i32 - 127;
                        let q = (v * (1.0 / coarse)).round_ties_even();
                        high += q as i32 * w;
                        low += ((v - q * coarse) * (1.0 / fine)).round_ties_even() as i32 * w;
                    }
                    let expected = high as f32 * (coarse * scales[r])
                        + low as f32 * (fine * scales[r])
                        + bias[r];
                    let got = fast[k][r];
                    assert!(
                        (got - expected).abs() <= 1e-3 * expected.abs().max(1.0),
                        "row {r} input {k}: {got} vs {expected}"
                    );
                }
            }
        }
    }
}
