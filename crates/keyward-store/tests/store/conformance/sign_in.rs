//! Behaviours of customer sign-in: users, and the grants (codes, refresh tokens, sessions) that
//! are redeemed once, expire and are revoked by family or by user.

use std::sync::Arc;

use keyward_store::{Error, Grant, GrantKind, Redemption, Store, Tenant, User, UserCursor};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{CREATED, assert_conflict, tenant, with_tenant};

/// The time grants are presented at.
const NOW: OffsetDateTime = datetime!(2026-12-03 12:00:00.5 +01:00);

pub(crate) fn user(tenant: &Tenant, email: &str) -> User {
    User {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        email: email.into(),
        display_name: "Ann <b>Example</b> ✓".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        enabled: true,
        email_verified: true,
        // Global Administrator's template id: the roles are read back as written.
        directory_roles: vec![uuid::uuid!("62e90394-69f5-4237-9190-012177145e10")],
        created: CREATED,
        version: 1,
    }
}

/// A grant of `kind` to `user` in a new family, live until an hour after [`NOW`].
pub(crate) fn grant(kind: GrantKind, user: &User) -> Grant {
    Grant {
        kind,
        id: format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()),
        tenant_id: user.tenant_id,
        family: Uuid::new_v4(),
        user_id: user.id,
        document: serde_json::json!({
            "clientId": Uuid::new_v4(),
            "redirectUri": "https://localhost:3000/redirect",
            "codeChallenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "scopes": ["openid", "profile", "offline_access"],
            "nonce": null,
            "authTime": 1_796_301_000_i64,
        }),
        created: NOW - Duration::minutes(1),
        expires: NOW + Duration::hours(1),
    }
}

/// A tenant with one user in it.
async fn with_user(store: &dyn Store) -> (Tenant, User) {
    let tenant = with_tenant(store).await;
    let user = user(&tenant, &format!("ann.{}@example.com", Uuid::new_v4().simple()));
    store.insert_user(&user).await.expect("insert user");
    (tenant, user)
}

async fn inserted(store: &dyn Store, grant: Grant) -> Grant {
    store.insert_grant(&grant).await.expect("insert grant");
    grant
}

pub(crate) async fn user_round_trip(store: Arc<dyn Store>) {
    let tenant = with_tenant(&*store).await;
    let (bea, ann) = (user(&tenant, "bea@example.com"), user(&tenant, "ann@example.com"));
    store.insert_user(&bea).await.unwrap();
    store.insert_user(&ann).await.unwrap();

    assert_eq!(store.user(tenant.id, ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(
        store.user_by_email(tenant.id, "ANN@Example.com").await.unwrap(),
        Some(ann.clone())
    );
    assert_eq!(store.users(tenant.id).await.unwrap(), vec![ann.clone(), bea]);
    let stored = store.user(tenant.id, ann.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, ann.password_hash);
    assert_eq!(stored.display_name, ann.display_name);

    // Users are found within their tenant only.
    let other = with_tenant(&*store).await;
    assert_eq!(store.user(other.id, ann.id).await.unwrap(), None);
    assert_eq!(store.user_by_email(other.id, &ann.email).await.unwrap(), None);
    assert_eq!(store.users(other.id).await.unwrap(), vec![]);
    // The same email in another tenant is another user.
    store.insert_user(&user(&other, "ann@example.com")).await.unwrap();
    assert_eq!(store.user(tenant.id, ann.id).await.unwrap(), Some(ann));
}

pub(crate) async fn duplicate_user_conflicts(store: Arc<dyn Store>) {
    let (home, taken) = with_user(&*store).await;
    let same_id = User {
        id: taken.id,
        ..user(&home, "other@example.com")
    };
    assert_conflict(store.insert_user(&same_id).await, &["user", &taken.id.to_string()]);
    let same_email = user(&home, &taken.email.to_uppercase());
    assert_conflict(store.insert_user(&same_email).await, &["email", &same_email.email]);
    assert_eq!(store.users(home.id).await.unwrap(), vec![taken]);

    let nowhere = tenant();
    let absent = nowhere.id.to_string();
    assert!(matches!(
        store.insert_user(&user(&nowhere, "ann@example.com")).await,
        Err(Error::NotFound(what)) if what.contains(&absent)
    ));
}

pub(crate) async fn user_optimistic_concurrency(store: Arc<dyn Store>) {
    let (tenant, mut ann) = with_user(&*store).await;
    let bea = user(&tenant, "bea@example.com");
    store.insert_user(&bea).await.unwrap();

    ann.version = 2;
    ann.enabled = false;
    ann.email = format!("new.{}", ann.email);
    store.update_user(&ann).await.unwrap();
    assert_eq!(store.user(tenant.id, ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(
        store.user_by_email(tenant.id, &ann.email).await.unwrap(),
        Some(ann.clone())
    );

    let stale = User {
        display_name: "stale".into(),
        ..ann.clone()
    };
    assert!(matches!(
        store.update_user(&stale).await,
        Err(Error::VersionMismatch { .. })
    ));
    let ahead = User {
        version: 4,
        ..stale.clone()
    };
    assert!(matches!(
        store.update_user(&ahead).await,
        Err(Error::VersionMismatch { .. })
    ));
    // Taking another user's email is refused and changes nothing.
    let taking = User {
        version: 3,
        email: "BEA@example.com".into(),
        ..ann.clone()
    };
    assert_conflict(store.update_user(&taking).await, &["email"]);
    assert_eq!(store.user(tenant.id, ann.id).await.unwrap(), Some(ann.clone()));

    let missing = User {
        version: 2,
        ..user(&tenant, "nobody@example.com")
    };
    assert!(matches!(store.update_user(&missing).await, Err(Error::NotFound(_))));
    let elsewhere = User {
        tenant_id: with_tenant(&*store).await.id,
        version: 3,
        ..ann.clone()
    };
    assert!(matches!(store.update_user(&elsewhere).await, Err(Error::NotFound(_))));
}

pub(crate) async fn grant_is_redeemed_once(store: Arc<dyn Store>) {
    let (_, ann) = with_user(&*store).await;
    for kind in [
        GrantKind::AuthorizationCode,
        GrantKind::RefreshToken,
        GrantKind::Session,
        GrantKind::DeviceCode,
        GrantKind::UserCode,
        GrantKind::DeviceApproval,
        GrantKind::KeyProof,
    ] {
        let grant = inserted(&*store, grant(kind, &ann)).await;
        assert_eq!(
            store.live_grant(kind, &grant.id, NOW).await.unwrap(),
            Some(grant.clone())
        );
        assert_eq!(
            store.redeem_grant(kind, &grant.id, NOW).await.unwrap(),
            Redemption::Redeemed(grant.clone())
        );
        assert_eq!(store.live_grant(kind, &grant.id, NOW).await.unwrap(), None);
        assert_eq!(
            store.redeem_grant(kind, &grant.id, NOW).await.unwrap(),
            Redemption::Replayed(grant.clone())
        );
    }
    // A grant is found by its kind and its id.
    let code = inserted(&*store, grant(GrantKind::AuthorizationCode, &ann)).await;
    assert_eq!(
        store.live_grant(GrantKind::RefreshToken, &code.id, NOW).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .redeem_grant(GrantKind::RefreshToken, &code.id, NOW)
            .await
            .unwrap(),
        Redemption::Unusable
    );
    assert_eq!(
        store
            .redeem_grant(GrantKind::AuthorizationCode, "unknown", NOW)
            .await
            .unwrap(),
        Redemption::Unusable
    );
    assert!(matches!(
        store
            .redeem_grant(GrantKind::AuthorizationCode, &code.id, NOW)
            .await
            .unwrap(),
        Redemption::Redeemed(_)
    ));
}

pub(crate) async fn duplicate_grant_conflicts(store: Arc<dyn Store>) {
    let (_, ann) = with_user(&*store).await;
    let taken = inserted(&*store, grant(GrantKind::RefreshToken, &ann)).await;
    let same_id = Grant {
        id: taken.id.clone(),
        ..grant(GrantKind::RefreshToken, &ann)
    };
    assert_conflict(store.insert_grant(&same_id).await, &["refresh_token"]);
    assert_eq!(
        store.live_grant(taken.kind, &taken.id, NOW).await.unwrap(),
        Some(taken.clone())
    );
    // Another kind may have the same id.
    let session = Grant {
        id: taken.id.clone(),
        ..grant(GrantKind::Session, &ann)
    };
    store.insert_grant(&session).await.unwrap();

    let nowhere = Grant {
        tenant_id: tenant().id,
        ..grant(GrantKind::Session, &ann)
    };
    assert!(matches!(store.insert_grant(&nowhere).await, Err(Error::NotFound(_))));
    assert_eq!(store.live_grant(nowhere.kind, &nowhere.id, NOW).await.unwrap(), None);
}

pub(crate) async fn expired_grants_are_unusable(store: Arc<dyn Store>) {
    let (_, ann) = with_user(&*store).await;
    let kind = GrantKind::AuthorizationCode;
    // Expiring at `now` is expired; a nanosecond later is not. Offsets do not matter.
    let at_now = inserted(
        &*store,
        Grant {
            expires: NOW.to_offset(time::macros::offset!(-5)),
            ..grant(kind, &ann)
        },
    )
    .await;
    let just_after = inserted(
        &*store,
        Grant {
            expires: NOW + Duration::nanoseconds(1),
            ..grant(kind, &ann)
        },
    )
    .await;
    assert_eq!(store.live_grant(kind, &at_now.id, NOW).await.unwrap(), None);
    assert_eq!(
        store.redeem_grant(kind, &at_now.id, NOW).await.unwrap(),
        Redemption::Unusable
    );
    assert_eq!(
        store.live_grant(kind, &just_after.id, NOW).await.unwrap(),
        Some(just_after.clone())
    );
    // Presented before it expires, the same grant is redeemed.
    assert_eq!(
        store
            .redeem_grant(kind, &at_now.id, NOW - Duration::seconds(1))
            .await
            .unwrap(),
        Redemption::Redeemed(at_now.clone())
    );

    // A grant redeemed before it expired is a replay when presented after.
    let later = NOW + Duration::hours(2);
    let redeemed = inserted(&*store, grant(kind, &ann)).await;
    assert!(matches!(
        store.redeem_grant(kind, &redeemed.id, NOW).await.unwrap(),
        Redemption::Redeemed(_)
    ));
    assert_eq!(
        store.redeem_grant(kind, &redeemed.id, later).await.unwrap(),
        Redemption::Replayed(redeemed.clone())
    );
    assert_eq!(
        store.redeem_grant(kind, &just_after.id, later).await.unwrap(),
        Redemption::Unusable
    );

    // Cleaning up removes what expired before the given time, redeemed or not, and nothing else.
    let far = inserted(
        &*store,
        Grant {
            expires: datetime!(2999-01-01 00:00:00 UTC),
            ..grant(GrantKind::Session, &ann)
        },
    )
    .await;
    let deleted = store
        .delete_expired_grants(datetime!(2999-01-01 00:00:00 UTC))
        .await
        .unwrap();
    assert!(deleted >= 3, "deleted {deleted}");
    assert_eq!(
        store.live_grant(far.kind, &far.id, NOW).await.unwrap(),
        Some(far.clone())
    );
    assert_eq!(
        store.redeem_grant(kind, &redeemed.id, NOW).await.unwrap(),
        Redemption::Unusable
    );
    assert_eq!(
        store
            .delete_expired_grants(datetime!(2999-01-01 00:00:00 UTC))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .delete_expired_grants(datetime!(2999-01-01 00:00:00.000000001 UTC))
            .await
            .unwrap(),
        1
    );
}

pub(crate) async fn family_is_revoked(store: Arc<dyn Store>) {
    let (_, ann) = with_user(&*store).await;
    let code = inserted(&*store, grant(GrantKind::AuthorizationCode, &ann)).await;
    let family = |kind| Grant {
        family: code.family,
        ..grant(kind, &ann)
    };
    let (first, second) = (family(GrantKind::RefreshToken), family(GrantKind::RefreshToken));
    let (first, second) = (inserted(&*store, first).await, inserted(&*store, second).await);
    let unrelated = inserted(&*store, grant(GrantKind::RefreshToken, &ann)).await;
    assert!(matches!(
        store.redeem_grant(code.kind, &code.id, NOW).await.unwrap(),
        Redemption::Redeemed(_)
    ));
    assert!(matches!(
        store.redeem_grant(first.kind, &first.id, NOW).await.unwrap(),
        Redemption::Redeemed(_)
    ));

    // The replay of the code revokes the family: one grant of it was still live.
    let Redemption::Replayed(replayed) = store.redeem_grant(code.kind, &code.id, NOW).await.unwrap() else {
        panic!("expected a replay");
    };
    assert_eq!(store.revoke_family(replayed.family).await.unwrap(), 1);
    assert_eq!(store.revoke_family(replayed.family).await.unwrap(), 0);
    for revoked in [&code, &first, &second] {
        assert_eq!(store.live_grant(revoked.kind, &revoked.id, NOW).await.unwrap(), None);
        assert_eq!(
            store.redeem_grant(revoked.kind, &revoked.id, NOW).await.unwrap(),
            Redemption::Unusable,
            "a revoked grant is neither redeemed nor a replay"
        );
    }
    assert_eq!(
        store.live_grant(unrelated.kind, &unrelated.id, NOW).await.unwrap(),
        Some(unrelated)
    );
    assert_eq!(store.revoke_family(Uuid::new_v4()).await.unwrap(), 0);
}

pub(crate) async fn user_grants_are_revoked(store: Arc<dyn Store>) {
    let (tenant, ann) = with_user(&*store).await;
    let bea = user(&tenant, "bea@example.com");
    store.insert_user(&bea).await.unwrap();
    let sessions = [
        inserted(&*store, grant(GrantKind::Session, &ann)).await,
        inserted(&*store, grant(GrantKind::RefreshToken, &ann)).await,
        inserted(&*store, grant(GrantKind::AuthorizationCode, &ann)).await,
    ];
    let expired = inserted(
        &*store,
        Grant {
            expires: NOW - Duration::seconds(1),
            ..grant(GrantKind::RefreshToken, &ann)
        },
    )
    .await;
    let beas = inserted(&*store, grant(GrantKind::Session, &bea)).await;
    assert!(matches!(
        store
            .redeem_grant(sessions[2].kind, &sessions[2].id, NOW)
            .await
            .unwrap(),
        Redemption::Redeemed(_)
    ));

    // Live means neither redeemed nor revoked: the expired refresh token counts, the code not.
    assert_eq!(store.revoke_user_grants(tenant.id, ann.id).await.unwrap(), 3);
    assert_eq!(store.revoke_user_grants(tenant.id, ann.id).await.unwrap(), 0);
    for revoked in sessions.iter().chain([&expired]) {
        assert_eq!(store.live_grant(revoked.kind, &revoked.id, NOW).await.unwrap(), None);
    }
    assert_eq!(
        store
            .redeem_grant(sessions[2].kind, &sessions[2].id, NOW)
            .await
            .unwrap(),
        Redemption::Unusable
    );
    assert_eq!(store.live_grant(beas.kind, &beas.id, NOW).await.unwrap(), Some(beas));
    // The user is named within its tenant.
    assert_eq!(
        store
            .revoke_user_grants(with_tenant(&*store).await.id, bea.id)
            .await
            .unwrap(),
        0
    );
}

pub(crate) async fn concurrent_redemptions_one_wins(store: Arc<dyn Store>) {
    let (_, ann) = with_user(&*store).await;
    for kind in [
        GrantKind::AuthorizationCode,
        GrantKind::RefreshToken,
        GrantKind::Session,
    ] {
        for _ in 0..10 {
            let grant = inserted(&*store, grant(kind, &ann)).await;
            let (first, second) = tokio::join!(
                store.redeem_grant(kind, &grant.id, NOW),
                store.redeem_grant(kind, &grant.id, NOW)
            );
            let mut outcomes = [first.unwrap(), second.unwrap()];
            outcomes.sort_by_key(|outcome| matches!(outcome, Redemption::Replayed(_)));
            assert_eq!(
                outcomes,
                [Redemption::Redeemed(grant.clone()), Redemption::Replayed(grant.clone())]
            );
        }
    }
    // And on several threads.
    let grant = inserted(&*store, grant(GrantKind::RefreshToken, &ann)).await;
    let redeemers: Vec<_> = (0..8)
        .map(|_| {
            let (store, id) = (store.clone(), grant.id.clone());
            tokio::spawn(async move { store.redeem_grant(GrantKind::RefreshToken, &id, NOW).await })
        })
        .collect();
    let mut redeemed = 0;
    for redeemer in redeemers {
        match redeemer.await.unwrap().unwrap() {
            Redemption::Redeemed(_) => redeemed += 1,
            Redemption::Replayed(_) => {}
            Redemption::Unusable => panic!("a live grant was unusable"),
            Redemption::OtherClient => panic!("no client was named"),
        }
    }
    assert_eq!(redeemed, 1);
}

pub(crate) async fn grant_of_another_client_is_left_alone(store: Arc<dyn Store>) {
    let (_, ann) = with_user(&*store).await;
    let (owner, other) = (Uuid::new_v4(), Uuid::new_v4());
    let of = |kind, client: Uuid| {
        let mut grant = grant(kind, &ann);
        grant.document["client_id"] = serde_json::json!(client);
        grant
    };
    for kind in [GrantKind::AuthorizationCode, GrantKind::RefreshToken] {
        let grant = inserted(&*store, of(kind, owner)).await;
        // Another client: nothing redeemed, the grant as it was.
        assert_eq!(
            store.redeem_grant_of(kind, &grant.id, Some(other), NOW).await.unwrap(),
            Redemption::OtherClient
        );
        assert_eq!(
            store.live_grant(kind, &grant.id, NOW).await.unwrap(),
            Some(grant.clone())
        );
        assert_eq!(
            store.redeem_grant_of(kind, &grant.id, Some(owner), NOW).await.unwrap(),
            Redemption::Redeemed(grant.clone())
        );
        // Presented again by another client: not a replay (which would revoke its family).
        assert_eq!(
            store.redeem_grant_of(kind, &grant.id, Some(other), NOW).await.unwrap(),
            Redemption::OtherClient
        );
        assert_eq!(
            store.redeem_grant_of(kind, &grant.id, Some(owner), NOW).await.unwrap(),
            Redemption::Replayed(grant.clone())
        );
        assert_eq!(
            store.redeem_grant(kind, &grant.id, NOW).await.unwrap(),
            Redemption::Replayed(grant.clone())
        );
    }
    let kind = GrantKind::AuthorizationCode;
    // A document that names no client is no client's.
    let nobodys = inserted(&*store, grant(kind, &ann)).await;
    assert_eq!(
        store
            .redeem_grant_of(kind, &nobodys.id, Some(owner), NOW)
            .await
            .unwrap(),
        Redemption::OtherClient
    );
    assert_eq!(
        store.redeem_grant(kind, &nobodys.id, NOW).await.unwrap(),
        Redemption::Redeemed(nobodys.clone())
    );
    // Expired, revoked or unknown: unusable, whoever asks.
    let expired = inserted(
        &*store,
        Grant {
            expires: NOW,
            ..of(kind, owner)
        },
    )
    .await;
    let revoked = inserted(&*store, of(kind, owner)).await;
    store.revoke_family(revoked.family).await.unwrap();
    for id in [expired.id.as_str(), revoked.id.as_str(), "unknown"] {
        for client in [owner, other] {
            assert_eq!(
                store.redeem_grant_of(kind, id, Some(client), NOW).await.unwrap(),
                Redemption::Unusable
            );
        }
    }
    // The owner and another client at once: the owner redeems it, the other gets nothing.
    for _ in 0..10 {
        let grant = inserted(&*store, of(GrantKind::RefreshToken, owner)).await;
        let (mine, theirs) = tokio::join!(
            store.redeem_grant_of(grant.kind, &grant.id, Some(owner), NOW),
            store.redeem_grant_of(grant.kind, &grant.id, Some(other), NOW)
        );
        assert_eq!(mine.unwrap(), Redemption::Redeemed(grant.clone()));
        assert_eq!(theirs.unwrap(), Redemption::OtherClient);
    }
}

/// Users inserted in bulk read back as inserted one by one; a batch with one refused user
/// writes none of them.
pub(crate) async fn users_are_inserted_in_bulk(store: Arc<dyn Store>) {
    let home = with_tenant(&*store).await;
    store.insert_users(&[]).await.unwrap();
    let batch: Vec<User> = (0..50).map(|i| user(&home, &format!("user{i}@Example.com"))).collect();
    store.insert_users(&batch).await.unwrap();
    let mut expected = batch.clone();
    expected.sort_by_key(|u| u.email.to_lowercase());
    assert_eq!(store.users(home.id).await.unwrap(), expected);
    assert_eq!(
        store.user_by_email(home.id, "USER7@example.com").await.unwrap(),
        Some(batch[7].clone())
    );

    // All or nothing: the last one's email is taken (in another case), so the others are not
    // written.
    let mut refused: Vec<User> = (0..3).map(|i| user(&home, &format!("fresh{i}@example.com"))).collect();
    refused.push(user(&home, "USER9@EXAMPLE.COM"));
    assert_conflict(store.insert_users(&refused).await, &["email", "USER9@EXAMPLE.COM"]);
    let twice = vec![refused[0].clone(), refused[0].clone()];
    assert!(matches!(store.insert_users(&twice).await, Err(Error::Conflict(_))));
    assert_eq!(store.users(home.id).await.unwrap().len(), batch.len());

    let nowhere = tenant();
    assert!(matches!(
        store.insert_users(&[user(&nowhere, "ann@example.com")]).await,
        Err(Error::NotFound(what)) if what.contains(&nowhere.id.to_string())
    ));
}

/// The users that hold a directory role are found without the others, in their tenant only.
pub(crate) async fn users_with_directory_roles_are_found_alone(store: Arc<dyn Store>) {
    let home = with_tenant(&*store).await;
    let other = with_tenant(&*store).await;
    let admin = user(&home, "admin@contoso.example");
    let customers: Vec<User> = (0..20)
        .map(|i| User {
            directory_roles: Vec::new(),
            ..user(&home, &format!("customer{i}@contoso.example"))
        })
        .collect();
    store.insert_user(&admin).await.unwrap();
    store.insert_users(&customers).await.unwrap();
    store
        .insert_user(&user(&other, "admin@fabrikam.example"))
        .await
        .unwrap();
    assert_eq!(store.users_with_directory_roles(home.id).await.unwrap(), vec![admin]);
    assert_eq!(store.users(home.id).await.unwrap().len(), 21);
}

/// Users come in pages in the order of the whole list, each page starting after the last user
/// of the one before, in their tenant only.
pub(crate) async fn users_are_listed_in_pages(store: Arc<dyn Store>) {
    let home = with_tenant(&*store).await;
    let other = with_tenant(&*store).await;
    let emails = [
        "zoe@example.com",
        "ann@example.com",
        "émile@example.com",
        "bob@example.com",
        "ann2@example.com",
    ];
    let users: Vec<User> = emails.iter().map(|email| user(&home, email)).collect();
    store.insert_users(&users).await.unwrap();
    store.insert_user(&user(&other, "carl@example.com")).await.unwrap();
    let whole = store.users(home.id).await.unwrap();
    assert_eq!(whole.len(), emails.len());

    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store.users_page(home.id, after.as_ref(), 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(UserCursor::after(last));
        paged.extend(page);
    }
    assert_eq!(paged, whole);
    assert!(store.users_page(home.id, None, 0).await.unwrap().is_empty());
}
