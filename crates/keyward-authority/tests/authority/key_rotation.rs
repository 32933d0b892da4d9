//! Graph's `addKey` and `removeKey`: an application rolls its own certificates with a proof of
//! possession, holding a Graph token without any role. Each refusal of the proof is its own
//! test, and each checks that nothing changed.

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_authority::NewApplication;
use keyward_jose::{Algorithm, Header, SigningKey};
use keyward_pki::{Certificate, PrivateKey};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::common::{Client, Harness, Reply, certificate, harness, json_request, send};

const AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";

/// An application with one certificate, its object id, and its own Graph token (no role).
struct Roller {
    client: Client,
    object_id: Uuid,
    token: String,
}

async fn roller(h: &Harness, name: &str) -> Roller {
    let (key, certificate) = certificate(&format!("CN={name}"));
    let credential = keyward_authority::credentials::certificate_credential(
        certificate.der(),
        None,
        None,
        None,
        false,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let app = h
        .authority
        .create_application(
            h.tenant_id,
            NewApplication {
                display_name: name.into(),
                key_credentials: vec![credential],
                ..NewApplication::default()
            },
        )
        .await
        .unwrap();
    let client = Client {
        app_id: app.app.app_id,
        key,
        certificate,
    };
    let reply = h.token_reply(&client, "https://graph.microsoft.com/.default").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap().to_owned();
    Roller {
        client,
        object_id: app.app.id,
        token,
    }
}

/// A proof signed by `key`, naming `certificate` in `x5t`.
fn proof(key: &PrivateKey, certificate: &Certificate, claims: &Value) -> String {
    let header = Header::new(Algorithm::Rs256)
        .with_typ("JWT")
        .with_x5t(certificate.thumbprints().x5t());
    SigningKey::new(key, Algorithm::Rs256)
        .unwrap()
        .sign(&header, claims)
        .unwrap()
}

/// The claims Microsoft's sample puts in a proof, for `object_id`.
fn claims(object_id: Uuid) -> Value {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    json!({"aud": AUDIENCE, "iss": object_id, "nbf": now, "exp": now + 600, "jti": Uuid::new_v4()})
}

fn add_body(new: &Certificate, proof: &str) -> Value {
    json!({
        "keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(new.der())},
        "passwordCredential": null,
        "proof": proof,
    })
}

async fn add_key(h: &Harness, r: &Roller, body: Value) -> Reply {
    let uri = format!("/v1.0/applications/{}/addKey", r.object_id);
    send(&h.router, json_request(Method::POST, &uri, Some(&r.token), Some(body))).await
}

async fn thumbprints(h: &Harness, r: &Roller) -> Vec<String> {
    let admin = h.admin_token().await;
    let uri = format!("/v1.0/applications/{}", r.object_id);
    let reply = send(&h.router, json_request(Method::GET, &uri, Some(&admin), None)).await;
    reply.body["keyCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["customKeyIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts a refusal of the proof that changed nothing.
async fn assert_refused(h: &Harness, r: &Roller, reply: &Reply, says: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], "Authorization_RequestDenied");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "{message}");
    assert_eq!(
        thumbprints(h, r).await,
        [r.client.certificate.thumbprints().sha1_hex()],
        "nothing added"
    );
}

#[tokio::test]
async fn add_key_with_a_valid_proof_adds_the_key_and_the_new_key_signs_in() {
    let h = harness().await;
    let r = roller(&h, "roller").await;
    let (new_key, new_cert) = certificate("CN=roller");
    let body = add_body(
        &new_cert,
        &proof(&r.client.key, &r.client.certificate, &claims(r.object_id)),
    );
    let reply = add_key(&h, &r, body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["type"], "AsymmetricX509Cert");
    assert_eq!(reply.body["customKeyIdentifier"], new_cert.thumbprints().sha1_hex());
    assert!(Uuid::parse_str(reply.body["keyId"].as_str().unwrap()).is_ok());
    let mut both = thumbprints(&h, &r).await;
    both.sort();
    let mut expected = vec![
        r.client.certificate.thumbprints().sha1_hex(),
        new_cert.thumbprints().sha1_hex(),
    ];
    expected.sort();
    assert_eq!(both, expected);
    // The new certificate authenticates at once.
    let rolled = Client {
        app_id: r.client.app_id,
        key: new_key,
        certificate: new_cert,
    };
    let token = h.token_reply(&rolled, "https://graph.microsoft.com/.default").await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    // The change is in the audit log, under the application, by the application.
    let store = keyward_store::open(&h.database).await.unwrap();
    let object_id = r.object_id.to_string();
    let events = store
        .audit_events(h.tenant_id, Some(("application", &object_id)), 50)
        .await
        .unwrap();
    let event = events
        .iter()
        .find(|e| e.detail.contains("addKey"))
        .expect("an audit row for addKey");
    assert_eq!(event.target_id, r.object_id.to_string());
    assert!(event.actor.starts_with("roller"), "{}", event.actor);
}

#[tokio::test]
async fn add_key_by_appid_address_works_too() {
    let h = harness().await;
    let r = roller(&h, "keyed-roller").await;
    let (_, new_cert) = certificate("CN=keyed-roller");
    let body = add_body(
        &new_cert,
        &proof(&r.client.key, &r.client.certificate, &claims(r.object_id)),
    );
    let uri = format!("/v1.0/applications(appId='{}')/addKey", r.client.app_id);
    let reply = send(&h.router, json_request(Method::POST, &uri, Some(&r.token), Some(body))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(thumbprints(&h, &r).await.len(), 2);
    // Filed under the application's object id, whichever address was used.
    let store = keyward_store::open(&h.database).await.unwrap();
    let object_id = r.object_id.to_string();
    let events = store
        .audit_events(h.tenant_id, Some(("application", &object_id)), 50)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.detail.contains("addKey")), "{events:?}");
}

#[tokio::test]
async fn a_proof_signed_by_a_key_not_on_the_app_is_refused() {
    let h = harness().await;
    let r = roller(&h, "roller").await;
    let (stranger_key, stranger_cert) = certificate("CN=stranger");
    let (_, new_cert) = certificate("CN=roller");
    // Signed by a certificate the app does not have, and named as such.
    let body = add_body(&new_cert, &proof(&stranger_key, &stranger_cert, &claims(r.object_id)));
    let reply = add_key(&h, &r, body).await;
    assert_refused(&h, &r, &reply, "not registered").await;
    // Signed by the stranger's key while naming the app's certificate.
    let body = add_body(
        &new_cert,
        &proof(&stranger_key, &r.client.certificate, &claims(r.object_id)),
    );
    let reply = add_key(&h, &r, body).await;
    assert_refused(&h, &r, &reply, "signature").await;
    // Self-signed by the key being added: proves nothing about the app.
    let (new_key, new_cert) = certificate("CN=roller");
    let body = add_body(&new_cert, &proof(&new_key, &new_cert, &claims(r.object_id)));
    let reply = add_key(&h, &r, body).await;
    assert_refused(&h, &r, &reply, "not registered").await;
}

#[tokio::test]
async fn an_expired_proof_is_refused() {
    let h = harness().await;
    let r = roller(&h, "roller").await;
    let (_, new_cert) = certificate("CN=roller");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut expired = claims(r.object_id);
    expired["nbf"] = json!(now - 1200);
    expired["exp"] = json!(now - 600);
    let body = add_body(&new_cert, &proof(&r.client.key, &r.client.certificate, &expired));
    let reply = add_key(&h, &r, body).await;
    assert_refused(&h, &r, &reply, "expired").await;
}

#[tokio::test]
async fn a_proof_with_the_wrong_audience_is_refused() {
    let h = harness().await;
    let r = roller(&h, "roller").await;
    let (_, new_cert) = certificate("CN=roller");
    for aud in [
        json!("https://localhost:8443/contoso/oauth2/v2.0/token"),
        json!("https://graph.microsoft.com"),
        json!(r.client.app_id),
    ] {
        let mut wrong = claims(r.object_id);
        wrong["aud"] = aud;
        let body = add_body(&new_cert, &proof(&r.client.key, &r.client.certificate, &wrong));
        let reply = add_key(&h, &r, body).await;
        assert_refused(&h, &r, &reply, "'aud'").await;
    }
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let h = harness().await;
    let r = roller(&h, "roller").await;
    let signed = proof(&r.client.key, &r.client.certificate, &claims(r.object_id));
    let (_, first) = certificate("CN=roller");
    let reply = add_key(&h, &r, add_body(&first, &signed)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let (_, second) = certificate("CN=roller");
    let reply = add_key(&h, &r, add_body(&second, &signed)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{}",
        reply.body
    );
    assert_eq!(thumbprints(&h, &r).await.len(), 2, "the replay added nothing");
    // Without a jti, the signature identifies the proof.
    let mut plain = claims(r.object_id);
    plain.as_object_mut().unwrap().remove("jti");
    let signed = proof(&r.client.key, &r.client.certificate, &plain);
    let (_, third) = certificate("CN=roller");
    assert_eq!(add_key(&h, &r, add_body(&third, &signed)).await.status, StatusCode::OK);
    let (_, fourth) = certificate("CN=roller");
    assert_eq!(
        add_key(&h, &r, add_body(&fourth, &signed)).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_proof_with_the_wrong_issuer_is_refused() {
    let h = harness().await;
    let r = roller(&h, "roller").await;
    let other = roller(&h, "other").await;
    let (_, new_cert) = certificate("CN=roller");
    for iss in [json!(r.client.app_id), json!(other.object_id), json!("roller")] {
        let mut wrong = claims(r.object_id);
        wrong["iss"] = iss;
        let body = add_body(&new_cert, &proof(&r.client.key, &r.client.certificate, &wrong));
        let reply = add_key(&h, &r, body).await;
        assert_refused(&h, &r, &reply, "'iss'").await;
    }
}

#[tokio::test]
async fn an_app_cannot_roll_another_apps_keys_and_a_proof_is_required() {
    let h = harness().await;
    let r = roller(&h, "roller").await;
    let other = roller(&h, "other").await;
    let (_, new_cert) = certificate("CN=roller");
    // Another application's token, even with a proof of the target's key: denied.
    let body = add_body(
        &new_cert,
        &proof(&r.client.key, &r.client.certificate, &claims(r.object_id)),
    );
    let uri = format!("/v1.0/applications/{}/addKey", r.object_id);
    let reply = send(
        &h.router,
        json_request(Method::POST, &uri, Some(&other.token), Some(body)),
    )
    .await;
    assert_refused(&h, &r, &reply, "only its own keys").await;
    // No proof: a bad request, even for an administrator.
    let admin = h.admin_token().await;
    let mut body = add_body(&new_cert, "");
    body.as_object_mut().unwrap().remove("proof");
    let reply = send(&h.router, json_request(Method::POST, &uri, Some(&admin), Some(body))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    // No token at all.
    let reply = send(&h.router, json_request(Method::POST, &uri, None, Some(json!({})))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // A private key in the upload is refused as everywhere.
    let admin_proof = proof(&r.client.key, &r.client.certificate, &claims(r.object_id));
    let mut body = add_body(&new_cert, &admin_proof);
    body["keyCredential"]["type"] = json!("X509CertAndPassword");
    let reply = add_key(&h, &r, body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
}

#[tokio::test]
async fn remove_key_with_a_proof_removes_the_old_certificate() {
    let h = harness().await;
    let r = roller(&h, "roller").await;
    let (new_key, new_cert) = certificate("CN=roller");
    let added = add_key(
        &h,
        &r,
        add_body(
            &new_cert,
            &proof(&r.client.key, &r.client.certificate, &claims(r.object_id)),
        ),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK);
    let admin = h.admin_token().await;
    let uri = format!("/v1.0/applications/{}", r.object_id);
    let app = send(&h.router, json_request(Method::GET, &uri, Some(&admin), None)).await;
    let old_key_id = app.body["keyCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["customKeyIdentifier"] == r.client.certificate.thumbprints().sha1_hex())
        .unwrap()["keyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let remove = format!("/v1.0/applications/{}/removeKey", r.object_id);

    // An unknown key id: 404, and the proof is not used up by it.
    let signed = proof(&new_key, &new_cert, &claims(r.object_id));
    let missing = json!({"keyId": Uuid::new_v4(), "proof": signed});
    let reply = send(
        &h.router,
        json_request(Method::POST, &remove, Some(&r.token), Some(missing)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    // A proof by a key not on the app: refused.
    let (stranger_key, stranger_cert) = certificate("CN=stranger");
    let bad = json!({"keyId": old_key_id, "proof": proof(&stranger_key, &stranger_cert, &claims(r.object_id))});
    let reply = send(
        &h.router,
        json_request(Method::POST, &remove, Some(&r.token), Some(bad)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(thumbprints(&h, &r).await.len(), 2);

    // Signed by the new certificate: the old one goes, and is refused at once.
    let good = json!({"keyId": old_key_id, "proof": signed});
    let reply = send(
        &h.router,
        json_request(Method::POST, &remove, Some(&r.token), Some(good.clone())),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(thumbprints(&h, &r).await, [new_cert.thumbprints().sha1_hex()]);
    let refused = h.token_reply(&r.client, "https://graph.microsoft.com/.default").await;
    assert_ne!(refused.status, StatusCode::OK, "{}", refused.body);
    // The same proof again: replayed.
    let reply = send(
        &h.router,
        json_request(Method::POST, &remove, Some(&r.token), Some(good)),
    )
    .await;
    assert_ne!(reply.status, StatusCode::NO_CONTENT);
}
