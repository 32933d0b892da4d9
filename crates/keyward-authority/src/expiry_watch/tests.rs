use std::sync::Arc;

use keyward_store::PasswordCredential;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::*;
use crate::NewApplication;
use crate::clock::ShiftedClock;
use crate::testing::authority;

fn secret(days: i64) -> PasswordCredential {
    let now = OffsetDateTime::now_utc();
    PasswordCredential {
        key_id: Uuid::new_v4(),
        display_name: format!("{days} days"),
        hint: "abc".into(),
        secret_hash: "x".into(),
        start: now,
        end: now + Duration::days(days),
    }
}

#[tokio::test]
async fn one_warning_per_credential_in_the_window_and_none_after_a_restart() {
    let test = authority(crate::Config::new("https://localhost:8443")).await;
    let tenant_id = test.tenant.tenant.id;
    let app = test
        .authority
        .create_application(
            tenant_id,
            NewApplication {
                display_name: "expiring".into(),
                identifier_uris: vec![],
                redirect_uris: vec![],
                app_roles: vec![],
                key_credentials: vec![],
            },
        )
        .await
        .unwrap();
    let (soon, later) = (secret(89), secret(120));
    let soon_id = soon.key_id;
    test.authority
        .update_application(tenant_id, app.app.id, |a| {
            a.password_credentials = vec![soon, later];
            Ok(())
        })
        .await
        .unwrap();
    let clock = Arc::new(ShiftedClock::new());
    let (sender, mut received) = mpsc::channel(4);
    let watch = ExpiryWatch::new(Arc::clone(&test.authority), DEFAULT_WARNING_WINDOW, clock.clone()).sink(sender);
    assert!(
        watch.check().await.unwrap().is_empty(),
        "89 days out is outside the window"
    );

    clock.set_offset(Duration::days(60));
    let raised = watch.check().await.unwrap();
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].key_id, soon_id);
    assert_eq!(raised[0].kind, CredentialKind::Secret);
    assert!((28..=29).contains(&raised[0].days_left), "{}", raised[0].days_left);
    assert!(watch.check().await.unwrap().is_empty(), "raised once, not per check");
    assert_eq!(received.try_recv().unwrap().key_id, soon_id);
    assert!(received.try_recv().is_err());

    let audit = test
        .authority
        .store
        .audit_events(tenant_id, Some(("application", &app.app.id.to_string())), 100)
        .await
        .unwrap();
    let warnings: Vec<_> = audit.iter().filter(|e| e.action == EXPIRING_ACTION).collect();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].detail.contains(&soon_id.to_string()));

    // A new watch (a restart) finds the audit row and raises nothing again.
    let restarted = ExpiryWatch::new(Arc::clone(&test.authority), DEFAULT_WARNING_WINDOW, clock);
    assert!(restarted.check().await.unwrap().is_empty());
}

#[test]
fn the_payload_names_the_credential_and_no_secret() {
    let warning = ExpiryWarning {
        tenant_id: Uuid::nil(),
        tenant: "contoso".into(),
        object_id: Uuid::nil(),
        app_id: Uuid::nil(),
        app_name: "ciam-client-app".into(),
        key_id: Uuid::nil(),
        kind: CredentialKind::Certificate,
        display_name: "CN=ciam-client-app".into(),
        expires: time::macros::datetime!(2027-01-04 10:00:00 UTC),
        days_left: 29,
    };
    let payload = warning.payload();
    assert_eq!(payload["event"], "credential.expiring");
    assert_eq!(payload["kind"], "certificate");
    assert_eq!(payload["daysLeft"], 29);
    assert_eq!(payload["endDateTime"], "2027-01-04T10:00:00Z");
}
