//! Vaults, their names and versions.

/// The versions of a name, as [`crate::rows::VersionRow`]s, with the name's stored spelling:
/// vault, collection, lowercase name.
macro_rules! versions {
    () => {
        "SELECT i.name, v.version, v.created, v.document, v.sealed \
         FROM vault_versions v JOIN vault_items i USING (vault_id, collection, name_key) \
         WHERE v.vault_id = $1 AND v.collection = $2 AND v.name_key = $3"
    };
}

/// Adds a vault: id, tenant, name, version, document.
pub(crate) const INSERT_VAULT: &str =
    "INSERT INTO vaults (id, tenant_id, name, version, document) VALUES ($1, $2, $3, $4, $5)";

/// Replaces a vault of a version: name, new version, document, id, tenant, previous version.
pub(crate) const UPDATE_VAULT: &str =
    "UPDATE vaults SET name = $1, version = $2, document = $3 WHERE id = $4 AND tenant_id = $5 AND version = $6";

/// A row if a vault exists: id, tenant.
pub(crate) const VAULT_EXISTS: &str = "SELECT 1 FROM vaults WHERE id = $1 AND tenant_id = $2";

/// Every vault's document.
pub(crate) const VAULTS: &str = "SELECT document FROM vaults ORDER BY name";

/// The ids of the vaults that hold a vault's id or name: id, name.
pub(crate) const VAULT_HOLDERS: &str = "SELECT id FROM vaults WHERE id = $1 OR name = $2";

/// Deletes a name with its versions: vault, collection, lowercase name.
pub(crate) const PURGE_ITEM: &str = "DELETE FROM vault_items WHERE vault_id = $1 AND collection = $2 AND name_key = $3";

/// Adds a name: vault, collection, lowercase name, name, deleted, revision, document.
pub(crate) const INSERT_ITEM: &str = "INSERT INTO vault_items \
     (vault_id, collection, name_key, name, deleted, revision, document) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Replaces a name of a revision: deleted, new revision, document, vault, collection, lowercase
/// name, previous revision.
pub(crate) const UPDATE_ITEM: &str = "UPDATE vault_items SET deleted = $1, revision = $2, document = $3 \
     WHERE vault_id = $4 AND collection = $5 AND name_key = $6 AND revision = $7";

/// A row if a name exists: vault, collection, lowercase name.
pub(crate) const ITEM_EXISTS: &str =
    "SELECT 1 FROM vault_items WHERE vault_id = $1 AND collection = $2 AND name_key = $3";

/// Adds or replaces a version: vault, collection, lowercase name, version, created, document,
/// sealed.
pub(crate) const WRITE_VERSION: &str = "INSERT INTO vault_versions \
     (vault_id, collection, name_key, version, created, document, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (vault_id, collection, name_key, version) \
     DO UPDATE SET created = excluded.created, document = excluded.document, sealed = excluded.sealed";

/// A name, as an [`crate::rows::ItemRow`]: vault, collection, lowercase name.
pub(crate) const ITEM: &str = "SELECT name, deleted, revision, document FROM vault_items \
     WHERE vault_id = $1 AND collection = $2 AND name_key = $3";

/// The names of a collection, deleted or not, as [`crate::rows::ItemRow`]s: vault, collection,
/// deleted.
pub(crate) const ITEMS: &str = "SELECT name, deleted, revision, document FROM vault_items \
     WHERE vault_id = $1 AND collection = $2 AND deleted = $3 ORDER BY name_key";

/// Every version of a name, oldest first: vault, collection, lowercase name.
pub(crate) const VERSIONS: &str = concat!(versions!(), " ORDER BY v.created, v.version");

/// One version of a name: vault, collection, lowercase name, version.
pub(crate) const VERSION: &str = concat!(versions!(), " AND v.version = $4");
