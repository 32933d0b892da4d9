//! `/secrets/...` and `/deletedsecrets/...`: parse, call the service, render. A handler with a
//! body checks the caller's permission before it reads the body.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::{Body, VaultCall};
use super::error::ApiError;
use super::wire;
use crate::{SecretPermission, Vaults};

type Reply = Result<Response, ApiError>;

fn ok(value: Value) -> Reply {
    Ok(Json(value).into_response())
}

pub(crate) async fn list(State(v): State<Arc<Vaults>>, call: VaultCall) -> Reply {
    let page = v.secrets(&call.access, &call.query.page).await?;
    ok(wire::page(&call.base, "/secrets", &call.query, &page, |s| {
        wire::secret_item(&call.base, s, false)
    }))
}

pub(crate) async fn set(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>, body: Body) -> Reply {
    call.access.require(SecretPermission::Set)?;
    let s = v.set_secret(&call.access, &name, body.json()?).await?;
    ok(wire::secret(&call.base, &s))
}

pub(crate) async fn get_latest(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let s = v.secret(&call.access, &name, None).await?;
    ok(wire::secret(&call.base, &s))
}

pub(crate) async fn get_version(
    State(v): State<Arc<Vaults>>,
    call: VaultCall,
    Path((name, version)): Path<(String, String)>,
) -> Reply {
    let s = v.secret(&call.access, &name, Some(&version)).await?;
    ok(wire::secret(&call.base, &s))
}

pub(crate) async fn versions(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let page = v.secret_versions(&call.access, &name, &call.query.page).await?;
    let path = format!("/secrets/{name}/versions");
    ok(wire::page(&call.base, &path, &call.query, &page, |s| {
        wire::secret_item(&call.base, s, true)
    }))
}

pub(crate) async fn update_latest(
    State(v): State<Arc<Vaults>>,
    call: VaultCall,
    Path(name): Path<String>,
    body: Body,
) -> Reply {
    call.access.require(SecretPermission::Set)?;
    let s = v.update_secret(&call.access, &name, None, body.json()?).await?;
    ok(wire::secret(&call.base, &s))
}

pub(crate) async fn update_version(
    State(v): State<Arc<Vaults>>,
    call: VaultCall,
    Path((name, version)): Path<(String, String)>,
    body: Body,
) -> Reply {
    call.access.require(SecretPermission::Set)?;
    let s = v
        .update_secret(&call.access, &name, Some(&version), body.json()?)
        .await?;
    ok(wire::secret(&call.base, &s))
}

pub(crate) async fn delete(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let d = v.delete_secret(&call.access, &name).await?;
    ok(wire::deleted_secret(&call.base, &d))
}

pub(crate) async fn list_deleted(State(v): State<Arc<Vaults>>, call: VaultCall) -> Reply {
    let page = v.deleted_secrets(&call.access, &call.query.page).await?;
    ok(wire::page(&call.base, "/deletedsecrets", &call.query, &page, |d| {
        wire::deleted_secret_item(&call.base, d)
    }))
}

pub(crate) async fn get_deleted(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let d = v.deleted_secret(&call.access, &name).await?;
    ok(wire::deleted_secret(&call.base, &d))
}

pub(crate) async fn recover(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let s = v.recover_secret(&call.access, &name).await?;
    ok(wire::secret(&call.base, &s))
}

pub(crate) async fn purge(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    v.purge_secret(&call.access, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
