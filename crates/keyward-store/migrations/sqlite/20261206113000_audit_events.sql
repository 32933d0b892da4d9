-- The audit log, SQLite: one row per change made to a tenant's directory or vault, appended and
-- never updated. `at` is RFC 3339 text in UTC with nine fraction digits, so that text order is
-- time order; `seq` (the rowid) orders events of one instant by when they were appended.

CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    at TEXT NOT NULL,
    actor_id TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;

-- A tenant's log, newest first; and one target's.
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, at, seq);
CREATE INDEX audit_events_target ON audit_events (tenant_id, target_kind, target_id, at, seq);
