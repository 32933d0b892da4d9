//! Every kind of file the OpenSSL command line writes is read by `keyward cert show`, which
//! finds the key and certificate OpenSSL put there and sees that they belong together.
//!
//! Each test runs for an RSA 2048 and an EC P-256 pair made by `openssl req -x509`.

use serde_json::Value;

use super::support::{Alg, OpensslPair, json_str, make_ca_and_leaf};

#[test]
fn pem_certificate_with_pem_key() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        assert!(p.dir.read_string(p.key).starts_with("-----BEGIN PRIVATE KEY-----"));
        let json = p.show_matches(p.cert, Some(p.key));
        assert_eq!(
            json_str(&json, "/thumbprintSha256"),
            p.dir.fingerprint(p.cert, "PEM", "sha256")
        );
        let (key_type, size) = match alg {
            Alg::Rsa2048 => ("RSA", 2048),
            Alg::EcP256 => ("EC P-256", 256),
        };
        assert_eq!(json_str(&json, "/privateKey/keyType"), key_type, "{json:#}");
        assert_eq!(
            json.pointer("/privateKey/keySize").and_then(Value::as_u64),
            Some(size),
            "{json:#}"
        );
        assert_eq!(json["selfSigned"], Value::Bool(true), "{json:#}");
        assert_eq!(json_str(&json, "/subject"), "CN=x");
    }
}

#[test]
fn der_certificate() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        p.dir
            .openssl_ok(&["x509", "-in", p.cert, "-outform", "DER", "-out", "cert.der"]);
        assert_eq!(p.dir.read("cert.der")[0], 0x30, "not DER");
        let json = p.show_matches("cert.der", Some(p.key));
        assert!(json_str(&json, "/format").contains("DER"), "{json:#}");
    }
}

#[test]
fn pem_with_bag_attributes_and_crlf_line_ends() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        p.dir.openssl_ok(&[
            "pkcs12",
            "-export",
            "-in",
            p.cert,
            "-inkey",
            p.key,
            "-passout",
            "file:pw.txt",
            "-out",
            "p.pfx",
        ]);
        let text = p
            .dir
            .openssl_ok(&["pkcs12", "-in", "p.pfx", "-passin", "file:pw.txt", "-nodes"]);
        assert!(text.contains("Bag Attributes"), "{text}");
        assert!(text.contains("-----BEGIN PRIVATE KEY-----"), "{text}");
        let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
        assert!(crlf.contains("\r\n-----BEGIN CERTIFICATE-----\r\n"));
        p.dir.write("bags.pem", crlf);
        p.show_matches("bags.pem", None);
    }
}

#[test]
fn chain_with_the_ca_before_the_leaf() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        let dir = &p.dir;
        make_ca_and_leaf(dir, alg);
        let chain = dir.read_string("ca.pem") + &dir.read_string("leaf.pem");
        dir.write("chain.pem", chain);
        let leaf = dir.thumbprint("leaf.pem");
        let ca = dir.thumbprint("ca.pem");
        let json = dir.keyward_json(&[
            "cert",
            "show",
            "chain.pem",
            "--key",
            "leaf.key",
            "--password-file",
            p.pw,
            "--json",
        ]);
        assert_eq!(
            json_str(&json, "/thumbprint"),
            leaf,
            "cert show did not pick the leaf: {json:#}"
        );
        super::support::assert_key_matches(&json);
        let chain = json["chain"]
            .as_array()
            .unwrap_or_else(|| panic!("no chain array: {json:#}"));
        assert_eq!(chain.len(), 1, "{json:#}");
        assert!(
            chain[0].to_string().contains(&ca),
            "the chain is not the CA ({ca}): {json:#}"
        );
    }
}

/// `openssl pkcs12 -export` with extra options, password from pw.txt, read back by keyward.
fn pkcs12_round_trip(p: &OpensslPair, options: &[&str]) -> Value {
    let mut args = vec![
        "pkcs12",
        "-export",
        "-in",
        p.cert,
        "-inkey",
        p.key,
        "-passout",
        "file:pw.txt",
        "-out",
        "p.pfx",
    ];
    args.extend(options);
    p.dir.openssl_ok(&args);
    let json = p.show_matches("p.pfx", None);
    assert_eq!(json_str(&json, "/format"), "PKCS#12", "{json:#}");
    assert_eq!(json["encrypted"], Value::Bool(true), "{json:#}");
    json
}

#[test]
fn pkcs12_openssl_default_aes256_pbkdf2_sha256_mac() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        let json = pkcs12_round_trip(&p, &[]);
        assert_eq!(json_str(&json, "/pkcs12/mac"), "SHA-256", "{json:#}");
    }
}

#[test]
fn pkcs12_openssl_legacy_3des_rc2_sha1_mac() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        let json = pkcs12_round_trip(&p, &["-legacy"]);
        assert_eq!(json_str(&json, "/pkcs12/mac"), "SHA-1", "{json:#}");
    }
}

#[test]
fn pkcs12_aes128_certificates_aes256_key() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        pkcs12_round_trip(&p, &["-certpbe", "AES-128-CBC", "-keypbe", "AES-256-CBC"]);
    }
}

#[test]
fn pkcs12_3des_everywhere_sha1_mac() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        let json = pkcs12_round_trip(
            &p,
            &[
                "-certpbe",
                "PBE-SHA1-3DES",
                "-keypbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha1",
            ],
        );
        assert_eq!(json_str(&json, "/pkcs12/mac"), "SHA-1", "{json:#}");
    }
}

#[test]
fn pkcs12_empty_password_needs_no_password() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        p.dir.openssl_ok(&[
            "pkcs12",
            "-export",
            "-in",
            p.cert,
            "-inkey",
            p.key,
            "-passout",
            "pass:",
            "-out",
            "empty.pfx",
        ]);
        let json = p.dir.keyward_json(&["cert", "show", "empty.pfx", "--json"]);
        super::support::assert_key_matches(&json);
        assert_eq!(json_str(&json, "/thumbprint"), p.thumbprint);
    }
}

#[test]
fn pkcs12_with_leaf_and_ca() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        let dir = &p.dir;
        make_ca_and_leaf(dir, alg);
        dir.openssl_ok(&[
            "pkcs12",
            "-export",
            "-in",
            "leaf.pem",
            "-inkey",
            "leaf.key",
            "-certfile",
            "ca.pem",
            "-passout",
            "file:pw.txt",
            "-out",
            "chain.pfx",
        ]);
        let listed = dir.openssl_ok(&["pkcs12", "-in", "chain.pfx", "-passin", "file:pw.txt", "-nokeys"]);
        assert_eq!(listed.matches("-----BEGIN CERTIFICATE-----").count(), 2, "{listed}");
        let leaf = dir.thumbprint("leaf.pem");
        let ca = dir.thumbprint("ca.pem");
        let json = dir.keyward_json(&["cert", "show", "chain.pfx", "--password-file", p.pw, "--json"]);
        super::support::assert_key_matches(&json);
        assert_eq!(
            json_str(&json, "/thumbprint"),
            leaf,
            "cert show did not pick the leaf: {json:#}"
        );
        let chain = json["chain"]
            .as_array()
            .unwrap_or_else(|| panic!("no chain array: {json:#}"));
        assert_eq!(chain.len(), 1, "{json:#}");
        assert!(
            chain[0].to_string().contains(&ca),
            "the chain is not the CA ({ca}): {json:#}"
        );
    }
}

/// `openssl pkcs8 -topk8 OPTIONS -in key.pem -out FILE -passout file:pw.txt`, then
/// `keyward cert show cert.pem --key FILE`. Returns the file's first line (PEM) or first byte.
fn pkcs8_round_trip(p: &OpensslPair, file: &str, options: &[&str]) {
    let mut args = vec!["pkcs8", "-topk8", "-in", p.key, "-out", file, "-passout", "file:pw.txt"];
    args.extend(options);
    p.dir.openssl_ok(&args);
    p.show_matches(p.cert, Some(file));
}

fn assert_pem_label(p: &OpensslPair, file: &str, label: &str) {
    let text = p.dir.read_string(file);
    let begin = format!("-----BEGIN {label}-----");
    assert!(text.starts_with(&begin), "{file} does not start with {begin}:\n{text}");
}

#[test]
fn pkcs8_plain() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        pkcs8_round_trip(&p, "k.p8", &["-nocrypt"]);
        assert_pem_label(&p, "k.p8", "PRIVATE KEY");
    }
}

#[test]
fn pkcs8_encrypted_pbes2_ciphers() {
    let cases: [(&str, &[&str]); 4] = [
        ("aes256.p8", &["-v2", "aes-256-cbc"]),
        ("aes128.p8", &["-v2", "aes-128-cbc"]),
        ("des3.p8", &["-v2", "des3"]),
        ("sha512.p8", &["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA512"]),
    ];
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        for (file, options) in cases {
            pkcs8_round_trip(&p, file, options);
            assert_pem_label(&p, file, "ENCRYPTED PRIVATE KEY");
        }
    }
}

#[test]
fn pkcs8_encrypted_pkcs12_pbe_3des() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        pkcs8_round_trip(&p, "v1.p8", &["-v1", "PBE-SHA1-3DES"]);
        assert_pem_label(&p, "v1.p8", "ENCRYPTED PRIVATE KEY");
    }
}

#[test]
fn pkcs8_encrypted_scrypt() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        pkcs8_round_trip(&p, "scrypt.p8", &["-scrypt"]);
        assert_pem_label(&p, "scrypt.p8", "ENCRYPTED PRIVATE KEY");
    }
}

#[test]
fn pkcs8_der_plain_and_encrypted() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        pkcs8_round_trip(&p, "plain.der", &["-nocrypt", "-outform", "DER"]);
        pkcs8_round_trip(&p, "enc.der", &["-v2", "aes-256-cbc", "-outform", "DER"]);
        assert_eq!(p.dir.read("plain.der")[0], 0x30);
        assert_eq!(p.dir.read("enc.der")[0], 0x30);
        // The encrypted one really is encrypted: OpenSSL cannot read it without the password.
        let no_pw = p.dir.openssl(&[
            "pkey",
            "-in",
            "enc.der",
            "-inform",
            "DER",
            "-passin",
            "pass:wrong",
            "-noout",
        ]);
        assert!(!no_pw.status.success());
    }
}

#[test]
fn rsa_traditional_pem_plain_and_encrypted() {
    let p = OpensslPair::new(Alg::Rsa2048);
    p.dir
        .openssl_ok(&["rsa", "-in", p.key, "-traditional", "-out", "pkcs1.pem"]);
    assert_pem_label(&p, "pkcs1.pem", "RSA PRIVATE KEY");
    p.show_matches(p.cert, Some("pkcs1.pem"));

    for (file, cipher, dek) in [
        ("aes.pem", "-aes256", "AES-256-CBC"),
        ("des3.pem", "-des3", "DES-EDE3-CBC"),
    ] {
        p.dir.openssl_ok(&[
            "rsa",
            "-in",
            p.key,
            cipher,
            "-traditional",
            "-passout",
            "file:pw.txt",
            "-out",
            file,
        ]);
        assert_pem_label(&p, file, "RSA PRIVATE KEY");
        let text = p.dir.read_string(file);
        assert!(text.contains("Proc-Type: 4,ENCRYPTED"), "{text}");
        assert!(text.contains(&format!("DEK-Info: {dek},")), "{text}");
        p.show_matches(p.cert, Some(file));
    }
}

#[test]
fn ec_sec1_pem_plain_and_encrypted() {
    let p = OpensslPair::new(Alg::EcP256);
    p.dir.openssl_ok(&["ec", "-in", p.key, "-out", "sec1.pem"]);
    assert_pem_label(&p, "sec1.pem", "EC PRIVATE KEY");
    p.show_matches(p.cert, Some("sec1.pem"));

    p.dir.openssl_ok(&[
        "ec",
        "-in",
        p.key,
        "-aes256",
        "-passout",
        "file:pw.txt",
        "-out",
        "sec1-aes.pem",
    ]);
    assert_pem_label(&p, "sec1-aes.pem", "EC PRIVATE KEY");
    assert!(p.dir.read_string("sec1-aes.pem").contains("DEK-Info: AES-256-CBC,"));
    p.show_matches(p.cert, Some("sec1-aes.pem"));
}

#[test]
fn key_file_alone_is_shown_as_a_key() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        let json = p.dir.keyward_json(&["cert", "show", p.key, "--json"]);
        assert_eq!(json["hasPrivateKey"], Value::Bool(true), "{json:#}");
        assert_eq!(json["encrypted"], Value::Bool(false), "{json:#}");
        assert!(
            json.get("thumbprint").is_none_or(Value::is_null),
            "a key has no thumbprint: {json:#}"
        );
    }
}
