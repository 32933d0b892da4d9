//! The vault's notion of "now": the system clock in production, a shifted one in tests of
//! renewal and expiry.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// Where the vault reads the time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock plus an offset that a test can change, to see what the vault does months
/// from now.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset: Mutex<Duration>,
}

impl ShiftedClock {
    /// A clock that starts with no offset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the offset from the system time.
    pub fn set_offset(&self, offset: Duration) {
        *self.offset.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = offset;
    }

    /// Moves the clock forward by `by` (or back, if negative).
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *offset += by;
    }

    /// The current offset.
    pub fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.offset()
    }
}
