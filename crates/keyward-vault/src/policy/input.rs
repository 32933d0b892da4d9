//! What Key Vault's clients send as a policy: sparse JSON, every field optional, merged over a
//! filled [`Policy`] and checked as a whole.

use serde::Deserialize;

use super::*;

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
