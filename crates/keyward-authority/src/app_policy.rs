//! The tenant's default app management policy, as Entra's `tenantAppManagementPolicy`: it can
//! forbid client secrets (`passwordAddition`), and bound how long a new client secret
//! (`passwordLifetime`) or certificate (`asymmetricKeyLifetime`) may live. It is checked on
//! every write that adds a credential ([`Authority::update_application`] and
//! [`Authority::create_application`]), whatever the caller: Graph, the CLI (which calls Graph),
//! the admin center. Credentials already registered are left alone, as in Entra.
//!
//! The policy is read from the store on each such write (not from the in-memory directory):
//! writes are rare, and every server sharing a database sees a change at once.

use keyward_store::{AppManagementPolicy, Application, CredentialRestriction};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::authority::Authority;
use crate::error::Result;

/// Forbids adding client secrets.
pub const PASSWORD_ADDITION: &str = "passwordAddition";
/// Bounds the lifetime of new client secrets.
pub const PASSWORD_LIFETIME: &str = "passwordLifetime";
/// Bounds the lifetime of new certificates.
pub const ASYMMETRIC_KEY_LIFETIME: &str = "asymmetricKeyLifetime";

/// Why the policy refused a credential, or a policy was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The policy forbids client secrets.
    #[error(
        "Refused by the tenant's default app management policy: client secrets are not allowed (passwordAddition). Use a certificate: keyward cert new --subject \"CN=my-app\", then keyward app cert add APP my-app.cer"
    )]
    SecretsNotAllowed,
    /// A client secret would live longer than the policy allows.
    #[error(
        "Refused by the tenant's default app management policy: client secrets may live at most {max_days} days (passwordLifetime, maxLifetime {max}); this one would live {days} days. Give an earlier end, e.g. {}", secret_hint(*max_days)
    )]
    SecretLifetime {
        /// The policy's maximum, as written (ISO 8601).
        max: String,
        /// The maximum in whole days.
        max_days: i64,
        /// The secret's lifetime in whole days.
        days: i64,
    },
    /// A certificate is valid for longer than the policy allows.
    #[error(
        "Refused by the tenant's default app management policy: certificates may be valid at most {max_days} days (asymmetricKeyLifetime, maxLifetime {max}); this one is valid for {days} days. Make one valid for less, e.g. keyward cert new --subject \"CN=my-app\" --days {max_days}"
    )]
    CertificateLifetime {
        /// The policy's maximum, as written (ISO 8601).
        max: String,
        /// The maximum in whole days.
        max_days: i64,
        /// The certificate's lifetime in whole days.
        days: i64,
    },
    /// A policy given to be set cannot be used.
    #[error("{0}")]
    Invalid(String),
}

/// How to add a secret that fits within `max_days`.
fn secret_hint(max_days: i64) -> String {
    if max_days >= 30 {
        format!("keyward app secret add APP --months {}", max_days / 30)
    } else {
        "an endDateTime sooner than that in addPassword".to_owned()
    }
}

/// A policy that restricts nothing (what a tenant has until one is set).
pub fn unrestricted(tenant_id: Uuid) -> AppManagementPolicy {
    AppManagementPolicy {
        tenant_id,
        is_enabled: false,
        password_credentials: Vec::new(),
        key_credentials: Vec::new(),
        modified: OffsetDateTime::UNIX_EPOCH,
    }
}

/// Reads an ISO 8601 duration (`P90D`, `P1Y`, `P2W`, `PT12H`, `P4DT12H30M5S`); a year counts
/// 365 days, a month 30. `None` for anything else, zero or negative.
pub fn parse_iso_duration(text: &str) -> Option<Duration> {
    let rest = text.trim().strip_prefix(['P', 'p'])?;
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let mut total = Duration::ZERO;
    let mut any = false;
    for (part, units) in [(date, "YMWD"), (time.unwrap_or_default(), "HMS")] {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let unit = c.to_ascii_uppercase();
            if number.is_empty() || !units.contains(unit) {
                return None;
            }
            let n: i64 = number.parse().ok()?;
            number.clear();
            let seconds = match (units, unit) {
                ("YMWD", 'Y') => 365 * 86_400,
                ("YMWD", 'M') => 30 * 86_400,
                ("YMWD", 'W') => 7 * 86_400,
                ("YMWD", 'D') => 86_400,
                (_, 'H') => 3600,
                (_, 'M') => 60,
                _ => 1,
            };
            total += Duration::seconds(n.checked_mul(seconds)?);
            any = true;
        }
        if !number.is_empty() {
            return None;
        }
    }
    if time.is_some_and(str::is_empty) || !any || total <= Duration::ZERO {
        return None;
    }
    Some(total)
}

/// Checks a policy before it is stored: known restriction types, each at most once, and a
/// readable `maxLifetime` on the lifetime restrictions.
pub fn check(policy: &AppManagementPolicy) -> Result<(), PolicyError> {
    for (list, field, allowed) in [
        (
            &policy.password_credentials,
            "passwordCredentials",
            &[PASSWORD_ADDITION, PASSWORD_LIFETIME][..],
        ),
        (
            &policy.key_credentials,
            "keyCredentials",
            &[ASYMMETRIC_KEY_LIFETIME][..],
        ),
    ] {
        for (i, restriction) in list.iter().enumerate() {
            let kind = restriction.restriction_type.as_str();
            if !allowed.contains(&kind) {
                return Err(PolicyError::Invalid(format!(
                    "restrictionType {kind:?} is not supported in applicationRestrictions.{field}; Keyward supports {}",
                    allowed.join(", ")
                )));
            }
            if list[..i].iter().any(|r| r.restriction_type == kind) {
                return Err(PolicyError::Invalid(format!(
                    "restrictionType {kind} is given twice in applicationRestrictions.{field}; each may be used once"
                )));
            }
            if kind != PASSWORD_ADDITION {
                let max = restriction.max_lifetime.as_deref().unwrap_or_default();
                if parse_iso_duration(max).is_none() {
                    return Err(PolicyError::Invalid(format!(
                        "{kind} needs a maxLifetime, an ISO 8601 duration such as P90D, not {max:?}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The restriction of `kind` in `list` that applies to `app`, if any.
fn applying<'a>(list: &'a [CredentialRestriction], kind: &str, app: &Application) -> Option<&'a CredentialRestriction> {
    list.iter().find(|r| {
        r.restriction_type == kind && r.enabled && r.restrict_for_apps_created_after.is_none_or(|t| app.created > t)
    })
}

/// Checks the credentials `app` has that `before` did not (all of them for a new application)
/// against `policy`.
pub fn check_new_credentials(
    policy: &AppManagementPolicy,
    app: &Application,
    before: Option<&Application>,
) -> Result<(), PolicyError> {
    if !policy.is_enabled {
        return Ok(());
    }
    let is_new_secret = |key_id| before.is_none_or(|b| b.password_credentials.iter().all(|p| p.key_id != key_id));
    let is_new_key = |key_id| before.is_none_or(|b| b.key_credentials.iter().all(|k| k.key_id != key_id));
    for secret in app.password_credentials.iter().filter(|p| is_new_secret(p.key_id)) {
        if applying(&policy.password_credentials, PASSWORD_ADDITION, app).is_some() {
            return Err(PolicyError::SecretsNotAllowed);
        }
        if let Some((max, limit)) = lifetime(&policy.password_credentials, PASSWORD_LIFETIME, app)
            && secret.end - secret.start > limit
        {
            return Err(PolicyError::SecretLifetime {
                max,
                max_days: limit.whole_days(),
                days: (secret.end - secret.start).whole_days(),
            });
        }
    }
    for key in app.key_credentials.iter().filter(|k| is_new_key(k.key_id)) {
        if let Some((max, limit)) = lifetime(&policy.key_credentials, ASYMMETRIC_KEY_LIFETIME, app)
            && key.end - key.start > limit
        {
            return Err(PolicyError::CertificateLifetime {
                max,
                max_days: limit.whole_days(),
                days: (key.end - key.start).whole_days(),
            });
        }
    }
    Ok(())
}

/// The maximum lifetime of a lifetime restriction that applies, as written and as a duration.
fn lifetime(list: &[CredentialRestriction], kind: &str, app: &Application) -> Option<(String, Duration)> {
    let restriction = applying(list, kind, app)?;
    let max = restriction.max_lifetime.clone()?;
    let limit = parse_iso_duration(&max)?;
    Some((max, limit))
}

/// One sentence for people saying what the policy restricts, or `None` when it restricts
/// nothing (not enforced, or no restriction enabled).
pub fn summary(policy: &AppManagementPolicy) -> Option<String> {
    if !policy.is_enabled {
        return None;
    }
    let enabled = |list: &[CredentialRestriction], kind: &str| {
        list.iter()
            .find(|r| r.restriction_type == kind && r.enabled)
            .map(|r| r.max_lifetime.clone().unwrap_or_default())
    };
    let days =
        |iso: &str| parse_iso_duration(iso).map_or_else(|| iso.to_owned(), |d| format!("{} days", d.whole_days()));
    let mut parts = Vec::new();
    if enabled(&policy.password_credentials, PASSWORD_ADDITION).is_some() {
        parts.push("client secrets are not allowed (passwordAddition)".to_owned());
    }
    if let Some(max) = enabled(&policy.password_credentials, PASSWORD_LIFETIME) {
        parts.push(format!(
            "client secrets live at most {} (passwordLifetime {max})",
            days(&max)
        ));
    }
    if let Some(max) = enabled(&policy.key_credentials, ASYMMETRIC_KEY_LIFETIME) {
        parts.push(format!(
            "certificates are valid at most {} (asymmetricKeyLifetime {max})",
            days(&max)
        ));
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "The tenant's default app management policy: {}.",
        parts.join("; ")
    ))
}

impl Authority {
    /// The tenant's default app management policy ([`unrestricted`] until one is set).
    pub async fn app_management_policy(&self, tenant_id: Uuid) -> Result<AppManagementPolicy> {
        Ok(self
            .store
            .app_management_policy(tenant_id)
            .await?
            .unwrap_or_else(|| unrestricted(tenant_id)))
    }

    /// Checks and stores the tenant's default app management policy. Credentials added from
    /// then on are held to it.
    pub async fn set_app_management_policy(&self, mut policy: AppManagementPolicy) -> Result<AppManagementPolicy> {
        check(&policy)?;
        policy.modified = self.now();
        self.store.put_app_management_policy(&policy).await?;
        Ok(policy)
    }

    /// Refuses a write of `app` that adds a credential the tenant's policy does not allow.
    pub(crate) async fn check_credential_policy(&self, app: &Application, before: Option<&Application>) -> Result<()> {
        let adds_secret = app
            .password_credentials
            .iter()
            .any(|p| before.is_none_or(|b| b.password_credentials.iter().all(|q| q.key_id != p.key_id)));
        let adds_key = app
            .key_credentials
            .iter()
            .any(|k| before.is_none_or(|b| b.key_credentials.iter().all(|q| q.key_id != k.key_id)));
        if !adds_secret && !adds_key {
            return Ok(());
        }
        let policy = self.app_management_policy(app.tenant_id).await?;
        check_new_credentials(&policy, app, before)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        assert_eq!(parse_iso_duration("P90D"), Some(Duration::days(90)));
        assert_eq!(parse_iso_duration("P1Y"), Some(Duration::days(365)));
        assert_eq!(parse_iso_duration("P2W"), Some(Duration::days(14)));
        assert_eq!(
            parse_iso_duration("P4DT12H30M5S"),
            Some(Duration::days(4) + Duration::hours(12) + Duration::minutes(30) + Duration::seconds(5))
        );
        assert_eq!(parse_iso_duration("PT1M"), Some(Duration::minutes(1)));
        for bad in ["", "P", "PT", "90D", "P90", "PD", "P0D", "P1H", "P1DT", "P-1D"] {
            assert_eq!(parse_iso_duration(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn new_credentials_are_held_to_the_policy_and_old_ones_left_alone() {
        use keyward_store::PasswordCredential;

        let test = crate::testing::authority(crate::Config::new("https://localhost:8443")).await;
        let tenant_id = test.tenant.tenant.id;
        let new = crate::NewApplication {
            display_name: "held".into(),
            identifier_uris: vec![],
            redirect_uris: vec![],
            app_roles: vec![],
            key_credentials: vec![],
        };
        let object_id = test.authority.create_application(tenant_id, new).await.unwrap().app.id;
        let now = OffsetDateTime::now_utc();
        let secret = |days| PasswordCredential {
            key_id: Uuid::new_v4(),
            display_name: String::new(),
            hint: "abc".into(),
            secret_hash: "x".into(),
            start: now,
            end: now + Duration::days(days),
        };
        let add = |credential: PasswordCredential| {
            let authority = std::sync::Arc::clone(&test.authority);
            async move {
                authority
                    .update_application(tenant_id, object_id, move |a| {
                        a.password_credentials.push(credential);
                        Ok(())
                    })
                    .await
                    .map(|_| ())
            }
        };
        add(secret(200)).await.unwrap();
        let mut policy = test.authority.app_management_policy(tenant_id).await.unwrap();
        assert!(!policy.is_enabled);
        policy.is_enabled = true;
        policy.password_credentials = vec![CredentialRestriction {
            restriction_type: PASSWORD_LIFETIME.into(),
            enabled: true,
            max_lifetime: Some("P90D".into()),
            restrict_for_apps_created_after: None,
        }];
        test.authority.set_app_management_policy(policy.clone()).await.unwrap();
        let refused = add(secret(91)).await.unwrap_err();
        assert!(
            matches!(
                refused,
                crate::Error::Policy(PolicyError::SecretLifetime {
                    max_days: 90,
                    days: 91,
                    ..
                })
            ),
            "{refused}"
        );
        // The 200-day secret from before stays; a change that keeps it is not refused.
        add(secret(90)).await.unwrap();

        policy.password_credentials.push(CredentialRestriction {
            restriction_type: PASSWORD_ADDITION.into(),
            enabled: true,
            max_lifetime: None,
            restrict_for_apps_created_after: None,
        });
        test.authority.set_app_management_policy(policy.clone()).await.unwrap();
        assert!(matches!(
            add(secret(30)).await.unwrap_err(),
            crate::Error::Policy(PolicyError::SecretsNotAllowed)
        ));
        assert!(summary(&policy).unwrap().contains("client secrets are not allowed"));

        // Only for applications created after a date: this one is older.
        policy.password_credentials[1].restrict_for_apps_created_after = Some(now + Duration::days(1));
        policy.password_credentials.remove(0);
        test.authority.set_app_management_policy(policy.clone()).await.unwrap();
        add(secret(30)).await.unwrap();

        policy.is_enabled = false;
        test.authority.set_app_management_policy(policy.clone()).await.unwrap();
        assert_eq!(summary(&policy), None);
    }

    #[test]
    fn unknown_or_repeated_restrictions_and_bad_lifetimes_are_refused() {
        let restriction = |kind: &str, max: Option<&str>| CredentialRestriction {
            restriction_type: kind.into(),
            enabled: true,
            max_lifetime: max.map(Into::into),
            restrict_for_apps_created_after: None,
        };
        let mut policy = unrestricted(Uuid::nil());
        policy.password_credentials = vec![restriction("symmetricKeyAddition", None)];
        assert!(check(&policy).unwrap_err().to_string().contains("not supported"));
        policy.password_credentials = vec![
            restriction(PASSWORD_ADDITION, None),
            restriction(PASSWORD_ADDITION, None),
        ];
        assert!(check(&policy).unwrap_err().to_string().contains("twice"));
        policy.password_credentials = vec![restriction(PASSWORD_LIFETIME, Some("90 days"))];
        assert!(check(&policy).unwrap_err().to_string().contains("P90D"));
        policy.password_credentials = vec![restriction(PASSWORD_LIFETIME, Some("P90D"))];
        policy.key_credentials = vec![restriction(ASYMMETRIC_KEY_LIFETIME, Some("P365D"))];
        check(&policy).unwrap();
    }
}
