//! Dates in the document: relative to the moment the document is applied (`30d`, `12h`,
//! `2y`, `-1d`) or absolute (RFC 3339, `2027-01-31T00:00:00Z`).
//!
//! A [`When`] keeps the text it was written as, so a document written back reads the same and
//! `30d` stays `30d` (what the server compares to decide whether anything changed) rather than
//! becoming a date that moves at every apply.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// A date: relative or absolute. Compared by its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct When {
    text: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    In(Duration),
    At(OffsetDateTime),
}

/// Why a date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "date {text:?}: write a span such as 30d, 12h, 2w, 1y (units s, m, h, d, w, y; a leading - for the past) or an RFC 3339 date such as 2027-01-31T00:00:00Z"
)]
pub struct WhenError {
    /// The refused text (at most 64 characters).
    pub text: String,
}

/// The longest span accepted: a hundred years.
const MAX_DAYS: i64 = 36_500;

impl When {
    /// The text it was written as.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether it is relative to the moment of applying.
    pub fn is_relative(&self) -> bool {
        matches!(self.kind, Kind::In(_))
    }

    /// The date it names when read at `now`.
    pub fn at(&self, now: OffsetDateTime) -> OffsetDateTime {
        match self.kind {
            Kind::In(span) => now + span,
            Kind::At(at) => at,
        }
    }
}

impl FromStr for When {
    type Err = WhenError;

    fn from_str(s: &str) -> Result<Self, WhenError> {
        let text = s.trim();
        let refused = || WhenError {
            text: text.chars().take(64).collect(),
        };
        if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
            return Ok(Self {
                text: text.to_owned(),
                kind: Kind::At(at),
            });
        }
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let split = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(refused)?;
        let (digits, unit) = rest.split_at(split);
        if digits.is_empty() || digits.len() > 9 {
            return Err(refused());
        }
        let n: i64 = digits.parse().map_err(|_| refused())?;
        let span = match unit {
            "s" => Duration::seconds(n),
            "m" => Duration::minutes(n),
            "h" => Duration::hours(n),
            "d" => Duration::days(n),
            "w" => Duration::weeks(n),
            "y" => Duration::days(n.saturating_mul(365)),
            _ => return Err(refused()),
        };
        if span > Duration::days(MAX_DAYS) {
            return Err(refused());
        }
        Ok(Self {
            text: text.to_owned(),
            kind: Kind::In(if negative { -span } else { span }),
        })
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for When {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn spans_and_dates() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let cases = [
            ("30d", datetime!(2026-01-31 00:00 UTC)),
            ("12h", datetime!(2026-01-01 12:00 UTC)),
            ("2w", datetime!(2026-01-15 00:00 UTC)),
            ("1y", datetime!(2027-01-01 00:00 UTC)),
            ("90m", datetime!(2026-01-01 01:30 UTC)),
            ("10s", datetime!(2026-01-01 00:00:10 UTC)),
            ("-1d", datetime!(2025-12-31 00:00 UTC)),
            ("2027-03-01T10:00:00Z", datetime!(2027-03-01 10:00 UTC)),
        ];
        for (text, expected) in cases {
            let when: When = text.parse().unwrap();
            assert_eq!(when.at(now), expected, "{text}");
            assert_eq!(when.as_str(), text);
        }
        assert!("30d".parse::<When>().unwrap().is_relative());
        assert!(!"2027-03-01T10:00:00Z".parse::<When>().unwrap().is_relative());
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for bad in [
            "",
            "d",
            "30",
            "30 days",
            "30D",
            "3.5d",
            "1mo",
            "101y",
            "9999999999d",
            "2027-13-01",
            "tomorrow",
        ] {
            let err = bad.parse::<When>().unwrap_err();
            assert!(err.to_string().contains("30d"), "{bad}: {err}");
        }
    }
}
