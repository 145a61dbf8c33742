//! Where the server may send a request that someone else named: a job's
//! `webhook_url` (a tenant's) or the budget alert URL (an operator's).
//!
//! A URL a tenant gives is an attacker's way into the network the server
//! sits in (server-side request forgery): loopback admin ports, the cloud
//! metadata service (`169.254.169.254`, `metadata.google.internal`), other
//! private hosts. [`DestinationPolicy`] refuses every address that is not
//! public unicast, in two places:
//! - **at submit** ([`DestinationPolicy::check_url`]): the scheme (https
//!   only by default), no credentials, an IP-literal host checked as an
//!   address, local and metadata host names refused by name;
//! - **at connect** ([`DestinationPolicy::client_builder`]): the HTTP client
//!   resolves names through [`GuardedResolver`], which drops every address
//!   the policy refuses and fails when none is left, so a public-looking
//!   name that resolves (or later re-resolves) to a private address is never
//!   connected to. IP-literal hosts never reach a resolver (the connector
//!   uses them as they are), so senders call `check_url` again right before
//!   each send; the literal is the address, so that check is exact.
//!
//! The client follows no redirects and uses no proxy (a proxy would resolve
//! the name itself, out of the policy's reach).
//!
//! Odd spellings of an address (`0x7f000001`, `2130706433`, `127.1`,
//! `[::ffff:127.0.0.1]`) are no way round it: the `url` crate parses hosts
//! as browsers do (WHATWG), so each of those is the IPv4 or IPv6 address it
//! means before the policy sees it, and IPv6 forms that embed an IPv4
//! address (mapped, compatible, NAT64) are judged by that address.
//!
//! Operators open it up for on-premises receivers with an allow-list
//! (host names, addresses, CIDR networks: allowed whatever they resolve to),
//! `allow_private` (RFC 1918, shared 100.64/10 and unique-local fc00::/7;
//! never loopback, link-local or metadata) and `allow_http`.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use ipnet::IpNet;
use url::{Host, Url};

/// Host names refused whatever they resolve to: the local machine and the
/// cloud metadata services (which also answer on link-local addresses,
/// refused as addresses).
const LOCAL_NAMES: [&str; 9] = [
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "ip6-loopback",
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
];

/// The kind of non-public address a destination was refused for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16.
    Private,
    /// 100.64.0.0/10 (carrier-grade NAT; also cloud-internal services).
    Shared,
    /// 169.254/16 (the metadata service), fe80::/10.
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    /// 224/4, ff00::/8.
    Multicast,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18/15.
    Benchmarking,
    /// Anything else that is not public unicast (240/4, 192.0.0/24, IPv6
    /// outside 2000::/3, 6to4, Teredo…).
    Reserved,
}

impl Range {
    /// Whether `allow_private` opens this range: the networks on-premises
    /// receivers live in; never loopback or link-local (the host itself,
    /// the metadata service).
    pub fn is_private_network(self) -> bool {
        matches!(self, Range::Private | Range::Shared | Range::UniqueLocal)
    }

    fn describe(self) -> &'static str {
        match self {
            Range::Loopback => "a loopback",
            Range::Private => "a private",
            Range::Shared => "a shared (carrier-grade NAT)",
            Range::LinkLocal => "a link-local",
            Range::UniqueLocal => "a unique-local",
            Range::Multicast => "a multicast",
            Range::Unspecified => "an unspecified",
            Range::Broadcast => "a broadcast",
            Range::Documentation => "a documentation",
            Range::Benchmarking => "a benchmarking",
            Range::Reserved => "a reserved",
        }
    }
}

/// The non-public range `ip` is in; `None` for public unicast.
pub fn classify(ip: IpAddr) -> Option<Range> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Range> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, ..) => Range::Unspecified,
        (10, ..) => Range::Private,
        (100, 64..=127, _) => Range::Shared,
        (127, ..) => Range::Loopback,
        (169, 254, _) => Range::LinkLocal,
        (172, 16..=31, _) => Range::Private,
        (192, 168, _) => Range::Private,
        // IETF protocol assignments (192.0.0.192 was a metadata address).
        (192, 0, 0) => Range::Reserved,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Range::Documentation,
        // The retired 6to4 relay anycast.
        (192, 88, 99) => Range::Reserved,
        (198, 18..=19, _) => Range::Benchmarking,
        (224..=239, ..) => Range::Multicast,
        _ if ip == Ipv4Addr::BROADCAST => Range::Broadcast,
        (240..=255, ..) => Range::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Range> {
    if ip.is_unspecified() {
        return Some(Range::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Range::Loopback);
    }
    let s = ip.segments();
    // Forms that carry an IPv4 address are judged by it: mapped
    // (::ffff:a.b.c.d), compatible (::a.b.c.d, deprecated but routable by
    // some stacks) and the NAT64 well-known prefix (64:ff9b::/96).
    let embedded = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if s[..6] == [0, 0, 0, 0, 0, 0xffff] {
        return classify_v4(embedded(s[6], s[7]));
    }
    if s[..6] == [0; 6] {
        // Compatible addresses are deprecated: refused even when public.
        return Some(classify_v4(embedded(s[6], s[7])).unwrap_or(Range::Reserved));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(s[6], s[7]));
    }
    Some(match s[0] {
        0xff00..=0xffff => Range::Multicast,
        0xfe80..=0xfebf => Range::LinkLocal,
        // Site-local (deprecated): private in all but name.
        0xfec0..=0xfeff => Range::Reserved,
        0xfc00..=0xfdff => Range::UniqueLocal,
        0x2001 if s[1] == 0x0db8 => Range::Documentation,
        // IETF protocol assignments, Teredo among them.
        0x2001 if s[1] < 0x0200 => Range::Reserved,
        // 6to4: an IPv4 address tunnelled; refused whatever it wraps.
        0x2002 => Range::Reserved,
        0x3fff if s[1] < 0x1000 => Range::Documentation,
        // Global unicast is 2000::/3; everything else is not public.
        0x2000..=0x3fff => return None,
        _ => Range::Reserved,
    })
}

/// Why a destination is refused. Messages read after the name of the
/// field or flag that gave the URL (`webhook_url …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("is not a URL: {0}")]
    NotUrl(String),
    #[error("must be http:// or https://; got `{0}:`")]
    Scheme(String),
    #[error("must be https:// (this server does not send to plain http://)")]
    NotHttps,
    #[error("has no host")]
    NoHost,
    #[error("must not carry credentials")]
    Credentials,
    #[error("points to {} address ({ip}); only public addresses are allowed", .range.describe())]
    Address { ip: IpAddr, range: Range },
    #[error("names `{0}`, a local or cloud metadata host; only public hosts are allowed")]
    LocalName(String),
    #[error("`{0}` resolves to no public address")]
    NoPublicAddress(String),
    #[error("`{0}` could not be resolved")]
    Unresolved(String),
}

/// An operator's allow-list entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a host name, an IP address or a CIDR network (10.0.0.0/8)")]
pub struct BadAllowEntry(pub String);

/// Which destinations outbound requests may go to; see the module docs.
/// The default is the strict policy: https to public addresses only.
#[derive(Debug, Clone, Default)]
pub struct DestinationPolicy {
    allow_http: bool,
    allow_private: bool,
    hosts: Vec<String>,
    nets: Vec<IpNet>,
}

/// A host name as compared: lower case, without the root's trailing dot
/// (`LOCALHOST.` is `localhost`).
fn normalise_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DestinationPolicy {
    /// The strict policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allow plain `http://` too.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Allow private networks ([`Range::is_private_network`]).
    pub fn allow_private(mut self, allow: bool) -> Self {
        self.allow_private = allow;
        self
    }

    /// Allow a host name (any address it resolves to), an IP address or a
    /// CIDR network, whatever range it is in.
    pub fn allow(mut self, entry: &str) -> Result<Self, BadAllowEntry> {
        let entry = entry.trim();
        let bad = || BadAllowEntry(entry.to_owned());
        if entry.is_empty() {
            return Err(bad());
        }
        let bare = entry.trim_start_matches('[').trim_end_matches(']');
        if entry.contains('/') {
            self.nets.push(bare.parse::<IpNet>().map_err(|_| bad())?);
        } else if let Ok(ip) = bare.parse::<IpAddr>() {
            self.nets.push(IpNet::from(ip));
        } else {
            // Parsed as a URL host would be, so the entry matches what
            // `check_url` compares it with (and `127.1` means 127.0.0.1).
            match Url::parse(&format!("http://{entry}/")).ok().and_then(|u| {
                u.host().map(|h| match h {
                    Host::Domain(d) => Err(normalise_name(d)),
                    Host::Ipv4(ip) => Ok(IpAddr::V4(ip)),
                    Host::Ipv6(ip) => Ok(IpAddr::V6(ip)),
                })
            }) {
                Some(Ok(ip)) => self.nets.push(IpNet::from(ip)),
                Some(Err(name)) if !name.is_empty() && !entry.contains(['/', ':', '@']) => {
                    self.hosts.push(name)
                }
                _ => return Err(bad()),
            }
        }
        Ok(self)
    }

    /// Each of `entries`, as [`Self::allow`].
    pub fn allow_all<S: AsRef<str>>(self, entries: &[S]) -> Result<Self, BadAllowEntry> {
        entries
            .iter()
            .try_fold(self, |policy, entry| policy.allow(entry.as_ref()))
    }

    fn host_allowed(&self, name: &str) -> bool {
        let name = normalise_name(name);
        self.hosts.contains(&name)
    }

    /// Whether `ip` may be connected to (`host`: the name it was resolved
    /// from, when there was one).
    pub fn check_ip(&self, host: Option<&str>, ip: IpAddr) -> Result<(), DestinationError> {
        if host.is_some_and(|h| self.host_allowed(h)) || self.nets.iter().any(|n| n.contains(&ip)) {
            return Ok(());
        }
        match classify(ip) {
            None => Ok(()),
            Some(range) if self.allow_private && range.is_private_network() => Ok(()),
            Some(range) => Err(DestinationError::Address { ip, range }),
        }
    }

    /// Whether the host name `name` may be resolved at all.
    fn check_name(&self, name: &str) -> Result<(), DestinationError> {
        let name = normalise_name(name);
        let local = LOCAL_NAMES.contains(&name.as_str()) || name.ends_with(".localhost");
        if local && !self.host_allowed(&name) {
            return Err(DestinationError::LocalName(name));
        }
        Ok(())
    }

    /// `url` parsed and checked as far as it can be without resolving it:
    /// scheme, credentials, an IP-literal host, local names.
    pub fn check_url(&self, url: &str) -> Result<Url, DestinationError> {
        let parsed = Url::parse(url).map_err(|e| DestinationError::NotUrl(e.to_string()))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(DestinationError::NotHttps),
            other => return Err(DestinationError::Scheme(other.to_owned())),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(DestinationError::Credentials);
        }
        match parsed.host() {
            None => return Err(DestinationError::NoHost),
            Some(Host::Domain("")) => return Err(DestinationError::NoHost),
            Some(Host::Domain(name)) => self.check_name(name)?,
            Some(Host::Ipv4(ip)) => self.check_ip(None, IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => self.check_ip(None, IpAddr::V6(ip))?,
        }
        Ok(parsed)
    }

    /// An HTTP client builder that connects only where this policy allows
    /// (names resolved by the system resolver); no redirects, no proxy.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        self.client_builder_with(Arc::new(SystemLookup))
    }

    /// [`Self::client_builder`] resolving names with `lookup` (tests give a
    /// resolver they control).
    pub fn client_builder_with(&self, lookup: Arc<dyn Lookup>) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .dns_resolver(GuardedResolver {
                policy: Arc::new(self.clone()),
                lookup,
            })
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
    }
}

/// A future of a lookup's addresses.
pub type LookupFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Resolving a host name to addresses (the system resolver in production).
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, name: &str) -> LookupFuture;
}

/// The operating system's resolver (`getaddrinfo`, off the runtime).
#[derive(Debug, Clone, Copy)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, name: &str) -> LookupFuture {
        let name = name.to_owned();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// The HTTP client's resolver: resolves with its [`Lookup`], then keeps
/// only the addresses the policy allows; none left is an error, so the
/// connection is never attempted.
pub struct GuardedResolver {
    policy: Arc<DestinationPolicy>,
    lookup: Arc<dyn Lookup>,
}

impl std::fmt::Debug for GuardedResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedResolver")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl GuardedResolver {
    /// The addresses of `name` the policy allows (port 0: the client puts
    /// the URL's in).
    pub async fn resolve_allowed(&self, name: &str) -> Result<Vec<SocketAddr>, DestinationError> {
        self.policy.check_name(name)?;
        let addresses = self
            .lookup
            .lookup(name)
            .await
            .map_err(|_| DestinationError::Unresolved(normalise_name(name)))?;
        let mut refused = None;
        let allowed: Vec<SocketAddr> = addresses
            .into_iter()
            .filter(|ip| match self.policy.check_ip(Some(name), *ip) {
                Ok(()) => true,
                Err(e) => {
                    refused.get_or_insert(e);
                    false
                }
            })
            .map(|ip| SocketAddr::new(ip, 0))
            .collect();
        if allowed.is_empty() {
            if let Some(e) = &refused {
                tracing::warn!(host = name, error = %e, "outbound request refused by the destination policy");
            }
            return Err(DestinationError::NoPublicAddress(normalise_name(name)));
        }
        Ok(allowed)
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = GuardedResolver {
            policy: self.policy.clone(),
            lookup: self.lookup.clone(),
        };
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = resolver.resolve_allowed(&name).await?;
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn strict() -> DestinationPolicy {
        DestinationPolicy::new()
    }

    fn refused_range(url: &str) -> Option<Range> {
        match strict().check_url(url) {
            Err(DestinationError::Address { range, .. }) => Some(range),
            other => panic!("{url}: expected an address refusal, got {other:?}"),
        }
    }

    #[test]
    fn every_spelling_of_loopback_is_refused_at_submit() {
        for url in [
            "https://127.0.0.1/x",
            "https://127.1/x",
            "https://127.0.0.1./x",
            "https://0x7f000001/x",
            "https://0x7f.1/x",
            "https://2130706433/x",
            "https://017700000001/x",
            "https://127.255.255.254:8443/x",
            "https://[::1]/x",
            "https://[0:0:0:0:0:0:0:1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://[::ffff:7f00:1]/x",
            "https://[::127.0.0.1]/x",
            "https://[64:ff9b::127.0.0.1]/x",
        ] {
            assert_eq!(refused_range(url), Some(Range::Loopback), "{url}");
        }
        for url in ["https://0.0.0.0/x", "https://0/x", "https://[::]/x"] {
            assert_eq!(refused_range(url), Some(Range::Unspecified), "{url}");
        }
        for url in [
            "https://localhost/x",
            "https://LOCALHOST./x",
            "https://%6c%6f%63%61%6c%68%6f%73%74/x",
            "https://api.localhost/x",
            "https://ip6-localhost/x",
        ] {
            assert!(
                matches!(strict().check_url(url), Err(DestinationError::LocalName(_))),
                "{url}: {:?}",
                strict().check_url(url)
            );
        }
    }

    #[test]
    fn private_link_local_metadata_and_special_ranges_are_refused() {
        let cases = [
            ("https://10.0.0.1/", Range::Private),
            ("https://172.16.0.1/", Range::Private),
            ("https://172.31.255.255/", Range::Private),
            ("https://192.168.1.1/", Range::Private),
            ("https://100.64.0.1/", Range::Shared),
            ("https://100.100.100.200/", Range::Shared),
            (
                "https://169.254.169.254/latest/meta-data/",
                Range::LinkLocal,
            ),
            ("https://0xa9fea9fe/", Range::LinkLocal),
            ("https://[fe80::1]/", Range::LinkLocal),
            ("https://[fd00:ec2::254]/", Range::UniqueLocal),
            ("https://[fc00::1]/", Range::UniqueLocal),
            ("https://[::ffff:10.0.0.1]/", Range::Private),
            ("https://[::ffff:169.254.169.254]/", Range::LinkLocal),
            ("https://224.0.0.1/", Range::Multicast),
            ("https://239.255.255.250/", Range::Multicast),
            ("https://[ff02::1]/", Range::Multicast),
            ("https://255.255.255.255/", Range::Broadcast),
            ("https://240.0.0.1/", Range::Reserved),
            ("https://192.0.0.192/", Range::Reserved),
            ("https://192.0.2.1/", Range::Documentation),
            ("https://198.51.100.7/", Range::Documentation),
            ("https://203.0.113.9/", Range::Documentation),
            ("https://[2001:db8::1]/", Range::Documentation),
            ("https://198.18.0.1/", Range::Benchmarking),
            ("https://[2002:7f00:1::]/", Range::Reserved),
            ("https://[2001::1]/", Range::Reserved),
            ("https://[100::1]/", Range::Reserved),
            ("https://[::8.8.8.8]/", Range::Reserved),
        ];
        for (url, range) in cases {
            assert_eq!(refused_range(url), Some(range), "{url}");
        }
        for url in [
            "https://metadata.google.internal/computeMetadata/v1/",
            "https://metadata.goog/",
            "https://metadata/",
            "https://instance-data.ec2.internal/",
        ] {
            assert!(
                matches!(strict().check_url(url), Err(DestinationError::LocalName(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn public_https_destinations_pass_and_the_rest_of_the_url_is_checked() {
        for url in [
            "https://hooks.example.com/x?y=1",
            "https://8.8.8.8/",
            "https://[2606:4700:4700::1111]/",
            "https://[::ffff:8.8.8.8]/",
            "https://100.128.0.1/",
            "https://172.32.0.1/",
        ] {
            assert!(strict().check_url(url).is_ok(), "{url}");
        }
        assert_eq!(
            strict().check_url("http://hooks.example.com/"),
            Err(DestinationError::NotHttps)
        );
        assert!(matches!(
            strict().check_url("file:///etc/passwd"),
            Err(DestinationError::Scheme(_))
        ));
        assert!(matches!(
            strict().check_url("gopher://x/"),
            Err(DestinationError::Scheme(_))
        ));
        assert!(matches!(
            strict().check_url("not a url"),
            Err(DestinationError::NotUrl(_))
        ));
        assert_eq!(
            strict().check_url("https://u:p@hooks.example.com/"),
            Err(DestinationError::Credentials)
        );
        let message = strict()
            .check_url("https://169.254.169.254/")
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "points to a link-local address (169.254.169.254); only public addresses are allowed"
        );
    }

    #[test]
    fn operators_open_what_they_name_and_no_more() {
        let on_prem = strict().allow_private(true).allow_http(true);
        assert!(on_prem.check_url("http://10.1.2.3/hook").is_ok());
        assert!(on_prem.check_url("http://[fd12::1]/hook").is_ok());
        assert!(on_prem.check_url("http://100.64.1.1/hook").is_ok());
        // Never the host itself or the metadata service.
        assert!(on_prem.check_url("http://127.0.0.1/hook").is_err());
        assert!(on_prem.check_url("http://169.254.169.254/").is_err());
        assert!(
            on_prem
                .check_url("http://metadata.google.internal/")
                .is_err()
        );
        assert!(on_prem.check_url("http://localhost/").is_err());

        let listed = strict()
            .allow_all(&["127.0.0.1", "hooks.corp", "192.168.7.0/24", "[::1]"])
            .unwrap();
        assert!(listed.check_url("https://127.0.0.1:9000/x").is_ok());
        assert!(listed.check_url("https://127.1:9000/x").is_ok());
        assert!(listed.check_url("https://[::1]/x").is_ok());
        assert!(listed.check_url("https://127.0.0.2/x").is_err());
        assert!(listed.check_url("https://192.168.7.9/x").is_ok());
        assert!(listed.check_url("https://192.168.8.9/x").is_err());
        assert!(
            listed
                .check_ip(Some("HOOKS.corp."), "10.9.9.9".parse().unwrap())
                .is_ok()
        );
        assert!(
            listed
                .check_ip(Some("other.corp"), "10.9.9.9".parse().unwrap())
                .is_err()
        );
        // http stays off unless asked for.
        assert_eq!(
            listed.check_url("http://127.0.0.1:9000/x"),
            Err(DestinationError::NotHttps)
        );
        let local = strict().allow("localhost").unwrap();
        assert!(local.check_url("https://localhost/x").is_ok());

        for bad in ["", "http://x/", "x:80", "10.0.0.0/33", "a b"] {
            assert!(strict().allow(bad).is_err(), "{bad}");
        }
    }

    /// A resolver the test controls; counts its lookups.
    struct FakeDns {
        answers: HashMap<&'static str, Vec<IpAddr>>,
        lookups: AtomicUsize,
    }

    impl Lookup for FakeDns {
        fn lookup(&self, name: &str) -> LookupFuture {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            let answer = self.answers.get(name).cloned();
            Box::pin(async move { answer.ok_or_else(|| std::io::Error::other("no such host")) })
        }
    }

    fn fake_dns(answers: &[(&'static str, &[&str])]) -> Arc<FakeDns> {
        Arc::new(FakeDns {
            answers: answers
                .iter()
                .map(|(name, ips)| (*name, ips.iter().map(|ip| ip.parse().unwrap()).collect()))
                .collect(),
            lookups: AtomicUsize::new(0),
        })
    }

    #[tokio::test]
    async fn a_public_looking_name_that_resolves_privately_is_refused_at_resolution() {
        let dns = fake_dns(&[
            ("hooks.example.com", &["10.0.0.7"]),
            ("rebind.example.com", &["169.254.169.254"]),
            ("mapped.example.com", &["::ffff:127.0.0.1"]),
            ("mixed.example.com", &["192.168.0.1", "93.184.216.34"]),
            (
                "public.example.com",
                &["93.184.216.34", "2606:2800:220:1::1"],
            ),
        ]);
        let resolver = GuardedResolver {
            policy: Arc::new(strict()),
            lookup: dns.clone(),
        };
        for name in [
            "hooks.example.com",
            "rebind.example.com",
            "mapped.example.com",
        ] {
            assert_eq!(
                resolver.resolve_allowed(name).await,
                Err(DestinationError::NoPublicAddress(name.into())),
                "{name}"
            );
        }
        // Only the public address of a mixed answer is kept.
        let mixed = resolver.resolve_allowed("mixed.example.com").await.unwrap();
        assert_eq!(mixed, vec!["93.184.216.34:0".parse().unwrap()]);
        assert_eq!(
            resolver
                .resolve_allowed("public.example.com")
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            resolver.resolve_allowed("missing.example.com").await,
            Err(DestinationError::Unresolved("missing.example.com".into()))
        );
        // Local names are refused without asking the resolver.
        let asked = dns.lookups.load(Ordering::SeqCst);
        assert!(matches!(
            resolver.resolve_allowed("metadata.google.internal").await,
            Err(DestinationError::LocalName(_))
        ));
        assert_eq!(dns.lookups.load(Ordering::SeqCst), asked);

        // An operator's private network, by name or by range.
        let on_prem = GuardedResolver {
            policy: Arc::new(strict().allow_private(true)),
            lookup: dns.clone(),
        };
        assert!(on_prem.resolve_allowed("hooks.example.com").await.is_ok());
        assert!(on_prem.resolve_allowed("rebind.example.com").await.is_err());
        let by_name = GuardedResolver {
            policy: Arc::new(strict().allow("hooks.example.com").unwrap()),
            lookup: dns,
        };
        assert!(by_name.resolve_allowed("hooks.example.com").await.is_ok());
    }

    /// The client the policy builds really resolves through the guard: a
    /// name that resolves to a loopback port where a server listens is
    /// refused without a connection (and reaches it once allowed).
    #[tokio::test]
    async fn the_http_client_never_connects_to_a_refused_resolution() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let receiver = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async {}
            }),
        );
        tokio::spawn(async move { axum::serve(listener, receiver).await });
        let dns = fake_dns(&[("hooks.example.com", &["127.0.0.1"])]);
        let url = format!("http://hooks.example.com:{port}/hook");

        let policy = strict().allow_http(true);
        let client = policy.client_builder_with(dns.clone()).build().unwrap();
        let error = client.post(&url).send().await.unwrap_err();
        assert!(
            format!("{error:?}").contains("NoPublicAddress"),
            "{error:?}"
        );
        assert_eq!(accepted.load(Ordering::SeqCst), 0, "the request arrived");
        assert_eq!(dns.lookups.load(Ordering::SeqCst), 1);

        // The same request with the name allowed arrives: the refusal above
        // was the policy, not the test's plumbing.
        let allowed = policy.allow("hooks.example.com").unwrap();
        let client = allowed.client_builder_with(dns).build().unwrap();
        let response = client.post(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }
}
