//! The sign-in pages' refusals: our own error page, with the security headers, never a redirect
//! to an untrusted URI.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use super::common::{Reply, form_request, harness, json_request, send};

fn assert_error_page(reply: &Reply, status: StatusCode, text: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert!(reply.headers.get(header::LOCATION).is_none(), "no redirect");
    assert_eq!(reply.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        reply.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(reply.text().contains(text), "{}", reply.text());
}

#[tokio::test]
async fn untrusted_requests_stay_on_our_page() {
    let h = harness().await;
    let get = |uri: &str| json_request(Method::GET, uri, None, None);
    let reply = send(&h.router, get("/nowhere/oauth2/v2.0/authorize?client_id=x")).await;
    assert_error_page(&reply, StatusCode::NOT_FOUND, "90002");
    let unknown = format!(
        "/contoso/oauth2/v2.0/authorize?client_id={}&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code&scope=openid",
        uuid::Uuid::new_v4()
    );
    let reply = send(&h.router, get(&unknown)).await;
    assert_error_page(&reply, StatusCode::BAD_REQUEST, "700016");
    let unregistered = format!(
        "/contoso/oauth2/v2.0/authorize?client_id={}&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code&scope=openid",
        h.admin.app_id
    );
    let reply = send(&h.router, get(&unregistered)).await;
    assert_error_page(&reply, StatusCode::BAD_REQUEST, "50011");
    let reply = send(&h.router, get("/contoso/oauth2/v2.0/authorize?a=1&a=2")).await;
    assert_error_page(&reply, StatusCode::BAD_REQUEST, "9002313");

    // A POST that is not a form.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/contoso/oauth2/v2.0/authorize")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"client_id": "x"}).to_string()))
        .unwrap();
    let reply = send(&h.router, request).await;
    assert_error_page(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "query string or an HTML form",
    );
}

#[tokio::test]
async fn forms_need_their_page() {
    let h = harness().await;
    // No CSRF cookie or token: refused before anything else.
    let reply = send(
        &h.router,
        form_request(
            "/contoso/oauth2/v2.0/authorize/signin",
            &[("email", "ann@example.com"), ("password", "x"), ("request", "sealed")],
        ),
    )
    .await;
    assert_error_page(&reply, StatusCode::FORBIDDEN, "This form cannot be accepted");
    // Not a form at all.
    let request = json_request(
        Method::POST,
        "/contoso/oauth2/v2.0/authorize/signup",
        None,
        Some(json!({"email": "a"})),
    );
    let reply = send(&h.router, request).await;
    assert_error_page(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "application/x-www-form-urlencoded",
    );
    // A damaged sealed request.
    let reply = send(
        &h.router,
        json_request(
            Method::GET,
            "/contoso/oauth2/v2.0/authorize/signin?request=damaged",
            None,
            None,
        ),
    )
    .await;
    assert_error_page(&reply, StatusCode::BAD_REQUEST, "This sign-in page has expired");
    // Logout without a session: the signed-out page, and the cookie cleared.
    let reply = send(
        &h.router,
        json_request(Method::GET, "/contoso/oauth2/v2.0/logout", None, None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}
