//! Sign-up that proves the email (issue 16): with `--smtp-url`, a one-time code goes through a
//! real SMTP conversation to a receiver the test runs, and only the right code, in time, once,
//! before too many wrong ones, creates the account, whose ID token then says
//! `email_verified: true`. Also, with or without mail: look-alike addresses are refused, and
//! sign-ups from one address are limited.

use std::process::{Command, Stdio};

use keyward_authority::MasterKey;
use keyward_authority::sign_up_code::PendingSignUp;
use time::OffsetDateTime;

use super::browser::{Browser, Page};
use super::flow::*;
use super::mailbox::{Mailbox, code_in};
use crate::common::{Server, claims_of};

fn server_with_mail(mailbox: &Mailbox) -> Server {
    let url = mailbox.url();
    Server::start_with(tempfile::tempdir().unwrap(), |settings| {
        settings.smtp(&url, "keyward@example.com").expect("SMTP settings")
    })
}

/// Fills in the "enter the code" page with `code`.
async fn enter(browser: &Browser, page: &Page, code: &str) -> Page {
    assert!(
        page.body.contains(r#"autocomplete="one-time-code""#),
        "not the code page: {}",
        page.body
    );
    browser.submit(page, &[("code", code)]).await
}

fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10))
        .collect()
}

async fn tenant_id(server: &Server) -> uuid::Uuid {
    let discovery = server.get_json("/contoso/v2.0/.well-known/openid-configuration").await;
    let issuer = discovery["issuer"].as_str().unwrap();
    issuer
        .trim_end_matches("/v2.0")
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn sign_up_proves_the_email_with_a_mailed_code() {
    let mailbox = Mailbox::start();
    let server = server_with_mail(&mailbox);
    let app = web_app(&server, "webapp");
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();

    let page = sign_up(&browser, &app, &challenge, "Alice@Example.com", "Alice").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("alice@example.com"), "{}", page.body);
    let mails = mailbox.to("alice@example.com");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].from, "keyward@example.com");
    let code = mailbox.code_for("alice@example.com");
    assert!(!page.body.contains(&code), "the page must not hold the code");
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("default-src 'none'"))
    );

    // No account before the code: signing in is refused.
    let early = sign_in(&Browser::new(&server), &app, &challenge, "alice@example.com", PASSWORD).await;
    assert_eq!(early.status, 400, "{}", early.body);

    // A wrong code is refused, and says how many tries are left.
    let refused = enter(&browser, &page, &wrong(&code)).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let message = refused.error_message().unwrap();
    assert!(
        message.contains("not right") && message.contains("4 tries left"),
        "{message}"
    );

    // The right one creates the account and answers the application.
    let done = enter(&browser, &refused, &code).await;
    let (status, tokens) = redeem(&server, &app, &code_of(&done), Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    let id = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["email_verified"], true, "{id}");
    assert_eq!(id["preferred_username"], "alice@example.com");
    assert_eq!(id["name"], "Alice");

    // The code is single-use.
    let again = enter(&browser, &refused, &code).await;
    assert_ne!(again.status, 302, "{}", again.body);
    assert!(
        again.error_message().unwrap().contains("already used"),
        "{}",
        again.body
    );

    // The account signs in with the password chosen on the form.
    let signed_in = sign_in(&Browser::new(&server), &app, &challenge, "alice@example.com", PASSWORD).await;
    code_of(&signed_in);

    // A sign-up for a taken address sends no mail.
    let taken = sign_up(&Browser::new(&server), &app, &challenge, "alice@example.com", "Other").await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert_eq!(mailbox.mails().len(), 1);
}

#[tokio::test]
async fn too_many_wrong_codes_and_expired_codes_are_refused() {
    let mailbox = Mailbox::start();
    let server = server_with_mail(&mailbox);
    let app = web_app(&server, "webapp");
    let browser = Browser::new(&server);
    let (_, challenge) = pkce();

    let mut page = sign_up(&browser, &app, &challenge, "bob@example.com", "Bob").await;
    let code = mailbox.code_for("bob@example.com");
    let first = page.form();
    for left in (1..5).rev() {
        page = enter(&browser, &page, &wrong(&code)).await;
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(
            page.error_message().unwrap().contains(&format!("{left} tries left")),
            "{}",
            page.body
        );
    }
    let fifth = enter(&browser, &page, &wrong(&code)).await;
    assert_eq!(fifth.status, 429, "{}", fifth.body);
    assert!(
        fifth.error_message().unwrap().contains("Too many wrong codes"),
        "{}",
        fifth.body
    );
    // Now even the right code is refused.
    let right = enter(&browser, &page, &code).await;
    assert_eq!(right.status, 429, "{}", right.body);
    let fields: Vec<(String, String)> = first
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), if k == "code" { code.clone() } else { v.clone() }))
        .collect();
    let from_first = browser.post(&first.action, &fields).await;
    assert_eq!(from_first.status, 429, "{}", from_first.body);

    // A code past its ten minutes is refused. The pending sign-up is sealed with the server's
    // master key, which this test reads from the data directory to make one sent 11 minutes ago.
    let page = sign_up(&browser, &app, &challenge, "carol@example.com", "Carol").await;
    assert!(code_in(&mailbox.to("carol@example.com")[0].data).is_some());
    let master = MasterKey::from_bytes(&std::fs::read(server.data().join("master.key")).unwrap()).unwrap();
    let tenant = tenant_id(&server).await;
    let forge = |minutes_ago: i64| {
        PendingSignUp::new(
            tenant,
            "carol@example.com".into(),
            "Carol".into(),
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            "12345678",
            OffsetDateTime::now_utc() - time::Duration::minutes(minutes_ago),
        )
        .unwrap()
        .seal(&master)
        .unwrap()
    };
    let old = browser
        .submit(&page, &[("signup", forge(11).as_str()), ("code", "12345678")])
        .await;
    assert_eq!(old.status, 400, "{}", old.body);
    assert!(old.error_message().unwrap().contains("expired"), "{}", old.body);
    // The same made nine minutes ago is still good: it is the age that was refused.
    let recent = browser
        .submit(&page, &[("signup", forge(9).as_str()), ("code", "12345678")])
        .await;
    code_of(&recent);
    // A damaged one is refused too.
    let damaged = browser.submit(&page, &[("signup", "AAAA"), ("code", "12345678")]).await;
    assert_eq!(damaged.status, 400, "{}", damaged.body);
}

#[tokio::test]
async fn look_alike_addresses_are_refused() {
    let server = Server::start();
    let app = web_app(&server, "webapp");
    let (verifier, challenge) = pkce();
    // Without --smtp-url, sign-up is one step and the address is not verified.
    let browser = Browser::new(&server);
    let ann = sign_up(&browser, &app, &challenge, "ann@example.com", "Ann").await;
    let (status, tokens) = redeem(&server, &app, &code_of(&ann), Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(claims_of(tokens["id_token"].as_str().unwrap())["email_verified"], false);

    for (email, says) in [
        ("ann@example.com\u{200b}", "invisible character U+200B"),
        ("\u{ff41}nn@example.com", "U+FF41"),
        ("\u{feff}ann@example.com", "invisible character U+FEFF"),
        ("a\u{00ad}nn@example.com", "invisible character U+00AD"),
        ("\u{0430}nn@example.com", "U+0430"),
        // On their own, without a look-alike account.
        ("bob@example.com\u{200d}", "invisible character U+200D"),
        ("\u{ff42}ob@example.com", "'b'"),
    ] {
        let page = sign_up(&Browser::new(&server), &app, &challenge, email, "Look-alike").await;
        assert_eq!(page.status, 400, "{email:?}: {}", page.body);
        let message = page.error_message().unwrap();
        assert!(message.contains(says), "{email:?}: {message}");
    }

    // Administrators are refused the same, through the CLI and Graph.
    let password_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(password_file.path(), PASSWORD).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args([
            "user",
            "create",
            "--email",
            "ann@example.com\u{200b}",
            "--password-file",
        ])
        .arg(password_file.path())
        .arg("--data")
        .arg(server.data())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invisible character U+200B"), "{stderr}");
}

#[tokio::test]
async fn sign_ups_from_one_address_are_limited() {
    let server = Server::start();
    let app = web_app(&server, "webapp");
    let (_, challenge) = pkce();
    for i in 0..10 {
        let page = sign_up(
            &Browser::new(&server),
            &app,
            &challenge,
            &format!("user{i}@example.com"),
            "U",
        )
        .await;
        code_of(&page);
    }
    let eleventh = sign_up(&Browser::new(&server), &app, &challenge, "user10@example.com", "U").await;
    assert_eq!(eleventh.status, 429, "{}", eleventh.body);
    assert!(
        eleventh.error_message().unwrap().contains("Too many attempts"),
        "{}",
        eleventh.body
    );
}

#[tokio::test]
async fn keyward_serve_takes_the_mail_server_from_its_flags() {
    let mailbox = Mailbox::start();
    let url = mailbox.url();
    let server = Server::spawn_with(
        tempfile::tempdir().unwrap(),
        &["--smtp-url", &url, "--smtp-from", "sign-up@example.com"],
    );
    let app = web_app(&server, "webapp");
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let page = sign_up(&browser, &app, &challenge, "dora@example.com", "Dora").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mails = mailbox.to("dora@example.com");
    assert_eq!(mails[0].from, "sign-up@example.com");
    let done = enter(&browser, &page, &mailbox.code_for("dora@example.com")).await;
    let (status, tokens) = redeem(&server, &app, &code_of(&done), Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(claims_of(tokens["id_token"].as_str().unwrap())["email_verified"], true);

    // A mail server that cannot be reached: the form says so, and no account is made.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = gone.local_addr().unwrap().port();
    drop(gone);
    let server = Server::start_with(tempfile::tempdir().unwrap(), |settings| {
        settings
            .smtp(&format!("smtp://127.0.0.1:{port}"), "keyward@example.com")
            .unwrap()
    });
    let app = web_app(&server, "webapp");
    let page = sign_up(&Browser::new(&server), &app, &challenge, "erin@example.com", "Erin").await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(
        page.error_message().unwrap().contains("could not send a code"),
        "{}",
        page.body
    );
}
