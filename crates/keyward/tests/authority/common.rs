//! A real server, the CLI against it, and hand-made client assertions.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use keyward_jose::{Algorithm, SigningKey};
use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey, Validity};
use serde_json::{Value, json};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A running `keyward serve` with two tenants, contoso (default) and fabrikam.
pub struct Server {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub url: String,
    http: reqwest::Client,
}

impl Server {
    pub fn start() -> Self {
        Self::start_in(tempfile::tempdir().expect("temp dir"))
    }

    /// Starts a server on an existing data directory (for restart tests).
    pub fn start_in(dir: tempfile::TempDir) -> Self {
        Self::start_with(dir, &[])
    }

    /// Starts a server with extra `keyward serve` arguments.
    pub fn start_with(dir: tempfile::TempDir, extra: &[&str]) -> Self {
        let info = dir.path().join("server.json");
        std::fs::remove_file(&info).ok();
        // A caller's own --listen replaces the default.
        let listen = if extra.contains(&"--listen") {
            &[][..]
        } else {
            &["--listen", "127.0.0.1:0"][..]
        };
        let child = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .arg("serve")
            .args(listen)
            .args(["--tenant", "contoso", "--tenant", "fabrikam", "--data"])
            .arg(dir.path())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("keyward serve starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            if let Ok(text) = std::fs::read_to_string(&info)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && v["pid"] == child.id()
            {
                break v["url"].as_str().expect("url").to_owned();
            }
            assert!(Instant::now() < deadline, "the server did not start within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        };
        let ca = std::fs::read(dir.path().join("tls/ca.pem")).expect("ca.pem");
        let http = http_client(&ca);
        Self {
            child: Some(child),
            dir,
            url,
            http,
        }
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `keyward ARGS --data DIR --json` and returns its JSON.
    pub fn keyward(&self, args: &[&str]) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(args)
            .arg("--data")
            .arg(self.data())
            .arg("--json")
            .stdin(Stdio::null())
            .output()
            .expect("keyward runs");
        assert!(
            out.status.success(),
            "keyward {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// Stops the server with SIGTERM and waits; returns the data directory.
    pub fn stop(mut self) -> tempfile::TempDir {
        if let Some(mut child) = self.child.take() {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .expect("kill runs");
            let status = child.wait().expect("server exits");
            assert!(status.success(), "SIGTERM must be a clean shutdown, got {status}");
        }
        self.dir_take()
    }

    fn dir_take(&mut self) -> tempfile::TempDir {
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"))
    }

    /// Kills the server with SIGKILL; returns the data directory.
    pub fn kill9(mut self) -> tempfile::TempDir {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().ok();
        }
        self.dir_take()
    }

    pub fn token_endpoint(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.url)
    }

    /// POSTs a token request; returns the status and the JSON body.
    pub async fn token(&self, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
        self.post_form(&self.token_endpoint(tenant), form, None).await
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
        let mut request = self.http.post(url).form(form);
        if let Some((user, password)) = basic {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().await.expect("token request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Tokens the server has issued since it started, from `/metrics`.
    pub async fn tokens_issued(&self) -> u64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|l| l.strip_prefix("keyward_token_requests_total{result=\"issued\"} "))
            .and_then(|n| n.trim().parse().ok())
            .expect("the issued counter")
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.data().join("tls/ca.pem")).expect("ca.pem")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON")
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> u16 {
        let response = self
            .http
            .patch(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await;
        response.expect("request").status().as_u16()
    }

    /// POSTs raw bytes on a connection of its own; `None` when the server closed it before
    /// reading everything (what it may do after answering 413 early).
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Option<u16> {
        let ca = std::fs::read(self.data().join("tls/ca.pem")).expect("ca.pem");
        let response = http_client(&ca)
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await;
        response.ok().map(|r| r.status().as_u16())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

fn http_client(ca_pem: &[u8]) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in keyward_pki::read(ca_pem, None).expect("CA").certificates {
        roots
            .add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
            .expect("root");
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .expect("client")
}

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
