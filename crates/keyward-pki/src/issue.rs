//! Making certificates: self-signed app credentials with the defaults Microsoft recommends, and
//! a CA with leaves signed by it (the server's local TLS CA).

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use aws_lc_rs::digest;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, CustomExtension, DnType, ExtendedKeyUsagePurpose, GeneralSubtree,
    IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, NameConstraints, OtherNameValue, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::certificate::Certificate;
use crate::dn::Name;
use crate::error::{Error, Result};
use crate::key::{KeyAlgorithm, PrivateKey};

/// How long a new certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// This many calendar months from now (Key Vault's and the portal's unit).
    Months(u32),
    /// This many days from now.
    Days(u32),
}

impl Default for Validity {
    /// Twelve months, Key Vault's default.
    fn default() -> Self {
        Self::Months(12)
    }
}

/// How far `not_before` is set in the past, so that a certificate is usable at once on a machine
/// whose clock is a little behind (Key Vault does the same).
pub const BACKDATE: Duration = Duration::minutes(10);

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectAltName {
    /// A DNS name, e.g. `localhost` or `*.contoso.com`.
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
    /// An e-mail address.
    Email(String),
    /// A URI.
    Uri(String),
    /// A user principal name (`otherName` of type 1.3.6.1.4.1.311.20.2.3), e.g. `app@contoso.com`.
    Upn(String),
}

impl SubjectAltName {
    /// Parses `DNS:x`, `IP:x`, `email:x`, `URI:x`, `UPN:x`, or a bare value whose kind is evident
    /// (an IP address, something with `@`, something with `://`, else a DNS name).
    pub fn parse(input: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidSubjectAltName {
            input: input.to_owned(),
            reason,
        };
        let value = input.trim();
        let (kind, value) = match value.split_once(':') {
            Some((k, v)) if ["dns", "ip", "email", "uri", "upn"].contains(&k.to_ascii_lowercase().as_str()) => {
                (Some(k.to_ascii_lowercase()), v.trim())
            }
            _ => (None, value),
        };
        if value.is_empty() || value.len() > 253 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid("empty, too long, or contains spaces or control characters"));
        }
        let parsed = match kind.as_deref() {
            Some("ip") => Self::Ip(value.parse().map_err(|_| invalid("not an IP address"))?),
            Some("email") => Self::Email(value.to_owned()),
            Some("uri") => Self::Uri(value.to_owned()),
            Some("upn") => Self::Upn(value.to_owned()),
            Some(_) => Self::Dns(value.to_owned()),
            None => match value.parse::<IpAddr>() {
                Ok(ip) => Self::Ip(ip),
                Err(_) if value.contains("://") => Self::Uri(value.to_owned()),
                Err(_) if value.contains('@') => Self::Email(value.to_owned()),
                Err(_) => Self::Dns(value.to_owned()),
            },
        };
        match &parsed {
            Self::Email(e) if !e.contains('@') => Err(invalid("an e-mail address needs an '@'")),
            Self::Uri(u) if !u.contains(':') => Err(invalid("a URI needs a scheme, e.g. https://")),
            Self::Dns(d) if !d.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.*_".contains(&b)) => Err(invalid(
                "a DNS name has only letters, digits, '-', '.', and a leading '*.'",
            )),
            _ => Ok(parsed),
        }
    }

    fn to_rcgen(&self) -> Result<SanType> {
        let ia5 = |s: &str| {
            s.try_into().map_err(|_| Error::InvalidSubjectAltName {
                input: s.to_owned(),
                reason: "not ASCII",
            })
        };
        Ok(match self {
            Self::Dns(d) => SanType::DnsName(ia5(d)?),
            Self::Ip(ip) => SanType::IpAddress(*ip),
            Self::Email(e) => SanType::Rfc822Name(ia5(e)?),
            Self::Uri(u) => SanType::URI(ia5(u)?),
            Self::Upn(u) => SanType::OtherName((UPN_OID.to_vec(), OtherNameValue::Utf8String(u.clone()))),
        })
    }
}

/// What a new certificate should say. Defaults are those Microsoft recommends for an app
/// credential: 12 months, backdated 10 minutes, a 16-byte random positive serial, KeyUsage
/// digitalSignature (+ keyEncipherment for RSA), EKU clientAuth + serverAuth,
/// BasicConstraints CA:FALSE, SKI and AKI.
#[derive(Debug, Clone)]
pub struct CertificateSpec {
    subject: Name,
    validity: Validity,
    subject_alt_names: Vec<SubjectAltName>,
    certificate_authority: bool,
    issued_at: Option<OffsetDateTime>,
    key_usage: Option<Vec<KeyUsage>>,
    extended_key_usage: Option<Vec<ExtendedKeyUsage>>,
    permitted: Vec<PermittedName>,
}

/// A name a constrained CA may vouch for (RFC 5280 name constraints, permitted subtrees).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermittedName {
    /// A DNS name and every name under it: `ciamlogin.com` permits `contoso.ciamlogin.com`.
    Dns(String),
    /// Exactly this IP address.
    Ip(IpAddr),
}

impl std::fmt::Display for PermittedName {
    /// `DNS:localhost`, `IP:127.0.0.1/32`, `IP:::1/128`: as [`CertificateInfo::permitted_names`]
    /// shows a certificate's.
    ///
    /// [`CertificateInfo::permitted_names`]: crate::CertificateInfo::permitted_names
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dns(name) => write!(f, "DNS:{name}"),
            Self::Ip(ip @ IpAddr::V4(_)) => write!(f, "IP:{ip}/32"),
            Self::Ip(ip @ IpAddr::V6(_)) => write!(f, "IP:{ip}/128"),
        }
    }
}

impl CertificateSpec {
    /// A leaf certificate for `subject` with the defaults above.
    pub fn new(subject: Name) -> Self {
        Self {
            subject,
            validity: Validity::default(),
            subject_alt_names: Vec::new(),
            certificate_authority: false,
            issued_at: None,
            key_usage: None,
            extended_key_usage: None,
            permitted: Vec::new(),
        }
    }

    /// Limits what a CA certificate may vouch for to these names (a critical name constraints
    /// extension with permitted subtrees): a leaf it signs for any other DNS name or IP address
    /// is refused by clients that check constraints (browsers, OpenSSL, rustls' webpki). Only
    /// for [`certificate_authority`](Self::certificate_authority) specs.
    pub fn permitted_names(mut self, names: impl IntoIterator<Item = PermittedName>) -> Self {
        self.permitted.extend(names);
        self
    }

    /// Sets the validity period.
    pub fn validity(mut self, validity: Validity) -> Self {
        self.validity = validity;
        self
    }

    /// Adds a subject alternative name.
    pub fn subject_alt_name(mut self, san: SubjectAltName) -> Self {
        self.subject_alt_names.push(san);
        self
    }

    /// Issues the certificate as of `time` (truncated to whole seconds) instead of the system
    /// clock's now: `not_before` is `time` minus [`BACKDATE`] and the validity counts from `time`.
    pub fn issued_at(mut self, time: OffsetDateTime) -> Self {
        self.issued_at = Some(time);
        self
    }

    /// Replaces the default key usages of a leaf (digitalSignature, plus keyEncipherment for
    /// RSA). The extension stays critical; an empty list leaves it out.
    pub fn key_usage(mut self, usages: Vec<KeyUsage>) -> Self {
        self.key_usage = Some(usages);
        self
    }

    /// Replaces the default extended key usages of a leaf (clientAuth, serverAuth). An empty
    /// list leaves the extension out.
    pub fn extended_key_usage(mut self, usages: Vec<ExtendedKeyUsage>) -> Self {
        self.extended_key_usage = Some(usages);
        self
    }

    /// Makes this a CA certificate (CA:TRUE, keyCertSign + cRLSign, no EKU) that can sign leaves.
    pub fn certificate_authority(mut self) -> Self {
        self.certificate_authority = true;
        self
    }

    /// Issues the certificate signed by its own key.
    pub fn self_signed(&self, key: &PrivateKey) -> Result<Certificate> {
        let params = self.params(key)?;
        let signer = key.rcgen_key_pair()?;
        let cert = params
            .self_signed(&signer)
            .map_err(|_| Error::Crypto("signing the certificate"))?;
        Certificate::from_der(cert.der())
    }

    /// Issues the certificate for `key`, signed by `issuer` (a CA certificate) with `issuer_key`.
    pub fn signed_by(&self, key: &PrivateKey, issuer: &Certificate, issuer_key: &PrivateKey) -> Result<Certificate> {
        issuer.check_key(issuer_key)?;
        let params = self.params(key)?;
        let subject_key = key.rcgen_key_pair()?;
        let issuer_der = rustls_pki_types::CertificateDer::from(issuer.der().to_vec());
        let issuer = Issuer::from_ca_cert_der(&issuer_der, issuer_key.rcgen_key_pair()?)
            .map_err(|_| Error::Crypto("reading the issuer certificate"))?;
        let cert = params
            .signed_by(&subject_key, &issuer)
            .map_err(|_| Error::Crypto("signing the certificate"))?;
        Certificate::from_der(cert.der())
    }

    /// A PKCS#10 certificate signing request (DER) for `key` with this subject, subject
    /// alternative names and extensions, signed by `key`: what a CA outside this process signs.
    pub fn signing_request(&self, key: &PrivateKey) -> Result<Vec<u8>> {
        let mut params = self.params(key)?;
        // A request carries neither serial nor authority key identifier: the issuer sets them.
        params.serial_number = None;
        params.use_authority_key_identifier_extension = false;
        let signer = key.rcgen_key_pair()?;
        let csr = params
            .serialize_request(&signer)
            .map_err(|_| Error::Crypto("signing the certificate request"))?;
        Ok(csr.der().to_vec())
    }

    fn params(&self, key: &PrivateKey) -> Result<CertificateParams> {
        let now = self
            .issued_at
            .unwrap_or_else(OffsetDateTime::now_utc)
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .map_err(|_| Error::Crypto("clock"))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = self.subject.to_rcgen();
        params.not_before = now - BACKDATE;
        params.not_after = not_after(now, self.validity)?;
        params.serial_number = Some(random_serial()?);
        params.subject_alt_names = self
            .subject_alt_names
            .iter()
            .map(SubjectAltName::to_rcgen)
            .collect::<Result<_>>()?;
        // RFC 5280 method 1: SHA-1 of the subjectPublicKey bits, as OpenSSL and Key Vault do.
        let key_id = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, key.public_key_bits());
        params.key_identifier_method = KeyIdMethod::PreSpecified(key_id.as_ref().to_vec());
        params.use_authority_key_identifier_extension = true;
        if self.certificate_authority {
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            if !self.permitted.is_empty() {
                params.name_constraints = Some(NameConstraints {
                    permitted_subtrees: self.permitted.iter().map(PermittedName::to_rcgen).collect(),
                    excluded_subtrees: Vec::new(),
                });
            }
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
            ];
        } else {
            // CA:FALSE in a non-critical extension, as Key Vault and OpenSSL write it. rcgen
            // writes it critical, and the subject key identifier only with it, so both are ours.
            params.is_ca = IsCa::NoCa;
            params.custom_extensions.push(CustomExtension::from_oid_content(
                &BASIC_CONSTRAINTS_OID,
                vec![0x30, 0x00],
            ));
            let mut ski = vec![0x04, 20];
            ski.extend_from_slice(key_id.as_ref());
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(&SUBJECT_KEY_IDENTIFIER_OID, ski));
            params.key_usages = match &self.key_usage {
                Some(usages) => usages.iter().map(|u| u.to_rcgen()).collect(),
                None if matches!(key.algorithm(), KeyAlgorithm::Rsa { .. }) => {
                    vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment]
                }
                None => vec![KeyUsagePurpose::DigitalSignature],
            };
            params.extended_key_usages = match &self.extended_key_usage {
                Some(usages) => usages.iter().map(ExtendedKeyUsage::to_rcgen).collect(),
                None => vec![ExtendedKeyUsagePurpose::ClientAuth, ExtendedKeyUsagePurpose::ServerAuth],
            };
        }
        if params.distinguished_name.get(&DnType::CommonName).is_none() && self.subject_alt_names.is_empty() {
            return Err(Error::InvalidSubject {
                input: String::new(),
                reason: "a certificate needs a common name (CN=...) or a subject alternative name".into(),
            });
        }
        Ok(params)
    }
}

impl PermittedName {
    fn to_rcgen(&self) -> GeneralSubtree {
        match self {
            Self::Dns(name) => GeneralSubtree::DnsName(name.clone()),
            Self::Ip(IpAddr::V4(ip)) => GeneralSubtree::IpAddress(CidrSubnet::V4(ip.octets(), [255; 4])),
            Self::Ip(IpAddr::V6(ip)) => GeneralSubtree::IpAddress(CidrSubnet::V6(ip.octets(), [255; 16])),
        }
    }
}

/// The OID of SubjectKeyIdentifier: 2.5.29.14.
const SUBJECT_KEY_IDENTIFIER_OID: [u64; 4] = [2, 5, 29, 14];
/// The OID of BasicConstraints: 2.5.29.19.
const BASIC_CONSTRAINTS_OID: [u64; 4] = [2, 5, 29, 19];

/// The OID of a user principal name in `otherName`: 1.3.6.1.4.1.311.20.2.3.
const UPN_OID: [u64; 10] = [1, 3, 6, 1, 4, 1, 311, 20, 2, 3];

/// A key usage (RFC 5280 4.2.1.3), by the names Key Vault and OpenSSL use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyUsage {
    /// `digitalSignature`
    DigitalSignature,
    /// `nonRepudiation` (also called contentCommitment)
    NonRepudiation,
    /// `keyEncipherment`
    KeyEncipherment,
    /// `dataEncipherment`
    DataEncipherment,
    /// `keyAgreement`
    KeyAgreement,
    /// `keyCertSign`
    KeyCertSign,
    /// `cRLSign`
    CrlSign,
    /// `encipherOnly`
    EncipherOnly,
    /// `decipherOnly`
    DecipherOnly,
}

impl KeyUsage {
    /// Every key usage, in the order of their bits.
    pub const ALL: [KeyUsage; 9] = [
        Self::DigitalSignature,
        Self::NonRepudiation,
        Self::KeyEncipherment,
        Self::DataEncipherment,
        Self::KeyAgreement,
        Self::KeyCertSign,
        Self::CrlSign,
        Self::EncipherOnly,
        Self::DecipherOnly,
    ];

    /// The RFC 5280 name (`digitalSignature`, `cRLSign`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::DigitalSignature => "digitalSignature",
            Self::NonRepudiation => "nonRepudiation",
            Self::KeyEncipherment => "keyEncipherment",
            Self::DataEncipherment => "dataEncipherment",
            Self::KeyAgreement => "keyAgreement",
            Self::KeyCertSign => "keyCertSign",
            Self::CrlSign => "cRLSign",
            Self::EncipherOnly => "encipherOnly",
            Self::DecipherOnly => "decipherOnly",
        }
    }

    /// The key usage with this name, compared case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.name().eq_ignore_ascii_case(name))
    }

    fn to_rcgen(self) -> KeyUsagePurpose {
        match self {
            Self::DigitalSignature => KeyUsagePurpose::DigitalSignature,
            Self::NonRepudiation => KeyUsagePurpose::ContentCommitment,
            Self::KeyEncipherment => KeyUsagePurpose::KeyEncipherment,
            Self::DataEncipherment => KeyUsagePurpose::DataEncipherment,
            Self::KeyAgreement => KeyUsagePurpose::KeyAgreement,
            Self::KeyCertSign => KeyUsagePurpose::KeyCertSign,
            Self::CrlSign => KeyUsagePurpose::CrlSign,
            Self::EncipherOnly => KeyUsagePurpose::EncipherOnly,
            Self::DecipherOnly => KeyUsagePurpose::DecipherOnly,
        }
    }
}

/// An extended key usage: an object identifier such as `1.3.6.1.5.5.7.3.1` (serverAuth).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtendedKeyUsage(Vec<u64>);

impl ExtendedKeyUsage {
    /// id-kp-serverAuth, 1.3.6.1.5.5.7.3.1.
    pub fn server_auth() -> Self {
        Self(vec![1, 3, 6, 1, 5, 5, 7, 3, 1])
    }

    /// id-kp-clientAuth, 1.3.6.1.5.5.7.3.2.
    pub fn client_auth() -> Self {
        Self(vec![1, 3, 6, 1, 5, 5, 7, 3, 2])
    }

    /// Parses a dotted object identifier (at least two arcs, the first 0, 1 or 2).
    pub fn parse(dotted: &str) -> Result<Self> {
        let invalid = || Error::InvalidExtendedKeyUsage(dotted.chars().take(64).collect());
        let arcs: Vec<u64> = dotted
            .trim()
            .split('.')
            .map(|arc| {
                if arc.is_empty() || arc.len() > 18 || !arc.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid());
                }
                arc.parse().map_err(|_| invalid())
            })
            .collect::<Result<_>>()?;
        match arcs.as_slice() {
            [0 | 1, second, ..] if *second < 40 => Ok(Self(arcs)),
            [2, _, ..] => Ok(Self(arcs)),
            _ => Err(invalid()),
        }
    }

    /// The dotted form.
    pub fn dotted(&self) -> String {
        self.0.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
    }

    fn to_rcgen(&self) -> ExtendedKeyUsagePurpose {
        ExtendedKeyUsagePurpose::Other(self.0.clone())
    }
}

fn not_after(now: OffsetDateTime, validity: Validity) -> Result<OffsetDateTime> {
    const MAX_DAYS: u32 = 36_525;
    match validity {
        Validity::Days(0) | Validity::Months(0) => Err(Error::InvalidValidity("the period is zero")),
        Validity::Days(d) if d > MAX_DAYS => Err(Error::InvalidValidity("more than 100 years")),
        Validity::Months(m) if m > 1200 => Err(Error::InvalidValidity("more than 100 years")),
        Validity::Days(d) => Ok(now + StdDuration::from_secs(u64::from(d) * 86_400)),
        Validity::Months(m) => add_months(now, m).ok_or(Error::InvalidValidity("the end date is out of range")),
    }
}

/// Adds calendar months, clamping the day (31 January + 1 month = 28 or 29 February).
fn add_months(start: OffsetDateTime, months: u32) -> Option<OffsetDateTime> {
    let index = i64::from(start.year()) * 12 + i64::from(u8::from(start.month())) - 1 + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = time::Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = start.day().min(time::util::days_in_month(month, year));
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(start.replace_date(date))
}

/// 16 random bytes, first bit clear (positive) and second set (so the encoding stays 16 bytes).
fn random_serial() -> Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Crypto("random serial"))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn months_clamp_to_the_end_of_shorter_months() {
        assert_eq!(
            add_months(datetime!(2024-01-31 12:00 UTC), 1),
            Some(datetime!(2024-02-29 12:00 UTC))
        );
        assert_eq!(
            add_months(datetime!(2023-11-14 17:57 UTC), 12),
            Some(datetime!(2024-11-14 17:57 UTC))
        );
        assert_eq!(
            add_months(datetime!(2024-12-15 00:00 UTC), 1),
            Some(datetime!(2025-01-15 00:00 UTC))
        );
    }

    #[test]
    fn parses_subject_alt_names() {
        assert_eq!(
            SubjectAltName::parse("localhost").unwrap(),
            SubjectAltName::Dns("localhost".into())
        );
        assert_eq!(
            SubjectAltName::parse("::1").unwrap(),
            SubjectAltName::Ip("::1".parse().unwrap())
        );
        assert_eq!(
            SubjectAltName::parse("IP:127.0.0.1").unwrap(),
            SubjectAltName::Ip([127, 0, 0, 1].into())
        );
        assert_eq!(
            SubjectAltName::parse("me@x.org").unwrap(),
            SubjectAltName::Email("me@x.org".into())
        );
        assert_eq!(
            SubjectAltName::parse("https://x.org/a").unwrap(),
            SubjectAltName::Uri("https://x.org/a".into())
        );
        for bad in ["", "a b", "IP:300.1.1.1", "email:nobody", "exa mple.com", "bad/name"] {
            assert!(SubjectAltName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn zero_or_absurd_validity_is_refused() {
        let now = OffsetDateTime::now_utc();
        assert!(not_after(now, Validity::Days(0)).is_err());
        assert!(not_after(now, Validity::Months(1201)).is_err());
        assert!(not_after(now, Validity::Days(1)).is_ok());
    }
}
