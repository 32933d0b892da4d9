-- Credential usage, PostgreSQL: when each certificate or client secret last authenticated a
-- client (and from which address), and the service-principal sign-in records (one per token
-- request by a confidential client), kept for the server's retention. Neither touches the
-- directory revision: writing them never makes a server reload its directory.
-- Times are RFC 3339 text in UTC with nine fraction digits, compared bytewise (COLLATE "C"), so
-- that text order is time order: of several servers recording one credential, the later use wins.

CREATE TABLE credential_last_use (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    application_id UUID NOT NULL,
    key_id UUID NOT NULL,
    at TEXT COLLATE "C" NOT NULL,
    client_address TEXT,
    PRIMARY KEY (tenant_id, application_id, key_id)
);

CREATE TABLE service_principal_sign_ins (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    at TEXT COLLATE "C" NOT NULL,
    app_id UUID NOT NULL,
    key_id UUID,
    thumbprint TEXT,
    succeeded BOOLEAN NOT NULL,
    error_code BIGINT,
    correlation_id UUID,
    client_address TEXT,
    requests BIGINT NOT NULL DEFAULT 1 CHECK (requests >= 1)
);

-- An application's records, newest first; and pruning by age.
CREATE INDEX service_principal_sign_ins_app ON service_principal_sign_ins (tenant_id, app_id, at, seq);
CREATE INDEX service_principal_sign_ins_at ON service_principal_sign_ins (at);
