//! `/certificates/...` and `/deletedcertificates/...`: parse, call the service, render. A
//! handler with a body checks the caller's permission before it reads the body, so that a caller
//! without it gets the same 403 whatever it sends.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::auth::{Body, VaultCall};
use super::error::ApiError;
use super::wire;
use crate::{CertificatePermission, Vaults};

type Reply = Result<Response, ApiError>;

fn ok(value: Value) -> Reply {
    Ok(Json(value).into_response())
}

pub(crate) async fn list(State(v): State<Arc<Vaults>>, call: VaultCall) -> Reply {
    let page = v.certificates(&call.access, &call.query.page).await?;
    ok(wire::page(&call.base, "/certificates", &call.query, &page, |c| {
        wire::certificate_item(&call.base, c, false)
    }))
}

pub(crate) async fn get_latest(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let c = v.certificate(&call.access, &name, None).await?;
    ok(wire::certificate(&call.base, &c))
}

pub(crate) async fn get_version(
    State(v): State<Arc<Vaults>>,
    call: VaultCall,
    Path((name, version)): Path<(String, String)>,
) -> Reply {
    let c = v.certificate(&call.access, &name, Some(&version)).await?;
    ok(wire::certificate(&call.base, &c))
}

pub(crate) async fn create(
    State(v): State<Arc<Vaults>>,
    call: VaultCall,
    Path(name): Path<String>,
    body: Body,
) -> Reply {
    call.access.require(CertificatePermission::Create)?;
    let request = body.json()?;
    let op = v.create_certificate(&call.access, &name, request).await?;
    let mut response = (StatusCode::ACCEPTED, Json(wire::operation_accepted(&call.base, &op))).into_response();
    let mut location = format!("{}/certificates/{}/pending?", call.base, op.name);
    if let Some(api) = &call.query.api_version {
        location.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .append_pair("api-version", api)
                .finish(),
        );
        location.push('&');
    }
    location.push_str(&format!("request_id={}", op.request_id));
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

pub(crate) async fn import(
    State(v): State<Arc<Vaults>>,
    call: VaultCall,
    Path(name): Path<String>,
    body: Body,
) -> Reply {
    call.access.require(CertificatePermission::Import)?;
    let request = body.json()?;
    let c = v.import_certificate(&call.access, &name, request).await?;
    ok(wire::certificate(&call.base, &c))
}

pub(crate) async fn versions(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let page = v.certificate_versions(&call.access, &name, &call.query.page).await?;
    let path = format!("/certificates/{name}/versions");
    ok(wire::page(&call.base, &path, &call.query, &page, |c| {
        wire::certificate_item(&call.base, c, true)
    }))
}

pub(crate) async fn update_latest(
    State(v): State<Arc<Vaults>>,
    call: VaultCall,
    Path(name): Path<String>,
    body: Body,
) -> Reply {
    call.access.require(CertificatePermission::Update)?;
    let c = v.update_certificate(&call.access, &name, None, body.json()?).await?;
    ok(wire::certificate(&call.base, &c))
}

pub(crate) async fn update_version(
    State(v): State<Arc<Vaults>>,
    call: VaultCall,
    Path((name, version)): Path<(String, String)>,
    body: Body,
) -> Reply {
    call.access.require(CertificatePermission::Update)?;
    let c = v
        .update_certificate(&call.access, &name, Some(&version), body.json()?)
        .await?;
    ok(wire::certificate(&call.base, &c))
}

pub(crate) async fn get_policy(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let p = v.certificate_policy(&call.access, &name).await?;
    ok(wire::policy_bundle(&call.base, &p))
}

pub(crate) async fn update_policy(
    State(v): State<Arc<Vaults>>,
    call: VaultCall,
    Path(name): Path<String>,
    body: Body,
) -> Reply {
    call.access.require(CertificatePermission::Update)?;
    let p = v.update_certificate_policy(&call.access, &name, body.json()?).await?;
    ok(wire::policy_bundle(&call.base, &p))
}

pub(crate) async fn get_operation(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let op = v.certificate_operation(&call.access, &name).await?;
    ok(wire::operation(&call.base, &op))
}

#[derive(Debug, Default, Deserialize)]
struct CancelOperation {
    #[serde(default)]
    cancellation_requested: Option<bool>,
}

pub(crate) async fn cancel_operation(
    State(v): State<Arc<Vaults>>,
    call: VaultCall,
    Path(name): Path<String>,
    body: Body,
) -> Reply {
    call.access.require(CertificatePermission::Update)?;
    let request: CancelOperation = body.json()?;
    let cancel = request
        .cancellation_requested
        .ok_or_else(|| ApiError::bad_parameter("The request needs cancellation_requested."))?;
    let op = v.cancel_certificate_operation(&call.access, &name, cancel).await?;
    ok(wire::operation(&call.base, &op))
}

pub(crate) async fn delete_operation(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let op = v.delete_certificate_operation(&call.access, &name).await?;
    ok(wire::operation(&call.base, &op))
}

pub(crate) async fn merge(
    State(v): State<Arc<Vaults>>,
    call: VaultCall,
    Path(name): Path<String>,
    body: Body,
) -> Reply {
    call.access.require(CertificatePermission::Create)?;
    let c = v.merge_certificate(&call.access, &name, body.json()?).await?;
    let mut response = Json(wire::certificate(&call.base, &c)).into_response();
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

pub(crate) async fn delete(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let d = v.delete_certificate(&call.access, &name).await?;
    ok(wire::deleted_certificate(&call.base, &d))
}

pub(crate) async fn list_deleted(State(v): State<Arc<Vaults>>, call: VaultCall) -> Reply {
    let page = v.deleted_certificates(&call.access, &call.query.page).await?;
    ok(wire::page(
        &call.base,
        "/deletedcertificates",
        &call.query,
        &page,
        |d| wire::deleted_certificate_item(&call.base, d),
    ))
}

pub(crate) async fn get_deleted(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let d = v.deleted_certificate(&call.access, &name).await?;
    ok(wire::deleted_certificate(&call.base, &d))
}

pub(crate) async fn recover(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    let c = v.recover_certificate(&call.access, &name).await?;
    ok(wire::certificate(&call.base, &c))
}

pub(crate) async fn purge(State(v): State<Arc<Vaults>>, call: VaultCall, Path(name): Path<String>) -> Reply {
    v.purge_certificate(&call.access, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
