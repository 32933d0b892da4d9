//! The one error type of the client, with the AADSTS details and a hint for the mistakes people
//! make most.

use std::fmt;

/// What can go wrong when getting a token.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The authority URL is not one we can use.
    #[error("invalid authority {url:?}: {reason}")]
    InvalidAuthority {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The certificate or key could not be loaded.
    #[error("cannot load the credential: {0}")]
    Credential(#[from] keyward_pki::Error),
    /// The assertion could not be signed.
    #[error("cannot sign the client assertion: {0}")]
    Signing(#[from] keyward_jose::Error),
    /// A thumbprint given by hand is not the certificate's.
    #[error(
        "the thumbprint {given} is not the certificate's (SHA-1 {sha1}, SHA-256 {sha256}); the thumbprint is computed from the certificate, so leave it out"
    )]
    ThumbprintMismatch {
        /// What was given.
        given: String,
        /// The certificate's SHA-1 thumbprint.
        sha1: String,
        /// The certificate's SHA-256 thumbprint.
        sha256: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {detail}")]
    File {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// The server could not be reached, or the connection failed.
    #[error("cannot reach {url}: {detail}")]
    Network {
        /// Where we tried to go.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The OpenID Connect metadata is missing or unusable.
    #[error("the authority's OpenID configuration at {url} is unusable: {detail}")]
    Discovery {
        /// The metadata URL.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The token endpoint refused the request.
    #[error("{0}")]
    Server(Box<ServerError>),
    /// The token endpoint answered something that is not a token response.
    #[error("the token endpoint sent an unusable response: {0}")]
    InvalidResponse(String),
    /// A callback that makes assertions (workload identity federation) failed.
    #[error("the client assertion callback failed: {0}")]
    AssertionCallback(String),
    /// An ID token failed validation.
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
    /// The vault URL is not one we can use.
    #[error("invalid vault URL {url:?}: {reason}")]
    InvalidVaultUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A certificate or secret name (or version) that Key Vault would not accept.
    #[error("invalid vault object name {0:?}: use 1 to 127 letters, digits and '-'")]
    InvalidVaultName(String),
    /// The vault's challenge names a resource that is not a parent domain of the vault's host.
    #[error(
        "the vault {vault} asks for a token for {resource}, which is not a parent domain of its host; if you trust \
         this vault (Keyward on localhost, say), turn off verify_challenge_resource"
    )]
    ChallengeResource {
        /// The vault's host.
        vault: String,
        /// The scope its challenge asked for.
        resource: String,
    },
    /// The vault refused the request.
    #[error("{0}")]
    Vault(Box<VaultError>),
}

/// An error response of a vault, in Key Vault's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VaultError {
    /// The HTTP status.
    pub status: u16,
    /// Key Vault's `error.code`, e.g. `SecretNotFound` or `Forbidden`.
    pub code: String,
    /// Key Vault's `error.message`.
    pub message: String,
}

impl VaultError {
    /// What usually causes this error, and what to do.
    pub fn hint(&self) -> Option<&'static str> {
        match self.status {
            401 => Some(
                "the vault did not accept the token: check the tenant and that the token is for the vault's resource",
            ),
            403 => Some(
                "the application has no access policy on the vault for this operation: grant it, e.g. \
                 `keyward vault grant APP --certificates get,list --secrets get`",
            ),
            404 => Some("no such object in this vault: check the name, and whether it was deleted"),
            409 => Some("the name is taken by a deleted object: recover it or purge it first"),
            _ => None,
        }
    }
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the vault refused the request ({} {}): {}",
            self.status, self.code, self.message
        )?;
        if let Some(hint) = self.hint() {
            write!(f, " Hint: {hint}.")?;
        }
        Ok(())
    }
}

/// An error response of the token endpoint, in Entra's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerError {
    /// The HTTP status.
    pub status: u16,
    /// The OAuth `error`, e.g. `invalid_client`.
    pub error: String,
    /// The AADSTS number, e.g. 700027.
    pub code: Option<u32>,
    /// The server's description.
    pub description: String,
    /// The correlation id to quote when asking for help.
    pub correlation_id: Option<String>,
    /// The trace id.
    pub trace_id: Option<String>,
}

impl ServerError {
    /// What usually causes this error, and what to do.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self.code? {
            // Entra and Keyward both say "expired" (or "not valid yet") when the certificate is
            // registered but outside its dates: then it is not a thumbprint mix-up.
            700027 if self.description.contains("expired") || self.description.contains("not valid yet") => {
                "the certificate is registered but outside its dates (by the server's clock): register a new one \
                 (`keyward app cert add`, or rotate) and sign with it"
            }
            700027 => {
                "the certificate that signed the assertion is not registered on the application, or the key does not belong \
                 to it; check that the thumbprint the server saw (in the description) matches `keyward cert show` and the \
                 portal. A SHA-256 thumbprint sent as x5t, or a SHA-1 one as x5t#S256, also causes this"
            }
            700024 => {
                "the assertion is outside its time window: the client machine's clock is probably off; sync it (NTP)"
            }
            700023 => "the assertion's audience is not this token endpoint: check the authority URL and its tenant",
            700021 => "the client id, iss and sub of the assertion must all be the application (client) id",
            700016 => {
                "no application has this client id in this tenant: check the client id and the tenant in the authority"
            }
            7000215 => "the secret is wrong: use the secret's value, shown once when it was made, not its id",
            7000218 => "no credential was sent: configure a certificate or a secret",
            1002012 | 70011 => "a client credentials scope is '<resource>/.default', e.g. 'api://my-api/.default'",
            500011 => "the resource in the scope is not registered in this tenant: check its identifier URI or appId",
            90002 => "the tenant in the authority URL does not exist",
            50027 => "the client assertion is not a well-formed JWT",
            _ => return None,
        })
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the token endpoint refused the request ({} {}): {}",
            self.status, self.error, self.description
        )?;
        if let Some(hint) = self.hint() {
            write!(f, " Hint: {hint}.")?;
        }
        Ok(())
    }
}

impl Error {
    /// The AADSTS code, when the server sent one.
    pub fn aadsts_code(&self) -> Option<u32> {
        match self {
            Self::Server(e) => e.code,
            _ => None,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::ServerError;

    fn refusal(description: &str) -> ServerError {
        ServerError {
            status: 401,
            error: "invalid_client".into(),
            code: Some(700027),
            description: description.into(),
            correlation_id: None,
            trace_id: None,
        }
    }

    #[test]
    fn an_expired_certificate_is_not_called_unregistered() {
        let expired = refusal("AADSTS700027: The certificate with thumbprint 'AB' has expired: ...");
        assert!(expired.hint().unwrap().contains("outside its dates"));
        let unknown = refusal("AADSTS700027: Client assertion failed signature validation.");
        assert!(unknown.hint().unwrap().contains("not registered"));
    }
}
