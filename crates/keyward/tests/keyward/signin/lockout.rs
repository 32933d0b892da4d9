//! Smart lockout and trusted proxies: an attacker's wrong passwords lock the attacker, not the
//! account's owner at the address she signs in from; `X-Forwarded-For` is believed only from a
//! trusted proxy, read right to left.
//!
//! Different client addresses are simulated through a trusted proxy: the server trusts
//! 127.0.0.1 (where the tests connect from) and each browser sends its own `X-Forwarded-For`.

use super::browser::{Browser, Page};
use super::flow::*;
use crate::common::Server;

const ANN: &str = "ann@example.com";
const HOME: &str = "192.0.2.10";
const ATTACKER: &str = "203.0.113.66";

/// A browser whose requests come, through the proxy, from `chain` (`X-Forwarded-For`).
fn from(server: &Server, chain: &str) -> Browser {
    Browser::with_headers(server, &[("X-Forwarded-For", chain)])
}

/// A sign-in attempt with `password` from `browser`.
async fn attempt(browser: &Browser, app: &WebApp, email: &str, password: &str) -> Page {
    let (_, challenge) = pkce();
    sign_in(browser, app, &challenge, email, password).await
}

fn assert_throttled(page: &Page) {
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(
        page.error_message().unwrap_or_default().contains("Too many"),
        "{}",
        page.body
    );
}

/// Twenty wrong passwords against Ann's account from an address she never signed in from lock
/// that source out (the right password too, and from any other unfamiliar address), but Ann,
/// from the address she signed in from before, still signs in.
#[tokio::test]
async fn an_attacker_locks_himself_out_not_the_owner() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(dir, |settings| {
        settings.trusted_proxies(keyward_server::TrustedProxies::new(["127.0.0.1/32"
            .parse()
            .expect("CIDR")]))
    });
    let app = web_app(&server, "smart");
    let ann = from(&server, HOME);
    let (_, challenge) = pkce();
    code_of(&sign_up(&ann, &app, &challenge, ANN, "Ann").await);
    ann.forget_cookies();
    // Her first sign-in makes her home network familiar.
    code_of(&attempt(&ann, &app, ANN, PASSWORD).await);
    ann.forget_cookies();

    let attacker = from(&server, ATTACKER);
    let mut statuses = Vec::new();
    for i in 0..20 {
        statuses.push(attempt(&attacker, &app, ANN, &format!("guess {i}")).await.status);
    }
    assert_eq!(statuses[..5], [400; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // The attacker's source is locked, for the right password too, and so is every other
    // unfamiliar address: more addresses buy no more guesses.
    assert_throttled(&attempt(&attacker, &app, ANN, PASSWORD).await);
    assert_throttled(&attempt(&from(&server, "198.51.100.200"), &app, ANN, PASSWORD).await);
    // Ann at home signs in.
    code_of(&attempt(&ann, &app, ANN, PASSWORD).await);
    // Her success gives the attacker no fresh attempts.
    assert_throttled(&attempt(&attacker, &app, ANN, "one more guess").await);
}

/// Without trusted proxies, `X-Forwarded-For` is ignored: a sprayer writing a new address in
/// every request is still one address, locked after its twenty failures.
#[tokio::test]
async fn forwarded_for_is_ignored_without_trusted_proxies() {
    let server = Server::start();
    let app = web_app(&server, "spoof");
    for i in 0..20 {
        let sprayer = from(&server, &format!("198.51.100.{i}"));
        let page = attempt(&sprayer, &app, &format!("user{i}@example.com"), "wrong password").await;
        assert_eq!(page.status, 400, "attempt {i}: {}", page.body);
    }
    let fresh = from(&server, "192.0.2.99");
    assert_throttled(&attempt(&fresh, &app, "someone@example.com", "wrong password").await);
}

/// Through a trusted proxy (`keyward serve --trusted-proxy 127.0.0.1/32`), each forwarded
/// client has its own address limit, and the chain is read right to left: what the client
/// wrote itself, left of what the proxy appended, does not matter.
#[tokio::test]
async fn through_a_trusted_proxy_each_forwarded_client_is_throttled() {
    let server = Server::spawn_with(
        tempfile::tempdir().expect("temp dir"),
        &["--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "127.0.0.1/32"],
    );
    let app = web_app(&server, "proxied");
    let sprayer = "198.51.100.7";
    for i in 0..20 {
        // The sprayer pretends to be someone else; the proxy appends its real address.
        let page = attempt(
            &from(&server, &format!("192.0.2.{i}, {sprayer}")),
            &app,
            &format!("user{i}@example.com"),
            "wrong password",
        )
        .await;
        assert_eq!(page.status, 400, "attempt {i}: {}", page.body);
    }
    // A forged left part does not get the sprayer out of its lock, nor does a trusted hop.
    for chain in [
        sprayer.to_owned(),
        format!("1.2.3.4, {sprayer}"),
        format!("{sprayer}, 10.1.2.3"),
    ] {
        let page = attempt(&from(&server, &chain), &app, "someone@example.com", "wrong password").await;
        assert_throttled(&page);
    }
    // Others behind the same proxy are not locked: the next client, one who (left of the
    // proxy's entry) claims to be the sprayer, and a request with nothing forwarded.
    for chain in ["198.51.100.8", "198.51.100.7, 198.51.100.9"] {
        let page = attempt(&from(&server, chain), &app, "someone@example.com", "wrong password").await;
        assert_eq!(page.status, 400, "{chain}: {}", page.body);
    }
    let page = attempt(&Browser::new(&server), &app, "someone@example.com", "wrong password").await;
    assert_eq!(page.status, 400, "{}", page.body);
}
