//! Signing in and out of the admin center, and what its pages are sent with.

use super::{admin, sign_in_as, user};
use crate::common::Server;
use crate::signin::browser::{Browser, decode};

#[tokio::test]
async fn an_application_administrator_signs_in_through_authorize_and_sees_the_overview() {
    let server = Server::start();
    user(&server, "ada@example.com", &["app-admin"]);
    let browser = Browser::new(&server);
    let callback = sign_in_as(&browser, "ada@example.com").await;
    assert_eq!(callback.status, 200, "{}", callback.body);
    let set_cookie: Vec<_> = callback
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = set_cookie
        .iter()
        .find(|c| c.starts_with("__Host-keyward-admin="))
        .expect("a session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Domain"), "{session}");

    let overview = browser.get("/admin/").await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert!(overview.body.contains("ada@example.com"), "{}", overview.body);
    assert!(overview.body.contains("Application Administrator"));
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(server.data().join("admin/admin.json")).unwrap()).unwrap();
    let tenant_id = info["tenantId"].as_str().unwrap();
    assert!(overview.body.contains(tenant_id), "the tenant ID is shown");
    assert!(overview.body.contains("/oauth2/v2.0/token"), "the endpoints are shown");

    let csp = overview.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce");
    assert!(nonce.len() >= 16, "{csp}");
    assert!(
        overview.body.contains(&format!("<script nonce=\"{nonce}\"")),
        "the one script carries it"
    );
    assert_eq!(
        overview.body.matches("<script").count(),
        1,
        "no other script on the page"
    );
    let again = browser.get("/admin/").await;
    let other = again.header("content-security-policy").unwrap();
    assert_ne!(csp, other, "a fresh nonce per response");
    assert_eq!(overview.header("x-frame-options"), Some("DENY"));
    assert_eq!(overview.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn every_section_answers_a_signed_in_administrator() {
    let server = Server::start();
    let browser = admin(&server, "root@example.com", "global-admin").await;
    for path in ["/admin/", "/admin/apps", "/admin/apps/new"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
    }
    let unknown = browser.get(&format!("/admin/apps/{}", uuid_like())).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}

fn uuid_like() -> &'static str {
    "00000000-0000-4000-8000-000000000001"
}

#[tokio::test]
async fn a_registration_is_created_listed_searched_and_deleted() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let form = browser.get("/admin/apps/new").await;
    let created = browser
        .post(
            "/admin/apps/new",
            &[
                (
                    "csrf".into(),
                    form.form_to("/admin/apps/new").field("csrf").unwrap().into(),
                ),
                ("name".into(), "ciam-client-app".into()),
                ("redirect_uris".into(), "https://localhost:3000/redirect\n".into()),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let location = created.location().unwrap();
    let app = browser.get(&location).await;
    assert_eq!(app.status, 200);
    assert!(app.body.contains("The application was registered."));
    assert!(app.body.contains("Application (client) ID"));
    assert!(app.body.contains("https://localhost:3000/redirect"));
    assert!(
        decode(&app.body).contains("Registered \"ciam-client-app\""),
        "the audit log shows it"
    );
    let listed = server.keyward(&["app", "list"]);
    assert!(listed.to_string().contains("ciam-client-app"), "{listed}");

    let found = browser.get("/admin/apps?q=CIAM").await;
    assert!(found.body.contains("ciam-client-app"));
    let none = browser.get("/admin/apps?q=nothing-like-it").await;
    assert!(!none.body.contains(">ciam-client-app<"));
    assert!(none.body.contains("No application matches"));

    // Delete: without confirmation the server asks; with it, the app is gone.
    let delete = format!("{}/delete", location.split('?').next().unwrap());
    let csrf = app.form_to(&delete).field("csrf").unwrap().to_owned();
    let asked = browser.post(&delete, &[("csrf".into(), csrf.clone())]).await;
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("Delete ciam-client-app?"), "{}", asked.body);
    assert!(server.keyward(&["app", "list"]).to_string().contains("ciam-client-app"));
    let deleted = browser
        .post(&delete, &[("csrf".into(), csrf), ("confirmed".into(), "yes".into())])
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert!(!server.keyward(&["app", "list"]).to_string().contains("ciam-client-app"));
}

#[tokio::test]
async fn the_admin_center_client_is_not_an_app_registration() {
    let server = Server::start();
    let listed = server.keyward(&["app", "list"]);
    assert!(!listed.to_string().contains("Keyward admin center"), "{listed}");
}

#[tokio::test]
async fn changes_made_with_the_cli_appear_in_the_applications_audit_log() {
    let server = Server::start();
    let created = server.keyward(&["app", "create", "--name", "cli-made-app"]);
    server.keyward(&["app", "secret", "add", "cli-made-app", "--description", "from the cli"]);
    let browser = admin(&server, "ada@example.com", "global-reader").await;
    let page = browser
        .get(&format!("/admin/apps/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let text = decode(&page.body);
    assert!(
        text.contains("Registered \"cli-made-app\" through the management API"),
        "{text}"
    );
    assert!(
        text.contains("Client secret \"from the cli\" added through the management API"),
        "{text}"
    );
    assert!(
        text.contains("Keyward admin (CLI) (management API)"),
        "the application that did it: {text}"
    );
}
