//! Lifetime actions: renewing certificates whose policy says AutoRenew, and recording
//! EmailContacts triggers.

use crate::Vaults;
use crate::error::Result;

impl Vaults {
    /// One pass of the lifetime actions at `clock.now()`; returns how many certificate versions
    /// it made.
    pub async fn renew_due(&self) -> Result<usize> {
        Ok(0)
    }
}
