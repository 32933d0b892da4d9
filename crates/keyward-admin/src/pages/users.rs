//! Users: the list with search, New user (a typed or generated password, directory roles), and
//! a user's page: enable and disable, reset the password, add and remove directory roles,
//! delete. Reading is open to every administrator; changes need
//! [`Permission::ManageDirectory`] (Global Administrator).
//!
//! Passwords are never logged nor written to the audit log; a generated one is shown once, in
//! the answer to the form that made it (never in a URL). The tenant keeps at least one enabled
//! Global Administrator: the last one cannot be disabled, deleted or demoted
//! ([`last_global_admin`]).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_authority::directory_roles::roles_of;
use keyward_authority::{DirectoryRole, NewUser};
use keyward_store::User;
use serde::Deserialize;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::apps::AuditRow;
use super::{Chrome, Confirm, Confirmation, Done, IntoPage, When, see_other};
use crate::AdminCenter;
use crate::access::{Admin, Permission};
use crate::error::AdminError;
use crate::forms::AdminForm;

/// The messages of the actions that end on the users' pages.
pub const DONE: &[(&str, &str)] = &[
    ("created", "The user was created."),
    (
        "disabled",
        "The user was disabled: they cannot sign in, and their sessions and refresh tokens are revoked.",
    ),
    ("enabled", "The user was enabled: they can sign in again."),
    (
        "password",
        "The password was reset; the user's sessions and refresh tokens are revoked.",
    ),
    ("role-added", "The directory role was given."),
    ("role-removed", "The directory role was taken away."),
    ("deleted", "The user was deleted."),
];

/// The section of the navigation.
const SECTION: &str = "users";

/// How many random bytes a generated password holds (24 characters of base64url).
const GENERATED_BYTES: usize = 18;

/// A new random password: 144 bits, base64url.
fn generate_password() -> Result<Zeroizing<String>, AdminError> {
    let mut bytes = Zeroizing::new([0u8; GENERATED_BYTES]);
    aws_lc_rs::rand::fill(&mut bytes[..]).map_err(|_| keyward_authority::Error::NoRandomness)?;
    Ok(Zeroizing::new(URL_SAFE_NO_PAD.encode(&bytes[..])))
}

/// A user of the admin's tenant by object id.
async fn find(center: &AdminCenter, admin: &Admin, id: &str) -> Result<User, AdminError> {
    let id = Uuid::parse_str(id).map_err(|_| AdminError::NotFound("user"))?;
    match center.authority().user(admin.tenant_id(), id).await {
        Ok(user) => Ok(user),
        Err(keyward_authority::Error::UserNotFound(_)) => Err(AdminError::NotFound("user")),
        Err(e) => Err(e.into()),
    }
}

/// Why `user` must keep their Global Administrator role and stay enabled, if they are the
/// tenant's last enabled Global Administrator; `doing` names the refused action.
async fn last_global_admin(
    center: &AdminCenter,
    admin: &Admin,
    user: &User,
    doing: &str,
) -> Result<Option<String>, AdminError> {
    let holds = |u: &User| u.enabled && roles_of(u).contains(&DirectoryRole::GlobalAdministrator);
    if !holds(user) {
        return Ok(None);
    }
    let others = center
        .authority()
        .users_with_directory_roles(admin.tenant_id())
        .await?
        .iter()
        .filter(|u| u.id != user.id && holds(u))
        .count();
    if others > 0 {
        return Ok(None);
    }
    let who = if user.id == admin.user.id {
        "You are".to_owned()
    } else {
        format!("{} is", user.email)
    };
    Ok(Some(format!(
        "Refused: {who} the tenant's last enabled Global Administrator, so you cannot {doing}: no one \
         could manage users, roles or signing keys afterwards. Give another user the Global \
         Administrator role first. Nothing was changed."
    )))
}

/// The role names of a user, for lists and audit rows.
fn role_names(roles: &[DirectoryRole]) -> String {
    roles.iter().map(|r| r.display_name()).collect::<Vec<_>>().join(", ")
}

/// A row of the list.
pub struct UserRow {
    id: String,
    email: String,
    name: String,
    enabled: bool,
    roles: String,
    created: When,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    query: String,
    rows: Vec<UserRow>,
    /// Users that match the search (all when there is none).
    matched: usize,
    total: usize,
    may_change: bool,
}

/// `?q=` of the list.
#[derive(Deserialize)]
pub(crate) struct Search {
    #[serde(default)]
    q: String,
    done: Option<String>,
}

/// The most rows the list shows: a tenant of a million customers is searched, not scrolled.
const SHOWN: usize = 200;

/// Users read from the database at a time while the list is made.
const READ_AT_A_TIME: u32 = 1_000;

/// `GET /admin/users`: the users of the tenant by email, or those whose email or display name
/// contains the search (any case) or whose object ID starts with it; the first [`SHOWN`] of
/// them, and how many there are. Users are read a page at a time, so memory stays bounded
/// whatever the tenant's size.
pub(crate) async fn list(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Query(search): Query<Search>,
) -> Result<Response, AdminError> {
    let query = search.q.trim().to_lowercase();
    let matches = |u: &User| {
        query.is_empty()
            || u.email.contains(&query)
            || u.display_name.to_lowercase().contains(&query)
            || u.id.to_string().starts_with(&query)
    };
    let (mut total, mut matched, mut rows) = (0, 0, Vec::new());
    let mut after = None;
    loop {
        let (users, next) = center
            .authority()
            .users_page(admin.tenant_id(), after.as_ref(), READ_AT_A_TIME)
            .await?;
        total += users.len();
        for u in users.into_iter().filter(|u| matches(u)) {
            matched += 1;
            if rows.len() < SHOWN {
                rows.push(UserRow {
                    id: u.id.to_string(),
                    roles: role_names(&roles_of(&u)),
                    email: u.email,
                    name: u.display_name,
                    enabled: u.enabled,
                    created: When::of(u.created),
                });
            }
        }
        if next.is_none() {
            break;
        }
        after = next;
    }
    Ok(UsersPage {
        chrome: Chrome::of(&admin, SECTION).done(DONE, search.done.as_deref()),
        query: search.q.trim().to_owned(),
        rows,
        matched,
        total,
        may_change: admin.may(Permission::ManageDirectory),
    }
    .into_page())
}

/// A role checkbox of the New user form.
pub struct RoleChoice {
    /// `global-admin`.
    value: &'static str,
    /// `Global Administrator`.
    name: &'static str,
    /// Ticked.
    checked: bool,
}

fn role_choices(chosen: &[DirectoryRole]) -> Vec<RoleChoice> {
    DirectoryRole::ALL
        .into_iter()
        .map(|r| RoleChoice {
            value: r.cli_name(),
            name: r.display_name(),
            checked: chosen.contains(&r),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "users_new.html")]
struct NewUserPage {
    chrome: Chrome,
    email: String,
    display_name: String,
    generate: bool,
    roles: Vec<RoleChoice>,
    error: Option<String>,
}

/// `GET /admin/users/new`.
pub(crate) async fn new_form(admin: Admin) -> Result<Response, AdminError> {
    admin.require(Permission::ManageDirectory)?;
    Ok(NewUserPage {
        chrome: Chrome::of(&admin, SECTION),
        email: String::new(),
        display_name: String::new(),
        generate: false,
        roles: role_choices(&[]),
        error: None,
    }
    .into_page())
}

/// The New user form, read from its pairs (the `role` checkboxes repeat).
struct NewUserForm {
    email: String,
    display_name: String,
    password: Zeroizing<String>,
    repeat: Zeroizing<String>,
    generate: bool,
    roles: Vec<DirectoryRole>,
}

impl NewUserForm {
    fn read(pairs: Vec<(String, String)>) -> Result<Self, AdminError> {
        let mut form = Self {
            email: String::new(),
            display_name: String::new(),
            password: Zeroizing::default(),
            repeat: Zeroizing::default(),
            generate: false,
            roles: Vec::new(),
        };
        for (name, value) in pairs {
            match name.as_str() {
                "email" => form.email = value,
                "display_name" => form.display_name = value,
                "password" => form.password = Zeroizing::new(value),
                "password_repeat" => form.repeat = Zeroizing::new(value),
                "generate" => form.generate = value == "yes",
                "role" => {
                    let role = value
                        .parse::<DirectoryRole>()
                        .map_err(|e| AdminError::BadForm(e.to_string()))?;
                    if !form.roles.contains(&role) {
                        form.roles.push(role);
                    }
                }
                _ => {}
            }
        }
        form.roles.sort();
        Ok(form)
    }
}

/// The page with the value of a password shown once.
#[derive(Template)]
#[template(path = "users_password.html")]
struct PasswordShownPage {
    chrome: Chrome,
    id: String,
    email: String,
    password: Zeroizing<String>,
}

/// `POST /admin/users/new`: creates the user, gives the chosen roles; a refused email, name or
/// password brings the form back with what was typed (never the password) and the reason.
pub(crate) async fn create(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    AdminForm(pairs): AdminForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageDirectory)?;
    let form = NewUserForm::read(pairs)?;
    let refuse = |error: String| {
        let mut page = NewUserPage {
            chrome: Chrome::of(&admin, SECTION),
            email: form.email.clone(),
            display_name: form.display_name.clone(),
            generate: form.generate,
            roles: role_choices(&form.roles),
            error: Some(error),
        }
        .into_page();
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        page
    };
    let password = if form.generate {
        generate_password()?
    } else if form.password.is_empty() {
        return Ok(refuse(
            "Type the password twice, or tick \"Generate a password\".".into(),
        ));
    } else if *form.password != *form.repeat {
        return Ok(refuse("The two passwords differ: type the same password twice.".into()));
    } else {
        form.password.clone()
    };
    let name = form.display_name.trim();
    let new = NewUser {
        email: form.email.clone(),
        display_name: (!name.is_empty()).then(|| name.to_owned()),
        password: password.clone(),
        enabled: true,
        email_verified: true,
    };
    let user = match center.authority().create_user(admin.tenant_id(), new).await {
        Ok(user) => user,
        Err(e @ (keyward_authority::Error::Account(_) | keyward_authority::Error::UserExists(_))) => {
            return Ok(refuse(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    for role in &form.roles {
        center
            .authority()
            .assign_directory_role(admin.tenant_id(), user.id, *role)
            .await?;
    }
    let roles = if form.roles.is_empty() {
        String::new()
    } else {
        format!(" with the role(s) {}", role_names(&form.roles))
    };
    center
        .audit(
            &admin,
            "user.create",
            "user",
            &user.id.to_string(),
            &format!(
                "Created the user {}{roles}, with a {} password",
                user.email,
                if form.generate { "generated" } else { "typed" }
            ),
        )
        .await;
    if form.generate {
        return Ok(PasswordShownPage {
            chrome: Chrome::of(&admin, SECTION).done(DONE, Some("created")),
            id: user.id.to_string(),
            email: user.email,
            password,
        }
        .into_page());
    }
    Ok(see_other(&format!("/admin/users/{}?done=created", user.id)))
}

/// A directory role on a user's page.
pub struct RoleRow {
    /// `global-admin`.
    value: &'static str,
    /// `Global Administrator`.
    name: &'static str,
    /// Whether the user holds it.
    held: bool,
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    chrome: Chrome,
    id: String,
    email: String,
    name: String,
    enabled: bool,
    email_verified: bool,
    created: When,
    roles: Vec<RoleRow>,
    audit: Vec<AuditRow>,
    may_change: bool,
    is_self: bool,
    error: Option<String>,
}

impl UserPage {
    async fn of(center: &AdminCenter, admin: &Admin, user: User, chrome: Chrome) -> Result<Self, AdminError> {
        let held = roles_of(&user);
        let id = user.id.to_string();
        let audit = center.audit_log(admin.tenant_id(), Some(("user", &id))).await?;
        Ok(Self {
            chrome,
            is_self: user.id == admin.user.id,
            roles: DirectoryRole::ALL
                .into_iter()
                .map(|r| RoleRow {
                    value: r.cli_name(),
                    name: r.display_name(),
                    held: held.contains(&r),
                })
                .collect(),
            id,
            email: user.email,
            name: user.display_name,
            enabled: user.enabled,
            email_verified: user.email_verified,
            created: When::of(user.created),
            audit: AuditRow::of(audit),
            may_change: admin.may(Permission::ManageDirectory),
            error: None,
        })
    }
}

/// The user's page with `error` at the top, answered with `status`.
async fn refused(
    center: &AdminCenter,
    admin: &Admin,
    user: User,
    status: StatusCode,
    error: String,
) -> Result<Response, AdminError> {
    let mut page = UserPage::of(center, admin, user, Chrome::of(admin, SECTION)).await?;
    page.error = Some(error);
    let mut response = page.into_page();
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /admin/users/{id}`.
pub(crate) async fn show(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, AdminError> {
    let user = find(&center, &admin, &id).await?;
    let chrome = Chrome::of(&admin, SECTION).done(DONE, done.done.as_deref());
    Ok(UserPage::of(&center, &admin, user, chrome).await?.into_page())
}

/// `POST /admin/users/{id}/disable`: asks first, then disables (refused for the last enabled
/// Global Administrator).
pub(crate) async fn disable(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    AdminForm(confirmation): AdminForm<Confirmation>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageDirectory)?;
    let user = find(&center, &admin, &id).await?;
    if let Some(why) = last_global_admin(&center, &admin, &user, "disable this account").await? {
        return refused(&center, &admin, user, StatusCode::CONFLICT, why).await;
    }
    if !confirmation.given() {
        return Ok(Confirm {
            chrome: Chrome::of(&admin, SECTION),
            question: format!("Disable {}?", user.email),
            consequence: "They cannot sign in, and their sessions and refresh tokens are revoked at once.".into(),
            action: format!("/admin/users/{}/disable", user.id),
            back: format!("/admin/users/{}", user.id),
        }
        .into_page());
    }
    let user = center
        .authority()
        .set_user_enabled(admin.tenant_id(), user.id, false)
        .await?;
    center
        .audit(
            &admin,
            "user.disable",
            "user",
            &user.id.to_string(),
            &format!(
                "Disabled {}; their sessions and refresh tokens were revoked",
                user.email
            ),
        )
        .await;
    Ok(see_other(&format!("/admin/users/{}?done=disabled", user.id)))
}

/// `POST /admin/users/{id}/enable`.
pub(crate) async fn enable(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    AdminForm(_): AdminForm<super::NoFields>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageDirectory)?;
    let user = find(&center, &admin, &id).await?;
    let user = center
        .authority()
        .set_user_enabled(admin.tenant_id(), user.id, true)
        .await?;
    center
        .audit(
            &admin,
            "user.enable",
            "user",
            &user.id.to_string(),
            &format!("Enabled {}", user.email),
        )
        .await;
    Ok(see_other(&format!("/admin/users/{}?done=enabled", user.id)))
}

/// The Reset password form.
#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_repeat: String,
    #[serde(default)]
    generate: String,
}

/// `POST /admin/users/{id}/password`: a typed (twice) or generated password; a generated one
/// is shown once in the answer.
pub(crate) async fn reset_password(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    AdminForm(form): AdminForm<PasswordForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageDirectory)?;
    let user = find(&center, &admin, &id).await?;
    let generate = form.generate == "yes";
    let typed = Zeroizing::new(form.password);
    let repeat = Zeroizing::new(form.password_repeat);
    let password = if generate {
        generate_password()?
    } else if typed.is_empty() {
        let why = "Type the new password twice, or tick \"Generate a password\".".to_owned();
        return refused(&center, &admin, user, StatusCode::UNPROCESSABLE_ENTITY, why).await;
    } else if *typed != *repeat {
        let why = "The two passwords differ: type the same password twice. Nothing was changed.".to_owned();
        return refused(&center, &admin, user, StatusCode::UNPROCESSABLE_ENTITY, why).await;
    } else {
        typed
    };
    let user = match center
        .authority()
        .reset_password(admin.tenant_id(), user.id, password.clone())
        .await
    {
        Ok(user) => user,
        Err(keyward_authority::Error::Account(e)) => {
            let why = format!("{e} Nothing was changed.");
            return refused(&center, &admin, user, StatusCode::UNPROCESSABLE_ENTITY, why).await;
        }
        Err(e) => return Err(e.into()),
    };
    center
        .audit(
            &admin,
            "user.password.reset",
            "user",
            &user.id.to_string(),
            &format!(
                "Reset the password of {} (a {} one); their sessions and refresh tokens were revoked",
                user.email,
                if generate { "generated" } else { "typed" }
            ),
        )
        .await;
    if generate {
        return Ok(PasswordShownPage {
            chrome: Chrome::of(&admin, SECTION).done(DONE, Some("password")),
            id: user.id.to_string(),
            email: user.email,
            password,
        }
        .into_page());
    }
    Ok(see_other(&format!("/admin/users/{}?done=password", user.id)))
}

/// The form of a role's Add or Remove button.
#[derive(Deserialize)]
pub(crate) struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /admin/users/{id}/roles/add`.
pub(crate) async fn add_role(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    AdminForm(form): AdminForm<RoleForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageDirectory)?;
    let user = find(&center, &admin, &id).await?;
    let role = form
        .role
        .parse::<DirectoryRole>()
        .map_err(|e| AdminError::BadForm(e.to_string()))?;
    center
        .authority()
        .assign_directory_role(admin.tenant_id(), user.id, role)
        .await?;
    center
        .audit(
            &admin,
            "user.role.add",
            "user",
            &user.id.to_string(),
            &format!("Gave {} the {} role", user.email, role.display_name()),
        )
        .await;
    Ok(see_other(&format!("/admin/users/{}?done=role-added", user.id)))
}

/// `POST /admin/users/{id}/roles/remove` (refused for the last enabled Global Administrator's
/// Global Administrator role).
pub(crate) async fn remove_role(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    AdminForm(form): AdminForm<RoleForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageDirectory)?;
    let user = find(&center, &admin, &id).await?;
    let role = form
        .role
        .parse::<DirectoryRole>()
        .map_err(|e| AdminError::BadForm(e.to_string()))?;
    if role == DirectoryRole::GlobalAdministrator
        && let Some(why) = last_global_admin(&center, &admin, &user, "remove the Global Administrator role").await?
    {
        return refused(&center, &admin, user, StatusCode::CONFLICT, why).await;
    }
    center
        .authority()
        .remove_directory_role(admin.tenant_id(), user.id, role)
        .await?;
    center
        .audit(
            &admin,
            "user.role.remove",
            "user",
            &user.id.to_string(),
            &format!("Took the {} role from {}", role.display_name(), user.email),
        )
        .await;
    Ok(see_other(&format!("/admin/users/{}?done=role-removed", user.id)))
}

/// `POST /admin/users/{id}/delete`: asks first, then deletes (refused for the last enabled
/// Global Administrator).
pub(crate) async fn delete(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    AdminForm(confirmation): AdminForm<Confirmation>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageDirectory)?;
    let user = find(&center, &admin, &id).await?;
    if let Some(why) = last_global_admin(&center, &admin, &user, "delete this account").await? {
        return refused(&center, &admin, user, StatusCode::CONFLICT, why).await;
    }
    if !confirmation.given() {
        return Ok(Confirm {
            chrome: Chrome::of(&admin, SECTION),
            question: format!("Delete {}?", user.email),
            consequence: "They can no longer sign in, their sessions and refresh tokens are revoked, and \
                          their directory roles are taken away. This cannot be undone."
                .into(),
            action: format!("/admin/users/{}/delete", user.id),
            back: format!("/admin/users/{}", user.id),
        }
        .into_page());
    }
    center.authority().delete_user(admin.tenant_id(), user.id).await?;
    center
        .audit(
            &admin,
            "user.delete",
            "user",
            &user.id.to_string(),
            &format!("Deleted the user {}", user.email),
        )
        .await;
    Ok(see_other("/admin/users?done=deleted"))
}
