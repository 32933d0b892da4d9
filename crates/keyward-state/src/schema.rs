//! The document's types. Every type derives both `Serialize` and `Deserialize`, so a document
//! read from TOML, written back (TOML or JSON) and read again is equal to itself: what
//! `keyward apply` sends to the server is this document as JSON, after
//! [`resolve`](crate::resolve()) filled in the generated material and [`Document::fill_ids`]
//! the ids.
//!
//! Keys are `snake_case`; lists of tables are singular (`[[app]]`, `[[app.secret]]`), as in
//! `Cargo.toml`'s `[[bin]]`. Unknown keys are refused (`deny_unknown_fields`), so a typo is an
//! error naming its line rather than a setting silently ignored.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::when::When;

/// A whole state document: tenants and what they hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// `[[tenant]]`: the tenants.
    #[serde(default, rename = "tenant", skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<Tenant>,
    /// `[[app]]`: app registrations (each with its service principal).
    #[serde(default, rename = "app", skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<App>,
    /// `[[user]]`: users.
    #[serde(default, rename = "user", skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
    /// `[[vault]]`: Key Vault-compatible vaults.
    #[serde(default, rename = "vault", skip_serializing_if = "Vec::is_empty")]
    pub vaults: Vec<Vault>,
}

/// `[[tenant]]`: a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Its name (`contoso`: also `contoso.onmicrosoft.com` in URLs): letters, digits and `-`.
    pub name: String,
    /// Its fixed id (the `tid` claim). Absent: an existing tenant of this name keeps its id, a
    /// new one gets [`ids::tenant_id`](crate::ids::tenant_id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
}

/// `[[app]]`: an app registration and its service principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Its display name, unique in its tenant: what grants and access policies refer to.
    pub name: String,
    /// The tenant's name; may be left out when the document declares exactly one tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The application (client) id; derived from the tenant and name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<Uuid>,
    /// The application object's id; derived when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<Uuid>,
    /// The service principal's object id (the `oid` of the app's tokens); derived when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principal_id: Option<Uuid>,
    /// Redirect URIs of the web platform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// Identifier URIs; `api://{appId}` when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier_uris: Vec<String>,
    /// `[[app.role]]`: app roles this app defines.
    #[serde(default, rename = "role", skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<AppRole>,
    /// `[[app.grant]]`: roles of other apps granted to this app (application permissions).
    #[serde(default, rename = "grant", skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<Grant>,
    /// `[[app.secret]]`: client secrets.
    #[serde(default, rename = "secret", skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<AppSecret>,
    /// `[[app.certificate]]`: certificate credentials.
    #[serde(default, rename = "certificate", skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<AppCertificate>,
}

/// `[[app.role]]`: an app role (Graph `appRole`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppRole {
    /// The value in the `roles` claim (`Tasks.Read`), unique in its app.
    pub value: String,
    /// Its id; derived from the app and value when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// Its display name; the value when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who may hold it; `["Application"]` when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_member_types: Vec<MemberType>,
}

/// Who may hold an app role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemberType {
    /// Applications (client credentials: the `roles` claim of app-only tokens).
    Application,
    /// Users.
    User,
}

impl MemberType {
    /// Graph's name (`Application`, `User`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Application => "Application",
            Self::User => "User",
        }
    }
}

/// `[[app.grant]]`: roles of a resource app granted to this app (admin-consented application
/// permissions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The resource app's name, in the same tenant (an `[[app]]` of this document, or
    /// `Microsoft Graph`).
    pub app: String,
    /// Values of the resource's app roles.
    pub roles: Vec<String>,
}

/// `[[app.secret]]`: a client secret, given or generated.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSecret {
    /// Its description (Graph `displayName`), unique in its app.
    pub name: String,
    /// The value. Exactly one of `value` and `generate`; after resolution `value` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<SecretValue>,
    /// Where a generated value is kept (0600, relative to the document's directory): read when
    /// it exists, else generated and written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<PathBuf>,
    /// When it expires: relative (`90d`) or RFC 3339; two years when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<When>,
    /// Its key id; derived when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<Uuid>,
    /// Keyward's own: the hash the server keeps instead of the value, as `keyward export
    /// --include-secrets` writes it (sealed with the export's passphrase, see [`crate::seal`]).
    /// The secret keeps working with its old value; instead of `value` and `generate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<SecretValue>,
    /// Keyward's own, with `hash`: the hint Graph shows (the value's first three characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppSecret")
            .field("name", &self.name)
            .field("value", &self.value)
            .field("generate", &self.generate)
            .field("expires", &self.expires)
            .field("key_id", &self.key_id)
            .field("hash", &self.hash)
            .field("hint", &self.hint)
            .finish()
    }
}

/// `[[app.certificate]]`: a certificate credential: a file, inline PEM, or generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppCertificate {
    /// Its description (Graph `displayName`), unique in its app.
    pub name: String,
    /// A certificate file (PEM or DER; `.cer`, `.crt`, `.pem`), relative to the document's
    /// directory. Only the certificate is read: the server never needs the private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The certificate as PEM. After resolution it is set, whatever the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
    /// `[app.certificate.generate]`: make a self-signed certificate (once: the files are
    /// reused when they exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<GenerateCertificate>,
    /// Its key id; derived when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<Uuid>,
}

/// `[app.certificate.generate]`: a self-signed certificate made by whoever reads the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateCertificate {
    /// Its subject (`CN=daemon`).
    pub subject: String,
    /// Its key type: `rsa-2048` (default), `rsa-3072`, `rsa-4096`, `ec-p256`, `ec-p384`.
    #[serde(default, skip_serializing_if = "KeyType::is_default")]
    pub key_type: KeyType,
    /// When it expires: relative (`1y`) or RFC 3339; one year when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<When>,
    /// Where the certificate (PEM) is written, relative to the document's directory.
    pub cert: PathBuf,
    /// Where the private key (PKCS#8 PEM, 0600) is written, relative to the document's
    /// directory.
    pub key: PathBuf,
}

/// A key type, named as `keyward cert new --key-type` names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyType {
    /// RSA, 2048-bit modulus (the default).
    #[default]
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// RSA, 3072-bit modulus.
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    /// RSA, 4096-bit modulus.
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    /// ECDSA on P-256.
    #[serde(rename = "ec-p256")]
    EcP256,
    /// ECDSA on P-384.
    #[serde(rename = "ec-p384")]
    EcP384,
}

impl KeyType {
    /// The name in the document (`rsa-2048`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa3072 => "rsa-3072",
            Self::Rsa4096 => "rsa-4096",
            Self::EcP256 => "ec-p256",
            Self::EcP384 => "ec-p384",
        }
    }

    /// Whether it is the default, which is not written out.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// `[[user]]`: a user who signs in with email and password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The sign-in email, unique in its tenant (compared in lowercase).
    pub email: String,
    /// The tenant's name; may be left out when the document declares exactly one tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The user's object id; derived when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// The display name; the part of the email before `@` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The password. Exactly one of `password` and `generate_password`; after resolution
    /// `password` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretValue>,
    /// Where a generated password is kept (0600, relative to the document's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_password: Option<PathBuf>,
    /// Directory roles: `global-admin`, `app-admin`, `global-reader`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Keyward's own: the password hash the server keeps, as `keyward export
    /// --include-secrets` writes it (sealed with the export's passphrase, see [`crate::seal`]):
    /// the user keeps their password. Instead of `password` and `generate_password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<SecretValue>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("email", &self.email)
            .field("tenant", &self.tenant)
            .field("id", &self.id)
            .field("display_name", &self.display_name)
            .field("password", &self.password)
            .field("generate_password", &self.generate_password)
            .field("roles", &self.roles)
            .field("password_hash", &self.password_hash)
            .finish()
    }
}

/// `[[vault]]`: a Key Vault-compatible vault (`NAME.localhost`; `default` is the bare host).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vault {
    /// Its name: the first label of its host name, lowercase.
    pub name: String,
    /// The tenant whose principals it serves; may be left out when the document declares
    /// exactly one tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// `[[vault.certificate]]`: certificates the vault makes from a policy.
    #[serde(default, rename = "certificate", skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<VaultCertificate>,
    /// `[[vault.secret]]`: secrets.
    #[serde(default, rename = "secret", skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<VaultSecret>,
    /// `[[vault.access]]`: access policies.
    #[serde(default, rename = "access", skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<VaultAccess>,
}

/// `[[vault.certificate]]`: a certificate the vault creates (self-signed) from its policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultCertificate {
    /// Its name: letters, digits and `-`.
    pub name: String,
    /// Its subject (`CN=web`).
    pub subject: String,
    /// Its key type (default `rsa-2048`).
    #[serde(default, skip_serializing_if = "KeyType::is_default")]
    pub key_type: KeyType,
    /// Validity in months (default 12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_months: Option<u32>,
    /// The content type of the secret behind it: `pkcs12` (default) or `pem`.
    #[serde(default, skip_serializing_if = "ContentType::is_default")]
    pub content_type: ContentType,
    /// DNS names (subject alternative names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    /// Whether the private key may be exported (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exportable: Option<bool>,
    /// Whether renewal keeps the key (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse_key: Option<bool>,
    /// `[[vault.certificate.lifetime_action]]`: what happens as it nears expiry; Key Vault's
    /// default (auto-renew at 80% of the lifetime) when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifetime_action: Vec<LifetimeAction>,
    /// Keyward's own: the current version's secret as Key Vault's `getSecret` returns it
    /// (base64 PKCS#12 or PEM, per `content_type`: the private key and the certificate), as
    /// `keyward export --include-secrets` writes it (sealed with the export's passphrase, see
    /// [`crate::seal`]). Given, the certificate is imported rather than made: it keeps its key
    /// and thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<SecretValue>,
}

/// The content type of a vault certificate's secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentType {
    /// `application/x-pkcs12`.
    #[default]
    Pkcs12,
    /// `application/x-pem-file`.
    Pem,
}

impl ContentType {
    /// Whether it is the default, which is not written out.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The MIME type Key Vault uses.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pkcs12 => "application/x-pkcs12",
            Self::Pem => "application/x-pem-file",
        }
    }
}

/// `[[vault.certificate.lifetime_action]]`: exactly one trigger and an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifetimeAction {
    /// What to do.
    pub action: Action,
    /// At this percentage of the lifetime (1 to 99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_percentage: Option<u32>,
    /// This many days before expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_before_expiry: Option<u32>,
}

/// A lifetime action's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// `auto-renew`: Key Vault's `AutoRenew`.
    AutoRenew,
    /// `email-contacts`: Key Vault's `EmailContacts`.
    EmailContacts,
}

impl Action {
    /// Key Vault's name (`AutoRenew`).
    pub fn key_vault_name(self) -> &'static str {
        match self {
            Self::AutoRenew => "AutoRenew",
            Self::EmailContacts => "EmailContacts",
        }
    }
}

/// `[[vault.secret]]`: a secret: given, read from a file, or generated.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSecret {
    /// Its name: letters, digits and `-`.
    pub name: String,
    /// The value. Exactly one of `value`, `file` and `generate`; after resolution `value` is
    /// set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<SecretValue>,
    /// A file holding the value (UTF-8, taken as is), relative to the document's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Where a generated value is kept (0600, relative to the document's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<PathBuf>,
    /// Its content type (free text, e.g. `text/plain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

impl fmt::Debug for VaultSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultSecret")
            .field("name", &self.name)
            .field("value", &self.value)
            .field("file", &self.file)
            .field("generate", &self.generate)
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// `[[vault.access]]`: an access policy for one principal: an app of the document (by name),
/// a user of the document (by email) or any principal by object id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultAccess {
    /// An app's name (its service principal gets the permissions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// A user's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A principal's object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<Uuid>,
    /// Certificate permissions (`get`, `list`, ..., or `all`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<String>,
    /// Secret permissions (`get`, `list`, `set`, ..., or `all`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}

/// A secret value (client secret, password, vault secret): `Debug` prints no secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(..)")
    }
}

impl Drop for SecretValue {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}
