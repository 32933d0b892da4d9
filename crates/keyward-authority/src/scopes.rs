//! The `scope` of a user sign-in, read as Entra reads it: the OpenID Connect scopes (`openid`,
//! `profile`, `email`, `offline_access`) and at most one resource's scopes, named
//! `{identifierUri or appId}/{scope}` or `{resource}/.default`. A bare name (`User.Read`) is a
//! Microsoft Graph scope. With only OpenID Connect scopes the access token is for Microsoft
//! Graph, as Entra issues it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authority::{GRAPH_APP_ID, GRAPH_IDENTIFIER};
use crate::directory::Snapshot;
use crate::oauth_error::{OAuthError, OAuthErrorKind};

/// Why a `scope` parameter was refused. Values quoted from it are cut to 120 characters.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Longer than 4096 bytes (AADSTS70011).
    #[error("The provided value for the input parameter 'scope' is too long")]
    TooLong,
    /// An item is `/name` or `resource/` (AADSTS70011).
    #[error("The provided value for the input parameter 'scope' is not valid: {0:?}")]
    Malformed(String),
    /// No resource of the tenant has this identifier URI or appId (AADSTS500011).
    #[error(
        "The resource principal named {0} was not found in the tenant. Register the resource application, or check the scope's identifier URI or appId"
    )]
    UnknownResource(String),
    /// Scopes of two resources (AADSTS28000).
    #[error(
        "Provided value for the input parameter scope is not valid because it contains more than one resource: {0:?}"
    )]
    SeveralResources(String),
    /// A scope name with characters a scope cannot have (AADSTS70011).
    #[error("The scope {0:?} has characters a scope cannot have")]
    BadCharacters(String),
    /// A sign-in without `openid` (AADSTS70011).
    #[error("The provided value for the input parameter 'scope' must include 'openid' to sign a user in, not {0:?}")]
    OpenIdRequired(String),
}

impl From<ScopeError> for OAuthError {
    fn from(e: ScopeError) -> Self {
        let (kind, code) = match e {
            ScopeError::UnknownResource(_) => (OAuthErrorKind::InvalidResource, 500011),
            ScopeError::SeveralResources(_) => (OAuthErrorKind::InvalidScope, 28000),
            _ => (OAuthErrorKind::InvalidScope, 70011),
        };
        OAuthError::new(kind, code, e.to_string())
    }
}

/// The OpenID Connect scopes, in the order they are listed back.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The longest `scope` parameter read.
const MAX_SCOPE_LEN: usize = 4096;

/// What a `scope` parameter grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeGrant {
    /// The OpenID Connect scopes asked for, lowercase, in [`OIDC_SCOPES`] order.
    pub oidc: Vec<String>,
    /// The appId of the resource the access token is for (`aud`).
    pub resource: Uuid,
    /// The resource's scopes, for the `scp` claim.
    pub scp: Vec<String>,
    /// The resource's scopes as the client names them (`api://tasks/Tasks.Read`), for the
    /// response's `scope`.
    pub resource_scopes: Vec<String>,
}

impl ScopeGrant {
    /// Whether `scope` included `name` (an OpenID Connect scope).
    pub fn has(&self, name: &str) -> bool {
        self.oidc.iter().any(|s| s == name)
    }

    /// The response's `scope`: the resource's scopes, then the OpenID Connect ones.
    pub fn response_scope(&self) -> String {
        self.resource_scopes
            .iter()
            .chain(&self.oidc)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `scp` claim.
    pub fn scp_claim(&self) -> String {
        self.scp.join(" ")
    }
}

fn shorten(s: &str) -> String {
    s.chars().take(120).collect()
}

/// Reads a `scope` parameter of the tenant. `require_openid` for sign-in requests.
pub fn parse(
    snapshot: &Snapshot,
    tenant_id: Uuid,
    scope: &str,
    require_openid: bool,
) -> Result<ScopeGrant, ScopeError> {
    if scope.len() > MAX_SCOPE_LEN {
        return Err(ScopeError::TooLong);
    }
    let mut oidc = Vec::new();
    let mut resource: Option<(Uuid, String)> = None;
    let mut scp: Vec<String> = Vec::new();
    let mut resource_scopes: Vec<String> = Vec::new();
    for item in scope.split_whitespace() {
        let lower = item.to_ascii_lowercase();
        if OIDC_SCOPES.contains(&lower.as_str()) {
            if !oidc.contains(&lower) {
                oidc.push(lower);
            }
            continue;
        }
        let (identifier, name) = match item.rsplit_once('/') {
            Some((identifier, name)) if !identifier.is_empty() && !name.is_empty() => (identifier, name),
            Some(_) => return Err(ScopeError::Malformed(shorten(item))),
            None => (GRAPH_IDENTIFIER, item),
        };
        let app = snapshot
            .resource(tenant_id, identifier)
            .ok_or_else(|| ScopeError::UnknownResource(shorten(identifier)))?;
        let app_id = app.app.app_id;
        match &resource {
            Some((existing, _)) if *existing != app_id => {
                return Err(ScopeError::SeveralResources(shorten(scope)));
            }
            _ => resource = Some((app_id, identifier.trim_end_matches('/').to_owned())),
        }
        let granted = if name == ".default" {
            if app_id == GRAPH_APP_ID {
                "User.Read"
            } else {
                "user_impersonation"
            }
            .to_owned()
        } else {
            if !name.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') || name.len() > 120 {
                return Err(ScopeError::BadCharacters(shorten(item)));
            }
            name.to_owned()
        };
        let full = if identifier == GRAPH_IDENTIFIER && !item.contains('/') {
            format!("{GRAPH_IDENTIFIER}/{name}")
        } else {
            item.to_owned()
        };
        if !scp.contains(&granted) {
            scp.push(granted);
        }
        if !resource_scopes.contains(&full) {
            resource_scopes.push(full);
        }
    }
    if require_openid && !oidc.iter().any(|s| s == "openid") {
        return Err(ScopeError::OpenIdRequired(shorten(scope)));
    }
    oidc.sort_by_key(|s| OIDC_SCOPES.iter().position(|o| o == s));
    let resource = match resource {
        Some((app_id, _)) => app_id,
        None => {
            // Only OpenID Connect scopes: a token for Microsoft Graph, as Entra issues.
            scp.push("User.Read".into());
            resource_scopes.push(format!("{GRAPH_IDENTIFIER}/User.Read"));
            GRAPH_APP_ID
        }
    };
    Ok(ScopeGrant {
        oidc,
        resource,
        scp,
        resource_scopes,
    })
}
