//! The whole sign-in flow in process: the authorization request, the sign-in page and its
//! refusals, the code at the redirect URI, and its redemption at the token endpoint.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use keyward_authority::{NewApplication, NewUser};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::common::{Reply, form_request, harness, json_request, send};

const REDIRECT: &str = "https://app.example/cb";
const PASSWORD: &str = "correct horse battery";

/// The value of a hidden field of a page.
fn field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no {name} in {page}")) + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// The `name=value` of a cookie the reply sets.
fn cookie(reply: &Reply, name: &str) -> String {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(name))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no cookie {name}"))
        .to_owned()
}

fn post_with_cookie(uri: &str, cookie: &str, pairs: &[(&str, &str)]) -> Request<Body> {
    let mut request = form_request(uri, pairs);
    request.headers_mut().insert(header::COOKIE, cookie.parse().unwrap());
    request
}

#[tokio::test]
async fn sign_in_then_redeem_the_code() {
    let h = harness().await;
    let now = OffsetDateTime::now_utc();
    let (secret_credential, secret) = keyward_authority::credentials::new_secret(None, None, now).unwrap();
    let new = NewApplication {
        display_name: "web".into(),
        redirect_uris: vec![REDIRECT.into()],
        ..NewApplication::default()
    };
    let app = h.authority.create_application(h.tenant_id, new).await.unwrap();
    h.authority
        .update_application(h.tenant_id, app.app.id, |a| {
            a.password_credentials.push(secret_credential);
            Ok(())
        })
        .await
        .unwrap();
    let new_user = NewUser {
        email: "ann@example.com".into(),
        display_name: Some("Ann".into()),
        password: Zeroizing::new(PASSWORD.into()),
        enabled: true,
        email_verified: true,
    };
    h.authority.create_user(h.tenant_id, new_user).await.unwrap();
    let client_id = app.app.app_id.to_string();

    // The authorization request shows the sign-in page, with its CSRF cookie.
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid offline_access")
        .append_pair("state", "s-1");
    let uri = format!("/contoso/oauth2/v2.0/authorize?{}", query.finish());
    let page = send(&h.router, json_request(Method::GET, &uri, None, None)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let csrf_cookie = cookie(&page, "__Host-keyward-csrf");
    let request = field(page.text(), "request");
    let csrf = field(page.text(), "csrf");
    let signin = format!("/{}/oauth2/v2.0/authorize/signin", h.tenant_id);

    // A wrong password: the page again, 400, one message for both mistakes.
    let form = [
        ("request", request.as_str()),
        ("csrf", csrf.as_str()),
        ("email", "ann@example.com"),
        ("password", "wrong password"),
    ];
    let wrong = send(&h.router, post_with_cookie(&signin, &csrf_cookie, &form)).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.text().contains("Your email address or password is incorrect."));
    let form = [
        ("request", request.as_str()),
        ("csrf", csrf.as_str()),
        ("email", ""),
        ("password", ""),
    ];
    let empty = send(&h.router, post_with_cookie(&signin, &csrf_cookie, &form)).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert!(empty.text().contains("Enter your email address and your password."));

    // The right one: a code at the redirect URI, with the state, and a session cookie.
    let form = [
        ("request", request.as_str()),
        ("csrf", csrf.as_str()),
        ("email", "Ann@Example.com"),
        ("password", PASSWORD),
    ];
    let signed_in = send(&h.router, post_with_cookie(&signin, &csrf_cookie, &form)).await;
    assert_eq!(signed_in.status, StatusCode::FOUND, "{}", signed_in.text());
    let location = signed_in.headers[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with(&format!("{REDIRECT}?code=")), "{location}");
    assert!(location.ends_with("&state=s-1"), "{location}");
    let _session = cookie(&signed_in, "__Host-keyward-session-");
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_owned();

    // The code, redeemed once with the client's secret.
    let redeem = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let tokens = send(&h.router, form_request("/contoso/oauth2/v2.0/token", &redeem)).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert!(tokens.body["id_token"].is_string() && tokens.body["refresh_token"].is_string());
    assert!(tokens.body["client_info"].is_string());
    let again = send(&h.router, form_request("/contoso/oauth2/v2.0/token", &redeem)).await;
    assert_eq!(again.body["error"], "invalid_grant");
    assert_eq!(again.body["error_codes"][0], 54005);
}
