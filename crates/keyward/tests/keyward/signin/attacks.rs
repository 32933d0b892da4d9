//! What an attacker tries against the hosted pages: open redirects, cross-site form posts,
//! password guessing, markup in what users type.

use super::browser::{Browser, Page};
use super::flow::*;
use super::flows::urlencode;
use crate::common::{Server, claims_of};

fn assert_no_redirect(page: &Page, context: &str) {
    assert!(
        page.location().is_none(),
        "{context}: redirected to {:?}",
        page.location()
    );
    for sink in ["href=\"http", "action=\"http", "<form", "<script", "http-equiv"] {
        assert!(
            !page.body.contains(sink),
            "{context}: the page could send the browser on ({sink}): {}",
            page.body
        );
    }
}

#[tokio::test]
async fn unregistered_redirect_uris_get_an_error_page_never_a_redirect() {
    let server = Server::start();
    let app = web_app(&server, "victim");
    let browser = Browser::new(&server);
    let (_, challenge) = pkce();
    for evil in [
        "https://evil.example/steal",
        "https://localhost:3000.evil.example/auth/redirect",
        "https://localhost:3000/auth/redirect/../x",
        "https://localhost:3000/auth/redirect.evil.example",
        "https://localhost:3000/auth/redirect?next=https://evil.example",
        "https://localhost:3000@evil.example/auth/redirect",
        "https://LOCALHOST:3000/auth/redirect",
        "http://localhost:3000/auth/redirect",
    ] {
        let mut target = app.clone();
        target.redirect = evil.into();
        // Even with other errors in the request, which would otherwise be redirected.
        for extra in [&[][..], &[("response_type", "token")][..], &[("prompt", "none")][..]] {
            let page = browser.get(&authorize_url(&target, &challenge, extra)).await;
            assert_eq!(page.status, 400, "{evil}: {}", page.body);
            assert_no_redirect(&page, evil);
            assert!(page.body.contains("AADSTS50011"), "{}", page.body);
            assert_eq!(page.header("x-frame-options"), Some("DENY"));
        }
    }
    // An unknown client: the same.
    let mut unknown = app.clone();
    unknown.app_id = uuid::Uuid::new_v4().to_string();
    unknown.redirect = "https://evil.example/".into();
    let page = browser.get(&authorize_url(&unknown, &challenge, &[])).await;
    assert_eq!(page.status, 400);
    assert_no_redirect(&page, "unknown client");
    // The registered URI still works.
    let page = browser.get(&authorize_url(&app, &challenge, &[])).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

#[tokio::test]
async fn unregistered_post_logout_redirect_uris_are_not_followed() {
    let server = Server::start();
    let app = web_app(&server, "logout");
    let (browser, tokens) = signed_up_tokens(&server, &app, "bye@example.com").await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    for (evil, hint) in [
        ("https://evil.example/", "client_id"),
        ("https://localhost:3000.evil.example/", "client_id"),
        ("https://localhost:3000/evil", "id_token_hint"),
        ("https://evil.example/", "none"),
    ] {
        let extra = match hint {
            "client_id" => format!("&client_id={}", app.app_id),
            "id_token_hint" => format!("&id_token_hint={id_token}"),
            _ => String::new(),
        };
        let page = browser
            .get(&format!(
                "/contoso/oauth2/v2.0/logout?post_logout_redirect_uri={}{extra}&state=s",
                urlencode(evil)
            ))
            .await;
        assert_eq!(page.status, 200, "{evil}");
        assert_no_redirect(&page, evil);
        assert!(page.body.contains("You have signed out"), "{}", page.body);
    }
    // Registered, found through the ID token hint: followed.
    let page = browser
        .get(&format!(
            "/contoso/oauth2/v2.0/logout?post_logout_redirect_uri={}&id_token_hint={id_token}",
            urlencode(REDIRECT)
        ))
        .await;
    assert_eq!(page.status, 302);
    assert_eq!(page.location().as_deref(), Some(REDIRECT));
}

#[tokio::test]
async fn sign_in_posts_without_the_csrf_token_are_refused() {
    let server = Server::start();
    let app = web_app(&server, "csrf");
    let browser = Browser::new(&server);
    let (_, challenge) = pkce();
    code_of(&sign_up(&browser, &app, &challenge, "csrf@example.com", "C").await);
    browser.forget_cookies();

    let page = browser.get(&authorize_url(&app, &challenge, &[])).await;
    let form = page.form();
    let fields = |csrf: Option<&str>| {
        let mut f: Vec<(String, String)> = form
            .fields
            .iter()
            .filter(|(n, _)| !["csrf", "email", "password"].contains(&n.as_str()))
            .cloned()
            .collect();
        f.push(("email".into(), "csrf@example.com".into()));
        f.push(("password".into(), PASSWORD.into()));
        if let Some(csrf) = csrf {
            f.push(("csrf".into(), csrf.into()));
        }
        f
    };
    // No token.
    let refused = browser.post(&form.action, &fields(None)).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.location().is_none());
    // A wrong token, and another browser's token.
    let refused = browser
        .post(&form.action, &fields(Some("AQIDBAUGBwgJCgsMDQ4PEA")))
        .await;
    assert_eq!(refused.status, 403);
    let attacker = Browser::new(&server);
    let their_page = attacker.get(&authorize_url(&app, &challenge, &[])).await;
    let their_token = their_page.form().field("csrf").unwrap().to_owned();
    let refused = browser.post(&form.action, &fields(Some(&their_token))).await;
    assert_eq!(refused.status, 403);
    // The right token, but the cookie gone (a cross-site post without our cookie).
    let own_token = form.field("csrf").unwrap().to_owned();
    let cookieless = Browser::new(&server);
    let refused = cookieless.post(&form.action, &fields(Some(&own_token))).await;
    assert_eq!(refused.status, 403);
    // No session came of any of it.
    assert!(browser.cookie_names().iter().all(|c| !c.contains("session")));
    // And the real form works.
    let ok = browser.post(&form.action, &fields(Some(&own_token))).await;
    code_of(&ok);
}

#[tokio::test]
async fn password_guessing_is_throttled_without_telling_whether_the_account_exists() {
    let server = Server::start();
    let app = web_app(&server, "guess");
    let browser = Browser::new(&server);
    let (_, challenge) = pkce();
    code_of(&sign_up(&browser, &app, &challenge, "guess@example.com", "G").await);
    browser.forget_cookies();

    let mut wrong_messages = Vec::new();
    for i in 0..5 {
        let page = sign_in(
            &browser,
            &app,
            &challenge,
            "guess@example.com",
            &format!("wrong password {i}"),
        )
        .await;
        assert_eq!(page.status, 400, "{}", page.body);
        wrong_messages.push(page.error_message().unwrap());
    }
    // The sixth attempt, with the right password: refused.
    let page = sign_in(&browser, &app, &challenge, "guess@example.com", PASSWORD).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.location().is_none());
    let locked = page.error_message().unwrap();
    assert!(locked.contains("Too many"), "{locked}");
    assert!(browser.cookie_names().iter().all(|c| !c.contains("session")));

    // An account that does not exist: the same answers, in the same order.
    let mut unknown_messages = Vec::new();
    for i in 0..5 {
        let page = sign_in(
            &browser,
            &app,
            &challenge,
            "nobody@example.com",
            &format!("wrong password {i}"),
        )
        .await;
        assert_eq!(page.status, 400);
        unknown_messages.push(page.error_message().unwrap());
    }
    assert_eq!(wrong_messages, unknown_messages);
    let page = sign_in(&browser, &app, &challenge, "nobody@example.com", PASSWORD).await;
    assert_eq!(page.status, 429);
    assert_eq!(page.error_message().unwrap(), locked);
    assert!(!locked.to_lowercase().contains("exist") && !wrong_messages[0].to_lowercase().contains("exist"));

    // Timing: an unknown account costs a password hash too (not a fast path). Loose bounds:
    // the two are of the same order.
    let time = |email: &'static str| {
        let browser = &browser;
        let app = &app;
        let challenge = challenge.clone();
        async move {
            let page = browser.get(&authorize_url(app, &challenge, &[])).await;
            let start = std::time::Instant::now();
            browser
                .submit(&page, &[("email", email), ("password", "x-wrong-x")])
                .await;
            start.elapsed()
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("pw");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    server.keyward(&[
        "user",
        "create",
        "--email",
        "timing@example.com",
        "--password-file",
        password_file.to_str().unwrap(),
    ]);
    let known = time("timing@example.com").await;
    let unknown = time("timing-nobody@example.com").await;
    let (fast, slow) = if known < unknown {
        (known, unknown)
    } else {
        (unknown, known)
    };
    assert!(
        slow < fast * 5 + std::time::Duration::from_millis(50),
        "known {known:?}, unknown {unknown:?}"
    );
}

#[tokio::test]
async fn markup_in_a_display_name_is_escaped_everywhere_it_is_shown() {
    let server = Server::start();
    let app = web_app(&server, "Shop <b>bold</b>");
    let markup = "<script>alert(1)</script>";
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let page = browser
        .get(&authorize_url(&app, &challenge, &[("prompt", "create")]))
        .await;
    assert!(!page.body.contains("<b>bold</b>"), "the app name is escaped");

    // A refused sign-up shows the name again: escaped.
    let refused = browser
        .submit(
            &page,
            &[
                ("email", "mark@example.com"),
                ("display_name", markup),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_escaped(&refused, markup);
    assert_eq!(refused.form().field("display_name"), Some(markup), "prefilled as typed");
    assert!(refused.error_message().unwrap().contains("too short"));

    // Accepted: the name is stored as typed.
    let ok = browser
        .submit(
            &refused,
            &[
                ("email", "mark@example.com"),
                ("display_name", markup),
                ("password", PASSWORD),
            ],
        )
        .await;
    let code = code_of(&ok);
    let (_, tokens) = redeem(&server, &app, &code, Some(&verifier)).await;
    assert_eq!(claims_of(tokens["id_token"].as_str().unwrap())["name"], markup);
    let listed = server.keyward(&["user", "show", "mark@example.com"]);
    assert_eq!(listed["displayName"], markup);

    // prompt=login shows who is signed in: escaped.
    let (_, challenge) = pkce();
    let again = browser
        .get(&authorize_url(&app, &challenge, &[("prompt", "login")]))
        .await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("You are signed in as"), "{}", again.body);
    assert_escaped(&again, markup);

    // The signed-out page says goodbye by name: escaped.
    let out = browser.get("/contoso/oauth2/v2.0/logout").await;
    assert_eq!(out.status, 200);
    assert!(out.body.contains("Goodbye,"), "{}", out.body);
    assert_escaped(&out, markup);

    // Markup in state is escaped in the form_post page too.
    let (_, challenge) = pkce();
    let state = "\"><script>alert(2)</script>";
    let page = browser
        .get(&authorize_url(
            &app,
            &challenge,
            &[("response_mode", "form_post"), ("state", state), ("prompt", "none")],
        ))
        .await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>alert(2)"), "{}", page.body);
    assert_eq!(page.form().field("state"), Some(state));
    assert_eq!(page.form().field("error"), Some("login_required"));
}

fn assert_escaped(page: &Page, markup: &str) {
    assert!(!page.body.contains(markup), "raw markup on the page: {}", page.body);
    assert!(
        page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || page.body.contains("&lt;script&gt;"),
        "the escaped name is on the page: {}",
        page.body
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(!csp.contains("unsafe-inline"));
}
