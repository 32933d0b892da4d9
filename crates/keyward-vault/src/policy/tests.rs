use super::*;

fn input(json: &str) -> PolicyInput {
    serde_json::from_str(json).unwrap()
}

#[test]
fn a_sparse_policy_gets_key_vaults_defaults() {
    let p = input(
        r#"{"key_props":{},"secret_props":{},"x509_props":{"subject":"CN=x","sans":{}},"issuer":{"name":"Self"}}"#,
    )
    .apply(&Policy::defaults())
    .unwrap();
    assert!(p.exportable);
    assert!(!p.reuse_key);
    assert_eq!((p.kty.as_str(), p.key_size, p.crv.as_deref()), ("RSA", 2048, None));
    assert_eq!(p.key_type().unwrap(), KeyType::Rsa2048);
    assert_eq!(p.content_type, ContentType::Pkcs12);
    assert_eq!(p.subject, "CN=x");
    assert_eq!(p.validity_months, 12);
    assert_eq!(p.ekus, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    assert_eq!(p.key_usage, ["digitalSignature", "keyEncipherment"]);
    assert_eq!(
        p.lifetime_actions,
        [LifetimeAction {
            trigger: Trigger::LifetimePercentage(80),
            action: ActionType::AutoRenew
        }]
    );
    assert_eq!(p.issuer.name, "Self");
    assert!(p.enabled);
    // Nothing at all but a subject is the same policy.
    assert_eq!(
        input(r#"{"x509_props":{"subject":"CN=x"}}"#)
            .apply(&Policy::defaults())
            .unwrap(),
        p
    );
}

#[test]
fn given_fields_replace_defaults_and_are_normalised() {
    let p = input(
        r#"{"key_props":{"kty":"ec","crv":"p-384","exportable":false,"reuse_key":true},
            "secret_props":{"contentType":"Application/X-PEM-File"},
            "x509_props":{"subject":"CN=svc, O=Contoso","sans":{"dns_names":["svc.example"],"ipAddresses":["10.0.0.1"]},
                          "ekus":["1.3.6.1.5.5.7.3.2"],"validity_months":3},
            "lifetime_actions":[{"trigger":{"days_before_expiry":10},"action":{"action_type":"emailcontacts"}}],
            "issuer":{"name":"self","cty":"OV-SSL"}}"#,
    )
    .apply(&Policy::defaults())
    .unwrap();
    assert_eq!(
        (p.kty.as_str(), p.key_size, p.crv.as_deref()),
        ("EC", 384, Some("P-384"))
    );
    assert_eq!(p.key_type().unwrap(), KeyType::EcP384);
    assert!(!p.exportable && p.reuse_key);
    assert_eq!(p.content_type, ContentType::Pem);
    // An EC key does no key encipherment unless asked to.
    assert_eq!(p.key_usage, ["digitalSignature"]);
    assert_eq!(p.ekus, ["1.3.6.1.5.5.7.3.2"]);
    assert_eq!(p.sans.dns_names, ["svc.example"]);
    assert_eq!(p.sans.ip_addresses, ["10.0.0.1"]);
    assert_eq!(p.validity_months, 3);
    assert_eq!(
        p.lifetime_actions,
        [LifetimeAction {
            trigger: Trigger::DaysBeforeExpiry(10),
            action: ActionType::EmailContacts
        }]
    );
    assert_eq!(p.issuer.name, "Self");
    assert_eq!(p.issuer.cty.as_deref(), Some("OV-SSL"));

    // An update changes only what it names.
    let updated = input(r#"{"x509_props":{"validity_months":6}}"#).apply(&p).unwrap();
    assert_eq!(updated.validity_months, 6);
    assert_eq!(updated.subject, p.subject);
    assert_eq!(updated.crv, p.crv);
    // A curve alone asks for EC; a size alone keeps RSA.
    let ec = input(r#"{"x509_props":{"subject":"CN=x"},"key_props":{"crv":"P-256"}}"#)
        .apply(&Policy::defaults())
        .unwrap();
    assert_eq!(ec.key_type().unwrap(), KeyType::EcP256);
    let rsa = input(r#"{"x509_props":{"subject":"CN=x"},"key_props":{"key_size":4096}}"#)
        .apply(&Policy::defaults())
        .unwrap();
    assert_eq!(rsa.key_type().unwrap(), KeyType::Rsa4096);
}

#[test]
fn bad_policies_are_refused_with_a_reason() {
    for (json, says) in [
        (r#"{}"#, "subject"),
        (r#"{"x509_props":{"subject":"nonsense"}}"#, "subject"),
        (r#"{"x509_props":{"subject":"CN=x"},"key_props":{"kty":"oct"}}"#, "kty"),
        (
            r#"{"x509_props":{"subject":"CN=x"},"key_props":{"key_size":1024}}"#,
            "unsupported key",
        ),
        (
            r#"{"x509_props":{"subject":"CN=x"},"key_props":{"crv":"P-521"}}"#,
            "crv",
        ),
        (
            r#"{"x509_props":{"subject":"CN=x"},"key_props":{"crv":"P-256","key_size":384}}"#,
            "key_size",
        ),
        (
            r#"{"x509_props":{"subject":"CN=x"},"secret_props":{"contentType":"text/plain"}}"#,
            "contentType",
        ),
        (r#"{"x509_props":{"subject":"CN=x","ekus":["serverAuth"]}}"#, "ekus"),
        (r#"{"x509_props":{"subject":"CN=x","key_usage":["sign"]}}"#, "key_usage"),
        (
            r#"{"x509_props":{"subject":"CN=x","validity_months":0}}"#,
            "validity_months",
        ),
        (
            r#"{"x509_props":{"subject":"CN=x","sans":{"dns_names":["a b"]}}}"#,
            "sans",
        ),
        (
            r#"{"x509_props":{"subject":"CN=x"},"issuer":{"name":"DigiCert"}}"#,
            "issuer",
        ),
        (
            r#"{"x509_props":{"subject":"CN=x"},"lifetime_actions":[{"trigger":{"lifetime_percentage":100},"action":{"action_type":"AutoRenew"}}]}"#,
            "lifetime_percentage",
        ),
        (
            r#"{"x509_props":{"subject":"CN=x"},"lifetime_actions":[{"trigger":{"lifetime_percentage":80,"days_before_expiry":3},"action":{"action_type":"AutoRenew"}}]}"#,
            "exactly one",
        ),
        (
            r#"{"x509_props":{"subject":"CN=x"},"lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"Reboot"}}]}"#,
            "action_type",
        ),
        (
            r#"{"x509_props":{"subject":"CN=x","validity_months":1},"lifetime_actions":[{"trigger":{"days_before_expiry":28},"action":{"action_type":"AutoRenew"}}]}"#,
            "days_before_expiry",
        ),
    ] {
        match input(json).apply(&Policy::defaults()) {
            Err(Error::BadParameter(message)) => assert!(message.contains(says), "{json}: {message}"),
            other => panic!("{json}: {other:?}"),
        }
    }
}

#[test]
fn triggers_fall_where_the_policy_says() {
    let start = time::macros::datetime!(2025-01-01 00:00 UTC);
    let end = time::macros::datetime!(2026-01-01 00:00 UTC);
    assert_eq!(
        Trigger::LifetimePercentage(80).due(start, end),
        time::macros::datetime!(2025-10-20 00:00 UTC)
    );
    assert_eq!(
        Trigger::DaysBeforeExpiry(30).due(start, end),
        time::macros::datetime!(2025-12-02 00:00 UTC)
    );
}

/// Found while writing the `vault_policy` fuzz target, confirmed with it: an imported
/// certificate's policy (and any policy of issuer `Unknown`) is not checked against its validity,
/// so `days_before_expiry` can be up to `u32::MAX`; the renewal pass then subtracted millions of
/// years from the expiry and panicked ("resulting value is out of range"), which stopped the
/// lifetime-actions task of the server, and with it renewals and purges in every vault.
#[test]
fn days_before_expiry_beyond_the_calendar_is_due_at_once() {
    let key = keyward_pki::PrivateKey::generate(KeyType::EcP256).unwrap();
    let cert = CertificateSpec::new(Name::parse("CN=imported").unwrap())
        .self_signed(&key)
        .unwrap();
    let policy = input(
        r#"{"lifetime_actions":[{"trigger":{"days_before_expiry":4294967295},"action":{"action_type":"EmailContacts"}}]}"#,
    )
    .apply_to_import(&Policy::for_import(&cert, ContentType::Pem))
    .unwrap();
    let (start, end) = (cert.info().not_before, cert.info().not_after);
    let due = policy.lifetime_actions[0].trigger.due(start, end);
    assert!(due < start, "due at once: {due}");
    assert_eq!(Trigger::DaysBeforeExpiry(u32::MAX).due(start, end), due);
    // Within the calendar, as before.
    assert_eq!(
        Trigger::DaysBeforeExpiry(4_000).due(start, end),
        end - time::Duration::days(4_000)
    );
}

#[test]
fn an_imported_certificate_gets_a_policy_from_what_it_says() {
    let key = keyward_pki::PrivateKey::generate(KeyType::EcP256).unwrap();
    let cert = CertificateSpec::new(Name::parse("CN=imported").unwrap())
        .subject_alt_name(SubjectAltName::Dns("imported.example".into()))
        .self_signed(&key)
        .unwrap();
    let p = Policy::for_import(&cert, ContentType::Pem);
    assert_eq!(p.subject, "CN=imported");
    assert_eq!(
        (p.kty.as_str(), p.key_size, p.crv.as_deref()),
        ("EC", 256, Some("P-256"))
    );
    assert_eq!(p.sans.dns_names, ["imported.example"]);
    assert_eq!(p.ekus, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    assert_eq!(p.validity_months, 12);
    assert_eq!(p.issuer.name, "Unknown");
    assert_eq!(p.lifetime_actions[0].action, ActionType::EmailContacts);
}
