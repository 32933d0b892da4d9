//! JSON Web Keys (RFC 7517, RFC 7518 section 6) for public signing keys, and the key set a
//! `jwks_uri` serves, in the shape of Entra's `/discovery/v2.0/keys`.

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use keyward_pki::Certificate;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::algorithm::Algorithm;
use crate::error::{Error, KeyError, Result, malformed_key, truncated};
use crate::jws::base64url;
use crate::spki::PublicKeyParts;
use crate::verify::VerifyingKey;

/// A public key as a JWK.
///
/// Key numbers are kept as the base64url text they arrived in; [`VerifyingKey::from_jwk`]
/// decodes and checks them. Members other than those below are ignored when reading.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "JwkWire")]
#[non_exhaustive]
pub struct Jwk {
    /// `kty` and the key numbers.
    pub params: JwkParams,
    /// `use`: `sig` for signing keys.
    pub key_use: Option<String>,
    /// `kid`: the key identifier (Entra uses the certificate's `x5t`).
    pub kid: Option<String>,
    /// `x5t`: base64url SHA-1 thumbprint of the certificate.
    pub x5t: Option<String>,
    /// `x5t#S256`: base64url SHA-256 thumbprint of the certificate.
    pub x5t_s256: Option<String>,
    /// `x5c`: the certificate chain, **standard** base64 (not base64url) DER (RFC 7517 4.7).
    pub x5c: Option<Vec<String>>,
    /// `alg`: the one algorithm this key is meant for.
    pub alg: Option<String>,
    /// `issuer`: Entra's extension naming the issuer that signs with this key.
    pub issuer: Option<String>,
}

/// The key type and its numbers, base64url as in the JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwkParams {
    /// `kty: "RSA"`.
    Rsa {
        /// The modulus.
        n: String,
        /// The public exponent.
        e: String,
    },
    /// `kty: "EC"`.
    Ec {
        /// The curve (`P-256`).
        crv: String,
        /// The x coordinate.
        x: String,
        /// The y coordinate.
        y: String,
    },
    /// Any other `kty` (`oct`, `OKP`, ...): kept so that a key set containing one can still be
    /// read, but never usable here. Its numbers are not kept.
    Other {
        /// The key type.
        kty: String,
    },
}

impl JwkParams {
    /// The `kty` value.
    pub fn kty(&self) -> &str {
        match self {
            Self::Rsa { .. } => "RSA",
            Self::Ec { .. } => "EC",
            Self::Other { kty } => kty,
        }
    }
}

impl Jwk {
    /// The JWK of a verifying key, with `use: "sig"` and nothing else.
    pub fn from_verifying_key(key: &VerifyingKey) -> Self {
        let params = match key.parts() {
            PublicKeyParts::Rsa { n, e } => JwkParams::Rsa {
                n: base64url(n),
                e: base64url(e),
            },
            PublicKeyParts::EcP256 { x, y } => JwkParams::Ec {
                crv: "P-256".to_owned(),
                x: base64url(x),
                y: base64url(y),
            },
        };
        Self {
            params,
            key_use: Some("sig".to_owned()),
            kid: None,
            x5t: None,
            x5t_s256: None,
            x5c: None,
            alg: None,
            issuer: None,
        }
    }

    /// The JWK of a certificate's key, the way Entra publishes its signing keys: `use: "sig"`,
    /// `kid` (the certificate's `x5t` unless `kid` is given), `x5t`, the key numbers, and the
    /// certificate in `x5c`. Refuses keys that [`VerifyingKey`] refuses (RSA under 2048 bits,
    /// curves other than P-256).
    pub fn from_certificate(certificate: &Certificate, kid: Option<&str>) -> Result<Self> {
        let key = VerifyingKey::from_certificate(certificate)?;
        let x5t = certificate.thumbprints().x5t();
        Ok(Self {
            kid: Some(kid.map_or_else(|| x5t.clone(), str::to_owned)),
            x5t: Some(x5t),
            x5c: Some(vec![STANDARD.encode(certificate.der())]),
            ..Self::from_verifying_key(&key)
        })
    }

    /// Sets `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets `alg`.
    pub fn with_alg(mut self, alg: Algorithm) -> Self {
        self.alg = Some(alg.as_str().to_owned());
        self
    }

    /// Sets `issuer` (Entra's extension).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }
}

/// Base64url with or without `=` padding: a JWK comes from a publisher we chose to trust, and
/// refusing its padding would help nobody. Non-canonical trailing bits are still refused.
const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode_number(value: &str, name: &str) -> Result<Vec<u8>> {
    URL_SAFE_ANY_PAD
        .decode(value)
        .map_err(|_| malformed_key("JWK", format!("\"{name}\" is not base64url")))
}

impl VerifyingKey {
    /// From a JWK: RSA (`n`, `e`) or EC P-256 (`x`, `y`). Refuses a key whose `use` is not
    /// `sig`, and one whose `alg` names an algorithm we do not implement; a key with a
    /// supported `alg` will verify that algorithm only.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        if let Some(key_use) = jwk.key_use.as_deref().filter(|u| *u != "sig") {
            return Err(KeyError::NotForSigning(truncated(key_use)).into());
        }
        let only = jwk.alg.as_deref().map(Algorithm::parse).transpose()?;
        let parts = match &jwk.params {
            JwkParams::Rsa { n, e } => {
                let strip = |mut v: Vec<u8>| {
                    let zeros = v.iter().take_while(|&&b| b == 0).count();
                    v.drain(..zeros);
                    v
                };
                let n = strip(decode_number(n, "n")?);
                let e = strip(decode_number(e, "e")?);
                if n.is_empty() || e.is_empty() {
                    return Err(malformed_key("JWK", "\"n\" or \"e\" is zero"));
                }
                PublicKeyParts::Rsa { n, e }
            }
            JwkParams::Ec { crv, x, y } => {
                if crv != "P-256" {
                    return Err(KeyError::UnsupportedCurve(truncated(crv)).into());
                }
                let coordinate = |value: &str, name: &str| -> Result<[u8; 32]> {
                    decode_number(value, name)?
                        .try_into()
                        .map_err(|_| malformed_key("JWK", format!("\"{name}\" is not 32 bytes long")))
                };
                PublicKeyParts::EcP256 {
                    x: coordinate(x, "x")?,
                    y: coordinate(y, "y")?,
                }
            }
            JwkParams::Other { kty } => return Err(KeyError::UnsupportedType(format!("\"{}\"", truncated(kty))).into()),
        };
        let key = Self::from_parts(parts)?;
        match only {
            Some(alg) => {
                alg.check_fits(key.key_algorithm())?;
                Ok(key.restricted_to(alg))
            }
            None => Ok(key),
        }
    }
}

impl Serialize for Jwk {
    /// Members in the order Entra writes them: `kty`, `use`, `kid`, `x5t`, the key numbers,
    /// `x5c`, then `alg` and `issuer`; absent members are left out.
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kty", self.params.kty())?;
        let optional = |map: &mut S::SerializeMap, name: &str, value: &Option<String>| match value {
            Some(v) => map.serialize_entry(name, v),
            None => Ok(()),
        };
        optional(&mut map, "use", &self.key_use)?;
        optional(&mut map, "kid", &self.kid)?;
        optional(&mut map, "x5t", &self.x5t)?;
        optional(&mut map, "x5t#S256", &self.x5t_s256)?;
        match &self.params {
            JwkParams::Rsa { n, e } => {
                map.serialize_entry("n", n)?;
                map.serialize_entry("e", e)?;
            }
            JwkParams::Ec { crv, x, y } => {
                map.serialize_entry("crv", crv)?;
                map.serialize_entry("x", x)?;
                map.serialize_entry("y", y)?;
            }
            JwkParams::Other { .. } => {}
        }
        if let Some(x5c) = &self.x5c {
            map.serialize_entry("x5c", x5c)?;
        }
        optional(&mut map, "alg", &self.alg)?;
        optional(&mut map, "issuer", &self.issuer)?;
        map.end()
    }
}

/// A JWK as it arrives.
#[derive(Deserialize)]
struct JwkWire {
    kty: String,
    #[serde(rename = "use")]
    key_use: Option<String>,
    kid: Option<String>,
    x5t: Option<String>,
    #[serde(rename = "x5t#S256")]
    x5t_s256: Option<String>,
    x5c: Option<Vec<String>>,
    alg: Option<String>,
    issuer: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

impl TryFrom<JwkWire> for Jwk {
    type Error = Error;
    fn try_from(w: JwkWire) -> Result<Self> {
        let missing = |name: &str| malformed_key("JWK", format!("{} key without \"{name}\"", w.kty));
        let params = match w.kty.as_str() {
            "RSA" => JwkParams::Rsa {
                n: w.n.clone().ok_or_else(|| missing("n"))?,
                e: w.e.clone().ok_or_else(|| missing("e"))?,
            },
            "EC" => JwkParams::Ec {
                crv: w.crv.clone().ok_or_else(|| missing("crv"))?,
                x: w.x.clone().ok_or_else(|| missing("x"))?,
                y: w.y.clone().ok_or_else(|| missing("y"))?,
            },
            other => JwkParams::Other { kty: other.to_owned() },
        };
        Ok(Self {
            params,
            key_use: w.key_use,
            kid: w.kid,
            x5t: w.x5t,
            x5t_s256: w.x5t_s256,
            x5c: w.x5c,
            alg: w.alg,
            issuer: w.issuer,
        })
    }
}

/// A JWK Set: `{"keys": [...]}`, what a `jwks_uri` serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The key with this `kid`, if any.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }
}

#[cfg(test)]
mod tests {
    use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey};

    use super::*;
    use crate::sign::SigningKey;

    fn certificate(key_type: KeyType) -> (PrivateKey, Certificate) {
        let key = PrivateKey::generate(key_type).unwrap();
        let cert = CertificateSpec::new(Name::parse("CN=jwk").unwrap())
            .self_signed(&key)
            .unwrap();
        (key, cert)
    }

    #[test]
    fn writes_the_entra_shape() {
        let (_, cert) = certificate(KeyType::Rsa2048);
        let jwk = Jwk::from_certificate(&cert, None)
            .unwrap()
            .with_issuer("https://localhost:8443/tid/v2.0");
        let json = serde_json::to_string(&Jwks {
            keys: vec![jwk.clone()],
        })
        .unwrap();
        let JwkParams::Rsa { n, e } = &jwk.params else { panic!() };
        let x5t = cert.thumbprints().x5t();
        let x5c = STANDARD.encode(cert.der());
        assert_eq!(
            json,
            format!(
                r#"{{"keys":[{{"kty":"RSA","use":"sig","kid":"{x5t}","x5t":"{x5t}","n":"{n}","e":"AQAB","x5c":["{x5c}"],"issuer":"https://localhost:8443/tid/v2.0"}}]}}"#
            )
        );
        assert_eq!(e, "AQAB");
        assert_eq!(
            n.len(),
            342,
            "2048 bits = 256 bytes = 342 unpadded base64url characters"
        );
        assert!(!n.contains('=') && !n.contains('+') && !n.contains('/'));
        let back: Jwks = serde_json::from_str(&json).unwrap();
        assert_eq!(back.keys, [jwk]);
        assert_eq!(back.find(&x5t).unwrap().x5t.as_deref(), Some(x5t.as_str()));
        assert!(back.find("other").is_none());
        let with_kid = Jwk::from_certificate(&cert, Some("my-kid")).unwrap();
        assert_eq!(with_kid.kid.as_deref(), Some("my-kid"));
        assert_eq!(with_kid.x5t, Some(x5t));
    }

    #[test]
    fn ec_keys_round_trip() {
        let (key, cert) = certificate(KeyType::EcP256);
        let jwk = Jwk::from_certificate(&cert, None).unwrap();
        let json = serde_json::to_string(&jwk).unwrap();
        assert!(json.starts_with(r#"{"kty":"EC","use":"sig","kid":"#), "{json}");
        assert!(json.contains(r#""crv":"P-256","x":""#), "{json}");
        let verifier = VerifyingKey::from_jwk(&serde_json::from_str(&json).unwrap()).unwrap();
        let signer = SigningKey::new(&key, Algorithm::Es256).unwrap();
        let sig = signer.sign_raw(b"input").unwrap();
        verifier
            .verify(Algorithm::Es256, &Algorithm::ALL, b"input", &sig)
            .unwrap();
    }

    #[test]
    fn refuses_unusable_jwks() {
        let (_, cert) = certificate(KeyType::Rsa2048);
        let jwk = Jwk::from_certificate(&cert, None).unwrap();
        let mut enc = jwk.clone();
        enc.key_use = Some("enc".into());
        assert_eq!(
            VerifyingKey::from_jwk(&enc),
            Err(KeyError::NotForSigning("enc".into()).into())
        );
        let rs512 = Jwk {
            alg: Some("RS512".into()),
            ..jwk.clone()
        };
        assert_eq!(
            VerifyingKey::from_jwk(&rs512),
            Err(Error::UnsupportedAlgorithm("RS512".into()))
        );
        let es256 = jwk.clone().with_alg(Algorithm::Es256);
        assert!(matches!(
            VerifyingKey::from_jwk(&es256),
            Err(Error::AlgorithmKeyMismatch { .. })
        ));
        for json in [
            r#"{"kty":"RSA","e":"AQAB"}"#,
            r#"{"kty":"EC","crv":"P-256","x":"AA"}"#,
            r#"{"n":"AQAB","e":"AQAB"}"#,
        ] {
            assert!(serde_json::from_str::<Jwk>(json).is_err(), "{json}");
        }
        let oct: Jwk = serde_json::from_str(r#"{"kty":"oct","k":"c2VjcmV0"}"#).unwrap();
        assert_eq!(oct.params.kty(), "oct");
        assert_eq!(serde_json::to_string(&oct).unwrap(), r#"{"kty":"oct"}"#);
        assert_eq!(
            VerifyingKey::from_jwk(&oct),
            Err(KeyError::UnsupportedType("\"oct\"".into()).into())
        );
        let p384: Jwk = serde_json::from_str(r#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#).unwrap();
        assert_eq!(
            VerifyingKey::from_jwk(&p384),
            Err(KeyError::UnsupportedCurve("P-384".into()).into())
        );
        let short: Jwk = serde_json::from_str(r#"{"kty":"EC","crv":"P-256","x":"AQ","y":"AQ"}"#).unwrap();
        assert!(matches!(
            VerifyingKey::from_jwk(&short),
            Err(Error::Key(KeyError::Malformed { .. }))
        ));
        let bad_b64: Jwk = serde_json::from_str(r#"{"kty":"RSA","n":"n+/","e":"AQAB"}"#).unwrap();
        assert!(matches!(
            VerifyingKey::from_jwk(&bad_b64),
            Err(Error::Key(KeyError::Malformed { .. }))
        ));
    }

    #[test]
    fn alg_in_the_jwk_restricts_the_key() {
        let (key, cert) = certificate(KeyType::Rsa2048);
        let jwk = Jwk::from_certificate(&cert, None).unwrap().with_alg(Algorithm::Rs256);
        let verifier = VerifyingKey::from_jwk(&jwk).unwrap();
        let ps = SigningKey::new(&key, Algorithm::Ps256)
            .unwrap()
            .sign_raw(b"in")
            .unwrap();
        let rs = SigningKey::new(&key, Algorithm::Rs256)
            .unwrap()
            .sign_raw(b"in")
            .unwrap();
        verifier.verify(Algorithm::Rs256, &Algorithm::ALL, b"in", &rs).unwrap();
        assert!(matches!(
            verifier.verify(Algorithm::Ps256, &Algorithm::ALL, b"in", &ps),
            Err(Error::AlgorithmNotAllowed { .. })
        ));
        assert_eq!(verifier.algorithms(), [Algorithm::Rs256]);
    }

    #[test]
    fn leading_zeros_and_padding_in_numbers_are_tolerated() {
        let (key, cert) = certificate(KeyType::Rsa2048);
        let jwk = Jwk::from_certificate(&cert, None).unwrap();
        let JwkParams::Rsa { n, .. } = &jwk.params else {
            panic!()
        };
        let mut padded_n = URL_SAFE_ANY_PAD.decode(n).unwrap();
        padded_n.insert(0, 0);
        let lenient = Jwk {
            params: JwkParams::Rsa {
                n: base64::engine::general_purpose::URL_SAFE.encode(&padded_n),
                e: "AQAB".into(),
            },
            ..jwk.clone()
        };
        let sig = SigningKey::new(&key, Algorithm::Rs256)
            .unwrap()
            .sign_raw(b"in")
            .unwrap();
        VerifyingKey::from_jwk(&lenient)
            .unwrap()
            .verify(Algorithm::Rs256, &Algorithm::ALL, b"in", &sig)
            .unwrap();
    }
}
