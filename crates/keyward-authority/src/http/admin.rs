//! Keyward's own admin endpoints, beside the Graph shapes: the caller's tenant's token-signing
//! keys (`GET /admin/api/signing-keys`) and their rotation (`POST /admin/api/signing-keys/rotate`),
//! an application's service-principal sign-in records
//! (`GET /admin/api/applications/{appId}/sign-ins`), test tokens
//! (`POST /admin/api/test-tokens`, when the server allows them), and the server's clock
//! (`GET`, `POST` and `DELETE /admin/api/time`: time travel, when the server allows it).
//! Callers are authorized as the management API's ([`GraphCaller`]) and errors have its shape.
//!
//! Sign-in records are here rather than at Graph's `auditLogs/signIns`: Graph has service
//! principal sign-ins only in its beta version, found through OData `$filter` expressions, which
//! no client of Keyward's needs and which would be a parser of its own. The fields keep the names
//! of Graph's beta `signIn` resource.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use keyward_store::{ServicePrincipalSignIn, SignInQuery};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::graph::{GraphCaller, GraphError, GraphResult, body, collection, date};
use crate::authority::Authority;
use crate::directory::TenantEntry;
use crate::test_token::{self, MintError, MintRequest};
use crate::time_travel::{self, ClockState, TimeTravelError};

/// The most sign-in records one request returns (and the default).
pub const MAX_SIGN_INS: u32 = 1000;

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

/// The caller's tenant's signing keys.
pub(crate) async fn list_signing_keys(State(authority): State<Arc<Authority>>, caller: GraphCaller) -> GraphResult {
    let snapshot = authority.snapshot();
    let tenant = snapshot
        .tenant_by_id(caller.tenant_id())
        .ok_or_else(|| GraphError::not_found("tenant"))?;
    Ok(collection(render_signing_keys(tenant)))
}

/// Rotates the caller's tenant's signing key. The old key stays in the JWKS until every token
/// it signed has expired.
pub(crate) async fn rotate_signing_key(State(authority): State<Arc<Authority>>, caller: GraphCaller) -> GraphResult {
    let kid = authority.rotate_signing_key(caller.tenant_id()).await?;
    let snapshot = authority.snapshot();
    let tenant = snapshot
        .tenant_by_id(caller.tenant_id())
        .ok_or_else(|| GraphError::not_found("tenant"))?;
    Ok(axum::Json(json!({"kid": kid, "keys": render_signing_keys(tenant)})).into_response())
}

/// The query of `GET /admin/api/applications/{appId}/sign-ins`: `since` (RFC 3339: only
/// records at or after it; default all that are kept), `failures` (`true`: only refusals) and
/// `top` (at most this many; default and most [`MAX_SIGN_INS`]). Anything else is refused.
fn sign_ins_query(raw: Option<&str>) -> GraphResult<SignInQuery> {
    let mut query = SignInQuery {
        since: OffsetDateTime::UNIX_EPOCH,
        failures_only: false,
        limit: MAX_SIGN_INS,
    };
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match &*name {
            "since" => {
                query.since = OffsetDateTime::parse(&value, &Rfc3339).map_err(|_| {
                    GraphError::bad_request(format!(
                        "since must be an RFC 3339 date-time such as 2026-12-06T14:00:00Z, not {value:?}"
                    ))
                })?;
            }
            "failures" => {
                query.failures_only = match &*value {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(GraphError::bad_request(format!(
                            "failures must be true or false, not {other:?}"
                        )));
                    }
                };
            }
            "top" => {
                query.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_SIGN_INS).contains(n))
                    .ok_or_else(|| {
                        GraphError::bad_request(format!("top must be 1 to {MAX_SIGN_INS}, not {value:?}"))
                    })?;
            }
            other => {
                return Err(GraphError::bad_request(format!(
                    "unknown query parameter {:?}: give since, failures or top",
                    other.chars().take(64).collect::<String>()
                )));
            }
        }
    }
    Ok(query)
}

/// A sign-in record, with the field names of Graph's beta `signIn` resource.
fn render_sign_in(record: &ServicePrincipalSignIn) -> Value {
    let at = record.at.to_offset(time::UtcOffset::UTC);
    json!({
        "id": record.id,
        "createdDateTime": at.format(&Rfc3339).unwrap_or_default(),
        "appId": record.app_id,
        "servicePrincipalCredentialKeyId": record.key_id,
        "servicePrincipalCredentialThumbprint": record.thumbprint,
        "ipAddress": record.client_address,
        "correlationId": record.correlation_id,
        "signInEventTypes": ["servicePrincipal"],
        "status": {"errorCode": record.error_code.unwrap_or(0)},
        "keywardRequests": record.requests,
    })
}

/// The service-principal sign-in records of the caller's tenant's application `app_id` (its
/// client id), newest first: one per token request that presented a credential, kept for the
/// server's sign-in retention.
pub(crate) async fn list_sign_ins(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(app_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> GraphResult {
    let app_id = Uuid::parse_str(&app_id)
        .map_err(|_| GraphError::bad_request(format!("{app_id:?} is not an application's client id (a GUID)")))?;
    let query = sign_ins_query(raw.as_deref())?;
    let records = authority.sign_ins(caller.tenant_id(), app_id, query).await?;
    Ok(collection(records.iter().map(render_sign_in).collect()))
}

/// The body of `POST /admin/api/test-tokens`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MintBody {
    /// The tenant (name, domain or id); the caller's when left out.
    tenant: Option<String>,
    /// The client application: client id or display name.
    app: String,
    /// The `aud`, as given.
    audience: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    claims: Map<String, Value>,
    /// Seconds; an hour when left out.
    lifetime_seconds: Option<i64>,
}

impl From<MintError> for GraphError {
    fn from(e: MintError) -> Self {
        let (status, code) = match &e {
            MintError::Disabled => (StatusCode::FORBIDDEN, "Keyward_TestTokensDisabled"),
            MintError::OtherTenant { .. } => (StatusCode::FORBIDDEN, "Authorization_RequestDenied"),
            MintError::UnknownApp { .. } => (StatusCode::NOT_FOUND, "Request_ResourceNotFound"),
            MintError::NotIssued(_) => (StatusCode::INTERNAL_SERVER_ERROR, "generalException"),
            _ => (StatusCode::BAD_REQUEST, "Request_BadRequest"),
        };
        GraphError::new(status, code, e.to_string())
    }
}

/// Mints a test token for the caller's tenant ([`test_token::mint`]). Refused unless the server
/// allows test tokens; the audit middleware writes the row (never the token).
pub(crate) async fn mint_test_token(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    bytes: axum::body::Bytes,
) -> GraphResult {
    if !authority.config().allow_test_tokens {
        return Err(MintError::Disabled.into());
    }
    let request: MintBody = body(&bytes)?;
    let tenant = caller.tenant();
    if let Some(asked) = request.tenant.as_deref().map(str::trim)
        && ![
            tenant.tenant.name.as_str(),
            tenant.tenant.domain.as_str(),
            &tenant.tenant.id.to_string(),
        ]
        .iter()
        .any(|alias| alias.eq_ignore_ascii_case(asked))
    {
        return Err(MintError::OtherTenant {
            asked: asked.to_owned(),
            caller: tenant.tenant.name.clone(),
        }
        .into());
    }
    let lifetime = time::Duration::seconds(request.lifetime_seconds.unwrap_or(3600));
    let mint = MintRequest {
        app: request.app,
        audience: request.audience,
        roles: request.roles,
        claims: request.claims,
        lifetime,
    };
    let now = authority.now();
    let minted = test_token::mint(&authority.snapshot(), tenant, &tenant.issuer, &mint, now)?;
    let app = &minted.app.app;
    Ok(axum::Json(json!({
        "token_type": "Bearer",
        "access_token": minted.access_token,
        "expires_in": lifetime.whole_seconds(),
        "expires_on": date(minted.expires_on),
        "claims": minted.claims,
        "app": {"id": app.id, "appId": app.app_id, "displayName": app.display_name},
    }))
    .into_response())
}

/// The body of `POST /admin/api/time`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ShiftBody {
    /// How far to move the clock from where it is, in seconds (negative: back).
    shift_seconds: i64,
}

impl From<TimeTravelError> for GraphError {
    fn from(e: TimeTravelError) -> Self {
        let (status, code) = match &e {
            TimeTravelError::Disabled => (StatusCode::FORBIDDEN, "Keyward_TimeTravelDisabled"),
            _ => (StatusCode::BAD_REQUEST, "Request_BadRequest"),
        };
        GraphError::new(status, code, e.to_string())
    }
}

fn render_clock(state: ClockState) -> axum::response::Response {
    axum::Json(json!({
        "allowed": state.allowed,
        "offsetSeconds": state.offset.whole_seconds(),
        "offset": time_travel::describe(state.offset),
        "serverTime": date(state.now.server),
        "realTime": date(state.now.real),
    }))
    .into_response()
}

/// `GET /admin/api/time`: where the server's clock stands, and whether it may be moved.
pub(crate) async fn show_time(State(authority): State<Arc<Authority>>, _caller: GraphCaller) -> GraphResult {
    Ok(render_clock(authority.clock_state()))
}

/// `POST /admin/api/time`: moves the server's clock by `shiftSeconds` ([`Authority::shift_time`]).
/// Refused unless the server allows time travel; the audit middleware writes the row.
pub(crate) async fn shift_time(
    State(authority): State<Arc<Authority>>,
    _caller: GraphCaller,
    bytes: axum::body::Bytes,
) -> GraphResult {
    if !authority.config().allow_time_travel {
        return Err(TimeTravelError::Disabled.into());
    }
    let request: ShiftBody = body(&bytes)?;
    let by = time::Duration::seconds(request.shift_seconds.clamp(-i64::MAX / 2, i64::MAX / 2));
    Ok(render_clock(authority.shift_time(by)?))
}

/// `DELETE /admin/api/time`: puts the server's clock back at the real time.
pub(crate) async fn reset_time(State(authority): State<Arc<Authority>>, _caller: GraphCaller) -> GraphResult {
    Ok(render_clock(authority.reset_time()?))
}
