-- The audit log, PostgreSQL: one row per change made to a tenant's directory or vault, appended
-- and never updated. `at` is RFC 3339 text in UTC with nine fraction digits, so that text order
-- is time order (compared bytewise, COLLATE "C", as on SQLite); `seq` orders events of one
-- instant by when they were appended.

CREATE TABLE audit_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    at TEXT COLLATE "C" NOT NULL,
    actor_id UUID,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT COLLATE "C" NOT NULL,
    target_id TEXT COLLATE "C" NOT NULL,
    detail TEXT NOT NULL
);

-- A tenant's log, newest first; and one target's.
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, at, seq);
CREATE INDEX audit_events_target ON audit_events (tenant_id, target_kind, target_id, at, seq);
