//! The client's address behind reverse proxies: [`TrustedProxies`], the networks whose
//! `X-Forwarded-For` (or `Forwarded: for=`) the server believes.
//!
//! Without trusted proxies (the default) the client address is the TCP peer and forwarding
//! headers are ignored: anyone can write them. When the peer is a trusted proxy, the address is
//! read from `X-Forwarded-For` right to left (each proxy appends the address it received from),
//! skipping addresses that are themselves trusted proxies: the first one that is not is the
//! client. What a client wrote itself sits to the left of what the proxies appended, so a forged
//! `X-Forwarded-For: 1.2.3.4` changes nothing. An entry that is not an address where the client
//! would be read (`unknown`, garbage) makes the answer the peer, as does a trusted peer that
//! forwarded nothing; when every entry is a trusted proxy, the left-most is the client.
//!
//! `X-Forwarded-For` is read when present; `Forwarded` (RFC 7239) only when it is not. A proxy
//! that writes `Forwarded` alone must drop any `X-Forwarded-For` its clients send.

use std::net::IpAddr;
use std::str::FromStr;

/// A network in CIDR notation: `10.0.0.0/8`, `2001:db8::/32`; a bare address is one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Text that is not a network in CIDR notation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a network such as 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32: {reason}")]
pub struct CidrError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason| CidrError {
            text: text.to_owned(),
            reason,
        };
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network = canonical(address.parse().map_err(|_| error("not an IP address"))?);
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or(error("prefix too long"))?,
            Some(_) => return Err(error("the prefix length is not a number")),
        };
        if mask(network, prefix) != network {
            return Err(error("host bits are set after the prefix"));
        }
        Ok(Self { network, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    /// Whether `address` is in the network (an IPv4-mapped IPv6 address as its IPv4 address).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        address.is_ipv4() == self.network.is_ipv4() && mask(address, self.prefix) == self.network
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports) as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    address.to_canonical()
}

/// `address` with the bits past `prefix` cleared.
fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4) & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::from(bits.to_be_bytes())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::from(bits.to_be_bytes())
        }
    }
}

/// The proxies whose forwarding headers are believed; none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Trusts proxies in these networks.
    pub fn new(networks: impl IntoIterator<Item = Cidr>) -> Self {
        Self(networks.into_iter().collect())
    }

    /// Whether no proxy is trusted (forwarding headers are ignored).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The networks trusted.
    pub fn networks(&self) -> &[Cidr] {
        &self.0
    }

    /// Whether `address` is a trusted proxy.
    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }

    /// The client's address for a request from `peer` carrying these `X-Forwarded-For` and
    /// `Forwarded` header values (in the order received): the peer unless it is trusted; else
    /// as the [module](self) says.
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        x_forwarded_for: impl IntoIterator<Item = &'a [u8]>,
        forwarded: impl IntoIterator<Item = &'a [u8]>,
    ) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let mut chain: Vec<Option<IpAddr>> = x_forwarded_for
            .into_iter()
            .flat_map(|value| value.split(|b| *b == b','))
            .map(|entry| std::str::from_utf8(entry).ok().and_then(address))
            .collect();
        if chain.is_empty() {
            chain = forwarded
                .into_iter()
                .flat_map(|value| value.split(|b| *b == b','))
                .map(|element| std::str::from_utf8(element).ok().and_then(forwarded_for))
                .collect();
        }
        let mut client = peer;
        for entry in chain.into_iter().rev() {
            match entry {
                None => return peer,
                Some(address) if self.contains(address) => client = address,
                Some(address) => return address,
            }
        }
        client
    }
}

/// An address as proxies write it: `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, with or
/// without a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return inside.parse::<IpAddr>().ok().filter(IpAddr::is_ipv6).map(canonical);
    }
    let (host, port) = text.split_once(':')?;
    is_port(port).then(|| host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4))?
}

fn is_port(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<u16>().is_ok()
}

/// The address of a `Forwarded` element's `for=` (quoted or not); `None` without one, or for
/// `unknown` and obfuscated names.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        address(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(networks: &[&str]) -> TrustedProxies {
        TrustedProxies::new(networks.iter().map(|n| n.parse().unwrap()))
    }

    fn client(trusted: &TrustedProxies, peer: &str, xff: &[&str], forwarded: &[&str]) -> IpAddr {
        trusted.client(
            ip(peer),
            xff.iter().map(|v| v.as_bytes()),
            forwarded.iter().map(|v| v.as_bytes()),
        )
    }

    #[test]
    fn networks_are_parsed_and_matched() {
        let ten: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(ten.contains(ip("10.200.3.4")));
        assert!(ten.contains(ip("::ffff:10.1.1.1")));
        assert!(!ten.contains(ip("11.0.0.1")));
        let host: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(host.to_string(), "127.0.0.1/32");
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")) && !all.contains(ip("::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "10.0.0.0/",
            "10.0.0.0/x",
            "example.com",
            "::/129",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        let error = "10.0.0.1/8".parse::<Cidr>().unwrap_err().to_string();
        assert!(error.contains("host bits"), "{error}");
    }

    #[test]
    fn without_trusted_proxies_the_headers_are_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            client(&none, "203.0.113.9", &["1.2.3.4"], &["for=1.2.3.4"]),
            ip("203.0.113.9")
        );
        // A peer outside the list is not believed either.
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(client(&trusted, "203.0.113.9", &["1.2.3.4"], &[]), ip("203.0.113.9"));
    }

    #[test]
    fn the_chain_is_read_right_to_left_past_trusted_proxies() {
        let trusted = proxies(&["10.0.0.0/8", "127.0.0.1/32"]);
        assert_eq!(
            client(&trusted, "127.0.0.1", &["198.51.100.7"], &[]),
            ip("198.51.100.7")
        );
        // A forged left part changes nothing.
        assert_eq!(
            client(&trusted, "127.0.0.1", &["1.2.3.4, 198.51.100.7"], &[]),
            ip("198.51.100.7")
        );
        // Proxies in the list are skipped; several headers are one list.
        assert_eq!(
            client(&trusted, "127.0.0.1", &["1.2.3.4, 198.51.100.7", "10.0.0.5"], &[]),
            ip("198.51.100.7")
        );
        // Ports and brackets as some proxies write them.
        assert_eq!(
            client(&trusted, "127.0.0.1", &["198.51.100.7:4711"], &[]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client(&trusted, "127.0.0.1", &["[2001:db8::7]:4711"], &[]),
            ip("2001:db8::7")
        );
        // Only trusted proxies: the left-most.
        assert_eq!(
            client(&trusted, "127.0.0.1", &["10.0.0.9, 10.0.0.5"], &[]),
            ip("10.0.0.9")
        );
        // Nothing forwarded, or garbage where the client would be read: the peer.
        assert_eq!(client(&trusted, "127.0.0.1", &[], &[]), ip("127.0.0.1"));
        assert_eq!(
            client(&trusted, "127.0.0.1", &["1.2.3.4, unknown"], &[]),
            ip("127.0.0.1")
        );
        assert_eq!(client(&trusted, "127.0.0.1", &["198.51.100.7, "], &[]), ip("127.0.0.1"));
        assert_eq!(client(&trusted, "127.0.0.1", &["1.2.3.4:99999"], &[]), ip("127.0.0.1"));
        // Garbage to the left of the client is never read.
        assert_eq!(
            client(&trusted, "127.0.0.1", &["<script>, 198.51.100.7"], &[]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn forwarded_is_read_when_x_forwarded_for_is_absent() {
        let trusted = proxies(&["127.0.0.1/32"]);
        assert_eq!(
            client(
                &trusted,
                "127.0.0.1",
                &[],
                &[r#"for=1.2.3.4, For="[2001:db8::7]:4711";proto=https"#]
            ),
            ip("2001:db8::7")
        );
        assert_eq!(
            client(&trusted, "127.0.0.1", &[], &["for=198.51.100.7;by=127.0.0.1"]),
            ip("198.51.100.7")
        );
        assert_eq!(client(&trusted, "127.0.0.1", &[], &["for=unknown"]), ip("127.0.0.1"));
        assert_eq!(client(&trusted, "127.0.0.1", &[], &["proto=https"]), ip("127.0.0.1"));
        // X-Forwarded-For wins when both are there.
        assert_eq!(
            client(&trusted, "127.0.0.1", &["198.51.100.7"], &["for=1.2.3.4"]),
            ip("198.51.100.7")
        );
    }
}
