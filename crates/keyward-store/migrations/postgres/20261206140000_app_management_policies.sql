-- Each tenant's default app management policy, PostgreSQL: one JSON document per tenant (see
-- AppManagementPolicy), replaced whole on every change.

CREATE TABLE app_management_policies (
    tenant_id UUID NOT NULL PRIMARY KEY REFERENCES tenants (id),
    document JSONB NOT NULL
);
