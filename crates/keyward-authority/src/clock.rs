//! The authority's notion of "now" for its background work (the credential expiry watch): the
//! system clock in production, a shifted one in tests that need to be months ahead.
//!
//! The token path reads the system time directly; only work that tests must move through time
//! takes a [`Clock`].

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// Where background work reads the time.
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

/// The system clock plus an offset that a test can change, to see what happens months from now.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_is_ahead_by_its_offset() {
        let clock = ShiftedClock::new();
        clock.set_offset(Duration::days(60));
        let ahead = clock.now() - SystemClock.now();
        assert!(ahead > Duration::days(59) && ahead <= Duration::days(60), "{ahead}");
    }
}
