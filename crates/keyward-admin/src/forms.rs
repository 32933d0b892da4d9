//! The bodies of the admin center's forms, read only after the CSRF token is checked against
//! the session: [`AdminForm`] (`application/x-www-form-urlencoded`, typed) and [`Upload`]
//! (`multipart/form-data` with a file). Both are size-limited before parsing by the route's
//! body limit.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use serde::de::DeserializeOwned;

use crate::AdminCenter;
use crate::error::AdminError;
use crate::session::SessionCookie;

/// The name of the CSRF field of every form.
pub const CSRF_FIELD: &str = "csrf";

/// A form of this session, typed: its CSRF token checked, then its fields read into `T`
/// (unknown fields, the token among them, are ignored).
pub struct AdminForm<T>(pub T);

fn check_csrf(
    center: &AdminCenter,
    request_session: Option<&SessionCookie>,
    token: Option<&str>,
) -> Result<(), AdminError> {
    let session = request_session.ok_or(AdminError::SignInRequired { return_to: None })?;
    match token {
        Some(token) if session.csrf_ok(center, token) => Ok(()),
        _ => Err(AdminError::Csrf),
    }
}

fn too_large_or(e: impl std::fmt::Display) -> AdminError {
    let text = e.to_string();
    if text.contains("length limit") || text.contains("too large") {
        AdminError::UploadTooLarge
    } else {
        AdminError::BadForm(text)
    }
}

impl<T: DeserializeOwned> FromRequest<Arc<AdminCenter>> for AdminForm<T> {
    type Rejection = AdminError;

    async fn from_request(request: Request, center: &Arc<AdminCenter>) -> Result<Self, AdminError> {
        let session = request.extensions().get::<SessionCookie>().cloned();
        let bytes = Bytes::from_request(request, center).await.map_err(too_large_or)?;
        let token = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.into_owned());
        check_csrf(center, session.as_ref(), token.as_deref())?;
        serde_urlencoded::from_bytes(&bytes)
            .map(AdminForm)
            .map_err(|e| AdminError::BadForm(e.to_string()))
    }
}

/// A multipart body that could not be read: too large (the route's limit, found while
/// streaming) or malformed. (Its `Display` says neither, so the status decides.)
fn multipart_error(e: axum::extract::multipart::MultipartError) -> AdminError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AdminError::UploadTooLarge
    } else {
        AdminError::BadForm(e.body_text())
    }
}

/// A file sent with a form.
pub struct UploadedFile {
    /// The name the browser gave, for messages only.
    pub file_name: String,
    /// Its bytes.
    pub bytes: Bytes,
}

/// A `multipart/form-data` form of this session: text fields and files, its CSRF token checked.
pub struct Upload {
    /// Text fields by name.
    pub fields: HashMap<String, String>,
    /// Files by field name.
    pub files: HashMap<String, UploadedFile>,
}

impl Upload {
    /// A text field, trimmed; empty counts as absent.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// A file field that holds bytes.
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        self.files.get(name).filter(|f| !f.bytes.is_empty())
    }
}

impl FromRequest<Arc<AdminCenter>> for Upload {
    type Rejection = AdminError;

    async fn from_request(request: Request, center: &Arc<AdminCenter>) -> Result<Self, AdminError> {
        let session = request.extensions().get::<SessionCookie>().cloned();
        if session.is_none() {
            return Err(AdminError::SignInRequired { return_to: None });
        }
        let mut multipart = Multipart::from_request(request, center)
            .await
            .map_err(|e| AdminError::BadForm(e.to_string()))?;
        let mut fields = HashMap::new();
        let mut files = HashMap::new();
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let bytes = field.bytes().await.map_err(multipart_error)?;
                    files.insert(name, UploadedFile { file_name, bytes });
                }
                None => {
                    let text = field.text().await.map_err(multipart_error)?;
                    fields.insert(name, text);
                }
            }
        }
        check_csrf(center, session.as_ref(), fields.get(CSRF_FIELD).map(String::as_str))?;
        Ok(Self { fields, files })
    }
}
