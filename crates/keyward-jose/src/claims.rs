//! The registered JWT claims (RFC 7519 section 4.1), typed, to use alone or flattened into an
//! application's own claims type.

use serde::{Deserialize, Serialize};

use crate::numeric_date::NumericDate;

/// The registered claims. Every one is optional here; which are required is the caller's
/// policy (a client assertion needs `exp`, MSAL Python sends no `nbf`).
///
/// Unknown claims are ignored when reading; absent ones are left out when writing. Embed in a
/// larger type with `#[serde(flatten)]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredClaims {
    /// `iss`: who made the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// `sub`: whom it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `aud`: whom it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// `exp`: not valid from this time on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<NumericDate>,
    /// `nbf`: not valid before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<NumericDate>,
    /// `iat`: when it was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<NumericDate>,
    /// `jti`: its unique identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// The `aud` claim: one string or an array of strings (RFC 7519 section 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience, written as a string.
    One(String),
    /// Several audiences, written as an array.
    Many(Vec<String>),
}

impl Audience {
    /// The audiences, one by one.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let slice = match self {
            Self::One(one) => std::slice::from_ref(one),
            Self::Many(many) => many.as_slice(),
        };
        slice.iter().map(String::as_str)
    }

    /// Whether `audience` is one of them (exact comparison).
    pub fn contains(&self, audience: &str) -> bool {
        self.iter().any(|a| a == audience)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_msal_python_assertion_with_float_times_and_no_nbf() {
        let claims: RegisteredClaims = serde_json::from_str(
            r#"{"aud":"https://login.example/t/oauth2/v2.0/token","iss":"cid","sub":"cid",
                "exp":1700000600.5251,"iat":1700000000.5251,"jti":"5f3c","extra":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(claims.exp.unwrap().as_unix(), 1_700_000_600);
        assert_eq!(claims.iat.unwrap().as_unix(), 1_700_000_000);
        assert_eq!(claims.nbf, None);
        assert!(
            claims
                .aud
                .unwrap()
                .contains("https://login.example/t/oauth2/v2.0/token")
        );
    }

    #[test]
    fn writes_integers_and_leaves_out_absent_claims() {
        let claims = RegisteredClaims {
            iss: Some("cid".into()),
            exp: Some(NumericDate::from_unix(1_700_000_600).unwrap()),
            aud: Some(Audience::Many(vec!["a".into(), "b".into()])),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&claims).unwrap(),
            r#"{"iss":"cid","aud":["a","b"],"exp":1700000600}"#
        );
    }

    #[test]
    fn flattens_into_an_application_type() {
        #[derive(Deserialize)]
        struct AccessToken {
            #[serde(flatten)]
            registered: RegisteredClaims,
            roles: Vec<String>,
        }
        let token: AccessToken = serde_json::from_str(r#"{"exp":1.7e9,"aud":["x"],"roles":["r"]}"#).unwrap();
        assert_eq!(token.registered.exp.unwrap().as_unix(), 1_700_000_000);
        assert_eq!(token.roles, ["r"]);
        assert!(token.registered.aud.unwrap().contains("x"));
    }

    #[test]
    fn refuses_bad_times_and_audiences() {
        for json in [
            r#"{"exp":-1}"#,
            r#"{"exp":"1700000000"}"#,
            r#"{"iat":1e300}"#,
            r#"{"aud":1}"#,
            r#"{"aud":[1]}"#,
        ] {
            assert!(serde_json::from_str::<RegisteredClaims>(json).is_err(), "{json}");
        }
    }
}
