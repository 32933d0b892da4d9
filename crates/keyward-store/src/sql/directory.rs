//! Tenants, applications, role assignments and signing keys, on either backend.

use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Type};
use uuid::Uuid;

use super::{Backend, Column, SqlStore};
use crate::columns::{Document, IdColumn, document, from_document, time_text};
use crate::conflict::{self, Failure, database};
use crate::{
    AppManagementPolicy, AppRoleAssignment, Application, ApplicationChanges, AppliedState, DirectoryStore, Error,
    Result, SigningKey, Tenant, rows,
};

/// How many application documents [`DirectoryStore::applications`] reads at a time.
const APPLICATIONS_PAGE: u32 = 1000;

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
    /// Who holds the unique values of a tenant that could not be inserted.
    async fn tenant_conflict(&self, tenant: &Tenant) -> Result<Error> {
        let rows: Vec<rows::TenantHolderRow<DB::Id>> =
            sqlx::query_as("SELECT id, name, domain FROM tenants WHERE id = $1 OR name = $2 OR domain = $3")
                .bind(DB::id(tenant.id))
                .bind(&tenant.name)
                .bind(&tenant.domain)
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
        Ok(conflict::tenant(tenant, &rows::tenant_holders(rows)?))
    }

    /// Who holds the unique values of an application that could not be written.
    async fn application_conflict(&self, app: &Application, updating: bool) -> Result<Error> {
        let rows: Vec<rows::ApplicationHolderRow<DB::Id>> = sqlx::query_as(
            "SELECT id, app_id, service_principal_id FROM applications \
             WHERE id = $1 OR (tenant_id = $2 AND (app_id = $3 OR service_principal_id = $4))",
        )
        .bind(DB::id(app.id))
        .bind(DB::id(app.tenant_id))
        .bind(DB::id(app.app_id))
        .bind(DB::id(app.service_principal_id))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        let mut uris = Vec::new();
        for uri in &app.identifier_uris {
            let owner: Option<DB::Id> =
                sqlx::query_scalar("SELECT application_id FROM identifier_uris WHERE tenant_id = $1 AND uri = $2")
                    .bind(DB::id(app.tenant_id))
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
        let ids: Vec<DB::Id> = sqlx::query_scalar(
            "SELECT id FROM role_assignments \
             WHERE id = $1 OR (principal_id = $2 AND resource_id = $3 AND app_role_id = $4)",
        )
        .bind(DB::id(assignment.id))
        .bind(DB::id(assignment.principal_id))
        .bind(DB::id(assignment.resource_id))
        .bind(DB::id(assignment.app_role_id))
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
        let holders =
            sqlx::query_as("SELECT kid, active FROM signing_keys WHERE tenant_id = $1 AND (kid = $2 OR active)")
                .bind(DB::id(key.tenant_id))
                .bind(&key.kid)
                .fetch_all(&self.pool)
                .await
                .map_err(database)?;
        Ok(conflict::signing_key(key, &holders))
    }

    /// Writes the rows of a new application (its row and its identifier URIs), in a transaction:
    /// what [`DirectoryStore::insert_application`] and [`DirectoryStore::insert_applications`]
    /// both write.
    async fn write_application(
        tx: &mut DB::Connection,
        app: &Application,
        document: &Document,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO applications (id, tenant_id, app_id, service_principal_id, version, document) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(DB::id(app.id))
        .bind(DB::id(app.tenant_id))
        .bind(DB::id(app.app_id))
        .bind(DB::id(app.service_principal_id))
        .bind(app.version)
        .bind(document)
        .execute(&mut *tx)
        .await?;
        Self::insert_identifier_uris(tx, app).await
    }

    /// Records the identifier URIs an application lists, in its transaction.
    async fn insert_identifier_uris(tx: &mut DB::Connection, app: &Application) -> Result<(), sqlx::Error> {
        for uri in &app.identifier_uris {
            sqlx::query("INSERT INTO identifier_uris (tenant_id, uri, application_id) VALUES ($1, $2, $3)")
                .bind(DB::id(app.tenant_id))
                .bind(uri)
                .bind(DB::id(app.id))
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl<DB> DirectoryStore for SqlStore<DB>
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
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()> {
        let written = sqlx::query("INSERT INTO tenants (id, name, domain, created) VALUES ($1, $2, $3, $4)")
            .bind(DB::id(tenant.id))
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
        let rows: Vec<rows::TenantRow<DB::Id>> =
            sqlx::query_as("SELECT id, name, domain, created FROM tenants ORDER BY name")
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
            Self::write_application(&mut tx, app, &document).await?;
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
            .bind(DB::id(app.app_id))
            .bind(DB::id(app.service_principal_id))
            .bind(app.version)
            .bind(&document)
            .bind(DB::id(app.id))
            .bind(DB::id(app.tenant_id))
            .bind(previous)
            .execute(&mut *tx)
            .await?;
            if DB::rows_affected(&updated) == 0 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM identifier_uris WHERE application_id = $1")
                .bind(DB::id(app.id))
                .execute(&mut *tx)
                .await?;
            Self::insert_identifier_uris(&mut tx, app).await?;
            tx.commit().await?;
            Ok(true)
        };
        match written.await {
            Ok(true) => Ok(()),
            Ok(false) => {
                let exists = sqlx::query("SELECT 1 FROM applications WHERE id = $1 AND tenant_id = $2")
                    .bind(DB::id(app.id))
                    .bind(DB::id(app.tenant_id))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database)?;
                Err(conflict::not_updated("application", app.id, exists.is_some()))
            }
            Err(Failure::Unique) => Err(self.application_conflict(app, true).await?),
            Err(other) => Err(other.into_error(app.tenant_id)),
        }
    }

    async fn delete_application(&self, tenant_id: Uuid, id: Uuid) -> Result<bool> {
        let deleted = async {
            let mut tx = self.pool.begin().await?;
            let service_principal: Option<DB::Id> = sqlx::query_scalar(
                "DELETE FROM applications WHERE tenant_id = $1 AND id = $2 RETURNING service_principal_id",
            )
            .bind(DB::id(tenant_id))
            .bind(DB::id(id))
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(service_principal) = &service_principal {
                sqlx::query(
                    "DELETE FROM role_assignments WHERE tenant_id = $1 AND (principal_id = $2 OR resource_id = $2)",
                )
                .bind(DB::id(tenant_id))
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
        let mut apps: Vec<Application> = Vec::new();
        loop {
            let page = self
                .applications_after(apps.last().map(|a| a.id), APPLICATIONS_PAGE)
                .await?;
            let full = page.len() == APPLICATIONS_PAGE as usize;
            apps.extend(page);
            if !full {
                return Ok(apps);
            }
        }
    }

    async fn applications_after(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<Application>> {
        let limit = i64::from(limit);
        let documents: Vec<Document> = match after {
            None => {
                sqlx::query_scalar("SELECT document FROM applications ORDER BY id LIMIT $1")
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
            Some(after) => {
                sqlx::query_scalar("SELECT document FROM applications WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(DB::id(after))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(database)?;
        rows::models(documents, "application")
    }

    async fn application(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<Application>> {
        let document: Option<Document> =
            sqlx::query_scalar("SELECT document FROM applications WHERE tenant_id = $1 AND id = $2")
                .bind(DB::id(tenant_id))
                .bind(DB::id(id))
                .fetch_optional(&self.pool)
                .await
                .map_err(database)?;
        document.map(|d| from_document(&d, "application")).transpose()
    }

    async fn applications_changed_since(&self, since: i64) -> Result<ApplicationChanges> {
        let documents: Vec<Document> = sqlx::query_scalar("SELECT document FROM applications WHERE revision > $1")
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        let removed: Vec<DB::Id> = sqlx::query_scalar("SELECT id FROM removed_applications WHERE revision > $1")
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        Ok(ApplicationChanges {
            changed: rows::models(documents, "application")?,
            removed: rows::ids(removed, "removed application")?,
        })
    }

    async fn insert_role_assignment(&self, assignment: &AppRoleAssignment) -> Result<()> {
        let written = sqlx::query(
            "INSERT INTO role_assignments (id, tenant_id, principal_id, resource_id, app_role_id, created) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(DB::id(assignment.id))
        .bind(DB::id(assignment.tenant_id))
        .bind(DB::id(assignment.principal_id))
        .bind(DB::id(assignment.resource_id))
        .bind(DB::id(assignment.app_role_id))
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
            .bind(DB::id(tenant_id))
            .bind(DB::id(id))
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(DB::rows_affected(&deleted) > 0)
    }

    async fn role_assignments(&self) -> Result<Vec<AppRoleAssignment>> {
        let rows: Vec<rows::RoleAssignmentRow<DB::Id>> = sqlx::query_as(
            "SELECT id, tenant_id, principal_id, resource_id, app_role_id, created FROM role_assignments \
             ORDER BY tenant_id, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        rows.into_iter().map(rows::role_assignment).collect()
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> Result<()> {
        let document = document(key, "signing key")?;
        let written =
            sqlx::query("INSERT INTO signing_keys (tenant_id, kid, active, document) VALUES ($1, $2, $3, $4)")
                .bind(DB::id(key.tenant_id))
                .bind(&key.kid)
                .bind(key.active)
                .bind(&document)
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
                    .bind(&retired_document)
                    .bind(DB::id(retired.tenant_id))
                    .bind(&retired.kid)
                    .execute(&mut *tx)
                    .await?;
            if DB::rows_affected(&updated) == 0 {
                return Err(Failure::Other(Error::NotFound(format!(
                    "signing key {:?} of tenant {}",
                    retired.kid, retired.tenant_id
                ))));
            }
            sqlx::query("INSERT INTO signing_keys (tenant_id, kid, active, document) VALUES ($1, $2, $3, $4)")
                .bind(DB::id(new.tenant_id))
                .bind(&new.kid)
                .bind(new.active)
                .bind(&new_document)
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
            .bind(DB::id(tenant_id))
            .bind(kid)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(DB::rows_affected(&deleted) > 0)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        let documents: Vec<Document> = sqlx::query_scalar("SELECT document FROM signing_keys ORDER BY tenant_id, kid")
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows::models(documents, "signing key")
    }

    async fn directory_revision(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT revision FROM directory_revision WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(database)
    }

    async fn app_management_policy(&self, tenant_id: Uuid) -> Result<Option<AppManagementPolicy>> {
        let document: Option<Document> =
            sqlx::query_scalar("SELECT document FROM app_management_policies WHERE tenant_id = $1")
                .bind(DB::id(tenant_id))
                .fetch_optional(&self.pool)
                .await
                .map_err(database)?;
        document.map(|d| from_document(&d, "app management policy")).transpose()
    }

    async fn put_app_management_policy(&self, policy: &AppManagementPolicy) -> Result<()> {
        let document = document(policy, "app management policy")?;
        let written = sqlx::query(
            "INSERT INTO app_management_policies (tenant_id, document) VALUES ($1, $2) \
             ON CONFLICT (tenant_id) DO UPDATE SET document = excluded.document",
        )
        .bind(DB::id(policy.tenant_id))
        .bind(&document)
        .execute(&self.pool)
        .await;
        match written.map_err(Failure::from) {
            Ok(_) => Ok(()),
            Err(other) => Err(other.into_error(policy.tenant_id)),
        }
    }

    async fn applied_state(&self) -> Result<AppliedState> {
        let document: Option<Document> = sqlx::query_scalar("SELECT document FROM applied_state WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(database)?;
        Ok(document
            .map(|d| from_document(&d, "applied state"))
            .transpose()?
            .unwrap_or_default())
    }

    async fn put_applied_state(&self, state: &AppliedState) -> Result<()> {
        let document = document(state, "applied state")?;
        sqlx::query(
            "INSERT INTO applied_state (id, document) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET document = excluded.document",
        )
        .bind(&document)
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn insert_applications(&self, apps: &[Application]) -> Result<()> {
        let mut documents = Vec::with_capacity(apps.len());
        for app in apps {
            conflict::check_identifier_uris(app)?;
            documents.push(document(app, "application")?);
        }
        let Some(first) = apps.first() else {
            return Ok(());
        };
        // The application being written when the transaction failed: the one to blame.
        let mut failed = first;
        let written = async {
            let mut tx = self.pool.begin().await?;
            for (app, document) in apps.iter().zip(&documents) {
                failed = app;
                Self::write_application(&mut tx, app, document).await?;
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        match written {
            Ok(()) => Ok(()),
            Err(Failure::Unique) => Err(self.application_conflict(failed, false).await?),
            Err(other) => Err(other.into_error(failed.tenant_id)),
        }
    }
}
