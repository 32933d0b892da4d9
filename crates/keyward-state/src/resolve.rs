//! Generated material, made on the machine that reads the document (the CLI for
//! `keyward apply`, the server process for `keyward serve --config`) and never by the server on
//! a client's behalf: the private keys and secret values land in files the document names, 0600,
//! where a test or a client reads them.
//!
//! Every file is made once and reused when it exists, so applying a document twice uses the
//! same secrets and certificates (and changes nothing). Keys for generated certificates are made
//! in parallel, one thread each: RSA key generation is most of the cost of a cold start.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use keyward_pki::{CertificateSpec, Name, PrivateKey, Validity};
use time::OffsetDateTime;

use crate::error::Error;
use crate::schema::{Document, GenerateCertificate, KeyType, SecretValue};

/// The document with its material filled in, ready to apply: every id derived
/// ([`Document::fill_ids`]), every app certificate's `pem` set (from its file, or generated),
/// every secret and password's value set (given, read from its file, or generated and written).
/// Relative paths are taken from `base` (the document's directory). `now` dates generated
/// certificates.
pub fn resolve(doc: &Document, base: &Path, now: OffsetDateTime) -> Result<Document, Error> {
    let mut doc = doc.clone();
    doc.fill_ids();
    for app in &mut doc.apps {
        for secret in &mut app.secrets {
            if let (None, Some(file)) = (&secret.value, &secret.generate) {
                secret.value = Some(secret_file(&base.join(file))?);
            }
        }
    }
    for user in &mut doc.users {
        if let (None, Some(file)) = (&user.password, &user.generate_password) {
            user.password = Some(secret_file(&base.join(file))?);
        }
    }
    for vault in &mut doc.vaults {
        for secret in &mut vault.secrets {
            if secret.value.is_some() {
                continue;
            }
            if let Some(file) = &secret.file {
                let path = base.join(file);
                let text = fs::read_to_string(&path).map_err(|source| Error::Read { path, source })?;
                secret.value = Some(SecretValue::new(text));
            } else if let Some(file) = &secret.generate {
                secret.value = Some(secret_file(&base.join(file))?);
            }
        }
    }
    // Certificates: read what exists, then generate the rest in parallel.
    let mut jobs: Vec<(usize, usize, GenerateCertificate)> = Vec::new();
    for (i, app) in doc.apps.iter_mut().enumerate() {
        for (j, cert) in app.certificates.iter_mut().enumerate() {
            if cert.pem.is_some() {
                continue;
            }
            if let Some(file) = &cert.file {
                cert.pem = Some(certificate_pem(&base.join(file))?);
            } else if let Some(generate) = &cert.generate {
                let (cert_path, key_path) = (base.join(&generate.cert), base.join(&generate.key));
                match (cert_path.exists(), key_path.exists()) {
                    (true, true) => cert.pem = Some(certificate_pem(&cert_path)?),
                    (false, false) => jobs.push((i, j, generate.clone())),
                    (true, false) | (false, true) => {
                        let (there, missing) = if cert_path.exists() {
                            (cert_path, key_path)
                        } else {
                            (key_path, cert_path)
                        };
                        return Err(Error::Material {
                            path: there,
                            message: format!(
                                "exists but {} does not: delete it to generate both again, or restore the other",
                                missing.display()
                            ),
                        });
                    }
                }
            }
        }
    }
    let made: Vec<Result<(usize, usize, String), Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(i, j, generate)| {
                scope.spawn(move || generate_certificate(base, generate, now).map(|pem| (*i, *j, pem)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Generate {
                        what: "a certificate".to_owned(),
                        message: "the generating thread panicked".to_owned(),
                    })
                })
            })
            .collect()
    });
    for result in made {
        let (i, j, pem) = result?;
        doc.apps[i].certificates[j].pem = Some(pem);
    }
    Ok(doc)
}

/// A secret kept in `path`: read (without its final newline) when the file exists, else
/// generated (40 characters: letters, digits, `~`, `.`, `_`, `-`, like Entra's secrets) and
/// written 0600.
fn secret_file(path: &Path) -> Result<SecretValue, Error> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let value = text.strip_suffix('\n').unwrap_or(&text);
            let value = value.strip_suffix('\r').unwrap_or(value);
            if value.is_empty() {
                return Err(Error::Material {
                    path: path.to_owned(),
                    message: "is empty: delete it to generate a value, or write one in it".to_owned(),
                });
            }
            Ok(SecretValue::new(value))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let value = random_secret()?;
            write_private(path, value.expose().as_bytes())?;
            Ok(value)
        }
        Err(source) => Err(Error::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// 40 random characters of Entra's client secret alphabet.
fn random_secret() -> Result<SecretValue, Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-";
    let mut bytes = [0u8; 40];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Generate {
        what: "a secret".to_owned(),
        message: "no randomness available".to_owned(),
    })?;
    // 66 symbols: taking bytes modulo 66 would favour the first ones; 256 - 256 % 66 = 198.
    let mut out = String::with_capacity(40);
    let mut pool = bytes.to_vec();
    while out.len() < 40 {
        for b in pool.drain(..) {
            if b < 198 && out.len() < 40 {
                out.push(char::from(ALPHABET[usize::from(b % 66)]));
            }
        }
        if out.len() < 40 {
            let mut more = [0u8; 16];
            aws_lc_rs::rand::fill(&mut more).map_err(|_| Error::Generate {
                what: "a secret".to_owned(),
                message: "no randomness available".to_owned(),
            })?;
            pool.extend_from_slice(&more);
        }
    }
    Ok(SecretValue::new(out))
}

/// Writes `bytes` to a new file readable by its owner only (0600), making its directory.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let failed = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        fs::create_dir_all(dir).map_err(failed)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)
}

/// The first certificate of a file (PEM or DER, any format `keyward cert show` reads that
/// needs no password), as PEM.
fn certificate_pem(path: &Path) -> Result<String, Error> {
    let bytes = fs::read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let contents = keyward_pki::read(&bytes, None).map_err(|e| Error::Material {
        path: path.to_owned(),
        message: format!("not a certificate keyward can read: {e}"),
    })?;
    let cert = contents.certificate().ok_or_else(|| Error::Material {
        path: path.to_owned(),
        message: "holds no certificate (a key alone is not a credential): give the certificate file".to_owned(),
    })?;
    Ok(cert.pem())
}

fn pki_key_type(key_type: KeyType) -> keyward_pki::KeyType {
    match key_type {
        KeyType::Rsa2048 => keyward_pki::KeyType::Rsa2048,
        KeyType::Rsa3072 => keyward_pki::KeyType::Rsa3072,
        KeyType::Rsa4096 => keyward_pki::KeyType::Rsa4096,
        KeyType::EcP256 => keyward_pki::KeyType::EcP256,
        KeyType::EcP384 => keyward_pki::KeyType::EcP384,
    }
}

/// Makes the key and self-signed certificate `generate` asks for, writes them (key 0600), and
/// returns the certificate's PEM.
fn generate_certificate(base: &Path, generate: &GenerateCertificate, now: OffsetDateTime) -> Result<String, Error> {
    let failed = |message: String| Error::Generate {
        what: format!("the certificate {:?}", generate.subject),
        message,
    };
    let expires = generate
        .expires
        .as_ref()
        .map_or(now + time::Duration::days(365), |w| w.at(now));
    let days = (expires - now).whole_days();
    if days < 1 {
        return Err(failed(format!(
            "expires {} is less than a day away: give a later date",
            generate.expires.as_ref().map_or("", |w| w.as_str())
        )));
    }
    let subject = Name::parse(&generate.subject).map_err(|e| failed(e.to_string()))?;
    let key = PrivateKey::generate(pki_key_type(generate.key_type)).map_err(|e| failed(e.to_string()))?;
    let days = u32::try_from(days).map_err(|_| failed("too long a validity".to_owned()))?;
    let cert = CertificateSpec::new(subject)
        .validity(Validity::Days(days))
        .self_signed(&key)
        .map_err(|e| failed(e.to_string()))?;
    let key_pem = key.to_pkcs8_pem(None).map_err(|e| failed(e.to_string()))?;
    let key_path: PathBuf = base.join(&generate.key);
    write_private(&key_path, key_pem.as_bytes())?;
    let pem = cert.pem();
    write_private(&base.join(&generate.cert), pem.as_bytes())?;
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"
[[tenant]]
name = "contoso"

[[app]]
name = "daemon"
[[app.secret]]
name = "ci"
generate = "out/daemon.secret"
[[app.certificate]]
name = "a"
generate = { subject = "CN=daemon-a", cert = "out/a.pem", key = "out/a.key", key_type = "ec-p256" }
[[app.certificate]]
name = "b"
generate = { subject = "CN=daemon-b", cert = "out/b.pem", key = "out/b.key", expires = "30d" }

[[user]]
email = "alice@contoso.com"
generate_password = "out/alice.password"

[[vault]]
name = "default"
[[vault.secret]]
name = "from-file"
file = "given.txt"
"#;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("given.txt"), "hello\n").unwrap();
        let doc = crate::parse(DOC, "doc.toml").unwrap();
        let now = OffsetDateTime::now_utc();
        let first = resolve(&doc, dir.path(), now).unwrap();
        let secret = first.apps[0].secrets[0].value.as_ref().unwrap().expose().to_owned();
        assert_eq!(secret.len(), 40);
        assert_eq!(
            fs::read_to_string(dir.path().join("out/daemon.secret")).unwrap(),
            secret
        );
        assert_eq!(first.vaults[0].secrets[0].value.as_ref().unwrap().expose(), "hello\n");
        assert!(first.users[0].password.as_ref().unwrap().expose().len() == 40);
        let pem = first.apps[0].certificates[1].pem.clone().unwrap();
        let read = keyward_pki::read(pem.as_bytes(), None).unwrap();
        let cert = read.certificate().unwrap();
        let pair = [
            fs::read(dir.path().join("out/b.key")).unwrap(),
            pem.clone().into_bytes(),
        ]
        .concat();
        let pair = keyward_pki::read(&pair, None).unwrap();
        let (_, key) = pair.certificate_and_key().unwrap();
        assert!(cert.matches_key(key), "the key file holds the certificate's key");
        let days = (cert.info().not_after - now).whole_days();
        assert!((29..=30).contains(&days), "{days}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in ["out/daemon.secret", "out/a.key", "out/b.key", "out/alice.password"] {
                let mode = fs::metadata(dir.path().join(file)).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{file}");
            }
        }
        let second = resolve(&doc, dir.path(), now).unwrap();
        assert_eq!(second, first, "the second resolution reuses every file");
    }

    #[test]
    fn refuses_a_half_generated_pair_and_a_file_without_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("given.txt"), "x").unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        fs::write(dir.path().join("out/a.key"), "x").unwrap();
        let doc = crate::parse(DOC, "doc.toml").unwrap();
        let err = resolve(&doc, dir.path(), OffsetDateTime::now_utc()).unwrap_err();
        assert!(err.to_string().contains("a.key: exists but"), "{err}");

        let doc = crate::parse(
            "[[tenant]]\nname = \"c\"\n[[app]]\nname = \"a\"\n[[app.certificate]]\nname = \"x\"\nfile = \"given.txt\"\n",
            "doc.toml",
        )
        .unwrap();
        let err = resolve(&doc, dir.path(), OffsetDateTime::now_utc()).unwrap_err();
        assert!(err.to_string().contains("given.txt: not a certificate"), "{err}");
    }
}
