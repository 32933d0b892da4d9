//! Certificate policies: the filled policy we keep (one per certificate, for all its versions),
//! Key Vault's defaults, and the [`CertificateSpec`] a policy asks for. What clients send, sparse
//! and every field optional, is in [`input`].

use keyward_pki::{
    Certificate, CertificateSpec, ExtendedKeyUsage, KeyAlgorithm, KeyType, KeyUsage, Name, SubjectAltName, Validity,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// The content type of a certificate's secret: a PFX (base64) or PEM text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContentType {
    /// `application/x-pkcs12`: standard base64 of a PFX with an empty password.
    #[serde(rename = "application/x-pkcs12")]
    Pkcs12,
    /// `application/x-pem-file`: the PKCS#8 key, then the certificate and its chain.
    #[serde(rename = "application/x-pem-file")]
    Pem,
}

impl ContentType {
    /// The MIME type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pkcs12 => "application/x-pkcs12",
            Self::Pem => "application/x-pem-file",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "application/x-pkcs12" => Ok(Self::Pkcs12),
            "application/x-pem-file" => Ok(Self::Pem),
            _ => Err(Error::BadParameter(format!(
                "secret_props.contentType {:?} is not supported: use application/x-pkcs12 or application/x-pem-file",
                truncate(value)
            ))),
        }
    }
}

/// What a lifetime action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionType {
    /// Make a new version.
    AutoRenew,
    /// Tell the vault's certificate contacts (recorded as an event; no mail is sent).
    EmailContacts,
}

impl ActionType {
    /// `AutoRenew` or `EmailContacts`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AutoRenew => "AutoRenew",
            Self::EmailContacts => "EmailContacts",
        }
    }
}

/// When a lifetime action fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Trigger {
    /// At this percentage (1 to 99) of the latest version's validity.
    LifetimePercentage(u32),
    /// This many days before the latest version expires.
    DaysBeforeExpiry(u32),
}

impl Trigger {
    /// When the action fires for a version valid from `not_before` to `not_after`. More days
    /// before expiry than there are dates (which the policy of an imported certificate, or of
    /// issuer `Unknown`, may ask for: only a self-issued policy is checked against its validity)
    /// is due at the earliest date there is: at once.
    pub fn due(self, not_before: OffsetDateTime, not_after: OffsetDateTime) -> OffsetDateTime {
        match self {
            Self::LifetimePercentage(p) => not_before + (not_after - not_before) * (f64::from(p) / 100.0),
            Self::DaysBeforeExpiry(d) => not_after
                .checked_sub(time::Duration::days(i64::from(d)))
                .unwrap_or_else(|| time::PrimitiveDateTime::MIN.assume_utc()),
        }
    }
}

/// A lifetime action: a trigger and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifetimeAction {
    /// When.
    pub trigger: Trigger,
    /// What.
    pub action: ActionType,
}

/// Subject alternative names, by kind, as the policy lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectAlternativeNames {
    /// E-mail addresses.
    #[serde(default)]
    pub emails: Vec<String>,
    /// DNS names.
    #[serde(default)]
    pub dns_names: Vec<String>,
    /// User principal names.
    #[serde(default)]
    pub upns: Vec<String>,
    /// URIs.
    #[serde(default)]
    pub uris: Vec<String>,
    /// IP addresses.
    #[serde(default)]
    pub ip_addresses: Vec<String>,
}

impl SubjectAlternativeNames {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.emails.is_empty()
            && self.dns_names.is_empty()
            && self.upns.is_empty()
            && self.uris.is_empty()
            && self.ip_addresses.is_empty()
    }

    fn to_pki(&self) -> Result<Vec<SubjectAltName>> {
        let mut out = Vec::new();
        let bad = |e: keyward_pki::Error| Error::BadParameter(format!("x509_props.sans: {e}"));
        for (prefix, values) in [
            ("DNS", &self.dns_names),
            ("email", &self.emails),
            ("URI", &self.uris),
            ("IP", &self.ip_addresses),
            ("UPN", &self.upns),
        ] {
            for value in values {
                out.push(SubjectAltName::parse(&format!("{prefix}:{value}")).map_err(bad)?);
            }
        }
        Ok(out)
    }

    /// The names a certificate carries, sorted into the policy's lists.
    fn of(certificate: &Certificate) -> Self {
        let mut sans = Self::default();
        for name in &certificate.info().subject_alt_names {
            let Some((kind, value)) = name.split_once(':') else {
                continue;
            };
            let list = match kind {
                "DNS" => &mut sans.dns_names,
                "email" => &mut sans.emails,
                "URI" => &mut sans.uris,
                "IP" => &mut sans.ip_addresses,
                _ => continue,
            };
            list.push(value.to_owned());
        }
        sans
    }
}

/// A certificate's issuer as the policy names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerParameters {
    /// `Self` (the vault signs with the certificate's own key) or `Unknown` (the caller gets a
    /// CSR signed elsewhere and merges the certificate).
    pub name: String,
    /// The certificate type an issuer offers; kept, not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cty: Option<String>,
    /// Certificate transparency; kept, not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_transparency: Option<bool>,
}

/// The issuer name of self-signed certificates.
pub const ISSUER_SELF: &str = "Self";
/// The issuer name of certificates signed outside the vault.
pub const ISSUER_UNKNOWN: &str = "Unknown";

/// A filled certificate policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Whether the private key may leave the vault in the certificate's secret.
    pub exportable: bool,
    /// `RSA`, `RSA-HSM`, `EC` or `EC-HSM` (HSM types are kept as given; keys are software keys).
    pub kty: String,
    /// The key size: the RSA modulus, or the curve's size for EC.
    pub key_size: u32,
    /// The curve of an EC key: `P-256` or `P-384`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Whether a renewal keeps the key.
    pub reuse_key: bool,
    /// The content type of the certificate's secret.
    pub content_type: ContentType,
    /// The subject, e.g. `CN=my-app`.
    pub subject: String,
    /// The subject alternative names.
    #[serde(default)]
    pub sans: SubjectAlternativeNames,
    /// Extended key usages, dotted OIDs.
    pub ekus: Vec<String>,
    /// Key usages, RFC 5280 names.
    pub key_usage: Vec<String>,
    /// Validity in months.
    pub validity_months: u32,
    /// What happens over the certificate's lifetime.
    pub lifetime_actions: Vec<LifetimeAction>,
    /// Who signs.
    pub issuer: IssuerParameters,
    /// Whether the policy is enabled (a disabled policy runs no lifetime actions).
    pub enabled: bool,
}

const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
const RSA_USAGES: [&str; 2] = ["digitalSignature", "keyEncipherment"];

impl Policy {
    /// Key Vault's defaults for a new certificate: RSA 2048, exportable, a new key on every
    /// renewal, a PFX secret, 12 months, EKU serverAuth + clientAuth, key usage
    /// digitalSignature + keyEncipherment, AutoRenew at 80 % of the lifetime, issuer `Self`.
    /// The subject has to be given.
    pub fn defaults() -> Self {
        Self {
            exportable: true,
            kty: "RSA".into(),
            key_size: 2048,
            crv: None,
            reuse_key: false,
            content_type: ContentType::Pkcs12,
            subject: String::new(),
            sans: SubjectAlternativeNames::default(),
            ekus: vec![SERVER_AUTH.into(), CLIENT_AUTH.into()],
            key_usage: RSA_USAGES.iter().map(|u| (*u).to_owned()).collect(),
            validity_months: 12,
            lifetime_actions: vec![LifetimeAction {
                trigger: Trigger::LifetimePercentage(80),
                action: ActionType::AutoRenew,
            }],
            issuer: IssuerParameters {
                name: ISSUER_SELF.into(),
                cty: None,
                cert_transparency: None,
            },
            enabled: true,
        }
    }

    /// The policy Key Vault gives an imported certificate: what the certificate and key say,
    /// issuer `Unknown` (the vault cannot renew it) and EmailContacts at 80 %.
    pub fn for_import(certificate: &Certificate, content_type: ContentType) -> Self {
        let info = certificate.info();
        let (kty, key_size, crv) = match info.key {
            Some(KeyAlgorithm::Ec(curve)) => {
                let (size, name) = match curve {
                    keyward_pki::Curve::P256 => (256, "P-256"),
                    keyward_pki::Curve::P384 => (384, "P-384"),
                };
                ("EC", size, Some(name.to_owned()))
            }
            Some(KeyAlgorithm::Rsa { bits }) => ("RSA", u32::try_from(bits).unwrap_or(0), None),
            None => ("RSA", 0, None),
        };
        let days = (info.not_after - info.not_before).whole_days();
        let ekus = info
            .extended_key_usage
            .iter()
            .map(|e| match e.as_str() {
                "serverAuth" => SERVER_AUTH.to_owned(),
                "clientAuth" => CLIENT_AUTH.to_owned(),
                "codeSigning" => "1.3.6.1.5.5.7.3.3".to_owned(),
                "emailProtection" => "1.3.6.1.5.5.7.3.4".to_owned(),
                "timeStamping" => "1.3.6.1.5.5.7.3.8".to_owned(),
                "OCSPSigning" => "1.3.6.1.5.5.7.3.9".to_owned(),
                "anyExtendedKeyUsage" => "2.5.29.37.0".to_owned(),
                other => other.to_owned(),
            })
            .collect();
        Self {
            exportable: true,
            kty: kty.into(),
            key_size,
            crv,
            reuse_key: false,
            content_type,
            subject: info.subject.clone(),
            sans: SubjectAlternativeNames::of(certificate),
            ekus,
            key_usage: info.key_usage.iter().map(|u| (*u).to_owned()).collect(),
            validity_months: u32::try_from((days + 15) / 30).unwrap_or(u32::MAX).max(1),
            lifetime_actions: vec![LifetimeAction {
                trigger: Trigger::LifetimePercentage(80),
                action: ActionType::EmailContacts,
            }],
            issuer: IssuerParameters {
                name: ISSUER_UNKNOWN.into(),
                cty: None,
                cert_transparency: None,
            },
            enabled: true,
        }
    }

    /// The key type to generate.
    pub fn key_type(&self) -> Result<KeyType> {
        let rsa = self.kty.starts_with("RSA");
        match (rsa, self.key_size, self.crv.as_deref()) {
            (true, 2048, _) => Ok(KeyType::Rsa2048),
            (true, 3072, _) => Ok(KeyType::Rsa3072),
            (true, 4096, _) => Ok(KeyType::Rsa4096),
            (false, _, Some("P-256")) => Ok(KeyType::EcP256),
            (false, _, Some("P-384")) => Ok(KeyType::EcP384),
            _ => Err(Error::BadParameter(format!(
                "unsupported key: {} {}{}; use RSA 2048, 3072 or 4096, or EC P-256 or P-384",
                self.kty,
                self.key_size,
                self.crv.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
            ))),
        }
    }

    /// Whether the vault signs certificates of this policy itself.
    pub fn self_issued(&self) -> bool {
        self.issuer.name == ISSUER_SELF
    }

    /// The certificate this policy asks for, issued as of `now`.
    pub fn spec(&self, now: OffsetDateTime) -> Result<CertificateSpec> {
        let subject =
            Name::parse(&self.subject).map_err(|e| Error::BadParameter(format!("x509_props.subject: {e}")))?;
        let mut spec = CertificateSpec::new(subject)
            .issued_at(now)
            .validity(Validity::Months(self.validity_months))
            .key_usage(self.key_usage.iter().filter_map(|u| KeyUsage::from_name(u)).collect())
            .extended_key_usage(
                self.ekus
                    .iter()
                    .map(|e| ExtendedKeyUsage::parse(e))
                    .collect::<Result<_, _>>()
                    .map_err(|e| Error::BadParameter(format!("x509_props.ekus: {e}")))?,
            );
        for san in self.sans.to_pki()? {
            spec = spec.subject_alt_name(san);
        }
        Ok(spec)
    }

    /// Checks what [`PolicyInput::apply`] cannot check field by field.
    pub(crate) fn validate(&self) -> Result<()> {
        self.key_type()?;
        if self.subject.trim().is_empty() {
            return Err(Error::BadParameter(
                "the policy needs x509_props.subject, e.g. \"CN=my-app\"".into(),
            ));
        }
        // Builds the spec once so that every name and OID is known to be usable.
        self.spec(OffsetDateTime::UNIX_EPOCH)?;
        for action in &self.lifetime_actions {
            if let Trigger::DaysBeforeExpiry(d) = action.trigger
                && d > self.validity_months.saturating_mul(27)
            {
                return Err(Error::BadParameter(format!(
                    "lifetime_actions: days_before_expiry must be between 1 and validity_months * 27 ({})",
                    self.validity_months.saturating_mul(27)
                )));
            }
        }
        Ok(())
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

mod input;

pub use input::{
    ActionInput, IssuerInput, KeyPropsInput, LifetimeActionInput, MAX_LIFETIME_ACTIONS, PolicyInput, SansInput,
    SecretPropsInput, TriggerInput, X509PropsInput,
};

#[cfg(test)]
mod tests;
