//! The JOSE header of a JWS (RFC 7515 section 4): the members certificate-credential clients
//! send, typed; every other member is ignored.

use serde::{Deserialize, Serialize};

use crate::algorithm::Algorithm;
use crate::error::{Error, Result, Segment, truncated};
use crate::strict_json;

/// A JWS header.
///
/// Thumbprints (`x5t`, `x5t#S256`) and `x5c` entries are kept exactly as sent: MSAL Python pads
/// its thumbprints with `=` and puts line breaks in `x5c`, and normalising them is the job of the
/// code that looks them up (`keyward_pki::Thumbprint::parse` accepts every form).
///
/// Serializes with the members in the order below, omitting absent ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HeaderWire")]
#[non_exhaustive]
pub struct Header {
    /// `alg`: the signature algorithm.
    pub alg: Algorithm,
    /// `typ`: the media type, `JWT` for the tokens we deal with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// `kid`: the key identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `x5t`: base64url SHA-1 thumbprint of the signer's certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    /// `x5t#S256`: base64url SHA-256 thumbprint of the signer's certificate.
    #[serde(rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
    /// `x5c`: the certificate chain, standard base64 DER, signer first. Never trust a key from
    /// here by itself: it proves nothing the signer could not make up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    /// `crit`: extensions the recipient must understand. We understand none, so a parsed header
    /// never has one (parsing refuses it with [`Error::UnsupportedCritical`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crit: Option<Vec<String>>,
}

impl Header {
    /// A header with only `alg`.
    pub fn new(alg: Algorithm) -> Self {
        Self {
            alg,
            typ: None,
            kid: None,
            x5t: None,
            x5t_s256: None,
            x5c: None,
            crit: None,
        }
    }

    /// Sets `typ` (`"JWT"` for a JWT).
    pub fn with_typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Sets `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets `x5t` (see `keyward_pki::Thumbprints::x5t`).
    pub fn with_x5t(mut self, x5t: impl Into<String>) -> Self {
        self.x5t = Some(x5t.into());
        self
    }

    /// Sets `x5t#S256` (see `keyward_pki::Thumbprints::x5t_s256`).
    pub fn with_x5t_s256(mut self, x5t_s256: impl Into<String>) -> Self {
        self.x5t_s256 = Some(x5t_s256.into());
        self
    }

    /// Sets `x5c`: standard base64 (not base64url) of each certificate's DER, signer first.
    pub fn with_x5c(mut self, x5c: Vec<String>) -> Self {
        self.x5c = Some(x5c);
        self
    }

    /// Parses a decoded header segment: one JSON object, no repeated member, a supported `alg`,
    /// no `crit`. Unknown members are ignored.
    pub(crate) fn from_json(json: &[u8]) -> Result<Self> {
        strict_json::check_object(json, Segment::Header)?;
        let wire: HeaderWire = serde_json::from_slice(json).map_err(|e| Error::InvalidJson {
            segment: Segment::Header,
            detail: e.to_string(),
        })?;
        Self::try_from(wire)
    }
}

/// The header as it arrives, before `alg` and `crit` are judged.
#[derive(Deserialize)]
struct HeaderWire {
    alg: Option<String>,
    typ: Option<String>,
    kid: Option<String>,
    x5t: Option<String>,
    #[serde(rename = "x5t#S256")]
    x5t_s256: Option<String>,
    x5c: Option<Vec<String>>,
    crit: Option<Vec<String>>,
}

impl TryFrom<HeaderWire> for Header {
    type Error = Error;
    fn try_from(wire: HeaderWire) -> Result<Self> {
        let alg = Algorithm::parse(&wire.alg.ok_or(Error::MissingAlgorithm)?)?;
        match wire.crit {
            None => {}
            Some(names) if names.is_empty() => {
                return Err(Error::InvalidJson {
                    segment: Segment::Header,
                    detail: "\"crit\" is an empty list, which RFC 7515 section 4.1.11 forbids".into(),
                });
            }
            Some(names) => {
                return Err(Error::UnsupportedCritical(
                    names.iter().take(8).map(|n| truncated(n)).collect(),
                ));
            }
        }
        Ok(Self {
            alg,
            typ: wire.typ,
            kid: wire.kid,
            x5t: wire.x5t,
            x5t_s256: wire.x5t_s256,
            x5c: wire.x5c,
            crit: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Header> {
        Header::from_json(json.as_bytes())
    }

    #[test]
    fn serializes_present_members_in_order() {
        let h = Header::new(Algorithm::Ps256)
            .with_typ("JWT")
            .with_kid("k")
            .with_x5t("t")
            .with_x5t_s256("s")
            .with_x5c(vec!["MIIB".into()]);
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"alg":"PS256","typ":"JWT","kid":"k","x5t":"t","x5t#S256":"s","x5c":["MIIB"]}"#
        );
        assert_eq!(
            serde_json::to_string(&Header::new(Algorithm::Rs256)).unwrap(),
            r#"{"alg":"RS256"}"#
        );
        assert_eq!(parse(&serde_json::to_string(&h).unwrap()).unwrap(), h);
    }

    #[test]
    fn ignores_unknown_members_and_keeps_thumbprints_as_sent() {
        // MSAL Python: padded thumbprints, a PEM with line breaks in x5c.
        let h = parse(
            r#"{"alg":"RS256","typ":"JWT","x5t":"tHOUOqgt-GCK61US0qlkPr8j1-w=","x5t#S256":"abc","x5c":["MII\nB"],
                "cty":"x","jku":"https://example.com","zip":"DEF","nested":{"a":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(h.alg, Algorithm::Rs256);
        assert_eq!(h.x5t.as_deref(), Some("tHOUOqgt-GCK61US0qlkPr8j1-w="));
        assert_eq!(h.x5t_s256.as_deref(), Some("abc"));
        assert_eq!(h.x5c, Some(vec!["MII\nB".to_owned()]));
        assert_eq!(
            parse(r#"{"alg":"RS256","x5t":"tHOUOqgt-GCK61US0qlkPr8j1-w"}"#)
                .unwrap()
                .x5t
                .as_deref(),
            Some("tHOUOqgt-GCK61US0qlkPr8j1-w")
        );
    }

    #[test]
    fn refuses_missing_and_unsupported_alg() {
        assert_eq!(parse(r#"{"typ":"JWT"}"#), Err(Error::MissingAlgorithm));
        assert_eq!(
            parse(r#"{"alg":"none"}"#),
            Err(Error::UnsupportedAlgorithm("none".into()))
        );
        assert_eq!(
            parse(r#"{"alg":"HS256"}"#),
            Err(Error::UnsupportedAlgorithm("HS256".into()))
        );
        assert!(matches!(parse(r#"{"alg":256}"#), Err(Error::InvalidJson { .. })));
        assert!(matches!(parse(r#"{"alg":null}"#), Err(Error::MissingAlgorithm)));
    }

    #[test]
    fn refuses_crit() {
        assert_eq!(
            parse(r#"{"alg":"RS256","crit":["b64"],"b64":false}"#),
            Err(Error::UnsupportedCritical(vec!["b64".into()]))
        );
        assert!(matches!(
            parse(r#"{"alg":"RS256","crit":[]}"#),
            Err(Error::InvalidJson { .. })
        ));
        assert!(matches!(
            parse(r#"{"alg":"RS256","crit":"exp"}"#),
            Err(Error::InvalidJson { .. })
        ));
    }

    #[test]
    fn refuses_members_of_the_wrong_type() {
        for json in [
            r#"{"alg":"RS256","kid":1}"#,
            r#"{"alg":"RS256","x5c":"MIIB"}"#,
            r#"{"alg":"RS256","x5t":null,"typ":[]}"#,
        ] {
            assert!(matches!(parse(json), Err(Error::InvalidJson { .. })), "{json}");
        }
    }

    #[test]
    fn deserializes_through_serde_with_the_same_rules() {
        let h: Header = serde_json::from_str(r#"{"alg":"ES256","kid":"k"}"#).unwrap();
        assert_eq!(h, Header::new(Algorithm::Es256).with_kid("k"));
        assert!(serde_json::from_str::<Header>(r#"{"alg":"none"}"#).is_err());
    }
}
