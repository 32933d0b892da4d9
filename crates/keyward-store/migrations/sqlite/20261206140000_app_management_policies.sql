-- Each tenant's default app management policy, SQLite: one JSON document per tenant (see
-- AppManagementPolicy), replaced whole on every change.

CREATE TABLE app_management_policies (
    tenant_id TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id),
    document TEXT NOT NULL
) STRICT;
