//! `keyward-client`'s web-app API against the authority: the sign-in URL, the code redemption
//! with PKCE, ID token validation and renewal by refresh token, as the sample web app uses them.

use keyward_client::{ClientCredential, ConfidentialClient, Error};

use super::browser::{Browser, params};
use super::flow::{PASSWORD, REDIRECT, web_app};
use crate::common::Server;

#[tokio::test]
async fn the_client_library_signs_a_user_in_and_renews_with_the_refresh_token() {
    let server = Server::start();
    let app = web_app(&server, "rust-web-app");
    let client = ConfidentialClient::builder(
        &format!("{}/contoso/", server.url),
        &app.app_id,
        ClientCredential::secret(app.secret.clone().unwrap()),
    )
    .trust_ca(&server.ca_pem())
    .build()
    .unwrap();

    let request = client.auth_code_url(REDIRECT, &[], Some("create")).await.unwrap();
    let browser = Browser::new(&server);
    let page = browser.get(&request.url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let answer = browser
        .submit(
            &page,
            &[
                ("email", "rust@example.com"),
                ("display_name", "Rust User"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let location = answer.location().expect("a redirect to the app");
    assert!(location.starts_with(REDIRECT), "{location}");
    let returned = params(&location);
    let (code, state) = (&returned["code"], &returned["state"]);

    // A redirect whose state is not the request's is refused before the code is sent anywhere.
    let forged = client.acquire_token_by_code(&request, code, "forged-state").await;
    assert!(matches!(forged, Err(Error::InvalidResponse(_))), "{forged:?}");

    let tokens = client.acquire_token_by_code(&request, code, state).await.unwrap();
    let claims = tokens.id_token_claims.clone().expect("an ID token, validated");
    assert_eq!(claims["aud"], app.app_id.as_str());
    assert_eq!(claims["nonce"], request.nonce.as_str());
    assert_eq!(claims["name"], "Rust User");
    assert_eq!(claims["preferred_username"], "rust@example.com");
    let first_refresh = tokens
        .refresh_token
        .clone()
        .expect("offline_access gives a refresh token");

    // The code is single-use.
    let replay = client.acquire_token_by_code(&request, code, state).await;
    assert_eq!(
        replay.as_ref().err().and_then(Error::aadsts_code),
        Some(54005),
        "{replay:?}"
    );

    // A fresh code for a second sign-in (the session answers at once), then renewal.
    let second = client.auth_code_url(REDIRECT, &[], None).await.unwrap();
    let answer = browser.get(&second.url).await;
    let returned = params(&answer.location().expect("the session answers with a redirect"));
    let tokens = client
        .acquire_token_by_code(&second, &returned["code"], &returned["state"])
        .await
        .unwrap();
    let refresh = tokens.refresh_token.expect("a refresh token");
    let renewed = client.acquire_token_by_refresh_token(&refresh, &[]).await.unwrap();
    assert_eq!(
        renewed.id_token_claims.expect("an ID token on renewal")["oid"],
        claims["oid"],
        "the same user"
    );
    assert_ne!(*renewed.refresh_token.expect("rotated"), *refresh);
    // The replayed first code revoked its family: its refresh token no longer works.
    let revoked = client.acquire_token_by_refresh_token(&first_refresh, &[]).await;
    assert!(revoked.is_err(), "the family of a replayed code is revoked");
}
