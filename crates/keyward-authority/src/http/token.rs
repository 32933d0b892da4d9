//! The token endpoint (`POST /{tenant}/oauth2/v2.0/token`): reads the form, authenticates the
//! client (assertion, secret in the form or Basic, or none for a public client), and runs the
//! grant (client credentials, authorization code, refresh token, device code). Every refusal is an
//! [`OAuthError`] in Entra's shape. Each request by a confidential client is noted, in memory,
//! as a sign-in record, and its credential's last use when it authenticated ([`crate::usage`]).

use crate::clock::Now;
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_jose::Jws;
use keyward_pki::Thumbprint;
use keyward_store::ServicePrincipalSignIn;
use time::OffsetDateTime;
use uuid::Uuid;

use super::signin::ClientAddress;
use super::{Origin, is_form};
use crate::authority::Authority;
use crate::authorize;
use crate::client_auth::{self, AuthenticatedClient, ClientAuthMethod, JWT_BEARER};
use crate::directory::{Snapshot, TenantEntry};
use crate::grants::CodeRedemption;
use crate::oauth_error::{OAuthError, OAuthErrorKind};
use crate::token::TokenResponse;

/// The largest token request body we read. A client assertion with a certificate chain is a
/// few kilobytes.
pub const MAX_TOKEN_REQUEST: usize = 64 * 1024;

pub(crate) async fn token_endpoint(
    State(authority): State<Arc<Authority>>,
    origin: Origin,
    ClientAddress(address): ClientAddress,
    Path(alias): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = client_request_id(query.as_deref(), &headers);
    let mut attempt = Attempt::default();
    match issue(&authority, &origin, &alias, &headers, &body, &mut attempt).await {
        Ok(response) => {
            authority.metrics().token_issued();
            attempt.note(&authority, address, None, request_id);
            let mut response = axum::Json(response).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
            if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok()) {
                headers.insert("client-request-id", id);
            }
            response
        }
        Err(e) => {
            authority.metrics().token_refused();
            tracing::info!(tenant = %alias, code = e.code, "token request refused");
            // The id the response carries, and the sign-in record with it.
            let correlation_id = request_id.unwrap_or_else(Uuid::new_v4);
            attempt.note(&authority, address, Some(e.code), Some(correlation_id));
            e.with_correlation_id(Some(correlation_id)).into_response()
        }
    }
}

/// What a token request by a confidential client presented, filled in as [`issue`] learns it,
/// for its sign-in record and its credential's last use ([`crate::usage`]).
#[derive(Default)]
struct Attempt {
    /// The tenant asked, once known.
    tenant_id: Option<Uuid>,
    /// When the request was read.
    at: Option<OffsetDateTime>,
    /// The client id named with a credential (assertion or secret); `None` for a public client.
    client_id: Option<Uuid>,
    /// The application's object id, once its credential is known.
    application_id: Option<Uuid>,
    /// The credential's key id, once known.
    key_id: Option<Uuid>,
    /// The certificate's SHA-1 thumbprint, when an assertion named one.
    thumbprint: Option<String>,
    /// Whether the credential authenticated the client.
    authenticated: bool,
}

impl Attempt {
    /// Notes the sign-in record (for confidential clients) and, when the client was
    /// authenticated, its credential's last use. Memory only: written by the background task.
    fn note(
        self,
        authority: &Authority,
        address: Option<IpAddr>,
        error_code: Option<u32>,
        correlation_id: Option<Uuid>,
    ) {
        let (Some(tenant_id), Some(app_id), Some(at)) = (self.tenant_id, self.client_id, self.at) else {
            return;
        };
        if self.authenticated
            && let (Some(application_id), Some(key_id)) = (self.application_id, self.key_id)
        {
            authority.note_credential_use(tenant_id, application_id, key_id, at, address);
        }
        authority.note_sign_in(ServicePrincipalSignIn {
            id: Uuid::new_v4(),
            tenant_id,
            at,
            app_id,
            key_id: self.key_id,
            thumbprint: self.thumbprint,
            succeeded: error_code.is_none(),
            error_code,
            correlation_id,
            client_address: address.map(|a| a.to_string()),
            requests: 1,
        });
    }

    /// A client authenticated with a credential.
    fn authenticated(&mut self, client: &AuthenticatedClient) {
        self.client_id = Some(client.app.app.app_id);
        self.application_id = Some(client.app.app.id);
        self.key_id = client.credential;
        self.authenticated = true;
        if client.method == ClientAuthMethod::Certificate {
            self.thumbprint = client
                .app
                .certificates()
                .iter()
                .find_map(|c| (Some(c.key_id) == client.credential).then(|| c.thumbprints.sha1_hex()));
        }
    }

    /// A client named `client_id` that failed to authenticate; `assertion` when it sent one,
    /// whose header may name a registered certificate.
    fn refused(&mut self, snapshot: &Snapshot, tenant: &TenantEntry, client_id: &str, assertion: Option<&str>) {
        let Ok(client_id) = Uuid::parse_str(client_id) else {
            return;
        };
        self.client_id = Some(client_id);
        let Some(thumbprint) = assertion.and_then(assertion_thumbprint) else {
            return;
        };
        let app = snapshot.app_in_tenant(tenant.tenant.id, client_id);
        match app.and_then(|app| Some((app, app.certificate(&thumbprint)?))) {
            Some((app, registered)) => {
                self.application_id = Some(app.app.id);
                self.key_id = Some(registered.key_id);
                self.thumbprint = Some(registered.thumbprints.sha1_hex());
            }
            None => self.thumbprint = Some(thumbprint.to_hex()),
        }
    }
}

/// The thumbprint a client assertion's header names (`x5t#S256`, `x5t` or `kid`), if any.
fn assertion_thumbprint(assertion: &str) -> Option<Thumbprint> {
    let jws = Jws::parse(assertion).ok()?;
    let header = jws.header();
    let value = header
        .x5t_s256
        .as_deref()
        .or(header.x5t.as_deref())
        .or(header.kid.as_deref())?;
    Thumbprint::parse(value).ok()
}

/// The id MSAL sends as `?client-request-id=` and as a header, so that both sides' logs meet.
pub(crate) fn client_request_id(query: Option<&str>, headers: &HeaderMap) -> Option<uuid::Uuid> {
    let from_query = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "client-request-id")
            .and_then(|(_, v)| uuid::Uuid::parse_str(&v).ok())
    });
    from_query.or_else(|| {
        headers
            .get("client-request-id")?
            .to_str()
            .ok()
            .and_then(|v| uuid::Uuid::parse_str(v).ok())
    })
}

fn invalid_request(code: u32, message: impl Into<String>) -> OAuthError {
    OAuthError::new(OAuthErrorKind::InvalidRequest, code, message)
}

/// The grants of the token endpoint.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GrantType {
    ClientCredentials,
    AuthorizationCode,
    RefreshToken,
    DeviceCode,
}

/// The device authorization grant's `grant_type` (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn issue(
    authority: &Authority,
    origin: &Origin,
    alias: &str,
    headers: &HeaderMap,
    body: &[u8],
    attempt: &mut Attempt,
) -> Result<TokenResponse, OAuthError> {
    // The server's clock decides everything but the freshness of the client's assertion.
    let clock = authority.read_clock();
    let now = clock.server;
    let tenant = origin.tenant(authority, alias)?;
    attempt.tenant_id = Some(tenant.tenant.id);
    attempt.at = Some(now);
    let issuer = origin.issuer(&tenant);
    if !is_form(headers) {
        return Err(invalid_request(
            900144,
            "The token request must be application/x-www-form-urlencoded",
        ));
    }
    let form = parse_form(body)?;
    let field = |name: &str| form.get(name).map(|v| v.as_ref());
    let grant = match field("grant_type") {
        Some("client_credentials") => GrantType::ClientCredentials,
        Some("authorization_code") => GrantType::AuthorizationCode,
        Some("refresh_token") => GrantType::RefreshToken,
        Some(DEVICE_CODE_GRANT) => GrantType::DeviceCode,
        Some(other) => {
            return Err(OAuthError::new(
                OAuthErrorKind::UnsupportedGrantType,
                70003,
                format!(
                    "The app requested an unsupported grant type '{}'",
                    other.chars().take(64).collect::<String>()
                ),
            ));
        }
        None => {
            return Err(invalid_request(
                900144,
                "The request body must contain the following parameter: 'grant_type'",
            ));
        }
    };
    let snapshot = authority.snapshot();
    // Public clients (no certificate, no secret) may redeem codes (with PKCE), device codes and
    // refresh tokens without authenticating; never get app tokens.
    let public_allowed = grant != GrantType::ClientCredentials;
    let audiences = origin.token_endpoints(&tenant);
    let client = authenticate(
        authority,
        &snapshot,
        &tenant,
        &audiences,
        &form,
        headers,
        public_allowed,
        clock,
        attempt,
    )?;
    match grant {
        GrantType::ClientCredentials => Ok(crate::token::client_credentials(
            &snapshot,
            &tenant,
            &client,
            field("scope"),
            &issuer,
            authority.config().token_lifetime,
            now,
        )?),
        GrantType::AuthorizationCode => {
            let code = field("code").filter(|c| !c.is_empty()).ok_or_else(|| {
                invalid_request(900144, "The request body must contain the following parameter: 'code'")
            })?;
            let redemption = CodeRedemption {
                code,
                redirect_uri: field("redirect_uri"),
                code_verifier: field("code_verifier"),
            };
            Ok(authority
                .redeem_code(&tenant, &issuer, &client, redemption, now)
                .await?)
        }
        GrantType::RefreshToken => {
            let refresh_token = field("refresh_token").filter(|c| !c.is_empty()).ok_or_else(|| {
                invalid_request(
                    900144,
                    "The request body must contain the following parameter: 'refresh_token'",
                )
            })?;
            Ok(authority
                .redeem_refresh_token(&tenant, &issuer, &client, refresh_token, field("scope"), now)
                .await?)
        }
        GrantType::DeviceCode => {
            let device_code = field("device_code").filter(|c| !c.is_empty()).ok_or_else(|| {
                invalid_request(
                    900144,
                    "The request body must contain the following parameter: 'device_code'",
                )
            })?;
            Ok(authority
                .redeem_device_code(&tenant, &issuer, &client, device_code, now)
                .await?)
        }
    }
}

/// Authenticates the client by assertion, secret (form or Basic), or, where `public_allowed`,
/// as a public client that has no credential to present.
#[allow(clippy::too_many_arguments)]
fn authenticate(
    authority: &Authority,
    snapshot: &Snapshot,
    tenant: &TenantEntry,
    audiences: &[String],
    form: &HashMap<Cow<'_, str>, Cow<'_, str>>,
    headers: &HeaderMap,
    public_allowed: bool,
    now: Now,
    attempt: &mut Attempt,
) -> Result<AuthenticatedClient, OAuthError> {
    let field = |name: &str| form.get(name).map(|v| v.as_ref());
    let basic = basic_credentials(headers)?;
    match (field("client_assertion"), field("client_secret"), basic) {
        (Some(assertion), None, None) => {
            if field("client_assertion_type") != Some(JWT_BEARER) {
                return Err(invalid_request(
                    90014,
                    format!(
                        "The request body must contain 'client_assertion_type' = '{JWT_BEARER}' with a client assertion"
                    ),
                ));
            }
            client_auth::authenticate_assertion(
                snapshot,
                tenant,
                field("client_id"),
                assertion,
                audiences,
                &authority.config().assertion,
                now,
            )
            .inspect(|client| attempt.authenticated(client))
            .map_err(|e| {
                let named = field("client_id").map_or_else(|| assertion_issuer(assertion), str::to_owned);
                attempt.refused(snapshot, tenant, &named, Some(assertion));
                refusal(authority, tenant, &named, e)
            })
        }
        (None, Some(secret), None) => {
            let client_id = field("client_id").ok_or_else(|| {
                invalid_request(
                    900144,
                    "The request body must contain the following parameter: 'client_id'",
                )
            })?;
            client_auth::authenticate_secret(snapshot, tenant, client_id, secret, now.server)
                .inspect(|client| attempt.authenticated(client))
                .map_err(|e| {
                    attempt.refused(snapshot, tenant, client_id, None);
                    refusal(authority, tenant, client_id, e)
                })
        }
        (None, None, Some((client_id, secret))) => {
            if field("client_id").is_some_and(|f| f != client_id) {
                return Err(OAuthError::new(
                    OAuthErrorKind::InvalidClient,
                    700021,
                    "The client_id differs from the Authorization header's",
                ));
            }
            client_auth::authenticate_secret(snapshot, tenant, &client_id, &secret, now.server)
                .inspect(|client| attempt.authenticated(client))
                .map_err(|e| {
                    attempt.refused(snapshot, tenant, &client_id, None);
                    refusal(authority, tenant, &client_id, e)
                })
        }
        (None, None, None) => {
            let missing = || {
                invalid_request(
                    7000218,
                    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'",
                )
            };
            if !public_allowed {
                return Err(missing());
            }
            let client_id = field("client_id").ok_or_else(|| {
                invalid_request(
                    900144,
                    "The request body must contain the following parameter: 'client_id'",
                )
            })?;
            let app = client_auth::find_client(snapshot, tenant, client_id)
                .map_err(|e| refusal(authority, tenant, client_id, e))?;
            if !authorize::is_public_client(app) {
                // A confidential client without its credential: in production, as if unknown.
                return Err(if authority.config().profile.helpful_errors() {
                    missing()
                } else {
                    crate::profile::unknown_client(&tenant.tenant.name, client_id)
                });
            }
            Ok(AuthenticatedClient {
                app: Arc::clone(app),
                method: ClientAuthMethod::Public,
                credential: None,
            })
        }
        _ => Err(invalid_request(
            90014,
            "Use exactly one client authentication method per request",
        )),
    }
}

/// A client authentication refusal as the authority's profile answers it (terse in
/// production: see [`crate::Profile::client_refusal`]).
fn refusal(
    authority: &Authority,
    tenant: &TenantEntry,
    client_id: &str,
    e: client_auth::ClientAuthError,
) -> OAuthError {
    authority
        .config()
        .profile
        .client_refusal(e, &tenant.tenant.name, client_id)
}

/// The `iss` of a client assertion sent without a `client_id`: the client id the request names.
fn assertion_issuer(assertion: &str) -> String {
    let claims = assertion
        .split('.')
        .nth(1)
        .and_then(|payload| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok());
    claims
        .as_ref()
        .and_then(|c| c["iss"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Parses a form body; a parameter sent twice is refused (RFC 6749 §3.2).
pub(crate) fn parse_form(body: &[u8]) -> Result<HashMap<Cow<'_, str>, Cow<'_, str>>, OAuthError> {
    let mut form = HashMap::with_capacity(8);
    for (key, value) in form_urlencoded::parse(body) {
        if form.contains_key(&key) {
            return Err(invalid_request(
                9002313,
                format!(
                    "The parameter '{}' was sent more than once",
                    key.chars().take(64).collect::<String>()
                ),
            ));
        }
        form.insert(key, value);
    }
    Ok(form)
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || {
        OAuthError::new(
            OAuthErrorKind::InvalidClient,
            7000215,
            "The Authorization header is not valid Basic client credentials",
        )
    };
    let value = value.to_str().map_err(|_| bad())?;
    let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")) else {
        return Err(bad());
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Ok(Some((unescape(id).ok_or_else(bad)?, unescape(secret).ok_or_else(bad)?)))
}
