//! `keyward user role` and `keyward user create --role` against a real server: directory roles
//! given, listed and taken, refusals that change nothing, and the `wids` of the ID token.

use super::browser::Browser;
use super::cli::{failure, json, keyward};
use super::flow::*;
use crate::common::{Server, claims_of};

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const APP_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";

/// The template ids of the roles `keyward user role list USER --json` shows.
fn listed(server: &Server, user: &str) -> Vec<String> {
    let list = json(&keyward(server, &["user", "role", "list", user, "--json"], ""));
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["roleDefinitionId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn user_role_commands_give_list_and_take_directory_roles() {
    let server = Server::start();
    let app = web_app(&server, "roles-app");
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("pw.txt");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let pw = password_file.to_str().unwrap();

    // create --role, repeated (and once twice): the user and its roles.
    let created = json(&keyward(
        &server,
        &[
            "user",
            "create",
            "--email",
            "ann@example.com",
            "--password-file",
            pw,
            "--role",
            "global-admin",
            "--role",
            "app-admin",
            "--role",
            "global-admin",
            "--json",
        ],
        "",
    ));
    assert_eq!(created["mail"], "ann@example.com");
    assert_eq!(listed(&server, "ann@example.com"), [GLOBAL_ADMIN, APP_ADMIN]);

    // A bad role is refused before anything is created.
    let bad = keyward(
        &server,
        &[
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--password-file",
            pw,
            "--role",
            "owner",
        ],
        "",
    );
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("not a directory role"), "{stderr}");
    failure(&keyward(&server, &["user", "show", "bob@example.com"], ""));

    // add: JSON is the assignment; twice is refused.
    let added = json(&keyward(
        &server,
        &["user", "role", "add", "ann@example.com", "global-reader", "--json"],
        "",
    ));
    assert_eq!(added["roleDefinitionId"], GLOBAL_READER);
    assert_eq!(added["principalId"], created["id"]);
    assert_eq!(added["directoryScopeId"], "/");
    let twice = failure(&keyward(
        &server,
        &["user", "role", "add", "ann@example.com", "global-reader"],
        "",
    ));
    assert!(twice.contains("already holds the Global Reader role"), "{twice}");
    let unknown = keyward(&server, &["user", "role", "add", "ann@example.com", "root"], "");
    assert!(!unknown.status.success());
    let missing = failure(&keyward(
        &server,
        &["user", "role", "add", "nobody@example.com", "app-admin"],
        "",
    ));
    assert!(missing.contains("nobody@example.com"), "{missing}");

    // list, as text.
    let text = keyward(&server, &["user", "role", "list", "ann@example.com"], "");
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("ROLE"), "{text}");
    for expected in [
        "global-admin",
        "Global Administrator",
        "app-admin",
        "global-reader",
        GLOBAL_READER,
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }

    // The ID token carries the roles as `wids`.
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let page = sign_in(&browser, &app, &challenge, "ann@example.com", PASSWORD).await;
    let (status, tokens) = redeem(&server, &app, &code_of(&page), Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        claims["wids"],
        serde_json::json!([GLOBAL_ADMIN, APP_ADMIN, GLOBAL_READER])
    );

    // remove: text, then refused when not held.
    let removed = keyward(&server, &["user", "role", "remove", "ann@example.com", "app-admin"], "");
    let removed = String::from_utf8(removed.stdout).unwrap();
    assert_eq!(
        removed,
        "Took the Application Administrator (app-admin) role from ann@example.com.\n"
    );
    let again = failure(&keyward(
        &server,
        &["user", "role", "remove", "ann@example.com", "app-admin"],
        "",
    ));
    assert!(again.contains("does not hold"), "{again}");
    let removed = json(&keyward(
        &server,
        &["user", "role", "remove", "ann@example.com", "global-admin", "--json"],
        "",
    ));
    assert_eq!(removed["roleDefinitionId"], GLOBAL_ADMIN);
    assert_eq!(listed(&server, "ann@example.com"), [GLOBAL_READER]);

    // A user without roles.
    json(&keyward(
        &server,
        &[
            "user",
            "create",
            "--email",
            "carl@example.com",
            "--password-file",
            pw,
            "--json",
        ],
        "",
    ));
    assert_eq!(listed(&server, "carl@example.com"), Vec::<String>::new());
    let text = keyward(&server, &["user", "role", "list", "carl@example.com"], "");
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("holds no directory role"), "{text}");
}

#[tokio::test]
async fn user_show_lists_the_directory_roles() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("pw.txt");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let pw = password_file.to_str().unwrap();
    for (email, roles) in [
        (
            "ann@example.com",
            &["--role", "global-admin", "--role", "global-reader"][..],
        ),
        ("bob@example.com", &[][..]),
    ] {
        let mut args = vec!["user", "create", "--email", email, "--password-file", pw, "--json"];
        args.extend_from_slice(roles);
        json(&keyward(&server, &args, ""));
    }
    let text = String::from_utf8(keyward(&server, &["user", "show", "ann@example.com"], "").stdout).unwrap();
    assert!(
        text.contains("Roles:         Global Administrator (global-admin), Global Reader (global-reader)"),
        "{text}"
    );
    let shown = json(&keyward(&server, &["user", "show", "ann@example.com", "--json"], ""));
    assert_eq!(
        shown["directoryRoles"],
        serde_json::json!(["global-admin", "global-reader"])
    );
    let text = String::from_utf8(keyward(&server, &["user", "show", "bob@example.com"], "").stdout).unwrap();
    assert!(text.contains("Roles:         none"), "{text}");
}
