//! Users and grants, on either backend.

use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Backend, Column, SqlStore};
use crate::columns::{Document, document, email_key, from_document, sortable_time_text};
use crate::conflict::{self, Failure, database};
use crate::{Error, Grant, GrantKind, Redemption, Result, SignInStore, User, UserCursor, rows, user_model};

/// The columns of a grant besides its kind and id, as [`rows::GrantRow`] has them.
macro_rules! grant_columns {
    () => {
        "tenant_id, family, user_id, document, created, expires"
    };
}

impl<DB> SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    String: Column<DB>,
    i64: Column<DB>,
    bool: Column<DB>,
    Vec<u8>: Column<DB>,
    Document: Column<DB>,
    usize: ColumnIndex<DB::Row>,
{
    /// The document of a user.
    async fn user_document(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<Document>> {
        sqlx::query_scalar("SELECT document FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(DB::id(tenant_id))
            .bind(DB::id(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(database)
    }

    /// Writes the row of a new user: what [`SignInStore::insert_user`] and
    /// [`SignInStore::insert_users`] both write.
    async fn write_user(connection: &mut DB::Connection, user: &User, document: &Document) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO users (id, tenant_id, email_lower, version, document) VALUES ($1, $2, $3, $4, $5)")
            .bind(DB::id(user.id))
            .bind(DB::id(user.tenant_id))
            .bind(email_key(&user.email))
            .bind(user.version)
            .bind(document)
            .execute(&mut *connection)
            .await?;
        Ok(())
    }

    /// Who holds the unique values of a user that could not be written.
    async fn user_conflict(&self, user: &User, updating: bool) -> Result<Error> {
        let rows: Vec<rows::UserHolderRow<DB::Id>> =
            sqlx::query_as("SELECT id, email_lower FROM users WHERE id = $1 OR (tenant_id = $2 AND email_lower = $3)")
                .bind(DB::id(user.id))
                .bind(DB::id(user.tenant_id))
                .bind(email_key(&user.email))
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
        Ok(conflict::user(user, updating, &rows::user_holders(rows)?))
    }
}

#[async_trait::async_trait]
impl<DB> SignInStore for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    String: Column<DB>,
    Option<String>: Column<DB>,
    i64: Column<DB>,
    bool: Column<DB>,
    Vec<u8>: Column<DB>,
    Document: Column<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn insert_user(&self, user: &User) -> Result<()> {
        let document = document(user, "user")?;
        let written = async {
            let mut connection = self.pool.acquire().await?;
            Self::write_user(&mut connection, user, &document).await
        }
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
        let written = sqlx::query(
            "UPDATE users SET email_lower = $1, version = $2, document = $3 \
             WHERE id = $4 AND tenant_id = $5 AND version = $6",
        )
        .bind(email_key(&user.email))
        .bind(user.version)
        .bind(&document)
        .bind(DB::id(user.id))
        .bind(DB::id(user.tenant_id))
        .bind(previous)
        .execute(&self.pool)
        .await;
        match written.map_err(Failure::from) {
            Ok(done) if DB::rows_affected(&done) > 0 => Ok(()),
            Ok(_) => {
                let exists = self.user_document(user.tenant_id, user.id).await?.is_some();
                Err(conflict::not_updated("user", user.id, exists))
            }
            Err(Failure::Unique) => Err(self.user_conflict(user, true).await?),
            Err(other) => Err(other.into_error(user.tenant_id)),
        }
    }

    async fn user(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>> {
        let document = self.user_document(tenant_id, id).await?;
        document.map(|document| from_document(&document, "user")).transpose()
    }

    async fn user_by_email(&self, tenant_id: Uuid, email: &str) -> Result<Option<User>> {
        let document: Option<Document> =
            sqlx::query_scalar("SELECT document FROM users WHERE tenant_id = $1 AND email_lower = $2")
                .bind(DB::id(tenant_id))
                .bind(email_key(email))
                .fetch_optional(&self.pool)
                .await
                .map_err(database)?;
        document.map(|document| from_document(&document, "user")).transpose()
    }

    async fn users(&self, tenant_id: Uuid) -> Result<Vec<User>> {
        let documents: Vec<Document> =
            sqlx::query_scalar("SELECT document FROM users WHERE tenant_id = $1 ORDER BY email_lower, id")
                .bind(DB::id(tenant_id))
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
        rows::models(documents, "user")
    }

    async fn users_page(&self, tenant_id: Uuid, after: Option<&UserCursor>, limit: u32) -> Result<Vec<User>> {
        let query = match after {
            None => {
                sqlx::query_scalar("SELECT document FROM users WHERE tenant_id = $1 ORDER BY email_lower, id LIMIT $2")
                    .bind(DB::id(tenant_id))
                    .bind(i64::from(limit))
            }
            Some(after) => sqlx::query_scalar(
                "SELECT document FROM users WHERE tenant_id = $1 \
                 AND (email_lower > $2 OR (email_lower = $2 AND id > $3)) ORDER BY email_lower, id LIMIT $4",
            )
            .bind(DB::id(tenant_id))
            .bind(after.email_key.clone())
            .bind(DB::id(after.id))
            .bind(i64::from(limit)),
        };
        let documents: Vec<Document> = query.fetch_all(&self.pool).await.map_err(database)?;
        rows::models(documents, "user")
    }

    async fn users_with_directory_roles(&self, tenant_id: Uuid) -> Result<Vec<User>> {
        let query = format!(
            "SELECT document FROM users WHERE tenant_id = $1 AND {} ORDER BY email_lower, id",
            DB::HAS_DIRECTORY_ROLES
        );
        let documents: Vec<Document> = sqlx::query_scalar(&query)
            .bind(DB::id(tenant_id))
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows::models(documents, "user")
    }

    async fn insert_grant(&self, grant: &Grant) -> Result<()> {
        let document = document(&grant.document, "grant")?;
        let written = sqlx::query(
            "INSERT INTO grants (kind, id, tenant_id, family, user_id, document, created, expires, redeemed, revoked) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, false)",
        )
        .bind(grant.kind.as_str())
        .bind(&grant.id)
        .bind(DB::id(grant.tenant_id))
        .bind(DB::id(grant.family))
        .bind(DB::id(grant.user_id))
        .bind(&document)
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

    async fn redeem_grant_of(
        &self,
        kind: GrantKind,
        id: &str,
        client: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Redemption> {
        let client = client.map(|c| c.to_string());
        // One statement: of two redemptions, the second finds the grant redeemed; one by another
        // client finds nothing to redeem. (`->>` reads a JSON member on both databases: jsonb on
        // PostgreSQL, JSON text on SQLite 3.38 and later.)
        let redeemed: Option<rows::GrantRow<DB::Id>> = sqlx::query_as(concat!(
            "UPDATE grants SET redeemed = true \
             WHERE kind = $1 AND id = $2 AND NOT redeemed AND NOT revoked AND expires > $3 \
             AND ($4 IS NULL OR document->>'client_id' = $4) RETURNING ",
            grant_columns!()
        ))
        .bind(kind.as_str())
        .bind(id)
        .bind(sortable_time_text(now)?)
        .bind(&client)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        if let Some(row) = redeemed {
            return Ok(Redemption::Redeemed(rows::grant(kind, id, row)?));
        }
        // Live or redeemed before, not revoked, and another client's: left alone.
        if client.is_some() {
            let other: Option<String> = sqlx::query_scalar(
                "SELECT kind FROM grants WHERE kind = $1 AND id = $2 AND NOT revoked \
                 AND (redeemed OR expires > $3) AND document->>'client_id' IS DISTINCT FROM $4",
            )
            .bind(kind.as_str())
            .bind(id)
            .bind(sortable_time_text(now)?)
            .bind(&client)
            .fetch_optional(&self.pool)
            .await
            .map_err(database)?;
            if other.is_some() {
                return Ok(Redemption::OtherClient);
            }
        }
        // Redeemed before, expired since or not, and not revoked: a replay.
        let replayed: Option<rows::GrantRow<DB::Id>> = sqlx::query_as(concat!(
            "SELECT ",
            grant_columns!(),
            " FROM grants WHERE kind = $1 AND id = $2 AND redeemed AND NOT revoked"
        ))
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        match replayed {
            Some(row) => Ok(Redemption::Replayed(rows::grant(kind, id, row)?)),
            None => Ok(Redemption::Unusable),
        }
    }

    async fn live_grant(&self, kind: GrantKind, id: &str, now: OffsetDateTime) -> Result<Option<Grant>> {
        let row: Option<rows::GrantRow<DB::Id>> = sqlx::query_as(concat!(
            "SELECT ",
            grant_columns!(),
            " FROM grants WHERE kind = $1 AND id = $2 AND NOT redeemed AND NOT revoked AND expires > $3"
        ))
        .bind(kind.as_str())
        .bind(id)
        .bind(sortable_time_text(now)?)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        row.map(|row| rows::grant(kind, id, row)).transpose()
    }

    async fn revoke_family(&self, family: Uuid) -> Result<u64> {
        let redeemed: Vec<bool> =
            sqlx::query_scalar("UPDATE grants SET revoked = true WHERE family = $1 AND NOT revoked RETURNING redeemed")
                .bind(DB::id(family))
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
        Ok(user_model::live(&redeemed))
    }

    async fn revoke_user_grants(&self, tenant_id: Uuid, user_id: Uuid) -> Result<u64> {
        let redeemed: Vec<bool> = sqlx::query_scalar(
            "UPDATE grants SET revoked = true WHERE tenant_id = $1 AND user_id = $2 AND NOT revoked RETURNING redeemed",
        )
        .bind(DB::id(tenant_id))
        .bind(DB::id(user_id))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        Ok(user_model::live(&redeemed))
    }

    async fn delete_expired_grants(&self, before: OffsetDateTime) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM grants WHERE expires < $1")
            .bind(sortable_time_text(before)?)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(DB::rows_affected(&deleted))
    }

    async fn insert_users(&self, users: &[User]) -> Result<()> {
        let documents = users
            .iter()
            .map(|user| document(user, "user"))
            .collect::<Result<Vec<_>>>()?;
        let Some(first) = users.first() else {
            return Ok(());
        };
        // The user being written when the transaction failed: the one to blame.
        let mut failed = first;
        let written = async {
            let mut tx = self.pool.begin().await?;
            for (user, document) in users.iter().zip(&documents) {
                failed = user;
                Self::write_user(&mut tx, user, document).await?;
            }
            tx.commit().await
        }
        .await;
        match written.map_err(Failure::from) {
            Ok(()) => Ok(()),
            Err(Failure::Unique) => Err(self.user_conflict(failed, false).await?),
            Err(other) => Err(other.into_error(failed.tenant_id)),
        }
    }
}
