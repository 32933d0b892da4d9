//! A JSON pre-check that serde_json does not do: refuse an object that names a member twice.
//!
//! serde_json keeps the last of two equal member names without a word, while other parsers keep
//! the first; a token whose header says `"alg":"RS256"` to one reader and `"alg":"none"` to
//! another is how confusion attacks start. This walks the whole document once (depth is bounded
//! by serde_json's recursion limit, size by the token limit) and reports the first repeated name.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Result, Segment, truncated};

/// The kind of a JSON value, to say what a segment is when it is not an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Boolean,
    Null,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Object => "object",
            Self::Array => "array",
            Self::String => "string",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Null => "null",
        }
    }
}

/// Checks that `json` is one JSON object with no repeated member name at any depth.
pub(crate) fn check_object(json: &[u8], segment: Segment) -> Result<()> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(json);
    let kind = Unique(&duplicate)
        .deserialize(&mut de)
        .and_then(|kind| de.end().map(|()| kind));
    match (kind, duplicate.into_inner()) {
        (_, Some(name)) => Err(Error::DuplicateMember { segment, name }),
        (Err(e), None) => Err(Error::InvalidJson {
            segment,
            detail: e.to_string(),
        }),
        (Ok(Kind::Object), None) => Ok(()),
        (Ok(other), None) => Err(Error::NotAnObject {
            segment,
            found: other.name(),
        }),
    }
}

/// Visits any JSON value; in objects, remembers member names and stops at the first repeat,
/// which it leaves in the cell.
#[derive(Clone, Copy)]
struct Unique<'a>(&'a RefCell<Option<String>>);

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = Kind;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Kind, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<Kind, E> {
        Ok(Kind::Boolean)
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<Kind, E> {
        Ok(Kind::Number)
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<Kind, E> {
        Ok(Kind::Number)
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<Kind, E> {
        Ok(Kind::Number)
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<Kind, E> {
        Ok(Kind::String)
    }
    fn visit_unit<E>(self) -> std::result::Result<Kind, E> {
        Ok(Kind::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Kind, A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(Kind::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Kind, A::Error> {
        let mut seen = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name.clone()) {
                *self.0.borrow_mut() = Some(truncated(&name));
                // Skip the rest quietly; the caller reports the name from the cell.
                return Err(de::Error::custom("duplicate member"));
            }
            map.next_value_seed(self)?;
        }
        Ok(Kind::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str) -> Result<()> {
        check_object(json.as_bytes(), Segment::Header)
    }

    #[test]
    fn accepts_objects_with_distinct_names_at_every_depth() {
        check(r#"{"a":1,"b":{"a":2,"c":[{"a":3},{"a":4}]},"c":1.5e3,"d":null,"e":true}"#).unwrap();
        check(" { } ").unwrap();
    }

    #[test]
    fn refuses_a_repeated_name_at_the_top() {
        assert_eq!(
            check(r#"{"alg":"RS256","alg":"none"}"#),
            Err(Error::DuplicateMember {
                segment: Segment::Header,
                name: "alg".into()
            })
        );
    }

    #[test]
    fn refuses_a_repeated_name_nested_and_through_escapes() {
        let err = check(r#"{"a":[{"x":1,"x":2}]}"#).unwrap_err();
        assert!(
            matches!(err, Error::DuplicateMember { ref name, .. } if name == "x"),
            "{err}"
        );
        // "\u0061lg" is "alg": the comparison is on decoded names.
        let err = check(r#"{"alg":"RS256","\u0061lg":"none"}"#).unwrap_err();
        assert!(
            matches!(err, Error::DuplicateMember { ref name, .. } if name == "alg"),
            "{err}"
        );
    }

    #[test]
    fn says_what_a_non_object_is() {
        for (json, found) in [
            ("[1,2]", "array"),
            ("\"s\"", "string"),
            ("1", "number"),
            ("null", "null"),
        ] {
            assert_eq!(
                check(json),
                Err(Error::NotAnObject {
                    segment: Segment::Header,
                    found
                })
            );
        }
    }

    #[test]
    fn refuses_bad_syntax_and_trailing_data() {
        for json in ["", "{", "{\"a\":}", "{} {}", "{}x", "{'a':1}", "\u{feff}{}"] {
            let err = check(json).unwrap_err();
            assert!(matches!(err, Error::InvalidJson { .. }), "{json:?}: {err}");
        }
    }
}
