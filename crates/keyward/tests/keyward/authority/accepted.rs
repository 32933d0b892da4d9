//! What the wire contract says must be accepted, and what a good token looks like.

use keyward_jose::{Algorithm, Jwks, VerifyingKey};
use serde_json::json;

use crate::common::*;

/// Verifies an access token against the tenant's JWKS and returns its claims.
async fn verified_claims(server: &Server, token: &str) -> serde_json::Value {
    let jwks: Jwks = serde_json::from_value(server.get_json("/contoso/discovery/v2.0/keys").await).expect("JWKS");
    let jws = keyward_jose::Jws::parse(token).expect("token parses");
    let kid = jws.header().kid.clone().expect("kid");
    assert_eq!(
        jws.header().x5t.as_deref(),
        Some(kid.as_str()),
        "x5t equals kid, as Entra"
    );
    let key = VerifyingKey::from_jwk(jwks.find(&kid).expect("kid published")).expect("JWK");
    jws.verified_claims(&key, &[Algorithm::Rs256])
        .expect("signature verifies against the JWKS")
}

#[tokio::test]
async fn msal_node_style_rs256_assertion_gets_a_token_with_the_contract_claims() {
    let server = Server::start();
    let client = server.client("rs256-client");
    let assertion = client.assertion(&server);
    let (status, body) = server.token("contoso", &client.form(&assertion)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        body["expires_in"].as_i64().is_some_and(|s| (3000..=3600).contains(&s)),
        "{body}"
    );
    assert_eq!(body["ext_expires_in"], body["expires_in"]);
    let claims = verified_claims(&server, body["access_token"].as_str().unwrap()).await;
    let discovery = server.get_json("/contoso/v2.0/.well-known/openid-configuration").await;
    assert_eq!(claims["iss"], discovery["issuer"]);
    assert_eq!(claims["aud"], client.resource_app_id.as_str());
    assert_eq!(claims["azp"], client.app_id.as_str());
    assert_eq!(claims["azpacr"], "2");
    assert_eq!(claims["roles"], json!(["Tasks.Read.All"]));
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["sub"], claims["oid"]);
    assert!(
        claims["tid"]
            .as_str()
            .is_some_and(|t| discovery["issuer"].as_str().unwrap().contains(t))
    );
    assert!(claims["uti"].as_str().is_some_and(|u| u.len() >= 16));
}

#[tokio::test]
async fn ps256_with_x5t_s256_padded_x5t_floats_no_nbf_and_a_resent_assertion_are_accepted() {
    let server = Server::start();
    let client = server.client("lenient-client");
    let thumbprints = client.certificate.thumbprints();

    // MSAL Node thumbprintSha256: PS256 + x5t#S256.
    let header = json!({"alg": "PS256", "typ": "JWT", "x5t#S256": thumbprints.x5t_s256()});
    let assertion = sign(
        &client.key,
        Algorithm::Ps256,
        &header,
        &client.claims(&server, "contoso"),
    );
    assert_eq!(server.token("contoso", &client.form(&assertion)).await.0, 200);

    // MSAL Python: padded x5t, float exp/iat, no nbf, aud under the tenant's domain alias.
    let now = now() as f64 + 0.25;
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": format!("{}=", thumbprints.x5t())});
    let claims = json!({"aud": server.token_endpoint("contoso.onmicrosoft.com"), "iss": client.app_id, "sub": client.app_id,
        "jti": "1", "iat": now, "exp": now + 600.5});
    let assertion = sign(&client.key, Algorithm::Rs256, &header, &claims);
    let (status, body) = server.token("contoso", &client.form(&assertion)).await;
    assert_eq!(status, 200, "{body}");

    // The same assertion again (both MSALs re-send it for up to 10 minutes).
    assert_eq!(server.token("contoso", &client.form(&assertion)).await.0, 200);

    // aud with MSAL Node's ?client-request-id query string, posted under the GUID alias.
    let tid = claims_of(body["access_token"].as_str().unwrap())["tid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut claims = client.claims(&server, &tid);
    claims["aud"] = json!(format!(
        "{}?client-request-id={}",
        server.token_endpoint(&tid),
        uuid::Uuid::new_v4()
    ));
    let assertion = sign(&client.key, Algorithm::Rs256, &client.header(), &claims);
    assert_eq!(server.token(&tid, &client.form(&assertion)).await.0, 200);

    // Unknown parameters MSAL adds are ignored; the x5c of the registered certificate is fine,
    // with line breaks as MSAL Python sends them.
    let der = std_b64(client.certificate.der());
    let wrapped: String = der
        .as_bytes()
        .chunks(64)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": thumbprints.x5t(), "x5c": [wrapped]});
    let assertion = sign(
        &client.key,
        Algorithm::Rs256,
        &header,
        &client.claims(&server, "contoso"),
    );
    let mut form = client.form(&assertion);
    form.extend([
        ("client_info", "1"),
        ("x-client-SKU", "msal.js.node"),
        ("x-client-VER", "7.2.3"),
        ("claims", "{}"),
    ]);
    let (status, body) = server.token("contoso", &form).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn client_secret_post_and_basic_are_accepted_and_marked_azpacr_1() {
    let server = Server::start();
    let client = server.client("secret-client");
    let secret = server.keyward(&["app", "secret", "add", "secret-client"]);
    let secret = secret["secretText"].as_str().expect("secretText").to_owned();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.app_id.as_str()),
        ("client_secret", secret.as_str()),
        ("scope", client.scope.as_str()),
    ];
    let (status, body) = server.token("contoso", &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims_of(body["access_token"].as_str().unwrap())["azpacr"], "1");

    let form = [("grant_type", "client_credentials"), ("scope", client.scope.as_str())];
    let (status, body) = server
        .post_form(
            &server.token_endpoint("contoso"),
            &form,
            Some((&client.app_id, &secret)),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // A wrong secret.
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.app_id.as_str()),
        ("client_secret", "not-the-secret"),
        ("scope", client.scope.as_str()),
    ];
    assert_oauth_error(&server.token("contoso", &form).await, 401, "invalid_client", 7000215);
}

#[tokio::test]
async fn discovery_and_keys_answer_under_every_alias() {
    let server = Server::start();
    let by_name = server.get_json("/contoso/v2.0/.well-known/openid-configuration").await;
    let issuer = by_name["issuer"].as_str().unwrap().to_owned();
    let tid = issuer
        .trim_start_matches(&format!("{}/", server.url))
        .trim_end_matches("/v2.0")
        .to_owned();
    for alias in ["contoso", "CONTOSO", "contoso.onmicrosoft.com", tid.as_str()] {
        let doc = server
            .get_json(&format!("/{alias}/v2.0/.well-known/openid-configuration"))
            .await;
        assert_eq!(doc["issuer"], issuer.as_str(), "{alias}");
        for field in [
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "end_session_endpoint",
        ] {
            assert!(
                doc[field].as_str().is_some_and(|u| u.starts_with(&server.url)),
                "{alias} {field}"
            );
        }
        assert!(
            doc["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("private_key_jwt"))
        );
        let keys = server.get_json(&format!("/{alias}/discovery/v2.0/keys")).await;
        let key = &keys["keys"][0];
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["kid"], key["x5t"]);
        assert!(key["x5c"][0].as_str().is_some_and(|c| c.len() > 500));
    }
    let missing = server.token("nowhere", &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(&missing, 400, "invalid_tenant", 90002);
    // The client's request id comes back as the correlation id, so both sides' logs meet.
    let id = uuid::Uuid::new_v4().to_string();
    let url = format!("{}?client-request-id={id}", server.token_endpoint("nowhere"));
    let (_, body) = server
        .post_form(&url, &[("grant_type", "client_credentials")], None)
        .await;
    assert_eq!(body["correlation_id"], id.as_str());
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains(&format!("Correlation ID: {id}"))
    );
}
