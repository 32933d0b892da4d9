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
    use super::{parse_age, parse_window};

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
