//! The storage conformance suite: every behaviour the services rely on, written once against
//! the store's traits (through [`Store`], the four families in one) and run against SQLite (a
//! temporary file) and PostgreSQL (a fresh schema in `postgres://postgres@127.0.0.1:5432/test`
//! per test, dropped at the end).
//!
//! Behaviours make their own tenants with random names, so they also pass one after another on
//! one store ([`suite`]), as they would in a running server. Those of the directory, of customer
//! sign-in, of the vault, of the audit log and of credential usage are in [`directory`], [`sign_in`],
//! [`vault`], [`audit`] and [`usage`]; [`harness`] runs them against each backend.

mod audit;
mod directory;
pub(crate) mod harness;
mod policy;
mod sign_in;
mod usage;
mod vault;

use std::sync::Arc;

use keyward_store::{Collection, Error, GrantKind, ItemKey, ItemWrite, Redemption, Store, Tenant, VaultWrite};
use sqlx::Connection;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use audit::{
    audit_append_is_refused_when_it_must_be, audit_events_are_limited, audit_events_are_listed_newest_first,
    audit_events_of_one_target, audit_events_of_other_tenants_are_not_listed, long_audit_text_is_cut,
};
use directory::{
    all_applications_are_read_across_pages, application, application_round_trip, applications_are_inserted_in_bulk,
    assignment, changes_since_a_revision_are_the_writes_after_it, concurrent_updates_one_wins,
    delete_application_cascades_assignments, directory_revision_moves_with_directory_writes,
    duplicate_application_conflicts, duplicate_role_assignment_conflicts, duplicate_tenant_conflicts,
    failed_rotation_changes_nothing, identifier_uri_listed_twice_is_invalid, missing_rows_are_not_found,
    optimistic_concurrency, role_assignment_round_trip, rotation_keeps_one_active_key, signing_key,
    signing_key_round_trip, tenant_round_trip, unknown_tenant_is_not_found, updates_move_identifier_uris,
};
use harness::{on_postgres, on_sqlite, with_store};
use policy::{app_management_policies_round_trip, applied_state_round_trip};
use sign_in::{
    concurrent_redemptions_one_wins, duplicate_grant_conflicts, duplicate_user_conflicts, expired_grants_are_unusable,
    family_is_revoked, grant_is_redeemed_once, grant_of_another_client_is_left_alone, user_grants_are_revoked,
    user_optimistic_concurrency, user_round_trip, users_are_inserted_in_bulk, users_are_listed_in_pages,
    users_with_directory_roles_are_found_alone,
};
use usage::{later_credential_use_wins, sign_ins_are_listed_filtered_and_pruned};
use vault::{
    concurrent_item_writes_one_wins, names_are_case_insensitive, purge_removes_versions, refused_writes_change_nothing,
    sealed_bytes_round_trip, soft_deleted_names_are_listed_apart, vault_round_trip, versions_are_listed_oldest_first,
};

// ---------------------------------------------------------------------------------------------
// Rows with every field set.

/// A time with nanoseconds and a non-UTC offset, so that a lossy round trip shows.
const CREATED: OffsetDateTime = datetime!(2026-11-29 10:37:01.123456789 +01:00);

fn tenant() -> Tenant {
    let tag = &Uuid::new_v4().simple().to_string()[..12];
    Tenant {
        id: Uuid::new_v4(),
        name: format!("t{tag}"),
        domain: format!("t{tag}.onmicrosoft.com"),
        created: CREATED,
    }
}

/// A store with one tenant in it.
async fn with_tenant(store: &dyn Store) -> Tenant {
    let tenant = tenant();
    store.insert_tenant(&tenant).await.expect("insert tenant");
    tenant
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, Error>, names: &[&str]) {
    match result {
        Err(Error::Conflict(what)) => {
            for name in names {
                assert!(what.contains(name), "conflict {what:?} should name {name:?}");
            }
        }
        other => panic!("expected a conflict naming {names:?}, got {other:?}"),
    }
}

async fn documents_survive_reopening(url: String) {
    let store = keyward_store::open(&url).await.unwrap();
    let tenant = with_tenant(&*store).await;
    let (client, resource) = (application(&tenant), application(&tenant));
    store.insert_application(&client).await.unwrap();
    store.insert_application(&resource).await.unwrap();
    let grant = assignment(&tenant, &client, &resource);
    store.insert_role_assignment(&grant).await.unwrap();
    let key = signing_key(&tenant, true);
    store.insert_signing_key(&key).await.unwrap();
    let user = sign_in::user(&tenant, "Ann@Example.com");
    store.insert_user(&user).await.unwrap();
    let refresh_token = sign_in::grant(GrantKind::RefreshToken, &user);
    store.insert_grant(&refresh_token).await.unwrap();
    let vault = vault::vault(&tenant);
    store.insert_vault(&vault).await.unwrap();
    let item = vault::item(&ItemKey {
        vault_id: vault.id,
        collection: Collection::Certificates,
        name: "Web-Server".into(),
    });
    let version = vault::version(&item.key, CREATED, &[0x00, 0xff, 0x80]);
    store
        .write_vault(&VaultWrite {
            items: vec![ItemWrite {
                item: item.clone(),
                expected_revision: None,
            }],
            versions: vec![version.clone()],
            purges: vec![],
        })
        .await
        .unwrap();
    let event = audit::event(&tenant, 0, &client.id.to_string());
    store.append_audit(&event).await.unwrap();
    drop(store);

    let store = keyward_store::open(&url).await.unwrap();
    assert_eq!(store.audit_events(tenant.id, None, 10).await.unwrap(), vec![event]);
    assert_eq!(store.tenants().await.unwrap(), vec![tenant.clone()]);
    let mut expected = vec![client, resource];
    expected.sort_by_key(|a| a.id);
    let mut apps = store.applications().await.unwrap();
    apps.sort_by_key(|a| a.id);
    assert_eq!(apps, expected);
    assert_eq!(store.role_assignments().await.unwrap(), vec![grant]);
    assert_eq!(store.signing_keys().await.unwrap(), vec![key]);
    assert_eq!(store.users(tenant.id).await.unwrap(), vec![user]);
    assert_eq!(store.vaults().await.unwrap(), vec![vault]);
    assert_eq!(store.vault_item(&item.key).await.unwrap(), Some(item.clone()));
    let versions = store.vault_versions(&item.key).await.unwrap();
    assert_eq!(versions[0].sealed, version.sealed);
    assert_eq!(versions, vec![version]);
    // The grant is redeemed once, across the reopening too.
    let (kind, id, now) = (refresh_token.kind, refresh_token.id.clone(), refresh_token.created);
    assert_eq!(
        store.redeem_grant(kind, &id, now).await.unwrap(),
        Redemption::Redeemed(refresh_token.clone())
    );
    drop(store);
    let store = keyward_store::open(&url).await.unwrap();
    assert_eq!(
        store.redeem_grant(kind, &id, now).await.unwrap(),
        Redemption::Replayed(refresh_token)
    );
    // Migrations already applied are not applied again.
    drop(store);
    keyward_store::open(&url).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Running the behaviours against each backend.

macro_rules! conformance {
    ($($behaviour:ident),* $(,)?) => {
        /// Every behaviour, one after another, on one store.
        async fn suite(store: Arc<dyn Store>) {
            $($behaviour(store.clone()).await;)*
        }

        mod sqlite {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    super::on_sqlite(|url| super::with_store(url, super::$behaviour)).await;
                }
            )*

            #[tokio::test]
            async fn suite() {
                super::on_sqlite(|url| super::with_store(url, super::suite)).await;
            }

            #[tokio::test]
            async fn documents_survive_reopening() {
                super::on_sqlite(super::documents_survive_reopening).await;
            }
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    super::on_postgres(|url| super::with_store(url, super::$behaviour)).await;
                }
            )*

            #[tokio::test]
            async fn suite() {
                super::on_postgres(|url| super::with_store(url, super::suite)).await;
            }

            #[tokio::test]
            async fn documents_survive_reopening() {
                super::on_postgres(super::documents_survive_reopening).await;
            }
        }
    };
}

conformance! {
    tenant_round_trip,
    application_round_trip,
    role_assignment_round_trip,
    signing_key_round_trip,
    duplicate_tenant_conflicts,
    duplicate_application_conflicts,
    identifier_uri_listed_twice_is_invalid,
    unknown_tenant_is_not_found,
    optimistic_concurrency,
    concurrent_updates_one_wins,
    updates_move_identifier_uris,
    missing_rows_are_not_found,
    delete_application_cascades_assignments,
    duplicate_role_assignment_conflicts,
    rotation_keeps_one_active_key,
    failed_rotation_changes_nothing,
    directory_revision_moves_with_directory_writes,
    changes_since_a_revision_are_the_writes_after_it,
    all_applications_are_read_across_pages,
    user_round_trip,
    duplicate_user_conflicts,
    user_optimistic_concurrency,
    grant_is_redeemed_once,
    duplicate_grant_conflicts,
    expired_grants_are_unusable,
    family_is_revoked,
    user_grants_are_revoked,
    concurrent_redemptions_one_wins,
    grant_of_another_client_is_left_alone,
    vault_round_trip,
    names_are_case_insensitive,
    soft_deleted_names_are_listed_apart,
    refused_writes_change_nothing,
    concurrent_item_writes_one_wins,
    purge_removes_versions,
    versions_are_listed_oldest_first,
    sealed_bytes_round_trip,
    audit_events_are_listed_newest_first,
    audit_events_of_one_target,
    audit_events_are_limited,
    audit_events_of_other_tenants_are_not_listed,
    long_audit_text_is_cut,
    audit_append_is_refused_when_it_must_be,
    app_management_policies_round_trip,
    applied_state_round_trip,
    later_credential_use_wins,
    sign_ins_are_listed_filtered_and_pruned,
    applications_are_inserted_in_bulk,
    users_are_inserted_in_bulk,
    users_are_listed_in_pages,
    users_with_directory_roles_are_found_alone,
}

// ---------------------------------------------------------------------------------------------
// Tests that do not depend on the backend.

#[tokio::test]
async fn unsupported_urls_are_refused_without_their_password() {
    for url in [
        "mysql://keyward:hunter2@db/keyward",
        "keyward.db",
        "file:///tmp/keyward.db",
        "",
    ] {
        match keyward_store::open(url).await {
            Err(Error::UnsupportedUrl(shown)) => assert!(!shown.contains("hunter2"), "{shown}"),
            Err(e) => panic!("{url:?}: expected UnsupportedUrl, got {e}"),
            Ok(_) => panic!("{url:?}: expected UnsupportedUrl, got a store"),
        }
    }
}

#[tokio::test]
async fn suite_on_sqlite_in_memory() {
    suite(keyward_store::open("sqlite::memory:").await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_file_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyward.db");
    let store = keyward_store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    with_tenant(&*store).await;
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn unreadable_sqlite_documents_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let store = keyward_store::open(&url).await.unwrap();
    let tenant = with_tenant(&*store).await;
    store.insert_application(&application(&tenant)).await.unwrap();
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for document in ["not JSON", r#"{"id": "not an application"}"#] {
        sqlx::query("UPDATE applications SET document = $1")
            .bind(document)
            .execute(&mut connection)
            .await
            .unwrap();
        match store.applications().await {
            Err(Error::Corrupt { .. }) => {}
            other => panic!("{document:?}: expected Corrupt, got {other:?}"),
        }
    }
}
