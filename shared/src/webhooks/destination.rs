//! Where a webhook may be delivered. A firm's endpoint must be a public HTTPS
//! address: a URL naming a loopback, private, link-local, shared (CGNAT),
//! reserved, documentation, multicast or metadata address is refused, and since a
//! public-looking name can resolve to any of those, the runtime resolves the name
//! and checks every address it gets with [`blocked`] before each attempt. Local
//! development opts in to loopback (and plain `http`) with an explicit setting
//! that deploys never carry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::kernel::error::DomainError;

/// Longest endpoint URL.
pub const MAX_URL_CHARS: usize = 2_048;

/// What a deployment allows beyond the public internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Local development: loopback addresses and plain `http` on any port.
    pub allow_loopback: bool,
}

/// A checked endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The URL as given (trimmed).
    pub url: String,
    /// `https` (or `http` locally).
    pub scheme: String,
    /// The host name or address literal (without brackets).
    pub host: String,
    /// The port, explicit or the scheme's.
    pub port: u16,
    /// The address, when the host is a literal.
    pub literal: Option<IpAddr>,
}

fn refuse(field: &str, rule: &'static str, why: impl Into<String>) -> DomainError {
    DomainError::invalid(field, rule, format!("{field} {}", why.into()))
}

/// Parses and checks an endpoint URL: `https`, a host, a port of 443 or
/// 1024–65535, no user info, and a literal address only if it is public.
pub fn parse(field: &str, raw: &str, policy: Policy) -> Result<Destination, DomainError> {
    let url = raw.trim();
    if url.is_empty() || url.chars().count() > MAX_URL_CHARS {
        return Err(refuse(
            field,
            "length",
            format!("must be a URL of 1 to {MAX_URL_CHARS} characters"),
        ));
    }
    if !is_uri_text(url) {
        return Err(refuse(
            field,
            "format",
            "must be a URI: letters, digits and -._~:/?#[]@!$&'()*+,;= only, anything else percent-encoded",
        ));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| refuse(field, "format", "must be an absolute https:// URL"))?;
    let scheme = scheme.to_ascii_lowercase();
    match scheme.as_str() {
        "https" => {}
        "http" if policy.allow_loopback => {}
        _ => return Err(refuse(field, "scheme", "must use https")),
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(refuse(
            field,
            "format",
            "must not carry a user name or password",
        ));
    }
    let (host, port) =
        split_host_port(authority).ok_or_else(|| refuse(field, "format", "must name a host"))?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    let port = match port {
        None => default_port,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
            refuse(
                field,
                "format",
                "has a port that is not a number from 1 to 65535",
            )
        })?,
    };
    if !(port == 443 || port >= 1_024 || policy.allow_loopback) {
        return Err(refuse(
            field,
            "port",
            "must use port 443 or a port from 1024 to 65535",
        ));
    }
    let host = host.to_ascii_lowercase();
    let literal = host.parse::<IpAddr>().ok();
    match literal {
        Some(ip) => {
            if let Some(reason) = blocked(ip, policy) {
                return Err(refuse(
                    field,
                    "blocked_destination",
                    format!("points at a {reason} address"),
                ));
            }
        }
        None => {
            if !is_host_name(&host) {
                return Err(refuse(field, "format", "must name a valid host"));
            }
            let local_name = is_local_name(&host);
            if local_name && !policy.allow_loopback {
                return Err(refuse(
                    field,
                    "blocked_destination",
                    "points at this machine",
                ));
            }
            if [".local", ".internal", ".home.arpa"]
                .iter()
                .any(|s| host.ends_with(s))
                || !host.contains('.') && !local_name
            {
                return Err(refuse(
                    field,
                    "blocked_destination",
                    "names a private network host",
                ));
            }
        }
    }
    Ok(Destination {
        url: url.to_owned(),
        scheme,
        host,
        port,
        literal,
    })
}

/// Whether `url` holds only the characters RFC 3986 allows, every `%` starting a
/// two-digit hex escape.
fn is_uri_text(url: &str) -> bool {
    let mut rest = url.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = match (b, tail) {
            (b'%', [h1, h2, more @ ..]) if h1.is_ascii_hexdigit() && h2.is_ascii_hexdigit() => more,
            (b'%', _) => return false,
            _ if b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&b) => tail,
            _ => return false,
        };
    }
    true
}

impl Destination {
    /// Whether the host must be resolved and its addresses judged before it is
    /// reached: a name, unless it is a local name the policy allows.
    pub fn needs_lookup(&self, policy: Policy) -> bool {
        self.literal.is_none() && !(policy.allow_loopback && is_local_name(&self.host))
    }
}

fn is_local_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        return (!host.is_empty()).then_some((host, port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    (!host.is_empty()).then_some((host, port))
}

fn is_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Why `ip` may not be reached, or `None` when it is a public address (loopback
/// too, when the policy allows it). Addresses that embed an IPv4 address
/// (mapped, NAT64, 6to4) are judged by it.
pub fn blocked(ip: IpAddr, policy: Policy) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4, policy),
        IpAddr::V6(v6) => blocked_v6(v6, policy),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn blocked_v4(ip: Ipv4Addr, policy: Policy) -> Option<&'static str> {
    if ip.is_loopback() {
        return (!policy.allow_loopback).then_some("loopback");
    }
    let table: &[([u8; 4], u32, &'static str)] = &[
        ([0, 0, 0, 0], 8, "reserved (this network)"),
        ([10, 0, 0, 0], 8, "private"),
        ([100, 64, 0, 0], 10, "shared (CGNAT)"),
        ([169, 254, 0, 0], 16, "link-local (cloud metadata)"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 0, 0, 0], 24, "reserved (IETF)"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([192, 88, 99, 0], 24, "reserved (6to4 relay)"),
        ([192, 168, 0, 0], 16, "private"),
        ([198, 18, 0, 0], 15, "reserved (benchmarking)"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([240, 0, 0, 0], 4, "reserved"),
    ];
    table
        .iter()
        .find(|(net, bits, _)| in_v4(ip, *net, *bits))
        .map(|(_, _, why)| *why)
}

fn blocked_v6(ip: Ipv6Addr, policy: Policy) -> Option<&'static str> {
    if ip.is_loopback() {
        return (!policy.allow_loopback).then_some("loopback");
    }
    if ip.is_unspecified() {
        return Some("reserved (unspecified)");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return blocked_v4(v4, policy);
    }
    let s = ip.segments();
    let [a, b, c, d, e, f, g, h] = s;
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address.
    if a == 0x64 && b == 0xff9b && c == 0 && d == 0 && e == 0 && f == 0 {
        return blocked_v4(
            Ipv4Addr::new((g >> 8) as u8, g as u8, (h >> 8) as u8, h as u8),
            policy,
        );
    }
    if a == 0x2002 {
        return blocked_v4(
            Ipv4Addr::new((b >> 8) as u8, b as u8, (c >> 8) as u8, c as u8),
            policy,
        );
    }
    if a == 0 && b == 0 && c == 0 && d == 0 && e == 0 && f == 0 {
        return Some("reserved (IPv4-compatible)");
    }
    match a {
        x if x & 0xfe00 == 0xfc00 => Some("private (unique local)"),
        x if x & 0xffc0 == 0xfe80 => Some("link-local"),
        x if x & 0xffc0 == 0xfec0 => Some("reserved (site-local)"),
        x if x & 0xff00 == 0xff00 => Some("multicast"),
        0x2001 if b == 0x0db8 => Some("documentation"),
        0x2001 if b < 0x0200 => Some("reserved (IETF)"),
        0x0100 if b == 0 && c == 0 && d == 0 => Some("reserved (discard)"),
        _ => None,
    }
}

/// What a DNS-over-HTTPS lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The name's addresses (A and AAAA records; aliases followed by the resolver).
    Addresses(Vec<IpAddr>),
    /// The name does not exist, or has no address.
    NoAddress,
}

/// Reads a DNS-over-HTTPS JSON answer (`application/dns-json`, RFC 8427 style as
/// public resolvers serve it): `Status` 0 with `Answer` records of type 1 (A) or
/// 28 (AAAA); any other status is a name that does not resolve. `None` when the
/// text is not such an answer.
pub fn read_doh_answer(answer: &serde_json::Value) -> Option<Resolved> {
    let status = answer.get("Status")?.as_i64()?;
    if status != 0 {
        return Some(Resolved::NoAddress);
    }
    let addresses: Vec<IpAddr> = answer
        .get("Answer")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| {
            matches!(
                r.get("type").and_then(serde_json::Value::as_i64),
                Some(1 | 28)
            )
        })
        .filter_map(|r| r.get("data")?.as_str()?.parse::<IpAddr>().ok())
        .collect();
    Some(if addresses.is_empty() {
        Resolved::NoAddress
    } else {
        Resolved::Addresses(addresses)
    })
}

/// The first address of `addresses` a delivery may not reach, with the reason.
pub fn first_blocked(addresses: &[IpAddr], policy: Policy) -> Option<(IpAddr, &'static str)> {
    addresses
        .iter()
        .find_map(|ip| blocked(*ip, policy).map(|why| (*ip, why)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: Policy = Policy {
        allow_loopback: false,
    };
    const LOCAL: Policy = Policy {
        allow_loopback: true,
    };

    #[test]
    fn addresses_are_judged_as_the_registries_say() {
        let cases: &[(&str, bool)] = &[
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("127.0.0.1", false),
            ("127.8.9.10", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("172.32.0.1", true),
            ("192.168.1.1", false),
            ("100.64.0.1", false),
            ("100.128.0.1", true),
            ("169.254.169.254", false),
            ("0.0.0.0", false),
            ("192.0.2.10", false),
            ("198.18.0.1", false),
            ("224.0.0.1", false),
            ("255.255.255.255", false),
            ("::1", false),
            ("::", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:8.8.8.8", true),
            ("64:ff9b::a00:1", false),
            ("64:ff9b::808:808", true),
            ("2002:c0a8:101::1", false),
            ("fd00::1", false),
            ("fe80::1", false),
            ("ff02::1", false),
            ("2001:db8::1", false),
            ("2606:4700:4700::1111", true),
        ];
        for (ip, allowed) in cases {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(
                blocked(ip, PUBLIC).is_none(),
                *allowed,
                "{ip}: {:?}",
                blocked(ip, PUBLIC)
            );
        }
        // Local development reaches loopback, and nothing else private.
        assert_eq!(blocked("127.0.0.1".parse().unwrap(), LOCAL), None);
        assert_eq!(blocked("::1".parse().unwrap(), LOCAL), None);
        assert!(blocked("10.0.0.1".parse().unwrap(), LOCAL).is_some());
    }

    #[test]
    fn urls_must_be_public_https_on_allowed_ports() {
        let ok = parse("url", "https://hooks.example.com/firmament?x=1", PUBLIC).unwrap();
        assert_eq!(
            (ok.host.as_str(), ok.port, ok.literal),
            ("hooks.example.com", 443, None)
        );
        assert_eq!(
            parse("url", "https://[2606:4700::1]:8443/h", PUBLIC)
                .unwrap()
                .port,
            8443
        );
        let refused: &[(&str, &str)] = &[
            ("http://hooks.example.com/", "scheme"),
            ("ftp://hooks.example.com/", "scheme"),
            ("hooks.example.com/x", "format"),
            ("https://user:pw@hooks.example.com/", "format"),
            ("https://hooks.example.com:22/", "port"),
            ("https://hooks.example.com:99999/", "format"),
            ("https://127.0.0.1/", "blocked_destination"),
            ("https://[::1]/", "blocked_destination"),
            (
                "https://169.254.169.254/latest/meta-data",
                "blocked_destination",
            ),
            ("https://localhost/", "blocked_destination"),
            ("https://db.internal/", "blocked_destination"),
            ("https://printer/", "blocked_destination"),
            ("https://exa mple.com/", "format"),
            ("https://hooks.example.com/a|b", "format"),
            ("https://hooks.example.com/%zz", "format"),
            ("https://hooks.example.com/caf\u{e9}", "format"),
            ("https://-bad-.example.com/", "format"),
            ("", "length"),
        ];
        for (url, rule) in refused {
            match parse("url", url, PUBLIC) {
                Err(DomainError::Validation(errs)) => assert_eq!(errs[0].rule, *rule, "{url}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        assert!(parse("url", "https://hooks.example.com/caf%C3%A9?q=[1]", PUBLIC).is_ok());
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert!(parse("url", &long, PUBLIC).is_err());
    }

    #[test]
    fn local_development_opts_in_to_loopback_over_http() {
        let d = parse("url", "http://127.0.0.1:8028/hooks", LOCAL).unwrap();
        assert_eq!((d.scheme.as_str(), d.port), ("http", 8028));
        assert!(parse("url", "http://localhost:9000/", LOCAL).is_ok());
        assert!(parse("url", "http://10.0.0.5:9000/", LOCAL).is_err());
    }

    #[test]
    fn resolver_answers_are_read_and_every_address_judged() {
        let answer = serde_json::json!({"Status": 0, "Answer": [
            {"name": "hooks.example.com.", "type": 5, "TTL": 60, "data": "edge.example.net."},
            {"name": "edge.example.net.", "type": 1, "TTL": 60, "data": "93.184.216.34"},
            {"name": "edge.example.net.", "type": 1, "TTL": 60, "data": "10.1.2.3"}
        ]});
        let Some(Resolved::Addresses(addrs)) = read_doh_answer(&answer) else {
            panic!("addresses expected")
        };
        assert_eq!(addrs.len(), 2);
        let (ip, why) = first_blocked(&addrs, Policy::default()).unwrap();
        assert_eq!((ip.to_string().as_str(), why), ("10.1.2.3", "private"));
        assert_eq!(
            read_doh_answer(&serde_json::json!({"Status": 3})),
            Some(Resolved::NoAddress)
        );
        assert_eq!(
            read_doh_answer(&serde_json::json!({"Status": 0})),
            Some(Resolved::NoAddress)
        );
        assert_eq!(read_doh_answer(&serde_json::json!({"nope": 1})), None);
        let public: Vec<IpAddr> = vec!["2606:4700::1111".parse().unwrap()];
        assert_eq!(first_blocked(&public, Policy::default()), None);
    }
}
