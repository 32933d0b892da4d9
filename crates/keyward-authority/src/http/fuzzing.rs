//! The fuzz targets of what only the HTTP layer reads: the CSRF check of the sign-in forms and
//! the token endpoint's request. Re-exported by [`crate::fuzzing`]; not part of the API.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{pages, token};
use crate::fuzzing::{master, parts, text};

/// The CSRF check of the sign-in forms. Parts: the `Cookie` header, the form's token.
pub fn csrf(data: &[u8]) {
    let master = master();
    let [cookie, token] = parts::<2>(data);
    let mut headers = HeaderMap::new();
    if let Some(value) = cookie.and_then(|c| HeaderValue::from_bytes(c).ok()) {
        headers.insert(header::COOKIE, value);
    }
    let token = token.map(text);
    let _ = pages::csrf_ok(master, &headers, token.as_deref());
    let csrf = pages::Csrf::of(&headers);
    if !csrf.is_new {
        // The browser's own secret: the token the page hands out must pass.
        let issued = csrf.token(master);
        assert!(pages::csrf_ok(master, &headers, Some(&issued)));
    }
    let _ = csrf.set_cookie();
}

/// The token endpoint's request: the form body, Basic client credentials and the
/// `client-request-id`. Parts: body, `Authorization` header, query string. Credentials encoded
/// as RFC 6749 §2.3.1 says always read back as they were.
pub fn token_form(data: &[u8]) {
    let [body, authorization, query] = parts::<3>(data);
    let body = body.unwrap_or_default();
    if let Ok(form) = token::parse_form(body) {
        let sent = form_urlencoded::parse(body).count();
        assert_eq!(form.len(), sent, "no parameter is dropped or kept twice");
    }
    let mut headers = HeaderMap::new();
    if let Some(value) = authorization.and_then(|a| HeaderValue::from_bytes(a).ok()) {
        headers.insert(header::AUTHORIZATION, value);
    }
    let _ = token::basic_credentials(&headers);
    let _ = token::client_request_id(query.map(text).as_deref(), &headers);

    // Round trip: id and secret from the body's two halves.
    let (id, secret) = body.split_at(body.len() / 2);
    let (id, secret) = (text(id), text(secret));
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let value = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(&id), encode(&secret)))
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&value).expect("base64 is a valid header value"),
    );
    assert_eq!(
        token::basic_credentials(&headers).ok().flatten(),
        Some((id, secret)),
        "Basic credentials read back as encoded"
    );
}
