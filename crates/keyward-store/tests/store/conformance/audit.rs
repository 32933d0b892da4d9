//! Behaviours of the audit log: appended, listed newest first per tenant or per target, bounded
//! in size.

use std::sync::Arc;

use keyward_store::{AuditEvent, Error, Store, Tenant};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{assert_conflict, tenant, with_tenant};

/// A time with nanoseconds and a non-UTC offset, so that a lossy round trip shows.
const AT: OffsetDateTime = datetime!(2026-12-06 12:30:00.123456789 +01:00);

/// An event of a user's on an application of `tenant`, `minutes` after [`AT`].
pub(crate) fn event(tenant: &Tenant, minutes: i64, target_id: &str) -> AuditEvent {
    AuditEvent {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        at: AT + Duration::minutes(minutes),
        actor_id: Some(Uuid::new_v4()),
        actor: "ann@example.com".into(),
        action: "application.certificate.add".into(),
        target_kind: "application".into(),
        target_id: target_id.into(),
        detail: format!("Added a certificate to <b>{target_id}</b> ✓"),
    }
}

/// The ids of events, in their order.
fn ids(events: &[AuditEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.id).collect()
}

pub(crate) async fn audit_events_are_listed_newest_first(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    // Appended out of time order; one by an application (no actor id).
    let middle = event(&tenant, 5, "app-1");
    let oldest = AuditEvent {
        actor_id: None,
        actor: "Deploy Pipeline".into(),
        ..event(&tenant, -60 * 24 * 400, "app-2")
    };
    let newest = event(&tenant, 60, "app-1");
    for e in [&middle, &oldest, &newest] {
        store.append_audit(e).await.unwrap();
    }
    let listed = store.audit_events(tenant.id, None, 100).await.unwrap();
    assert_eq!(ids(&listed), ids(&[newest.clone(), middle.clone(), oldest.clone()]));
    // Every field read back as written, the instant to the nanosecond.
    assert_eq!(listed, vec![newest, middle, oldest]);
    assert_eq!(listed[0].at.nanosecond(), AT.nanosecond());

    // Events of one instant: the last appended first.
    let (first, second) = (event(&tenant, 120, "app-3"), event(&tenant, 120, "app-3"));
    store.append_audit(&first).await.unwrap();
    store.append_audit(&second).await.unwrap();
    let listed = store.audit_events(tenant.id, None, 2).await.unwrap();
    assert_eq!(ids(&listed), vec![second.id, first.id]);
}

pub(crate) async fn audit_events_of_one_target(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let a1 = event(&tenant, 1, "app-a");
    let b1 = event(&tenant, 2, "app-b");
    let a2 = event(&tenant, 3, "app-a");
    // Another kind of target with the same id.
    let user_a = AuditEvent {
        target_kind: "user".into(),
        ..event(&tenant, 4, "app-a")
    };
    for e in [&a1, &b1, &a2, &user_a] {
        store.append_audit(e).await.unwrap();
    }
    let of = |kind: &'static str, id: &'static str| {
        let store = store.clone();
        async move { ids(&store.audit_events(tenant.id, Some((kind, id)), 100).await.unwrap()) }
    };
    assert_eq!(of("application", "app-a").await, vec![a2.id, a1.id]);
    assert_eq!(of("application", "app-b").await, vec![b1.id]);
    assert_eq!(of("user", "app-a").await, vec![user_a.id]);
    assert_eq!(of("application", "APP-A").await, Vec::<Uuid>::new());
    assert_eq!(of("application", "app-").await, Vec::<Uuid>::new());
    assert_eq!(of("vault-certificate", "app-a").await, Vec::<Uuid>::new());
    // The filter and the limit together.
    let limited = store
        .audit_events(tenant.id, Some(("application", "app-a")), 1)
        .await
        .unwrap();
    assert_eq!(ids(&limited), vec![a2.id]);
}

pub(crate) async fn audit_events_are_limited(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let events: Vec<AuditEvent> = (0..5).map(|i| event(&tenant, i, "app")).collect();
    for e in &events {
        store.append_audit(e).await.unwrap();
    }
    let newest_first: Vec<Uuid> = events.iter().rev().map(|e| e.id).collect();
    assert_eq!(
        ids(&store.audit_events(tenant.id, None, 3).await.unwrap()),
        newest_first[..3]
    );
    assert_eq!(
        ids(&store.audit_events(tenant.id, None, 5).await.unwrap()),
        newest_first
    );
    assert_eq!(
        ids(&store.audit_events(tenant.id, None, u32::MAX).await.unwrap()),
        newest_first
    );
    assert!(store.audit_events(tenant.id, None, 0).await.unwrap().is_empty());
}

pub(crate) async fn audit_events_of_other_tenants_are_not_listed(store: Arc<dyn Store>) {
    let (mine, theirs) = (with_tenant(&*store).await, with_tenant(&*store).await);
    let my_event = event(&mine, 0, "shared-id");
    let their_event = event(&theirs, 1, "shared-id");
    store.append_audit(&my_event).await.unwrap();
    store.append_audit(&their_event).await.unwrap();
    assert_eq!(
        ids(&store.audit_events(mine.id, None, 100).await.unwrap()),
        vec![my_event.id]
    );
    let target = Some(("application", "shared-id"));
    assert_eq!(
        ids(&store.audit_events(mine.id, target, 100).await.unwrap()),
        vec![my_event.id]
    );
    assert_eq!(
        ids(&store.audit_events(theirs.id, target, 100).await.unwrap()),
        vec![their_event.id]
    );
    // A tenant with no events, or none at all.
    let empty = with_tenant(&*store).await;
    assert!(store.audit_events(empty.id, None, 100).await.unwrap().is_empty());
    assert!(store.audit_events(Uuid::new_v4(), None, 100).await.unwrap().is_empty());
}

pub(crate) async fn long_audit_text_is_cut(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    // Two-byte characters, so that a cut counted in bytes shows; a NUL, which PostgreSQL
    // cannot store in text.
    let long_target = format!("vault/{}", "é".repeat(300));
    let event = AuditEvent {
        actor: "a".repeat(201),
        action: "b\0c".repeat(100),
        detail: format!("{}{}", "ä".repeat(999), "the end that is cut"),
        ..event(&tenant, 0, &long_target)
    };
    store.append_audit(&event).await.unwrap();
    let listed = store.audit_events(tenant.id, None, 10).await.unwrap();
    let [stored] = listed.as_slice() else {
        panic!("expected one event, got {listed:?}");
    };
    assert_eq!(stored.detail, format!("{}t", "ä".repeat(999)));
    assert_eq!(stored.detail.chars().count(), AuditEvent::MAX_DETAIL_CHARS);
    assert_eq!(stored.actor, "a".repeat(200));
    assert_eq!(
        stored.action,
        "b\u{fffd}c".repeat(67).chars().take(200).collect::<String>()
    );
    assert_eq!(stored.target_id, format!("vault/{}", "é".repeat(194)));
    assert_eq!(stored.target_id.chars().count(), AuditEvent::MAX_FIELD_CHARS);
    // The rest as written.
    assert_eq!(
        (stored.id, stored.at, stored.actor_id),
        (event.id, event.at, event.actor_id)
    );
    assert_eq!(
        (&stored.target_kind, &stored.tenant_id),
        (&event.target_kind, &tenant.id)
    );
    // The target found by the id it was appended with, and by the id it was cut to.
    for id in [long_target.as_str(), stored.target_id.as_str()] {
        let found = store
            .audit_events(tenant.id, Some(("application", id)), 10)
            .await
            .unwrap();
        assert_eq!(ids(&found), vec![event.id]);
    }
}

pub(crate) async fn audit_append_is_refused_when_it_must_be(store: Arc<dyn Store>) {
    let known = with_tenant(&*store).await;
    let first = event(&known, 0, "app");
    store.append_audit(&first).await.unwrap();
    // The same id again: refused, and nothing changes.
    let again = AuditEvent {
        detail: "again".into(),
        ..first.clone()
    };
    assert_conflict(store.append_audit(&again).await, &[&first.id.to_string()]);
    // A tenant that does not exist.
    let nowhere = tenant();
    let absent = nowhere.id.to_string();
    let result = store.append_audit(&event(&nowhere, 0, "app")).await;
    assert!(
        matches!(result, Err(Error::NotFound(ref what)) if what.contains(&absent)),
        "{result:?}"
    );
    // A time that cannot be stored sortably.
    let late = AuditEvent {
        id: Uuid::new_v4(),
        at: datetime!(9999-12-31 23:00:00 -05:00),
        ..first.clone()
    };
    assert!(matches!(store.append_audit(&late).await, Err(Error::Invalid(_))));
    assert_eq!(store.audit_events(known.id, None, 10).await.unwrap(), vec![first]);
}
