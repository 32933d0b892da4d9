//! The flags of `keyward policy`.

use clap::Subcommand;

use super::ServerArgs;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Show the tenant's default app management policy: whether client secrets may be added,
    /// and how long new secrets and certificates may live.
    #[command(after_help = "Examples:\n  keyward policy show\n  keyward policy show --json")]
    Show {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Change the tenant's default app management policy (and enforce it). Flags not given keep
    /// their current setting. Credentials already registered are left alone; every credential
    /// added from now on (CLI, management API, admin center) is checked.
    #[command(after_help = "Examples:\n  \
        keyward policy set --no-secrets --max-cert-lifetime 365d\n  \
        keyward policy set --allow-secrets --max-secret-lifetime 90d\n  \
        keyward policy set --max-secret-lifetime none --max-cert-lifetime none\n  \
        keyward policy set --disable")]
    Set {
        /// Refuse new client secrets (restriction passwordAddition): applications use
        /// certificates.
        #[arg(long, conflicts_with = "allow_secrets")]
        no_secrets: bool,
        /// Allow new client secrets again.
        #[arg(long)]
        allow_secrets: bool,
        /// The longest a new client secret may live (passwordLifetime): 90d, 12h, or `none`.
        #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
        max_secret_lifetime: Option<Lifetime>,
        /// The longest a new certificate may be valid (asymmetricKeyLifetime): 365d, or `none`.
        #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
        max_cert_lifetime: Option<Lifetime>,
        /// Keep the restrictions but stop enforcing them (isEnabled false).
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        /// Enforce the restrictions (the default whenever a restriction is set).
        #[arg(long)]
        enable: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// A lifetime limit given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifetime {
    /// No limit.
    Unlimited,
    /// At most this long, as an ISO 8601 duration (`P90D`, `PT12H`).
    Iso(String),
}

/// `90d`, `12h`, a bare number of days, or `none`.
fn parse_lifetime(text: &str) -> Result<Lifetime, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("none") {
        return Ok(Lifetime::Unlimited);
    }
    let (number, unit) = match text.char_indices().last() {
        Some((i, 'd')) => (&text[..i], "D"),
        Some((i, 'h')) => (&text[..i], "H"),
        _ => (text, "D"),
    };
    let count: u32 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?} is not a lifetime: give 90d, 12h, a number of days, or none"))?;
    Ok(Lifetime::Iso(if unit == "H" {
        format!("PT{count}H")
    } else {
        format!("P{count}D")
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_days_hours_or_none() {
        assert_eq!(parse_lifetime("90d"), Ok(Lifetime::Iso("P90D".into())));
        assert_eq!(parse_lifetime("365"), Ok(Lifetime::Iso("P365D".into())));
        assert_eq!(parse_lifetime("12h"), Ok(Lifetime::Iso("PT12H".into())));
        assert_eq!(parse_lifetime("none"), Ok(Lifetime::Unlimited));
        assert!(parse_lifetime("0d").is_err());
        assert!(parse_lifetime("soon").is_err());
    }
}
