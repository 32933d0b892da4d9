//! The few Azure Resource Manager calls the Azure CLI makes after it signs in (`GET /tenants`,
//! `GET /subscriptions`) and the cloud metadata `az cloud register` reads
//! (`GET /metadata/endpoints`). Keyward has no subscriptions: each tenant has one, "Keyward
//! (TENANT)", whose id is derived from the tenant's, so that `az login` finds an account to use.
//! Answered for a token issued for Resource Manager (`https://management.core.windows.net/`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Origin;
use crate::access::Audience;
use crate::authority::{Authority, MANAGEMENT_APP_ID, MANAGEMENT_IDENTIFIER};
use crate::directory::TenantEntry;

/// The subscription a tenant has: its id is the tenant's, with a fixed mask.
pub fn subscription_id(tenant_id: Uuid) -> Uuid {
    Uuid::from_u128(tenant_id.as_u128() ^ 0x0000_0000_0000_0000_0000_6b65_7977_6172)
}

/// ARM's 401, with why.
fn unauthorized(message: &str) -> Response {
    let body = json!({ "error": { "code": "AuthenticationFailed", "message": message } });
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    response
}

/// The tenant of a Resource Manager token, or why there is none (for [`unauthorized`]).
fn caller_tenant(authority: &Authority, headers: &HeaderMap) -> Result<Arc<TenantEntry>, &'static str> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or("Authentication failed. The 'Authorization' header is missing.")?;
    let audience = Audience {
        app_id: MANAGEMENT_APP_ID,
        identifier: MANAGEMENT_IDENTIFIER,
    };
    let caller = authority
        .validate_access_token(token, audience)
        .ok_or("The access token is invalid for Resource Manager.")?;
    authority
        .snapshot()
        .tenant_by_id(caller.tenant_id)
        .cloned()
        .ok_or("The access token's tenant does not exist.")
}

/// `GET /subscriptions`: the caller's tenant's one subscription.
pub(crate) async fn subscriptions(State(authority): State<Arc<Authority>>, headers: HeaderMap) -> Response {
    match caller_tenant(&authority, &headers) {
        Ok(tenant) => axum::Json(json!({ "value": [subscription(&tenant)] })).into_response(),
        Err(why) => unauthorized(why),
    }
}

fn subscription(tenant: &TenantEntry) -> Value {
    let id = subscription_id(tenant.tenant.id);
    json!({
        "id": format!("/subscriptions/{id}"),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": id.to_string(),
        "tenantId": tenant.tenant.id.to_string(),
        "displayName": format!("Keyward ({})", tenant.tenant.name),
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}

/// `GET /tenants`: the caller's tenant.
pub(crate) async fn tenants(State(authority): State<Arc<Authority>>, headers: HeaderMap) -> Response {
    match caller_tenant(&authority, &headers) {
        Ok(tenant) => {
            let t = &tenant.tenant;
            axum::Json(json!({ "value": [{
                "id": format!("/tenants/{}", t.id),
                "tenantId": t.id.to_string(),
                "countryCode": "US",
                "displayName": t.name,
                "domains": [t.domain],
                "tenantCategory": "Home",
                "defaultDomain": t.domain,
                "tenantType": "AAD"
            }]}))
            .into_response()
        }
        Err(why) => unauthorized(why),
    }
}

/// `GET /metadata/endpoints`: the cloud's endpoints, for `az cloud register
/// --endpoint-resource-manager URL`: sign-in and Resource Manager at the origin the request
/// came to. Both shapes in one answer: the 2022-09-01 one the Azure CLI reads now (`name`,
/// `resourceManager`, `suffixes`, ...) and the 2015-01-01 one older tools read
/// (`galleryEndpoint`, `graphEndpoint`, ...).
pub(crate) async fn metadata_endpoints(State(authority): State<Arc<Authority>>, origin: Origin) -> Response {
    let base = origin.base(&authority).trim_end_matches('/').to_owned();
    axum::Json(json!({
        "name": "Keyward",
        "resourceManager": format!("{base}/"),
        "portal": format!("{base}/admin/"),
        "gallery": format!("{base}/"),
        "graph": "https://graph.windows.net/",
        "graphAudience": "https://graph.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "authentication": {
            "loginEndpoint": format!("{base}/"),
            "audiences": [MANAGEMENT_IDENTIFIER, "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD"
        },
        "suffixes": {
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
            "sqlServerHostname": "database.windows.net"
        },
        "galleryEndpoint": format!("{base}/"),
        "graphEndpoint": "https://graph.windows.net/",
        "portalEndpoint": format!("{base}/admin/")
    }))
    .into_response()
}
