//! Behaviours of the tenants' default app management policies: none until set, set and replaced
//! whole, one per tenant, refused for a tenant that does not exist.

use std::sync::Arc;

use keyward_store::{AppManagementPolicy, AppliedState, CredentialRestriction, Error, Store};
use time::macros::datetime;
use uuid::Uuid;

use super::{tenant, with_tenant};

fn policy(tenant_id: Uuid) -> AppManagementPolicy {
    AppManagementPolicy {
        tenant_id,
        is_enabled: true,
        password_credentials: vec![
            CredentialRestriction {
                restriction_type: "passwordAddition".into(),
                enabled: true,
                max_lifetime: None,
                restrict_for_apps_created_after: Some(datetime!(2026-01-01 00:00:00.5 +01:00)),
            },
            CredentialRestriction {
                restriction_type: "passwordLifetime".into(),
                enabled: false,
                max_lifetime: Some("P90D".into()),
                restrict_for_apps_created_after: None,
            },
        ],
        key_credentials: vec![CredentialRestriction {
            restriction_type: "asymmetricKeyLifetime".into(),
            enabled: true,
            max_lifetime: Some("P365D".into()),
            restrict_for_apps_created_after: None,
        }],
        modified: datetime!(2026-12-06 14:00:00.123456789 UTC),
    }
}

pub(crate) async fn app_management_policies_round_trip(store: Arc<dyn Store>) {
    let (one, other) = (with_tenant(&*store).await, with_tenant(&*store).await);
    assert_eq!(store.app_management_policy(one.id).await.unwrap(), None);
    let first = policy(one.id);
    store.put_app_management_policy(&first).await.unwrap();
    assert_eq!(store.app_management_policy(one.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.app_management_policy(other.id).await.unwrap(), None);

    // Replaced whole: a restriction left out is gone.
    let second = AppManagementPolicy {
        is_enabled: false,
        password_credentials: vec![],
        ..first.clone()
    };
    store.put_app_management_policy(&second).await.unwrap();
    assert_eq!(store.app_management_policy(one.id).await.unwrap(), Some(second));

    let nowhere = tenant();
    assert!(matches!(
        store.put_app_management_policy(&policy(nowhere.id)).await,
        Err(Error::NotFound(what)) if what.contains(&nowhere.id.to_string())
    ));
}

/// What the declarative state apply manages: replaced whole.
pub(crate) async fn applied_state_round_trip(store: Arc<dyn Store>) {
    let mut state = AppliedState::default();
    state.managed.insert("app:t:1".into(), "fingerprint-1".into());
    state.managed.insert("user:t:2".into(), "fingerprint-2".into());
    store.put_applied_state(&state).await.unwrap();
    assert_eq!(store.applied_state().await.unwrap(), state);
    state.managed.remove("app:t:1");
    store.put_applied_state(&state).await.unwrap();
    assert_eq!(store.applied_state().await.unwrap(), state);
}
