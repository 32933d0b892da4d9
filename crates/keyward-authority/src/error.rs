//! The domain error of the authority, for everything but the token service and the
//! authorization request, whose refusals have their own families (`ClientAuthError` and
//! `AssertionError` in [`crate::client_auth`], `TokenError` in [`crate::token`], `GrantError`,
//! `ScopeError` in [`crate::scopes`], `RequestError` in [`crate::authorize`]), each with the one
//! `From` that makes it Entra's [`crate::OAuthError`] on the wire.
//!
//! One crate [`Error`], with sub-enums for the families of refused input: an application
//! document ([`ApplicationError`]), an uploaded credential ([`CredentialError`]), an account
//! ([`AccountError`]) and a directory role ([`DirectoryRoleError`]). Their messages are written
//! for the person who sent the input.

use time::OffsetDateTime;
use uuid::Uuid;

/// What can go wrong in the authority's own operations.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Storage failed or refused a write.
    #[error(transparent)]
    Store(#[from] keyward_store::Error),
    /// A sealed private key could not be opened: the master key does not match the database.
    #[error("a stored private key cannot be decrypted ({0}); is this the data directory's own master key?")]
    Seal(#[from] keyward_pki::sealing::SealError),
    /// A key or certificate was refused.
    #[error(transparent)]
    Pki(#[from] keyward_pki::Error),
    /// Signing or verifying failed.
    #[error(transparent)]
    Jose(#[from] keyward_jose::Error),
    /// No tenant has this id or alias.
    #[error("tenant {0:?} not found")]
    TenantNotFound(String),
    /// No application has this id or appId in the tenant.
    #[error("application {0:?} not found")]
    ApplicationNotFound(String),
    /// No credential has this key id or thumbprint on the application.
    #[error("credential {0:?} not found on the application")]
    CredentialNotFound(String),
    /// No user has this id or email in the tenant.
    #[error("user {0:?} not found")]
    UserNotFound(String),
    /// Another user of the tenant has this email.
    #[error("a user with the email {0} already exists")]
    UserExists(String),
    /// No role assignment has this id in the tenant.
    #[error("no role assignment {0}")]
    RoleAssignmentNotFound(Uuid),
    /// No directory role assignment has this id in the tenant.
    #[error("no directory role assignment {0:?}")]
    DirectoryRoleAssignmentNotFound(String),
    /// A tenant name may hold letters, digits and `-` only.
    #[error("tenant name {0:?}: use letters, digits and '-'")]
    InvalidTenantName(String),
    /// A tenant of this name exists with another id than the one asked for.
    #[error("tenant {name:?} exists with id {existing}, not {wanted}: give its id, or another name")]
    TenantIdMismatch {
        /// The tenant's name.
        name: String,
        /// Its id.
        existing: Uuid,
        /// The id asked for.
        wanted: Uuid,
    },
    /// Another tenant has the id asked for.
    #[error("tenant id {id} belongs to tenant {holder:?}: give another id")]
    TenantIdTaken {
        /// The id.
        id: Uuid,
        /// The tenant that has it.
        holder: String,
    },
    /// An id asked for is another object's.
    #[error("{what} {id} is already {holder:?}'s: give another id, or leave it out to derive one")]
    IdTaken {
        /// Which id (`appId`, `object id`, ...).
        what: &'static str,
        /// The id.
        id: Uuid,
        /// Whose it is.
        holder: String,
    },
    /// The tenant has no active signing key (its rows are damaged).
    #[error("tenant {0} has no active signing key")]
    NoActiveSigningKey(String),
    /// An application document was refused.
    #[error(transparent)]
    Application(#[from] ApplicationError),
    /// An uploaded certificate or a requested secret was refused.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// An account's email, display name or password was refused.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// A directory role, or the assignment of one, was refused.
    #[error(transparent)]
    DirectoryRole(#[from] DirectoryRoleError),
    /// The tenant's default app management policy refused a credential, or a policy was
    /// refused.
    #[error(transparent)]
    Policy(#[from] crate::app_policy::PolicyError),
    /// The system's random number generator failed.
    #[error("no randomness available")]
    NoRandomness,
    /// A document of ours could not be serialized.
    #[error("{what} cannot be encoded: {reason}")]
    Encoding {
        /// What was being encoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// Hashing a password failed.
    #[error("password hashing failed: {0}")]
    PasswordHashing(String),
    /// The password hasher's worker pool has stopped.
    #[error("the password hasher is shutting down")]
    PasswordHasherStopped,
    /// Reading the stored applications into the directory stopped halfway (the runtime is
    /// shutting down).
    #[error("loading the applications stopped: {0}")]
    LoadStopped(String),
}

/// Why an application document (a new one or a change) was refused. Nothing is written.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationError {
    /// A new application needs a display name of at most 256 characters.
    #[error("displayName is required and at most 256 characters")]
    DisplayNameRequired,
    /// A change cannot blank the display name.
    #[error("displayName cannot be empty")]
    DisplayNameEmpty,
    /// An identifier URI is blank or longer than 256 bytes.
    #[error("identifier URI {0:?} is empty or too long")]
    InvalidIdentifierUri(String),
    /// Another application of the tenant has this identifier URI.
    #[error("identifier URI {uri} is already used by {owner}")]
    IdentifierUriTaken {
        /// The URI.
        uri: String,
        /// The display name of the application that has it.
        owner: String,
    },
    /// A redirect URI is not https (or plain http to a loopback host), has a fragment or is
    /// too long.
    #[error("redirect URI {uri:?} {problem}")]
    InvalidRedirectUri {
        /// The URI.
        uri: String,
        /// What is wrong with it.
        problem: crate::redirect_uri::Problem,
    },
    /// The front-channel logout URL is not https (or plain http to a loopback host), has a
    /// fragment or is too long.
    #[error("logout URL {url:?} {problem}")]
    InvalidLogoutUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        problem: crate::redirect_uri::Problem,
    },
    /// The same certificate is listed twice.
    #[error("the certificate {0} is already registered on this application")]
    DuplicateCertificate(String),
    /// An app role value is empty, has spaces, or is repeated.
    #[error("app role value {0:?} is empty, has spaces, or is repeated")]
    InvalidAppRoleValue(String),
    /// The built-in resources (Microsoft Graph) stay.
    #[error("{0} cannot be deleted")]
    BuiltIn(String),
    /// The resource defines no app role with this id.
    #[error("{resource} defines no app role with id {role_id}")]
    UnknownAppRole {
        /// The resource's display name.
        resource: String,
        /// The role id asked for.
        role_id: Uuid,
    },
    /// The app role is for users only.
    #[error("the app role {0} cannot be granted to applications")]
    RoleNotForApplications(String),
}

/// Why an uploaded certificate or a requested secret was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The upload holds a private key (a PFX, a key file): only the certificate is uploaded.
    #[error(
        "the upload contains a private key (a .pfx or key file); upload only the public certificate \
         (.cer, .pem or .crt): the private key stays with the application"
    )]
    PrivateKeyIncluded,
    /// The upload cannot be read as a certificate.
    #[error("the uploaded key is not a certificate: {0}")]
    NotACertificate(String),
    /// The upload is readable but holds no certificate.
    #[error("the upload holds no certificate")]
    NoCertificate,
    /// The certificate's RSA key is too short.
    #[error("the certificate's RSA key has {bits} bits; at least {min} are required")]
    WeakRsaKey {
        /// Its size.
        bits: usize,
        /// The smallest accepted.
        min: usize,
    },
    /// The certificate's key is not RSA (nor EC where allowed).
    #[error("the certificate has a {0} key; Entra ID accepts RSA certificates only")]
    UnsupportedKey(String),
    /// The certificate has expired.
    #[error("the certificate expired on {0}; upload a current one")]
    Expired(OffsetDateTime),
    /// The requested start and end are not within the certificate's validity.
    #[error("startDateTime and endDateTime must lie within the certificate's validity, {not_before} to {not_after}")]
    OutsideValidity {
        /// The certificate's start.
        not_before: OffsetDateTime,
        /// The certificate's end.
        not_after: OffsetDateTime,
    },
    /// A secret's end is in the past or more than 24 months away.
    #[error("a secret's endDateTime must be in the future and at most 24 months away")]
    SecretLifetime,
}

/// Why a directory role, or the assignment of one, was refused. Nothing is written.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryRoleError {
    /// No directory role has this name or template id.
    #[error("{0:?} is not a directory role; use global-admin, app-admin or global-reader")]
    Unknown(String),
    /// The user holds the role already.
    #[error("{user} already holds the {role} role")]
    AlreadyAssigned {
        /// The user's email.
        user: String,
        /// The role's name (`Global Administrator`).
        role: &'static str,
    },
    /// Directory roles are assigned for the whole tenant only.
    #[error("directoryScopeId {0:?} is not supported: directory roles are assigned for the whole tenant, \"/\"")]
    UnsupportedScope(String),
}

/// Why an account's email, display name or password was refused. The messages are shown to the
/// person signing up.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// No email was given.
    #[error("The email address is required.")]
    EmailRequired,
    /// The email is longer than the limit.
    #[error("The email address is too long: at most {0} characters.")]
    EmailTooLong(usize),
    /// The email is not `local@domain.tld`.
    #[error("{0:?} is not an email address like name@example.com.")]
    InvalidEmail(String),
    /// The email holds a character outside printable ASCII: an invisible one, a full-width or
    /// other look-alike form, a letter of another script.
    #[error("The email address contains {what} at character {position}: {fix}")]
    EmailCharacter {
        /// The character, described (`the invisible character U+200B`).
        what: String,
        /// Its position, from 1.
        position: usize,
        /// What to do.
        fix: String,
    },
    /// No display name was given.
    #[error("The display name is required.")]
    DisplayNameRequired,
    /// The display name is longer than the limit.
    #[error("The display name is too long: at most {0} characters.")]
    DisplayNameTooLong(usize),
    /// The display name holds control characters.
    #[error("The display name cannot contain control characters.")]
    DisplayNameControlCharacter,
    /// The password is shorter than the policy's minimum.
    #[error("The password is too short: use at least {0} characters.")]
    PasswordTooShort(usize),
    /// The password is longer than the policy's maximum.
    #[error("The password is too long: use at most {0} characters.")]
    PasswordTooLong(usize),
    /// The password holds a control character.
    #[error("The password contains a control character (a line break or tab, say); type it again.")]
    PasswordControlCharacter,
    /// The password is the account's email.
    #[error("The password cannot be your email address.")]
    PasswordIsEmail,
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
