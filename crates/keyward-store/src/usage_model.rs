//! The rows of credential usage: when a certificate or client secret last authenticated a client
//! ([`CredentialUse`]), and one record per token request of a confidential client
//! ([`ServicePrincipalSignIn`]).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The last time a credential (a certificate or a client secret of an application) authenticated
/// a client, and from which address. Stored per `(tenant_id, application_id, key_id)`; a later
/// use replaces an earlier one, never the reverse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialUse {
    /// The application's tenant.
    pub tenant_id: Uuid,
    /// The application's object id (not its appId).
    pub application_id: Uuid,
    /// The credential's `keyId`.
    pub key_id: Uuid,
    /// When it authenticated a client; read back exact to the nanosecond, in UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The client's address (after trusted proxies), when known, e.g. `127.0.0.1`.
    pub client_address: Option<String>,
}

/// One token request by a confidential client that presented a credential (a client assertion
/// or a secret): who, with which credential, from where, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipalSignIn {
    /// Its id (`Uuid::new_v4` by the caller); unique.
    pub id: Uuid,
    /// The tenant asked.
    pub tenant_id: Uuid,
    /// When; read back exact to the nanosecond, in UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The client id (appId) the request named.
    pub app_id: Uuid,
    /// The credential's `keyId`, when one was identified.
    pub key_id: Option<Uuid>,
    /// The certificate's SHA-1 thumbprint (uppercase hex), when the request named one.
    pub thumbprint: Option<String>,
    /// Whether the client was authenticated and got its token.
    pub succeeded: bool,
    /// The AADSTS code of a refusal (e.g. 700027).
    pub error_code: Option<u32>,
    /// The correlation id the response carried (the client's `client-request-id`, or one the
    /// server made).
    pub correlation_id: Option<Uuid>,
    /// The client's address (after trusted proxies), when known.
    pub client_address: Option<String>,
    /// How many token requests the record stands for: 1 for a refusal; successes of one
    /// credential from one address noted within one write interval are one record (the first
    /// one's time and correlation id) with their count, so that a busy client costs one row a
    /// second, not one a token.
    pub requests: u32,
}

/// Which sign-in records [`crate::UsageStore::sign_ins`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInQuery {
    /// Only those at or after this time.
    pub since: OffsetDateTime,
    /// Only refusals.
    pub failures_only: bool,
    /// At most this many, newest first.
    pub limit: u32,
}
