//! Vaults, their names and versions in PostgreSQL.

use serde_json::value::RawValue;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::columns::{self, document, from_document, item_from_row, name_key, sortable_time_text, version_from_row};
use crate::conflict::{self, Failure, database};
use crate::{Collection, Error, ItemKey, ItemWrite, Result, Vault, VaultItem, VaultVersion, VaultWrite};

/// A name's row, the document as `jsonb`.
type ItemRow = columns::ItemRow<Json<Box<RawValue>>>;
/// A version's row, the document as `jsonb`.
type VersionRow = columns::VersionRow<Json<Box<RawValue>>>;

/// The query [`VersionRow`]s are read with; `$1`, `$2`, `$3` are the name's key.
const VERSIONS: &str = "SELECT i.name, v.version, v.created, v.document, v.sealed \
     FROM vault_versions v JOIN vault_items i USING (vault_id, collection, name_key) \
     WHERE v.vault_id = $1 AND v.collection = $2 AND v.name_key = $3";

pub(super) async fn insert_vault(pool: &PgPool, vault: &Vault) -> Result<()> {
    let document = document(vault, "vault")?;
    let written =
        sqlx::query("INSERT INTO vaults (id, tenant_id, name, version, document) VALUES ($1, $2, $3, $4, $5)")
            .bind(vault.id)
            .bind(vault.tenant_id)
            .bind(&vault.name)
            .bind(vault.version)
            .bind(Json(&document))
            .execute(pool)
            .await;
    match written.map_err(Failure::from) {
        Ok(_) => Ok(()),
        Err(Failure::Unique) => Err(vault_conflict(pool, vault, false).await?),
        Err(other) => Err(other.into_error(vault.tenant_id)),
    }
}

pub(super) async fn update_vault(pool: &PgPool, vault: &Vault) -> Result<()> {
    let document = document(vault, "vault")?;
    let Some(previous) = vault.version.checked_sub(1) else {
        return Err(Error::VersionMismatch { what: "vault" });
    };
    let written = sqlx::query(
        "UPDATE vaults SET name = $1, version = $2, document = $3 WHERE id = $4 AND tenant_id = $5 AND version = $6",
    )
    .bind(&vault.name)
    .bind(vault.version)
    .bind(Json(&document))
    .bind(vault.id)
    .bind(vault.tenant_id)
    .bind(previous)
    .execute(pool)
    .await;
    match written.map_err(Failure::from) {
        Ok(done) if done.rows_affected() > 0 => Ok(()),
        Ok(_) => {
            let exists = sqlx::query("SELECT 1 FROM vaults WHERE id = $1 AND tenant_id = $2")
                .bind(vault.id)
                .bind(vault.tenant_id)
                .fetch_optional(pool)
                .await
                .map_err(database)?;
            match exists {
                Some(_) => Err(Error::VersionMismatch { what: "vault" }),
                None => Err(Error::NotFound(format!("vault {}", vault.id))),
            }
        }
        Err(Failure::Unique) => Err(vault_conflict(pool, vault, true).await?),
        Err(other) => Err(other.into_error(vault.tenant_id)),
    }
}

pub(super) async fn vaults(pool: &PgPool) -> Result<Vec<Vault>> {
    let documents: Vec<Json<Box<RawValue>>> = sqlx::query_scalar("SELECT document FROM vaults ORDER BY name")
        .fetch_all(pool)
        .await
        .map_err(database)?;
    documents
        .iter()
        .map(|Json(raw)| from_document(raw.get(), "vault"))
        .collect()
}

/// Who holds the unique values of a vault that could not be written.
async fn vault_conflict(pool: &PgPool, vault: &Vault, updating: bool) -> Result<Error> {
    let holders: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM vaults WHERE id = $1 OR name = $2")
        .bind(vault.id)
        .bind(&vault.name)
        .fetch_all(pool)
        .await
        .map_err(database)?;
    Ok(conflict::vault(vault, updating, &holders))
}

pub(super) async fn write_vault(pool: &PgPool, write: &VaultWrite) -> Result<()> {
    let mut tx = pool.begin().await.map_err(database)?;
    for key in &write.purges {
        sqlx::query("DELETE FROM vault_items WHERE vault_id = $1 AND collection = $2 AND name_key = $3")
            .bind(key.vault_id)
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

/// Inserts or replaces one name, in the transaction of a [`VaultWrite`].
async fn write_item(tx: &mut PgConnection, write: &ItemWrite) -> Result<()> {
    let (item, key) = (&write.item, &write.item.key);
    let document = document(&item.document, conflict::item_kind(key.collection))?;
    let Some(expected) = write.expected_revision else {
        let inserted = sqlx::query(
            "INSERT INTO vault_items (vault_id, collection, name_key, name, deleted, revision, document) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(key.vault_id)
        .bind(key.collection.as_str())
        .bind(name_key(&key.name))
        .bind(&key.name)
        .bind(item.deleted)
        .bind(item.revision)
        .bind(Json(&document))
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
    .bind(Json(&document))
    .bind(key.vault_id)
    .bind(key.collection.as_str())
    .bind(name_key(&key.name))
    .bind(expected)
    .execute(&mut *tx)
    .await
    .map_err(database)?;
    if updated.rows_affected() > 0 {
        return Ok(());
    }
    let exists = sqlx::query("SELECT 1 FROM vault_items WHERE vault_id = $1 AND collection = $2 AND name_key = $3")
        .bind(key.vault_id)
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
async fn write_version(tx: &mut PgConnection, version: &VaultVersion) -> Result<()> {
    let key = &version.key;
    let document = document(&version.document, "vault version")?;
    let written = sqlx::query(
        "INSERT INTO vault_versions (vault_id, collection, name_key, version, created, document, sealed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (vault_id, collection, name_key, version) \
         DO UPDATE SET created = excluded.created, document = excluded.document, sealed = excluded.sealed",
    )
    .bind(key.vault_id)
    .bind(key.collection.as_str())
    .bind(name_key(&key.name))
    .bind(&version.version)
    .bind(sortable_time_text(version.created)?)
    .bind(Json(&document))
    .bind(&version.sealed)
    .execute(&mut *tx)
    .await;
    written
        .map(|_| ())
        .map_err(|e| conflict::version_refused(version, e.into()))
}

pub(super) async fn vault_item(pool: &PgPool, key: &ItemKey) -> Result<Option<VaultItem>> {
    let row: Option<ItemRow> = sqlx::query_as(
        "SELECT name, deleted, revision, document FROM vault_items \
         WHERE vault_id = $1 AND collection = $2 AND name_key = $3",
    )
    .bind(key.vault_id)
    .bind(key.collection.as_str())
    .bind(name_key(&key.name))
    .fetch_optional(pool)
    .await
    .map_err(database)?;
    row.map(|row| item_from_row(key.vault_id, key.collection, row))
        .transpose()
}

pub(super) async fn vault_items(
    pool: &PgPool,
    vault_id: Uuid,
    collection: Collection,
    deleted: bool,
) -> Result<Vec<VaultItem>> {
    let rows: Vec<ItemRow> = sqlx::query_as(
        "SELECT name, deleted, revision, document FROM vault_items \
         WHERE vault_id = $1 AND collection = $2 AND deleted = $3 ORDER BY name_key",
    )
    .bind(vault_id)
    .bind(collection.as_str())
    .bind(deleted)
    .fetch_all(pool)
    .await
    .map_err(database)?;
    rows.into_iter()
        .map(|row| item_from_row(vault_id, collection, row))
        .collect()
}

pub(super) async fn vault_versions(pool: &PgPool, key: &ItemKey) -> Result<Vec<VaultVersion>> {
    let rows: Vec<VersionRow> = sqlx::query_as(&format!("{VERSIONS} ORDER BY v.created, v.version"))
        .bind(key.vault_id)
        .bind(key.collection.as_str())
        .bind(name_key(&key.name))
        .fetch_all(pool)
        .await
        .map_err(database)?;
    rows.into_iter().map(|row| version_from_row(key, row)).collect()
}

pub(super) async fn vault_version(pool: &PgPool, key: &ItemKey, version: &str) -> Result<Option<VaultVersion>> {
    let row: Option<VersionRow> = sqlx::query_as(&format!("{VERSIONS} AND v.version = $4"))
        .bind(key.vault_id)
        .bind(key.collection.as_str())
        .bind(name_key(&key.name))
        .bind(version)
        .fetch_optional(pool)
        .await
        .map_err(database)?;
    row.map(|row| version_from_row(key, row)).transpose()
}
