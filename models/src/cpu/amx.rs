//! Matrix products with bf16 inputs and f32 sums, the Whisper encoder's
//! hot path ([`crate::whisper`]'s tile encoder), one kernel per tier:
//! - `amx`: Intel AMX tiles (`TDPBF16PS`, Sapphire Rapids on);
//! - `avx512` with BF16 (Cooper Lake, Sapphire Rapids without the tiles
//!   granted, Zen 4 on): `VDPBF16PS`, the same layouts;
//! - `avx2` (and `avx512` without BF16), and `neon`: each bf16 pair
//!   widened to two f32 (a shift and a mask) and summed with FMA;
//! - at `portable`, plain loops, the tests' reference; there the encoder
//!   stays on Candle's f32 gemm ([`available`]).
//!
//! Why: one AMX instruction multiplies a 16×32 bf16 tile by a 32×16 one
//! into 16×16 f32 sums, 8,192 multiply-adds where an AVX-512 FMA does 16.
//! Without tiles, `VDPBF16PS` does 32 multiply-adds an instruction, twice
//! an f32 FMA's. On AVX2 the arithmetic is f32 FMA's, as in Candle's gemm,
//! but the weights take half the memory, the sums stay in registers, and
//! the encoder around it (attention in blocks, no intermediate tensors)
//! skips the allocations and copies of Candle's graph. Inputs are rounded
//! to bf16 (8 bits of mantissa, f32's range) and every sum is f32, the
//! precision PyTorch's CPU autocast and oneDNN use for bf16 inference.
//!
//! The unsafe parts are the kernels: tile instructions exist only as
//! inline assembly in stable Rust, and Linux hands a process the 8 KiB tile
//! state only after it asks (`arch_prctl(ARCH_REQ_XCOMP_PERM)`); the other
//! two are compiled for AVX-512 BF16 and AVX2 and may run only where the
//! CPU has them. Each runs only at a [`super::Tier`] that has it, and such
//! a tier is only made where the CPU has it (and Linux granted the tiles);
//! every pointer a kernel reads or writes is bounds-checked by their safe
//! wrapper, [`block_product_at`].
//!
//! Layouts:
//! - the left side is bf16 rows ([`Lhs`]), any row stride, 32 rows read at
//!   a time from any starting row;
//! - the right side is packed once ([`PackedRhs`]): panels of 16 columns,
//!   each `[k/2][16][2]`, the pairs of consecutive `k` side by side as
//!   `TDPBF16PS` reads them, zero-padded to multiples of 32;
//! - results are 32×32 f32 blocks written into a caller's buffer.
#![expect(
    unsafe_code,
    reason = "AMX tile instructions exist only as inline assembly; the dot kernel needs a CPU check"
)]

use half::bf16;
use rayon::prelude::*;

/// Rows and columns of one result block: 2×2 tiles of 16×16 sums.
pub const BLOCK: usize = 32;
/// `k` consumed per tile step: 32 bf16 = one 64-byte tile row.
pub const K_STEP: usize = 32;

/// Round `n` up to a multiple of `to`.
pub fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Whether the products here run fast at the tier in force: on AMX tiles,
/// with AVX-512 BF16 dot products or with AVX2 FMA. Elsewhere they run
/// portable loops, a reference for the tests, slower than Candle's f32
/// gemm.
pub fn available() -> bool {
    kernel_name(super::tier()).is_some()
}

/// What computes the products at `tier`, in words for the logs; `None`
/// where only the portable loops do.
pub fn kernel_name(tier: super::Tier) -> Option<&'static str> {
    if tier.tiles() {
        Some("AMX tiles")
    } else {
        pair_kernel(tier).map(|(_, name)| name)
    }
}

/// Ask Linux for the 8 KiB tile state (without it the first tile
/// instruction faults); [`super::features`] asks once, after CPUID said
/// the CPU has tiles.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub(super) fn request_tile_state() -> bool {
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: a plain system call with integer arguments; it only changes
    // which register state the kernel saves for this process.
    let granted = unsafe {
        libc::syscall(
            libc::SYS_arch_prctl,
            ARCH_REQ_XCOMP_PERM,
            XFEATURE_XTILEDATA,
        )
    };
    granted == 0
}

/// f32 → bf16, rounding to nearest even, branch-free so loops of it
/// vectorise (`half`'s conversion checks for NaN per value and does not;
/// it was a third of the encoder's time). Finite values round exactly as
/// `half` rounds them; a NaN stays a NaN unless its payload is in the top
/// bits' carry range, which products of finite inputs never produce.
#[inline(always)]
pub fn to_bf16(x: f32) -> bf16 {
    let bits = x.to_bits();
    let rounding = 0x7FFF + ((bits >> 16) & 1);
    bf16::from_bits((bits.wrapping_add(rounding) >> 16) as u16)
}

/// The left side of a product: `rows × cols` bf16, row-major with a row
/// stride of `stride` (≥ cols, a multiple of [`K_STEP`]), zero in the
/// padding columns, and at least [`BLOCK`] − 1 spare rows of zeros at the
/// end so a block may start at any real row.
#[derive(Debug, Clone)]
pub struct Lhs {
    pub data: Vec<bf16>,
    pub rows: usize,
    pub stride: usize,
}

impl Lhs {
    /// Zeros for `rows` rows of `cols` columns.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        let stride = round_up(cols.max(1), K_STEP);
        Self {
            data: vec![bf16::ZERO; (rows + BLOCK) * stride],
            rows,
            stride,
        }
    }

    /// `x` (`rows × cols` f32, row-major) rounded to bf16.
    pub fn from_f32(x: &[f32], rows: usize, cols: usize) -> Self {
        Self::from_rows(x, cols, rows, cols, crate::cpu::rows::convert)
    }

    /// `rows` rows of `cols` bf16 made by `f` from the first `cols` values
    /// of each row of `x` (rows `x_stride` apart), in parallel.
    pub fn from_rows(
        x: &[f32],
        x_stride: usize,
        rows: usize,
        cols: usize,
        f: impl Fn(&[f32], &mut [bf16]) + Sync,
    ) -> Self {
        let mut lhs = Self::zeros(rows, cols);
        let stride = lhs.stride;
        lhs.data
            .par_chunks_mut(stride)
            .zip(x.par_chunks(x_stride.max(1)))
            .for_each(|(out, row)| f(&row[..cols], out));
        lhs
    }

    /// Row `r`, all `stride` columns.
    pub fn row_mut(&mut self, r: usize) -> &mut [bf16] {
        let s = self.stride;
        &mut self.data[r * s..(r + 1) * s]
    }
}

/// The right side `[k, n]` of products, packed for the tiles (module docs).
#[derive(Debug, Clone)]
pub struct PackedRhs {
    data: Vec<bf16>,
    /// `k` padded to a multiple of [`K_STEP`].
    k_padded: usize,
    /// Real columns.
    n: usize,
}

impl PackedRhs {
    /// Zeros for `[k, n]`, each panel of 16 columns filled by
    /// `fill(panel, out)`.
    fn packed(k: usize, n: usize, fill: impl Fn(usize, &mut [bf16]) + Sync) -> Self {
        let k_padded = round_up(k.max(1), K_STEP);
        let n_padded = round_up(n.max(1), BLOCK);
        let mut data = vec![bf16::ZERO; n_padded * k_padded];
        data.par_chunks_mut(k_padded * 16)
            .enumerate()
            .for_each(|(panel, out)| fill(panel, out));
        Self { data, k_padded, n }
    }

    /// `[k, n]` whose column `j` is `columns[j * stride..][..k]`: a linear
    /// layer's `[out, in]` weight (for `x · Wᵀ`), or attention keys by
    /// position (for `Q · Kᵀ`).
    pub fn from_columns(columns: &[f32], stride: usize, k: usize, n: usize) -> Self {
        Self::packed(k, n, |panel, out| {
            for c in 0..16.min(n.saturating_sub(panel * 16)) {
                let j = panel * 16 + c;
                let column = &columns[j * stride..j * stride + k];
                // Element i of the column goes to pair i/2, slot c, half i%2.
                for (pair, two) in column.chunks(2).enumerate() {
                    for (e, &v) in two.iter().enumerate() {
                        out[pair * 32 + c * 2 + e] = to_bf16(v);
                    }
                }
            }
        })
    }

    /// `[k, n]` whose row `i` is `rows[i * stride..][..n]`: attention
    /// values by position (for `P · V`).
    pub fn from_rows(rows: &[f32], stride: usize, k: usize, n: usize) -> Self {
        Self::packed(k, n, |panel, out| {
            let first = panel * 16;
            let width = 16.min(n.saturating_sub(first));
            for i in 0..k {
                let row = &rows[i * stride + first..i * stride + first + width];
                // Rows i and i+1 interleave: pair i/2, half i%2.
                let slots = &mut out[(i / 2) * 32 + i % 2..];
                for (c, &v) in row.iter().enumerate() {
                    slots[c * 2] = to_bf16(v);
                }
            }
        })
    }

    /// A linear layer's weight `[n, k]` (`[out, in]`, row-major), for `x · Wᵀ`.
    pub fn from_out_in(weight: &[f32], n: usize, k: usize) -> Self {
        Self::from_columns(weight, k, k, n)
    }

    /// Real columns.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Padded `k`: the left side's columns must be at least this many.
    pub fn k_padded(&self) -> usize {
        self.k_padded
    }

    /// Result blocks of [`BLOCK`] columns.
    pub fn column_blocks(&self) -> usize {
        self.n.div_ceil(BLOCK)
    }
}

/// The tile configuration: every tile 16 rows of 64 bytes (palette 1).
#[cfg(target_arch = "x86_64")]
#[repr(C, align(64))]
struct TileConfig {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    bytes_per_row: [u16; 16],
    rows: [u8; 16],
}

#[cfg(target_arch = "x86_64")]
const TILE_CONFIG: TileConfig = TileConfig {
    palette: 1,
    start_row: 0,
    reserved: [0; 14],
    bytes_per_row: [64, 64, 64, 64, 64, 64, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0],
    rows: [16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0],
};

/// One 32×32 block of `A · B`: rows `row..row + 32` of `a` (from column
/// `col`, `b.k_padded()` columns) times column block `block` of `b`,
/// written to `out` (32 rows of 32 at a row stride of `out_stride` f32),
/// replacing what was there; at the tier in force.
///
/// Panics (a caller's indexing bug, never input-dependent) when a range is
/// out of bounds.
pub fn block_product(
    a: &Lhs,
    row: usize,
    col: usize,
    b: &PackedRhs,
    block: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    block_product_at(super::tier(), a, row, col, b, block, out, out_stride);
}

/// [`block_product`] at `tier`: on tiles, with `VDPBF16PS`, with AVX2 FMA,
/// or in portable loops, which sum in another order (the tests' reference).
#[expect(
    clippy::too_many_arguments,
    reason = "block_product's arguments and the tier"
)]
pub fn block_product_at(
    tier: super::Tier,
    a: &Lhs,
    row: usize,
    col: usize,
    b: &PackedRhs,
    block: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    let k = b.k_padded;
    let a_last = (row + BLOCK - 1) * a.stride + col + k;
    assert!(
        col + k <= a.stride && a_last <= a.data.len(),
        "AMX block out of range"
    );
    assert!(
        (block + 1) * BLOCK * k <= b.data.len(),
        "AMX block column out of range"
    );
    assert!(
        out_stride >= BLOCK && (BLOCK - 1) * out_stride + BLOCK <= out.len(),
        "AMX result out of range"
    );
    let panel = k * 16;
    let a_rows = &a.data[row * a.stride + col..];
    let panels = [
        &b.data[block * 2 * panel..][..panel],
        &b.data[(block * 2 + 1) * panel..][..panel],
    ];
    if tier.tiles() {
        // SAFETY: checked above: the two 16-row tiles of `a` read rows
        // row..row+32, columns col..col+k; the two panels read
        // [block*2*panel, (block*2+2)*panel); the four stores write 32 rows
        // of 32 floats at out_stride. A tier with tiles is only made where
        // Linux granted this process the tile state.
        unsafe {
            kernel(
                a_rows.as_ptr(),
                a.stride * 2,
                panels[0].as_ptr(),
                panels[1].as_ptr(),
                k / K_STEP,
                out.as_mut_ptr(),
                out_stride * 4,
            );
        }
    } else if let Some((pair_kernel, _)) = pair_kernel(tier) {
        // SAFETY: as for the tiles, the same ranges (checked above);
        // `pair_kernel` only names a kernel compiled for features this
        // tier has, and a tier is only made on a CPU that has them.
        unsafe {
            pair_kernel(
                a_rows.as_ptr(),
                a.stride,
                panels[0].as_ptr(),
                panels[1].as_ptr(),
                k / 2,
                out.as_mut_ptr(),
                out_stride,
            );
        }
    } else {
        super::with_simd_at(tier, || {
            portable_kernel(a_rows, a.stride, panels, k / 2, out, out_stride)
        });
    }
}

/// The kernels that read the packed panels' rows of pairs directly,
/// [`dot_kernel`], [`avx2_kernel`] and [`neon_kernel`]: `a` and its row
/// stride, the two panels, the pairs of `k`, the result and its row stride
/// (each kernel's safety contract says what must hold).
type PairKernel = unsafe fn(*const bf16, usize, *const bf16, *const bf16, usize, *mut f32, usize);

/// The pair kernel of `tier` and its name for the logs, where it has one
/// (the tiles have their own kernel): the one place that picks it, for
/// [`block_product_at`] and [`kernel_name`].
fn pair_kernel(tier: super::Tier) -> Option<(PairKernel, &'static str)> {
    #[cfg(target_arch = "x86_64")]
    {
        if tier.avx512_bf16() {
            return Some((dot_kernel, "AVX-512 BF16 dot products"));
        }
        if tier.avx2() {
            return Some((avx2_kernel, "AVX2 FMA on bf16 widened to f32"));
        }
    }
    #[cfg(target_arch = "aarch64")]
    if tier.isa() == super::Isa::Neon {
        return Some((neon_kernel, "NEON FMA on bf16 widened to f32"));
    }
    let _ = tier;
    None
}

/// [`block_product`] in plain loops over the same layouts: each left
/// pair times the panels' pair rows, summed in f32.
#[inline(always)]
fn portable_kernel(
    a: &[bf16],
    a_stride: usize,
    panels: [&[bf16]; 2],
    pairs: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    for r in 0..BLOCK {
        let left = &a[r * a_stride..][..2 * pairs];
        let mut sums = [0f32; BLOCK];
        for (half, panel) in panels.iter().enumerate() {
            let sums = &mut sums[half * 16..][..16];
            for (p, pair) in left.chunks_exact(2).enumerate() {
                let (x0, x1) = (super::rows::widen(pair[0]), super::rows::widen(pair[1]));
                let row = &panel[p * 32..][..32];
                for (sum, w) in sums.iter_mut().zip(row.chunks_exact(2)) {
                    *sum += x0 * super::rows::widen(w[0]) + x1 * super::rows::widen(w[1]);
                }
            }
        }
        out[r * out_stride..][..BLOCK].copy_from_slice(&sums);
    }
}

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// Whether this thread has loaded [`TILE_CONFIG`]. Loading it (and
    /// releasing the tiles after) on every block cost as much as the
    /// attention products themselves, which are 2 tile steps deep; the
    /// configuration is per thread and survives context switches, and
    /// nothing else in the process configures tiles.
    static CONFIGURED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `C[32×32] = A[32×k] · B[k×32]` on tiles: C in tmm0–3, A in tmm4–5, B in
/// tmm6–7. Loads the tile configuration on a thread's first call.
///
/// # Safety
/// AMX permitted for the process; `a` readable for 32 rows of `steps × 64`
/// bytes at `a_stride` bytes apart; `b0`, `b1` readable for `steps × 1024`
/// bytes; `c` writable for 32 rows of 128 bytes at `c_stride` bytes apart;
/// `steps ≥ 1`.
#[cfg(target_arch = "x86_64")]
#[inline(never)]
unsafe fn kernel(
    a: *const bf16,
    a_stride: usize,
    b0: *const bf16,
    b1: *const bf16,
    steps: usize,
    c: *mut f32,
    c_stride: usize,
) {
    // SAFETY: the caller's contract (above).
    unsafe {
        if !CONFIGURED.get() {
            std::arch::asm!(
                "ldtilecfg [{cfg}]",
                cfg = in(reg) &TILE_CONFIG,
                options(nostack, readonly),
            );
            CONFIGURED.set(true);
        }
        let a_lower = a.byte_add(16 * a_stride);
        let c_lower = c.byte_add(16 * c_stride);
        std::arch::asm!(
            "tilezero tmm0",
            "tilezero tmm1",
            "tilezero tmm2",
            "tilezero tmm3",
            "2:",
            "tileloadd tmm4, [{a} + {a_stride}*1]",
            "tileloadd tmm5, [{a_lower} + {a_stride}*1]",
            "tileloadd tmm6, [{b0} + {b_stride}*1]",
            "tileloadd tmm7, [{b1} + {b_stride}*1]",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tdpbf16ps tmm1, tmm4, tmm7",
            "tdpbf16ps tmm2, tmm5, tmm6",
            "tdpbf16ps tmm3, tmm5, tmm7",
            "add {a}, 64",
            "add {a_lower}, 64",
            "add {b0}, 1024",
            "add {b1}, 1024",
            "dec {steps}",
            "jnz 2b",
            "tilestored [{c} + {c_stride}*1], tmm0",
            "tilestored [{c} + {c_stride}*1 + 64], tmm1",
            "tilestored [{c_lower} + {c_stride}*1], tmm2",
            "tilestored [{c_lower} + {c_stride}*1 + 64], tmm3",
            a = inout(reg) a => _,
            a_lower = inout(reg) a_lower => _,
            b0 = inout(reg) b0 => _,
            b1 = inout(reg) b1 => _,
            steps = inout(reg) steps => _,
            a_stride = in(reg) a_stride,
            b_stride = in(reg) 64usize,
            c = in(reg) c,
            c_lower = in(reg) c_lower,
            c_stride = in(reg) c_stride,
            options(nostack),
        );
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn kernel(
    _a: *const bf16,
    _a_stride: usize,
    _b0: *const bf16,
    _b1: *const bf16,
    _steps: usize,
    _c: *mut f32,
    _c_stride: usize,
) {
    unreachable!("no tier has tiles or AVX-512 off x86-64")
}

/// Rows of a block summed at once by [`dot_kernel`]: 8 rows × 2 panels is
/// 16 registers of sums, beside the 2 of the panels and the broadcasts.
#[cfg(target_arch = "x86_64")]
const DOT_ROWS: usize = 8;

/// `C[32×32] = A[32×k] · B[k×32]` with `VDPBF16PS`, for CPUs without
/// tiles: the packed panels' rows of 16 pairs are exactly the instruction's
/// right operand, and each pair of one left row is broadcast to all lanes.
///
/// # Safety
/// The CPU has AVX-512 F/BW/VL/DQ, FMA and BF16; `a` readable for 32 rows
/// of `pairs × 2` bf16 at `a_stride` bf16 apart; `b0`, `b1` readable for
/// `pairs × 32` bf16; `c` writable for 32 rows of 32 f32 at `c_stride` f32
/// apart.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma,avx512bf16")]
unsafe fn dot_kernel(
    a: *const bf16,
    a_stride: usize,
    b0: *const bf16,
    b1: *const bf16,
    pairs: usize,
    c: *mut f32,
    c_stride: usize,
) {
    use std::arch::x86_64::{
        __m512, __m512bh, _mm512_dpbf16_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_storeu_ps,
    };
    // SAFETY: the caller's contract (above); every offset below stays in
    // the ranges it names. A pair of bf16 is read as the f32 whose bits it
    // is (x86 is little-endian: the first of the pair in the low half, as
    // the instruction pairs them); the panels' 64-byte rows are read as
    // 16 such pairs.
    unsafe {
        let as_pairs = |v: __m512| std::mem::transmute::<__m512, __m512bh>(v);
        for group in 0..BLOCK / DOT_ROWS {
            let mut sums = [[_mm512_setzero_ps(); 2]; DOT_ROWS];
            let first = a.add(group * DOT_ROWS * a_stride);
            for p in 0..pairs {
                let w0 = as_pairs(_mm512_loadu_ps(b0.add(p * 32).cast()));
                let w1 = as_pairs(_mm512_loadu_ps(b1.add(p * 32).cast()));
                for (r, sums) in sums.iter_mut().enumerate() {
                    let pair = first
                        .add(r * a_stride + 2 * p)
                        .cast::<f32>()
                        .read_unaligned();
                    let x = as_pairs(_mm512_set1_ps(pair));
                    sums[0] = _mm512_dpbf16_ps(sums[0], x, w0);
                    sums[1] = _mm512_dpbf16_ps(sums[1], x, w1);
                }
            }
            for (r, sums) in sums.iter().enumerate() {
                let row = c.add((group * DOT_ROWS + r) * c_stride);
                _mm512_storeu_ps(row, sums[0]);
                _mm512_storeu_ps(row.add(16), sums[1]);
            }
        }
    }
}

/// Rows of a block summed at once by [`avx2_kernel`] and [`neon_kernel`]:
/// on AVX2, 4 rows × 2 registers of 8 columns is 8 registers of sums,
/// beside the 4 of one panel row's pairs widened and the 2 broadcasts (it
/// has 16); on NEON, 4 × 4 registers of 4 columns and 8 widened (of 32).
const STRIP_ROWS: usize = 4;

/// Pairs of `k` of [`STRIP_ROWS`] left rows widened to f32 at a time by
/// [`avx2_kernel`] and [`neon_kernel`], on their stack (8 KiB, within L1).
const STRIP_PAIRS: usize = 256;

/// Widen pairs `first..first + chunk` of the [`STRIP_ROWS`] left rows from
/// `rows` (`a_stride` apart) into `left`, row `r` at `r × 2 ×`
/// [`STRIP_PAIRS`].
///
/// # Safety
/// `rows` is readable for [`STRIP_ROWS`] rows of `2 × (first + chunk)`
/// bf16 at `a_stride` apart; `chunk` ≤ [`STRIP_PAIRS`].
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    expect(dead_code, reason = "only the x86-64 and AArch64 kernels widen strips")
)]
#[inline(always)]
unsafe fn widen_strip(
    rows: *const bf16,
    a_stride: usize,
    first: usize,
    chunk: usize,
    left: &mut [f32; STRIP_ROWS * 2 * STRIP_PAIRS],
) {
    for (r, left) in left.chunks_exact_mut(2 * STRIP_PAIRS).enumerate() {
        // SAFETY: the caller's contract: row `r`'s values
        // `2·first..2·(first + chunk)` are readable.
        let row =
            unsafe { std::slice::from_raw_parts(rows.add(r * a_stride + 2 * first), 2 * chunk) };
        for (v, &x) in left.iter_mut().zip(row) {
            *v = super::rows::widen(x);
        }
    }
}

/// `C[32×32] = A[32×k] · B[k×32]` with AVX2 FMA, for CPUs without bf16
/// dot products. A panel row's 16 pairs are two registers; each pair, read
/// as one 32-bit lane, widens to its first value by a shift left of 16
/// bits and to its second by masking the low 16 off, so the weights cost
/// two cheap integer operations a register and stay half the memory of
/// f32. The left rows are widened once per strip into a stack buffer, so
/// each of their values is one broadcast load.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` readable for 32 rows of `pairs × 2` bf16
/// at `a_stride` bf16 apart; `b0`, `b1` readable for `pairs × 32` bf16;
/// `c` writable for 32 rows of 32 f32 at `c_stride` f32 apart.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_kernel(
    a: *const bf16,
    a_stride: usize,
    b0: *const bf16,
    b1: *const bf16,
    pairs: usize,
    c: *mut f32,
    c_stride: usize,
) {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_broadcast_ss, _mm256_castsi256_ps, _mm256_fmadd_ps,
        _mm256_loadu_si256, _mm256_set1_epi32, _mm256_setzero_ps, _mm256_slli_epi32,
        _mm256_storeu_ps,
    };
    let mut left = [0f32; STRIP_ROWS * 2 * STRIP_PAIRS];
    // SAFETY: the caller's contract (above); every offset below stays in
    // the ranges it names: strips cover rows 0..32, chunks pairs 0..pairs,
    // and `left` is indexed below `STRIP_ROWS × 2 × STRIP_PAIRS`.
    unsafe {
        let high = _mm256_set1_epi32(0xFFFF_0000_u32 as i32);
        for strip in 0..BLOCK / STRIP_ROWS {
            let rows = a.add(strip * STRIP_ROWS * a_stride);
            for (half, panel) in [b0, b1].into_iter().enumerate() {
                let mut sums = [[_mm256_setzero_ps(); 2]; STRIP_ROWS];
                let mut first = 0;
                while first < pairs {
                    let chunk = (pairs - first).min(STRIP_PAIRS);
                    widen_strip(rows, a_stride, first, chunk, &mut left);
                    for p in 0..chunk {
                        let w = panel.add((first + p) * 32).cast::<__m256i>();
                        let (low, upper) = (_mm256_loadu_si256(w), _mm256_loadu_si256(w.add(1)));
                        let even = [
                            _mm256_castsi256_ps(_mm256_slli_epi32(low, 16)),
                            _mm256_castsi256_ps(_mm256_slli_epi32(upper, 16)),
                        ];
                        let odd = [
                            _mm256_castsi256_ps(_mm256_and_si256(low, high)),
                            _mm256_castsi256_ps(_mm256_and_si256(upper, high)),
                        ];
                        for (r, sums) in sums.iter_mut().enumerate() {
                            let x = left.as_ptr().add(r * 2 * STRIP_PAIRS + 2 * p);
                            let (x0, x1) =
                                (_mm256_broadcast_ss(&*x), _mm256_broadcast_ss(&*x.add(1)));
                            for (j, sum) in sums.iter_mut().enumerate() {
                                *sum = _mm256_fmadd_ps(x0, even[j], *sum);
                                *sum = _mm256_fmadd_ps(x1, odd[j], *sum);
                            }
                        }
                    }
                    first += chunk;
                }
                for (r, sums) in sums.iter().enumerate() {
                    let out = c.add((strip * STRIP_ROWS + r) * c_stride + half * 16);
                    _mm256_storeu_ps(out, sums[0]);
                    _mm256_storeu_ps(out.add(8), sums[1]);
                }
            }
        }
    }
}

/// `C[32×32] = A[32×k] · B[k×32]` with NEON FMA: [`avx2_kernel`]'s
/// method in 128-bit registers (a panel row's 16 pairs are four), for every
/// AArch64 CPU (none has bf16 dot products in stable Rust yet).
///
/// # Safety
/// As [`avx2_kernel`]'s, on an AArch64 CPU (every one has NEON).
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn neon_kernel(
    a: *const bf16,
    a_stride: usize,
    b0: *const bf16,
    b1: *const bf16,
    pairs: usize,
    c: *mut f32,
    c_stride: usize,
) {
    use std::arch::aarch64::{
        float32x4_t, vandq_u32, vdupq_n_f32, vdupq_n_u32, vfmaq_n_f32, vld1q_u32,
        vreinterpretq_f32_u32, vshlq_n_u32, vst1q_f32,
    };
    let mut left = [0f32; STRIP_ROWS * 2 * STRIP_PAIRS];
    // SAFETY: as in `avx2_kernel`: the caller's contract, and offsets
    // within the ranges it names.
    unsafe {
        let high = vdupq_n_u32(0xFFFF_0000);
        for strip in 0..BLOCK / STRIP_ROWS {
            let rows = a.add(strip * STRIP_ROWS * a_stride);
            for (half, panel) in [b0, b1].into_iter().enumerate() {
                let mut sums: [[float32x4_t; 4]; STRIP_ROWS] = [[vdupq_n_f32(0.0); 4]; STRIP_ROWS];
                let mut first = 0;
                while first < pairs {
                    let chunk = (pairs - first).min(STRIP_PAIRS);
                    widen_strip(rows, a_stride, first, chunk, &mut left);
                    for p in 0..chunk {
                        let w = panel.add((first + p) * 32).cast::<u32>();
                        let mut even = [vdupq_n_f32(0.0); 4];
                        let mut odd = [vdupq_n_f32(0.0); 4];
                        for j in 0..4 {
                            let pairs = vld1q_u32(w.add(4 * j));
                            even[j] = vreinterpretq_f32_u32(vshlq_n_u32::<16>(pairs));
                            odd[j] = vreinterpretq_f32_u32(vandq_u32(pairs, high));
                        }
                        for (r, sums) in sums.iter_mut().enumerate() {
                            let x = left.as_ptr().add(r * 2 * STRIP_PAIRS + 2 * p);
                            let (x0, x1) = (*x, *x.add(1));
                            for (j, sum) in sums.iter_mut().enumerate() {
                                *sum = vfmaq_n_f32(*sum, even[j], x0);
                                *sum = vfmaq_n_f32(*sum, odd[j], x1);
                            }
                        }
                    }
                    first += chunk;
                }
                for (r, sums) in sums.iter().enumerate() {
                    let out = c.add((strip * STRIP_ROWS + r) * c_stride + half * 16);
                    for (j, sum) in sums.iter().enumerate() {
                        vst1q_f32(out.add(4 * j), *sum);
                    }
                }
            }
        }
    }
}

/// `A · B (+ bias)` for the first `a.rows` rows: `[a.rows, b.n()]` f32,
/// row-major, at the tier in force. Row blocks run in parallel.
pub fn product(a: &Lhs, b: &PackedRhs, bias: Option<&[f32]>) -> Vec<f32> {
    product_at(super::tier(), a, b, bias)
}

/// [`product`] at `tier`.
pub fn product_at(tier: super::Tier, a: &Lhs, b: &PackedRhs, bias: Option<&[f32]>) -> Vec<f32> {
    let n = b.n;
    let stride = round_up(n, BLOCK);
    let padded_rows = round_up(a.rows.max(1), BLOCK);
    let mut out = vec![0f32; padded_rows * stride];
    out.par_chunks_mut(BLOCK * stride)
        .enumerate()
        .for_each(|(i, rows)| {
            for block in 0..b.column_blocks() {
                block_product_at(
                    tier,
                    a,
                    i * BLOCK,
                    0,
                    b,
                    block,
                    &mut rows[block * BLOCK..],
                    stride,
                );
            }
            if let Some(bias) = bias {
                for row in rows.chunks_mut(stride) {
                    for (v, b) in row.iter_mut().zip(bias) {
                        *v += b;
                    }
                }
            }
        });
    out.truncate(a.rows * stride);
    if stride != n {
        out = out
            .chunks(stride)
            .flat_map(|row| row[..n].iter().copied())
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random matrix with values in [-2, 2).
    fn matrix(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..rows * cols)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
            })
            .collect()
    }

    fn round(x: &[f32]) -> Vec<f32> {
        x.iter().map(|&v| to_bf16(v).to_f32()).collect()
    }

    #[test]
    fn conversion_rounds_as_half_does() {
        let mut values = matrix(1, 10_000, 9);
        values.extend([0.0, -0.0, 1.0, f32::MAX, f32::MIN_POSITIVE, 1e-40, -3.0e38]);
        // Ties: exactly halfway between two bf16 values, both parities.
        values.extend([f32::from_bits(0x3F80_8000), f32::from_bits(0x3F81_8000)]);
        for v in values {
            assert_eq!(to_bf16(v).to_bits(), bf16::from_f32(v).to_bits(), "{v:e}");
        }
        assert!(to_bf16(f32::NAN).is_nan());
    }

    #[test]
    fn products_equal_the_bf16_rounded_inputs_product_at_every_tier() {
        // Shapes with every kind of padding: rows, k and n off the grid;
        // and a k deeper than the AVX2 kernel widens at a time.
        let shapes = [
            (1, 1, 1),
            (37, 70, 45),
            (64, 64, 64),
            (100, 384, 96),
            (33, 1100, 40),
        ];
        for tier in crate::cpu::Tier::available() {
            for &(m, k, n) in &shapes {
                let x = matrix(m, k, 1);
                let w = matrix(n, k, 2);
                let bias = matrix(1, n, 3);
                let got = product_at(
                    tier,
                    &Lhs::from_f32(&x, m, k),
                    &PackedRhs::from_out_in(&w, n, k),
                    Some(&bias),
                );
                assert_eq!(got.len(), m * n);
                let (xr, wr) = (round(&x), round(&w));
                for i in 0..m {
                    for j in 0..n {
                        let want: f64 = (0..k)
                            .map(|t| f64::from(xr[i * k + t]) * f64::from(wr[j * k + t]))
                            .sum::<f64>()
                            + f64::from(bias[j]);
                        let diff = (f64::from(got[i * n + j]) - want).abs();
                        assert!(
                            diff < 1e-4 * (k as f64).sqrt() * 4.0,
                            "{tier}: ({m},{k},{n}) [{i},{j}]: {diff}"
                        );
                    }
                }
            }
        }
    }

    /// Element `(i, j)` of a packed `[k, n]`, by the layout's rule.
    fn packed_at(b: &PackedRhs, i: usize, j: usize) -> f32 {
        let panel = j / 16;
        b.data[panel * b.k_padded * 16 + (i / 2) * 32 + (j % 16) * 2 + i % 2].to_f32()
    }

    #[test]
    fn packers_place_every_element_and_zero_the_padding() {
        // Strided sources with odd k and n: keys by position (columns) and
        // values by position (rows), as the encoder's attention packs them.
        let (k, n, stride) = (37, 45, 50);
        let source = matrix(64, stride, 6);
        let by_columns = PackedRhs::from_columns(&source, stride, k, n);
        let by_rows = PackedRhs::from_rows(&source, stride, k, n);
        for b in [&by_columns, &by_rows] {
            assert_eq!((b.k_padded(), b.n()), (64, n));
            assert_eq!(b.data.len(), 64 * 64);
        }
        for i in 0..64 {
            for j in 0..64 {
                let real = i < k && j < n;
                let column = if real {
                    to_bf16(source[j * stride + i]).to_f32()
                } else {
                    0.0
                };
                let row = if real {
                    to_bf16(source[i * stride + j]).to_f32()
                } else {
                    0.0
                };
                assert_eq!(packed_at(&by_columns, i, j), column, "columns ({i},{j})");
                assert_eq!(packed_at(&by_rows, i, j), row, "rows ({i},{j})");
            }
        }
    }

    #[test]
    fn a_block_may_start_at_any_row_and_column_at_every_tier() {
        for tier in crate::cpu::Tier::available() {
            let (m, cols, k, n) = (50, 96, 32, 32);
            let x = matrix(m, cols, 4);
            let lhs = Lhs::from_f32(&x, m, cols);
            let w = matrix(n, k, 5);
            let rhs = PackedRhs::from_out_in(&w, n, k);
            let mut out = vec![0f32; 32 * 40];
            block_product_at(tier, &lhs, 7, 64, &rhs, 0, &mut out, 40);
            let (xr, wr) = (round(&x), round(&w));
            for i in 0..32 {
                for j in 0..32 {
                    let r = 7 + i;
                    let want: f64 = if r < m {
                        (0..k)
                            .map(|t| f64::from(xr[r * cols + 64 + t]) * f64::from(wr[j * k + t]))
                            .sum()
                    } else {
                        0.0
                    };
                    assert!(
                        (f64::from(out[i * 40 + j]) - want).abs() < 1e-3,
                        "{tier}: [{i},{j}]"
                    );
                }
            }
        }
    }
}
