-- Customer sign-in and the vault, PostgreSQL. As in the first schema, documents are the
-- serde_json of the model types. Times that SQL compares or orders by (a grant's expiry, a
-- version's creation) are RFC 3339 text in UTC with nine fraction digits, so that text order is
-- time order; they, and the keys listings are ordered by, compare bytewise (COLLATE "C"), as on
-- SQLite.

CREATE TABLE users (
    id UUID NOT NULL PRIMARY KEY,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    -- The email in lowercase (Unicode, computed by the store): unique within a tenant.
    email_lower TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    document JSONB NOT NULL,
    UNIQUE (tenant_id, email_lower)
);

-- Authorization codes, refresh tokens and sessions, found by the hash of their handle.
CREATE TABLE grants (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    family UUID NOT NULL,
    user_id UUID NOT NULL,
    document JSONB NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    expires TEXT COLLATE "C" NOT NULL,
    redeemed BOOLEAN NOT NULL,
    revoked BOOLEAN NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE INDEX grants_family ON grants (family);
CREATE INDEX grants_user ON grants (tenant_id, user_id);
CREATE INDEX grants_expires ON grants (expires);

CREATE TABLE vaults (
    id UUID NOT NULL PRIMARY KEY,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    version BIGINT NOT NULL,
    document JSONB NOT NULL
);

-- The names of a vault's two collections. A name is keyed by its ASCII lowercase form and keeps
-- the spelling it was created with.
CREATE TABLE vault_items (
    vault_id UUID NOT NULL REFERENCES vaults (id),
    collection TEXT NOT NULL,
    name_key TEXT COLLATE "C" NOT NULL,
    name TEXT NOT NULL,
    deleted BOOLEAN NOT NULL,
    revision BIGINT NOT NULL,
    document JSONB NOT NULL,
    PRIMARY KEY (vault_id, collection, name_key)
);

-- The versions behind a name; purging the name removes them.
CREATE TABLE vault_versions (
    vault_id UUID NOT NULL,
    collection TEXT NOT NULL,
    name_key TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    document JSONB NOT NULL,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (vault_id, collection, name_key, version),
    FOREIGN KEY (vault_id, collection, name_key)
        REFERENCES vault_items (vault_id, collection, name_key) ON DELETE CASCADE
);
