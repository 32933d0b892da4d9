//! The flags of `keyward time`: time travel on a server started with `--allow-time-travel`.

use clap::Subcommand;

use super::ServerArgs;

#[derive(Debug, Subcommand)]
pub enum TimeCommand {
    /// Move the server's clock ahead (+335d) or back (-2h, but never behind the real time)
    /// from where it is now. Tokens,
    /// certificates, sessions, the vault's auto-renewal and purge dates and the expiry warnings
    /// all follow it; the vault's lifetime actions and the expiry watch run at once.
    Shift {
        /// How far: a sign, a number and a unit (s, m, h or d), e.g. +335d, +2h, -30m; no sign
        /// is ahead. At most ten years from the real time.
        #[arg(value_name = "DURATION", allow_hyphen_values = true, value_parser = parse_shift)]
        by: time::Duration,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Put the server's clock back at the real time.
    Reset {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show the server's time, the real time, and whether time travel is allowed.
    Show {
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// `+335d`, `-2h`, `30m`: a span as [`super::app::parse_age`] reads it, with a sign.
fn parse_shift(text: &str) -> Result<time::Duration, String> {
    let text = text.trim();
    match text.strip_prefix('-') {
        Some(rest) => super::app::parse_age(rest).map(|d| -d),
        None => super::app::parse_age(text.strip_prefix('+').unwrap_or(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_shift;

    #[test]
    fn shifts_have_a_sign_and_a_unit() {
        assert_eq!(parse_shift("+335d"), Ok(time::Duration::days(335)));
        assert_eq!(parse_shift("-2h"), Ok(time::Duration::hours(-2)));
        assert_eq!(parse_shift("30m"), Ok(time::Duration::minutes(30)));
        for bad in ["", "+", "--2h", "+-2h", "2w", "+99999d"] {
            assert!(parse_shift(bad).is_err(), "{bad}");
        }
    }
}
