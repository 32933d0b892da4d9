//! `/v1.0/applications`: list, create, get, patch, delete, `addPassword`, `removePassword`,
//! and `addKey`/`removeKey`, by which an application rolls its own certificates with a proof of
//! possession ([`crate::key_rotation`]).
//!
//! A request is read whole into the domain's [`NewApplication`] or [`ApplicationChange`]
//! (uploaded certificates checked on the way) before the authority is asked to write anything,
//! so that bad input changes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_pki::Thumbprints;
use keyward_store::{AppRole, CredentialUse};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::paging::{self, Paging};
use super::{GraphCaller, GraphError, GraphResult, GraphTokenCaller, body, date, keyed, parse_id};
use crate::applications::{ApplicationChange, KeyCredentialChange, NewApplication};
use crate::authority::{Authority, KEY_VAULT_APP_ID};
use crate::credentials;
use crate::directory::AppEntry;
use crate::error::Error;

/// An application as Graph renders it, each credential with two Keyward extensions:
/// `keywardLastUsed`: `{"dateTime": RFC 3339 UTC, "clientAddress": ip or null}` from `uses` (by
/// key id), or `null` when never used; and `keywardDaysLeft`: whole days until it expires
/// (negative once expired) at `now`, the server's time.
pub(crate) fn render(entry: &AppEntry, uses: &HashMap<Uuid, CredentialUse>, now: OffsetDateTime) -> Value {
    let app = &entry.app;
    let days_left = |end: OffsetDateTime| (end - now).whole_days();
    let last_used = |key_id: &Uuid| {
        uses.get(key_id).map_or(
            Value::Null,
            |u| json!({"dateTime": date(u.at.to_offset(time::UtcOffset::UTC)), "clientAddress": u.client_address}),
        )
    };
    json!({
        "id": app.id,
        "appId": app.app_id,
        "displayName": app.display_name,
        "createdDateTime": date(app.created),
        "signInAudience": "AzureADMyOrg",
        "identifierUris": app.identifier_uris,
        "web": {"redirectUris": app.redirect_uris, "logoutUrl": app.logout_url},
        "keyCredentials": app.key_credentials.iter().map(|k| {
            let thumbprints = entry.certificate_by_key_id(k.key_id).map(|c| c.thumbprints);
            json!({
                "keyId": k.key_id,
                "displayName": k.display_name,
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "customKeyIdentifier": thumbprints.map(|t| t.sha1_hex()),
                "thumbprintSha256": thumbprints.map(|t| t.sha256_hex()),
                "startDateTime": date(k.start),
                "endDateTime": date(k.end),
                "key": null,
                "keywardLastUsed": last_used(&k.key_id),
                "keywardDaysLeft": days_left(k.end),
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
            "keywardLastUsed": last_used(&p.key_id),
            "keywardDaysLeft": days_left(p.end),
        })).collect::<Vec<_>>(),
        "appRoles": app.app_roles.iter().map(render_role).collect::<Vec<_>>(),
    })
}

/// An application as Graph renders it, with the last use of its credentials.
pub(crate) async fn render_used(authority: &Authority, entry: &AppEntry) -> GraphResult<Value> {
    let uses = authority.credential_uses(entry.app.tenant_id, entry.app.id).await?;
    Ok(render(entry, &uses, authority.now()))
}

/// An app role as Graph renders it.
pub(crate) fn render_role(r: &AppRole) -> Value {
    json!({"id": r.id, "value": r.value, "displayName": r.display_name, "description": r.description,
        "allowedMemberTypes": r.allowed_member_types, "isEnabled": r.is_enabled, "origin": "Application"})
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
    /// An empty string removes it.
    logout_url: Option<String>,
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

/// Reads Graph's `keyCredentials` list: an entry naming an existing `keyId` without `key`
/// keeps that credential, an entry with `key` adds a certificate (checked here, before anything
/// is written).
fn key_credentials(
    bodies: Vec<KeyCredentialBody>,
    allow_ec: bool,
    now: OffsetDateTime,
) -> GraphResult<Vec<KeyCredentialChange>> {
    let mut changes = Vec::with_capacity(bodies.len());
    for body in bodies {
        if body.r#type.as_deref().is_some_and(|t| t != "AsymmetricX509Cert")
            || body.usage.as_deref().is_some_and(|u| u != "Verify")
        {
            return Err(GraphError::bad_request(
                "keyCredentials must have type AsymmetricX509Cert and usage Verify",
            ));
        }
        match (body.key, body.key_id) {
            (Some(key), _) => {
                let bytes = STANDARD
                    .decode(key.split_whitespace().collect::<String>())
                    .map_err(|_| GraphError::bad_request("keyCredentials key must be the certificate in base64"))?;
                let start = parse_date("startDateTime", body.start_date_time.as_deref())?;
                let end = parse_date("endDateTime", body.end_date_time.as_deref())?;
                let credential =
                    credentials::certificate_credential(&bytes, body.display_name, start, end, allow_ec, now)?;
                changes.push(KeyCredentialChange::Add(credential));
            }
            (None, Some(key_id)) => changes.push(KeyCredentialChange::Keep(key_id)),
            (None, None) => {
                return Err(GraphError::bad_request(
                    "each keyCredential needs a key (new) or a keyId (kept)",
                ));
            }
        }
    }
    Ok(changes)
}

/// `GET /v1.0/applications`: every application but Microsoft's first-party ones (Graph, Resource
/// Manager, the Azure CLI) and the admin center; the vault resource is listed. With
/// `$filter=displayName eq 'NAME'` (quotes in NAME doubled, as OData writes them; compared
/// without regard to case), only the applications so named: how the CLI finds an application
/// by name without reading a directory of 100,000. In pages, oldest first ([`paging`]).
pub(crate) async fn list(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    RawQuery(query): RawQuery,
) -> GraphResult {
    let named = display_name_filter(query.as_deref())?;
    let paging = Paging::from_query(query.as_deref())?;
    let snapshot = authority.snapshot();
    let apps: Vec<_> = match &named {
        Some(name) => snapshot.apps_named(caller.tenant_id(), name),
        None => snapshot.apps_of(caller.tenant_id()),
    }
    .into_iter()
    .filter(|a| !crate::authority::is_builtin(a.app.app_id) || a.app.app_id == KEY_VAULT_APP_ID)
    .collect();
    let (apps, next) = paging.of_apps(&apps)?;
    let mut rendered = Vec::with_capacity(apps.len());
    for entry in apps {
        rendered.push(render_used(&authority, entry).await?);
    }
    Ok(paging::page(
        &authority,
        "/v1.0/applications",
        query.as_deref(),
        rendered,
        next,
    ))
}

/// The name in `$filter=displayName eq '...'`, if the query has a `$filter`.
fn display_name_filter(query: Option<&str>) -> GraphResult<Option<String>> {
    let Some(text) = super::filter_text(query) else {
        return Ok(None);
    };
    text.trim()
        .strip_prefix("displayName eq '")
        .and_then(|rest| rest.strip_suffix('\''))
        .filter(|quoted| quoted.replace("''", "").find('\'').is_none())
        .map(|quoted| Some(quoted.replace("''", "'")))
        .ok_or_else(|| {
            GraphError::bad_request(format!(
                "Invalid filter clause '{}': use displayName eq '<name>'.",
                text.chars().take(128).collect::<String>()
            ))
        })
}

/// `POST /v1.0/applications`.
pub(crate) async fn create(
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
    let allow_ec = authority.config().assertion.allow_es256;
    let mut key_credentials_added = Vec::new();
    for change in key_credentials(body.key_credentials.unwrap_or_default(), allow_ec, authority.now())? {
        match change {
            KeyCredentialChange::Add(credential) => key_credentials_added.push(credential),
            KeyCredentialChange::Keep(key_id) => return Err(Error::CredentialNotFound(key_id.to_string()).into()),
        }
    }
    let new = NewApplication {
        display_name: body.display_name.unwrap_or_default(),
        identifier_uris: body.identifier_uris.unwrap_or_default(),
        redirect_uris: body.web.and_then(|w| w.redirect_uris).unwrap_or_default(),
        app_roles: app_roles(body.app_roles.unwrap_or_default()),
        key_credentials: key_credentials_added,
    };
    let entry = authority.create_application(caller.tenant_id(), new).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(render(&entry, &HashMap::new(), authority.now())),
    )
        .into_response())
}

fn find(authority: &Authority, caller: &GraphCaller, id: &str) -> GraphResult<Arc<AppEntry>> {
    let id = parse_id(id)?;
    authority
        .snapshot()
        .app_by_object_id(caller.tenant_id(), id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(&id.to_string()))
}

/// `GET /v1.0/applications/{id}`.
pub(crate) async fn get(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    let entry = find(&authority, &caller, &id)?;
    Ok(axum::Json(render_used(&authority, &entry).await?).into_response())
}

/// `PATCH /v1.0/applications/{id}`.
pub(crate) async fn patch(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let entry = find(&authority, &caller, &id)?;
    apply_patch(&authority, &caller, entry.app.id, &bytes).await
}

/// Reads a PATCH body whole, then changes the application.
pub(crate) async fn apply_patch(
    authority: &Authority,
    caller: &GraphCaller,
    object_id: Uuid,
    bytes: &[u8],
) -> GraphResult {
    let body: ApplicationBody = body(bytes)?;
    let allow_ec = authority.config().assertion.allow_es256;
    let (redirect_uris, logout_url) = match body.web {
        Some(web) => (
            web.redirect_uris,
            web.logout_url.map(|url| Some(url).filter(|u| !u.trim().is_empty())),
        ),
        None => (None, None),
    };
    let change = ApplicationChange {
        display_name: body.display_name,
        identifier_uris: body.identifier_uris,
        redirect_uris,
        logout_url,
        app_roles: body.app_roles.map(app_roles),
        key_credentials: body
            .key_credentials
            .map(|keys| key_credentials(keys, allow_ec, authority.now()))
            .transpose()?,
    };
    authority
        .change_application(caller.tenant_id(), object_id, change)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /v1.0/applications/{id}`.
pub(crate) async fn delete(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    let entry = find(&authority, &caller, &id)?;
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

/// `POST /v1.0/applications/{id}/addPassword`: the secret is in this response only.
pub(crate) async fn add_password(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let entry = find(&authority, &caller, &id)?;
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
    let now = authority.now();
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

/// `POST /v1.0/applications/{id}/removePassword`: refused from the next request on.
pub(crate) async fn remove_password(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let entry = find(&authority, &caller, &id)?;
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddKeyBody {
    key_credential: Option<KeyCredentialBody>,
    /// Only for a key of type `X509CertAndPassword`, which is not supported.
    password_credential: Option<Value>,
    proof: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemoveKeyBody {
    key_id: Option<Uuid>,
    proof: Option<String>,
}

/// The application a key-rolling caller names by object id, if it may change it.
fn key_target(authority: &Authority, caller: &GraphTokenCaller, id: &str) -> GraphResult<Arc<AppEntry>> {
    let id = parse_id(id)?;
    let entry = authority
        .snapshot()
        .app_by_object_id(caller.tenant_id(), id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(&id.to_string()))?;
    allowed(caller, entry)
}

/// The application of `applications(appId='...')`, if the caller may change it.
fn keyed_key_target(authority: &Authority, caller: &GraphTokenCaller, segment: &str) -> GraphResult<Arc<AppEntry>> {
    match keyed(authority, caller.tenant_id(), segment)? {
        (true, entry) => allowed(caller, entry),
        (false, _) => Err(GraphError::bad_request(
            "Service principals' keys are rolled through their application.",
        )),
    }
}

/// An application may roll its own keys; an administrator anyone's.
fn allowed(caller: &GraphTokenCaller, entry: Arc<AppEntry>) -> GraphResult<Arc<AppEntry>> {
    if caller.may_change(entry.app.app_id) {
        Ok(entry)
    } else {
        Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation: an application may roll only its own keys, \
             unless it holds Application.ReadWrite.All.",
        ))
    }
}

/// `POST /v1.0/applications/{id}/addKey`: adds a certificate beside the others; the caller is
/// the application itself (or an administrator), the proof signed by one of its current
/// certificates.
pub(crate) async fn add_key(
    State(authority): State<Arc<Authority>>,
    caller: GraphTokenCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let entry = key_target(&authority, &caller, &id)?;
    add_key_to(&authority, &entry, &bytes).await
}

/// `POST /v1.0/applications(appId='...')/addKey`.
pub(crate) async fn add_key_keyed(
    State(authority): State<Arc<Authority>>,
    caller: GraphTokenCaller,
    Path(segment): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let entry = keyed_key_target(&authority, &caller, &segment)?;
    add_key_to(&authority, &entry, &bytes).await
}

async fn add_key_to(authority: &Authority, entry: &AppEntry, bytes: &[u8]) -> GraphResult {
    let body: AddKeyBody = body(bytes)?;
    let proof = body.proof.filter(|p| !p.trim().is_empty()).ok_or_else(|| {
        GraphError::bad_request(
            "The proof is required: a JWT signed with one of the application's current certificates.",
        )
    })?;
    let key = body
        .key_credential
        .ok_or_else(|| GraphError::bad_request("keyCredential is required."))?;
    if key.r#type.as_deref() == Some("X509CertAndPassword") || body.password_credential.is_some_and(|p| !p.is_null()) {
        return Err(GraphError::bad_request(
            "Only keys of type AsymmetricX509Cert (usage Verify) can be added: Keyward keeps no private keys of applications.",
        ));
    }
    if key.key.is_none() {
        return Err(GraphError::bad_request(
            "keyCredential.key must be the certificate in base64.",
        ));
    }
    let now = authority.now();
    let allow_ec = authority.config().assertion.allow_es256;
    let credential = match key_credentials(vec![key], allow_ec, now)?.pop() {
        Some(KeyCredentialChange::Add(credential)) => credential,
        _ => {
            return Err(GraphError::bad_request(
                "keyCredential.key must be the certificate in base64.",
            ));
        }
    };
    let added = authority
        .add_key(
            entry.app.tenant_id,
            entry.app.id,
            credential,
            &proof,
            authority.read_clock(),
        )
        .await?;
    let thumbprints = Thumbprints::of(&added.certificate_der);
    Ok(axum::Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.keyCredential",
        "keyId": added.key_id,
        "displayName": added.display_name,
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "customKeyIdentifier": thumbprints.sha1_hex(),
        "thumbprintSha256": thumbprints.sha256_hex(),
        "startDateTime": date(added.start),
        "endDateTime": date(added.end),
        "key": null,
    }))
    .into_response())
}

/// `POST /v1.0/applications/{id}/removeKey`: removes a certificate; refused from the next
/// request on.
pub(crate) async fn remove_key(
    State(authority): State<Arc<Authority>>,
    caller: GraphTokenCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let entry = key_target(&authority, &caller, &id)?;
    remove_key_from(&authority, &entry, &bytes).await
}

/// `POST /v1.0/applications(appId='...')/removeKey`.
pub(crate) async fn remove_key_keyed(
    State(authority): State<Arc<Authority>>,
    caller: GraphTokenCaller,
    Path(segment): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let entry = keyed_key_target(&authority, &caller, &segment)?;
    remove_key_from(&authority, &entry, &bytes).await
}

async fn remove_key_from(authority: &Authority, entry: &AppEntry, bytes: &[u8]) -> GraphResult {
    let body: RemoveKeyBody = body(bytes)?;
    let key_id = body
        .key_id
        .ok_or_else(|| GraphError::bad_request("keyId is required."))?;
    let proof = body.proof.filter(|p| !p.trim().is_empty()).ok_or_else(|| {
        GraphError::bad_request(
            "The proof is required: a JWT signed with one of the application's current certificates.",
        )
    })?;
    authority
        .remove_key(
            entry.app.tenant_id,
            entry.app.id,
            key_id,
            &proof,
            authority.read_clock(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
