//! Command-line flags, one module per command. Parsed here, validated into settings by each
//! command; the pieces several commands share ([`ServerArgs`], [`PasswordArgs`]) are here.

mod app;
mod apply;
mod cert;
mod doctor;
mod export;
mod hosts;
mod master_key;
mod policy;
mod quickstart;
mod serve;
mod signing_key;
mod time_travel;
mod token;
mod trust;
mod user;
mod vault;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use app::{AppCertCommand, AppCommand, AppRoleCommand, AppSecretCommand, RotateArgs};
pub use apply::ApplyArgs;
pub use cert::{CertCommand, ExtractKeyArgs, NewArgs, ShowArgs};
pub use doctor::{DEFAULT_SCOPE, DoctorArgs};
pub use export::ExportArgs;
pub use hosts::HostsArgs;
pub use master_key::MasterKeyCommand;
pub use policy::{Lifetime, PolicyCommand};
pub use quickstart::QuickstartArgs;
pub use serve::{ServeArgs, ServeProfile};
pub use signing_key::SigningKeyCommand;
pub use time_travel::TimeCommand;
pub use token::{MintArgs, TokenArgs, TokenCommand};
pub use trust::{Store, TrustArgs};
pub use user::{RoleCommand, UserCommand};
pub use vault::{DownloadFormat, SecretContentType, VaultArgs, VaultCertCommand, VaultCommand, VaultSecretCommand};

/// Keyward: certificate credentials for applications, without the cloud.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make, inspect and convert certificates and keys.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Run the server over HTTPS: the authority (token service, discovery, customer sign-in,
    /// management API) and the Key Vault-compatible vault, on one origin.
    ///
    /// On first start it creates the data directory: a local CA (tls/ca.pem is what clients
    /// trust), the SQLite database, the tenant with its signing key, the default vault, and a
    /// bootstrap admin application whose certificate the `keyward app`, `user` and `vault`
    /// commands use.
    ///
    /// The development profile (the default) answers with helpful errors and keeps the master
    /// key in the data directory. A server other people can reach runs --profile production:
    /// Entra's terse errors, /metrics only with a management API token, and the master key from
    /// --master-key-file or KEYWARD_MASTER_KEY (make one with `keyward master-key new`).
    #[command(
        after_help = "Examples:\n  keyward serve\n  keyward serve --data /var/lib/keyward --listen 0.0.0.0:8443 \\\n      --public-url https://id.example.test:8443\n  keyward master-key new --out /etc/keyward/master.key\n  keyward serve --profile production --master-key-file /etc/keyward/master.key \\\n      --data /var/lib/keyward\n  keyward serve --expiry-warning 30d --expiry-webhook https://hooks.example.com/keyward \\\n      --expiry-webhook-ca hooks-ca.pem\n  keyward serve --listen 127.0.0.1:0 --data :memory: --ready-file /tmp/keyward.url \\\n      --allow-test-tokens\n  keyward serve --config keyward.toml --listen 127.0.0.1:0 --data :memory:"
    )]
    Serve(ServeArgs),
    /// Manage app registrations of a running server: create, credentials, roles, grants.
    #[command(subcommand)]
    App(AppCommand),
    /// The tenant's default app management policy (as Entra's): forbid client secrets, and
    /// bound how long new secrets and certificates may live. Enforced on every credential added,
    /// whether through the CLI, the management API or the admin center.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Customer accounts of a running server: create, list, show, disable, enable, reset the
    /// password, delete. What sign-up creates, an administrator can manage here.
    #[command(subcommand)]
    User(UserCommand),
    /// Get an access token with the client credentials grant, from Keyward or Entra ID; or mint
    /// a test token (`keyward token mint`, on a server started with --allow-test-tokens).
    ///
    /// Prints the token, or with --json the whole response with the decoded header and claims.
    /// The certificate's thumbprint is computed from the certificate. Assertions are PS256 with
    /// x5t#S256 unless --sha1 (RS256 with x5t).
    #[command(after_help = "Examples:\n  \
        keyward token --authority https://localhost:8443/contoso --client-id APPID \\\n      \
        --cert app.pem --key app.key --scope api://tasks/.default --ca keyward-data/tls/ca.pem\n  \
        keyward token --authority https://login.microsoftonline.com/contoso.onmicrosoft.com \\\n      \
        --client-id APPID --cert app.pfx --password-file pw \\\n      \
        --scope https://graph.microsoft.com/.default --json\n  \
        keyward token mint --app tasks-client --aud api://tasks --roles Tasks.Read --lifetime 5m")]
    Token(TokenArgs),
    /// Check a client's configuration end to end, and say what to fix.
    ///
    /// Given what an app is configured with (authority, client id, certificate, key and
    /// password, the thumbprint as typed, the scope), checks in order: the files open, the key
    /// is the certificate's, the thumbprint is this certificate's (SHA-1 or SHA-256, or names the
    /// other file in the folder it belongs to), the authority answers discovery and its issuer
    /// is on the address used, the local clock agrees with the server's Date, the certificate is
    /// within its dates (by the server's clock), the app and its certificate are registered, a real
    /// assertion is accepted, and the scope exists. Each finding is one line, with the fix
    /// under it; the first failure is the one to fix first. Exit code 1 when something fails.
    ///
    /// Against Entra ID (or a Keyward server without --data), whether the app and the
    /// certificate are registered is known only from the token endpoint's answer, and doctor
    /// says so. With --data, a Keyward server's admin credential looks them up.
    ///
    /// With --vault-url and --vault-cert instead of --cert, the certificate and its private key
    /// are read from a vault as the article's app reads them (the certificate's secret, PEM or
    /// PKCS#12), with the admin credential of --data; the first check, `vault`, says whether
    /// the vault answered, the certificate exists, its secret may be read and holds the key.
    #[command(after_help = "Examples:\n  \
        keyward doctor --authority https://localhost:8443/contoso --client-id APPID \\\n      \
        --cert app.pem --key app.key --ca keyward-data/tls/ca.pem --scope api://tasks/.default\n  \
        keyward doctor --server https://localhost:8443 --tenant contoso --client-id APPID \\\n      \
        --cert app.pfx --password-file pw --data keyward-data\n  \
        keyward doctor --authority https://localhost:8443/contoso --client-id APPID \\\n      \
        --vault-url https://localhost:8443 --vault-cert ciam-client-app --data keyward-data\n  \
        keyward doctor --authority https://login.microsoftonline.com/contoso.onmicrosoft.com \\\n      \
        --client-id APPID --cert app.pem --key app.key --thumbprint \"3B:1F:...\" --json")]
    Doctor(DoctorArgs),
    /// The tenant's token-signing keys.
    #[command(subcommand, name = "signing-key")]
    SigningKey(SigningKeyCommand),
    /// Time travel for tests: move the clock of a server started with --allow-time-travel,
    /// and watch certificates expire, renew and tokens run out in minutes.
    ///
    /// Everything the server decides by the date follows the shifted clock: issued tokens and
    /// the tokens it is shown, credentials' start and end, codes, refresh tokens and sessions,
    /// the vault's lifetime actions and purge dates, the expiry warnings. Client assertions'
    /// exp and nbf are still checked against the real time (clients sign with real clocks).
    /// The shift lives in the server's memory: a restart is back at the real time.
    #[command(
        subcommand,
        after_help = "Examples:\n  keyward serve --allow-time-travel\n  keyward time shift +335d\n  keyward time show --json\n  keyward time reset"
    )]
    Time(TimeCommand),
    /// The article, end to end: the server, the app registration, its certificate, and the
    /// sample web app with customer sign-in on http://localhost:3000.
    ///
    /// Starts the server (as `keyward serve`), registers ciam-client-app with the sample's
    /// redirect URIs, adds a client secret, makes a certificate, uploads it, removes the
    /// secret, and starts the sample web app with the certificate. Each step prints the command
    /// that does it by hand. Running it again reuses the app and the certificate. Ctrl-C stops
    /// the server and the app.
    #[command(
        after_help = "Examples:\n  keyward quickstart\n  keyward quickstart --data /tmp/kw --listen 127.0.0.1:9443 --port 3001"
    )]
    Quickstart(QuickstartArgs),
    /// Certificates and secrets in the server's Key Vault-compatible vault, and who may use them.
    ///
    /// The commands speak the Key Vault REST API, as the admin application (which may do
    /// everything in the default vault). Applications get access with `keyward vault grant`.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// The master key of a production server (`keyward serve --profile production`).
    #[command(subcommand, name = "master-key")]
    MasterKey(MasterKeyCommand),
    /// The hosts-file lines that send Microsoft's host names (login.microsoftonline.com,
    /// TENANT.ciamlogin.com, VAULT.vault.azure.net, ...) to a server started with
    /// `keyward serve --azure-hosts`, printed, or written to the hosts file with --write (a
    /// marked block, a backup kept), and how to trust that mode's CA in test processes only.
    #[command(
        after_help = "Examples:\n  keyward hosts\n  sudo keyward hosts --write --vault kv-article\n  sudo keyward hosts --remove\n  keyward hosts --hosts-file /etc/netns/keyward-test/hosts --write"
    )]
    Hosts(HostsArgs),
    /// Install the data directory's local CA where this machine's clients look, as mkcert does:
    /// the system store and the NSS databases of Chromium and Firefox; or take it out again.
    ///
    /// The CA can vouch only for the names the server serves (localhost and the names under
    /// it, 127.0.0.1, ::1, the --public-url host: its name constraints), and its key never
    /// leaves the data directory (tls/ca.key, 0600). Trusting it means: whoever can read that
    /// key can make certificates for those names that this machine believes. What was added is
    /// recorded in tls/trust.json; --uninstall removes exactly that. Running it again changes
    /// nothing, or replaces a CA the server made again (its names changed). The Azure host
    /// names mode's CA is never installed unless named by its own flag.
    ///
    /// The system store needs root; NSS databases are per user, so run the two apart when you
    /// use sudo. Node, Python, curl and Java lines are printed at the end.
    #[command(after_help = "Examples:\n  \
        keyward trust --dry-run\n  \
        sudo keyward trust --data ./keyward-data --store system\n  \
        keyward trust --data ./keyward-data --store nss\n  \
        keyward trust --store nss --nss-db ~/.pki/nssdb\n  \
        sudo keyward trust --data ./keyward-data --uninstall")]
    Trust(TrustArgs),
    /// Apply a declarative state file (TOML: tenants, apps, users, vaults) to a running server.
    ///
    /// The file is read, checked (errors name the line) and resolved here: secrets, passwords
    /// and certificates it asks to generate are made once, written 0600 at the paths it names
    /// (relative to the file), and reused after. The server then checks the whole document
    /// against what it holds before changing anything, and converges: what already is as the
    /// file says is left alone (applying twice changes nothing), and objects an earlier apply
    /// made that left the file are removed (said before they are). Objects made by hand are
    /// never removed. `keyward serve --config FILE` applies the same file at start. The schema:
    /// docs/config.md.
    #[command(after_help = "Examples:\n  \
        keyward apply keyward.toml --dry-run\n  \
        keyward apply keyward.toml\n  \
        keyward apply ci/keyward.toml --data /tmp/kw --json\n  \
        keyward apply fixture.toml --passphrase-file pass.txt")]
    Apply(ApplyArgs),
    /// Write a running server's state as the TOML document `keyward apply` and `keyward serve
    /// --config` read: the tenant, its applications (roles, grants, secrets, certificates),
    /// users and vaults (certificates with their policies, secrets, access policies), with
    /// every id. A state built by hand in the admin center becomes a fixture: `export`, then
    /// `keyward serve --config FILE` on an empty data directory (which makes the tenant with
    /// its exported id; `keyward apply` refuses a running server whose tenant of that name has
    /// another id), gives the same ids and thumbprints.
    ///
    /// No secret material is written unless --include-secrets, and then only sealed with a
    /// passphrase (--passphrase-file or KEYWARD_EXPORT_PASSPHRASE). Without it, client secrets,
    /// passwords and vault secrets get `generate` paths (applying makes new values there) and
    /// vault certificates are made again from their policies; what was left out is listed on
    /// standard error. Every export is in the server's audit log.
    #[command(after_help = "Examples:\n  \
        keyward export --out keyward.toml\n  \
        keyward export --include-secrets --passphrase-file pass.txt --out fixture.toml\n  \
        KEYWARD_EXPORT_PASSPHRASE=... keyward export --include-secrets --out fixture.toml\n  \
        keyward export --data ./keyward-data --tenant contoso --out contoso.toml --json\n  \
        KEYWARD_EXPORT_PASSPHRASE=... keyward serve --config fixture.toml --data ./fresh-data")]
    Export(ExportArgs),
}

/// How `app` commands reach the server.
#[derive(Debug, Args, Clone)]
pub struct ServerArgs {
    /// The server's data directory: its URL, CA and admin credential are read from it.
    #[arg(
        long,
        env = "KEYWARD_DATA",
        default_value = "keyward-data",
        value_name = "DIR",
        global = true
    )]
    pub data: PathBuf,
    /// The server URL [default: the one the running server wrote to the data directory].
    #[arg(long, env = "KEYWARD_SERVER", value_name = "URL", global = true)]
    pub server: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Where the password of an existing file comes from.
#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// The file's password. Visible in the process list: prefer --password-file.
    #[arg(
        long,
        env = "KEYWARD_PASSWORD",
        hide_env_values = true,
        conflicts_with = "password_file"
    )]
    pub password: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Clap checks its definitions only when a command is parsed: a clash in a subcommand
    /// nobody ran would panic at a user's first use. This walks them all.
    #[test]
    fn every_subcommand_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    /// `--trusted-proxy` is repeatable and takes comma-separated lists, as
    /// `KEYWARD_TRUSTED_PROXIES` does; a bad network is refused with the reason.
    #[test]
    fn trusted_proxies_are_networks() {
        use clap::Parser;
        let cli = super::Cli::try_parse_from([
            "keyward",
            "serve",
            "--trusted-proxy",
            "10.0.0.0/8,::1",
            "--trusted-proxy",
            "127.0.0.1/32",
        ])
        .expect("parsed");
        let super::Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let networks: Vec<String> = args.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(networks, ["10.0.0.0/8", "::1/128", "127.0.0.1/32"]);
        let refused = super::Cli::try_parse_from(["keyward", "serve", "--trusted-proxy", "10.0.0.1/8"])
            .expect_err("refused")
            .to_string();
        assert!(refused.contains("host bits"), "{refused}");
    }
}
