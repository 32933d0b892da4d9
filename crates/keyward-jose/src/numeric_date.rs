//! NumericDate (RFC 7519 section 2): seconds since 1970 in `exp`, `nbf` and `iat`.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};

/// A point in time as whole seconds since 1970-01-01T00:00:00Z, from 0 to the end of the year
/// 9999.
///
/// Reads JSON integers and floats (MSAL Python sends `"exp": 1700000000.123`; the fraction is
/// dropped, rounding toward the past), refuses negative, non-finite and out-of-range values, and
/// always writes an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NumericDate(i64);

impl NumericDate {
    /// 9999-12-31T23:59:59Z.
    pub const MAX_UNIX: i64 = 253_402_300_799;

    /// From seconds since 1970. Errors with [`Error::InvalidNumericDate`] outside
    /// `0..=MAX_UNIX`.
    pub fn from_unix(seconds: i64) -> Result<Self> {
        if (0..=Self::MAX_UNIX).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(Error::InvalidNumericDate(seconds.to_string()))
        }
    }

    /// Seconds since 1970.
    pub fn as_unix(self) -> i64 {
        self.0
    }

    /// This date moved by `seconds` (negative moves back), or an error when that leaves the
    /// range.
    pub fn checked_add(self, seconds: i64) -> Result<Self> {
        self.0
            .checked_add(seconds)
            .ok_or_else(|| Error::InvalidNumericDate(format!("{} + {seconds}", self.0)))
            .and_then(Self::from_unix)
    }

    fn from_f64(value: f64) -> Result<Self> {
        // The upper bound is checked on the float so that the cast below never saturates.
        if !value.is_finite() || value < 0.0 || value >= (Self::MAX_UNIX + 1) as f64 {
            return Err(Error::InvalidNumericDate(value.to_string()));
        }
        Self::from_unix(value.floor() as i64)
    }
}

impl fmt::Display for NumericDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for NumericDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(NumericDateVisitor)
    }
}

struct NumericDateVisitor;

impl Visitor<'_> for NumericDateVisitor {
    type Value = NumericDate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NumericDate (seconds since 1970 as a JSON number)")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<NumericDate, E> {
        i64::try_from(v)
            .map_err(|_| Error::InvalidNumericDate(v.to_string()))
            .and_then(NumericDate::from_unix)
            .map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<NumericDate, E> {
        NumericDate::from_unix(v).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<NumericDate, E> {
        NumericDate::from_f64(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> std::result::Result<NumericDate, String> {
        serde_json::from_str::<NumericDate>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_integers_and_floats_and_writes_integers() {
        assert_eq!(read("1700000000").unwrap().as_unix(), 1_700_000_000);
        assert_eq!(read("1700000000.123").unwrap().as_unix(), 1_700_000_000);
        assert_eq!(read("1700000000.999").unwrap().as_unix(), 1_700_000_000);
        assert_eq!(read("1.7e9").unwrap().as_unix(), 1_700_000_000);
        assert_eq!(read("0").unwrap().as_unix(), 0);
        assert_eq!(read("-0.0").unwrap().as_unix(), 0);
        assert_eq!(read("253402300799").unwrap().as_unix(), NumericDate::MAX_UNIX);
        assert_eq!(read("253402300799.5").unwrap().as_unix(), NumericDate::MAX_UNIX);
        assert_eq!(
            serde_json::to_string(&read("1700000000.5").unwrap()).unwrap(),
            "1700000000"
        );
    }

    #[test]
    fn refuses_negative_absurd_and_non_numbers() {
        for bad in [
            "-1",
            "-0.5",
            "-1e300",
            "253402300800",
            "253402300800.0",
            "1e19",
            "18446744073709551615",
            "1e400",
            "\"1700000000\"",
            "null",
            "true",
            "[1]",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn from_unix_and_checked_add_keep_the_range() {
        assert!(NumericDate::from_unix(-1).is_err());
        assert!(NumericDate::from_unix(NumericDate::MAX_UNIX + 1).is_err());
        let d = NumericDate::from_unix(1_700_000_000).unwrap();
        assert_eq!(d.checked_add(600).unwrap().as_unix(), 1_700_000_600);
        assert_eq!(d.checked_add(-600).unwrap().as_unix(), 1_699_999_400);
        assert!(d.checked_add(i64::MAX).is_err());
        assert!(d.checked_add(-1_700_000_001).is_err());
        assert!(d < d.checked_add(1).unwrap());
    }
}
