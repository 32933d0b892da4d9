//! An application's Certificates & secrets: upload a certificate (checked by the authority's
//! [`certificate_credential`] before anything is written), make a client secret (its value shown
//! once, in the answer to the form, and never again), delete either.
//!
//! A refused upload comes back as the form with what to do (status 422); a deleted credential
//! is refused by the token endpoint from the next request on (the authority's update publishes
//! the new directory before it returns).

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keyward_authority::credentials::{certificate_credential, new_secret};
use keyward_authority::{AppEntry, ApplicationError, CredentialError, Error as AuthorityError};
use keyward_pki::{Format, Thumbprints};
use keyward_store::CredentialUse;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::apps::find;
use super::{Chrome, Confirm, Confirmation, IntoPage, When, see_other};
use crate::AdminCenter;
use crate::access::{Admin, Permission};
use crate::error::AdminError;
use crate::forms::{AdminForm, Upload};

/// The messages of the actions that end on this tab.
pub const DONE: &[(&str, &str)] = &[
    (
        "certificate-added",
        "The certificate was added. An application holding its private key can sign in with it now.",
    ),
    (
        "certificate-deleted",
        "The certificate was deleted: assertions signed with its key are refused from now on.",
    ),
    (
        "secret-deleted",
        "The client secret was deleted: the token endpoint refuses it from now on.",
    ),
];

/// The longest description accepted (Graph's `displayName` of a credential).
const MAX_DESCRIPTION: usize = 256;
/// The lifetimes a new secret may be given, in days (the portal's choices); the default first.
const SECRET_DAYS: &[u32] = &[365, 90, 180, 730];

/// A 422 answer: the form again, with what to change.
pub(crate) fn unprocessable(mut page: Response) -> Response {
    *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    page
}

/// A certificate as the table shows it.
pub struct CertificateRow {
    key_id: String,
    description: String,
    thumbprint: String,
    sha256: String,
    start: When,
    expires: When,
    expired: bool,
    last_used: Option<LastUsed>,
}

/// A client secret as the table shows it (never its value).
pub struct SecretRow {
    key_id: String,
    description: String,
    hint: String,
    expires: When,
    expired: bool,
    last_used: Option<LastUsed>,
}

/// When a credential last authenticated a client, and from where.
pub struct LastUsed {
    when: When,
    address: Option<String>,
}

impl LastUsed {
    fn of(uses: &HashMap<Uuid, CredentialUse>, key_id: Uuid) -> Option<Self> {
        uses.get(&key_id).map(|u| LastUsed {
            when: When::of(u.at),
            address: u.client_address.clone(),
        })
    }
}

/// The last uses of an application's credentials; none (logged) if they cannot be read, so that
/// the page still shows.
async fn last_uses(center: &AdminCenter, entry: &AppEntry) -> HashMap<Uuid, CredentialUse> {
    match center
        .authority()
        .credential_uses(entry.app.tenant_id, entry.app.id)
        .await
    {
        Ok(uses) => uses,
        Err(e) => {
            tracing::warn!(error = %e, app = %entry.app.app_id, "cannot read the credentials' last use");
            HashMap::new()
        }
    }
}

/// A secret just made: the one time its value is on a page.
pub struct NewSecret {
    value: Zeroizing<String>,
    description: String,
}

#[derive(Template)]
#[template(path = "app_credentials.html")]
struct CredentialsPage {
    chrome: Chrome,
    tab: &'static str,
    object_id: String,
    name: String,
    section: &'static str,
    certificates: Vec<CertificateRow>,
    secrets: Vec<SecretRow>,
    may_change: bool,
    error: Option<String>,
    description: String,
    secret_days: &'static [u32],
    chosen_days: u32,
    new_secret: Option<NewSecret>,
    /// What the tenant's app management policy restricts, if anything.
    policy: Option<String>,
}

impl CredentialsPage {
    fn of(
        admin: &Admin,
        entry: &AppEntry,
        uses: &HashMap<Uuid, CredentialUse>,
        section: &'static str,
        now: OffsetDateTime,
    ) -> Self {
        let app = &entry.app;
        let certificates = app
            .key_credentials
            .iter()
            .map(|k| {
                let thumbprints = entry.certificate_by_key_id(k.key_id).map(|c| c.thumbprints);
                CertificateRow {
                    key_id: k.key_id.to_string(),
                    description: k.display_name.clone(),
                    thumbprint: thumbprints.map(|t| t.sha1_hex()).unwrap_or_default(),
                    sha256: thumbprints.map(|t| t.sha256_hex()).unwrap_or_default(),
                    start: When::of(k.start),
                    expires: When::of(k.end),
                    expired: k.end < now,
                    last_used: LastUsed::of(uses, k.key_id),
                }
            })
            .collect();
        let secrets = app
            .password_credentials
            .iter()
            .map(|p| SecretRow {
                key_id: p.key_id.to_string(),
                description: p.display_name.clone(),
                hint: p.hint.clone(),
                expires: When::of(p.end),
                expired: p.end < now,
                last_used: LastUsed::of(uses, p.key_id),
            })
            .collect();
        Self {
            chrome: Chrome::of(admin, "apps"),
            tab: "credentials",
            object_id: app.id.to_string(),
            name: app.display_name.clone(),
            section,
            certificates,
            secrets,
            may_change: admin.may(Permission::ManageApplications),
            error: None,
            description: String::new(),
            secret_days: SECRET_DAYS,
            chosen_days: SECRET_DAYS[0],
            new_secret: None,
            policy: None,
        }
    }
}

/// The tenant's app management policy in one sentence, for the page (nothing when it restricts
/// nothing, or cannot be read).
async fn policy_note(center: &AdminCenter, tenant_id: Uuid) -> Option<String> {
    match center.authority().app_management_policy(tenant_id).await {
        Ok(policy) => keyward_authority::app_policy::summary(&policy),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the app management policy");
            None
        }
    }
}

/// `?tab=` and `?done=` of the page.
#[derive(Deserialize)]
pub(crate) struct TabQuery {
    tab: Option<String>,
    done: Option<String>,
}

/// `GET /admin/apps/{id}/credentials`: certificates, or client secrets with `?tab=secrets`.
pub(crate) async fn show(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    Query(query): Query<TabQuery>,
) -> Result<Response, AdminError> {
    let entry = find(&center, &admin, &id)?;
    let section = if query.tab.as_deref() == Some("secrets") {
        "secrets"
    } else {
        "certificates"
    };
    let uses = last_uses(&center, &entry).await;
    let mut page = CredentialsPage::of(&admin, &entry, &uses, section, center.now());
    page.chrome = page.chrome.done(DONE, query.done.as_deref());
    page.policy = policy_note(&center, admin.tenant_id()).await;
    Ok(page.into_page())
}

/// What to tell the person whose upload the authority refused, and what to do instead; `None`
/// for a failure that is not theirs to fix.
fn certificate_refusal(bytes: &[u8], error: &AuthorityError) -> Option<String> {
    let text = match error {
        AuthorityError::Credential(CredentialError::PrivateKeyIncluded) => {
            let is_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
            let der_key = matches!(keyward_pki::read(bytes, None), Ok(c) if c.format == Format::DerPrivateKey);
            if is_pem {
                "This PEM file holds a private key (a PRIVATE KEY block); upload the certificate only \
                 (.cer/.pem): the private key stays with the application. Keep only the CERTIFICATE \
                 block, e.g. openssl x509 -in f.pem -out f-cert.pem"
                    .to_owned()
            } else if der_key {
                "This file is a private key, not a certificate; upload the certificate made with it \
                 (.cer/.pem): the private key stays with the application."
                    .to_owned()
            } else {
                "This is a PFX with a private key; upload the certificate only (.cer/.pem), e.g. \
                 openssl pkcs12 -in f.pfx -nokeys -out f.pem"
                    .to_owned()
            }
        }
        AuthorityError::Credential(CredentialError::Expired(at)) => format!(
            "This certificate expired on {}; upload a current one, or make a new one, e.g. \
             keyward cert new --subject \"CN=my-app\"",
            When::of(*at).text
        ),
        AuthorityError::Credential(CredentialError::WeakRsaKey { bits, min }) => format!(
            "This certificate's RSA key has {bits} bits, which is too weak: at least {min} are \
             required. Make a new certificate with a {min}-bit key, e.g. openssl req -x509 -newkey \
             rsa:{min} -nodes -keyout app.key -out app.pem -days 365 -subj \"/CN=my-app\""
        ),
        AuthorityError::Credential(e @ CredentialError::UnsupportedKey(_)) => format!(
            "{}. Make a new certificate with an RSA key, e.g. keyward cert new --subject \"CN=my-app\"",
            capitalized(&e.to_string())
        ),
        AuthorityError::Credential(CredentialError::NotACertificate(_) | CredentialError::NoCertificate)
        | AuthorityError::Pki(_) => "This file is not a certificate. Upload the public certificate: \
             a .cer (DER) or a .pem/.crt (PEM, starting with -----BEGIN CERTIFICATE-----)."
            .to_owned(),
        AuthorityError::Credential(e) => format!("{}.", capitalized(&e.to_string())),
        AuthorityError::Policy(e) => e.to_string(),
        AuthorityError::Application(ApplicationError::DuplicateCertificate(thumbprint)) => format!(
            "This certificate (thumbprint {thumbprint}) is already registered on this application; \
             there is nothing to add. To replace it, upload a new certificate, then delete the old one."
        ),
        _ => return None,
    };
    Some(text)
}

/// The name the browser gave the file, for the message (its last path segment, shortened).
fn file_name(name: &str) -> String {
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let short: String = name.chars().take(80).collect();
    if short.is_empty() { "The file".to_owned() } else { short }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The description field, trimmed; too long is refused.
fn description(text: Option<&str>) -> Result<String, String> {
    let text = text.unwrap_or_default().trim();
    if text.chars().count() > MAX_DESCRIPTION {
        return Err(format!(
            "The description is longer than {MAX_DESCRIPTION} characters; shorten it."
        ));
    }
    Ok(text.to_owned())
}

/// `POST /admin/apps/{id}/credentials/certificates` (multipart: `certificate`, `description`).
pub(crate) async fn upload_certificate(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    upload: Upload,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let typed = upload.text("description").unwrap_or_default().to_owned();
    let uses = last_uses(&center, &entry).await;
    let refuse = |error: String| {
        let mut page = CredentialsPage::of(&admin, &entry, &uses, "certificates", center.now());
        page.error = Some(error);
        page.description = typed.clone();
        Ok(unprocessable(page.into_page()))
    };
    let description = match description(upload.text("description")) {
        Ok(d) => d,
        Err(e) => return refuse(e),
    };
    let Some(file) = upload.file("certificate") else {
        return refuse(
            "No file was chosen, or the file is empty. Choose the certificate file (.cer, .pem or \
             .crt) and press Add."
                .into(),
        );
    };
    let now = center.now();
    let allow_ec = center.authority().config().assertion.allow_es256;
    let credential = match certificate_credential(
        &file.bytes,
        Some(description).filter(|d| !d.is_empty()),
        None,
        None,
        allow_ec,
        now,
    ) {
        Ok(credential) => credential,
        Err(e) => match certificate_refusal(&file.bytes, &e) {
            Some(text) => return refuse(format!("{}: {text}", file_name(&file.file_name))),
            None => return Err(e.into()),
        },
    };
    let thumbprint = Thumbprints::of(&credential.certificate_der).sha1_hex();
    let shown_name = credential.display_name.clone();
    let key_id = credential.key_id;
    let result = center
        .authority()
        .update_application(admin.tenant_id(), entry.app.id, move |app| {
            app.key_credentials.push(credential);
            Ok(())
        })
        .await;
    if let Err(e) = result {
        return match certificate_refusal(&file.bytes, &e) {
            Some(text) => refuse(text),
            None => Err(e.into()),
        };
    }
    center
        .audit(
            &admin,
            "application.certificate.add",
            "application",
            &entry.app.id.to_string(),
            &format!(
                "Added certificate \"{shown_name}\" (thumbprint {thumbprint}, key ID {key_id}) to \"{}\"",
                entry.app.display_name
            ),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/apps/{}/credentials?done=certificate-added",
        entry.app.id
    )))
}

/// A credential's key id in a path.
fn key_id(text: &str, what: &'static str) -> Result<Uuid, AdminError> {
    Uuid::parse_str(text).map_err(|_| AdminError::NotFound(what))
}

/// `POST /admin/apps/{id}/credentials/certificates/{keyId}/delete`: asks first.
pub(crate) async fn delete_certificate(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((id, key)): Path<(String, String)>,
    AdminForm(confirmation): AdminForm<Confirmation>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let key_id = key_id(&key, "certificate")?;
    let credential = entry
        .app
        .key_credentials
        .iter()
        .find(|k| k.key_id == key_id)
        .ok_or(AdminError::NotFound("certificate"))?;
    let thumbprint = entry
        .certificate_by_key_id(key_id)
        .map(|c| c.thumbprints.sha1_hex())
        .unwrap_or_default();
    if !confirmation.given() {
        return Ok(Confirm {
            chrome: Chrome::of(&admin, "apps"),
            question: format!("Delete certificate {}?", credential.display_name),
            consequence: format!("Assertions signed with the key of certificate {thumbprint} are refused at once."),
            action: format!("/admin/apps/{}/credentials/certificates/{key_id}/delete", entry.app.id),
            back: format!("/admin/apps/{}/credentials", entry.app.id),
        }
        .into_page());
    }
    center
        .authority()
        .update_application(admin.tenant_id(), entry.app.id, |app| {
            let before = app.key_credentials.len();
            app.key_credentials.retain(|k| k.key_id != key_id);
            if app.key_credentials.len() == before {
                return Err(AuthorityError::CredentialNotFound(key_id.to_string()));
            }
            Ok(())
        })
        .await?;
    center
        .audit(
            &admin,
            "application.certificate.delete",
            "application",
            &entry.app.id.to_string(),
            &format!(
                "Deleted certificate \"{}\" (thumbprint {thumbprint}) from \"{}\"",
                credential.display_name, entry.app.display_name
            ),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/apps/{}/credentials?done=certificate-deleted",
        entry.app.id
    )))
}

/// The New client secret form.
#[derive(Deserialize)]
pub(crate) struct SecretForm {
    #[serde(default)]
    description: String,
    #[serde(default)]
    expires: String,
}

/// `POST /admin/apps/{id}/credentials/secrets`: makes a secret and shows its value in this
/// answer only (it is not stored, only its hash is).
pub(crate) async fn add_secret(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    AdminForm(form): AdminForm<SecretForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let days = form
        .expires
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|d| SECRET_DAYS.contains(d));
    let uses = last_uses(&center, &entry).await;
    let refuse = |error: String| {
        let mut page = CredentialsPage::of(&admin, &entry, &uses, "secrets", center.now());
        page.error = Some(error);
        page.description = form.description.clone();
        Ok(unprocessable(page.into_page()))
    };
    let Some(days) = days else {
        return refuse("Choose when the secret expires: in 90, 180, 365 or 730 days.".into());
    };
    let description = match description(Some(&form.description)) {
        Ok(d) => d,
        Err(e) => return refuse(e),
    };
    let now = center.now();
    let (credential, secret) = new_secret(
        Some(description.clone()),
        Some(now + Duration::days(i64::from(days))),
        now,
    )?;
    let secret = Zeroizing::new(secret);
    let key_id = credential.key_id;
    let hint = credential.hint.clone();
    let result = center
        .authority()
        .update_application(admin.tenant_id(), entry.app.id, move |app| {
            app.password_credentials.push(credential);
            Ok(())
        })
        .await;
    let (updated, ()) = match result {
        Ok(updated) => updated,
        Err(AuthorityError::Policy(refusal)) => return refuse(refusal.to_string()),
        Err(e) => return Err(e.into()),
    };
    center
        .audit(
            &admin,
            "application.secret.add",
            "application",
            &entry.app.id.to_string(),
            &format!(
                "Added client secret \"{description}\" (starts {hint}, secret ID {key_id}, expires in \
                 {days} days) to \"{}\"",
                entry.app.display_name
            ),
        )
        .await;
    let mut page = CredentialsPage::of(&admin, &updated, &uses, "secrets", center.now());
    page.new_secret = Some(NewSecret {
        value: secret,
        description,
    });
    Ok(page.into_page())
}

/// `POST /admin/apps/{id}/credentials/secrets/{keyId}/delete`: asks first.
pub(crate) async fn delete_secret(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((id, key)): Path<(String, String)>,
    AdminForm(confirmation): AdminForm<Confirmation>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let key_id = key_id(&key, "client secret")?;
    let secret = entry
        .app
        .password_credentials
        .iter()
        .find(|p| p.key_id == key_id)
        .ok_or(AdminError::NotFound("client secret"))?;
    if !confirmation.given() {
        return Ok(Confirm {
            chrome: Chrome::of(&admin, "apps"),
            question: format!("Delete client secret {}?", secret.display_name),
            consequence: "Clients using it are refused by the token endpoint at once.".into(),
            action: format!("/admin/apps/{}/credentials/secrets/{key_id}/delete", entry.app.id),
            back: format!("/admin/apps/{}/credentials?tab=secrets", entry.app.id),
        }
        .into_page());
    }
    center
        .authority()
        .update_application(admin.tenant_id(), entry.app.id, |app| {
            let before = app.password_credentials.len();
            app.password_credentials.retain(|p| p.key_id != key_id);
            if app.password_credentials.len() == before {
                return Err(AuthorityError::CredentialNotFound(key_id.to_string()));
            }
            Ok(())
        })
        .await?;
    center
        .audit(
            &admin,
            "application.secret.delete",
            "application",
            &entry.app.id.to_string(),
            &format!(
                "Deleted client secret \"{}\" (starts {}, secret ID {key_id}) from \"{}\"",
                secret.display_name, secret.hint, entry.app.display_name
            ),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/apps/{}/credentials?tab=secrets&done=secret-deleted",
        entry.app.id
    )))
}
