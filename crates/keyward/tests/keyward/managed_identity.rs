//! Managed identity endpoints (`keyward serve --managed-identity APP`): App Service's and IMDS's
//! protocols give the app's tokens with no credential; a request without the header, with
//! another endpoint's secret, or naming another app is refused.

use std::collections::HashMap;
use std::net::SocketAddr;

use serde_json::Value;

use crate::common::{Server, claims_of};
use crate::signin::flow::verify_with_jwks;

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The environment an endpoint's app gets (`managed-identity/APP.env`).
fn env_of(server: &Server, app: &str) -> HashMap<String, String> {
    let text = std::fs::read_to_string(server.data().join(format!("managed-identity/{app}.env"))).expect("env file");
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    // Plain HTTP, as Azure's endpoints: reqwest still wants a TLS provider to build a client.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn server_with_identities() -> (Server, String, String) {
    let server = Server::start_with(tempfile::tempdir().unwrap(), |s| {
        s.managed_identity("mi-app", loopback(), false)
            .unwrap()
            .managed_identity("other-app", loopback(), false)
            .unwrap()
    });
    let app = server.keyward(&["app", "create", "--name", "mi-app"]);
    let other = server.keyward(&["app", "create", "--name", "other-app"]);
    (
        server,
        app["appId"].as_str().unwrap().to_owned(),
        other["appId"].as_str().unwrap().to_owned(),
    )
}

const VAULT: &str = "https://vault.keyward.localhost";

#[tokio::test]
async fn app_service_and_imds_give_the_apps_token_with_no_credential() {
    let (server, app_id, _) = server_with_identities();
    let env = env_of(&server, "mi-app");
    let endpoint = &env["IDENTITY_ENDPOINT"];
    let header = &env["IDENTITY_HEADER"];
    let (status, body) = get(
        &format!("{endpoint}?api-version=2019-08-01&resource={VAULT}"),
        &[("X-IDENTITY-HEADER", header)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["client_id"], app_id.as_str());
    assert!(
        body["expires_on"].as_str().unwrap().parse::<i64>().is_ok(),
        "a string of seconds: {body}"
    );
    let token = body["access_token"].as_str().unwrap();
    verify_with_jwks(&server, token).await;
    let claims = claims_of(token);
    assert_eq!(claims["azp"], app_id.as_str());
    assert_eq!(claims["idtyp"], "app");

    let imds = &env["AZURE_POD_IDENTITY_AUTHORITY_HOST"];
    let (status, body) = get(
        // With a trailing slash, as MSAL Node asks.
        &format!("{imds}/metadata/identity/oauth2/token/?api-version=2018-02-01&resource={VAULT}&client_id={app_id}"),
        &[("Metadata", "true")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["expires_in"].as_str().unwrap().parse::<i64>().unwrap() > 0,
        "{body}"
    );
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["azp"],
        app_id.as_str()
    );
}

#[tokio::test]
async fn a_request_without_the_header_or_with_another_endpoints_is_refused() {
    let (server, _, _) = server_with_identities();
    let mine = env_of(&server, "mi-app");
    let theirs = env_of(&server, "other-app");
    let url = format!("{}?api-version=2019-08-01&resource={VAULT}", mine["IDENTITY_ENDPOINT"]);
    let (status, body) = get(&url, &[]).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("X-IDENTITY-HEADER"),
        "{body}"
    );
    let (status, _) = get(&url, &[("X-IDENTITY-HEADER", &theirs["IDENTITY_HEADER"])]).await;
    assert_eq!(status, 401, "another endpoint's secret");
    let (status, _) = get(&url, &[("X-IDENTITY-HEADER", "")]).await;
    assert_eq!(status, 401);

    let imds = format!(
        "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={VAULT}",
        mine["AZURE_POD_IDENTITY_AUTHORITY_HOST"]
    );
    let (status, body) = get(&imds, &[]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_description"], "Required metadata header not specified");
    let (status, _) = get(&imds, &[("Metadata", "false")]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_endpoint_serves_its_own_app_only() {
    let (server, _, other_id) = server_with_identities();
    let mine = env_of(&server, "mi-app");
    let (status, body) = get(
        &format!(
            "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={VAULT}&client_id={other_id}",
            mine["AZURE_POD_IDENTITY_AUTHORITY_HOST"]
        ),
        &[("Metadata", "true")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_description"], "Identity not found");
}

#[test]
fn an_endpoint_on_a_reachable_address_needs_an_explicit_yes() {
    let settings = keyward_server::ServeSettings::new("unused");
    let public = SocketAddr::from(([0, 0, 0, 0], 0));
    let refused = settings.clone().managed_identity("mi-app", public, false).unwrap_err();
    assert!(
        refused.to_string().contains("--managed-identity-any-address"),
        "{refused}"
    );
    assert!(settings.managed_identity("mi-app", public, true).is_ok());
}
