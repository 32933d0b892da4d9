//! Two servers on one PostgreSQL database are one service for customer sign-in too: failed
//! sign-ins are counted across them (an attacker spreading guesses over servers gets no more
//! than from one), and a code or a refresh token is redeemed at most once, whichever servers it
//! is sent to at the same moment.

use std::time::{Duration, Instant};

use super::browser::{Browser, Page};
use super::flow::*;
use crate::common::{Schema, Server};

const ANN: &str = "ann@example.com";

/// Two servers on a fresh schema, sharing the master key, and a web app registered through the
/// first that the second knows too.
async fn two_servers(schema: &Schema) -> (Server, Server, WebApp) {
    let url = schema.url();
    let a = Server::start_with(tempfile::tempdir().expect("temp dir"), |s| s.database(&url));
    let b_dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(a.data().join("master.key"), b_dir.path().join("master.key")).expect("copy master.key");
    let b = Server::start_with(b_dir, |s| s.database(&url));
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
