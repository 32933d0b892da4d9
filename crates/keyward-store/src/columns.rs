//! How model values become column values and come back, the same for both backends: times as
//! RFC 3339 text (exact to the nanosecond, offset kept), documents as their serde_json.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::{Error, Result};

/// A time as stored: RFC 3339 text.
pub(crate) fn time_text(time: OffsetDateTime) -> Result<String> {
    time.format(&Rfc3339)
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
pub(crate) fn uuid_from_text(text: &str, what: &'static str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| Error::Corrupt {
        what,
        detail: format!("id {text:?}: {e}"),
    })
}

/// A value as a stored document.
pub(crate) fn document<T: Serialize>(value: &T, what: &'static str) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(value).map_err(|e| Error::Invalid(format!("{what} cannot be stored: {e}")))
}

/// A stored document.
pub(crate) fn from_document<T: DeserializeOwned>(text: &str, what: &'static str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt {
        what,
        detail: e.to_string(),
    })
}
