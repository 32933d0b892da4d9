//! How long and how many connections a server keeps: [`ConnectionLimits`], so that slow, idle
//! and hostile clients cannot hold what the others need.
//!
//! The settings a deployment may want to change (timeouts and connection caps) are fields of
//! [`ConnectionLimits`]; the protocol limits below are fixed, sized for what Entra's and Key
//! Vault's clients send (a few kilobytes of headers, a handful of concurrent requests).

use std::time::Duration;

use crate::settings::SettingsError;

/// A client has this long to complete the TLS handshake after its TCP connection is accepted.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP/1.1 client has this long, from the first byte of a request, to send the whole head
/// (request line and headers): slow-loris clients that trickle header lines are closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection with no request in flight is closed after this long (HTTP/1.1 keep-alive and
/// HTTP/2 alike; HTTP/2 clients get a GOAWAY first): nginx's `keepalive_timeout`, long enough
/// that pooled connections of busy clients are reused, short enough that idle ones go.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);

/// At most this many connections are open at once; more are closed as soon as they are accepted.
pub const MAX_CONNECTIONS: usize = 2048;

/// At most this many connections are open at once from one client address (loopback included;
/// an IPv6 client is its /64 network); more are closed as soon as they are accepted.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 256;

/// At most this many header fields in an HTTP/1.1 request head (hyper's default, made explicit).
pub(crate) const MAX_HEADERS: usize = 100;

/// An HTTP/1.1 request head, or an HTTP/2 header list, is at most this many bytes; a larger
/// one is refused (431 for HTTP/1.1, a stream error for HTTP/2). Also the largest HTTP/1.1 read
/// buffer a connection holds.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;

/// At most this many HTTP/2 requests in flight on one connection (nginx's default is 128).
pub(crate) const H2_MAX_CONCURRENT_STREAMS: u32 = 128;

/// Rapid reset (CVE-2023-44487): a connection whose client resets more than this many streams
/// that the server has not yet accepted is closed with a GOAWAY.
pub(crate) const H2_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;

/// A connection that makes the server reset more than this many streams for the client's
/// protocol errors is closed with a GOAWAY.
pub(crate) const H2_MAX_LOCAL_ERROR_RESET_STREAMS: usize = 256;

/// The server pings an HTTP/2 client this often, to find dead peers that keep a request open.
pub(crate) const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// An HTTP/2 client that does not answer a ping within this long is closed.
pub(crate) const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a connection closed for idleness may take to say goodbye (a GOAWAY, a response in
/// the last moment) before it is dropped.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The timeouts and caps of a server's connections; [`Default`] gives the constants of this
/// module. Tests and load generators shorten the timeouts or raise the caps:
///
/// ```
/// # use std::time::Duration;
/// let mut limits = keyward_server::ConnectionLimits::default();
/// limits.max_connections_per_address = 4096;
/// let settings = keyward_server::ServeSettings::new("keyward-data").connection_limits(limits)?;
/// # Ok::<(), keyward_server::SettingsError>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a TLS handshake may take ([`TLS_HANDSHAKE_TIMEOUT`]).
    pub tls_handshake_timeout: Duration,
    /// How long an HTTP/1.1 request head may take from its first byte ([`HEADER_READ_TIMEOUT`]).
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request in flight ([`IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// Connections open at once, in total ([`MAX_CONNECTIONS`]).
    pub max_connections: usize,
    /// Connections open at once from one client address ([`MAX_CONNECTIONS_PER_ADDRESS`]).
    pub max_connections_per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            tls_handshake_timeout: TLS_HANDSHAKE_TIMEOUT,
            header_read_timeout: HEADER_READ_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            max_connections_per_address: MAX_CONNECTIONS_PER_ADDRESS,
        }
    }
}

impl ConnectionLimits {
    /// Refuses a zero timeout or cap: no client could connect, or finish a request.
    pub(crate) fn check(self) -> Result<Self, SettingsError> {
        let zero = [
            ("the TLS handshake timeout", self.tls_handshake_timeout.is_zero()),
            ("the header read timeout", self.header_read_timeout.is_zero()),
            ("the idle timeout", self.idle_timeout.is_zero()),
            ("the connection cap", self.max_connections == 0),
            ("the per-address connection cap", self.max_connections_per_address == 0),
        ];
        match zero.into_iter().find(|(_, zero)| *zero) {
            Some((limit, _)) => Err(SettingsError::ZeroConnectionLimit { limit }),
            None => Ok(self),
        }
    }
}
