//! The device authorization grant (RFC 8628) through the router: the device authorization
//! endpoint, the verification page (code, sign-in, answer), and every refusal of the poll.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use keyward_authority::{NewApplication, NewUser};
use serde_json::Value;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::common::{Harness, ORIGIN, Reply, form_request, harness, harness_with, json_request, send};

const PASSWORD: &str = "correct horse battery";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The value of a hidden field of a page.
fn field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no {name} in {page}")) + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// The `name=value` of each cookie the reply sets.
fn cookies(reply: &Reply) -> Vec<String> {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect()
}

/// A browser of the tests: its cookies and its address.
struct Browser {
    cookies: Vec<String>,
    address: SocketAddr,
}

impl Browser {
    fn new() -> Self {
        Self {
            cookies: Vec::new(),
            address: "192.0.2.7:50000".parse().unwrap(),
        }
    }

    fn keep(&mut self, reply: &Reply) {
        for cookie in cookies(reply) {
            let name = cookie.split('=').next().unwrap().to_owned();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            self.cookies.push(cookie);
        }
    }

    fn dress(&self, mut request: Request<Body>) -> Request<Body> {
        if !self.cookies.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, self.cookies.join("; ").parse().unwrap());
        }
        request.extensions_mut().insert(ConnectInfo(self.address));
        request
    }

    async fn get(&mut self, h: &Harness, uri: &str) -> Reply {
        let reply = send(&h.router, self.dress(json_request(Method::GET, uri, None, None))).await;
        self.keep(&reply);
        reply
    }

    async fn post(&mut self, h: &Harness, uri: &str, pairs: &[(&str, &str)]) -> Reply {
        let reply = send(&h.router, self.dress(form_request(uri, pairs))).await;
        self.keep(&reply);
        reply
    }
}

/// A public client (no credential) of the tenant.
async fn public_app(h: &Harness, tenant_id: Uuid, name: &str) -> String {
    let new = NewApplication {
        display_name: name.into(),
        ..NewApplication::default()
    };
    let app = h.authority.create_application(tenant_id, new).await.unwrap();
    app.app.app_id.to_string()
}

async fn user(h: &Harness, email: &str) {
    let new_user = NewUser {
        email: email.into(),
        display_name: Some("Ann".into()),
        password: Zeroizing::new(PASSWORD.into()),
        enabled: true,
        email_verified: true,
    };
    h.authority.create_user(h.tenant_id, new_user).await.unwrap();
}

/// Asks for a device code as `client_id`.
async fn device_code(h: &Harness, client_id: &str) -> Value {
    let form = [("client_id", client_id), ("scope", "openid profile offline_access")];
    let reply = send(&h.router, form_request("/contoso/oauth2/v2.0/devicecode", &form)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

/// Polls the token endpoint of `tenant` as `client_id`.
async fn poll(h: &Harness, tenant: &str, client_id: &str, device_code: &Value) -> Reply {
    let form = [
        ("grant_type", DEVICE_GRANT),
        ("client_id", client_id),
        ("device_code", device_code["device_code"].as_str().unwrap()),
    ];
    send(&h.router, form_request(&format!("/{tenant}/oauth2/v2.0/token"), &form)).await
}

fn assert_refused(reply: &Reply, error: &str, code: u64) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.body["error"], error, "{}", reply.body);
    assert_eq!(reply.body["error_codes"][0], code, "{}", reply.body);
    assert!(reply.body.get("access_token").is_none());
}

/// The page path of the verification URI.
fn verify_path(started: &Value) -> String {
    let uri = started["verification_uri"].as_str().unwrap();
    uri.strip_prefix(ORIGIN).unwrap().to_owned()
}

/// Enters the user code on the verification page, signs in and answers.
async fn answer(h: &Harness, browser: &mut Browser, started: &Value, allow: bool) -> Reply {
    let path = verify_path(started);
    let page = browser.get(h, &path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let csrf = field(page.text(), "csrf");
    // Typed in lowercase with a dash: the same code.
    let code = started["user_code"].as_str().unwrap().to_ascii_lowercase();
    let typed = format!("{}-{}", &code[..4], &code[4..]);
    let action = format!("/{}/oauth2/v2.0/devicecode/verify", h.tenant_id);
    let entered = browser.post(h, &action, &[("csrf", &csrf), ("code", &typed)]).await;
    assert_eq!(entered.status, StatusCode::OK, "{}", entered.text());
    let ticket = field(entered.text(), "ticket");
    let confirm = if entered.text().contains("name=\"password\"") {
        let form = [
            ("csrf", csrf.as_str()),
            ("ticket", ticket.as_str()),
            ("email", "ann@example.com"),
            ("password", PASSWORD),
        ];
        browser.post(h, &format!("{action}/signin"), &form).await
    } else {
        entered
    };
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text());
    assert!(
        confirm.text().contains("Continue as <strong>ann@example.com</strong>"),
        "{}",
        confirm.text()
    );
    let decision = if allow { "allow" } else { "deny" };
    let form = [
        ("csrf", csrf.as_str()),
        ("ticket", ticket.as_str()),
        ("decision", decision),
    ];
    browser.post(h, &format!("{action}/decide"), &form).await
}

#[tokio::test]
async fn a_device_signs_in_once_the_user_approves() {
    let h = harness().await;
    let client_id = public_app(&h, h.tenant_id, "cli").await;
    user(&h, "ann@example.com").await;

    let started = device_code(&h, &client_id).await;
    let user_code = started["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 8);
    assert!(!user_code.contains(['0', 'O', '1', 'I']), "{user_code}");
    assert_eq!(started["expires_in"], 900);
    assert_eq!(started["interval"], 5);
    assert_eq!(
        started["verification_uri"],
        format!("{ORIGIN}/contoso/oauth2/v2.0/devicecode/verify")
    );
    assert!(started["message"].as_str().unwrap().contains(user_code));
    assert_eq!(started["device_code"].as_str().unwrap().len(), 43);

    let mut browser = Browser::new();
    let done = answer(&h, &mut browser, &started, true).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert!(done.text().contains("You have signed in to cli"), "{}", done.text());

    let tokens = poll(&h, "contoso", &client_id, &started).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert!(tokens.body["access_token"].is_string() && tokens.body["id_token"].is_string());
    let refresh_token = tokens.body["refresh_token"].as_str().unwrap().to_owned();

    // Once only: a second redemption is refused and revokes what the first one gave.
    let again = poll(&h, "contoso", &client_id, &started).await;
    assert_refused(&again, "invalid_grant", 54005);
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client_id.as_str()),
        ("refresh_token", refresh_token.as_str()),
    ];
    let refreshed = send(&h.router, form_request("/contoso/oauth2/v2.0/token", &form)).await;
    assert_refused(&refreshed, "invalid_grant", 70008);

    // The browser keeps its session: the next code needs no password, and the used code is
    // not accepted again.
    let next = device_code(&h, &client_id).await;
    let path = verify_path(&next);
    let page = browser.get(&h, &path).await;
    let csrf = field(page.text(), "csrf");
    let action = format!("/{}/oauth2/v2.0/devicecode/verify", h.tenant_id);
    let reused = browser.post(&h, &action, &[("csrf", &csrf), ("code", user_code)]).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST, "{}", reused.text());
    assert!(reused.text().contains("That code is not valid"), "{}", reused.text());
    let next_code = next["user_code"].as_str().unwrap();
    let entered = browser.post(&h, &action, &[("csrf", &csrf), ("code", next_code)]).await;
    assert!(
        entered.text().contains("Continue as <strong>ann@example.com</strong>"),
        "{}",
        entered.text()
    );
}

#[tokio::test]
async fn polls_are_refused_until_the_user_answers_and_when_too_fast() {
    let h = harness().await;
    let client_id = public_app(&h, h.tenant_id, "cli").await;
    user(&h, "ann@example.com").await;
    let started = device_code(&h, &client_id).await;
    assert_refused(
        &poll(&h, "contoso", &client_id, &started).await,
        "authorization_pending",
        70016,
    );
    assert_refused(&poll(&h, "contoso", &client_id, &started).await, "slow_down", 70016);

    // Denied: declined, and it stays so.
    let denied = device_code(&h, &client_id).await;
    let done = answer(&h, &mut Browser::new(), &denied, false).await;
    assert!(done.text().contains("Sign-in declined"), "{}", done.text());
    assert_refused(
        &poll(&h, "contoso", &client_id, &denied).await,
        "authorization_declined",
        65004,
    );

    // A device code never issued.
    let unknown = serde_json::json!({"device_code": "not-a-device-code"});
    assert_refused(
        &poll(&h, "contoso", &client_id, &unknown).await,
        "bad_verification_code",
        70018,
    );
    // No device code at all.
    let form = [("grant_type", DEVICE_GRANT), ("client_id", client_id.as_str())];
    let missing = send(&h.router, form_request("/contoso/oauth2/v2.0/token", &form)).await;
    assert_refused(&missing, "invalid_request", 900144);
}

#[tokio::test]
async fn a_device_code_is_refused_to_another_client_and_in_another_tenant() {
    let h = harness().await;
    let client_id = public_app(&h, h.tenant_id, "cli").await;
    let other_client = public_app(&h, h.tenant_id, "other").await;
    let fabrikam = h.authority.ensure_tenant("fabrikam").await.unwrap();
    let fabrikam_client = public_app(&h, fabrikam.tenant.id, "fabrikam-cli").await;
    user(&h, "ann@example.com").await;
    let started = device_code(&h, &client_id).await;
    answer(&h, &mut Browser::new(), &started, true).await;

    assert_refused(
        &poll(&h, "contoso", &other_client, &started).await,
        "invalid_grant",
        700005,
    );
    assert_refused(
        &poll(&h, "fabrikam", &fabrikam_client, &started).await,
        "invalid_grant",
        700005,
    );
    // The client is not one of that tenant's.
    assert_refused(
        &poll(&h, "fabrikam", &client_id, &started).await,
        "unauthorized_client",
        700016,
    );
    // None of them used it up: its own client gets the tokens.
    let tokens = poll(&h, "contoso", &client_id, &started).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
}

#[tokio::test]
async fn an_expired_device_code_is_refused() {
    let h = harness_with(|config| config.device_code_lifetime = time::Duration::seconds(1)).await;
    let client_id = public_app(&h, h.tenant_id, "cli").await;
    let started = device_code(&h, &client_id).await;
    assert_eq!(started["expires_in"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_refused(&poll(&h, "contoso", &client_id, &started).await, "expired_token", 70019);
    // Its user code is no longer accepted on the page.
    let mut browser = Browser::new();
    let page = browser.get(&h, &verify_path(&started)).await;
    let csrf = field(page.text(), "csrf");
    let action = format!("/{}/oauth2/v2.0/devicecode/verify", h.tenant_id);
    let code = started["user_code"].as_str().unwrap();
    let entered = browser.post(&h, &action, &[("csrf", &csrf), ("code", code)]).await;
    assert_eq!(entered.status, StatusCode::BAD_REQUEST, "{}", entered.text());
    assert!(entered.text().contains("That code is not valid"), "{}", entered.text());
}

#[tokio::test]
async fn wrong_user_codes_are_throttled_per_address() {
    let h = harness_with(|config| config.throttle.address_failures = 3).await;
    let mut browser = Browser::new();
    let page = browser.get(&h, "/contoso/oauth2/v2.0/devicecode/verify").await;
    let csrf = field(page.text(), "csrf");
    let action = format!("/{}/oauth2/v2.0/devicecode/verify", h.tenant_id);
    for _ in 0..3 {
        let wrong = browser
            .post(&h, &action, &[("csrf", &csrf), ("code", "ABCD-EFGH")])
            .await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.text());
    }
    let locked = browser
        .post(&h, &action, &[("csrf", &csrf), ("code", "ABCD-EFGH")])
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{}", locked.text());
    assert!(locked.text().contains("Too many attempts"), "{}", locked.text());
    // Another address is not locked; a form without the CSRF cookie is refused.
    let mut other = Browser::new();
    other.address = "198.51.100.9:40000".parse().unwrap();
    other.cookies = browser.cookies.clone();
    let elsewhere = other.post(&h, &action, &[("csrf", &csrf), ("code", "ABCD-EFGH")]).await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    other.cookies.clear();
    let forged = other.post(&h, &action, &[("csrf", &csrf), ("code", "ABCD-EFGH")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_device_authorization_endpoint_refuses_unknown_clients_and_is_discovered() {
    let h = harness().await;
    let form = [
        ("client_id", "00000000-0000-0000-0000-000000000001"),
        ("scope", "openid"),
    ];
    let reply = send(&h.router, form_request("/contoso/oauth2/v2.0/devicecode", &form)).await;
    assert_refused(&reply, "unauthorized_client", 700016);
    let form = [("scope", "openid")];
    let reply = send(&h.router, form_request("/contoso/oauth2/v2.0/devicecode", &form)).await;
    assert_refused(&reply, "invalid_request", 900144);
    let reply = send(
        &h.router,
        json_request(
            Method::GET,
            "/contoso/v2.0/.well-known/openid-configuration",
            None,
            None,
        ),
    )
    .await;
    assert_eq!(
        reply.body["device_authorization_endpoint"],
        format!("{ORIGIN}/{}/oauth2/v2.0/devicecode", h.tenant_id)
    );
}
