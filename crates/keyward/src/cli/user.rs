//! The flags of `keyward user`: customer accounts.

use std::path::PathBuf;

use clap::Subcommand;
use keyward_server::DirectoryRole;

use super::ServerArgs;

/// `keyward user`: customer accounts. USER is an email or an object id.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password comes from --password-file, else it is asked twice on
    /// a terminal, else read from the first line of standard input.
    #[command(
        after_help = "Examples:\n  keyward user create --email alice@example.com --name \"Alice Smith\"\n  \
        keyward user create --email bob@example.com --password-file pw.txt --json\n  \
        keyward user create --email admin@example.com --role global-admin"
    )]
    Create {
        /// The sign-in email.
        #[arg(long)]
        email: String,
        /// The display name [default: the email's part before @].
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of this file.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
        /// Give it a directory role: global-admin, app-admin or global-reader (repeatable).
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<DirectoryRole>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the accounts.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show one account.
    Show {
        /// The account's email or object id.
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Disable an account: it cannot sign in, and its sessions and refresh tokens are revoked.
    Disable {
        /// The account's email or object id.
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Enable a disabled account.
    Enable {
        /// The account's email or object id.
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Set a new password (revokes the account's sessions and refresh tokens).
    ResetPassword {
        /// The account's email or object id.
        user: String,
        /// Read the password from the first line of this file.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete an account.
    Delete {
        /// The account's email or object id.
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// The directory roles that make an account an administrator.
    #[command(subcommand)]
    Role(RoleCommand),
}

/// `keyward user role`: directory roles. ROLE is global-admin (Global Administrator), app-admin
/// (Application Administrator) or global-reader (Global Reader, read-only).
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Give an account a directory role.
    #[command(after_help = "Example:\n  keyward user role add alice@example.com app-admin")]
    Add {
        /// The account's email or object id.
        user: String,
        /// global-admin, app-admin or global-reader.
        role: DirectoryRole,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Take a directory role from an account.
    Remove {
        /// The account's email or object id.
        user: String,
        /// global-admin, app-admin or global-reader.
        role: DirectoryRole,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the directory roles an account holds.
    List {
        /// The account's email or object id.
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}
