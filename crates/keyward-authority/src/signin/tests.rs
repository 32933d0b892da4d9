//! Sign-in and sign-up decisions on a real authority: one answer for a wrong password and an
//! unknown account, throttling, disabled accounts, taken emails.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::Config;
use crate::testing::{TestAuthority, authority};
use crate::throttle::ThrottlePolicy;
use crate::users::NewUser;

const ADDRESS: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
const PASSWORD: &str = "correct horse battery";

fn config(sign_up: bool) -> Config {
    let mut config = Config::new("https://localhost:8443");
    config.sign_up = sign_up;
    config.throttle = ThrottlePolicy {
        account_failures: 2,
        ..ThrottlePolicy::default()
    };
    config.password_concurrency = 2;
    config
}

fn password(p: &str) -> Zeroizing<String> {
    Zeroizing::new(p.to_owned())
}

async fn with_ann(sign_up: bool) -> TestAuthority {
    let t = authority(config(sign_up)).await;
    let ann = SignUp {
        email: "Ann@Example.com",
        display_name: "Ann",
        password: password(PASSWORD),
    };
    if sign_up {
        t.authority.sign_up(t.tenant.tenant.id, ann, ADDRESS).await.unwrap();
    } else {
        let new = NewUser {
            email: ann.email.into(),
            display_name: Some(ann.display_name.into()),
            password: ann.password,
            enabled: true,
            email_verified: true,
        };
        t.authority.create_user(t.tenant.tenant.id, new).await.unwrap();
    }
    t
}

#[tokio::test]
async fn sign_in_decisions() {
    let t = with_ann(true).await;
    let tenant_id = t.tenant.tenant.id;
    let a = &t.authority;
    let user = a
        .sign_in(tenant_id, "ann@example.com", password(PASSWORD), ADDRESS)
        .await
        .unwrap();
    assert_eq!(user.email, "ann@example.com");
    assert!(matches!(
        a.sign_in(tenant_id, "", password(PASSWORD), ADDRESS).await,
        Err(SignInError::MissingCredentials)
    ));
    assert!(matches!(
        a.sign_in(tenant_id, "ann@example.com", password(""), ADDRESS).await,
        Err(SignInError::MissingCredentials)
    ));
    // A wrong password and an unknown account: the same answer.
    let wrong = a
        .sign_in(tenant_id, "ann@example.com", password("wrong password"), ADDRESS)
        .await;
    let unknown = a
        .sign_in(tenant_id, "bob@example.com", password(PASSWORD), ADDRESS)
        .await;
    let (Err(wrong), Err(unknown)) = (wrong, unknown) else {
        panic!("accepted")
    };
    assert!(matches!(wrong, SignInError::WrongCredentials));
    assert_eq!(wrong.to_string(), unknown.to_string());
    // The second failure locks the account: even the right password waits.
    let _ = a
        .sign_in(tenant_id, "ann@example.com", password("wrong again"), ADDRESS)
        .await;
    let locked = a
        .sign_in(tenant_id, "ann@example.com", password(PASSWORD), ADDRESS)
        .await;
    let Err(SignInError::Throttled(wait)) = locked else {
        panic!("not throttled: {locked:?}")
    };
    assert!(wait.as_secs() > 0);
    assert!(SignInError::Throttled(wait).to_string().contains("Wait 1 minute(s)"));
}

#[tokio::test]
async fn a_disabled_account_is_told_so_only_with_its_password() {
    let t = with_ann(false).await;
    let tenant_id = t.tenant.tenant.id;
    let a = &t.authority;
    let user = a.user_by_email(tenant_id, "ann@example.com").await.unwrap();
    a.set_user_enabled(tenant_id, user.id, false).await.unwrap();
    let refused = a
        .sign_in(tenant_id, "ann@example.com", password(PASSWORD), ADDRESS)
        .await;
    assert!(matches!(refused, Err(SignInError::Disabled)), "{refused:?}");
    let wrong = a
        .sign_in(tenant_id, "ann@example.com", password("not it at all"), ADDRESS)
        .await;
    assert!(matches!(wrong, Err(SignInError::WrongCredentials)), "{wrong:?}");
}

#[tokio::test]
async fn sign_up_decisions() {
    let t = with_ann(true).await;
    let tenant_id = t.tenant.tenant.id;
    let a = &t.authority;
    let form = |email, pw: &str| SignUp {
        email,
        display_name: "Someone",
        password: password(pw),
    };
    let taken = a.sign_up(tenant_id, form("ANN@example.com", PASSWORD), ADDRESS).await;
    assert!(matches!(taken, Err(SignInError::EmailTaken)), "{taken:?}");
    let short = a.sign_up(tenant_id, form("bob@example.com", "short"), ADDRESS).await;
    assert!(
        matches!(short, Err(SignInError::Account(AccountError::PasswordTooShort(8)))),
        "{short:?}"
    );
    let bad = a.sign_up(tenant_id, form("bob", PASSWORD), ADDRESS).await;
    assert!(
        matches!(bad, Err(SignInError::Account(AccountError::InvalidEmail(_)))),
        "{bad:?}"
    );
    let bob = a
        .sign_up(tenant_id, form("bob@example.com", PASSWORD), None)
        .await
        .unwrap();
    assert_eq!(bob.display_name, "Someone");

    let off = with_ann(false).await;
    let refused = off
        .authority
        .sign_up(off.tenant.tenant.id, form("carol@example.com", PASSWORD), ADDRESS)
        .await;
    assert!(matches!(refused, Err(SignInError::SignUpOff)), "{refused:?}");
}
