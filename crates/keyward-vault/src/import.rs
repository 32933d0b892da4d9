//! Reading what a client imports: PEM text (what the JavaScript SDK sends), base64 of a PEM
//! file, or base64 of a PFX (what the Python SDK sends), told apart by content. The PFX
//! password opens the file and is then dropped.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use keyward_pki::{Certificate, PrivateKey};

use crate::error::{Error, Result};

/// The largest `value` accepted, in characters: base64 of [`keyward_pki::MAX_INPUT`].
pub const MAX_IMPORT_VALUE: usize = keyward_pki::MAX_INPUT / 3 * 4 + 4;

/// A certificate with its key, read from an import.
pub(crate) struct Imported {
    pub certificate: Certificate,
    pub chain: Vec<Certificate>,
    pub key: PrivateKey,
    /// Whether the input was PEM (then the secret defaults to PEM too).
    pub pem: bool,
}

/// Reads an import's `value` with its optional password.
pub(crate) fn read_import(value: &str, password: Option<&str>) -> Result<Imported> {
    if value.len() > MAX_IMPORT_VALUE {
        return Err(Error::BadParameter(format!(
            "the certificate to import is larger than {MAX_IMPORT_VALUE} characters"
        )));
    }
    let text = value.trim();
    if text.is_empty() {
        return Err(Error::BadParameter("the certificate to import is empty".into()));
    }
    let bytes: zeroize::Zeroizing<Vec<u8>> = if text.contains("-----BEGIN") {
        zeroize::Zeroizing::new(text.as_bytes().to_vec())
    } else {
        let compact: zeroize::Zeroizing<String> =
            zeroize::Zeroizing::new(text.chars().filter(|c| !c.is_ascii_whitespace()).collect());
        let decoded = STANDARD
            .decode(compact.as_bytes())
            .or_else(|_| STANDARD_NO_PAD.decode(compact.as_bytes()))
            .map_err(|_| {
                Error::BadParameter(
                    "the certificate to import is neither PEM text nor base64 of a PFX or PEM file".into(),
                )
            })?;
        zeroize::Zeroizing::new(decoded)
    };
    let pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
    let password = password.filter(|p| !p.is_empty());
    let contents = keyward_pki::read(&bytes, password).map_err(Error::Certificate)?;
    let (certificate, key) = match contents.certificate_and_key() {
        Ok((c, k)) => (c.clone(), k.clone()),
        Err(keyward_pki::Error::MissingPrivateKey) => {
            return Err(Error::BadParameter(
                "the certificate to import has no private key: import a PFX or a PEM file with the key".into(),
            ));
        }
        Err(e) => return Err(Error::Certificate(e)),
    };
    Ok(Imported {
        certificate,
        chain: contents.certificates.into_iter().skip(1).collect(),
        key,
        pem,
    })
}

#[cfg(test)]
mod tests;
