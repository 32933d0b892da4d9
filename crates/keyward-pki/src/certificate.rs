//! X.509 certificates: the DER bytes and what the portal and `openssl x509 -text` show of them.

use std::fmt;
use std::net::IpAddr;

use time::OffsetDateTime;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::asn1;
use crate::error::{Error, Result, corrupt};
use crate::key::{self, KeyAlgorithm, PrivateKey};
use crate::thumbprint::Thumbprints;

/// A parsed X.509 certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    info: CertificateInfo,
}

/// What a certificate says, decoded once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateInfo {
    /// The subject, RFC 4514 style (`CN=MyCert`).
    pub subject: String,
    /// The issuer, same style.
    pub issuer: String,
    /// The serial number as uppercase hex.
    pub serial: String,
    /// Start of validity ("Start date" in the portal).
    pub not_before: OffsetDateTime,
    /// End of validity ("Expires" in the portal).
    pub not_after: OffsetDateTime,
    /// The public key's algorithm and size, if we know the algorithm.
    pub key: Option<KeyAlgorithm>,
    /// The public key algorithm's OID when it is not one we support.
    pub key_oid: String,
    /// Key usages, by their RFC 5280 names (`digitalSignature`, ...).
    pub key_usage: Vec<&'static str>,
    /// Extended key usages, by name where known (`clientAuth`, ...), else the OID.
    pub extended_key_usage: Vec<String>,
    /// Subject alternative names, rendered as `DNS:x`, `IP:x`, `email:x`, `URI:x`.
    pub subject_alt_names: Vec<String>,
    /// Whether BasicConstraints says this is a CA.
    pub is_ca: bool,
    /// The names a CA may vouch for (its name constraints' permitted subtrees), rendered as
    /// [`PermittedName`](crate::PermittedName) displays them: `DNS:localhost`, `IP:127.0.0.1/32`.
    /// Empty when the certificate has no such constraint.
    pub permitted_names: Vec<String>,
    /// The subject key identifier, lowercase hex, when the certificate carries one.
    pub subject_key_id: Option<String>,
    /// The authority key identifier (the issuer's key), lowercase hex, when it carries one.
    pub authority_key_id: Option<String>,
    /// Whether subject and issuer are the same name.
    pub self_issued: bool,
    /// The signature algorithm's OID.
    pub signature_algorithm: String,
    /// Thumbprints of the DER.
    pub thumbprints: Thumbprints,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.info.subject)
            .field("thumbprint", &self.info.thumbprints.sha1_hex())
            .finish()
    }
}

impl Certificate {
    /// Parses one DER certificate. Bytes after the certificate are an error.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if let Err(asn1::DerError::Truncated) = asn1::read(der) {
            return Err(corrupt(
                "X.509 certificate",
                "the data ends in the middle of the certificate (cut short)",
            ));
        }
        let (rest, parsed) = X509Certificate::from_der(der)
            .map_err(|e| corrupt("X.509 certificate", format!("not a valid certificate structure ({e})")))?;
        if !rest.is_empty() {
            return Err(corrupt(
                "X.509 certificate",
                format!("{} unexpected bytes after the certificate", rest.len()),
            ));
        }
        // x509-parser reads the public key info's algorithm and key and lets bytes after them
        // inside its SEQUENCE pass. Such a certificate is not DER, and the quick walk of
        // `spki_of` (what a directory reads at start) would see other bytes than this parse.
        let spki = Self::spki_of(der)?;
        if spki != parsed.public_key().raw {
            return Err(corrupt(
                "X.509 certificate",
                format!(
                    "the public key info holds {} bytes, of which only {} are its algorithm and key",
                    spki.len(),
                    parsed.public_key().raw.len()
                ),
            ));
        }
        let info = describe(&parsed, der)?;
        Ok(Self {
            der: der.to_vec(),
            info,
        })
    }

    /// The SubjectPublicKeyInfo of a DER certificate, found by walking the outer structure only
    /// (the fields before it are skipped, not read): what a directory holding a million
    /// certificates that were checked when they were registered reads of each at start, about
    /// a hundred times faster than [`Certificate::from_der`]. Bytes after the certificate, or a
    /// structure that is not a certificate's, are an error; the key itself is not checked.
    pub fn spki_of(der: &[u8]) -> Result<&[u8]> {
        let cut = |e: asn1::DerError| corrupt("X.509 certificate", e.describe());
        let (certificate, rest) = asn1::expect(der, asn1::tag::SEQUENCE).map_err(cut)?;
        if !rest.is_empty() {
            return Err(corrupt(
                "X.509 certificate",
                format!("{} unexpected bytes after the certificate", rest.len()),
            ));
        }
        let (tbs, _) = asn1::expect(certificate.value, asn1::tag::SEQUENCE).map_err(cut)?;
        let mut fields = tbs.value;
        // [0] EXPLICIT version, when present.
        if fields.first() == Some(&0xa0) {
            fields = asn1::read(fields).map_err(cut)?.1;
        }
        let (_serial, after) = asn1::expect(fields, asn1::tag::INTEGER).map_err(cut)?;
        fields = after;
        // signature, issuer, validity, subject: four SEQUENCEs, skipped.
        for _ in 0..4 {
            fields = asn1::expect(fields, asn1::tag::SEQUENCE).map_err(cut)?.1;
        }
        let (spki, _) = asn1::expect(fields, asn1::tag::SEQUENCE).map_err(cut)?;
        Ok(spki.raw)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM encoding (`-----BEGIN CERTIFICATE-----`).
    pub fn pem(&self) -> String {
        crate::pem::encode("CERTIFICATE", &self.der)
    }

    /// What the certificate says.
    pub fn info(&self) -> &CertificateInfo {
        &self.info
    }

    /// Its thumbprints.
    pub fn thumbprints(&self) -> &Thumbprints {
        &self.info.thumbprints
    }

    /// Whether `key` is this certificate's private key.
    pub fn matches_key(&self, key: &PrivateKey) -> bool {
        self.public_key_bits().as_deref() == Some(key.public_key_bits())
    }

    /// Errors with [`Error::KeyMismatch`] unless `key` is this certificate's private key.
    pub fn check_key(&self, key: &PrivateKey) -> Result<()> {
        if self.matches_key(key) {
            Ok(())
        } else {
            Err(Error::KeyMismatch)
        }
    }

    /// Whether this certificate names `issuer` as its issuer: the same issuer name and, when
    /// both carry key identifiers, `issuer`'s key (so a CA made again under the same name, with
    /// a new key, is told apart). The signature itself is not checked.
    pub fn names_issuer(&self, issuer: &Certificate) -> bool {
        let ours = &self.info;
        let theirs = &issuer.info;
        ours.issuer == theirs.subject
            && match (&ours.authority_key_id, &theirs.subject_key_id) {
                (Some(aki), Some(ski)) => aki == ski,
                _ => true,
            }
    }

    /// The subjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> Vec<u8> {
        X509Certificate::from_der(&self.der)
            .map(|(_, c)| c.public_key().raw.to_vec())
            .unwrap_or_default()
    }

    fn public_key_bits(&self) -> Option<Vec<u8>> {
        let (_, parsed) = X509Certificate::from_der(&self.der).ok()?;
        Some(parsed.public_key().subject_public_key.data.to_vec())
    }
}

fn describe(cert: &X509Certificate<'_>, der: &[u8]) -> Result<CertificateInfo> {
    let spki = cert.public_key();
    let key_oid = spki.algorithm.algorithm.to_id_string();
    let key = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => Some(KeyAlgorithm::Rsa {
            bits: asn1::integer_bits(rsa.modulus),
        }),
        Ok(PublicKey::EC(_)) => spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .and_then(|c| key::curve_of(c.as_bytes()).ok())
            .map(KeyAlgorithm::Ec),
        _ => None,
    };
    let mut info = CertificateInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial().iter().map(|b| format!("{b:02X}")).collect(),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        key,
        key_oid,
        key_usage: Vec::new(),
        extended_key_usage: Vec::new(),
        subject_alt_names: Vec::new(),
        is_ca: false,
        permitted_names: Vec::new(),
        subject_key_id: None,
        authority_key_id: None,
        self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
        signature_algorithm: cert.signature_algorithm.algorithm.to_id_string(),
        thumbprints: Thumbprints::of(der),
    };
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::KeyUsage(ku) => info.key_usage = key_usage_names(ku.flags),
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let named = [
                    (eku.server_auth, "serverAuth"),
                    (eku.client_auth, "clientAuth"),
                    (eku.code_signing, "codeSigning"),
                    (eku.email_protection, "emailProtection"),
                    (eku.time_stamping, "timeStamping"),
                    (eku.ocsp_signing, "OCSPSigning"),
                    (eku.any, "anyExtendedKeyUsage"),
                ];
                info.extended_key_usage = named
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, n)| (*n).to_owned())
                    .collect();
                info.extended_key_usage
                    .extend(eku.other.iter().map(|o| o.to_id_string()));
            }
            ParsedExtension::BasicConstraints(bc) => info.is_ca = bc.ca,
            ParsedExtension::NameConstraints(nc) => {
                info.permitted_names = nc
                    .permitted_subtrees
                    .iter()
                    .flatten()
                    .filter_map(|subtree| render_subtree(&subtree.base))
                    .collect();
            }
            ParsedExtension::SubjectKeyIdentifier(id) => info.subject_key_id = Some(hex(id.0)),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                info.authority_key_id = aki.key_identifier.as_ref().map(|id| hex(id.0));
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                info.subject_alt_names = san.general_names.iter().filter_map(render_general_name).collect();
            }
            _ => {}
        }
    }
    if info.not_after < info.not_before {
        return Err(corrupt("X.509 certificate", "it expires before it starts"));
    }
    Ok(info)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A permitted subtree as [`PermittedName`](crate::PermittedName) displays it; an IP subtree is
/// an address and a mask (RFC 5280 4.2.1.10), shown as a prefix length when the mask is one.
fn render_subtree(name: &GeneralName<'_>) -> Option<String> {
    Some(match name {
        GeneralName::DNSName(d) => format!("DNS:{d}"),
        GeneralName::IPAddress(bytes) => {
            let (address, mask) = bytes.split_at(bytes.len() / 2);
            let ip: IpAddr = match address.len() {
                4 => <[u8; 4]>::try_from(address).ok()?.into(),
                16 => <[u8; 16]>::try_from(address).ok()?.into(),
                _ => return None,
            };
            let bits: u32 = mask.iter().map(|b| b.count_ones()).sum();
            let prefix_mask = (0..mask.len() as u32).map(|i| {
                let ones = bits.saturating_sub(i * 8).min(8);
                (0xffu16 << (8 - ones)) as u8
            });
            if mask.iter().copied().eq(prefix_mask) {
                format!("IP:{ip}/{bits}")
            } else {
                format!("IP:{ip}/{}", hex(mask))
            }
        }
        other => format!("{other}"),
    })
}

fn key_usage_names(flags: u16) -> Vec<&'static str> {
    const NAMES: [&str; 9] = [
        "digitalSignature",
        "nonRepudiation",
        "keyEncipherment",
        "dataEncipherment",
        "keyAgreement",
        "keyCertSign",
        "cRLSign",
        "encipherOnly",
        "decipherOnly",
    ];
    NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| flags & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect()
}

fn render_general_name(name: &GeneralName<'_>) -> Option<String> {
    Some(match name {
        GeneralName::DNSName(d) => format!("DNS:{d}"),
        GeneralName::RFC822Name(e) => format!("email:{e}"),
        GeneralName::URI(u) => format!("URI:{u}"),
        GeneralName::IPAddress(bytes) => {
            let ip: IpAddr = match bytes.len() {
                4 => <[u8; 4]>::try_from(*bytes).ok()?.into(),
                16 => <[u8; 16]>::try_from(*bytes).ok()?.into(),
                _ => return None,
            };
            format!("IP:{ip}")
        }
        _ => return None,
    })
}

impl CertificateInfo {
    /// Key type in words ("RSA 2048", "EC P-256"), or the OID of an unsupported one.
    pub fn key_description(&self) -> String {
        match self.key {
            Some(k) => k.to_string(),
            None => format!("unsupported ({})", self.key_oid),
        }
    }
}
