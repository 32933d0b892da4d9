//! Users in the admin center: created in the page then signing in through the hosted page,
//! disabled, given a new password (typed or generated), given a role that opens the admin
//! center; the refusals (an Application Administrator, the last Global Administrator).

use super::{PASSWORD, admin, sign_in_as, user};
use crate::common::Server;
use crate::signin::browser::{Browser, Page, decode};
use crate::signin::flow::{WebApp, pkce, sign_in, web_app};

/// The session's CSRF token, from the sign-out form every page has.
fn csrf(page: &Page) -> String {
    page.form_to("/admin/signout").field("csrf").expect("csrf").to_owned()
}

/// The fields of a form post: the token, then `fields`.
fn form(csrf: &str, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = vec![("csrf".to_owned(), csrf.to_owned())];
    all.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    all
}

/// The status of `email`'s sign-in to `app` through the hosted page: 302 (back to the app with
/// a code), 403 (disabled), 400 (wrong password).
async fn sign_in_status(server: &Server, app: &WebApp, email: &str, password: &str) -> u16 {
    let browser = Browser::new(server);
    let (_, challenge) = pkce();
    sign_in(&browser, app, &challenge, email, password).await.status
}

/// Creates `email` with `fields` (password, roles, ...) through New user; returns the answer.
async fn create(browser: &Browser, email: &str, fields: &[(&str, &str)]) -> Page {
    let page = browser.get("/admin/users/new").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut all = vec![("email", email)];
    all.extend_from_slice(fields);
    browser.post("/admin/users/new", &form(&csrf(&page), &all)).await
}

/// The user's object id, from the `Location` of an action on their page.
fn user_path(answer: &Page) -> String {
    assert_eq!(answer.status, 303, "{}", answer.body);
    let location = answer.location().expect("Location");
    location.split('?').next().unwrap().to_owned()
}

/// The path of `email`'s page.
fn page_of(server: &Server, email: &str) -> String {
    let shown = server.keyward(&["user", "show", email]);
    format!("/admin/users/{}", shown["id"].as_str().expect("id"))
}

/// The text of the one-time password an answer shows.
fn shown_password(page: &Page) -> String {
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("it is never shown again"), "{}", page.body);
    let start = page.body.find("id=\"new-password-value\"").expect("the password");
    let text = &page.body[start..];
    let open = text.find('>').unwrap() + 1;
    let close = text.find("</code>").unwrap();
    decode(&text[open..close])
}

#[tokio::test]
async fn a_user_created_in_the_page_signs_in_and_is_disabled_reset_and_deleted() {
    let server = Server::start();
    let app = web_app(&server, "users-app");
    let root = admin(&server, "root@example.com", "global-admin").await;

    // A refused password: the form comes back with the typed values, not the password.
    let weak = create(
        &root,
        "carol@example.com",
        &[
            ("display_name", "Carol <C>"),
            ("password", "short"),
            ("password_repeat", "short"),
        ],
    )
    .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(weak.body.contains("role=\"alert\""), "{}", weak.body);
    assert!(weak.body.contains("too short"), "{}", weak.body);
    let again = weak.form_to("/admin/users/new");
    assert_eq!(again.field("email"), Some("carol@example.com"));
    assert_eq!(again.field("display_name"), Some("Carol <C>"));
    assert_eq!(again.field("password"), Some(""), "a password is never sent back");
    let differ = create(
        &root,
        "carol@example.com",
        &[
            ("password", "first password 1"),
            ("password_repeat", "other password 1"),
        ],
    )
    .await;
    assert_eq!(differ.status, 422);
    assert!(differ.body.contains("The two passwords differ"), "{}", differ.body);

    let created = create(
        &root,
        "carol@example.com",
        &[
            ("display_name", "Carol"),
            ("password", "carol first pass"),
            ("password_repeat", "carol first pass"),
        ],
    )
    .await;
    let path = user_path(&created);
    assert!(created.location().unwrap().ends_with("?done=created"));
    let page = root.get(&created.location().unwrap()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("The user was created."), "{}", page.body);
    assert!(
        page.body.contains("Created the user carol@example.com"),
        "audited: {}",
        page.body
    );
    let list = root.get("/admin/users?q=CAROL").await;
    assert!(list.body.contains("carol@example.com"), "{}", list.body);
    assert!(!list.body.contains("root@example.com</a>"), "the search filters");
    assert_eq!(
        sign_in_status(&server, &app, "carol@example.com", "carol first pass").await,
        302,
        "the new user signs in through the hosted page"
    );

    // Disable: asked first (the no-JS page), then done; the sign-in is refused.
    let token = csrf(&page);
    let asked = root
        .post(&format!("{path}/disable"), &form(&token, &[("confirmed", "")]))
        .await;
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("Disable carol@example.com?"), "{}", asked.body);
    let disabled = root
        .post(&format!("{path}/disable"), &form(&token, &[("confirmed", "yes")]))
        .await;
    assert_eq!(disabled.location().unwrap(), format!("{path}?done=disabled"));
    assert_eq!(
        sign_in_status(&server, &app, "carol@example.com", "carol first pass").await,
        403
    );
    let enabled = root.post(&format!("{path}/enable"), &form(&token, &[])).await;
    assert_eq!(enabled.status, 303, "{}", enabled.body);
    assert_eq!(
        sign_in_status(&server, &app, "carol@example.com", "carol first pass").await,
        302
    );

    // Reset, typed: the new password works, the old one not. A weak one is explained.
    let weak = root
        .post(
            &format!("{path}/password"),
            &form(
                &token,
                &[
                    ("password", "carol@example.com"),
                    ("password_repeat", "carol@example.com"),
                ],
            ),
        )
        .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(
        decode(&weak.body).contains("cannot be your email address"),
        "{}",
        weak.body
    );
    let reset = root
        .post(
            &format!("{path}/password"),
            &form(
                &token,
                &[
                    ("password", "carol second pass"),
                    ("password_repeat", "carol second pass"),
                ],
            ),
        )
        .await;
    assert_eq!(reset.location().unwrap(), format!("{path}?done=password"));
    assert_eq!(
        sign_in_status(&server, &app, "carol@example.com", "carol first pass").await,
        400
    );
    assert_eq!(
        sign_in_status(&server, &app, "carol@example.com", "carol second pass").await,
        302
    );

    // Reset, generated: shown once, and it works.
    let generated = root
        .post(&format!("{path}/password"), &form(&token, &[("generate", "yes")]))
        .await;
    let password = shown_password(&generated);
    assert!(password.len() >= 20, "{password}");
    assert_eq!(sign_in_status(&server, &app, "carol@example.com", &password).await, 302);
    assert_eq!(
        sign_in_status(&server, &app, "carol@example.com", "carol second pass").await,
        400
    );
    let later = root.get(&path).await;
    assert!(!later.body.contains(&password), "never shown again");
    for secret in ["carol first pass", "carol second pass", password.as_str()] {
        assert!(!later.body.contains(secret), "no password in the audit log");
    }
    assert!(
        later.body.contains("Reset the password of carol@example.com"),
        "{}",
        later.body
    );

    // Delete: gone, and the sign-in refused.
    let deleted = root
        .post(&format!("{path}/delete"), &form(&token, &[("confirmed", "yes")]))
        .await;
    assert_eq!(deleted.location().unwrap(), "/admin/users?done=deleted");
    assert_eq!(root.get(&path).await.status, 404);
    assert!(!root.get("/admin/users").await.body.contains("carol@example.com"));
    assert_ne!(sign_in_status(&server, &app, "carol@example.com", &password).await, 302);
}

#[tokio::test]
async fn a_generated_password_and_the_application_administrator_role_open_the_admin_center() {
    let server = Server::start();
    let root = admin(&server, "root@example.com", "global-admin").await;
    let created = create(&root, "dan@example.com", &[("generate", "yes")]).await;
    let password = shown_password(&created);
    assert!(
        created.body.contains("data-copy=\"new-password-value\""),
        "a copy button"
    );

    // No role: the admin center refuses them.
    let reset = page_of(&server, "dan@example.com");
    let token = csrf(&root.get(&reset).await);
    let set = root
        .post(
            &format!("{reset}/password"),
            &form(&token, &[("password", PASSWORD), ("password_repeat", PASSWORD)]),
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    assert_ne!(password, PASSWORD);
    let dan = Browser::new(&server);
    assert_eq!(sign_in_as(&dan, "dan@example.com").await.status, 403);

    let added = root
        .post(&format!("{reset}/roles/add"), &form(&token, &[("role", "app-admin")]))
        .await;
    assert_eq!(added.location().unwrap(), format!("{reset}?done=role-added"));
    let page = root.get(&reset).await;
    assert!(
        page.body
            .contains("Gave dan@example.com the Application Administrator role")
    );
    let dan = Browser::new(&server);
    let signed_in = sign_in_as(&dan, "dan@example.com").await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let apps = dan.get("/admin/apps").await;
    assert_eq!(apps.status, 200);
    assert!(apps.body.contains("Application Administrator"), "{}", apps.body);
}

#[tokio::test]
async fn an_application_administrator_reads_users_but_cannot_change_them() {
    let server = Server::start();
    user(&server, "eve@example.com", &[]);
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let list = browser.get("/admin/users").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("eve@example.com"));
    assert!(!list.body.contains("New user"), "no button for what the role cannot do");
    let path = page_of(&server, "eve@example.com");
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Reset password"), "{}", page.body);
    assert_eq!(browser.get("/admin/users/new").await.status, 403);

    let token = csrf(&page);
    for (action, fields) in [
        (
            "/admin/users/new".to_owned(),
            vec![("email", "mallory@example.com"), ("generate", "yes")],
        ),
        (format!("{path}/disable"), vec![("confirmed", "yes")]),
        (format!("{path}/password"), vec![("generate", "yes")]),
        (format!("{path}/roles/add"), vec![("role", "global-admin")]),
        (format!("{path}/delete"), vec![("confirmed", "yes")]),
    ] {
        let refused = browser.post(&action, &form(&token, &fields)).await;
        assert_eq!(refused.status, 403, "{action}: {}", refused.body);
        assert!(refused.body.contains("Global Administrator"), "{}", refused.body);
    }
    let shown = server.keyward(&["user", "show", "eve@example.com"]);
    assert_eq!(shown["accountEnabled"], true);
    let roles = server.keyward(&["user", "role", "list", "eve@example.com"]);
    assert_eq!(roles.as_array().unwrap().len(), 0, "{roles}");
    let users = server.keyward(&["user", "list"]).to_string();
    assert!(!users.contains("mallory@example.com"));
}

#[tokio::test]
async fn the_last_global_administrator_cannot_demote_disable_or_delete_themselves() {
    let server = Server::start();
    let root = admin(&server, "root@example.com", "global-admin").await;
    let list = root.get("/admin/users").await;
    let me = page_of(&server, "root@example.com");
    let token = csrf(&list);
    for (action, fields) in [
        (format!("{me}/roles/remove"), vec![("role", "global-admin")]),
        (format!("{me}/disable"), vec![("confirmed", "yes")]),
        (format!("{me}/delete"), vec![("confirmed", "yes")]),
    ] {
        let refused = root.post(&action, &form(&token, &fields)).await;
        assert_eq!(refused.status, 409, "{action}: {}", refused.body);
        assert!(
            decode(&refused.body).contains("You are the tenant's last enabled Global Administrator"),
            "{}",
            refused.body
        );
    }
    let shown = server.keyward(&["user", "role", "list", "root@example.com"]);
    assert_eq!(
        shown.as_array().unwrap().len(),
        1,
        "still a Global Administrator: {shown}"
    );
    assert_eq!(root.get("/admin/users").await.status, 200, "still signed in");

    // A disabled second Global Administrator does not count; an enabled one does.
    user(&server, "second@example.com", &["global-admin"]);
    server.keyward(&["user", "disable", "second@example.com"]);
    let refused = root
        .post(
            &format!("{me}/roles/remove"),
            &form(&token, &[("role", "global-admin")]),
        )
        .await;
    assert_eq!(refused.status, 409);
    server.keyward(&["user", "enable", "second@example.com"]);
    let removed = root
        .post(
            &format!("{me}/roles/remove"),
            &form(&token, &[("role", "global-admin")]),
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(root.get("/admin/users").await.status, 403, "no role left");
}

/// A tenant of many users is searched, not scrolled: the list shows the first 200 and says how
/// many there are; a search finds one past them. The users are read a page at a time.
#[tokio::test]
async fn the_user_list_shows_the_first_200_and_a_search_finds_the_rest() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "global-admin").await;
    let data = keyward_server::DataDir::new(server.data());
    let store = keyward_store::open(&data.database_url()).await.expect("the database");
    let tenant_id = data
        .read_json::<keyward_server::AdminInfo>("admin/admin.json")
        .unwrap()
        .tenant_id
        .parse()
        .unwrap();
    let ada = store
        .user_by_email(tenant_id, "ada@example.com")
        .await
        .unwrap()
        .expect("ada");
    let many: Vec<keyward_store::User> = (0..1_100)
        .map(|i| keyward_store::User {
            id: uuid::Uuid::new_v4(),
            email: format!("many-{i:04}@example.com"),
            display_name: format!("Many {i}"),
            directory_roles: Vec::new(),
            ..ada.clone()
        })
        .collect();
    store.insert_users(&many).await.unwrap();

    let list = browser.get("/admin/users").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body.matches("data-user-id=").count(), 200);
    assert!(list.body.contains("The first 200 of 1101 users"), "{}", list.body);
    assert!(list.body.contains("ada@example.com"), "sorted by email, ada is first");
    assert!(!list.body.contains("many-0199@"), "{}", list.body);

    let found = browser.get("/admin/users?q=many-1099").await;
    assert_eq!(found.body.matches("data-user-id=").count(), 1, "{}", found.body);
    assert!(found.body.contains("many-1099@example.com"), "{}", found.body);
    assert!(found.body.contains("1 of 1101 users"), "{}", found.body);
}
