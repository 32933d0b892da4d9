//! Tenants, applications (with their identifier URIs), role assignments, signing keys and the
//! directory revision.

/// Adds a tenant: id, name, domain, created.
pub(crate) const INSERT_TENANT: &str = "INSERT INTO tenants (id, name, domain, created) VALUES ($1, $2, $3, $4)";

/// Every tenant, as [`crate::rows::TenantRow`]s.
pub(crate) const TENANTS: &str = "SELECT id, name, domain, created FROM tenants ORDER BY name";

/// The tenants that hold a tenant's id, name or domain, as [`crate::rows::TenantHolderRow`]s:
/// id, name, domain.
pub(crate) const TENANT_HOLDERS: &str =
    "SELECT id, name, domain FROM tenants WHERE id = $1 OR name = $2 OR domain = $3";

/// Adds an application: id, tenant, appId, service principal, version, document.
pub(crate) const INSERT_APPLICATION: &str = "INSERT INTO applications \
     (id, tenant_id, app_id, service_principal_id, version, document) VALUES ($1, $2, $3, $4, $5, $6)";

/// Replaces an application of a version: appId, service principal, new version, document, id,
/// tenant, previous version.
pub(crate) const UPDATE_APPLICATION: &str = "UPDATE applications \
     SET app_id = $1, service_principal_id = $2, version = $3, document = $4 \
     WHERE id = $5 AND tenant_id = $6 AND version = $7";

/// A row if an application exists: id, tenant.
pub(crate) const APPLICATION_EXISTS: &str = "SELECT 1 FROM applications WHERE id = $1 AND tenant_id = $2";

/// Deletes an application and returns its service principal: tenant, id.
pub(crate) const DELETE_APPLICATION: &str =
    "DELETE FROM applications WHERE tenant_id = $1 AND id = $2 RETURNING service_principal_id";

/// Every application's document.
pub(crate) const APPLICATIONS: &str = "SELECT document FROM applications ORDER BY tenant_id, id";

/// The applications that hold an application's id, or its appId or service principal in its
/// tenant, as [`crate::rows::ApplicationHolderRow`]s: id, tenant, appId, service principal.
pub(crate) const APPLICATION_HOLDERS: &str = "SELECT id, app_id, service_principal_id FROM applications \
     WHERE id = $1 OR (tenant_id = $2 AND (app_id = $3 OR service_principal_id = $4))";

/// Records an identifier URI: tenant, URI, application.
pub(crate) const INSERT_IDENTIFIER_URI: &str =
    "INSERT INTO identifier_uris (tenant_id, uri, application_id) VALUES ($1, $2, $3)";

/// Forgets the identifier URIs of an application: application.
pub(crate) const DELETE_IDENTIFIER_URIS: &str = "DELETE FROM identifier_uris WHERE application_id = $1";

/// The application that holds an identifier URI in a tenant: tenant, URI.
pub(crate) const IDENTIFIER_URI_OWNER: &str =
    "SELECT application_id FROM identifier_uris WHERE tenant_id = $1 AND uri = $2";

/// Adds a role assignment: id, tenant, principal, resource, app role, created.
pub(crate) const INSERT_ROLE_ASSIGNMENT: &str = "INSERT INTO role_assignments \
     (id, tenant_id, principal_id, resource_id, app_role_id, created) VALUES ($1, $2, $3, $4, $5, $6)";

/// Deletes a role assignment: tenant, id.
pub(crate) const DELETE_ROLE_ASSIGNMENT: &str = "DELETE FROM role_assignments WHERE tenant_id = $1 AND id = $2";

/// Deletes the role assignments that name a service principal: tenant, service principal.
pub(crate) const DELETE_ROLE_ASSIGNMENTS_OF: &str =
    "DELETE FROM role_assignments WHERE tenant_id = $1 AND (principal_id = $2 OR resource_id = $2)";

/// Every role assignment, as [`crate::rows::RoleAssignmentRow`]s.
pub(crate) const ROLE_ASSIGNMENTS: &str = "SELECT id, tenant_id, principal_id, resource_id, app_role_id, created \
     FROM role_assignments ORDER BY tenant_id, id";

/// The ids of the role assignments that hold an assignment's id or its grant: id, principal,
/// resource, app role.
pub(crate) const ROLE_ASSIGNMENT_HOLDERS: &str = "SELECT id FROM role_assignments \
     WHERE id = $1 OR (principal_id = $2 AND resource_id = $3 AND app_role_id = $4)";

/// Adds a signing key: tenant, kid, active, document.
pub(crate) const INSERT_SIGNING_KEY: &str =
    "INSERT INTO signing_keys (tenant_id, kid, active, document) VALUES ($1, $2, $3, $4)";

/// Replaces a signing key: active, document, tenant, kid.
pub(crate) const UPDATE_SIGNING_KEY: &str =
    "UPDATE signing_keys SET active = $1, document = $2 WHERE tenant_id = $3 AND kid = $4";

/// Deletes a signing key: tenant, kid.
pub(crate) const DELETE_SIGNING_KEY: &str = "DELETE FROM signing_keys WHERE tenant_id = $1 AND kid = $2";

/// Every signing key's document.
pub(crate) const SIGNING_KEYS: &str = "SELECT document FROM signing_keys ORDER BY tenant_id, kid";

/// The (kid, active) of a tenant's keys that hold a key's kid or the tenant's one active key:
/// tenant, kid.
pub(crate) const SIGNING_KEY_HOLDERS: &str =
    "SELECT kid, active FROM signing_keys WHERE tenant_id = $1 AND (kid = $2 OR active)";

/// The directory's revision, which triggers move on every directory write.
pub(crate) const DIRECTORY_REVISION: &str = "SELECT revision FROM directory_revision WHERE id = 1";
