//! Certificate thumbprints: the SHA-1 the Entra portal shows, the SHA-256 that replaces it, their
//! base64url forms used as JWT headers (`x5t`, `x5t#S256`), and parsing of whatever form a user
//! pastes.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, general_purpose};

use crate::error::{Error, Result};

/// Both thumbprints of one certificate: hashes of its DER encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Thumbprints {
    sha1: [u8; 20],
    sha256: [u8; 32],
}

impl Thumbprints {
    /// Hashes a certificate's DER encoding.
    pub fn of(certificate_der: &[u8]) -> Self {
        let mut sha1 = [0; 20];
        sha1.copy_from_slice(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, certificate_der).as_ref());
        let mut sha256 = [0; 32];
        sha256.copy_from_slice(digest::digest(&digest::SHA256, certificate_der).as_ref());
        Self { sha1, sha256 }
    }

    /// The SHA-1 thumbprint.
    pub fn sha1(&self) -> Thumbprint {
        Thumbprint::Sha1(self.sha1)
    }

    /// The SHA-256 thumbprint.
    pub fn sha256(&self) -> Thumbprint {
        Thumbprint::Sha256(self.sha256)
    }

    /// The SHA-1 thumbprint as uppercase hex, the form the Entra portal shows.
    pub fn sha1_hex(&self) -> String {
        self.sha1().to_hex()
    }

    /// The SHA-256 thumbprint as uppercase hex.
    pub fn sha256_hex(&self) -> String {
        self.sha256().to_hex()
    }

    /// The `x5t` JWT header: base64url of the SHA-1 thumbprint, unpadded.
    pub fn x5t(&self) -> String {
        self.sha1().to_base64url()
    }

    /// The `x5t#S256` JWT header: base64url of the SHA-256 thumbprint, unpadded.
    pub fn x5t_s256(&self) -> String {
        self.sha256().to_base64url()
    }

    /// Whether `thumbprint` (of either hash) is one of these.
    pub fn matches(&self, thumbprint: &Thumbprint) -> bool {
        match thumbprint {
            Thumbprint::Sha1(t) => *t == self.sha1,
            Thumbprint::Sha256(t) => *t == self.sha256,
        }
    }
}

impl fmt::Debug for Thumbprints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thumbprints")
            .field("sha1", &self.sha1_hex())
            .field("sha256", &self.sha256_hex())
            .finish()
    }
}

/// The hash a thumbprint was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThumbprintHash {
    /// SHA-1: 20 bytes, `x5t`, the portal's "Thumbprint" column.
    Sha1,
    /// SHA-256: 32 bytes, `x5t#S256`.
    Sha256,
}

impl fmt::Display for ThumbprintHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
        })
    }
}

/// One thumbprint, SHA-1 or SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Thumbprint {
    /// A SHA-1 thumbprint.
    Sha1([u8; 20]),
    /// A SHA-256 thumbprint.
    Sha256([u8; 32]),
}

/// Base64url, with or without `=` padding.
const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// The standard alphabet, with or without padding (Microsoft Graph's `customKeyIdentifier`).
const STANDARD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    general_purpose::GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Thumbprint {
    /// Parses a thumbprint typed in any common form: hex in either case, with or without colons
    /// or spaces (`openssl x509 -fingerprint` output included), or base64url (`x5t`) with or
    /// without `=` padding. The length tells which hash it is.
    pub fn parse(input: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidThumbprint {
            input: input.chars().take(100).collect(),
            reason,
        };
        let trimmed = input.trim();
        // "SHA1 Fingerprint=AB:CD:..." as printed by `openssl x509 -fingerprint`.
        let value = match trimmed.split_once('=') {
            Some((prefix, rest)) if prefix.to_ascii_lowercase().contains("fingerprint") => rest.trim(),
            _ => trimmed,
        };
        let hex: String = value.chars().filter(|c| !matches!(c, ':' | ' ' | '\t')).collect();
        let is_hex = !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
        if is_hex && matches!(hex.len(), 40 | 64) {
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_default())
                .collect();
            return Self::from_bytes(&bytes).ok_or_else(|| invalid("wrong length"));
        }
        let decoded = URL_SAFE_ANY_PAD
            .decode(value)
            .or_else(|_| STANDARD_ANY_PAD.decode(value));
        match decoded {
            Ok(bytes) => Self::from_bytes(&bytes)
                .ok_or_else(|| invalid("base64 that decodes to neither 20 bytes (SHA-1) nor 32 bytes (SHA-256)")),
            Err(_) if is_hex => Err(invalid(
                "hex of the wrong length: a SHA-1 thumbprint has 40 hex digits, a SHA-256 one 64",
            )),
            Err(_) => Err(invalid("neither hex nor base64url")),
        }
    }

    /// A thumbprint from its raw bytes: 20 for SHA-1, 32 for SHA-256.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        match bytes.len() {
            20 => bytes.try_into().ok().map(Self::Sha1),
            32 => bytes.try_into().ok().map(Self::Sha256),
            _ => None,
        }
    }

    /// The hash this thumbprint was made with.
    pub fn hash(&self) -> ThumbprintHash {
        match self {
            Self::Sha1(_) => ThumbprintHash::Sha1,
            Self::Sha256(_) => ThumbprintHash::Sha256,
        }
    }

    /// The raw hash bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Sha1(b) => b,
            Self::Sha256(b) => b,
        }
    }

    /// Uppercase hex, no separators: the portal's form.
    pub fn to_hex(&self) -> String {
        self.as_bytes().iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Base64url without padding: the JWT header form.
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.as_bytes())
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for Thumbprint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Key Vault fixture's certificate: SHA-1 B473943A... and x5t tHOUOqgt-GCK61US0qlkPr8j1-w.
    const HEX: &str = "B473943AA82DF8608AEB5512D2A9643EBF23D7EC";
    const X5T: &str = "tHOUOqgt-GCK61US0qlkPr8j1-w";

    #[test]
    fn parses_every_common_form_of_one_sha1_thumbprint() {
        let expected = Thumbprint::parse(HEX).unwrap();
        assert_eq!(expected.hash(), ThumbprintHash::Sha1);
        assert_eq!(expected.to_base64url(), X5T);
        let colons: Vec<String> = (0..20).map(|i| HEX[2 * i..2 * i + 2].to_owned()).collect();
        for form in [
            HEX.to_lowercase(),
            colons.join(":"),
            colons.join(" ").to_lowercase(),
            format!("sha1 Fingerprint={}", colons.join(":")),
            X5T.to_owned(),
            format!("{X5T}="),
            format!("  {HEX}\n"),
        ] {
            assert_eq!(Thumbprint::parse(&form).unwrap(), expected, "{form}");
        }
    }

    #[test]
    fn tells_sha256_by_length() {
        let t = Thumbprints::of(b"certificate");
        let parsed = Thumbprint::parse(&t.x5t_s256()).unwrap();
        assert_eq!(parsed.hash(), ThumbprintHash::Sha256);
        assert!(t.matches(&parsed));
        assert_eq!(Thumbprint::parse(&format!("{}=", t.x5t_s256())).unwrap(), parsed);
        assert_eq!(Thumbprint::parse(&t.sha256_hex().to_lowercase()).unwrap(), parsed);
        assert!(!t.matches(&Thumbprint::parse(HEX).unwrap()));
    }

    #[test]
    fn refuses_wrong_lengths_and_junk() {
        for bad in ["", "B473943A", &HEX[..39], "not a thumbprint!", &format!("{HEX}00")] {
            let err = Thumbprint::parse(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidThumbprint { .. }), "{bad}: {err}");
        }
    }
}
