//! One test per refusal of the admin center.

use super::{admin, sign_in_as, user};
use crate::common::Server;
use crate::signin::browser::Browser;

/// A new-registration form post with `csrf`.
fn new_app(csrf: &str, name: &str) -> Vec<(String, String)> {
    vec![
        ("csrf".into(), csrf.into()),
        ("name".into(), name.into()),
        ("redirect_uris".into(), String::new()),
    ]
}

fn app_names(server: &Server) -> String {
    server.keyward(&["app", "list"]).to_string()
}

#[tokio::test]
async fn a_customer_without_a_role_is_told_which_role_is_needed_and_gets_no_session() {
    let server = Server::start();
    user(&server, "customer@example.com", &[]);
    let browser = Browser::new(&server);
    let page = sign_in_as(&browser, "customer@example.com").await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("You need the Application Administrator role"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("keyward user role add customer@example.com app-admin")
    );
    assert!(browser.cookie("__Host-keyward-admin").is_none());
    let overview = browser.get("/admin/").await;
    assert_eq!(overview.status, 303, "still not signed in");
}

#[tokio::test]
async fn a_global_reader_sees_pages_but_cannot_change_anything() {
    let server = Server::start();
    let browser = admin(&server, "reader@example.com", "global-reader").await;
    let list = browser.get("/admin/apps").await;
    assert_eq!(list.status, 200);
    assert!(
        !list.body.contains("New registration"),
        "no button for what the role cannot do"
    );
    let form = browser.get("/admin/apps/new").await;
    assert_eq!(form.status, 403);
    let csrf = list.form_to("/admin/signout").field("csrf").unwrap().to_owned();
    let refused = browser.post("/admin/apps/new", &new_app(&csrf, "reader-app")).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("Global Reader"), "{}", refused.body);
    assert!(refused.body.contains("Application Administrator"));
    assert!(!app_names(&server).contains("reader-app"));
}

#[tokio::test]
async fn a_role_taken_away_during_a_session_takes_effect_at_the_next_request() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    assert_eq!(browser.get("/admin/apps").await.status, 200);
    server.keyward(&["user", "role", "remove", "ada@example.com", "app-admin"]);
    let page = browser.get("/admin/apps").await;
    assert_eq!(page.status, 403, "{}", page.body);
}

#[tokio::test]
async fn a_form_without_this_sessions_csrf_token_is_refused() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let missing = browser
        .post("/admin/apps/new", &[("name".into(), "no-token".into())])
        .await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    let forged = browser
        .post("/admin/apps/new", &new_app("AAAAforged", "forged-token"))
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(forged.body.contains("This form has expired"), "{}", forged.body);

    // Another session's token (another administrator's) does not fit this session.
    let other = admin(&server, "bob@example.com", "app-admin").await;
    let theirs = other.get("/admin/apps/new").await;
    let their_token = theirs.form_to("/admin/apps/new").field("csrf").unwrap().to_owned();
    let crossed = browser
        .post("/admin/apps/new", &new_app(&their_token, "crossed-token"))
        .await;
    assert_eq!(crossed.status, 403, "{}", crossed.body);
    let names = app_names(&server);
    for name in ["no-token", "forged-token", "crossed-token"] {
        assert!(!names.contains(name), "{name} was created");
    }
}

#[tokio::test]
async fn a_cross_site_post_is_refused_even_with_a_valid_token() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let page = browser.get("/admin/apps/new").await;
    let csrf = page.form_to("/admin/apps/new").field("csrf").unwrap().to_owned();
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
    ] {
        let attacker = Browser::with_headers(&server, &headers);
        for name in browser.cookie_names() {
            attacker.set_cookie(&name, &browser.cookie(&name).unwrap());
        }
        let refused = attacker
            .post("/admin/apps/new", &new_app(&csrf, "cross-site-app"))
            .await;
        assert_eq!(refused.status, 403, "{headers:?}: {}", refused.body);
        assert!(refused.body.contains("another site"), "{}", refused.body);
    }
    assert!(!app_names(&server).contains("cross-site-app"));
    // The same form from the admin center's own origin goes through.
    let same = Browser::with_headers(&server, &[("sec-fetch-site", "same-origin")]);
    for name in browser.cookie_names() {
        same.set_cookie(&name, &browser.cookie(&name).unwrap());
    }
    let ok = same.post("/admin/apps/new", &new_app(&csrf, "same-site-app")).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
}

#[tokio::test]
async fn markup_in_an_application_name_is_shown_as_text() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let page = browser.get("/admin/apps/new").await;
    let csrf = page.form_to("/admin/apps/new").field("csrf").unwrap().to_owned();
    let name = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let created = browser.post("/admin/apps/new", &new_app(&csrf, name)).await;
    assert_eq!(created.status, 303, "{}", created.body);
    for path in [created.location().unwrap(), "/admin/apps".into(), "/admin/".into()] {
        let shown = browser.get(&path).await;
        assert!(!shown.body.contains("<script>alert"), "{path}: {}", shown.body);
        assert!(!shown.body.contains("<img src=x"), "{path}");
    }
    let app = browser.get(&created.location().unwrap()).await;
    assert!(
        app.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || app.body.contains("&#60;script"),
        "{}",
        app.body
    );
}

#[tokio::test]
async fn a_session_cookie_is_dead_after_sign_out() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let stolen = browser.cookie("__Host-keyward-admin").expect("a session");
    let page = browser.get("/admin/").await;
    let csrf = page.form_to("/admin/signout").field("csrf").unwrap().to_owned();
    let out = browser.post("/admin/signout", &[("csrf".into(), csrf.clone())]).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert!(
        out.location().unwrap().contains("/oauth2/v2.0/logout"),
        "the authority's session ends too"
    );
    assert!(
        browser.cookie("__Host-keyward-admin").is_none(),
        "the cookie is deleted"
    );

    let replay = Browser::new(&server);
    replay.set_cookie("__Host-keyward-admin", &stolen);
    let refused = replay.get("/admin/").await;
    assert_eq!(refused.status, 303, "{}", refused.body);
    assert!(refused.location().unwrap().starts_with("/admin/signin"));
    let post = replay.post("/admin/apps/new", &new_app(&csrf, "after-sign-out")).await;
    assert_eq!(post.status, 401, "{}", post.body);
    assert!(!app_names(&server).contains("after-sign-out"));
}

#[tokio::test]
async fn a_forged_or_tampered_session_cookie_is_not_a_session() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let mut cookie = browser.cookie("__Host-keyward-admin").unwrap();
    let last = cookie.pop().unwrap();
    cookie.push(if last == 'A' { 'B' } else { 'A' });
    let tampered = Browser::new(&server);
    tampered.set_cookie("__Host-keyward-admin", &cookie);
    assert_eq!(tampered.get("/admin/").await.status, 303);
}

#[tokio::test]
async fn return_to_cannot_send_the_browser_elsewhere() {
    let server = Server::start();
    user(&server, "ada@example.com", &["app-admin"]);
    for target in [
        "https://evil.example/",
        "//evil.example/admin/",
        "/admin/\\evil.example",
    ] {
        let browser = Browser::new(&server);
        let start = browser
            .get(&format!("/admin/signin?return_to={}", urlencode(target)))
            .await;
        let form = browser.get(&start.location().unwrap()).await;
        let back = browser
            .submit(&form, &[("email", "ada@example.com"), ("password", super::PASSWORD)])
            .await;
        let done = browser.get(&back.location().unwrap()).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("url=/admin/\""), "{target}: {}", done.body);
        assert!(!done.body.contains("evil"), "{target}: {}", done.body);
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
