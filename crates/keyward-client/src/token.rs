//! Tokens as the client hands them out.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

/// An access token and when to stop using it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    secret: Arc<str>,
    /// When it expires.
    pub expires_on: OffsetDateTime,
    /// When to get a new one: the server's `refresh_in`, else half the lifetime.
    pub refresh_on: OffsetDateTime,
    /// `Bearer`.
    pub token_type: String,
    /// Whether this came from the cache.
    pub from_cache: bool,
}

impl AccessToken {
    pub(crate) fn new(
        secret: String,
        expires_on: OffsetDateTime,
        refresh_on: OffsetDateTime,
        token_type: String,
    ) -> Self {
        Self {
            secret: secret.into(),
            expires_on,
            refresh_on,
            token_type,
            from_cache: false,
        }
    }

    /// The token to send as `Authorization: Bearer ...`.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_on", &self.expires_on)
            .field("refresh_on", &self.refresh_on)
            .field("from_cache", &self.from_cache)
            .finish_non_exhaustive()
    }
}
