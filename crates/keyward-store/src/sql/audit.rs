//! The audit log, on either backend.

use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Type};
use uuid::Uuid;

use super::{Backend, Column, SqlStore};
use crate::audit_model::bounded;
use crate::columns::sortable_time_text;
use crate::conflict::{Failure, database};
use crate::{AuditEvent, AuditStore, Error, Result, rows};

/// The columns of an event, as [`rows::AuditRow`] has them.
macro_rules! audit_columns {
    () => {
        "id, tenant_id, at, actor_id, actor, action, target_kind, target_id, detail"
    };
}

#[async_trait::async_trait]
impl<DB> AuditStore for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    String: Column<DB>,
    i64: Column<DB>,
    Option<DB::Id>: Column<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        let event = event.bounded();
        let written = sqlx::query(concat!(
            "INSERT INTO audit_events (",
            audit_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(DB::id(event.id))
        .bind(DB::id(event.tenant_id))
        .bind(sortable_time_text(event.at)?)
        .bind(event.actor_id.map(DB::id))
        .bind(&event.actor)
        .bind(&event.action)
        .bind(&event.target_kind)
        .bind(&event.target_id)
        .bind(&event.detail)
        .execute(&self.pool)
        .await;
        match written.map_err(Failure::from) {
            Ok(_) => Ok(()),
            Err(Failure::Unique) => Err(Error::Conflict(format!("audit event {}", event.id))),
            Err(other) => Err(other.into_error(event.tenant_id)),
        }
    }

    async fn audit_events(&self, tenant_id: Uuid, target: Option<(&str, &str)>, limit: u32) -> Result<Vec<AuditEvent>> {
        // Two statements rather than one with `$2 IS NULL OR ...`, so that each uses its index
        // whatever plan the database caches for it.
        let rows: Vec<rows::AuditRow<DB::Id>> = match target {
            None => sqlx::query_as(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_events WHERE tenant_id = $1 ORDER BY at DESC, seq DESC LIMIT $2"
            ))
            .bind(DB::id(tenant_id))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(database)?,
            Some((kind, id)) => sqlx::query_as(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_events WHERE tenant_id = $1 AND target_kind = $2 AND target_id = $3 \
                 ORDER BY at DESC, seq DESC LIMIT $4"
            ))
            .bind(DB::id(tenant_id))
            // As stored: a target named in full finds the events whose target was cut.
            .bind(bounded(kind, AuditEvent::MAX_FIELD_CHARS))
            .bind(bounded(id, AuditEvent::MAX_FIELD_CHARS))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(database)?,
        };
        rows.into_iter().map(rows::audit_event).collect()
    }
}
