//! Element-wise math for the hot loops, written so the compiler vectorises
//! it: `exp` and `erf` as polynomials (no libm calls, no branches), inlined
//! into loops that [`super::with_simd`] or [`super::kernel!`] compile for
//! the tier in force while the crate itself targets baseline x86-64. No
//! `mul_add`: where the code is not compiled with FMA (the portable tier)
//! it becomes a call to libm's software `fmaf`, far slower than a multiply
//! and an add; without it every tier computes the same bits.
//!
//! Accuracy, checked by the tests below against libm / Candle: `exp` within
//! 2 ulp-ish relative error (3e-7) on the softmax range, `erf` within 5e-7
//! absolute.

/// Dot product of two equally long slices.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight running sums: the compiler vectorises this, not a single
    // dependent chain.
    let mut sums = [0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for i in 0..8 {
            sums[i] += x[i] * y[i];
        }
    }
    sums.iter().sum::<f32>() + tail
}

/// Sum of `term(v)` over `values`, with eight running sums (vectorised,
/// as [`dot`]); the tail is summed apart and added last.
#[inline(always)]
pub fn sum_by(values: &[f32], term: impl Fn(f32) -> f32) -> f32 {
    let mut sums = [0f32; 8];
    let chunks = values.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().map(|&v| term(v)).sum();
    for x in chunks {
        for i in 0..8 {
            sums[i] += term(x[i]);
        }
    }
    sums.iter().sum::<f32>() + tail
}

/// Sum of `values` ([`sum_by`]).
#[inline(always)]
pub fn sum(values: &[f32]) -> f32 {
    sum_by(values, |v| v)
}

/// `e^x` for `x` in about [-87, 88] (clamped at the top), and 0 below:
/// Cody–Waite range reduction by ln 2 and a degree-6 polynomial (Cephes'
/// `expf` coefficients), then 2^n put into the exponent bits.
///
/// Below -87.3 the result is 0, not e^-87.3 (the smallest normal f32):
/// a softmax of masked (-∞) or far-off scores then gives weights of 0, as
/// the library `expf` does, where ~1e-38 weights made every product with
/// them a subnormal, which the CPU computes dozens of times slower (a
/// Whisper prompt's attention through Candle's gemm took three times as
/// long).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in a part exact in few bits and the rest.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let underflows = x < -87.3;
    let x = x.clamp(-87.3, 88.7);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * (r * r) + r + 1.0;
    // n is in [-126, 128] after the clamp: a normal power of two (the top
    // end only for inputs that overflow f32 anyway).
    // Through a float add, not `n as i32`: Rust's saturating conversion
    // does not vectorise (it went lane by lane through scalar registers).
    // Adding 1.5·2^23 leaves the integer n + 127 in the low mantissa bits;
    // the shift moves it into the exponent and drops the rest.
    let bits = (n + (127.0 + 12_582_912.0)).to_bits() << 23;
    if underflows {
        0.0
    } else {
        y * f32::from_bits(bits)
    }
}

/// `erf(x)`: an odd rational approximation on [-4, 4] (outside, erf is ±1
/// in f32), numerator of degree 13, denominator of degree 8.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 + -2.101_024e-6;
    p = p * x2 + -5.692_506_4e-5;
    p = p * x2 + -7.349_906_3e-4;
    p = p * x2 + -2.954_6e-3;
    p = p * x2 + -1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 + -2.133_740_6e-4;
    q = q * x2 + -1.682_827e-3;
    q = q * x2 + -7.373_329e-3;
    q = q * x2 + -1.426_474e-2;
    x * p / q
}

/// Exact (erf) GELU: `x · (1 + erf(x/√2)) / 2`.
#[inline(always)]
pub fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{Tier, with_simd_at};

    #[test]
    fn exp_is_close_to_libm() {
        let xs: Vec<f32> = (0..11_680).map(|i| -80.0 + i as f32 * 0.0137).collect();
        let want: Vec<f32> = xs.iter().map(|x| x.exp()).collect();
        let portable: Vec<f32> = xs.iter().map(|&x| exp(x)).collect();
        for tier in Tier::available() {
            let got: Vec<f32> = with_simd_at(tier, || xs.iter().map(|&x| exp(x)).collect());
            let worst = got
                .iter()
                .zip(&want)
                .fold(0f32, |w, (g, e)| w.max(((g - e) / e).abs()));
            assert!(worst < 3e-7, "{tier}: relative error {worst}");
            // No fused multiply-adds: every tier computes the same bits.
            assert_eq!(got, portable, "{tier}");
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1000.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(-87.0) > 0.0);
    }

    #[test]
    fn erf_is_close_to_candles() {
        let mut worst = 0f32;
        let mut x = -6.0f32;
        while x <= 6.0 {
            let want = candle_core::cpu::erf::erf_f32(x);
            worst = worst.max((erf(x) - want).abs());
            x += 0.001;
        }
        assert!(worst < 5e-7, "absolute error {worst}");
        assert_eq!(erf(0.0), 0.0);
        assert!(erf(10.0) > 0.999_999 && erf(-10.0) < -0.999_999);
    }

    #[test]
    fn gelu_matches_candle() {
        let values: Vec<f32> = (-400..400).map(|i| i as f32 * 0.02).collect();
        let theirs = candle_core::Tensor::new(values.as_slice(), &candle_core::Device::Cpu)
            .and_then(|t| t.gelu_erf())
            .and_then(|t| t.to_vec1::<f32>())
            .unwrap_or_default();
        assert_eq!(theirs.len(), values.len());
        for tier in Tier::available() {
            let ours: Vec<f32> =
                with_simd_at(tier, || values.iter().map(|&v| gelu_erf(v)).collect());
            for (a, b) in ours.iter().zip(&theirs) {
                assert!((a - b).abs() < 1e-6, "{tier}: {a} vs {b}");
            }
        }
    }
}
