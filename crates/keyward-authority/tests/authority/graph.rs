//! The management API (Microsoft Graph's shapes) and Keyward's admin endpoints.

use axum::http::{Method, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::common::{Harness, ORIGIN, Reply, certificate, harness, json_request, send};

async fn call(h: &Harness, token: &str, method: Method, uri: &str, body: Option<serde_json::Value>) -> Reply {
    send(&h.router, json_request(method, uri, Some(token), body)).await
}

#[tokio::test]
async fn no_route_answers_without_the_role() {
    let h = harness().await;
    for (method, uri) in [
        (Method::GET, "/v1.0/applications"),
        (Method::POST, "/v1.0/applications"),
        (Method::GET, "/v1.0/servicePrincipals"),
        (Method::GET, "/v1.0/users"),
        (Method::GET, "/admin/api/signing-keys"),
        (Method::POST, "/admin/api/signing-keys/rotate"),
        (
            Method::GET,
            "/admin/api/applications/00000000-0000-0000-0000-000000000001/sign-ins",
        ),
        (Method::POST, "/admin/api/test-tokens"),
    ] {
        let reply = send(&h.router, json_request(method.clone(), uri, None, None)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(reply.body["error"]["code"], "InvalidAuthenticationToken");
        let reply = send(
            &h.router,
            json_request(method.clone(), uri, Some("forged.token.here"), None),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
    // A real token of an application without the role: 403.
    let token = h.admin_token().await;
    let created = call(
        &h,
        &token,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "plain"})),
    )
    .await;
    let (key, certificate) = certificate("CN=plain");
    let der = STANDARD.encode(certificate.der());
    let id = created.body["id"].as_str().unwrap();
    let patched = call(
        &h,
        &token,
        Method::PATCH,
        &format!("/v1.0/applications/{id}"),
        Some(json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": der}]})),
    )
    .await;
    assert_eq!(patched.status, StatusCode::NO_CONTENT, "{}", patched.body);
    let plain = super::common::Client {
        app_id: created.body["appId"].as_str().unwrap().parse().unwrap(),
        key,
        certificate,
    };
    let reply = h.token_reply(&plain, "https://graph.microsoft.com/.default").await;
    let plain_token = reply.body["access_token"].as_str().unwrap();
    let reply = call(&h, plain_token, Method::GET, "/v1.0/applications", None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.body["error"]["code"], "Authorization_RequestDenied");
    let mint = json!({"app": "plain", "audience": "api://tasks"});
    let reply = call(
        &h,
        plain_token,
        Method::POST,
        "/admin/api/test-tokens",
        Some(mint.clone()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(reply.body.get("access_token").is_none());
    // The admin too, while the server does not allow test tokens; the answer names the flag.
    let reply = call(&h, &token, Method::POST, "/admin/api/test-tokens", Some(mint)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], "Keyward_TestTokensDisabled");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--allow-test-tokens")),
        "{}",
        reply.body
    );
}

/// The half-created application: `POST /v1.0/applications` with a bad certificate answered 400
/// but left the application stored. Bad input changes nothing.
#[tokio::test]
async fn an_application_with_a_bad_certificate_is_not_created() {
    let h = harness().await;
    let token = h.admin_token().await;
    let before = h.stored_application_names().await;
    let (key, good) = certificate("CN=good");
    let pfx = keyward_pki::write_pfx(&good, &[], &key, "", Default::default()).unwrap();
    for key_credential in [
        json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(b"not a certificate")}),
        json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(&pfx)}),
        json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": "%%% not base64"}),
        json!({"type": "Symmetric", "usage": "Verify", "key": STANDARD.encode(good.der())}),
        json!({"keyId": "6a0c3ea8-9b6f-4c1e-8b8a-111111111111"}),
        json!({"key": STANDARD.encode(good.der()), "endDateTime": "2999-01-01T00:00:00Z"}),
    ] {
        let body = json!({"displayName": "half-created", "keyCredentials": [key_credential]});
        let reply = call(&h, &token, Method::POST, "/v1.0/applications", Some(body)).await;
        assert!(reply.status.is_client_error(), "{}: {}", reply.status, reply.body);
        assert!(reply.body["error"]["message"].is_string(), "{}", reply.body);
    }
    // Two copies of one certificate: refused by the document's rules, after parsing.
    let twice = json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(good.der())});
    let body = json!({"displayName": "half-created", "keyCredentials": [twice.clone(), twice]});
    let reply = call(&h, &token, Method::POST, "/v1.0/applications", Some(body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);

    assert_eq!(h.stored_application_names().await, before, "nothing was stored");
    let snapshot = h.authority.snapshot();
    let in_memory = snapshot.apps_of(h.tenant_id);
    assert!(
        in_memory.iter().all(|a| a.app.display_name != "half-created"),
        "nothing was published"
    );
    let listed = call(&h, &token, Method::GET, "/v1.0/applications", None).await;
    let names: Vec<&str> = listed.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["displayName"].as_str())
        .collect();
    assert!(!names.contains(&"half-created"), "{names:?}");

    // With a good certificate: created at once, with it.
    let good_key = json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(good.der())});
    let body = json!({"displayName": "whole", "keyCredentials": [good_key]});
    let reply = call(&h, &token, Method::POST, "/v1.0/applications", Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(
        reply.body["keyCredentials"][0]["customKeyIdentifier"],
        good.thumbprints().sha1_hex()
    );
    assert!(h.stored_application_names().await.contains(&"whole".to_owned()));
}

#[tokio::test]
async fn a_bad_patch_changes_nothing() {
    let h = harness().await;
    let token = h.admin_token().await;
    let created = call(
        &h,
        &token,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "app"})),
    )
    .await;
    let id = created.body["id"].as_str().unwrap();
    let uri = format!("/v1.0/applications/{id}");
    let body = json!({"displayName": "renamed",
        "keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(b"junk")}]});
    let reply = call(&h, &token, Method::PATCH, &uri, Some(body)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = call(&h, &token, Method::PATCH, &uri, Some(json!({"displayName": "  "}))).await;
    assert_eq!(reply.body["error"]["message"], "displayName cannot be empty");
    let reply = call(&h, &token, Method::GET, &uri, None).await;
    assert_eq!(reply.body["displayName"], "app");
    // By appId too.
    let keyed = format!(
        "/v1.0/applications(appId='{}')",
        created.body["appId"].as_str().unwrap()
    );
    let reply = call(
        &h,
        &token,
        Method::PATCH,
        &keyed,
        Some(json!({"displayName": "renamed"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        call(&h, &token, Method::GET, &uri, None).await.body["displayName"],
        "renamed"
    );
    let reply = call(&h, &token, Method::GET, "/v1.0/applications/not-a-guid", None).await;
    assert_eq!(reply.body["error"]["code"], "Request_BadRequest");
    let reply = call(&h, &token, Method::DELETE, &uri, None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = call(&h, &token, Method::GET, &uri, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["error"]["code"], "Request_ResourceNotFound");
}

#[tokio::test]
async fn secrets_roles_and_users() {
    let h = harness().await;
    let token = h.admin_token().await;
    let created = call(
        &h,
        &token,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "svc"})),
    )
    .await;
    let id = created.body["id"].as_str().unwrap();
    let secret = call(
        &h,
        &token,
        Method::POST,
        &format!("/v1.0/applications/{id}/addPassword"),
        None,
    )
    .await;
    assert_eq!(secret.status, StatusCode::OK, "{}", secret.body);
    assert_eq!(secret.body["secretText"].as_str().unwrap().len(), 40);
    let too_long = json!({"passwordCredential": {"endDateTime": "2999-01-01T00:00:00Z"}});
    let reply = call(
        &h,
        &token,
        Method::POST,
        &format!("/v1.0/applications/{id}/addPassword"),
        Some(too_long),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let key_id = secret.body["keyId"].clone();
    let remove = format!("/v1.0/applications/{id}/removePassword");
    let reply = call(&h, &token, Method::POST, &remove, Some(json!({"keyId": key_id}))).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = call(&h, &token, Method::POST, &remove, Some(json!({"keyId": key_id}))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // Roles: Microsoft Graph's, granted to the new application's service principal.
    let sps = call(&h, &token, Method::GET, "/v1.0/servicePrincipals", None).await;
    let graph = sps.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["displayName"] == "Microsoft Graph")
        .unwrap()
        .clone();
    let assigned = format!(
        "/v1.0/servicePrincipals/{}/appRoleAssignedTo",
        graph["id"].as_str().unwrap()
    );
    let grant = json!({"principalId": created.body["id"].clone(), "appRoleId": graph["appRoles"][0]["id"].clone()});
    let reply = call(&h, &token, Method::POST, &assigned, Some(grant)).await;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "an object id is not a service principal id"
    );
    let sp = call(
        &h,
        &token,
        Method::GET,
        &format!(
            "/v1.0/servicePrincipals(appId='{}')",
            created.body["appId"].as_str().unwrap()
        ),
        None,
    )
    .await;
    let grant = json!({"principalId": sp.body["id"].clone(), "appRoleId": graph["appRoles"][0]["id"].clone()});
    let reply = call(&h, &token, Method::POST, &assigned, Some(grant)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["principalDisplayName"], "svc");
    let listed = call(&h, &token, Method::GET, &assigned, None).await;
    assert_eq!(
        listed.body["value"].as_array().unwrap().len(),
        2,
        "the admin's and the new one"
    );
    let unknown_role =
        json!({"principalId": sp.body["id"].clone(), "appRoleId": "6a0c3ea8-9b6f-4c1e-8b8a-111111111111"});
    let reply = call(&h, &token, Method::POST, &assigned, Some(unknown_role)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let assignment = reply_id(&call(&h, &token, Method::GET, &assigned, None).await, "svc");
    let reply = call(&h, &token, Method::DELETE, &format!("{assigned}/{assignment}"), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    // Users.
    let user = json!({"displayName": "Ann", "identities": [{"signInType": "emailAddress", "issuerAssignedId": "ann@example.com"}],
        "passwordProfile": {"password": "correct horse battery"}});
    let reply = call(&h, &token, Method::POST, "/v1.0/users", Some(user.clone())).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["mail"], "ann@example.com");
    let reply = call(&h, &token, Method::POST, "/v1.0/users", Some(user)).await;
    assert_eq!(reply.body["error"]["code"], "Request_MultipleObjectsWithSameKeyValue");
    let weak = json!({"mail": "bob@example.com", "passwordProfile": {"password": "short"}});
    let reply = call(&h, &token, Method::POST, "/v1.0/users", Some(weak)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("too short"));
    let reply = call(&h, &token, Method::GET, "/v1.0/users/ann@example.com", None).await;
    assert_eq!(reply.body["displayName"], "Ann");
    let reply = call(&h, &token, Method::DELETE, "/v1.0/users/ann@example.com", None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = call(&h, &token, Method::GET, "/v1.0/users", None).await;
    assert_eq!(reply.body["value"], json!([]));
}

fn reply_id(listed: &Reply, principal: &str) -> String {
    listed.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["principalDisplayName"] == principal)
        .and_then(|a| a["id"].as_str())
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn signing_keys_rotate_and_the_old_key_stays_published() {
    let h = harness().await;
    let token = h.admin_token().await;
    let keys = call(&h, &token, Method::GET, "/admin/api/signing-keys", None).await;
    assert_eq!(keys.status, StatusCode::OK);
    let old = keys.body["value"][0]["kid"].as_str().unwrap().to_owned();
    let rotated = call(&h, &token, Method::POST, "/admin/api/signing-keys/rotate", None).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new = rotated.body["kid"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(rotated.body["keys"].as_array().unwrap().len(), 2);
    let jwks = send(
        &h.router,
        json_request(Method::GET, "/contoso/discovery/v2.0/keys", None, None),
    )
    .await;
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(kids.contains(&old.as_str()) && kids.contains(&new), "{kids:?}");
    // A token signed with the old key still works.
    let reply = call(&h, &token, Method::GET, "/v1.0/applications", None).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn web_logout_url_is_rendered_patched_checked_and_removed() {
    let h = harness().await;
    let token = h.admin_token().await;
    let created = call(
        &h,
        &token,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "web"})),
    )
    .await;
    assert!(created.body["web"]["logoutUrl"].is_null(), "{}", created.body);
    let uri = format!("/v1.0/applications/{}", created.body["id"].as_str().unwrap());
    let patch = |url: &str| json!({"web": {"logoutUrl": url}});
    let reply = call(
        &h,
        &token,
        Method::PATCH,
        &uri,
        Some(patch("http://app.example/logout")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(
        reply.body["error"]["message"].as_str().unwrap().contains("logout URL"),
        "{}",
        reply.body
    );
    let reply = call(
        &h,
        &token,
        Method::PATCH,
        &uri,
        Some(patch("https://app.example/logout")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let app = call(&h, &token, Method::GET, &uri, None).await;
    assert_eq!(app.body["web"]["logoutUrl"], "https://app.example/logout");
    // Redirect URIs alone leave it; an empty string removes it.
    let reply = call(
        &h,
        &token,
        Method::PATCH,
        &uri,
        Some(json!({"web": {"redirectUris": ["https://app.example/cb"]}})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let app = call(&h, &token, Method::GET, &uri, None).await;
    assert_eq!(app.body["web"]["logoutUrl"], "https://app.example/logout");
    call(&h, &token, Method::PATCH, &uri, Some(patch(""))).await;
    let app = call(&h, &token, Method::GET, &uri, None).await;
    assert!(app.body["web"]["logoutUrl"].is_null(), "{}", app.body);
}

#[tokio::test]
async fn sign_ins_are_listed_per_client_and_a_bad_query_is_refused_in_graph_shape() {
    let h = harness().await;
    let token = h.admin_token().await;
    let admin = h.admin.app_id;
    // The admin's own token request is a sign-in with its certificate.
    let listed = call(
        &h,
        &token,
        Method::GET,
        &format!("/admin/api/applications/{admin}/sign-ins"),
        None,
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let records = listed.body["value"].as_array().unwrap();
    assert!(!records.is_empty(), "{}", listed.body);
    assert_eq!(records[0]["appId"], admin.to_string());
    assert_eq!(records[0]["status"]["errorCode"], 0);
    assert_eq!(
        records[0]["servicePrincipalCredentialThumbprint"],
        h.admin.certificate.thumbprints().sha1_hex()
    );
    let failures = format!("/admin/api/applications/{admin}/sign-ins?failures=true&since=2026-01-01T00:00:00Z&top=5");
    let only_failures = call(&h, &token, Method::GET, &failures, None).await;
    assert_eq!(only_failures.status, StatusCode::OK, "{}", only_failures.body);
    assert_eq!(only_failures.body["value"], json!([]));
    for bad in [
        format!("/admin/api/applications/{admin}/sign-ins?since=yesterday"),
        format!("/admin/api/applications/{admin}/sign-ins?failures=maybe"),
        format!("/admin/api/applications/{admin}/sign-ins?top=0"),
        format!("/admin/api/applications/{admin}/sign-ins?user=ann"),
        "/admin/api/applications/not-a-guid/sign-ins".to_owned(),
    ] {
        let reply = call(&h, &token, Method::GET, &bad, None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}: {}", reply.body);
        assert!(reply.body["error"]["message"].is_string(), "{bad}: {}", reply.body);
    }
}

/// Every `id` of the collection at `first` and the pages after it (`@odata.nextLink`, which
/// must be on the server's public URL and keep `$top`), each page at most `top` long.
async fn all_pages(h: &Harness, token: &str, first: &str, top: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut uri = first.to_owned();
    loop {
        let reply = call(h, token, Method::GET, &uri, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.body);
        let values = reply.body["value"].as_array().unwrap();
        assert!(values.len() <= top, "{uri}: {} items", values.len());
        ids.extend(values.iter().map(|v| v["id"].as_str().unwrap().to_owned()));
        let Some(link) = reply.body["@odata.nextLink"].as_str() else {
            return ids;
        };
        uri = link
            .strip_prefix(ORIGIN)
            .expect("a next link on the public URL")
            .to_owned();
        assert!(uri.contains(&format!("top={top}")), "{uri}");
    }
}

fn ids(reply: &Reply) -> Vec<String> {
    let values = reply.body["value"].as_array().unwrap();
    values.iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn applications_service_principals_and_users_come_in_pages_that_skip_nothing() {
    let h = harness().await;
    let token = h.admin_token().await;
    for i in 0..5 {
        let body = json!({"displayName": format!("paged {i}")});
        let reply = call(&h, &token, Method::POST, "/v1.0/applications", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    for email in [
        "dee@example.com",
        "ann@example.com",
        "cy@example.com",
        "bo@example.com",
        "eve@example.com",
    ] {
        let user = json!({"mail": email, "passwordProfile": {"password": "correct horse battery"}});
        let reply = call(&h, &token, Method::POST, "/v1.0/users", Some(user)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    for path in ["/v1.0/applications", "/v1.0/servicePrincipals", "/v1.0/users"] {
        let whole = call(&h, &token, Method::GET, path, None).await;
        assert!(whole.body.get("@odata.nextLink").is_none(), "{path}: one page of 100");
        let whole = ids(&whole);
        assert!(whole.len() >= 5, "{path}: {whole:?}");
        assert_eq!(
            all_pages(&h, &token, &format!("{path}?$top=2"), 2).await,
            whole,
            "{path}"
        );
    }

    // What is deleted between two pages moves nothing else: the next page starts after the key
    // of the last item given, not at an offset.
    for (path, top) in [("/v1.0/applications", 3), ("/v1.0/users", 2)] {
        let whole = ids(&call(&h, &token, Method::GET, path, None).await);
        let first = call(&h, &token, Method::GET, &format!("{path}?$top={top}"), None).await;
        let first_ids = ids(&first);
        let gone = first_ids.last().unwrap();
        let reply = call(&h, &token, Method::DELETE, &format!("{path}/{gone}"), None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
        let next = first.body["@odata.nextLink"]
            .as_str()
            .unwrap()
            .strip_prefix(ORIGIN)
            .unwrap();
        let mut listed = first_ids.clone();
        listed.extend(all_pages(&h, &token, next, top).await);
        assert_eq!(listed, whole, "{path}");
    }

    for bad in [
        "/v1.0/users?$top=0",
        "/v1.0/applications?$top=1000",
        "/v1.0/servicePrincipals?$top=ten",
        "/v1.0/users?$skiptoken=!!",
        "/v1.0/applications?$skiptoken=bm90IGEgY3Vyc29y",
    ] {
        let reply = call(&h, &token, Method::GET, bad, None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            reply.body["error"]["message"].as_str().is_some(),
            "{bad}: {}",
            reply.body
        );
    }
}
