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
    /// Show an application's sign-ins: one per token request that presented its certificate or
    /// secret, with the credential, the client's address, the result (AADSTS code of a refusal)
    /// and the correlation id. Kept for the server's --sign-in-retention (30 days by default).
    #[command(
        after_help = "Examples:\n  keyward app sign-ins ciam-client-app\n  keyward app sign-ins ciam-client-app --failures --since 1h\n  keyward app sign-ins ciam-client-app --since 7d --json"
    )]
    SignIns {
        /// The application.
        app: String,
        /// Only refusals.
        #[arg(long)]
        failures: bool,
        /// Only those of this last time: 90s, 15m, 1h, 7d.
        #[arg(long, value_name = "DURATION", value_parser = parse_age)]
        since: Option<time::Duration>,
        #[command(flatten)]
        server: ServerArgs,
    },
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
    /// List an application's certificates: thumbprint, start date, expiry, days left, and when
    /// and from where it last authenticated a client.
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
    /// Replace an application's certificate without downtime: add a new one beside the old,
    /// wait a grace period while clients switch, then remove the old one.
    ///
    /// The new certificate is made here (same subject as the current one, written as
    /// DIR/NAME.cer, .pem, .key and .pfx like `keyward cert new`), or read from --cert FILE, or
    /// taken from the vault (--from-vault NAME, its current version). The old certificate is the
    /// current one (the valid certificate that expires last) unless --old names others.
    ///
    /// Clients have the first half of the grace period to switch. Removing is refused for an
    /// old certificate that a client still used in the second half (the server records each
    /// certificate's last use): that client has not switched, and would fail. Point it at the
    /// new files, then remove the old one (`keyward app cert remove`), or pass --force. With
    /// --no-wait the new certificate is added and the command that removes the old one is
    /// printed, to run later.
    ///
    /// The default grace, 1h, is twice the half hour in which a running client asks for a new
    /// token (access tokens live an hour and are renewed ahead of expiry); the server writes a
    /// certificate's last use at most once a minute, so keep the grace above a few minutes
    /// when a client may be slow to switch.
    #[command(after_help = "Examples:\n  \
        keyward app cert rotate ciam-client-app --out certs/2027 --no-password\n  \
        keyward app cert rotate ciam-client-app --cert new-cert.pem --grace 10m\n  \
        keyward app cert rotate ciam-client-app --from-vault ciam-client-cert --no-wait\n  \
        keyward app cert rotate ciam-client-app --cert new.cer --old 5F2A...C3 --grace 30s --force")]
    Rotate(RotateArgs),
}

/// The flags of `keyward app cert rotate`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").args(["cert", "from_vault", "out"])))]
pub struct RotateArgs {
    /// The application.
    pub app: String,
    /// Make the new certificate and key in this directory [default: the current directory].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The new certificate's subject [default: the current certificate's].
    #[arg(long, value_name = "DN", conflicts_with_all = ["cert", "from_vault"])]
    pub subject: Option<String>,
    /// The new key's type.
    #[arg(long, default_value = "rsa-2048", value_name = "TYPE",
          value_parser = ["rsa-2048", "rsa-3072", "rsa-4096", "ec-p256", "ec-p384"],
          conflicts_with_all = ["cert", "from_vault"])]
    pub key_type: String,
    /// The new certificate's validity in months.
    #[arg(long, default_value_t = 12, value_name = "N", conflicts_with_all = ["cert", "from_vault"])]
    pub months: u32,
    /// Password for the new .key and .pfx. Visible in the process list: prefer --password-file.
    #[arg(long, env = "KEYWARD_PASSWORD", hide_env_values = true,
          conflicts_with_all = ["password_file", "no_password", "cert", "from_vault"])]
    pub password: Option<String>,
    /// Read the new key's password from the first line of this file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["no_password", "cert", "from_vault"])]
    pub password_file: Option<PathBuf>,
    /// Write the new .key unencrypted and the .pfx with an empty password.
    #[arg(long, conflicts_with_all = ["cert", "from_vault"])]
    pub no_password: bool,
    /// Use this certificate (.cer, .crt or .pem, the public part) instead of making one.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Use the current version of this vault certificate instead of making one.
    #[arg(long, value_name = "NAME")]
    pub from_vault: Option<String>,
    /// The vault's URL, with --from-vault [default: the server's default vault].
    #[arg(long, env = "KEYWARD_VAULT_URL", value_name = "URL", requires = "from_vault")]
    pub vault_url: Option<String>,
    /// How long both certificates stay registered before the old one is removed: 30s, 10m, 1h,
    /// 2d (at most 7d).
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = parse_grace)]
    pub grace: time::Duration,
    /// The certificate(s) to remove, by key id or thumbprint (repeatable) [default: the current one].
    #[arg(long = "old", value_name = "KEYID|THUMBPRINT")]
    pub old: Vec<String>,
    /// Remove the old certificate even if a client still used it in the second half of the grace period.
    #[arg(long)]
    pub force: bool,
    /// Add the new certificate and stop: print the command that removes the old one later.
    #[arg(long, conflicts_with = "force")]
    pub no_wait: bool,
    #[command(flatten)]
    pub server: ServerArgs,
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
    /// List an application's secrets (hint, start, expiry, days left, last use; never the
    /// value).
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

/// `--grace`: a span as [`parse_age`] reads it; at most seven days.
fn parse_grace(text: &str) -> Result<time::Duration, String> {
    let grace = parse_age(text)?;
    if grace > time::Duration::days(7) {
        return Err(format!("{} is more than seven days", text.trim()));
    }
    Ok(grace)
}

/// `--expiring` and `keyward serve --expiry-warning`: `30d`, `12h`, or a bare number of days;
/// at most ten years.
pub(crate) fn parse_window(text: &str) -> Result<time::Duration, String> {
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

/// A time span in seconds, minutes, hours or days: `90s`, `15m`, `1h`, `30d`; at most ten
/// years. For `--since` and `keyward serve --sign-in-retention`.
pub(crate) fn parse_age(text: &str) -> Result<time::Duration, String> {
    let text = text.trim();
    let bad = || format!("{text:?} is not a duration: give a number and a unit, such as 90s, 15m, 1h or 30d");
    let (number, unit) = match text.char_indices().last() {
        Some((i, 's')) => (&text[..i], time::Duration::SECOND),
        Some((i, 'm')) => (&text[..i], time::Duration::MINUTE),
        Some((i, 'h')) => (&text[..i], time::Duration::HOUR),
        Some((i, 'd')) => (&text[..i], time::Duration::DAY),
        _ => return Err(bad()),
    };
    let count: u32 = number.parse().map_err(|_| bad())?;
    let age = unit * count;
    if age > time::Duration::days(3650) {
        return Err(format!("{text} is more than ten years"));
    }
    Ok(age)
}

#[cfg(test)]
mod tests {
    use super::{parse_age, parse_grace, parse_window};

    #[test]
    fn grace_periods_have_a_unit() {
        assert_eq!(parse_grace("30s"), Ok(time::Duration::seconds(30)));
        assert_eq!(parse_grace("10m"), Ok(time::Duration::minutes(10)));
        assert_eq!(parse_grace("1h"), Ok(time::Duration::hours(1)));
        assert_eq!(parse_grace("0s"), Ok(time::Duration::ZERO));
        for bad in ["", "10", "m", "-1h", "1.5h", "8d", "1w"] {
            assert!(parse_grace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ages_have_units() {
        assert_eq!(parse_age("90s"), Ok(time::Duration::seconds(90)));
        assert_eq!(parse_age("15m"), Ok(time::Duration::minutes(15)));
        assert_eq!(parse_age("1h"), Ok(time::Duration::hours(1)));
        assert_eq!(parse_age("30d"), Ok(time::Duration::days(30)));
        for bad in ["", "7", "d", "-3d", "3w", "99999d", "1.5h"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

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
