//! The HTTP surface of the authority. Handlers parse, call the domain and render; they build
//! no error by hand: the token service answers [`OAuthError`](crate::OAuthError)s in Entra's
//! shape (`oauth.rs`), the management API [`GraphError`]s in Graph's (`graph/error.rs`), and
//! the sign-in pages [`PageError`](pages::PageError)s as our own error page.
//!
//! | module | routes |
//! |---|---|
//! | `router` | builds the [`Router`](axum::Router), owns the state; `/metrics` |
//! | `discovery` | `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/discovery/v2.0/keys` |
//! | `token` | `POST /{tenant}/oauth2/v2.0/token` |
//! | `device` | `/{tenant}/oauth2/v2.0/devicecode[/verify[/signin|/decide]]` (RFC 8628) |
//! | `signin`, `logout` | `/{tenant}/oauth2/v2.0/authorize[/signin|/signup]`, `/{tenant}/oauth2/v2.0/logout` |
//! | `graph` | `/v1.0/applications`, `/v1.0/servicePrincipals`, `/v1.0/users` (Microsoft Graph's shapes) |
//! | `admin` | `/admin/api/signing-keys`, `/admin/api/test-tokens`, `/admin/api/time` (Keyward's own) |

mod admin;
mod arm;
mod device;
mod discovery;
#[doc(hidden)]
pub(crate) mod fuzzing;
pub(crate) mod graph;
mod logout;
mod oauth;
pub(crate) mod pages;
mod router;
mod signin;
pub(crate) mod token;

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

pub use graph::{GraphCaller, GraphError};
pub use router::router;

use crate::authority::Authority;
use crate::directory::TenantEntry;
use crate::oauth_error::OAuthError;

/// The tenant of the token service's URL, or AADSTS90002.
fn tenant_or_error(authority: &Authority, alias: &str) -> Result<Arc<TenantEntry>, OAuthError> {
    authority
        .snapshot()
        .tenant(alias)
        .cloned()
        .ok_or_else(|| OAuthError::tenant_not_found(alias, "the authority URL"))
}

/// Where a request reached the authority: one of Microsoft's sign-in hosts in the Azure host
/// names mode (`https://login.microsoftonline.com`, `https://contoso.ciamlogin.com`), whose
/// form the answer takes (issuer, endpoints), or the server's own public URL (`None`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin(Option<String>);

impl FromRequestParts<Arc<Authority>> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, authority: &Arc<Authority>) -> Result<Self, Self::Rejection> {
        if !authority.config().azure_hosts {
            return Ok(Self(None));
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()));
        Ok(Self(host.and_then(crate::azure_hosts::sign_in_origin)))
    }
}

impl Origin {
    /// The origin endpoints are written with.
    pub(crate) fn base<'a>(&'a self, authority: &'a Authority) -> &'a str {
        self.0.as_deref().unwrap_or(&authority.config().public_url)
    }

    /// The tenant at this origin, or AADSTS90002: a `{name}.ciamlogin.com` host speaks only for
    /// its own tenant.
    pub(crate) fn tenant(&self, authority: &Authority, alias: &str) -> Result<Arc<TenantEntry>, OAuthError> {
        let tenant = tenant_or_error(authority, alias)?;
        match &self.0 {
            Some(origin)
                if !crate::azure_hosts::origin_serves(origin, &tenant.tenant.name, &tenant.tenant.id.to_string()) =>
            {
                Err(OAuthError::tenant_not_found(alias, "the authority URL"))
            }
            _ => Ok(tenant),
        }
    }

    /// The issuer of the tenant's tokens at this origin: `{origin}/{tenant-id}/v2.0`.
    pub(crate) fn issuer<'a>(&self, tenant: &'a TenantEntry) -> Cow<'a, str> {
        match &self.0 {
            Some(origin) => Cow::Owned(format!("{origin}/{}/v2.0", tenant.tenant.id)),
            None => Cow::Borrowed(&tenant.issuer),
        }
    }

    /// What a client assertion's `aud` may be: the token endpoint under every alias of the
    /// tenant, at the public URL and at this origin.
    pub(crate) fn token_endpoints<'a>(&self, tenant: &'a TenantEntry) -> Cow<'a, [String]> {
        match &self.0 {
            Some(origin) => {
                let t = &tenant.tenant;
                let mut endpoints = tenant.token_endpoints.clone();
                for alias in [t.name.clone(), t.domain.clone(), t.id.to_string()] {
                    endpoints.push(format!("{origin}/{alias}/oauth2/v2.0/token"));
                }
                Cow::Owned(endpoints)
            }
            None => Cow::Borrowed(&tenant.token_endpoints),
        }
    }
}

/// Whether the body is an HTML form (`application/x-www-form-urlencoded`, any case, any
/// parameters). On the token endpoint's path: compares in place, allocates nothing.
fn is_form(headers: &HeaderMap) -> bool {
    const FORM: &[u8] = b"application/x-www-form-urlencoded";
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.as_bytes().get(..FORM.len()))
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(FORM))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn a_form_is_named_by_its_content_type_in_any_case() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            is_form(&headers)
        };
        assert!(with("application/x-www-form-urlencoded"));
        assert!(with("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
        assert!(!with("application/json"));
        assert!(!with("application/x-www-form"));
        assert!(!is_form(&HeaderMap::new()));
    }
}
