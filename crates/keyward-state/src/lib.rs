//! The declarative state document: one TOML file describing tenants, applications, users and
//! vaults, which `keyward serve --config FILE` applies at start and `keyward apply FILE` applies
//! to a running server. This crate holds the document: its schema, parsing and validation
//! with errors that name the line, relative dates, deterministic ids, and the resolution of
//! generated material (secrets, passwords, certificates) on the machine that reads the file.
//!
//! # The schema
//!
//! Paths are relative to the document's directory. Keys are `snake_case`; unknown keys are
//! errors. Dates (`expires`) are relative to the moment of applying (`30d`, `12h`, `2w`, `1y`;
//! units `s`, `m` (minutes), `h`, `d`, `w`, `y`; `-1d` for the past) or RFC 3339 strings.
//! Ids left out are derived ([`ids`]): the same document gives the same ids on every server.
//!
//! ```toml
//! [[tenant]]
//! name = "contoso"                                 # letters, digits, '-'
//! id = "3f2b1c4d-0000-4000-8000-000000000001"      # optional: fixed tenant id
//!
//! [[app]]
//! name = "api"                                     # unique in its tenant
//! tenant = "contoso"                               # optional with one tenant
//! app_id = "11111111-1111-4111-8111-111111111111"  # optional; also object_id, service_principal_id
//! identifier_uris = ["api://contoso-api"]
//! [[app.role]]
//! value = "Tasks.Read"                             # optional: id, display_name, description,
//!                                                  # allowed_member_types = ["Application", "User"]
//!
//! [[app]]
//! name = "daemon"
//! redirect_uris = ["http://localhost:3000/redirect"]
//! [[app.grant]]
//! app = "api"                                      # an [[app]] of the same tenant, or "Microsoft Graph"
//! roles = ["Tasks.Read"]
//! [[app.secret]]
//! name = "ci"                                      # its description
//! generate = "secrets/daemon.secret"               # or value = "..."; written 0600, reused
//! expires = "30d"                                  # default 2 years
//! [[app.certificate]]
//! name = "from-openssl"
//! file = "certs/daemon.pem"                        # PEM or DER certificate; or pem = "-----BEGIN..."
//! [[app.certificate]]
//! name = "generated"
//! generate = { subject = "CN=daemon", cert = "out/daemon.pem", key = "out/daemon.key", expires = "1y", key_type = "rsa-2048" }
//!
//! [[user]]
//! email = "alice@contoso.com"
//! generate_password = "secrets/alice.password"     # or password = "..."
//! roles = ["global-admin"]                         # global-admin, app-admin, global-reader
//!
//! [[vault]]
//! name = "default"                                 # the bare host; others are NAME.localhost
//! [[vault.certificate]]
//! name = "web"
//! subject = "CN=web"                               # optional: key_type, validity_months (12),
//!                                                  # content_type ("pkcs12"|"pem"), dns_names,
//!                                                  # exportable, reuse_key
//! lifetime_action = [{ action = "auto-renew", lifetime_percentage = 80 }]
//! [[vault.secret]]
//! name = "db-password"
//! generate = "secrets/db-password"                 # or value = "...", or file = "..."
//! [[vault.access]]
//! app = "daemon"                                   # or user = "EMAIL", or object_id = "GUID"
//! certificates = ["get", "list"]
//! secrets = ["get"]
//! ```
//!
//! # Reading a document
//!
//! ```
//! let text = r#"
//! [[tenant]]
//! name = "contoso"
//!
//! [[app]]
//! name = "daemon"
//! [[app.secret]]
//! name = "ci"
//! value = "a-long-enough-secret"
//! "#;
//! let mut doc = keyward_state::parse(text, "keyward.toml")?;
//! doc.fill_ids();
//! assert_eq!(doc.apps[0].app_id, Some(keyward_state::ids::app_id("contoso", "daemon")));
//!
//! let err = keyward_state::parse("[[tenant]]\nname = \"x\"\nnmae = \"y\"\n", "keyward.toml").unwrap_err();
//! assert!(err.to_string().starts_with("keyward.toml:3:1: unknown field `nmae`"), "{err}");
//! # Ok::<(), keyward_state::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod ids;
mod locate;
mod resolve;
mod schema;
pub mod seal;
mod validate;
mod when;

pub use error::{Error, Located, Problem};
pub use locate::{line_column, locate};
pub use resolve::resolve;
pub use schema::{
    Action, App, AppCertificate, AppRole, AppSecret, ContentType, Document, GenerateCertificate, Grant, KeyType,
    LifetimeAction, MemberType, SecretValue, Tenant, User, Vault, VaultAccess, VaultCertificate, VaultSecret,
};
pub use validate::{CERTIFICATE_PERMISSIONS, DIRECTORY_ROLES, MICROSOFT_GRAPH, SECRET_PERMISSIONS, validate};
pub use when::{When, WhenError};

/// Parses and validates a document; `file` is the name errors show. A document that parses
/// but says something impossible fails with [`Error::Invalid`], every problem on its line.
pub fn parse(text: &str, file: &str) -> Result<Document, Error> {
    let doc: Document = toml::from_str(text).map_err(|e| Error::syntax(file, text, &e))?;
    let problems = validate(&doc);
    if problems.is_empty() {
        Ok(doc)
    } else {
        Err(Error::invalid(file, text, problems))
    }
}

impl Document {
    /// The document as TOML, which [`parse`] reads back equal.
    pub fn to_toml(&self) -> Result<String, Error> {
        toml::to_string(self).map_err(|e| Error::Generate {
            what: "the TOML text".to_owned(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests;
