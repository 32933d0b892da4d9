//! Keys and certificates for certificate-credential applications: generate them, read every
//! format people have (DER, PEM, PKCS#12, PKCS#8 plain or encrypted, PKCS#1, SEC1, OpenSSL's
//! traditional encryption), write the common ones, and compute thumbprints.
//!
//! Pure functions over bytes: no file or network I/O, no async, no global state.
//!
//! ```
//! use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey};
//!
//! let key = PrivateKey::generate(KeyType::EcP256)?;
//! let cert = CertificateSpec::new(Name::parse("CN=ciam-client-app")?).self_signed(&key)?;
//! let read = keyward_pki::read(cert.pem().as_bytes(), None)?;
//! assert_eq!(read.certificate().unwrap().thumbprints(), cert.thumbprints());
//! println!("Thumbprint: {}", cert.thumbprints().sha1_hex());
//! # Ok::<(), keyward_pki::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod asn1;
mod certificate;
mod dn;
mod error;
mod issue;
mod key;
mod openssl_pem;
mod pem;
mod pkcs12;
mod pkcs8;
mod read;
pub mod sealing;
mod thumbprint;

pub use certificate::{Certificate, CertificateInfo};
pub use dn::Name;
pub use error::{Error, Result, WrongPassword};
pub use issue::{BACKDATE, CertificateSpec, ExtendedKeyUsage, KeyUsage, PermittedName, SubjectAltName, Validity};
pub use key::{Curve, KeyAlgorithm, KeyType, MIN_RSA_BITS, PrivateKey};
pub use pkcs8::{ENCRYPTION_ITERATIONS, MAX_ITERATIONS};
pub use pkcs12::{PfxEncryption, Pkcs12Protection, write_pfx, write_pfx_certificates};
pub use read::{Contents, Format, MAX_INPUT, read};
pub use thumbprint::{Thumbprint, ThumbprintHash, Thumbprints};

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    /// Reads arbitrary bytes as any supported format, with and without a password.
    pub fn read_any(data: &[u8]) {
        let _ = crate::read(data, None);
        let _ = crate::read(data, Some("password"));
        // The quick walk to a certificate's public key finds what the full parse finds.
        let quick = crate::Certificate::spki_of(data);
        if let Ok(certificate) = crate::Certificate::from_der(data) {
            assert_eq!(
                quick.ok(),
                Some(certificate.spki_der().as_slice()),
                "spki_of disagrees with the parser"
            );
        }
    }

    /// Parses arbitrary bytes as PEM text.
    pub fn pem(data: &[u8]) {
        let _ = crate::pem::parse_all(data);
    }

    /// Decrypts arbitrary bytes as an encrypted PKCS#8 key.
    pub fn encrypted_pkcs8(data: &[u8]) {
        let _ = crate::pkcs8::decrypt(data, "password");
    }

    /// Reads arbitrary bytes as PKCS#12.
    pub fn pkcs12(data: &[u8]) {
        let _ = crate::pkcs12::read(data, Some(""));
    }

    /// Parses arbitrary text as a thumbprint, a subject name and a subject alternative name.
    pub fn text(data: &[u8]) {
        if let Ok(s) = std::str::from_utf8(data) {
            let _ = crate::Thumbprint::parse(s);
            let _ = crate::Name::parse(s);
            let _ = crate::SubjectAltName::parse(s);
        }
    }

    /// Runs `run` on every file of `fuzz/corpus/<target>/`, the minimised corpus kept in the
    /// repository, as the target's fuzzer would: a panic is reported with the file that caused
    /// it. Panics if the directory is missing or empty, so a moved corpus fails loudly.
    /// Returns the number of files run.
    pub fn replay_corpus(target: &str, run: fn(&[u8])) -> usize {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!(
                "cannot list {} ({e}): the kept corpus of fuzz target {target}",
                dir.display()
            )
        });
        let mut paths: Vec<_> = entries.map(|entry| entry.expect("a corpus entry").path()).collect();
        paths.sort();
        assert!(
            !paths.is_empty(),
            "{} is empty: no corpus for fuzz target {target}",
            dir.display()
        );
        for path in &paths {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {} ({e})", path.display()));
            if let Err(panic) = std::panic::catch_unwind(|| run(&data)) {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(not a string)");
                panic!("fuzz target {target} panicked on {}: {message}", path.display());
            }
        }
        paths.len()
    }

    #[cfg(test)]
    mod tests {
        /// Every input of the kept corpora still runs without a panic (the short CI run of the
        /// fuzz targets; `fuzz/README.md`).
        #[test]
        fn the_kept_fuzz_corpora_replay() {
            super::replay_corpus("read_any", super::read_any);
            super::replay_corpus("pem", super::pem);
            super::replay_corpus("encrypted_pkcs8", super::encrypted_pkcs8);
            super::replay_corpus("pkcs12", super::pkcs12);
            super::replay_corpus("text", super::text);
        }
    }
}
