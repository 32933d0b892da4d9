-- Credential usage, SQLite: when each certificate or client secret last authenticated a client
-- (and from which address), and the service-principal sign-in records (a refusal each, the
-- successes of one credential from one address within a second as one record with their count), kept for the server's retention. Neither touches the directory
-- revision: writing them never makes a server reload its directory.
-- Times are RFC 3339 text in UTC with nine fraction digits, so that text order is time order.

CREATE TABLE credential_last_use (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    application_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    at TEXT NOT NULL,
    client_address TEXT,
    PRIMARY KEY (tenant_id, application_id, key_id)
) STRICT;

CREATE TABLE service_principal_sign_ins (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    at TEXT NOT NULL,
    app_id TEXT NOT NULL,
    key_id TEXT,
    thumbprint TEXT,
    succeeded INTEGER NOT NULL,
    error_code INTEGER,
    correlation_id TEXT,
    client_address TEXT,
    requests INTEGER NOT NULL DEFAULT 1 CHECK (requests >= 1)
) STRICT;

-- An application's records, newest first; and pruning by age.
CREATE INDEX service_principal_sign_ins_app ON service_principal_sign_ins (tenant_id, app_id, at, seq);
CREATE INDEX service_principal_sign_ins_at ON service_principal_sign_ins (at);
