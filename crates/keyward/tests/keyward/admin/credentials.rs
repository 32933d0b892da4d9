//! An application's Certificates & secrets tab against a real server: certificates made by the
//! real `openssl` CLI and by `keyward cert new`, uploaded as a browser uploads a file, compared
//! with what `openssl x509` says, then used for a client assertion; the refusals (a PFX, a PEM
//! with its key, an expired certificate, 20 MB); a client secret made, used, deleted.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey, Validity};

use super::admin;
use crate::common::{Client, Server, assert_oauth_error, claims_of};
use crate::signin::browser::{Browser, Page, decode};

pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// Registers `name` through the admin center; returns its object id and client id.
pub async fn new_app(browser: &Browser, name: &str) -> (String, String) {
    let form = browser.get("/admin/apps/new").await;
    let csrf = csrf_of(&form);
    let created = browser
        .post(
            "/admin/apps/new",
            &[
                ("csrf".into(), csrf),
                ("name".into(), name.into()),
                ("redirect_uris".into(), String::new()),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let location = created.location().unwrap();
    let object_id = location
        .trim_start_matches("/admin/apps/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let page = browser.get(&format!("/admin/apps/{object_id}")).await;
    let app_id = between(&page.body, "<code id=\"app-id\">", "</code>").to_owned();
    (object_id, app_id)
}

/// The session's CSRF token, from the sign-out form every page has.
pub fn csrf_of(page: &Page) -> String {
    page.form_to("/admin/signout").field("csrf").unwrap().to_owned()
}

/// The text between `start` and the next `end`.
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let at = text.find(start).unwrap_or_else(|| panic!("no {start:?} in:\n{text}")) + start.len();
    let stop = text[at..].find(end).expect("end") + at;
    &text[at..stop]
}

/// POSTs a `multipart/form-data` form as a browser uploads a file, with the browser's cookies,
/// over HTTP/2 (so that an answer sent before the body is read arrives cleanly).
pub async fn upload(
    server: &Server,
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
    file: (&str, &str, &[u8]),
) -> Page {
    let boundary = "----keywardtestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    let (field, file_name, bytes) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in keyward_pki::read(&server.ca_pem(), None).unwrap().certificates {
        roots
            .add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
            .unwrap();
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec()];
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookies: Vec<String> = browser
        .cookie_names()
        .into_iter()
        .map(|n| format!("{n}={}", browser.cookie(&n).unwrap()))
        .collect();
    let response = http
        .post(browser.url(path))
        .header("cookie", cookies.join("; "))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("the upload is answered");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Page { status, headers, body }
}

/// Uploads `bytes` as `file_name` on the Certificates tab.
pub async fn upload_certificate(
    server: &Server,
    browser: &Browser,
    object_id: &str,
    file_name: &str,
    bytes: &[u8],
    description: &str,
) -> Page {
    let page = browser.get(&format!("/admin/apps/{object_id}/credentials")).await;
    let csrf = csrf_of(&page);
    upload(
        server,
        browser,
        &format!("/admin/apps/{object_id}/credentials/certificates"),
        &[("csrf", &csrf), ("description", description)],
        ("certificate", file_name, bytes),
    )
    .await
}

/// A certificate row of the page: its cells by class.
pub struct Row {
    pub key_id: String,
    pub html: String,
}

impl Row {
    pub fn cell(&self, class: &str) -> String {
        let cell = between(&self.html, &format!("<td class=\"{class}\">"), "</td>");
        let mut text = String::new();
        let mut in_tag = false;
        for c in cell.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        decode(text.trim())
    }

    pub fn datetime(&self, class: &str) -> String {
        let cell = between(&self.html, &format!("<td class=\"{class}\">"), "</td>");
        between(cell, "datetime=\"", "\"").to_owned()
    }
}

/// The rows (`<tr data-key-id>`) of the page.
pub fn rows(page: &Page) -> Vec<Row> {
    page.body
        .split("<tr data-key-id=\"")
        .skip(1)
        .map(|chunk| {
            let key_id = chunk[..chunk.find('"').unwrap()].to_owned();
            let html = chunk[..chunk.find("</tr>").unwrap()].to_owned();
            Row { key_id, html }
        })
        .collect()
}

fn run(program: &str, args: &[&str], dir: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `notBefore=Dec  6 11:42:21 2026 GMT` as RFC 3339 (`2026-12-06T11:42:21Z`).
fn openssl_date(line: &str) -> String {
    let value = line.trim().split_once('=').unwrap().1;
    let parts: Vec<&str> = value.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "{value}");
    assert_eq!(parts[4], "GMT");
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| *m == parts[0]).unwrap() + 1;
    let day: u32 = parts[1].parse().unwrap();
    format!("{}-{month:02}-{day:02}T{}Z", parts[3], parts[2])
}

/// What `openssl x509` says of a certificate file: SHA-1 hex, start, expiry.
fn openssl_facts(dir: &Path, file: &str, form: &str) -> (String, String, String) {
    let sha1 = run(
        "openssl",
        &["x509", "-in", file, "-inform", form, "-noout", "-fingerprint", "-sha1"],
        dir,
    );
    let thumbprint = sha1.trim().split_once('=').unwrap().1.replace(':', "");
    let start = run(
        "openssl",
        &["x509", "-in", file, "-inform", form, "-noout", "-startdate"],
        dir,
    );
    let end = run(
        "openssl",
        &["x509", "-in", file, "-inform", form, "-noout", "-enddate"],
        dir,
    );
    (thumbprint, openssl_date(&start), openssl_date(&end))
}

/// A token for Microsoft Graph with an assertion signed by `key` for `certificate`.
async fn token_with(
    server: &Server,
    app_id: &str,
    certificate: keyward_pki::Certificate,
    key: PrivateKey,
) -> (u16, serde_json::Value) {
    let client = Client {
        app_id: app_id.to_owned(),
        certificate,
        key,
        resource_app_id: String::new(),
        scope: GRAPH_SCOPE.into(),
    };
    let assertion = client.assertion(server);
    server.token("contoso", &client.form(&assertion)).await
}

#[tokio::test]
async fn certificates_made_by_openssl_and_keyward_are_uploaded_shown_as_openssl_says_and_sign_in() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let (object_id, app_id) = new_app(&browser, "uploaded-certs").await;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();

    // PEM, by openssl.
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "openssl.key",
            "-out",
            "openssl.pem",
            "-days",
            "30",
            "-subj",
            "/CN=openssl-made",
        ],
        work,
    );
    let pem = std::fs::read(work.join("openssl.pem")).unwrap();
    let added = upload_certificate(&server, &browser, &object_id, "openssl.pem", &pem, "made by openssl").await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(
        added.location().unwrap(),
        format!("/admin/apps/{object_id}/credentials?done=certificate-added")
    );

    // DER, by keyward cert new.
    let prefix = work.join("keyward-made");
    run(
        env!("CARGO_BIN_EXE_keyward"),
        &[
            "cert",
            "new",
            "--subject",
            "CN=keyward-made",
            "--days",
            "60",
            "--no-password",
            "--out",
            prefix.to_str().unwrap(),
        ],
        work,
    );
    let der = std::fs::read(work.join("keyward-made.cer")).unwrap();
    assert_eq!(der[0], 0x30, "a DER certificate");
    let added = upload_certificate(
        &server,
        &browser,
        &object_id,
        "keyward-made.cer",
        &der,
        "made by keyward",
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.body);

    let page = browser.get(&added.location().unwrap()).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("The certificate was added."), "{}", page.body);
    let shown = rows(&page);
    assert_eq!(shown.len(), 2, "{}", page.body);
    for (row, file, form, description) in [
        (&shown[0], "openssl.pem", "PEM", "made by openssl"),
        (&shown[1], "keyward-made.cer", "DER", "made by keyward"),
    ] {
        let (thumbprint, start, end) = openssl_facts(work, file, form);
        assert_eq!(row.cell("thumbprint").split_whitespace().next().unwrap(), thumbprint);
        assert_eq!(row.datetime("start"), start, "{file}");
        assert_eq!(row.datetime("expires"), end, "{file}");
        assert_eq!(row.cell("description"), description);
        assert_eq!(row.cell("key-id"), row.key_id);
        let sha256 = run(
            "openssl",
            &[
                "x509",
                "-in",
                file,
                "-inform",
                form,
                "-noout",
                "-fingerprint",
                "-sha256",
            ],
            work,
        );
        let sha256 = sha256.trim().split_once('=').unwrap().1.replace(':', "");
        assert!(
            row.html.contains(&format!("<code class=\"sha256\">{sha256}</code>")),
            "{}",
            row.html
        );
        assert!(row.html.contains(&format!(
            "action=\"/admin/apps/{object_id}/credentials/certificates/{}/delete\"",
            row.key_id
        )));
        assert!(
            row.html
                .contains(&format!("aria-label=\"Delete certificate {description}\""))
        );
    }

    // Both keys sign in.
    let openssl_key = keyward_pki::read(&std::fs::read(work.join("openssl.key")).unwrap(), None)
        .unwrap()
        .private_key
        .unwrap();
    let openssl_cert = keyward_pki::read(&pem, None).unwrap().certificates.remove(0);
    let (status, body) = token_with(&server, &app_id, openssl_cert.clone(), openssl_key.clone()).await;
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert!(
        claims["azp"] == app_id.as_str() || claims["appid"] == app_id.as_str(),
        "{claims}"
    );
    let keyward_key = keyward_pki::read(&std::fs::read(work.join("keyward-made.key")).unwrap(), None)
        .unwrap()
        .private_key
        .unwrap();
    let keyward_cert = keyward_pki::Certificate::from_der(&der).unwrap();
    let (status, body) = token_with(&server, &app_id, keyward_cert, keyward_key).await;
    assert_eq!(status, 200, "{body}");

    // Deleting asks first, then the certificate's key is refused at once.
    let openssl_row = &shown[0];
    let delete = format!(
        "/admin/apps/{object_id}/credentials/certificates/{}/delete",
        openssl_row.key_id
    );
    let csrf = csrf_of(&page);
    let asked = browser
        .post(
            &delete,
            &[("csrf".into(), csrf.clone()), ("confirmed".into(), String::new())],
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(
        decode(&asked.body).contains("Delete certificate made by openssl?"),
        "{}",
        asked.body
    );
    assert_eq!(
        rows(&browser.get(&format!("/admin/apps/{object_id}/credentials")).await).len(),
        2
    );
    let deleted = browser
        .post(&delete, &[("csrf".into(), csrf), ("confirmed".into(), "yes".into())])
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    let (status, body) = token_with(&server, &app_id, openssl_cert, openssl_key).await;
    assert_eq!(status, 401, "{body}");
    let after = browser.get(&format!("/admin/apps/{object_id}/credentials")).await;
    assert_eq!(rows(&after).len(), 1);
    let overview = browser.get(&format!("/admin/apps/{object_id}")).await;
    assert!(
        overview.body.contains("Deleted certificate"),
        "audited: {}",
        overview.body
    );
}

/// Asserts a refused upload: 422, the form again with the message, nothing stored.
async fn assert_refused(
    server: &Server,
    browser: &Browser,
    object_id: &str,
    file_name: &str,
    bytes: &[u8],
    says: &[&str],
) {
    let refused = upload_certificate(server, browser, object_id, file_name, bytes, "kept description").await;
    assert_eq!(refused.status, 422, "{file_name}: {}", refused.body);
    let message = decode(between(
        &refused.body,
        "<div class=\"message error\" role=\"alert\">",
        "</div>",
    ));
    for text in says {
        assert!(message.contains(text), "{file_name}: {message}");
    }
    assert!(
        refused.body.contains("value=\"kept description\""),
        "the typed description is kept"
    );
    assert!(rows(&refused).is_empty());
    let app = server.keyward(&["app", "show", object_id]);
    assert_eq!(app["keyCredentials"].as_array().unwrap().len(), 0, "{app}");
}

#[tokio::test]
async fn a_pfx_a_pem_with_its_key_an_expired_a_weak_and_a_non_certificate_are_refused_with_the_fix() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let (object_id, _) = new_app(&browser, "refusals").await;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-days",
            "30",
            "-subj",
            "/CN=refused",
        ],
        work,
    );
    run(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-in",
            "c.pem",
            "-inkey",
            "k.pem",
            "-out",
            "f.pfx",
            "-passout",
            "pass:secret",
        ],
        work,
    );
    let pfx = std::fs::read(work.join("f.pfx")).unwrap();
    assert_refused(
        &server,
        &browser,
        &object_id,
        "f.pfx",
        &pfx,
        &[
            "PFX with a private key",
            "upload the certificate only (.cer/.pem)",
            "openssl pkcs12 -in f.pfx -nokeys -out f.pem",
        ],
    )
    .await;

    let mut both = std::fs::read(work.join("c.pem")).unwrap();
    both.extend(std::fs::read(work.join("k.pem")).unwrap());
    assert_refused(
        &server,
        &browser,
        &object_id,
        "both.pem",
        &both,
        &["PRIVATE KEY", "upload the certificate only"],
    )
    .await;

    let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let expired = CertificateSpec::new(Name::parse("CN=expired").unwrap())
        .issued_at(now - time::Duration::days(60))
        .validity(Validity::Days(30))
        .self_signed(&key)
        .unwrap();
    assert_refused(
        &server,
        &browser,
        &object_id,
        "expired.cer",
        expired.der(),
        &["expired on", "upload a current one"],
    )
    .await;

    run(
        "openssl",
        &[
            "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", "weak.key", "-out", "weak.pem", "-days", "30",
            "-subj", "/CN=weak",
        ],
        work,
    );
    let weak = std::fs::read(work.join("weak.pem")).unwrap();
    assert_refused(
        &server,
        &browser,
        &object_id,
        "weak.pem",
        &weak,
        &["1024 bits", "too weak", "rsa:2048"],
    )
    .await;

    assert_refused(
        &server,
        &browser,
        &object_id,
        "notes.pem",
        b"just some notes\n",
        &["not a certificate", ".cer"],
    )
    .await;
    assert_refused(&server, &browser, &object_id, "empty.cer", b"", &["empty"]).await;
}

#[tokio::test]
async fn a_20_mb_upload_is_refused_with_413_and_nothing_is_written() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let (object_id, _) = new_app(&browser, "big-upload").await;
    let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
    let cert = CertificateSpec::new(Name::parse("CN=big").unwrap())
        .validity(Validity::Days(30))
        .self_signed(&key)
        .unwrap();
    let mut big = cert.pem().into_bytes();
    big.resize(20 * 1024 * 1024, b'\n');
    let refused = upload_certificate(&server, &browser, &object_id, "big.pem", &big, "big").await;
    assert_eq!(refused.status, 413, "{}", refused.body);
    assert!(refused.body.contains("The file is too large"), "{}", refused.body);
    let app = server.keyward(&["app", "show", &object_id]);
    assert_eq!(app["keyCredentials"].as_array().unwrap().len(), 0, "{app}");
}

fn secret_form(secret: &str, app_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", app_id.into()),
        ("client_secret", secret.into()),
        ("scope", GRAPH_SCOPE.into()),
    ]
}

async fn token_with_secret(server: &Server, app_id: &str, secret: &str) -> (u16, serde_json::Value) {
    let form = secret_form(secret, app_id);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    server.token("contoso", &form).await
}

#[tokio::test]
async fn a_new_secret_is_shown_once_works_and_is_refused_at_once_when_deleted() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let (object_id, app_id) = new_app(&browser, "secret-app").await;
    let tab = browser
        .get(&format!("/admin/apps/{object_id}/credentials?tab=secrets"))
        .await;
    assert!(tab.body.contains("Client secrets"));
    let form = tab.form_to(&format!("/admin/apps/{object_id}/credentials/secrets"));
    assert!(
        tab.body.contains("<option value=\"365\" selected>"),
        "365 days by default"
    );
    let made = browser
        .post(
            &form.action,
            &[
                ("csrf".into(), form.field("csrf").unwrap().into()),
                ("description".into(), "ci secret".into()),
                ("expires".into(), "90".into()),
            ],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert!(made.body.contains("Copy the value now: it is never shown again"));
    let secret = decode(between(
        &made.body,
        "<code id=\"new-secret-value\" class=\"secret-value\">",
        "</code>",
    ));
    assert_eq!(secret.len(), 40, "{secret}");
    assert!(made.header("cache-control").unwrap().contains("no-store"));
    let shown = rows(&made);
    assert_eq!(shown.len(), 1);
    let key_id = shown[0].key_id.clone();
    assert_eq!(shown[0].cell("value"), format!("{}***", &secret[..3]));
    assert_eq!(shown[0].cell("description"), "ci secret");
    let expires = time::OffsetDateTime::parse(
        &shown[0].datetime("expires"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!((expires - time::OffsetDateTime::now_utc() - time::Duration::days(90)).abs() < time::Duration::minutes(5));

    // Never again: not on the page, not in the audit log.
    let again = browser
        .get(&format!("/admin/apps/{object_id}/credentials?tab=secrets"))
        .await;
    assert!(!again.body.contains(&secret));
    assert!(!again.body.contains("new-secret-value"));
    let overview = browser.get(&format!("/admin/apps/{object_id}")).await;
    assert!(overview.body.contains("Added client secret"), "audited");
    assert!(!overview.body.contains(&secret));

    let (status, body) = token_with_secret(&server, &app_id, &secret).await;
    assert_eq!(status, 200, "{body}");

    // Without confirmed=yes: the confirmation page, nothing deleted.
    let delete = format!("/admin/apps/{object_id}/credentials/secrets/{key_id}/delete");
    let delete_form = again.form_to(&delete);
    assert!(again.body.contains("aria-label=\"Delete client secret ci secret\""));
    let asked = browser.post(&delete, &delete_form.fields).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(decode(&asked.body).contains("Delete client secret ci secret?"));
    let confirm = asked.form_to(&delete);
    assert_eq!(confirm.field("confirmed"), Some("yes"));
    assert_eq!(token_with_secret(&server, &app_id, &secret).await.0, 200, "still there");

    // With it: deleted, and the token endpoint refuses the secret at once.
    let deleted = browser.post(&delete, &confirm.fields).await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert_eq!(
        deleted.location().unwrap(),
        format!("/admin/apps/{object_id}/credentials?tab=secrets&done=secret-deleted")
    );
    assert_oauth_error(
        &token_with_secret(&server, &app_id, &secret).await,
        401,
        "invalid_client",
        7000215,
    );
    assert!(
        rows(
            &browser
                .get(&format!("/admin/apps/{object_id}/credentials?tab=secrets"))
                .await
        )
        .is_empty()
    );
}

#[tokio::test]
async fn a_global_reader_sees_the_tabs_but_every_post_is_refused() {
    let server = Server::start();
    let writer = admin(&server, "ada@example.com", "app-admin").await;
    let (object_id, _) = new_app(&writer, "read-only").await;
    let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
    let cert = CertificateSpec::new(Name::parse("CN=kept").unwrap())
        .validity(Validity::Days(30))
        .self_signed(&key)
        .unwrap();
    let added = upload_certificate(&server, &writer, &object_id, "kept.cer", cert.der(), "kept").await;
    assert_eq!(added.status, 303, "{}", added.body);
    let cert_key_id = rows(&writer.get(&format!("/admin/apps/{object_id}/credentials")).await)[0]
        .key_id
        .clone();
    let app = server.keyward(&["app", "show", &object_id]);
    let snapshot = app.to_string();

    let reader = admin(&server, "reader@example.com", "global-reader").await;
    for tab in [
        "credentials",
        "credentials?tab=secrets",
        "authentication",
        "permissions",
        "roles",
    ] {
        let page = reader.get(&format!("/admin/apps/{object_id}/{tab}")).await;
        assert_eq!(page.status, 200, "{tab}: {}", page.body);
        assert!(!page.body.contains("Upload certificate") && !page.body.contains("New client secret"));
        assert!(!page.body.contains("Grant admin consent") && !page.body.contains("Create app role"));
    }
    let csrf = csrf_of(&reader.get("/admin/apps").await);
    let refused = upload_certificate(&server, &reader, &object_id, "kept.cer", cert.der(), "again").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let role = uuid::Uuid::new_v4();
    for (path, fields) in [
        (
            format!("/admin/apps/{object_id}/credentials/secrets"),
            vec![("expires", "365")],
        ),
        (
            format!("/admin/apps/{object_id}/credentials/certificates/{cert_key_id}/delete"),
            vec![("confirmed", "yes")],
        ),
        (
            format!("/admin/apps/{object_id}/credentials/secrets/{role}/delete"),
            vec![("confirmed", "yes")],
        ),
        (
            format!("/admin/apps/{object_id}/authentication"),
            vec![("redirect_uris", "https://reader.example/cb")],
        ),
        (
            format!("/admin/apps/{object_id}/permissions"),
            vec![("permission", "x/y")],
        ),
        (
            format!("/admin/apps/{object_id}/permissions/{role}/delete"),
            vec![("confirmed", "yes")],
        ),
        (
            format!("/admin/apps/{object_id}/roles"),
            vec![
                ("display_name", "Reader"),
                ("value", "Reader.All"),
                ("allowed", "Application"),
            ],
        ),
        (format!("/admin/apps/{object_id}/roles/{role}/disable"), vec![]),
        (format!("/admin/apps/{object_id}/roles/{role}/enable"), vec![]),
        (
            format!("/admin/apps/{object_id}/roles/{role}/delete"),
            vec![("confirmed", "yes")],
        ),
    ] {
        let mut body: Vec<(String, String)> = vec![("csrf".into(), csrf.clone())];
        body.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let answer = reader.post(&path, &body).await;
        assert_eq!(answer.status, 403, "{path}: {}", answer.body);
        assert!(answer.body.contains("Global Reader"), "{path}");
    }
    let after = server.keyward(&["app", "show", &object_id]);
    assert_eq!(after.to_string(), snapshot, "nothing changed");
}

#[tokio::test]
async fn the_page_shows_when_and_from_where_each_credential_was_last_used() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let (object_id, app_id) = new_app(&browser, "last-used-app").await;
    let (used_cert, used_key, used_path) = crate::common::certificate(server.data(), "used", KeyType::Rsa2048, 30);
    let (_, _, idle_path) = crate::common::certificate(server.data(), "idle", KeyType::Rsa2048, 30);
    for path in [&used_path, &idle_path] {
        server.keyward(&["app", "cert", "add", &app_id, path.to_str().unwrap()]);
    }
    let secret = server.keyward(&["app", "secret", "add", &app_id]);
    let secret = secret["secretText"].as_str().unwrap().to_owned();

    let page = browser.get(&format!("/admin/apps/{object_id}/credentials")).await;
    assert!(page.body.contains("<th scope=\"col\">Last used</th>"), "{}", page.body);
    for row in rows(&page) {
        assert_eq!(row.cell("last-used"), "Never");
    }

    let used_thumbprint = used_cert.thumbprints().sha1_hex();
    assert_eq!(token_with(&server, &app_id, used_cert, used_key).await.0, 200);
    assert_eq!(token_with_secret(&server, &app_id, &secret).await.0, 200);

    let page = browser.get(&format!("/admin/apps/{object_id}/credentials")).await;
    for row in rows(&page) {
        if row.cell("thumbprint") == used_thumbprint {
            let cell = row.cell("last-used");
            assert!(cell.ends_with("UTC from 127.0.0.1"), "{cell}");
            let at = time::OffsetDateTime::parse(
                &row.datetime("last-used"),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            assert!((time::OffsetDateTime::now_utc() - at).abs() < time::Duration::minutes(1));
        } else {
            assert_eq!(row.cell("last-used"), "Never");
        }
    }
    let secrets = browser
        .get(&format!("/admin/apps/{object_id}/credentials?tab=secrets"))
        .await;
    let shown = rows(&secrets);
    assert_eq!(shown.len(), 1);
    assert!(
        shown[0].cell("last-used").ends_with("UTC from 127.0.0.1"),
        "{}",
        shown[0].html
    );
}
