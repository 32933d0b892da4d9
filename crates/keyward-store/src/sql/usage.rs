//! Credential usage (last uses, service-principal sign-in records), on either backend.

use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Backend, Column, SqlStore};
use crate::columns::sortable_time_text;
use crate::conflict::{Failure, database};
use crate::{CredentialUse, Error, Result, ServicePrincipalSignIn, SignInQuery, UsageStore, rows};

/// The columns of a sign-in record, as [`rows::SignInRecordRow`] has them.
macro_rules! sign_in_columns {
    () => {
        "id, tenant_id, at, app_id, key_id, thumbprint, succeeded, error_code, correlation_id, client_address, requests"
    };
}

/// The most sign-in records one `INSERT` writes (eleven parameters each; SQLite allows 32,766 and
/// PostgreSQL 65,535 parameters a statement).
const SIGN_INS_PER_STATEMENT: usize = 200;

/// `INSERT INTO service_principal_sign_ins ... VALUES (...), (...)` for `rows` records.
fn insert_sign_ins(rows: usize) -> String {
    const COLUMNS: usize = 11;
    let mut statement = String::from(concat!(
        "INSERT INTO service_principal_sign_ins (",
        sign_in_columns!(),
        ") VALUES "
    ));
    for row in 0..rows {
        if row > 0 {
            statement.push_str(", ");
        }
        let first = row * COLUMNS + 1;
        let placeholders: Vec<String> = (first..first + COLUMNS).map(|n| format!("${n}")).collect();
        statement.push('(');
        statement.push_str(&placeholders.join(", "));
        statement.push(')');
    }
    statement
}

#[async_trait::async_trait]
impl<DB> UsageStore for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    String: Column<DB>,
    i64: Column<DB>,
    bool: Column<DB>,
    Option<String>: Column<DB>,
    Option<i64>: Column<DB>,
    Option<DB::Id>: Column<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn record_credential_uses(&self, uses: &[CredentialUse]) -> Result<u64> {
        let times = uses
            .iter()
            .map(|u| sortable_time_text(u.at))
            .collect::<Result<Vec<_>>>()?;
        let written = async {
            let mut tx = self.pool.begin().await?;
            let mut written = 0;
            for (usage, at) in uses.iter().zip(&times) {
                // The later use wins, whichever server writes last.
                let result = sqlx::query(
                    "INSERT INTO credential_last_use (tenant_id, application_id, key_id, at, client_address) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (tenant_id, application_id, key_id) DO UPDATE \
                     SET at = excluded.at, client_address = excluded.client_address \
                     WHERE credential_last_use.at < excluded.at",
                )
                .bind(DB::id(usage.tenant_id))
                .bind(DB::id(usage.application_id))
                .bind(DB::id(usage.key_id))
                .bind(at)
                .bind(&usage.client_address)
                .execute(&mut *tx)
                .await?;
                written += DB::rows_affected(&result);
            }
            tx.commit().await?;
            Ok::<_, Failure>(written)
        };
        match written.await {
            Ok(written) => Ok(written),
            Err(Failure::MissingParent) => Err(Error::NotFound(String::from("a tenant of a credential use"))),
            Err(Failure::Unique) => Err(Error::Conflict(String::from("a credential use"))),
            Err(Failure::Other(e)) => Err(e),
        }
    }

    async fn credential_uses(&self, tenant_id: Uuid, application_id: Uuid) -> Result<Vec<CredentialUse>> {
        let rows: Vec<rows::CredentialUseRow<DB::Id>> = sqlx::query_as(
            "SELECT tenant_id, application_id, key_id, at, client_address FROM credential_last_use \
             WHERE tenant_id = $1 AND application_id = $2",
        )
        .bind(DB::id(tenant_id))
        .bind(DB::id(application_id))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        rows.into_iter().map(rows::credential_use).collect()
    }

    async fn append_sign_ins(&self, records: &[ServicePrincipalSignIn]) -> Result<()> {
        let times = records
            .iter()
            .map(|r| sortable_time_text(r.at))
            .collect::<Result<Vec<_>>>()?;
        let written = async {
            let mut tx = self.pool.begin().await?;
            // Many rows a statement: a second of a busy token endpoint is thousands of records.
            for (records, times) in records
                .chunks(SIGN_INS_PER_STATEMENT)
                .zip(times.chunks(SIGN_INS_PER_STATEMENT))
            {
                let statement = insert_sign_ins(records.len());
                let mut query = sqlx::query(&statement);
                for (record, at) in records.iter().zip(times) {
                    query = query
                        .bind(DB::id(record.id))
                        .bind(DB::id(record.tenant_id))
                        .bind(at.clone())
                        .bind(DB::id(record.app_id))
                        .bind(record.key_id.map(DB::id))
                        .bind(record.thumbprint.clone())
                        .bind(record.succeeded)
                        .bind(record.error_code.map(i64::from))
                        .bind(record.correlation_id.map(DB::id))
                        .bind(record.client_address.clone())
                        .bind(i64::from(record.requests));
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, Failure>(())
        };
        match written.await {
            Ok(()) => Ok(()),
            Err(Failure::MissingParent) => Err(Error::NotFound(String::from("a tenant of a sign-in record"))),
            Err(Failure::Unique) => Err(Error::Conflict(String::from("a sign-in record's id"))),
            Err(Failure::Other(e)) => Err(e),
        }
    }

    async fn sign_ins(&self, tenant_id: Uuid, app_id: Uuid, query: SignInQuery) -> Result<Vec<ServicePrincipalSignIn>> {
        let since = sortable_time_text(query.since)?;
        // Two statements rather than one with `$4 OR ...`, so that each keeps a simple plan.
        let statement = if query.failures_only {
            concat!(
                "SELECT ",
                sign_in_columns!(),
                " FROM service_principal_sign_ins WHERE tenant_id = $1 AND app_id = $2 AND at >= $3 \
                 AND succeeded = false ORDER BY at DESC, seq DESC LIMIT $4"
            )
        } else {
            concat!(
                "SELECT ",
                sign_in_columns!(),
                " FROM service_principal_sign_ins WHERE tenant_id = $1 AND app_id = $2 AND at >= $3 \
                 ORDER BY at DESC, seq DESC LIMIT $4"
            )
        };
        let rows: Vec<rows::SignInRecordRow<DB::Id>> = sqlx::query_as(statement)
            .bind(DB::id(tenant_id))
            .bind(DB::id(app_id))
            .bind(since)
            .bind(i64::from(query.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows.into_iter().map(rows::sign_in_record).collect()
    }

    async fn delete_sign_ins_before(&self, before: OffsetDateTime) -> Result<u64> {
        let result = sqlx::query("DELETE FROM service_principal_sign_ins WHERE at < $1")
            .bind(sortable_time_text(before)?)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(DB::rows_affected(&result))
    }
}
