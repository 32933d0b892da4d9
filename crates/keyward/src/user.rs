//! `keyward user`: the customer accounts of a running server and their directory roles, through
//! its Graph-shaped management API (`/v1.0/users`, `/v1.0/roleManagement/directory/roleAssignments`),
//! as the bootstrap admin.

use std::io::BufRead;

use anyhow::{Context, bail};
use keyward_server::DirectoryRole;
use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::{RoleCommand, ServerArgs, UserCommand};
use crate::connection::Connection;
use crate::graph::{Object, RoleAssignment, User, json_list};
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
            mut roles,
            server,
        } => {
            roles.sort();
            roles.dedup();
            let password = new_password(&email, password_file.as_deref())?;
            let api = Connection::open(&server).await?;
            let user = api.create_user(&email, name.as_deref(), &password, !disabled).await?;
            for role in &roles {
                api.assign_directory_role(&user, role.template_id())
                    .await
                    .with_context(|| format!("created the user {}, but could not give them {role}", user.mail))?;
            }
            print(server.json, &user.json, || {
                let mut text = format!("Created the user {}\n{}", user.mail, describe(&user));
                if !roles.is_empty() {
                    let names: Vec<String> = roles.iter().map(|r| role_name(*r)).collect();
                    text.push_str(&format!("  Roles:         {}\n", names.join(", ")));
                }
                text
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
            let held = api.role_assignments(&found).await?;
            let roles: Vec<DirectoryRole> = held
                .iter()
                .filter_map(|a| a.role_definition_id.parse::<DirectoryRole>().ok())
                .collect();
            let mut json = found.json.clone();
            if let Some(object) = json.as_object_mut() {
                let names: Vec<&str> = roles.iter().map(|r| r.cli_name()).collect();
                object.insert("directoryRoles".into(), json!(names));
            }
            print(server.json, &json, || {
                let names: Vec<String> = roles.iter().map(|r| role_name(*r)).collect();
                let names = if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                };
                format!("{}  Roles:         {names}\n", describe(&found))
            })
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
        UserCommand::Role(command) => role(command).await,
    }
}

/// `keyward user role ...`.
async fn role(command: RoleCommand) -> anyhow::Result<()> {
    match command {
        RoleCommand::Add { user, role, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &user).await?;
            let assignment = api.assign_directory_role(&found, role.template_id()).await?;
            print(server.json, &assignment.json, || {
                format!("Gave {} the {} role.\n", found.mail, role_name(role))
            })
        }
        RoleCommand::Remove { user, role, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &user).await?;
            let held = api.role_assignments(&found).await?;
            let template_id = role.template_id().to_string();
            let Some(assignment) = held.iter().find(|a| a.role_definition_id == template_id) else {
                bail!(
                    "{} does not hold the {} role; see `keyward user role list {}`",
                    found.mail,
                    role_name(role),
                    found.mail
                );
            };
            api.delete_role_assignment(assignment).await?;
            print(server.json, &assignment.json, || {
                format!("Took the {} role from {}.\n", role_name(role), found.mail)
            })
        }
        RoleCommand::List { user, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &user).await?;
            let held = api.role_assignments(&found).await?;
            print(server.json, &json_list(&held), || roles_table(&found, &held))
        }
    }
}

/// `Global Administrator (global-admin)`.
fn role_name(role: DirectoryRole) -> String {
    format!("{} ({role})", role.display_name())
}

fn roles_table(user: &User, held: &[Object<RoleAssignment>]) -> String {
    if held.is_empty() {
        return format!(
            "{} holds no directory role; give one with `keyward user role add {} app-admin`.\n",
            user.mail, user.mail
        );
    }
    let mut text = format!("{:<16}{:<28}{:<38}{}\n", "ROLE", "NAME", "TEMPLATE ID", "ASSIGNMENT ID");
    for assignment in held {
        let role = assignment.role_definition_id.parse::<DirectoryRole>().ok();
        text.push_str(&format!(
            "{:<16}{:<28}{:<38}{}\n",
            role.map_or("?", DirectoryRole::cli_name),
            role.map_or("(unknown role)", DirectoryRole::display_name),
            assignment.role_definition_id,
            assignment.id,
        ));
    }
    text
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
