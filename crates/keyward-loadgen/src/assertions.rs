//! Token requests signed ahead of time: one distinct client assertion each (its own `jti`),
//! RS256 with an `x5t` header as MSAL Node sends, already form-encoded so that the timed phases
//! do no signing and no encoding.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::Bytes;
use keyward_jose::{Algorithm, Header, SigningKey};
use serde::Serialize;

use crate::registration::{Client, SCOPE};

/// The assertion type of RFC 7523.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Seconds an assertion stays valid: long enough for any run, under the server's one-hour limit.
const LIFETIME: i64 = 3000;

/// The claims MSAL Node puts in a client assertion.
#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

/// Signs token request bodies for one client.
pub struct RequestSigner<'a> {
    signer: SigningKey,
    header: Header,
    client: &'a Client,
    audience: String,
}

impl<'a> RequestSigner<'a> {
    /// A signer for `client`'s assertions to the token endpoint `audience`.
    pub fn new(client: &'a Client, audience: String) -> anyhow::Result<Self> {
        Ok(Self {
            signer: SigningKey::new(&client.key, Algorithm::Rs256)?,
            header: Header::new(Algorithm::Rs256)
                .with_typ("JWT")
                .with_x5t(client.certificate.thumbprints().x5t()),
            client,
            audience,
        })
    }

    /// One form-encoded client credentials request with a fresh assertion.
    pub fn body(&self, now: i64) -> anyhow::Result<Bytes> {
        let app_id = self.client.app_id.as_str();
        let claims = Claims {
            aud: &self.audience,
            iss: app_id,
            sub: app_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + LIFETIME,
        };
        let assertion = self.signer.sign(&self.header, &claims)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", app_id)
            .append_pair("client_assertion_type", JWT_BEARER)
            .append_pair("client_assertion", &assertion)
            .append_pair("scope", SCOPE)
            .finish();
        Ok(Bytes::from(body))
    }

    /// `n` bodies, signed on `threads` threads.
    pub fn bodies(&self, n: usize, threads: usize) -> anyhow::Result<Vec<Bytes>> {
        let now = unix_now()?;
        let threads = threads.clamp(1, n.max(1));
        let per_thread = n.div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let count = per_thread.min(n.saturating_sub(t * per_thread));
                    scope.spawn(move || (0..count).map(|_| self.body(now)).collect::<anyhow::Result<Vec<_>>>())
                })
                .collect();
            let mut all = Vec::with_capacity(n);
            for handle in handles {
                let part = handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("a signing thread panicked"))??;
                all.extend(part);
            }
            Ok(all)
        })
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> anyhow::Result<i64> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?;
    Ok(since.as_secs() as i64)
}

/// Pre-signed bodies handed out once each, from any thread.
pub struct Pool {
    bodies: Vec<Bytes>,
    next: AtomicUsize,
    ran_out: AtomicBool,
}

impl Pool {
    /// A pool of `bodies`.
    pub fn new(bodies: Vec<Bytes>) -> Self {
        Self {
            bodies,
            next: AtomicUsize::new(0),
            ran_out: AtomicBool::new(false),
        }
    }

    /// The next unused body, or `None` (and the pool remembers it ran out).
    pub fn take(&self) -> Option<Bytes> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let body = self.bodies.get(i).cloned();
        if body.is_none() {
            self.ran_out.store(true, Ordering::Relaxed);
        }
        body
    }

    /// Whether someone asked for a body after the last one was gone.
    pub fn ran_out(&self) -> bool {
        self.ran_out.load(Ordering::Relaxed)
    }

    /// The bodies not handed out, for the next phase.
    pub fn rest(&self) -> Vec<Bytes> {
        let used = self.next.load(Ordering::Relaxed).min(self.bodies.len());
        self.bodies[used..].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_hands_out_each_body_once_then_says_it_ran_out() {
        let pool = Pool::new(vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
        assert_eq!(pool.take().as_deref(), Some(&b"a"[..]));
        assert!(!pool.ran_out());
        assert_eq!(pool.take().as_deref(), Some(&b"b"[..]));
        assert!(!pool.ran_out());
        assert_eq!(pool.take(), None);
        assert!(pool.ran_out());
        assert!(pool.rest().is_empty());
    }

    #[test]
    fn the_rest_of_a_pool_goes_to_the_next_phase() {
        let pool = Pool::new(vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
        pool.take();
        assert_eq!(pool.rest(), vec![Bytes::from_static(b"b")]);
    }
}
