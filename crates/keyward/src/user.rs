//! `keyward user`: the customer accounts of a running server, through its Graph-shaped
//! management API (`/v1.0/users`), as the bootstrap admin.

use std::io::BufRead;

use anyhow::{Context, bail};
use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::{ServerArgs, UserCommand};
use crate::connection::Connection;
use crate::graph::{Object, User, json_list};
use crate::output::print;
use crate::password::{self, Password};

pub fn run(command: UserCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(dispatch(command))
}

async fn dispatch(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            email,
            name,
            password_file,
            disabled,
            server,
        } => {
            let password = new_password(&email, password_file.as_deref())?;
            let api = Connection::open(&server).await?;
            let user = api.create_user(&email, name.as_deref(), &password, !disabled).await?;
            print(server.json, &user.json, || {
                format!("Created the user {}\n{}", user.mail, describe(&user))
            })
        }
        UserCommand::List { server } => {
            let api = Connection::open(&server).await?;
            let users = api.users().await?;
            print(server.json, &json_list(&users), || table(&users))
        }
        UserCommand::Show { user, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &user).await?;
            print(server.json, &found.json, || describe(&found))
        }
        UserCommand::Disable { user, server } => set_enabled(&server, &user, false).await,
        UserCommand::Enable { user, server } => set_enabled(&server, &user, true).await,
        UserCommand::ResetPassword {
            user,
            password_file,
            server,
        } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &user).await?;
            let password = new_password(&found.mail, password_file.as_deref())?;
            api.set_user_password(&found, &password).await?;
            let updated = api.reload_user(&found).await?;
            print(server.json, &updated.json, || {
                format!(
                    "Set a new password for {}; their sign-in sessions and refresh tokens are revoked.\n",
                    updated.mail
                )
            })
        }
        UserCommand::Delete { user, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &user).await?;
            api.delete_user(&found).await?;
            print(server.json, &json!({"deleted": found.id, "mail": found.mail}), || {
                format!("Deleted the user {}; they can no longer sign in.\n", found.mail)
            })
        }
    }
}

async fn set_enabled(server: &ServerArgs, user: &str, enabled: bool) -> anyhow::Result<()> {
    let api = Connection::open(server).await?;
    let found = find(&api, user).await?;
    api.set_user_enabled(&found, enabled).await?;
    let updated = api.reload_user(&found).await?;
    print(server.json, &updated.json, || {
        if enabled {
            format!("Enabled {}: they can sign in again.\n", updated.mail)
        } else {
            format!(
                "Disabled {}: they cannot sign in, and their sessions and refresh tokens are revoked.\n",
                updated.mail
            )
        }
    })
}

/// A user by email or object id.
async fn find(api: &Connection, user: &str) -> anyhow::Result<Object<User>> {
    let key = user.trim();
    if key.is_empty() {
        bail!("give the user's email or object id");
    }
    api.user(key)
        .await
        .with_context(|| format!("no user {key:?}; see `keyward user list`"))
}

/// The new password: from the file, else asked twice on a terminal, else the first line of
/// standard input.
fn new_password(email: &str, file: Option<&std::path::Path>) -> anyhow::Result<Password> {
    if let Some(file) = file {
        return password::from_file(file);
    }
    if password::can_prompt() {
        let first = Zeroizing::new(
            rpassword::prompt_password(format!("New password for {email}: "))
                .context("cannot read the password from the terminal")?,
        );
        let second = Zeroizing::new(
            rpassword::prompt_password("Repeat the password: ")
                .context("cannot read the password from the terminal")?,
        );
        if *first != *second {
            bail!("the two passwords differ; nothing was changed");
        }
        return Ok(first);
    }
    let stdin = std::io::stdin();
    let mut line = Zeroizing::new(String::new());
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    if password.is_empty() {
        bail!("no password: give --password-file FILE, or the password on standard input");
    }
    Ok(password)
}

fn describe(user: &User) -> String {
    format!(
        "  Email:         {}\n  Display name:  {}\n  Object ID:     {}\n  Enabled:       {}\n  Created:       {}\n",
        user.mail,
        user.display_name,
        user.id,
        if user.account_enabled { "yes" } else { "no" },
        user.created_date_time,
    )
}

fn table(users: &[Object<User>]) -> String {
    if users.is_empty() {
        return "No users yet: add one with `keyward user create --email E`, or let people sign up.\n".into();
    }
    let mut text = format!(
        "{:<40}{:<9}{:<22}{:<38}{}\n",
        "EMAIL", "ENABLED", "CREATED", "OBJECT ID", "DISPLAY NAME"
    );
    for user in users {
        text.push_str(&format!(
            "{:<40}{:<9}{:<22}{:<38}{}\n",
            user.mail,
            if user.account_enabled { "yes" } else { "no" },
            user.created_date_time,
            user.id,
            user.display_name
        ));
    }
    text
}
