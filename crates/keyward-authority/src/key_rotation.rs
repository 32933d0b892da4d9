//! An application rolling its own certificates without an administrator, as Microsoft Graph's
//! `application: addKey` and `removeKey` let it: the request carries a *proof of possession*, a
//! JWT the application signs with the private key of one of its current certificates.
//!
//! The proof, as Entra checks it:
//!
//! - signed (RS256; PS256 too, and ES256 where the authority accepts EC certificates) by the key
//!   of a certificate registered on the application and valid now, named by the `x5t`,
//!   `x5t#S256` or `kid` header;
//! - `iss`: the application's **object id** (not its appId);
//! - `aud`: `00000002-0000-0000-c000-000000000000` (what Graph's addKey and removeKey pages
//!   name), or `00000003-0000-0000-c000-000000000000` (Microsoft Graph's appId, what the newer
//!   "proof of possession tokens for rolling keys" page names);
//! - `exp` present and at most [`MAX_PROOF_LIFETIME`] away (Entra: "nbf + 10 minutes"), `nbf`
//!   not in the future, within the authority's clock skew;
//! - used once: a proof is remembered (its `jti` if it has one, else its signature) in the grant
//!   store until it expires, so that a replay is refused by every server sharing the database.
//!
//! An application with no current certificate cannot use these actions (Entra's rule): an
//! administrator adds one through `PATCH /applications/{id}`. Nothing stops an application from
//! removing the certificate that signed the proof, or its last one: Entra does not either, and
//! `keyward app cert rotate` always adds before it removes.

use std::sync::Arc;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_jose::{Algorithm, Error as JoseError, Jws, NumericDate};
use keyward_pki::Thumbprint;
use keyward_store::{Grant, GrantKind, KeyCredential};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::authority::{Authority, GRAPH_APP_ID};
use crate::client_auth::{AssertionPolicy, WindowProblem};
use crate::clock::Now;
use crate::directory::AppEntry;
use crate::error::Error;

/// The audience Graph's addKey and removeKey pages require of a proof: Azure AD Graph's appId.
pub const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";

/// The longest a proof may live: Entra's "nbf + 10 minutes".
pub const MAX_PROOF_LIFETIME: Duration = Duration::minutes(10);

/// The most characters of a quoted claim kept in an error.
const QUOTED: usize = 80;

/// Why a proof of possession was refused. Nothing is changed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProofError {
    /// The proof is not a compact JWS.
    #[error("The proof is not a valid JWT: {0}")]
    NotAJwt(String),
    /// A JWS with an algorithm or critical extension we refuse.
    #[error("The proof is not acceptable: {0}")]
    UnacceptableHeader(String),
    /// The claims are not a JSON object of the expected types.
    #[error("The proof's claims cannot be read: {0}")]
    UnreadableClaims(String),
    /// The application has no certificate valid now to prove possession of (Entra's rule: an
    /// administrator must add one).
    #[error(
        "Application {app_id} has no certificate valid now, so it cannot prove possession of one: \
         an administrator must add a certificate (PATCH the application's keyCredentials, or `keyward app cert add`)"
    )]
    NoCurrentCertificate {
        /// The application's appId.
        app_id: Uuid,
    },
    /// No `x5t`, `x5t#S256` or `kid` header names the certificate that signed it.
    #[error("The proof has no 'x5t', 'x5t#S256' or 'kid' header naming the certificate that signed it")]
    NoCertificateHeader,
    /// The header naming the certificate holds no thumbprint.
    #[error("The proof's '{header}' header ({value:?}) is not a certificate thumbprint")]
    NotAThumbprint {
        /// `x5t`, `x5t#S256` or `kid`.
        header: &'static str,
        /// Its value.
        value: String,
    },
    /// The certificate named is not one of the application's.
    #[error(
        "The proof is signed by a certificate that is not registered on application {app_id} (thumbprint {thumbprint}): \
         sign it with the key of one of the application's current certificates"
    )]
    UnknownCertificate {
        /// The thumbprint, hex.
        thumbprint: String,
        /// The application's appId.
        app_id: Uuid,
    },
    /// The certificate is registered but its credential is not valid now.
    #[error(
        "The certificate {thumbprint} that signed the proof is not valid now: it is registered from {start} to {end}"
    )]
    CertificateNotCurrent {
        /// The thumbprint, hex.
        thumbprint: String,
        /// The credential's start.
        start: OffsetDateTime,
        /// The credential's end.
        end: OffsetDateTime,
    },
    /// The signature does not verify with the certificate's key.
    #[error("The proof's signature does not verify with the key of certificate {thumbprint}: {reason}")]
    BadSignature {
        /// The thumbprint, hex.
        thumbprint: String,
        /// Why.
        reason: String,
    },
    /// `iss` is not the application's object id.
    #[error(
        "The proof's 'iss' must be the application's object id {expected}, not {}{}",
        found.as_deref().map(|f| format!("{f:?}")).unwrap_or_else(|| "absent".into()),
        if *is_app_id { " (that is its appId: Graph wants the object id)" } else { "" }
    )]
    WrongIssuer {
        /// The `iss` sent, if any.
        found: Option<String>,
        /// The application's object id.
        expected: Uuid,
        /// Whether `iss` was the appId, a common mistake.
        is_app_id: bool,
    },
    /// `aud` is not Graph's.
    #[error("The proof's 'aud' must be {PROOF_AUDIENCE}, not {}", if found.is_empty() { "absent".to_owned() } else { found.join(", ") })]
    WrongAudience {
        /// The audiences sent.
        found: Vec<String>,
    },
    /// `exp` and `nbf` do not hold now, or the proof lives too long.
    #[error(
        "The proof is not within its valid time range: {problem}. Current time: {now}, nbf: {}, exp: {}",
        nbf.map(|n| n.to_string()).unwrap_or_else(|| "(none)".into()),
        exp.map(|e| e.to_string()).unwrap_or_else(|| "(none)".into())
    )]
    OutsideWindow {
        /// What is wrong.
        problem: WindowProblem,
        /// Now, Unix seconds.
        now: i64,
        /// `nbf`, Unix seconds.
        nbf: Option<i64>,
        /// `exp`, Unix seconds.
        exp: Option<i64>,
    },
    /// This proof was used before: each proof is good for one request.
    #[error("The proof was already used: make a new one (a new 'jti', or a new signature) for each request")]
    Replayed,
}

/// Why `addKey` or `removeKey` failed: the proof, or the change itself.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum KeyRollError {
    /// The proof of possession was refused.
    #[error(transparent)]
    Proof(#[from] KeyProofError),
    /// The change was refused (a bad or duplicate certificate, an unknown key id) or could not
    /// be stored.
    #[error(transparent)]
    Directory(#[from] Error),
}

/// A proof that has been checked, before it is used up.
#[derive(Debug, Clone)]
pub struct VerifiedProof {
    /// The key id of the certificate credential that signed it.
    pub signer: Uuid,
    /// What identifies it for the replay check: SHA-256 (hex) of its `jti` (with the
    /// application's object id) or, without one, of its signature.
    pub replay_id: String,
    /// When it stops being acceptable, clock skew included.
    pub usable_until: OffsetDateTime,
}

#[derive(Deserialize)]
struct ProofClaims {
    iss: Option<String>,
    aud: Option<Audience>,
    exp: Option<NumericDate>,
    nbf: Option<NumericDate>,
    jti: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn values(&self) -> Vec<String> {
        match self {
            Self::One(a) => vec![quote(a)],
            Self::Many(all) => all.iter().map(|a| quote(a)).collect(),
        }
    }
}

/// Whether an `aud` value names Graph as a proof's audience.
fn is_proof_audience(aud: &str) -> bool {
    aud.eq_ignore_ascii_case(PROOF_AUDIENCE) || Uuid::parse_str(aud).is_ok_and(|id| id == GRAPH_APP_ID)
}

fn quote(s: &str) -> String {
    s.chars().take(QUOTED).collect()
}

/// Checks a proof of possession for `app` at `now`, everything but its single use (which
/// [`Authority::add_key`] and [`Authority::remove_key`] check against the store). The
/// certificates' validity is checked against the server's time, the proof's `exp` and `nbf`
/// against the real time ([`Now`]): its sender made them with a real clock, and a shifted server
/// clock (time travel) must not refuse every fresh proof.
pub fn verify_proof(
    app: &AppEntry,
    proof: &str,
    policy: &AssertionPolicy,
    now: impl Into<Now>,
) -> Result<VerifiedProof, KeyProofError> {
    let Now { server: now, real } = now.into();
    if !app.certificates().iter().any(|c| c.is_current(now)) {
        return Err(KeyProofError::NoCurrentCertificate { app_id: app.app.app_id });
    }
    let jws = Jws::parse(proof.trim()).map_err(|e| match e {
        JoseError::UnsupportedAlgorithm(_) | JoseError::UnsupportedCritical(_) | JoseError::MissingAlgorithm => {
            KeyProofError::UnacceptableHeader(e.to_string())
        }
        other => KeyProofError::NotAJwt(other.to_string()),
    })?;
    let header = jws.header();
    let (header_name, value) = header
        .x5t_s256
        .as_deref()
        .map(|v| ("x5t#S256", v))
        .or(header.x5t.as_deref().map(|v| ("x5t", v)))
        .or(header.kid.as_deref().map(|v| ("kid", v)))
        .ok_or(KeyProofError::NoCertificateHeader)?;
    let thumbprint = Thumbprint::parse(value).map_err(|_| KeyProofError::NotAThumbprint {
        header: header_name,
        value: quote(value),
    })?;
    let Some(registered) = app.certificate(&thumbprint) else {
        return Err(KeyProofError::UnknownCertificate {
            thumbprint: thumbprint.to_hex(),
            app_id: app.app.app_id,
        });
    };
    if !registered.is_current(now) {
        return Err(KeyProofError::CertificateNotCurrent {
            thumbprint: thumbprint.to_hex(),
            start: registered.start,
            end: registered.end,
        });
    }
    let allowed: &[Algorithm] = if policy.allow_es256 {
        &[Algorithm::Rs256, Algorithm::Ps256, Algorithm::Es256]
    } else {
        &[Algorithm::Rs256, Algorithm::Ps256]
    };
    let verifier = registered.verifier().map_err(|reason| KeyProofError::BadSignature {
        thumbprint: thumbprint.to_hex(),
        reason: reason.to_owned(),
    })?;
    jws.verify(verifier, allowed).map_err(|e| KeyProofError::BadSignature {
        thumbprint: thumbprint.to_hex(),
        reason: e.to_string(),
    })?;

    // Authentic: now, is it for this application, for Graph, and current?
    let claims: ProofClaims =
        serde_json::from_slice(jws.payload()).map_err(|e| KeyProofError::UnreadableClaims(e.to_string()))?;
    let iss = claims.iss.as_deref().map(str::trim);
    if iss.and_then(|i| Uuid::parse_str(i).ok()) != Some(app.app.id) {
        return Err(KeyProofError::WrongIssuer {
            is_app_id: iss.and_then(|i| Uuid::parse_str(i).ok()) == Some(app.app.app_id),
            found: iss.map(quote),
            expected: app.app.id,
        });
    }
    let audience_ok = match &claims.aud {
        Some(Audience::One(a)) => is_proof_audience(a),
        Some(Audience::Many(all)) => all.iter().any(|a| is_proof_audience(a)),
        None => false,
    };
    if !audience_ok {
        return Err(KeyProofError::WrongAudience {
            found: claims.aud.as_ref().map(Audience::values).unwrap_or_default(),
        });
    }
    let exp = check_window(claims.exp, claims.nbf, policy.clock_skew, real)?;

    let replay_source = match claims.jti.as_deref().filter(|j| !j.is_empty()) {
        Some(jti) => format!("jti:{}:{jti}", app.app.id),
        None => format!("signature:{}", URL_SAFE_NO_PAD.encode(jws.signature())),
    };
    let replay_id = digest::digest(&digest::SHA256, replay_source.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // By the server's clock, as everything stored: the replay record lives as long as the proof.
    let usable_until =
        OffsetDateTime::from_unix_timestamp(exp.as_unix()).unwrap_or(real) + policy.clock_skew + (now - real);
    Ok(VerifiedProof {
        signer: registered.key_id,
        replay_id,
        usable_until,
    })
}

/// Checks `exp` (required, at most [`MAX_PROOF_LIFETIME`] away) and `nbf` against `now`.
fn check_window(
    exp: Option<NumericDate>,
    nbf: Option<NumericDate>,
    skew: Duration,
    now: OffsetDateTime,
) -> Result<NumericDate, KeyProofError> {
    let now_s = now.unix_timestamp();
    let skew = skew.whole_seconds();
    let window = |problem| KeyProofError::OutsideWindow {
        problem,
        now: now_s,
        nbf: nbf.map(|n| n.as_unix()),
        exp: exp.map(|e| e.as_unix()),
    };
    let Some(exp) = exp else {
        return Err(window(WindowProblem::NoExpiry));
    };
    let max = MAX_PROOF_LIFETIME.whole_seconds();
    if exp.as_unix() + skew < now_s {
        return Err(window(WindowProblem::Expired));
    }
    let too_long = exp.as_unix() - now_s > max + skew || nbf.is_some_and(|n| exp.as_unix() - n.as_unix() > max + skew);
    if too_long {
        return Err(window(WindowProblem::TooLong(max)));
    }
    if nbf.is_some_and(|n| n.as_unix() > now_s + skew) {
        return Err(window(WindowProblem::NotYetValid));
    }
    Ok(exp)
}

impl Authority {
    /// `addKey`: checks the proof against the application's current certificates, uses it up,
    /// then adds `credential` (already checked by
    /// [`certificate_credential`](crate::credentials::certificate_credential)) beside the others.
    pub async fn add_key(
        &self,
        tenant_id: Uuid,
        object_id: Uuid,
        credential: KeyCredential,
        proof: &str,
        now: impl Into<Now>,
    ) -> Result<KeyCredential, KeyRollError> {
        let now = now.into();
        self.use_proof(tenant_id, object_id, proof, "addKey", now).await?;
        let added = credential.clone();
        self.update_application(tenant_id, object_id, move |app| {
            app.key_credentials.push(credential);
            Ok(())
        })
        .await?;
        Ok(added)
    }

    /// `removeKey`: checks the proof, uses it up, then removes the certificate credential
    /// `key_id`; it is refused from the next request on.
    pub async fn remove_key(
        &self,
        tenant_id: Uuid,
        object_id: Uuid,
        key_id: Uuid,
        proof: &str,
        now: impl Into<Now>,
    ) -> Result<(), KeyRollError> {
        let now = now.into();
        let app = self.proof_subject(tenant_id, object_id)?;
        if !app.app.key_credentials.iter().any(|k| k.key_id == key_id) {
            return Err(Error::CredentialNotFound(key_id.to_string()).into());
        }
        self.use_proof(tenant_id, object_id, proof, "removeKey", now).await?;
        self.update_application(tenant_id, object_id, |app| {
            let before = app.key_credentials.len();
            app.key_credentials.retain(|k| k.key_id != key_id);
            if app.key_credentials.len() == before {
                return Err(Error::CredentialNotFound(key_id.to_string()));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    fn proof_subject(&self, tenant_id: Uuid, object_id: Uuid) -> Result<Arc<AppEntry>, Error> {
        self.snapshot()
            .app_by_object_id(tenant_id, object_id)
            .cloned()
            .ok_or_else(|| Error::ApplicationNotFound(object_id.to_string()))
    }

    /// Verifies a proof for the application and records it as used: of two requests with the
    /// same proof, on one server or several sharing the database, only the first passes.
    async fn use_proof(
        &self,
        tenant_id: Uuid,
        object_id: Uuid,
        proof: &str,
        operation: &'static str,
        now: Now,
    ) -> Result<VerifiedProof, KeyRollError> {
        let app = self.proof_subject(tenant_id, object_id)?;
        let verified = verify_proof(&app, proof, &self.config().assertion, now)?;
        let used = Grant {
            kind: GrantKind::KeyProof,
            id: verified.replay_id.clone(),
            tenant_id,
            family: object_id,
            // No user: the application stands in its place.
            user_id: object_id,
            document: serde_json::json!({
                "client_id": app.app.app_id, "operation": operation, "signer": verified.signer,
            }),
            created: now.server,
            expires: verified.usable_until,
        };
        match self.store.insert_grant(&used).await {
            Ok(()) => {}
            Err(keyward_store::Error::Conflict(_)) => return Err(KeyProofError::Replayed.into()),
            Err(e) => return Err(Error::Store(e).into()),
        }
        tracing::info!(tenant = %tenant_id, app = %app.app.app_id, operation, signer = %verified.signer, "key proof used");
        Ok(verified)
    }
}

#[cfg(test)]
mod tests;
