//! Attacks on client authentication: each is refused with `invalid_client` (or a 4xx for
//! garbage) and no token, one test each (wire contract §1-§2).

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_jose::Algorithm;
use keyward_pki::KeyType;
use serde_json::json;

use crate::common::*;

async fn refused(server: &Server, client: &Client, assertion: &str, code: u64) {
    let response = server.token("contoso", &client.form(assertion)).await;
    assert_oauth_error(&response, 401, "invalid_client", code);
}

#[tokio::test]
async fn alg_none_is_refused() {
    let server = Server::start();
    let client = server.client("c");
    let header = json!({"alg": "none", "typ": "JWT", "x5t": client.certificate.thumbprints().x5t()});
    let assertion = format!("{}.{}.", b64(&header), b64(&client.claims(&server, "contoso")));
    refused(&server, &client, &assertion, 700027).await;
}

#[tokio::test]
async fn hs256_keyed_with_the_certificates_public_key_is_refused() {
    let server = Server::start();
    let client = server.client("c");
    let header = json!({"alg": "HS256", "typ": "JWT", "x5t": client.certificate.thumbprints().x5t()});
    let input = format!("{}.{}", b64(&header), b64(&client.claims(&server, "contoso")));
    for secret in [
        client.certificate.spki_der(),
        client.certificate.pem().into_bytes(),
        client.certificate.der().to_vec(),
    ] {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), input.as_bytes());
        let assertion = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
        refused(&server, &client, &assertion, 700027).await;
    }
}

#[tokio::test]
async fn registered_thumbprint_signed_by_another_key_is_refused() {
    let server = Server::start();
    let client = server.client("c");
    let (_, other_key, _) = certificate(server.data(), "other", KeyType::Rsa2048, 30);
    let assertion = sign(
        &other_key,
        Algorithm::Rs256,
        &client.header(),
        &client.claims(&server, "contoso"),
    );
    refused(&server, &client, &assertion, 700027).await;
}

#[tokio::test]
async fn an_attackers_own_certificate_in_x5c_is_not_trusted() {
    let server = Server::start();
    let client = server.client("c");
    let (evil_cert, evil_key, _) = certificate(server.data(), "evil", KeyType::Rsa2048, 30);
    // Named by its own thumbprint and carried in x5c: not registered.
    let header = json!({"alg": "RS256", "x5t": evil_cert.thumbprints().x5t(), "x5c": [std_b64(evil_cert.der())]});
    let assertion = sign(&evil_key, Algorithm::Rs256, &header, &client.claims(&server, "contoso"));
    refused(&server, &client, &assertion, 700027).await;
    // Naming the registered thumbprint, with its own certificate in x5c, signed by its key.
    let header =
        json!({"alg": "RS256", "x5t": client.certificate.thumbprints().x5t(), "x5c": [std_b64(evil_cert.der())]});
    let assertion = sign(&evil_key, Algorithm::Rs256, &header, &client.claims(&server, "contoso"));
    refused(&server, &client, &assertion, 700027).await;
    // Even a genuine signature is refused when x5c does not start with the registered certificate.
    let assertion = sign(
        &client.key,
        Algorithm::Rs256,
        &header,
        &client.claims(&server, "contoso"),
    );
    refused(&server, &client, &assertion, 700027).await;
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let server = Server::start();
    let client = server.client("c");
    for aud in [
        json!("https://login.microsoftonline.com/contoso/oauth2/v2.0/token"),
        json!(server.token_endpoint("fabrikam")),
        json!(server.url),
        json!([]),
    ] {
        let mut claims = client.claims(&server, "contoso");
        claims["aud"] = aud;
        refused(
            &server,
            &client,
            &sign(&client.key, Algorithm::Rs256, &client.header(), &claims),
            700023,
        )
        .await;
    }
    let mut claims = client.claims(&server, "contoso");
    claims.as_object_mut().unwrap().remove("aud");
    refused(
        &server,
        &client,
        &sign(&client.key, Algorithm::Rs256, &client.header(), &claims),
        700023,
    )
    .await;
}

#[tokio::test]
async fn iss_sub_and_client_id_that_disagree_are_refused() {
    let server = Server::start();
    let client = server.client("c");
    let other = uuid::Uuid::new_v4().to_string();
    for (field, value) in [("iss", other.as_str()), ("sub", other.as_str())] {
        let mut claims = client.claims(&server, "contoso");
        claims[field] = json!(value);
        refused(
            &server,
            &client,
            &sign(&client.key, Algorithm::Rs256, &client.header(), &claims),
            700021,
        )
        .await;
    }
    let assertion = client.assertion(&server);
    let mut form = client.form(&assertion);
    form[1] = ("client_id", &other);
    assert_oauth_error(&server.token("contoso", &form).await, 401, "invalid_client", 700021);
}

async fn refused_claims(server: &Server, client: &Client, change: impl Fn(&mut serde_json::Value), code: u64) {
    let mut claims = client.claims(server, "contoso");
    change(&mut claims);
    refused(
        server,
        client,
        &sign(&client.key, Algorithm::Rs256, &client.header(), &claims),
        code,
    )
    .await;
}

#[tokio::test]
async fn expired_assertion_is_refused() {
    let server = Server::start();
    let client = server.client("c");
    refused_claims(
        &server,
        &client,
        |c| {
            c["exp"] = json!(now() - 301);
            c["nbf"] = json!(now() - 900);
        },
        700024,
    )
    .await;
    refused_claims(
        &server,
        &client,
        |c| {
            c.as_object_mut().unwrap().remove("exp");
        },
        700024,
    )
    .await;
}

#[tokio::test]
async fn nbf_in_the_future_beyond_the_skew_is_refused() {
    let server = Server::start();
    let client = server.client("c");
    refused_claims(&server, &client, |c| c["nbf"] = json!(now() + 400), 700024).await;
}

#[tokio::test]
async fn exp_beyond_the_allowed_lifetime_is_refused() {
    let server = Server::start();
    let client = server.client("c");
    refused_claims(&server, &client, |c| c["exp"] = json!(now() + 3600 + 400), 700024).await;
}

#[tokio::test]
async fn a_certificate_removed_a_moment_ago_is_refused_on_the_next_request() {
    let server = Server::start();
    let client = server.client("c");
    let assertion = client.assertion(&server);
    assert_eq!(server.token("contoso", &client.form(&assertion)).await.0, 200);
    server.keyward(&[
        "app",
        "cert",
        "remove",
        "c",
        &client.certificate.thumbprints().sha1_hex(),
    ]);
    refused(&server, &client, &assertion, 700027).await;
}

#[tokio::test]
async fn an_expired_registered_certificate_is_refused() {
    let server = Server::start();
    let client = server.client("c");
    // Register a second certificate whose credential ends in two seconds.
    let (cert, key, path) = certificate(server.data(), "short", KeyType::Rsa2048, 30);
    server.keyward(&["app", "cert", "add", "c", path.to_str().unwrap()]);
    let app = server.keyward(&["app", "show", "c"]);
    let end = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let keys: Vec<_> = app["keyCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            if k["customKeyIdentifier"] == cert.thumbprints().sha1_hex().as_str() {
                // Replace it with the same certificate, ending in two seconds.
                json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": std_b64(cert.der()),
                       "endDateTime": end.format(&time::format_description::well_known::Rfc3339).unwrap()})
            } else {
                json!({"keyId": k["keyId"]})
            }
        })
        .collect();
    patch_app(&server, app["id"].as_str().unwrap(), json!({"keyCredentials": keys})).await;
    std::thread::sleep(std::time::Duration::from_secs(3));
    let header = json!({"alg": "RS256", "x5t": cert.thumbprints().x5t()});
    refused(
        &server,
        &client,
        &sign(&key, Algorithm::Rs256, &header, &client.claims(&server, "contoso")),
        700027,
    )
    .await;
}

/// PATCHes an application as the admin, through the CLI's own credential.
async fn patch_app(server: &Server, object_id: &str, body: serde_json::Value) {
    let admin: serde_json::Value =
        serde_json::from_slice(&std::fs::read(server.data().join("admin/admin.json")).unwrap()).unwrap();
    let admin_pem = std::fs::read(server.data().join("admin/admin.pem")).unwrap();
    let admin_key = std::fs::read(server.data().join("admin/admin.key")).unwrap();
    let contents = keyward_pki::read(&admin_pem, None)
        .unwrap()
        .with_private_key(keyward_pki::read(&admin_key, None).unwrap().private_key.unwrap())
        .unwrap();
    let (cert, key) = contents.certificate_and_key().unwrap();
    let app_id = admin["appId"].as_str().unwrap();
    let now = now();
    let claims =
        json!({"aud": server.token_endpoint("contoso"), "iss": app_id, "sub": app_id, "exp": now + 300, "nbf": now});
    let assertion = sign(
        key,
        Algorithm::Rs256,
        &json!({"alg": "RS256", "x5t": cert.thumbprints().x5t()}),
        &claims,
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app_id),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let (status, token) = server.token("contoso", &form).await;
    assert_eq!(status, 200, "{token}");
    let status = server
        .patch_json(
            &format!("/v1.0/applications/{object_id}"),
            token["access_token"].as_str().unwrap(),
            &body,
        )
        .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn a_removed_secret_is_refused() {
    let server = Server::start();
    let client = server.client("c");
    let added = server.keyward(&["app", "secret", "add", "c"]);
    let secret = added["secretText"].as_str().unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.app_id.as_str()),
        ("client_secret", secret),
        ("scope", client.scope.as_str()),
    ];
    assert_eq!(server.token("contoso", &form).await.0, 200);
    server.keyward(&["app", "secret", "remove", "c", added["keyId"].as_str().unwrap()]);
    assert_oauth_error(&server.token("contoso", &form).await, 401, "invalid_client", 7000215);
}

#[tokio::test]
async fn a_client_of_another_tenant_is_refused() {
    let server = Server::start();
    let client = server.client("c");
    let claims = client.claims(&server, "fabrikam");
    let assertion = sign(&client.key, Algorithm::Rs256, &client.header(), &claims);
    let response = server.token("fabrikam", &client.form(&assertion)).await;
    assert_oauth_error(&response, 400, "unauthorized_client", 700016);
}

#[tokio::test]
async fn oversized_or_malformed_assertions_get_a_4xx_and_the_server_lives_on() {
    let server = Server::start();
    let client = server.client("c");
    let huge = "a".repeat(20_000);
    let garbage = [
        "",
        "a",
        "a.b",
        "a.b.c.d",
        "....",
        "!!!.###.$$$",
        "eyJhbGciOiJSUzI1NiJ9.e30",
        &huge,
        &format!("{}.{}.", b64(&json!({"alg": "RS256"})), "%%%"),
        &format!("{}.{}.AAAA", b64(&json!(["alg"])), b64(&json!({}))),
        &format!(
            "{}=.{}.AAAA",
            b64(&client.header()),
            b64(&client.claims(&server, "contoso"))
        ),
    ];
    for assertion in garbage {
        let (status, body) = server.token("contoso", &client.form(assertion)).await;
        assert!((400..500).contains(&status), "{assertion:.40}: {status} {body}");
        assert!(body.get("access_token").is_none());
    }
    // A body over the limit, a form with a repeated parameter, and a JSON body.
    let oversized = server
        .post_raw(
            "/contoso/oauth2/v2.0/token",
            "application/x-www-form-urlencoded",
            vec![b'a'; 200_000],
        )
        .await;
    assert!(
        matches!(oversized, Some(413) | None),
        "an oversized body is refused: {oversized:?}"
    );
    let assertion = client.assertion(&server);
    let mut form = client.form(&assertion);
    form.push(("client_id", "again"));
    assert_eq!(server.token("contoso", &form).await.0, 400);
    let json = server
        .post_raw("/contoso/oauth2/v2.0/token", "application/json", b"{}".to_vec())
        .await;
    assert_eq!(json, Some(400));
    // Still serving.
    assert_eq!(server.token("contoso", &client.form(&assertion)).await.0, 200);
}

#[tokio::test]
async fn an_unknown_crit_header_is_refused() {
    let server = Server::start();
    let client = server.client("c");
    let header = json!({"alg": "RS256", "x5t": client.certificate.thumbprints().x5t(), "crit": ["exp"], "exp": 1});
    refused(
        &server,
        &client,
        &sign(
            &client.key,
            Algorithm::Rs256,
            &header,
            &client.claims(&server, "contoso"),
        ),
        700027,
    )
    .await;
}

#[tokio::test]
async fn a_sha256_thumbprint_sent_as_x5t_is_explained() {
    let server = Server::start();
    let client = server.client("c");
    let header = json!({"alg": "RS256", "x5t": client.certificate.thumbprints().x5t_s256()});
    let response = server
        .token(
            "contoso",
            &client.form(&sign(
                &client.key,
                Algorithm::Rs256,
                &header,
                &client.claims(&server, "contoso"),
            )),
        )
        .await;
    assert_oauth_error(&response, 401, "invalid_client", 700027);
    let description = response.1["error_description"].as_str().unwrap();
    assert!(
        description.contains("SHA-256") && description.contains("x5t#S256"),
        "{description}"
    );
    let registered = client.certificate.thumbprints().sha1_hex();
    assert!(
        description.contains(&format!("registered certificate {registered}")),
        "{description}"
    );
}

#[tokio::test]
async fn scopes_without_default_or_for_unknown_resources_are_refused() {
    let server = Server::start();
    let client = server.client("c");
    let assertion = client.assertion(&server);
    for (scope, status, error, code) in [
        ("api://c-api/Tasks.Read", 400, "invalid_scope", 1002012),
        ("api://nothing-here/.default", 400, "invalid_resource", 500011),
        ("api://c-api/.default openid", 400, "invalid_scope", 70011),
    ] {
        let mut form = client.form(&assertion);
        form[4] = ("scope", scope);
        assert_oauth_error(&server.token("contoso", &form).await, status, error, code);
    }
}
