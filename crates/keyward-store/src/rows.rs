//! The rows the statements of [`crate::sql`] read, as tuples, and the models they become. A row
//! with ids is generic over how its backend stores them (`I`, its [`crate::sql::Backend::Id`]:
//! text on SQLite, `uuid` on PostgreSQL).

use uuid::Uuid;

use crate::columns::{Document, IdColumn, from_document, time_from_text};
use crate::conflict::item_kind;
use crate::{
    AppRoleAssignment, AuditEvent, Collection, CredentialUse, Error, Grant, GrantKind, ItemKey, Result,
    ServicePrincipalSignIn, Tenant, VaultItem, VaultVersion,
};

/// A tenant: id, name, domain, created.
pub(crate) type TenantRow<I> = (I, String, String, String);

/// A tenant that holds a unique value: id, name, domain.
pub(crate) type TenantHolderRow<I> = (I, String, String);

/// An application that holds a unique value: id, appId, service principal.
pub(crate) type ApplicationHolderRow<I> = (I, I, I);

/// A role assignment: id, tenant, principal, resource, app role, created.
pub(crate) type RoleAssignmentRow<I> = (I, I, I, I, I, String);

/// A user that holds a unique value: id, lowercase email.
pub(crate) type UserHolderRow<I> = (I, String);

/// A grant besides its kind and id: tenant, family, user, document, created, expires.
pub(crate) type GrantRow<I> = (I, I, I, Document, String, String);

/// A name of a vault: name, deleted, revision, document.
pub(crate) type ItemRow = (String, bool, i64, Document);

/// A version read with its name: name, version, created, document, sealed.
pub(crate) type VersionRow = (String, String, String, Document, Vec<u8>);

/// An audit event: id, tenant, at, actor id, actor, action, target kind, target id, detail.
pub(crate) type AuditRow<I> = (I, I, String, Option<I>, String, String, String, String, String);

/// A credential's last use: tenant, application, key id, at, client address.
pub(crate) type CredentialUseRow<I> = (I, I, I, String, Option<String>);

/// A sign-in record: id, tenant, at, appId, key id, thumbprint, succeeded, error code,
/// correlation id, client address, requests.
pub(crate) type SignInRecordRow<I> = (
    I,
    I,
    String,
    I,
    Option<I>,
    Option<String>,
    bool,
    Option<i64>,
    Option<I>,
    Option<String>,
    i64,
);

/// A tenant from its row.
pub(crate) fn tenant<I: IdColumn>(row: TenantRow<I>) -> Result<Tenant> {
    let (id, name, domain, created) = row;
    Ok(Tenant {
        id: id.uuid("tenant")?,
        name,
        domain,
        created: time_from_text(&created, "tenant")?,
    })
}

/// The holders of a tenant's unique values, as [`crate::conflict::tenant`] takes them.
pub(crate) fn tenant_holders<I: IdColumn>(rows: Vec<TenantHolderRow<I>>) -> Result<Vec<(Uuid, String, String)>> {
    rows.into_iter()
        .map(|(id, name, domain)| Ok((id.uuid("tenant")?, name, domain)))
        .collect()
}

/// The holders of an application's unique values, as [`crate::conflict::application`] takes
/// them.
pub(crate) fn application_holders<I: IdColumn>(rows: Vec<ApplicationHolderRow<I>>) -> Result<Vec<(Uuid, Uuid, Uuid)>> {
    let uuid = |id: I| id.uuid("application");
    rows.into_iter()
        .map(|(id, app_id, principal)| Ok((uuid(id)?, uuid(app_id)?, uuid(principal)?)))
        .collect()
}

/// A role assignment from its row.
pub(crate) fn role_assignment<I: IdColumn>(row: RoleAssignmentRow<I>) -> Result<AppRoleAssignment> {
    let (id, tenant_id, principal_id, resource_id, app_role_id, created) = row;
    let uuid = |id: I| id.uuid("role assignment");
    Ok(AppRoleAssignment {
        id: uuid(id)?,
        tenant_id: uuid(tenant_id)?,
        principal_id: uuid(principal_id)?,
        resource_id: uuid(resource_id)?,
        app_role_id: uuid(app_role_id)?,
        created: time_from_text(&created, "role assignment")?,
    })
}

/// The holders of a user's unique values, as [`crate::conflict::user`] takes them.
pub(crate) fn user_holders<I: IdColumn>(rows: Vec<UserHolderRow<I>>) -> Result<Vec<(Uuid, String)>> {
    rows.into_iter()
        .map(|(id, email)| Ok((id.uuid("user")?, email)))
        .collect()
}

/// A grant from its row.
pub(crate) fn grant<I: IdColumn>(kind: GrantKind, id: &str, row: GrantRow<I>) -> Result<Grant> {
    let (tenant_id, family, user_id, document, created, expires) = row;
    Ok(Grant {
        kind,
        id: id.to_owned(),
        tenant_id: tenant_id.uuid("grant")?,
        family: family.uuid("grant")?,
        user_id: user_id.uuid("grant")?,
        document: from_document(&document, "grant")?,
        created: time_from_text(&created, "grant")?,
        expires: time_from_text(&expires, "grant")?,
    })
}

/// A name of a vault's collection from its row.
pub(crate) fn item(vault_id: Uuid, collection: Collection, row: ItemRow) -> Result<VaultItem> {
    let (name, deleted, revision, document) = row;
    Ok(VaultItem {
        document: from_document(&document, item_kind(collection))?,
        key: ItemKey {
            vault_id,
            collection,
            name,
        },
        deleted,
        revision,
    })
}

/// A version from its row; its key has the name's stored spelling.
pub(crate) fn version(key: &ItemKey, row: VersionRow) -> Result<VaultVersion> {
    let (name, version, created, document, sealed) = row;
    Ok(VaultVersion {
        key: ItemKey {
            vault_id: key.vault_id,
            collection: key.collection,
            name,
        },
        version,
        created: time_from_text(&created, "vault version")?,
        document: from_document(&document, "vault version")?,
        sealed,
    })
}

/// An audit event from its row.
pub(crate) fn audit_event<I: IdColumn>(row: AuditRow<I>) -> Result<AuditEvent> {
    let (id, tenant_id, at, actor_id, actor, action, target_kind, target_id, detail) = row;
    let uuid = |id: I| id.uuid("audit event");
    Ok(AuditEvent {
        id: uuid(id)?,
        tenant_id: uuid(tenant_id)?,
        at: time_from_text(&at, "audit event")?,
        actor_id: actor_id.map(uuid).transpose()?,
        actor,
        action,
        target_kind,
        target_id,
        detail,
    })
}

/// A credential's last use from its row.
pub(crate) fn credential_use<I: IdColumn>(row: CredentialUseRow<I>) -> Result<CredentialUse> {
    let (tenant_id, application_id, key_id, at, client_address) = row;
    let uuid = |id: I| id.uuid("credential use");
    Ok(CredentialUse {
        tenant_id: uuid(tenant_id)?,
        application_id: uuid(application_id)?,
        key_id: uuid(key_id)?,
        at: time_from_text(&at, "credential use")?,
        client_address,
    })
}

/// A sign-in record from its row.
pub(crate) fn sign_in_record<I: IdColumn>(row: SignInRecordRow<I>) -> Result<ServicePrincipalSignIn> {
    let (
        id,
        tenant_id,
        at,
        app_id,
        key_id,
        thumbprint,
        succeeded,
        error_code,
        correlation_id,
        client_address,
        requests,
    ) = row;
    let uuid = |id: I| id.uuid("sign-in record");
    Ok(ServicePrincipalSignIn {
        id: uuid(id)?,
        tenant_id: uuid(tenant_id)?,
        at: time_from_text(&at, "sign-in record")?,
        app_id: uuid(app_id)?,
        key_id: key_id.map(uuid).transpose()?,
        thumbprint,
        succeeded,
        error_code: error_code
            .map(|code| {
                u32::try_from(code).map_err(|_| Error::Corrupt {
                    what: "sign-in record",
                    detail: format!("error code {code}"),
                })
            })
            .transpose()?,
        correlation_id: correlation_id.map(uuid).transpose()?,
        client_address,
        requests: u32::try_from(requests).map_err(|_| Error::Corrupt {
            what: "sign-in record",
            detail: format!("{requests} requests"),
        })?,
    })
}

/// Ids as read, each of a `what`.
pub(crate) fn ids<I: IdColumn>(ids: Vec<I>, what: &'static str) -> Result<Vec<Uuid>> {
    ids.into_iter().map(|id| id.uuid(what)).collect()
}

/// The models documents hold, each a `what`.
pub(crate) fn models<T: serde::de::DeserializeOwned>(documents: Vec<Document>, what: &'static str) -> Result<Vec<T>> {
    documents.iter().map(|document| from_document(document, what)).collect()
}
