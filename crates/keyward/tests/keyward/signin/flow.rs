//! The steps of the sign-in flow, as a web application and its user's browser take them.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_jose::{Algorithm, Jwks, Jws, VerifyingKey};
use serde_json::Value;

use super::browser::{Browser, Page, params};
use crate::common::Server;

pub const REDIRECT: &str = "https://localhost:3000/auth/redirect";
pub const HOME: &str = "https://localhost:3000/";
pub const PASSWORD: &str = "correct horse battery";

/// A registered web application.
#[derive(Clone)]
pub struct WebApp {
    pub app_id: String,
    /// `None` for a public client.
    pub secret: Option<String>,
    pub redirect: String,
}

/// Registers a confidential web app (a client secret) with the sample's redirect URIs.
pub fn web_app(server: &Server, name: &str) -> WebApp {
    let created = server.keyward(&[
        "app",
        "create",
        "--name",
        name,
        "--redirect-uri",
        REDIRECT,
        "--redirect-uri",
        HOME,
    ]);
    let secret = server.keyward(&["app", "secret", "add", name]);
    WebApp {
        app_id: created["appId"].as_str().expect("appId").to_owned(),
        secret: Some(secret["secretText"].as_str().expect("secretText").to_owned()),
        redirect: REDIRECT.to_owned(),
    }
}

/// Registers a public client (no credential) with a plain http://localhost redirect URI.
pub fn public_app(server: &Server, name: &str) -> WebApp {
    let created = server.keyward(&[
        "app",
        "create",
        "--name",
        name,
        "--redirect-uri",
        "http://localhost:3000",
    ]);
    WebApp {
        app_id: created["appId"].as_str().expect("appId").to_owned(),
        secret: None,
        redirect: "http://localhost:3000".to_owned(),
    }
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

/// `/contoso/oauth2/v2.0/authorize?...` with MSAL Node's parameters, `overrides` replacing
/// or (with an empty value) removing them.
pub fn authorize_url(app: &WebApp, challenge: &str, overrides: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = [
        ("client_id", app.app_id.as_str()),
        ("scope", "openid profile offline_access"),
        ("redirect_uri", app.redirect.as_str()),
        ("client-request-id", "5b7f8c3e-0000-4000-8000-000000000001"),
        ("response_mode", "query"),
        ("response_type", "code"),
        ("x-client-SKU", "msal.js.node"),
        ("client_info", "1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("state", "st-1&x=<y>"),
        ("nonce", "nonce-123"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in overrides {
        pairs.retain(|(name, _)| name != k);
        if !v.is_empty() {
            pairs.push(((*k).to_owned(), (*v).to_owned()));
        }
    }
    let mut url = reqwest::Url::parse("https://x/contoso/oauth2/v2.0/authorize").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    format!("/contoso/oauth2/v2.0/authorize?{}", url.query().unwrap())
}

/// Signs up through the hosted pages (`prompt=create`); returns the response that answers the
/// application (a redirect, normally).
pub async fn sign_up(browser: &Browser, app: &WebApp, challenge: &str, email: &str, name: &str) -> Page {
    let page = browser
        .get(&authorize_url(app, challenge, &[("prompt", "create")]))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"autocomplete="new-password""#), "{}", page.body);
    browser
        .submit(
            &page,
            &[("email", email), ("display_name", name), ("password", PASSWORD)],
        )
        .await
}

/// Signs in through the hosted page with `password`.
pub async fn sign_in(browser: &Browser, app: &WebApp, challenge: &str, email: &str, password: &str) -> Page {
    let page = browser.get(&authorize_url(app, challenge, &[])).await;
    assert_eq!(page.status, 200, "{}", page.body);
    browser.submit(&page, &[("email", email), ("password", password)]).await
}

/// The code of a redirect to the application (checking `state` came back).
pub fn code_of(page: &Page) -> String {
    assert_eq!(page.status, 302, "expected a redirect, got: {}", page.body);
    let location = page.location().expect("Location");
    assert!(
        location.starts_with(REDIRECT) || location.starts_with("http://localhost:3000"),
        "{location}"
    );
    let p = params(&location);
    assert_eq!(p.get("state").map(String::as_str), Some("st-1&x=<y>"), "{location}");
    p.get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code in {location}"))
}

/// Redeems a code as the application (its secret, when it has one).
pub async fn redeem(server: &Server, app: &WebApp, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", app.app_id.as_str()),
        ("code", code),
        ("redirect_uri", app.redirect.as_str()),
        ("scope", "openid profile offline_access"),
        ("client_info", "1"),
    ];
    if let Some(secret) = &app.secret {
        form.push(("client_secret", secret));
    }
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    server.token("contoso", &form).await
}

/// Uses a refresh token as the application.
pub async fn refresh(server: &Server, app: &WebApp, refresh_token: &str) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", app.app_id.as_str()),
        ("refresh_token", refresh_token),
        ("scope", "openid profile offline_access"),
    ];
    if let Some(secret) = &app.secret {
        form.push(("client_secret", secret));
    }
    server.token("contoso", &form).await
}

/// Signs up a new user and redeems the code: the token response.
pub async fn signed_up_tokens(server: &Server, app: &WebApp, email: &str) -> (Browser, Value) {
    let browser = Browser::new(server);
    let (verifier, challenge) = pkce();
    let response = sign_up(&browser, app, &challenge, email, "Test User").await;
    let code = code_of(&response);
    let (status, tokens) = redeem(server, app, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    (browser, tokens)
}

/// Verifies a token's RS256 signature with the tenant's published keys.
pub async fn verify_with_jwks(server: &Server, token: &str) {
    let jwks: Jwks = serde_json::from_value(server.get_json("/contoso/discovery/v2.0/keys").await).expect("JWKS");
    let jws = Jws::parse(token).expect("a JWS");
    let kid = jws.header().kid.clone().expect("kid");
    let jwk = jwks.find(&kid).unwrap_or_else(|| panic!("kid {kid} is not published"));
    let key = VerifyingKey::from_jwk(jwk).expect("key");
    jws.verify(&key, &[Algorithm::Rs256])
        .expect("signature verifies with the JWKS");
}

/// The session cookie's name for a tenant id.
pub fn session_cookie(tenant_id: &str) -> String {
    format!("__Host-keyward-session-{}", tenant_id.replace('-', ""))
}
