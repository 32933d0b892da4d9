//! Key vault: the tenant's vaults (and creating one), a vault's tabs (Certificates, Secrets,
//! Access policies, Deleted items), access policies per application, and recovering or purging
//! deleted objects. Certificates and secrets have their own pages in [`certificates`] and
//! [`secrets`].
//!
//! The admin center acts on a vault as an administrator of its tenant
//! ([`keyward_vault::Vaults::administer`]), outside the vault's access policies: a Global or
//! Application Administrator manages everything, a Global Reader sees lists and metadata but
//! never a secret's value or a private key. Another tenant's vault is "not found".

pub mod certificates;
pub mod secrets;

use std::future::Future;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_authority::is_builtin;
use keyward_store::AccessPolicy;
use keyward_vault::{
    Access, Administration, CERTIFICATE_PERMISSIONS, DEFAULT_VAULT, Page, PageRequest, SECRET_PERMISSIONS,
};
use serde::Deserialize;
use uuid::Uuid;

use super::apps::AuditRow;
use super::{Chrome, Confirm, IntoPage, When, see_other};
use crate::AdminCenter;
use crate::access::{Admin, Permission};
use crate::error::AdminError;
use crate::forms::AdminForm;

/// The messages of the actions that end on the vault's pages.
pub const DONE: &[(&str, &str)] = &[
    ("vault-created", "The vault was created."),
    ("certificate-created", "The certificate was created."),
    ("certificate-imported", "The certificate was imported."),
    (
        "certificate-deleted",
        "The certificate was deleted. It can be recovered from Deleted items for 90 days.",
    ),
    ("certificate-recovered", "The certificate was recovered."),
    ("certificate-purged", "The certificate was purged for good."),
    ("secret-set", "The secret was saved."),
    ("secret-enabled", "The secret version was enabled."),
    (
        "secret-disabled",
        "The secret version was disabled: its value is no longer served.",
    ),
    (
        "secret-deleted",
        "The secret was deleted. It can be recovered from Deleted items for 90 days.",
    ),
    ("secret-recovered", "The secret was recovered."),
    ("secret-purged", "The secret was purged for good."),
    (
        "policy-saved",
        "The access policy was saved. It applies to the next request.",
    ),
    ("policy-removed", "The access policy was removed."),
];

/// The most pages of a list read for one page of the admin center (25 items each).
const MAX_PAGES: usize = 40;

/// The administrator's access to the vault `name` of their tenant: everything for those who may
/// manage applications, lists and metadata for the others. Not found for another tenant's vault.
pub async fn access(center: &AdminCenter, admin: &Admin, name: &str) -> Result<Access, AdminError> {
    let standing = if admin.may(Permission::ManageApplications) {
        Administration::Manage
    } else {
        Administration::Read
    };
    match center.vaults().administer(admin.tenant_id(), name, standing).await {
        Err(keyward_vault::Error::VaultNotFound(_)) => Err(AdminError::NotFound("vault")),
        other => Ok(other?),
    }
}

/// Every item of a paged list (up to [`MAX_PAGES`] pages).
pub async fn every<T, F, Fut>(mut page: F) -> Result<Vec<T>, AdminError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = keyward_vault::Result<Page<T>>>,
{
    let mut all = Vec::new();
    let mut request = PageRequest::default();
    for _ in 0..MAX_PAGES {
        let page = page(request.clone()).await?;
        all.extend(page.items);
        match page.next {
            Some(next) => request.skip_token = Some(next),
            None => break,
        }
    }
    Ok(all)
}

/// `{vault}/{name}`: the audit log's target id of an object of a vault.
pub fn target(vault: &str, name: &str) -> String {
    format!("{vault}/{name}")
}

/// A unix time as pages show it.
pub fn when_unix(seconds: i64) -> When {
    When::of(time::OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(time::OffsetDateTime::UNIX_EPOCH))
}

/// A page rendered with a status (a refusal the administrator can fix: 422).
pub fn with_status(page: impl IntoPage, status: StatusCode) -> Response {
    let mut response = page.into_page();
    *response.status_mut() = status;
    response
}

/// A row of the list of vaults.
pub struct VaultRow {
    name: String,
    uri: String,
    created: When,
    policies: usize,
    default: bool,
}

#[derive(Template)]
#[template(path = "vault_list.html")]
struct VaultsPage {
    chrome: Chrome,
    rows: Vec<VaultRow>,
    may_change: bool,
    name: String,
    error: Option<String>,
}

/// `?done=` of the list.
#[derive(Deserialize)]
pub(crate) struct ListQuery {
    done: Option<String>,
}

/// The URI clients use for the vault `name`: the server's origin for the default vault,
/// `{name}.localhost` on the same port for the others (as the vault chooses them by host).
fn vault_uri(public_url: &str, name: &str) -> String {
    if name == DEFAULT_VAULT {
        return format!("{public_url}/");
    }
    let port = url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.port())
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    format!("https://{name}.localhost{port}/")
}

async fn vault_rows(center: &AdminCenter, admin: &Admin) -> Result<Vec<VaultRow>, AdminError> {
    Ok(center
        .vaults()
        .vaults()
        .await?
        .into_iter()
        .filter(|v| v.tenant_id == admin.tenant_id())
        .map(|v| VaultRow {
            uri: vault_uri(center.public_url(), &v.name),
            default: v.name == DEFAULT_VAULT,
            created: When::of(v.created),
            policies: v.access_policies.len(),
            name: v.name,
        })
        .collect())
}

/// `GET /admin/vault`: the vaults of the administrator's tenant.
pub(crate) async fn list(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Query(query): Query<ListQuery>,
) -> Result<Response, AdminError> {
    Ok(VaultsPage {
        chrome: Chrome::of(&admin, "vault").done(DONE, query.done.as_deref()),
        rows: vault_rows(&center, &admin).await?,
        may_change: admin.may(Permission::ManageApplications),
        name: String::new(),
        error: None,
    }
    .into_page())
}

/// The Create vault form.
#[derive(Deserialize)]
pub(crate) struct NewVault {
    #[serde(default)]
    name: String,
}

/// `POST /admin/vault`: creates a vault of the tenant.
pub(crate) async fn create(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    AdminForm(form): AdminForm<NewVault>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let name = form.name.trim();
    let refusal = match center.vaults().find_vault(name).await? {
        Some(v) if v.tenant_id == admin.tenant_id() => {
            Some(format!("The vault {} already exists. Choose another name.", v.name))
        }
        Some(_) => Some("That name is taken on this server. Choose another name.".to_owned()),
        None => match center.vaults().ensure_vault(admin.tenant_id(), name).await {
            Ok(vault) => {
                center
                    .audit(
                        &admin,
                        "vault.create",
                        "vault",
                        &vault.name,
                        &format!("Created the vault {}", vault.name),
                    )
                    .await;
                return Ok(see_other(&format!("/admin/vault/{}?done=vault-created", vault.name)));
            }
            Err(e @ keyward_vault::Error::InvalidVaultName(_)) => Some(format!(
                "{e}, not starting or ending with a hyphen (it becomes the host name {{name}}.localhost)."
            )),
            Err(keyward_vault::Error::VaultOfAnotherTenant(_)) => {
                Some("That name is taken on this server. Choose another name.".to_owned())
            }
            Err(e) => return Err(e.into()),
        },
    };
    Ok(with_status(
        VaultsPage {
            chrome: Chrome::of(&admin, "vault"),
            rows: vault_rows(&center, &admin).await?,
            may_change: true,
            name: form.name,
            error: refusal,
        },
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

/// A certificate in the Certificates tab.
pub struct CertificateRow {
    name: String,
    thumbprint: String,
    expires: When,
    enabled: bool,
}

/// A secret in the Secrets tab (never its value).
pub struct SecretRow {
    name: String,
    enabled: bool,
    updated: When,
    content_type: String,
}

/// An access policy in the Access policies tab.
pub struct PolicyRow {
    object_id: String,
    application: Option<String>,
    certificates: String,
    secrets: String,
}

/// A deleted certificate or secret.
pub struct DeletedRow {
    kind: &'static str,
    name: String,
    deleted: When,
    purge: When,
}

#[derive(Template)]
#[template(path = "vault.html")]
struct VaultPage {
    chrome: Chrome,
    vault: String,
    tab: &'static str,
    may_change: bool,
    certificates: Vec<CertificateRow>,
    secrets: Vec<SecretRow>,
    policies: Vec<PolicyRow>,
    deleted: Vec<DeletedRow>,
    audit: Vec<AuditRow>,
    secret_name: String,
    secret_content_type: String,
    error: Option<String>,
}

/// `?tab=` and `?done=` of a vault's page.
#[derive(Deserialize, Default)]
pub(crate) struct VaultQuery {
    tab: Option<String>,
    done: Option<String>,
}

/// The tab `?tab=` names (certificates by default).
fn tab_of(query: Option<&str>) -> &'static str {
    match query {
        Some("secrets") => "secrets",
        Some("access") => "access",
        Some("deleted") => "deleted",
        _ => "certificates",
    }
}

/// The vault's page on `tab`, with the Set secret form's values and error if given.
pub(crate) async fn vault_page(
    center: &AdminCenter,
    admin: &Admin,
    access: &Access,
    tab: &'static str,
    done: Option<&str>,
    secret_form: Option<(String, String, String)>,
) -> Result<Response, AdminError> {
    let vaults = center.vaults();
    let name = access.vault().name.clone();
    let mut page = VaultPage {
        chrome: Chrome::of(admin, "vault").done(DONE, done),
        vault: name.clone(),
        tab,
        may_change: admin.may(Permission::ManageApplications),
        certificates: Vec::new(),
        secrets: Vec::new(),
        policies: Vec::new(),
        deleted: Vec::new(),
        audit: Vec::new(),
        secret_name: String::new(),
        secret_content_type: String::new(),
        error: None,
    };
    match tab {
        "secrets" => {
            page.secrets = every(|p| async move { vaults.secrets(access, &p).await })
                .await?
                .into_iter()
                .filter(|s| !s.managed)
                .map(|s| SecretRow {
                    name: s.name,
                    enabled: s.attributes.enabled,
                    updated: when_unix(s.attributes.updated),
                    content_type: s.content_type.unwrap_or_default(),
                })
                .collect();
            if let Some((name, content_type, error)) = secret_form {
                page.secret_name = name;
                page.secret_content_type = content_type;
                page.error = Some(error);
            }
        }
        "access" => {
            let snapshot = center.authority().snapshot();
            page.policies = access
                .vault()
                .access_policies
                .iter()
                .map(|p| PolicyRow {
                    object_id: p.object_id.to_string(),
                    application: snapshot
                        .app_by_service_principal(admin.tenant_id(), p.object_id)
                        .map(|a| a.app.display_name.clone()),
                    certificates: p.certificates.join(", "),
                    secrets: p.secrets.join(", "),
                })
                .collect();
        }
        "deleted" => {
            let certificates = every(|p| async move { vaults.deleted_certificates(access, &p).await }).await?;
            let secrets = every(|p| async move { vaults.deleted_secrets(access, &p).await }).await?;
            page.deleted = certificates
                .into_iter()
                .map(|d| DeletedRow {
                    kind: "certificates",
                    name: d.item.name,
                    deleted: when_unix(d.deletion.deleted_date),
                    purge: when_unix(d.deletion.scheduled_purge_date),
                })
                .chain(secrets.into_iter().filter(|d| !d.item.managed).map(|d| DeletedRow {
                    kind: "secrets",
                    name: d.item.name,
                    deleted: when_unix(d.deletion.deleted_date),
                    purge: when_unix(d.deletion.scheduled_purge_date),
                }))
                .collect();
        }
        _ => {
            page.certificates = every(|p| async move { vaults.certificates(access, &p).await })
                .await?
                .into_iter()
                .map(|c| CertificateRow {
                    thumbprint: c.certificate.thumbprints().sha1_hex(),
                    expires: When::of(c.certificate.info().not_after),
                    enabled: c.attributes.enabled,
                    name: c.name,
                })
                .collect();
            page.audit = AuditRow::of(center.audit_log(admin.tenant_id(), Some(("vault", &name))).await?);
        }
    }
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(with_status(page, status))
}

/// `GET /admin/vault/{vault}`: the vault's tabs.
pub(crate) async fn show(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(vault): Path<String>,
    Query(query): Query<VaultQuery>,
) -> Result<Response, AdminError> {
    let access = access(&center, &admin, &vault).await?;
    vault_page(
        &center,
        &admin,
        &access,
        tab_of(query.tab.as_deref()),
        query.done.as_deref(),
        None,
    )
    .await
}

/// One permission's checkbox.
pub struct PermissionBox {
    name: &'static str,
    checked: bool,
}

impl PermissionBox {
    fn of(known: &[&'static str], granted: &[String]) -> Vec<Self> {
        known
            .iter()
            .map(|name| Self {
                name,
                checked: granted.iter().any(|g| g == name),
            })
            .collect()
    }
}

/// An application that can be given a policy.
pub struct Principal {
    object_id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "vault_access.html")]
struct PolicyPage {
    chrome: Chrome,
    vault: String,
    /// The principal being edited; none: choose one.
    editing: Option<Principal>,
    principals: Vec<Principal>,
    certificates: Vec<PermissionBox>,
    secrets: Vec<PermissionBox>,
}

fn principal_name(center: &AdminCenter, admin: &Admin, object_id: Uuid) -> String {
    center
        .authority()
        .snapshot()
        .app_by_service_principal(admin.tenant_id(), object_id)
        .map(|a| a.app.display_name.clone())
        .unwrap_or_else(|| "Unknown principal".to_owned())
}

/// `GET /admin/vault/{vault}/access/new`: the Add access policy form.
pub(crate) async fn policy_new(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(vault): Path<String>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let snapshot = center.authority().snapshot();
    let mut principals: Vec<Principal> = snapshot
        .apps_of(admin.tenant_id())
        .into_iter()
        .filter(|a| !is_builtin(a.app.app_id))
        .map(|a| Principal {
            object_id: a.app.service_principal_id.to_string(),
            name: a.app.display_name.clone(),
        })
        .collect();
    principals.sort_by_key(|p| p.name.to_lowercase());
    Ok(PolicyPage {
        chrome: Chrome::of(&admin, "vault"),
        vault: access.vault().name.clone(),
        editing: None,
        principals,
        certificates: PermissionBox::of(CERTIFICATE_PERMISSIONS, &[]),
        secrets: PermissionBox::of(SECRET_PERMISSIONS, &[]),
    }
    .into_page())
}

/// `GET /admin/vault/{vault}/access/{object_id}`: the Edit access policy form.
pub(crate) async fn policy_edit(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, object_id)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let object_id = Uuid::parse_str(&object_id).map_err(|_| AdminError::NotFound("access policy"))?;
    let policy = access
        .vault()
        .access_policies
        .iter()
        .find(|p| p.object_id == object_id)
        .ok_or(AdminError::NotFound("access policy"))?;
    Ok(PolicyPage {
        chrome: Chrome::of(&admin, "vault"),
        vault: access.vault().name.clone(),
        editing: Some(Principal {
            object_id: object_id.to_string(),
            name: principal_name(&center, &admin, object_id),
        }),
        principals: Vec::new(),
        certificates: PermissionBox::of(CERTIFICATE_PERMISSIONS, &policy.certificates),
        secrets: PermissionBox::of(SECRET_PERMISSIONS, &policy.secrets),
    }
    .into_page())
}

/// `POST /admin/vault/{vault}/access`: sets a principal's policy from the form's checkboxes
/// (`certificates=get&certificates=list&secrets=get...`, repeated fields).
pub(crate) async fn policy_save(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(vault): Path<String>,
    AdminForm(fields): AdminForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let field = |name: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let object_id = field("object_id")
        .first()
        .and_then(|v| Uuid::parse_str(v.trim()).ok())
        .ok_or_else(|| AdminError::BadForm("choose an application".into()))?;
    let snapshot = center.authority().snapshot();
    let known = snapshot
        .app_by_service_principal(admin.tenant_id(), object_id)
        .is_some()
        || access.vault().access_policies.iter().any(|p| p.object_id == object_id);
    if !known {
        return Err(AdminError::NotFound("application"));
    }
    let vault = center
        .vaults()
        .set_access_policy(
            &access.vault().name,
            AccessPolicy {
                object_id,
                certificates: field("certificates"),
                secrets: field("secrets"),
            },
        )
        .await?;
    let policy = vault.access_policies.iter().find(|p| p.object_id == object_id);
    let (certificates, secrets) = policy
        .map(|p| (p.certificates.join(", "), p.secrets.join(", ")))
        .unwrap_or_default();
    center
        .audit(
            &admin,
            "vault.policy.set",
            "vault",
            &vault.name,
            &format!(
                "Set the access policy of {} ({object_id}): certificates [{certificates}], secrets [{secrets}]",
                principal_name(&center, &admin, object_id)
            ),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/vault/{}?tab=access&done=policy-saved",
        vault.name
    )))
}

/// The Remove form of a policy.
#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default)]
    confirmed: String,
}

/// `POST /admin/vault/{vault}/access/{object_id}/remove`: asks, then removes the policy.
pub(crate) async fn policy_remove(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, object_id)): Path<(String, String)>,
    AdminForm(form): AdminForm<ConfirmForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let object_id = Uuid::parse_str(&object_id).map_err(|_| AdminError::NotFound("access policy"))?;
    let name = access.vault().name.clone();
    if !access.vault().access_policies.iter().any(|p| p.object_id == object_id) {
        return Err(AdminError::NotFound("access policy"));
    }
    let who = principal_name(&center, &admin, object_id);
    if form.confirmed != "yes" {
        return Ok(Confirm {
            chrome: Chrome::of(&admin, "vault"),
            question: format!("Remove the access policy of {who}?"),
            consequence: "The application's next request to the vault is refused.".into(),
            action: format!("/admin/vault/{name}/access/{object_id}/remove"),
            back: format!("/admin/vault/{name}?tab=access"),
        }
        .into_page());
    }
    center.vaults().remove_access_policy(&name, object_id).await?;
    center
        .audit(
            &admin,
            "vault.policy.remove",
            "vault",
            &name,
            &format!("Removed the access policy of {who} ({object_id})"),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/vault/{name}?tab=access&done=policy-removed"
    )))
}

/// `POST /admin/vault/{vault}/deleted/{kind}/{name}/recover`: recovers a deleted certificate
/// or secret.
pub(crate) async fn recover(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, kind, name)): Path<(String, String, String)>,
    AdminForm(_): AdminForm<ConfirmForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let vault = access.vault().name.clone();
    let (target_kind, done, name) = match kind.as_str() {
        "certificates" => (
            "vault-certificate",
            "certificate-recovered",
            center.vaults().recover_certificate(&access, &name).await?.name,
        ),
        "secrets" => (
            "vault-secret",
            "secret-recovered",
            center.vaults().recover_secret(&access, &name).await?.name,
        ),
        _ => return Err(AdminError::NotFound("deleted item")),
    };
    center
        .audit(
            &admin,
            &format!("{target_kind}.recover"),
            target_kind,
            &target(&vault, &name),
            &format!("Recovered the deleted {} {name} of vault {vault}", noun(target_kind)),
        )
        .await;
    Ok(see_other(&format!("/admin/vault/{vault}?tab=deleted&done={done}")))
}

fn noun(target_kind: &str) -> &'static str {
    if target_kind == "vault-certificate" {
        "certificate"
    } else {
        "secret"
    }
}

/// `POST /admin/vault/{vault}/deleted/{kind}/{name}/purge`: asks, then purges a deleted
/// certificate or secret for good.
pub(crate) async fn purge(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, kind, name)): Path<(String, String, String)>,
    AdminForm(form): AdminForm<ConfirmForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let vault = access.vault().name.clone();
    let target_kind = match kind.as_str() {
        "certificates" => "vault-certificate",
        "secrets" => "vault-secret",
        _ => return Err(AdminError::NotFound("deleted item")),
    };
    if form.confirmed != "yes" {
        return Ok(Confirm {
            chrome: Chrome::of(&admin, "vault"),
            question: format!("Purge the {} {name} for good?", noun(target_kind)),
            consequence: "It cannot be recovered afterwards.".into(),
            action: format!("/admin/vault/{vault}/deleted/{kind}/{name}/purge"),
            back: format!("/admin/vault/{vault}?tab=deleted"),
        }
        .into_page());
    }
    let done = if target_kind == "vault-certificate" {
        center.vaults().purge_certificate(&access, &name).await?;
        "certificate-purged"
    } else {
        center.vaults().purge_secret(&access, &name).await?;
        "secret-purged"
    };
    center
        .audit(
            &admin,
            &format!("{target_kind}.purge"),
            target_kind,
            &target(&vault, &name),
            &format!("Purged the deleted {} {name} of vault {vault}", noun(target_kind)),
        )
        .await;
    Ok(see_other(&format!("/admin/vault/{vault}?tab=deleted&done={done}")))
}
