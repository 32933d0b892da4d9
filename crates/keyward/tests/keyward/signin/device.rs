//! The device authorization grant (RFC 8628) against a real server: a device asks for a code,
//! a browser enters it on the verification page, signs in and answers, and the device polls the
//! token endpoint. Each refusal carries the RFC 8628 error.

use serde_json::Value;

use super::browser::{Browser, Page};
use super::flow::{PASSWORD, public_app, verify_with_jwks};
use crate::common::{Server, assert_oauth_error, claims_of};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn create_user(server: &Server, email: &str) {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("pw");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    server.keyward(&[
        "user",
        "create",
        "--email",
        email,
        "--password-file",
        password_file.to_str().unwrap(),
    ]);
}

/// Asks the device authorization endpoint of contoso for a code.
pub(super) async fn device_code(server: &Server, client_id: &str) -> Value {
    let url = format!("{}/contoso/oauth2/v2.0/devicecode", server.url);
    let form = [("client_id", client_id), ("scope", "openid profile offline_access")];
    let (status, body) = server.post_form(&url, &form, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

pub(super) async fn poll(server: &Server, tenant: &str, client_id: &str, started: &Value) -> (u16, Value) {
    let form = [
        ("grant_type", DEVICE_GRANT),
        ("client_id", client_id),
        ("device_code", started["device_code"].as_str().unwrap()),
    ];
    server.token(tenant, &form).await
}

/// Opens the verification URI and enters `code`.
async fn enter(browser: &Browser, started: &Value, code: &str) -> Page {
    let page = browser.get(started["verification_uri"].as_str().unwrap()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    browser.submit(&page, &[("code", code)]).await
}

/// Enters the device's code, signs in as `email` if the page asks, and answers.
async fn answer(browser: &Browser, started: &Value, email: &str, decision: &str) -> Page {
    let mut page = enter(browser, started, started["user_code"].as_str().unwrap()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    if page.body.contains("name=\"password\"") {
        page = browser.submit(&page, &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
    assert!(
        page.body.contains(&format!("Continue as <strong>{email}</strong>")),
        "{}",
        page.body
    );
    browser.submit(&page, &[("decision", decision)]).await
}

#[tokio::test]
async fn a_device_gets_the_users_tokens_once_they_approve() {
    let server = Server::start();
    let app = public_app(&server, "device-cli");
    create_user(&server, "dev@example.com");
    let started = device_code(&server, &app.app_id).await;
    let verification_uri = started["verification_uri"].as_str().unwrap();
    assert_eq!(
        verification_uri,
        format!("{}/contoso/oauth2/v2.0/devicecode/verify", server.url)
    );
    assert_eq!(started["interval"], 5);
    assert_eq!(started["expires_in"], 900);

    // Pending until the user answers; a poll right after another is slowed down.
    assert_oauth_error(
        &poll(&server, "contoso", &app.app_id, &started).await,
        400,
        "authorization_pending",
        70016,
    );
    assert_oauth_error(
        &poll(&server, "contoso", &app.app_id, &started).await,
        400,
        "slow_down",
        70016,
    );

    let browser = Browser::new(&server);
    // A wrong code first: a clear message on the page, and the form again.
    let wrong = enter(&browser, &started, "BCDF-GHJK").await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(
        wrong.error_message().unwrap().starts_with("That code is not valid"),
        "{}",
        wrong.body
    );
    let done = answer(&browser, &started, "dev@example.com", "allow").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("You have signed in to device-cli"), "{}", done.body);
    assert!(
        done.header("content-security-policy")
            .unwrap()
            .contains("form-action 'self'")
    );

    // The interval passes; then the tokens, for this user.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let (status, tokens) = poll(&server, "contoso", &app.app_id, &started).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    verify_with_jwks(&server, id_token).await;
    verify_with_jwks(&server, tokens["access_token"].as_str().unwrap()).await;
    let claims = claims_of(id_token);
    assert_eq!(claims["preferred_username"], "dev@example.com");
    assert_eq!(claims["aud"], app.app_id);
    assert!(tokens["refresh_token"].is_string());

    // Used twice: refused.
    assert_oauth_error(
        &poll(&server, "contoso", &app.app_id, &started).await,
        400,
        "invalid_grant",
        54005,
    );
}

#[tokio::test]
async fn denied_other_client_and_other_tenant_are_refused() {
    let server = Server::start();
    let app = public_app(&server, "device-cli");
    let other = public_app(&server, "other-cli");
    create_user(&server, "deny@example.com");
    let browser = Browser::new(&server);

    let denied = device_code(&server, &app.app_id).await;
    let done = answer(&browser, &denied, "deny@example.com", "deny").await;
    assert!(done.body.contains("Sign-in declined"), "{}", done.body);
    assert_oauth_error(
        &poll(&server, "contoso", &app.app_id, &denied).await,
        400,
        "authorization_declined",
        65004,
    );

    // The browser is signed in now: the next code asks no password.
    let started = device_code(&server, &app.app_id).await;
    let done = answer(&browser, &started, "deny@example.com", "allow").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_oauth_error(
        &poll(&server, "contoso", &other.app_id, &started).await,
        400,
        "invalid_grant",
        700005,
    );
    // At another tenant's endpoint, the client itself is unknown.
    let (status, body) = poll(&server, "fabrikam", &app.app_id, &started).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    // Neither used it up.
    let (status, tokens) = poll(&server, "contoso", &app.app_id, &started).await;
    assert_eq!(status, 200, "{tokens}");
}
