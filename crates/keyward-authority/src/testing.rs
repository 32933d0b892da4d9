//! What the unit tests of the domain share: an [`Authority`] over a fresh SQLite database in a
//! temporary directory, with one tenant.

use std::sync::Arc;

use keyward_pki::sealing::MasterKey;

use crate::{Authority, Config, TenantEntry};

/// An authority, its tenant, and the directory its database lives in (removed on drop).
pub(crate) struct TestAuthority {
    pub(crate) authority: Arc<Authority>,
    pub(crate) tenant: Arc<TenantEntry>,
    pub(crate) _dir: tempfile::TempDir,
}

/// A new authority with `config` and the tenant `contoso`.
pub(crate) async fn authority(config: Config) -> TestAuthority {
    let dir = tempfile::tempdir().expect("tempdir");
    let authority = open(&dir, config).await;
    let tenant = authority.ensure_tenant("contoso").await.expect("tenant");
    TestAuthority {
        authority,
        tenant,
        _dir: dir,
    }
}

impl TestAuthority {
    /// Another authority on the same database, as a second server sharing it would be.
    pub(crate) async fn another_server(&self, config: Config) -> Arc<Authority> {
        open(&self._dir, config).await
    }
}

async fn open(dir: &tempfile::TempDir, config: Config) -> Arc<Authority> {
    let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let store = keyward_store::open(&url).await.expect("store");
    let master = MasterKey::from_bytes(&[3u8; 32]).expect("master key");
    Arc::new(Authority::open(store, master, config).await.expect("authority"))
}
