//! The HTTP layer through its router: the challenge, real token checks, access policies, Key
//! Vault's JSON and errors, ids from the Host header, paging links, the management API.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

use super::common::{Harness, RESOURCE, TokenSpec, harness};

const HOST: &str = "localhost:8443";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn call(
    router: &Router,
    method: Method,
    uri: &str,
    host: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri).header(header::HOST, host);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(b) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(serde_json::to_vec(&b).unwrap())
        }
        None => Body::empty(),
    };
    let response = router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Reply { status, headers, body }
}

struct Client {
    router: Router,
    token: String,
}

impl Client {
    async fn get(&self, uri: &str) -> Reply {
        call(&self.router, Method::GET, uri, HOST, Some(&self.token), None).await
    }
    async fn send(&self, method: Method, uri: &str, body: Value) -> Reply {
        call(&self.router, method, uri, HOST, Some(&self.token), Some(body)).await
    }
}

/// A router and a principal with these permissions and a valid token.
async fn client(h: &Harness, certificates: &[&str], secrets: &[&str]) -> Client {
    let oid = Uuid::new_v4();
    h.grant(oid, certificates, secrets).await;
    Client {
        router: keyward_vault::router(h.vaults.clone()),
        token: h.token(oid),
    }
}

fn challenge(h: &Harness) -> String {
    format!(
        "Bearer authorization=\"https://localhost:8443/{}\", resource=\"{RESOURCE}\"",
        h.tenant
    )
}

fn assert_unauthorized(h: &Harness, reply: &Reply) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(
        reply
            .headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok()),
        Some(challenge(h).as_str())
    );
    assert_eq!(reply.body["error"]["code"], "Unauthorized");
}

#[tokio::test]
async fn no_token_is_the_challenge() {
    let h = harness().await;
    let router = keyward_vault::router(h.vaults.clone());
    for (method, uri) in [
        (Method::GET, "/secrets/anything/"),
        (Method::POST, "/certificates/x/create?api-version=2025-07-01"),
        (Method::GET, "/certificates"),
        (Method::DELETE, "/deletedsecrets/x"),
    ] {
        let reply = call(&router, method, uri, HOST, None, None).await;
        assert_unauthorized(&h, &reply);
        assert_eq!(
            reply.body,
            json!({"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}})
        );
    }
    // An unknown vault host gets the same challenge, and learns nothing more without a token.
    let reply = call(&router, Method::GET, "/secrets/x", "nosuch.localhost:8443", None, None).await;
    assert_unauthorized(&h, &reply);
}

#[tokio::test]
async fn bad_tokens_are_refused_with_the_challenge() {
    let h = harness().await;
    let reader = client(&h, &[], &["get", "set"]).await;
    let oid = Uuid::new_v4();
    h.grant(oid, &[], &["get"]).await;
    let spec = |audience, lifetime, forged, tenant| TokenSpec {
        tenant,
        oid,
        audience,
        lifetime,
        roles: &[],
        forged,
    };
    let tokens = [
        h.issuer.token(&spec(RESOURCE, 3600, true, h.tenant)),
        h.issuer
            .token(&spec("https://graph.microsoft.com", 3600, false, h.tenant)),
        h.issuer.token(&spec(RESOURCE, -120, false, h.tenant)),
        h.issuer.token(&spec(RESOURCE, 3600, false, h.other_tenant)),
        "not.a.token".to_owned(),
    ];
    for token in &tokens {
        let reply = call(&reader.router, Method::GET, "/secrets/s/", HOST, Some(token), None).await;
        assert_unauthorized(&h, &reply);
    }
    // A scheme other than Bearer is no token either.
    let request = Request::get("/secrets/s")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
        .body(Body::empty())
        .unwrap();
    let response = reader.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The same principal with a good token gets through.
    let good = h.issuer.token(&spec(RESOURCE, 3600, false, h.tenant));
    let reply = call(&reader.router, Method::GET, "/secrets/s/", HOST, Some(&good), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["error"]["code"], "SecretNotFound");
}

/// Issue 13: the 403 names the `keyward vault grant` that allows it, with the caller's own
/// application id and the permission it asked for, and nothing about anyone else's access.
#[tokio::test]
async fn a_403_names_the_grant_that_would_allow_it_and_nothing_more() {
    let h = harness().await;
    let owner = client(&h, &["all"], &["all"]).await;
    let set = owner.send(Method::PUT, "/secrets/exists", json!({"value": "v"})).await;
    assert_eq!(set.status, StatusCode::OK);
    let outsider = client(&h, &["list"], &["list"]).await;
    let refused = outsider.get("/secrets/exists/").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let message = refused.body["error"]["message"].as_str().unwrap();
    let app_id = message
        .strip_prefix("The user, group or application 'appid=")
        .and_then(|rest| rest.split(';').next())
        .expect("the caller's appid");
    assert!(!app_id.is_empty(), "{message}");
    assert!(
        message.contains(&format!("`keyward vault grant {app_id} --secrets get`")),
        "{message}"
    );
    assert!(message.contains("list every one it needs"), "{message}");
    assert_eq!(message.matches("appid=").count(), 1, "{message}");
    assert!(
        !message.contains("list,") && !message.contains("--certificates"),
        "{message}"
    );
    let create = outsider
        .send(
            Method::POST,
            "/certificates/c/create",
            json!({"policy": {"x509_props": {"subject": "CN=c"}}}),
        )
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    let message = create.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("--certificates create`"), "{message}");
}

#[tokio::test]
async fn no_permission_is_403_whether_or_not_the_object_exists() {
    let h = harness().await;
    let owner = client(&h, &["all"], &["all"]).await;
    let set = owner.send(Method::PUT, "/secrets/exists", json!({"value": "v"})).await;
    assert_eq!(set.status, StatusCode::OK);
    let create = owner
        .send(
            Method::POST,
            "/certificates/cert/create",
            json!({"policy": {"x509_props": {"subject": "CN=c"}}}),
        )
        .await;
    assert_eq!(create.status, StatusCode::ACCEPTED);

    let outsider = client(&h, &["list"], &["list"]).await;
    let existing = outsider.get("/secrets/exists/").await;
    let missing = outsider.get("/secrets/missing/").await;
    assert_eq!(existing.status, StatusCode::FORBIDDEN);
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(existing.body, missing.body);
    assert_eq!(existing.body["error"]["code"], "Forbidden");
    assert_eq!(existing.body["error"]["innererror"]["code"], "ForbiddenByPolicy");
    let message = existing.body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("The user, group or application 'appid="),
        "{message}"
    );
    assert!(
        message.contains("does not have secrets get permission on key vault 'default'"),
        "{message}"
    );
    let a = outsider.get("/certificates/cert").await;
    let b = outsider.get("/certificates/nothing").await;
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Writes too, before the body is even read.
    let w = outsider
        .send(Method::PUT, "/secrets/exists", json!({"value": "mine"}))
        .await;
    assert_eq!(w.status, StatusCode::FORBIDDEN);
    let garbage = call(
        &outsider.router,
        Method::PUT,
        "/secrets/exists",
        HOST,
        Some(&outsider.token),
        Some(json!("{")),
    )
    .await;
    assert_eq!(garbage.status, StatusCode::FORBIDDEN);
    // What it may do, it can.
    assert_eq!(outsider.get("/secrets").await.status, StatusCode::OK);
}

#[tokio::test]
async fn certificate_wire_shapes() {
    let h = harness().await;
    let c = client(&h, &["all"], &["all"]).await;
    let created = c
        .send(
            Method::POST,
            "/certificates/Wire/create?api%2Dversion=2025-07-01",
            json!({"policy": {"key_props": {}, "secret_props": {"contentType": "application/x-pem-file"}, "x509_props": {"subject": "CN=wire", "sans": {}}, "issuer": {"name": "Self"}}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    let op = &created.body;
    assert_eq!(op["id"], "https://localhost:8443/certificates/Wire/pending");
    // Accepted in progress, as Key Vault answers; the operation itself is complete.
    assert_eq!(op["status"], "inProgress");
    assert!(op.get("target").is_none());
    assert_eq!(op["issuer"]["name"], "Self");
    assert_eq!(op["cancellation_requested"], false);
    let csr = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, op["csr"].as_str().unwrap()).unwrap();
    assert_eq!(csr[0], 0x30, "a DER CSR");
    let pending = c.get("/certificates/wire/pending").await.body;
    assert_eq!(pending["status"], "completed");
    assert_eq!(pending["target"], "https://localhost:8443/certificates/Wire");
    assert_eq!(pending["request_id"], op["request_id"]);
    assert_eq!(pending["csr"], op["csr"]);
    let location = created.headers.get(header::LOCATION).unwrap().to_str().unwrap();
    assert!(
        location.starts_with("https://localhost:8443/certificates/Wire/pending?api-version=2025-07-01&request_id=")
    );

    let with_slash = c.get("/certificates/wire/?api-version=2026-04-01").await;
    let without = c.get("/certificates/WIRE").await;
    assert_eq!(with_slash.status, StatusCode::OK);
    assert_eq!(with_slash.body, without.body);
    let b = &with_slash.body;
    let id = b["id"].as_str().unwrap();
    let version = id.strip_prefix("https://localhost:8443/certificates/Wire/").unwrap();
    assert!(
        version.len() == 32 && version.bytes().all(|x| x.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(b["kid"], format!("https://localhost:8443/keys/Wire/{version}"));
    assert_eq!(b["sid"], format!("https://localhost:8443/secrets/Wire/{version}"));
    let cer = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b["cer"].as_str().unwrap()).unwrap();
    let cert = keyward_pki::Certificate::from_der(&cer).unwrap();
    assert_eq!(b["x5t"], cert.thumbprints().x5t());
    assert!(!b["x5t"].as_str().unwrap().contains('='));
    let attributes = &b["attributes"];
    assert_eq!(attributes["enabled"], true);
    assert_eq!(attributes["nbf"], cert.info().not_before.unix_timestamp());
    assert_eq!(attributes["exp"], cert.info().not_after.unix_timestamp());
    assert!(attributes["created"].is_i64() && attributes["updated"].is_i64());
    assert_eq!(attributes["recoveryLevel"], "Recoverable+Purgeable");
    assert_eq!(attributes["recoverableDays"], 90);
    let policy = &b["policy"];
    assert_eq!(policy["id"], "https://localhost:8443/certificates/Wire/policy");
    assert_eq!(
        policy["key_props"],
        json!({"exportable": true, "kty": "RSA", "key_size": 2048, "reuse_key": false})
    );
    assert_eq!(policy["secret_props"], json!({"contentType": "application/x-pem-file"}));
    assert_eq!(policy["x509_props"]["subject"], "CN=wire");
    assert_eq!(
        policy["x509_props"]["ekus"],
        json!(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"])
    );
    assert_eq!(
        policy["x509_props"]["key_usage"],
        json!(["digitalSignature", "keyEncipherment"])
    );
    assert_eq!(policy["x509_props"]["validity_months"], 12);
    assert_eq!(
        policy["lifetime_actions"],
        json!([{"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "AutoRenew"}}])
    );
    assert_eq!(policy["issuer"], json!({"name": "Self"}));
    assert_eq!(c.get("/certificates/wire/policy").await.body, *policy);

    // The managed secret: same name and version, kid, managed, PEM.
    let secret = c.get("/secrets/wire/").await.body;
    assert_eq!(secret["id"], format!("https://localhost:8443/secrets/Wire/{version}"));
    assert_eq!(secret["kid"], b["kid"]);
    assert_eq!(secret["managed"], true);
    assert_eq!(secret["contentType"], "application/x-pem-file");
    assert!(
        secret["value"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    // Listed, without a value, with its flag.
    let listed = c.get("/secrets").await.body;
    let item = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "https://localhost:8443/secrets/Wire")
        .unwrap()
        .clone();
    assert_eq!(item["managed"], true);
    assert!(item.get("value").is_none());
    // Writing it directly is refused as Key Vault refuses it.
    let refused = c.send(Method::PUT, "/secrets/wire", json!({"value": "x"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["error"]["innererror"]["code"], "SecretManagedByKeyVault");

    // The list item and the versions.
    let list = c.get("/certificates?maxresults=25").await.body;
    assert_eq!(list["value"][0]["id"], "https://localhost:8443/certificates/Wire");
    assert_eq!(list["value"][0]["x5t"], b["x5t"]);
    assert!(list["nextLink"].is_null());
    let versions = c.get("/certificates/wire/versions").await.body;
    assert_eq!(versions["value"][0]["id"], *id);

    // Update: attributes and tags.
    let updated = c
        .send(
            Method::PATCH,
            &format!("/certificates/wire/{version}"),
            json!({"attributes": {"enabled": false}, "tags": {"k": "v"}}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["attributes"]["enabled"], false);
    assert_eq!(updated.body["tags"], json!({"k": "v"}));
    let disabled = c.get("/secrets/wire/").await;
    assert_eq!(disabled.status, StatusCode::FORBIDDEN);
    assert_eq!(disabled.body["error"]["innererror"]["code"], "SecretDisabled");
}

#[tokio::test]
async fn delete_recover_purge_over_http() {
    let h = harness().await;
    let c = client(&h, &["all"], &["all"]).await;
    c.send(
        Method::POST,
        "/certificates/d/create",
        json!({"policy": {"x509_props": {"subject": "CN=d"}}}),
    )
    .await;
    let deleted = c.send(Method::DELETE, "/certificates/d", json!(null)).await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(
        deleted.body["recoveryId"],
        "https://localhost:8443/deletedcertificates/d"
    );
    let (d, p) = (
        deleted.body["deletedDate"].as_i64().unwrap(),
        deleted.body["scheduledPurgeDate"].as_i64().unwrap(),
    );
    assert_eq!(p - d, 90 * 86_400);
    assert!(deleted.body["cer"].is_string());
    assert_eq!(c.get("/certificates/d/").await.status, StatusCode::NOT_FOUND);
    let polled = c.get("/deletedcertificates/d").await;
    assert_eq!(polled.status, StatusCode::OK);
    let conflict = c
        .send(
            Method::POST,
            "/certificates/d/create",
            json!({"policy": {"x509_props": {"subject": "CN=d"}}}),
        )
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.body["error"]["code"], "Conflict");
    assert_eq!(
        conflict.body["error"]["innererror"]["code"],
        "ObjectIsDeletedButRecoverable"
    );
    let listed = c.get("/deletedcertificates").await.body;
    assert_eq!(
        listed["value"][0]["recoveryId"],
        "https://localhost:8443/deletedcertificates/d"
    );
    assert_eq!(c.get("/deletedsecrets/d").await.body["managed"], true);
    assert_eq!(
        c.send(Method::POST, "/deletedcertificates/d/recover", json!(null))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(c.get("/certificates/d").await.status, StatusCode::OK);
    c.send(Method::DELETE, "/certificates/d", json!(null)).await;
    let purged = call(
        &c.router,
        Method::DELETE,
        "/deletedcertificates/d",
        HOST,
        Some(&c.token),
        None,
    )
    .await;
    assert_eq!(purged.status, StatusCode::NO_CONTENT);
    let gone = c.get("/deletedcertificates/d").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.body["error"]["code"], "CertificateNotFound");

    // Secrets too.
    c.send(
        Method::PUT,
        "/secrets/s",
        json!({"value": "v", "contentType": "text/plain"}),
    )
    .await;
    let deleted = c.send(Method::DELETE, "/secrets/s", json!(null)).await;
    assert_eq!(deleted.body["recoveryId"], "https://localhost:8443/deletedsecrets/s");
    assert!(deleted.body.get("value").is_none());
    let reuse = c.send(Method::PUT, "/secrets/s", json!({"value": "again"})).await;
    assert_eq!(reuse.status, StatusCode::CONFLICT);
    assert_eq!(
        c.send(Method::POST, "/deletedsecrets/s/recover", json!(null))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(c.get("/secrets/s").await.body["value"], "v");
}

#[tokio::test]
async fn ids_follow_the_host_and_lists_link_their_next_page() {
    let h = harness().await;
    h.vaults.ensure_vault(h.tenant, "team").await.unwrap();
    let oid = Uuid::new_v4();
    for vault in ["default", "team"] {
        h.vaults
            .set_access_policy(
                vault,
                keyward_store::AccessPolicy {
                    object_id: oid,
                    certificates: vec![],
                    secrets: vec!["all".into()],
                },
            )
            .await
            .unwrap();
    }
    let router = keyward_vault::router(h.vaults.clone());
    let token = h.token(oid);
    for name in ["a", "b", "c"] {
        let r = call(
            &router,
            Method::PUT,
            &format!("/secrets/{name}"),
            "Team.localhost:9999",
            Some(&token),
            Some(json!({"value": name})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body["id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("https://Team.localhost:9999/secrets/{name}/"))
        );
    }
    // The default vault does not see the team vault's secrets.
    let r = call(
        &router,
        Method::GET,
        "/secrets/a/",
        "127.0.0.1:8443",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let mut next = Some("https://team.localhost:9999/secrets?api%2Dversion=2025-07-01&maxresults=2".to_owned());
    let mut names = Vec::new();
    while let Some(link) = next {
        let path = link.strip_prefix("https://team.localhost:9999").unwrap();
        let r = call(&router, Method::GET, path, "team.localhost:9999", Some(&token), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for item in r.body["value"].as_array().unwrap() {
            names.push(item["id"].as_str().unwrap().rsplit('/').next().unwrap().to_owned());
        }
        next = r.body["nextLink"].as_str().map(str::to_owned);
        if let Some(link) = &next {
            assert!(
                link.starts_with("https://team.localhost:9999/secrets?api-version=2025-07-01&%24skiptoken="),
                "{link}"
            );
            assert!(link.ends_with("&maxresults=2"), "{link}");
        }
    }
    assert_eq!(names, ["a", "b", "c"]);
    let bad = call(
        &router,
        Method::GET,
        "/secrets?maxresults=100",
        "team.localhost",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"]["code"], "BadParameter");

    // An unknown vault is found out only with a valid token, and says nothing else.
    let unknown = call(
        &router,
        Method::GET,
        "/secrets/a",
        "nosuch.localhost",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["error"]["code"], "VaultNotFound");
    // Hosts with characters outside the allow-list are refused.
    for host in ["evil.com/x", "a b", "x\"y"] {
        let request = Request::get("/secrets").header(header::HOST, host).body(Body::empty());
        if let Ok(request) = request {
            let response = router.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{host}");
        }
    }
}

#[tokio::test]
async fn client_mistakes_are_4xx_in_key_vaults_shape() {
    let h = harness().await;
    let c = client(&h, &["all"], &["all"]).await;
    let too_big = c
        .send(Method::PUT, "/secrets/big", json!({"value": "x".repeat(25 * 1024 + 1)}))
        .await;
    assert_eq!(too_big.status, StatusCode::BAD_REQUEST);
    assert_eq!(too_big.body["error"]["code"], "BadParameter");
    let huge_body = c
        .send(Method::PUT, "/secrets/big", json!({"value": "x".repeat(300 * 1024)}))
        .await;
    assert_eq!(huge_body.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge_body.body["error"]["code"], "BadParameter");
    let not_json = call(
        &c.router,
        Method::PUT,
        "/secrets/x",
        HOST,
        Some(&c.token),
        Some(json!("{")),
    )
    .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    // The error does not echo what it could not read: it may be the secret.
    let wrong_shape = c.send(Method::PUT, "/secrets/x", json!("hunter2-secret")).await;
    assert_eq!(wrong_shape.status, StatusCode::BAD_REQUEST);
    assert!(
        !wrong_shape.body.to_string().contains("hunter2"),
        "{}",
        wrong_shape.body
    );
    let wrong_type = c
        .send(Method::PUT, "/secrets/x", json!({"value": ["hunter2-secret"]}))
        .await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    assert!(!wrong_type.body.to_string().contains("hunter2"), "{}", wrong_type.body);
    let bad_name = c.send(Method::PUT, "/secrets/bad_name", json!({"value": "v"})).await;
    assert_eq!(bad_name.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_name.body["error"]["code"], "BadParameter");
    let bad_policy = c
        .send(
            Method::POST,
            "/certificates/x/create",
            json!({"policy": {"x509_props": {"subject": "CN=x"}, "key_props": {"kty": "oct"}}}),
        )
        .await;
    assert_eq!(bad_policy.status, StatusCode::BAD_REQUEST);
    let bad_import = c
        .send(
            Method::POST,
            "/certificates/x/import",
            json!({"value": "bm90IGEgY2VydGlmaWNhdGU="}),
        )
        .await;
    assert_eq!(bad_import.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        c.get("/certificates/missing/pending").await.body["error"]["code"],
        "PendingCertificateNotFound"
    );
    assert_eq!(
        c.get("/secrets/missing/0123456789abcdef0123456789abcdef").await.status,
        StatusCode::NOT_FOUND
    );

    // An import may be bigger than other bodies: a PEM file with a long comment.
    let key = keyward_pki::PrivateKey::generate(keyward_pki::KeyType::EcP256).unwrap();
    let cert = keyward_pki::CertificateSpec::new(keyward_pki::Name::parse("CN=big").unwrap())
        .self_signed(&key)
        .unwrap();
    let padding = "# a comment line that PEM readers skip\n".repeat(8000);
    let pem = format!("{padding}{}{}", cert.pem(), key.to_pkcs8_pem(None).unwrap().as_str());
    assert!(pem.len() > 256 * 1024);
    let imported = c
        .send(Method::POST, "/certificates/big/import", json!({"value": pem}))
        .await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
    assert_eq!(
        imported.body["policy"]["secret_props"]["contentType"],
        "application/x-pem-file"
    );
}

#[tokio::test]
async fn management_api() {
    let h = harness().await;
    let router = keyward_vault::router(h.vaults.clone());
    let admin = h.admin_token(h.tenant);
    let other = h.admin_token(h.other_tenant);
    let no = call(&router, Method::GET, "/admin/api/vaults", HOST, None, None).await;
    assert_eq!(no.status, StatusCode::UNAUTHORIZED);
    let vault_token = h.token(Uuid::new_v4());
    let wrong = call(
        &router,
        Method::GET,
        "/admin/api/vaults",
        HOST,
        Some(&vault_token),
        None,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let created = call(&router, Method::PUT, "/admin/api/vaults/Apps", HOST, Some(&admin), None).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["name"], "apps");
    assert_eq!(created.body["tenantId"], h.tenant.to_string());
    let again = call(&router, Method::PUT, "/admin/api/vaults/apps", HOST, Some(&admin), None).await;
    assert_eq!(again.status, StatusCode::OK);
    let taken = call(&router, Method::PUT, "/admin/api/vaults/apps", HOST, Some(&other), None).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let listed = call(&router, Method::GET, "/admin/api/vaults", HOST, Some(&admin), None).await;
    let names: Vec<&str> = listed.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["apps", "default"]);
    let theirs = call(&router, Method::GET, "/admin/api/vaults", HOST, Some(&other), None).await;
    assert_eq!(theirs.body["value"], json!([]));
    assert_eq!(
        call(&router, Method::GET, "/admin/api/vaults/apps", HOST, Some(&other), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let oid = Uuid::new_v4();
    let uri = format!("/admin/api/vaults/apps/accessPolicies/{oid}");
    let bad = call(
        &router,
        Method::PUT,
        &uri,
        HOST,
        Some(&admin),
        Some(json!({"certificates": ["get", "fly"]})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let foreign = call(
        &router,
        Method::PUT,
        &uri,
        HOST,
        Some(&other),
        Some(json!({"secrets": ["get"]})),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let set = call(
        &router,
        Method::PUT,
        &uri,
        HOST,
        Some(&admin),
        Some(json!({"certificates": ["Get"], "secrets": ["get", "set"]})),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK);
    assert_eq!(
        set.body["accessPolicies"],
        json!([{"objectId": oid, "certificates": ["get"], "secrets": ["get", "set"]}])
    );
    let token = h.token(oid);
    let put = call(
        &router,
        Method::PUT,
        "/secrets/x",
        "apps.localhost",
        Some(&token),
        Some(json!({"value": "v"})),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK);
    let removed = call(&router, Method::DELETE, &uri, HOST, Some(&admin), None).await;
    assert_eq!(removed.body["accessPolicies"], json!([]));
    let denied = call(&router, Method::GET, "/secrets/x", "apps.localhost", Some(&token), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}
