-- Keyward's first schema, SQLite. Ids are UUIDs as lowercase hyphenated text, times RFC 3339
-- text (exact to the nanosecond, offset kept), documents the serde_json of the model types.
-- Columns beside a document mirror it: they exist to be unique, to be joined on or to be found.

CREATE TABLE tenants (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    domain TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
) STRICT;

CREATE TABLE applications (
    id TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    -- An appId names one application per tenant (a multi-tenant app has one in each).
    app_id TEXT NOT NULL,
    service_principal_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    UNIQUE (tenant_id, app_id),
    UNIQUE (tenant_id, service_principal_id)
) STRICT;

-- An identifier URI (`api://...`) names one application in its tenant.
CREATE TABLE identifier_uris (
    tenant_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, uri)
) STRICT;

CREATE INDEX identifier_uris_application ON identifier_uris (application_id);

CREATE TABLE role_assignments (
    id TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    principal_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    app_role_id TEXT NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (principal_id, resource_id, app_role_id)
) STRICT;

CREATE INDEX role_assignments_resource ON role_assignments (resource_id);
CREATE INDEX role_assignments_tenant ON role_assignments (tenant_id);

CREATE TABLE signing_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kid TEXT NOT NULL,
    active INTEGER NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kid)
) STRICT;

-- At most one active key per tenant; rotation keeps it at exactly one.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (tenant_id) WHERE active;
