//! What this CPU has, read once, and the tier the kernels run at.
//!
//! A tier is a set of instructions every kernel of it may use:
//! - `amx`: Intel AMX bf16 tiles (Sapphire Rapids on), with AVX-512;
//! - `avx512`: AVX-512 F/BW/VL/DQ and FMA (Skylake-SP on, Zen 4 on), and
//!   where the CPU has them its VNNI int8 and BF16 dot products;
//! - `avx2`: AVX2 and FMA (Haswell on, every AMD EPYC);
//! - `neon`: AArch64's Advanced SIMD, and `sdot` where the CPU has the
//!   dot-product extension (Graviton 2 on, Apple silicon);
//! - `portable`: what the crate is compiled for, no run-time dispatch
//!   (SSE2 on x86-64; on AArch64 that includes NEON, which every AArch64
//!   CPU has, so there it differs from `neon` only by the hand-written
//!   intrinsics).
//!
//! The tier in force is the best the CPU has unless a cap was asked for
//! ([`select`], from `--cpu-isa`); a cap only lowers it. A [`Tier`] value
//! can only be made for a tier this CPU has, which is what makes calling a
//! kernel compiled for that tier sound: every `unsafe` dispatch in
//! [`crate::cpu`] rests on it.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// An instruction-set tier, from the least to the most capable of its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    Portable,
    Avx2,
    Avx512,
    Amx,
    Neon,
}

impl Isa {
    /// Every tier, widest first within each family.
    pub const ALL: [Isa; 5] = [Isa::Amx, Isa::Avx512, Isa::Avx2, Isa::Neon, Isa::Portable];

    /// The name `--cpu-isa` takes and logs, `/readyz` and `/metrics` show.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Amx => "amx",
            Isa::Neon => "neon",
        }
    }

    /// Whether a CPU whose best tier is `self` can run `lower`: the same
    /// family and no wider, or portable.
    pub fn includes(self, lower: Isa) -> bool {
        let rank = |isa: Isa| match isa {
            Isa::Portable => 0,
            Isa::Avx2 | Isa::Neon => 1,
            Isa::Avx512 => 2,
            Isa::Amx => 3,
        };
        let arm = |isa: Isa| isa == Isa::Neon;
        lower == Isa::Portable || (arm(self) == arm(lower) && rank(lower) <= rank(self))
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Isa {
    type Err = CpuError;

    fn from_str(s: &str) -> Result<Self, CpuError> {
        Isa::ALL
            .into_iter()
            .find(|isa| isa.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| CpuError::UnknownIsa(s.to_owned()))
    }
}

/// Errors of choosing a tier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuError {
    #[error("unknown CPU tier `{0}` (auto, amx, avx512, avx2, neon or portable)")]
    UnknownIsa(String),
    #[error("this CPU cannot run the `{asked}` tier: it has {has}")]
    Unavailable { asked: Isa, has: String },
    #[error("the CPU tier is already fixed at `{fixed}` in this process; `{asked}` was asked for")]
    AlreadyFixed { fixed: Isa, asked: Isa },
}

/// What the CPU has, read once ([`detected`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    /// The widest tier it can run.
    pub best: Isa,
    /// AVX-512 VNNI (`VPDPBUSD` on 512 bits), used by the avx512 tier's int8 products.
    pub avx512_vnni: bool,
    /// AVX-512 BF16 (`VDPBF16PS`), used by the avx512 tier's bf16 products.
    pub avx512_bf16: bool,
    /// AArch64's dot-product extension (`SDOT`), used by the neon tier's int8 products.
    pub dotprod: bool,
}

impl Features {
    /// What the CPU has, in words: the best tier and the extras used.
    pub fn describe(&self) -> String {
        let mut extras = Vec::new();
        if self.avx512_vnni {
            extras.push("avx512-vnni");
        }
        if self.avx512_bf16 {
            extras.push("avx512-bf16");
        }
        if self.dotprod {
            extras.push("dotprod");
        }
        if extras.is_empty() {
            self.best.name().to_owned()
        } else {
            format!("{} ({})", self.best, extras.join(", "))
        }
    }
}

/// What this CPU has. Read once; asking for AMX also asks Linux for the
/// tile state, without which the tiles fault.
pub fn detected() -> &'static Features {
    static FEATURES: OnceLock<Features> = OnceLock::new();
    FEATURES.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Features {
    use std::arch::is_x86_feature_detected as has;
    let avx2 = has!("avx2") && has!("fma");
    let avx512 =
        avx2 && has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512dq");
    let best = if avx512 && tiles_granted() {
        Isa::Amx
    } else if avx512 {
        Isa::Avx512
    } else if avx2 {
        Isa::Avx2
    } else {
        Isa::Portable
    };
    Features {
        best,
        avx512_vnni: avx512 && has!("avx512vnni"),
        avx512_bf16: avx512 && has!("avx512bf16"),
        dotprod: false,
    }
}

#[cfg(target_arch = "aarch64")]
fn detect() -> Features {
    Features {
        best: Isa::Neon,
        avx512_vnni: false,
        avx512_bf16: false,
        dotprod: std::arch::is_aarch64_feature_detected!("dotprod"),
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detect() -> Features {
    Features {
        best: Isa::Portable,
        avx512_vnni: false,
        avx512_bf16: false,
        dotprod: false,
    }
}

/// Whether the CPU has AMX-TILE and AMX-BF16 and Linux granted this
/// process the tile state.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn tiles_granted() -> bool {
    // CPUID leaf 7, sub-leaf 0: EDX bit 22 = AMX-BF16, bit 24 = AMX-TILE.
    let leaf = std::arch::x86_64::__cpuid_count(7, 0);
    if leaf.edx & (1 << 22) == 0 || leaf.edx & (1 << 24) == 0 {
        return false;
    }
    super::amx::request_tile_state()
}

#[cfg(all(target_arch = "x86_64", not(target_os = "linux")))]
fn tiles_granted() -> bool {
    false
}

/// A tier this CPU can run: made only by [`Tier::of`], [`Tier::available`]
/// and [`tier`], each of which checks [`detected`], so holding one proves
/// the CPU has its instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tier(Isa);

impl Tier {
    /// `isa` where this CPU can run it.
    pub fn of(isa: Isa) -> Result<Tier, CpuError> {
        let features = detected();
        if features.best.includes(isa) {
            Ok(Tier(isa))
        } else {
            Err(CpuError::Unavailable {
                asked: isa,
                has: features.describe(),
            })
        }
    }

    /// The tier without run-time dispatch; every CPU runs it.
    pub fn portable() -> Tier {
        Tier(Isa::Portable)
    }

    /// Every tier this CPU can run, widest first: what the kernels' tests
    /// compare against the portable one.
    pub fn available() -> Vec<Tier> {
        Isa::ALL
            .into_iter()
            .filter_map(|isa| Tier::of(isa).ok())
            .collect()
    }

    pub fn isa(self) -> Isa {
        self.0
    }

    /// AVX2 and FMA.
    pub fn avx2(self) -> bool {
        matches!(self.0, Isa::Avx2 | Isa::Avx512 | Isa::Amx)
    }

    /// AVX-512 F/BW/VL/DQ and FMA.
    pub fn avx512(self) -> bool {
        matches!(self.0, Isa::Avx512 | Isa::Amx)
    }

    /// AVX-512 VNNI int8 dot products.
    pub fn avx512_vnni(self) -> bool {
        self.avx512() && detected().avx512_vnni
    }

    /// AVX-512 BF16 dot products.
    pub fn avx512_bf16(self) -> bool {
        self.avx512() && detected().avx512_bf16
    }

    /// AMX bf16 tiles, the tile state granted.
    pub fn tiles(self) -> bool {
        self.0 == Isa::Amx
    }

    /// NEON with the dot-product extension.
    pub fn dotprod(self) -> bool {
        self.0 == Isa::Neon && detected().dotprod
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

static IN_FORCE: OnceLock<Tier> = OnceLock::new();

/// The tier every kernel runs at: the one [`select`]ed, or the best this
/// CPU has if nothing was selected before the first kernel ran.
pub fn tier() -> Tier {
    *IN_FORCE.get_or_init(|| Tier(detected().best))
}

/// Fix the tier for this process: `None` for the best the CPU has, or a
/// cap, which fails where the CPU cannot run it. Call before any model
/// loads; once a kernel has run (or a tier was selected) only the same
/// tier can be selected again, since weights are laid out for one.
pub fn select(cap: Option<Isa>) -> Result<Tier, CpuError> {
    let wanted = match cap {
        Some(isa) => Tier::of(isa)?,
        None => Tier(detected().best),
    };
    let fixed = *IN_FORCE.get_or_init(|| wanted);
    if fixed == wanted {
        Ok(fixed)
    } else {
        Err(CpuError::AlreadyFixed {
            fixed: fixed.0,
            asked: wanted.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for isa in Isa::ALL {
            assert_eq!(isa.name().parse::<Isa>().unwrap(), isa);
        }
        assert_eq!("AVX2".parse::<Isa>().unwrap(), Isa::Avx2);
        assert!(matches!(
            "sse4".parse::<Isa>(),
            Err(CpuError::UnknownIsa(_))
        ));
    }

    #[test]
    fn a_cap_only_lowers_within_a_family() {
        assert!(Isa::Amx.includes(Isa::Avx2));
        assert!(Isa::Avx512.includes(Isa::Avx512));
        assert!(!Isa::Avx512.includes(Isa::Amx));
        assert!(!Isa::Avx2.includes(Isa::Avx512));
        assert!(!Isa::Amx.includes(Isa::Neon));
        assert!(!Isa::Neon.includes(Isa::Avx2));
        assert!(Isa::Neon.includes(Isa::Portable));
        assert!(Isa::Portable.includes(Isa::Portable));
        assert!(!Isa::Portable.includes(Isa::Avx2));
    }

    #[test]
    fn only_tiers_the_cpu_has_are_made() {
        let best = detected().best;
        let available = Tier::available();
        assert_eq!(available[0].isa(), best);
        assert_eq!(available.last(), Some(&Tier::portable()));
        for isa in Isa::ALL {
            assert_eq!(Tier::of(isa).is_ok(), best.includes(isa), "{isa}");
        }
        // The other family's tier is refused with what this CPU has.
        let foreign = if cfg!(target_arch = "aarch64") {
            Isa::Avx2
        } else {
            Isa::Neon
        };
        let error = Tier::of(foreign).unwrap_err().to_string();
        assert!(error.contains(best.name()), "{error}");
    }
}
