//! The local CA and the server's TLS certificate: made on first start, the leaf renewed when it
//! nears expiry or lacks a name the server now answers to.

use std::sync::Arc;

use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey, SubjectAltName, Validity};
use time::{Duration, OffsetDateTime};

use crate::data_dir::{Access, DataDir};
use crate::error::{Error, Result};

/// Loads or makes the CA and the leaf for `hosts`; returns the rustls server configuration.
pub(crate) fn server_config(dir: &DataDir, hosts: &[String]) -> Result<Arc<rustls::ServerConfig>> {
    let (ca, ca_key) = ensure_ca(dir)?;
    let (leaf, leaf_key) = ensure_leaf(dir, &ca, &ca_key, hosts)?;
    let chain = vec![
        rustls::pki_types::CertificateDer::from(leaf.der().to_vec()),
        rustls::pki_types::CertificateDer::from(ca.der().to_vec()),
    ];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.pkcs8_der().to_vec().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(Error::Tls)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn load_pair(dir: &DataDir, cert: &'static str, key: &'static str) -> Result<Option<(Certificate, PrivateKey)>> {
    if !dir.path(cert).exists() {
        return Ok(None);
    }
    let read = |file: &'static str| {
        keyward_pki::read(&dir.read(file)?, None).map_err(|source| Error::DataDirCertificate { file, source })
    };
    let cert_contents = read(cert)?;
    let key_contents = read(key)?;
    let contents = cert_contents.with_private_key(key_contents.private_key.ok_or(Error::MissingKey { file: key })?)?;
    let (c, k) = contents.certificate_and_key()?;
    Ok(Some((c.clone(), k.clone())))
}

fn ensure_ca(dir: &DataDir) -> Result<(Certificate, PrivateKey)> {
    if let Some(pair) = load_pair(dir, "tls/ca.pem", "tls/ca.key")? {
        return Ok(pair);
    }
    let key = PrivateKey::generate(KeyType::EcP256)?;
    let ca = CertificateSpec::new(Name::parse("CN=Keyward Local CA,O=Keyward")?)
        .validity(Validity::Months(120))
        .certificate_authority()
        .self_signed(&key)?;
    dir.write("tls/ca.key", key.to_pkcs8_pem(None)?.as_bytes(), Access::OwnerOnly)?;
    dir.write("tls/ca.pem", ca.pem().as_bytes(), Access::Public)?;
    Ok((ca, key))
}

fn ensure_leaf(
    dir: &DataDir,
    ca: &Certificate,
    ca_key: &PrivateKey,
    hosts: &[String],
) -> Result<(Certificate, PrivateKey)> {
    let wanted: Vec<SubjectAltName> = hosts
        .iter()
        .map(|h| SubjectAltName::parse(h))
        .collect::<Result<_, _>>()?;
    if let Some((leaf, key)) = load_pair(dir, "tls/server.pem", "tls/server.key")? {
        let names = &leaf.info().subject_alt_names;
        let covers = wanted.iter().all(|w| {
            names.iter().any(|n| match w {
                SubjectAltName::Dns(d) => n.eq_ignore_ascii_case(&format!("DNS:{d}")),
                SubjectAltName::Ip(ip) => n == &format!("IP:{ip}"),
                _ => false,
            })
        });
        let fresh = leaf.info().not_after > OffsetDateTime::now_utc() + Duration::days(30);
        if covers && fresh && leaf.info().issuer == ca.info().subject {
            return Ok((leaf, key));
        }
    }
    let key = PrivateKey::generate(KeyType::EcP256)?;
    let mut spec = CertificateSpec::new(Name::parse("CN=localhost,O=Keyward")?).validity(Validity::Days(397));
    for name in wanted {
        spec = spec.subject_alt_name(name);
    }
    let leaf = spec.signed_by(&key, ca, ca_key)?;
    dir.write("tls/server.key", key.to_pkcs8_pem(None)?.as_bytes(), Access::OwnerOnly)?;
    dir.write("tls/server.pem", leaf.pem().as_bytes(), Access::Public)?;
    Ok((leaf, key))
}
