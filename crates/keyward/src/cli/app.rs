//! The flags of `keyward app`: app registrations, their credentials, roles and grants.

use std::path::PathBuf;

use clap::Subcommand;

use super::ServerArgs;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application.
    Create {
        /// Its display name.
        #[arg(long)]
        name: String,
        /// A redirect URI of the web platform (repeatable).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// An identifier URI [default: api://APPID].
        #[arg(long = "identifier-uri", value_name = "URI")]
        identifier_uris: Vec<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the applications.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show one application (by appId, object id or display name).
    Show {
        /// The application.
        app: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete an application and its grants.
    Delete {
        /// The application.
        app: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Certificate credentials.
    #[command(subcommand)]
    Cert(AppCertCommand),
    /// Client secrets.
    #[command(subcommand)]
    Secret(AppSecretCommand),
    /// App roles an application defines as a resource.
    #[command(subcommand)]
    Role(AppRoleCommand),
    /// Grant a resource's app role to a client application (what admin consent does).
    Grant {
        /// The client application.
        client: String,
        /// The resource application.
        resource: String,
        /// The role's value, e.g. Tasks.Read.All.
        role: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppCertCommand {
    /// Upload a certificate (.cer, .crt or .pem: the public part only) as a credential.
    Add {
        /// The application.
        app: String,
        /// The certificate file.
        file: PathBuf,
        /// A description (Graph displayName) [default: the subject].
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List an application's certificates: thumbprint, start date and expiry, as the portal.
    List {
        /// The application.
        app: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a certificate by thumbprint (any form) or key id.
    Remove {
        /// The application.
        app: String,
        /// The certificate's thumbprint or key id.
        certificate: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppSecretCommand {
    /// Add a client secret; it is shown once.
    Add {
        /// The application.
        app: String,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        /// Months until it expires (at most 24).
        #[arg(long, default_value_t = 6)]
        months: u32,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List an application's secrets (hint, start and expiry; never the value).
    List {
        /// The application.
        app: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a secret by key id.
    Remove {
        /// The application.
        app: String,
        /// The secret's key id.
        key_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppRoleCommand {
    /// Define an app role on a resource application.
    Add {
        /// The resource application.
        app: String,
        /// The role's value, as it will appear in the roles claim.
        #[arg(long)]
        value: String,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
}
