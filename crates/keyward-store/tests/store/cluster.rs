//! What servers sharing one PostgreSQL database coordinate through it, with two stores on one
//! schema standing for two servers: directory notifications, sign-in failures counted once
//! across them, and a lease one of them holds at a time. SQLite has none of it.

use std::time::Duration;

use keyward_store::{AttemptBucket, AttemptLimits, Cluster, DirectoryChange, Store, Tenant};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::conformance::harness::{on_postgres, on_sqlite};

async fn open(url: &str) -> (std::sync::Arc<dyn Store>, Cluster) {
    let store = keyward_store::open(url).await.expect("open");
    let cluster = store.cluster().expect("PostgreSQL is shared");
    (store, cluster)
}

fn tenant(name: &str) -> Tenant {
    Tenant {
        id: Uuid::new_v4(),
        name: name.into(),
        domain: format!("{name}.onmicrosoft.com"),
        created: OffsetDateTime::now_utc(),
    }
}

const LIMITS: AttemptLimits = AttemptLimits {
    lockout: Duration::from_secs(60),
    max_lockout: Duration::from_secs(3600),
    forget_after: Duration::from_secs(3600),
};

fn buckets(free: u32) -> Vec<AttemptBucket> {
    vec![
        AttemptBucket {
            name: "account/t/*/ann@example.com".into(),
            free,
        },
        AttemptBucket {
            name: "address/192.0.2.7".into(),
            free: 20,
        },
    ]
}

#[tokio::test]
async fn sqlite_is_not_shared() {
    on_sqlite(|url| async move {
        let store = keyward_store::open(&url).await.expect("open");
        assert!(store.cluster().is_none());
    })
    .await;
}

#[tokio::test]
async fn a_directory_change_is_notified_to_the_other_servers_of_its_schema_only() {
    on_postgres(|url| async move {
        let (_a, a) = open(&url).await;
        let (b_store, _b) = open(&url).await;
        let mut changes = a.directory_changes().await.expect("listen");
        b_store.insert_tenant(&tenant("contoso")).await.expect("insert");
        let change = tokio::time::timeout(Duration::from_secs(5), changes.next())
            .await
            .expect("notified within 5 s")
            .expect("a change");
        assert_eq!(change, DirectoryChange::Changed);

        // Another schema's servers in the same database do not wake this one.
        on_postgres(|other| async move {
            let (other_store, _) = open(&other).await;
            other_store.insert_tenant(&tenant("fabrikam")).await.expect("insert");
        })
        .await;
        let quiet = tokio::time::timeout(Duration::from_millis(500), changes.next()).await;
        assert!(quiet.is_err(), "a change of another schema woke this one: {quiet:?}");
    })
    .await;
}

/// A listener whose connection is lost says so (its owner then checks for what it missed), and
/// hears the next change on the connection it made again.
#[tokio::test]
async fn a_lost_listener_connection_is_reported_and_made_again() {
    on_postgres(|url| async move {
        let (store, cluster) = open(&url).await;
        let mut changes = cluster.directory_changes().await.expect("listen");
        let schema = url.rsplit("%3D").next().expect("the schema").to_owned();
        let terminated: Vec<bool> =
            sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                .bind(format!("keyward listener {schema}"))
                .fetch_all(
                    &mut <sqlx::PgConnection as sqlx::Connection>::connect(&url)
                        .await
                        .expect("connect"),
                )
                .await
                .expect("terminate");
        assert_eq!(terminated, [true], "the listener's backend, by its application_name");
        let lost = tokio::time::timeout(Duration::from_secs(5), changes.next())
            .await
            .expect("reported within 5 s");
        assert_eq!(lost.expect("made again"), DirectoryChange::Lost);
        store.insert_tenant(&tenant("contoso")).await.expect("insert");
        let change = tokio::time::timeout(Duration::from_secs(5), changes.next())
            .await
            .expect("notified within 5 s");
        assert_eq!(change.expect("a change"), DirectoryChange::Changed);
    })
    .await;
}

#[tokio::test]
async fn sign_in_failures_are_counted_once_across_servers() {
    on_postgres(|url| async move {
        let (_a_store, a) = open(&url).await;
        let (_b_store, b) = open(&url).await;
        // Five free failures, spent on two servers: the fifth locks the account on both.
        for (i, server) in [&a, &b, &a, &b, &a].into_iter().enumerate() {
            let refused = server.begin_attempt(&buckets(5), LIMITS).await.expect("begin");
            assert_eq!(refused, None, "attempt {} refused", i + 1);
        }
        for server in [&a, &b] {
            let wait = server
                .begin_attempt(&buckets(5), LIMITS)
                .await
                .expect("begin")
                .expect("locked after five failures on two servers");
            assert!(
                wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
                "{wait:?}"
            );
        }
        // A success clears the account's bucket; the address keeps its count.
        a.clear_attempts("account/t/*/ann@example.com").await.expect("clear");
        assert_eq!(b.begin_attempt(&buckets(5), LIMITS).await.expect("begin"), None);
    })
    .await;
}

#[tokio::test]
async fn concurrent_attempts_on_two_servers_get_no_more_than_the_free_failures() {
    on_postgres(|url| async move {
        let (_a_store, a) = open(&url).await;
        let (_b_store, b) = open(&url).await;
        let mut attempts = tokio::task::JoinSet::new();
        for i in 0..20 {
            let server = if i % 2 == 0 { a.clone() } else { b.clone() };
            attempts.spawn(async move { server.begin_attempt(&buckets(5), LIMITS).await.expect("begin") });
        }
        let admitted = attempts.join_all().await.into_iter().filter(Option::is_none).count();
        assert_eq!(admitted, 5, "attempts admitted of 20 sent at once to two servers");
    })
    .await;
}

#[tokio::test]
async fn a_released_attempt_is_taken_back_with_the_lock_it_brought() {
    on_postgres(|url| async move {
        let (_store, a) = open(&url).await;
        for _ in 0..5 {
            assert_eq!(a.begin_attempt(&buckets(5), LIMITS).await.expect("begin"), None);
        }
        // The fifth locked at once; released, it neither counts nor locks.
        assert!(a.begin_attempt(&buckets(5), LIMITS).await.expect("begin").is_some());
        a.release_attempt(&buckets(5)).await.expect("release");
        assert_eq!(a.begin_attempt(&buckets(5), LIMITS).await.expect("begin"), None);
        assert!(a.begin_attempt(&buckets(5), LIMITS).await.expect("begin").is_some());
    })
    .await;
}

#[tokio::test]
async fn a_lease_is_held_by_one_server_until_it_lapses() {
    on_postgres(|url| async move {
        let (_a_store, a) = open(&url).await;
        let (_b_store, b) = open(&url).await;
        let hold = Duration::from_millis(700);
        let first = a.lease("vault lifetime actions", Uuid::new_v4(), hold);
        let second = b.lease("vault lifetime actions", Uuid::new_v4(), hold);
        assert!(first.take().await.expect("take"));
        assert!(!second.take().await.expect("take"), "two holders at once");
        assert!(
            first.take().await.expect("take"),
            "the holder keeps it by taking it again"
        );
        // Another lease is another name.
        assert!(b.lease("other work", Uuid::new_v4(), hold).take().await.expect("take"));
        tokio::time::sleep(hold + Duration::from_millis(300)).await;
        assert!(
            second.take().await.expect("take"),
            "a lapsed lease goes to the next taker"
        );
        assert!(!first.take().await.expect("take"));
    })
    .await;
}

/// A network one server saw an account sign in from is familiar to the other; each account
/// keeps its most recent few; forgetting drops the old ones only.
#[tokio::test]
async fn familiar_sources_are_shared_and_kept_per_account() {
    on_postgres(|url| async move {
        let (_a_store, a) = open(&url).await;
        let (_b_store, b) = open(&url).await;
        let month = Duration::from_secs(30 * 24 * 3600);
        let ann = "t/ann@example.com";
        assert_eq!(b.familiar_source(ann, "192.0.2.0", month).await.expect("read"), None);
        a.remember_familiar_source(ann, "192.0.2.0", 2).await.expect("remember");
        let age = b.familiar_source(ann, "192.0.2.0", month).await.expect("read");
        assert!(age.is_some_and(|age| age < Duration::from_secs(5)), "{age:?}");
        assert_eq!(
            b.familiar_source("t/bob@example.com", "192.0.2.0", month)
                .await
                .expect("read"),
            None
        );
        assert_eq!(b.familiar_source(ann, "198.51.100.0", month).await.expect("read"), None);

        // Two kept: a third network pushes out the least recently used.
        tokio::time::sleep(Duration::from_millis(5)).await;
        b.remember_familiar_source(ann, "198.51.100.0", 2)
            .await
            .expect("remember");
        tokio::time::sleep(Duration::from_millis(5)).await;
        a.remember_familiar_source(ann, "203.0.113.0", 2)
            .await
            .expect("remember");
        assert_eq!(a.familiar_source(ann, "192.0.2.0", month).await.expect("read"), None);
        assert!(
            a.familiar_source(ann, "198.51.100.0", month)
                .await
                .expect("read")
                .is_some()
        );
        assert!(
            a.familiar_source(ann, "203.0.113.0", month)
                .await
                .expect("read")
                .is_some()
        );

        // Beyond `within`, not familiar; forgetting removes what is older than it was told.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let short = Duration::from_millis(20);
        assert_eq!(a.familiar_source(ann, "203.0.113.0", short).await.expect("read"), None);
        assert_eq!(a.forget_sources_and_polls(month, month).await.expect("forget"), 0);
        assert_eq!(a.forget_sources_and_polls(short, month).await.expect("forget"), 2);
        assert_eq!(a.familiar_source(ann, "203.0.113.0", month).await.expect("read"), None);
    })
    .await;
}

/// Each poll of a device code, on any server, sees when the one before it was; concurrent first
/// polls are ordered, so exactly one of them sees none.
#[tokio::test]
async fn device_polls_are_seen_by_every_server() {
    on_postgres(|url| async move {
        let (_a_store, a) = open(&url).await;
        let (_b_store, b) = open(&url).await;
        assert_eq!(a.note_device_poll("hash-1").await.expect("poll"), None);
        tokio::time::sleep(Duration::from_millis(30)).await;
        let since = b
            .note_device_poll("hash-1")
            .await
            .expect("poll")
            .expect("the one before");
        assert!(
            since >= Duration::from_millis(25) && since < Duration::from_secs(5),
            "{since:?}"
        );
        assert_eq!(b.note_device_poll("hash-2").await.expect("poll"), None, "another code");

        let mut polls = tokio::task::JoinSet::new();
        for server in [a.clone(), b.clone(), a.clone(), b.clone()] {
            polls.spawn(async move { server.note_device_poll("hash-3").await.expect("poll") });
        }
        let seen = polls.join_all().await;
        assert_eq!(seen.iter().filter(|s| s.is_none()).count(), 1, "{seen:?}");

        assert_eq!(
            a.forget_sources_and_polls(Duration::from_secs(60), Duration::ZERO)
                .await
                .expect("forget"),
            3
        );
    })
    .await;
}
