//! Behaviours of the vault: vaults, the names of their two collections (case-insensitive,
//! soft-deleted, purged) and the versions behind each name, written all or nothing.

use std::sync::Arc;

use keyward_store::{
    AccessPolicy, Collection, Error, ItemKey, ItemWrite, Store, Tenant, Vault, VaultItem, VaultVersion, VaultWrite,
};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use super::{CREATED, assert_conflict, tenant, with_tenant};

pub(crate) fn vault(tenant: &Tenant) -> Vault {
    Vault {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        name: format!("v{}", &Uuid::new_v4().simple().to_string()[..12]),
        access_policies: vec![AccessPolicy {
            object_id: Uuid::new_v4(),
            certificates: vec!["get".into(), "list".into(), "create".into()],
            secrets: vec!["get".into()],
        }],
        created: CREATED,
        version: 1,
    }
}

fn key(vault: &Vault, collection: Collection, name: &str) -> ItemKey {
    ItemKey {
        vault_id: vault.id,
        collection,
        name: name.into(),
    }
}

/// A live name at revision 1.
pub(crate) fn item(key: &ItemKey) -> VaultItem {
    VaultItem {
        key: key.clone(),
        deleted: false,
        document: serde_json::json!({ "policy": { "keyType": "RSA", "keySize": 2048 }, "name": key.name }),
        revision: 1,
    }
}

/// The insert of a new name.
fn insert(item: VaultItem) -> ItemWrite {
    ItemWrite {
        item,
        expected_revision: None,
    }
}

/// The replacement of revision `item.revision - 1` of a name.
fn replace(item: VaultItem) -> ItemWrite {
    ItemWrite {
        expected_revision: Some(item.revision - 1),
        item,
    }
}

/// A version of a name with a new version id.
pub(crate) fn version(key: &ItemKey, created: OffsetDateTime, sealed: &[u8]) -> VaultVersion {
    VaultVersion {
        key: key.clone(),
        version: Uuid::new_v4().simple().to_string(),
        created,
        document: serde_json::json!({ "attributes": { "enabled": true, "exp": null }, "tags": { "env": "ci ✓" } }),
        sealed: sealed.to_vec(),
    }
}

fn items(items: impl IntoIterator<Item = ItemWrite>) -> VaultWrite {
    VaultWrite {
        items: items.into_iter().collect(),
        ..VaultWrite::default()
    }
}

/// A tenant with one vault in it.
async fn with_vault(store: &dyn Store) -> Vault {
    let tenant = with_tenant(store).await;
    let vault = vault(&tenant);
    store.insert_vault(&vault).await.expect("insert vault");
    vault
}

/// Everything stored under one name: the name and its versions.
async fn snapshot(store: &dyn Store, key: &ItemKey) -> (Option<VaultItem>, Vec<VaultVersion>) {
    (
        store.vault_item(key).await.unwrap(),
        store.vault_versions(key).await.unwrap(),
    )
}

async fn stored_vault(store: &dyn Store, id: Uuid) -> Option<Vault> {
    store.vaults().await.unwrap().into_iter().find(|v| v.id == id)
}

pub(crate) async fn vault_round_trip(store: Arc<dyn Store>) {
    let home = with_tenant(&*store).await;
    let (mut first, second) = (vault(&home), vault(&home));
    store.insert_vault(&first).await.unwrap();
    store.insert_vault(&second).await.unwrap();
    assert_eq!(stored_vault(&*store, first.id).await, Some(first.clone()));
    let names: Vec<_> = store.vaults().await.unwrap().into_iter().map(|v| v.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "vaults are listed by name");

    assert_conflict(
        store
            .insert_vault(&Vault {
                id: first.id,
                ..vault(&home)
            })
            .await,
        &["vault", &first.id.to_string()],
    );
    assert_conflict(
        store
            .insert_vault(&Vault {
                name: first.name.clone(),
                ..vault(&home)
            })
            .await,
        &["named", &first.name],
    );
    let nowhere = tenant();
    assert!(matches!(
        store.insert_vault(&vault(&nowhere)).await,
        Err(Error::NotFound(what)) if what.contains(&nowhere.id.to_string())
    ));

    // Updates are optimistic, as for applications.
    first.version = 2;
    first.access_policies.clear();
    store.update_vault(&first).await.unwrap();
    assert_eq!(stored_vault(&*store, first.id).await, Some(first.clone()));
    for refused in [
        Vault {
            name: "stale".into(),
            ..first.clone()
        },
        Vault {
            version: 4,
            ..first.clone()
        },
    ] {
        assert!(matches!(
            store.update_vault(&refused).await,
            Err(Error::VersionMismatch { .. })
        ));
    }
    let renamed = Vault {
        version: 3,
        name: second.name.clone(),
        ..first.clone()
    };
    assert_conflict(store.update_vault(&renamed).await, &["named", &second.name]);
    let missing = Vault {
        version: 2,
        ..vault(&home)
    };
    assert!(matches!(store.update_vault(&missing).await, Err(Error::NotFound(_))));
    assert_eq!(stored_vault(&*store, first.id).await, Some(first));
}

pub(crate) async fn names_are_case_insensitive(store: Arc<dyn Store>) {
    let vault = with_vault(&*store).await;
    let created = key(&vault, Collection::Certificates, "My-Cert");
    let cert = item(&created);
    store.write_vault(&items([insert(cert.clone())])).await.unwrap();

    let shouted = key(&vault, Collection::Certificates, "MY-CERT");
    assert_eq!(store.vault_item(&shouted).await.unwrap(), Some(cert.clone()));
    assert_conflict(
        store
            .write_vault(&items([insert(item(&key(
                &vault,
                Collection::Certificates,
                "my-cert",
            )))]))
            .await,
        &["certificate", "my-cert"],
    );
    // The same name in the other collection, or in another vault, is another name.
    let secret = item(&key(&vault, Collection::Secrets, "my-cert"));
    let elsewhere = item(&key(&with_vault(&*store).await, Collection::Certificates, "My-Cert"));
    store
        .write_vault(&items([insert(secret.clone()), insert(elsewhere.clone())]))
        .await
        .unwrap();
    assert_eq!(store.vault_item(&secret.key).await.unwrap(), Some(secret));
    assert_eq!(store.vault_item(&elsewhere.key).await.unwrap(), Some(elsewhere));

    // Written under another spelling, the name keeps the one it was created with.
    let updated = VaultItem {
        key: key(&vault, Collection::Certificates, "my-CERT"),
        document: serde_json::json!({ "pending": true }),
        revision: 2,
        ..cert.clone()
    };
    store.write_vault(&items([replace(updated.clone())])).await.unwrap();
    let expected = VaultItem {
        key: created.clone(),
        ..updated
    };
    assert_eq!(store.vault_item(&shouted).await.unwrap(), Some(expected));

    // Versions too are found under any spelling, and name the name as it was created.
    let made = version(&shouted, CREATED, b"sealed");
    store
        .write_vault(&VaultWrite {
            versions: vec![made.clone()],
            ..VaultWrite::default()
        })
        .await
        .unwrap();
    let as_created = VaultVersion {
        key: created.clone(),
        ..made.clone()
    };
    let lower = key(&vault, Collection::Certificates, "my-cert");
    assert_eq!(store.vault_versions(&lower).await.unwrap(), vec![as_created.clone()]);
    assert_eq!(
        store.vault_version(&lower, &made.version).await.unwrap(),
        Some(as_created)
    );
    assert_eq!(store.vault_version(&lower, "0123").await.unwrap(), None);
}

pub(crate) async fn soft_deleted_names_are_listed_apart(store: Arc<dyn Store>) {
    let vault = with_vault(&*store).await;
    let names = ["Zeta", "beta-2", "alpha", "Beta-10", "beta", "Gone", "also-gone"];
    let written: Vec<VaultItem> = names
        .iter()
        .map(|name| item(&key(&vault, Collection::Secrets, name)))
        .collect();
    store
        .write_vault(&items(written.iter().cloned().map(insert)))
        .await
        .unwrap();
    let deleted: Vec<VaultItem> = written[5..]
        .iter()
        .map(|item| VaultItem {
            deleted: true,
            revision: 2,
            ..item.clone()
        })
        .collect();
    store
        .write_vault(&items(deleted.iter().cloned().map(replace)))
        .await
        .unwrap();

    let listed = |deleted| {
        let store = store.clone();
        async move {
            store
                .vault_items(vault.id, Collection::Secrets, deleted)
                .await
                .unwrap()
                .into_iter()
                .map(|item| item.key.name)
                .collect::<Vec<_>>()
        }
    };
    // Ordered by the lowercase form, bytewise.
    assert_eq!(listed(false).await, ["alpha", "beta", "Beta-10", "beta-2", "Zeta"]);
    assert_eq!(listed(true).await, ["also-gone", "Gone"]);
    assert_eq!(
        store
            .vault_items(vault.id, Collection::Certificates, false)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store.vault_items(vault.id, Collection::Secrets, true).await.unwrap(),
        vec![deleted[1].clone(), deleted[0].clone()]
    );

    // A soft-deleted name is still taken, in any spelling.
    assert_conflict(
        store
            .write_vault(&items([insert(item(&key(&vault, Collection::Secrets, "GONE")))]))
            .await,
        &["secret", "GONE"],
    );
    // Recovering it is a replacement.
    let recovered = VaultItem {
        deleted: false,
        revision: 3,
        ..deleted[0].clone()
    };
    store.write_vault(&items([replace(recovered.clone())])).await.unwrap();
    assert_eq!(store.vault_item(&recovered.key).await.unwrap(), Some(recovered));
    assert_eq!(listed(true).await, ["also-gone"]);
}

pub(crate) async fn refused_writes_change_nothing(store: Arc<dyn Store>) {
    let vault = with_vault(&*store).await;
    let existing = item(&key(&vault, Collection::Certificates, "existing"));
    let existing_version = version(&existing.key, CREATED, &[1, 2, 3]);
    let doomed = item(&key(&vault, Collection::Certificates, "doomed"));
    store
        .write_vault(&VaultWrite {
            items: vec![insert(existing.clone()), insert(doomed.clone())],
            versions: vec![existing_version.clone(), version(&doomed.key, CREATED, &[4])],
            purges: vec![],
        })
        .await
        .unwrap();
    let before = (
        snapshot(&*store, &existing.key).await,
        snapshot(&*store, &doomed.key).await,
    );

    let fresh = item(&key(&vault, Collection::Secrets, "fresh"));
    let good = VaultWrite {
        items: vec![
            insert(fresh.clone()),
            replace(VaultItem {
                revision: 2,
                deleted: true,
                ..existing.clone()
            }),
        ],
        versions: vec![
            version(&fresh.key, CREATED, b"new"),
            VaultVersion {
                sealed: b"replaced".to_vec(),
                ..existing_version.clone()
            },
        ],
        purges: vec![doomed.key.clone()],
    };

    // A stale revision: the good parts of the write are not applied either.
    let mut stale = good.clone();
    stale.items.push(ItemWrite {
        item: VaultItem {
            revision: 3,
            ..existing.clone()
        },
        expected_revision: Some(5),
    });
    stale.items.swap(1, 2);
    assert!(matches!(
        store.write_vault(&stale).await,
        Err(Error::VersionMismatch { what: "certificate" })
    ));
    // A name that does not exist cannot be replaced.
    let mut missing = good.clone();
    missing
        .items
        .push(replace(item(&key(&vault, Collection::Secrets, "missing"))));
    assert!(matches!(store.write_vault(&missing).await, Err(Error::NotFound(what)) if what.contains("missing")));
    // Nor can it get a version.
    let mut orphan = good.clone();
    orphan
        .versions
        .push(version(&key(&vault, Collection::Secrets, "orphan"), CREATED, b""));
    assert!(matches!(store.write_vault(&orphan).await, Err(Error::NotFound(what)) if what.contains("orphan")));
    // A name inserted twice.
    let mut twice = good.clone();
    twice
        .items
        .push(insert(item(&key(&vault, Collection::Secrets, "FRESH"))));
    assert_conflict(store.write_vault(&twice).await, &["FRESH"]);
    // A vault that does not exist.
    let mut nowhere = good.clone();
    let lost = item(&ItemKey {
        vault_id: Uuid::new_v4(),
        collection: Collection::Secrets,
        name: "lost".into(),
    });
    nowhere.items.push(insert(lost.clone()));
    assert!(
        matches!(store.write_vault(&nowhere).await, Err(Error::NotFound(what)) if what.contains(&lost.key.vault_id.to_string()))
    );

    let after = (
        snapshot(&*store, &existing.key).await,
        snapshot(&*store, &doomed.key).await,
    );
    assert_eq!(after, before);
    assert_eq!(snapshot(&*store, &fresh.key).await, (None, vec![]));

    // The write itself is fine.
    store.write_vault(&good).await.unwrap();
    assert_eq!(store.vault_item(&fresh.key).await.unwrap(), Some(fresh));
    let (existing_now, versions) = snapshot(&*store, &existing.key).await;
    assert!(existing_now.unwrap().deleted);
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].sealed, b"replaced");
    assert_eq!(snapshot(&*store, &doomed.key).await, (None, vec![]));
}

pub(crate) async fn concurrent_item_writes_one_wins(store: Arc<dyn Store>) {
    let vault = with_vault(&*store).await;
    let name = item(&key(&vault, Collection::Secrets, "contended"));
    store.write_vault(&items([insert(name.clone())])).await.unwrap();
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let write = items([replace(VaultItem {
                revision: 2,
                document: serde_json::json!({ "writer": i }),
                ..name.clone()
            })]);
            tokio::spawn(async move { store.write_vault(&write).await })
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
    assert_eq!(won, 1);
    assert_eq!(store.vault_item(&name.key).await.unwrap().unwrap().revision, 2);
}

pub(crate) async fn purge_removes_versions(store: Arc<dyn Store>) {
    let vault = with_vault(&*store).await;
    let cert = item(&key(&vault, Collection::Certificates, "Purged"));
    let versions = vec![version(&cert.key, CREATED, b"one"), version(&cert.key, CREATED, b"two")];
    let kept = item(&key(&vault, Collection::Certificates, "kept"));
    let kept_version = version(&kept.key, CREATED, b"kept");
    store
        .write_vault(&VaultWrite {
            items: vec![insert(cert.clone()), insert(kept.clone())],
            versions: [versions.clone(), vec![kept_version.clone()]].concat(),
            purges: vec![],
        })
        .await
        .unwrap();
    assert_eq!(store.vault_versions(&cert.key).await.unwrap().len(), 2);

    // Purges come first: a name can be purged and created again in one write.
    let again = VaultItem {
        document: serde_json::json!({ "again": true }),
        ..cert.clone()
    };
    let purge = |purges: Vec<ItemKey>, items: Vec<ItemWrite>| VaultWrite {
        purges,
        items,
        versions: vec![],
    };
    store
        .write_vault(&purge(
            vec![key(&vault, Collection::Certificates, "PURGED")],
            vec![insert(again.clone())],
        ))
        .await
        .unwrap();
    assert_eq!(snapshot(&*store, &cert.key).await, (Some(again), vec![]));
    for old in &versions {
        assert_eq!(store.vault_version(&cert.key, &old.version).await.unwrap(), None);
    }

    store.write_vault(&purge(vec![cert.key.clone()], vec![])).await.unwrap();
    assert_eq!(snapshot(&*store, &cert.key).await, (None, vec![]));
    // Purging a name that is not there is no error.
    store.write_vault(&purge(vec![cert.key.clone()], vec![])).await.unwrap();
    assert_eq!(store.vault_versions(&kept.key).await.unwrap(), vec![kept_version]);
}

pub(crate) async fn versions_are_listed_oldest_first(store: Arc<dyn Store>) {
    let vault = with_vault(&*store).await;
    let secret = item(&key(&vault, Collection::Secrets, "rotated"));
    store.write_vault(&items([insert(secret.clone())])).await.unwrap();
    let at = |created, version: &str| VaultVersion {
        version: version.into(),
        ..self::version(&secret.key, created, version.as_bytes())
    };
    // Written out of order; offsets and fractions do not fool the ordering; ties go by id.
    let expected = vec![
        at(
            datetime!(2026-12-01 09:00:00 +01:00),
            "f0000000000000000000000000000000",
        ),
        at(datetime!(2026-12-01 08:30:00 UTC), "00000000000000000000000000000009"),
        at(datetime!(2026-12-01 08:30:00 UTC), "0000000000000000000000000000000a"),
        at(
            datetime!(2026-12-01 08:30:00.000000001 UTC),
            "00000000000000000000000000000001",
        ),
        at(datetime!(2026-12-01 08:30:00.5 UTC), "00000000000000000000000000000000"),
        at(datetime!(2026-12-01 08:30:01 UTC), "ffffffffffffffffffffffffffffffff"),
        at(
            datetime!(2026-12-01 04:00:00 -05:00),
            "10000000000000000000000000000000",
        ),
    ];
    for (i, version) in expected.iter().enumerate().rev() {
        let write = VaultWrite {
            versions: vec![version.clone()],
            ..VaultWrite::default()
        };
        if i % 2 == 0 {
            store.write_vault(&write).await.unwrap();
        }
    }
    store
        .write_vault(&VaultWrite {
            versions: expected.iter().skip(1).step_by(2).cloned().collect(),
            ..VaultWrite::default()
        })
        .await
        .unwrap();
    assert_eq!(store.vault_versions(&secret.key).await.unwrap(), expected);

    // Writing a version again replaces it.
    let mut replaced = expected.clone();
    replaced[0] = VaultVersion {
        created: datetime!(2026-12-02 00:00:00 UTC),
        document: serde_json::json!({ "attributes": { "enabled": false } }),
        sealed: vec![],
        ..expected[0].clone()
    };
    replaced.rotate_left(1);
    store
        .write_vault(&VaultWrite {
            versions: vec![replaced[6].clone()],
            ..VaultWrite::default()
        })
        .await
        .unwrap();
    assert_eq!(store.vault_versions(&secret.key).await.unwrap(), replaced);
    assert_eq!(
        store.vault_version(&secret.key, &expected[0].version).await.unwrap(),
        Some(replaced[6].clone())
    );
    assert_eq!(
        store
            .vault_versions(&key(&vault, Collection::Secrets, "absent"))
            .await
            .unwrap(),
        vec![]
    );
}

pub(crate) async fn sealed_bytes_round_trip(store: Arc<dyn Store>) {
    let vault = with_vault(&*store).await;
    let secret = item(&key(&vault, Collection::Secrets, "bytes"));
    let every_byte: Vec<u8> = (0..=255).chain([0x00, 0xff, 0x00]).collect();
    let sealed = [
        every_byte,
        vec![],
        vec![0x00],
        vec![0xff; 4096],
        b"'\\x00\"; --".to_vec(),
    ];
    let versions: Vec<_> = sealed
        .iter()
        .enumerate()
        .map(|(i, bytes)| VaultVersion {
            version: format!("{i:032x}"),
            ..version(&secret.key, CREATED, bytes)
        })
        .collect();
    store
        .write_vault(&VaultWrite {
            items: vec![insert(secret.clone())],
            versions: versions.clone(),
            purges: vec![],
        })
        .await
        .unwrap();
    let stored = store.vault_versions(&secret.key).await.unwrap();
    for (stored, bytes) in stored.iter().zip(&sealed) {
        assert_eq!(&stored.sealed, bytes);
    }
    assert_eq!(stored, versions);
}
