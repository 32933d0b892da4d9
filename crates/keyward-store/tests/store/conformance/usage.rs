//! Behaviours of credential usage: the later use of a credential wins whatever order it is
//! recorded in; sign-in records are listed newest first per client, filtered, and pruned by age.

use std::sync::Arc;

use keyward_store::{CredentialUse, Error, ServicePrincipalSignIn, SignInQuery, Store, Tenant};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::with_tenant;

/// A time with nanoseconds and a non-UTC offset, so that a lossy round trip shows.
const AT: OffsetDateTime = datetime!(2026-12-06 14:10:00.123456789 +01:00);

fn credential_use(tenant: &Tenant, application_id: Uuid, key_id: Uuid, seconds: i64, address: &str) -> CredentialUse {
    CredentialUse {
        tenant_id: tenant.id,
        application_id,
        key_id,
        at: AT + Duration::seconds(seconds),
        client_address: Some(address.into()),
    }
}

fn record(tenant: &Tenant, app_id: Uuid, minutes: i64, error_code: Option<u32>) -> ServicePrincipalSignIn {
    ServicePrincipalSignIn {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        at: AT + Duration::minutes(minutes),
        app_id,
        key_id: Some(Uuid::new_v4()),
        thumbprint: Some("A1B2C3D4E5F60718293A4B5C6D7E8F9012345678".into()),
        succeeded: error_code.is_none(),
        error_code,
        correlation_id: Some(Uuid::new_v4()),
        client_address: Some("2001:db8::7".into()),
        requests: 1,
    }
}

/// `record` with the instant as the store reads it back: in UTC.
fn in_utc(mut r: ServicePrincipalSignIn) -> ServicePrincipalSignIn {
    r.at = r.at.to_offset(time::UtcOffset::UTC);
    r
}

pub(crate) async fn later_credential_use_wins(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let (app, a, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    assert!(store.credential_uses(tenant.id, app).await.unwrap().is_empty());

    let first = credential_use(&tenant, app, a, 0, "127.0.0.1");
    assert_eq!(
        store
            .record_credential_uses(std::slice::from_ref(&first))
            .await
            .unwrap(),
        1
    );
    let later = credential_use(&tenant, app, a, 60, "192.0.2.9");
    let earlier = credential_use(&tenant, app, a, 30, "198.51.100.1");
    let other = credential_use(&tenant, app, b, 5, "::1");
    // A later use replaces; an earlier one (another server writing late) changes nothing.
    assert_eq!(
        store
            .record_credential_uses(&[later.clone(), other.clone()])
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.record_credential_uses(&[earlier]).await.unwrap(), 0);
    let mut uses = store.credential_uses(tenant.id, app).await.unwrap();
    uses.sort_by_key(|u| u.at);
    let utc = |mut u: CredentialUse| {
        u.at = u.at.to_offset(time::UtcOffset::UTC);
        u
    };
    assert_eq!(uses, vec![utc(other), utc(later.clone())]);
    assert_eq!(uses[1].at.nanosecond(), AT.nanosecond());
    // Other applications and tenants see none of them.
    assert!(
        store
            .credential_uses(tenant.id, Uuid::new_v4())
            .await
            .unwrap()
            .is_empty()
    );
    let stranger = with_tenant(&*store).await;
    assert!(store.credential_uses(stranger.id, app).await.unwrap().is_empty());

    // A use in a tenant that does not exist: refused, and nothing of the batch is written.
    let lost = super::tenant();
    let batch = [
        credential_use(&tenant, app, a, 120, "203.0.113.5"),
        credential_use(&lost, app, a, 120, "203.0.113.5"),
    ];
    assert!(matches!(
        store.record_credential_uses(&batch).await,
        Err(Error::NotFound(_))
    ));
    let uses = store.credential_uses(tenant.id, app).await.unwrap();
    assert!(uses.iter().any(|u| u.key_id == a && u.at == later.at), "{uses:?}");
}

pub(crate) async fn sign_ins_are_listed_filtered_and_pruned(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let (app, other_app) = (Uuid::new_v4(), Uuid::new_v4());
    let old = record(&tenant, app, -60 * 24 * 40, None);
    let failed = record(&tenant, app, -5, Some(700027));
    let newest = ServicePrincipalSignIn {
        key_id: None,
        thumbprint: None,
        correlation_id: None,
        client_address: None,
        requests: 42,
        ..record(&tenant, app, 0, None)
    };
    let elsewhere = record(&tenant, other_app, 0, None);
    store
        .append_sign_ins(&[failed.clone(), old.clone(), newest.clone(), elsewhere.clone()])
        .await
        .unwrap();
    let query = SignInQuery {
        since: AT - Duration::days(365),
        failures_only: false,
        limit: 100,
    };
    let listed = store.sign_ins(tenant.id, app, query).await.unwrap();
    assert_eq!(
        listed,
        vec![in_utc(newest.clone()), in_utc(failed.clone()), in_utc(old.clone())]
    );
    let failures = SignInQuery {
        failures_only: true,
        ..query
    };
    assert_eq!(
        store.sign_ins(tenant.id, app, failures).await.unwrap(),
        vec![in_utc(failed.clone())]
    );
    let recent = SignInQuery {
        since: AT - Duration::hours(1),
        ..query
    };
    assert_eq!(store.sign_ins(tenant.id, app, recent).await.unwrap().len(), 2);
    let one = SignInQuery { limit: 1, ..query };
    assert_eq!(
        store.sign_ins(tenant.id, app, one).await.unwrap(),
        vec![in_utc(newest.clone())]
    );

    // An id appended twice: refused, and nothing of the batch is appended.
    let again = [record(&tenant, app, 1, None), failed.clone()];
    assert!(matches!(store.append_sign_ins(&again).await, Err(Error::Conflict(_))));
    assert_eq!(store.sign_ins(tenant.id, app, query).await.unwrap().len(), 3);

    // A batch of many records (more than one statement's worth) is appended whole.
    let busy = Uuid::new_v4();
    let many: Vec<_> = (0..450).map(|i| record(&tenant, busy, 10 + i, None)).collect();
    store.append_sign_ins(&many).await.unwrap();
    let all = SignInQuery { limit: 1000, ..query };
    let listed = store.sign_ins(tenant.id, busy, all).await.unwrap();
    assert_eq!(listed.len(), 450);
    assert_eq!(listed[0], in_utc(many[449].clone()));
    assert_eq!(listed[449], in_utc(many[0].clone()));

    // Pruning: what is older than the cut goes, in every tenant; the rest stays.
    let pruned = store.delete_sign_ins_before(AT - Duration::days(30)).await.unwrap();
    assert!(pruned >= 1, "{pruned}");
    assert_eq!(
        store.sign_ins(tenant.id, app, query).await.unwrap(),
        vec![in_utc(newest), in_utc(failed)]
    );
    assert_eq!(
        store.sign_ins(tenant.id, other_app, query).await.unwrap(),
        vec![in_utc(elsewhere)]
    );
}
