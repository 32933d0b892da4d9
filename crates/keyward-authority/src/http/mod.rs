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
//! | `signin`, `logout` | `/{tenant}/oauth2/v2.0/authorize[/signin|/signup]`, `/{tenant}/oauth2/v2.0/logout` |
//! | `graph` | `/v1.0/applications`, `/v1.0/servicePrincipals`, `/v1.0/users` (Microsoft Graph's shapes) |
//! | `admin` | `/admin/api/signing-keys` (Keyward's own) |

mod admin;
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

use std::sync::Arc;

use axum::http::{HeaderMap, header};

pub use graph::GraphError;
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
