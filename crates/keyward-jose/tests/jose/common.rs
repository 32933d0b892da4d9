//! Helpers shared by the themed test modules.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_jose::{Algorithm, SigningKey, VerifyingKey};
use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey};

/// Every algorithm: tests pass it where the point is not the allow-list.
pub const ALL: &[Algorithm] = &Algorithm::ALL;

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// A new key's self-signed certificate, a signer for `alg` and the verifier from the certificate.
pub struct Credential {
    pub certificate: Certificate,
    pub signer: SigningKey,
    pub verifier: VerifyingKey,
}

pub fn credential(key_type: KeyType, alg: Algorithm) -> Credential {
    let key = PrivateKey::generate(key_type).unwrap();
    let certificate = CertificateSpec::new(Name::parse("CN=jose-test").unwrap())
        .self_signed(&key)
        .unwrap();
    let signer = SigningKey::new(&key, alg).unwrap();
    let verifier = VerifyingKey::from_certificate(&certificate).unwrap();
    Credential {
        certificate,
        signer,
        verifier,
    }
}

/// Signs `header_json.payload_json` exactly as given (no serde in between), for tokens whose
/// header a well-behaved signer would never write.
pub fn sign_raw_token(signer: &SigningKey, header_json: &str, payload_json: &str) -> String {
    let input = format!("{}.{}", b64(header_json.as_bytes()), b64(payload_json.as_bytes()));
    let signature = signer.sign_raw(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}
