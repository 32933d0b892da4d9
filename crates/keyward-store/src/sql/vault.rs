//! Vaults, their names and versions, on either backend.

use sqlx::{ColumnIndex, Encode, Executor, IntoArguments, Type};
use uuid::Uuid;

use super::{Backend, Column, SqlStore};
use crate::columns::{Document, document, name_key, sortable_time_text};
use crate::conflict::{self, Failure, database};
use crate::{
    Collection, Error, ItemKey, ItemWrite, Result, Vault, VaultItem, VaultStore, VaultVersion, VaultWrite, rows,
};

/// The query [`rows::VersionRow`]s are read with: the versions of a name, with the name's stored
/// spelling. `$1`, `$2`, `$3` are the name's key.
macro_rules! versions {
    () => {
        "SELECT i.name, v.version, v.created, v.document, v.sealed \
         FROM vault_versions v JOIN vault_items i USING (vault_id, collection, name_key) \
         WHERE v.vault_id = $1 AND v.collection = $2 AND v.name_key = $3"
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
    /// Who holds the unique values of a vault that could not be written.
    async fn vault_conflict(&self, vault: &Vault, updating: bool) -> Result<Error> {
        let ids: Vec<DB::Id> = sqlx::query_scalar("SELECT id FROM vaults WHERE id = $1 OR name = $2")
            .bind(DB::id(vault.id))
            .bind(&vault.name)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        Ok(conflict::vault(vault, updating, &rows::ids(ids, "vault")?))
    }

    /// Inserts or replaces one name, in the transaction of a [`VaultWrite`].
    async fn write_item(tx: &mut DB::Connection, write: &ItemWrite) -> Result<()> {
        let (item, key) = (&write.item, &write.item.key);
        let document = document(&item.document, conflict::item_kind(key.collection))?;
        let Some(expected) = write.expected_revision else {
            let inserted = sqlx::query(
                "INSERT INTO vault_items (vault_id, collection, name_key, name, deleted, revision, document) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(DB::id(key.vault_id))
            .bind(key.collection.as_str())
            .bind(name_key(&key.name))
            .bind(&key.name)
            .bind(item.deleted)
            .bind(item.revision)
            .bind(&document)
            .execute(&mut *tx)
            .await;
            return inserted.map(|_| ()).map_err(|e| conflict::item_refused(key, e.into()));
        };
        let updated = sqlx::query(
            "UPDATE vault_items SET deleted = $1, revision = $2, document = $3 \
             WHERE vault_id = $4 AND collection = $5 AND name_key = $6 AND revision = $7",
        )
        .bind(item.deleted)
        .bind(item.revision)
        .bind(&document)
        .bind(DB::id(key.vault_id))
        .bind(key.collection.as_str())
        .bind(name_key(&key.name))
        .bind(expected)
        .execute(&mut *tx)
        .await
        .map_err(database)?;
        if DB::rows_affected(&updated) > 0 {
            return Ok(());
        }
        let exists = sqlx::query("SELECT 1 FROM vault_items WHERE vault_id = $1 AND collection = $2 AND name_key = $3")
            .bind(DB::id(key.vault_id))
            .bind(key.collection.as_str())
            .bind(name_key(&key.name))
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
        match exists {
            Some(_) => Err(Error::VersionMismatch {
                what: conflict::item_kind(key.collection),
            }),
            None => Err(Error::NotFound(conflict::item(key))),
        }
    }

    /// Inserts or replaces one version, in the transaction of a [`VaultWrite`].
    async fn write_version(tx: &mut DB::Connection, version: &VaultVersion) -> Result<()> {
        let key = &version.key;
        let document = document(&version.document, "vault version")?;
        let written = sqlx::query(
            "INSERT INTO vault_versions (vault_id, collection, name_key, version, created, document, sealed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (vault_id, collection, name_key, version) \
             DO UPDATE SET created = excluded.created, document = excluded.document, sealed = excluded.sealed",
        )
        .bind(DB::id(key.vault_id))
        .bind(key.collection.as_str())
        .bind(name_key(&key.name))
        .bind(&version.version)
        .bind(sortable_time_text(version.created)?)
        .bind(&document)
        .bind(&version.sealed)
        .execute(&mut *tx)
        .await;
        written
            .map(|_| ())
            .map_err(|e| conflict::version_refused(version, e.into()))
    }
}

#[async_trait::async_trait]
impl<DB> VaultStore for SqlStore<DB>
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
    async fn insert_vault(&self, vault: &Vault) -> Result<()> {
        let document = document(vault, "vault")?;
        let written =
            sqlx::query("INSERT INTO vaults (id, tenant_id, name, version, document) VALUES ($1, $2, $3, $4, $5)")
                .bind(DB::id(vault.id))
                .bind(DB::id(vault.tenant_id))
                .bind(&vault.name)
                .bind(vault.version)
                .bind(&document)
                .execute(&self.pool)
                .await;
        match written.map_err(Failure::from) {
            Ok(_) => Ok(()),
            Err(Failure::Unique) => Err(self.vault_conflict(vault, false).await?),
            Err(other) => Err(other.into_error(vault.tenant_id)),
        }
    }

    async fn update_vault(&self, vault: &Vault) -> Result<()> {
        let document = document(vault, "vault")?;
        let Some(previous) = vault.version.checked_sub(1) else {
            return Err(Error::VersionMismatch { what: "vault" });
        };
        let written = sqlx::query("UPDATE vaults SET name = $1, version = $2, document = $3 WHERE id = $4 AND tenant_id = $5 AND version = $6")
            .bind(&vault.name)
            .bind(vault.version)
            .bind(&document)
            .bind(DB::id(vault.id))
            .bind(DB::id(vault.tenant_id))
            .bind(previous)
            .execute(&self.pool)
            .await;
        match written.map_err(Failure::from) {
            Ok(done) if DB::rows_affected(&done) > 0 => Ok(()),
            Ok(_) => {
                let exists = sqlx::query("SELECT 1 FROM vaults WHERE id = $1 AND tenant_id = $2")
                    .bind(DB::id(vault.id))
                    .bind(DB::id(vault.tenant_id))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database)?;
                Err(conflict::not_updated("vault", vault.id, exists.is_some()))
            }
            Err(Failure::Unique) => Err(self.vault_conflict(vault, true).await?),
            Err(other) => Err(other.into_error(vault.tenant_id)),
        }
    }

    async fn vaults(&self) -> Result<Vec<Vault>> {
        let documents: Vec<Document> = sqlx::query_scalar("SELECT document FROM vaults ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows::models(documents, "vault")
    }

    async fn write_vault(&self, write: &VaultWrite) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        for key in &write.purges {
            sqlx::query("DELETE FROM vault_items WHERE vault_id = $1 AND collection = $2 AND name_key = $3")
                .bind(DB::id(key.vault_id))
                .bind(key.collection.as_str())
                .bind(name_key(&key.name))
                .execute(&mut *tx)
                .await
                .map_err(database)?;
        }
        for item in &write.items {
            Self::write_item(&mut tx, item).await?;
        }
        for version in &write.versions {
            Self::write_version(&mut tx, version).await?;
        }
        // Dropping the transaction on an error above rolls all of it back.
        tx.commit().await.map_err(database)
    }

    async fn vault_item(&self, key: &ItemKey) -> Result<Option<VaultItem>> {
        let row: Option<rows::ItemRow> = sqlx::query_as(
            "SELECT name, deleted, revision, document FROM vault_items \
             WHERE vault_id = $1 AND collection = $2 AND name_key = $3",
        )
        .bind(DB::id(key.vault_id))
        .bind(key.collection.as_str())
        .bind(name_key(&key.name))
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        row.map(|row| rows::item(key.vault_id, key.collection, row)).transpose()
    }

    async fn vault_items(&self, vault_id: Uuid, collection: Collection, deleted: bool) -> Result<Vec<VaultItem>> {
        let rows: Vec<rows::ItemRow> = sqlx::query_as(
            "SELECT name, deleted, revision, document FROM vault_items \
             WHERE vault_id = $1 AND collection = $2 AND deleted = $3 ORDER BY name_key",
        )
        .bind(DB::id(vault_id))
        .bind(collection.as_str())
        .bind(deleted)
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        rows.into_iter()
            .map(|row| rows::item(vault_id, collection, row))
            .collect()
    }

    async fn vault_versions(&self, key: &ItemKey) -> Result<Vec<VaultVersion>> {
        let rows: Vec<rows::VersionRow> = sqlx::query_as(concat!(versions!(), " ORDER BY v.created, v.version"))
            .bind(DB::id(key.vault_id))
            .bind(key.collection.as_str())
            .bind(name_key(&key.name))
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows.into_iter().map(|row| rows::version(key, row)).collect()
    }

    async fn vault_version(&self, key: &ItemKey, version: &str) -> Result<Option<VaultVersion>> {
        let row: Option<rows::VersionRow> = sqlx::query_as(concat!(versions!(), " AND v.version = $4"))
            .bind(DB::id(key.vault_id))
            .bind(key.collection.as_str())
            .bind(name_key(&key.name))
            .bind(version)
            .fetch_optional(&self.pool)
            .await
            .map_err(database)?;
        row.map(|row| rows::version(key, row)).transpose()
    }
}
