//! `GET /admin/api/state`: the caller's tenant as a state document (`keyward_state`), what
//! `keyward export` writes and `keyward apply` applies: tenants, applications (without the
//! built-in ones, the bootstrap admin application and managed identities), users, vaults.
//!
//! The caller holds a management token (`Application.ReadWrite.All` on Microsoft Graph) of the
//! server's default tenant, as `POST /admin/api/state` (apply) asks, and exports that tenant;
//! `?tenant=NAME` (repeatable) must name it, since a management token is one tenant's (the
//! design asked for any tenant by name: other tenants would need a token of theirs). Every
//! export is audited (`state.export`).
//!
//! Without `?secrets=true`, no secret material leaves the server: client secrets, passwords and
//! vault secrets are exported as `generate` paths (applying the document makes new values),
//! vault certificates as their policies (applying makes new keys), and `leftOut` says what
//! was left out. With it: client secrets' and passwords' hashes (the values are not known to
//! the server), vault secrets' values and vault certificates' current secrets (key and
//! certificate), in plain text over the TLS connection: `keyward export` seals them with the
//! export passphrase before anything is written, so the passphrase never reaches the server.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_authority::access::Audience;
use keyward_authority::directory_roles::roles_of;
use keyward_authority::{APPLICATION_READ_WRITE_ALL, Authority, GRAPH_APP_ID, GRAPH_IDENTIFIER, is_builtin};
use keyward_state as state;
use keyward_store::{AuditEvent, Store};
use keyward_vault::{Administration, PageRequest, Trigger, Vaults};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// What the export route needs.
pub(crate) struct Export {
    pub(crate) authority: Arc<Authority>,
    pub(crate) vaults: Arc<Vaults>,
    pub(crate) store: Arc<dyn Store>,
    /// The bootstrap admin application's client id: never exported (each server has its own).
    pub(crate) admin_app_id: Option<Uuid>,
    /// Names of the managed identities' applications: made by `serve`'s flags, not exported.
    pub(crate) managed_identities: HashSet<String>,
    /// The server's default tenant: only its administrators export, as only they apply.
    pub(crate) admin_tenant: Uuid,
}

/// The route.
pub(crate) fn router(export: Arc<Export>) -> axum::Router {
    axum::Router::new()
        .route("/admin/api/state", axum::routing::get(get_state))
        .with_state(export)
}

/// An error in the management API's shape.
struct ExportError(StatusCode, &'static str, String);

impl IntoResponse for ExportError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(json!({"error": {"code": self.1, "message": self.2}}))).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

fn bad_request(message: impl Into<String>) -> ExportError {
    ExportError(StatusCode::BAD_REQUEST, "Request_BadRequest", message.into())
}

fn internal(what: &str, e: impl std::fmt::Display) -> ExportError {
    tracing::error!(error = %e, what, "exporting the state failed");
    ExportError(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Service_InternalServerError",
        format!("exporting the state failed while reading {what}; see the server's log"),
    )
}

/// The query: `tenant` (repeatable: the caller's tenant's name) and `secrets` (`true`/`false`).
fn query(raw: Option<&str>) -> Result<(Vec<String>, bool), ExportError> {
    let mut tenants = Vec::new();
    let mut secrets = false;
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match &*name {
            "tenant" => tenants.push(value.into_owned()),
            "secrets" => {
                secrets = match &*value {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(bad_request(format!(
                            "secrets must be true or false, not {:?}",
                            other.chars().take(64).collect::<String>()
                        )));
                    }
                };
            }
            other => {
                return Err(bad_request(format!(
                    "unknown query parameter {:?}: give tenant or secrets",
                    other.chars().take(64).collect::<String>()
                )));
            }
        }
    }
    Ok((tenants, secrets))
}

async fn get_state(
    State(export): State<Arc<Export>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ExportError> {
    let unauthorized = || {
        ExportError(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is missing or invalid.".to_owned(),
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .ok_or_else(unauthorized)?;
    let caller = export
        .authority
        .validate_access_token(
            &token,
            Audience {
                app_id: GRAPH_APP_ID,
                identifier: GRAPH_IDENTIFIER,
            },
        )
        .ok_or_else(unauthorized)?;
    if !caller.roles.iter().any(|r| r == APPLICATION_READ_WRITE_ALL) {
        return Err(ExportError(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            format!(
                "Insufficient privileges to complete the operation: the caller needs the {APPLICATION_READ_WRITE_ALL} app role on Microsoft Graph."
            ),
        ));
    }
    if caller.tenant_id != export.admin_tenant {
        return Err(ExportError(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "only an administrator of the server's default tenant may export the state (as only they may apply one)"
                .to_owned(),
        ));
    }
    let (tenants, secrets) = query(raw.as_deref())?;
    let snapshot = export.authority.snapshot();
    let tenant = snapshot
        .tenant_by_id(caller.tenant_id)
        .cloned()
        .ok_or_else(unauthorized)?;
    for name in &tenants {
        if !name.eq_ignore_ascii_case(&tenant.tenant.name) {
            return Err(ExportError(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                format!(
                    "this management token is tenant {:?}'s: it exports that tenant only, not {:?}",
                    tenant.tenant.name,
                    name.chars().take(64).collect::<String>()
                ),
            ));
        }
    }
    let actor = caller
        .app_id
        .and_then(|id| snapshot.app_in_tenant(caller.tenant_id, id))
        .map(|a| a.app.display_name.clone())
        .unwrap_or_else(|| "an application".to_owned());
    let (document, left_out) = build(&export, caller.tenant_id, secrets).await?;
    let event = AuditEvent {
        id: Uuid::new_v4(),
        tenant_id: caller.tenant_id,
        at: OffsetDateTime::now_utc(),
        actor_id: None,
        actor,
        action: "state.export".to_owned(),
        target_kind: "tenant".to_owned(),
        target_id: caller.tenant_id.to_string(),
        detail: format!(
            "exported the tenant's state ({} applications, {} users, {} vaults) {}",
            document.apps.len(),
            document.users.len(),
            document.vaults.len(),
            if secrets {
                "with its secret material"
            } else {
                "without secret material"
            }
        ),
    };
    if let Err(e) = export.store.append_audit(&event).await {
        // An export nobody can see in the log is not handed out.
        return Err(internal("the audit log", e));
    }
    Ok(Json(json!({"document": document, "leftOut": left_out})).into_response())
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// A file name made of a name: letters, digits, `-`, `_` and `.` kept, anything else `-`.
fn file_part(name: &str) -> String {
    let part: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let part = part.trim_matches('.').to_owned();
    if part.is_empty() { "unnamed".to_owned() } else { part }
}

fn key_type(policy: &keyward_vault::Policy) -> Option<state::KeyType> {
    match (
        policy.kty.trim_end_matches("-HSM"),
        policy.key_size,
        policy.crv.as_deref(),
    ) {
        ("RSA", 2048, _) => Some(state::KeyType::Rsa2048),
        ("RSA", 3072, _) => Some(state::KeyType::Rsa3072),
        ("RSA", 4096, _) => Some(state::KeyType::Rsa4096),
        ("EC", _, Some("P-256")) => Some(state::KeyType::EcP256),
        ("EC", _, Some("P-384")) => Some(state::KeyType::EcP384),
        _ => None,
    }
}

/// The tenant `tenant_id` as a document, and what was left out of it.
async fn build(export: &Export, tenant_id: Uuid, secrets: bool) -> Result<(state::Document, Vec<String>), ExportError> {
    let snapshot = export.authority.snapshot();
    let tenant = snapshot
        .tenant_by_id(tenant_id)
        .ok_or_else(|| internal("the tenant", "gone"))?;
    let tenant_name = tenant.tenant.name.clone();
    let mut left_out = Vec::new();
    let mut doc = state::Document {
        tenants: vec![state::Tenant {
            name: tenant_name.clone(),
            id: Some(tenant_id),
        }],
        ..state::Document::default()
    };
    let all_apps = snapshot.apps_of(tenant_id);
    let by_principal: HashMap<Uuid, _> = all_apps.iter().map(|a| (a.app.service_principal_id, *a)).collect();
    let exported = |app: &keyward_store::Application| {
        !is_builtin(app.app_id)
            && Some(app.app_id) != export.admin_app_id
            && app.display_name != crate::bootstrap::ADMIN_APP_NAME
            && !export.managed_identities.contains(&app.display_name)
    };
    let mut names_of_principals: HashMap<Uuid, (bool, String)> = HashMap::new();
    for entry in all_apps.iter().filter(|a| exported(&a.app)) {
        let app = &entry.app;
        names_of_principals.insert(app.service_principal_id, (true, app.display_name.clone()));
        let base = format!("secrets/{}", file_part(&app.display_name));
        let mut grants: Vec<state::Grant> = Vec::new();
        for assignment in snapshot
            .assignments_of(tenant_id)
            .filter(|a| a.principal_id == app.service_principal_id)
        {
            let Some(resource) = by_principal.get(&assignment.resource_id) else {
                continue;
            };
            let resource_name = if resource.app.app_id == GRAPH_APP_ID {
                state::MICROSOFT_GRAPH.to_owned()
            } else if exported(&resource.app) {
                resource.app.display_name.clone()
            } else {
                left_out.push(format!(
                    "app {:?}: its role on {:?} (a built-in resource other than Microsoft Graph)",
                    app.display_name, resource.app.display_name
                ));
                continue;
            };
            let Some(role) = resource.app.app_roles.iter().find(|r| r.id == assignment.app_role_id) else {
                continue;
            };
            match grants.iter_mut().find(|g| g.app == resource_name) {
                Some(grant) => grant.roles.push(role.value.clone()),
                None => grants.push(state::Grant {
                    app: resource_name,
                    roles: vec![role.value.clone()],
                }),
            }
        }
        // The certificates as stored: the directory's entries do not keep them.
        let Some(stored) = export
            .authority
            .stored_application(tenant_id, app.id)
            .await
            .map_err(|e| internal("the applications", e))?
        else {
            continue; // Removed meanwhile.
        };
        doc.apps.push(state::App {
            name: app.display_name.clone(),
            tenant: Some(tenant_name.clone()),
            app_id: Some(app.app_id),
            object_id: Some(app.id),
            service_principal_id: Some(app.service_principal_id),
            redirect_uris: app.redirect_uris.clone(),
            identifier_uris: app.identifier_uris.clone(),
            roles: app
                .app_roles
                .iter()
                .map(|r| state::AppRole {
                    value: r.value.clone(),
                    id: Some(r.id),
                    display_name: Some(r.display_name.clone()),
                    description: (!r.description.is_empty()).then(|| r.description.clone()),
                    allowed_member_types: r
                        .allowed_member_types
                        .iter()
                        .filter_map(|t| match t.as_str() {
                            "Application" => Some(state::MemberType::Application),
                            "User" => Some(state::MemberType::User),
                            _ => None,
                        })
                        .collect(),
                })
                .collect(),
            grants,
            secrets: app
                .password_credentials
                .iter()
                .map(|p| {
                    let generate = (!secrets).then(|| {
                        let path = format!("{base}/{}.secret", file_part(&p.display_name));
                        left_out.push(format!(
                            "app {:?}: the value of client secret {:?} (applying generates a new one into {path})",
                            app.display_name, p.display_name
                        ));
                        path.into()
                    });
                    state::AppSecret {
                        name: p.display_name.clone(),
                        value: None,
                        generate,
                        expires: rfc3339(p.end).parse().ok(),
                        key_id: Some(p.key_id),
                        hash: secrets.then(|| state::SecretValue::new(p.secret_hash.clone())),
                        hint: secrets.then(|| p.hint.clone()).filter(|h| !h.is_empty()),
                    }
                })
                .collect(),
            certificates: stored
                .key_credentials
                .iter()
                .filter_map(|c| {
                    let certificate = keyward_pki::Certificate::from_der(&c.certificate_der).ok()?;
                    Some(state::AppCertificate {
                        name: c.display_name.clone(),
                        file: None,
                        pem: Some(certificate.pem()),
                        generate: None,
                        key_id: Some(c.key_id),
                    })
                })
                .collect(),
        });
    }
    // By name, not by creation: two servers holding the same state export the same text.
    doc.apps.sort_by(|a, b| (&a.name, a.app_id).cmp(&(&b.name, b.app_id)));
    let users = export
        .authority
        .users(tenant_id)
        .await
        .map_err(|e| internal("the users", e))?;
    for user in &users {
        names_of_principals.insert(user.id, (false, user.email.clone()));
        let generate_password = (!secrets).then(|| {
            let path = format!("secrets/users/{}.password", file_part(&user.email));
            left_out.push(format!(
                "user {:?}: the password (applying generates a new one into {path})",
                user.email
            ));
            path.into()
        });
        doc.users.push(state::User {
            email: user.email.clone(),
            tenant: Some(tenant_name.clone()),
            id: Some(user.id),
            display_name: Some(user.display_name.clone()),
            password: None,
            generate_password,
            roles: roles_of(user).iter().map(|r| r.cli_name().to_owned()).collect(),
            password_hash: secrets.then(|| state::SecretValue::new(user.password_hash.clone())),
        });
    }
    doc.users.sort_by(|a, b| a.email.cmp(&b.email));
    let admin_principal = export
        .admin_app_id
        .and_then(|id| snapshot.app_in_tenant(tenant_id, id))
        .map(|a| a.app.service_principal_id);
    let mut vaults = export.vaults.vaults().await.map_err(|e| internal("the vaults", e))?;
    vaults.retain(|v| v.tenant_id == tenant_id);
    vaults.sort_by(|a, b| a.name.cmp(&b.name));
    for vault in vaults {
        let access = export
            .vaults
            .administer(tenant_id, &vault.name, Administration::Manage)
            .await
            .map_err(|e| internal("a vault", e))?;
        let mut out = state::Vault {
            name: vault.name.clone(),
            tenant: Some(tenant_name.clone()),
            certificates: Vec::new(),
            secrets: Vec::new(),
            access: Vec::new(),
        };
        let mut page = PageRequest::default();
        let mut certificate_names = HashSet::new();
        loop {
            let got = export
                .vaults
                .certificates(&access, &page)
                .await
                .map_err(|e| internal("a vault's certificates", e))?;
            for bundle in got.items {
                certificate_names.insert(bundle.name.to_ascii_lowercase());
                let policy = &bundle.policy;
                let Some(key_type) = key_type(policy) else {
                    left_out.push(format!(
                        "vault {:?}: certificate {:?} (key type {} {} has no name in the document)",
                        vault.name, bundle.name, policy.kty, policy.key_size
                    ));
                    continue;
                };
                let value = if secrets {
                    match export.vaults.secret(&access, &bundle.name, None).await {
                        Ok(secret) => secret.value.map(|v| state::SecretValue::new(v.as_str())),
                        Err(e) => {
                            left_out.push(format!(
                                "vault {:?}: certificate {:?}'s key ({e}); applying makes a new one",
                                vault.name, bundle.name
                            ));
                            None
                        }
                    }
                } else {
                    left_out.push(format!(
                        "vault {:?}: certificate {:?}'s key (applying makes a new certificate from its policy)",
                        vault.name, bundle.name
                    ));
                    None
                };
                out.certificates.push(state::VaultCertificate {
                    name: bundle.name.clone(),
                    subject: policy.subject.clone(),
                    key_type,
                    validity_months: Some(policy.validity_months),
                    content_type: match policy.content_type {
                        keyward_vault::ContentType::Pkcs12 => state::ContentType::Pkcs12,
                        keyward_vault::ContentType::Pem => state::ContentType::Pem,
                    },
                    dns_names: policy.sans.dns_names.clone(),
                    exportable: Some(policy.exportable),
                    reuse_key: Some(policy.reuse_key),
                    lifetime_action: policy
                        .lifetime_actions
                        .iter()
                        .map(|a| state::LifetimeAction {
                            action: match a.action {
                                keyward_vault::ActionType::AutoRenew => state::Action::AutoRenew,
                                keyward_vault::ActionType::EmailContacts => state::Action::EmailContacts,
                            },
                            lifetime_percentage: match a.trigger {
                                Trigger::LifetimePercentage(p) => Some(p),
                                Trigger::DaysBeforeExpiry(_) => None,
                            },
                            days_before_expiry: match a.trigger {
                                Trigger::DaysBeforeExpiry(d) => Some(d),
                                Trigger::LifetimePercentage(_) => None,
                            },
                        })
                        .collect(),
                    value,
                });
            }
            match got.next {
                Some(next) => page.skip_token = Some(next),
                None => break,
            }
        }
        let mut page = PageRequest::default();
        loop {
            let got = export
                .vaults
                .secrets(&access, &page)
                .await
                .map_err(|e| internal("a vault's secrets", e))?;
            for bundle in got.items {
                if bundle.managed || certificate_names.contains(&bundle.name.to_ascii_lowercase()) {
                    continue;
                }
                let (value, generate) = if secrets {
                    match export.vaults.secret(&access, &bundle.name, None).await {
                        Ok(secret) => (secret.value.map(|v| state::SecretValue::new(v.as_str())), None),
                        Err(e) => {
                            left_out.push(format!(
                                "vault {:?}: secret {:?} ({e}); it is left out",
                                vault.name, bundle.name
                            ));
                            continue;
                        }
                    }
                } else {
                    let path = format!("secrets/vaults/{}/{}", file_part(&vault.name), file_part(&bundle.name));
                    left_out.push(format!(
                        "vault {:?}: the value of secret {:?} (applying generates a new one into {path})",
                        vault.name, bundle.name
                    ));
                    (None, Some(path.into()))
                };
                out.secrets.push(state::VaultSecret {
                    name: bundle.name.clone(),
                    value,
                    file: None,
                    generate,
                    content_type: bundle.content_type.clone(),
                });
            }
            match got.next {
                Some(next) => page.skip_token = Some(next),
                None => break,
            }
        }
        for policy in &vault.access_policies {
            if Some(policy.object_id) == admin_principal {
                continue;
            }
            let (app, user, object_id) = match names_of_principals.get(&policy.object_id) {
                Some((true, name)) => (Some(name.clone()), None, None),
                Some((false, email)) => (None, Some(email.clone()), None),
                None => (None, None, Some(policy.object_id)),
            };
            out.access.push(state::VaultAccess {
                app,
                user,
                object_id,
                certificates: policy.certificates.clone(),
                secrets: policy.secrets.clone(),
            });
        }
        doc.vaults.push(out);
    }
    Ok((doc, left_out))
}
