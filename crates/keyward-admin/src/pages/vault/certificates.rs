//! A vault's certificates: Generate (from a policy) and Import (a PFX with its password, or a
//! PEM with the certificate and its key), a certificate's versions, a version's details, and
//! its downloads: `.cer` (the public certificate, GET) and the content type's format with the
//! private key, `.pfx` or `.pem` (POST with the CSRF token, audited, as the portal's "Download
//! in PFX/PEM format").

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_vault::{Access, CreateCertificate, Error as VaultError, ImportCertificate, PolicyInput};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{ConfirmForm, DONE, access, every, target, when_unix, with_status};
use crate::AdminCenter;
use crate::access::{Admin, Permission};
use crate::error::AdminError;
use crate::forms::{AdminForm, Upload};
use crate::pages::apps::AuditRow;
use crate::pages::{Chrome, Confirm, Done, IntoPage, When, see_other};

/// The content type of a certificate's secret with the private key: PKCS #12.
pub const PKCS12: &str = "application/x-pkcs12";
/// The content type of a certificate's secret with the private key: PEM.
pub const PEM: &str = "application/x-pem-file";

/// The key types the Generate form offers: (form value, label, Key Vault's `key_props`).
const KEY_TYPES: &[(&str, &str, &str, u32, Option<&str>)] = &[
    ("RSA-2048", "RSA 2048", "RSA", 2048, None),
    ("RSA-3072", "RSA 3072", "RSA", 3072, None),
    ("RSA-4096", "RSA 4096", "RSA", 4096, None),
    ("EC-P256", "EC P-256", "EC", 256, Some("P-256")),
];

/// Whether a vault error is the administrator's to fix (shown on the form, 422).
fn fixable(e: &VaultError) -> bool {
    matches!(
        e,
        VaultError::InvalidName(_)
            | VaultError::BadParameter(_)
            | VaultError::Certificate(_)
            | VaultError::DeletedButRecoverable { .. }
            | VaultError::NameTakenBySecret(_)
            | VaultError::OperationInProgress(_)
    )
}

/// A key type in the form's select.
pub struct KeyTypeOption {
    value: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "vault_certificate_new.html")]
struct NewCertificatePage {
    chrome: Chrome,
    vault: String,
    key_types: Vec<KeyTypeOption>,
    form: GenerateForm,
    error: Option<String>,
    import_name: String,
    import_error: Option<String>,
}

/// The Generate form.
#[derive(Deserialize, Clone)]
pub(crate) struct GenerateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    subject: String,
    #[serde(default = "twelve")]
    validity_months: String,
    #[serde(default)]
    content_type: String,
    #[serde(default)]
    key_type: String,
}

fn twelve() -> String {
    "12".into()
}

impl Default for GenerateForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            subject: String::new(),
            validity_months: twelve(),
            content_type: PKCS12.into(),
            key_type: KEY_TYPES[0].0.into(),
        }
    }
}

fn new_page(admin: &Admin, access: &Access) -> NewCertificatePage {
    NewCertificatePage {
        chrome: Chrome::of(admin, "vault"),
        vault: access.vault().name.clone(),
        key_types: KEY_TYPES
            .iter()
            .map(|(value, label, ..)| KeyTypeOption { value, label })
            .collect(),
        form: GenerateForm::default(),
        error: None,
        import_name: String::new(),
        import_error: None,
    }
}

/// `GET /admin/vault/{vault}/certificates/new`: the Generate and Import forms.
pub(crate) async fn new_form(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(vault): Path<String>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    Ok(new_page(&admin, &access).into_page())
}

/// The policy the Generate form asks for, or what is wrong with the form.
fn policy_of(form: &GenerateForm) -> Result<PolicyInput, String> {
    let months: u32 = form
        .validity_months
        .trim()
        .parse()
        .ok()
        .filter(|m| (1..=1200).contains(m))
        .ok_or("The validity period is a whole number of months, 1 to 1200.")?;
    let (_, _, kty, size, crv) = KEY_TYPES
        .iter()
        .find(|k| k.0 == form.key_type)
        .ok_or("Choose a key type from the list.")?;
    let content_type = match form.content_type.as_str() {
        PKCS12 | PEM => form.content_type.as_str(),
        _ => return Err("Choose PKCS #12 or PEM as the content type.".into()),
    };
    let subject = form.subject.trim();
    if subject.is_empty() {
        return Err("Enter a subject, e.g. CN=ciam-client-app.".into());
    }
    serde_json::from_value(serde_json::json!({
        "key_props": {"exportable": true, "kty": kty, "key_size": size, "crv": crv, "reuse_key": false},
        "secret_props": {"contentType": content_type},
        "x509_props": {"subject": subject, "validity_months": months},
        "issuer": {"name": "Self"},
    }))
    .map_err(|e| e.to_string())
}

/// `POST /admin/vault/{vault}/certificates/new`: generates a self-signed certificate from the
/// form's policy.
pub(crate) async fn generate(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(vault): Path<String>,
    AdminForm(form): AdminForm<GenerateForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let name = form.name.trim().to_owned();
    let refuse = |error: String| {
        let mut page = new_page(&admin, &access);
        page.form = form.clone();
        page.error = Some(error);
        Ok(with_status(page, StatusCode::UNPROCESSABLE_ENTITY))
    };
    let policy = match policy_of(&form) {
        Ok(policy) => policy,
        Err(error) => return refuse(error),
    };
    let request = CreateCertificate {
        policy: Some(policy),
        ..Default::default()
    };
    match center.vaults().create_certificate(&access, &name, request).await {
        Ok(_) => {}
        Err(e) if fixable(&e) => return refuse(e.to_string()),
        Err(e) => return Err(e.into()),
    }
    let vault = &access.vault().name;
    center
        .audit(
            &admin,
            "vault-certificate.create",
            "vault-certificate",
            &target(vault, &name),
            &format!(
                "Generated the certificate {name} ({}, {}, {} months, {}) in vault {vault}",
                form.subject.trim(),
                form.key_type,
                form.validity_months.trim(),
                form.content_type
            ),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/vault/{vault}/certificates/{name}?done=certificate-created"
    )))
}

/// `POST /admin/vault/{vault}/certificates/import` (multipart): imports a PFX (with its
/// password) or a PEM file with the certificate and its key (or the key in a second file).
pub(crate) async fn import(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(vault): Path<String>,
    upload: Upload,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let name = upload.text("name").unwrap_or_default().to_owned();
    let refuse = |error: String| {
        let mut page = new_page(&admin, &access);
        page.import_name = name.clone();
        page.import_error = Some(error);
        Ok(with_status(page, StatusCode::UNPROCESSABLE_ENTITY))
    };
    let Some(file) = upload.file("file") else {
        return refuse("Choose the certificate file (.pfx, .p12 or .pem).".into());
    };
    let mut bytes = Zeroizing::new(file.bytes.to_vec());
    if let Some(key) = upload.file("key") {
        bytes.push(b'\n');
        bytes.extend_from_slice(&key.bytes);
    }
    let request = ImportCertificate {
        value: Some(STANDARD.encode(bytes.as_slice())),
        pwd: upload.fields.get("password").cloned(),
        ..Default::default()
    };
    let bundle = match center.vaults().import_certificate(&access, &name, request).await {
        Ok(bundle) => bundle,
        Err(e) if fixable(&e) => {
            return refuse(format!(
                "{}: {e}. Check the file and its password (a PEM file needs the certificate and its key).",
                file.file_name
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let vault = &access.vault().name;
    center
        .audit(
            &admin,
            "vault-certificate.import",
            "vault-certificate",
            &target(vault, &bundle.name),
            &format!(
                "Imported the certificate {} (thumbprint {}, {}) into vault {vault}",
                bundle.name,
                bundle.certificate.thumbprints().sha1_hex(),
                bundle.certificate.info().subject
            ),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/vault/{vault}/certificates/{}?done=certificate-imported",
        bundle.name
    )))
}

/// A version in the certificate's list.
pub struct VersionRow {
    version: String,
    thumbprint: String,
    start: When,
    expires: When,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "vault_certificate.html")]
struct CertificatePage {
    chrome: Chrome,
    vault: String,
    name: String,
    content_type: String,
    versions: Vec<VersionRow>,
    audit: Vec<AuditRow>,
    may_change: bool,
}

/// `GET /admin/vault/{vault}/certificates/{name}`: the certificate's versions, newest first.
pub(crate) async fn show(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, name)): Path<(String, String)>,
    axum::extract::Query(done): axum::extract::Query<Done>,
) -> Result<Response, AdminError> {
    let access = access(&center, &admin, &vault).await?;
    let vaults = center.vaults();
    let latest = vaults.certificate(&access, &name, None).await.map_err(not_found)?;
    let access = &access;
    let name_ref = &name;
    let mut versions: Vec<VersionRow> =
        every(|p| async move { vaults.certificate_versions(access, name_ref, &p).await })
            .await?
            .into_iter()
            .map(|v| VersionRow {
                thumbprint: v.certificate.thumbprints().sha1_hex(),
                start: When::of(v.certificate.info().not_before),
                expires: When::of(v.certificate.info().not_after),
                enabled: v.attributes.enabled,
                version: v.version,
            })
            .collect();
    versions.reverse();
    let vault = access.vault().name.clone();
    let audit = center
        .audit_log(
            admin.tenant_id(),
            Some(("vault-certificate", &target(&vault, &latest.name))),
        )
        .await?;
    Ok(CertificatePage {
        chrome: Chrome::of(&admin, "vault").done(DONE, done.done.as_deref()),
        vault,
        content_type: latest.policy.content_type.as_str().to_owned(),
        name: latest.name,
        versions,
        audit: AuditRow::of(audit),
        may_change: admin.may(Permission::ManageApplications),
    }
    .into_page())
}

/// A missing certificate or secret is "not found" (404), not a refusal.
pub(crate) fn not_found(e: VaultError) -> AdminError {
    match e {
        VaultError::CertificateNotFound { .. } | VaultError::InvalidName(_) => AdminError::NotFound("certificate"),
        VaultError::SecretNotFound { .. } => AdminError::NotFound("secret"),
        other => other.into(),
    }
}

#[derive(Template)]
#[template(path = "vault_certificate_version.html")]
struct VersionPage {
    chrome: Chrome,
    vault: String,
    name: String,
    version: String,
    thumbprint: String,
    sha256: String,
    subject: String,
    issuer: String,
    serial: String,
    key: String,
    start: When,
    expires: When,
    created: When,
    enabled: bool,
    content_type: String,
    format: &'static str,
    may_download: bool,
}

/// `GET /admin/vault/{vault}/certificates/{name}/{version}`: a version's details and downloads.
pub(crate) async fn version(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, name, version)): Path<(String, String, String)>,
) -> Result<Response, AdminError> {
    let access = access(&center, &admin, &vault).await?;
    let bundle = center
        .vaults()
        .certificate(&access, &name, Some(&version))
        .await
        .map_err(not_found)?;
    let info = bundle.certificate.info();
    let content_type = bundle.policy.content_type.as_str().to_owned();
    Ok(VersionPage {
        chrome: Chrome::of(&admin, "vault"),
        vault: access.vault().name.clone(),
        thumbprint: bundle.certificate.thumbprints().sha1_hex(),
        sha256: bundle.certificate.thumbprints().sha256_hex(),
        subject: info.subject.clone(),
        issuer: info.issuer.clone(),
        serial: info.serial.clone(),
        key: info.key_description(),
        start: When::of(info.not_before),
        expires: When::of(info.not_after),
        created: when_unix(bundle.attributes.created),
        enabled: bundle.attributes.enabled,
        format: if content_type == PEM { "PEM" } else { "PFX" },
        content_type,
        name: bundle.name,
        version: bundle.version,
        may_download: admin.may(Permission::ManageApplications),
    }
    .into_page())
}

/// A file download: `Content-Type`, `Content-Disposition: attachment; filename="{file}"`.
fn attachment(content_type: &'static str, file: &str, body: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Certificate names are letters, digits and hyphens (checked by the vault).
    let disposition = format!("attachment; filename=\"{file}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `GET .../{version}/download/cer`: the public certificate, DER (`application/pkix-cert`).
pub(crate) async fn download_cer(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, name, version)): Path<(String, String, String)>,
) -> Result<Response, AdminError> {
    let access = access(&center, &admin, &vault).await?;
    let bundle = center
        .vaults()
        .certificate(&access, &name, Some(&version))
        .await
        .map_err(not_found)?;
    Ok(attachment(
        "application/pkix-cert",
        &format!("{}.cer", bundle.name),
        bundle.certificate.der().to_vec(),
    ))
}

/// `POST .../{version}/download`: the version with its private key in the content type's
/// format: a `.pfx` with an empty password (as Key Vault's own downloads) or a `.pem` with the
/// PKCS #8 key and the certificate. Audited; never for a Global Reader.
pub(crate) async fn download_with_key(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((vault, name, version)): Path<(String, String, String)>,
    AdminForm(_): AdminForm<ConfirmForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let access = access(&center, &admin, &vault).await?;
    let vaults = center.vaults();
    let bundle = vaults
        .certificate(&access, &name, Some(&version))
        .await
        .map_err(not_found)?;
    let secret = vaults
        .secret(&access, &bundle.name, Some(&bundle.version))
        .await
        .map_err(not_found)?;
    let value = secret.value.ok_or(AdminError::NotFound("certificate's key"))?;
    let pem = secret.content_type.as_deref() == Some(PEM);
    let (content_type, extension, body) = if pem {
        (PEM, "pem", value.as_bytes().to_vec())
    } else {
        let der = STANDARD
            .decode(value.as_bytes())
            .map_err(|e| AdminError::Vault(VaultError::Corrupt(format!("a managed secret is not base64: {e}"))))?;
        (PKCS12, "pfx", der)
    };
    let vault = &access.vault().name;
    center
        .audit(
            &admin,
            "vault-certificate.download",
            "vault-certificate",
            &target(vault, &bundle.name),
            &format!(
                "Downloaded version {} of the certificate {} with its private key ({extension}) from vault {vault}",
                bundle.version, bundle.name
            ),
        )
        .await;
    Ok(attachment(content_type, &format!("{}.{extension}", bundle.name), body))
}

/// `POST /admin/vault/{vault}/certificates/{name}/delete`: asks, then deletes the certificate
/// (soft delete: recoverable for 90 days).
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
            question: format!("Delete the certificate {name}?"),
            consequence: "Its versions and key go to Deleted items, where it can be recovered for 90 days.".into(),
            action: format!("/admin/vault/{vault}/certificates/{name}/delete"),
            back: format!("/admin/vault/{vault}/certificates/{name}"),
        }
        .into_page());
    }
    let deleted = center
        .vaults()
        .delete_certificate(&access, &name)
        .await
        .map_err(not_found)?;
    center
        .audit(
            &admin,
            "vault-certificate.delete",
            "vault-certificate",
            &target(&vault, &deleted.item.name),
            &format!("Deleted the certificate {} of vault {vault}", deleted.item.name),
        )
        .await;
    Ok(see_other(&format!("/admin/vault/{vault}?done=certificate-deleted")))
}
