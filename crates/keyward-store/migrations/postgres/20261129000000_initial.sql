-- Keyward's first schema, PostgreSQL. Times are RFC 3339 text, as on SQLite (exact to the
-- nanosecond, offset kept); documents are the serde_json of the model types.
-- Columns beside a document mirror it: they exist to be unique, to be joined on or to be found.

CREATE TABLE tenants (
    id UUID NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    domain TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);

CREATE TABLE applications (
    id UUID NOT NULL PRIMARY KEY,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    -- An appId names one application per tenant (a multi-tenant app has one in each).
    app_id UUID NOT NULL,
    service_principal_id UUID NOT NULL,
    version BIGINT NOT NULL,
    document JSONB NOT NULL,
    UNIQUE (tenant_id, app_id),
    UNIQUE (tenant_id, service_principal_id)
);

-- An identifier URI (`api://...`) names one application in its tenant.
CREATE TABLE identifier_uris (
    tenant_id UUID NOT NULL,
    uri TEXT NOT NULL,
    application_id UUID NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, uri)
);

CREATE INDEX identifier_uris_application ON identifier_uris (application_id);

CREATE TABLE role_assignments (
    id UUID NOT NULL PRIMARY KEY,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    principal_id UUID NOT NULL,
    resource_id UUID NOT NULL,
    app_role_id UUID NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (principal_id, resource_id, app_role_id)
);

CREATE INDEX role_assignments_resource ON role_assignments (resource_id);
CREATE INDEX role_assignments_tenant ON role_assignments (tenant_id);

CREATE TABLE signing_keys (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    kid TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    document JSONB NOT NULL,
    PRIMARY KEY (tenant_id, kid)
);

-- At most one active key per tenant; rotation keeps it at exactly one.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (tenant_id) WHERE active;
