//! The flags of `keyward app`: app registrations, their credentials, roles and grants.

use std::path::PathBuf;

use clap::Subcommand;

use super::{PasswordArgs, ServerArgs};

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
    /// Upload a certificate as a credential: only the certificate is ever uploaded, never a
    /// private key.
    ///
    /// Give the .cer (or .crt, .pem) that `keyward cert new` wrote. From a PFX, or a PEM holding
    /// the key too, the certificate is taken out and only it is sent; a PFX's password comes from
    /// --password-file or KEYWARD_PASSWORD.
    #[command(
        after_help = "Examples:\n  keyward app cert add ciam-client-app ciam-client-app.cer\n  \
        keyward app cert add ciam-client-app ciam-client-app.pfx --password-file pw.txt"
    )]
    Add {
        /// The application.
        app: String,
        /// The certificate file: .cer, .crt, .pem, or a PFX to take the certificate out of.
        file: PathBuf,
        /// A description (Graph displayName) [default: the subject].
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List an application's certificates: thumbprint, start date, expiry and days left.
    #[command(
        after_help = "Examples:\n  keyward app cert list ciam-client-app\n  keyward app cert list ciam-client-app --expiring 30d --json"
    )]
    List {
        /// The application.
        app: String,
        /// Only those that expire within this time (or have expired): 30d, 12h, or a number of
        /// days. For scripts and alerts.
        #[arg(long, value_name = "DURATION", value_parser = parse_window)]
        expiring: Option<time::Duration>,
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
    /// List an application's secrets (hint, start, expiry and days left; never the value).
    List {
        /// The application.
        app: String,
        /// Only those that expire within this time (or have expired): 30d, 12h, or a number of
        /// days.
        #[arg(long, value_name = "DURATION", value_parser = parse_window)]
        expiring: Option<time::Duration>,
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

/// `--expiring`: `30d`, `12h`, or a bare number of days; at most ten years.
fn parse_window(text: &str) -> Result<time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, 'd')) => (&text[..i], time::Duration::DAY),
        Some((i, 'h')) => (&text[..i], time::Duration::HOUR),
        _ => (text, time::Duration::DAY),
    };
    let count: u32 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: give 30d, 12h or a number of days"))?;
    let window = unit * count;
    if window > time::Duration::days(3650) {
        return Err(format!("{text} is more than ten years"));
    }
    Ok(window)
}

#[cfg(test)]
mod tests {
    use super::parse_window;

    #[test]
    fn expiry_windows_are_days_or_hours() {
        assert_eq!(parse_window("30d"), Ok(time::Duration::days(30)));
        assert_eq!(parse_window("12h"), Ok(time::Duration::hours(12)));
        assert_eq!(parse_window("7"), Ok(time::Duration::days(7)));
        for bad in ["", "d", "-3d", "3w", "99999d", "1.5d"] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
    }
}
