//! The local CAs and the server's TLS certificates: made on first start, a leaf renewed when it
//! nears expiry or lacks a name the server now answers to.
//!
//! Two CAs, kept apart on purpose:
//! - the **local CA** (`tls/ca.pem`) vouches for the names the server is set up to serve
//!   (`localhost`, the loopback addresses, the public URL's host); `keyward trust` may install
//!   it where clients look;
//! - the **Azure-hosts CA** (`tls/azure-hosts-ca.pem`), made only in the Azure host names mode,
//!   vouches for Microsoft's host names ([`keyward_authority::azure_hosts`]), name-constrained
//!   to exactly those domains. It is handed to test processes (`NODE_EXTRA_CA_CERTS`,
//!   `REQUESTS_CA_BUNDLE`) and never trusted system-wide by default.
//!
//! The certificate a connection gets is picked by its SNI name: one of Microsoft's names gets
//! the Azure-hosts leaf, anything else the local leaf.
//!
//! The local CA is name-constrained too, to the names the server is set up to serve (see
//! [`local_ca_names`]): trusting it lets it vouch for those names and nothing else. When that
//! set changes (another `--public-url`), the CA is made again with a new key, and its leaf with
//! it ([`CaChange::Reissued`]): whoever trusted the old one must trust the new one
//! (`keyward trust` again).

use std::sync::Arc;

use keyward_authority::azure_hosts::{self, AzureHost};
use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PermittedName, PrivateKey, SubjectAltName, Validity};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use time::{Duration, OffsetDateTime};

use crate::data_dir::{Access, DataDir};
use crate::error::{Error, Result};

/// Where one CA and its leaf live in the data directory.
struct Files {
    ca: &'static str,
    ca_key: &'static str,
    leaf: &'static str,
    leaf_key: &'static str,
}

/// The local CA's files.
const LOCAL: Files = Files {
    ca: "tls/ca.pem",
    ca_key: "tls/ca.key",
    leaf: "tls/server.pem",
    leaf_key: "tls/server.key",
};

/// The Azure-hosts CA's files.
const AZURE_HOSTS: Files = Files {
    ca: "tls/azure-hosts-ca.pem",
    ca_key: "tls/azure-hosts-ca.key",
    leaf: "tls/azure-hosts.pem",
    leaf_key: "tls/azure-hosts.key",
};

/// The Azure-hosts CA certificate's path in the data directory, relative to it.
pub const AZURE_HOSTS_CA: &str = AZURE_HOSTS.ca;

/// The local CA certificate's path in the data directory, relative to it.
pub const LOCAL_CA: &str = LOCAL.ca;

/// What start-up did to a CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaChange {
    /// The CA of an earlier start was kept.
    Kept,
    /// There was none: it was made.
    Created,
    /// The CA of an earlier start vouched for other names than the server now serves (or, made
    /// by an older Keyward, for any name): it was made again, with a new key. Clients that
    /// trusted the old one must be given the new one (`keyward trust`).
    Reissued,
}

/// The names the local CA may vouch for, for a server whose certificate covers `hosts` (see
/// `tls_hosts`: `localhost`, `127.0.0.1`, `::1` and the public URL's host): each DNS name with
/// the names under it (`localhost` permits `myvault.localhost`), each IP address exactly.
pub fn local_ca_names(hosts: &[String]) -> Vec<PermittedName> {
    let mut names: Vec<PermittedName> = hosts
        .iter()
        .map(|host| match host.parse() {
            Ok(ip) => PermittedName::Ip(ip),
            Err(_) => PermittedName::Dns(host.trim_start_matches("*.").to_ascii_lowercase()),
        })
        .collect();
    names.dedup();
    names
}

/// Loads or makes the CA(s) and leaves; returns the rustls server configuration and what became
/// of the local CA. With `azure_hosts`, Microsoft's names are served with the Azure-hosts CA's
/// leaf.
pub(crate) fn server_config(
    dir: &DataDir,
    hosts: &[String],
    azure_hosts: bool,
) -> Result<(Arc<rustls::ServerConfig>, CaChange)> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let (local, change) = certified(
        &provider,
        dir,
        &LOCAL,
        "CN=Keyward Local CA,O=Keyward",
        &local_ca_names(hosts),
        hosts,
    )?;
    let azure = if azure_hosts {
        let permitted: Vec<PermittedName> = azure_hosts::permitted_domains()
            .into_iter()
            .map(PermittedName::Dns)
            .collect();
        Some(
            certified(
                &provider,
                dir,
                &AZURE_HOSTS,
                "CN=Keyward Azure Host Names CA (test use only),O=Keyward",
                &permitted,
                &azure_hosts::certificate_names(),
            )?
            .0,
        )
    } else {
        None
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(ByServerName { local, azure }));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), change))
}

/// Picks the certificate by the client's SNI name.
#[derive(Debug)]
struct ByServerName {
    local: Arc<CertifiedKey>,
    azure: Option<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for ByServerName {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let microsoft = hello
            .server_name()
            .is_some_and(|name| AzureHost::of(&name.to_ascii_lowercase()).is_some());
        match (&self.azure, microsoft) {
            (Some(azure), true) => Some(Arc::clone(azure)),
            _ => Some(Arc::clone(&self.local)),
        }
    }
}

/// The CA and leaf of `files`, loaded or made, as a key rustls serves with (leaf, then CA), and
/// what became of the CA.
fn certified(
    provider: &rustls::crypto::CryptoProvider,
    dir: &DataDir,
    files: &Files,
    ca_name: &str,
    permitted: &[PermittedName],
    hosts: &[String],
) -> Result<(Arc<CertifiedKey>, CaChange)> {
    let (ca, ca_key, change) = ensure_ca(dir, files, ca_name, permitted)?;
    let (leaf, leaf_key) = ensure_leaf(dir, files, &ca, &ca_key, hosts)?;
    let chain = vec![
        rustls::pki_types::CertificateDer::from(leaf.der().to_vec()),
        rustls::pki_types::CertificateDer::from(ca.der().to_vec()),
    ];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.pkcs8_der().to_vec().into());
    let signing = provider.key_provider.load_private_key(key).map_err(Error::Tls)?;
    Ok((Arc::new(CertifiedKey::new(chain, signing)), change))
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

/// The CA of `files`: the one on disk when it vouches for exactly `permitted`, else a new one
/// (new key) written over it.
fn ensure_ca(
    dir: &DataDir,
    files: &Files,
    name: &str,
    permitted: &[PermittedName],
) -> Result<(Certificate, PrivateKey, CaChange)> {
    let change = match load_pair(dir, files.ca, files.ca_key)? {
        Some((ca, key)) if same_names(&ca.info().permitted_names, permitted) => {
            return Ok((ca, key, CaChange::Kept));
        }
        Some(_) => CaChange::Reissued,
        None => CaChange::Created,
    };
    let key = PrivateKey::generate(KeyType::EcP256)?;
    let ca = CertificateSpec::new(Name::parse(name)?)
        .validity(Validity::Months(120))
        .certificate_authority()
        .permitted_names(permitted.iter().cloned())
        .self_signed(&key)?;
    dir.write(files.ca_key, key.to_pkcs8_pem(None)?.as_bytes(), Access::OwnerOnly)?;
    dir.write(files.ca, ca.pem().as_bytes(), Access::Public)?;
    Ok((ca, key, change))
}

/// Whether a certificate's permitted names are `wanted`, in any order.
fn same_names(have: &[String], wanted: &[PermittedName]) -> bool {
    let mut have: Vec<&str> = have.iter().map(String::as_str).collect();
    let mut wanted: Vec<String> = wanted.iter().map(ToString::to_string).collect();
    have.sort_unstable();
    have.dedup();
    wanted.sort_unstable();
    wanted.dedup();
    have == wanted
}

fn ensure_leaf(
    dir: &DataDir,
    files: &Files,
    ca: &Certificate,
    ca_key: &PrivateKey,
    hosts: &[String],
) -> Result<(Certificate, PrivateKey)> {
    let wanted: Vec<SubjectAltName> = hosts
        .iter()
        .map(|h| SubjectAltName::parse(h))
        .collect::<Result<_, _>>()?;
    if let Some((leaf, key)) = load_pair(dir, files.leaf, files.leaf_key)? {
        let names = &leaf.info().subject_alt_names;
        let covers = wanted.iter().all(|w| {
            names.iter().any(|n| match w {
                SubjectAltName::Dns(d) => n.eq_ignore_ascii_case(&format!("DNS:{d}")),
                SubjectAltName::Ip(ip) => n == &format!("IP:{ip}"),
                _ => false,
            })
        });
        let fresh = leaf.info().not_after > OffsetDateTime::now_utc() + Duration::days(30);
        if covers && fresh && leaf.names_issuer(ca) {
            return Ok((leaf, key));
        }
    }
    let key = PrivateKey::generate(KeyType::EcP256)?;
    let first = hosts.first().map(String::as_str).unwrap_or("localhost");
    let mut spec = CertificateSpec::new(Name::parse(&format!(
        "CN={},O=Keyward",
        first.trim_start_matches("*.")
    ))?)
    .validity(Validity::Days(397));
    for name in wanted {
        spec = spec.subject_alt_name(name);
    }
    let leaf = spec.signed_by(&key, ca, ca_key)?;
    dir.write(files.leaf_key, key.to_pkcs8_pem(None)?.as_bytes(), Access::OwnerOnly)?;
    dir.write(files.leaf, leaf.pem().as_bytes(), Access::Public)?;
    Ok((leaf, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn ca(dir: &DataDir) -> Certificate {
        keyward_pki::read(&dir.read(LOCAL.ca).unwrap(), None)
            .unwrap()
            .certificates
            .remove(0)
    }

    fn leaf(dir: &DataDir) -> Certificate {
        keyward_pki::read(&dir.read(LOCAL.leaf).unwrap(), None)
            .unwrap()
            .certificates
            .remove(0)
    }

    /// The local CA vouches for the server's names only; it is kept while they stay, and made
    /// again (new key, new leaf) when they change, or when an older Keyward made it without
    /// constraints.
    #[test]
    fn the_local_ca_is_constrained_to_the_served_names_and_remade_when_they_change() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("data"));
        dir.create().unwrap();
        let loopback = hosts(&["localhost", "127.0.0.1", "::1"]);
        let (_, change) = server_config(&dir, &loopback, false).unwrap();
        assert_eq!(change, CaChange::Created);
        let first = ca(&dir);
        assert_eq!(
            first.info().permitted_names,
            ["DNS:localhost", "IP:127.0.0.1/32", "IP:::1/128"]
        );
        assert!(leaf(&dir).names_issuer(&first));

        let (_, change) = server_config(&dir, &loopback, false).unwrap();
        assert_eq!(change, CaChange::Kept);
        assert_eq!(ca(&dir), first);

        let public = hosts(&["localhost", "127.0.0.1", "::1", "id.example.test"]);
        let (_, change) = server_config(&dir, &public, false).unwrap();
        assert_eq!(change, CaChange::Reissued);
        let second = ca(&dir);
        assert!(
            second
                .info()
                .permitted_names
                .contains(&"DNS:id.example.test".to_owned())
        );
        assert_ne!(second.info().subject_key_id, first.info().subject_key_id);
        let served = leaf(&dir);
        assert!(served.names_issuer(&second) && !served.names_issuer(&first));
        assert!(
            served
                .info()
                .subject_alt_names
                .contains(&"DNS:id.example.test".to_owned())
        );

        // A CA without constraints (what Keyward made before) is replaced.
        let key = PrivateKey::generate(KeyType::EcP256).unwrap();
        let open = CertificateSpec::new(Name::parse("CN=Keyward Local CA,O=Keyward").unwrap())
            .certificate_authority()
            .self_signed(&key)
            .unwrap();
        dir.write(
            LOCAL.ca_key,
            key.to_pkcs8_pem(None).unwrap().as_bytes(),
            Access::OwnerOnly,
        )
        .unwrap();
        dir.write(LOCAL.ca, open.pem().as_bytes(), Access::Public).unwrap();
        let (_, change) = server_config(&dir, &public, false).unwrap();
        assert_eq!(change, CaChange::Reissued);
        assert!(!ca(&dir).info().permitted_names.is_empty());
        assert!(leaf(&dir).names_issuer(&ca(&dir)));
    }

    #[test]
    fn the_names_of_a_host_list() {
        let names: Vec<String> = local_ca_names(&hosts(&["localhost", "::1", "ID.Example.test", "10.0.0.5"]))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            names,
            ["DNS:localhost", "IP:::1/128", "DNS:id.example.test", "IP:10.0.0.5/32"]
        );
    }
}
