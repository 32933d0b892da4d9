//! OpenSSL's traditional PEM encryption (`Proc-Type: 4,ENCRYPTED` with `DEK-Info`), written by
//! `openssl genrsa -aes256 -traditional` and old tools: the key is MD5-based `EVP_BytesToKey`
//! over the password and the first 8 bytes of the IV, one round.

use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use md5::{Digest, Md5};
use zeroize::Zeroizing;

use crate::error::{Error, Result, WrongPassword, corrupt};
use crate::pem::Block;

const FORMAT: &str = "encrypted PEM private key";

/// Decrypts the body of a block with `Proc-Type: 4,ENCRYPTED`; returns the inner DER
/// (PKCS#1 or SEC1 depending on the block's label).
pub(crate) fn decrypt(block: &Block, password: &str) -> Result<Zeroizing<Vec<u8>>> {
    let dek = block
        .header("DEK-Info")
        .ok_or_else(|| corrupt(FORMAT, "Proc-Type says ENCRYPTED but DEK-Info is missing"))?;
    let (cipher, iv_hex) = dek
        .split_once(',')
        .ok_or_else(|| corrupt(FORMAT, "DEK-Info has no IV"))?;
    let iv = decode_hex(iv_hex.trim()).ok_or_else(|| corrupt(FORMAT, "the DEK-Info IV is not hex"))?;
    let (key_len, iv_len) = match cipher.trim().to_ascii_uppercase().as_str() {
        "AES-128-CBC" => (16, 16),
        "AES-192-CBC" => (24, 16),
        "AES-256-CBC" => (32, 16),
        "DES-EDE3-CBC" => (24, 8),
        "DES-CBC" => (8, 8),
        _ => {
            return Err(Error::UnsupportedAlgorithm {
                what: "PEM encryption cipher",
                oid: cipher.trim().chars().take(40).collect(),
                name: None,
            });
        }
    };
    if iv.len() != iv_len {
        return Err(corrupt(
            FORMAT,
            format!("the IV has {} bytes; {cipher} needs {iv_len}", iv.len()),
        ));
    }
    let key = bytes_to_key(password.as_bytes(), &iv[..8], key_len);
    let wrong = |_| Error::WrongPassword(WrongPassword::PrivateKey);
    let setup = |_| Error::Crypto("cipher setup");
    let body: &[u8] = &block.der;
    let plaintext = match key_len {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, &iv)
            .map_err(setup)?
            .decrypt_padded_vec::<Pkcs7>(body),
        24 if iv_len == 16 => cbc::Decryptor::<aes::Aes192>::new_from_slices(&key, &iv)
            .map_err(setup)?
            .decrypt_padded_vec::<Pkcs7>(body),
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &iv)
            .map_err(setup)?
            .decrypt_padded_vec::<Pkcs7>(body),
        24 => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(setup)?
            .decrypt_padded_vec::<Pkcs7>(body),
        _ => cbc::Decryptor::<des::Des>::new_from_slices(&key, &iv)
            .map_err(setup)?
            .decrypt_padded_vec::<Pkcs7>(body),
    }
    .map_err(wrong)?;
    Ok(Zeroizing::new(plaintext))
}

/// `EVP_BytesToKey(cipher, MD5, salt, password, count = 1)`.
fn bytes_to_key(password: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut previous: Option<[u8; 16]> = None;
    while out.len() < len {
        let mut md5 = Md5::new();
        if let Some(p) = previous {
            md5.update(p);
        }
        md5.update(password);
        md5.update(salt);
        let block: [u8; 16] = md5.finalize().into();
        out.extend_from_slice(&block);
        previous = Some(block);
    }
    out.truncate(len);
    out
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_to_key_matches_openssl() {
        // `openssl enc -aes-256-cbc -P -md md5 -S 0102030405060708 -pass pass:secret` prints the
        // key and then the IV, both derived by EVP_BytesToKey.
        let expected = decode_hex(concat!(
            "C9E5A1BD216DBE1317E230CEF48F38EE7F0E17AD64022144BCCEC4A1AA2879AB",
            "E24B32BBBC4EF02ECBCB6576523AD893"
        ))
        .unwrap();
        assert_eq!(
            &bytes_to_key(b"secret", &[1, 2, 3, 4, 5, 6, 7, 8], 48)[..],
            &expected[..]
        );
    }
}
