//! Time travel: an administrator of a server started with `keyward serve --allow-time-travel`
//! moves the server's clock ([`crate::Config::clock`]) ahead or back (`keyward time shift +335d`,
//! `POST /admin/api/time`) and back to the real time (`keyward time reset`,
//! `DELETE /admin/api/time`), to watch in minutes what months do: certificates expire, vault
//! lifetime actions renew them, warnings are raised, tokens, codes, refresh tokens and sessions
//! run out. Everything the server decides by the date follows the one clock; what clients make
//! with their own real clocks (client assertions, `addKey` proofs) is checked for freshness
//! against the real time ([`crate::clock::Now`]).
//!
//! A server without the flag refuses every shift ([`TimeTravelError::Disabled`]); every shift
//! is logged as a warning and written to the audit log (the management API's audit
//! middleware). The shift lives in memory: a restart is back at the real time, and servers
//! sharing a database are not moved together.
//!
//! The clock only goes ahead of the real time, never behind it ([`TimeTravelError::BeforeRealTime`]):
//! behind, every credential made since the start (the CLI's admin certificate among them) would
//! not be valid yet, and tokens would be dated before the assertions that asked for them. Ahead,
//! mind the admin certificate's end (two years after the data directory was made): past it, the
//! CLI is refused like any other client until the server restarts. What expires on the way is
//! gone for good: a reset does not bring back the codes, refresh tokens and sessions a shift
//! swept away, nor undo a renewal the vault made.

use time::Duration;

use crate::authority::Authority;
use crate::clock::Now;

/// The farthest the server's clock may be ahead of the real time: ten years.
pub const MAX_SHIFT: Duration = Duration::days(3650);

/// Why the clock was not moved.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeTravelError {
    /// The server was not started with time travel allowed.
    #[error(
        "time travel is off on this server: start it with `keyward serve --allow-time-travel` (for tests only) to shift its clock"
    )]
    Disabled,
    /// The clock would end up more than [`MAX_SHIFT`] ahead of the real time.
    #[error("the shift would put the server's clock {} ahead of the real time; at most 3650 days", describe(*.0))]
    TooFar(Duration),
    /// The clock would end up behind the real time.
    #[error(
        "the shift would put the server's clock {} behind the real time; it can only be ahead of it \
         (`keyward time reset` goes back to the real time)",
        describe(-*.0)
    )]
    BeforeRealTime(Duration),
}

/// Where the server's clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockState {
    /// Whether administrators may move it.
    pub allowed: bool,
    /// How far it is ahead of the real time (negative: behind).
    pub offset: Duration,
    /// The server's time and the real time.
    pub now: Now,
}

impl Authority {
    /// Where the server's clock stands.
    pub fn clock_state(&self) -> ClockState {
        ClockState {
            allowed: self.config().allow_time_travel,
            offset: self.clock().offset(),
            now: self.read_clock(),
        }
    }

    /// Moves the server's clock by `by` from where it is (ahead when positive).
    pub fn shift_time(&self, by: Duration) -> Result<ClockState, TimeTravelError> {
        self.set_time_offset(self.clock().offset() + by)
    }

    /// Puts the server's clock back at the real time.
    pub fn reset_time(&self) -> Result<ClockState, TimeTravelError> {
        self.set_time_offset(Duration::ZERO)
    }

    fn set_time_offset(&self, offset: Duration) -> Result<ClockState, TimeTravelError> {
        if !self.config().allow_time_travel {
            return Err(TimeTravelError::Disabled);
        }
        if offset > MAX_SHIFT {
            return Err(TimeTravelError::TooFar(offset));
        }
        if offset.is_negative() {
            return Err(TimeTravelError::BeforeRealTime(offset));
        }
        self.clock().set_offset(offset);
        let state = self.clock_state();
        tracing::warn!(
            offset = %describe(offset),
            server_time = %state.now.server,
            "TIME TRAVEL: the server's clock was moved; every date it decides by follows it"
        );
        Ok(state)
    }
}

/// An offset as people read it: `+335d`, `-2h 30m`, `0s`.
pub fn describe(offset: Duration) -> String {
    let sign = if offset.is_negative() { "-" } else { "+" };
    let mut left = offset.abs().whole_seconds();
    let mut parts = Vec::new();
    for (unit, seconds) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        let count = left / seconds;
        left %= seconds;
        if count > 0 {
            parts.push(format!("{count}{unit}"));
        }
    }
    if parts.is_empty() {
        return "0s".to_owned();
    }
    format!("{sign}{}", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_as_people_write_them() {
        assert_eq!(describe(Duration::days(335)), "+335d");
        assert_eq!(describe(Duration::minutes(-150)), "-2h 30m");
        assert_eq!(describe(Duration::ZERO), "0s");
        assert_eq!(describe(Duration::seconds(90_061)), "+1d 1h 1m 1s");
    }
}
