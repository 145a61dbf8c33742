//! The replicas of one service reached over HTTP: picking one per request,
//! forwarding with safe retries, and the background health checker.
//!
//! Balancing: least outstanding requests among healthy replicas; ties go
//! round-robin (a rotating start index), so an idle pool still spreads.
//! A slow replica accumulates outstanding requests and gets fewer new ones.
//!
//! Retries: a request is re-sent to another replica only when the attempt
//! failed to *connect* (refused, unreachable, connect timeout) **and** its
//! body was never polled ([`OnceBody::untouched`]). hyper polls a request
//! body only after it holds a connection, so a connect failure leaves the
//! body in its slot; any later failure may have delivered some of the
//! request, and a POST that reached a replica must not run twice. The body
//! therefore streams through once, is never copied for a retry, and an
//! upload is never held in memory.
//!
//! DNS: with a refresh interval, a configured name is resolved on that
//! interval and each address becomes a replica (keeping the Host header of
//! the name); replicas whose address stays keep their counters and health.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::uri::{Authority, PathAndQuery, Scheme};
use axum::http::{HeaderValue, Request, Response, StatusCode, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::UpstreamError;
use super::body::{AttemptBody, GuardedBody, OnceBody};
use super::replica::{HealthPolicy, Replica};
use crate::observability::metrics as m;

/// How a pool connects, checks and retries.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Longest wait for one TCP connection; a replica that does not accept
    /// by then counts as down and the attempt moves on.
    pub connect_timeout: Duration,
    /// How often each replica's `/readyz` is asked.
    pub health_interval: Duration,
    /// Longest wait for one health check answer.
    pub health_timeout: Duration,
    /// Extra attempts on other replicas after connect failures.
    pub max_retries: u32,
    /// Re-resolve DNS names on this interval (`None`: resolve once, at
    /// connect time, as the OS does).
    pub dns_refresh: Option<Duration>,
    pub health: HealthPolicy,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            health_interval: Duration::from_secs(5),
            health_timeout: Duration::from_secs(2),
            max_retries: 2,
            dns_refresh: None,
            health: HealthPolicy::default(),
        }
    }
}

/// A configured replica URL, parsed.
#[derive(Debug, Clone)]
struct ReplicaSpec {
    url: Arc<str>,
    scheme: Scheme,
    authority: Authority,
    host: String,
    port: u16,
}

impl ReplicaSpec {
    fn parse(service: &'static str, url: &str) -> Result<Self, UpstreamError> {
        let invalid = |detail: &str| UpstreamError::BadConfig {
            service,
            detail: format!("replica URL `{url}`: {detail}"),
        };
        let trimmed = url.trim().trim_end_matches('/');
        let uri: Uri = trimmed.parse().map_err(|_| invalid("not a URL"))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| invalid("needs http://"))?;
        if scheme != Scheme::HTTP {
            return Err(invalid(
                "only http:// is supported between the gateway and its replicas",
            ));
        }
        if uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
            return Err(invalid("a replica URL has no path"));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| invalid("needs a host"))?;
        Ok(Self {
            url: trimmed.into(),
            host: authority.host().to_string(),
            port: authority.port_u16().unwrap_or(80),
            scheme,
            authority,
        })
    }

    /// Whether the host is a name (to resolve) rather than an address.
    fn is_name(&self) -> bool {
        self.host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_err()
    }
}

/// The replicas of one service.
pub struct ReplicaPool {
    service: &'static str,
    specs: Vec<ReplicaSpec>,
    replicas: RwLock<Arc<[Arc<Replica>]>>,
    client: Client<HttpConnector, AttemptBody>,
    config: PoolConfig,
    rotate: AtomicUsize,
    retries: metrics::Counter,
}

impl std::fmt::Debug for ReplicaPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaPool")
            .field("service", &self.service)
            .field("replicas", &self.replicas())
            .finish()
    }
}

impl ReplicaPool {
    /// A pool over `urls` (at least one), with its health checker running
    /// on the current tokio runtime until the pool is dropped.
    pub fn new(
        service: &'static str,
        urls: &[String],
        config: PoolConfig,
    ) -> Result<Arc<Self>, UpstreamError> {
        let specs = urls
            .iter()
            .flat_map(|u| u.split(','))
            .filter(|u| !u.trim().is_empty())
            .map(|u| ReplicaSpec::parse(service, u))
            .collect::<Result<Vec<_>, _>>()?;
        if specs.is_empty() {
            return Err(UpstreamError::BadConfig {
                service,
                detail: "no replica URL given".into(),
            });
        }
        let replicas: Vec<Arc<Replica>> = specs
            .iter()
            .map(|s| {
                Arc::new(Replica::new(
                    service,
                    s.url.clone(),
                    s.scheme.clone(),
                    s.authority.clone(),
                    None,
                ))
            })
            .collect();
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.connect_timeout));
        // Small requests and SSE events must not wait for Nagle.
        connector.set_nodelay(true);
        connector.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        let pool = Arc::new(Self {
            service,
            specs,
            replicas: RwLock::new(replicas.into()),
            client,
            retries: metrics::counter!(m::UPSTREAM_RETRIES, "service" => service),
            config,
            rotate: AtomicUsize::new(0),
        });
        spawn_health_checker(Arc::downgrade(&pool), pool.config.clone());
        Ok(pool)
    }

    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The current replicas.
    pub fn replicas(&self) -> Arc<[Arc<Replica>]> {
        self.replicas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The healthy replica with the fewest outstanding requests, skipping
    /// those already tried for this request.
    fn pick(&self, replicas: &[Arc<Replica>], tried: &[usize]) -> Option<usize> {
        let n = replicas.len();
        let start = self.rotate.fetch_add(1, Ordering::Relaxed);
        let mut best: Option<(usize, usize)> = None;
        for offset in 0..n {
            let i = (start + offset) % n;
            let replica = &replicas[i];
            if !replica.is_healthy() || tried.contains(&i) {
                continue;
            }
            let load = replica.outstanding();
            if best.is_none_or(|(_, b)| load < b) {
                best = Some((i, load));
            }
        }
        best.map(|(i, _)| i)
    }

    /// Forward `request` to a replica; the response streams back with the
    /// replica's outstanding count held until its body ends.
    pub async fn forward(
        &self,
        request: Request<Body>,
    ) -> Result<(Response<Body>, Arc<str>), UpstreamError> {
        let (parts, body) = request.into_parts();
        let body = OnceBody::new(body);
        let path = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let replicas = self.replicas();
        let mut tried: Vec<usize> = Vec::new();
        let mut last_error = None;
        for attempt in 0..=self.config.max_retries {
            let Some(index) = self.pick(&replicas, &tried) else {
                break;
            };
            if attempt > 0 {
                self.retries.increment(1);
            }
            tried.push(index);
            let replica = &replicas[index];
            let uri = Uri::builder()
                .scheme(replica.scheme().clone())
                .authority(replica.authority().clone())
                .path_and_query(path.clone())
                .build()
                .map_err(|e| UpstreamError::BadResponse {
                    service: self.service,
                    detail: e.to_string(),
                })?;
            let mut upstream_request = Request::new(body.attempt());
            *upstream_request.method_mut() = parts.method.clone();
            *upstream_request.uri_mut() = uri;
            *upstream_request.headers_mut() = parts.headers.clone();
            if let Some(host) = replica.host() {
                upstream_request
                    .headers_mut()
                    .insert(header::HOST, host.clone());
            }
            let outstanding = replica.begin();
            match self.client.request(upstream_request).await {
                Ok(response) => {
                    replica.record_answer();
                    let (mut head, incoming) = response.into_parts();
                    super::strip_hop_by_hop(&mut head.headers);
                    let body = GuardedBody::wrap(Body::new(incoming), outstanding);
                    return Ok((Response::from_parts(head, body), replica.label().clone()));
                }
                Err(e) => {
                    drop(outstanding);
                    let detail = error_chain(&e);
                    if caused_by_request_body(&e) {
                        // The caller's upload failed (too large, or the caller
                        // went away): not the replica's fault.
                        return Err(UpstreamError::RequestBody {
                            service: self.service,
                            detail,
                        });
                    }
                    let connect = e.is_connect();
                    replica.record_failure(connect, &self.config.health);
                    if connect && body.untouched() {
                        tracing::debug!(service = self.service, replica = %replica.label(), error = %detail, "connect failed; trying another replica");
                        last_error = Some((replica.label().clone(), detail));
                        continue;
                    }
                    return Err(UpstreamError::Failed {
                        service: self.service,
                        url: replica.label().to_string(),
                        detail,
                    });
                }
            }
        }
        match last_error {
            Some((url, detail)) => Err(UpstreamError::Unreachable {
                service: self.service,
                url: url.to_string(),
                detail,
            }),
            None => {
                let now = Instant::now();
                let retry_after = replicas
                    .iter()
                    .map(|r| r.seconds_until_check(now))
                    .min()
                    .unwrap_or(1)
                    .max(1);
                m::record_rejection(m::Rejection::NoHealthyReplica);
                Err(UpstreamError::NoHealthyReplica {
                    service: self.service,
                    retry_after,
                })
            }
        }
    }

    /// Ready when at least one replica takes traffic.
    pub fn ready(&self) -> Result<(), String> {
        let replicas = self.replicas();
        if replicas.iter().any(|r| r.is_healthy()) {
            return Ok(());
        }
        let labels: Vec<&str> = replicas.iter().map(|r| &**r.label()).collect();
        Err(format!(
            "no healthy replica (all ejected: {})",
            labels.join(", ")
        ))
    }

    async fn check(&self, replica: &Replica) -> Result<(), String> {
        let uri = Uri::builder()
            .scheme(replica.scheme().clone())
            .authority(replica.authority().clone())
            .path_and_query("/readyz")
            .build()
            .map_err(|e| e.to_string())?;
        let mut request = Request::new(OnceBody::new(Body::empty()).attempt());
        *request.uri_mut() = uri;
        if let Some(host) = replica.host() {
            request.headers_mut().insert(header::HOST, host.clone());
        }
        let answer = tokio::time::timeout(self.config.health_timeout, self.client.request(request))
            .await
            .map_err(|_| "/readyz did not answer in time".to_string())?
            .map_err(|e| error_chain(&e))?;
        match answer.status() {
            StatusCode::OK => Ok(()),
            status => Err(format!("/readyz answered {status}")),
        }
    }

    async fn check_all(&self) {
        let now = Instant::now();
        let replicas = self.replicas();
        let checks = replicas
            .iter()
            .filter(|r| r.due_for_check(now))
            .map(|replica| async move {
                let verdict = self.check(replica).await;
                replica.record_check(verdict, &self.config.health);
            });
        futures::future::join_all(checks).await;
    }

    /// Resolve the configured names again and swap in the new replica set.
    async fn refresh_dns(&self) {
        let current = self.replicas();
        let by_label: HashMap<&str, &Arc<Replica>> =
            current.iter().map(|r| (&**r.label(), r)).collect();
        let mut next: Vec<Arc<Replica>> = Vec::new();
        for spec in &self.specs {
            if !spec.is_name() {
                if let Some(existing) = by_label.get(&*spec.url) {
                    next.push((*existing).clone());
                }
                continue;
            }
            let addrs = match tokio::net::lookup_host((spec.host.as_str(), spec.port)).await {
                Ok(addrs) => {
                    let mut addrs: Vec<_> = addrs.collect();
                    addrs.sort();
                    addrs.dedup();
                    addrs
                }
                Err(e) => {
                    // Keep what we had: a DNS hiccup must not empty the pool.
                    tracing::warn!(service = self.service, url = %spec.url, error = %e, "DNS refresh failed; keeping the known replicas");
                    next.extend(
                        current
                            .iter()
                            .filter(|r| r.label().starts_with(&*spec.url))
                            .cloned(),
                    );
                    continue;
                }
            };
            let host = HeaderValue::from_str(spec.authority.as_str()).ok();
            for addr in addrs {
                let label: Arc<str> = format!("{}@{addr}", spec.url).into();
                if let Some(existing) = by_label.get(&*label) {
                    next.push((*existing).clone());
                    continue;
                }
                let Ok(authority) = Authority::try_from(addr.to_string().as_str()) else {
                    continue;
                };
                tracing::info!(service = self.service, replica = %label, "replica discovered");
                next.push(Arc::new(Replica::new(
                    self.service,
                    label,
                    spec.scheme.clone(),
                    authority,
                    host.clone(),
                )));
            }
        }
        if next.is_empty() {
            return;
        }
        for gone in current
            .iter()
            .filter(|r| !next.iter().any(|n| Arc::ptr_eq(n, r)))
        {
            tracing::info!(service = self.service, replica = %gone.label(), "replica no longer resolved; removed");
            metrics::gauge!(m::UPSTREAM_HEALTHY, "service" => self.service, "replica" => gone.label().to_string()).set(0.0);
        }
        *self.replicas.write().unwrap_or_else(|p| p.into_inner()) = next.into();
    }
}

fn spawn_health_checker(pool: Weak<ReplicaPool>, config: PoolConfig) {
    tokio::spawn(async move {
        let mut health = tokio::time::interval(config.health_interval);
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let refresh_every = config.dns_refresh.unwrap_or(Duration::MAX);
        let mut last_refresh: Option<Instant> = None;
        loop {
            health.tick().await;
            let Some(pool) = pool.upgrade() else {
                return;
            };
            if config.dns_refresh.is_some()
                && last_refresh.is_none_or(|t| t.elapsed() >= refresh_every)
            {
                pool.refresh_dns().await;
                last_refresh = Some(Instant::now());
            }
            pool.check_all().await;
        }
    });
}

/// Whether the failure came from reading the caller's request body.
fn caused_by_request_body(e: &hyper_util::client::legacy::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            return h.is_user();
        }
        source = s.source();
    }
    false
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_urls_are_checked() {
        let spec = ReplicaSpec::parse("speech", "http://speech.internal:8081/").unwrap();
        assert!(spec.is_name());
        assert_eq!(spec.port, 8081);
        assert!(
            !ReplicaSpec::parse("speech", "http://10.0.0.5:8081")
                .unwrap()
                .is_name()
        );
        assert!(
            !ReplicaSpec::parse("speech", "http://[::1]:8081")
                .unwrap()
                .is_name()
        );
        for bad in ["speech:8081", "https://a:1", "http://a:1/v1", "not a url"] {
            assert!(ReplicaSpec::parse("speech", bad).is_err(), "{bad}");
        }
    }
}
