//! Warnings before credentials expire: every certificate and client secret of every application
//! is checked periodically, and one whose end falls within the warning window raises exactly
//! one [`ExpiryWarning`] (never one per check): a `tracing` warning, an audit row on its
//! application (action [`EXPIRING_ACTION`], so the admin center's app page shows it) and, when a
//! sink is given, the warning handed to it without waiting (the server's webhook sender).
//!
//! Restarts do not raise a warning again: before raising one, the watch looks for an earlier
//! audit row of its key id. The time comes from a [`Clock`] (the server's, which time travel moves;
//! a check runs at once when it moves), so tests can be months ahead.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use keyward_store::AuditEvent;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::authority::{Authority, is_builtin};
use crate::clock::Clock;
use crate::directory::Snapshot;
use crate::error::Result;

/// How long before a credential's end it is warned about, unless configured otherwise.
pub const DEFAULT_WARNING_WINDOW: Duration = Duration::days(30);

/// The audit log's action for a warning.
pub const EXPIRING_ACTION: &str = "credential.expiring";

/// How many of an application's latest audit rows are searched for an earlier warning.
const AUDIT_LOOKBACK: u32 = 1000;

/// Which kind of credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialKind {
    /// A certificate (Graph's `keyCredentials`).
    Certificate,
    /// A client secret (Graph's `passwordCredentials`).
    Secret,
}

impl CredentialKind {
    /// `certificate` or `secret`, as the metrics label and the webhook payload have it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Certificate => "certificate",
            Self::Secret => "secret",
        }
    }
}

/// A credential that expires within the warning window. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryWarning {
    /// The tenant's id.
    pub tenant_id: Uuid,
    /// The tenant's name.
    pub tenant: String,
    /// The application's object id.
    pub object_id: Uuid,
    /// The application's client ID.
    pub app_id: Uuid,
    /// The application's display name.
    pub app_name: String,
    /// The credential's key id.
    pub key_id: Uuid,
    /// Certificate or secret.
    pub kind: CredentialKind,
    /// The credential's display name (a certificate's subject by default).
    pub display_name: String,
    /// When it stops working.
    pub expires: OffsetDateTime,
    /// Whole days left, as of the check.
    pub days_left: i64,
}

impl ExpiryWarning {
    /// The JSON the webhook receives.
    pub fn payload(&self) -> serde_json::Value {
        serde_json::json!({
            "event": EXPIRING_ACTION,
            "tenant": self.tenant,
            "tenantId": self.tenant_id,
            "appId": self.app_id,
            "applicationObjectId": self.object_id,
            "appDisplayName": self.app_name,
            "keyId": self.key_id,
            "kind": self.kind.as_str(),
            "displayName": self.display_name,
            "endDateTime": self.expires.format(&Rfc3339).unwrap_or_default(),
            "daysLeft": self.days_left,
        })
    }

    /// The audit row's sentence; it names the key id, which is how a restart finds it.
    fn detail(&self) -> String {
        format!(
            "The {} \"{}\" (key ID {}) of \"{}\" expires on {} ({} days left): add a new one and remove this one before then",
            self.kind.as_str(),
            self.display_name,
            self.key_id,
            self.app_name,
            self.expires.format(&Rfc3339).unwrap_or_default(),
            self.days_left
        )
    }
}

/// The credentials of registered applications (not the built-in ones) that have not expired at
/// `now` and expire within `window` of it.
pub fn due(snapshot: &Snapshot, window: Duration, now: OffsetDateTime) -> Vec<ExpiryWarning> {
    let mut due = Vec::new();
    for tenant in snapshot.tenants() {
        for entry in snapshot.apps_of(tenant.tenant.id) {
            let app = &entry.app;
            if is_builtin(app.app_id) {
                continue;
            }
            let keys = app
                .key_credentials
                .iter()
                .map(|k| (CredentialKind::Certificate, k.key_id, &k.display_name, k.end));
            let secrets = app
                .password_credentials
                .iter()
                .map(|p| (CredentialKind::Secret, p.key_id, &p.display_name, p.end));
            for (kind, key_id, display_name, end) in keys.chain(secrets) {
                if end <= now || end - now > window {
                    continue;
                }
                due.push(ExpiryWarning {
                    tenant_id: tenant.tenant.id,
                    tenant: tenant.tenant.name.clone(),
                    object_id: app.id,
                    app_id: app.app_id,
                    app_name: app.display_name.clone(),
                    key_id,
                    kind,
                    display_name: display_name.clone(),
                    expires: end,
                    days_left: (end - now).whole_days(),
                });
            }
        }
    }
    due
}

/// The watch: what it checks with, and the key ids it has warned about.
pub struct ExpiryWatch {
    authority: Arc<Authority>,
    window: Duration,
    clock: Arc<dyn Clock>,
    sink: Option<mpsc::Sender<ExpiryWarning>>,
    warned: Mutex<HashSet<Uuid>>,
}

impl std::fmt::Debug for ExpiryWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpiryWatch")
            .field("window", &self.window)
            .field("sink", &self.sink.is_some())
            .finish_non_exhaustive()
    }
}

impl ExpiryWatch {
    /// A watch over `authority`'s directory that warns `window` ahead, reading the time from
    /// `clock`.
    pub fn new(authority: Arc<Authority>, window: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            authority,
            window,
            clock,
            sink: None,
            warned: Mutex::new(HashSet::new()),
        }
    }

    /// Also hands every warning to `sink` (a bounded queue): never waited on; when the queue is
    /// full, the warning is logged as not delivered and dropped (the log line and the audit row
    /// remain).
    pub fn sink(mut self, sink: mpsc::Sender<ExpiryWarning>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// One check: raises the warnings not raised before, and returns them.
    pub async fn check(&self) -> Result<Vec<ExpiryWarning>> {
        let now = self.clock.now();
        let mut raised = Vec::new();
        for warning in due(&self.authority.snapshot(), self.window, now) {
            if self.already_warned(warning.key_id) {
                continue;
            }
            if self.warned_before_restart(&warning).await? {
                self.remember(warning.key_id);
                continue;
            }
            self.raise(&warning).await?;
            self.remember(warning.key_id);
            raised.push(warning);
        }
        Ok(raised)
    }

    /// Checks every `every` until the process ends; failures are logged and the check is tried
    /// again at the next tick.
    pub async fn run(self: Arc<Self>, every: std::time::Duration) {
        // A move of the clock (time travel) checks at once.
        let mut ticks = crate::clock::Ticks::new(self.clock.as_ref(), every, tokio::time::MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            if let Err(e) = self.check().await {
                tracing::warn!(error = %e, "checking credentials for expiry failed; retrying at the next check");
            }
        }
    }

    fn already_warned(&self, key_id: Uuid) -> bool {
        self.warned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(&key_id)
    }

    fn remember(&self, key_id: Uuid) {
        self.warned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key_id);
    }

    /// Whether the audit log already holds a warning for this key id (raised before a restart,
    /// or by another server sharing the database).
    async fn warned_before_restart(&self, warning: &ExpiryWarning) -> Result<bool> {
        let key_id = warning.key_id.to_string();
        let events = self
            .authority
            .store
            .audit_events(
                warning.tenant_id,
                Some(("application", &warning.object_id.to_string())),
                AUDIT_LOOKBACK,
            )
            .await?;
        Ok(events
            .iter()
            .any(|e| e.action == EXPIRING_ACTION && e.detail.contains(&key_id)))
    }

    /// The log line, the audit row, and the hand-over to the sink.
    async fn raise(&self, warning: &ExpiryWarning) -> Result<()> {
        tracing::warn!(
            tenant = %warning.tenant,
            app = %warning.app_id,
            key_id = %warning.key_id,
            kind = warning.kind.as_str(),
            expires = %warning.expires.format(&Rfc3339).unwrap_or_default(),
            days_left = warning.days_left,
            "a credential expires soon"
        );
        let event = AuditEvent {
            id: Uuid::new_v4(),
            tenant_id: warning.tenant_id,
            at: OffsetDateTime::now_utc(),
            actor_id: None,
            actor: "Keyward (expiry watch)".into(),
            action: EXPIRING_ACTION.into(),
            target_kind: "application".into(),
            target_id: warning.object_id.to_string(),
            detail: warning.detail(),
        };
        self.authority.store.append_audit(&event).await?;
        if let Some(sink) = &self.sink
            && let Err(e) = sink.try_send(warning.clone())
        {
            tracing::warn!(key_id = %warning.key_id, reason = %e, "the expiry webhook queue is full or closed; this warning is not sent");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
