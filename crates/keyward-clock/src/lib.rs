//! The server's one clock: every part of a Keyward server (the authority, the vault, the admin
//! center, the expiry watch, the usage recorder) reads "now" from one [`ShiftedClock`], the
//! system time plus an offset that is zero unless an administrator of a server started with
//! `keyward serve --allow-time-travel` moved it (`keyward time shift +335d`). With one clock, a
//! shift moves everything the server decides by the date: issued tokens' `iat`/`nbf`/`exp` and
//! the validity of the tokens it is shown, credentials' start and end, codes, refresh tokens and
//! sessions, vault attributes, lifetime actions and purge dates, expiry warnings.
//!
//! What the server checks against the real time instead ([`Now::real`]): the freshness of JWTs
//! that clients build with their own (real) clocks, client assertions and `addKey` proofs.
//! Checked against a shifted clock, every assertion a real MSAL makes would be refused as
//! expired after a shift; the certificate that signed it is still checked against the shifted
//! clock, which is what a test of certificate expiry wants.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::atomic::{AtomicI64, Ordering};

use time::{Duration, OffsetDateTime};
use tokio::sync::watch;

/// Where the server reads the time.
pub trait Clock: std::fmt::Debug + Send + Sync + 'static {
    /// The current time, as the server sees it.
    fn now(&self) -> OffsetDateTime;

    /// How far [`Clock::now`] is ahead of the system time (negative: behind).
    fn offset(&self) -> Duration {
        Duration::ZERO
    }

    /// The server's time and the real time, read together.
    fn read(&self) -> Now {
        let server = self.now();
        Now {
            server,
            real: server - self.offset(),
        }
    }

    /// A receiver that is told each time the clock is moved, so that background work that waits
    /// for a date can look again at once; `None` for a clock that never moves.
    fn moves(&self) -> Option<watch::Receiver<Duration>> {
        None
    }
}

/// The system clock, never moved.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock plus an offset that can be changed while the server runs: the server's
/// clock (with a zero offset unless time travel is allowed and used), and tests' way to see what
/// happens months from now.
#[derive(Debug)]
pub struct ShiftedClock {
    /// The offset in nanoseconds: read on every request, so an atomic rather than a lock.
    nanos: AtomicI64,
    moved: watch::Sender<Duration>,
}

impl Default for ShiftedClock {
    fn default() -> Self {
        Self {
            nanos: AtomicI64::new(0),
            moved: watch::Sender::new(Duration::ZERO),
        }
    }
}

impl ShiftedClock {
    /// A clock that starts with no offset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the offset from the system time and tells the [`Clock::moves`] receivers.
    pub fn set_offset(&self, offset: Duration) {
        let nanos =
            i64::try_from(offset.whole_nanoseconds()).unwrap_or(if offset.is_negative() { i64::MIN } else { i64::MAX });
        self.nanos.store(nanos, Ordering::Release);
        self.moved.send_replace(offset);
    }

    /// Moves the clock forward by `by` (or back, if negative).
    pub fn advance(&self, by: Duration) {
        self.set_offset(self.offset() + by);
    }

    /// The current offset.
    pub fn offset(&self) -> Duration {
        Duration::nanoseconds(self.nanos.load(Ordering::Acquire))
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.offset()
    }

    fn offset(&self) -> Duration {
        ShiftedClock::offset(self)
    }

    fn moves(&self) -> Option<watch::Receiver<Duration>> {
        Some(self.moved.subscribe())
    }
}

/// One moment as the server sees it and as the rest of the world does: the two differ only
/// while the server's clock is shifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// The server's time: what credentials, tokens and everything stored are checked against.
    pub server: OffsetDateTime,
    /// The real time: what JWTs made by clients' clocks are checked against for freshness.
    pub real: OffsetDateTime,
}

impl From<OffsetDateTime> for Now {
    /// The same moment for both (an unshifted clock).
    fn from(at: OffsetDateTime) -> Self {
        Self { server: at, real: at }
    }
}

/// Waits for `every` to tick or the clock to move, whichever comes first: how background work
/// that acts on dates (lifetime actions, expiry warnings) waits, so that after a shift it runs
/// at once instead of a whole period later.
#[derive(Debug)]
pub struct Ticks {
    interval: tokio::time::Interval,
    moves: Option<watch::Receiver<Duration>>,
}

impl Ticks {
    /// Ticks every `every` (the first at once), and whenever `clock` moves.
    pub fn new(clock: &dyn Clock, every: std::time::Duration, missed: tokio::time::MissedTickBehavior) -> Self {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(missed);
        Self {
            interval,
            moves: clock.moves(),
        }
    }

    /// The next tick.
    pub async fn tick(&mut self) {
        match &mut self.moves {
            Some(moves) => {
                tokio::select! {
                    _ = self.interval.tick() => {}
                    changed = moves.changed() => {
                        if changed.is_err() {
                            // The clock is gone: only the interval is left.
                            self.moves = None;
                        }
                    }
                }
            }
            None => {
                self.interval.tick().await;
            }
        }
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
        let now = clock.read();
        assert_eq!(now.server - now.real, Duration::days(60));
        clock.advance(Duration::days(-61));
        assert_eq!(clock.offset(), Duration::days(-1));
    }

    #[test]
    fn the_system_clock_reads_the_same_time_twice() {
        let now = SystemClock.read();
        assert_eq!(now.server, now.real);
    }

    #[tokio::test]
    async fn moving_the_clock_ticks_at_once() {
        let clock = ShiftedClock::new();
        let mut ticks = Ticks::new(
            &clock,
            std::time::Duration::from_secs(3600),
            tokio::time::MissedTickBehavior::Skip,
        );
        ticks.tick().await; // the first tick is at once
        clock.advance(Duration::days(1));
        tokio::time::timeout(std::time::Duration::from_secs(5), ticks.tick())
            .await
            .expect("a move wakes the ticks");
    }
}
