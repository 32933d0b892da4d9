//! A write to one application costs a reload of that application, on the server that wrote it
//! and on every other server sharing the database, not a reload of the directory.

use std::sync::Arc;

use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey, Validity};
use time::OffsetDateTime;

use crate::applications::NewApplication;
use crate::credentials::certificate_credential;
use crate::testing::authority;
use crate::{AppEntry, Config};

const URL: &str = "https://localhost:8443";

fn credential(key: &PrivateKey, name: &str) -> keyward_store::KeyCredential {
    let certificate = CertificateSpec::new(Name::parse(&format!("CN={name}")).unwrap())
        .validity(Validity::Days(30))
        .self_signed(key)
        .unwrap();
    certificate_credential(certificate.der(), None, None, None, false, OffsetDateTime::now_utc()).unwrap()
}

#[tokio::test]
async fn a_certificate_added_to_one_application_is_all_another_server_reloads() {
    let t = authority(Config::new(URL)).await;
    let tenant_id = t.tenant.tenant.id;
    let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
    let mut ids = Vec::new();
    for i in 0..40 {
        let new = NewApplication {
            display_name: format!("app-{i}"),
            key_credentials: vec![credential(&key, &format!("app-{i}"))],
            ..NewApplication::default()
        };
        ids.push(t.authority.create_application(tenant_id, new).await.unwrap().app.id);
    }
    let follower = t.another_server(Config::new(URL)).await;
    let before = follower.snapshot();
    let entries = |ids: &[uuid::Uuid]| -> Vec<Arc<AppEntry>> {
        ids.iter()
            .map(|id| Arc::clone(before.app_by_object_id(tenant_id, *id).expect("loaded")))
            .collect()
    };
    let kept = entries(&ids);
    let (read, rebuilt) = (
        follower.metrics().directory_apps_read(),
        follower.metrics().directory_apps_rebuilt(),
    );

    let changed = ids[7];
    let added = credential(&key, "app-7-next");
    t.authority
        .update_application(tenant_id, changed, |app| {
            app.key_credentials.push(added.clone());
            Ok(())
        })
        .await
        .unwrap();
    follower.reload().await.unwrap();

    assert_eq!(
        follower.metrics().directory_apps_read() - read,
        1,
        "one application read"
    );
    assert_eq!(
        follower.metrics().directory_apps_rebuilt() - rebuilt,
        1,
        "one entry made anew"
    );
    let after = follower.snapshot();
    for (id, entry) in ids.iter().zip(&kept) {
        let now = after.app_by_object_id(tenant_id, *id).expect("still there");
        assert_eq!(Arc::ptr_eq(now, entry), *id != changed, "only the changed entry is new");
    }
    let entry = after.app_by_object_id(tenant_id, changed).unwrap();
    assert_eq!(
        entry.certificates().len(),
        2,
        "the added certificate is ready on the other server"
    );
    assert!(entry.certificates().iter().any(|c| c.key_id == added.key_id));

    // A removal: read as an id, nothing rebuilt, gone from every index.
    let removed = Arc::clone(after.app_by_object_id(tenant_id, ids[9]).unwrap());
    t.authority.delete_application(tenant_id, ids[9]).await.unwrap();
    let (read, rebuilt) = (
        follower.metrics().directory_apps_read(),
        follower.metrics().directory_apps_rebuilt(),
    );
    follower.reload().await.unwrap();
    assert_eq!(follower.metrics().directory_apps_read() - read, 0);
    assert_eq!(follower.metrics().directory_apps_rebuilt() - rebuilt, 0);
    let gone = follower.snapshot();
    assert!(gone.app_by_object_id(tenant_id, ids[9]).is_none());
    assert!(gone.app_in_tenant(tenant_id, removed.app.app_id).is_none());
    assert!(
        gone.app_by_service_principal(tenant_id, removed.app.service_principal_id)
            .is_none()
    );
    assert!(gone.resource(tenant_id, &removed.app.app_id.to_string()).is_none());
    assert_eq!(gone.apps_of(tenant_id).len(), before.apps_of(tenant_id).len() - 1);

    // The server that wrote reads its own writes back and keeps the entries it already made.
    let rebuilt = t.authority.metrics().directory_apps_rebuilt();
    t.authority.reload().await.unwrap();
    assert_eq!(t.authority.metrics().directory_apps_rebuilt(), rebuilt);
}

#[tokio::test]
async fn an_identifier_uri_moved_between_applications_names_its_new_owner() {
    let t = authority(Config::new(URL)).await;
    let tenant_id = t.tenant.tenant.id;
    let make = |name: &str, uris: &[&str]| NewApplication {
        display_name: name.into(),
        identifier_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
        ..NewApplication::default()
    };
    let first = t
        .authority
        .create_application(tenant_id, make("first", &["api://moving"]))
        .await
        .unwrap();
    let second = t
        .authority
        .create_application(tenant_id, make("second", &["api://staying"]))
        .await
        .unwrap();
    let follower = t.another_server(Config::new(URL)).await;
    t.authority
        .update_application(tenant_id, first.app.id, |app| {
            app.identifier_uris.clear();
            Ok(())
        })
        .await
        .unwrap();
    t.authority
        .update_application(tenant_id, second.app.id, |app| {
            app.identifier_uris.push("api://moving".into());
            Ok(())
        })
        .await
        .unwrap();
    follower.reload().await.unwrap();
    for snapshot in [t.authority.snapshot(), follower.snapshot()] {
        let owner = snapshot.resource(tenant_id, "api://moving").expect("found");
        assert_eq!(owner.app.id, second.app.id);
    }
}

#[tokio::test]
async fn applications_are_found_by_name_after_a_rename_and_when_names_repeat() {
    let t = authority(Config::new(URL)).await;
    let tenant_id = t.tenant.tenant.id;
    let named = |name: &str| NewApplication {
        display_name: name.into(),
        ..NewApplication::default()
    };
    let first = t
        .authority
        .create_application(tenant_id, named("Daemon"))
        .await
        .unwrap();
    let second = t
        .authority
        .create_application(tenant_id, named("daemon"))
        .await
        .unwrap();
    let found = |name: &str| -> Vec<uuid::Uuid> {
        t.authority
            .snapshot()
            .apps_named(tenant_id, name)
            .iter()
            .map(|a| a.app.id)
            .collect()
    };
    assert_eq!(found("DAEMON"), vec![first.app.id, second.app.id], "both, oldest first");
    t.authority
        .update_application(tenant_id, first.app.id, |app| {
            app.display_name = "Ärger".into();
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(found("daemon"), vec![second.app.id], "the old name no longer finds it");
    assert_eq!(found("ärger"), vec![first.app.id]);
    t.authority.delete_application(tenant_id, second.app.id).await.unwrap();
    assert!(found("daemon").is_empty());
    assert!(found("nobody").is_empty());
}
