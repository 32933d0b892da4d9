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
    /// The last moment it is handed out: expiry less a margin (five minutes, or a tenth of a
    /// short lifetime), so that it does not expire on the way to the resource.
    pub usable_until: OffsetDateTime,
    /// `Bearer`.
    pub token_type: String,
    /// Whether this came from the cache.
    pub from_cache: bool,
}

impl AccessToken {
    pub(crate) fn new(
        secret: String,
        issued: OffsetDateTime,
        lifetime_seconds: i64,
        refresh_in_seconds: Option<i64>,
        token_type: String,
    ) -> Self {
        let expires_on = issued + time::Duration::seconds(lifetime_seconds);
        let refresh_in = refresh_in_seconds
            .filter(|s| *s > 0 && *s < lifetime_seconds)
            .unwrap_or(lifetime_seconds / 2);
        let margin = (lifetime_seconds / 10).min(300);
        Self {
            secret: secret.into(),
            expires_on,
            refresh_on: issued + time::Duration::seconds(refresh_in),
            usable_until: expires_on - time::Duration::seconds(margin),
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
