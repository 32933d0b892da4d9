//! The token service's errors on the wire, exactly as Entra renders them: HTTP status, `error`,
//! an `error_description` that starts with the AADSTS code, `error_codes`, timestamp, trace and
//! correlation ids, and the `client-request-id` echoed.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

use crate::oauth_error::{OAuthError, OAuthErrorKind};

/// The HTTP status Entra answers an error with.
pub(crate) fn status(kind: OAuthErrorKind) -> StatusCode {
    match kind {
        OAuthErrorKind::InvalidClient => StatusCode::UNAUTHORIZED,
        OAuthErrorKind::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        OAuthErrorKind::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: String,
    error_codes: [u32; 1],
    timestamp: String,
    trace_id: String,
    correlation_id: String,
    error_uri: String,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let now = OffsetDateTime::now_utc();
        let timestamp = now
            .format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z"))
            .unwrap_or_default();
        let trace_id = Uuid::new_v4().to_string();
        let correlation_id = self.correlation_id.unwrap_or_else(Uuid::new_v4).to_string();
        let echoed = HeaderValue::from_str(&correlation_id);
        let body = Body {
            error: self.kind.as_str(),
            error_description: format!(
                "AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
                self.code,
                self.message.trim_end_matches('.').to_owned() + "."
            ),
            error_codes: [self.code],
            timestamp,
            trace_id,
            correlation_id,
            error_uri: format!("https://login.microsoftonline.com/error?code={}", self.code),
        };
        let mut response = (status(self.kind), axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Ok(value) = echoed {
            headers.insert("client-request-id", value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
        if self.kind == OAuthErrorKind::TemporarilyUnavailable {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(keyward_store::RETRY_AFTER_SECONDS),
            );
        }
        if self.kind == OAuthErrorKind::InvalidClient {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_client\""),
            );
        }
        response
    }
}
