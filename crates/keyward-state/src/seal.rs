//! Sealed values: how `keyward export --include-secrets` writes secret material (client secret
//! values and hashes, password hashes, vault secrets, vault certificates' keys) into a document,
//! and how `keyward apply --passphrase-file` reads it back.
//!
//! A sealed value is a [`SecretValue`] whose text is
//! `keyward-sealed:v1:{iterations}:{salt}:{nonce}:{ciphertext}` (base64url without padding):
//! AES-256-GCM under a key derived from the passphrase with PBKDF2-HMAC-SHA256 (600 000
//! iterations, OWASP's figure, a random 16-byte salt per document), a random 96-bit nonce per
//! value, the prefix as associated data. It stays in the document's own fields, so a sealed
//! document parses and validates as any other; only applying it needs the passphrase. A wrong
//! passphrase fails the tag check of the first value opened: [`Error::Passphrase`], before
//! anything is sent to a server.
//!
//! ```
//! let mut doc = keyward_state::parse(
//!     "[[tenant]]\nname = \"t\"\n[[app]]\nname = \"a\"\n[[app.secret]]\nname = \"s\"\nvalue = \"a-long-secret\"\n",
//!     "keyward.toml",
//! )?;
//! assert_eq!(doc.seal_secrets("correct horse battery")?, 1);
//! assert!(doc.is_sealed());
//! let text = doc.to_toml()?;
//! assert!(!text.contains("a-long-secret"));
//! let mut read = keyward_state::parse(&text, "keyward.toml")?;
//! assert!(matches!(read.open_secrets("wrong passphrase"), Err(keyward_state::Error::Passphrase)));
//! read.open_secrets("correct horse battery")?;
//! assert_eq!(read.apps[0].secrets[0].value.as_ref().unwrap().expose(), "a-long-secret");
//! # Ok::<(), keyward_state::Error>(())
//! ```

use std::collections::HashMap;
use std::num::NonZeroU32;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::pbkdf2;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::schema::{Document, SecretValue};

/// What every sealed value starts with.
pub const PREFIX: &str = "keyward-sealed:v1:";

/// PBKDF2-HMAC-SHA256 iterations of new sealed values.
pub const ITERATIONS: u32 = 600_000;

/// The most iterations a sealed value may ask for (a document cannot make `apply` spin).
const MAX_ITERATIONS: u32 = 10_000_000;

/// The shortest passphrase accepted for sealing.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

const SALT_LEN: usize = 16;

/// Whether a value is sealed (starts with [`PREFIX`]).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

fn derive(passphrase: &str, iterations: u32, salt: &[u8]) -> Result<LessSafeKey, Error> {
    let iterations = NonZeroU32::new(iterations).ok_or_else(|| sealed("zero iterations"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        passphrase.as_bytes(),
        key.as_mut(),
    );
    let key = UnboundKey::new(&AES_256_GCM, key.as_ref()).map_err(|_| sealed("the AES-256-GCM key"))?;
    Ok(LessSafeKey::new(key))
}

fn sealed(message: impl Into<String>) -> Error {
    Error::Sealed {
        message: message.into(),
    }
}

/// Seals values under one passphrase (one salt, one derived key: deriving is slow on purpose).
pub struct Sealer {
    key: LessSafeKey,
    salt: [u8; SALT_LEN],
}

impl Sealer {
    /// A sealer with a fresh salt; the passphrase has at least [`MIN_PASSPHRASE_CHARS`]
    /// characters.
    pub fn new(passphrase: &str) -> Result<Self, Error> {
        if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(sealed(format!(
                "the passphrase has fewer than {MIN_PASSPHRASE_CHARS} characters: choose a longer one"
            )));
        }
        let mut salt = [0u8; SALT_LEN];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| sealed("no randomness for the salt"))?;
        Ok(Self {
            key: derive(passphrase, ITERATIONS, &salt)?,
            salt,
        })
    }

    /// `plain`, sealed.
    pub fn seal(&self, plain: &str) -> Result<String, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| sealed("no randomness for the nonce"))?;
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(PREFIX.as_bytes()),
                &mut data,
            )
            .map_err(|_| sealed("AES-256-GCM sealing failed"))?;
        Ok(format!(
            "{PREFIX}{ITERATIONS}:{}:{}:{}",
            URL_SAFE_NO_PAD.encode(self.salt),
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(&data)
        ))
    }
}

/// Opens sealed values with one passphrase, deriving each salt's key once.
pub struct Opener {
    passphrase: Zeroizing<String>,
    keys: HashMap<(u32, Vec<u8>), LessSafeKey>,
}

impl Opener {
    /// An opener for `passphrase`.
    pub fn new(passphrase: &str) -> Self {
        Self {
            passphrase: Zeroizing::new(passphrase.to_owned()),
            keys: HashMap::new(),
        }
    }

    /// The plain text of a sealed value: [`Error::Passphrase`] when the passphrase is not the
    /// one it was sealed with, [`Error::Sealed`] when it is malformed.
    pub fn open(&mut self, value: &str) -> Result<Zeroizing<String>, Error> {
        let rest = value
            .strip_prefix(PREFIX)
            .ok_or_else(|| sealed(format!("a sealed value starts with {PREFIX:?}")))?;
        let malformed = || sealed("a sealed value is damaged: export the state again");
        let mut parts = rest.split(':');
        let (Some(iterations), Some(salt), Some(nonce), Some(data), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let iterations: u32 = iterations
            .parse()
            .ok()
            .filter(|n| (1..=MAX_ITERATIONS).contains(n))
            .ok_or_else(malformed)?;
        let salt = URL_SAFE_NO_PAD.decode(salt).map_err(|_| malformed())?;
        let nonce: [u8; NONCE_LEN] = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(malformed)?;
        let mut data = URL_SAFE_NO_PAD.decode(data).map_err(|_| malformed())?;
        let key = match self.keys.entry((iterations, salt)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let key = derive(&self.passphrase, iterations, &e.key().1)?;
                e.insert(key)
            }
        };
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(PREFIX.as_bytes()),
                &mut data,
            )
            .map_err(|_| Error::Passphrase)?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| malformed())?;
        data.iter_mut().for_each(|b| *b = 0);
        Ok(Zeroizing::new(text))
    }
}

impl Document {
    /// Every secret value of the document: client secrets and their hashes, passwords and
    /// password hashes, vault secrets and vault certificates' secrets.
    pub fn secret_values_mut(&mut self) -> Vec<&mut SecretValue> {
        let mut out = Vec::new();
        for app in &mut self.apps {
            for secret in &mut app.secrets {
                out.extend(secret.value.as_mut());
                out.extend(secret.hash.as_mut());
            }
        }
        for user in &mut self.users {
            out.extend(user.password.as_mut());
            out.extend(user.password_hash.as_mut());
        }
        for vault in &mut self.vaults {
            for cert in &mut vault.certificates {
                out.extend(cert.value.as_mut());
            }
            for secret in &mut vault.secrets {
                out.extend(secret.value.as_mut());
            }
        }
        out
    }

    /// Whether any value is sealed: applying the document needs the passphrase.
    pub fn is_sealed(&self) -> bool {
        let mut doc = self.clone();
        doc.secret_values_mut().iter().any(|v| is_sealed(v.expose()))
    }

    /// Seals every value not sealed yet with `passphrase`; returns how many were sealed.
    pub fn seal_secrets(&mut self, passphrase: &str) -> Result<usize, Error> {
        let sealer = Sealer::new(passphrase)?;
        let mut count = 0;
        for value in self.secret_values_mut() {
            if !is_sealed(value.expose()) {
                *value = SecretValue::new(sealer.seal(value.expose())?);
                count += 1;
            }
        }
        Ok(count)
    }

    /// Opens every sealed value with `passphrase`; returns how many were opened. All or
    /// nothing: on an error the document is unchanged.
    pub fn open_secrets(&mut self, passphrase: &str) -> Result<usize, Error> {
        let mut opener = Opener::new(passphrase);
        let mut opened = Vec::new();
        for value in self.clone().secret_values_mut() {
            if is_sealed(value.expose()) {
                opened.push(Some(opener.open(value.expose())?));
            } else {
                opened.push(None);
            }
        }
        let count = opened.iter().flatten().count();
        for (value, plain) in self.secret_values_mut().into_iter().zip(opened) {
            if let Some(plain) = plain {
                *value = SecretValue::new(plain.as_str());
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_opens_with_its_passphrase_only() {
        let sealer = Sealer::new("passphrase-1").unwrap();
        let a = sealer.seal("value").unwrap();
        let b = sealer.seal("value").unwrap();
        assert_ne!(a, b, "a fresh nonce per value");
        assert!(is_sealed(&a));
        assert_eq!(Opener::new("passphrase-1").open(&a).unwrap().as_str(), "value");
        assert!(matches!(Opener::new("passphrase-2").open(&a), Err(Error::Passphrase)));
        let damaged = format!("{}x", &a[..a.len() - 2]);
        assert!(Opener::new("passphrase-1").open(&damaged).is_err());
        assert!(matches!(
            Opener::new("p").open("keyward-sealed:v1:0:AA:AA:AA"),
            Err(Error::Sealed { .. })
        ));
        assert!(matches!(Sealer::new("short"), Err(Error::Sealed { .. })));
    }
}
