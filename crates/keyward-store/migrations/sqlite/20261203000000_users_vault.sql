-- Customer sign-in and the vault, SQLite. As in the first schema, ids are text and documents the
-- serde_json of the model types. Times that SQL compares or orders by (a grant's expiry, a
-- version's creation) are RFC 3339 text in UTC with nine fraction digits, so that text order is
-- time order.

CREATE TABLE users (
    id TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    -- The email in lowercase (Unicode, computed by the store): unique within a tenant.
    email_lower TEXT NOT NULL,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    UNIQUE (tenant_id, email_lower)
) STRICT;

-- Authorization codes, refresh tokens and sessions, found by the hash of their handle.
CREATE TABLE grants (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    family TEXT NOT NULL,
    user_id TEXT NOT NULL,
    document TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT NOT NULL,
    redeemed INTEGER NOT NULL,
    revoked INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;

CREATE INDEX grants_family ON grants (family);
CREATE INDEX grants_user ON grants (tenant_id, user_id);
CREATE INDEX grants_expires ON grants (expires);

CREATE TABLE vaults (
    id TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    document TEXT NOT NULL
) STRICT;

-- The names of a vault's two collections. A name is keyed by its ASCII lowercase form and keeps
-- the spelling it was created with.
CREATE TABLE vault_items (
    vault_id TEXT NOT NULL REFERENCES vaults (id),
    collection TEXT NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (vault_id, collection, name_key)
) STRICT;

-- The versions behind a name; purging the name removes them.
CREATE TABLE vault_versions (
    vault_id TEXT NOT NULL,
    collection TEXT NOT NULL,
    name_key TEXT NOT NULL,
    version TEXT NOT NULL,
    created TEXT NOT NULL,
    document TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (vault_id, collection, name_key, version),
    FOREIGN KEY (vault_id, collection, name_key)
        REFERENCES vault_items (vault_id, collection, name_key) ON DELETE CASCADE
) STRICT;
