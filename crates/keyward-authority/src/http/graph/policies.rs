//! `GET` and `PATCH /v1.0/policies/defaultAppManagementPolicy`: the tenant's default app
//! management policy in Graph's `tenantAppManagementPolicy` shape. A PATCH replaces the lists it
//! names (`applicationRestrictions.passwordCredentials`, `.keyCredentials`) and `isEnabled`;
//! what it leaves out stays. The checks are in [`crate::app_policy`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use keyward_store::{AppManagementPolicy, CredentialRestriction};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{GraphCaller, GraphError, GraphResult, body, date};
use crate::authority::Authority;

/// Graph's shape of a policy.
pub(crate) fn render(policy: &AppManagementPolicy) -> Value {
    let restrictions = |list: &[CredentialRestriction]| -> Vec<Value> {
        list.iter()
            .map(|r| {
                json!({
                    "restrictionType": r.restriction_type,
                    "state": if r.enabled { "enabled" } else { "disabled" },
                    "maxLifetime": r.max_lifetime,
                    "restrictForAppsCreatedAfterDateTime": r.restrict_for_apps_created_after.map(date),
                })
            })
            .collect()
    };
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/defaultAppManagementPolicy/$entity",
        "id": Uuid::nil(),
        "displayName": "Default app management tenant policy",
        "description": "Default tenant policy that enforces app management restrictions on applications and service principals.",
        "isEnabled": policy.is_enabled,
        "applicationRestrictions": {
            "passwordCredentials": restrictions(&policy.password_credentials),
            "keyCredentials": restrictions(&policy.key_credentials),
        },
        "servicePrincipalRestrictions": {"passwordCredentials": [], "keyCredentials": []},
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyBody {
    is_enabled: Option<bool>,
    application_restrictions: Option<RestrictionsBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestrictionsBody {
    password_credentials: Option<Vec<RestrictionBody>>,
    key_credentials: Option<Vec<RestrictionBody>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestrictionBody {
    restriction_type: String,
    state: Option<String>,
    max_lifetime: Option<String>,
    restrict_for_apps_created_after_date_time: Option<String>,
}

fn restrictions(bodies: Vec<RestrictionBody>) -> GraphResult<Vec<CredentialRestriction>> {
    bodies
        .into_iter()
        .map(|b| {
            let enabled = match b.state.as_deref() {
                None | Some("enabled") => true,
                Some("disabled") => false,
                Some(other) => {
                    return Err(GraphError::bad_request(format!(
                        "state must be enabled or disabled, not {other:?}"
                    )));
                }
            };
            let after = b
                .restrict_for_apps_created_after_date_time
                .map(|t| {
                    OffsetDateTime::parse(&t, &Rfc3339).map_err(|_| {
                        GraphError::bad_request(format!(
                            "restrictForAppsCreatedAfterDateTime must be an ISO 8601 date-time, not {t:?}"
                        ))
                    })
                })
                .transpose()?;
            Ok(CredentialRestriction {
                restriction_type: b.restriction_type,
                enabled,
                max_lifetime: b.max_lifetime,
                restrict_for_apps_created_after: after,
            })
        })
        .collect()
}

/// `GET /v1.0/policies/defaultAppManagementPolicy`.
pub(crate) async fn get(State(authority): State<Arc<Authority>>, caller: GraphCaller) -> GraphResult {
    let policy = authority.app_management_policy(caller.tenant_id()).await?;
    Ok(axum::Json(render(&policy)).into_response())
}

/// `PATCH /v1.0/policies/defaultAppManagementPolicy`.
pub(crate) async fn patch(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let body: PolicyBody = body(&bytes)?;
    let mut policy = authority.app_management_policy(caller.tenant_id()).await?;
    if let Some(enabled) = body.is_enabled {
        policy.is_enabled = enabled;
    }
    if let Some(restrictions_body) = body.application_restrictions {
        if let Some(list) = restrictions_body.password_credentials {
            policy.password_credentials = restrictions(list)?;
        }
        if let Some(list) = restrictions_body.key_credentials {
            policy.key_credentials = restrictions(list)?;
        }
    }
    authority.set_app_management_policy(policy).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
