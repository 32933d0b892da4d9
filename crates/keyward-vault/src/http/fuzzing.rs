//! What only the HTTP layer reads, for [`crate::fuzzing`]: the `Host` header of a request.

use axum::http::{Request, header};

use super::auth;
use crate::vault_for_host;

/// The request's `Host` header as the vault reads it: at most 255 printable bytes, and the
/// vault it names.
pub(crate) fn host_header(data: &[u8]) {
    let Ok(request) = Request::builder().header(header::HOST, data).body(()) else {
        return;
    };
    let (parts, ()) = request.into_parts();
    if let Ok(host) = auth::request_host(&parts) {
        assert!(host.len() <= 255 && host.bytes().all(|b| b.is_ascii_graphic()));
        let _ = vault_for_host(&host);
    }
}
