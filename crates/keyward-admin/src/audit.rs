//! The audit log: every change made in the admin center (and every sign-in to it) is a row
//! saying who, what and when, shown on the changed object's page.

use keyward_store::AuditEvent;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AdminCenter;
use crate::access::Admin;
use crate::error::AdminError;

/// How many events a page shows.
pub const SHOWN: u32 = 50;

impl AdminCenter {
    /// Records that `admin` did `action` to the target. A failure to record is logged as an
    /// error (the change itself has been made by then).
    pub async fn audit(&self, admin: &Admin, action: &str, target_kind: &str, target_id: &str, detail: &str) {
        self.audit_as(
            &admin.tenant_id(),
            Some(admin.user.id),
            &admin.user.email,
            action,
            target_kind,
            target_id,
            detail,
        )
        .await;
    }

    /// Records an event of `actor` in `tenant_id`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn audit_as(
        &self,
        tenant_id: &Uuid,
        actor_id: Option<Uuid>,
        actor: &str,
        action: &str,
        target_kind: &str,
        target_id: &str,
        detail: &str,
    ) {
        let event = AuditEvent {
            id: Uuid::new_v4(),
            tenant_id: *tenant_id,
            at: OffsetDateTime::now_utc(),
            actor_id,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target_kind: target_kind.to_owned(),
            target_id: target_id.to_owned(),
            detail: detail.to_owned(),
        };
        if let Err(e) = self.store.append_audit(&event).await {
            tracing::error!(error = %e, action, target_kind, target_id, "the audit log could not be written");
        }
    }

    /// The tenant's latest events, newest first; only the target's when given.
    pub async fn audit_log(
        &self,
        tenant_id: Uuid,
        target: Option<(&str, &str)>,
    ) -> Result<Vec<AuditEvent>, AdminError> {
        self.store
            .audit_events(tenant_id, target, SHOWN)
            .await
            .map_err(AdminError::Store)
    }
}
