//! Two servers on one PostgreSQL database are one service for customer sign-in too: failed
//! sign-ins, sign-ups per address, wrong sign-up codes and device-code polls are counted across
//! them (an attacker spreading requests over servers gets no more than from one), a network
//! familiar to an account on one is familiar on the other, and a code or a refresh token is
//! redeemed at most once, whichever servers it is sent to at the same moment.

use std::time::{Duration, Instant};

use keyward_server::ServeSettings;

use super::browser::{Browser, Page};
use super::flow::*;
use super::mailbox::Mailbox;
use crate::common::{Schema, Server, assert_oauth_error};

const ANN: &str = "ann@example.com";

/// Two servers on a fresh schema, sharing the master key, and a web app registered through the
/// first that the second knows too.
async fn two_servers(schema: &Schema) -> (Server, Server, WebApp) {
    two_servers_with(schema, |s| s).await
}

/// [`two_servers`], each also set up by `configure`.
async fn two_servers_with(
    schema: &Schema,
    configure: impl Fn(ServeSettings) -> ServeSettings,
) -> (Server, Server, WebApp) {
    let url = schema.url();
    let a = Server::start_with(tempfile::tempdir().expect("temp dir"), |s| configure(s.database(&url)));
    let b_dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(a.data().join("master.key"), b_dir.path().join("master.key")).expect("copy master.key");
    let b = Server::start_with(b_dir, |s| configure(s.database(&url)));
    let app = web_app(&a, "shared");
    let deadline = Instant::now() + Duration::from_secs(10);
    let on_b = Browser::new(&b);
    let (_, challenge) = pkce();
    while on_b.get(&authorize_url(&app, &challenge, &[])).await.status != 200 {
        assert!(
            Instant::now() < deadline,
            "B does not know the app registered through A"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (a, b, app)
}

async fn attempt(browser: &Browser, app: &WebApp, password: &str) -> Page {
    let (_, challenge) = pkce();
    sign_in(browser, app, &challenge, ANN, password).await
}

/// Wrong passwords sent in turn to two servers lock Ann's account (for the attackers' source)
/// after five in all, not five per server; then the right password is refused on both too.
#[tokio::test]
async fn failed_sign_ins_are_counted_across_servers() {
    let schema = Schema::new();
    let (a, b, app) = two_servers(&schema).await;
    let (_, challenge) = pkce();
    code_of(&sign_up(&Browser::new(&a), &app, &challenge, ANN, "Ann").await);

    let (on_a, on_b) = (Browser::new(&a), Browser::new(&b));
    let mut statuses = Vec::new();
    for i in 0..10 {
        let browser = if i % 2 == 0 { &on_a } else { &on_b };
        statuses.push(attempt(browser, &app, &format!("guess {i}")).await.status);
    }
    assert_eq!(statuses[..5], [400; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    for browser in [&on_a, &on_b] {
        assert_eq!(attempt(browser, &app, PASSWORD).await.status, 429);
    }
    // The count is in the database, one row per bucket.
    let failures =
        schema.query("SELECT failures FROM sign_in_throttle WHERE bucket LIKE 'account/%/*/ann@example.com'");
    assert_eq!(failures, "5");
}

/// A code sent to both servers at once is redeemed by one of them; the refresh token the
/// redemption returned, sent to both at once, by one of them at most.
#[tokio::test]
async fn a_code_and_a_refresh_token_are_redeemed_once_across_servers() {
    let schema = Schema::new();
    let (a, b, app) = two_servers(&schema).await;
    let (verifier, challenge) = pkce();
    let code = code_of(&sign_up(&Browser::new(&a), &app, &challenge, ANN, "Ann").await);
    let (on_a, on_b) = tokio::join!(
        redeem(&a, &app, &code, Some(&verifier)),
        redeem(&b, &app, &code, Some(&verifier))
    );
    let mut statuses = [on_a.0, on_b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "{on_a:?} {on_b:?}");
    let tokens = if on_a.0 == 200 { on_a.1 } else { on_b.1 };
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token");

    // Used twice at once: one use is a replay, which revokes the token's family, so that the
    // other may be refused too (as Entra does when a refresh token is reused).
    let (on_a, on_b) = tokio::join!(refresh(&a, &app, refresh_token), refresh(&b, &app, refresh_token));
    let mut statuses = [on_a.0, on_b.0];
    statuses.sort_unstable();
    assert!(statuses == [200, 400] || statuses == [400, 400], "{on_a:?} {on_b:?}");
    for (status, body) in [&on_a, &on_b] {
        if *status == 400 {
            assert_eq!(body["error"], "invalid_grant", "{body}");
        }
    }
}

/// Trusting the tests' own address as a proxy, so that each browser's `X-Forwarded-For` is its
/// client address.
fn behind_a_proxy(settings: ServeSettings) -> ServeSettings {
    settings.trusted_proxies(keyward_server::TrustedProxies::new(["127.0.0.1/32"
        .parse()
        .expect("CIDR")]))
}

/// Ann signs in from home through A only. An attacker then locks the account for unfamiliar
/// networks through B; Ann, from home, still signs in through B: her network is familiar to
/// both servers, not only to the one she signed in through. (With the familiar networks in each
/// server's memory, B put her in the attacker's locked bucket.)
#[tokio::test]
async fn a_network_familiar_on_one_server_is_familiar_on_the_other() {
    let schema = Schema::new();
    let (a, b, app) = two_servers_with(&schema, behind_a_proxy).await;
    let home = |server: &Server| Browser::with_headers(server, &[("X-Forwarded-For", "192.0.2.10")]);
    let (_, challenge) = pkce();
    code_of(&sign_up(&home(&a), &app, &challenge, ANN, "Ann").await);
    code_of(&attempt(&home(&a), &app, PASSWORD).await);

    let attacker = Browser::with_headers(&b, &[("X-Forwarded-For", "203.0.113.66")]);
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(attempt(&attacker, &app, &format!("guess {i}")).await.status);
    }
    assert_eq!(statuses, [400, 400, 400, 400, 400, 429], "{statuses:?}");
    assert_eq!(attempt(&attacker, &app, PASSWORD).await.status, 429);
    code_of(&attempt(&home(&b), &app, PASSWORD).await);
    let remembered = schema.query("SELECT count(*) FROM familiar_sources WHERE source = '192.0.2.0'");
    assert_eq!(remembered, "1");
}

/// Ten sign-ups from one address, alternating between the servers, use up the address's
/// share: the eleventh is refused by both.
#[tokio::test]
async fn sign_ups_from_one_address_are_limited_across_servers() {
    let schema = Schema::new();
    let (a, b, app) = two_servers(&schema).await;
    let (_, challenge) = pkce();
    for i in 0..10 {
        let server = if i % 2 == 0 { &a } else { &b };
        code_of(
            &sign_up(
                &Browser::new(server),
                &app,
                &challenge,
                &format!("user{i}@example.com"),
                "U",
            )
            .await,
        );
    }
    for (server, email) in [(&a, "user10@example.com"), (&b, "user11@example.com")] {
        let refused = sign_up(&Browser::new(server), &app, &challenge, email, "U").await;
        assert_eq!(refused.status, 429, "{}", refused.body);
    }
}

/// A sign-up's code, tried wrong five times in all over both servers, is no longer accepted
/// by either, the right one included.
#[tokio::test]
async fn wrong_sign_up_codes_are_counted_across_servers() {
    let mailbox = Mailbox::start();
    let smtp = mailbox.url();
    let schema = Schema::new();
    let (a, b, app) = two_servers_with(&schema, |s| s.smtp(&smtp, "keyward@example.com").expect("SMTP")).await;
    let (on_a, on_b) = (Browser::new(&a), Browser::new(&b));
    let (_, challenge) = pkce();
    let page = sign_up(&on_a, &app, &challenge, "bob@example.com", "Bob").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let code = mailbox.code_for("bob@example.com");
    // The same browser, load-balanced: its cookies (the form's CSRF pair) go to B too.
    for name in on_a.cookie_names() {
        on_b.set_cookie(&name, &on_a.cookie(&name).expect("a cookie"));
    }
    let form = page.form();
    let with_code = |code: &str| -> Vec<(String, String)> {
        form.fields
            .iter()
            .map(|(k, v)| (k.clone(), if k == "code" { code.to_owned() } else { v.clone() }))
            .collect()
    };
    let wrong: String = code
        .chars()
        .map(|c| if c == '9' { '0' } else { char::from(c as u8 + 1) })
        .collect();
    let mut statuses = Vec::new();
    for i in 0..5 {
        let browser = if i % 2 == 0 { &on_a } else { &on_b };
        statuses.push(browser.post(&form.action, &with_code(&wrong)).await.status);
    }
    assert_eq!(statuses[..4], [400; 4], "{statuses:?}");
    for browser in [&on_a, &on_b] {
        let right = browser.post(&form.action, &with_code(&code)).await;
        assert_eq!(right.status, 429, "{}", right.body);
    }
}

/// A device code polled on A and at once on B is told `slow_down` by B: the last poll's time is
/// the database's, not each server's.
#[tokio::test]
async fn device_code_polls_are_paced_across_servers() {
    let schema = Schema::new();
    let (a, b, _) = two_servers(&schema).await;
    let app = public_app(&a, "device-cli");
    let started = super::device::device_code(&a, &app.app_id).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // B may need a moment to learn the app registered through A.
        let (status, body) = super::device::poll(&b, "contoso", &app.app_id, &started).await;
        if body["error"] == "authorization_pending" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B does not know the device app: {status} {body}"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    assert_oauth_error(
        &super::device::poll(&a, "contoso", &app.app_id, &started).await,
        400,
        "slow_down",
        70016,
    );
}
