//! Proof Key for Code Exchange (RFC 7636), `S256` only: `plain` protects nothing against an
//! attacker who can read the authorization request, so it is refused, as the OAuth 2.0
//! Security BCP advises.

use aws_lc_rs::{constant_time, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a PKCE parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PkceError {
    /// `code_challenge_method` is `plain`, absent with a challenge (RFC 7636 defaults it to
    /// plain), or unknown.
    UnsupportedMethod(String),
    /// The challenge is not 43 base64url characters (a SHA-256 digest).
    MalformedChallenge,
    /// A method without a challenge.
    MissingChallenge,
}

impl std::fmt::Display for PkceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnsupportedMethod(m) => write!(
                f,
                "code_challenge_method '{}' is not supported: use S256",
                m.chars().take(32).collect::<String>()
            ),
            Self::MalformedChallenge => {
                f.write_str("code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)")
            }
            Self::MissingChallenge => f.write_str("code_challenge_method was sent without a code_challenge"),
        }
    }
}

/// Checks the challenge of an authorization request; `Ok(None)` when PKCE is not used.
pub fn check_challenge(challenge: Option<&str>, method: Option<&str>) -> Result<Option<String>, PkceError> {
    match (challenge, method) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(PkceError::MissingChallenge),
        (Some(_), None) => Err(PkceError::UnsupportedMethod("plain (the default)".into())),
        (Some(challenge), Some("S256")) => {
            let well_formed = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if well_formed {
                Ok(Some(challenge.to_owned()))
            } else {
                Err(PkceError::MalformedChallenge)
            }
        }
        (Some(_), Some(other)) => Err(PkceError::UnsupportedMethod(other.to_owned())),
    }
}

/// Whether a verifier is what RFC 7636 allows: 43 to 128 unreserved characters.
pub fn verifier_is_well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `verifier` is the one behind the S256 `challenge`, compared in constant time.
pub fn verify(challenge: &str, verifier: &str) -> bool {
    if !verifier_is_well_formed(verifier) {
        return false;
    }
    let digest = digest::digest(&digest::SHA256, verifier.as_bytes());
    let computed = URL_SAFE_NO_PAD.encode(digest.as_ref());
    constant_time::verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636, appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_example() {
        assert_eq!(
            check_challenge(Some(CHALLENGE), Some("S256")),
            Ok(Some(CHALLENGE.to_owned()))
        );
        assert!(verify(CHALLENGE, VERIFIER));
        assert!(!verify(CHALLENGE, &VERIFIER.replace('d', "e")));
        assert!(!verify(CHALLENGE, ""));
        // The challenge itself is not a verifier of itself.
        assert!(!verify(CHALLENGE, CHALLENGE));
    }

    #[test]
    fn plain_and_malformed_are_refused() {
        assert_eq!(check_challenge(None, None), Ok(None));
        assert!(matches!(
            check_challenge(Some(VERIFIER), Some("plain")),
            Err(PkceError::UnsupportedMethod(_))
        ));
        assert!(matches!(
            check_challenge(Some(CHALLENGE), None),
            Err(PkceError::UnsupportedMethod(_))
        ));
        assert_eq!(check_challenge(None, Some("S256")), Err(PkceError::MissingChallenge));
        assert_eq!(
            check_challenge(Some("short"), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
        assert_eq!(
            check_challenge(Some(&format!("{}=", &CHALLENGE[..42])), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
        assert!(!verifier_is_well_formed(&"a".repeat(42)));
        assert!(verifier_is_well_formed(&"a".repeat(128)));
        assert!(!verifier_is_well_formed(&"a".repeat(129)));
        assert!(!verifier_is_well_formed(&format!("{}+", "a".repeat(50))));
    }
}
