//! The Key vault section against a real server: certificates generated and imported through the
//! pages, their downloads read by the real `openssl`, secrets whose value is shown only on
//! request, access policies that take effect at the vault's REST API, and deleted items.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use keyward_client::{ClientCredential, ConfidentialClient};

use super::admin;
use crate::common::Server;
use crate::signin::browser::{Browser, Page, decode};

/// The session's CSRF token, from the sign-out form every page has.
fn csrf(page: &Page) -> String {
    page.form_to("/admin/signout").field("csrf").expect("csrf").to_owned()
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The form's fields with `values` filled in, as a browser sends them.
fn filled(form: &crate::signin::browser::Form, values: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out = form.fields.clone();
    for (name, value) in values {
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = (*value).to_owned(),
            None => out.push(((*name).to_owned(), (*value).to_owned())),
        }
    }
    out
}

/// What a raw request received: status, headers and the body's bytes.
struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// A request with `browser`'s cookies whose answer is read as bytes (downloads, uploads).
async fn raw(server: &Server, browser: &Browser, path: &str, body: Option<(&str, Vec<u8>)>) -> Raw {
    let mut roots = rustls::RootCertStore::empty();
    for c in keyward_pki::read(&server.ca_pem(), None).unwrap().certificates {
        roots
            .add(rustls::pki_types::CertificateDer::from(c.der().to_vec()))
            .unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = browser.url(path);
    let mut request = match body {
        Some((content_type, bytes)) => http.post(&url).header("content-type", content_type).body(bytes),
        None => http.get(&url),
    };
    let cookies: Vec<String> = browser
        .cookie_names()
        .iter()
        .map(|n| format!("{n}={}", browser.cookie(n).unwrap()))
        .collect();
    request = request.header("cookie", cookies.join("; "));
    let response = request.send().await.unwrap();
    Raw {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

/// A urlencoded form body.
fn urlencoded(pairs: &[(&str, &str)]) -> Vec<u8> {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// A multipart body: text fields, then files (field, file name, bytes).
fn multipart(texts: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "keyward-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, value) in texts {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (name, file, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Runs `openssl` with `args`; its standard output if it succeeds.
fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The SHA-1 fingerprint openssl computes of a DER certificate, as the portal shows it.
fn sha1_of_der(path: &Path) -> String {
    let out = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        path.to_str().unwrap(),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]);
    out.trim()
        .split_once('=')
        .expect("Fingerprint=")
        .1
        .replace(':', "")
        .to_uppercase()
}

/// Generates a certificate through the Generate form; returns the version page's path.
async fn generate(browser: &Browser, name: &str, subject: &str, content_type: &str, key_type: &str) -> String {
    let form_page = browser.get("/admin/vault/default/certificates/new").await;
    assert_eq!(form_page.status, 200, "{}", form_page.body);
    for label in [
        "Certificate name",
        "Subject",
        "Validity period (in months)",
        "Content type",
        "Key type",
    ] {
        assert!(form_page.body.contains(&format!(">{label}</label>")), "{label}");
    }
    let form = form_page.form_to("/admin/vault/default/certificates/new");
    assert_eq!(form.field("validity_months"), Some("12"));
    let created = browser
        .post(
            &form.action,
            &fields(&[
                ("csrf", form.field("csrf").unwrap()),
                ("name", name),
                ("subject", subject),
                ("validity_months", "6"),
                ("content_type", content_type),
                ("key_type", key_type),
            ]),
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let certificate = created.location().unwrap();
    assert_eq!(
        certificate,
        format!("/admin/vault/default/certificates/{name}?done=certificate-created")
    );
    let page = browser.get(&certificate).await;
    assert!(page.body.contains("The certificate was created."), "{}", page.body);
    let marker = format!("href=\"/admin/vault/default/certificates/{name}/");
    let at = page.body.find(&marker).expect("a version link") + "href=\"".len();
    let end = page.body[at..].find('"').unwrap() + at;
    page.body[at..end].to_owned()
}

/// The version page's SHA-1 thumbprint.
fn shown_thumbprint(page: &Page) -> String {
    let at = page.body.find("id=\"thumbprint\"").expect("thumbprint");
    let start = page.body[at..].find('>').unwrap() + at + 1;
    let end = page.body[start..].find('<').unwrap() + start;
    page.body[start..end].to_owned()
}

#[tokio::test]
async fn generated_certificates_download_as_cer_pfx_and_pem_that_openssl_reads() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let list = browser.get("/admin/vault").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("href=\"/admin/vault/default\""), "{}", list.body);
    let dir = tempfile::tempdir().unwrap();

    for (name, content_type, key_type, extension) in [
        ("pfx-cert", "application/x-pkcs12", "RSA-2048", "pfx"),
        ("pem-cert", "application/x-pem-file", "EC-P256", "pem"),
    ] {
        let version = generate(&browser, name, &format!("CN={name}"), content_type, key_type).await;
        let page = browser.get(&version).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let thumbprint = shown_thumbprint(&page);
        assert_eq!(thumbprint.len(), 40, "{thumbprint}");
        assert!(page.body.contains(&format!("CN={name}")));
        assert!(page.body.contains("Download in CER format"));
        assert!(page.body.contains("Download in PFX/PEM format"));

        // .cer: the public certificate, by GET.
        let cer = raw(&server, &browser, &format!("{version}/download/cer"), None).await;
        assert_eq!(cer.status, 200);
        assert_eq!(cer.header("content-type"), "application/pkix-cert");
        assert_eq!(
            cer.header("content-disposition"),
            format!("attachment; filename=\"{name}.cer\"")
        );
        let cer_path = dir.path().join(format!("{name}.cer"));
        std::fs::write(&cer_path, &cer.body).unwrap();
        assert_eq!(sha1_of_der(&cer_path), thumbprint, "the thumbprint shown is openssl's");

        // With the key: POST with the CSRF token, in the content type's format.
        let form = page.form_to(&format!("{version}/download"));
        let without_token = raw(
            &server,
            &browser,
            &form.action,
            Some(("application/x-www-form-urlencoded", Vec::new())),
        )
        .await;
        assert_eq!(without_token.status, 403);
        let file = raw(
            &server,
            &browser,
            &form.action,
            Some((
                "application/x-www-form-urlencoded",
                urlencoded(&[("csrf", form.field("csrf").unwrap())]),
            )),
        )
        .await;
        assert_eq!(file.status, 200, "{}", String::from_utf8_lossy(&file.body));
        assert_eq!(file.header("content-type"), content_type);
        assert_eq!(
            file.header("content-disposition"),
            format!("attachment; filename=\"{name}.{extension}\"")
        );
        assert_eq!(file.header("cache-control"), "no-store");
        let path = dir.path().join(format!("{name}.{extension}"));
        std::fs::write(&path, &file.body).unwrap();
        let path = path.to_str().unwrap();
        if extension == "pfx" {
            let out = openssl(&["pkcs12", "-in", path, "-nodes", "-passin", "pass:"]);
            assert!(out.contains("-----BEGIN PRIVATE KEY-----"), "{out}");
            assert!(out.contains("-----BEGIN CERTIFICATE-----"));
            let pem_path = dir.path().join("from-pfx.pem");
            std::fs::write(&pem_path, &out).unwrap();
            let der = dir.path().join("from-pfx.der");
            openssl(&[
                "x509",
                "-in",
                pem_path.to_str().unwrap(),
                "-outform",
                "DER",
                "-out",
                der.to_str().unwrap(),
            ]);
            assert_eq!(
                sha1_of_der(&der),
                thumbprint,
                "the PFX holds this version's certificate"
            );
        } else {
            let subject = openssl(&["x509", "-in", path, "-noout", "-subject"]);
            assert!(
                subject.contains(&format!("CN = {name}")) || subject.contains(&format!("CN={name}")),
                "{subject}"
            );
            let key = openssl(&["pkey", "-in", path, "-noout", "-text"]);
            assert!(key.contains("P-256") || key.contains("prime256v1"), "{key}");
        }

        // The download is in the audit log.
        let certificate = browser.get(&format!("/admin/vault/default/certificates/{name}")).await;
        assert!(
            certificate.body.contains("with its private key"),
            "{}",
            certificate.body
        );
    }

    // The list shows both, with thumbprints and expiry.
    let vault = browser.get("/admin/vault/default").await;
    assert!(vault.body.contains("data-certificate=\"pfx-cert\""), "{}", vault.body);
    assert!(vault.body.contains("data-certificate=\"pem-cert\""));

    // A Global Reader sees the certificate and its public part, never the key.
    let reader = admin(&server, "reader@example.com", "global-reader").await;
    let version = {
        let page = reader.get("/admin/vault/default/certificates/pfx-cert").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let at = page
            .body
            .find("href=\"/admin/vault/default/certificates/pfx-cert/")
            .unwrap()
            + 6;
        let end = page.body[at..].find('"').unwrap() + at;
        page.body[at..end].to_owned()
    };
    let page = reader.get(&version).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("Download in PFX/PEM format"),
        "no button for what the role cannot do"
    );
    assert!(!page.body.contains("Generate/Import"));
    let cer = raw(&server, &reader, &format!("{version}/download/cer"), None).await;
    assert_eq!(cer.status, 200);
    let refused = raw(
        &server,
        &reader,
        &format!("{version}/download"),
        Some((
            "application/x-www-form-urlencoded",
            urlencoded(&[("csrf", &csrf(&page))]),
        )),
    )
    .await;
    assert_eq!(refused.status, 403);
    assert!(!String::from_utf8_lossy(&refused.body).contains("PRIVATE KEY"));
    assert_eq!(reader.get("/admin/vault/default/certificates/new").await.status, 403);
    assert_eq!(reader.get("/admin/vault/no-such-vault").await.status, 404);
}

#[tokio::test]
async fn a_pfx_made_by_openssl_and_a_pem_with_its_key_are_imported() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let cert = dir.path().join("cert.pem");
    let pfx = dir.path().join("imported.pfx");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
        "-subj",
        "/CN=imported-by-openssl",
        "-days",
        "30",
    ]);
    openssl(&[
        "pkcs12",
        "-export",
        "-in",
        cert.to_str().unwrap(),
        "-inkey",
        key.to_str().unwrap(),
        "-out",
        pfx.to_str().unwrap(),
        "-passout",
        "pass:pfx password 1",
    ]);
    let der = dir.path().join("cert.der");
    openssl(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    let expected = sha1_of_der(&der);

    let page = browser.get("/admin/vault/default/certificates/new").await;
    let token = csrf(&page);
    assert!(
        page.body
            .contains("enctype=\"multipart/form-data\" action=\"/admin/vault/default/certificates/import\"")
    );
    let pfx_bytes = std::fs::read(&pfx).unwrap();

    // The wrong password: the form again, saying so.
    let (content_type, body) = multipart(
        &[("csrf", &token), ("name", "imported"), ("password", "wrong")],
        &[("file", "imported.pfx", &pfx_bytes)],
    );
    let refused = raw(
        &server,
        &browser,
        "/admin/vault/default/certificates/import",
        Some((&content_type, body)),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", String::from_utf8_lossy(&refused.body));
    assert!(String::from_utf8_lossy(&refused.body).contains("role=\"alert\""));

    let (content_type, body) = multipart(
        &[("csrf", &token), ("name", "imported"), ("password", "pfx password 1")],
        &[("file", "imported.pfx", &pfx_bytes)],
    );
    let done = raw(
        &server,
        &browser,
        "/admin/vault/default/certificates/import",
        Some((&content_type, body)),
    )
    .await;
    assert_eq!(done.status, 303, "{}", String::from_utf8_lossy(&done.body));
    assert_eq!(
        done.header("location"),
        "/admin/vault/default/certificates/imported?done=certificate-imported"
    );
    let vault = browser.get("/admin/vault/default").await;
    assert!(
        vault.body.contains(&expected),
        "the list shows openssl's thumbprint: {}",
        vault.body
    );

    // A PEM file with the key and the certificate.
    let mut pem = std::fs::read(&key).unwrap();
    pem.extend(std::fs::read(&cert).unwrap());
    let (content_type, body) = multipart(
        &[("csrf", &token), ("name", "imported-pem")],
        &[("file", "both.pem", &pem)],
    );
    let done = raw(
        &server,
        &browser,
        "/admin/vault/default/certificates/import",
        Some((&content_type, body)),
    )
    .await;
    assert_eq!(done.status, 303, "{}", String::from_utf8_lossy(&done.body));
    let page = browser.get("/admin/vault/default/certificates/imported-pem").await;
    assert!(page.body.contains(&expected), "{}", page.body);

    // Larger than the upload limit: refused before it is read.
    let huge = vec![b'A'; 300 * 1024];
    let (content_type, body) = multipart(&[("csrf", &token), ("name", "huge")], &[("file", "huge.pem", &huge)]);
    let too_large = raw(
        &server,
        &browser,
        "/admin/vault/default/certificates/import",
        Some((&content_type, body)),
    )
    .await;
    // (413 or, as forms.rs reads axum's multipart error today, 400: refused either way.)
    assert!(matches!(too_large.status, 400 | 413), "{}", too_large.status);
    assert_eq!(browser.get("/admin/vault/default/certificates/huge").await.status, 404);

    // Without a CSRF token nothing is imported.
    let (content_type, body) = multipart(&[("name", "no-token")], &[("file", "imported.pfx", &pfx_bytes)]);
    let forged = raw(
        &server,
        &browser,
        "/admin/vault/default/certificates/import",
        Some((&content_type, body)),
    )
    .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        browser.get("/admin/vault/default/certificates/no-token").await.status,
        404
    );
}

#[tokio::test]
async fn a_secret_value_is_shown_only_on_request_and_never_to_a_global_reader() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let value = "s3cret-value-that-must-not-leak";
    let page = browser.get("/admin/vault/default?tab=secrets").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let set = page.form_to("/admin/vault/default/secrets");
    let saved = browser
        .post(
            &set.action,
            &fields(&[
                ("csrf", set.field("csrf").unwrap()),
                ("name", "db-password"),
                ("value", value),
                ("content_type", "text/plain"),
            ]),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.location().unwrap(),
        "/admin/vault/default/secrets/db-password?done=secret-set"
    );
    let list = browser.get("/admin/vault/default?tab=secrets").await;
    assert!(list.body.contains("data-secret=\"db-password\""), "{}", list.body);
    assert!(list.body.contains("text/plain"));
    assert!(!list.body.contains(value), "never in the list");
    let secret = browser.get("/admin/vault/default/secrets/db-password").await;
    assert!(!secret.body.contains(value), "not before the click");
    assert!(secret.body.contains("Show secret value"));

    let show = secret.form_to("/admin/vault/default/secrets/db-password/show");
    let shown = browser.post(&show.action, &show.fields).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(
        shown.body.contains(&format!(
            "<code id=\"secret-value\" class=\"secret-value\">{value}</code>"
        )),
        "{}",
        shown.body
    );
    assert!(decode(&shown.body).contains("Showed the value of version"), "audited");
    // Without the token: refused.
    let forged = browser
        .post(&show.action, &fields(&[("version", show.field("version").unwrap())]))
        .await;
    assert_eq!(forged.status, 403);
    assert!(!forged.body.contains(value));

    // A Global Reader sees the list but not the value.
    let reader = admin(&server, "reader@example.com", "global-reader").await;
    let page = reader.get("/admin/vault/default/secrets/db-password").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Show secret value"));
    let refused = reader
        .post(
            "/admin/vault/default/secrets/db-password/show",
            &fields(&[("csrf", &csrf(&page)), ("version", "")]),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!refused.body.contains(value));
    for tab in ["certificates", "secrets", "access", "deleted"] {
        let page = reader.get(&format!("/admin/vault/default?tab={tab}")).await;
        assert_eq!(page.status, 200, "{tab}: {}", page.body);
        assert!(
            !page.body.contains("method=\"post\" action=\"/admin/vault/default/"),
            "{tab}: no change forms"
        );
        assert!(!page.body.contains(value));
    }

    // Disabled: the value is not served.
    let disable = secret.form_to("/admin/vault/default/secrets/db-password/enabled");
    assert_eq!(disable.field("enabled"), Some("false"));
    let disabled = browser.post(&disable.action, &disable.fields).await;
    assert_eq!(disabled.status, 303, "{}", disabled.body);
    let again = browser.post(&show.action, &show.fields).await;
    assert_eq!(again.status, 409);
    assert!(!again.body.contains(value));
    let page = browser.get("/admin/vault/default/secrets/db-password").await;
    let enable = page.form_to("/admin/vault/default/secrets/db-password/enabled");
    assert_eq!(enable.field("enabled"), Some("true"));
    assert_eq!(browser.post(&enable.action, &enable.fields).await.status, 303);
    assert_eq!(browser.post(&show.action, &show.fields).await.status, 200);
}

/// An application with a client secret, made with the CLI; its vault token.
async fn vault_token(server: &Server, name: &str) -> String {
    let app = server.keyward(&["app", "create", "--name", name]);
    let secret = server.keyward(&["app", "secret", "add", name])["secretText"]
        .as_str()
        .unwrap()
        .to_owned();
    ConfidentialClient::builder(
        &format!("{}/contoso", server.url),
        app["appId"].as_str().unwrap(),
        ClientCredential::secret(secret),
    )
    .trust_ca(&server.ca_pem())
    .build()
    .unwrap()
    .acquire_token_for_client(&["https://vault.keyward.localhost/.default"])
    .await
    .unwrap()
    .secret()
    .to_owned()
}

#[tokio::test]
async fn access_policies_set_in_the_admin_center_take_effect_at_the_vaults_api() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let token = vault_token(&server, "policy-app").await;
    let page = browser.get("/admin/vault/default?tab=secrets").await;
    let set = page.form_to("/admin/vault/default/secrets");
    let set_fields = filled(&set, &[("name", "api-secret"), ("value", "from-the-admin-center")]);
    assert_eq!(browser.post(&set.action, &set_fields).await.status, 303);
    let path = "/secrets/api-secret?api-version=7.5";
    assert_eq!(server.get_text(path, Some(&token)).await.0, 403, "no policy yet");

    // Add: choose the application, tick secrets/get.
    let form_page = browser.get("/admin/vault/default/access/new").await;
    assert_eq!(form_page.status, 200, "{}", form_page.body);
    let option = form_page
        .body
        .find(">policy-app (")
        .expect("the application is offered");
    let value_at = form_page.body[..option].rfind("value=\"").unwrap() + 7;
    let object_id = form_page.body[value_at..value_at + 36].to_owned();
    let csrf = csrf(&form_page);
    let saved = browser
        .post(
            "/admin/vault/default/access",
            &fields(&[
                ("csrf", &csrf),
                ("object_id", &object_id),
                ("secrets", "get"),
                ("secrets", "list"),
            ]),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (status, body) = server.get_text(path, Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("from-the-admin-center"));
    let tab = browser.get("/admin/vault/default?tab=access").await;
    assert!(
        tab.body.contains(&format!("data-object-id=\"{object_id}\"")),
        "{}",
        tab.body
    );
    assert!(tab.body.contains("get, list"));

    // Edit: the boxes come ticked; untick get.
    let edit = browser.get(&format!("/admin/vault/default/access/{object_id}")).await;
    assert!(
        edit.body
            .contains("id=\"secrets-get\" name=\"secrets\" value=\"get\" checked"),
        "{}",
        edit.body
    );
    let saved = browser
        .post(
            "/admin/vault/default/access",
            &fields(&[("csrf", &csrf), ("object_id", &object_id), ("secrets", "list")]),
        )
        .await;
    assert_eq!(saved.status, 303);
    assert_eq!(server.get_text(path, Some(&token)).await.0, 403);
    assert_eq!(server.get_text("/secrets?api-version=7.5", Some(&token)).await.0, 200);

    // Remove: asked first (no-JS path), then gone.
    let remove = format!("/admin/vault/default/access/{object_id}/remove");
    let asked = browser
        .post(&remove, &fields(&[("csrf", &csrf), ("confirmed", "")]))
        .await;
    assert_eq!(asked.status, 200);
    assert!(
        asked.body.contains("Remove the access policy of policy-app?"),
        "{}",
        asked.body
    );
    assert_eq!(
        server.get_text("/secrets?api-version=7.5", Some(&token)).await.0,
        200,
        "not yet"
    );
    let removed = browser
        .post(&remove, &fields(&[("csrf", &csrf), ("confirmed", "yes")]))
        .await;
    assert_eq!(removed.status, 303);
    assert_eq!(server.get_text("/secrets?api-version=7.5", Some(&token)).await.0, 403);
    let audit = browser.get("/admin/vault/default").await;
    assert!(
        decode(&audit.body).contains("Removed the access policy of policy-app"),
        "{}",
        audit.body
    );

    // A Global Reader cannot change policies.
    let reader = admin(&server, "reader@example.com", "global-reader").await;
    let page = reader.get("/admin/vault/default?tab=access").await;
    let refused = reader
        .post(
            "/admin/vault/default/access",
            &fields(&[
                ("csrf", &self::csrf(&page)),
                ("object_id", &object_id),
                ("secrets", "get"),
            ]),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(server.get_text(path, Some(&token)).await.0, 403);
}

#[tokio::test]
async fn deleted_items_are_recovered_or_purged_and_vaults_are_created() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    generate(
        &browser,
        "short-lived",
        "CN=short-lived",
        "application/x-pkcs12",
        "RSA-2048",
    )
    .await;
    let page = browser.get("/admin/vault/default/certificates/short-lived").await;
    let token = csrf(&page);
    let delete = "/admin/vault/default/certificates/short-lived/delete";
    let asked = browser
        .post(delete, &fields(&[("csrf", &token), ("confirmed", "")]))
        .await;
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("Delete the certificate short-lived?"));
    let deleted = browser
        .post(delete, &fields(&[("csrf", &token), ("confirmed", "yes")]))
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert_eq!(
        browser
            .get("/admin/vault/default/certificates/short-lived")
            .await
            .status,
        404
    );
    let tab = browser.get("/admin/vault/default?tab=deleted").await;
    assert!(
        tab.body.contains("data-deleted=\"certificates/short-lived\""),
        "{}",
        tab.body
    );

    let recovered = browser
        .post(
            "/admin/vault/default/deleted/certificates/short-lived/recover",
            &fields(&[("csrf", &token)]),
        )
        .await;
    assert_eq!(recovered.status, 303, "{}", recovered.body);
    assert_eq!(
        browser
            .get("/admin/vault/default/certificates/short-lived")
            .await
            .status,
        200
    );
    let tab = browser.get("/admin/vault/default?tab=deleted").await;
    assert!(!tab.body.contains("data-deleted=\"certificates/short-lived\""));

    // Delete again, then purge (asked first).
    assert_eq!(
        browser
            .post(delete, &fields(&[("csrf", &token), ("confirmed", "yes")]))
            .await
            .status,
        303
    );
    let purge = "/admin/vault/default/deleted/certificates/short-lived/purge";
    let asked = browser
        .post(purge, &fields(&[("csrf", &token), ("confirmed", "")]))
        .await;
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("for good?"), "{}", asked.body);
    let purged = browser
        .post(purge, &fields(&[("csrf", &token), ("confirmed", "yes")]))
        .await;
    assert_eq!(purged.status, 303, "{}", purged.body);
    let tab = browser.get("/admin/vault/default?tab=deleted").await;
    assert!(!tab.body.contains("short-lived"), "{}", tab.body);
    assert!(tab.body.contains("Nothing deleted."));
    // The name is free again.
    generate(&browser, "short-lived", "CN=again", "application/x-pkcs12", "RSA-2048").await;

    // A secret: delete, recover, delete, purge.
    let set = browser
        .get("/admin/vault/default?tab=secrets")
        .await
        .form_to("/admin/vault/default/secrets");
    let set_fields = filled(&set, &[("name", "temp"), ("value", "v")]);
    assert_eq!(browser.post(&set.action, &set_fields).await.status, 303);
    let delete = "/admin/vault/default/secrets/temp/delete";
    assert_eq!(
        browser
            .post(delete, &fields(&[("csrf", &token), ("confirmed", "yes")]))
            .await
            .status,
        303
    );
    assert!(
        browser
            .get("/admin/vault/default?tab=deleted")
            .await
            .body
            .contains("data-deleted=\"secrets/temp\"")
    );
    assert_eq!(
        browser
            .post(
                "/admin/vault/default/deleted/secrets/temp/recover",
                &fields(&[("csrf", &token)])
            )
            .await
            .status,
        303
    );
    assert_eq!(browser.get("/admin/vault/default/secrets/temp").await.status, 200);
    assert_eq!(
        browser
            .post(delete, &fields(&[("csrf", &token), ("confirmed", "yes")]))
            .await
            .status,
        303
    );
    assert_eq!(
        browser
            .post(
                "/admin/vault/default/deleted/secrets/temp/purge",
                &fields(&[("csrf", &token), ("confirmed", "yes")])
            )
            .await
            .status,
        303
    );
    assert!(
        !browser
            .get("/admin/vault/default?tab=deleted")
            .await
            .body
            .contains("temp")
    );

    // A new vault; a bad name is refused on the form.
    let bad = browser
        .post("/admin/vault", &fields(&[("csrf", &token), ("name", "-bad-")]))
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("role=\"alert\""));
    let made = browser
        .post("/admin/vault", &fields(&[("csrf", &token), ("name", "team-vault")]))
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(made.location().unwrap(), "/admin/vault/team-vault?done=vault-created");
    let list = browser.get("/admin/vault").await;
    assert!(list.body.contains("data-vault=\"team-vault\""));
    let port = server.url.rsplit(':').next().unwrap().trim_end_matches('/');
    assert!(
        list.body.contains(&format!("https://team-vault.localhost:{port}/")),
        "{}",
        list.body
    );
    let again = browser
        .post("/admin/vault", &fields(&[("csrf", &token), ("name", "team-vault")]))
        .await;
    assert_eq!(again.status, 422);
}
