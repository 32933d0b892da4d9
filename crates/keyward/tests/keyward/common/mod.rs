//! What the tests share: a real server ([`Server`]), the CLI against it, and hand-made client
//! assertions.

mod postgres;
mod server;

pub use postgres::Schema;
pub use server::{Server, http_client, tls_config};

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use keyward_jose::{Algorithm, SigningKey};
use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey, Validity};
use serde_json::{Value, json};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client application with a registered certificate, and a resource it holds a role on.
pub struct Client {
    pub app_id: String,
    pub certificate: Certificate,
    pub key: PrivateKey,
    pub resource_app_id: String,
    pub scope: String,
}

/// Makes a certificate and key (valid `days`), writing the certificate's DER to `dir/name.cer`.
pub fn certificate(dir: &Path, name: &str, key_type: KeyType, days: u32) -> (Certificate, PrivateKey, PathBuf) {
    let key = PrivateKey::generate(key_type).expect("key");
    let cert = CertificateSpec::new(Name::parse(&format!("CN={name}")).expect("name"))
        .validity(Validity::Days(days))
        .self_signed(&key)
        .expect("certificate");
    let path = dir.join(format!("{name}.cer"));
    std::fs::write(&path, cert.der()).expect("write .cer");
    (cert, key, path)
}

impl Server {
    /// Registers `name` with a new certificate, a resource `name-api` with role Tasks.Read.All,
    /// and grants the role.
    pub fn client(&self, name: &str) -> Client {
        let resource = format!("{name}-api");
        let identifier = format!("api://{resource}");
        let created = self.keyward(&["app", "create", "--name", name]);
        let api = self.keyward(&["app", "create", "--name", &resource, "--identifier-uri", &identifier]);
        self.keyward(&["app", "role", "add", &resource, "--value", "Tasks.Read.All"]);
        self.keyward(&["app", "grant", name, &resource, "Tasks.Read.All"]);
        let (certificate, key, cer_path) = certificate(self.data(), name, KeyType::Rsa2048, 30);
        self.keyward(&["app", "cert", "add", name, cer_path.to_str().expect("utf-8")]);
        Client {
            app_id: created["appId"].as_str().expect("appId").to_owned(),
            certificate,
            key,
            resource_app_id: api["appId"].as_str().expect("appId").to_owned(),
            scope: format!("{identifier}/.default"),
        }
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

pub fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).expect("json"))
}

/// Signs `header.claims` with `key` under `alg`, whatever the header says.
pub fn sign(key: &PrivateKey, alg: Algorithm, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = SigningKey::new(key, alg)
        .expect("signer")
        .sign_raw(input.as_bytes())
        .expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

impl Client {
    /// The claims MSAL Node sends.
    pub fn claims(&self, server: &Server, tenant: &str) -> Value {
        let now = now();
        json!({"aud": server.token_endpoint(tenant), "iss": self.app_id, "sub": self.app_id,
            "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "iat": now, "exp": now + 600})
    }

    /// The RS256 + x5t header MSAL Node sends for a SHA-1 thumbprint.
    pub fn header(&self) -> Value {
        json!({"alg": "RS256", "typ": "JWT", "x5t": self.certificate.thumbprints().x5t()})
    }

    pub fn assertion(&self, server: &Server) -> String {
        sign(
            &self.key,
            Algorithm::Rs256,
            &self.header(),
            &self.claims(server, "contoso"),
        )
    }

    pub fn form<'a>(&'a self, assertion: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", &self.app_id),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
            ("scope", &self.scope),
        ]
    }
}

/// Asserts an OAuth error response: status, `error`, and the AADSTS code in both places.
pub fn assert_oauth_error(response: &(u16, Value), status: u16, error: &str, code: u64) {
    let (got_status, body) = response;
    assert_eq!(*got_status, status, "status; body: {body}");
    assert_eq!(body["error"], error, "error; body: {body}");
    assert_eq!(body["error_codes"][0], code, "code; body: {body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with(&format!("AADSTS{code}:")),
        "description: {description}"
    );
    assert!(body.get("access_token").is_none());
}

/// Decodes a token's claims without verifying (tests verify signatures separately).
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("claims JSON")
}

pub fn std_b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}
