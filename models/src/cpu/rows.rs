//! The row helpers: softmax over up to 1,500 keys, GELU, layer norms,
//! rounding to bf16 (around the bf16 products of [`super::amx`]), the
//! normalisers of the decoding rules, and the attention of the decoder's
//! steps (`crate::whisper::model`'s host steps). Each is a plain loop the
//! compiler vectorises, compiled per tier by [`super::kernel!`].

use super::kernel;

kernel!(
    /// `out[i] = crate::cpu::amx::to_bf16(x[i])`.
    convert / convert_at, convert_row, (x: &[f32], out: &mut [half::bf16])
);

#[inline(always)]
fn convert_row(x: &[f32], out: &mut [half::bf16]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = crate::cpu::amx::to_bf16(v);
    }
}

kernel!(
    /// `softmax(scores)` rounded to bf16 into `out` (`scores` is
    /// overwritten with the unnormalised exponentials).
    softmax_to_bf16 / softmax_to_bf16_at, softmax_row, (scores: &mut [f32], out: &mut [half::bf16])
);

kernel!(
    /// `softmax(scores)` in place.
    softmax / softmax_at, softmax_in_place, (scores: &mut [f32])
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
        *o = crate::cpu::amx::to_bf16(e * inv);
    }
}

/// The largest of `start` and `f(v)` for every `v` of `values`, with
/// [`LANES`] running maxima. Not `f32::max`, whose NaN rule costs a
/// compare and a blend per lane; a NaN is passed over here too (`v > m`
/// is false for it), as `f32::max` does.
#[inline(always)]
pub(super) fn lane_max(values: &[f32], start: f32, f: impl Fn(f32) -> f32) -> f32 {
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
    use crate::cpu::math::exp;
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

kernel!(
    /// The largest of `values` (NaNs are passed over; −∞ when there is
    /// nothing else).
    maximum / maximum_at, maximum_row, (values: &[f32]) -> f32
);

#[inline(always)]
fn maximum_row(values: &[f32]) -> f32 {
    lane_max(values, f32::NEG_INFINITY, |v| v)
}

kernel!(
    /// `ln Σ exp(v)` over `values`, −∞ when every value is −∞ (or there
    /// are none): the normaliser of a log-softmax over a vocabulary, which
    /// the decoding rules need once or twice a token per stream. Sums in
    /// f32 lanes (terms in [0, 1] after the maximum is taken out, so the
    /// sum's relative error stays near the lanes' length times 6e-8, far
    /// below what the log-probability thresholds can tell apart).
    log_sum_exp / log_sum_exp_at, log_sum_exp_row, (values: &[f32]) -> f32
);

#[inline(always)]
fn log_sum_exp_row(values: &[f32]) -> f32 {
    use crate::cpu::math::{exp, sum_by};
    // −∞ compares as any other value; only NaN would break the maximum,
    // and logits have none.
    let max = lane_max(values, f32::NEG_INFINITY, |v| v);
    if max == f32::NEG_INFINITY {
        return max;
    }
    // exp(−∞) is 0: suppressed tokens add nothing.
    sum_by(values, |v| exp(v - max)).ln() + max
}

kernel!(
    /// Exact (erf) GELU of `x`, rounded to bf16 into `out`.
    gelu_to_bf16 / gelu_to_bf16_at, gelu_row, (x: &[f32], out: &mut [half::bf16])
);

#[inline(always)]
fn gelu_row(x: &[f32], out: &mut [half::bf16]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = crate::cpu::amx::to_bf16(crate::cpu::math::gelu_erf(v));
    }
}

kernel!(
    /// Layer norm of one row (eps 1e-5, as Whisper's), rounded to bf16.
    layer_norm_to_bf16 / layer_norm_to_bf16_at, layer_norm_row, (row: &[f32], weight: &[f32], bias: &[f32], out: &mut [half::bf16])
);

#[inline(always)]
fn layer_norm_row(row: &[f32], weight: &[f32], bias: &[f32], out: &mut [half::bf16]) {
    let (mean, scale) = moments(row);
    for (((o, &v), &w), &b) in out.iter_mut().zip(row).zip(weight).zip(bias) {
        *o = crate::cpu::amx::to_bf16((v - mean) * scale * w + b);
    }
}

kernel!(
    /// Layer norm of one row (eps 1e-5, as Whisper's) into `out`.
    layer_norm / layer_norm_at, layer_norm_f32_row, (row: &[f32], weight: &[f32], bias: &[f32], out: &mut [f32])
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
    use crate::cpu::math::{sum, sum_by};
    let d = row.len() as f32;
    let mean = sum(row) / d;
    let var = sum_by(row, |v| (v - mean) * (v - mean)) / d;
    (mean, 1.0 / (var + 1e-5).sqrt())
}

kernel!(
    /// Exact (erf) GELU of every value of `x`, in place.
    gelu / gelu_at, gelu_in_place, (x: &mut [f32])
);

#[inline(always)]
fn gelu_in_place(x: &mut [f32]) {
    for v in x {
        *v = crate::cpu::math::gelu_erf(*v);
    }
}

/// Width of an attention head: 64 in every Whisper.
pub const HEAD: usize = 64;

/// Keys per cross-attention panel (see [`attend_panels`]).
pub const PANEL: usize = 64;

kernel!(
    /// One query's softmax attention over cached keys and values: `q`
    /// (scaled, [`HEAD`] wide) against `len` positions found at
    /// `keys[p * stride..]` / `values[p * stride..]`; `scores` is scratch of
    /// at least `len`. Writes the `HEAD` outputs to `out`.
    attend_cached /
    #[expect(clippy::too_many_arguments, reason = "attend_cached's arguments and the tier")]
    attend_cached_at, attend_cached_row, (q: &[f32], keys: &[f32], values: &[f32], stride: usize, len: usize, scores: &mut [f32], out: &mut [f32])
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
        *s = crate::cpu::math::dot(q, &keys[p * stride..][..HEAD]);
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

kernel!(
    /// One query's softmax attention over a window's audio positions:
    /// `q` (scaled, [`HEAD`] wide) against `audio` keys stored as panels
    /// of [`PANEL`] keys, each `[HEAD, PANEL]` (key `t`'s value `j` at
    /// `panel[j * PANEL + t]`, the last panel padded), and values
    /// `[audio, HEAD]`, both in bf16 (sums in f32); `scores` is scratch
    /// of at least `audio`.
    attend_panels / attend_panels_at, attend_panels_row, (q: &[f32], panels: &[half::bf16], values: &[half::bf16], audio: usize, scores: &mut [f32], out: &mut [f32])
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
                panel[j * PANEL + t % PANEL] = crate::cpu::amx::to_bf16(k);
            }
        }
    }
    panels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::Tier;

    /// Deterministic values in [-scale, scale), `n` of them.
    fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    fn bits(x: &[half::bf16]) -> Vec<u16> {
        x.iter().map(|v| v.to_bits()).collect()
    }

    /// Every row helper at every tier this CPU runs gives the portable
    /// tier's bits (no fused multiply-adds, the same operations in the
    /// same order), on lengths with and without a partial lane group.
    #[test]
    fn row_helpers_give_the_portable_bits_at_every_tier() {
        let portable = Tier::portable();
        for tier in Tier::available() {
            for len in [1, 15, 64, 385, 1500] {
                let x = values(len, len as u64, 8.0);
                let (w, b) = (values(len, 7, 1.5), values(len, 8, 0.5));

                let run = |t: Tier| {
                    let mut bf = vec![half::bf16::ZERO; len];
                    let mut f = vec![0f32; len];
                    let mut out = Vec::new();
                    convert_at(t, &x, &mut bf);
                    out.push(bits(&bf));
                    let mut scores = x.clone();
                    softmax_to_bf16_at(t, &mut scores, &mut bf);
                    out.push(bits(&bf));
                    gelu_to_bf16_at(t, &x, &mut bf);
                    out.push(bits(&bf));
                    layer_norm_to_bf16_at(t, &x, &w, &b, &mut bf);
                    out.push(bits(&bf));
                    let floats = {
                        let mut all = Vec::new();
                        let mut s = x.clone();
                        softmax_at(t, &mut s);
                        all.extend(s);
                        layer_norm_at(t, &x, &w, &b, &mut f);
                        all.extend(&f);
                        let mut g = x.clone();
                        gelu_at(t, &mut g);
                        all.extend(g);
                        all.push(maximum_at(t, &x));
                        all.push(log_sum_exp_at(t, &x));
                        all
                    };
                    (out, floats.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                };
                assert_eq!(run(tier), run(portable), "{tier}, {len} values");
            }
        }
    }

    #[test]
    fn row_helpers_compute_what_they_say() {
        let x = values(385, 3, 6.0);
        let mut s = x.clone();
        softmax(&mut s);
        let top = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let total: f64 = x.iter().map(|&v| f64::from(v - top).exp()).sum();
        for (&v, &p) in x.iter().zip(&s) {
            let want = f64::from(v - top).exp() / total;
            assert!((f64::from(p) - want).abs() < 1e-6, "{p} vs {want}");
        }
        assert_eq!(maximum(&x), top);
        let lse = log_sum_exp(&x);
        assert!((f64::from(lse) - (total.ln() + f64::from(top))).abs() < 1e-4);
        assert_eq!(log_sum_exp(&[f32::NEG_INFINITY; 3]), f32::NEG_INFINITY);
        let (w, b) = (vec![1f32; 385], vec![0f32; 385]);
        let mut normed = vec![0f32; 385];
        layer_norm(&x, &w, &b, &mut normed);
        let mean: f32 = normed.iter().sum::<f32>() / 385.0;
        let var: f32 = normed.iter().map(|v| v * v).sum::<f32>() / 385.0;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3,
            "{mean} {var}"
        );
    }

    /// The decoder's attention steps at every tier against a plain
    /// softmax-weighted sum in f64.
    #[test]
    fn attention_steps_match_a_plain_softmax_at_every_tier() {
        let (len, stride) = (37, HEAD + 3);
        let q = values(HEAD, 1, 0.3);
        let keys = values(len * stride, 2, 1.0);
        let vals = values(len * stride, 3, 1.0);
        let want =
            |key: &dyn Fn(usize, usize) -> f32, value: &dyn Fn(usize, usize) -> f32, n: usize| {
                let scores: Vec<f64> = (0..n)
                    .map(|p| {
                        (0..HEAD)
                            .map(|j| f64::from(q[j]) * f64::from(key(p, j)))
                            .sum()
                    })
                    .collect();
                let top = scores.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                let total: f64 = scores.iter().map(|s| (s - top).exp()).sum();
                (0..HEAD)
                    .map(|j| {
                        (0..n)
                            .map(|p| (scores[p] - top).exp() / total * f64::from(value(p, j)))
                            .sum::<f64>()
                    })
                    .collect::<Vec<f64>>()
            };
        let cached = want(
            &|p, j| keys[p * stride + j],
            &|p, j| vals[p * stride + j],
            len,
        );
        let audio = 150;
        let audio_keys = values(audio * HEAD, 4, 1.0);
        let panels = key_panels(&audio_keys, 1, audio);
        let audio_values: Vec<half::bf16> = values(audio * HEAD, 5, 1.0)
            .iter()
            .map(|&v| crate::cpu::amx::to_bf16(v))
            .collect();
        let rounded = |v: f32| widen(crate::cpu::amx::to_bf16(v));
        let crossed = want(
            &|p, j| rounded(audio_keys[p * HEAD + j]),
            &|p, j| widen(audio_values[p * HEAD + j]),
            audio,
        );
        for tier in Tier::available() {
            let mut scores = vec![0f32; audio];
            let mut out = vec![0f32; HEAD];
            attend_cached_at(tier, &q, &keys, &vals, stride, len, &mut scores, &mut out);
            for (o, w) in out.iter().zip(&cached) {
                assert!(
                    (f64::from(*o) - w).abs() < 1e-5,
                    "{tier} cached: {o} vs {w}"
                );
            }
            attend_panels_at(
                tier,
                &q,
                &panels,
                &audio_values,
                audio,
                &mut scores,
                &mut out,
            );
            for (o, w) in out.iter().zip(&crossed) {
                assert!(
                    (f64::from(*o) - w).abs() < 1e-5,
                    "{tier} panels: {o} vs {w}"
                );
            }
        }
    }
}
