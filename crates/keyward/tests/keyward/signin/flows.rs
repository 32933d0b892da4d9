//! The flows that must work: sign-up, code, tokens, refresh, single sign-on, logout,
//! `prompt=none`, `form_post`, public clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::browser::{Browser, params};
use super::flow::*;
use crate::common::{Server, claims_of, now};

#[tokio::test]
async fn sign_up_then_code_tokens_refresh_and_logout() {
    let server = Server::start();
    let app = web_app(&server, "webapp");
    let discovery = server.get_json("/contoso/v2.0/.well-known/openid-configuration").await;
    let issuer = discovery["issuer"].as_str().unwrap().to_owned();
    let tenant_id = issuer.trim_end_matches("/v2.0").rsplit('/').next().unwrap().to_owned();

    // Sign up in the browser.
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let response = sign_up(&browser, &app, &challenge, "Alice@Example.com", "Alice Smith").await;
    let code = code_of(&response);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let session = browser
        .cookie(&session_cookie(&tenant_id))
        .expect("a session cookie after sign-up");
    assert_eq!(session.len(), 43, "256 random bits");

    // Redeem the code.
    let (status, tokens) = redeem(&server, &app, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_i64().unwrap() > 3000, "{tokens}");
    assert!(tokens["ext_expires_in"].is_i64());
    let scope = tokens["scope"].as_str().unwrap();
    for s in ["openid", "profile", "offline_access"] {
        assert!(scope.split(' ').any(|x| x == s), "scope {scope}");
    }
    let id_token = tokens["id_token"].as_str().expect("id_token");
    let access_token = tokens["access_token"].as_str().expect("access_token");
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh_token");
    verify_with_jwks(&server, id_token).await;
    verify_with_jwks(&server, access_token).await;

    // The ID token (contract §4).
    let id = claims_of(id_token);
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(id_token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());
    assert_eq!(id["aud"], app.app_id.as_str());
    assert_eq!(id["iss"], issuer.as_str());
    assert_eq!(id["tid"], tenant_id.as_str());
    assert_eq!(id["nonce"], "nonce-123");
    assert_eq!(id["preferred_username"], "alice@example.com");
    assert_eq!(id["name"], "Alice Smith");
    assert_eq!(id["ver"], "2.0");
    assert_eq!(id["sub"], id["oid"]);
    assert!(id["sid"].is_string());
    let t = now();
    assert!(id["iat"].as_i64().unwrap() <= t + 5 && id["nbf"].as_i64().unwrap() <= t + 5);
    assert!(id["exp"].as_i64().unwrap() > t);
    let oid = id["oid"].as_str().unwrap().to_owned();

    // The access token: for Microsoft Graph (only OIDC scopes), a user token.
    let access = claims_of(access_token);
    assert_eq!(access["aud"], "00000003-0000-0000-c000-000000000000");
    assert_eq!(access["idtyp"], "user");
    assert_eq!(access["oid"], oid.as_str());
    assert_eq!(access["sub"], oid.as_str());
    assert_eq!(access["azp"], app.app_id.as_str());
    assert_eq!(access["azpacr"], "1", "authenticated with a secret");
    assert_eq!(access["scp"], "User.Read");
    assert_eq!(access["iss"], issuer.as_str());
    assert!(access.get("roles").is_none());

    // client_info, as MSAL reads it.
    let info: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(tokens["client_info"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(info["uid"], oid.as_str());
    assert_eq!(info["utid"], tenant_id.as_str());

    // A user token is no key to the management API.
    let graph = reqwest::Client::builder()
        .use_preconfigured_tls(tls(&server))
        .build()
        .unwrap()
        .get(format!("{}/v1.0/applications", server.url))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(graph.status().as_u16(), 403);

    // Refresh: a new refresh token each time; the response has new tokens.
    let (status, refreshed) = refresh(&server, &app, refresh_token).await;
    assert_eq!(status, 200, "{refreshed}");
    let second = refreshed["refresh_token"].as_str().expect("rotated refresh token");
    assert_ne!(second, refresh_token);
    let id2 = claims_of(refreshed["id_token"].as_str().expect("id_token on refresh"));
    assert_eq!(id2["oid"], oid.as_str());
    assert_eq!(id2["sid"], id["sid"]);
    assert!(id2.get("nonce").is_none());
    let (status, again) = refresh(&server, &app, second).await;
    assert_eq!(status, 200, "{again}");

    // Single sign-on: another authorization answers at once, without a page.
    let (verifier2, challenge2) = pkce();
    let sso = browser.get(&authorize_url(&app, &challenge2, &[])).await;
    let code2 = code_of(&sso);
    let (status, tokens2) = redeem(&server, &app, &code2, Some(&verifier2)).await;
    assert_eq!(status, 200, "{tokens2}");
    assert_eq!(claims_of(tokens2["id_token"].as_str().unwrap())["sid"], id["sid"]);

    // Logout: back to a registered URI with state, session cookie cleared.
    let logout = browser
        .get(&format!(
            "/contoso/oauth2/v2.0/logout?post_logout_redirect_uri={}&client_id={}&state=bye",
            urlencode(HOME),
            app.app_id
        ))
        .await;
    assert_eq!(logout.status, 302, "{}", logout.body);
    assert_eq!(logout.location().as_deref(), Some("https://localhost:3000/?state=bye"));
    assert!(browser.cookie(&session_cookie(&tenant_id)).is_none());

    // The old session handle is dead even if replayed.
    browser.set_cookie(&session_cookie(&tenant_id), &session);
    let (_, challenge3) = pkce();
    let silent = browser
        .get(&authorize_url(&app, &challenge3, &[("prompt", "none")]))
        .await;
    assert_eq!(silent.status, 302);
    let p = params(&silent.location().unwrap());
    assert_eq!(p["error"], "login_required");
}

fn tls(server: &Server) -> rustls::ClientConfig {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in keyward_pki::read(&server.ca_pem(), None).unwrap().certificates {
        roots
            .add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
            .unwrap();
    }
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

pub fn urlencode(s: &str) -> String {
    let mut url = reqwest::Url::parse("https://x/").unwrap();
    url.query_pairs_mut().append_pair("v", s);
    url.query().unwrap().trim_start_matches("v=").to_owned()
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let server = Server::start();
    let app = web_app(&server, "silent");
    let browser = Browser::new(&server);
    let (_, challenge) = pkce();
    let response = browser
        .get(&authorize_url(&app, &challenge, &[("prompt", "none")]))
        .await;
    assert_eq!(response.status, 302, "{}", response.body);
    let location = response.location().unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let p = params(&location);
    assert_eq!(p["error"], "login_required");
    assert!(p["error_description"].starts_with("AADSTS50058:"), "{location}");
    assert_eq!(p["state"], "st-1&x=<y>");
    assert!(!p.contains_key("code"));
}

#[tokio::test]
async fn form_post_answers_with_a_self_posting_form() {
    let server = Server::start();
    let app = web_app(&server, "poster");
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let page = browser
        .get(&authorize_url(
            &app,
            &challenge,
            &[("prompt", "create"), ("response_mode", "form_post")],
        ))
        .await;
    let csp = page.header("content-security-policy").unwrap().to_owned();
    assert!(csp.contains("form-action 'self' https://localhost:3000"), "{csp}");
    let response = browser
        .submit(
            &page,
            &[
                ("email", "poster@example.com"),
                ("display_name", "P"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.location().is_none());
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
    let csp = response.header("content-security-policy").unwrap();
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp
        .split("script-src 'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce");
    assert!(
        response.body.contains(&format!("<script nonce=\"{nonce}\">")),
        "{}",
        response.body
    );
    assert!(response.body.contains("<noscript>"), "a button without JavaScript");
    let form = response.form();
    assert_eq!(form.action, REDIRECT);
    assert_eq!(form.field("state"), Some("st-1&x=<y>"));
    let code = form.field("code").expect("code field").to_owned();
    let (status, tokens) = redeem(&server, &app, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
}

#[tokio::test]
async fn sign_in_with_a_certificate_client_and_a_resource_scope() {
    let server = Server::start();
    // An application with a certificate, calling its own API's scope.
    let client = server.client("certweb");
    // Give the certificate client the redirect URI.
    let shown = server.keyward(&["app", "show", "certweb"]);
    let object_id = shown["id"].as_str().unwrap().to_owned();
    let admin_token = admin_token(&server).await;
    let status = server
        .patch_json(
            &format!("/v1.0/applications/{object_id}"),
            &admin_token,
            &serde_json::json!({"web": {"redirectUris": [REDIRECT]}}),
        )
        .await;
    assert_eq!(status, 204);
    let app = WebApp {
        app_id: client.app_id.clone(),
        secret: None,
        redirect: REDIRECT.into(),
    };
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let scope = "openid profile offline_access api://certweb-api/Tasks.Read";
    let page = browser
        .get(&authorize_url(
            &app,
            &challenge,
            &[("prompt", "create"), ("scope", scope)],
        ))
        .await;
    let response = browser
        .submit(
            &page,
            &[
                ("email", "cert@example.com"),
                ("display_name", "C"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let code = code_of(&response);
    let assertion = client.assertion(&server);
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client.app_id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
        ("client_assertion_type", crate::common::JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ];
    let (status, tokens) = server.token("contoso", &form).await;
    assert_eq!(status, 200, "{tokens}");
    let access = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], client.resource_app_id.as_str());
    assert_eq!(access["scp"], "Tasks.Read");
    assert_eq!(access["azpacr"], "2");
    assert!(
        tokens["scope"]
            .as_str()
            .unwrap()
            .contains("api://certweb-api/Tasks.Read")
    );
    // A confidential client that does not authenticate is refused, even with the verifier.
    let (verifier, challenge) = pkce();
    let code = code_of(&browser.get(&authorize_url(&app, &challenge, &[("scope", scope)])).await);
    let (status, body) = redeem(&server, &app, &code, Some(&verifier)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_codes"][0], 7000218);
}

/// A Graph token of the bootstrap admin, as the CLI gets it.
pub async fn admin_token(server: &Server) -> String {
    let dir = server.data();
    let admin: Value = serde_json::from_slice(&std::fs::read(dir.join("admin/admin.json")).unwrap()).unwrap();
    let credential = keyward_client::CertificateCredential::from_pem(
        &std::fs::read(dir.join("admin/admin.pem")).unwrap(),
        &std::fs::read(dir.join("admin/admin.key")).unwrap(),
        None,
    )
    .unwrap();
    let client = keyward_client::ConfidentialClient::builder(
        &format!("{}/{}", server.url, admin["tenantId"].as_str().unwrap()),
        admin["appId"].as_str().unwrap(),
        credential,
    )
    .trust_ca(&server.ca_pem())
    .build()
    .unwrap();
    client
        .acquire_token_for_client(&["https://graph.microsoft.com/.default"])
        .await
        .unwrap()
        .secret()
        .to_owned()
}

#[tokio::test]
async fn public_clients_sign_in_with_pkce_and_no_secret() {
    let server = Server::start();
    let app = public_app(&server, "spa");
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let response = sign_up(&browser, &app, &challenge, "pub@example.com", "Pub").await;
    let code = code_of(&response);
    let (status, tokens) = redeem(&server, &app, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(claims_of(tokens["access_token"].as_str().unwrap())["azpacr"], "0");
    let (status, refreshed) = refresh(&server, &app, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{refreshed}");
    // A public client never gets app-only tokens.
    let (status, body) = server
        .token(
            "contoso",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.app_id),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_codes"][0], 7000218);
}

#[tokio::test]
async fn signing_in_again_ends_the_previous_session() {
    let server = Server::start();
    let app = web_app(&server, "again");
    let discovery = server.get_json("/contoso/v2.0/.well-known/openid-configuration").await;
    let issuer = discovery["issuer"].as_str().unwrap().to_owned();
    let tenant_id = issuer.trim_end_matches("/v2.0").rsplit('/').next().unwrap().to_owned();
    let cookie = session_cookie(&tenant_id);

    let (browser, _) = signed_up_tokens(&server, &app, "again@example.com").await;
    let first = browser.cookie(&cookie).unwrap();
    let (_, challenge) = pkce();
    let page = browser
        .get(&authorize_url(&app, &challenge, &[("prompt", "login")]))
        .await;
    assert_eq!(page.status, 200, "prompt=login shows the form despite the session");
    code_of(
        &browser
            .submit(&page, &[("email", "again@example.com"), ("password", PASSWORD)])
            .await,
    );
    let second = browser.cookie(&cookie).unwrap();
    assert_ne!(first, second);
    // The first session's handle is dead.
    let old = Browser::new(&server);
    old.set_cookie(&cookie, &first);
    let silent = old.get(&authorize_url(&app, &challenge, &[("prompt", "none")])).await;
    assert_eq!(params(&silent.location().unwrap())["error"], "login_required");
    // The second is alive.
    let silent = browser
        .get(&authorize_url(&app, &challenge, &[("prompt", "none")]))
        .await;
    code_of(&silent);
}
