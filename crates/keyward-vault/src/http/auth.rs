//! Who is calling which vault: the host names the vault, the bearer token the caller. Every
//! vault route takes a [`VaultCall`], so none can forget to authenticate; what the caller may do
//! is checked by each operation before it looks anything up.
//!
//! An unknown vault host answers like a known one until the caller has proved who they are: a
//! request without a valid token gets the same 401 challenge (naming the tenant of the `default`
//! vault, or else of the first vault), and only a caller with a valid token of that tenant
//! learns that no vault is served there (404 `VaultNotFound`, a fixed message). A caller
//! without permission gets the same 403 whether the object exists or not.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use keyward_store::Vault;
use uuid::Uuid;

use super::error::{ApiError, MISSING_TOKEN};
use crate::model::PageRequest;
use crate::{Access, Vaults};

/// The vault served at the bare host (and at every host that names no vault).
pub const DEFAULT_VAULT: &str = "default";

/// The longest Host header we accept.
const MAX_HOST: usize = 255;

/// An authenticated call to one vault: who, which vault, and the base of the ids to return.
pub(crate) struct VaultCall {
    pub access: Access,
    /// `https://{Host}`: what object ids start with.
    pub base: String,
    pub query: Query,
}

/// The query parameters the vault reads (keys percent-decoded: JavaScript sends `api%2Dversion`).
#[derive(Debug, Default)]
pub(crate) struct Query {
    pub api_version: Option<String>,
    pub page: PageRequest,
    pub bad_maxresults: bool,
}

pub(crate) fn parse_query(raw: Option<&str>) -> Query {
    let mut query = Query::default();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "api-version" => query.api_version = Some(value.chars().take(64).collect()),
            "maxresults" => match value.trim().parse::<usize>() {
                Ok(n) => query.page.max = Some(n),
                Err(_) => query.bad_maxresults = true,
            },
            "$skiptoken" => query.page.skip_token = Some(value.chars().take(512).collect()),
            _ => {}
        }
    }
    query
}

/// The request's host with its port, from `Host` (HTTP/1.1) or the URI's authority (HTTP/2),
/// checked against an allow-list of characters: letters, digits, `-`, `.`, `:` and the brackets
/// of an IPv6 literal.
pub(crate) fn request_host(parts: &Parts) -> Result<String, ApiError> {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()))
        .ok_or_else(|| ApiError::bad_parameter("The request has no Host header."))?;
    let ok = !host.is_empty()
        && host.len() <= MAX_HOST
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']'));
    if ok {
        Ok(host)
    } else {
        Err(ApiError::bad_parameter("The Host header is not a valid host name."))
    }
}

/// The vault a host name serves: `{name}.localhost[:port]` and (in the Azure host names mode,
/// where the hosts file sends them here) `{name}.vault.azure.net` serve vault `name`; every
/// other host (`localhost`, an IP address, a public name) serves [`DEFAULT_VAULT`].
pub fn vault_for_host(host: &str) -> String {
    let name = if host.starts_with('[') {
        ""
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match name
        .strip_suffix(".localhost")
        .or_else(|| name.strip_suffix(AZURE_VAULT_SUFFIX))
    {
        Some(label) if !label.is_empty() && !label.contains('.') => label.to_owned(),
        _ => DEFAULT_VAULT.to_owned(),
    }
}

/// The domain of Azure Key Vault's vaults, with its leading dot.
const AZURE_VAULT_SUFFIX: &str = ".vault.azure.net";

/// Whether the request came to a `{name}.vault.azure.net` host.
fn is_azure_vault_host(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    name.trim_end_matches('.')
        .to_ascii_lowercase()
        .ends_with(AZURE_VAULT_SUFFIX)
}

/// The bearer token of a request; `None` when there is no Authorization header at all.
fn bearer(parts: &Parts) -> Option<Result<String, ()>> {
    let value = parts.headers.get(header::AUTHORIZATION)?;
    let parsed = value.to_str().ok().and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_owned())
    });
    Some(parsed.ok_or(()))
}

/// `Bearer authorization="...", resource="..."`, or `None` if the authority does not know the
/// tenant. At a `{name}.vault.azure.net` host, Key Vault's own: the authority
/// `https://login.windows.net/{tenant-id}` and the resource `https://vault.azure.net`, which the
/// Key Vault SDKs' challenge resource verification accepts for that host.
pub(crate) fn challenge(vaults: &Vaults, tenant_id: Uuid, host: &str) -> Option<String> {
    let (authorization, resource) = if is_azure_vault_host(host) {
        vaults.tokens().authorization(tenant_id)?;
        (
            format!("https://login.windows.net/{tenant_id}"),
            crate::AZURE_KEY_VAULT_RESOURCE.to_owned(),
        )
    } else {
        (vaults.tokens().authorization(tenant_id)?, vaults.tokens().resource())
    };
    Some(format!(
        "Bearer authorization=\"{authorization}\", resource=\"{resource}\""
    ))
}

/// The tenant whose challenge an unknown vault host gets.
fn fallback_tenant(vaults: &[Vault]) -> Option<Uuid> {
    vaults
        .iter()
        .find(|v| v.name == DEFAULT_VAULT)
        .or_else(|| vaults.iter().min_by(|a, b| a.name.cmp(&b.name)))
        .map(|v| v.tenant_id)
}

impl FromRequestParts<Arc<Vaults>> for VaultCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, vaults: &Arc<Vaults>) -> Result<Self, ApiError> {
        let host = request_host(parts)?;
        let wanted = vault_for_host(&host);
        let all = vaults.vaults().await.map_err(ApiError::from)?;
        let vault = all.iter().find(|v| v.name == wanted).cloned();
        let tenant = match &vault {
            Some(v) => Some(v.tenant_id),
            None => fallback_tenant(&all),
        };
        let Some(tenant) = tenant else {
            // No vault at all: there is nothing to protect or to reveal.
            return Err(crate::Error::VaultNotFound(wanted).into());
        };
        let challenge = || challenge(vaults, tenant, &host);
        let token = match bearer(parts) {
            None => return Err(ApiError::unauthorized(MISSING_TOKEN, challenge())),
            Some(Err(())) => {
                return Err(ApiError::unauthorized(
                    "AKV10000: Request is missing a Bearer or PoP token.",
                    challenge(),
                ));
            }
            Some(Ok(token)) => token,
        };
        let Some(caller) = vaults.tokens().vault_caller(tenant, &token) else {
            return Err(ApiError::unauthorized(
                "AKV10032: Invalid token: the signature, issuer, audience or lifetime is not valid for this vault.",
                challenge(),
            ));
        };
        let Some(vault) = vault else {
            return Err(crate::Error::VaultNotFound(wanted).into());
        };
        let query = parse_query(parts.uri.query());
        if query.bad_maxresults {
            return Err(ApiError::bad_parameter("maxresults must be a number between 1 and 25."));
        }
        Ok(VaultCall {
            access: Access::new(vault, caller),
            base: format!("https://{host}"),
            query,
        })
    }
}

/// A request body read within the route's limit; a bigger one is Key Vault's 400, not a bare 413.
pub(crate) struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(request, state)
            .await
            .map(Body)
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "BadParameter",
                    "The request body is too large.",
                ),
                _ => ApiError::bad_parameter("The request body could not be read."),
            })
    }
}

impl Body {
    /// The body as JSON of type `T`; an empty body is `T::default()`.
    pub(crate) fn json<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.0.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        serde_json::from_slice(&self.0).map_err(|e| {
            // serde's messages can quote the value they choke on, and the value may be a secret:
            // say where, not what.
            let what = match e.classify() {
                serde_json::error::Category::Data => "has a field of the wrong type or value",
                _ => "is not valid JSON",
            };
            ApiError::bad_parameter(format!(
                "The request body {what} (line {}, column {}).",
                e.line(),
                e.column()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_name_vaults() {
        assert_eq!(vault_for_host("localhost:8443"), "default");
        assert_eq!(vault_for_host("localhost"), "default");
        assert_eq!(vault_for_host("127.0.0.1:8443"), "default");
        assert_eq!(vault_for_host("[::1]:8443"), "default");
        assert_eq!(vault_for_host("MyVault.localhost:8443"), "myvault");
        assert_eq!(vault_for_host("myvault.localhost"), "myvault");
        assert_eq!(vault_for_host("a.b.localhost:1"), "default");
        assert_eq!(vault_for_host("vault.example.com"), "default");
        assert_eq!(vault_for_host("kv-article.vault.azure.net"), "kv-article");
        assert_eq!(vault_for_host("KV.vault.azure.net:443"), "kv");
        assert_eq!(vault_for_host("vault.azure.net"), "default");
        assert_eq!(vault_for_host("a.b.vault.azure.net"), "default");
    }

    #[test]
    fn only_key_vault_hosts_are_key_vault_hosts() {
        assert!(is_azure_vault_host("kv.vault.azure.net"));
        assert!(is_azure_vault_host("kv.vault.azure.net:443"));
        assert!(!is_azure_vault_host("localhost:8443"));
        assert!(!is_azure_vault_host("kv.vault.azure.net.evil.example"));
    }

    #[test]
    fn query_keys_are_decoded() {
        let q = parse_query(Some("api%2Dversion=2025-07-01&maxresults=3&%24skiptoken=abc"));
        assert_eq!(q.api_version.as_deref(), Some("2025-07-01"));
        assert_eq!(q.page.max, Some(3));
        assert_eq!(q.page.skip_token.as_deref(), Some("abc"));
        assert!(parse_query(Some("maxresults=lots")).bad_maxresults);
    }
}
