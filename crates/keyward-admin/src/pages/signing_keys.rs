//! Signing keys: the tenant's token-signing keys as `/admin/api/signing-keys` lists them (the
//! active one and those retired, published in the JWKS until the tokens they signed have
//! expired), and Rotate. Reading is open to every administrator; rotating needs
//! [`Permission::ManageDirectory`] (Global Administrator).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use keyward_pki::Certificate;
use time::OffsetDateTime;

use super::apps::AuditRow;
use super::{Chrome, Confirm, Confirmation, Done, IntoPage, When, see_other};
use crate::AdminCenter;
use crate::access::{Admin, Permission};
use crate::error::AdminError;
use crate::forms::AdminForm;

/// The messages of the actions that end on this page.
pub const DONE: &[(&str, &str)] = &[(
    "rotated",
    "The signing key was rotated: new tokens are signed with the new key; the old key stays in \
     the JWKS until the tokens it signed have expired.",
)];

/// The section of the navigation.
const SECTION: &str = "signing-keys";

/// The audit log's target kind.
const TARGET_KIND: &str = "signing-key";

/// A key as the page shows it.
pub struct KeyRow {
    kid: String,
    active: bool,
    created: When,
    /// Retired keys: until when the JWKS publishes it.
    published_until: Option<When>,
    /// Retired keys whose publication has ended.
    withdrawn: bool,
    /// The certificate's end of validity.
    certificate_expires: Option<When>,
    /// The certificate's `x5t` (base64url of its SHA-1 thumbprint).
    x5t: String,
    /// The SHA-1 thumbprint in hex, as the portal shows certificates.
    sha1: String,
}

#[derive(Template)]
#[template(path = "signing_keys.html")]
struct SigningKeysPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    jwks_url: String,
    audit: Vec<AuditRow>,
    may_change: bool,
}

/// The tenant's keys, the active one first, then newest first.
fn rows(admin: &Admin, now: OffsetDateTime) -> Vec<KeyRow> {
    let mut keys: Vec<_> = admin.tenant.keys.rows().to_vec();
    keys.sort_by(|a, b| b.active.cmp(&a.active).then(b.created.cmp(&a.created)));
    keys.into_iter()
        .map(|k| {
            let certificate = Certificate::from_der(&k.certificate_der).ok();
            KeyRow {
                active: k.active,
                created: When::of(k.created),
                withdrawn: !k.active && k.publish_until.is_none_or(|until| until <= now),
                published_until: k.publish_until.filter(|_| !k.active).map(When::of),
                certificate_expires: certificate.as_ref().map(|c| When::of(c.info().not_after)),
                x5t: certificate.as_ref().map(|c| c.thumbprints().x5t()).unwrap_or_default(),
                sha1: certificate
                    .as_ref()
                    .map(|c| c.thumbprints().sha1_hex().to_uppercase())
                    .unwrap_or_default(),
                kid: k.kid,
            }
        })
        .collect()
}

/// `GET /admin/signing-keys`.
pub(crate) async fn list(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Query(done): Query<Done>,
) -> Result<Response, AdminError> {
    let tenant_id = admin.tenant_id();
    let audit = center.audit_log(tenant_id, None).await?;
    let audit = audit.into_iter().filter(|e| e.target_kind == TARGET_KIND).collect();
    Ok(SigningKeysPage {
        chrome: Chrome::of(&admin, SECTION).done(DONE, done.done.as_deref()),
        keys: rows(&admin, center.now()),
        jwks_url: format!("{}/{tenant_id}/discovery/v2.0/keys", center.public_url()),
        audit: AuditRow::of(audit),
        may_change: admin.may(Permission::ManageDirectory),
    }
    .into_page())
}

/// `POST /admin/signing-keys/rotate`: asks first, then makes a new active key and retires the
/// current one.
pub(crate) async fn rotate(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    AdminForm(confirmation): AdminForm<Confirmation>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageDirectory)?;
    if !confirmation.given() {
        return Ok(Confirm {
            chrome: Chrome::of(&admin, SECTION),
            question: "Rotate the tenant's signing key?".into(),
            consequence: "New tokens are signed with a new key at once. The current key stays \
                          published until the tokens it signed have expired; clients that cache \
                          the JWKS fetch it again when they meet the new kid."
                .into(),
            action: "/admin/signing-keys/rotate".into(),
            back: "/admin/signing-keys".into(),
        }
        .into_page());
    }
    let old = admin.tenant.keys.kid().to_owned();
    let kid = center.authority().rotate_signing_key(admin.tenant_id()).await?;
    center
        .audit(
            &admin,
            "signing-key.rotate",
            TARGET_KIND,
            &kid,
            &format!("Rotated the signing key: {kid} is active, {old} is retired"),
        )
        .await;
    Ok(see_other("/admin/signing-keys?done=rotated"))
}
