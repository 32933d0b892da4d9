//! Who may do what: the challenge, token validation for real, access policies, and errors that
//! say nothing about whether an object exists.

use keyward_client::{ClientCredential, ConfidentialClient, Error};
use serde_json::Value;

use super::support::reader;
use crate::common::*;

/// A raw request to the vault; returns the status, the challenge header and the body.
async fn raw(server: &Server, path: &str, token: Option<&str>) -> (u16, Option<String>, Value) {
    let ca = server.ca_pem();
    let mut roots = rustls::RootCertStore::empty();
    for c in keyward_pki::read(&ca, None).unwrap().certificates {
        roots
            .add(rustls::pki_types::CertificateDer::from(c.der().to_vec()))
            .unwrap();
    }
    let tls =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let http = reqwest::Client::builder().use_preconfigured_tls(tls).build().unwrap();
    let mut request = http.get(format!("{}{path}", server.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

#[tokio::test]
async fn the_challenge_names_the_tenant_and_the_vault_resource() {
    let server = Server::start();
    let (status, challenge, body) = raw(&server, "/secrets/anything/?api-version=7.5", None).await;
    assert_eq!(status, 401);
    let tenant_id = server.get_json("/contoso/v2.0/.well-known/openid-configuration").await["issuer"]
        .as_str()
        .unwrap()
        .split('/')
        .nth(3)
        .unwrap()
        .to_owned();
    assert_eq!(
        challenge.as_deref(),
        Some(
            format!(
                r#"Bearer authorization="{}/{tenant_id}", resource="https://vault.keyward.localhost""#,
                server.url
            )
            .as_str()
        )
    );
    assert_eq!(body["error"]["code"], "Unauthorized");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("AKV10000"));
}

#[tokio::test]
async fn bad_tokens_and_missing_permissions_are_refused_alike_for_existing_and_missing_objects() {
    let server = Server::start();
    server.keyward(&["vault", "cert", "create", "exists", "--subject", "CN=exists"]);
    let nobody = reader(&server, "nobody", "", "");
    let lister = reader(&server, "lister", "list", "list");
    let nobody_token = nobody.vault_token(&server).await;
    let graph_token = ConfidentialClient::builder(
        &format!("{}/contoso", server.url),
        &nobody.app_id,
        ClientCredential::secret(nobody.secret.clone()),
    )
    .trust_ca(&server.ca_pem())
    .build()
    .unwrap()
    .acquire_token_for_client(&["https://graph.microsoft.com/.default"])
    .await
    .unwrap()
    .secret()
    .to_owned();
    // One character in the middle of the signature changed.
    let signature_start = nobody_token.rfind('.').unwrap() + 1;
    let mut tampered = nobody_token.clone().into_bytes();
    let i = signature_start + 20;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let lister_token = lister.vault_token(&server).await;

    let cases: [(&str, Option<&str>, u16); 5] = [
        ("no token", None, 401),
        ("a tampered signature", Some(&tampered), 401),
        ("a token for Microsoft Graph", Some(&graph_token), 401),
        ("no access policy", Some(&nobody_token), 403),
        ("list but not get", Some(&lister_token), 403),
    ];
    for (what, token, expected) in cases {
        for collection in ["certificates", "secrets"] {
            let existing = raw(&server, &format!("/{collection}/exists/?api-version=7.5"), token).await;
            let missing = raw(&server, &format!("/{collection}/missing/?api-version=7.5"), token).await;
            assert_eq!(existing.0, expected, "{what}, {collection}: {}", existing.2);
            assert_eq!(
                (existing.0, &existing.1, &existing.2["error"]["code"]),
                (missing.0, &missing.1, &missing.2["error"]["code"]),
                "{what}, {collection}: an existing and a missing object must look the same"
            );
            let strip = |m: &Value| {
                m.as_str()
                    .unwrap_or_default()
                    .replace("exists", "NAME")
                    .replace("missing", "NAME")
            };
            assert_eq!(
                strip(&existing.2["error"]["message"]),
                strip(&missing.2["error"]["message"]),
                "{what}, {collection}"
            );
        }
    }
    // With permission, the difference shows.
    assert_eq!(
        raw(&server, "/certificates?api-version=7.5", Some(&lister_token))
            .await
            .0,
        200
    );

    // The client library maps the refusal to its typed error, with the hint.
    let error = nobody
        .vault(&server)
        .get_certificate("exists", None)
        .await
        .expect_err("no permission");
    let Error::Vault(e) = &error else { panic!("{error:?}") };
    assert_eq!(e.status, 403);
    assert!(error.to_string().contains("keyward vault grant"), "{error}");
}
