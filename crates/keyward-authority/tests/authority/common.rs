//! An authority over a fresh SQLite database, its router, and an admin application with a
//! certificate and the `Application.ReadWrite.All` role, whose tokens come from the token
//! endpoint itself: real client assertions, real signed access tokens.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use keyward_authority::{APPLICATION_READ_WRITE_ALL, Authority, Config, GRAPH_APP_ID, MasterKey, NewApplication};
use keyward_jose::{Algorithm, Header, SigningKey};
use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey, Validity};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower::ServiceExt;
use uuid::Uuid;

/// The origin the authority believes it has.
pub const ORIGIN: &str = "https://localhost:8443";

/// A client application and the key of its registered certificate.
pub struct Client {
    pub app_id: Uuid,
    pub key: PrivateKey,
    pub certificate: Certificate,
}

pub struct Harness {
    pub authority: Arc<Authority>,
    pub router: Router,
    pub tenant_id: Uuid,
    /// The database's URL, to look at the store behind the authority's back.
    pub database: String,
    pub admin: Client,
    pub _dir: tempfile::TempDir,
}

/// A self-signed RSA certificate and its key.
pub fn certificate(subject: &str) -> (PrivateKey, Certificate) {
    let key = PrivateKey::generate(KeyType::Rsa2048).expect("key");
    let certificate = CertificateSpec::new(Name::parse(subject).expect("name"))
        .validity(Validity::Days(30))
        .self_signed(&key)
        .expect("certificate");
    (key, certificate)
}

pub async fn harness() -> Harness {
    harness_with(|_| {}).await
}

/// A harness whose authority's settings `configure` changes.
pub async fn harness_with(configure: impl FnOnce(&mut Config)) -> Harness {
    let mut config = Config::new(ORIGIN);
    configure(&mut config);
    let dir = tempfile::tempdir().expect("tempdir");
    let database = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let store = keyward_store::open(&database).await.expect("store");
    let master = MasterKey::from_bytes(&MasterKey::generate().expect("random")).expect("master key");
    let authority = Arc::new(Authority::open(store, master, config).await.expect("authority"));
    let tenant = authority.ensure_tenant("contoso").await.expect("tenant");
    let tenant_id = tenant.tenant.id;

    // The admin: a certificate credential and Application.ReadWrite.All on Microsoft Graph.
    let (key, certificate) = certificate("CN=admin");
    let credential = keyward_authority::credentials::certificate_credential(
        certificate.der(),
        None,
        None,
        None,
        false,
        OffsetDateTime::now_utc(),
    )
    .expect("credential");
    let app = authority
        .create_application(
            tenant_id,
            NewApplication {
                display_name: "admin".into(),
                key_credentials: vec![credential],
                ..NewApplication::default()
            },
        )
        .await
        .expect("admin application");
    let snapshot = authority.snapshot();
    let graph = snapshot.app_in_tenant(tenant_id, GRAPH_APP_ID).expect("graph");
    let role = graph
        .app
        .app_roles
        .iter()
        .find(|r| r.value == APPLICATION_READ_WRITE_ALL)
        .expect("role");
    authority
        .grant_role(
            tenant_id,
            app.app.service_principal_id,
            graph.app.service_principal_id,
            role.id,
        )
        .await
        .expect("grant");
    Harness {
        router: keyward_authority::router(Arc::clone(&authority)),
        authority,
        tenant_id,
        database,
        admin: Client {
            app_id: app.app.app_id,
            key,
            certificate,
        },
        _dir: dir,
    }
}

/// A response, its body read as JSON (or as a string when it is not).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The body as text (HTML pages).
    pub fn text(&self) -> &str {
        self.body.as_str().unwrap_or_default()
    }
}

/// Sends one request through the router.
pub async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 4 * 1024 * 1024)
        .await
        .expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Reply { status, headers, body }
}

/// A JSON request, with a bearer token when given.
pub fn json_request(method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&body).expect("json")))
            .expect("request"),
        None => request.body(Body::empty()).expect("request"),
    }
}

/// A form POST.
pub fn form_request(uri: &str, pairs: &[(&str, &str)]) -> Request<Body> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        form.append_pair(k, v);
    }
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.finish()))
        .expect("request")
}

impl Client {
    /// A client assertion for the token endpoint of `tenant` (an alias in the URL).
    pub fn assertion(&self, tenant: &str) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({
            "iss": self.app_id, "sub": self.app_id, "jti": Uuid::new_v4(),
            "aud": format!("{ORIGIN}/{tenant}/oauth2/v2.0/token"),
            "exp": now + 600, "nbf": now - 10,
        });
        let header = Header::new(Algorithm::Rs256)
            .with_typ("JWT")
            .with_x5t(self.certificate.thumbprints().x5t());
        SigningKey::new(&self.key, Algorithm::Rs256)
            .expect("signer")
            .sign(&header, &claims)
            .expect("sign")
    }
}

impl Harness {
    /// Asks the token endpoint for a token for `scope`, as `client`.
    pub async fn token_reply(&self, client: &Client, scope: &str) -> Reply {
        let assertion = client.assertion("contoso");
        let request = form_request(
            "/contoso/oauth2/v2.0/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.app_id.to_string()),
                ("scope", scope),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
            ],
        );
        send(&self.router, request).await
    }

    /// A Microsoft Graph token of the admin, from the token endpoint.
    pub async fn admin_token(&self) -> String {
        let reply = self
            .token_reply(&self.admin, "https://graph.microsoft.com/.default")
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// The applications in the store, read behind the authority's back.
    pub async fn stored_application_names(&self) -> Vec<String> {
        let store = keyward_store::open(&self.database).await.expect("store");
        let mut names: Vec<String> = store
            .applications()
            .await
            .expect("applications")
            .into_iter()
            .filter(|a| a.tenant_id == self.tenant_id)
            .map(|a| a.display_name)
            .collect();
        names.sort();
        names
    }
}
