//! The PostgreSQL backend: several servers sharing one database. Ids are `uuid`, documents
//! `jsonb`, times RFC 3339 text as on SQLite. Customer sign-in and the vault live in their own
//! files.

mod sign_in;
mod vault;

use std::str::FromStr;
use std::time::Duration;

use serde_json::value::RawValue;
use sqlx::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::columns::{document, from_document, time_from_text, time_text};
use crate::conflict::{self, Failure, database};
use crate::{
    AppRoleAssignment, Application, Collection, Error, Grant, GrantKind, ItemKey, Redemption, Result, SigningKey,
    Store, Tenant, User, Vault, VaultItem, VaultVersion, VaultWrite,
};

/// A [`Store`] in a PostgreSQL database.
pub(crate) struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database `url` names and migrates it.
    pub(crate) async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url).map_err(database)?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(database)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| Error::Database(format!("migrating the PostgreSQL schema: {e}")))?;
        Ok(Self { pool })
    }

    /// Who holds the unique values of a tenant that could not be inserted.
    async fn tenant_conflict(&self, tenant: &Tenant) -> Result<Error> {
        let holders = sqlx::query_as("SELECT id, name, domain FROM tenants WHERE id = $1 OR name = $2 OR domain = $3")
            .bind(tenant.id)
            .bind(&tenant.name)
            .bind(&tenant.domain)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        Ok(conflict::tenant(tenant, &holders))
    }

    /// Who holds the unique values of an application that could not be written.
    async fn application_conflict(&self, app: &Application, updating: bool) -> Result<Error> {
        let rows = sqlx::query_as(
            "SELECT id, app_id, service_principal_id FROM applications \
             WHERE id = $1 OR (tenant_id = $2 AND (app_id = $3 OR service_principal_id = $4))",
        )
        .bind(app.id)
        .bind(app.tenant_id)
        .bind(app.app_id)
        .bind(app.service_principal_id)
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        let mut uris = Vec::new();
        for uri in &app.identifier_uris {
            let owner: Option<Uuid> =
                sqlx::query_scalar("SELECT application_id FROM identifier_uris WHERE tenant_id = $1 AND uri = $2")
                    .bind(app.tenant_id)
                    .bind(uri)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database)?;
            uris.extend(owner.map(|owner| (uri.clone(), owner)));
        }
        Ok(conflict::application(app, updating, &rows, &uris))
    }

    /// Who holds the unique values of a role assignment that could not be inserted.
    async fn role_assignment_conflict(&self, assignment: &AppRoleAssignment) -> Result<Error> {
        let holders: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM role_assignments \
             WHERE id = $1 OR (principal_id = $2 AND resource_id = $3 AND app_role_id = $4)",
        )
        .bind(assignment.id)
        .bind(assignment.principal_id)
        .bind(assignment.resource_id)
        .bind(assignment.app_role_id)
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        Ok(conflict::role_assignment(assignment, &holders))
    }

    /// Who holds the unique values of a signing key that could not be inserted.
    async fn signing_key_conflict(&self, key: &SigningKey) -> Result<Error> {
        let holders =
            sqlx::query_as("SELECT kid, active FROM signing_keys WHERE tenant_id = $1 AND (kid = $2 OR active)")
                .bind(key.tenant_id)
                .bind(&key.kid)
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
        Ok(conflict::signing_key(key, &holders))
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()> {
        let written = sqlx::query("INSERT INTO tenants (id, name, domain, created) VALUES ($1, $2, $3, $4)")
            .bind(tenant.id)
            .bind(&tenant.name)
            .bind(&tenant.domain)
            .bind(time_text(tenant.created)?)
            .execute(&self.pool)
            .await;
        match written.map_err(Failure::from) {
            Ok(_) => Ok(()),
            Err(Failure::Unique) => Err(self.tenant_conflict(tenant).await?),
            Err(other) => Err(other.into_error(tenant.id)),
        }
    }

    async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows: Vec<(Uuid, String, String, String)> =
            sqlx::query_as("SELECT id, name, domain, created FROM tenants ORDER BY name")
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
        rows.into_iter()
            .map(|(id, name, domain, created)| {
                let created = time_from_text(&created, "tenant")?;
                Ok(Tenant {
                    id,
                    name,
                    domain,
                    created,
                })
            })
            .collect()
    }

    async fn insert_application(&self, app: &Application) -> Result<()> {
        conflict::check_identifier_uris(app)?;
        let document = document(app, "application")?;
        let written = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO applications (id, tenant_id, app_id, service_principal_id, version, document) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(app.id)
            .bind(app.tenant_id)
            .bind(app.app_id)
            .bind(app.service_principal_id)
            .bind(app.version)
            .bind(Json(&document))
            .execute(&mut *tx)
            .await?;
            insert_identifier_uris(&mut tx, app).await?;
            tx.commit().await?;
            Ok(())
        };
        match written.await {
            Ok(()) => Ok(()),
            Err(Failure::Unique) => Err(self.application_conflict(app, false).await?),
            Err(other) => Err(other.into_error(app.tenant_id)),
        }
    }

    async fn update_application(&self, app: &Application) -> Result<()> {
        conflict::check_identifier_uris(app)?;
        let document = document(app, "application")?;
        let Some(previous) = app.version.checked_sub(1) else {
            return Err(Error::VersionMismatch { what: "application" });
        };
        let written = async {
            let mut tx = self.pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE applications SET app_id = $1, service_principal_id = $2, version = $3, document = $4 \
                 WHERE id = $5 AND tenant_id = $6 AND version = $7",
            )
            .bind(app.app_id)
            .bind(app.service_principal_id)
            .bind(app.version)
            .bind(Json(&document))
            .bind(app.id)
            .bind(app.tenant_id)
            .bind(previous)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM identifier_uris WHERE application_id = $1")
                .bind(app.id)
                .execute(&mut *tx)
                .await?;
            insert_identifier_uris(&mut tx, app).await?;
            tx.commit().await?;
            Ok(true)
        };
        match written.await {
            Ok(true) => Ok(()),
            Ok(false) => {
                let exists = sqlx::query("SELECT 1 FROM applications WHERE id = $1 AND tenant_id = $2")
                    .bind(app.id)
                    .bind(app.tenant_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database)?;
                match exists {
                    Some(_) => Err(Error::VersionMismatch { what: "application" }),
                    None => Err(Error::NotFound(format!("application {}", app.id))),
                }
            }
            Err(Failure::Unique) => Err(self.application_conflict(app, true).await?),
            Err(other) => Err(other.into_error(app.tenant_id)),
        }
    }

    async fn delete_application(&self, tenant_id: Uuid, id: Uuid) -> Result<bool> {
        let deleted = async {
            let mut tx = self.pool.begin().await?;
            let service_principal: Option<Uuid> = sqlx::query_scalar(
                "DELETE FROM applications WHERE tenant_id = $1 AND id = $2 RETURNING service_principal_id",
            )
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(service_principal) = &service_principal {
                sqlx::query(
                    "DELETE FROM role_assignments WHERE tenant_id = $1 AND (principal_id = $2 OR resource_id = $2)",
                )
                .bind(tenant_id)
                .bind(service_principal)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(service_principal.is_some())
        };
        deleted.await.map_err(database)
    }

    async fn applications(&self) -> Result<Vec<Application>> {
        let documents: Vec<Json<Box<RawValue>>> =
            sqlx::query_scalar("SELECT document FROM applications ORDER BY tenant_id, id")
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
        documents
            .iter()
            .map(|Json(raw)| from_document(raw.get(), "application"))
            .collect()
    }

    async fn insert_role_assignment(&self, assignment: &AppRoleAssignment) -> Result<()> {
        let written = sqlx::query(
            "INSERT INTO role_assignments (id, tenant_id, principal_id, resource_id, app_role_id, created) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(assignment.id)
        .bind(assignment.tenant_id)
        .bind(assignment.principal_id)
        .bind(assignment.resource_id)
        .bind(assignment.app_role_id)
        .bind(time_text(assignment.created)?)
        .execute(&self.pool)
        .await;
        match written.map_err(Failure::from) {
            Ok(_) => Ok(()),
            Err(Failure::Unique) => Err(self.role_assignment_conflict(assignment).await?),
            Err(other) => Err(other.into_error(assignment.tenant_id)),
        }
    }

    async fn delete_role_assignment(&self, tenant_id: Uuid, id: Uuid) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM role_assignments WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn role_assignments(&self) -> Result<Vec<AppRoleAssignment>> {
        let rows: Vec<(Uuid, Uuid, Uuid, Uuid, Uuid, String)> = sqlx::query_as(
            "SELECT id, tenant_id, principal_id, resource_id, app_role_id, created FROM role_assignments \
             ORDER BY tenant_id, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        rows.into_iter()
            .map(|(id, tenant_id, principal_id, resource_id, app_role_id, created)| {
                let created = time_from_text(&created, "role assignment")?;
                Ok(AppRoleAssignment {
                    id,
                    tenant_id,
                    principal_id,
                    resource_id,
                    app_role_id,
                    created,
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> Result<()> {
        let document = document(key, "signing key")?;
        let written =
            sqlx::query("INSERT INTO signing_keys (tenant_id, kid, active, document) VALUES ($1, $2, $3, $4)")
                .bind(key.tenant_id)
                .bind(&key.kid)
                .bind(key.active)
                .bind(Json(&document))
                .execute(&self.pool)
                .await;
        match written.map_err(Failure::from) {
            Ok(_) => Ok(()),
            Err(Failure::Unique) => Err(self.signing_key_conflict(key).await?),
            Err(other) => Err(other.into_error(key.tenant_id)),
        }
    }

    async fn rotate_signing_key(&self, retired: &SigningKey, new: &SigningKey) -> Result<()> {
        conflict::check_rotation(retired, new)?;
        let (retired_document, new_document) = (document(retired, "signing key")?, document(new, "signing key")?);
        let written = async {
            let mut tx = self.pool.begin().await?;
            let updated =
                sqlx::query("UPDATE signing_keys SET active = $1, document = $2 WHERE tenant_id = $3 AND kid = $4")
                    .bind(retired.active)
                    .bind(Json(&retired_document))
                    .bind(retired.tenant_id)
                    .bind(&retired.kid)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if updated == 0 {
                return Err(Failure::Other(Error::NotFound(format!(
                    "signing key {:?} of tenant {}",
                    retired.kid, retired.tenant_id
                ))));
            }
            sqlx::query("INSERT INTO signing_keys (tenant_id, kid, active, document) VALUES ($1, $2, $3, $4)")
                .bind(new.tenant_id)
                .bind(&new.kid)
                .bind(new.active)
                .bind(Json(&new_document))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        };
        match written.await {
            Ok(()) => Ok(()),
            Err(Failure::Unique) => Err(self.signing_key_conflict(new).await?),
            Err(other) => Err(other.into_error(new.tenant_id)),
        }
    }

    async fn delete_signing_key(&self, tenant_id: Uuid, kid: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM signing_keys WHERE tenant_id = $1 AND kid = $2")
            .bind(tenant_id)
            .bind(kid)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        let documents: Vec<Json<Box<RawValue>>> =
            sqlx::query_scalar("SELECT document FROM signing_keys ORDER BY tenant_id, kid")
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
        documents
            .iter()
            .map(|Json(raw)| from_document(raw.get(), "signing key"))
            .collect()
    }

    async fn directory_revision(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT revision FROM directory_revision WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(database)
    }

    async fn insert_user(&self, user: &User) -> Result<()> {
        sign_in::insert_user(&self.pool, user).await
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        sign_in::update_user(&self.pool, user).await
    }

    async fn user(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>> {
        sign_in::user(&self.pool, tenant_id, id).await
    }

    async fn user_by_email(&self, tenant_id: Uuid, email: &str) -> Result<Option<User>> {
        sign_in::user_by_email(&self.pool, tenant_id, email).await
    }

    async fn users(&self, tenant_id: Uuid) -> Result<Vec<User>> {
        sign_in::users(&self.pool, tenant_id).await
    }

    async fn insert_grant(&self, grant: &Grant) -> Result<()> {
        sign_in::insert_grant(&self.pool, grant).await
    }

    async fn redeem_grant_of(
        &self,
        kind: GrantKind,
        id: &str,
        client: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Redemption> {
        sign_in::redeem_grant(&self.pool, kind, id, client, now).await
    }

    async fn live_grant(&self, kind: GrantKind, id: &str, now: OffsetDateTime) -> Result<Option<Grant>> {
        sign_in::live_grant(&self.pool, kind, id, now).await
    }

    async fn revoke_family(&self, family: Uuid) -> Result<u64> {
        sign_in::revoke_family(&self.pool, family).await
    }

    async fn revoke_user_grants(&self, tenant_id: Uuid, user_id: Uuid) -> Result<u64> {
        sign_in::revoke_user_grants(&self.pool, tenant_id, user_id).await
    }

    async fn delete_expired_grants(&self, before: OffsetDateTime) -> Result<u64> {
        sign_in::delete_expired_grants(&self.pool, before).await
    }

    async fn insert_vault(&self, vault: &Vault) -> Result<()> {
        vault::insert_vault(&self.pool, vault).await
    }

    async fn update_vault(&self, vault: &Vault) -> Result<()> {
        vault::update_vault(&self.pool, vault).await
    }

    async fn vaults(&self) -> Result<Vec<Vault>> {
        vault::vaults(&self.pool).await
    }

    async fn write_vault(&self, write: &VaultWrite) -> Result<()> {
        vault::write_vault(&self.pool, write).await
    }

    async fn vault_item(&self, key: &ItemKey) -> Result<Option<VaultItem>> {
        vault::vault_item(&self.pool, key).await
    }

    async fn vault_items(&self, vault_id: Uuid, collection: Collection, deleted: bool) -> Result<Vec<VaultItem>> {
        vault::vault_items(&self.pool, vault_id, collection, deleted).await
    }

    async fn vault_versions(&self, key: &ItemKey) -> Result<Vec<VaultVersion>> {
        vault::vault_versions(&self.pool, key).await
    }

    async fn vault_version(&self, key: &ItemKey, version: &str) -> Result<Option<VaultVersion>> {
        vault::vault_version(&self.pool, key, version).await
    }
}

/// Records the identifier URIs an application lists, in its transaction.
async fn insert_identifier_uris(tx: &mut PgConnection, app: &Application) -> Result<(), sqlx::Error> {
    for uri in &app.identifier_uris {
        sqlx::query("INSERT INTO identifier_uris (tenant_id, uri, application_id) VALUES ($1, $2, $3)")
            .bind(app.tenant_id)
            .bind(uri)
            .bind(app.id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
