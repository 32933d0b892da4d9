//! The admin center against a real server, driven by the tests' minimal browser: signing in
//! through `/authorize` as a user with a directory role, the session cookie, the pages'
//! headers, and one test per refusal (no role, a read-only role, CSRF, a cross-site POST,
//! markup in names, a session cookie used after sign-out, uploads). The same steps in a real
//! browser are `interop/browser`'s admin suite.

// An application's tabs: Certificates & secrets; Authentication, API permissions, App roles.
mod app_tabs;
pub(crate) mod credentials;
mod refusals;
mod session;
mod signing_keys;
mod users;
mod vault;

use crate::common::Server;
use crate::signin::browser::{Browser, Page};

/// Every administrator's password in these tests.
pub const PASSWORD: &str = "admin center pass 1";

/// Creates `email` with `roles` (CLI names; none: a customer).
pub fn user(server: &Server, email: &str, roles: &[&str]) {
    let file = server.data().join(format!("{email}.pw"));
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let mut args = vec![
        "user",
        "create",
        "--email",
        email,
        "--password-file",
        file.to_str().unwrap(),
    ];
    for role in roles {
        args.extend(["--role", role]);
    }
    server.keyward(&args);
}

/// Signs `email` in to the admin center from `/admin/` as a person would: the redirect to the
/// authority, the sign-in form, the callback. Returns the callback's answer.
pub async fn sign_in_as(browser: &Browser, email: &str) -> Page {
    let start = browser.get("/admin/").await;
    assert_eq!(start.status, 303, "{}", start.body);
    let signin = start.location().expect("to sign-in");
    assert!(signin.starts_with("/admin/signin"), "{signin}");
    let to_authority = browser.get(&signin).await;
    assert_eq!(to_authority.status, 303, "{}", to_authority.body);
    let authorize = to_authority.location().expect("to /authorize");
    assert!(authorize.contains("/oauth2/v2.0/authorize?"), "{authorize}");
    assert!(authorize.contains("code_challenge_method=S256"), "{authorize}");
    let form = browser.get(&authorize).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let back = browser.submit(&form, &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(back.status, 302, "{}", back.body);
    let callback = back.location().expect("to the callback");
    assert!(callback.contains("/admin/callback?"), "{callback}");
    browser.get(&callback).await
}

/// A browser signed in to the admin center as a new user holding `role`.
pub async fn admin(server: &Server, email: &str, role: &str) -> Browser {
    user(server, email, &[role]);
    let browser = Browser::new(server);
    let page = sign_in_as(&browser, email).await;
    assert_eq!(page.status, 200, "{}", page.body);
    browser
}
