//! Token-signing keys: made with the tenant, sealed at rest, published in the JWKS, rotated
//! with the old key kept published until the last token it signed has expired.

use std::sync::Arc;

use keyward_jose::{Algorithm, Jwk, Jwks, SigningKey as JwsSigner, VerifyingKey};
use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey, Validity};
use keyward_store::{SigningKey, Tenant};
use time::{Duration, OffsetDateTime};

use crate::error::Result;
use keyward_pki::sealing::MasterKey;

/// The keys of one tenant, ready to sign and to publish.
pub struct TenantKeys {
    kid: String,
    signer: Arc<JwsSigner>,
    published: Vec<(String, VerifyingKey)>,
    jwks_json: String,
    rows: Vec<SigningKey>,
}

impl TenantKeys {
    /// Opens the active key and builds the JWKS of every key still published at `now`.
    pub fn load(
        tenant: &Tenant,
        rows: Vec<SigningKey>,
        master: &MasterKey,
        issuer: &str,
        now: OffsetDateTime,
    ) -> Result<Self> {
        let active = rows
            .iter()
            .find(|k| k.active)
            .ok_or_else(|| crate::Error::NoActiveSigningKey(tenant.name.clone()))?;
        let pkcs8 = master.open(&seal_owner(active), &active.encrypted_private_key)?;
        let key = PrivateKey::from_pkcs8_der(&pkcs8)?;
        let signer = Arc::new(JwsSigner::new(&key, Algorithm::Rs256)?);
        let mut published = Vec::new();
        let mut jwks = Jwks { keys: Vec::new() };
        for row in rows
            .iter()
            .filter(|k| k.active || k.publish_until.is_some_and(|until| until > now))
        {
            let certificate = Certificate::from_der(&row.certificate_der)?;
            let jwk = Jwk::from_certificate(&certificate, Some(&row.kid))?.with_issuer(issuer);
            published.push((row.kid.clone(), VerifyingKey::from_jwk(&jwk)?));
            jwks.keys.push(jwk);
        }
        let jwks_json = serde_json::to_string(&jwks).map_err(|e| crate::Error::Encoding {
            what: "the JWKS",
            reason: e.to_string(),
        })?;
        Ok(Self {
            kid: active.kid.clone(),
            signer,
            published,
            jwks_json,
            rows,
        })
    }

    /// Whether these keys are what [`TenantKeys::load`] would make of `rows` at `now`: the same
    /// rows, and the same of them still published. A reload keeps such keys instead of opening
    /// the active key again.
    pub(crate) fn is_current(&self, rows: &[SigningKey], now: OffsetDateTime) -> bool {
        self.rows == rows
            && rows
                .iter()
                .filter(|k| k.active || k.publish_until.is_some_and(|until| until > now))
                .map(|k| k.kid.as_str())
                .eq(self.published.iter().map(|(kid, _)| kid.as_str()))
    }

    /// The `kid` (and `x5t`) of the active key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs new tokens.
    pub fn signer(&self) -> &JwsSigner {
        &self.signer
    }

    /// The JWKS document, serialized once.
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    /// The verifying key of a published key, to check our own tokens.
    pub fn verifier(&self, kid: &str) -> Option<&VerifyingKey> {
        self.published.iter().find(|(k, _)| k == kid).map(|(_, v)| v)
    }

    /// The stored rows.
    pub fn rows(&self) -> &[SigningKey] {
        &self.rows
    }
}

/// Makes a new active signing key for `tenant`: RSA 2048 and a self-signed certificate, as
/// Entra publishes; `kid` is the certificate's `x5t`.
pub fn new_signing_key(tenant: &Tenant, master: &MasterKey, now: OffsetDateTime) -> Result<SigningKey> {
    let key = PrivateKey::generate(KeyType::Rsa2048)?;
    let subject = Name::parse(&format!(
        "CN=Keyward token signing for {}",
        tenant.name.replace(',', "\\,")
    ))?;
    let certificate = CertificateSpec::new(subject)
        .validity(Validity::Months(60))
        .self_signed(&key)?;
    let mut row = SigningKey {
        kid: certificate.thumbprints().x5t(),
        tenant_id: tenant.id,
        encrypted_private_key: Vec::new(),
        certificate_der: certificate.der().to_vec(),
        created: now,
        active: true,
        publish_until: None,
    };
    row.encrypted_private_key = master.seal(&seal_owner(&row), key.pkcs8_der())?;
    Ok(row)
}

/// What a retired key's row becomes: inactive, published until tokens it signed can no longer
/// be valid.
pub fn retire(mut row: SigningKey, now: OffsetDateTime, longest_token: Duration) -> SigningKey {
    row.active = false;
    row.publish_until = Some(now + longest_token);
    row
}

fn seal_owner(row: &SigningKey) -> String {
    format!("signing-key/{}/{}", row.tenant_id, row.kid)
}
