//! Who is on the other end of a request, as far as the edge can tell: the
//! client's address (what sign-in throttling counts), whether the browser
//! reached us over TLS (what makes the session cookie `Secure`), and
//! whether a cookie-authenticated request came from our own pages (the
//! cross-site request forgery check of the API routes).
//!
//! Behind a reverse proxy or load balancer every connection comes from the
//! proxy, so the client's address and scheme are in `X-Forwarded-For` and
//! `X-Forwarded-Proto`. Anyone can send those headers, so they are read
//! only from peers in `--trusted-proxies`; from anyone else the peer
//! address is the client and the headers are ignored (an attacker cannot
//! rotate addresses past the throttle by writing a header).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, header};
use ipnet::IpNet;

/// Where clients come from and how they reach us (`--trusted-proxies`,
/// `--public-url`).
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The origin browsers use (`https://stratus.example.com`), if known.
    pub public_origin: Option<String>,
}

/// A configuration value that is not what it should be.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WebConfigError {
    #[error("`{0}` is neither an IP address nor a CIDR range (e.g. 10.0.0.0/8)")]
    Proxy(String),
    #[error("`{0}` is not an http(s) URL with a host (e.g. https://stratus.example.com)")]
    PublicUrl(String),
}

impl WebConfig {
    /// From the flags' text: proxies as addresses or CIDR ranges, and the
    /// public URL (only its origin is kept).
    pub fn parse(proxies: &[String], public_url: Option<&str>) -> Result<Self, WebConfigError> {
        let trusted_proxies = proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| WebConfigError::Proxy(p.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let public_origin = public_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| origin_of(u).ok_or_else(|| WebConfigError::PublicUrl(u.to_string())))
            .transpose()?;
        Ok(Self {
            trusted_proxies,
            public_origin,
        })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that arrived from `peer` with `headers`.
    pub fn client(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Client {
        let peer_ip = peer.map(|p| canonical(p.ip()));
        let proxied = peer_ip.is_some_and(|ip| self.trusts(ip));
        let ip = if proxied {
            forwarded_client(self, headers).or(peer_ip)
        } else {
            peer_ip
        };
        let forwarded_https = proxied
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                // A chain of proxies lists the first hop's scheme first.
                .and_then(|v| v.split(',').next())
                .is_some_and(|scheme| scheme.trim().eq_ignore_ascii_case("https"));
        let public_https = self
            .public_origin
            .as_deref()
            .is_some_and(|o| o.starts_with("https://"));
        Client {
            ip,
            https: forwarded_https || public_https,
        }
    }

    /// Whether a request that changes something, authenticated by the
    /// session cookie alone, comes from our own pages: the browser says so
    /// (`Sec-Fetch-Site: same-origin`), or its `Origin` is the host it
    /// asked (`Host`) or the configured public origin. A browser always
    /// sends `Origin` on a cross-origin POST and a page cannot forge it;
    /// a request with neither header is refused (scripts use `Authorization:
    /// Bearer`, which no other site can make a browser send).
    pub fn same_origin(&self, headers: &HeaderMap, authority: Option<&str>) -> bool {
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if fetch_site.is_some_and(|site| site.eq_ignore_ascii_case("same-origin")) {
            return true;
        }
        let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        if self
            .public_origin
            .as_deref()
            .is_some_and(|public| public.eq_ignore_ascii_case(origin))
        {
            return true;
        }
        // The origin's host[:port] against the host the browser asked for,
        // as Go's CrossOriginProtection compares them (the scheme is left
        // out: behind a TLS proxy the gateway itself sees plain HTTP).
        let Some(origin_host) = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
        else {
            return false;
        };
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or(authority);
        host.is_some_and(|host| !host.is_empty() && host.eq_ignore_ascii_case(origin_host))
    }
}

/// What the edge knows of a request's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Client {
    /// The client's address (`None`: the server was started without peer
    /// addresses; such requests share one throttle bucket).
    pub ip: Option<IpAddr>,
    /// Reached over TLS: cookies set for it are `Secure`.
    pub https: bool,
}

impl Client {
    /// The client of a request (`parts` of it), under `config`.
    pub fn of(config: &WebConfig, headers: &HeaderMap, extensions: &http::Extensions) -> Self {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr);
        config.client(headers, peer)
    }
}

/// Whether `method` may change something (and so needs the CSRF check
/// when a cookie authenticates it).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The right-most address of `X-Forwarded-For` that is not one of our
/// proxies: each proxy appends the address it received from, so the
/// entries right of the client's are ours and the ones left of it are
/// whatever the client wrote.
fn forwarded_client(config: &WebConfig, headers: &HeaderMap) -> Option<IpAddr> {
    let mut last = None;
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for entry in entries.into_iter().rev() {
        // Garbage: what lies left of it cannot be trusted either.
        let Some(ip) = parse_hop(entry.trim()) else {
            return last;
        };
        if !config.trusts(ip) {
            return Some(ip);
        }
        last = Some(ip);
    }
    last
}

/// One `X-Forwarded-For` entry: an address, possibly with a port.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is, so one client
/// is one bucket whichever way the socket reports it.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// `scheme://host[:port]` of an http(s) URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 40000))
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let config = WebConfig::parse(&["10.0.0.0/8".into(), "192.168.1.1".into()], None).unwrap();
        let forged = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
        ]);
        // From a stranger: the peer is the client, the headers are noise.
        let direct = config.client(&forged, peer("203.0.113.9"));
        assert_eq!(direct.ip, Some("203.0.113.9".parse().unwrap()));
        assert!(!direct.https);
        // From our proxy: believed.
        let proxied = config.client(&forged, peer("10.1.2.3"));
        assert_eq!(proxied.ip, Some("1.2.3.4".parse().unwrap()));
        assert!(proxied.https);
        // What the client wrote left of its own address is ignored; our
        // proxies' hops right of it are skipped.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.9.9.9")]);
        let ip = config.client(&chain, peer("192.168.1.1")).ip;
        assert_eq!(ip, Some("198.51.100.7".parse().unwrap()));
        // Garbage in the chain stops the walk at the last address we trust.
        let junk = headers(&[("x-forwarded-for", "nonsense, 10.9.9.9")]);
        let ip = config.client(&junk, peer("10.0.0.1")).ip;
        assert_eq!(ip, Some("10.9.9.9".parse().unwrap()));
        // No trusted proxies at all (the default): nothing believed.
        let none = WebConfig::default().client(&forged, peer("10.1.2.3"));
        assert_eq!(none.ip, Some("10.1.2.3".parse().unwrap()));
        assert!(!none.https);
        // A mapped IPv6 peer is the IPv4 client it is.
        let mapped = WebConfig::default().client(&HeaderMap::new(), peer("::ffff:127.0.0.1"));
        assert_eq!(mapped.ip, Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn an_https_public_url_makes_every_client_https() {
        let config = WebConfig::parse(&[], Some("https://Stratus.Example.com/dashboard")).unwrap();
        assert_eq!(
            config.public_origin.as_deref(),
            Some("https://stratus.example.com")
        );
        assert!(config.client(&HeaderMap::new(), peer("127.0.0.1")).https);
        let plain = WebConfig::parse(&[], Some("http://localhost:8080")).unwrap();
        assert!(!plain.client(&HeaderMap::new(), peer("127.0.0.1")).https);
        for bad in [
            "stratus.example.com",
            "ftp://x",
            "https://",
            "https://u@evil",
        ] {
            assert!(WebConfig::parse(&[], Some(bad)).is_err(), "{bad}");
        }
        assert!(WebConfig::parse(&["10.0.0.0/33".into()], None).is_err());
        assert!(WebConfig::parse(&["proxy".into()], None).is_err());
    }

    #[test]
    fn same_origin_needs_a_matching_origin_or_fetch_metadata() {
        let config = WebConfig::parse(&[], Some("https://stratus.example.com")).unwrap();
        let host = ("host", "gw.internal:8080");
        assert!(config.same_origin(
            &headers(&[host, ("origin", "http://gw.internal:8080")]),
            None
        ));
        assert!(config.same_origin(
            &headers(&[host, ("origin", "https://stratus.example.com")]),
            None
        ));
        assert!(config.same_origin(&headers(&[host, ("sec-fetch-site", "same-origin")]), None));
        for refused in [
            vec![host],
            vec![host, ("origin", "https://evil.example")],
            vec![host, ("origin", "http://gw.internal:8081")],
            vec![host, ("origin", "null")],
            vec![
                host,
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
            vec![("origin", "http://gw.internal:8080")],
        ] {
            assert!(!config.same_origin(&headers(&refused), None), "{refused:?}");
        }
        // HTTP/2 carries the host as the URI's authority.
        assert!(config.same_origin(
            &headers(&[("origin", "https://gw.internal")]),
            Some("gw.internal")
        ));
    }
}
