//! The pages, as askama templates (`templates/`): every value is HTML-escaped by the template
//! engine, claims included, since users choose their own names.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::session::SignedIn;

/// The home page: Sign in / Sign up, or a welcome.
#[derive(Template)]
#[template(path = "home.html")]
pub struct Home<'a> {
    /// The signed-in user's name.
    pub name: Option<String>,
    /// The authority, shown to a signed-out visitor.
    pub authority: &'a str,
}

/// The app's icon: a key, white on the header's blue.
pub const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#243a5e"/><circle cx="11" cy="16" r="5.5" fill="none" stroke="#fff" stroke-width="3"/><path d="M16 16h11M23 16v5M27 16v4" stroke="#fff" stroke-width="3" fill="none"/></svg>"##;

/// One row of the claims table.
pub struct ClaimRow {
    /// The claim's name.
    pub name: String,
    /// Its value as text (JSON for anything but a string).
    pub value: String,
    /// What it means.
    pub description: &'static str,
}

/// The ID token's claims.
#[derive(Template)]
#[template(path = "claims.html")]
pub struct Claims {
    /// The user's name.
    pub name: String,
    /// The claims, by name.
    pub claims: Vec<ClaimRow>,
    /// When the user signed in (RFC 3339).
    pub signed_in_at: String,
    /// When the access token expires (RFC 3339).
    pub access_expires: String,
    /// Whether there is a refresh token.
    pub has_refresh_token: bool,
    /// Renewals so far.
    pub renewals: u32,
    /// The last renewal (RFC 3339).
    pub last_renewed: Option<String>,
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// The heading.
    pub title: &'a str,
    /// What happened and what to do.
    pub message: &'a str,
    /// The authority's error code, e.g. `access_denied`.
    pub code: Option<&'a str>,
}

/// The name to greet a user by: `name`, else `preferred_username`, else `email`, else `sub`.
pub fn display_name(claims: &serde_json::Value) -> String {
    ["name", "preferred_username", "email", "sub"]
        .iter()
        .find_map(|c| claims[*c].as_str().filter(|s| !s.trim().is_empty()))
        .unwrap_or("(unnamed user)")
        .to_owned()
}

impl Claims {
    /// The claims page of a signed-in user.
    pub fn of(user: &SignedIn) -> Self {
        let claims = match &user.claims {
            serde_json::Value::Object(map) => map
                .iter()
                .map(|(name, value)| ClaimRow {
                    name: name.clone(),
                    value: match value {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Number(n) if is_time(name) => readable_time(n),
                        other => other.to_string(),
                    },
                    description: describe(name, value),
                })
                .collect(),
            _ => Vec::new(),
        };
        Self {
            name: display_name(&user.claims),
            claims,
            signed_in_at: rfc3339(user.signed_in_at),
            access_expires: rfc3339(user.access_expires),
            has_refresh_token: user.refresh_token.is_some(),
            renewals: user.renewals,
            last_renewed: user.last_renewed.map(rfc3339),
        }
    }
}

/// RFC 3339 to the second (`2026-12-06T14:30:05Z`): what people read and `Date.parse` takes.
fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The claims that are times, in seconds since 1970 (RFC 7519's NumericDate).
fn is_time(claim: &str) -> bool {
    matches!(claim, "exp" | "iat" | "nbf" | "auth_time")
}

/// A NumericDate as a date people read, with the raw value beside it:
/// `2026-12-06 14:30:05 UTC (1796567405)`. Fractions are dropped; a value out of range is
/// shown as it came.
fn readable_time(seconds: &serde_json::Number) -> String {
    let raw = seconds.to_string();
    let whole = seconds.as_i64().or_else(|| seconds.as_f64().map(|f| f.trunc() as i64));
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    whole
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|at| at.format(&format).ok())
        .map_or(raw.clone(), |date| format!("{date} ({raw})"))
}

fn describe(claim: &str, value: &serde_json::Value) -> &'static str {
    let time = value.is_number();
    match claim {
        "aud" => "The audience: the application (client) ID the token was issued for.",
        "iss" => "The issuer: the authority (tenant) that issued and signed the token.",
        "iat" if time => "Issued at (seconds since 1970-01-01 UTC).",
        "nbf" if time => "Not valid before (seconds since 1970-01-01 UTC).",
        "exp" if time => "Expires at (seconds since 1970-01-01 UTC).",
        "sub" => "The subject: the user, as this application sees them.",
        "oid" => "The user's object ID in the tenant, the same for every application.",
        "tid" => "The tenant ID.",
        "nonce" => "The nonce this app sent, proving the token answers its own sign-in request.",
        "name" => "The user's display name.",
        "preferred_username" => "The user's sign-in name.",
        "email" => "The user's email address.",
        "sid" => "The session ID at the authority.",
        "ver" => "The token version.",
        "auth_time" => "When the user last entered their credentials.",
        "aio" | "rh" | "uti" => "An opaque value the authority uses internally.",
        "idp" => "The identity provider that authenticated the user.",
        _ => "",
    }
}

/// Renders a template as an HTML response that no cache keeps.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (status, Html(body)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    #[test]
    fn claims_are_escaped() {
        let now = OffsetDateTime::now_utc();
        let user = SignedIn {
            claims: serde_json::json!({"name": "<script>alert(1)</script>", "aud": "app", "exp": 5,
                                       "x\"><img src=x>": "&"}),
            id_token: None,
            refresh_token: Some(Zeroizing::new("r".into())),
            access_expires: now,
            signed_in_at: now,
            renewals: 2,
            last_renewed: Some(now),
        };
        let page = Claims::of(&user).render().unwrap();
        assert!(!page.contains("<script>alert"));
        assert!(!page.contains("<img src=x>"));
        assert!(page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{page}");
        assert!(page.contains(r#"data-claim="aud""#));
        assert!(page.contains(r#"<span id="renewals">2</span>"#));
        // Times are dates people read, with the token's raw seconds beside them.
        assert!(page.contains("1970-01-01 00:00:05 UTC (5)"), "{page}");
        let at = rfc3339(now);
        assert!(
            page.contains(&format!(r#"<span id="signed-in-at">{at}</span>"#)),
            "{page}"
        );
        assert!(at.ends_with('Z') && !at.contains('.'), "{at}");
        let home = Home {
            name: Some("<b>x</b>".into()),
            authority: "https://id/<t>/",
        }
        .render()
        .unwrap();
        assert!(home.contains("Welcome, &#60;b&#62;x&#60;/b&#62;"), "{home}");
    }

    #[test]
    fn greets_by_the_best_name_there_is() {
        assert_eq!(display_name(&serde_json::json!({"name": "Ada", "email": "a@x"})), "Ada");
        assert_eq!(display_name(&serde_json::json!({"name": " ", "email": "a@x"})), "a@x");
        assert_eq!(display_name(&serde_json::json!({})), "(unnamed user)");
    }
}
