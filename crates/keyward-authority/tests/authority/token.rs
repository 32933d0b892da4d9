//! The token endpoint and discovery.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use keyward_jose::Jws;
use serde_json::Value;

use super::common::{Client, ORIGIN, certificate, form_request, harness, json_request, send};

#[tokio::test]
async fn a_registered_certificate_gets_a_signed_token() {
    let h = harness().await;
    let reply = h.token_reply(&h.admin, "https://graph.microsoft.com/.default").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store, no-cache");
    let token = reply.body["access_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(Jws::parse(token).unwrap().payload()).unwrap();
    assert_eq!(claims["iss"], format!("{ORIGIN}/{}/v2.0", h.tenant_id));
    assert_eq!(claims["aud"], "00000003-0000-0000-c000-000000000000");
    assert_eq!(claims["azp"], h.admin.app_id.to_string());
    assert_eq!(claims["azpacr"], "2");
    assert_eq!(claims["roles"][0], "Application.ReadWrite.All");

    // The token verifies with the published keys.
    let jwks = send(
        &h.router,
        json_request(Method::GET, "/contoso/discovery/v2.0/keys", None, None),
    )
    .await;
    assert_eq!(jwks.status, StatusCode::OK);
    let kid = Jws::parse(token).unwrap().header().kid.clone().unwrap();
    assert!(
        jwks.body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid.as_str())
    );

    let metrics = send(&h.router, json_request(Method::GET, "/metrics", None, None)).await;
    assert!(
        metrics
            .text()
            .contains("keyward_token_requests_total{result=\"issued\"} 1"),
        "{}",
        metrics.text()
    );
}

#[tokio::test]
async fn refusals_are_entra_errors() {
    let h = harness().await;
    // An unregistered certificate: 401, AADSTS700027, the challenge, the request id echoed.
    let (key, certificate) = certificate("CN=stranger");
    let stranger = Client {
        app_id: h.admin.app_id,
        key,
        certificate,
    };
    let reply = h.token_reply(&stranger, "https://graph.microsoft.com/.default").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reply.body["error"], "invalid_client");
    assert_eq!(reply.body["error_codes"][0], 700027);
    assert!(
        reply.body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS700027: ")
    );
    assert_eq!(
        reply.headers[header::WWW_AUTHENTICATE],
        "Bearer error=\"invalid_client\""
    );

    // An unknown resource.
    let reply = h.token_reply(&h.admin, "api://nowhere/.default").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "invalid_resource");

    // Not a form; no grant_type; a parameter twice; an unknown tenant.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/contoso/oauth2/v2.0/token?client-request-id=6a0c3ea8-9b6f-4c1e-8b8a-111111111111")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let reply = send(&h.router, request).await;
    assert_eq!(reply.body["error_codes"][0], 900144);
    assert_eq!(reply.body["correlation_id"], "6a0c3ea8-9b6f-4c1e-8b8a-111111111111");
    assert_eq!(
        reply.headers["client-request-id"],
        "6a0c3ea8-9b6f-4c1e-8b8a-111111111111"
    );
    let reply = send(&h.router, form_request("/contoso/oauth2/v2.0/token", &[("scope", "x")])).await;
    assert_eq!(reply.body["error"], "invalid_request");
    let twice = form_request(
        "/contoso/oauth2/v2.0/token",
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(send(&h.router, twice).await.body["error_codes"][0], 9002313);
    let reply = send(
        &h.router,
        form_request("/fabrikam/oauth2/v2.0/token", &[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "invalid_tenant");
    assert_eq!(reply.body["error_codes"][0], 90002);

    let metrics = send(&h.router, json_request(Method::GET, "/metrics", None, None)).await;
    assert!(metrics.text().contains("result=\"refused\"} 6"), "{}", metrics.text());
}

#[tokio::test]
async fn discovery_names_every_endpoint_under_the_tenant_guid() {
    let h = harness().await;
    for alias in ["contoso", "contoso.onmicrosoft.com", &h.tenant_id.to_string()] {
        let uri = format!("/{alias}/v2.0/.well-known/openid-configuration");
        let reply = send(&h.router, json_request(Method::GET, &uri, None, None)).await;
        assert_eq!(reply.status, StatusCode::OK);
        let base = format!("{ORIGIN}/{}", h.tenant_id);
        assert_eq!(reply.body["issuer"], format!("{base}/v2.0"));
        assert_eq!(reply.body["token_endpoint"], format!("{base}/oauth2/v2.0/token"));
        assert_eq!(reply.body["jwks_uri"], format!("{base}/discovery/v2.0/keys"));
        assert_eq!(reply.headers[header::CACHE_CONTROL], "max-age=86400, private");
    }
    let reply = send(
        &h.router,
        json_request(
            Method::GET,
            "/nowhere/v2.0/.well-known/openid-configuration",
            None,
            None,
        ),
    )
    .await;
    assert_eq!(reply.body["error_codes"][0], 90002);
}

/// MSAL's instance discovery answers for this server's own authorization endpoint only; an
/// endpoint longer than any real one is refused before it is parsed (its host name would go
/// through IDNA, costly on the kilobytes of punycode a request line can carry).
#[tokio::test]
async fn instance_discovery_answers_for_this_server_only_and_refuses_a_long_endpoint() {
    let h = harness().await;
    let ask = |endpoint: String| {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("api-version", "1.1")
            .append_pair("authorization_endpoint", &endpoint)
            .finish();
        let router = h.router.clone();
        async move {
            let request = json_request(Method::GET, &format!("/common/discovery/instance?{query}"), None, None);
            send(&router, request).await
        }
    };
    let ours = ask(format!("{ORIGIN}/contoso/oauth2/v2.0/authorize")).await;
    assert_eq!(ours.status, StatusCode::OK, "{}", ours.body);
    assert_eq!(
        ours.body["tenant_discovery_endpoint"],
        format!("{ORIGIN}/contoso/v2.0/.well-known/openid-configuration")
    );
    let elsewhere = ask("https://login.evil.example/contoso/oauth2/v2.0/authorize".to_owned()).await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    assert_eq!(elsewhere.body["error"], "invalid_instance");
    let long = ask(format!("{ORIGIN}/contoso/oauth2/v2.0/authorize?{}", "x".repeat(1024))).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST, "{}", long.body);
    assert_eq!(long.body["error"], "invalid_instance");
}
