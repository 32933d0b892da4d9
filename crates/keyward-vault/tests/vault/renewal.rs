//! Lifetime actions with a shifted clock: AutoRenew at 80 % of the validity, reuse of the key,
//! EmailContacts recorded once per version.

use keyward_vault::{Error, PageRequest};
use serde_json::json;
use time::Duration;

use super::common::{create_request, harness};

#[tokio::test]
async fn auto_renew_at_80_percent_makes_a_new_version_and_keeps_the_old() {
    let h = harness().await;
    let owner = h.owner().await;
    h.vaults
        .create_certificate(
            &owner,
            "renew-me",
            create_request(json!({"policy": {"x509_props": {"subject": "CN=renew-me"}}})),
        )
        .await
        .unwrap();
    let first = h.vaults.certificate(&owner, "renew-me", None).await.unwrap();
    assert_eq!(h.vaults.renew_due().await.unwrap(), 0, "nothing is due yet");

    // 12 months from now, 80 % of which is a little over 292 days; not yet at 290 days.
    h.clock.set_offset(Duration::days(290));
    assert_eq!(h.vaults.renew_due().await.unwrap(), 0);
    h.clock.set_offset(Duration::days(294));
    assert_eq!(h.vaults.renew_due().await.unwrap(), 1);
    assert_eq!(h.vaults.renew_due().await.unwrap(), 0, "renewed once");

    let latest = h.vaults.certificate(&owner, "renew-me", None).await.unwrap();
    assert_ne!(latest.version, first.version);
    let info = latest.certificate.info();
    let expected_start = time::OffsetDateTime::now_utc() + Duration::days(294) - Duration::minutes(10);
    assert!(
        (info.not_before - expected_start).abs() < Duration::minutes(2),
        "{}",
        info.not_before
    );
    assert_eq!(info.subject, "CN=renew-me");
    assert_ne!(latest.certificate.spki_der(), first.certificate.spki_der(), "a new key");
    // The old version and its secret are still there.
    let old = h
        .vaults
        .certificate(&owner, "renew-me", Some(&first.version))
        .await
        .unwrap();
    assert_eq!(old.certificate, first.certificate);
    assert!(h.vaults.secret(&owner, "renew-me", Some(&first.version)).await.is_ok());
    let secret = h.vaults.secret(&owner, "renew-me", None).await.unwrap();
    assert_eq!(secret.version, latest.version);
    let versions = h
        .vaults
        .certificate_versions(&owner, "renew-me", &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(versions.items.len(), 2);
}

#[tokio::test]
async fn reuse_key_keeps_the_key_and_days_before_expiry_triggers() {
    let h = harness().await;
    let owner = h.owner().await;
    let request = json!({"policy": {
        "key_props": {"reuse_key": true, "kty": "EC"},
        "x509_props": {"subject": "CN=same-key", "validity_months": 1},
        "lifetime_actions": [{"trigger": {"days_before_expiry": 5}, "action": {"action_type": "AutoRenew"}}]
    }});
    h.vaults
        .create_certificate(&owner, "same-key", create_request(request))
        .await
        .unwrap();
    let first = h.vaults.certificate(&owner, "same-key", None).await.unwrap();
    let due = first.certificate.info().not_after - Duration::days(5) - time::OffsetDateTime::now_utc();
    h.clock.set_offset(due - Duration::hours(1));
    assert_eq!(h.vaults.renew_due().await.unwrap(), 0);
    h.clock.set_offset(due + Duration::hours(1));
    assert_eq!(h.vaults.renew_due().await.unwrap(), 1);
    let latest = h.vaults.certificate(&owner, "same-key", None).await.unwrap();
    assert_ne!(latest.version, first.version);
    assert_eq!(latest.certificate.spki_der(), first.certificate.spki_der());
}

#[tokio::test]
async fn email_contacts_is_recorded_once_per_version() {
    let h = harness().await;
    let owner = h.owner().await;
    let request = json!({"policy": {
        "x509_props": {"subject": "CN=tell-me"},
        "lifetime_actions": [{"trigger": {"lifetime_percentage": 50}, "action": {"action_type": "EmailContacts"}}]
    }});
    h.vaults
        .create_certificate(&owner, "tell-me", create_request(request))
        .await
        .unwrap();
    let version = h.vaults.certificate(&owner, "tell-me", None).await.unwrap().version;
    assert!(h.vaults.certificate_events(&owner, "tell-me").await.unwrap().is_empty());
    h.clock.set_offset(Duration::days(190));
    for _ in 0..3 {
        assert_eq!(h.vaults.renew_due().await.unwrap(), 0, "EmailContacts makes no version");
    }
    let events = h.vaults.certificate_events(&owner, "tell-me").await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].version, version);
    assert!(events[0].due <= events[0].recorded);
    let versions = h
        .vaults
        .certificate_versions(&owner, "tell-me", &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(versions.items.len(), 1);
}

#[tokio::test]
async fn deleted_objects_are_purged_after_their_retention_and_not_renewed() {
    let h = harness().await;
    let owner = h.owner().await;
    h.vaults
        .create_certificate(
            &owner,
            "old",
            create_request(json!({"policy": {"x509_props": {"subject": "CN=old"}}})),
        )
        .await
        .unwrap();
    h.vaults.delete_certificate(&owner, "old").await.unwrap();
    h.clock.set_offset(Duration::days(89));
    assert_eq!(
        h.vaults.renew_due().await.unwrap(),
        0,
        "a deleted certificate is not renewed"
    );
    assert!(h.vaults.deleted_certificate(&owner, "old").await.is_ok());
    h.clock.set_offset(Duration::days(91));
    h.vaults.renew_due().await.unwrap();
    assert!(matches!(
        h.vaults.deleted_certificate(&owner, "old").await,
        Err(Error::CertificateNotFound { deleted: true, .. })
    ));
    assert!(matches!(
        h.vaults.deleted_secret(&owner, "old").await,
        Err(Error::SecretNotFound { deleted: true, .. })
    ));
}

/// A policy of issuer `Unknown` is not checked against the validity, so a caller with
/// `certificates/update` could store a trigger millions of years before expiry; the renewal pass
/// then panicked, which stopped the server's lifetime-actions task (renewals and purges in every
/// vault) until a restart, and again on the first pass after it.
#[tokio::test]
async fn a_trigger_before_the_calendar_does_not_stop_the_renewal_pass() {
    let h = harness().await;
    let owner = h.owner().await;
    h.vaults
        .create_certificate(
            &owner,
            "far-back",
            create_request(json!({"policy": {"x509_props": {"subject": "CN=far-back"}}})),
        )
        .await
        .unwrap();
    let patch = json!({
        "issuer": {"name": "Unknown"},
        "lifetime_actions": [{"trigger": {"days_before_expiry": u32::MAX}, "action": {"action_type": "EmailContacts"}}]
    });
    h.vaults
        .update_certificate_policy(&owner, "far-back", serde_json::from_value(patch).unwrap())
        .await
        .unwrap();
    assert_eq!(h.vaults.renew_due().await.unwrap(), 0);
    let events = h.vaults.certificate_events(&owner, "far-back").await.unwrap();
    assert_eq!(events.len(), 1, "due at once");
}
