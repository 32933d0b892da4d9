//! Users and grants in SQLite.

use sqlx::SqlitePool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::columns::{document, email_key, from_document, sortable_time_text, time_from_text, uuid_from_text};
use crate::conflict::{self, Failure, database};
use crate::{Error, Grant, GrantKind, Redemption, Result, User, user_model};

/// The columns of a grant besides its kind and id: tenant, family, user, document, created,
/// expires.
type GrantRow = (String, String, String, String, String, String);

/// The columns [`GrantRow`] reads, in its order.
const GRANT_COLUMNS: &str = "tenant_id, family, user_id, document, created, expires";

pub(super) async fn insert_user(pool: &SqlitePool, user: &User) -> Result<()> {
    let document = document(user, "user")?;
    let written =
        sqlx::query("INSERT INTO users (id, tenant_id, email_lower, version, document) VALUES ($1, $2, $3, $4, $5)")
            .bind(user.id.to_string())
            .bind(user.tenant_id.to_string())
            .bind(email_key(&user.email))
            .bind(user.version)
            .bind(document.get())
            .execute(pool)
            .await;
    match written.map_err(Failure::from) {
        Ok(_) => Ok(()),
        Err(Failure::Unique) => Err(user_conflict(pool, user, false).await?),
        Err(other) => Err(other.into_error(user.tenant_id)),
    }
}

pub(super) async fn update_user(pool: &SqlitePool, user: &User) -> Result<()> {
    let document = document(user, "user")?;
    let Some(previous) = user.version.checked_sub(1) else {
        return Err(Error::VersionMismatch { what: "user" });
    };
    let written = sqlx::query(
        "UPDATE users SET email_lower = $1, version = $2, document = $3 \
         WHERE id = $4 AND tenant_id = $5 AND version = $6",
    )
    .bind(email_key(&user.email))
    .bind(user.version)
    .bind(document.get())
    .bind(user.id.to_string())
    .bind(user.tenant_id.to_string())
    .bind(previous)
    .execute(pool)
    .await;
    match written.map_err(Failure::from) {
        Ok(done) if done.rows_affected() > 0 => Ok(()),
        Ok(_) => match user_row(pool, user.tenant_id, user.id).await? {
            Some(_) => Err(Error::VersionMismatch { what: "user" }),
            None => Err(Error::NotFound(format!("user {}", user.id))),
        },
        Err(Failure::Unique) => Err(user_conflict(pool, user, true).await?),
        Err(other) => Err(other.into_error(user.tenant_id)),
    }
}

pub(super) async fn user(pool: &SqlitePool, tenant_id: Uuid, id: Uuid) -> Result<Option<User>> {
    user_row(pool, tenant_id, id)
        .await?
        .map(|text| from_document(&text, "user"))
        .transpose()
}

pub(super) async fn user_by_email(pool: &SqlitePool, tenant_id: Uuid, email: &str) -> Result<Option<User>> {
    let document: Option<String> =
        sqlx::query_scalar("SELECT document FROM users WHERE tenant_id = $1 AND email_lower = $2")
            .bind(tenant_id.to_string())
            .bind(email_key(email))
            .fetch_optional(pool)
            .await
            .map_err(database)?;
    document.map(|text| from_document(&text, "user")).transpose()
}

pub(super) async fn users(pool: &SqlitePool, tenant_id: Uuid) -> Result<Vec<User>> {
    let documents: Vec<String> =
        sqlx::query_scalar("SELECT document FROM users WHERE tenant_id = $1 ORDER BY email_lower, id")
            .bind(tenant_id.to_string())
            .fetch_all(pool)
            .await
            .map_err(database)?;
    documents.iter().map(|text| from_document(text, "user")).collect()
}

/// The document of a user.
async fn user_row(pool: &SqlitePool, tenant_id: Uuid, id: Uuid) -> Result<Option<String>> {
    sqlx::query_scalar("SELECT document FROM users WHERE tenant_id = $1 AND id = $2")
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(database)
}

/// Who holds the unique values of a user that could not be written.
async fn user_conflict(pool: &SqlitePool, user: &User, updating: bool) -> Result<Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, email_lower FROM users WHERE id = $1 OR (tenant_id = $2 AND email_lower = $3)")
            .bind(user.id.to_string())
            .bind(user.tenant_id.to_string())
            .bind(email_key(&user.email))
            .fetch_all(pool)
            .await
            .map_err(database)?;
    let holders = rows
        .into_iter()
        .map(|(id, email)| Ok((uuid_from_text(&id, "user")?, email)))
        .collect::<Result<Vec<_>>>()?;
    Ok(conflict::user(user, updating, &holders))
}

pub(super) async fn insert_grant(pool: &SqlitePool, grant: &Grant) -> Result<()> {
    let document = document(&grant.document, "grant")?;
    let written = sqlx::query(
        "INSERT INTO grants (kind, id, tenant_id, family, user_id, document, created, expires, redeemed, revoked) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0)",
    )
    .bind(grant.kind.as_str())
    .bind(&grant.id)
    .bind(grant.tenant_id.to_string())
    .bind(grant.family.to_string())
    .bind(grant.user_id.to_string())
    .bind(document.get())
    .bind(sortable_time_text(grant.created)?)
    .bind(sortable_time_text(grant.expires)?)
    .execute(pool)
    .await;
    match written.map_err(Failure::from) {
        Ok(_) => Ok(()),
        Err(Failure::Unique) => Err(conflict::grant(grant.kind)),
        Err(other) => Err(other.into_error(grant.tenant_id)),
    }
}

pub(super) async fn redeem_grant(
    pool: &SqlitePool,
    kind: GrantKind,
    id: &str,
    client: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<Redemption> {
    let client = client.map(|c| c.to_string());
    // One statement: of two redemptions, the second finds the grant redeemed; one by another
    // client finds nothing to redeem.
    let redeemed: Option<GrantRow> = sqlx::query_as(&format!(
        "UPDATE grants SET redeemed = 1 \
         WHERE kind = $1 AND id = $2 AND NOT redeemed AND NOT revoked AND expires > $3 \
         AND ($4 IS NULL OR json_extract(document, '$.client_id') = $4) \
         RETURNING {GRANT_COLUMNS}"
    ))
    .bind(kind.as_str())
    .bind(id)
    .bind(sortable_time_text(now)?)
    .bind(&client)
    .fetch_optional(pool)
    .await
    .map_err(database)?;
    if let Some(row) = redeemed {
        return Ok(Redemption::Redeemed(grant_from_row(kind, id, row)?));
    }
    // Live or redeemed before, not revoked, and another client's: left alone.
    if client.is_some() {
        let other: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM grants WHERE kind = $1 AND id = $2 AND NOT revoked AND (redeemed OR expires > $3) \
             AND json_extract(document, '$.client_id') IS NOT $4",
        )
        .bind(kind.as_str())
        .bind(id)
        .bind(sortable_time_text(now)?)
        .bind(&client)
        .fetch_optional(pool)
        .await
        .map_err(database)?;
        if other.is_some() {
            return Ok(Redemption::OtherClient);
        }
    }
    // Redeemed before, expired since or not, and not revoked: a replay.
    let replayed: Option<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE kind = $1 AND id = $2 AND redeemed AND NOT revoked"
    ))
    .bind(kind.as_str())
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(database)?;
    match replayed {
        Some(row) => Ok(Redemption::Replayed(grant_from_row(kind, id, row)?)),
        None => Ok(Redemption::Unusable),
    }
}

pub(super) async fn live_grant(
    pool: &SqlitePool,
    kind: GrantKind,
    id: &str,
    now: OffsetDateTime,
) -> Result<Option<Grant>> {
    let row: Option<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants \
         WHERE kind = $1 AND id = $2 AND NOT redeemed AND NOT revoked AND expires > $3"
    ))
    .bind(kind.as_str())
    .bind(id)
    .bind(sortable_time_text(now)?)
    .fetch_optional(pool)
    .await
    .map_err(database)?;
    row.map(|row| grant_from_row(kind, id, row)).transpose()
}

pub(super) async fn revoke_family(pool: &SqlitePool, family: Uuid) -> Result<u64> {
    let redeemed: Vec<bool> =
        sqlx::query_scalar("UPDATE grants SET revoked = 1 WHERE family = $1 AND NOT revoked RETURNING redeemed")
            .bind(family.to_string())
            .fetch_all(pool)
            .await
            .map_err(database)?;
    Ok(user_model::live(&redeemed))
}

pub(super) async fn revoke_user_grants(pool: &SqlitePool, tenant_id: Uuid, user_id: Uuid) -> Result<u64> {
    let redeemed: Vec<bool> = sqlx::query_scalar(
        "UPDATE grants SET revoked = 1 WHERE tenant_id = $1 AND user_id = $2 AND NOT revoked RETURNING redeemed",
    )
    .bind(tenant_id.to_string())
    .bind(user_id.to_string())
    .fetch_all(pool)
    .await
    .map_err(database)?;
    Ok(user_model::live(&redeemed))
}

pub(super) async fn delete_expired_grants(pool: &SqlitePool, before: OffsetDateTime) -> Result<u64> {
    let deleted = sqlx::query("DELETE FROM grants WHERE expires < $1")
        .bind(sortable_time_text(before)?)
        .execute(pool)
        .await
        .map_err(database)?;
    Ok(deleted.rows_affected())
}

/// A grant from its row.
fn grant_from_row(kind: GrantKind, id: &str, row: GrantRow) -> Result<Grant> {
    let (tenant_id, family, user_id, document, created, expires) = row;
    Ok(Grant {
        kind,
        id: id.to_owned(),
        tenant_id: uuid_from_text(&tenant_id, "grant")?,
        family: uuid_from_text(&family, "grant")?,
        user_id: uuid_from_text(&user_id, "grant")?,
        document: from_document(&document, "grant")?,
        created: time_from_text(&created, "grant")?,
        expires: time_from_text(&expires, "grant")?,
    })
}
