//! The HTTP surface.

use std::sync::Arc;

use axum::Router;

use crate::Vaults;

/// The vault API at the root (`/certificates...`, `/secrets...`, `/deletedcertificates...`,
/// `/deletedsecrets...`) and the management API under `/admin/api/vaults`.
pub fn router(vaults: Arc<Vaults>) -> Router {
    Router::new().with_state(vaults)
}
