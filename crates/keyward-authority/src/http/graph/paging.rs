//! Graph's paging of a collection: a page of `$top` items (1 to 999; 100 when not given, as
//! Graph pages applications, service principals and users) and, when more follow, an
//! `@odata.nextLink` that repeats the request with the `$skiptoken` where the next page starts.
//!
//! The token is opaque to clients. Here it is the sort key of the last item given (base64url):
//! the next page starts after that key whatever was added or deleted in between, so paging
//! skips nothing that was there all along, and a tenant of 100,000 applications or a million
//! users is read a page at a time, never whole.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_store::UserCursor;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{GraphError, GraphResult};
use crate::authority::Authority;
use crate::directory::AppEntry;

/// Items a page when the request has no `$top`.
pub(crate) const DEFAULT_TOP: u32 = 100;
/// The largest `$top` Graph takes.
pub(crate) const MAX_TOP: u32 = 999;
/// The longest `$skiptoken` read (an email of 254 characters, in UTF-8 and base64, fits).
const MAX_TOKEN: usize = 2048;

/// The page a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paging {
    /// Items a page.
    pub(crate) top: u32,
    /// The decoded `$skiptoken`: the sort key of the previous page's last item.
    after: Option<String>,
}

impl Paging {
    /// The `$top` and `$skiptoken` of a request's query; Graph's 400 for a bad one.
    pub(crate) fn from_query(query: Option<&str>) -> GraphResult<Self> {
        let mut paging = Self {
            top: DEFAULT_TOP,
            after: None,
        };
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match &*name {
                "$top" => {
                    paging.top = value
                        .parse()
                        .ok()
                        .filter(|top| (1..=MAX_TOP).contains(top))
                        .ok_or_else(|| {
                            GraphError::bad_request(format!(
                                "Invalid page size specified: '{}'. Must be between 1 and {MAX_TOP} inclusive.",
                                value.chars().take(32).collect::<String>()
                            ))
                        })?;
                }
                "$skiptoken" => paging.after = Some(decode(&value)?),
                _ => {}
            }
        }
        Ok(paging)
    }

    /// This page of `apps`, sorted as the directory lists them (by creation, then object id),
    /// and the token of the next page when more follow.
    pub(crate) fn of_apps<'a, 'b>(
        &self,
        apps: &'a [&'b Arc<AppEntry>],
    ) -> GraphResult<(&'a [&'b Arc<AppEntry>], Option<String>)> {
        let start = match &self.after {
            None => 0,
            Some(key) => {
                let after = app_key_from(key)?;
                apps.partition_point(|a| app_key(a) <= after)
            }
        };
        let end = start.saturating_add(self.top as usize).min(apps.len());
        let page = &apps[start..end];
        let next = page.last().filter(|_| end < apps.len()).map(|last| {
            let (created, id) = app_key(last);
            encode(&format!("{}.{id}", created.unix_timestamp_nanos()))
        });
        Ok((page, next))
    }

    /// Where a page of users starts: after the user of the token, if there is one.
    pub(crate) fn user_cursor(&self) -> GraphResult<Option<UserCursor>> {
        let Some(key) = &self.after else {
            return Ok(None);
        };
        let (email_key, id) = key.rsplit_once('\n').ok_or_else(bad_token)?;
        let id = Uuid::parse_str(id).map_err(|_| bad_token())?;
        Ok(Some(UserCursor {
            email_key: email_key.to_owned(),
            id,
        }))
    }
}

/// The token of the page of users after `cursor`.
pub(crate) fn user_token(cursor: &UserCursor) -> String {
    encode(&format!("{}\n{}", cursor.email_key, cursor.id))
}

/// A page of a collection: `{"value": [...]}`, with `@odata.nextLink` when `next` says where
/// the next page starts: the request again at the server's public URL (`path`, the query
/// kept but for its `$skiptoken`), and the new `$skiptoken`.
pub(crate) fn page(
    authority: &Authority,
    path: &str,
    query: Option<&str>,
    values: Vec<Value>,
    next: Option<String>,
) -> Response {
    let mut body = json!({"value": values});
    if let Some(token) = next {
        let mut kept = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if name != "$skiptoken" {
                kept.append_pair(&name, &value);
            }
        }
        kept.append_pair("$skiptoken", &token);
        body["@odata.nextLink"] = json!(format!("{}{path}?{}", authority.config().public_url, kept.finish()));
    }
    axum::Json(body).into_response()
}

/// How the directory sorts applications.
fn app_key(entry: &AppEntry) -> (OffsetDateTime, Uuid) {
    (entry.app.created, entry.app.id)
}

fn app_key_from(key: &str) -> GraphResult<(OffsetDateTime, Uuid)> {
    let (nanos, id) = key.split_once('.').ok_or_else(bad_token)?;
    let created = nanos
        .parse()
        .ok()
        .and_then(|nanos| OffsetDateTime::from_unix_timestamp_nanos(nanos).ok())
        .ok_or_else(bad_token)?;
    let id = Uuid::parse_str(id).map_err(|_| bad_token())?;
    Ok((created, id))
}

fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

fn decode(token: &str) -> GraphResult<String> {
    if token.len() > MAX_TOKEN {
        return Err(bad_token());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad_token())?;
    String::from_utf8(bytes).map_err(|_| bad_token())
}

fn bad_token() -> GraphError {
    GraphError::bad_request("Invalid $skiptoken: pass the one of the previous page's @odata.nextLink unchanged.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_is_between_one_and_999() {
        assert_eq!(Paging::from_query(None).unwrap().top, DEFAULT_TOP);
        assert_eq!(Paging::from_query(Some("%24top=999")).unwrap().top, 999);
        assert_eq!(Paging::from_query(Some("$top=1&$filter=x")).unwrap().top, 1);
        for bad in ["$top=0", "$top=1000", "$top=-1", "$top=ten", "$top="] {
            let error = Paging::from_query(Some(bad)).unwrap_err();
            assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn a_user_token_round_trips_and_a_bad_one_is_refused() {
        let cursor = UserCursor {
            email_key: "émile+1@example.com".to_owned(),
            id: Uuid::new_v4(),
        };
        let query = format!("$skiptoken={}", user_token(&cursor));
        let paging = Paging::from_query(Some(&query)).unwrap();
        assert_eq!(paging.user_cursor().unwrap(), Some(cursor));
        let long = "A".repeat(MAX_TOKEN + 1);
        for bad in ["!!", "bm90IGEgY3Vyc29y", long.as_str()] {
            let refused = Paging::from_query(Some(&format!("$skiptoken={bad}"))).and_then(|p| p.user_cursor());
            assert!(refused.is_err(), "{bad}");
        }
    }
}
