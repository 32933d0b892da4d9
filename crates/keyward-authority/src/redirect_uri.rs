//! Which redirect URIs an application may register: `https://` anywhere, plain `http://`
//! only to the loopback hosts themselves (`localhost`, `127.0.0.1`, `[::1]`), what native
//! and development clients listen on. A code sent over plain HTTP to any other host can be
//! read on the way.
//!
//! The URI is parsed as a browser parses it and its host compared whole: a prefix check lets
//! through `http://localhost.evil.example/` (another host), `http://localhost@evil.example/`
//! (a user name in front of another host) and `http://127.0.0.1.nip.io/` (a public name).

use url::{Host, Url};

/// The longest redirect URI accepted, in bytes.
pub const MAX_LEN: usize = 256;

/// Why a redirect URI cannot be registered.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Longer than [`MAX_LEN`].
    #[error("is longer than {MAX_LEN} characters")]
    TooLong,
    /// Has a fragment (`#...`), which the response would be appended after.
    #[error("must not have a fragment (#...)")]
    Fragment,
    /// Not an absolute URL.
    #[error("is not a valid absolute URL")]
    NotAbsolute,
    /// Plain `http://` to another host than the loopback ones.
    #[error("must be https://; plain http:// is only for localhost, 127.0.0.1 and [::1]")]
    PlainHttpNotLoopback,
    /// Neither `https://` nor `http://`.
    #[error("must be https:// (or http://localhost)")]
    NotHttps,
}

/// Why a redirect URI cannot be registered; `None` when it can.
pub fn problem(uri: &str) -> Option<Problem> {
    if uri.len() > MAX_LEN {
        return Some(Problem::TooLong);
    }
    if uri.contains('#') {
        return Some(Problem::Fragment);
    }
    let Ok(url) = Url::parse(uri) else {
        return Some(Problem::NotAbsolute);
    };
    match url.scheme() {
        "https" if url.host().is_some() => None,
        "http" if is_loopback(&url) => None,
        "http" => Some(Problem::PlainHttpNotLoopback),
        _ => Some(Problem::NotHttps),
    }
}

/// Whether `uri` may be registered as a redirect URI.
pub fn allowed(uri: &str) -> bool {
    problem(uri).is_none()
}

/// Whether a redirect URI a request names matches one registered: exactly, or, for plain
/// `http://` to a loopback host, whatever the port (RFC 8252 §7.3, as Entra does for native
/// apps such as the Azure CLI, which listen on a port the system picks): same host, same path
/// and query, any port.
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(registered), Ok(requested)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    registered.scheme() == "http"
        && requested.scheme() == "http"
        && is_loopback(&registered)
        && is_loopback(&requested)
        && registered.host() == requested.host()
        && registered.path() == requested.path()
        && registered.query() == requested.query()
        && requested.fragment().is_none()
}

/// A loopback host, named exactly, and no user name or password before it.
fn is_loopback(url: &Url) -> bool {
    let host = match url.host() {
        Some(Host::Domain(name)) => name == "localhost",
        Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    };
    host && url.username().is_empty() && url.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_for_the_loopback_hosts_exactly() {
        for ok in [
            "http://localhost",
            "http://localhost/",
            "http://localhost:3000/auth/redirect",
            "http://localhost:5000/cb?x=1",
            "http://127.0.0.1:8400/",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
        ] {
            assert!(allowed(ok), "{ok}: {:?}", problem(ok));
        }
        for evil in [
            "http://localhost.evil.example/cb",
            "http://localhost@evil.example/cb",
            "http://localhost:3000@evil.example/cb",
            "http://127.0.0.1.nip.io/cb",
            "http://127.0.0.1@evil.example/cb",
            "http://user@localhost/cb",
            "http://user:pw@127.0.0.1/cb",
            "http://localhost./cb",
            "http://evil.example/cb",
            "http://[::2]/cb",
            "http://10.0.0.1/cb",
            "http://localhostevil.example/cb",
        ] {
            let problem = problem(evil).unwrap_or_else(|| panic!("{evil} was accepted"));
            assert_eq!(problem, Problem::PlainHttpNotLoopback, "{evil}");
            assert!(problem.to_string().contains("only for localhost, 127.0.0.1 and [::1]"));
        }
    }

    #[test]
    fn a_loopback_redirect_uri_matches_on_any_port_and_nothing_else_does() {
        assert!(matches("http://localhost", "http://localhost:49152/"));
        assert!(matches("http://localhost/", "http://localhost:8400/"));
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:5000/cb"));
        assert!(matches("https://app.example/cb", "https://app.example/cb"));
        // Scheme and host are case-insensitive (RFC 3986 §6.2.2.1): the browser lands on the same
        // loopback URI (found by the redirect_uri fuzz target, whose check predated the any-port rule).
        assert!(matches(
            "http://localhost:3000/redirect",
            "HTTP://LOCALHOST:3000/redirect"
        ));
        for (registered, requested) in [
            ("http://localhost", "http://127.0.0.1:49152/"),
            ("http://localhost/cb", "http://localhost:49152/other"),
            ("http://localhost", "http://localhost.evil.example:49152/"),
            ("http://localhost", "http://user@localhost:49152/"),
            ("https://localhost/cb", "https://localhost:8443/cb"),
            ("https://app.example/cb", "https://app.example:444/cb"),
            ("http://localhost/cb?x=1", "http://localhost:1/cb?x=2"),
        ] {
            assert!(!matches(registered, requested), "{registered} / {requested}");
        }
    }

    #[test]
    fn https_anywhere_without_a_fragment_and_not_too_long() {
        assert!(allowed("https://app.example/auth/redirect"));
        assert!(allowed("https://localhost:3000/"));
        assert!(!allowed("https://app.example/cb#x"));
        assert!(!allowed(&format!("https://app.example/{}", "x".repeat(256))));
        for other in ["ftp://app.example/", "javascript:alert(1)", "/relative", "", "https://"] {
            assert!(!allowed(other), "{other}");
        }
    }
}
