//! The HTTPS listener: accepts TCP connections within the caps, completes TLS within a deadline,
//! serves HTTP/1.1 and HTTP/2 with hyper, closes connections that stall in a request head or
//! stay idle, and on shutdown lets requests in flight finish for a grace period.
//!
//! Each connection has a watchdog over its [`Activity`]: idle (no request in flight) since some
//! instant, reading an HTTP/1.1 head since its first byte, or busy with requests. Bytes alone do
//! not keep a connection alive: a client trickling header lines, or pinging an HTTP/2 connection,
//! is still closed on time.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_rustls::TlsAcceptor;

use crate::limits::{self, ConnectionLimits};

/// How long the accept loop waits after a failed accept (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `app` over TLS on `listener` in a task of its own, until `shutdown` completes; then
/// requests in flight get `grace` to finish before their connections are dropped.
pub(crate) fn serve(
    app: Router,
    tls: Arc<rustls::ServerConfig>,
    listener: std::net::TcpListener,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> JoinHandle<io::Result<()>> {
    tokio::spawn(async move {
        let listener = TcpListener::from_std(listener)?;
        let shared = Arc::new(Shared {
            app,
            tls: TlsAcceptor::from(tls),
            http: http(),
            limits,
            admission: Arc::new(Admission::default()),
        });
        let (stage, _) = watch::channel(Stage::Serving);
        tokio::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(_) => {
                        sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
            };
            // Beyond a cap the connection is closed at once (dropped), before any TLS work.
            let Some(ticket) = shared.admission.admit(peer.ip(), &shared.limits) else {
                continue;
            };
            // TCP_NODELAY: without it a response written after the TLS session ticket waits for
            // the client's delayed ACK, about 40 ms on a new connection.
            if tcp.set_nodelay(true).is_err() {
                continue;
            }
            tokio::spawn(connection(Arc::clone(&shared), tcp, peer, ticket, stage.subscribe()));
        }
        // No more connections; those open finish their requests, then close.
        drop(listener);
        stage.send_replace(Stage::Draining);
        if timeout(grace, stage.closed()).await.is_err() {
            stage.send_replace(Stage::Closing);
            stage.closed().await;
        }
        Ok(())
    })
}

/// What every connection of a listener shares.
struct Shared {
    app: Router,
    tls: TlsAcceptor,
    http: Builder<TokioExecutor>,
    limits: ConnectionLimits,
    admission: Arc<Admission>,
}

/// Where the server is in its life, as its connections see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Serving.
    Serving,
    /// Shutting down: finish the requests in flight, then close.
    Draining,
    /// The grace period is over: close now.
    Closing,
}

/// Returns once the server is past `stage` (or gone).
async fn past(stage: &mut watch::Receiver<Stage>, now: Stage) {
    let _ = stage.wait_for(|stage| *stage as u8 > now as u8).await;
}

/// HTTP/1.1 and HTTP/2 as hyper serves them here, with the limits of [`crate::limits`].
fn http() -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    // No timer for HTTP/1: hyper's own header_read_timeout would run from the moment a
    // connection waits for a request, closing idle keep-alive connections with it; the
    // watchdog times heads from their first byte instead.
    builder
        .http1()
        .max_headers(limits::MAX_HEADERS)
        .max_buf_size(limits::MAX_HEAD_BYTES)
        // One buffer per HTTP/1 response, so one TLS record and, with TCP_NODELAY, one segment.
        .writev(false);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits::H2_MAX_CONCURRENT_STREAMS)
        .max_header_list_size(u32::try_from(limits::MAX_HEAD_BYTES).unwrap_or(u32::MAX))
        .max_pending_accept_reset_streams(limits::H2_MAX_PENDING_ACCEPT_RESET_STREAMS)
        .max_local_error_reset_streams(limits::H2_MAX_LOCAL_ERROR_RESET_STREAMS)
        .keep_alive_interval(limits::H2_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(limits::H2_KEEP_ALIVE_TIMEOUT);
    builder
}

/// One connection: TLS within its deadline, then HTTP until the client closes, the watchdog
/// closes it, or the server shuts down.
async fn connection(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    _ticket: Ticket,
    mut stage: watch::Receiver<Stage>,
) {
    let limits = shared.limits;
    let tls = tokio::select! {
        handshake = timeout(limits.tls_handshake_timeout, shared.tls.accept(tcp)) => match handshake {
            Ok(Ok(tls)) => tls,
            _ => return,
        },
        () = past(&mut stage, Stage::Serving) => return,
    };
    // HTTP/2 as negotiated by ALPN. A client speaking HTTP/2 without ALPN (prior knowledge over
    // TLS, which no client of Keyward does) is timed as HTTP/1.1: its frames on an idle
    // connection start a head, so it is closed after the header read timeout unless it asks.
    let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: tls,
        activity: Arc::clone(&activity),
        times_heads: !http2,
    });
    let service = Service {
        app: shared.app.clone(),
        peer,
        activity: Arc::clone(&activity),
    };
    let connection = shared.http.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    loop {
        let deadline = activity.deadline(&limits);
        tokio::select! {
            _ = connection.as_mut() => return,
            () = past(&mut stage, Stage::Serving) => break,
            () = sleep_until(deadline) => match activity.expired(&limits) {
                // A head that never completes: nothing to say goodbye to.
                Some(Expired::Head) => return,
                Some(Expired::Idle) => {
                    connection.as_mut().graceful_shutdown();
                    timeout(limits::CLOSE_GRACE, connection.as_mut()).await.ok();
                    return;
                }
                None => {}
            },
        }
    }
    // The server shuts down: a GOAWAY (HTTP/2) or `Connection: close` (HTTP/1.1), then the
    // requests in flight finish, unless the grace period ends first.
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        _ = connection.as_mut() => {}
        () = past(&mut stage, Stage::Draining) => {}
    }
}

/// What a connection is doing, for its watchdog.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request in flight since this instant.
    Idle(Instant),
    /// Reading an HTTP/1.1 request head whose first byte came at this instant.
    Head(Instant),
    /// This many requests in flight.
    Busy(usize),
}

/// Why the watchdog closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expired {
    /// An HTTP/1.1 head took longer than the header read timeout.
    Head,
    /// No request was in flight for the idle timeout.
    Idle,
}

/// A connection's [`Phase`]. The watchdog is never woken by a change of it: it looks again at
/// the earliest moment a limit could run out (see [`Activity::deadline`]), so a request costs
/// no wake-up and no timer of its own.
struct Activity {
    phase: Mutex<Phase>,
}

impl Activity {
    fn new() -> Self {
        Self {
            phase: Mutex::new(Phase::Idle(Instant::now())),
        }
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived on an HTTP/1.1 connection: if it was idle, a head begins.
    fn read(&self) {
        let mut phase = self.phase();
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
        }
    }

    /// A request reached the application; the connection is busy until the guard drops.
    fn begin(self: &Arc<Self>) -> Busy {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            Phase::Idle(_) | Phase::Head(_) => Phase::Busy(1),
        };
        Busy(Arc::clone(self))
    }

    /// When the watchdog must look again: when the current phase's limit runs out, and, while no
    /// head is being read, no later than one header timeout from now, since a head that begins
    /// meanwhile must be closed on time. (So a connection's watchdog wakes at most once per
    /// header timeout, whatever its traffic.)
    fn deadline(&self, limits: &ConnectionLimits) -> Instant {
        let now = Instant::now();
        match *self.phase() {
            Phase::Idle(since) => (since + limits.idle_timeout).min(now + limits.header_read_timeout),
            Phase::Head(since) => since + limits.header_read_timeout,
            Phase::Busy(_) => now + limits.header_read_timeout,
        }
    }

    /// Whether a limit has run out.
    fn expired(&self, limits: &ConnectionLimits) -> Option<Expired> {
        let now = Instant::now();
        match *self.phase() {
            Phase::Idle(since) if now >= since + limits.idle_timeout => Some(Expired::Idle),
            Phase::Head(since) if now >= since + limits.header_read_timeout => Some(Expired::Head),
            _ => None,
        }
    }
}

/// A request in flight; dropping it (the response is ready, or the request was cancelled)
/// makes the connection idle when it was the last.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        *phase = match *phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        };
    }
}

/// The application as one connection's hyper service: each request carries the client's
/// address (`ConnectInfo<SocketAddr>`, for throttling) and counts as activity.
#[derive(Clone)]
struct Service {
    app: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        if let Some(uri) = without_empty_segments(request.uri()) {
            *request.uri_mut() = uri;
        }
        let busy = self.activity.begin();
        // A Router is always ready: no poll_ready needed.
        let answer = tower_service::Service::call(&mut self.app.clone(), request);
        Box::pin(async move {
            let response = answer.await;
            drop(busy);
            response
        })
    }
}

/// The URI with runs of `/` in its path made one, as Entra reads them (MSAL Python asks for
/// `/contoso//v2.0/.well-known/openid-configuration` when the authority ends with `/`); `None`
/// when the path has none (the common case, which allocates nothing).
fn without_empty_segments(uri: &axum::http::Uri) -> Option<axum::http::Uri> {
    let path = uri.path();
    if !path.contains("//") {
        return None;
    }
    let mut collapsed = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && collapsed.ends_with('/')) {
            collapsed.push(c);
        }
    }
    if let Some(query) = uri.query() {
        collapsed.push('?');
        collapsed.push_str(query);
    }
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = collapsed.parse().ok();
    axum::http::Uri::from_parts(parts).ok()
}

/// A connection's stream, telling its [`Activity`] when the bytes of an HTTP/1.1 head arrive.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
    /// HTTP/1.1: bytes on an idle connection start a head. (HTTP/2 frames such as pings and
    /// window updates come at any time; an HTTP/2 connection is timed by its requests only.)
    times_heads: bool,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.times_heads && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The connections open, in total and per client address.
#[derive(Default)]
struct Admission {
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Admission {
    /// A ticket for one more connection from `address`, unless a cap is reached.
    fn admit(self: &Arc<Self>, address: IpAddr, limits: &ConnectionLimits) -> Option<Ticket> {
        let address = client_of(address);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let from_address = open.by_address.get(&address).copied().unwrap_or(0);
        if open.total >= limits.max_connections || from_address >= limits.max_connections_per_address {
            return None;
        }
        open.total += 1;
        open.by_address.insert(address, from_address + 1);
        Some(Ticket {
            admission: Arc::clone(self),
            address,
        })
    }
}

/// The client an address stands for, as the per-address cap counts: an IPv4 address (also when
/// it reaches an IPv6 socket as `::ffff:a.b.c.d`), or an IPv6 /64 network, the least that one
/// host is given (RFC 6177) and can pick addresses from at will.
fn client_of(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) if !v6.is_loopback() => {
            IpAddr::V6(std::net::Ipv6Addr::from(v6.to_bits() & !((1u128 << 64) - 1)))
        }
        other => other,
    }
}

/// One open connection, counted until it drops.
struct Ticket {
    admission: Arc<Admission>,
    address: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self.admission.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_path_segments_are_read_as_entra_reads_them() {
        let collapsed = |uri: &str| without_empty_segments(&uri.parse().unwrap()).map(|u| u.to_string());
        assert_eq!(
            collapsed("/contoso//v2.0/.well-known/openid-configuration").as_deref(),
            Some("/contoso/v2.0/.well-known/openid-configuration")
        );
        assert_eq!(
            collapsed("https://login.microsoftonline.com//contoso///oauth2/v2.0/token?a=b//c").as_deref(),
            Some("https://login.microsoftonline.com/contoso/oauth2/v2.0/token?a=b//c")
        );
        assert_eq!(collapsed("/contoso/v2.0/.well-known/openid-configuration"), None);
        assert_eq!(collapsed("/?x=//"), None);
    }

    #[test]
    fn caps_count_per_address_and_in_total_and_free_on_drop() {
        let limits = ConnectionLimits {
            max_connections: 3,
            max_connections_per_address: 2,
            ..ConnectionLimits::default()
        };
        let admission = Arc::new(Admission::default());
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = admission.admit(a, &limits).unwrap();
        let _second = admission.admit(mapped, &limits).unwrap();
        assert!(
            admission.admit(a, &limits).is_none(),
            "per address, IPv4-mapped included"
        );
        let _third = admission.admit(b, &limits).unwrap();
        assert!(admission.admit(b, &limits).is_none(), "in total");
        drop(first);
        assert!(admission.admit(a, &limits).is_some());
    }

    #[test]
    fn an_ipv6_client_is_its_64_network() {
        let client = |a: &str| client_of(a.parse().unwrap()).to_string();
        assert_eq!(client("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(client("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::");
        assert_eq!(client("2001:db8:1:3::1"), "2001:db8:1:3::");
        assert_eq!(client("::1"), "::1");
        assert_eq!(client("::ffff:192.0.2.7"), "192.0.2.7");
    }

    #[tokio::test(start_paused = true)]
    async fn heads_are_timed_from_their_first_byte_and_idleness_from_the_last_request() {
        let limits = ConnectionLimits {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(10),
            ..ConnectionLimits::default()
        };
        let activity = Arc::new(Activity::new());
        sleep(Duration::from_secs(5)).await;
        assert_eq!(activity.expired(&limits), None);
        activity.read();
        sleep(Duration::from_secs(1)).await;
        activity.read();
        assert_eq!(activity.expired(&limits), None);
        sleep(Duration::from_secs(1)).await;
        assert_eq!(
            activity.expired(&limits),
            Some(Expired::Head),
            "more bytes do not extend it"
        );

        let busy = activity.begin();
        sleep(Duration::from_secs(30)).await;
        assert_eq!(activity.expired(&limits), None, "a request in flight is not idleness");
        drop(busy);
        sleep(Duration::from_secs(9)).await;
        assert_eq!(activity.expired(&limits), None);
        sleep(Duration::from_secs(1)).await;
        assert_eq!(activity.expired(&limits), Some(Expired::Idle));
    }
}
