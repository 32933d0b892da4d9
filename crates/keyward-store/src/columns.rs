//! How model values become column values and come back, the same for both backends: times as
//! RFC 3339 text (exact to the nanosecond, offset kept; in UTC where SQL compares them),
//! documents as their serde_json, names and emails by the lowercase form they are found by. Ids
//! are read back through [`IdColumn`], whichever way the backend stores them.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use sqlx::types::Json;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::{Error, Result};

/// A time as stored: RFC 3339 text.
pub(crate) fn time_text(time: OffsetDateTime) -> Result<String> {
    time.format(&Rfc3339)
        .map_err(|e| Error::Invalid(format!("time {time} cannot be written as RFC 3339: {e}")))
}

/// A time as stored where SQL compares or orders it (a grant's expiry, a version's creation):
/// RFC 3339 text in UTC with all nine fraction digits, so that the bytewise order of the text is
/// the order of the times. The offset is not kept. [`Error::Invalid`] outside the years 0 to 9999
/// (in UTC). Read back with [`time_from_text`].
pub(crate) fn sortable_time_text(time: OffsetDateTime) -> Result<String> {
    let invalid = || Error::Invalid(format!("time {time} is outside the years 0 to 9999"));
    let utc = time.checked_to_offset(UtcOffset::UTC).ok_or_else(invalid)?;
    if !(0..=9999).contains(&utc.year()) {
        return Err(invalid());
    }
    utc.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
    ))
    .map_err(|e| Error::Invalid(format!("time {time} cannot be written as RFC 3339: {e}")))
}

/// A stored time.
pub(crate) fn time_from_text(text: &str, what: &'static str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| Error::Corrupt {
        what,
        detail: format!("time {text:?}: {e}"),
    })
}

/// A UUID stored as text (SQLite).
fn uuid_from_text(text: &str, what: &'static str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| Error::Corrupt {
        what,
        detail: format!("id {text:?}: {e}"),
    })
}

/// A document column, bound and read alike on both backends: text on SQLite, `jsonb` on
/// PostgreSQL.
pub(crate) type Document = Json<Box<RawValue>>;

/// A value as a stored document.
pub(crate) fn document<T: Serialize>(value: &T, what: &'static str) -> Result<Document> {
    serde_json::value::to_raw_value(value)
        .map(Json)
        .map_err(|e| Error::Invalid(format!("{what} cannot be stored: {e}")))
}

/// The value a stored document holds.
pub(crate) fn from_document<T: DeserializeOwned>(document: &Document, what: &'static str) -> Result<T> {
    serde_json::from_str(document.0.get()).map_err(|e| Error::Corrupt {
        what,
        detail: e.to_string(),
    })
}

/// An id column as read: `text` on SQLite, `uuid` on PostgreSQL.
pub(crate) trait IdColumn {
    /// The id; [`Error::Corrupt`] (reading `what`) if it is not one.
    fn uuid(self, what: &'static str) -> Result<Uuid>;
}

impl IdColumn for String {
    fn uuid(self, what: &'static str) -> Result<Uuid> {
        uuid_from_text(&self, what)
    }
}

impl IdColumn for Uuid {
    fn uuid(self, _: &'static str) -> Result<Uuid> {
        Ok(self)
    }
}

/// The form a user's email is unique in and found by: its (Unicode) lowercase.
pub(crate) fn email_key(email: &str) -> String {
    email.to_lowercase()
}

/// The form a vault name is unique in and found by: its ASCII lowercase, as in Key Vault.
pub(crate) fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn sortable_times_sort_as_the_times_do() {
        let times = [
            datetime!(0000-01-01 00:00:00 UTC),
            datetime!(2026-12-03 10:00:00 +01:00),
            datetime!(2026-12-03 09:30:00 UTC),
            datetime!(2026-12-03 09:30:00.000000001 UTC),
            datetime!(2026-12-03 09:30:00.5 UTC),
            datetime!(2026-12-03 09:30:01 UTC),
            datetime!(2026-12-03 05:00:00 -05:00),
            datetime!(9999-12-31 23:59:59.999999999 UTC),
        ];
        let texts: Vec<String> = times.iter().map(|&t| sortable_time_text(t).unwrap()).collect();
        assert_eq!(texts[1], "2026-12-03T09:00:00.000000000Z");
        for (pair, texts) in times.windows(2).zip(texts.windows(2)) {
            assert_eq!(pair[0].cmp(&pair[1]), texts[0].cmp(&texts[1]), "{texts:?}");
        }
        for (time, text) in times.iter().zip(&texts) {
            assert_eq!(time_from_text(text, "test").unwrap(), *time);
        }
    }

    #[test]
    fn sortable_times_stay_within_four_digit_years() {
        for time in [
            datetime!(9999-12-31 23:00:00 -05:00),
            datetime!(0000-01-01 00:30:00 +01:00),
            datetime!(-0001-06-01 00:00:00 UTC),
        ] {
            assert!(matches!(sortable_time_text(time), Err(Error::Invalid(_))), "{time}");
        }
    }

    #[test]
    fn keys_are_lowercase() {
        assert_eq!(name_key("My-Cert-Ä"), "my-cert-Ä");
        assert_eq!(email_key("Ännie@Example.COM"), "ännie@example.com");
    }
}
