//! Directory changes: a refused application or change leaves the store and the directory as
//! they were.

use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey, Validity};
use time::{Duration, OffsetDateTime};

use super::*;
use crate::Config;
use crate::credentials::certificate_credential;
use crate::testing::{TestAuthority, authority};

fn credential() -> KeyCredential {
    let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
    let certificate = CertificateSpec::new(Name::parse("CN=app").unwrap())
        .validity(Validity::Days(30))
        .self_signed(&key)
        .unwrap();
    certificate_credential(certificate.der(), None, None, None, false, OffsetDateTime::now_utc()).unwrap()
}

fn named(name: &str) -> NewApplication {
    NewApplication {
        display_name: name.into(),
        ..NewApplication::default()
    }
}

/// The applications the store holds for the tenant.
async fn stored(t: &TestAuthority) -> Vec<Application> {
    let mut apps = t.authority.store.applications().await.unwrap();
    apps.retain(|a| a.tenant_id == t.tenant.tenant.id);
    apps
}

#[tokio::test]
async fn a_new_application_with_its_certificate_is_stored_once() {
    let t = authority(Config::new("https://localhost:8443")).await;
    let before = stored(&t).await.len();
    let mut new = named("daemon");
    new.key_credentials = vec![credential()];
    let entry = t.authority.create_application(t.tenant.tenant.id, new).await.unwrap();
    assert_eq!(entry.certificates().len(), 1, "the certificate is ready for assertions");
    assert_eq!(entry.app.identifier_uris, [format!("api://{}", entry.app.app_id)]);
    assert_eq!(entry.app.version, 1, "one write, not a create and an update");
    assert_eq!(stored(&t).await.len(), before + 1);
}

#[tokio::test]
async fn a_refused_application_leaves_nothing_behind() {
    let t = authority(Config::new("https://localhost:8443")).await;
    let tenant_id = t.tenant.tenant.id;
    let before = stored(&t).await;
    let same = credential();
    let refusals: Vec<(NewApplication, Error)> = vec![
        (named("  "), ApplicationError::DisplayNameRequired.into()),
        (
            NewApplication {
                redirect_uris: vec!["http://app.example/cb".into()],
                ..named("web")
            },
            ApplicationError::InvalidRedirectUri {
                uri: "http://app.example/cb".into(),
                problem: crate::redirect_uri::Problem::PlainHttpNotLoopback,
            }
            .into(),
        ),
        (
            NewApplication {
                key_credentials: vec![same.clone(), same],
                ..named("twice")
            },
            ApplicationError::DuplicateCertificate(String::new()).into(),
        ),
        (
            NewApplication {
                identifier_uris: vec!["https://graph.microsoft.com".into()],
                ..named("impostor")
            },
            ApplicationError::IdentifierUriTaken {
                uri: String::new(),
                owner: String::new(),
            }
            .into(),
        ),
        (
            NewApplication {
                app_roles: vec![AppRole {
                    id: Uuid::new_v4(),
                    value: "Two Words".into(),
                    display_name: "r".into(),
                    description: String::new(),
                    allowed_member_types: vec!["Application".into()],
                    is_enabled: true,
                }],
                ..named("roles")
            },
            ApplicationError::InvalidAppRoleValue("Two Words".into()).into(),
        ),
    ];
    for (new, expected) in refusals {
        let e = t.authority.create_application(tenant_id, new).await.err().unwrap();
        let (Error::Application(got), Error::Application(want)) = (&e, &expected) else {
            panic!("{e:?}")
        };
        assert_eq!(std::mem::discriminant(got), std::mem::discriminant(want), "{e}");
    }
    let after = stored(&t).await;
    assert_eq!(after.len(), before.len(), "nothing was stored");
    assert_eq!(t.authority.snapshot().apps_of(tenant_id).len(), before.len());
}

#[tokio::test]
async fn a_refused_change_changes_nothing() {
    let t = authority(Config::new("https://localhost:8443")).await;
    let tenant_id = t.tenant.tenant.id;
    let kept = credential();
    let mut new = named("daemon");
    new.key_credentials = vec![kept.clone()];
    let entry = t.authority.create_application(tenant_id, new).await.unwrap();
    let object_id = entry.app.id;
    let change = ApplicationChange {
        display_name: Some("renamed".into()),
        key_credentials: Some(vec![
            KeyCredentialChange::Keep(kept.key_id),
            KeyCredentialChange::Keep(Uuid::new_v4()),
        ]),
        ..ApplicationChange::default()
    };
    let e = t
        .authority
        .change_application(tenant_id, object_id, change)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::CredentialNotFound(_)), "{e:?}");
    let blank = ApplicationChange {
        display_name: Some(" ".into()),
        ..ApplicationChange::default()
    };
    let e = t
        .authority
        .change_application(tenant_id, object_id, blank)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(e, Error::Application(ApplicationError::DisplayNameEmpty)),
        "{e:?}"
    );
    let current = t
        .authority
        .snapshot()
        .app_by_object_id(tenant_id, object_id)
        .cloned()
        .unwrap();
    assert_eq!(current.app.display_name, "daemon");
    assert_eq!(current.app.version, 1);

    // A good change keeps the listed credential, adds the new one, drops the rest.
    let added = credential();
    let change = ApplicationChange {
        display_name: Some("renamed".into()),
        key_credentials: Some(vec![
            KeyCredentialChange::Keep(kept.key_id),
            KeyCredentialChange::Add(added.clone()),
        ]),
        ..ApplicationChange::default()
    };
    let changed = t
        .authority
        .change_application(tenant_id, object_id, change)
        .await
        .unwrap();
    let ids: Vec<Uuid> = changed.app.key_credentials.iter().map(|k| k.key_id).collect();
    assert_eq!(ids, [kept.key_id, added.key_id]);
    assert_eq!(changed.app.display_name, "renamed");
    assert_eq!(changed.app.version, 2);
}

#[tokio::test]
async fn builtin_resources_and_role_rules() {
    let t = authority(Config::new("https://localhost:8443")).await;
    let tenant_id = t.tenant.tenant.id;
    let snapshot = t.authority.snapshot();
    let graph = snapshot.app_in_tenant(tenant_id, GRAPH_APP_ID).cloned().unwrap();
    let e = t
        .authority
        .delete_application(tenant_id, graph.app.id)
        .await
        .err()
        .unwrap();
    assert_eq!(e.to_string(), "Microsoft Graph cannot be deleted");
    let client = t
        .authority
        .create_application(tenant_id, named("client"))
        .await
        .unwrap();
    let sp = client.app.service_principal_id;
    let unknown_role = Uuid::new_v4();
    let e = t
        .authority
        .grant_role(tenant_id, sp, graph.app.service_principal_id, unknown_role)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Application(ApplicationError::UnknownAppRole { role_id, .. }) if *role_id == unknown_role),
        "{e:?}"
    );
    let e = t.authority.revoke_role(tenant_id, unknown_role).await.err().unwrap();
    assert!(
        matches!(e, Error::RoleAssignmentNotFound(id) if id == unknown_role),
        "{e:?}"
    );
    let e = t.authority.ensure_tenant("not a name").await.err().unwrap();
    assert!(matches!(e, Error::InvalidTenantName(_)), "{e:?}");
    // Secrets: a lifetime over 24 months is refused by its condition.
    let now = OffsetDateTime::now_utc();
    let e = crate::credentials::new_secret(None, Some(now + Duration::days(800)), now).unwrap_err();
    assert!(
        matches!(e, Error::Credential(crate::CredentialError::SecretLifetime)),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_logout_url_is_https_or_loopback_http_and_can_be_removed() {
    let t = authority(Config::new("https://localhost:8443")).await;
    let tenant_id = t.tenant.tenant.id;
    let entry = t.authority.create_application(tenant_id, named("web")).await.unwrap();
    let set = |url: Option<&str>| ApplicationChange {
        logout_url: Some(url.map(str::to_owned)),
        ..ApplicationChange::default()
    };
    for bad in ["http://app.example/logout", "https://app.example/logout#x", "not a url"] {
        let e = t
            .authority
            .change_application(tenant_id, entry.app.id, set(Some(bad)))
            .await
            .err()
            .unwrap();
        assert!(
            matches!(e, Error::Application(ApplicationError::InvalidLogoutUrl { .. })),
            "{bad}: {e:?}"
        );
    }
    for good in ["https://app.example/logout", "http://localhost:3000/logout"] {
        let changed = t
            .authority
            .change_application(tenant_id, entry.app.id, set(Some(good)))
            .await
            .unwrap();
        assert_eq!(changed.app.logout_url.as_deref(), Some(good));
    }
    let stored_app = stored(&t).await.into_iter().find(|a| a.id == entry.app.id).unwrap();
    assert_eq!(stored_app.logout_url.as_deref(), Some("http://localhost:3000/logout"));
    let removed = t
        .authority
        .change_application(tenant_id, entry.app.id, set(None))
        .await
        .unwrap();
    assert_eq!(removed.app.logout_url, None);
}

/// An application document as the declarative state registers it: its own ids.
fn with_ids(tenant_id: Uuid, name: &str, app_id: Uuid, object_id: Uuid, sp: Uuid) -> Application {
    Application {
        id: object_id,
        tenant_id,
        app_id,
        service_principal_id: sp,
        display_name: name.into(),
        identifier_uris: vec![format!("api://{app_id}")],
        redirect_uris: Vec::new(),
        logout_url: None,
        key_credentials: vec![credential()],
        password_credentials: Vec::new(),
        app_roles: Vec::new(),
        created: OffsetDateTime::now_utc(),
        version: 1,
    }
}

#[tokio::test]
async fn an_application_is_registered_with_the_ids_given_and_a_taken_id_is_refused() {
    let t = authority(Config::new("https://localhost:8443")).await;
    let tenant_id = t.tenant.tenant.id;
    let (app_id, object_id, sp) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let entry = t
        .authority
        .insert_application(with_ids(tenant_id, "fixed", app_id, object_id, sp))
        .await
        .unwrap();
    assert_eq!(
        (entry.app.app_id, entry.app.id, entry.app.service_principal_id),
        (app_id, object_id, sp)
    );
    assert_eq!(entry.certificates().len(), 1);
    let before = stored(&t).await;

    for (again, what) in [
        (
            with_ids(tenant_id, "b", app_id, Uuid::new_v4(), Uuid::new_v4()),
            "appId",
        ),
        (
            with_ids(tenant_id, "b", Uuid::new_v4(), object_id, Uuid::new_v4()),
            "object id",
        ),
        (
            with_ids(tenant_id, "b", Uuid::new_v4(), Uuid::new_v4(), sp),
            "service principal id",
        ),
        (
            with_ids(tenant_id, "b", Uuid::new_v4(), sp, Uuid::new_v4()),
            "object id",
        ),
    ] {
        let Err(refused) = t.authority.insert_application(again).await else {
            panic!("{what}: an id taken is refused")
        };
        assert!(
            matches!(&refused, Error::IdTaken { what: w, holder, .. } if *w == what && holder == "fixed"),
            "{refused}"
        );
    }
    let missing = with_ids(Uuid::new_v4(), "b", Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    assert!(matches!(
        t.authority.insert_application(missing).await,
        Err(Error::TenantNotFound(_))
    ));
    assert_eq!(stored(&t).await, before, "nothing stored by a refusal");
}

#[tokio::test]
async fn a_tenant_is_made_with_the_id_given_and_a_name_or_id_held_otherwise_is_refused() {
    let t = authority(Config::new("https://localhost:8443")).await;
    let id = Uuid::new_v4();
    let made = t.authority.ensure_tenant_with_id("fixed-id", Some(id)).await.unwrap();
    assert_eq!(made.tenant.id, id);
    let again = t.authority.ensure_tenant_with_id("fixed-id", Some(id)).await.unwrap();
    assert_eq!(again.tenant.id, id, "idempotent");

    let other = Uuid::new_v4();
    assert!(matches!(
        t.authority.ensure_tenant_with_id("fixed-id", Some(other)).await,
        Err(Error::TenantIdMismatch { existing, wanted, .. }) if existing == id && wanted == other
    ));
    assert!(matches!(
        t.authority.ensure_tenant_with_id("another", Some(id)).await,
        Err(Error::TenantIdTaken { holder, .. }) if holder == "fixed-id"
    ));
    assert!(t.authority.snapshot().tenant("another").is_none(), "nothing made");
}
