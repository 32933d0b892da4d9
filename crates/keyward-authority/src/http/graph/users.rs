//! `/v1.0/users`: the users of the management API, shaped like Microsoft Graph v1.0 for Entra External ID:
//! `POST/GET /v1.0/users`, `GET/PATCH/DELETE /v1.0/users/{id}`. A local account's sign-in
//! email is its `identities` entry with `signInType: "emailAddress"` (also shown as `mail`);
//! `passwordProfile.password` sets its password; `accountEnabled: false` disables it and
//! revokes its sessions and tokens. Callers are authorized like the applications API.
//!
//! As a convenience `{id}` may also be the user's email.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use keyward_store::User;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::paging::{self, Paging};
use super::{GraphCaller, GraphError, GraphResult};
use crate::authority::Authority;
use crate::users::{NewUser, UserChange};

fn render(user: &User, domain: &str) -> Value {
    let upn = format!("{}@{domain}", user.id.simple());
    json!({
        "id": user.id,
        "displayName": user.display_name,
        "mail": user.email,
        "userPrincipalName": upn,
        "accountEnabled": user.enabled,
        "createdDateTime": super::date(user.created),
        "creationType": "LocalAccount",
        "userType": "Member",
        "identities": [
            {"signInType": "emailAddress", "issuer": domain, "issuerAssignedId": user.email},
            {"signInType": "userPrincipalName", "issuer": domain, "issuerAssignedId": upn},
        ],
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserBody {
    account_enabled: Option<bool>,
    display_name: Option<String>,
    mail: Option<String>,
    identities: Option<Vec<IdentityBody>>,
    password_profile: Option<PasswordProfileBody>,
    // Sent by Graph clients; nothing here depends on them.
    #[allow(dead_code)]
    password_policies: Option<String>,
    #[allow(dead_code)]
    mail_nickname: Option<String>,
    #[allow(dead_code)]
    user_principal_name: Option<String>,
    #[allow(dead_code)]
    creation_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityBody {
    sign_in_type: Option<String>,
    #[allow(dead_code)]
    issuer: Option<String>,
    issuer_assigned_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordProfileBody {
    password: Option<String>,
    force_change_password_next_sign_in: Option<bool>,
}

impl UserBody {
    /// The sign-in email: the `emailAddress` identity, or `mail`; they must agree if both are
    /// given.
    fn email(&self) -> GraphResult<Option<String>> {
        let identity = self
            .identities
            .iter()
            .flatten()
            .find(|i| i.sign_in_type.as_deref() == Some("emailAddress"))
            .and_then(|i| i.issuer_assigned_id.clone());
        match (identity, &self.mail) {
            (Some(a), Some(b)) if !a.trim().eq_ignore_ascii_case(b.trim()) => Err(GraphError::bad_request(
                "mail and the emailAddress identity differ; give one email.",
            )),
            (Some(a), _) => Ok(Some(a)),
            (None, b) => Ok(b.clone()),
        }
    }

    fn password(&mut self) -> GraphResult<Option<Zeroizing<String>>> {
        let Some(profile) = self.password_profile.take() else {
            return Ok(None);
        };
        if profile.force_change_password_next_sign_in == Some(true) {
            return Err(GraphError::bad_request(
                "forceChangePasswordNextSignIn is not supported: give the user their final password.",
            ));
        }
        Ok(profile.password.map(Zeroizing::new))
    }
}

/// `GET /v1.0/users`: the accounts of the tenant by email, in pages ([`paging`]).
pub(crate) async fn list(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    RawQuery(query): RawQuery,
) -> GraphResult {
    let paging = Paging::from_query(query.as_deref())?;
    let (users, next) = authority
        .users_page(caller.tenant_id(), paging.user_cursor()?.as_ref(), paging.top)
        .await?;
    let domain = &caller.tenant().tenant.domain;
    let rendered = users.iter().map(|u| render(u, domain)).collect();
    let next = next.as_ref().map(paging::user_token);
    Ok(paging::page(
        &authority,
        "/v1.0/users",
        query.as_deref(),
        rendered,
        next,
    ))
}

/// `POST /v1.0/users`.
pub(crate) async fn create(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let mut body: UserBody = super::body(&bytes)?;
    let email = body.email()?.ok_or_else(|| {
        GraphError::bad_request(
            "The user needs an email: an identity with signInType emailAddress and issuerAssignedId, or mail.",
        )
    })?;
    let password = body
        .password()?
        .ok_or_else(|| GraphError::bad_request("The user needs a password: passwordProfile.password."))?;
    let new = NewUser {
        email,
        display_name: body.display_name.take(),
        password,
        enabled: body.account_enabled.unwrap_or(true),
        // The administrator who made the account vouches for its email.
        email_verified: true,
    };
    let user = authority.create_user(caller.tenant_id(), new).await?;
    let domain = &caller.tenant().tenant.domain;
    Ok((StatusCode::CREATED, axum::Json(render(&user, domain))).into_response())
}

/// A user by object id or email.
async fn find(authority: &Authority, caller: &GraphCaller, id: &str) -> GraphResult<User> {
    let found = match Uuid::parse_str(id) {
        Ok(uuid) => authority.user(caller.tenant_id(), uuid).await,
        Err(_) if id.contains('@') => authority.user_by_email(caller.tenant_id(), id).await,
        Err(_) => {
            return Err(GraphError::bad_request(format!(
                "Invalid object identifier '{}'.",
                id.chars().take(64).collect::<String>()
            )));
        }
    };
    Ok(found?)
}

/// `GET /v1.0/users/{id}`.
pub(crate) async fn get(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    let user = find(&authority, &caller, &id).await?;
    Ok(axum::Json(render(&user, &caller.tenant().tenant.domain)).into_response())
}

/// `PATCH /v1.0/users/{id}`.
pub(crate) async fn patch(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let user = find(&authority, &caller, &id).await?;
    let mut body: UserBody = super::body(&bytes)?;
    let change = UserChange {
        display_name: body.display_name.take(),
        email: body.email()?,
        enabled: body.account_enabled,
        password: body.password()?,
    };
    authority.update_user(caller.tenant_id(), user.id, change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /v1.0/users/{id}`.
pub(crate) async fn delete(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    let user = find(&authority, &caller, &id).await?;
    authority.delete_user(caller.tenant_id(), user.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
