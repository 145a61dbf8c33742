//! Hot loops compiled for AVX-512, chosen at run time: the row helpers
//! around the AMX tiles (softmax over 1,500 keys, GELU, layer norms,
//! rounding to bf16) and the int8 decoder's dot products.
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
    let inv = 1.0 / sum;
    for (o, &e) in out.iter_mut().zip(scores.iter()) {
        *o = crate::amx::to_bf16(e * inv);
    }
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
    use crate::bert::simd_math::{sum, sum_by};
    let d = row.len() as f32;
    let mean = sum(row) / d;
    let var = sum_by(row, |v| (v - mean) * (v - mean)) / d;
    let scale = 1.0 / (var + 1e-5).sqrt();
    for (((o, &v), &w), &b) in out.iter_mut().zip(row).zip(weight).zip(bias) {
        *o = crate::amx::to_bf16((v - mean) * scale * w + b);
    }
}

/// An int8 weight as [`crate::whisper::int8::Int8Rows`] keeps it: `[rows,
/// cols]` values, one scale per row, an optional bias.
#[derive(Debug, Clone, Copy)]
pub struct Int8Weight<'a> {
    pub values: &'a [i8],
    pub scales: &'a [f32],
    pub bias: Option<&'a [f32]>,
    pub cols: usize,
}

avx512_helper!(
    /// The int8 products' inner loop: weight rows from `first` (as many as
    /// `out` holds, `n` values each: `[rows, n]`), widened to f32 once,
    /// times each of the `n` input rows, scaled, plus bias.
    int8_rows_times_inputs, int8_rows_row, (weight: &Int8Weight<'_>, first: usize, inputs: &[f32], n: usize, out: &mut [f32])
);

#[inline(always)]
fn int8_rows_row(weight: &Int8Weight<'_>, first: usize, inputs: &[f32], n: usize, out: &mut [f32]) {
    use crate::bert::simd_math::dot;
    let cols = weight.cols;
    let mut widened = vec![0f32; cols];
    for (offset, out) in out.chunks_mut(n.max(1)).enumerate() {
        let row = first + offset;
        let quantized = &weight.values[row * cols..][..cols];
        for (w, &q) in widened.iter_mut().zip(quantized) {
            *w = f32::from(q);
        }
        let scale = weight.scales[row];
        let bias = weight.bias.map_or(0.0, |b| b[row]);
        for (o, input) in out.iter_mut().zip(inputs.chunks_exact(cols)) {
            *o = dot(&widened, input) * scale + bias;
        }
    }
}
