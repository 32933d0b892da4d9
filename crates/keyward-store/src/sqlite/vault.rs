//! Vaults, their names and versions in SQLite.

use sqlx::SqliteConnection;
use uuid::Uuid;

use super::{Document, Id, SqliteStore, id};
use crate::columns::{document, name_key, sortable_time_text};
use crate::conflict::{self, Failure, database};
use crate::sql::vault as sql;
use crate::{
    Collection, Error, ItemKey, ItemWrite, Result, Vault, VaultItem, VaultStore, VaultVersion, VaultWrite, rows,
};

/// A name's row.
type ItemRow = rows::ItemRow<Document>;
/// A version's row.
type VersionRow = rows::VersionRow<Document>;

impl SqliteStore {
    /// Who holds the unique values of a vault that could not be written.
    async fn vault_conflict(&self, vault: &Vault, updating: bool) -> Result<Error> {
        let ids: Vec<Id> = sqlx::query_scalar(sql::VAULT_HOLDERS)
            .bind(id(vault.id))
            .bind(&vault.name)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        Ok(conflict::vault(vault, updating, &rows::ids(ids, "vault")?))
    }
}

#[async_trait::async_trait]
impl VaultStore for SqliteStore {
    async fn insert_vault(&self, vault: &Vault) -> Result<()> {
        let document = document(vault, "vault")?;
        let written = sqlx::query(sql::INSERT_VAULT)
            .bind(id(vault.id))
            .bind(id(vault.tenant_id))
            .bind(&vault.name)
            .bind(vault.version)
            .bind(document.get())
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
        let written = sqlx::query(sql::UPDATE_VAULT)
            .bind(&vault.name)
            .bind(vault.version)
            .bind(document.get())
            .bind(id(vault.id))
            .bind(id(vault.tenant_id))
            .bind(previous)
            .execute(&self.pool)
            .await;
        match written.map_err(Failure::from) {
            Ok(done) if done.rows_affected() > 0 => Ok(()),
            Ok(_) => {
                let exists = sqlx::query(sql::VAULT_EXISTS)
                    .bind(id(vault.id))
                    .bind(id(vault.tenant_id))
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
        let documents: Vec<Document> = sqlx::query_scalar(sql::VAULTS)
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows::models(documents, "vault")
    }

    async fn write_vault(&self, write: &VaultWrite) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        for key in &write.purges {
            sqlx::query(sql::PURGE_ITEM)
                .bind(id(key.vault_id))
                .bind(key.collection.as_str())
                .bind(name_key(&key.name))
                .execute(&mut *tx)
                .await
                .map_err(database)?;
        }
        for item in &write.items {
            write_item(&mut tx, item).await?;
        }
        for version in &write.versions {
            write_version(&mut tx, version).await?;
        }
        // Dropping the transaction on an error above rolls all of it back.
        tx.commit().await.map_err(database)
    }

    async fn vault_item(&self, key: &ItemKey) -> Result<Option<VaultItem>> {
        let row: Option<ItemRow> = sqlx::query_as(sql::ITEM)
            .bind(id(key.vault_id))
            .bind(key.collection.as_str())
            .bind(name_key(&key.name))
            .fetch_optional(&self.pool)
            .await
            .map_err(database)?;
        row.map(|row| rows::item(key.vault_id, key.collection, row)).transpose()
    }

    async fn vault_items(&self, vault_id: Uuid, collection: Collection, deleted: bool) -> Result<Vec<VaultItem>> {
        let rows: Vec<ItemRow> = sqlx::query_as(sql::ITEMS)
            .bind(id(vault_id))
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
        let rows: Vec<VersionRow> = sqlx::query_as(sql::VERSIONS)
            .bind(id(key.vault_id))
            .bind(key.collection.as_str())
            .bind(name_key(&key.name))
            .fetch_all(&self.pool)
            .await
            .map_err(database)?;
        rows.into_iter().map(|row| rows::version(key, row)).collect()
    }

    async fn vault_version(&self, key: &ItemKey, version: &str) -> Result<Option<VaultVersion>> {
        let row: Option<VersionRow> = sqlx::query_as(sql::VERSION)
            .bind(id(key.vault_id))
            .bind(key.collection.as_str())
            .bind(name_key(&key.name))
            .bind(version)
            .fetch_optional(&self.pool)
            .await
            .map_err(database)?;
        row.map(|row| rows::version(key, row)).transpose()
    }
}

/// Inserts or replaces one name, in the transaction of a [`VaultWrite`].
async fn write_item(tx: &mut SqliteConnection, write: &ItemWrite) -> Result<()> {
    let (item, key) = (&write.item, &write.item.key);
    let document = document(&item.document, conflict::item_kind(key.collection))?;
    let Some(expected) = write.expected_revision else {
        let inserted = sqlx::query(sql::INSERT_ITEM)
            .bind(id(key.vault_id))
            .bind(key.collection.as_str())
            .bind(name_key(&key.name))
            .bind(&key.name)
            .bind(item.deleted)
            .bind(item.revision)
            .bind(document.get())
            .execute(&mut *tx)
            .await;
        return inserted.map(|_| ()).map_err(|e| conflict::item_refused(key, e.into()));
    };
    let updated = sqlx::query(sql::UPDATE_ITEM)
        .bind(item.deleted)
        .bind(item.revision)
        .bind(document.get())
        .bind(id(key.vault_id))
        .bind(key.collection.as_str())
        .bind(name_key(&key.name))
        .bind(expected)
        .execute(&mut *tx)
        .await
        .map_err(database)?;
    if updated.rows_affected() > 0 {
        return Ok(());
    }
    let exists = sqlx::query(sql::ITEM_EXISTS)
        .bind(id(key.vault_id))
        .bind(key.collection.as_str())
        .bind(name_key(&key.name))
        .fetch_optional(&mut *tx)
        .await
        .map_err(database)?;
    Err(conflict::item_not_updated(key, exists.is_some()))
}

/// Inserts or replaces one version, in the transaction of a [`VaultWrite`].
async fn write_version(tx: &mut SqliteConnection, version: &VaultVersion) -> Result<()> {
    let key = &version.key;
    let document = document(&version.document, "vault version")?;
    let written = sqlx::query(sql::WRITE_VERSION)
        .bind(id(key.vault_id))
        .bind(key.collection.as_str())
        .bind(name_key(&key.name))
        .bind(&version.version)
        .bind(sortable_time_text(version.created)?)
        .bind(document.get())
        .bind(&version.sealed)
        .execute(&mut *tx)
        .await;
    written
        .map(|_| ())
        .map_err(|e| conflict::version_refused(version, e.into()))
}
