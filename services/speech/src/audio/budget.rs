//! The server-wide budget of audio seconds in flight: admission by decoded
//! work, not by upload bytes.
//!
//! An upload's size says little about what it costs: 7 MB of 8-bit 1 kHz
//! WAV is two hours of audio, and every second of audio becomes 64 KB of
//! 16 kHz `f32` samples, then copies of them and a spectrogram inside the
//! model while it is transcribed (memory per audio second: see
//! `SpeechConfig::audio_budget_seconds`). So every decode takes its audio
//! seconds from one [`AudioBudget`] shared by synchronous requests,
//! streams and running jobs, and holds them (a [`Reservation`]) until its
//! transcription ends; what the budget cannot give is refused at once
//! (synchronous requests and streams answer 503 with `Retry-After`; a job
//! goes back to its queue and is tried again), before the memory is taken.
//!
//! The seconds are taken before decoding when the header declares the
//! duration, and in steps while decoding when it does not (or lies), so a
//! file cannot decode past what it was granted.
//!
//! One permit of a tokio [`Semaphore`] is one audio second. Only
//! `try_acquire` is used: the decoder runs on a blocking thread, and no
//! caller waits for seconds to free up.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// Audio seconds this server holds at once, shared by every request.
#[derive(Debug, Clone)]
pub struct AudioBudget {
    semaphore: Arc<Semaphore>,
    total: u32,
}

/// The budget cannot give the seconds asked for now.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "the server is already transcribing as much audio as it may hold at once ({total} s); this \
     file needs {wanted} s and {free} s are free: retry shortly"
)]
pub struct OverBudget {
    /// Seconds the reservation would have held.
    pub wanted: u32,
    /// Seconds free when it was refused.
    pub free: u32,
    /// The whole budget.
    pub total: u32,
}

impl AudioBudget {
    /// A budget of `seconds` (at least one second; fractions round up).
    pub fn new(seconds: f64) -> Self {
        // Far below the semaphore's own limit (usize::MAX >> 3).
        let total = if seconds.is_finite() {
            seconds.ceil().clamp(1.0, f64::from(u32::MAX >> 4)) as u32
        } else {
            u32::MAX >> 4
        };
        Self {
            semaphore: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// The whole budget, in seconds.
    pub fn total_seconds(&self) -> u32 {
        self.total
    }

    /// Seconds no reservation holds now.
    pub fn free_seconds(&self) -> u32 {
        u32::try_from(self.semaphore.available_permits()).unwrap_or(self.total)
    }

    /// An empty reservation on this budget, to grow as audio is found.
    pub fn reservation(&self) -> Reservation {
        Reservation {
            budget: Some(self.clone()),
            permit: None,
        }
    }
}

/// Audio seconds held from an [`AudioBudget`] (or from none: see
/// [`Reservation::unlimited`]); given back when dropped. Keep it as long as
/// the decoded samples live: until the transcription ends.
#[derive(Debug)]
pub struct Reservation {
    budget: Option<AudioBudget>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Reservation {
    /// A reservation that always grows: for decoding outside a server
    /// (tools, tests).
    pub fn unlimited() -> Self {
        Self {
            budget: None,
            permit: None,
        }
    }

    /// Seconds held.
    pub fn seconds(&self) -> u32 {
        self.permit
            .as_ref()
            .map_or(0, |p| u32::try_from(p.num_permits()).unwrap_or(u32::MAX))
    }

    /// Whether growing further can never be refused: unlimited, or already
    /// holding the whole budget (a file longer than the budget runs alone).
    pub fn is_unbounded(&self) -> bool {
        self.budget
            .as_ref()
            .is_none_or(|budget| self.seconds() >= budget.total)
    }

    /// Hold at least `seconds` (rounded up; at most the whole budget), or
    /// say why not. Never waits.
    pub fn grow_to(&mut self, seconds: f64) -> Result<(), OverBudget> {
        let Some(budget) = &self.budget else {
            return Ok(());
        };
        let wanted = if seconds.is_finite() && seconds > 0.0 {
            seconds.ceil().min(f64::from(budget.total)) as u32
        } else if seconds > 0.0 {
            budget.total
        } else {
            0
        };
        let held = self.seconds();
        if wanted <= held {
            return Ok(());
        }
        match budget
            .semaphore
            .clone()
            .try_acquire_many_owned(wanted - held)
        {
            Ok(more) => {
                match &mut self.permit {
                    Some(permit) => permit.merge(more),
                    None => self.permit = Some(more),
                }
                Ok(())
            }
            // The semaphore is never closed; a closed one gives nothing.
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => Err(OverBudget {
                wanted,
                free: budget.free_seconds(),
                total: budget.total,
            }),
        }
    }

    /// Give back what is held beyond `seconds` (rounded up): a header that
    /// declared more than the data held.
    pub fn shrink_to(&mut self, seconds: f64) {
        let keep = if seconds.is_finite() {
            seconds.max(0.0).ceil().min(f64::from(u32::MAX)) as u32
        } else {
            u32::MAX
        };
        let held = self.seconds();
        if keep >= held {
            return;
        }
        if keep == 0 {
            self.permit = None;
        } else if let Some(permit) = &mut self.permit {
            // The split-off permits go back to the budget when dropped.
            drop(permit.split((held - keep) as usize));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_budget_and_give_it_back_when_dropped() {
        let budget = AudioBudget::new(100.0);
        let mut first = budget.reservation();
        first.grow_to(60.2).unwrap();
        assert_eq!(first.seconds(), 61);
        assert_eq!(budget.free_seconds(), 39);
        let mut second = budget.reservation();
        let refused = second.grow_to(40.0).unwrap_err();
        assert_eq!(
            refused,
            OverBudget {
                wanted: 40,
                free: 39,
                total: 100
            }
        );
        // A refusal takes nothing.
        assert_eq!(second.seconds(), 0);
        second.grow_to(39.0).unwrap();
        assert_eq!(budget.free_seconds(), 0);
        first.shrink_to(10.0);
        assert_eq!(first.seconds(), 10);
        assert_eq!(budget.free_seconds(), 51);
        drop(first);
        drop(second);
        assert_eq!(budget.free_seconds(), 100);
    }

    #[test]
    fn growing_is_stepwise_and_capped_at_the_whole_budget() {
        let budget = AudioBudget::new(50.0);
        let mut r = budget.reservation();
        r.grow_to(10.0).unwrap();
        r.grow_to(5.0).unwrap();
        assert_eq!(r.seconds(), 10);
        assert!(!r.is_unbounded());
        // More than the budget: it takes all of it and runs alone.
        r.grow_to(1e9).unwrap();
        assert_eq!(r.seconds(), 50);
        assert!(r.is_unbounded());
        assert!(budget.reservation().grow_to(1.0).is_err());
        // Nothing asked, nothing taken, even from a full budget.
        budget.reservation().grow_to(0.0).unwrap();
        let mut unlimited = Reservation::unlimited();
        unlimited.grow_to(1e12).unwrap();
        assert!(unlimited.is_unbounded());
    }
}
