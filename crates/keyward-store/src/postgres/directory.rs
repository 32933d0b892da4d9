//! Tenants, applications, role assignments and signing keys in PostgreSQL.

use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Document, Id, PostgresStore};
use crate::columns::{IdColumn, document, time_text};
use crate::conflict::{self, Failure, database};
use crate::sql::directory as sql;
use crate::{AppRoleAssignment, Application, DirectoryStore, Error, Result, SigningKey, Tenant, rows};

impl PostgresStore {
    /// Who holds the unique values of a tenant that could not be inserted.
    async fn tenant_conflict(&self, tenant: &Tenant) -> Result<Error> {
        let rows: Vec<rows::TenantHolderRow<Id>> = sqlx::query_as(sql::TENANT_HOLDERS)
            .bind(tenant.id)
            .bind(&tenant.name)
            .bind(&tenant.domain)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        Ok(conflict::tenant(tenant, &rows::tenant_holders(rows)?))
    }

    /// Who holds the unique values of an application that could not be written.
    async fn application_conflict(&self, app: &Application, updating: bool) -> Result<Error> {
        let rows: Vec<rows::ApplicationHolderRow<Id>> = sqlx::query_as(sql::APPLICATION_HOLDERS)
            .bind(app.id)
            .bind(app.tenant_id)
            .bind(app.app_id)
            .bind(app.service_principal_id)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        let mut uris = Vec::new();
        for uri in &app.identifier_uris {
            let owner: Option<Id> = sqlx::query_scalar(sql::IDENTIFIER_URI_OWNER)
                .bind(app.tenant_id)
                .bind(uri)
                .fetch_optional(&self.pool)
                .await
                .map_err(database)?;
            if let Some(owner) = owner {
                uris.push((uri.clone(), owner.uuid("identifier URI")?));
            }
        }
        Ok(conflict::application(
            app,
            updating,
            &rows::application_holders(rows)?,
            &uris,
        ))
    }

    /// Who holds the unique values of a role assignment that could not be inserted.
    async fn role_assignment_conflict(&self, assignment: &AppRoleAssignment) -> Result<Error> {
        let ids: Vec<Id> = sqlx::query_scalar(sql::ROLE_ASSIGNMENT_HOLDERS)
            .bind(assignment.id)
            .bind(assignment.principal_id)
            .bind(assignment.resource_id)
            .bind(assignment.app_role_id)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        Ok(conflict::role_assignment(
            assignment,
            &rows::ids(ids, "role assignment")?,
        ))
    }

    /// Who holds the unique values of a signing key that could not be inserted.
    async fn signing_key_conflict(&self, key: &SigningKey) -> Result<Error> {
        let holders = sqlx::query_as(sql::SIGNING_KEY_HOLDERS)
            .bind(key.tenant_id)
            .bind(&key.kid)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        Ok(conflict::signing_key(key, &holders))
    }
}

#[async_trait::async_trait]
impl DirectoryStore for PostgresStore {
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()> {
        let written = sqlx::query(sql::INSERT_TENANT)
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
        let rows: Vec<rows::TenantRow<Id>> = sqlx::query_as(sql::TENANTS)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows.into_iter().map(rows::tenant).collect()
    }

    async fn insert_application(&self, app: &Application) -> Result<()> {
        conflict::check_identifier_uris(app)?;
        let document = document(app, "application")?;
        let written = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query(sql::INSERT_APPLICATION)
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
            let updated = sqlx::query(sql::UPDATE_APPLICATION)
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
            sqlx::query(sql::DELETE_IDENTIFIER_URIS)
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
                let exists = sqlx::query(sql::APPLICATION_EXISTS)
                    .bind(app.id)
                    .bind(app.tenant_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database)?;
                Err(conflict::not_updated("application", app.id, exists.is_some()))
            }
            Err(Failure::Unique) => Err(self.application_conflict(app, true).await?),
            Err(other) => Err(other.into_error(app.tenant_id)),
        }
    }

    async fn delete_application(&self, tenant_id: Uuid, app_id: Uuid) -> Result<bool> {
        let deleted = async {
            let mut tx = self.pool.begin().await?;
            let service_principal: Option<Id> = sqlx::query_scalar(sql::DELETE_APPLICATION)
                .bind(tenant_id)
                .bind(app_id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(service_principal) = &service_principal {
                sqlx::query(sql::DELETE_ROLE_ASSIGNMENTS_OF)
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
        let documents: Vec<Document> = sqlx::query_scalar(sql::APPLICATIONS)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows::models(documents, "application")
    }

    async fn insert_role_assignment(&self, assignment: &AppRoleAssignment) -> Result<()> {
        let written = sqlx::query(sql::INSERT_ROLE_ASSIGNMENT)
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

    async fn delete_role_assignment(&self, tenant_id: Uuid, assignment_id: Uuid) -> Result<bool> {
        let deleted = sqlx::query(sql::DELETE_ROLE_ASSIGNMENT)
            .bind(tenant_id)
            .bind(assignment_id)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn role_assignments(&self) -> Result<Vec<AppRoleAssignment>> {
        let rows: Vec<rows::RoleAssignmentRow<Id>> = sqlx::query_as(sql::ROLE_ASSIGNMENTS)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows.into_iter().map(rows::role_assignment).collect()
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> Result<()> {
        let document = document(key, "signing key")?;
        let written = sqlx::query(sql::INSERT_SIGNING_KEY)
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
            let updated = sqlx::query(sql::UPDATE_SIGNING_KEY)
                .bind(retired.active)
                .bind(Json(&retired_document))
                .bind(retired.tenant_id)
                .bind(&retired.kid)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated == 0 {
                return Err(Failure::Other(conflict::missing_signing_key(retired)));
            }
            sqlx::query(sql::INSERT_SIGNING_KEY)
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
        let deleted = sqlx::query(sql::DELETE_SIGNING_KEY)
            .bind(tenant_id)
            .bind(kid)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        let documents: Vec<Document> = sqlx::query_scalar(sql::SIGNING_KEYS)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows::models(documents, "signing key")
    }

    async fn directory_revision(&self) -> Result<i64> {
        sqlx::query_scalar(sql::DIRECTORY_REVISION)
            .fetch_one(&self.pool)
            .await
            .map_err(database)
    }
}

/// Records the identifier URIs an application lists, in its transaction.
async fn insert_identifier_uris(tx: &mut PgConnection, app: &Application) -> Result<(), sqlx::Error> {
    for uri in &app.identifier_uris {
        sqlx::query(sql::INSERT_IDENTIFIER_URI)
            .bind(app.tenant_id)
            .bind(uri)
            .bind(app.id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
