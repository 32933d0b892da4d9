//! OpenID Connect discovery (wire contract §3): the metadata document, with the tenant GUID in
//! every endpoint as Entra writes it, listing only what the authority does.

use serde_json::{Value, json};

use crate::directory::TenantEntry;

/// The `/.well-known/openid-configuration` document of a tenant.
pub fn openid_configuration(public_url: &str, tenant: &TenantEntry) -> Value {
    let tid = tenant.tenant.id;
    let base = format!("{public_url}/{tid}");
    json!({
        "issuer": format!("{base}/v2.0"),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        // `sub` is the user's object id for every application.
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        // What our ID tokens carry (`email` with the email scope).
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "preferred_username", "name",
            "email", "oid", "tid", "sid", "ver"
        ],
        "request_uri_parameter_supported": false,
        "frontchannel_logout_supported": false,
        "http_logout_supported": true,
        "tenant_region_scope": "NA",
        "cloud_instance_name": "keyward.local",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
        "kerberos_endpoint": format!("{base}/kerberos"),
    })
}
