//! Who is asking and under which name: address ranges of trusted proxies, the client address
//! behind them, and the host names `/mcp` answers to.
//!
//! A leaf module (no imports from the crate), so the configuration can parse into these types.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The proxies trusted by default: loopback and the private ranges pods and Services use.
pub const DEFAULT_TRUSTED_PROXIES: &str =
    "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7";

/// An address range such as `10.0.0.0/8` or `fc00::/7`; a bare address is a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ADDRESS[/PREFIX]`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let (addr, prefix) = match value.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (value, None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("{value:?} is not an IP address or ADDRESS/PREFIX range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{value:?} has a prefix length outside 0-{max}"))?,
        };
        Ok(Self { network, prefix })
    }

    /// Parses a comma-separated list; `none` is the empty list.
    pub fn parse_list(value: &str) -> Result<Vec<Self>, String> {
        if value.trim().eq_ignore_ascii_case("none") {
            return Ok(Vec::new());
        }
        value
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Self::parse)
            .collect()
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, canonical(addr)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// IPv4 addresses written as IPv6 (`::ffff:10.0.0.1`) become plain IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the nearest
/// address in `X-Forwarded-For` (read from the right) that is not a trusted proxy itself.
///
/// `forwarded_for` holds the header's values in order. An entry that is not an address ends the
/// walk at the last trusted hop, so a garbled header can only make the proxy the client.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &[Cidr],
) -> IpAddr {
    let is_trusted = |a: IpAddr| trusted.iter().any(|c| c.contains(a));
    let mut client = canonical(peer);
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
    for hop in hops.iter().rev() {
        let Some(addr) = parse_hop(hop) else {
            break;
        };
        client = canonical(addr);
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:567`, `2001:db8::1` or `[2001:db8::1]:567`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(addr) = hop.parse::<IpAddr>() {
        return Some(addr);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (addr, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    addr.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The key a client address is counted under: the address, or its /64 for IPv6 (one host
/// usually holds a whole /64).
pub fn rate_key(addr: IpAddr) -> IpAddr {
    match canonical(addr) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// The host names `/mcp` answers to, against DNS rebinding: a page on `evil.example` whose name
/// resolves to the backend must not reach it through the victim's browser.
///
/// Allowed by default: `localhost`, any IP address (a rebinding page always uses a name), a name
/// without dots (a Service in the same namespace, `todo-chatbot-backend`), and names ending in
/// `.svc` or `.svc.cluster.local` (a Service in any namespace). `extra` adds exact names, or
/// every subdomain for an entry that starts with a dot (`.example.com`); `*` turns the check off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAllowList {
    any: bool,
    extra: Vec<String>,
}

impl HostAllowList {
    /// Parses `MCP_ALLOWED_HOSTS`: comma-separated names, `.suffix` entries, or `*`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut list = Self::default();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                list.any = true;
                continue;
            }
            let name = entry.trim_end_matches('.').to_ascii_lowercase();
            let label_ok = |l: &str| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            };
            let body = name.strip_prefix('.').unwrap_or(&name);
            if !body.split('.').all(label_ok) {
                return Err(format!(
                    "{entry:?} is not a host name (letters, digits, '-' and '.'), a .suffix or *"
                ));
            }
            list.extra.push(name);
        }
        Ok(list)
    }

    /// Whether a request with this `Host` value (port allowed) may reach `/mcp`.
    pub fn allows(&self, host: &str) -> bool {
        if self.any {
            return true;
        }
        let Some(name) = host_name(host) else {
            return false;
        };
        if name.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || !name.contains('.')
            || name.ends_with(".svc")
            || name.ends_with(".svc.cluster.local")
        {
            return true;
        }
        self.extra.iter().any(|e| {
            if e.starts_with('.') {
                name.ends_with(e.as_str())
            } else {
                *e == name
            }
        })
    }

    /// The configured extra names, for the start-up log.
    pub fn describe(&self) -> String {
        if self.any {
            "*".to_owned()
        } else {
            self.extra.join(",")
        }
    }
}

/// The name of a `Host` value without port or brackets, lower-cased, without a trailing dot;
/// `None` when it is not a well-formed host.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':')?.parse::<u16>().is_ok()) {
            return None;
        }
        inside.parse::<Ipv6Addr>().ok()?;
        inside
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => {
                port.parse::<u16>().ok()?;
                name
            }
            None => host,
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':'));
    ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn ranges_contain_their_addresses() {
        let list = Cidr::parse_list(DEFAULT_TRUSTED_PROXIES).expect("default list parses");
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.31.255.1",
            "192.168.0.9",
            "::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(list.iter().any(|c| c.contains(ip(inside))), "{inside}");
        }
        for outside in ["8.8.8.8", "172.32.0.1", "2001:db8::1", "11.0.0.1"] {
            assert!(!list.iter().any(|c| c.contains(ip(outside))), "{outside}");
        }
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("all")
                .contains(ip("1.2.3.4"))
        );
        assert!(Cidr::parse("1.2.3.4").expect("one").contains(ip("1.2.3.4")));
        assert!(!Cidr::parse("1.2.3.4").expect("one").contains(ip("1.2.3.5")));
        assert_eq!(Cidr::parse_list("none"), Ok(Vec::new()));
        for bad in ["10.0.0.0/33", "fc00::/129", "example.com", "10.0.0.0/x", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted = Cidr::parse_list("10.0.0.0/8").expect("list");
        // Straight from the internet: the header is the client's own claim and is ignored.
        assert_eq!(
            client_address(ip("8.8.8.8"), ["1.1.1.1"].into_iter(), &trusted),
            ip("8.8.8.8")
        );
        // Through the frontend (10.0.0.5): its appended entry is the client.
        assert_eq!(
            client_address(ip("10.0.0.5"), ["9.9.9.9"].into_iter(), &trusted),
            ip("9.9.9.9")
        );
        // A client-supplied entry left of the real one does not win.
        assert_eq!(
            client_address(ip("10.0.0.5"), ["6.6.6.6, 9.9.9.9"].into_iter(), &trusted),
            ip("9.9.9.9")
        );
        // Through an ingress (10.0.0.7) and the frontend: walk past both.
        assert_eq!(
            client_address(
                ip("10.0.0.5"),
                ["6.6.6.6", "9.9.9.9:4444, 10.0.0.7"].into_iter(),
                &trusted
            ),
            ip("9.9.9.9")
        );
        // Garbage ends the walk at the last trusted hop.
        assert_eq!(
            client_address(ip("10.0.0.5"), ["nonsense"].into_iter(), &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), std::iter::empty(), &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), ["[2001:db8::7]:80"].into_iter(), &trusted),
            ip("2001:db8::7")
        );
        // With no trusted proxies the header never counts.
        assert_eq!(
            client_address(ip("10.0.0.5"), ["9.9.9.9"].into_iter(), &[]),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        assert_eq!(rate_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(rate_key(ip("1.2.3.4")), ip("1.2.3.4"));
        assert_eq!(rate_key(ip("::ffff:1.2.3.4")), ip("1.2.3.4"));
    }

    #[test]
    fn hosts_allowed_by_default_and_by_configuration() {
        let list = HostAllowList::default();
        for ok in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:8000",
            "[::1]:8000",
            "10.96.0.12",
            "todo-chatbot-backend:8000",
            "todo-chatbot-backend.todo.svc.cluster.local:8000",
            "todo-chatbot-backend.todo.svc",
            "LOCALHOST.",
        ] {
            assert!(list.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8000",
            "svc.cluster.local.evil.example",
            "",
            "a b",
            "x:y:z",
            "[::1",
        ] {
            assert!(!list.allows(bad), "{bad:?}");
        }
        let list = HostAllowList::parse("mcp.example.com, .corp.example").expect("parses");
        assert!(list.allows("mcp.example.com:443"));
        assert!(list.allows("a.corp.example"));
        assert!(!list.allows("corp.example.evil"));
        assert!(!list.allows("evil.example"));
        assert!(
            HostAllowList::parse("*")
                .expect("star")
                .allows("evil.example")
        );
        assert!(HostAllowList::parse("bad host").is_err());
        assert!(HostAllowList::parse("a/b").is_err());
    }
}
