//! A vault's secrets: set one (a new version), a secret's page with its versions, its value
//! shown only on request ("Show secret value": a POST with the CSRF token, audited, never for a
//! Global Reader, never in a list or a log), enabling or disabling a version, and delete.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_vault::{Access, AttributesInput, Error as VaultError, SetSecret, UpdateSecret};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::certificates::not_found;
use super::{ConfirmForm, DONE, access, every, target, vault_page, when_unix};
use crate::AdminCenter;
use crate::access::{Admin, Permission};
use crate::error::AdminError;
use crate::forms::AdminForm;
use crate::pages::apps::AuditRow;
use crate::pages::{Chrome, Confirm, Done, IntoPage, When, see_other};

/// The Set secret form (no `Debug`: it holds the value).
#[derive(Deserialize)]
pub(crate) struct SetForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    content_type: String,
}

/// `POST /admin/vault/{vault}/secrets`: sets a secret (a new version of it if it exists).
pub(crate) async fn set(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(vault): Path<String>,
    AdminForm(form): AdminForm<SetForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let name = form.name.trim().to_owned();
    let content_type = form.content_type.trim().to_owned();
    let refusal = if form.value.is_empty() {
        Some("Enter the secret's value.".to_owned())
    } else {
        let request = SetSecret {
            value: Some(form.value),
            content_type: (!content_type.is_empty()).then(|| content_type.clone()),
            ..Default::default()
        };
        match center.vaults().set_secret(&access, &name, request).await {
            Ok(_) => None,
            Err(
                e @ (VaultError::InvalidName(_)
                | VaultError::BadParameter(_)
                | VaultError::SecretTooLarge { .. }
                | VaultError::DeletedButRecoverable { .. }
                | VaultError::ManagedSecret { .. }),
            ) => Some(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(error) = refusal {
        // The value is not sent back: it would sit in the page.
        return vault_page(
            &center,
            &admin,
            &access,
            "secrets",
            None,
            Some((name, content_type, error)),
        )
        .await;
    }
    let vault = &access.vault().name;
    center
        .audit(
            &admin,
            "vault-secret.set",
            "vault-secret",
            &target(vault, &name),
            &format!("Set a new version of the secret {name} in vault {vault}"),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/vault/{vault}/secrets/{name}?done=secret-set"
    )))
}

/// A version in the secret's list.
pub struct VersionRow {
    version: String,
    enabled: bool,
    created: When,
    updated: When,
    content_type: String,
}

#[derive(Template)]
#[template(path = "vault_secret.html")]
struct SecretPage {
    chrome: Chrome,
    vault: String,
    name: String,
    versions: Vec<VersionRow>,
    /// The version whose value is shown, and the value.
    shown: Option<(String, Zeroizing<String>)>,
    audit: Vec<AuditRow>,
    may_change: bool,
}

async fn secret_page(
    center: &AdminCenter,
    admin: &Admin,
    access: &Access,
    name: &str,
    done: Option<&str>,
    shown: Option<(String, Zeroizing<String>)>,
) -> Result<Response, AdminError> {
    let vaults = center.vaults();
    let mut versions: Vec<VersionRow> = every(|p| async move { vaults.secret_versions(access, name, &p).await })
        .await
        .map_err(|e| match e {
            AdminError::Vault(e) => not_found(e),
            other => other,
        })?
        .into_iter()
        .filter(|v| !v.managed)
        .map(|v| VersionRow {
            version: v.version,
            enabled: v.attributes.enabled,
            created: when_unix(v.attributes.created),
            updated: when_unix(v.attributes.updated),
            content_type: v.content_type.unwrap_or_default(),
        })
        .collect();
    if versions.is_empty() {
        // A certificate's secret: its page is the certificate's.
        return Err(AdminError::NotFound("secret"));
    }
    versions.reverse();
    let vault = access.vault().name.clone();
    let audit = center
        .audit_log(admin.tenant_id(), Some(("vault-secret", &target(&vault, name))))
        .await?;
    Ok(SecretPage {
        chrome: Chrome::of(admin, "vault").done(DONE, done),
        vault,
        name: name.to_owned(),
        versions,
        shown,
        audit: AuditRow::of(audit),
        may_change: admin.may(Permission::ManageApplications),
    }
    .into_page())
}

/// `GET /admin/vault/{vault}/secrets/{name}`: the secret's versions (no value).
pub(crate) async fn show(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, name)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Result<Response, AdminError> {
    let access = access(&center, &admin, &vault).await?;
    secret_page(&center, &admin, &access, &name, done.done.as_deref(), None).await
}

/// The Show secret value form: which version (the latest if none).
#[derive(Deserialize)]
pub(crate) struct VersionForm {
    #[serde(default)]
    version: String,
}

/// `POST /admin/vault/{vault}/secrets/{name}/show`: the secret's page with a version's value.
pub(crate) async fn reveal(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, name)): Path<(String, String)>,
    AdminForm(form): AdminForm<VersionForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let version = Some(form.version.trim()).filter(|v| !v.is_empty());
    let secret = match center.vaults().secret(&access, &name, version).await {
        Ok(secret) if !secret.managed => secret,
        Ok(_) => return Err(AdminError::NotFound("secret")),
        Err(VaultError::SecretDisabled(_)) => {
            let mut page = secret_page(&center, &admin, &access, &name, None, None).await?;
            *page.status_mut() = StatusCode::CONFLICT;
            return Ok(page);
        }
        Err(e) => return Err(not_found(e)),
    };
    let value = secret.value.ok_or(AdminError::NotFound("secret"))?;
    let vault = access.vault().name.clone();
    center
        .audit(
            &admin,
            "vault-secret.show",
            "vault-secret",
            &target(&vault, &secret.name),
            &format!(
                "Showed the value of version {} of the secret {} of vault {vault}",
                secret.version, secret.name
            ),
        )
        .await;
    secret_page(
        &center,
        &admin,
        &access,
        &secret.name,
        None,
        Some((secret.version, value)),
    )
    .await
}

/// The enable/disable form of a version.
#[derive(Deserialize)]
pub(crate) struct EnableForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    enabled: String,
}

/// `POST /admin/vault/{vault}/secrets/{name}/enabled`: enables (`enabled=true`) or disables a
/// version; a disabled version's value is not served.
pub(crate) async fn set_enabled(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, name)): Path<(String, String)>,
    AdminForm(form): AdminForm<EnableForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let enabled = match form.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AdminError::BadForm("enabled must be true or false".into())),
    };
    let version = Some(form.version.trim()).filter(|v| !v.is_empty());
    let update = UpdateSecret {
        attributes: Some(AttributesInput {
            enabled: Some(enabled),
            ..Default::default()
        }),
        ..Default::default()
    };
    let secret = center
        .vaults()
        .update_secret(&access, &name, version, update)
        .await
        .map_err(not_found)?;
    let vault = access.vault().name.clone();
    let (verb, done) = if enabled {
        ("Enabled", "secret-enabled")
    } else {
        ("Disabled", "secret-disabled")
    };
    center
        .audit(
            &admin,
            &format!("vault-secret.{}", if enabled { "enable" } else { "disable" }),
            "vault-secret",
            &target(&vault, &secret.name),
            &format!(
                "{verb} version {} of the secret {} of vault {vault}",
                secret.version, secret.name
            ),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/vault/{vault}/secrets/{}?done={done}",
        secret.name
    )))
}

/// `POST /admin/vault/{vault}/secrets/{name}/delete`: asks, then deletes the secret (soft
/// delete: recoverable for 90 days).
pub(crate) async fn delete(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, name)): Path<(String, String)>,
    AdminForm(form): AdminForm<ConfirmForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let vault = access.vault().name.clone();
    if form.confirmed != "yes" {
        return Ok(Confirm {
            chrome: Chrome::of(&admin, "vault"),
            question: format!("Delete the secret {name}?"),
            consequence: "Its versions go to Deleted items, where it can be recovered for 90 days.".into(),
            action: format!("/admin/vault/{vault}/secrets/{name}/delete"),
            back: format!("/admin/vault/{vault}/secrets/{name}"),
        }
        .into_page());
    }
    let deleted = match center.vaults().delete_secret(&access, &name).await {
        Ok(deleted) => deleted,
        Err(e @ VaultError::ManagedSecret { .. }) => {
            return Err(AdminError::Vault(e));
        }
        Err(e) => return Err(not_found(e)),
    };
    center
        .audit(
            &admin,
            "vault-secret.delete",
            "vault-secret",
            &target(&vault, &deleted.item.name),
            &format!("Deleted the secret {} of vault {vault}", deleted.item.name),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/vault/{vault}?tab=secrets&done=secret-deleted"
    )))
}
