//! How much the authority tells an unauthenticated caller: [`Profile`].
//!
//! Development answers every refusal helpfully: which thumbprints an application has
//! registered, that a client id exists but its secret is wrong. That is what makes Keyward
//! pleasant to develop against, and what an attacker probing a production server would love to
//! read. Production answers as tersely as Entra: a refusal that a caller without the
//! credential could provoke carries no registration detail, and says nothing about whether the
//! client id exists. The helpful text still goes to the server's log, at debug level.

use crate::client_auth::{AssertionError, ClientAuthError};
use crate::oauth_error::{OAuthError, OAuthErrorKind};

/// What the authority tells callers, and who may read `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// Helpful errors (registered thumbprints, unknown client vs wrong secret) and `/metrics`
    /// open to anyone: for a developer's machine and tests.
    #[default]
    Development,
    /// Entra's terse errors, and `/metrics` only for a caller with a management API token
    /// (the admin token the Graph-shaped API takes).
    Production,
}

impl Profile {
    /// The profile's name, as `keyward serve --profile` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }

    /// Whether errors carry registration detail (development).
    pub fn helpful_errors(self) -> bool {
        self == Self::Development
    }

    /// Whether `/metrics` needs a management API token (production).
    pub fn metrics_need_token(self) -> bool {
        self == Self::Production
    }

    /// A client authentication refusal as this profile answers it. `tenant` is the tenant's
    /// name and `client_id` the client id the request named (the form's `client_id`, the Basic
    /// user name, else the assertion's `iss`): the terse answer must be built from what the
    /// caller sent, never from what is registered.
    ///
    /// In production, every refusal a caller could provoke without holding the client's
    /// credential (an unknown client id, a wrong secret, an unregistered or expired certificate,
    /// a bad signature, no credential for a confidential client) is answered exactly as Entra
    /// answers an unknown client id: AADSTS700016, `unauthorized_client`, HTTP 400. We chose the
    /// unknown-client answer, rather than making an unknown client look like a wrong secret,
    /// because it is the one that is true of a caller who may not even know a valid client id,
    /// and because Entra's clients (MSAL, azure-identity) already present it as "check the
    /// client id and the tenant", which is the right advice for a caller we will not help
    /// further. Refusals that do not depend on the registration (a malformed assertion, an
    /// `iss`/`sub` mismatch) and those that come after the signature proved the key (audience,
    /// time window) keep their own code and text.
    pub fn client_refusal(self, refusal: ClientAuthError, tenant: &str, client_id: &str) -> OAuthError {
        if self.helpful_errors() || !reveals_registration(&refusal) {
            return refusal.into();
        }
        tracing::debug!(
            tenant,
            detail = %refusal,
            "client authentication refused; answered as an unknown client (production profile)"
        );
        unknown_client(tenant, client_id)
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Entra's own answer to a client id it does not know, word for word.
pub(crate) fn unknown_client(tenant: &str, client_id: &str) -> OAuthError {
    let client_id: String = client_id.chars().take(80).collect();
    OAuthError::new(
        OAuthErrorKind::UnauthorizedClient,
        700016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the \
             application has not been installed by the administrator of the tenant or consented to by any user in the \
             tenant. You may have sent your authentication request to the wrong tenant"
        ),
    )
}

/// Whether a refusal tells something about the client's registration to a caller who has not
/// proven its credential: whether the client exists, which certificates it has, when they are
/// valid.
fn reveals_registration(refusal: &ClientAuthError) -> bool {
    match refusal {
        ClientAuthError::UnknownClient { .. } | ClientAuthError::WrongSecret { .. } => true,
        ClientAuthError::Assertion(assertion) => matches!(
            assertion,
            AssertionError::NoCertificateHeader
                | AssertionError::NotAThumbprint { .. }
                | AssertionError::WrongThumbprintHash { .. }
                | AssertionError::UnknownCertificate { .. }
                | AssertionError::CertificateNotCurrent { .. }
                | AssertionError::ChainMismatch
                | AssertionError::BadSignature { .. }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_auth::AssertionError;
    use keyward_pki::ThumbprintHash;
    use uuid::Uuid;

    const CLIENT: &str = "11111111-2222-3333-4444-555555555555";

    fn unknown_certificate() -> ClientAuthError {
        AssertionError::UnknownCertificate {
            thumbprint: "ab".repeat(20),
            hash: ThumbprintHash::Sha1,
            header: "x5t",
            app_id: Uuid::parse_str(CLIENT).unwrap(),
            registered: vec![format!("{} (SHA-256 {})", "cd".repeat(20), "ef".repeat(32))],
        }
        .into()
    }

    #[test]
    fn production_hides_registered_thumbprints() {
        let helpful = Profile::Development.client_refusal(unknown_certificate(), "contoso", CLIENT);
        assert_eq!(helpful.code, 700027);
        assert!(helpful.message.contains(&"cd".repeat(20)), "{helpful}");
        let terse = Profile::Production.client_refusal(unknown_certificate(), "contoso", CLIENT);
        assert!(!terse.message.contains(&"cd".repeat(20)), "{terse}");
        assert!(!terse.message.contains(&"ef".repeat(32)), "{terse}");
    }

    #[test]
    fn production_answers_a_wrong_secret_as_an_unknown_client() {
        let unknown = ClientAuthError::UnknownClient {
            client_id: CLIENT.to_owned(),
            tenant: "contoso".to_owned(),
        };
        let wrong = ClientAuthError::WrongSecret {
            app_id: Uuid::parse_str(CLIENT).unwrap(),
        };
        let (a, b) = (
            Profile::Production.client_refusal(unknown.clone(), "contoso", CLIENT),
            Profile::Production.client_refusal(wrong.clone(), "contoso", CLIENT),
        );
        assert_eq!(a, b);
        assert_eq!((a.kind, a.code), (OAuthErrorKind::UnauthorizedClient, 700016));
        let (a, b) = (
            Profile::Development.client_refusal(unknown, "contoso", CLIENT),
            Profile::Development.client_refusal(wrong, "contoso", CLIENT),
        );
        assert_eq!((a.code, b.code), (700016, 7000215));
    }

    #[test]
    fn refusals_that_do_not_depend_on_the_registration_keep_their_code() {
        let malformed: ClientAuthError = AssertionError::NotAJwt("x".into()).into();
        assert_eq!(
            Profile::Production.client_refusal(malformed, "contoso", CLIENT).code,
            50027
        );
    }
}
