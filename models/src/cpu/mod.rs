//! Every hand-written CPU kernel, and the one place CPU features are read.
//!
//! The rest of the crate asks this module for operations (bf16 and int8
//! products, softmax, GELU, layer norms, attention steps, vectorised
//! `exp`/`erf`), never for a CPU feature. Each operation runs at the
//! [`Tier`] in force ([`tier`]): the best this CPU has, or the cap
//! `--cpu-isa` asked for at start ([`select`]). Every operation also has an
//! `_at` form taking the tier, which is how the tests run each kernel at
//! every tier this machine can run against the portable one.
//!
//! - [`features`] — detection (once), [`Isa`], [`Tier`], the cap.
//! - [`math`] — branch-free `exp`/`erf`/GELU and sums the compiler vectorises.
//! - [`rows`] — the row helpers (softmax, GELU, layer norms, bf16 rounding)
//!   and the decoder's attention steps.
//! - [`int8`] — int8 weight × input products (AVX-512 VNNI, AVX2, NEON
//!   `sdot`, portable), exact integer sums on every path.
//! - [`amx`] — bf16 products on AMX tiles or AVX-512 BF16.
//!
//! One dispatch style: a kernel is a safe `#[inline(always)]` body written
//! so the compiler vectorises it (or, where it does not, intrinsics), and
//! [`kernel!`] compiles it once per x86 tier with `#[target_feature]`,
//! picking the copy by the tier. `#[target_feature]` rather than a closure
//! handed to a dispatcher: a closure around a loop of any size was not
//! always inlined into the dispatched function and then ran as baseline
//! x86-64 (scalar `floorf` calls, SSE2), while a `#[target_feature]`
//! function is compiled for its features whatever the inliner decides.
//!
//! What a cap cannot reach: Candle's own products run on the `gemm` crate,
//! which picks its kernels by itself from the CPU (AVX-512 where there is
//! any, with the `avx512-gemm` feature, on by default), so under a cap the
//! encoder's f32 products and the BERT encoder's gemms still use the CPU's
//! best; a build without that feature stops gemm at AVX2. Everything
//! written here follows the cap.
//!
//! `unsafe` is allowed in this module only: calling a `#[target_feature]`
//! function needs it, after a [`Tier`] proved the CPU has the features;
//! the tile instructions exist only as inline assembly.

pub mod amx;
pub mod features;
pub mod int8;
pub mod math;
pub mod memory;
pub mod rows;

pub use features::{CpuError, Features, Isa, Tier, detected, select, tier};

/// Run `f` compiled for the tier in force ([`with_simd_at`]).
#[inline(always)]
pub fn with_simd<R>(f: impl FnOnce() -> R) -> R {
    with_simd_at(tier(), f)
}

/// Run `f` compiled for `tier`'s instructions. Keep `f` a one-line call
/// of an `#[inline(always)]` function: a large closure body may not be
/// inlined into the dispatched copy and then runs at the baseline level
/// (for loops of any size, prefer [`kernel!`]).
#[inline(always)]
#[cfg_attr(
    target_arch = "x86_64",
    expect(
        unsafe_code,
        reason = "calling #[target_feature] functions after a Tier proved the CPU has them"
    )
)]
pub fn with_simd_at<R>(tier: Tier, f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
        fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if tier.avx512() {
            // SAFETY: a tier with AVX-512 is only made on a CPU that has
            // every feature `avx512` is compiled for.
            return unsafe { avx512(f) };
        }
        if tier.avx2() {
            // SAFETY: as above, for AVX2 and FMA.
            return unsafe { avx2(f) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = tier;
    f()
}

/// Define `pub fn $name(args)` running `$body` at the tier in force, and
/// `pub fn $at(tier, args)` running it at `tier`: compiled for AVX-512,
/// for AVX2 + FMA, and as is (portable; on AArch64 NEON is part of the
/// baseline, so the plain copy is already NEON code).
macro_rules! kernel {
    ($(#[$doc:meta])* $name:ident / $(#[$at_attr:meta])* $at:ident, $body:ident, ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            $at($crate::cpu::tier(), $($arg),*)
        }

        #[doc = concat!("[`", stringify!($name), "`] at `tier`.")]
        $(#[$at_attr])*
        #[cfg_attr(
            target_arch = "x86_64",
            expect(
                unsafe_code,
                reason = "calling #[target_feature] functions after a Tier proved the CPU has them"
            )
        )]
        pub fn $at(tier: $crate::cpu::Tier, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if tier.avx512() {
                    // SAFETY: a tier with AVX-512 is only made on a CPU
                    // that has every feature `avx512` is compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if tier.avx2() {
                    // SAFETY: as above, for AVX2 and FMA.
                    return unsafe { avx2($($arg),*) };
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = tier;
            $body($($arg),*)
        }
    };
}
pub(crate) use kernel;
