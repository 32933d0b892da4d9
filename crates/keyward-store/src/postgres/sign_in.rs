//! Users and grants in PostgreSQL.

use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Document, Id, PostgresStore};
use crate::columns::{DocumentColumn, document, email_key, sortable_time_text};
use crate::conflict::{self, Failure, database};
use crate::sql::sign_in as sql;
use crate::{Error, Grant, GrantKind, Redemption, Result, SignInStore, User, rows, user_model};

/// A grant's row.
type GrantRow = rows::GrantRow<Id, Document>;

impl PostgresStore {
    /// The document of a user.
    async fn user_document(&self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<Document>> {
        sqlx::query_scalar(sql::USER)
            .bind(tenant_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(database)
    }

    /// Who holds the unique values of a user that could not be written.
    async fn user_conflict(&self, user: &User, updating: bool) -> Result<Error> {
        let rows: Vec<rows::UserHolderRow<Id>> = sqlx::query_as(sql::USER_HOLDERS)
            .bind(user.id)
            .bind(user.tenant_id)
            .bind(email_key(&user.email))
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        Ok(conflict::user(user, updating, &rows::user_holders(rows)?))
    }
}

#[async_trait::async_trait]
impl SignInStore for PostgresStore {
    async fn insert_user(&self, user: &User) -> Result<()> {
        let document = document(user, "user")?;
        let written = sqlx::query(sql::INSERT_USER)
            .bind(user.id)
            .bind(user.tenant_id)
            .bind(email_key(&user.email))
            .bind(user.version)
            .bind(Json(&document))
            .execute(&self.pool)
            .await;
        match written.map_err(Failure::from) {
            Ok(_) => Ok(()),
            Err(Failure::Unique) => Err(self.user_conflict(user, false).await?),
            Err(other) => Err(other.into_error(user.tenant_id)),
        }
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        let document = document(user, "user")?;
        let Some(previous) = user.version.checked_sub(1) else {
            return Err(Error::VersionMismatch { what: "user" });
        };
        let written = sqlx::query(sql::UPDATE_USER)
            .bind(email_key(&user.email))
            .bind(user.version)
            .bind(Json(&document))
            .bind(user.id)
            .bind(user.tenant_id)
            .bind(previous)
            .execute(&self.pool)
            .await;
        match written.map_err(Failure::from) {
            Ok(done) if done.rows_affected() > 0 => Ok(()),
            Ok(_) => {
                let exists = self.user_document(user.tenant_id, user.id).await?.is_some();
                Err(conflict::not_updated("user", user.id, exists))
            }
            Err(Failure::Unique) => Err(self.user_conflict(user, true).await?),
            Err(other) => Err(other.into_error(user.tenant_id)),
        }
    }

    async fn user(&self, tenant_id: Uuid, user_id: Uuid) -> Result<Option<User>> {
        let document = self.user_document(tenant_id, user_id).await?;
        document.map(|document| document.model("user")).transpose()
    }

    async fn user_by_email(&self, tenant_id: Uuid, email: &str) -> Result<Option<User>> {
        let document: Option<Document> = sqlx::query_scalar(sql::USER_BY_EMAIL)
            .bind(tenant_id)
            .bind(email_key(email))
            .fetch_optional(&self.pool)
            .await
            .map_err(database)?;
        document.map(|document| document.model("user")).transpose()
    }

    async fn users(&self, tenant_id: Uuid) -> Result<Vec<User>> {
        let documents: Vec<Document> = sqlx::query_scalar(sql::USERS)
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows::models(documents, "user")
    }

    async fn insert_grant(&self, grant: &Grant) -> Result<()> {
        let document = document(&grant.document, "grant")?;
        let written = sqlx::query(sql::INSERT_GRANT)
            .bind(grant.kind.as_str())
            .bind(&grant.id)
            .bind(grant.tenant_id)
            .bind(grant.family)
            .bind(grant.user_id)
            .bind(Json(&document))
            .bind(sortable_time_text(grant.created)?)
            .bind(sortable_time_text(grant.expires)?)
            .execute(&self.pool)
            .await;
        match written.map_err(Failure::from) {
            Ok(_) => Ok(()),
            Err(Failure::Unique) => Err(conflict::grant(grant.kind)),
            Err(other) => Err(other.into_error(grant.tenant_id)),
        }
    }

    async fn redeem_grant(&self, kind: GrantKind, grant_id: &str, now: OffsetDateTime) -> Result<Redemption> {
        let redeemed: Option<GrantRow> = sqlx::query_as(sql::REDEEM_GRANT)
            .bind(kind.as_str())
            .bind(grant_id)
            .bind(sortable_time_text(now)?)
            .fetch_optional(&self.pool)
            .await
            .map_err(database)?;
        if let Some(row) = redeemed {
            return Ok(Redemption::Redeemed(rows::grant(kind, grant_id, row)?));
        }
        // Redeemed before, expired since or not, and not revoked: a replay.
        let replayed: Option<GrantRow> = sqlx::query_as(sql::REDEEMED_GRANT)
            .bind(kind.as_str())
            .bind(grant_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(database)?;
        match replayed {
            Some(row) => Ok(Redemption::Replayed(rows::grant(kind, grant_id, row)?)),
            None => Ok(Redemption::Unusable),
        }
    }

    async fn live_grant(&self, kind: GrantKind, grant_id: &str, now: OffsetDateTime) -> Result<Option<Grant>> {
        let row: Option<GrantRow> = sqlx::query_as(sql::LIVE_GRANT)
            .bind(kind.as_str())
            .bind(grant_id)
            .bind(sortable_time_text(now)?)
            .fetch_optional(&self.pool)
            .await
            .map_err(database)?;
        row.map(|row| rows::grant(kind, grant_id, row)).transpose()
    }

    async fn revoke_family(&self, family: Uuid) -> Result<u64> {
        let redeemed: Vec<bool> = sqlx::query_scalar(sql::REVOKE_FAMILY)
            .bind(family)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        Ok(user_model::live(&redeemed))
    }

    async fn revoke_user_grants(&self, tenant_id: Uuid, user_id: Uuid) -> Result<u64> {
        let redeemed: Vec<bool> = sqlx::query_scalar(sql::REVOKE_USER_GRANTS)
            .bind(tenant_id)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        Ok(user_model::live(&redeemed))
    }

    async fn delete_expired_grants(&self, before: OffsetDateTime) -> Result<u64> {
        let deleted = sqlx::query(sql::DELETE_EXPIRED_GRANTS)
            .bind(sortable_time_text(before)?)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(deleted.rows_affected())
    }
}
