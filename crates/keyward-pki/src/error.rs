//! The one error type of this crate.

use std::fmt;

/// Everything that can go wrong when reading, writing or making keys and certificates.
///
/// Messages say what is wrong with the input; [`Error::hint`] says what to do about it.
/// No message ever contains key material or a password.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is empty.
    #[error("the input is empty")]
    Empty,
    /// The input is larger than any certificate or key file we accept.
    #[error("the input is {size} bytes, more than the {limit}-byte limit for certificate and key files")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The input is neither a certificate nor a private key in any format we know.
    #[error("not a certificate or private key: {found}")]
    Unrecognized {
        /// What the input looks like instead.
        found: String,
    },
    /// The input has the shape of a known format but is truncated or damaged.
    #[error("truncated or corrupt {format}: {detail}")]
    Corrupt {
        /// The format the input claims to be.
        format: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The input is encrypted and no password was given.
    #[error("the {what} is protected by a password, and none was given")]
    PasswordRequired {
        /// What is encrypted ("PKCS#12 file", "private key").
        what: &'static str,
    },
    /// The password does not open the input.
    #[error("wrong password: {0}")]
    WrongPassword(WrongPassword),
    /// The input uses an algorithm we do not support.
    #[error("unsupported {what} {oid}{}", name.map(|n| format!(" ({n})")).unwrap_or_default())]
    UnsupportedAlgorithm {
        /// What the algorithm is used for ("key", "key encryption", "PKCS#12 MAC").
        what: &'static str,
        /// Its object identifier in dotted form.
        oid: String,
        /// Its usual name, when known.
        name: Option<&'static str>,
    },
    /// The private key is not the key of the certificate.
    #[error("the private key does not belong to the certificate (their public keys differ)")]
    KeyMismatch,
    /// An RSA key is shorter than 2048 bits.
    #[error(
        "the RSA key has {bits} bits; at least 2048 are required (NIST SP 800-131A, and Entra ID refuses shorter keys)"
    )]
    KeyTooSmall {
        /// The key's modulus size in bits.
        bits: usize,
    },
    /// A private key was needed and the input holds none.
    #[error("no private key found")]
    MissingPrivateKey,
    /// A certificate was needed and the input holds none.
    #[error("no certificate found")]
    MissingCertificate,
    /// A distinguished name string could not be parsed.
    #[error("invalid subject {input:?}: {reason}")]
    InvalidSubject {
        /// The string given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A subject alternative name could not be parsed.
    #[error("invalid subject alternative name {input:?}: {reason}")]
    InvalidSubjectAltName {
        /// The string given.
        input: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An extended key usage is not a dotted object identifier.
    #[error("invalid extended key usage {0:?}: not an object identifier such as 1.3.6.1.5.5.7.3.1")]
    InvalidExtendedKeyUsage(String),
    /// A thumbprint string is in no form we recognise.
    #[error("invalid thumbprint {input:?}: {reason}")]
    InvalidThumbprint {
        /// The string given (a thumbprint is public, so it may be echoed).
        input: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The requested validity period is impossible.
    #[error("invalid validity period: {0}")]
    InvalidValidity(&'static str),
    /// The cryptographic library refused an operation on valid input.
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
}

/// Which check showed that a password was wrong.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongPassword {
    /// The PKCS#12 integrity check (MAC) failed.
    Pkcs12Mac,
    /// The PKCS#12 MAC was correct (or absent) but an encrypted bag did not decrypt.
    Pkcs12Bag,
    /// An encrypted private key (PKCS#8 or OpenSSL's traditional PEM) did not decrypt.
    PrivateKey,
}

impl fmt::Display for WrongPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pkcs12Mac => "the PKCS#12 integrity check (MAC) failed",
            Self::Pkcs12Bag => "the PKCS#12 MAC is correct but an encrypted bag does not decrypt with it",
            Self::PrivateKey => "the encrypted private key does not decrypt with it",
        })
    }
}

impl Error {
    /// What the user can do about this error, when there is something to say.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Self::Empty | Self::Corrupt { .. } => {
                "check that the file was copied completely (in binary mode) and not cut short"
            }
            Self::TooLarge { .. } => "certificate and key files are a few kilobytes; check the file name",
            Self::Unrecognized { .. } => {
                "give a certificate (.cer, .crt, .pem), a PFX/PKCS#12 file (.pfx, .p12) or a private key (.key, .pem)"
            }
            Self::PasswordRequired { .. } => {
                "give the password with --password-file FILE or the KEYWARD_PASSWORD environment variable"
            }
            Self::WrongPassword(WrongPassword::Pkcs12Bag) => {
                "the file may use one password for its integrity check and another for its contents; re-export it with one password"
            }
            Self::WrongPassword(_) => {
                "check the password; an empty password and no password are different for some tools, so try both"
            }
            Self::UnsupportedAlgorithm { .. } => {
                "re-encrypt or re-export the file with a common algorithm (RSA or EC P-256/P-384 keys; AES-256-CBC with PBKDF2 encryption)"
            }
            Self::KeyMismatch => "use the private key that was generated together with this certificate",
            Self::KeyTooSmall { .. } => {
                "make a new key of 2048 bits or more (keyward cert new uses RSA 2048 by default)"
            }
            Self::MissingPrivateKey => {
                "give a file that holds the private key too (a .pfx, or the .key next to the certificate)"
            }
            Self::MissingCertificate => "give a file that holds the certificate too (a .pfx, .cer or .pem)",
            Self::InvalidSubject { .. } => {
                "write the subject as comma-separated attributes, e.g. \"CN=my-app,O=Contoso\"; escape a comma inside a value as \\,"
            }
            Self::InvalidSubjectAltName { .. } => {
                "give a DNS name, an IP address, an e-mail address or a URI (e.g. \"localhost\", \"127.0.0.1\", \"me@example.com\", \"https://example.com\")"
            }
            Self::InvalidExtendedKeyUsage(_) => {
                "give extended key usages as dotted OIDs, e.g. 1.3.6.1.5.5.7.3.1 (serverAuth) and 1.3.6.1.5.5.7.3.2 (clientAuth)"
            }
            Self::InvalidThumbprint { .. } => {
                "give the SHA-1 (40 hex digits) or SHA-256 (64 hex digits) thumbprint, or its base64url form (x5t / x5t#S256)"
            }
            Self::InvalidValidity(_) => "give a validity between 1 day and 100 years",
            Self::Crypto(_) => return None,
        })
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn corrupt(format: &'static str, detail: impl Into<String>) -> Error {
    Error::Corrupt {
        format,
        detail: detail.into(),
    }
}
