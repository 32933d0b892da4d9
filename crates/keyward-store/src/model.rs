//! The rows the authority keeps. Applications are stored as documents (their credentials and
//! app roles inside, as in Microsoft Graph), with the columns needed to find them beside.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A directory: `contoso`, with the GUID that names it in issuers and the aliases it answers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// The tenant id (`tid`), a GUID.
    pub id: Uuid,
    /// The short name, e.g. `contoso`; unique, lowercase.
    pub name: String,
    /// The initial domain, e.g. `contoso.onmicrosoft.com`; unique, lowercase.
    pub domain: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// An app registration and its service principal, as one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The application object id (Graph `id`).
    pub id: Uuid,
    /// The tenant it is registered in.
    pub tenant_id: Uuid,
    /// The client id (Graph `appId`); unique within its tenant.
    pub app_id: Uuid,
    /// The id of its service principal in its tenant: the `oid` and `sub` of its app tokens.
    pub service_principal_id: Uuid,
    /// Graph `displayName`.
    pub display_name: String,
    /// Graph `identifierUris`, e.g. `api://{appId}`; unique within a tenant.
    #[serde(default)]
    pub identifier_uris: Vec<String>,
    /// Graph `web.redirectUris`.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Graph `web.logoutUrl`: where the authority sends a front-channel logout request.
    #[serde(default)]
    pub logout_url: Option<String>,
    /// Certificate credentials.
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
    /// Client secrets (hashed).
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
    /// Roles this application defines as a resource.
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Bumped by every update; an update naming an older version is refused.
    pub version: i64,
}

/// What changed among the applications after a directory revision: what a server sharing the
/// database reads instead of every application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationChanges {
    /// Applications written (made or changed) since, as they are now.
    pub changed: Vec<Application>,
    /// Object ids of applications removed since. An id may be listed here and, made again, in
    /// `changed` as well.
    pub removed: Vec<Uuid>,
}

/// A certificate credential (Graph `keyCredential` of type `AsymmetricX509Cert`, usage `Verify`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    /// Graph `keyId`.
    pub key_id: Uuid,
    /// Graph `displayName`.
    pub display_name: String,
    /// The certificate, DER. Thumbprints are computed from it, never stored beside it.
    #[serde(with = "base64_bytes")]
    pub certificate_der: Vec<u8>,
    /// Graph `startDateTime`: when the credential becomes usable.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Graph `endDateTime`: when it stops being usable.
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

impl std::fmt::Debug for KeyCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCredential")
            .field("key_id", &self.key_id)
            .field("display_name", &self.display_name)
            .finish()
    }
}

/// A client secret. Only a hash is kept; the secret is shown once, when it is made.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    /// Graph `keyId`.
    pub key_id: Uuid,
    /// Graph `displayName`.
    pub display_name: String,
    /// Graph `hint`: the first three characters of the secret.
    pub hint: String,
    /// The hash of the secret (format chosen by the authority, e.g. `sha256:<hex>`).
    pub secret_hash: String,
    /// Graph `startDateTime`.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Graph `endDateTime`.
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

impl std::fmt::Debug for PasswordCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordCredential")
            .field("key_id", &self.key_id)
            .field("hint", &self.hint)
            .finish()
    }
}

/// A role an application defines (Graph `appRole`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    /// Graph `id`.
    pub id: Uuid,
    /// Graph `value`: what appears in the `roles` claim, e.g. `Application.ReadWrite.All`.
    pub value: String,
    /// Graph `displayName`.
    pub display_name: String,
    /// Graph `description`.
    #[serde(default)]
    pub description: String,
    /// Graph `allowedMemberTypes`: `Application` and/or `User`.
    pub allowed_member_types: Vec<String>,
    /// Graph `isEnabled`.
    pub is_enabled: bool,
}

/// A grant of a resource application's role to a client's service principal
/// (Graph `appRoleAssignment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    /// Graph `id`.
    pub id: Uuid,
    /// The tenant both live in.
    pub tenant_id: Uuid,
    /// The client's service principal id (Graph `principalId`).
    pub principal_id: Uuid,
    /// The resource's service principal id (Graph `resourceId`).
    pub resource_id: Uuid,
    /// The role granted (Graph `appRoleId`).
    pub app_role_id: Uuid,
    /// When it was granted.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// A token-signing key of a tenant.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// The key id (`kid`), also the certificate's `x5t`, as Entra does.
    pub kid: String,
    /// The tenant it signs for.
    pub tenant_id: Uuid,
    /// The PKCS#8 private key, encrypted by the authority before it reaches the store.
    #[serde(with = "base64_bytes")]
    pub encrypted_private_key: Vec<u8>,
    /// A self-signed certificate for the key, published as `x5c`.
    #[serde(with = "base64_bytes")]
    pub certificate_der: Vec<u8>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Whether new tokens are signed with it. Exactly one key per tenant is active.
    pub active: bool,
    /// For a retired key: when it may leave the JWKS (the last token it signed has expired).
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub publish_until: Option<OffsetDateTime>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("active", &self.active)
            .finish()
    }
}

mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}
