//! Links between a vault certificate and applications: the latest version is added when the
//! link is made, each new version (made by a caller or by AutoRenew) when it is made, nothing
//! after the link is removed; links are audited, and only an existing application is linked.

use keyward_vault::Error;
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use super::common::{create_request, harness};

#[tokio::test]
async fn a_linked_certificate_reaches_the_application_at_each_new_version_until_unlinked() {
    let h = harness().await;
    let owner = h.owner().await;
    let app = h.directory.register(h.tenant, "ciam-client-app");
    let request = || {
        create_request(json!({"policy": {
            "x509_props": {"subject": "CN=linked", "validity_months": 1},
            "lifetime_actions": [{"trigger": {"days_before_expiry": 5}, "action": {"action_type": "AutoRenew"}}]
        }}))
    };
    h.vaults.create_certificate(&owner, "linked", request()).await.unwrap();
    let first = h.vaults.certificate(&owner, "linked", None).await.unwrap();
    assert!(h.directory.added(h.tenant, app).is_empty(), "not linked yet");

    // Linking adds the latest version now, once.
    assert!(h.vaults.link_certificate(&owner, "linked", app).await.unwrap());
    assert!(!h.vaults.link_certificate(&owner, "linked", app).await.unwrap());
    assert_eq!(h.directory.added(h.tenant, app), vec![first.certificate.der().to_vec()]);
    let links = h.vaults.certificate_links(&owner, "linked").await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(
        (links[0].app_id, links[0].display_name.as_deref()),
        (app, Some("ciam-client-app"))
    );

    // A new version by hand.
    h.vaults.create_certificate(&owner, "linked", request()).await.unwrap();
    let second = h.vaults.certificate(&owner, "linked", None).await.unwrap();
    // A new version by AutoRenew.
    let due = second.certificate.info().not_after - Duration::days(5) - time::OffsetDateTime::now_utc();
    h.clock.set_offset(due + Duration::hours(1));
    assert_eq!(h.vaults.renew_due().await.unwrap(), 1);
    let renewed = h.vaults.certificate(&owner, "linked", None).await.unwrap();
    assert_ne!(renewed.version, second.version);
    assert_eq!(
        h.directory.added(h.tenant, app),
        vec![
            first.certificate.der().to_vec(),
            second.certificate.der().to_vec(),
            renewed.certificate.der().to_vec(),
        ],
        "each version added, the old ones left in place"
    );
    let sources = h.directory.certificates.lock().unwrap()[&(h.tenant, app)]
        .iter()
        .map(|(_, s)| s.clone())
        .collect::<Vec<_>>();
    assert_eq!(sources[2], format!("default/linked/{}", renewed.version));

    // Unlinked: the next version stays in the vault.
    h.vaults.unlink_certificate(&owner, "linked", app).await.unwrap();
    assert!(matches!(
        h.vaults.unlink_certificate(&owner, "linked", app).await,
        Err(Error::LinkNotFound { .. })
    ));
    h.clock.set_offset(Duration::ZERO);
    h.vaults.create_certificate(&owner, "linked", request()).await.unwrap();
    assert_eq!(h.directory.added(h.tenant, app).len(), 3);
    assert!(h.vaults.certificate_links(&owner, "linked").await.unwrap().is_empty());
    assert_eq!(
        *h.directory.audited.lock().unwrap(),
        vec![
            (app, "default/linked".to_owned(), true),
            (app, "default/linked".to_owned(), false)
        ]
    );
}

#[tokio::test]
async fn only_an_application_of_the_vaults_tenant_is_linked_and_it_takes_update_permission() {
    let h = harness().await;
    let owner = h.owner().await;
    h.vaults
        .create_certificate(
            &owner,
            "c",
            create_request(json!({"policy": {"x509_props": {"subject": "CN=c"}}})),
        )
        .await
        .unwrap();
    let elsewhere = h.directory.register(h.other_tenant, "fabrikam-app");
    for app in [Uuid::new_v4(), elsewhere] {
        assert!(matches!(
            h.vaults.link_certificate(&owner, "c", app).await,
            Err(Error::ApplicationNotFound(id)) if id == app
        ));
    }
    assert!(h.vaults.certificate_links(&owner, "c").await.unwrap().is_empty());
    let app = h.directory.register(h.tenant, "app");
    let reader = h.principal(&["get", "list"], &[]).await;
    assert!(matches!(
        h.vaults.link_certificate(&reader, "c", app).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        h.vaults.link_certificate(&owner, "missing", app).await,
        Err(Error::CertificateNotFound { .. })
    ));
    assert!(h.directory.added(h.tenant, app).is_empty());
}
