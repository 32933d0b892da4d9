//! The management API of vaults, in the camelCase JSON of the rest of the management API
//! (Graph-like): list, create and read a tenant's vaults, and set or remove a principal's access
//! policy. Callers hold a management token ([`crate::Tokens::admin_caller`]) and see only the
//! vaults of the tenant it names; another tenant's vault is "not found".

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_store::{AccessPolicy, Vault};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::auth::Body;
use crate::Vaults;
use crate::access::Administration;
use crate::error::Error;
use crate::links::CertificateLink;

/// An error of the management API: `{"error":{"code","message"}}`.
#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for the `Retry-After` header, if any.
    retry_after: Option<u32>,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    fn not_found(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Vault '{}' does not exist.", name.chars().take(64).collect::<String>()),
        )
    }
}

impl From<Error> for AdminError {
    fn from(e: Error) -> Self {
        match e {
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "vault management request: the store is unavailable");
                Self {
                    retry_after: Some(keyward_store::RETRY_AFTER_SECONDS),
                    ..Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "serviceNotAvailable",
                        "The service is temporarily unavailable: its database cannot take requests right now (it is down, unreachable or out of space). Retry after the delay in the Retry-After header.",
                    )
                }
            }
            Error::VaultNotFound(name) => Self::not_found(&name),
            Error::InvalidVaultName(_) | Error::UnknownPermission { .. } | Error::BadParameter(_) => {
                Self::bad_request(e.to_string())
            }
            Error::VaultOfAnotherTenant(_) => Self::new(
                StatusCode::CONFLICT,
                "Request_MultipleObjectsWithSameKeyValue",
                "A vault with this name already exists.",
            ),
            Error::Busy => Self::new(StatusCode::CONFLICT, "Request_Conflict", e.to_string()),
            Error::CertificateNotFound { .. } | Error::ApplicationNotFound(_) | Error::LinkNotFound { .. } => {
                Self::new(StatusCode::NOT_FOUND, "Request_ResourceNotFound", e.to_string())
            }
            Error::LinkedApplication { .. } | Error::InvalidName(_) => Self::bad_request(e.to_string()),
            Error::LinksUnavailable => Self::new(StatusCode::NOT_IMPLEMENTED, "Request_NotImplemented", e.to_string()),
            other => {
                tracing::error!(error = %other, "vault management request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Service_InternalServerError",
                    "the request failed on the server",
                )
            }
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A caller of the management API: the tenant its token may manage.
pub(crate) struct AdminCaller {
    tenant_id: Uuid,
}

impl FromRequestParts<Arc<Vaults>> for AdminCaller {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, vaults: &Arc<Vaults>) -> Result<Self, AdminError> {
        let unauthorized = || {
            AdminError::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token is missing or invalid.",
            )
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
            .ok_or_else(unauthorized)?;
        let tenant_id = vaults.tokens().admin_caller(&token).ok_or_else(unauthorized)?;
        Ok(Self { tenant_id })
    }
}

fn render(vault: &Vault) -> Value {
    json!({
        "id": vault.id,
        "name": vault.name,
        "tenantId": vault.tenant_id,
        "createdDateTime": vault.created.replace_nanosecond(0).unwrap_or(vault.created).format(&Rfc3339).unwrap_or_default(),
        "accessPolicies": vault.access_policies,
    })
}

async fn own_vault(vaults: &Vaults, caller: &AdminCaller, name: &str) -> Result<Vault, AdminError> {
    match vaults.find_vault(name).await? {
        Some(v) if v.tenant_id == caller.tenant_id => Ok(v),
        _ => Err(AdminError::not_found(name)),
    }
}

pub(crate) async fn list(State(vaults): State<Arc<Vaults>>, caller: AdminCaller) -> Result<Response, AdminError> {
    let value: Vec<Value> = vaults
        .vaults()
        .await?
        .iter()
        .filter(|v| v.tenant_id == caller.tenant_id)
        .map(render)
        .collect();
    Ok(Json(json!({ "value": value })).into_response())
}

pub(crate) async fn get(
    State(vaults): State<Arc<Vaults>>,
    caller: AdminCaller,
    Path(name): Path<String>,
) -> Result<Response, AdminError> {
    let vault = own_vault(&vaults, &caller, &name).await?;
    Ok(Json(render(&vault)).into_response())
}

pub(crate) async fn create(
    State(vaults): State<Arc<Vaults>>,
    caller: AdminCaller,
    Path(name): Path<String>,
) -> Result<Response, AdminError> {
    let existed = vaults.find_vault(&name).await?.is_some();
    let vault = vaults.ensure_vault(caller.tenant_id, &name).await?;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(render(&vault))).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct Permissions {
    #[serde(default)]
    certificates: Vec<String>,
    #[serde(default)]
    secrets: Vec<String>,
}

fn object_id(text: &str) -> Result<Uuid, AdminError> {
    Uuid::parse_str(text).map_err(|_| AdminError::bad_request("the object id must be a GUID"))
}

pub(crate) async fn set_policy(
    State(vaults): State<Arc<Vaults>>,
    caller: AdminCaller,
    Path((name, object)): Path<(String, String)>,
    body: Body,
) -> Result<Response, AdminError> {
    let object_id = object_id(&object)?;
    let permissions: Permissions = serde_json::from_slice(&body.0).map_err(|e| {
        AdminError::bad_request(format!(
            "the body must be {{\"certificates\":[..],\"secrets\":[..]}}: {e}"
        ))
    })?;
    let vault = own_vault(&vaults, &caller, &name).await?;
    let vault = vaults
        .set_access_policy(
            &vault.name,
            AccessPolicy {
                object_id,
                certificates: permissions.certificates,
                secrets: permissions.secrets,
            },
        )
        .await?;
    tracing::info!(vault = %vault.name, principal = %object_id, "access policy set");
    Ok(Json(render(&vault)).into_response())
}

pub(crate) async fn remove_policy(
    State(vaults): State<Arc<Vaults>>,
    caller: AdminCaller,
    Path((name, object)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let object_id = object_id(&object)?;
    let vault = own_vault(&vaults, &caller, &name).await?;
    let vault = vaults.remove_access_policy(&vault.name, object_id).await?;
    tracing::info!(vault = %vault.name, principal = %object_id, "access policy removed");
    Ok(Json(render(&vault)).into_response())
}

fn app_id(text: &str) -> Result<Uuid, AdminError> {
    Uuid::parse_str(text).map_err(|_| AdminError::bad_request("the application's client id (appId) must be a GUID"))
}

fn render_link(link: &CertificateLink) -> Value {
    json!({ "appId": link.app_id, "displayName": link.display_name })
}

/// `GET /admin/api/vaults/{vault}/certificates/{name}/links`: the applications the certificate
/// is linked to.
pub(crate) async fn links(
    State(vaults): State<Arc<Vaults>>,
    caller: AdminCaller,
    Path((name, certificate)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let access = vaults
        .administer(caller.tenant_id, &name, Administration::Manage)
        .await?;
    let links = vaults.certificate_links(&access, &certificate).await?;
    let value: Vec<Value> = links.iter().map(render_link).collect();
    Ok(Json(json!({ "value": value })).into_response())
}

/// `PUT /admin/api/vaults/{vault}/certificates/{name}/links/{appId}`: links the certificate to
/// the application; its latest version is added to the application now.
pub(crate) async fn link(
    State(vaults): State<Arc<Vaults>>,
    caller: AdminCaller,
    Path((name, certificate, app)): Path<(String, String, String)>,
) -> Result<Response, AdminError> {
    let app_id = app_id(&app)?;
    let access = vaults
        .administer(caller.tenant_id, &name, Administration::Manage)
        .await?;
    let added = vaults.link_certificate(&access, &certificate, app_id).await?;
    let link = vaults
        .certificate_links(&access, &certificate)
        .await?
        .into_iter()
        .find(|l| l.app_id == app_id)
        .unwrap_or(CertificateLink {
            app_id,
            display_name: None,
        });
    let mut body = render_link(&link);
    body["vault"] = json!(access.vault().name);
    body["certificate"] = json!(certificate);
    body["latestVersionAdded"] = json!(added);
    Ok(Json(body).into_response())
}

/// `DELETE /admin/api/vaults/{vault}/certificates/{name}/links/{appId}`: removes the link; the
/// certificates already added stay on the application.
pub(crate) async fn unlink(
    State(vaults): State<Arc<Vaults>>,
    caller: AdminCaller,
    Path((name, certificate, app)): Path<(String, String, String)>,
) -> Result<Response, AdminError> {
    let app_id = app_id(&app)?;
    let access = vaults
        .administer(caller.tenant_id, &name, Administration::Manage)
        .await?;
    vaults.unlink_certificate(&access, &certificate, app_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
