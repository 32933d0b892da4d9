//! The flags of `keyward token`: the client credentials grant, and `keyward token mint` (test
//! tokens from a server started with `--allow-test-tokens`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand};

use super::{PasswordArgs, ServerArgs};

// The grant's flags are required unless a subcommand (`mint`) is given; they are `Option`s so
// that `mint` parses without them.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("credential").required(true).args(["cert", "secret", "secret_file"])),
    subcommand_negates_reqs = true
)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: Option<TokenCommand>,
    /// The authority: https://HOST:PORT/TENANT, https://login.microsoftonline.com/TENANT or https://SUB.ciamlogin.com/.
    #[arg(long, env = "KEYWARD_AUTHORITY", value_name = "URL", required = true)]
    pub authority: Option<String>,
    /// The application (client) id.
    #[arg(long, env = "KEYWARD_CLIENT_ID", value_name = "ID", required = true)]
    pub client_id: Option<String>,
    /// The certificate: a PEM or DER certificate (with --key), or a PEM/PFX holding both.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The private key, when not in the --cert file.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// A client secret. Visible in the process list: prefer --secret-file or KEYWARD_CLIENT_SECRET.
    #[arg(long, env = "KEYWARD_CLIENT_SECRET", hide_env_values = true, value_name = "SECRET")]
    pub secret: Option<String>,
    /// Read the client secret from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// The scope, e.g. api://tasks/.default (repeatable).
    #[arg(long = "scope", required = true, value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Also trust this CA (e.g. keyward-data/tls/ca.pem). Verification is never switched off.
    #[arg(long, env = "KEYWARD_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Check that the certificate has this thumbprint (SHA-1 or SHA-256, any form).
    #[arg(long, value_name = "THUMBPRINT", requires = "cert")]
    pub thumbprint: Option<String>,
    /// Sign RS256 and send x5t (SHA-1), as older MSAL versions do.
    #[arg(long, requires = "cert")]
    pub sha1: bool,
    /// Send the certificate chain in x5c.
    #[arg(long, requires = "cert")]
    pub x5c: bool,
    /// Print the whole response, with the token's decoded header and claims.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a test token: an app-only access token signed with the tenant's real signing key,
    /// for testing an API that validates Entra tokens, with no credential registered.
    ///
    /// The server must run with `keyward serve --allow-test-tokens`; the admin credential of
    /// the data directory asks for it (POST /admin/api/test-tokens), and each mint is written to
    /// the audit log. The token has the issuer, kid and claims of the authority's own
    /// client-credentials tokens (aud as given, azp and appid the app's client id, oid and sub
    /// its service principal, tid, idtyp "app", ver "2.0"), the roles and claims given, and
    /// "keyward_minted": true. The claims iss, exp, nbf, iat, kid, tid, ver, uti, aud, roles,
    /// azp, appid and keyward_minted cannot be set with --claim.
    #[command(after_help = "Examples:\n  \
        keyward token mint --app tasks-client --aud api://tasks --roles Tasks.Read --data keyward-data\n  \
        keyward token mint --tenant contoso --app 6f1c...-appid --aud 3e9a...-api-appid \\\n      \
        --roles Tasks.Read --roles Tasks.Write --claim department=qa --claim level=3 --lifetime 5m\n  \
        curl -H \"Authorization: Bearer $(keyward token mint --app tasks-client --aud api://tasks)\" \\\n      \
        https://localhost:5001/tasks")]
    Mint(MintArgs),
}

#[derive(Debug, Args)]
pub struct MintArgs {
    /// The tenant (name, domain or id) [default: the admin credential's tenant, the server's
    /// first]. The admin credential administers its own tenant only.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// The client application the token is for (its azp/appid): a registered app's client id or
    /// display name. It needs no credential.
    #[arg(long, value_name = "APP")]
    pub app: String,
    /// The token's aud: the API's appId or identifier URI (e.g. api://tasks), as the API
    /// expects it. Written as given.
    #[arg(long = "aud", value_name = "API")]
    pub audience: String,
    /// An app role for the roles claim (repeatable).
    #[arg(long = "roles", value_name = "ROLE")]
    pub roles: Vec<String>,
    /// An extra claim, NAME=VALUE (repeatable). VALUE is JSON when it parses as JSON
    /// (level=3, admin=true, groups=["a","b"]), else a string (department=qa).
    #[arg(long = "claim", value_name = "NAME=VALUE", value_parser = parse_claim)]
    pub claims: Vec<(String, serde_json::Value)>,
    /// How long the token is valid: seconds, or with a unit (90s, 5m, 2h); 24h at most.
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = parse_lifetime)]
    pub lifetime: Duration,
    #[command(flatten)]
    pub server: ServerArgs,
}

fn parse_claim(given: &str) -> Result<(String, serde_json::Value), String> {
    let (name, value) = given
        .split_once('=')
        .ok_or_else(|| format!("{given:?} is not NAME=VALUE (e.g. department=qa or level=3)"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("{given:?} has no claim name before '='"));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
    Ok((name.to_owned(), value))
}

/// The longest `--lifetime`.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

fn parse_lifetime(given: &str) -> Result<Duration, String> {
    let given = given.trim();
    let (number, unit) = match given.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => given.split_at(at),
        None => (given, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => {
            return Err(format!(
                "{given:?}: give seconds or a number with s, m or h (90s, 5m, 2h)"
            ));
        }
    };
    let seconds = number
        .parse::<u64>()
        .map_err(|_| format!("{given:?}: give seconds or a number with s, m or h (90s, 5m, 2h)"))?
        .saturating_mul(scale);
    let lifetime = Duration::from_secs(seconds);
    if seconds == 0 || lifetime > MAX_LIFETIME {
        return Err(format!("{given:?}: a test token lives between 1 second and 24h"));
    }
    Ok(lifetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_take_units_and_are_capped() {
        assert_eq!(parse_lifetime("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_lifetime("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_lifetime("24h"), Ok(Duration::from_secs(86_400)));
        assert!(parse_lifetime("25h").unwrap_err().contains("24h"));
        assert!(parse_lifetime("0").is_err());
        assert!(parse_lifetime("5d").is_err());
    }

    #[test]
    fn claims_are_json_when_they_parse() {
        assert_eq!(parse_claim("level=3").unwrap().1, serde_json::json!(3));
        assert_eq!(parse_claim("dept=qa").unwrap().1, serde_json::json!("qa"));
        assert!(parse_claim("novalue").is_err());
    }
}
