//! The confidential client: client credentials with a certificate, a secret or an assertion
//! callback, against Entra ID or Keyward.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;

use crate::authority::Authority;
use crate::cache::{CacheKey, TokenCache};
use crate::credential::{ASSERTION_LIFETIME_SECONDS, CertificateCredential, ClientCredential};
use crate::error::{Error, Result, ServerError};
use crate::token::AccessToken;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An assertion is re-used while it has at least this much life left.
const ASSERTION_REUSE_MARGIN_SECONDS: i64 = 120;

/// How often and how long to retry when the server says 429 or 5xx.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The longest wait between attempts, whatever `Retry-After` says.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            max_wait: Duration::from_secs(10),
        }
    }
}

/// Builds a [`ConfidentialClient`].
pub struct ConfidentialClientBuilder {
    authority: String,
    client_id: String,
    credential: ClientCredential,
    extra_roots: Vec<Vec<u8>>,
    retry: RetryPolicy,
}

impl ConfidentialClientBuilder {
    /// Also trusts this CA (PEM or DER), e.g. a Keyward server's `tls/ca.pem`, on top of the
    /// public roots. Verification is never switched off.
    pub fn trust_ca(mut self, ca: &[u8]) -> Self {
        self.extra_roots.push(ca.to_vec());
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Checks the settings and builds the client. No network traffic yet.
    pub fn build(self) -> Result<ConfidentialClient> {
        let authority = Authority::parse(&self.authority)?;
        if self.client_id.trim().is_empty() {
            return Err(Error::InvalidAuthority {
                url: self.authority,
                reason: "the client id is empty",
            });
        }
        let http = http_client(&self.extra_roots)?;
        let cache_prefix = format!("{}|{}|", authority.url(), self.client_id);
        Ok(ConfidentialClient {
            inner: Arc::new(Inner {
                authority,
                client_id: self.client_id,
                credential: self.credential,
                http,
                retry: self.retry,
                metadata: tokio::sync::OnceCell::new(),
                cache: TokenCache::default(),
                cache_prefix,
                assertion: Mutex::new(None),
            }),
        })
    }
}

/// The parts of the OpenID configuration we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    /// `issuer`.
    pub issuer: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: Option<String>,
    /// `jwks_uri`.
    pub jwks_uri: String,
    /// `end_session_endpoint`.
    pub end_session_endpoint: Option<String>,
}

/// A confidential client application. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct ConfidentialClient {
    inner: Arc<Inner>,
}

struct Inner {
    authority: Authority,
    client_id: String,
    credential: ClientCredential,
    http: reqwest::Client,
    retry: RetryPolicy,
    metadata: tokio::sync::OnceCell<Metadata>,
    cache: TokenCache,
    /// `"{authority}|{client_id}|"`, the start of every cache key.
    cache_prefix: String,
    /// The last assertion, re-sent while it is valid, as MSAL does.
    assertion: Mutex<Option<CachedAssertion>>,
}

/// An assertion made earlier, and what it is good for.
struct CachedAssertion {
    /// The token endpoint it names.
    audience: String,
    /// The SHA-256 thumbprint of the certificate that signed it.
    thumbprint: String,
    /// Its `exp`.
    expires: i64,
    jwt: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default = "bearer")]
    token_type: String,
    expires_in: Option<NumberOrString>,
    refresh_in: Option<NumberOrString>,
}

fn bearer() -> String {
    "Bearer".into()
}

/// Entra sends numbers; some servers send them as strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    Number(i64),
    Text(String),
}

impl NumberOrString {
    fn seconds(&self) -> Option<i64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Text(t) => t.trim().parse().ok(),
        }
    }
}

impl ConfidentialClient {
    /// Starts building a client for `authority` (Entra, External ID or Keyward URL).
    pub fn builder(
        authority: &str,
        client_id: &str,
        credential: impl Into<ClientCredential>,
    ) -> ConfidentialClientBuilder {
        ConfidentialClientBuilder {
            authority: authority.to_owned(),
            client_id: client_id.trim().to_owned(),
            credential: credential.into(),
            extra_roots: Vec::new(),
            retry: RetryPolicy::default(),
        }
    }

    /// The authority.
    pub fn authority(&self) -> &Authority {
        &self.inner.authority
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The HTTP client, with the trusted CAs this client was built with.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The authority's signing keys; fetched again when asked for a key id it does not hold.
    pub(crate) async fn jwks(&self, uri: &str) -> Result<keyward_jose::Jwks> {
        let response = self.inner.http.get(uri).send().await.map_err(|e| network(uri, &e))?;
        if !response.status().is_success() {
            return Err(Error::Discovery {
                url: uri.to_owned(),
                detail: format!("JWKS: HTTP {}", response.status()),
            });
        }
        response.json().await.map_err(|e| Error::Discovery {
            url: uri.to_owned(),
            detail: format!("JWKS: {e}"),
        })
    }

    /// The OpenID configuration, fetched once and kept.
    pub async fn metadata(&self) -> Result<&Metadata> {
        self.inner.metadata.get_or_try_init(|| self.fetch_metadata()).await
    }

    async fn fetch_metadata(&self) -> Result<Metadata> {
        let url = self.inner.authority.metadata_url();
        let response = self.inner.http.get(&url).send().await.map_err(|e| network(&url, &e))?;
        let status = response.status();
        if !status.is_success() {
            // Entra and Keyward say why in OAuth's error shape (AADSTS90002 for an unknown
            // tenant): quote it, since it names the tenant the server did not find.
            let said = response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|body| body.get("error_description")?.as_str().map(str::to_owned))
                .map(|text| format!(": the server says \"{text}\""))
                .unwrap_or_default();
            return Err(Error::Discovery {
                url,
                detail: format!("HTTP {status}{said}; is the tenant in the authority right?"),
            });
        }
        let metadata: Metadata = response.json().await.map_err(|e| Error::Discovery {
            url: url.clone(),
            detail: e.to_string(),
        })?;
        let origin = self.inner.authority.origin();
        let same_origin = |u: &str| u.starts_with(&format!("{origin}/"));
        // An issuer on another origin is refused, as MSAL does (see the wire contract, §3).
        let known_cloud = origin.ends_with(".microsoftonline.com") || origin.ends_with(".ciamlogin.com");
        if !same_origin(&metadata.token_endpoint) && !known_cloud {
            return Err(Error::Discovery {
                url,
                detail: format!("the token endpoint {} is not on {origin}", metadata.token_endpoint),
            });
        }
        if !metadata.token_endpoint.starts_with("https://") {
            return Err(Error::Discovery {
                url,
                detail: "the token endpoint is not https".into(),
            });
        }
        Ok(metadata)
    }

    /// Gets an access token for `scopes` (e.g. `["api://my-api/.default"]`): from the cache
    /// while it is fresh, else from the token endpoint. Concurrent callers for the same scopes
    /// share one request; a token past its refresh time is renewed by one caller while the
    /// others keep using it until it expires.
    pub async fn acquire_token_for_client(&self, scopes: &[&str]) -> Result<AccessToken> {
        let key = CacheKey::new(&self.inner.cache_prefix, scopes);
        let slot = self.inner.cache.slot(&key);
        let now = OffsetDateTime::now_utc();
        if let Some(mut token) = slot.current() {
            let usable = now < token.usable_until;
            if usable && now < token.refresh_on {
                token.from_cache = true;
                return Ok(token);
            }
            if usable {
                // Due for refresh: one caller renews, the others go on with the current token.
                let Ok(_guard) = slot.refresh.try_lock() else {
                    token.from_cache = true;
                    return Ok(token);
                };
                match self.request_token(scopes).await {
                    Ok(fresh) => {
                        slot.store(fresh.clone());
                        return Ok(fresh);
                    }
                    Err(_) => {
                        token.from_cache = true;
                        return Ok(token);
                    }
                }
            }
        }
        let _guard = slot.refresh.lock().await;
        // Someone else may have fetched it while we waited.
        if let Some(mut token) = slot.current()
            && OffsetDateTime::now_utc() < token.usable_until
        {
            token.from_cache = true;
            return Ok(token);
        }
        let fresh = self.request_token(scopes).await?;
        slot.store(fresh.clone());
        Ok(fresh)
    }

    /// POSTs `form` to the token endpoint with the client's authentication added. When a
    /// [`ReloadingCertificate`](crate::ReloadingCertificate) is refused with AADSTS700027 and
    /// its source now holds another certificate, sends it once more, signed with that one.
    pub(crate) async fn post_authenticated(
        &self,
        token_endpoint: &str,
        form: Vec<(&'static str, String)>,
    ) -> Result<Vec<u8>> {
        let client_id = self.inner.client_id.clone();
        let (authentication, used) = match &self.inner.credential {
            ClientCredential::Secret(secret) => (
                vec![("client_id", client_id), ("client_secret", secret.as_str().to_owned())],
                None,
            ),
            ClientCredential::Certificate(certificate) => (
                assertion_form(client_id, self.certificate_assertion(certificate, token_endpoint)?),
                None,
            ),
            ClientCredential::Reloading(reloading) => {
                let certificate = reloading.for_request().await;
                let assertion = self.certificate_assertion(&certificate, token_endpoint)?;
                (assertion_form(client_id, assertion), Some((reloading, certificate)))
            }
            ClientCredential::Assertion(callback) => {
                let assertion = callback().await.map_err(Error::AssertionCallback)?;
                (assertion_form(client_id, assertion), None)
            }
        };
        let mut first = form.clone();
        first.extend(authentication);
        let refused = match self.post_token_form(token_endpoint, &first).await {
            Err(e) if e.aadsts_code() == Some(700027) => e,
            other => return other,
        };
        let Some((reloading, used)) = used else {
            return Err(refused);
        };
        let Some(fresh) = reloading.after_refusal(&used).await else {
            return Err(refused);
        };
        let assertion = self.certificate_assertion(&fresh, token_endpoint)?;
        let mut again = form;
        again.extend(assertion_form(self.inner.client_id.clone(), assertion));
        self.post_token_form(token_endpoint, &again).await
    }

    /// A client assertion signed by `certificate` for `token_endpoint`: the last one while it
    /// has life left and was made by the same certificate, as MSAL re-sends it.
    fn certificate_assertion(&self, certificate: &CertificateCredential, token_endpoint: &str) -> Result<String> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let thumbprint = certificate.certificate().thumbprints().sha256_hex();
        let reuse = self.inner.assertion.lock().ok().and_then(|cached| {
            cached.as_ref().and_then(|c| {
                (c.audience == token_endpoint
                    && c.thumbprint == thumbprint
                    && c.expires - now > ASSERTION_REUSE_MARGIN_SECONDS)
                    .then(|| c.jwt.clone())
            })
        });
        if let Some(jwt) = reuse {
            return Ok(jwt);
        }
        let jwt = certificate.assertion(&self.inner.client_id, token_endpoint, now)?;
        if let Ok(mut cached) = self.inner.assertion.lock() {
            *cached = Some(CachedAssertion {
                audience: token_endpoint.to_owned(),
                thumbprint,
                expires: now + ASSERTION_LIFETIME_SECONDS,
                jwt: jwt.clone(),
            });
        }
        Ok(jwt)
    }

    async fn request_token(&self, scopes: &[&str]) -> Result<AccessToken> {
        let metadata = self.metadata().await?;
        let form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("scope", scopes.join(" ")),
        ];
        let started = OffsetDateTime::now_utc();
        let body = self.post_authenticated(&metadata.token_endpoint, form).await?;
        access_token(&body, started)
    }

    /// POSTs to the token endpoint with retries on 429 and 5xx, honouring `Retry-After`.
    pub(crate) async fn post_token_form(&self, url: &str, form: &[(&str, String)]) -> Result<Vec<u8>> {
        let retry = &self.inner.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request_id = uuid::Uuid::new_v4();
            let sent = self
                .inner
                .http
                .post(url)
                .query(&[("client-request-id", request_id.to_string())])
                .header("client-request-id", request_id.to_string())
                .form(form)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if attempt < retry.attempts && (e.is_connect() || e.is_timeout()) => {
                    tokio::time::sleep(backoff(attempt, None, retry)).await;
                    continue;
                }
                Err(e) => return Err(network(url, &e)),
            };
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = response.bytes().await.map_err(|e| network(url, &e))?.to_vec();
            if status.is_success() {
                return Ok(body);
            }
            if (status.as_u16() == 429 || status.is_server_error()) && attempt < retry.attempts {
                tokio::time::sleep(backoff(attempt, retry_after, retry)).await;
                continue;
            }
            return Err(server_error(status.as_u16(), &body));
        }
    }
}

/// The access token of a token endpoint's success response, received at `started`.
pub(crate) fn access_token(body: &[u8], started: OffsetDateTime) -> Result<AccessToken> {
    let response: TokenResponse = serde_json::from_slice(body).map_err(|e| Error::InvalidResponse(e.to_string()))?;
    let lifetime = response
        .expires_in
        .as_ref()
        .and_then(NumberOrString::seconds)
        // Positive, and an expiry there is a date for.
        .filter(|s| *s > 0 && started.checked_add(time::Duration::seconds(*s)).is_some())
        .ok_or_else(|| Error::InvalidResponse("no usable expires_in".into()))?;
    let refresh_in = response.refresh_in.as_ref().and_then(NumberOrString::seconds);
    Ok(AccessToken::new(
        response.access_token,
        started,
        lifetime,
        refresh_in,
        response.token_type,
    ))
}

fn assertion_form(client_id: String, assertion: String) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", client_id),
        ("client_assertion_type", JWT_BEARER.to_owned()),
        ("client_assertion", assertion),
    ]
}

fn backoff(attempt: u32, retry_after: Option<u64>, retry: &RetryPolicy) -> Duration {
    let wait = match retry_after {
        Some(seconds) => Duration::from_secs(seconds),
        None => Duration::from_millis(250 << attempt.min(6)),
    };
    wait.min(retry.max_wait)
}

pub(crate) fn network(url: &str, e: &reqwest::Error) -> Error {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    Error::Network {
        url: url.to_owned(),
        detail,
    }
}

pub(crate) fn server_error(status: u16, body: &[u8]) -> Error {
    #[derive(Deserialize, Default)]
    struct Body {
        error: Option<String>,
        error_description: Option<String>,
        #[serde(default)]
        error_codes: Vec<u32>,
        correlation_id: Option<String>,
        trace_id: Option<String>,
    }
    let parsed: Body = serde_json::from_slice(body).unwrap_or_default();
    Error::Server(Box::new(ServerError {
        status,
        error: parsed.error.unwrap_or_else(|| format!("http_{status}")),
        code: parsed.error_codes.first().copied(),
        description: parsed
            .error_description
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(500).collect()),
        correlation_id: parsed.correlation_id,
        trace_id: parsed.trace_id,
    }))
}

fn http_client(extra_roots: &[Vec<u8>]) -> Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for ca in extra_roots {
        for certificate in keyward_pki::read(ca, None)?.certificates {
            roots
                .add(rustls::pki_types::CertificateDer::from(certificate.der().to_vec()))
                .map_err(|e| Error::InvalidAuthority {
                    url: String::new(),
                    reason: leak_reason(e),
                })?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::InvalidAuthority {
            url: String::new(),
            reason: "TLS versions",
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::Network {
            url: String::new(),
            detail: e.to_string(),
        })
}

fn leak_reason(_: rustls::Error) -> &'static str {
    "a trusted CA certificate is not usable"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_entra_discovery_document() {
        let doc = include_str!("../tests/fixtures/entra-openid-configuration.json");
        let metadata: Metadata = serde_json::from_str(doc).unwrap();
        assert_eq!(
            metadata.issuer,
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
        );
        assert!(metadata.token_endpoint.ends_with("/oauth2/v2.0/token"));
        assert!(metadata.end_session_endpoint.is_some());
    }

    #[test]
    fn maps_an_entra_error_body_to_its_code_correlation_and_hint() {
        let body = include_bytes!("../tests/fixtures/entra-error-700027.json");
        let Error::Server(e) = server_error(401, body) else {
            panic!("a server error")
        };
        assert_eq!(
            (e.status, e.error.as_str(), e.code),
            (401, "invalid_client", Some(700027))
        );
        assert_eq!(
            e.correlation_id.as_deref(),
            Some("3a5c2b1e-1111-4d2f-8e3a-7c6b5a4d3e2f")
        );
        assert!(e.hint().unwrap().contains("x5t#S256"));
        assert!(e.to_string().contains("AADSTS700027"));
        // A body that is not JSON still gives a useful error.
        let Error::Server(e) = server_error(502, b"<html>Bad Gateway</html>") else {
            panic!()
        };
        assert_eq!((e.error.as_str(), e.code), ("http_502", None));
        assert!(e.description.contains("Bad Gateway"));
    }

    /// Found while writing the `token_response` fuzz target, confirmed with it: an `expires_in`
    /// past the end of the calendar (about 8,000 years) made the client panic ("resulting value
    /// is out of range") instead of refusing the response.
    #[test]
    fn an_expires_in_past_the_calendar_is_refused_not_a_panic() {
        let started = OffsetDateTime::now_utc();
        for body in [
            r#"{"access_token":"t","expires_in":9223372036854775807}"#,
            r#"{"access_token":"t","expires_in":"300000000000"}"#,
        ] {
            assert!(
                matches!(access_token(body.as_bytes(), started), Err(Error::InvalidResponse(_))),
                "{body}"
            );
        }
        let token = access_token(
            br#"{"access_token":"t","expires_in":"3599","refresh_in":1800}"#,
            started,
        )
        .unwrap();
        assert_eq!(token.expires_on, started + time::Duration::seconds(3599));
        assert_eq!(token.refresh_on, started + time::Duration::seconds(1800));
    }

    #[test]
    fn expires_in_as_a_number_or_a_string_and_backoff_is_bounded() {
        let response: TokenResponse = serde_json::from_str(r#"{"access_token":"t","expires_in":"3599"}"#).unwrap();
        assert_eq!(response.expires_in.and_then(|e| e.seconds()), Some(3599));
        let policy = RetryPolicy::default();
        assert_eq!(backoff(1, Some(3), &policy), Duration::from_secs(3));
        assert_eq!(backoff(1, Some(3600), &policy), policy.max_wait);
        assert!(backoff(2, None, &policy) > backoff(1, None, &policy));
    }
}
