//! Certificate policies: what Key Vault's clients send (sparse, every field optional), the
//! filled policy we keep (one per certificate, for all its versions), Key Vault's defaults, and
//! the [`CertificateSpec`] a policy asks for.

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

/// A policy as a request gives it: any subset of the fields, in Key Vault's JSON.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PolicyInput {
    /// Key properties.
    #[serde(default)]
    pub key_props: Option<KeyPropsInput>,
    /// Secret properties.
    #[serde(default)]
    pub secret_props: Option<SecretPropsInput>,
    /// X.509 properties.
    #[serde(default)]
    pub x509_props: Option<X509PropsInput>,
    /// Lifetime actions; a given list replaces the current one.
    #[serde(default)]
    pub lifetime_actions: Option<Vec<LifetimeActionInput>>,
    /// The issuer.
    #[serde(default)]
    pub issuer: Option<IssuerInput>,
    /// The policy's attributes.
    #[serde(default)]
    pub attributes: Option<crate::model::AttributesInput>,
}

/// `key_props`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyPropsInput {
    /// Whether the key may be exported.
    #[serde(default)]
    pub exportable: Option<bool>,
    /// `RSA`, `RSA-HSM`, `EC`, `EC-HSM`.
    #[serde(default)]
    pub kty: Option<String>,
    /// RSA modulus size, or the curve size.
    #[serde(default)]
    pub key_size: Option<u32>,
    /// Keep the key on renewal.
    #[serde(default)]
    pub reuse_key: Option<bool>,
    /// EC curve.
    #[serde(default)]
    pub crv: Option<String>,
}

/// `secret_props`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecretPropsInput {
    /// The content type of the certificate's secret.
    #[serde(default, rename = "contentType")]
    pub content_type: Option<String>,
}

/// `x509_props`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct X509PropsInput {
    /// The subject name.
    #[serde(default)]
    pub subject: Option<String>,
    /// Subject alternative names.
    #[serde(default)]
    pub sans: Option<SansInput>,
    /// Extended key usages (dotted OIDs).
    #[serde(default)]
    pub ekus: Option<Vec<String>>,
    /// Key usages.
    #[serde(default)]
    pub key_usage: Option<Vec<String>>,
    /// Validity in months.
    #[serde(default)]
    pub validity_months: Option<u32>,
}

/// `x509_props.sans`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SansInput {
    /// E-mail addresses.
    #[serde(default)]
    pub emails: Option<Vec<String>>,
    /// DNS names.
    #[serde(default)]
    pub dns_names: Option<Vec<String>>,
    /// User principal names.
    #[serde(default)]
    pub upns: Option<Vec<String>>,
    /// URIs.
    #[serde(default)]
    pub uris: Option<Vec<String>>,
    /// IP addresses.
    #[serde(default, rename = "ipAddresses")]
    pub ip_addresses: Option<Vec<String>>,
}

/// One of `lifetime_actions`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LifetimeActionInput {
    /// When.
    #[serde(default)]
    pub trigger: Option<TriggerInput>,
    /// What.
    #[serde(default)]
    pub action: Option<ActionInput>,
}

/// `trigger`: exactly one of the two.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TriggerInput {
    /// Percentage of the lifetime, 1 to 99.
    #[serde(default)]
    pub lifetime_percentage: Option<u32>,
    /// Days before expiry.
    #[serde(default)]
    pub days_before_expiry: Option<u32>,
}

/// `action`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionInput {
    /// `AutoRenew` or `EmailContacts`.
    #[serde(default)]
    pub action_type: Option<String>,
}

/// `issuer`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IssuerInput {
    /// `Self` or `Unknown`.
    #[serde(default)]
    pub name: Option<String>,
    /// Certificate type.
    #[serde(default)]
    pub cty: Option<String>,
    /// Certificate transparency.
    #[serde(default)]
    pub cert_transparency: Option<bool>,
}

/// The most lifetime actions a policy may have.
pub const MAX_LIFETIME_ACTIONS: usize = 2;

impl PolicyInput {
    /// The policy `base` with the given fields replaced, checked as a whole.
    pub fn apply(&self, base: &Policy) -> Result<Policy> {
        let policy = self.merge(base)?;
        policy.validate()?;
        Ok(policy)
    }

    /// The policy of an imported certificate: `base` (what the certificate says) with the given
    /// fields replaced, except the key's, which are the certificate's. The subject and names
    /// describe the certificate as it is, so they are not checked as a request would be.
    pub fn apply_to_import(&self, base: &Policy) -> Result<Policy> {
        let mut policy = self.merge(base)?;
        policy.kty = base.kty.clone();
        policy.key_size = base.key_size;
        policy.crv = base.crv.clone();
        Ok(policy)
    }

    pub(crate) fn merge(&self, base: &Policy) -> Result<Policy> {
        let mut policy = base.clone();
        if let Some(key) = &self.key_props {
            apply_key(key, &mut policy)?;
        }
        if let Some(content_type) = self.secret_props.as_ref().and_then(|s| s.content_type.as_deref()) {
            policy.content_type = ContentType::parse(content_type)?;
        }
        let usages_given = self.x509_props.as_ref().is_some_and(|x| x.key_usage.is_some());
        if let Some(x509) = &self.x509_props {
            apply_x509(x509, &mut policy)?;
        }
        // Key encipherment is an RSA usage: an EC key gets digitalSignature unless told otherwise.
        if !policy.kty.starts_with("RSA") && !usages_given && policy.key_usage == RSA_USAGES {
            policy.key_usage = vec!["digitalSignature".into()];
        }
        if let Some(actions) = &self.lifetime_actions {
            policy.lifetime_actions = actions.iter().map(parse_action).collect::<Result<_>>()?;
            if policy.lifetime_actions.len() > MAX_LIFETIME_ACTIONS
                || (policy.lifetime_actions.len() == 2
                    && policy.lifetime_actions[0].action == policy.lifetime_actions[1].action)
            {
                return Err(Error::BadParameter(
                    "lifetime_actions: at most one AutoRenew and one EmailContacts action".into(),
                ));
            }
        }
        if let Some(issuer) = &self.issuer {
            if let Some(name) = &issuer.name {
                policy.issuer.name = match name.trim().to_ascii_lowercase().as_str() {
                    "self" => ISSUER_SELF.into(),
                    "unknown" => ISSUER_UNKNOWN.into(),
                    _ => {
                        return Err(Error::BadParameter(format!(
                            "issuer {:?} is not supported: use Self or Unknown",
                            truncate(name)
                        )));
                    }
                };
            }
            if issuer.cty.is_some() {
                policy.issuer.cty = issuer.cty.clone();
            }
            if issuer.cert_transparency.is_some() {
                policy.issuer.cert_transparency = issuer.cert_transparency;
            }
        }
        if let Some(enabled) = self.attributes.as_ref().and_then(|a| a.enabled) {
            policy.enabled = enabled;
        }
        Ok(policy)
    }
}

fn apply_key(key: &KeyPropsInput, policy: &mut Policy) -> Result<()> {
    if let Some(exportable) = key.exportable {
        policy.exportable = exportable;
    }
    if let Some(reuse) = key.reuse_key {
        policy.reuse_key = reuse;
    }
    let kty = match &key.kty {
        Some(kty) => {
            let kty = kty.trim().to_ascii_uppercase();
            if !["RSA", "RSA-HSM", "EC", "EC-HSM"].contains(&kty.as_str()) {
                return Err(Error::BadParameter(format!(
                    "key_props.kty {:?} is not supported: use RSA or EC",
                    truncate(&kty)
                )));
            }
            kty
        }
        // A curve alone asks for an EC key.
        None if key.crv.is_some() && policy.kty.starts_with("RSA") => "EC".into(),
        None => policy.kty.clone(),
    };
    let was_rsa = policy.kty.starts_with("RSA");
    policy.kty = kty;
    if policy.kty.starts_with("RSA") {
        policy.crv = None;
        if !was_rsa {
            policy.key_size = 2048;
        }
        if let Some(size) = key.key_size {
            policy.key_size = size;
        }
    } else {
        let crv = match (&key.crv, key.key_size) {
            (Some(crv), _) => crv.trim().to_ascii_uppercase(),
            (None, Some(384)) => "P-384".into(),
            (None, Some(256)) => "P-256".into(),
            (None, _) if !was_rsa => policy.crv.clone().unwrap_or_else(|| "P-256".into()),
            (None, _) => "P-256".into(),
        };
        let size = match crv.as_str() {
            "P-256" => 256,
            "P-384" => 384,
            _ => {
                return Err(Error::BadParameter(format!(
                    "key_props.crv {:?} is not supported: use P-256 or P-384",
                    truncate(&crv)
                )));
            }
        };
        if key.key_size.is_some_and(|s| s != size) {
            return Err(Error::BadParameter(format!(
                "key_props.key_size does not match the curve {crv}"
            )));
        }
        policy.crv = Some(crv);
        policy.key_size = size;
    }
    Ok(())
}

fn apply_x509(x509: &X509PropsInput, policy: &mut Policy) -> Result<()> {
    if let Some(subject) = &x509.subject {
        policy.subject = subject.trim().to_owned();
    }
    if let Some(sans) = &x509.sans {
        let take = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
        policy.sans = SubjectAlternativeNames {
            emails: take(&sans.emails),
            dns_names: take(&sans.dns_names),
            upns: take(&sans.upns),
            uris: take(&sans.uris),
            ip_addresses: take(&sans.ip_addresses),
        };
    }
    if let Some(ekus) = &x509.ekus {
        policy.ekus = ekus
            .iter()
            .map(|e| {
                ExtendedKeyUsage::parse(e)
                    .map(|e| e.dotted())
                    .map_err(|e| Error::BadParameter(format!("x509_props.ekus: {e}")))
            })
            .collect::<Result<_>>()?;
    }
    if let Some(usages) = &x509.key_usage {
        policy.key_usage = usages
            .iter()
            .map(|u| {
                KeyUsage::from_name(u).map(|u| u.name().to_owned()).ok_or_else(|| {
                    Error::BadParameter(format!("x509_props.key_usage: unknown key usage {:?}", truncate(u)))
                })
            })
            .collect::<Result<_>>()?;
    }
    if let Some(months) = x509.validity_months {
        if !(1..=1200).contains(&months) {
            return Err(Error::BadParameter(
                "x509_props.validity_months must be between 1 and 1200".into(),
            ));
        }
        policy.validity_months = months;
    }
    Ok(())
}

fn parse_action(input: &LifetimeActionInput) -> Result<LifetimeAction> {
    let bad = |what: &str| Error::BadParameter(format!("lifetime_actions: {what}"));
    let trigger = input
        .trigger
        .as_ref()
        .ok_or_else(|| bad("every action needs a trigger"))?;
    let trigger = match (trigger.lifetime_percentage, trigger.days_before_expiry) {
        (Some(p), None) if (1..=99).contains(&p) => Trigger::LifetimePercentage(p),
        (Some(_), None) => return Err(bad("lifetime_percentage must be between 1 and 99")),
        (None, Some(d)) if d >= 1 => Trigger::DaysBeforeExpiry(d),
        (None, Some(_)) => return Err(bad("days_before_expiry must be at least 1")),
        _ => {
            return Err(bad(
                "a trigger has exactly one of lifetime_percentage and days_before_expiry",
            ));
        }
    };
    let action = match input
        .action
        .as_ref()
        .and_then(|a| a.action_type.as_deref())
        .map(|a| a.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("autorenew") => ActionType::AutoRenew,
        Some("emailcontacts") => ActionType::EmailContacts,
        _ => return Err(bad("action_type must be AutoRenew or EmailContacts")),
    };
    Ok(LifetimeAction { trigger, action })
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests;
