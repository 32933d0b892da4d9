//! For web apps (authorization code flow with PKCE): the sign-in URL with state and nonce, the
//! code and refresh token redemptions, and ID token validation against the authority's keys.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_jose::{Algorithm, Jwks, Jws, NumericDate, VerifyingKey};
use serde::Deserialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::client::ConfidentialClient;
use crate::error::{Error, Result};

/// A sign-in request: send the user to `url`; keep the rest (server side, in the session) to
/// check the redirect and redeem the code.
#[derive(Clone)]
pub struct AuthCodeRequest {
    /// Where to send the browser.
    pub url: String,
    /// The `state` to expect back (CSRF protection).
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier, secret until the code is redeemed.
    pub pkce_verifier: Zeroizing<String>,
    /// The redirect URI, sent again when the code is redeemed.
    pub redirect_uri: String,
}

impl std::fmt::Debug for AuthCodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCodeRequest")
            .field("url", &self.url)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// What the token endpoint returns for a user: tokens and the validated ID token's claims.
#[derive(Clone)]
pub struct UserTokens {
    /// The access token.
    pub access_token: Zeroizing<String>,
    /// The ID token as received.
    pub id_token: Option<String>,
    /// The refresh token, if `offline_access` was asked for.
    pub refresh_token: Option<Zeroizing<String>>,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The validated ID token claims, when there is an ID token.
    pub id_token_claims: Option<serde_json::Value>,
}

impl std::fmt::Debug for UserTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserTokens")
            .field("expires_in", &self.expires_in)
            .field("id_token_claims", &self.id_token_claims)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
pub(crate) struct UserTokenResponse {
    access_token: String,
    id_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

fn random_b64(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| Error::InvalidResponse("no randomness available".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// The S256 PKCE challenge of a verifier (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

impl ConfidentialClient {
    /// The authorization URL for a sign-in: `response_type=code`, PKCE S256, fresh `state` and
    /// `nonce`. `openid profile offline_access` are added to `scopes`.
    pub async fn auth_code_url(
        &self,
        redirect_uri: &str,
        scopes: &[&str],
        prompt: Option<&str>,
    ) -> Result<AuthCodeRequest> {
        let metadata = self.metadata().await?;
        let endpoint = metadata
            .authorization_endpoint
            .clone()
            .ok_or_else(|| Error::Discovery {
                url: self.authority().metadata_url(),
                detail: "no authorization_endpoint".into(),
            })?;
        let (state, nonce) = (random_b64(16)?, random_b64(16)?);
        let verifier = Zeroizing::new(random_b64(32)?);
        let mut all: Vec<&str> = vec!["openid", "profile", "offline_access"];
        all.extend(
            scopes
                .iter()
                .filter(|s| !["openid", "profile", "offline_access"].contains(s)),
        );
        let mut url = url::Url::parse(&endpoint).map_err(|e| Error::Discovery {
            url: endpoint.clone(),
            detail: e.to_string(),
        })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", self.client_id())
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("response_mode", "query")
                .append_pair("scope", &all.join(" "))
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &pkce_challenge(&verifier))
                .append_pair("code_challenge_method", "S256");
            if let Some(prompt) = prompt {
                query.append_pair("prompt", prompt);
            }
        }
        Ok(AuthCodeRequest {
            url: url.into(),
            state,
            nonce,
            pkce_verifier: verifier,
            redirect_uri: redirect_uri.to_owned(),
        })
    }

    /// Redeems an authorization code (checking `state` first), and validates the ID token
    /// against the request's nonce.
    pub async fn acquire_token_by_code(
        &self,
        request: &AuthCodeRequest,
        code: &str,
        returned_state: &str,
    ) -> Result<UserTokens> {
        if aws_lc_rs::constant_time::verify_slices_are_equal(request.state.as_bytes(), returned_state.as_bytes())
            .is_err()
        {
            return Err(Error::InvalidResponse(
                "the state returned with the code is not the one sent: a forged redirect".into(),
            ));
        }
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", request.redirect_uri.clone()),
            ("code_verifier", request.pkce_verifier.as_str().to_owned()),
        ];
        self.redeem(form, Some(&request.nonce)).await
    }

    /// Redeems a refresh token for new tokens (the server may rotate the refresh token).
    pub async fn acquire_token_by_refresh_token(&self, refresh_token: &str, scopes: &[&str]) -> Result<UserTokens> {
        let mut all: Vec<&str> = vec!["openid", "profile", "offline_access"];
        all.extend(
            scopes
                .iter()
                .filter(|s| !["openid", "profile", "offline_access"].contains(s)),
        );
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.to_owned()),
            ("scope", all.join(" ")),
        ];
        self.redeem(form, None).await
    }

    async fn redeem(&self, form: Vec<(&'static str, String)>, nonce: Option<&str>) -> Result<UserTokens> {
        let metadata = self.metadata().await?;
        let body = self.post_authenticated(&metadata.token_endpoint, form).await?;
        let response: UserTokenResponse =
            serde_json::from_slice(&body).map_err(|e| Error::InvalidResponse(e.to_string()))?;
        let id_token_claims = match &response.id_token {
            Some(id_token) => Some(self.validate_id_token(id_token, nonce).await?),
            None => None,
        };
        let expires_in = match &response.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0),
            Some(serde_json::Value::String(s)) => s.parse().unwrap_or(0),
            _ => 0,
        };
        Ok(UserTokens {
            access_token: Zeroizing::new(response.access_token),
            id_token: response.id_token,
            refresh_token: response.refresh_token.map(Zeroizing::new),
            expires_in,
            id_token_claims,
        })
    }

    /// Validates an ID token: signature by a key of the authority's JWKS (RS256), issuer,
    /// audience (this client), expiry (5 minutes of skew) and, when given, the nonce.
    pub async fn validate_id_token(&self, id_token: &str, nonce: Option<&str>) -> Result<serde_json::Value> {
        let metadata = self.metadata().await?;
        let jwks = self.jwks(&metadata.jwks_uri).await?;
        validate_id_token(
            id_token,
            &jwks,
            &metadata.issuer,
            self.client_id(),
            nonce,
            OffsetDateTime::now_utc(),
        )
    }
}

/// The checks of [`ConfidentialClient::validate_id_token`], over a JWKS already fetched.
pub fn validate_id_token(
    id_token: &str,
    jwks: &Jwks,
    issuer: &str,
    client_id: &str,
    nonce: Option<&str>,
    now: OffsetDateTime,
) -> Result<serde_json::Value> {
    let invalid = |m: String| Error::InvalidIdToken(m);
    let jws = Jws::parse(id_token).map_err(|e| invalid(e.to_string()))?;
    let kid = jws
        .header()
        .kid
        .clone()
        .ok_or_else(|| invalid("no kid header".into()))?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| invalid(format!("the key {kid} is not in the authority's JWKS")))?;
    let key = VerifyingKey::from_jwk(jwk).map_err(|e| invalid(e.to_string()))?;
    #[derive(Deserialize)]
    struct Claims {
        iss: String,
        aud: String,
        exp: NumericDate,
        nbf: Option<NumericDate>,
        nonce: Option<String>,
    }
    let claims: Claims = jws
        .verified_claims(&key, &[Algorithm::Rs256])
        .map_err(|e| invalid(e.to_string()))?;
    let skew = 300;
    let now = now.unix_timestamp();
    if claims.iss != issuer {
        return Err(invalid(format!("issuer {} is not {issuer}", claims.iss)));
    }
    if claims.aud != client_id {
        return Err(invalid(format!("audience {} is not this client", claims.aud)));
    }
    if claims.exp.as_unix() + skew < now || claims.nbf.is_some_and(|n| n.as_unix() > now + skew) {
        return Err(invalid("it is expired or not yet valid".into()));
    }
    if let Some(expected) = nonce
        && claims.nonce.as_deref() != Some(expected)
    {
        return Err(invalid(
            "the nonce is not the one sent: a replayed or injected token".into(),
        ));
    }
    jws.claims().map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_jose::{Header, Jwk, SigningKey};
    use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey};
    use serde_json::json;

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn id_tokens_are_checked_for_signature_issuer_audience_time_and_nonce() {
        let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
        let cert = CertificateSpec::new(Name::parse("CN=signing").unwrap())
            .self_signed(&key)
            .unwrap();
        let jwk = Jwk::from_certificate(&cert, Some("k1")).unwrap();
        let jwks = Jwks { keys: vec![jwk] };
        let signer = SigningKey::new(&key, Algorithm::Rs256).unwrap();
        let now = OffsetDateTime::now_utc();
        let t = now.unix_timestamp();
        let token = |claims: serde_json::Value, kid: &str| {
            signer
                .sign(&Header::new(Algorithm::Rs256).with_kid(kid), &claims)
                .unwrap()
        };
        let good =
            json!({"iss": "https://id/t/v2.0", "aud": "client", "exp": t + 3600, "nbf": t, "nonce": "n1", "oid": "u"});
        let ok = validate_id_token(
            &token(good.clone(), "k1"),
            &jwks,
            "https://id/t/v2.0",
            "client",
            Some("n1"),
            now,
        )
        .unwrap();
        assert_eq!(ok["oid"], "u");
        let check = |claims: serde_json::Value, kid: &str, nonce: Option<&str>| {
            validate_id_token(&token(claims, kid), &jwks, "https://id/t/v2.0", "client", nonce, now)
                .unwrap_err()
                .to_string()
        };
        let with = |field: &str, value: serde_json::Value| {
            let mut c = good.clone();
            c[field] = value;
            c
        };
        assert!(check(good.clone(), "k1", Some("other")).contains("nonce"));
        assert!(check(with("aud", json!("someone-else")), "k1", None).contains("audience"));
        assert!(check(with("iss", json!("https://evil/t/v2.0")), "k1", None).contains("issuer"));
        assert!(check(with("exp", json!(t - 400)), "k1", None).contains("expired"));
        assert!(check(good.clone(), "unknown", None).contains("not in"));
        let other = PrivateKey::generate(KeyType::Rsa2048).unwrap();
        let forged = SigningKey::new(&other, Algorithm::Rs256)
            .unwrap()
            .sign(&Header::new(Algorithm::Rs256).with_kid("k1"), &good)
            .unwrap();
        assert!(validate_id_token(&forged, &jwks, "https://id/t/v2.0", "client", Some("n1"), now).is_err());
    }
}
