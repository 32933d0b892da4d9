//! An application's Authentication, API permissions and App roles tabs against a real server:
//! what is saved there is what the authority then does (the redirect URIs it accepts, the roles
//! in an application's token).

use super::admin;
use super::credentials::{GRAPH_SCOPE, between, csrf_of, new_app};
use crate::common::{Server, claims_of};
use crate::signin::browser::{Browser, Page, decode};

fn fields(csrf: &str, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields = vec![("csrf".to_owned(), csrf.to_owned())];
    fields.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    fields
}

fn error_of(page: &Page) -> String {
    decode(between(
        &page.body,
        "<div class=\"message error\" role=\"alert\">",
        "</div>",
    ))
}

async fn csrf(browser: &Browser) -> String {
    csrf_of(&browser.get("/admin/apps").await)
}

#[tokio::test]
async fn redirect_uris_and_the_logout_url_are_checked_kept_as_typed_and_saved() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let (object_id, _) = new_app(&browser, "web-app").await;
    let path = format!("/admin/apps/{object_id}/authentication");
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("aria-current=\"page\">Authentication"),
        "{}",
        page.body
    );
    let csrf = csrf_of(&page);

    let typed = "https://app.example/cb\nhttp://plain.example/cb";
    let refused = browser
        .post(
            &path,
            &fields(
                &csrf,
                &[("redirect_uris", typed), ("logout_url", "https://app.example/logout")],
            ),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let message = error_of(&refused);
    assert!(message.contains("http://plain.example/cb"), "{message}");
    assert!(message.contains("must be https://"), "{message}");
    assert!(decode(&refused.body).contains(typed), "the typed value is kept");
    assert!(refused.body.contains("value=\"https://app.example/logout\""));

    let refused = browser
        .post(
            &path,
            &fields(
                &csrf,
                &[
                    ("redirect_uris", "https://app.example/cb"),
                    ("logout_url", "http://app.example/logout"),
                ],
            ),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(error_of(&refused).contains("logout URL"), "{}", error_of(&refused));
    assert!(
        server.keyward(&["app", "show", &object_id])["web"]["redirectUris"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let saved = browser
        .post(
            &path,
            &fields(
                &csrf,
                &[
                    (
                        "redirect_uris",
                        "https://app.example/cb\r\n\r\n  http://localhost:3000/cb  ",
                    ),
                    ("logout_url", "https://app.example/logout"),
                ],
            ),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.location().unwrap(), format!("{path}?done=saved"));
    let app = server.keyward(&["app", "show", &object_id]);
    assert_eq!(
        app["web"]["redirectUris"],
        serde_json::json!(["https://app.example/cb", "http://localhost:3000/cb"])
    );
    assert_eq!(app["web"]["logoutUrl"], "https://app.example/logout");
    let shown = browser.get(&saved.location().unwrap()).await;
    assert!(shown.body.contains("were saved"));
    assert!(shown.body.contains("value=\"https://app.example/logout\""));

    // The authority uses the new list at once: /authorize accepts the new URI.
    let authorize = |redirect: &str| {
        format!(
            "/contoso/oauth2/v2.0/authorize?client_id={}&response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri={}",
            app["appId"].as_str().unwrap(),
            redirect.replace(':', "%3A").replace('/', "%2F")
        )
    };
    let visitor = Browser::new(&server);
    let accepted = visitor.get(&authorize("http://localhost:3000/cb")).await;
    assert!(
        accepted.status == 200 || (accepted.status == 302 && !accepted.location().unwrap().contains("error")),
        "{accepted:?}"
    );
    let refused = visitor.get(&authorize("https://other.example/cb")).await;
    assert_eq!(refused.status, 400, "{refused:?}");

    // Emptied: no redirect URIs, no logout URL.
    let cleared = browser
        .post(&path, &fields(&csrf, &[("redirect_uris", ""), ("logout_url", "")]))
        .await;
    assert_eq!(cleared.status, 303);
    let app = server.keyward(&["app", "show", &object_id]);
    assert!(app["web"]["logoutUrl"].is_null(), "{app}");
    let overview = browser.get(&format!("/admin/apps/{object_id}")).await;
    assert!(
        overview.body.contains("the logout URL https://app.example/logout"),
        "audited"
    );
}

/// The `<option value>` whose text starts with `label`.
fn option_value(page: &Page, label: &str) -> String {
    let at = page
        .body
        .find(&format!("\">{label}"))
        .unwrap_or_else(|| panic!("no option {label}: {}", page.body));
    let start = page.body[..at].rfind("value=\"").unwrap() + "value=\"".len();
    page.body[start..at].to_owned()
}

async fn token_roles(server: &Server, app_id: &str, secret: &str, scope: &str) -> serde_json::Value {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app_id),
        ("client_secret", secret),
        ("scope", scope),
    ];
    let (status, body) = server.token("contoso", &form).await;
    assert_eq!(status, 200, "{body}");
    claims_of(body["access_token"].as_str().unwrap())["roles"].clone()
}

#[tokio::test]
async fn app_roles_are_created_and_granted_with_admin_consent_then_in_tokens_and_removed() {
    let server = Server::start();
    let browser = admin(&server, "ada@example.com", "app-admin").await;
    let (api_id, _) = new_app(&browser, "tasks-api").await;
    let (client_id, client_app_id) = new_app(&browser, "tasks-daemon").await;
    let csrf = csrf(&browser).await;

    // App roles of the API: refused input comes back as typed; a good role is created.
    let roles = format!("/admin/apps/{api_id}/roles");
    let refused = browser
        .post(
            &roles,
            &fields(
                &csrf,
                &[
                    ("display_name", "Read tasks"),
                    ("value", "Tasks Read"),
                    ("description", "d"),
                    ("allowed", "Application"),
                ],
            ),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(error_of(&refused).contains("without spaces"));
    assert!(refused.body.contains("value=\"Tasks Read\""));
    let created = browser
        .post(
            &roles,
            &fields(
                &csrf,
                &[
                    ("display_name", "Read all tasks"),
                    ("value", "Tasks.Read.All"),
                    ("description", "Read every task"),
                    ("allowed", "Application"),
                ],
            ),
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let page = browser.get(&roles).await;
    assert!(page.body.contains("<code>Tasks.Read.All</code>"), "{}", page.body);
    let duplicate = browser
        .post(
            &roles,
            &fields(
                &csrf,
                &[
                    ("display_name", "Again"),
                    ("value", "Tasks.Read.All"),
                    ("allowed", "Application"),
                ],
            ),
        )
        .await;
    assert_eq!(duplicate.status, 422);
    let api = server.keyward(&["app", "show", &api_id]);
    let role = &api["appRoles"][0];
    assert_eq!(api["appRoles"].as_array().unwrap().len(), 1, "{api}");
    assert_eq!(role["value"], "Tasks.Read.All");
    assert_eq!(role["allowedMemberTypes"], serde_json::json!(["Application"]));
    let role_id = role["id"].as_str().unwrap().to_owned();
    let scope = format!("{}/.default", api["identifierUris"][0].as_str().unwrap());

    // A secret for the client, from its Certificates & secrets tab.
    let made = browser
        .post(
            &format!("/admin/apps/{client_id}/credentials/secrets"),
            &fields(&csrf, &[("description", "daemon"), ("expires", "180")]),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let secret = decode(between(
        &made.body,
        "<code id=\"new-secret-value\" class=\"secret-value\">",
        "</code>",
    ));
    assert!(
        token_roles(&server, &client_app_id, &secret, &scope).await.is_null(),
        "no role yet"
    );

    // API permissions of the client: the API's role and Microsoft Graph's are offered.
    let permissions = format!("/admin/apps/{client_id}/permissions");
    let page = browser.get(&permissions).await;
    assert!(page.body.contains("No permissions are granted"));
    assert!(
        page.body.contains("<optgroup label=\"Microsoft Graph\">"),
        "{}",
        page.body
    );
    let choice = option_value(&page, "Tasks.Read.All");
    assert!(choice.ends_with(&role_id), "{choice}");
    let granted = browser
        .post(&permissions, &fields(&csrf, &[("permission", &choice)]))
        .await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    assert_eq!(granted.location().unwrap(), format!("{permissions}?done=granted"));
    let again = browser
        .post(&permissions, &fields(&csrf, &[("permission", &choice)]))
        .await;
    assert_eq!(again.status, 422, "granted already");
    let graph = option_value(&page, "Application.ReadWrite.All");
    assert_eq!(
        browser
            .post(&permissions, &fields(&csrf, &[("permission", &graph)]))
            .await
            .status,
        303
    );
    assert_eq!(
        token_roles(&server, &client_app_id, &secret, &scope).await,
        serde_json::json!(["Tasks.Read.All"])
    );
    assert_eq!(
        token_roles(&server, &client_app_id, &secret, GRAPH_SCOPE).await,
        serde_json::json!(["Application.ReadWrite.All"])
    );
    let page = browser.get(&permissions).await;
    assert!(page.body.contains("Granted for contoso"), "{}", page.body);

    // The role cannot be deleted while enabled.
    let delete_role = format!("/admin/apps/{api_id}/roles/{role_id}/delete");
    let refused = browser
        .post(&delete_role, &fields(&csrf, &[("confirmed", "yes")]))
        .await;
    assert_eq!(refused.status, 422);
    assert!(error_of(&refused).contains("Disable"));

    // Removing the grant asks first.
    let assignment = page
        .body
        .split("<tr data-assignment-id=\"")
        .skip(1)
        .find(|row| row[..row.find("</tr>").unwrap()].contains("<code>Tasks.Read.All</code>"))
        .map(|row| row[..row.find('"').unwrap()].to_owned())
        .expect("the row of Tasks.Read.All");
    let remove = format!("/admin/apps/{client_id}/permissions/{assignment}/delete");
    let asked = browser.post(&remove, &fields(&csrf, &[("confirmed", "")])).await;
    assert_eq!(asked.status, 200);
    assert!(
        decode(&asked.body).contains("Remove permission Tasks.Read.All?"),
        "{}",
        asked.body
    );
    assert_eq!(
        token_roles(&server, &client_app_id, &secret, &scope).await,
        serde_json::json!(["Tasks.Read.All"]),
        "not removed without yes"
    );

    // Disabled, the role is in no token; still granted, it cannot be deleted.
    let disabled = browser
        .post(
            &format!("/admin/apps/{api_id}/roles/{role_id}/disable"),
            &fields(&csrf, &[]),
        )
        .await;
    assert_eq!(disabled.status, 303, "{}", disabled.body);
    assert_eq!(
        server.keyward(&["app", "show", &api_id])["appRoles"][0]["isEnabled"],
        false
    );
    assert!(token_roles(&server, &client_app_id, &secret, &scope).await.is_null());
    let refused = browser
        .post(&delete_role, &fields(&csrf, &[("confirmed", "yes")]))
        .await;
    assert_eq!(refused.status, 422);
    assert!(error_of(&refused).contains("API permissions"), "{}", error_of(&refused));

    // Removed with yes: gone from the tab.
    let removed = browser.post(&remove, &fields(&csrf, &[("confirmed", "yes")])).await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    let page = browser.get(&permissions).await;
    assert!(!page.body.contains(&assignment));
    assert!(page.body.contains("Application.ReadWrite.All"), "the other grant stays");

    // Now the disabled, ungranted role can be deleted (after the question).
    let asked = browser.post(&delete_role, &fields(&csrf, &[("confirmed", "")])).await;
    assert_eq!(asked.status, 200);
    assert!(decode(&asked.body).contains("Delete app role Tasks.Read.All?"));
    let deleted = browser
        .post(&delete_role, &fields(&csrf, &[("confirmed", "yes")]))
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert!(
        server.keyward(&["app", "show", &api_id])["appRoles"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let overview = browser.get(&format!("/admin/apps/{api_id}")).await;
    for audited in [
        "Created app role Tasks.Read.All",
        "Disabled app role",
        "Deleted app role",
    ] {
        assert!(overview.body.contains(audited), "{audited}");
    }
}
