//! One replica of an upstream service and what the gateway knows about it:
//! where it is, how many requests it has outstanding, and whether it takes
//! traffic.
//!
//! Health has two inputs. Passive: consecutive connection-level failures
//! (refused, reset, closed mid-exchange) eject the replica after
//! `eject_after_failures`; an HTTP status from the replica, 5xx included, is
//! an answer, not a failure — a 503 from a full model queue is back-pressure,
//! and ejecting on it would push that replica's load onto the others and
//! cascade. Active: the pool's health checker asks `/readyz` on an interval;
//! a failing check ejects, a passing one re-admits. An ejected replica is not
//! asked again until its backoff (doubling per ejection in a row, capped)
//! has passed, so a dead replica costs one probe per backoff, not one per
//! interval.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use axum::http::uri::{Authority, Scheme};

use crate::observability::metrics as m;

/// How replicas are judged.
#[derive(Debug, Clone)]
pub struct HealthPolicy {
    /// Consecutive connection-level failures that take a replica out.
    pub eject_after_failures: u32,
    /// First backoff after an ejection; doubles per ejection in a row.
    pub eject_backoff: Duration,
    /// The longest backoff.
    pub max_eject_backoff: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self {
            eject_after_failures: 3,
            eject_backoff: Duration::from_secs(1),
            max_eject_backoff: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Default)]
struct Ejection {
    /// No health check before this instant.
    until: Option<Instant>,
    /// Ejections since the replica last stayed healthy for a whole interval.
    in_a_row: u32,
}

/// One replica.
pub struct Replica {
    service: &'static str,
    /// Shown in logs and metrics: the configured URL, plus the address when
    /// a DNS name resolved to several.
    label: Arc<str>,
    scheme: Scheme,
    /// Where to connect.
    authority: Authority,
    /// The Host header to send when it differs from `authority` (a replica
    /// found through DNS keeps the name it was configured by).
    host: Option<HeaderValue>,
    outstanding: AtomicUsize,
    healthy: AtomicBool,
    consecutive_failures: AtomicU32,
    ejection: Mutex<Ejection>,
    outstanding_gauge: metrics::Gauge,
    healthy_gauge: metrics::Gauge,
    ejections: metrics::Counter,
    connect_failures: metrics::Counter,
    exchange_failures: metrics::Counter,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("label", &self.label)
            .field("healthy", &self.is_healthy())
            .field("outstanding", &self.outstanding())
            .finish()
    }
}

impl Replica {
    pub(crate) fn new(
        service: &'static str,
        label: Arc<str>,
        scheme: Scheme,
        authority: Authority,
        host: Option<HeaderValue>,
    ) -> Self {
        m::ensure_installed();
        let labels = [
            ("service", service.to_string()),
            ("replica", label.to_string()),
        ];
        let healthy_gauge = metrics::gauge!(m::UPSTREAM_HEALTHY, &labels);
        healthy_gauge.set(1.0);
        let failures = |stage: &'static str| metrics::counter!(m::UPSTREAM_FAILURES, "service" => service, "replica" => label.to_string(), "stage" => stage);
        Self {
            service,
            scheme,
            authority,
            host,
            outstanding: AtomicUsize::new(0),
            healthy: AtomicBool::new(true),
            consecutive_failures: AtomicU32::new(0),
            ejection: Mutex::new(Ejection::default()),
            outstanding_gauge: metrics::gauge!(m::UPSTREAM_OUTSTANDING, &labels),
            healthy_gauge,
            ejections: metrics::counter!(m::UPSTREAM_EJECTIONS, &labels),
            connect_failures: failures("connect"),
            exchange_failures: failures("exchange"),
            label,
        }
    }

    pub fn label(&self) -> &Arc<str> {
        &self.label
    }

    pub(crate) fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    pub(crate) fn authority(&self) -> &Authority {
        &self.authority
    }

    pub(crate) fn host(&self) -> Option<&HeaderValue> {
        self.host.as_ref()
    }

    /// Whether the replica takes traffic.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Requests sent and not finished.
    pub fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::Relaxed)
    }

    /// Count a request as outstanding until the guard drops.
    pub(crate) fn begin(self: &Arc<Self>) -> Outstanding {
        self.outstanding.fetch_add(1, Ordering::Relaxed);
        self.outstanding_gauge.increment(1.0);
        Outstanding(self.clone())
    }

    /// The replica answered (any status): the failure streak ends.
    pub(crate) fn record_answer(&self) {
        if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
            self.consecutive_failures.store(0, Ordering::Relaxed);
        }
    }

    /// A connection-level failure; ejects after the policy's streak.
    /// `connect`: nothing was sent (refused, unreachable, connect timeout).
    pub(crate) fn record_failure(&self, connect: bool, policy: &HealthPolicy) {
        if connect {
            self.connect_failures.increment(1);
        } else {
            self.exchange_failures.increment(1);
        }
        let streak = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if streak >= policy.eject_after_failures {
            self.eject(policy, "consecutive connection failures");
        }
    }

    /// Take the replica out of rotation (no-op if it already is).
    pub(crate) fn eject(&self, policy: &HealthPolicy, why: &str) {
        let mut ejection = self.ejection.lock().unwrap_or_else(|p| p.into_inner());
        if !self.healthy.swap(false, Ordering::AcqRel) {
            return;
        }
        ejection.in_a_row = ejection.in_a_row.saturating_add(1);
        let backoff = backoff(policy, ejection.in_a_row);
        ejection.until = Some(Instant::now() + backoff);
        self.healthy_gauge.set(0.0);
        self.ejections.increment(1);
        tracing::warn!(
            service = self.service,
            replica = %self.label,
            reason = why,
            backoff_ms = backoff.as_millis() as u64,
            "upstream replica ejected"
        );
    }

    /// Whether the health checker should probe now (an ejected replica
    /// waits out its backoff).
    pub(crate) fn due_for_check(&self, now: Instant) -> bool {
        let ejection = self.ejection.lock().unwrap_or_else(|p| p.into_inner());
        self.is_healthy() || ejection.until.is_none_or(|until| now >= until)
    }

    /// Seconds until the earliest possible re-admission (for Retry-After).
    pub(crate) fn seconds_until_check(&self, now: Instant) -> u64 {
        let ejection = self.ejection.lock().unwrap_or_else(|p| p.into_inner());
        ejection
            .until
            .map(|until| until.saturating_duration_since(now).as_secs_f64().ceil() as u64)
            .unwrap_or(0)
    }

    /// The health check's verdict.
    pub(crate) fn record_check(&self, passed: Result<(), String>, policy: &HealthPolicy) {
        match passed {
            Ok(()) => {
                let mut ejection = self.ejection.lock().unwrap_or_else(|p| p.into_inner());
                if self.healthy.swap(true, Ordering::AcqRel) {
                    // Healthy for a whole interval: forget past ejections.
                    ejection.in_a_row = 0;
                } else {
                    self.consecutive_failures.store(0, Ordering::Relaxed);
                    ejection.until = None;
                    self.healthy_gauge.set(1.0);
                    tracing::info!(service = self.service, replica = %self.label, "upstream replica re-admitted");
                }
            }
            Err(detail) => {
                if self.is_healthy() {
                    self.eject(policy, &format!("health check failed: {detail}"));
                } else {
                    // Still down: wait longer before the next probe.
                    let mut ejection = self.ejection.lock().unwrap_or_else(|p| p.into_inner());
                    ejection.in_a_row = ejection.in_a_row.saturating_add(1);
                    ejection.until = Some(Instant::now() + backoff(policy, ejection.in_a_row));
                }
            }
        }
    }
}

fn backoff(policy: &HealthPolicy, in_a_row: u32) -> Duration {
    let doublings = in_a_row.saturating_sub(1).min(16);
    policy
        .eject_backoff
        .saturating_mul(1u32 << doublings)
        .min(policy.max_eject_backoff)
}

/// A request outstanding at a replica; counted down on drop.
pub struct Outstanding(Arc<Replica>);

impl Drop for Outstanding {
    fn drop(&mut self) {
        self.0.outstanding.fetch_sub(1, Ordering::Relaxed);
        self.0.outstanding_gauge.decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica() -> Replica {
        Replica::new(
            "language",
            "http://127.0.0.1:9".into(),
            Scheme::HTTP,
            Authority::from_static("127.0.0.1:9"),
            None,
        )
    }

    #[test]
    fn a_failure_streak_ejects_and_a_passing_check_readmits() {
        let policy = HealthPolicy {
            eject_after_failures: 2,
            eject_backoff: Duration::from_millis(0),
            max_eject_backoff: Duration::from_millis(0),
        };
        let r = replica();
        r.record_failure(true, &policy);
        r.record_answer();
        r.record_failure(true, &policy);
        assert!(r.is_healthy(), "an answer in between ends the streak");
        r.record_failure(false, &policy);
        assert!(!r.is_healthy());
        r.record_check(Err("down".into()), &policy);
        assert!(!r.is_healthy());
        r.record_check(Ok(()), &policy);
        assert!(r.is_healthy());
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = HealthPolicy {
            eject_after_failures: 1,
            eject_backoff: Duration::from_secs(1),
            max_eject_backoff: Duration::from_secs(5),
        };
        assert_eq!(backoff(&policy, 1), Duration::from_secs(1));
        assert_eq!(backoff(&policy, 2), Duration::from_secs(2));
        assert_eq!(backoff(&policy, 3), Duration::from_secs(4));
        assert_eq!(backoff(&policy, 9), Duration::from_secs(5));
        let r = replica();
        r.record_failure(true, &policy);
        let now = Instant::now();
        assert!(!r.due_for_check(now));
        assert_eq!(r.seconds_until_check(now), 1);
    }
}
