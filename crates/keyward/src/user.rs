//! `keyward user`: the customer accounts of a running server, through its Graph-shaped
//! management API (`/v1.0/users`), as the bootstrap admin.

use std::io::BufRead;

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::cli::{ServerArgs, UserCommand};
use crate::connection::Connection;
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
            let mut body = json!({
                "accountEnabled": !disabled,
                "identities": [{"signInType": "emailAddress", "issuerAssignedId": email}],
                "passwordProfile": {"password": password.as_str(), "forceChangePasswordNextSignIn": false},
            });
            if let Some(name) = name {
                body["displayName"] = json!(name);
            }
            let user = api.call(Method::POST, "/v1.0/users", Some(body)).await?;
            print(server.json, &user, || {
                format!("Created the user {}\n{}", mail(&user), describe(&user))
            })
        }
        UserCommand::List { server } => {
            let api = Connection::open(&server).await?;
            let users = api.call(Method::GET, "/v1.0/users", None).await?;
            print(server.json, &users["value"], || table(&users["value"]))
        }
        UserCommand::Show { user, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &user).await?;
            print(server.json, &found, || describe(&found))
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
            let password = new_password(mail(&found), password_file.as_deref())?;
            let body =
                json!({"passwordProfile": {"password": password.as_str(), "forceChangePasswordNextSignIn": false}});
            api.call(Method::PATCH, &path(&found), Some(body)).await?;
            let updated = api.call(Method::GET, &path(&found), None).await?;
            print(server.json, &updated, || {
                format!(
                    "Set a new password for {}; their sign-in sessions and refresh tokens are revoked.\n",
                    mail(&updated)
                )
            })
        }
        UserCommand::Delete { user, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &user).await?;
            api.call(Method::DELETE, &path(&found), None).await?;
            print(
                server.json,
                &json!({"deleted": found["id"], "mail": found["mail"]}),
                || format!("Deleted the user {}; they can no longer sign in.\n", mail(&found)),
            )
        }
    }
}

async fn set_enabled(server: &ServerArgs, user: &str, enabled: bool) -> anyhow::Result<()> {
    let api = Connection::open(server).await?;
    let found = find(&api, user).await?;
    api.call(Method::PATCH, &path(&found), Some(json!({"accountEnabled": enabled})))
        .await?;
    let updated = api.call(Method::GET, &path(&found), None).await?;
    print(server.json, &updated, || {
        if enabled {
            format!("Enabled {}: they can sign in again.\n", mail(&updated))
        } else {
            format!(
                "Disabled {}: they cannot sign in, and their sessions and refresh tokens are revoked.\n",
                mail(&updated)
            )
        }
    })
}

/// A user by email or object id.
async fn find(api: &Connection, user: &str) -> anyhow::Result<Value> {
    let key = user.trim();
    if key.is_empty() {
        bail!("give the user's email or object id");
    }
    api.call(Method::GET, &format!("/v1.0/users/{}", encode_segment(key)), None)
        .await
        .with_context(|| format!("no user {key:?}; see `keyward user list`"))
}

fn path(user: &Value) -> String {
    format!("/v1.0/users/{}", user["id"].as_str().unwrap_or_default())
}

fn mail(user: &Value) -> &str {
    user["mail"].as_str().unwrap_or_default()
}

/// Percent-encodes a path segment (an email may hold `+`, `%`, `/` ...).
fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
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

fn describe(user: &Value) -> String {
    format!(
        "  Email:         {}\n  Display name:  {}\n  Object ID:     {}\n  Enabled:       {}\n  Created:       {}\n",
        mail(user),
        user["displayName"].as_str().unwrap_or_default(),
        user["id"].as_str().unwrap_or_default(),
        if user["accountEnabled"] == true { "yes" } else { "no" },
        user["createdDateTime"].as_str().unwrap_or_default(),
    )
}

fn table(users: &Value) -> String {
    let items = users.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return "No users yet: add one with `keyward user create --email E`, or let people sign up.\n".into();
    }
    let mut text = format!(
        "{:<40}{:<9}{:<22}{:<38}{}\n",
        "EMAIL", "ENABLED", "CREATED", "OBJECT ID", "DISPLAY NAME"
    );
    for user in items {
        text.push_str(&format!(
            "{:<40}{:<9}{:<22}{:<38}{}\n",
            mail(&user),
            if user["accountEnabled"] == true { "yes" } else { "no" },
            user["createdDateTime"].as_str().unwrap_or_default(),
            user["id"].as_str().unwrap_or_default(),
            user["displayName"].as_str().unwrap_or_default()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_encoded_as_one_path_segment() {
        assert_eq!(encode_segment("alice@example.com"), "alice@example.com");
        assert_eq!(encode_segment("a+b/c%d@x.example"), "a%2Bb%2Fc%25d@x.example");
    }
}
