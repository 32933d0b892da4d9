//! The management API, shaped like Microsoft Graph v1.0: applications (with certificate and
//! secret credentials and app roles), service principals and app role assignments.
//!
//! Callers are applications holding an access token from this authority for Microsoft Graph
//! (`https://graph.microsoft.com/.default`) with the `Application.ReadWrite.All` role: the
//! bootstrap admin application has it, and the CLI uses it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_pki::Thumbprints;
use keyward_store::{AppRole, AppRoleAssignment, Application};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::access::Audience;
use crate::authority::{APPLICATION_READ_WRITE_ALL, Authority, GRAPH_APP_ID, GRAPH_IDENTIFIER, NewApplication};
use crate::credentials;
use crate::directory::{AppEntry, TenantEntry};
use crate::error::Error;

/// The largest management request body: a few certificates.
pub const MAX_GRAPH_REQUEST: usize = 1024 * 1024;

pub(crate) fn router() -> Router<Arc<Authority>> {
    Router::new()
        .route("/v1.0/applications", get(list_applications).post(create_application))
        .route(
            "/v1.0/applications/{id}",
            get(get_application).patch(patch_application).delete(delete_application),
        )
        .route("/v1.0/applications/{id}/addPassword", post(add_password))
        .route("/v1.0/applications/{id}/removePassword", post(remove_password))
        .route("/v1.0/servicePrincipals", get(list_service_principals))
        .route("/v1.0/servicePrincipals/{id}", get(get_service_principal))
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignedTo",
            get(list_assigned_to).post(assign_role),
        )
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignedTo/{assignment}",
            axum::routing::delete(unassign_role),
        )
        .route("/v1.0/{keyed}", get(get_keyed).patch(patch_keyed).delete(delete_keyed))
        .route("/admin/api/signing-keys", get(list_signing_keys))
        .route("/admin/api/signing-keys/rotate", post(rotate_signing_key))
        .layer(DefaultBodyLimit::max(MAX_GRAPH_REQUEST))
}

/// An error in Graph's shape: `{"error": {"code", "message", "innerError"}}`.
#[derive(Debug)]
pub struct GraphError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl GraphError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{what}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message)
    }
}

impl From<Error> for GraphError {
    fn from(e: Error) -> Self {
        match e {
            Error::ApplicationNotFound(what)
            | Error::CredentialNotFound(what)
            | Error::TenantNotFound(what)
            | Error::UserNotFound(what) => Self::not_found(&what),
            Error::UserExists(email) => Self::new(
                StatusCode::BAD_REQUEST,
                "Request_MultipleObjectsWithSameKeyValue",
                format!("Another object with the same value for property identities already exists: {email}."),
            ),
            Error::Invalid(message) => Self::bad_request(message),
            Error::Pki(e) => Self::bad_request(e.to_string()),
            Error::Store(keyward_store::Error::Conflict(what)) => Self::new(
                StatusCode::BAD_REQUEST,
                "Request_MultipleObjectsWithSameKeyValue",
                format!("{what} already exists"),
            ),
            Error::Store(keyward_store::Error::Invalid(message)) => Self::bad_request(message),
            Error::Store(keyward_store::Error::NotFound(what)) => Self::not_found(&what),
            Error::Store(keyward_store::Error::VersionMismatch { .. }) => Self::new(
                StatusCode::CONFLICT,
                "Request_Conflict",
                "the object was changed by another request; retry",
            ),
            other => {
                tracing::error!(error = %other, "management request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Service_InternalServerError",
                    "the request failed on the server",
                )
            }
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let now = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
        let id = Uuid::new_v4().to_string();
        let body = json!({"error": {"code": self.code, "message": self.message,
            "innerError": {"date": now, "request-id": id, "client-request-id": id}}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub(crate) type GraphResult<T = Response> = Result<T, GraphError>;

/// The authenticated caller of the management API: its tenant, checked to hold
/// `Application.ReadWrite.All`.
pub struct GraphCaller {
    tenant: Arc<TenantEntry>,
}

impl FromRequestParts<Arc<Authority>> for GraphCaller {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, authority: &Arc<Authority>) -> Result<Self, GraphError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| GraphError::unauthorized("Access token is empty."))?;
        let token = value
            .strip_prefix("Bearer ")
            .ok_or_else(|| GraphError::unauthorized("The Authorization header must be 'Bearer <access token>'."))?;
        let audience = Audience {
            app_id: GRAPH_APP_ID,
            identifier: GRAPH_IDENTIFIER,
        };
        let caller = authority.validate_access_token(token, audience).ok_or_else(|| {
            GraphError::unauthorized(
                "Access token validation failure. Invalid audience, issuer, signature or lifetime.",
            )
        })?;
        if !caller.roles.iter().any(|r| r == APPLICATION_READ_WRITE_ALL) {
            return Err(GraphError::new(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                format!(
                    "Insufficient privileges to complete the operation: the caller needs the {APPLICATION_READ_WRITE_ALL} app role on Microsoft Graph."
                ),
            ));
        }
        let tenant = authority
            .snapshot()
            .tenant_by_id(caller.tenant_id)
            .cloned()
            .ok_or_else(|| GraphError::unauthorized("Access token validation failure."))?;
        Ok(Self { tenant })
    }
}

impl GraphCaller {
    pub(crate) fn tenant_id(&self) -> Uuid {
        self.tenant.tenant.id
    }

    pub(crate) fn tenant(&self) -> &TenantEntry {
        &self.tenant
    }
}

/// Graph's date-time form: RFC 3339, whole seconds, `Z`.
pub(crate) fn date(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn render_app(app: &Application) -> Value {
    json!({
        "id": app.id,
        "appId": app.app_id,
        "displayName": app.display_name,
        "createdDateTime": date(app.created),
        "signInAudience": "AzureADMyOrg",
        "identifierUris": app.identifier_uris,
        "web": {"redirectUris": app.redirect_uris},
        "keyCredentials": app.key_credentials.iter().map(|k| {
            let thumbprints = Thumbprints::of(&k.certificate_der);
            json!({
                "keyId": k.key_id,
                "displayName": k.display_name,
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "customKeyIdentifier": thumbprints.sha1_hex(),
                "thumbprintSha256": thumbprints.sha256_hex(),
                "startDateTime": date(k.start),
                "endDateTime": date(k.end),
                "key": null,
            })
        }).collect::<Vec<_>>(),
        "passwordCredentials": app.password_credentials.iter().map(|p| json!({
            "keyId": p.key_id,
            "displayName": p.display_name,
            "hint": p.hint,
            "startDateTime": date(p.start),
            "endDateTime": date(p.end),
            "secretText": null,
            "customKeyIdentifier": null,
        })).collect::<Vec<_>>(),
        "appRoles": app.app_roles.iter().map(render_role).collect::<Vec<_>>(),
    })
}

fn render_role(r: &AppRole) -> Value {
    json!({"id": r.id, "value": r.value, "displayName": r.display_name, "description": r.description,
        "allowedMemberTypes": r.allowed_member_types, "isEnabled": r.is_enabled, "origin": "Application"})
}

fn render_sp(app: &Application) -> Value {
    json!({"id": app.service_principal_id, "appId": app.app_id, "displayName": app.display_name,
        "servicePrincipalType": "Application", "accountEnabled": true,
        "appRoles": app.app_roles.iter().map(render_role).collect::<Vec<_>>()})
}

fn render_assignment(a: &AppRoleAssignment, principal: Option<&AppEntry>, resource: Option<&AppEntry>) -> Value {
    json!({"id": a.id, "appRoleId": a.app_role_id, "principalId": a.principal_id, "resourceId": a.resource_id,
        "principalType": "ServicePrincipal", "createdDateTime": date(a.created),
        "principalDisplayName": principal.map(|p| p.app.display_name.clone()),
        "resourceDisplayName": resource.map(|r| r.app.display_name.clone())})
}

pub(crate) fn collection(values: Vec<Value>) -> Response {
    axum::Json(json!({"value": values})).into_response()
}

/// Reads a JSON body, with Graph's error for a bad one.
pub(crate) fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> GraphResult<T> {
    serde_json::from_slice(bytes).map_err(|e| GraphError::bad_request(format!("Invalid request body: {e}")))
}

fn parse_id(id: &str) -> GraphResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| {
        GraphError::bad_request(format!(
            "Invalid object identifier '{}'.",
            id.chars().take(64).collect::<String>()
        ))
    })
}

async fn list_applications(State(authority): State<Arc<Authority>>, caller: GraphCaller) -> Response {
    let snapshot = authority.snapshot();
    collection(
        snapshot
            .apps_of(caller.tenant_id())
            .iter()
            .filter(|a| a.app.app_id != GRAPH_APP_ID)
            .map(|a| render_app(&a.app))
            .collect(),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ApplicationBody {
    display_name: Option<String>,
    #[serde(default)]
    identifier_uris: Option<Vec<String>>,
    web: Option<WebBody>,
    key_credentials: Option<Vec<KeyCredentialBody>>,
    app_roles: Option<Vec<AppRoleBody>>,
    sign_in_audience: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebBody {
    redirect_uris: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyCredentialBody {
    key_id: Option<Uuid>,
    display_name: Option<String>,
    r#type: Option<String>,
    usage: Option<String>,
    key: Option<String>,
    start_date_time: Option<String>,
    end_date_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppRoleBody {
    id: Option<Uuid>,
    value: String,
    display_name: Option<String>,
    description: Option<String>,
    allowed_member_types: Option<Vec<String>>,
    is_enabled: Option<bool>,
}

fn parse_date(field: &str, value: Option<&str>) -> GraphResult<Option<OffsetDateTime>> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339)
                .map_err(|_| GraphError::bad_request(format!("{field} must be an ISO 8601 date-time, not {v:?}")))
        })
        .transpose()
}

fn app_roles(bodies: Vec<AppRoleBody>) -> Vec<AppRole> {
    bodies
        .into_iter()
        .map(|r| AppRole {
            id: r.id.unwrap_or_else(Uuid::new_v4),
            display_name: r.display_name.unwrap_or_else(|| r.value.clone()),
            value: r.value,
            description: r.description.unwrap_or_default(),
            allowed_member_types: r.allowed_member_types.unwrap_or_else(|| vec!["Application".into()]),
            is_enabled: r.is_enabled.unwrap_or(true),
        })
        .collect()
}

/// Applies Graph's `keyCredentials` list: an entry naming an existing `keyId` without `key`
/// keeps that credential, an entry with `key` adds a certificate, and existing credentials not
/// listed are removed.
fn apply_key_credentials(
    app: &mut Application,
    bodies: Vec<KeyCredentialBody>,
    allow_ec: bool,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let mut next = Vec::with_capacity(bodies.len());
    for body in bodies {
        if body.r#type.as_deref().is_some_and(|t| t != "AsymmetricX509Cert")
            || body.usage.as_deref().is_some_and(|u| u != "Verify")
        {
            return Err(Error::Invalid(
                "keyCredentials must have type AsymmetricX509Cert and usage Verify".into(),
            ));
        }
        match (body.key, body.key_id) {
            (Some(key), _) => {
                let bytes = STANDARD
                    .decode(key.split_whitespace().collect::<String>())
                    .map_err(|_| Error::Invalid("keyCredentials key must be the certificate in base64".into()))?;
                let start = parse_date("startDateTime", body.start_date_time.as_deref())
                    .map_err(|e| Error::Invalid(e.message))?;
                let end =
                    parse_date("endDateTime", body.end_date_time.as_deref()).map_err(|e| Error::Invalid(e.message))?;
                next.push(credentials::certificate_credential(
                    &bytes,
                    body.display_name,
                    start,
                    end,
                    allow_ec,
                    now,
                )?);
            }
            (None, Some(key_id)) => {
                let existing = app
                    .key_credentials
                    .iter()
                    .find(|k| k.key_id == key_id)
                    .ok_or_else(|| Error::CredentialNotFound(key_id.to_string()))?;
                next.push(existing.clone());
            }
            (None, None) => {
                return Err(Error::Invalid(
                    "each keyCredential needs a key (new) or a keyId (kept)".into(),
                ));
            }
        }
    }
    app.key_credentials = next;
    Ok(())
}

async fn create_application(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let body: ApplicationBody = body(&bytes)?;
    if body.sign_in_audience.as_deref().is_some_and(|a| a != "AzureADMyOrg") {
        return Err(GraphError::bad_request(
            "Only signInAudience AzureADMyOrg is supported.",
        ));
    }
    let new = NewApplication {
        display_name: body.display_name.unwrap_or_default(),
        identifier_uris: body.identifier_uris.unwrap_or_default(),
        redirect_uris: body.web.and_then(|w| w.redirect_uris).unwrap_or_default(),
        app_roles: app_roles(body.app_roles.unwrap_or_default()),
    };
    let entry = authority.create_application(caller.tenant_id(), new).await?;
    let entry = match body.key_credentials {
        Some(keys) if !keys.is_empty() => {
            let allow_ec = authority.config().assertion.allow_es256;
            authority
                .update_application(caller.tenant_id(), entry.app.id, |app| {
                    apply_key_credentials(app, keys, allow_ec, OffsetDateTime::now_utc())
                })
                .await?
                .0
        }
        _ => entry,
    };
    Ok((StatusCode::CREATED, axum::Json(render_app(&entry.app))).into_response())
}

fn find_app(authority: &Authority, caller: &GraphCaller, id: &str) -> GraphResult<Arc<AppEntry>> {
    let id = parse_id(id)?;
    authority
        .snapshot()
        .app_by_object_id(caller.tenant_id(), id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(&id.to_string()))
}

async fn get_application(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    Ok(axum::Json(render_app(&find_app(&authority, &caller, &id)?.app)).into_response())
}

async fn patch_application(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let entry = find_app(&authority, &caller, &id)?;
    patch(&authority, &caller, entry.app.id, &bytes).await
}

async fn patch(authority: &Authority, caller: &GraphCaller, object_id: Uuid, bytes: &[u8]) -> GraphResult {
    let body: ApplicationBody = body(bytes)?;
    let allow_ec = authority.config().assertion.allow_es256;
    let now = OffsetDateTime::now_utc();
    authority
        .update_application(caller.tenant_id(), object_id, |app| {
            if let Some(name) = body.display_name {
                if name.trim().is_empty() {
                    return Err(Error::Invalid("displayName cannot be empty".into()));
                }
                app.display_name = name;
            }
            if let Some(uris) = body.identifier_uris {
                app.identifier_uris = uris;
            }
            if let Some(uris) = body.web.and_then(|w| w.redirect_uris) {
                app.redirect_uris = uris;
            }
            if let Some(roles) = body.app_roles {
                app.app_roles = app_roles(roles);
            }
            if let Some(keys) = body.key_credentials {
                apply_key_credentials(app, keys, allow_ec, now)?;
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_application(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    let entry = find_app(&authority, &caller, &id)?;
    authority.delete_application(caller.tenant_id(), entry.app.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddPasswordBody {
    password_credential: Option<PasswordBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordBody {
    display_name: Option<String>,
    end_date_time: Option<String>,
}

async fn add_password(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let entry = find_app(&authority, &caller, &id)?;
    let body: AddPasswordBody = if bytes.is_empty() {
        AddPasswordBody {
            password_credential: None,
        }
    } else {
        body(&bytes)?
    };
    let requested = body.password_credential.unwrap_or(PasswordBody {
        display_name: None,
        end_date_time: None,
    });
    let end = parse_date("endDateTime", requested.end_date_time.as_deref())?;
    let now = OffsetDateTime::now_utc();
    let (credential, secret) = credentials::new_secret(requested.display_name, end, now)?;
    let stored = credential.clone();
    authority
        .update_application(caller.tenant_id(), entry.app.id, move |app| {
            app.password_credentials.push(stored);
            Ok(())
        })
        .await?;
    Ok(axum::Json(json!({
        "keyId": credential.key_id, "displayName": credential.display_name, "hint": credential.hint,
        "secretText": secret, "startDateTime": date(credential.start), "endDateTime": date(credential.end),
        "customKeyIdentifier": null,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemovePasswordBody {
    key_id: Uuid,
}

async fn remove_password(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let entry = find_app(&authority, &caller, &id)?;
    let body: RemovePasswordBody = body(&bytes)?;
    authority
        .update_application(caller.tenant_id(), entry.app.id, |app| {
            let before = app.password_credentials.len();
            app.password_credentials.retain(|p| p.key_id != body.key_id);
            if app.password_credentials.len() == before {
                return Err(Error::CredentialNotFound(body.key_id.to_string()));
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_service_principals(State(authority): State<Arc<Authority>>, caller: GraphCaller) -> Response {
    collection(
        authority
            .snapshot()
            .apps_of(caller.tenant_id())
            .iter()
            .map(|a| render_sp(&a.app))
            .collect(),
    )
}

fn find_sp(authority: &Authority, caller: &GraphCaller, id: &str) -> GraphResult<Arc<AppEntry>> {
    let id = parse_id(id)?;
    authority
        .snapshot()
        .app_by_service_principal(caller.tenant_id(), id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(&id.to_string()))
}

async fn get_service_principal(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    Ok(axum::Json(render_sp(&find_sp(&authority, &caller, &id)?.app)).into_response())
}

async fn list_assigned_to(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    let resource = find_sp(&authority, &caller, &id)?;
    let snapshot = authority.snapshot();
    let tenant_id = caller.tenant_id();
    let values = snapshot
        .assignments_of(tenant_id)
        .filter(|a| a.resource_id == resource.app.service_principal_id)
        .map(|a| {
            render_assignment(
                a,
                snapshot
                    .app_by_service_principal(tenant_id, a.principal_id)
                    .map(|p| &**p),
                Some(&resource),
            )
        })
        .collect();
    Ok(collection(values))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignBody {
    principal_id: Uuid,
    resource_id: Option<Uuid>,
    app_role_id: Uuid,
}

async fn assign_role(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let resource = find_sp(&authority, &caller, &id)?;
    let body: AssignBody = body(&bytes)?;
    if body.resource_id.is_some_and(|r| r != resource.app.service_principal_id) {
        return Err(GraphError::bad_request(
            "resourceId must be the service principal in the URL.",
        ));
    }
    let assignment = authority
        .grant_role(
            caller.tenant_id(),
            body.principal_id,
            resource.app.service_principal_id,
            body.app_role_id,
        )
        .await?;
    let snapshot = authority.snapshot();
    let principal = snapshot
        .app_by_service_principal(caller.tenant_id(), body.principal_id)
        .map(|p| &**p);
    Ok((
        StatusCode::CREATED,
        axum::Json(render_assignment(&assignment, principal, Some(&resource))),
    )
        .into_response())
}

async fn unassign_role(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path((id, assignment)): Path<(String, String)>,
) -> GraphResult {
    let resource = find_sp(&authority, &caller, &id)?;
    let assignment = parse_id(&assignment)?;
    let snapshot = authority.snapshot();
    if !snapshot
        .assignments_of(caller.tenant_id())
        .any(|a| a.id == assignment && a.resource_id == resource.app.service_principal_id)
    {
        return Err(GraphError::not_found(&assignment.to_string()));
    }
    authority.revoke_role(caller.tenant_id(), assignment).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `applications(appId='...')` and `servicePrincipals(appId='...')`.
fn keyed(authority: &Authority, caller: &GraphCaller, segment: &str) -> GraphResult<(bool, Arc<AppEntry>)> {
    let parse = |prefix: &str| {
        segment
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix("')"))
            .and_then(|id| Uuid::parse_str(id).ok())
    };
    let (is_app, app_id) = match (parse("applications(appId='"), parse("servicePrincipals(appId='")) {
        (Some(id), _) => (true, id),
        (_, Some(id)) => (false, id),
        _ => {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!(
                    "Resource not found for the segment '{}'.",
                    segment.chars().take(64).collect::<String>()
                ),
            ));
        }
    };
    let entry = authority
        .snapshot()
        .app_in_tenant(caller.tenant_id(), app_id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(&app_id.to_string()))?;
    Ok((is_app, entry))
}

async fn get_keyed(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(segment): Path<String>,
) -> GraphResult {
    let (is_app, entry) = keyed(&authority, &caller, &segment)?;
    Ok(axum::Json(if is_app {
        render_app(&entry.app)
    } else {
        render_sp(&entry.app)
    })
    .into_response())
}

async fn patch_keyed(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(segment): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    match keyed(&authority, &caller, &segment)? {
        (true, entry) => patch(&authority, &caller, entry.app.id, &bytes).await,
        (false, _) => Err(GraphError::bad_request(
            "Service principals are changed through their application.",
        )),
    }
}

async fn delete_keyed(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(segment): Path<String>,
) -> GraphResult {
    match keyed(&authority, &caller, &segment)? {
        (true, entry) => {
            authority.delete_application(caller.tenant_id(), entry.app.id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (false, _) => Err(GraphError::bad_request(
            "Service principals are deleted with their application.",
        )),
    }
}

fn render_signing_keys(tenant: &TenantEntry) -> Vec<Value> {
    tenant
        .keys
        .rows()
        .iter()
        .map(|k| {
            json!({"kid": k.kid, "active": k.active, "createdDateTime": date(k.created),
            "publishedUntil": k.publish_until.map(date)})
        })
        .collect()
}

/// Keyward's own extension: the caller's tenant's signing keys.
async fn list_signing_keys(State(authority): State<Arc<Authority>>, caller: GraphCaller) -> GraphResult {
    let snapshot = authority.snapshot();
    let tenant = snapshot
        .tenant_by_id(caller.tenant_id())
        .ok_or_else(|| GraphError::not_found("tenant"))?;
    Ok(collection(render_signing_keys(tenant)))
}

/// Keyward's own extension: rotates the caller's tenant's signing key. The old key stays in the
/// JWKS until every token it signed has expired.
async fn rotate_signing_key(State(authority): State<Arc<Authority>>, caller: GraphCaller) -> GraphResult {
    let kid = authority.rotate_signing_key(caller.tenant_id()).await?;
    let snapshot = authority.snapshot();
    let tenant = snapshot
        .tenant_by_id(caller.tenant_id())
        .ok_or_else(|| GraphError::not_found("tenant"))?;
    Ok(axum::Json(json!({"kid": kid, "keys": render_signing_keys(tenant)})).into_response())
}
