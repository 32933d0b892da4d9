//! Behaviours of the directory: tenants, applications (with their identifier URIs), role
//! assignments, signing keys and the revision that moves with every change of them.

use std::sync::Arc;

use keyward_store::{
    AppRole, AppRoleAssignment, Application, Error, KeyCredential, PasswordCredential, SigningKey, Store, Tenant,
};
use time::macros::datetime;
use uuid::Uuid;

use super::{CREATED, assert_conflict, tenant, with_tenant};

pub(crate) fn application(tenant: &Tenant) -> Application {
    let app_id = Uuid::new_v4();
    Application {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        app_id,
        service_principal_id: Uuid::new_v4(),
        display_name: "ciam-client-app ✓".into(),
        identifier_uris: vec![format!("api://{app_id}"), format!("https://{}/{app_id}", tenant.domain)],
        redirect_uris: vec!["https://localhost:3000/redirect".into(), "http://localhost/".into()],
        logout_url: None,
        key_credentials: vec![KeyCredential {
            key_id: Uuid::new_v4(),
            display_name: "CN=ciam-client-app".into(),
            certificate_der: (0..=255).collect(),
            start: datetime!(2026-01-01 00:00:00 UTC),
            end: datetime!(2027-01-01 00:00:00.5 -05:00),
        }],
        password_credentials: vec![PasswordCredential {
            key_id: Uuid::new_v4(),
            display_name: "ci secret".into(),
            hint: "abc".into(),
            secret_hash: "sha256:00ff".into(),
            start: CREATED,
            end: datetime!(2028-02-29 23:59:59.999999999 UTC),
        }],
        app_roles: vec![
            AppRole {
                id: Uuid::new_v4(),
                value: "Application.ReadWrite.All".into(),
                display_name: "Read and write applications".into(),
                description: "Lets the app manage applications.".into(),
                allowed_member_types: vec!["Application".into(), "User".into()],
                is_enabled: true,
            },
            AppRole {
                id: Uuid::new_v4(),
                value: "Retired".into(),
                display_name: "An old role".into(),
                description: String::new(),
                allowed_member_types: vec!["Application".into()],
                is_enabled: false,
            },
        ],
        created: CREATED,
        version: 1,
    }
}

pub(crate) fn assignment(tenant: &Tenant, principal: &Application, resource: &Application) -> AppRoleAssignment {
    AppRoleAssignment {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        principal_id: principal.service_principal_id,
        resource_id: resource.service_principal_id,
        app_role_id: resource.app_roles[0].id,
        created: CREATED,
    }
}

pub(crate) fn signing_key(tenant: &Tenant, active: bool) -> SigningKey {
    SigningKey {
        kid: Uuid::new_v4().simple().to_string(),
        tenant_id: tenant.id,
        encrypted_private_key: vec![0, 1, 2, 250, 251, 252],
        certificate_der: vec![0x30, 0x82, 0x01, 0x0a],
        created: CREATED,
        active,
        publish_until: (!active).then_some(datetime!(2026-12-01 00:00:00 UTC)),
    }
}

async fn stored_application(store: &dyn Store, id: Uuid) -> Option<Application> {
    store
        .applications()
        .await
        .expect("applications")
        .into_iter()
        .find(|app| app.id == id)
}

async fn keys_of(store: &dyn Store, tenant: &Tenant) -> Vec<SigningKey> {
    let mut keys: Vec<_> = store
        .signing_keys()
        .await
        .expect("signing keys")
        .into_iter()
        .filter(|k| k.tenant_id == tenant.id)
        .collect();
    keys.sort_by(|a, b| a.kid.cmp(&b.kid));
    keys
}

pub(crate) async fn tenant_round_trip(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let stored = store.tenants().await.unwrap();
    assert_eq!(stored.iter().find(|t| t.id == tenant.id), Some(&tenant));
}

pub(crate) async fn application_round_trip(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let app = application(&tenant);
    store.insert_application(&app).await.unwrap();
    assert_eq!(stored_application(&*store, app.id).await, Some(app));
}

pub(crate) async fn role_assignment_round_trip(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let (client, resource) = (application(&tenant), application(&tenant));
    let grant = assignment(&tenant, &client, &resource);
    store.insert_role_assignment(&grant).await.unwrap();
    let stored = store.role_assignments().await.unwrap();
    assert_eq!(stored.iter().find(|a| a.id == grant.id), Some(&grant));
}

pub(crate) async fn signing_key_round_trip(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let (retired, active) = (signing_key(&tenant, false), signing_key(&tenant, true));
    store.insert_signing_key(&retired).await.unwrap();
    store.insert_signing_key(&active).await.unwrap();
    let mut expected = vec![retired, active];
    expected.sort_by(|a, b| a.kid.cmp(&b.kid));
    assert_eq!(keys_of(&*store, &tenant).await, expected);
}

pub(crate) async fn duplicate_tenant_conflicts(store: Arc<dyn Store>) {
    let taken = with_tenant(&*store).await;
    let same_id = Tenant {
        id: taken.id,
        ..tenant()
    };
    assert_conflict(store.insert_tenant(&same_id).await, &["tenant", &taken.id.to_string()]);
    let same_name = Tenant {
        name: taken.name.clone(),
        ..tenant()
    };
    assert_conflict(store.insert_tenant(&same_name).await, &["named", &taken.name]);
    let same_domain = Tenant {
        domain: taken.domain.clone(),
        ..tenant()
    };
    assert_conflict(store.insert_tenant(&same_domain).await, &["domain", &taken.domain]);

    let stored = store.tenants().await.unwrap();
    for refused in [same_id, same_name, same_domain] {
        assert!(!stored.contains(&refused), "a refused tenant was stored: {refused:?}");
    }
}

pub(crate) async fn duplicate_application_conflicts(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let taken = application(&tenant);
    store.insert_application(&taken).await.unwrap();

    let same_id = Application {
        id: taken.id,
        ..application(&tenant)
    };
    assert_conflict(
        store.insert_application(&same_id).await,
        &["application", &taken.id.to_string()],
    );
    let same_app_id = Application {
        app_id: taken.app_id,
        ..application(&tenant)
    };
    assert_conflict(
        store.insert_application(&same_app_id).await,
        &["appId", &taken.app_id.to_string()],
    );
    let same_principal = Application {
        service_principal_id: taken.service_principal_id,
        ..application(&tenant)
    };
    assert_conflict(
        store.insert_application(&same_principal).await,
        &["service principal", &taken.service_principal_id.to_string()],
    );
    let same_uri = Application {
        identifier_uris: vec![taken.identifier_uris[1].clone()],
        ..application(&tenant)
    };
    assert_conflict(
        store.insert_application(&same_uri).await,
        &["identifier URI", &taken.identifier_uris[1]],
    );
    for refused in [&same_id, &same_app_id, &same_principal, &same_uri] {
        if refused.id != taken.id {
            assert_eq!(
                stored_application(&*store, refused.id).await,
                None,
                "a refused application was stored"
            );
        }
    }
    assert_eq!(stored_application(&*store, taken.id).await, Some(taken.clone()));

    // The same appId and identifier URI in another tenant are another application (a multi-tenant app).
    let other = with_tenant(&*store).await;
    let elsewhere = Application {
        app_id: taken.app_id,
        identifier_uris: taken.identifier_uris.clone(),
        ..application(&other)
    };
    store.insert_application(&elsewhere).await.unwrap();
}

pub(crate) async fn identifier_uri_listed_twice_is_invalid(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let mut app = application(&tenant);
    app.identifier_uris.push(app.identifier_uris[0].clone());
    assert!(matches!(store.insert_application(&app).await, Err(Error::Invalid(_))));
    assert_eq!(stored_application(&*store, app.id).await, None);
}

pub(crate) async fn unknown_tenant_is_not_found(store: Arc<dyn Store>) {
    let nowhere = tenant();
    let absent = nowhere.id.to_string();
    let app = application(&nowhere);
    assert!(matches!(store.insert_application(&app).await, Err(Error::NotFound(what)) if what.contains(&absent)));
    let grant = assignment(&nowhere, &app, &application(&nowhere));
    assert!(matches!(store.insert_role_assignment(&grant).await, Err(Error::NotFound(what)) if what.contains(&absent)));
    let key = signing_key(&nowhere, true);
    assert!(matches!(store.insert_signing_key(&key).await, Err(Error::NotFound(what)) if what.contains(&absent)));
}

pub(crate) async fn optimistic_concurrency(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let mut app = application(&tenant);
    store.insert_application(&app).await.unwrap();

    app.version = 2;
    app.display_name = "renamed".into();
    store.update_application(&app).await.unwrap();
    assert_eq!(stored_application(&*store, app.id).await, Some(app.clone()));

    // A writer who also read version 1 is refused and changes nothing.
    let stale = Application {
        display_name: "stale".into(),
        ..app.clone()
    };
    assert!(matches!(
        store.update_application(&stale).await,
        Err(Error::VersionMismatch { .. })
    ));
    // Skipping a version is refused too.
    let ahead = Application {
        version: 4,
        display_name: "ahead".into(),
        ..app.clone()
    };
    assert!(matches!(
        store.update_application(&ahead).await,
        Err(Error::VersionMismatch { .. })
    ));
    assert_eq!(stored_application(&*store, app.id).await, Some(app.clone()));

    app.version = 3;
    app.redirect_uris.clear();
    store.update_application(&app).await.unwrap();
    assert_eq!(stored_application(&*store, app.id).await, Some(app));
}

pub(crate) async fn concurrent_updates_one_wins(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let app = application(&tenant);
    store.insert_application(&app).await.unwrap();

    let writers: Vec<_> = (0..8)
        .map(|i| {
            let (store, app) = (
                store.clone(),
                Application {
                    version: 2,
                    display_name: format!("writer {i}"),
                    ..app.clone()
                },
            );
            tokio::spawn(async move { store.update_application(&app).await })
        })
        .collect();
    let mut won = 0;
    for writer in writers {
        match writer.await.unwrap() {
            Ok(()) => won += 1,
            Err(Error::VersionMismatch { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(won, 1, "exactly one of the writers that read version 1 may win");
    let stored = stored_application(&*store, app.id).await.unwrap();
    assert_eq!(stored.version, 2);
}

pub(crate) async fn updates_move_identifier_uris(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let (mut first, mut second) = (application(&tenant), application(&tenant));
    store.insert_application(&first).await.unwrap();
    store.insert_application(&second).await.unwrap();

    // Taking another application's URI is refused, and the refused update changes nothing.
    let released = first.identifier_uris.remove(0);
    let grab = Application {
        version: 2,
        identifier_uris: vec![released.clone()],
        ..second.clone()
    };
    assert_conflict(store.update_application(&grab).await, &["identifier URI", &released]);
    assert_eq!(stored_application(&*store, second.id).await, Some(second.clone()));

    // Once the first lets it go, the second may take it.
    first.version = 2;
    store.update_application(&first).await.unwrap();
    second.version = 2;
    second.identifier_uris.push(released);
    store.update_application(&second).await.unwrap();
    assert_eq!(stored_application(&*store, second.id).await, Some(second.clone()));

    // An update that would take another application's appId is refused.
    let clash = Application {
        version: 3,
        app_id: second.app_id,
        ..first.clone()
    };
    assert_conflict(store.update_application(&clash).await, &["appId"]);
    assert_eq!(stored_application(&*store, first.id).await, Some(first));
}

pub(crate) async fn missing_rows_are_not_found(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let mut ghost = application(&tenant);
    ghost.version = 2;
    assert!(
        matches!(store.update_application(&ghost).await, Err(Error::NotFound(what)) if what.contains(&ghost.id.to_string()))
    );
    assert!(!store.delete_application(tenant.id, ghost.id).await.unwrap());
    assert!(!store.delete_role_assignment(tenant.id, Uuid::new_v4()).await.unwrap());
    assert!(!store.delete_signing_key(tenant.id, "no-such-kid").await.unwrap());

    // Rows are addressed within their tenant: another tenant's id finds nothing.
    let app = application(&tenant);
    store.insert_application(&app).await.unwrap();
    let other = with_tenant(&*store).await;
    let moved = Application {
        tenant_id: other.id,
        version: 2,
        ..app.clone()
    };
    assert!(matches!(
        store.update_application(&moved).await,
        Err(Error::NotFound(_))
    ));
    assert!(!store.delete_application(other.id, app.id).await.unwrap());
    assert!(store.delete_application(tenant.id, app.id).await.unwrap());
    assert_eq!(stored_application(&*store, app.id).await, None);

    let key = signing_key(&tenant, true);
    store.insert_signing_key(&key).await.unwrap();
    assert!(!store.delete_signing_key(other.id, &key.kid).await.unwrap());
    assert!(store.delete_signing_key(tenant.id, &key.kid).await.unwrap());
    assert!(keys_of(&*store, &tenant).await.is_empty());
}

pub(crate) async fn delete_application_cascades_assignments(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let (doomed, client, resource) = (application(&tenant), application(&tenant), application(&tenant));
    for app in [&doomed, &client, &resource] {
        store.insert_application(app).await.unwrap();
    }
    let as_principal = assignment(&tenant, &doomed, &resource);
    let as_resource = assignment(&tenant, &client, &doomed);
    let unrelated = assignment(&tenant, &client, &resource);
    for grant in [&as_principal, &as_resource, &unrelated] {
        store.insert_role_assignment(grant).await.unwrap();
    }

    assert!(store.delete_application(tenant.id, doomed.id).await.unwrap());
    let left: Vec<_> = store
        .role_assignments()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.tenant_id == tenant.id)
        .collect();
    assert_eq!(left, vec![unrelated]);
    assert_eq!(stored_application(&*store, doomed.id).await, None);
    // Its appId and identifier URIs are free again.
    let heir = Application {
        app_id: doomed.app_id,
        identifier_uris: doomed.identifier_uris.clone(),
        ..application(&tenant)
    };
    store.insert_application(&heir).await.unwrap();
}

pub(crate) async fn duplicate_role_assignment_conflicts(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let (client, resource) = (application(&tenant), application(&tenant));
    let grant = assignment(&tenant, &client, &resource);
    store.insert_role_assignment(&grant).await.unwrap();

    let same_grant = AppRoleAssignment {
        id: Uuid::new_v4(),
        ..grant.clone()
    };
    assert_conflict(
        store.insert_role_assignment(&same_grant).await,
        &[
            "app role",
            &grant.app_role_id.to_string(),
            &grant.principal_id.to_string(),
        ],
    );
    let same_id = AppRoleAssignment {
        id: grant.id,
        ..assignment(&tenant, &resource, &client)
    };
    assert_conflict(
        store.insert_role_assignment(&same_id).await,
        &["role assignment", &grant.id.to_string()],
    );
    let stored: Vec<_> = store
        .role_assignments()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.tenant_id == tenant.id)
        .collect();
    assert_eq!(stored, vec![grant]);
}

pub(crate) async fn rotation_keeps_one_active_key(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let first = signing_key(&tenant, true);
    store.insert_signing_key(&first).await.unwrap();
    // A second active key is refused outright.
    assert_conflict(
        store.insert_signing_key(&signing_key(&tenant, true)).await,
        &["active signing key"],
    );
    assert_conflict(store.insert_signing_key(&first).await, &["signing key", &first.kid]);

    for _ in 0..3 {
        let current = keys_of(&*store, &tenant).await.into_iter().find(|k| k.active).unwrap();
        let retired = SigningKey {
            active: false,
            publish_until: Some(datetime!(2027-01-01 00:00:00 UTC)),
            ..current
        };
        let new = signing_key(&tenant, true);
        store.rotate_signing_key(&retired, &new).await.unwrap();
        let keys = keys_of(&*store, &tenant).await;
        let active: Vec<_> = keys.iter().filter(|k| k.active).collect();
        assert_eq!(active, vec![&new], "exactly the new key is active");
        assert!(keys.contains(&retired), "the retired key is stored as given");
    }
    assert_eq!(keys_of(&*store, &tenant).await.len(), 4);

    // Requests that would leave two active keys or none are refused.
    let current = keys_of(&*store, &tenant).await.into_iter().find(|k| k.active).unwrap();
    let still_active = current.clone();
    assert!(matches!(
        store
            .rotate_signing_key(&still_active, &signing_key(&tenant, true))
            .await,
        Err(Error::Invalid(_))
    ));
    let retired = SigningKey {
        active: false,
        ..current.clone()
    };
    assert!(matches!(
        store.rotate_signing_key(&retired, &signing_key(&tenant, false)).await,
        Err(Error::Invalid(_))
    ));
    let other = with_tenant(&*store).await;
    assert!(matches!(
        store.rotate_signing_key(&retired, &signing_key(&other, true)).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(
        keys_of(&*store, &tenant).await.into_iter().find(|k| k.active),
        Some(current)
    );
}

pub(crate) async fn failed_rotation_changes_nothing(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let old = signing_key(&tenant, false);
    let current = signing_key(&tenant, true);
    store.insert_signing_key(&old).await.unwrap();
    store.insert_signing_key(&current).await.unwrap();
    let before = keys_of(&*store, &tenant).await;

    // The new key's kid is taken: the retirement written first in the transaction is undone.
    let retired = SigningKey {
        active: false,
        ..current.clone()
    };
    let taken_kid = SigningKey {
        kid: old.kid.clone(),
        ..signing_key(&tenant, true)
    };
    assert_conflict(
        store.rotate_signing_key(&retired, &taken_kid).await,
        &["signing key", &old.kid],
    );
    assert_eq!(keys_of(&*store, &tenant).await, before);

    // The retired key does not exist: the new key is not inserted.
    let unknown = SigningKey {
        kid: "unknown".into(),
        ..retired.clone()
    };
    assert!(matches!(
        store.rotate_signing_key(&unknown, &signing_key(&tenant, true)).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(keys_of(&*store, &tenant).await, before);

    // Retiring a key that is not the active one would leave two active keys: refused.
    let wrong = SigningKey {
        active: false,
        ..old.clone()
    };
    assert_conflict(
        store.rotate_signing_key(&wrong, &signing_key(&tenant, true)).await,
        &["active signing key"],
    );
    assert_eq!(keys_of(&*store, &tenant).await, before);
}

/// Everything written is read back the same by a new store on the same database.
/// Every kind of directory write moves the revision another server compares.
pub(crate) async fn directory_revision_moves_with_directory_writes(store: Arc<dyn Store>) {
    let mut last = store.directory_revision().await.unwrap();
    let mut moved = |now: i64, what: &str| {
        assert!(now > last, "{what} must move the directory revision ({last} -> {now})");
        last = now;
    };
    let tenant = tenant();
    store.insert_tenant(&tenant).await.unwrap();
    moved(store.directory_revision().await.unwrap(), "a new tenant");
    let client = application(&tenant);
    let resource = application(&tenant);
    store.insert_application(&client).await.unwrap();
    moved(store.directory_revision().await.unwrap(), "a new application");
    store.insert_application(&resource).await.unwrap();
    let mut changed = client.clone();
    changed.display_name = "renamed".into();
    changed.version += 1;
    store.update_application(&changed).await.unwrap();
    moved(store.directory_revision().await.unwrap(), "an updated application");
    let grant = assignment(&tenant, &client, &resource);
    store.insert_role_assignment(&grant).await.unwrap();
    moved(store.directory_revision().await.unwrap(), "a role assignment");
    store.delete_role_assignment(tenant.id, grant.id).await.unwrap();
    moved(store.directory_revision().await.unwrap(), "a revoked role");
    let key = signing_key(&tenant, true);
    store.insert_signing_key(&key).await.unwrap();
    moved(store.directory_revision().await.unwrap(), "a signing key");
    store.delete_application(tenant.id, resource.id).await.unwrap();
    moved(store.directory_revision().await.unwrap(), "a deleted application");
    // A refused write changes nothing, the revision included.
    assert!(store.insert_tenant(&tenant).await.is_err());
    assert_eq!(store.directory_revision().await.unwrap(), last);
}

/// A reload reads what changed after the revision it saw last: the applications written since
/// (made or updated, as they are now) and the ids of those removed, and nothing older.
pub(crate) async fn changes_since_a_revision_are_the_writes_after_it(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let (mut kept, doomed, untouched) = (application(&tenant), application(&tenant), application(&tenant));
    for app in [&kept, &doomed, &untouched] {
        store.insert_application(app).await.unwrap();
    }
    let seen = store.directory_revision().await.unwrap();
    let nothing = store.applications_changed_since(seen).await.unwrap();
    assert!(nothing.changed.is_empty() && nothing.removed.is_empty(), "{nothing:?}");

    kept.version = 2;
    kept.display_name = "renamed".into();
    store.update_application(&kept).await.unwrap();
    assert!(store.delete_application(tenant.id, doomed.id).await.unwrap());
    let made = application(&tenant);
    store.insert_application(&made).await.unwrap();

    let changes = store.applications_changed_since(seen).await.unwrap();
    let mut changed: Vec<_> = changes.changed.iter().map(|a| a.id).collect();
    changed.sort();
    let mut expected = vec![kept.id, made.id];
    expected.sort();
    assert_eq!(
        changed, expected,
        "the updated and the new application, not the untouched one"
    );
    assert!(
        changes.changed.contains(&kept),
        "changed applications are read as they are now"
    );
    assert_eq!(changes.removed, vec![doomed.id]);

    // Nothing after the latest revision; and from the start, every write ever made.
    let latest = store.directory_revision().await.unwrap();
    let none = store.applications_changed_since(latest).await.unwrap();
    assert!(none.changed.is_empty() && none.removed.is_empty(), "{none:?}");
    let all = store.applications_changed_since(i64::MIN).await.unwrap();
    assert!(all.changed.iter().any(|a| a.id == untouched.id));
}

/// Every application is read back, across the pages `applications` reads them in.
pub(crate) async fn all_applications_are_read_across_pages(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let mut made = Vec::new();
    for _ in 0..1100 {
        let mut app = application(&tenant);
        app.identifier_uris.clear();
        store.insert_application(&app).await.unwrap();
        made.push(app.id);
    }
    let read: std::collections::HashSet<_> = store.applications().await.unwrap().into_iter().map(|a| a.id).collect();
    assert!(made.iter().all(|id| read.contains(id)), "every application is read");
}

/// Applications inserted in bulk read back as inserted one by one, their identifier URIs taken;
/// a batch with one refused application writes none of them.
pub(crate) async fn applications_are_inserted_in_bulk(store: Arc<dyn Store>) {
    let home = with_tenant(&*store).await;
    store.insert_applications(&[]).await.unwrap();
    let batch: Vec<Application> = (0..50).map(|_| application(&home)).collect();
    store.insert_applications(&batch).await.unwrap();
    let mut stored: Vec<Application> = store
        .applications()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.tenant_id == home.id)
        .collect();
    stored.sort_by_key(|a| a.id);
    let mut expected = batch.clone();
    expected.sort_by_key(|a| a.id);
    assert_eq!(stored, expected);
    // The identifier URIs are recorded as `insert_application` records them.
    let mut taken_uri = application(&home);
    taken_uri.identifier_uris = vec![batch[7].identifier_uris[0].clone()];
    assert_conflict(
        store.insert_application(&taken_uri).await,
        &[&batch[7].identifier_uris[0]],
    );

    // All or nothing: the last one's appId is taken, so the fresh ones before it are not written.
    let fresh: Vec<Application> = (0..3).map(|_| application(&home)).collect();
    let mut refused = fresh.clone();
    refused.push(Application {
        app_id: batch[3].app_id,
        ..application(&home)
    });
    assert_conflict(
        store.insert_applications(&refused).await,
        &["appId", &batch[3].app_id.to_string()],
    );
    // Twice the same application in one batch is a conflict too.
    let twice = vec![fresh[0].clone(), fresh[0].clone()];
    assert!(matches!(
        store.insert_applications(&twice).await,
        Err(Error::Conflict(_))
    ));
    let count = |apps: Vec<Application>| apps.iter().filter(|a| a.tenant_id == home.id).count();
    assert_eq!(count(store.applications().await.unwrap()), batch.len());
    // A batch for a tenant that does not exist is not found.
    let nowhere = tenant();
    assert!(matches!(
        store.insert_applications(&[application(&nowhere)]).await,
        Err(Error::NotFound(what)) if what.contains(&nowhere.id.to_string())
    ));
}
