//! Codes and refresh tokens: single use, bound to their client and PKCE verifier, and a replay
//! revokes what descends from them.

use super::browser::{Browser, params};
use super::flow::*;
use crate::common::{Server, assert_oauth_error};

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_the_refresh_token_it_gave() {
    let server = Server::start();
    let app = web_app(&server, "replay");
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let code = code_of(&sign_up(&browser, &app, &challenge, "replay@example.com", "R").await);
    let (status, tokens) = redeem(&server, &app, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

    let replay = redeem(&server, &app, &code, Some(&verifier)).await;
    assert_oauth_error(&replay, 400, "invalid_grant", 54005);

    // The refresh token of the first redemption is revoked.
    let after = refresh(&server, &app, &refresh_token).await;
    assert_oauth_error(&after, 400, "invalid_grant", 70008);

    // The session itself is untouched: the browser still signs in silently.
    let (verifier, challenge) = pkce();
    let code = code_of(
        &browser
            .get(&authorize_url(&app, &challenge, &[("prompt", "none")]))
            .await,
    );
    let (status, _) = redeem(&server, &app, &code, Some(&verifier)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_code_redeemed_by_another_client_is_refused() {
    let server = Server::start();
    let app = web_app(&server, "owner");
    let thief = web_app(&server, "thief");
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let code = code_of(&sign_up(&browser, &app, &challenge, "owner@example.com", "O").await);
    let stolen = redeem(&server, &thief, &code, Some(&verifier)).await;
    assert_oauth_error(&stolen, 400, "invalid_grant", 700005);
    // Nor does the thief get far with someone else's client id and its own secret.
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", app.app_id.as_str()),
        ("client_secret", thief.secret.as_deref().unwrap()),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, body) = server.token("contoso", &form).await;
    assert_eq!(status, 401, "{body}");
    // A code of another tenant's endpoint is refused as well.
    let (verifier, challenge) = pkce();
    let code = code_of(&browser.get(&authorize_url(&app, &challenge, &[])).await);
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", app.app_id.as_str()),
        ("client_secret", app.secret.as_deref().unwrap()),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, body) = server.token("fabrikam", &form).await;
    assert!(status == 400 || status == 401, "{status} {body}");
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn missing_and_wrong_pkce_verifiers_are_refused() {
    let server = Server::start();
    let app = web_app(&server, "pkce");
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let code = code_of(&sign_up(&browser, &app, &challenge, "pkce@example.com", "P").await);
    let missing = redeem(&server, &app, &code, None).await;
    assert_oauth_error(&missing, 400, "invalid_grant", 501481);
    // The code is used up by the failed attempt: even the right verifier is too late.
    let late = redeem(&server, &app, &code, Some(&verifier)).await;
    assert_eq!(late.1["error"], "invalid_grant");

    let (_, challenge) = pkce();
    let (other_verifier, _) = pkce();
    let code = code_of(&browser.get(&authorize_url(&app, &challenge, &[])).await);
    let wrong = redeem(&server, &app, &code, Some(&other_verifier)).await;
    assert_oauth_error(&wrong, 400, "invalid_grant", 501481);

    // A verifier for the wrong redirect URI's code: bound to the redirect URI too.
    let (verifier, challenge) = pkce();
    let code = code_of(&browser.get(&authorize_url(&app, &challenge, &[])).await);
    let mut other = app.clone();
    other.redirect = HOME.into();
    let (status, body) = redeem(&server, &other, &code, Some(&verifier)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // `plain` is refused at the authorization endpoint, back to the client.
    let plain = browser
        .get(&authorize_url(&app, &verifier, &[("code_challenge_method", "plain")]))
        .await;
    assert_eq!(plain.status, 302);
    assert_eq!(params(&plain.location().unwrap())["error"], "invalid_request");
}

#[tokio::test]
async fn a_public_client_without_pkce_is_refused() {
    let server = Server::start();
    let app = public_app(&server, "nopkce");
    let browser = Browser::new(&server);
    let response = browser
        .get(&authorize_url(&app, "", &[("code_challenge_method", "")]))
        .await;
    assert_eq!(response.status, 302, "{}", response.body);
    let location = response.location().unwrap();
    assert!(location.starts_with("http://localhost:3000?"), "{location}");
    let p = params(&location);
    assert_eq!(p["error"], "invalid_request");
    assert!(
        p["error_description"].contains("Proof Key for Code Exchange"),
        "{location}"
    );
    assert!(!p.contains_key("code"));
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_family_and_a_disabled_user_is_refused() {
    let server = Server::start();
    let app = web_app(&server, "rotate");
    let (_, tokens) = signed_up_tokens(&server, &app, "rotate@example.com").await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = refresh(&server, &app, &first).await;
    assert_eq!(status, 200, "{second}");
    let newest = second["refresh_token"].as_str().unwrap().to_owned();

    // The first one again: refused, and the newest stops working too.
    let reused = refresh(&server, &app, &first).await;
    assert_oauth_error(&reused, 400, "invalid_grant", 70000);
    let newest_after = refresh(&server, &app, &newest).await;
    assert_oauth_error(&newest_after, 400, "invalid_grant", 70008);

    // Another client cannot use a user's refresh token.
    let other = web_app(&server, "other");
    let (_, tokens) = signed_up_tokens(&server, &app, "second@example.com").await;
    let token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let stolen = refresh(&server, &other, &token).await;
    assert_oauth_error(&stolen, 400, "invalid_grant", 70000);

    // Disabling a user ends their refresh tokens.
    let (_, tokens) = signed_up_tokens(&server, &app, "disabled@example.com").await;
    let token = tokens["refresh_token"].as_str().unwrap().to_owned();
    server.keyward(&["user", "disable", "disabled@example.com"]);
    let refused = refresh(&server, &app, &token).await;
    assert_eq!(refused.0, 400, "{}", refused.1);
    assert_eq!(refused.1["error"], "invalid_grant");
}
