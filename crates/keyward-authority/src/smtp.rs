//! A minimal SMTP client (RFC 5321) for the one kind of mail the authority sends: a one-time
//! code to a person signing up. `EHLO`, `AUTH PLAIN` when the URL names a user, `MAIL FROM`,
//! `RCPT TO`, `DATA` with dot-stuffing, `QUIT`; over plain TCP (`smtp://host`, for a relay on
//! the same host or network), `STARTTLS` (`smtp://user:password@host:587`: a password is never
//! sent in the clear, so a URL with one requires the upgrade), or implicit TLS
//! (`smtps://host:465`). TLS is rustls on aws-lc-rs, verified against the Web PKI roots and any
//! CA added with [`SmtpSettings::trust`]. Every exchange is bounded by [`SEND_TIMEOUT`]. Nothing
//! sent is logged.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use zeroize::Zeroizing;

/// How long one message may take to send, connection included.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and as whom mail is sent: `smtp://host:port` or `smtps://user:password@host:port`.
#[derive(Clone)]
pub struct SmtpSettings {
    host: String,
    port: u16,
    tls: bool,
    starttls: bool,
    user: Option<String>,
    password: Option<Zeroizing<String>>,
    from: String,
    /// CAs trusted besides the Web PKI roots, DER.
    extra_roots: Vec<Vec<u8>>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("starttls", &self.starttls)
            .field("user", &self.user)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Why mail could not be sent, or the settings were refused.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// The SMTP URL or the sender address cannot be used.
    #[error("{0}")]
    Settings(String),
    /// The server could not be reached or the connection broke.
    #[error("the mail server {0}")]
    Io(String),
    /// The server refused a step.
    #[error("the mail server refused {step}: {reply}")]
    Refused {
        /// The command refused.
        step: &'static str,
        /// The server's reply.
        reply: String,
    },
    /// Sending took longer than [`SEND_TIMEOUT`].
    #[error("the mail server did not answer within {} s", SEND_TIMEOUT.as_secs())]
    Timeout,
}

impl SmtpSettings {
    /// Reads `smtp://host[:port]` (port 25 by default; with `user:password@`, upgraded by
    /// `STARTTLS`, which is then required) or `smtps://[user:password@]host[:port]` (port 465),
    /// and the sender address. A password is only ever sent over TLS.
    pub fn parse(url: &str, from: &str) -> Result<Self, SmtpError> {
        let bad = |why: &str| SmtpError::Settings(format!("--smtp-url: {why}"));
        let parsed = url::Url::parse(url).map_err(|e| {
            bad(&format!(
                "{e}; expected smtp://host:port or smtps://user:password@host:port"
            ))
        })?;
        let tls = match parsed.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(bad(&format!("the scheme {other:?} is neither smtp nor smtps"))),
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("the URL names no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = parsed.port().unwrap_or(if tls { 465 } else { 25 });
        let decode =
            |s: &str| percent_decode(s).ok_or_else(|| bad("the user or password is not valid percent-encoded UTF-8"));
        let user = (!parsed.username().is_empty())
            .then(|| decode(parsed.username()))
            .transpose()?;
        let password = parsed.password().map(decode).transpose()?.map(Zeroizing::new);
        if user.is_some() != password.is_some() {
            return Err(bad("give both a user and a password (user:password@host), or neither"));
        }
        let starttls = !tls && user.is_some();
        if from.is_empty()
            || !from.contains('@')
            || from.chars().any(|c| c.is_control() || c == '<' || c == '>' || c == ' ')
        {
            return Err(SmtpError::Settings(format!(
                "--smtp-from: {from:?} is not an address like keyward@example.com"
            )));
        }
        Ok(Self {
            host,
            port,
            tls,
            starttls,
            user,
            password,
            from: from.to_owned(),
            extra_roots: Vec::new(),
        })
    }

    /// Trusts this CA certificate (DER) too, for a relay whose certificate a private CA issued.
    pub fn trust(mut self, ca_der: Vec<u8>) -> Self {
        self.extra_roots.push(ca_der);
        self
    }

    /// The sender address.
    pub fn from(&self) -> &str {
        &self.from
    }

    /// Sends a plain-text message to `to`, within [`SEND_TIMEOUT`].
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), SmtpError> {
        let message = message(&self.from, to, subject, body);
        match tokio::time::timeout(SEND_TIMEOUT, self.deliver(to, &message)).await {
            Ok(result) => result,
            Err(_) => Err(SmtpError::Timeout),
        }
    }

    async fn deliver(&self, to: &str, message: &str) -> Result<(), SmtpError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| SmtpError::Io(format!("{}:{} cannot be reached: {e}", self.host, self.port)))?;
        if self.tls {
            let mut session = Session::new(self.secure(tcp).await?);
            session.expect("the greeting", 220).await?;
            session.command("EHLO", "EHLO keyward\r\n", 250).await?;
            return self.transact(session, to, message).await;
        }
        let mut session = Session::new(tcp);
        session.expect("the greeting", 220).await?;
        session.command("EHLO", "EHLO keyward\r\n", 250).await?;
        if !self.starttls {
            return self.transact(session, to, message).await;
        }
        session.command("STARTTLS", "STARTTLS\r\n", 220).await?;
        // Nothing may be buffered past the server's 220: it would be plaintext injected ahead
        // of the handshake.
        if !session.stream.buffer().is_empty() {
            return Err(SmtpError::Io("sent data after its STARTTLS reply".into()));
        }
        let mut session = Session::new(self.secure(session.stream.into_inner()).await?);
        session.command("EHLO", "EHLO keyward\r\n", 250).await?;
        self.transact(session, to, message).await
    }

    /// The TLS client side of `tcp`, the server's certificate checked for the URL's host.
    async fn secure(&self, tcp: TcpStream) -> Result<tokio_rustls::client::TlsStream<TcpStream>, SmtpError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for der in &self.extra_roots {
            roots
                .add(rustls::pki_types::CertificateDer::from(der.clone()))
                .map_err(|e| SmtpError::Settings(format!("the trusted CA cannot be used: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| SmtpError::Io(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(self.host.clone())
            .map_err(|e| SmtpError::Settings(format!("--smtp-url: {e}")))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| SmtpError::Io(format!("TLS handshake failed: {e}")))
    }

    /// After `EHLO`: `AUTH`, the envelope, the message, `QUIT`.
    async fn transact<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut session: Session<S>,
        to: &str,
        message: &str,
    ) -> Result<(), SmtpError> {
        if let (Some(user), Some(password)) = (&self.user, &self.password) {
            let token = Zeroizing::new(STANDARD.encode(format!("\0{user}\0{}", password.as_str())));
            let line = Zeroizing::new(format!("AUTH PLAIN {}\r\n", token.as_str()));
            session.command("AUTH PLAIN", &line, 235).await?;
        }
        session
            .command("MAIL FROM", &format!("MAIL FROM:<{}>\r\n", self.from), 250)
            .await?;
        session.command("RCPT TO", &format!("RCPT TO:<{to}>\r\n"), 250).await?;
        session.command("DATA", "DATA\r\n", 354).await?;
        session.command("the message", &dot_stuff(message), 250).await?;
        // The message is accepted: a failed QUIT changes nothing.
        let _ = session.command("QUIT", "QUIT\r\n", 221).await;
        // Ends TLS with close_notify, as a server may insist.
        let _ = session.stream.into_inner().shutdown().await;
        Ok(())
    }
}

struct Session<S> {
    stream: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    fn new(stream: S) -> Self {
        Self {
            stream: BufReader::new(stream),
        }
    }

    async fn command(&mut self, step: &'static str, line: &str, code: u16) -> Result<(), SmtpError> {
        let stream = self.stream.get_mut();
        stream
            .write_all(line.as_bytes())
            .await
            .map_err(|e| SmtpError::Io(format!("connection broke: {e}")))?;
        stream
            .flush()
            .await
            .map_err(|e| SmtpError::Io(format!("connection broke: {e}")))?;
        self.expect(step, code).await
    }

    /// Reads a reply (its continuation lines too) and checks its code.
    async fn expect(&mut self, step: &'static str, code: u16) -> Result<(), SmtpError> {
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            let read = (&mut self.stream)
                .take(1024)
                .read_line(&mut line)
                .await
                .map_err(|e| SmtpError::Io(format!("connection broke: {e}")))?;
            if read == 0 {
                return Err(SmtpError::Io("closed the connection".into()));
            }
            if reply.len() < 4096 {
                reply.push_str(&line);
            }
            // "250-more" continues, "250 last" (or a bare "250") ends.
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        let got = reply.get(..3).and_then(|c| c.parse::<u16>().ok());
        if got == Some(code) {
            Ok(())
        } else {
            Err(SmtpError::Refused {
                step,
                reply: reply.trim_end().chars().filter(|c| !c.is_control()).take(200).collect(),
            })
        }
    }
}

use tokio::io::AsyncReadExt as _;

/// The message: headers and a plain-text body, CRLF line ends.
fn message(from: &str, to: &str, subject: &str, body: &str) -> String {
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let mut text = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    );
    for line in body.lines() {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text
}

/// The `DATA` payload: lines starting with a dot get another, then the final `.` line.
fn dot_stuff(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 8);
    for line in message.split_inclusive("\r\n") {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
