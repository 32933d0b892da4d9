//! Signing keys in the admin center: listed as the tenant publishes them, rotated by a Global
//! Administrator (audited, the new kid in the JWKS), refused to a Global Reader.

use serde_json::Value;

use super::admin;
use crate::common::Server;
use crate::signin::browser::Page;

fn csrf(page: &Page) -> String {
    page.form_to("/admin/signout").field("csrf").expect("csrf").to_owned()
}

/// The kids of the tenant's JWKS.
async fn published(server: &Server) -> Vec<String> {
    let jwks: Value = server.get_json("/contoso/discovery/v2.0/keys").await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// The kid of the row marked Active.
fn active_kid(page: &Page) -> String {
    let at = page.body.find("badge good\">Active").expect("an active key");
    let row = page.body[..at].rfind("data-kid=\"").unwrap() + "data-kid=\"".len();
    let end = page.body[row..].find('"').unwrap() + row;
    page.body[row..end].to_owned()
}

#[tokio::test]
async fn a_global_administrator_rotates_the_key_and_the_new_kid_is_published() {
    let server = Server::start();
    let root = admin(&server, "root@example.com", "global-admin").await;
    let page = root.get("/admin/signing-keys").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let old = active_kid(&page);
    assert_eq!(published(&server).await, std::slice::from_ref(&old));
    assert!(
        page.body.contains(&format!("<td class=\"x5t\"><code>{old}</code>")),
        "x5t is the kid"
    );

    let token = csrf(&page);
    let asked = root
        .post(
            "/admin/signing-keys/rotate",
            &[("csrf".into(), token.clone()), ("confirmed".into(), String::new())],
        )
        .await;
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("Rotate the tenant"), "{}", asked.body);
    assert_eq!(
        published(&server).await,
        std::slice::from_ref(&old),
        "nothing done before Yes"
    );

    let rotated = root
        .post(
            "/admin/signing-keys/rotate",
            &[("csrf".into(), token), ("confirmed".into(), "yes".into())],
        )
        .await;
    assert_eq!(rotated.location().as_deref(), Some("/admin/signing-keys?done=rotated"));
    let page = root.get("/admin/signing-keys?done=rotated").await;
    let new = active_kid(&page);
    assert_ne!(new, old);
    assert!(page.body.contains("The signing key was rotated"), "{}", page.body);
    assert!(page.body.contains("Retired"), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("Rotated the signing key: {new} is active, {old} is retired")),
        "audited: {}",
        page.body
    );
    let kids = published(&server).await;
    assert!(kids.contains(&new) && kids.contains(&old), "{kids:?}");
}

#[tokio::test]
async fn a_global_reader_sees_the_keys_but_cannot_rotate() {
    let server = Server::start();
    let reader = admin(&server, "reader@example.com", "global-reader").await;
    let page = reader.get("/admin/signing-keys").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let kid = active_kid(&page);
    assert!(!page.body.contains("/admin/signing-keys/rotate"), "no Rotate button");
    let refused = reader
        .post(
            "/admin/signing-keys/rotate",
            &[("csrf".into(), csrf(&page)), ("confirmed".into(), "yes".into())],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("Global Administrator"), "{}", refused.body);
    assert_eq!(published(&server).await, [kid]);
}
