//! int8 weight × input products, Whisper's int8 decoder's hot path
//! (`crate::whisper::int8` owns the weights): the weight packed once in
//! [`Int8Weight`]'s layout, the inputs quantized per call into two planes
//! ([`Int8Inputs`]). The integer sums are exact on every path, and the one
//! float step after them ([`dequantize`]) is the same everywhere, so every
//! tier gives the same bits:
//! - avx512 with VNNI: `VPDPBUSD`, sixteen rows' sums a register;
//! - avx2 (and avx512 without VNNI): `VPMADDUBSW` on `|x|` and the
//!   weights signed by `x` (no saturation, both in -127..=127), then
//!   `VPMADDWD` into i32;
//! - neon: widening `SMULL` and pairwise `SADALP` into i32 (`SDOT` needs a
//!   nightly intrinsic or assembly: a next step);
//! - portable: plain loops.
#![cfg_attr(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    expect(
        unsafe_code,
        reason = "the kernels use intrinsics, called after a Tier proved the CPU has them"
    )
)]

use rayon::prelude::*;

use super::Tier;
use super::kernel;
use super::rows::lane_max;

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
/// [`INT8_INPUT_OFFSET`], and an optional bias (all padded alike). Every
/// value is in -127..=127 (never -128): the AVX2 kernel negates weights
/// by the input's sign, and -128 has no negation in a byte.
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
        Self::quantize_at(super::tier(), x, n, cols)
    }

    /// [`Self::quantize`] at `tier`.
    pub fn quantize_at(tier: Tier, x: &[f32], n: usize, cols: usize) -> Self {
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
            quantize_row_at(tier, row, high, low, scales);
        });
        Self {
            values,
            scales,
            groups,
        }
    }
}

kernel!(
    /// One row of [`Int8Inputs`]: its two planes and their two scales.
    quantize_row / quantize_row_at, quantize_planes, (row: &[f32], high: &mut [u8], low: &mut [u8], scales: &mut [f32])
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

/// One output from its two planes' integer sums (of the signed inputs:
/// the offset already out): the same float operations on every path
/// (multiplies, then adds: never fused), so every CPU gives the same bits.
#[inline(always)]
fn dequantize(sums: [i32; 2], scales: [f32; 2], row_scale: f32, bias: f32) -> f32 {
    let high = sums[0] as f32 * (scales[0] * row_scale);
    let low = sums[1] as f32 * (scales[1] * row_scale);
    (high + low) + bias
}

/// Input `input`'s outputs of block `block` into `out` (the block's
/// [`INT8_BLOCK`] outputs): its two planes' sums per row with the weight's
/// offsets already out, dequantized: the last step of the portable, AVX2
/// and NEON paths (the VNNI one does the same operations in registers).
#[inline(always)]
fn write_block(
    weight: &Int8Weight<'_>,
    inputs: &Int8Inputs,
    input: usize,
    block: usize,
    sums: [&[i32; INT8_BLOCK]; 2],
    out: &mut [f32],
) {
    let scales = [
        inputs.scales[INT8_PLANES * input],
        inputs.scales[INT8_PLANES * input + 1],
    ];
    for (lane, o) in out[..INT8_BLOCK].iter_mut().enumerate() {
        let r = block * INT8_BLOCK + lane;
        *o = dequantize(
            [sums[0][lane], sums[1][lane]],
            scales,
            weight.scales[r],
            weight.bias.map_or(0.0, |b| b[r]),
        );
    }
}

/// The int8 products' inner loop: the blocks of rows from `first` (a
/// multiple of [`INT8_BLOCK`]) times each quantized input row; `out[k]` is
/// input `k`'s outputs for those rows (a whole number of blocks, all of
/// equal length), scaled, plus bias; at the tier in force.
pub fn int8_rows_times_inputs(
    weight: &Int8Weight<'_>,
    first: usize,
    inputs: &Int8Inputs,
    out: &mut [&mut [f32]],
) {
    int8_rows_times_inputs_at(super::tier(), weight, first, inputs, out);
}

/// [`int8_rows_times_inputs`] at `tier`.
#[cfg_attr(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    expect(
        unsafe_code,
        reason = "calling #[target_feature] kernels after a Tier proved the CPU has them"
    )
)]
pub fn int8_rows_times_inputs_at(
    tier: Tier,
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
    {
        if tier.avx512_vnni() {
            // SAFETY: a tier with AVX-512 VNNI is only made on a CPU with
            // every feature `vnni_blocks` is compiled for; the ranges it
            // reads and writes were checked above.
            unsafe { vnni_blocks(weight, first_block, blocks, inputs, out) };
            return;
        }
        if tier.avx2() {
            // SAFETY: as above, for AVX2 (`avx2_blocks`).
            unsafe { avx2_blocks(weight, first_block, blocks, inputs, out) };
            return;
        }
    }
    #[cfg(target_arch = "aarch64")]
    if tier.isa() == super::Isa::Neon {
        // SAFETY: NEON is part of every AArch64 CPU (and a Neon tier is
        // only made on one); the ranges were checked above.
        unsafe { neon_blocks(weight, first_block, blocks, inputs, out) };
        return;
    }
    let _ = tier;
    portable_blocks(weight, first_block, blocks, inputs, out);
}

/// [`int8_rows_times_inputs`] in plain loops: the offset sums as the
/// VNNI instruction makes them.
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
            let offsets = &weight.offsets[block * INT8_BLOCK..][..INT8_BLOCK];
            for sums in &mut sums {
                for (sum, &offset) in sums.iter_mut().zip(offsets) {
                    *sum -= offset;
                }
            }
            let out = &mut out[(block - first_block) * INT8_BLOCK..];
            write_block(weight, inputs, input, block, [&sums[0], &sums[1]], out);
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

/// [`int8_rows_times_inputs`] with AVX2: per group, the four input bytes
/// (offset removed: `q` in -127..=127) broadcast, `VPMADDUBSW` of `|q|`
/// and the weights with `q`'s sign (pairs of products, at most 2 · 127²,
/// inside i16), `VPMADDWD` by ones into each row's i32 sum. Sixteen rows
/// are two registers; two inputs (four plane rows) at a time share each
/// loaded group.
///
/// # Safety
/// The CPU has AVX2; the ranges were checked by
/// [`int8_rows_times_inputs_at`]; weights are in -127..=127.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_blocks(
    weight: &Int8Weight<'_>,
    first_block: usize,
    blocks: usize,
    inputs: &Int8Inputs,
    out: &mut [&mut [f32]],
) {
    use std::arch::x86_64::{
        __m256i, _mm256_abs_epi8, _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16,
        _mm256_maddubs_epi16, _mm256_set1_epi8, _mm256_set1_epi16, _mm256_set1_epi32,
        _mm256_setzero_si256, _mm256_sign_epi8, _mm256_storeu_si256, _mm256_xor_si256,
    };
    const PLANES: usize = 4;
    let groups = weight.groups;
    let width = INT8_GROUP * groups;
    let block_len = INT8_BLOCK * width;
    let n = out.len();
    // SAFETY: the caller's contract: every group read is inside
    // `weight.values`, every plane row inside `inputs.values`; the results
    // go through slice indexing.
    unsafe {
        let flip = _mm256_set1_epi8(i8::MIN);
        let ones = _mm256_set1_epi16(1);
        for block in first_block..first_block + blocks {
            let w = weight.values.as_ptr().add(block * block_len);
            let mut input = 0;
            while input < n {
                let taken = (n - input).min(PLANES / INT8_PLANES);
                let planes = taken * INT8_PLANES;
                let x = inputs.values.as_ptr().add(INT8_PLANES * input * width);
                let mut sums = [[_mm256_setzero_si256(); 2]; PLANES];
                for group in 0..groups {
                    let at = w.add(group * INT8_BLOCK * INT8_GROUP).cast::<__m256i>();
                    let columns = [_mm256_loadu_si256(at), _mm256_loadu_si256(at.add(1))];
                    for (p, sums) in sums.iter_mut().enumerate().take(planes) {
                        let four = x
                            .add(p * width + group * INT8_GROUP)
                            .cast::<i32>()
                            .read_unaligned();
                        let q = _mm256_xor_si256(_mm256_set1_epi32(four), flip);
                        let magnitude = _mm256_abs_epi8(q);
                        for (sum, &column) in sums.iter_mut().zip(&columns) {
                            let pairs =
                                _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(column, q));
                            *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(pairs, ones));
                        }
                    }
                }
                let mut lanes = [[0i32; INT8_BLOCK]; PLANES];
                for (lanes, sums) in lanes.iter_mut().zip(&sums).take(planes) {
                    _mm256_storeu_si256(lanes.as_mut_ptr().cast(), sums[0]);
                    _mm256_storeu_si256(lanes.as_mut_ptr().add(8).cast(), sums[1]);
                }
                for k in 0..taken {
                    let index = input + k;
                    let out = &mut out[index][(block - first_block) * INT8_BLOCK..];
                    let sums = [&lanes[INT8_PLANES * k], &lanes[INT8_PLANES * k + 1]];
                    write_block(weight, inputs, index, block, sums, out);
                }
                input += taken;
            }
        }
    }
}

/// [`int8_rows_times_inputs`] with NEON: per group, the four input bytes
/// (offset removed) against each register of four rows' weights with a
/// widening multiply into i16 (`SMULL`, at most 127² each) and a pairwise
/// add into i32 (`SADALP`); the two halves of each row's sums meet at the
/// end (`ADDP`).
///
/// # Safety
/// The ranges were checked by [`int8_rows_times_inputs_at`] (NEON is part
/// of every AArch64 CPU).
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn neon_blocks(
    weight: &Int8Weight<'_>,
    first_block: usize,
    blocks: usize,
    inputs: &Int8Inputs,
    out: &mut [&mut [f32]],
) {
    use std::arch::aarch64::{
        int32x4_t, vdupq_n_s8, vdupq_n_s32, veorq_s8, vget_low_s8, vld1q_s8, vmull_high_s8,
        vmull_s8, vpadalq_s16, vpaddq_s32, vreinterpretq_s8_s32, vst1q_s32,
    };
    let groups = weight.groups;
    let width = INT8_GROUP * groups;
    let block_len = INT8_BLOCK * width;
    // SAFETY: the caller's contract: every group read is inside
    // `weight.values`, every plane row inside `inputs.values`; the results
    // go through slice indexing.
    unsafe {
        let flip = vdupq_n_s8(i8::MIN);
        for block in first_block..first_block + blocks {
            let w = weight.values.as_ptr().add(block * block_len);
            for (index, out) in out.iter_mut().enumerate() {
                let mut lanes = [[0i32; INT8_BLOCK]; INT8_PLANES];
                for (plane, lanes) in lanes.iter_mut().enumerate() {
                    let x = inputs
                        .values
                        .as_ptr()
                        .add((INT8_PLANES * index + plane) * width);
                    // Per register of four rows: the pair sums of its first
                    // two rows and of its last two.
                    let mut sums: [[int32x4_t; 2]; 4] = [[vdupq_n_s32(0); 2]; 4];
                    for group in 0..groups {
                        let four = x.add(group * INT8_GROUP).cast::<i32>().read_unaligned();
                        let q = veorq_s8(vreinterpretq_s8_s32(vdupq_n_s32(four)), flip);
                        let q_low = vget_low_s8(q);
                        let at = w.add(group * INT8_BLOCK * INT8_GROUP);
                        for (j, sums) in sums.iter_mut().enumerate() {
                            let rows = vld1q_s8(at.add(16 * j));
                            sums[0] = vpadalq_s16(sums[0], vmull_s8(vget_low_s8(rows), q_low));
                            sums[1] = vpadalq_s16(sums[1], vmull_high_s8(rows, q));
                        }
                    }
                    for (j, sums) in sums.iter().enumerate() {
                        // [r0 c01, r0 c23, r1 c01, r1 c23] and the same of
                        // r2, r3, added pairwise: the four rows' sums.
                        vst1q_s32(lanes[4 * j..].as_mut_ptr(), vpaddq_s32(sums[0], sums[1]));
                    }
                }
                let out = &mut out[(block - first_block) * INT8_BLOCK..];
                write_block(weight, inputs, index, block, [&lanes[0], &lanes[1]], out);
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
    fn int8_products_are_the_integer_sums_at_every_tier() {
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
            let padded = rows.next_multiple_of(INT8_BLOCK);
            let run = |tier: Tier, first: usize| {
                let inputs = Int8Inputs::quantize_at(tier, &x, n, cols);
                let mut out = vec![vec![0f32; padded - first]; n];
                let mut slices: Vec<&mut [f32]> =
                    out.iter_mut().map(|o| o.as_mut_slice()).collect();
                int8_rows_times_inputs_at(tier, &w, first, &inputs, &mut slices);
                out
            };
            let reference = run(Tier::portable(), 0);
            for tier in Tier::available() {
                let fast = run(tier, 0);
                assert_eq!(fast, reference, "{tier}: {n} inputs");
                // And from a later first block, as a parallel task starts.
                let tail = run(tier, 2 * INT8_BLOCK);
                for (tail, fast) in tail.iter().zip(&fast) {
                    assert_eq!(
                        tail[..],
                        fast[2 * INT8_BLOCK..],
                        "{tier}: {n} inputs, from block 2"
                    );
                }
            }
            let fast = reference;
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
