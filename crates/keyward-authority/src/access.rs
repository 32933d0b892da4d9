//! Validation of the access tokens this authority issued, for the resources it hosts itself:
//! the management API (Microsoft Graph's audience) and the vault.

use keyward_jose::{Algorithm, Jws, NumericDate};
use serde::Deserialize;
use uuid::Uuid;

use crate::authority::Authority;

/// A resource an access token must be meant for: its appId or its identifier URI as `aud`.
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a> {
    /// The resource's appId.
    pub app_id: Uuid,
    /// The resource's identifier URI (a trailing `/` in `aud` is tolerated).
    pub identifier: &'a str,
}

/// What a valid access token says about its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCaller {
    /// The tenant that issued it (`tid`).
    pub tenant_id: Uuid,
    /// The caller's object id (`oid`): a service principal, or a user.
    pub object_id: Uuid,
    /// The client that asked for it (`azp`).
    pub app_id: Option<Uuid>,
    /// The app roles granted to the caller on the resource.
    pub roles: Vec<String>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    tid: Uuid,
    oid: Uuid,
    azp: Option<Uuid>,
    exp: NumericDate,
    nbf: Option<NumericDate>,
    #[serde(default)]
    roles: Vec<String>,
}

impl Authority {
    /// Checks a bearer token for `audience`: its signature by a published key of the tenant
    /// it names, its issuer, its audience and its lifetime (with the assertion clock skew).
    /// `None` for anything else; the caller answers 401 without saying which check failed.
    pub fn validate_access_token(&self, token: &str, audience: Audience<'_>) -> Option<TokenCaller> {
        let jws = Jws::parse(token.trim()).ok()?;
        let claims: Claims = serde_json::from_slice(jws.payload()).ok()?;
        let snapshot = self.snapshot();
        let tenant = snapshot.tenant_by_id(claims.tid)?;
        let kid = jws.header().kid.as_deref()?;
        jws.verify(tenant.keys.verifier(kid)?, &[Algorithm::Rs256]).ok()?;
        let now = self.now().unix_timestamp();
        let skew = self.config().assertion.clock_skew.whole_seconds();
        let audience_ok = claims.aud == audience.app_id.hyphenated().to_string()
            || claims.aud.trim_end_matches('/') == audience.identifier.trim_end_matches('/');
        let lifetime_ok = claims.exp.as_unix() + skew >= now && claims.nbf.is_none_or(|n| n.as_unix() <= now + skew);
        let issuer_ok = claims.iss == tenant.issuer
            || (self.config().azure_hosts
                && crate::azure_hosts::is_sign_in_issuer(
                    &claims.iss,
                    &tenant.tenant.name,
                    &tenant.tenant.id.to_string(),
                ));
        (issuer_ok && audience_ok && lifetime_ok).then_some(TokenCaller {
            tenant_id: claims.tid,
            object_id: claims.oid,
            app_id: claims.azp,
            roles: claims.roles,
        })
    }
}
