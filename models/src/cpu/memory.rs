//! How the C allocator keeps freed memory: set once, at start, before the
//! model threads exist.
//!
//! glibc's malloc gives threads that allocate at the same time arenas of
//! their own, up to eight per core, and keeps what is freed in each arena
//! for reuse there. A speech server's threads (the engine, the rayon pool,
//! the async runtime) each allocate a window's transient buffers, so peak
//! RSS grew with the number of arenas that had once held a window, not
//! with what was live. A cap of a couple of arenas keeps one process's
//! peak near its working set (`loadtest/RESULTS.md`, "CPU tiers", has the
//! measurement); the model threads do their heavy work in buffers they
//! allocate once per window, so the shared arenas' locks are not hot.
#![cfg_attr(
    all(target_os = "linux", target_env = "gnu"),
    expect(unsafe_code, reason = "mallopt is a C call")
)]

/// Cap glibc's malloc arenas at `arenas` (0 leaves glibc's default).
/// Returns whether the cap is in force: false where the C library is not
/// glibc (musl and the BSDs have no arenas to cap) or glibc refused it.
pub fn limit_malloc_arenas(arenas: usize) -> bool {
    if arenas == 0 {
        return false;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let Ok(arenas) = libc::c_int::try_from(arenas) else {
            return false;
        };
        // SAFETY: mallopt takes two integers and changes only the
        // allocator's tuning; glibc documents M_ARENA_MAX as safe to set
        // at any time (arenas already made stay, none beyond the cap is
        // added).
        unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_taken_on_glibc_and_zero_keeps_the_default() {
        assert!(!limit_malloc_arenas(0));
        assert_eq!(
            limit_malloc_arenas(2),
            cfg!(all(target_os = "linux", target_env = "gnu"))
        );
        assert!(!limit_malloc_arenas(usize::MAX));
    }
}
