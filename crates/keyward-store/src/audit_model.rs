//! The rows of the audit log: one per change made to a tenant's directory or vault. The log is
//! append-only; the store bounds what it is given (see [`AuditEvent`]) so that one event cannot
//! grow without limit, and keeps it otherwise as given.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// One change made to a tenant's directory or vault: who, what, when.
///
/// On append the store bounds the text fields: `detail` to its first
/// [`AuditEvent::MAX_DETAIL_CHARS`] characters, `actor`, `action`, `target_kind` and `target_id`
/// to their first [`AuditEvent::MAX_FIELD_CHARS`] (Unicode scalar values, never a byte in the
/// middle of one), and replaces NUL characters, which PostgreSQL cannot store in text, with
/// U+FFFD. An event is read back so bounded. `at` is kept exact to the nanosecond, in UTC (the
/// offset it was given in is not kept; the instant is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Its id (`Uuid::new_v4` by the caller); unique.
    pub id: Uuid,
    /// The tenant whose directory or vault changed.
    pub tenant_id: Uuid,
    /// When it happened: what the log is ordered by.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The signed-in user's object id; `None` for an application caller.
    pub actor_id: Option<Uuid>,
    /// Who, for display: an email or an application's name.
    pub actor: String,
    /// What, e.g. `application.certificate.add`.
    pub action: String,
    /// The kind of thing changed, e.g. `application`, `user`, `vault-certificate`.
    pub target_kind: String,
    /// Which one, e.g. an application's object id, `vaultname/certname`.
    pub target_id: String,
    /// One human sentence, never a secret. Any text: escape it when rendering.
    pub detail: String,
}

impl AuditEvent {
    /// The most characters of `detail` the store keeps.
    pub const MAX_DETAIL_CHARS: usize = 1000;
    /// The most characters of `actor`, `action`, `target_kind` and `target_id` the store keeps.
    pub const MAX_FIELD_CHARS: usize = 200;

    /// The event as the store keeps it: its text fields bounded, without NUL.
    pub(crate) fn bounded(&self) -> AuditEvent {
        AuditEvent {
            actor: bounded(&self.actor, Self::MAX_FIELD_CHARS),
            action: bounded(&self.action, Self::MAX_FIELD_CHARS),
            target_kind: bounded(&self.target_kind, Self::MAX_FIELD_CHARS),
            target_id: bounded(&self.target_id, Self::MAX_FIELD_CHARS),
            detail: bounded(&self.detail, Self::MAX_DETAIL_CHARS),
            ..self.clone()
        }
    }
}

/// The first `max` characters of `text` with NUL replaced by U+FFFD: a text field of an event as
/// the store keeps it, and a filter as it is compared with one.
pub(crate) fn bounded(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c == '\0' { char::REPLACEMENT_CHARACTER } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_characters_not_bytes() {
        assert_eq!(bounded("ääää", 3), "äää");
        assert_eq!(bounded("short", 200), "short");
        assert_eq!(bounded("", 3), "");
        assert_eq!(bounded(&"x".repeat(1001), 1000).len(), 1000);
    }

    #[test]
    fn nul_is_replaced() {
        assert_eq!(bounded("a\0b", 10), "a\u{fffd}b");
    }
}
