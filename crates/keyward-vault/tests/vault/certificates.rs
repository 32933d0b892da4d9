//! Certificates through the domain service: creation from sparse policies, the managed secret
//! in both content types, import, policy, operations, soft delete, names.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey};
use keyward_vault::{
    Administration, ContentType, Error, ImportCertificate, OperationStatus, PageRequest, SetSecret, UpdateCertificate,
};
use serde_json::json;

use super::common::{create_request, fixture, harness};

fn sparse(subject: &str) -> serde_json::Value {
    json!({"policy": {"key_props": {}, "secret_props": {}, "x509_props": {"subject": subject, "sans": {}}, "issuer": {"name": "Self"}}})
}

/// The certificate and key inside a PFX secret value, opened with the empty password.
fn open_pfx(value: &str) -> (Certificate, PrivateKey) {
    let der = STANDARD.decode(value).expect("standard base64");
    let read = keyward_pki::read(&der, Some("")).expect("opens with the empty password");
    (read.certificate().unwrap().clone(), read.private_key.expect("a key"))
}

#[tokio::test]
async fn create_from_a_sparse_policy_with_its_pkcs12_secret() {
    let h = harness().await;
    let owner = h.owner().await;
    let op = h
        .vaults
        .create_certificate(&owner, "MyCert", create_request(sparse("CN=MyCert")))
        .await
        .unwrap();
    assert_eq!(op.status, OperationStatus::Completed);
    assert_eq!(op.issuer, "Self");
    assert_eq!(op.name, "MyCert");

    let bundle = h.vaults.certificate(&owner, "MyCert", None).await.unwrap();
    assert_eq!(bundle.version.len(), 32);
    assert_eq!(bundle.certificate.info().subject, "CN=MyCert");
    assert_eq!(bundle.policy.content_type, ContentType::Pkcs12);
    assert_eq!(
        bundle.attributes.nbf,
        Some(bundle.certificate.info().not_before.unix_timestamp())
    );
    assert!(bundle.attributes.enabled);

    let secret = h.vaults.secret(&owner, "MyCert", None).await.unwrap();
    assert!(secret.managed);
    assert_eq!(secret.version, bundle.version);
    assert_eq!(secret.content_type.as_deref(), Some("application/x-pkcs12"));
    let (cert, key) = open_pfx(secret.value.as_deref().unwrap());
    assert_eq!(cert, bundle.certificate);
    assert!(bundle.certificate.matches_key(&key));

    // The managed secret is listed with the others.
    let listed = h.vaults.secrets(&owner, &PageRequest::default()).await.unwrap();
    assert!(
        listed
            .items
            .iter()
            .any(|s| s.name == "MyCert" && s.managed && s.value.is_none())
    );
    // The same version again serves the same value.
    let again = h.vaults.secret(&owner, "mycert", Some(&bundle.version)).await.unwrap();
    assert_eq!(again.value, secret.value);
}

#[tokio::test]
async fn pem_secret_is_the_key_then_the_certificate() {
    let h = harness().await;
    let owner = h.owner().await;
    let mut request = sparse("CN=ciam-client-app");
    request["policy"]["secret_props"]["contentType"] = json!("application/x-pem-file");
    h.vaults
        .create_certificate(&owner, "pem", create_request(request))
        .await
        .unwrap();
    let bundle = h.vaults.certificate(&owner, "pem", None).await.unwrap();
    let secret = h.vaults.secret(&owner, "pem", None).await.unwrap();
    let value = secret.value.as_deref().unwrap();
    assert_eq!(secret.content_type.as_deref(), Some("application/x-pem-file"));
    let parts: Vec<&str> = value.split("-----BEGIN CERTIFICATE-----\n").collect();
    assert_eq!(parts.len(), 2, "one certificate block");
    assert!(parts[0].starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(parts[0].ends_with("-----END PRIVATE KEY-----\n"));
    assert!(value.ends_with("-----END CERTIFICATE-----\n"));
    assert!(!value.contains('\r'));
    for line in value.lines().filter(|l| !l.starts_with("-----")) {
        assert!(line.len() <= 64);
    }
    let key_lines: Vec<&str> = parts[0].lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(key_lines[..key_lines.len() - 1].iter().all(|l| l.len() == 64));
    let read = keyward_pki::read(value.as_bytes(), None).unwrap();
    assert_eq!(read.certificate().unwrap(), &bundle.certificate);
    assert!(bundle.certificate.matches_key(read.private_key.as_ref().unwrap()));
}

#[tokio::test]
async fn a_key_that_is_not_exportable_stays_out_of_the_secret() {
    let h = harness().await;
    let owner = h.owner().await;
    for (name, content_type) in [("np-pem", "application/x-pem-file"), ("np-pfx", "application/x-pkcs12")] {
        let mut request = sparse("CN=private");
        request["policy"]["key_props"]["exportable"] = json!(false);
        request["policy"]["secret_props"]["contentType"] = json!(content_type);
        h.vaults
            .create_certificate(&owner, name, create_request(request))
            .await
            .unwrap();
        let value = h.vaults.secret(&owner, name, None).await.unwrap().value.unwrap();
        let bytes = if content_type.ends_with("pem-file") {
            value.as_bytes().to_vec()
        } else {
            STANDARD.decode(value.as_bytes()).unwrap()
        };
        let read = keyward_pki::read(&bytes, Some("")).unwrap();
        assert!(read.private_key.is_none(), "{name}");
        assert!(read.certificate().is_some(), "{name}");
    }
}

#[tokio::test]
async fn names_are_case_insensitive_and_keep_their_first_spelling() {
    let h = harness().await;
    let owner = h.owner().await;
    h.vaults
        .create_certificate(&owner, "Web-Cert", create_request(sparse("CN=web")))
        .await
        .unwrap();
    let bundle = h.vaults.certificate(&owner, "WEB-CERT", None).await.unwrap();
    assert_eq!(bundle.name, "Web-Cert");
    // A second create through another spelling is a new version of the same certificate.
    h.vaults
        .create_certificate(&owner, "web-cert", create_request(sparse("CN=web")))
        .await
        .unwrap();
    let versions = h
        .vaults
        .certificate_versions(&owner, "Web-cert", &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(versions.items.len(), 2);
    assert!(versions.items.iter().all(|v| v.name == "Web-Cert"));

    let set = |value: &str| SetSecret {
        value: Some(value.into()),
        ..SetSecret::default()
    };
    h.vaults.set_secret(&owner, "Db-Password", set("one")).await.unwrap();
    h.vaults.set_secret(&owner, "DB-PASSWORD", set("two")).await.unwrap();
    let secret = h.vaults.secret(&owner, "db-password", None).await.unwrap();
    assert_eq!(secret.name, "Db-Password");
    assert_eq!(secret.value.as_deref().map(String::as_str), Some("two"));

    for bad in ["", "under_score", "dot.ted", &"x".repeat(128)] {
        assert!(matches!(
            h.vaults.certificate(&owner, bad, None).await,
            Err(Error::InvalidName(_))
        ));
    }
}

#[tokio::test]
async fn soft_delete_recover_purge_and_the_409() {
    let h = harness().await;
    let owner = h.owner().await;
    let imported = h
        .vaults
        .import_certificate(
            &owner,
            "kv",
            ImportCertificate {
                value: Some(STANDARD.encode(fixture("generated-by-key-vault.pfx"))),
                ..ImportCertificate::default()
            },
        )
        .await
        .unwrap();
    let value_before = h.vaults.secret(&owner, "kv", None).await.unwrap().value;

    let deleted = h.vaults.delete_certificate(&owner, "kv").await.unwrap();
    assert_eq!(deleted.item.version, imported.version);
    assert_eq!(
        deleted.deletion.scheduled_purge_date - deleted.deletion.deleted_date,
        90 * 86_400
    );
    assert!(matches!(
        h.vaults.certificate(&owner, "kv", None).await,
        Err(Error::CertificateNotFound { deleted: false, .. })
    ));
    assert!(matches!(
        h.vaults.secret(&owner, "kv", None).await,
        Err(Error::SecretNotFound { .. })
    ));
    assert_eq!(
        h.vaults.deleted_certificate(&owner, "KV").await.unwrap().item.version,
        imported.version
    );
    assert!(h.vaults.deleted_secret(&owner, "kv").await.unwrap().item.managed);
    let listed = h
        .vaults
        .deleted_certificates(&owner, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    // The name cannot be reused while it is recoverable, as a certificate or as a secret.
    for result in [
        h.vaults
            .create_certificate(&owner, "kv", create_request(sparse("CN=kv")))
            .await
            .map(|_| ()),
        h.vaults
            .set_secret(
                &owner,
                "kv",
                SetSecret {
                    value: Some("x".into()),
                    ..SetSecret::default()
                },
            )
            .await
            .map(|_| ()),
    ] {
        assert!(
            matches!(
                result,
                Err(Error::DeletedButRecoverable { .. } | Error::ManagedSecret { .. })
            ),
            "{result:?}"
        );
    }
    assert!(matches!(
        h.vaults
            .create_certificate(&owner, "kv", create_request(sparse("CN=kv")))
            .await,
        Err(Error::DeletedButRecoverable { .. })
    ));
    // A managed secret is recovered and purged with its certificate only.
    assert!(matches!(
        h.vaults.recover_secret(&owner, "kv").await,
        Err(Error::ManagedSecret {
            operation: "recover",
            ..
        })
    ));

    let recovered = h.vaults.recover_certificate(&owner, "kv").await.unwrap();
    assert_eq!(recovered.version, imported.version);
    assert_eq!(h.vaults.secret(&owner, "kv", None).await.unwrap().value, value_before);

    h.vaults.delete_certificate(&owner, "kv").await.unwrap();
    assert!(matches!(
        h.vaults.purge_secret(&owner, "kv").await,
        Err(Error::ManagedSecret { operation: "purge", .. })
    ));
    h.vaults.purge_certificate(&owner, "kv").await.unwrap();
    assert!(matches!(
        h.vaults.deleted_certificate(&owner, "kv").await,
        Err(Error::CertificateNotFound { deleted: true, .. })
    ));
    assert!(matches!(
        h.vaults.deleted_secret(&owner, "kv").await,
        Err(Error::SecretNotFound { deleted: true, .. })
    ));
    assert!(matches!(
        h.vaults.purge_certificate(&owner, "kv").await,
        Err(Error::CertificateNotFound { deleted: true, .. })
    ));
    let again = h
        .vaults
        .create_certificate(&owner, "kv", create_request(sparse("CN=kv")))
        .await
        .unwrap();
    assert_eq!(again.status, OperationStatus::Completed);
    assert_eq!(
        h.vaults
            .certificate_versions(&owner, "kv", &PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn import_pem_text_and_the_key_vault_pfx() {
    let h = harness().await;
    let owner = h.owner().await;
    let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
    let cert = CertificateSpec::new(Name::parse("CN=js-import").unwrap())
        .self_signed(&key)
        .unwrap();
    // What the JavaScript SDK sends: raw PEM text, no policy.
    let pem = format!("{}{}", cert.pem(), key.to_pkcs8_pem(None).unwrap().as_str());
    let bundle = h
        .vaults
        .import_certificate(
            &owner,
            "js",
            ImportCertificate {
                value: Some(pem),
                ..ImportCertificate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(bundle.certificate, cert);
    assert_eq!(bundle.policy.issuer.name, "Unknown");
    assert_eq!(bundle.policy.content_type, ContentType::Pem);
    let secret = h.vaults.secret(&owner, "js", None).await.unwrap();
    let read = keyward_pki::read(secret.value.as_deref().unwrap().as_bytes(), None).unwrap();
    assert_eq!(read.private_key.unwrap().pkcs8_der(), key.pkcs8_der());

    // Python: base64 of the PFX, with a PEM policy; the password is used and forgotten.
    let pfx = keyward_pki::write_pfx(&cert, &[], &key, "pw", keyward_pki::PfxEncryption::Aes256).unwrap();
    let request: ImportCertificate = serde_json::from_value(json!({
        "value": STANDARD.encode(&pfx),
        "pwd": "pw",
        "policy": {"secret_props": {"contentType": "application/x-pem-file"}, "issuer": {"name": "Unknown"}},
        "tags": {"from": "python"},
    }))
    .unwrap();
    assert!(!format!("{request:?}").contains("pw\""));
    let bundle = h.vaults.import_certificate(&owner, "py", request).await.unwrap();
    assert_eq!(bundle.tags.get("from").map(String::as_str), Some("python"));
    assert_eq!(bundle.policy.content_type, ContentType::Pem);

    let kv = h
        .vaults
        .import_certificate(
            &owner,
            "from-key-vault",
            ImportCertificate {
                value: Some(STANDARD.encode(fixture("generated-by-key-vault.pfx"))),
                ..ImportCertificate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        kv.certificate.thumbprints().sha1_hex(),
        "430CB3D0ECCC21A3E991A6B02A877D858F32C5D7"
    );
    let secret = h.vaults.secret(&owner, "from-key-vault", None).await.unwrap();
    let (inner, inner_key) = open_pfx(secret.value.as_deref().unwrap());
    assert_eq!(inner, kv.certificate);
    assert!(kv.certificate.matches_key(&inner_key));

    assert!(matches!(
        h.vaults
            .import_certificate(
                &owner,
                "nokey",
                ImportCertificate {
                    value: Some(cert.pem()),
                    ..ImportCertificate::default()
                },
            )
            .await,
        Err(Error::BadParameter(_))
    ));
}

#[tokio::test]
async fn policy_attributes_and_versions() {
    let h = harness().await;
    let owner = h.owner().await;
    h.vaults
        .create_certificate(&owner, "p", create_request(sparse("CN=p")))
        .await
        .unwrap();
    let policy = h.vaults.certificate_policy(&owner, "p").await.unwrap();
    assert_eq!(policy.policy.validity_months, 12);
    let updated = h
        .vaults
        .update_certificate_policy(
            &owner,
            "p",
            serde_json::from_value(json!({"x509_props": {"validity_months": 2}, "secret_props": {"contentType": "application/x-pem-file"}}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(updated.policy.validity_months, 2);
    assert_eq!(updated.policy.subject, "CN=p");
    // The next version follows the new policy; the first keeps its secret as it was.
    h.vaults
        .create_certificate(&owner, "p", keyward_vault::CreateCertificate {
            policy: Some(serde_json::from_value(json!({"x509_props": {"subject": "CN=p", "validity_months": 2}, "secret_props": {"contentType": "application/x-pem-file"}})).unwrap()),
            ..Default::default()
        })
        .await
        .unwrap();
    let versions = h
        .vaults
        .certificate_versions(&owner, "p", &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(versions.items.len(), 2);
    let first = &versions.items[0];
    let first_secret = h.vaults.secret(&owner, "p", Some(&first.version)).await.unwrap();
    assert_eq!(first_secret.content_type.as_deref(), Some("application/x-pkcs12"));
    let latest_secret = h.vaults.secret(&owner, "p", None).await.unwrap();
    assert_eq!(latest_secret.content_type.as_deref(), Some("application/x-pem-file"));

    // Disabling a certificate version disables its secret.
    let disabled = h
        .vaults
        .update_certificate(
            &owner,
            "p",
            Some(&first.version),
            serde_json::from_value::<UpdateCertificate>(json!({"attributes": {"enabled": false}, "tags": {"k": "v"}}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(!disabled.attributes.enabled);
    assert_eq!(disabled.tags.get("k").map(String::as_str), Some("v"));
    assert!(matches!(
        h.vaults.secret(&owner, "p", Some(&first.version)).await,
        Err(Error::SecretDisabled(_))
    ));
    assert!(h.vaults.secret(&owner, "p", None).await.is_ok());
    assert!(matches!(
        h.vaults
            .certificate(&owner, "p", Some("0123456789abcdef0123456789abcdef"))
            .await,
        Err(Error::CertificateNotFound { .. })
    ));
}

#[tokio::test]
async fn a_certificate_cannot_take_a_plain_secrets_name_nor_change_its_own_secret() {
    let h = harness().await;
    let owner = h.owner().await;
    h.vaults
        .set_secret(
            &owner,
            "shared",
            SetSecret {
                value: Some("v".into()),
                ..SetSecret::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        h.vaults
            .create_certificate(&owner, "shared", create_request(sparse("CN=x")))
            .await,
        Err(Error::NameTakenBySecret(_))
    ));
    h.vaults
        .create_certificate(&owner, "c", create_request(sparse("CN=c")))
        .await
        .unwrap();
    let set = SetSecret {
        value: Some("overwrite".into()),
        ..SetSecret::default()
    };
    assert!(matches!(
        h.vaults.set_secret(&owner, "c", set).await,
        Err(Error::ManagedSecret { operation: "set", .. })
    ));
    assert!(matches!(
        h.vaults.delete_secret(&owner, "c").await,
        Err(Error::ManagedSecret {
            operation: "delete",
            ..
        })
    ));
    assert!(matches!(
        h.vaults.update_secret(&owner, "c", None, Default::default()).await,
        Err(Error::ManagedSecret {
            operation: "update",
            ..
        })
    ));
}

#[tokio::test]
async fn issuer_unknown_waits_for_a_merge_of_a_certificate_signed_elsewhere() {
    let h = harness().await;
    let owner = h.owner().await;
    let mut request = sparse("CN=external");
    request["policy"]["issuer"]["name"] = json!("Unknown");
    request["policy"]["secret_props"]["contentType"] = json!("application/x-pem-file");
    let op = h
        .vaults
        .create_certificate(&owner, "ext", create_request(request.clone()))
        .await
        .unwrap();
    assert_eq!(op.status, OperationStatus::InProgress);
    let csr = op.csr.clone().expect("a CSR");
    assert!(matches!(
        h.vaults.certificate(&owner, "ext", None).await,
        Err(Error::CertificateNotFound { .. })
    ));
    assert!(matches!(
        h.vaults
            .create_certificate(&owner, "ext", create_request(request))
            .await,
        Err(Error::OperationInProgress(_))
    ));

    // A CA made by OpenSSL signs the request.
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(dir.path().join("req.der"), &csr).unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=Test CA",
        "-days",
        "30",
    ]);
    run(&[
        "x509",
        "-req",
        "-inform",
        "DER",
        "-in",
        "req.der",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-outform",
        "DER",
        "-out",
        "leaf.der",
    ]);
    run(&["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"]);
    let leaf = std::fs::read(dir.path().join("leaf.der")).unwrap();
    let ca = std::fs::read(dir.path().join("ca.der")).unwrap();

    let merged = h
        .vaults
        .merge_certificate(
            &owner,
            "ext",
            serde_json::from_value(json!({"x5c": [STANDARD.encode(&leaf), STANDARD.encode(&ca)]})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(merged.certificate.der(), &leaf[..]);
    let op = h.vaults.certificate_operation(&owner, "ext").await.unwrap();
    assert_eq!(op.status, OperationStatus::Completed);
    // The PEM secret holds the key, the certificate and its chain.
    let value = h.vaults.secret(&owner, "ext", None).await.unwrap().value.unwrap();
    assert_eq!(value.matches("-----BEGIN CERTIFICATE-----\n").count(), 2);
    let read = keyward_pki::read(value.as_bytes(), None).unwrap();
    assert!(merged.certificate.matches_key(read.private_key.as_ref().unwrap()));

    // Cancelling and deleting another one leaves nothing behind.
    let mut request = sparse("CN=cancelled");
    request["policy"]["issuer"]["name"] = json!("Unknown");
    h.vaults
        .create_certificate(&owner, "gone", create_request(request))
        .await
        .unwrap();
    let cancelled = h
        .vaults
        .cancel_certificate_operation(&owner, "gone", true)
        .await
        .unwrap();
    assert_eq!(cancelled.status, OperationStatus::Cancelled);
    assert!(cancelled.cancellation_requested);
    h.vaults.delete_certificate_operation(&owner, "gone").await.unwrap();
    assert!(matches!(
        h.vaults.certificate_operation(&owner, "gone").await,
        Err(Error::OperationNotFound(_))
    ));
    h.vaults
        .create_certificate(&owner, "gone", create_request(sparse("CN=gone")))
        .await
        .unwrap();
}

#[tokio::test]
async fn permissions_are_checked_before_anything_is_looked_up() {
    let h = harness().await;
    let owner = h.owner().await;
    h.vaults
        .create_certificate(&owner, "exists", create_request(sparse("CN=exists")))
        .await
        .unwrap();
    let reader = h.principal(&["get"], &[]).await;
    assert!(h.vaults.certificate(&reader, "exists", None).await.is_ok());
    let forbidden = |r: Result<keyward_vault::CertificateBundle, Error>| match r {
        Err(e @ Error::Forbidden { .. }) => e.to_string(),
        other => panic!("{other:?}"),
    };
    let nobody = h.principal(&[], &["get"]).await;
    let a = forbidden(h.vaults.certificate(&nobody, "exists", None).await);
    let b = forbidden(h.vaults.certificate(&nobody, "missing", None).await);
    assert_eq!(a, b);
    assert!(a.contains("certificates get permission"), "{a}");
    assert!(matches!(
        h.vaults
            .create_certificate(&reader, "new", create_request(sparse("CN=new")))
            .await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        h.vaults.certificates(&reader, &PageRequest::default()).await,
        Err(Error::Forbidden { .. })
    ));
    // Removing the policy takes effect at once.
    h.vaults
        .remove_access_policy("default", reader.caller().unwrap().object_id)
        .await
        .unwrap();
    let reader = h.vaults.access("default", *reader.caller().unwrap()).await.unwrap();
    assert!(matches!(
        h.vaults.certificate(&reader, "exists", None).await,
        Err(Error::Forbidden { .. })
    ));
}

#[tokio::test]
async fn an_administrator_of_the_tenant_administers_its_vault_and_no_other() {
    let h = harness().await;
    let manage = h
        .vaults
        .administer(h.tenant, "default", Administration::Manage)
        .await
        .unwrap();
    h.vaults
        .create_certificate(&manage, "by-admin", create_request(sparse("CN=by-admin")))
        .await
        .unwrap();
    let secret = h.vaults.secret(&manage, "by-admin", None).await.unwrap();
    assert!(secret.value.is_some(), "a manager reads the certificate's secret");
    let read = h
        .vaults
        .administer(h.tenant, "DEFAULT", Administration::Read)
        .await
        .unwrap();
    assert!(h.vaults.certificate(&read, "by-admin", None).await.is_ok());
    assert!(matches!(
        h.vaults.secret(&read, "by-admin", None).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        h.vaults
            .administer(h.other_tenant, "default", Administration::Manage)
            .await,
        Err(Error::VaultNotFound(_))
    ));
    assert!(matches!(
        h.vaults.administer(h.tenant, "missing", Administration::Manage).await,
        Err(Error::VaultNotFound(_))
    ));
}
