//! Codes and refresh tokens on a real authority: single use, bound to the client, the redirect
//! URI and the PKCE challenge; a replay revokes the family.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::*;
use crate::authorize::{RedirectTarget, ResponseMode};
use crate::testing::{TestAuthority, authority};
use crate::users::NewUser;
use crate::{Config, NewApplication};

const REDIRECT: &str = "https://app.example/cb";
// RFC 7636, appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Flow {
    t: TestAuthority,
    web: AuthenticatedClient,
    other: AuthenticatedClient,
    session: Session,
}

async fn client(t: &TestAuthority, name: &str, method: ClientAuthMethod) -> AuthenticatedClient {
    let new = NewApplication {
        display_name: name.into(),
        redirect_uris: vec![REDIRECT.into()],
        ..NewApplication::default()
    };
    let app = t.authority.create_application(t.tenant.tenant.id, new).await.unwrap();
    AuthenticatedClient {
        app,
        method,
        credential: None,
    }
}

async fn flow() -> Flow {
    let t = authority(Config::new("https://localhost:8443")).await;
    let web = client(&t, "web", ClientAuthMethod::Secret).await;
    let other = client(&t, "other", ClientAuthMethod::Secret).await;
    let new = NewUser {
        email: "ann@example.com".into(),
        display_name: None,
        password: Zeroizing::new("correct horse battery".into()),
        enabled: true,
        email_verified: true,
    };
    let user = t.authority.create_user(t.tenant.tenant.id, new).await.unwrap();
    let now = OffsetDateTime::now_utc();
    let (_, session) = t.authority.start_session(&user, web.app.app.app_id, now).await.unwrap();
    Flow { t, web, other, session }
}

impl Flow {
    fn pending(&self, challenge: Option<&str>, scope: &str) -> PendingRequest {
        let tenant_id = self.t.tenant.tenant.id;
        PendingRequest {
            tenant_id,
            client_id: self.web.app.app.app_id,
            target: RedirectTarget {
                uri: REDIRECT.into(),
                mode: ResponseMode::Query,
                state: None,
            },
            nonce: Some("n-0S6".into()),
            scopes: scopes::parse(&self.t.authority.snapshot(), tenant_id, scope, true).unwrap(),
            code_challenge: challenge.map(str::to_owned),
            login_hint: None,
            prompt: crate::authorize::Prompt::Default,
            issued: OffsetDateTime::now_utc().unix_timestamp(),
        }
    }

    async fn code(&self, challenge: Option<&str>) -> String {
        let pending = self.pending(challenge, "openid profile offline_access");
        let now = OffsetDateTime::now_utc();
        self.t.authority.issue_code(&pending, &self.session, now).await.unwrap()
    }

    async fn redeem(
        &self,
        client: &AuthenticatedClient,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
    ) -> Result<TokenResponse, GrantError> {
        let form = CodeRedemption {
            code,
            redirect_uri,
            code_verifier,
        };
        let now = OffsetDateTime::now_utc();
        self.t
            .authority
            .redeem_code(&self.t.tenant, &self.t.tenant.issuer, client, form, now)
            .await
    }

    async fn refresh(&self, client: &AuthenticatedClient, token: &str) -> Result<TokenResponse, GrantError> {
        let now = OffsetDateTime::now_utc();
        self.t
            .authority
            .redeem_refresh_token(&self.t.tenant, &self.t.tenant.issuer, client, token, None, now)
            .await
    }
}

#[tokio::test]
async fn a_code_is_redeemed_once_by_its_client_at_its_redirect_uri() {
    let f = flow().await;
    let code = f.code(None).await;
    // Bound to the client and the redirect URI; a refused redemption uses the code up.
    assert_eq!(
        f.redeem(&f.other, &code, Some(REDIRECT), None).await.err(),
        Some(GrantError::CodeOfAnotherClient)
    );
    let code = f.code(None).await;
    assert_eq!(
        f.redeem(&f.web, &code, Some("https://app.example/other"), None)
            .await
            .err(),
        Some(GrantError::RedirectUriMismatch)
    );
    let code = f.code(None).await;
    assert_eq!(
        f.redeem(&f.web, &code, None, None).await.err(),
        Some(GrantError::MissingRedirectUri)
    );
    let tokens = f.redeem(&f.web, &code, Some(REDIRECT), None).await.unwrap();
    assert!(tokens.id_token.is_some() && tokens.refresh_token.is_some());
    assert_eq!(
        tokens.scope.as_deref(),
        Some("https://graph.microsoft.com/User.Read openid profile offline_access")
    );
    // A replay: refused, and the refresh token it produced is revoked.
    assert_eq!(
        f.redeem(&f.web, &code, Some(REDIRECT), None).await.err(),
        Some(GrantError::CodeReplayed)
    );
    let refresh = tokens.refresh_token.unwrap();
    assert_eq!(
        f.refresh(&f.web, &refresh).await.err(),
        Some(GrantError::RefreshTokenUnusable)
    );
    assert_eq!(
        f.redeem(&f.web, "no-such-code", Some(REDIRECT), None).await.err(),
        Some(GrantError::CodeUnusable)
    );
}

#[tokio::test]
async fn pkce_binds_the_code_to_the_verifier() {
    let f = flow().await;
    let code = f.code(Some(CHALLENGE)).await;
    assert_eq!(
        f.redeem(&f.web, &code, Some(REDIRECT), None).await.err(),
        Some(GrantError::MissingVerifier)
    );
    let code = f.code(Some(CHALLENGE)).await;
    let wrong = VERIFIER.replace('d', "e");
    assert_eq!(
        f.redeem(&f.web, &code, Some(REDIRECT), Some(&wrong)).await.err(),
        Some(GrantError::VerifierMismatch)
    );
    let code = f.code(Some(CHALLENGE)).await;
    assert!(f.redeem(&f.web, &code, Some(REDIRECT), Some(VERIFIER)).await.is_ok());
    // A public client must have used PKCE.
    let public = AuthenticatedClient {
        app: Arc::clone(&f.web.app),
        method: ClientAuthMethod::Public,
        credential: None,
    };
    let code = f.code(None).await;
    let e = f.redeem(&public, &code, Some(REDIRECT), None).await.err().unwrap();
    assert_eq!(e, GrantError::PkceRequired);
    let e = OAuthError::from(e);
    assert_eq!((e.kind, e.code), (OAuthErrorKind::InvalidGrant, 9002325));
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reuse_revokes_the_family() {
    let f = flow().await;
    let code = f.code(None).await;
    let first = f.redeem(&f.web, &code, Some(REDIRECT), None).await.unwrap();
    let first = first.refresh_token.unwrap();
    let second = f.refresh(&f.web, &first).await.unwrap().refresh_token.unwrap();
    assert_ne!(first, second);
    // The first again: refused, and the second is revoked with it.
    assert_eq!(
        f.refresh(&f.web, &first).await.err(),
        Some(GrantError::RefreshTokenReused)
    );
    assert_eq!(
        f.refresh(&f.web, &second).await.err(),
        Some(GrantError::RefreshTokenUnusable)
    );

    // Another client presenting it: refused, with nothing used up or revoked, so that one
    // client cannot spend or revoke what was issued to another.
    let code = f.code(None).await;
    let third = f.redeem(&f.web, &code, Some(REDIRECT), None).await.unwrap();
    let third = third.refresh_token.unwrap();
    assert_eq!(
        f.refresh(&f.other, &third).await.err(),
        Some(GrantError::RefreshTokenOfAnotherClient)
    );
    assert!(
        f.refresh(&f.web, &third).await.is_ok(),
        "the owner's refresh token still works"
    );

    // A disabled user's refresh token is refused.
    let code = f.code(None).await;
    let fourth = f.redeem(&f.web, &code, Some(REDIRECT), None).await.unwrap();
    let tenant_id = f.t.tenant.tenant.id;
    f.t.authority
        .set_user_enabled(tenant_id, f.session.user.id, false)
        .await
        .unwrap();
    let e = f.refresh(&f.web, &fourth.refresh_token.unwrap()).await.err().unwrap();
    assert!(
        matches!(e, GrantError::RefreshTokenUnusable | GrantError::UserDisabled),
        "{e:?}"
    );
}

/// The claims of a compact JWS, unverified.
fn claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn tokens_of_a_user_with_directory_roles_carry_wids() {
    use crate::DirectoryRole;
    let f = flow().await;
    let tenant_id = f.t.tenant.tenant.id;
    // No role: no claim.
    let code = f.code(None).await;
    let plain = f.redeem(&f.web, &code, Some(REDIRECT), None).await.unwrap();
    assert!(claims(&plain.id_token.unwrap()).get("wids").is_none());
    assert!(claims(&plain.access_token).get("wids").is_none());

    for role in [DirectoryRole::GlobalReader, DirectoryRole::ApplicationAdministrator] {
        f.t.authority
            .assign_directory_role(tenant_id, f.session.user.id, role)
            .await
            .unwrap();
    }
    let expected = serde_json::json!([
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
    ]);
    let code = f.code(None).await;
    let tokens = f.redeem(&f.web, &code, Some(REDIRECT), None).await.unwrap();
    assert_eq!(claims(tokens.id_token.as_deref().unwrap())["wids"], expected);
    assert_eq!(claims(&tokens.access_token)["wids"], expected);
    // A refresh reads the roles again.
    f.t.authority
        .remove_directory_role(tenant_id, f.session.user.id, DirectoryRole::GlobalReader)
        .await
        .unwrap();
    let refreshed = f.refresh(&f.web, &tokens.refresh_token.unwrap()).await.unwrap();
    assert_eq!(
        claims(&refreshed.access_token)["wids"],
        serde_json::json!(["9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"])
    );
}
