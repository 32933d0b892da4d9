//! `keyward cert new` writes files that OpenSSL reads, with the profile of an app credential.

use serde_json::Value;

use super::support::{Dir, PASSWORD, assert_error, assert_key_matches, base64url, json_str, now_unix, parse_iso_utc};

/// How the files of one `cert new` run are protected.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Protection {
    /// `--password-file`.
    Password,
    /// `--no-password`: plain .key, .pfx with the empty password.
    None,
    /// `--password-file --legacy-pfx`: .pfx under 3DES with a SHA-1 MAC.
    LegacyPfx,
}

/// Runs `keyward cert new --subject CN=app --out app --key-type KEY_TYPE ... --json` in `dir`.
fn cert_new(dir: &Dir, key_type: &str, protection: Protection) -> Value {
    let mut args = vec![
        "cert",
        "new",
        "--subject",
        "CN=app",
        "--out",
        "app",
        "--key-type",
        key_type,
        "--json",
    ];
    match protection {
        Protection::Password => args.extend(["--password-file", dir.password_file("pw.txt", PASSWORD)]),
        Protection::None => args.push("--no-password"),
        Protection::LegacyPfx => {
            args.extend(["--password-file", dir.password_file("pw.txt", PASSWORD), "--legacy-pfx"])
        }
    }
    dir.keyward_json(&args)
}

/// Reads `app.pfx` with OpenSSL (`pkcs12 -nodes`), adding `-legacy` only if OpenSSL needs it.
fn openssl_read_pfx(dir: &Dir, passin: &str) -> String {
    let args = ["pkcs12", "-in", "app.pfx", "-passin", passin, "-nodes"];
    let out = dir.openssl(&args);
    if out.status.success() {
        return String::from_utf8(out.stdout).unwrap();
    }
    let mut legacy = args.to_vec();
    legacy.push("-legacy");
    dir.openssl_ok(&legacy)
}

/// Everything OpenSSL must accept about the four files of `cert new`.
fn check_openssl_reads_everything(key_type: &str, protection: Protection) {
    let dir = Dir::new();
    let json = cert_new(&dir, key_type, protection);
    let passin = match protection {
        Protection::None => "pass:".to_string(),
        _ => format!("pass:{PASSWORD}"),
    };

    // The certificate, PEM and DER, is the same certificate, and its thumbprints are the ones
    // keyward printed.
    dir.openssl_ok(&["x509", "-in", "app.pem", "-noout"]);
    dir.openssl_ok(&["x509", "-inform", "DER", "-in", "app.cer", "-noout"]);
    let sha1 = dir.fingerprint("app.pem", "PEM", "sha1");
    let sha256 = dir.fingerprint("app.pem", "PEM", "sha256");
    assert_eq!(json_str(&json, "/thumbprint"), sha1, "SHA-1 thumbprint");
    assert_eq!(json_str(&json, "/thumbprintSha256"), sha256, "SHA-256 thumbprint");
    assert_eq!(dir.fingerprint("app.cer", "DER", "sha1"), sha1, ".cer and .pem differ");
    assert_eq!(
        dir.fingerprint("app.cer", "DER", "sha256"),
        sha256,
        ".cer and .pem differ"
    );
    // x5t and x5t#S256 (RFC 7515) are the same digests, base64url without padding.
    assert_eq!(json_str(&json, "/x5t"), base64url(&sha1), "x5t");
    assert_eq!(json_str(&json, "/x5t#S256"), base64url(&sha256), "x5t#S256");
    let cert_pub = dir.cert_public_key("app.pem", "PEM");
    assert_eq!(dir.cert_public_key("app.cer", "DER"), cert_pub);

    // The .key: encrypted PKCS#8 with a password, plain PKCS#8 without; its key is the cert's.
    let key_pem = dir.read_string("app.key");
    let key_pub = if protection == Protection::None {
        assert!(
            key_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
            "app.key:\n{key_pem}"
        );
        dir.key_public_key("app.key", None)
    } else {
        assert!(
            key_pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "app.key:\n{key_pem}"
        );
        let wrong = dir.openssl(&["pkey", "-in", "app.key", "-passin", "pass:not-the-password", "-noout"]);
        assert!(!wrong.status.success(), "OpenSSL opened app.key with a wrong password");
        dir.key_public_key("app.key", Some(&passin))
    };
    assert_eq!(key_pub, cert_pub, "app.key does not belong to app.pem");

    // The .pfx holds this certificate and this key.
    let pfx_text = openssl_read_pfx(&dir, &passin);
    assert!(
        pfx_text.contains("-----BEGIN CERTIFICATE-----"),
        "no certificate in app.pfx:\n{pfx_text}"
    );
    assert!(
        pfx_text.contains("-----BEGIN PRIVATE KEY-----"),
        "no key in app.pfx:\n{pfx_text}"
    );
    dir.write("from-pfx.pem", &pfx_text);
    assert_eq!(
        dir.key_public_key("from-pfx.pem", None),
        cert_pub,
        "the .pfx key does not match the cert"
    );
    assert_eq!(
        dir.thumbprint("from-pfx.pem"),
        sha1,
        "the .pfx holds another certificate"
    );
    let wrong = dir.openssl(&[
        "pkcs12",
        "-in",
        "app.pfx",
        "-passin",
        "pass:not-the-password",
        "-nodes",
        "-legacy",
    ]);
    assert!(!wrong.status.success(), "OpenSSL opened app.pfx with a wrong password");

    // The .pfx protection is the one asked for.
    let info = {
        let args = [
            "pkcs12", "-in", "app.pfx", "-passin", &passin, "-info", "-noout", "-legacy",
        ];
        let out = dir.openssl(&args);
        assert!(
            out.status.success(),
            "openssl pkcs12 -info: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
    };
    if protection == Protection::LegacyPfx {
        assert!(info.contains("MAC: sha1"), "legacy .pfx without a SHA-1 MAC:\n{info}");
        assert!(
            info.contains("pbeWithSHA1And3-KeyTripleDES-CBC"),
            "legacy .pfx without 3DES:\n{info}"
        );
        assert!(!info.contains("AES"), "legacy .pfx uses AES:\n{info}");
    } else {
        assert!(info.contains("MAC: sha256"), ".pfx without a SHA-256 MAC:\n{info}");
        assert!(
            !info.contains("TripleDES") && !info.contains("RC2"),
            ".pfx uses legacy ciphers:\n{info}"
        );
    }

    // keyward reads its own .pfx back, with the same password (none for --no-password).
    let mut show = vec!["cert", "show", "app.pfx", "--json"];
    if protection != Protection::None {
        show.extend(["--password-file", "pw.txt"]);
    }
    let back = dir.keyward_json(&show);
    assert_key_matches(&back);
    assert_eq!(
        json_str(&back, "/thumbprint"),
        sha1,
        "keyward reads another certificate back"
    );

    // The secret files are private.
    assert_eq!(dir.mode("app.key"), 0o600, "mode of app.key");
    assert_eq!(dir.mode("app.pfx"), 0o600, "mode of app.pfx");
}

#[test]
fn rsa_2048_with_password_is_read_by_openssl() {
    check_openssl_reads_everything("rsa-2048", Protection::Password);
}

#[test]
fn ec_p256_with_password_is_read_by_openssl() {
    check_openssl_reads_everything("ec-p256", Protection::Password);
}

#[test]
fn rsa_3072_with_password_is_read_by_openssl() {
    check_openssl_reads_everything("rsa-3072", Protection::Password);
}

#[test]
fn rsa_2048_without_password_is_read_by_openssl() {
    check_openssl_reads_everything("rsa-2048", Protection::None);
}

#[test]
fn ec_p256_without_password_is_read_by_openssl() {
    check_openssl_reads_everything("ec-p256", Protection::None);
}

#[test]
fn rsa_2048_legacy_pfx_is_read_by_openssl() {
    check_openssl_reads_everything("rsa-2048", Protection::LegacyPfx);
}

#[test]
fn ec_p256_legacy_pfx_is_read_by_openssl() {
    check_openssl_reads_everything("ec-p256", Protection::LegacyPfx);
}

/// The text after `heading` in `openssl x509 -text` output: the heading line and the next one.
fn extension<'a>(text: &'a str, heading: &str) -> (&'a str, &'a str) {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with(heading) {
            return (line.trim(), lines.next().unwrap_or("").trim());
        }
    }
    panic!("no {heading} in the certificate:\n{text}");
}

/// The certificate profile, as `openssl x509 -text` shows it; returns the text.
fn check_profile(dir: &Dir, json: &Value) -> String {
    let text = dir.openssl_ok(&["x509", "-in", "app.pem", "-noout", "-text"]);

    let (eku, eku_value) = extension(&text, "X509v3 Extended Key Usage:");
    assert!(!eku.contains("critical"), "{eku}");
    assert!(eku_value.contains("TLS Web Client Authentication"), "EKU: {eku_value}");
    assert!(eku_value.contains("TLS Web Server Authentication"), "EKU: {eku_value}");

    let (_, basic) = extension(&text, "X509v3 Basic Constraints:");
    assert_eq!(basic, "CA:FALSE");

    let (_, ski) = extension(&text, "X509v3 Subject Key Identifier:");
    let (_, aki) = extension(&text, "X509v3 Authority Key Identifier:");
    assert!(!ski.is_empty(), "empty Subject Key Identifier");
    // Self-signed: the authority is the subject. OpenSSL may print a `keyid:` prefix.
    assert_eq!(
        aki.trim_start_matches("keyid:"),
        ski,
        "AKI is not the SKI of a self-signed cert"
    );

    // A 16-byte serial, the one keyward printed.
    let serial = dir.openssl_ok(&["x509", "-in", "app.pem", "-noout", "-serial"]);
    let serial = serial.trim().strip_prefix("serial=").expect("serial= line");
    assert_eq!(serial.len(), 32, "serial {serial} is not 16 bytes");
    assert_eq!(serial, json_str(json, "/serialNumber"));

    // notBefore about 10 minutes ago.
    let start = dir.openssl_ok(&["x509", "-in", "app.pem", "-noout", "-startdate", "-dateopt", "iso_8601"]);
    let start = parse_iso_utc(start.trim().strip_prefix("notBefore=").expect("notBefore= line"));
    let ago = now_unix() - start;
    let printed = json_str(json, "/startDateTime").replace('T', " ");
    assert_eq!(
        parse_iso_utc(&printed),
        start,
        "startDateTime {printed} is not the certificate's notBefore"
    );
    assert!((590..=720).contains(&ago), "notBefore is {ago} s ago, not about 600");

    // Subject and issuer are both the requested name.
    let subject = dir.openssl_ok(&["x509", "-in", "app.pem", "-noout", "-subject", "-issuer"]);
    assert_eq!(subject.trim(), "subject=CN = app\nissuer=CN = app");
    text
}

#[test]
fn rsa_certificate_has_the_app_credential_profile() {
    let dir = Dir::new();
    let json = cert_new(&dir, "rsa-2048", Protection::Password);
    let text = check_profile(&dir, &json);
    assert!(text.contains("Signature Algorithm: sha256WithRSAEncryption"), "{text}");
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    let (ku, ku_value) = extension(&text, "X509v3 Key Usage:");
    assert!(ku.contains("critical"), "Key Usage is not critical: {ku}");
    assert_eq!(ku_value, "Digital Signature, Key Encipherment");
}

#[test]
fn ec_certificate_has_the_app_credential_profile() {
    let dir = Dir::new();
    let json = cert_new(&dir, "ec-p256", Protection::None);
    let text = check_profile(&dir, &json);
    assert!(text.contains("Signature Algorithm: ecdsa-with-SHA256"), "{text}");
    assert!(text.contains("NIST CURVE: P-256"), "{text}");
    let (ku, ku_value) = extension(&text, "X509v3 Key Usage:");
    assert!(ku.contains("critical"), "Key Usage is not critical: {ku}");
    assert!(ku_value.contains("Digital Signature"), "Key Usage: {ku_value}");
    // RFC 5480: keyEncipherment is not for EC keys.
    assert!(!ku_value.contains("Key Encipherment"), "Key Usage: {ku_value}");
}

#[test]
fn subject_alternative_names_reach_the_certificate() {
    let dir = Dir::new();
    dir.keyward_ok(&[
        "cert",
        "new",
        "--subject",
        "CN=localhost,O=Contoso",
        "--out",
        "app",
        "--no-password",
        "--san",
        "localhost",
        "--san",
        "127.0.0.1",
        "--days",
        "30",
    ]);
    let text = dir.openssl_ok(&["x509", "-in", "app.pem", "-noout", "-text"]);
    let (_, san) = extension(&text, "X509v3 Subject Alternative Name:");
    assert!(san.contains("DNS:localhost"), "SAN: {san}");
    assert!(san.contains("IP Address:127.0.0.1"), "SAN: {san}");
    let subject = dir.openssl_ok(&["x509", "-in", "app.pem", "-noout", "-subject"]);
    assert_eq!(subject.trim(), "subject=CN = localhost, O = Contoso");
    // --days 30: notAfter is 30 days (and the 10 minutes of back-dating) after notBefore.
    let dates = dir.openssl_ok(&["x509", "-in", "app.pem", "-noout", "-dates", "-dateopt", "iso_8601"]);
    let field = |name: &str| {
        let line = dates.lines().find(|l| l.starts_with(name)).expect("date line");
        parse_iso_utc(&line[name.len() + 1..])
    };
    let span = field("notAfter") - field("notBefore");
    assert!(
        (30 * 86_400..=30 * 86_400 + 900).contains(&span),
        "validity is {span} s, not 30 days"
    );
}

#[test]
fn password_may_come_from_the_environment() {
    let dir = Dir::new();
    let out = dir.keyward_with_env(
        &[
            "cert",
            "new",
            "--subject",
            "CN=app",
            "--out",
            "app",
            "--key-type",
            "ec-p256",
        ],
        &[("KEYWARD_PASSWORD", PASSWORD)],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        dir.read_string("app.key")
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    dir.key_public_key("app.key", Some(&format!("pass:{PASSWORD}")));
    dir.openssl_ok(&[
        "pkcs12",
        "-in",
        "app.pfx",
        "-passin",
        &format!("pass:{PASSWORD}"),
        "-nodes",
    ]);
}

const FILES: [&str; 4] = ["app.cer", "app.pem", "app.key", "app.pfx"];

#[test]
fn existing_files_are_kept_without_force_and_replaced_with_it() {
    let dir = Dir::new();
    let first = cert_new(&dir, "ec-p256", Protection::Password);
    let before: Vec<Vec<u8>> = FILES.iter().map(|f| dir.read(f)).collect();

    let args = [
        "cert",
        "new",
        "--subject",
        "CN=app",
        "--out",
        "app",
        "--key-type",
        "ec-p256",
        "--password-file",
        "pw.txt",
        "--json",
    ];
    let again = dir.keyward(&args);
    assert_error(&again, "app.pfx", &["exist", "--force"]);
    for (name, bytes) in FILES.iter().zip(&before) {
        assert_eq!(&dir.read(name), bytes, "{name} changed although cert new failed");
    }

    let mut forced = args.to_vec();
    forced.push("--force");
    let second = dir.keyward_json(&forced);
    for (name, bytes) in FILES.iter().zip(&before) {
        assert_ne!(&dir.read(name), bytes, "{name} was not replaced with --force");
    }
    let new_thumbprint = json_str(&second, "/thumbprint");
    assert_ne!(new_thumbprint, json_str(&first, "/thumbprint"));
    assert_eq!(dir.thumbprint("app.pem"), new_thumbprint);
    assert_eq!(
        dir.key_public_key("app.key", Some(&format!("pass:{PASSWORD}"))),
        dir.cert_public_key("app.pem", "PEM"),
        "after --force, app.key does not belong to app.pem"
    );
    assert_eq!(dir.mode("app.key"), 0o600);
    assert_eq!(dir.mode("app.pfx"), 0o600);
}
