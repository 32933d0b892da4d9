//! Encryption at rest of private keys: AES-256-GCM under the data directory's master key, bound
//! to what the sealed bytes belong to (associated data), so a sealed key cannot be moved to
//! another tenant's row.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

/// Length of the master key in bytes.
pub const MASTER_KEY_LEN: usize = 32;
const VERSION: u8 = 1;

/// The key that seals private keys and secrets at rest. Its `Debug` shows nothing.
pub struct MasterKey(LessSafeKey);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// Why sealed bytes could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The master key has the wrong length.
    #[error("the master key must be {MASTER_KEY_LEN} bytes")]
    BadKey,
    /// The sealed bytes are damaged, or sealed under another key or for another owner.
    #[error("sealed data is damaged or belongs to another master key")]
    Unsealable,
    /// The random generator failed.
    #[error("no randomness available")]
    Random,
}

impl MasterKey {
    /// Makes a new random master key; returns its bytes for the caller to store (0600).
    pub fn generate() -> Result<Zeroizing<Vec<u8>>, SealError> {
        let mut bytes = Zeroizing::new(vec![0u8; MASTER_KEY_LEN]);
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| SealError::Random)?;
        Ok(bytes)
    }

    /// Loads a master key from its bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() != MASTER_KEY_LEN {
            return Err(SealError::BadKey);
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::BadKey)?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// Encrypts `plaintext` for `owner` (e.g. `signing-key/{tenant}/{kid}`).
    pub fn seal(&self, owner: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut buffer = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| SealError::Unsealable)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buffer.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buffer);
        Ok(out)
    }

    /// Decrypts what [`MasterKey::seal`] made for the same `owner`.
    pub fn open(&self, owner: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let [VERSION, rest @ ..] = sealed else {
            return Err(SealError::Unsealable);
        };
        if rest.len() < NONCE_LEN {
            return Err(SealError::Unsealable);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Unsealable)?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let plaintext = self
            .0
            .open_in_place(nonce, Aad::from(owner.as_bytes()), &mut buffer)
            .map_err(|_| SealError::Unsealable)?;
        Ok(Zeroizing::new(plaintext.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_owners_keys_and_damage() {
        let key = MasterKey::from_bytes(&MasterKey::generate().unwrap()).unwrap();
        let sealed = key.seal("signing-key/a/1", b"secret").unwrap();
        assert_eq!(&key.open("signing-key/a/1", &sealed).unwrap()[..], b"secret");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(key.open("signing-key/b/1", &sealed).unwrap_err(), SealError::Unsealable);
        let other = MasterKey::from_bytes(&MasterKey::generate().unwrap()).unwrap();
        assert_eq!(
            other.open("signing-key/a/1", &sealed).unwrap_err(),
            SealError::Unsealable
        );
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert_eq!(
            key.open("signing-key/a/1", &damaged).unwrap_err(),
            SealError::Unsealable
        );
        assert_eq!(key.open("x", &[]).unwrap_err(), SealError::Unsealable);
        assert_eq!(MasterKey::from_bytes(&[0; 16]).unwrap_err(), SealError::BadKey);
    }
}
