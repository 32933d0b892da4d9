use axum::http::{HeaderMap, HeaderValue};

use super::is_cross_site;

const ORIGIN: &str = "https://localhost:8443";

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_static(value));
    }
    map
}

#[test]
fn requests_from_our_own_pages_are_not_cross_site() {
    assert!(
        !is_cross_site(&headers(&[]), ORIGIN),
        "no header: left to the CSRF token"
    );
    assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")]), ORIGIN));
    assert!(!is_cross_site(&headers(&[("sec-fetch-site", "none")]), ORIGIN));
    assert!(!is_cross_site(
        &headers(&[("origin", "https://localhost:8443")]),
        ORIGIN
    ));
    assert!(!is_cross_site(
        &headers(&[("origin", "https://LOCALHOST:8443")]),
        "https://localhost:8443/"
    ));
}

#[test]
fn requests_a_browser_says_came_from_elsewhere_are_cross_site() {
    for site in ["cross-site", "same-site"] {
        assert!(is_cross_site(&headers(&[("sec-fetch-site", site)]), ORIGIN), "{site}");
    }
    for origin in [
        "https://evil.example",
        "null",
        "https://localhost:8444",
        "http://localhost:8443",
    ] {
        let mut map = HeaderMap::new();
        map.insert("origin", HeaderValue::from_str(origin).unwrap());
        assert!(is_cross_site(&map, ORIGIN), "{origin}");
    }
    // A same-origin fetch site with a foreign Origin is still refused.
    assert!(is_cross_site(
        &headers(&[("sec-fetch-site", "same-origin"), ("origin", "https://evil.example")]),
        ORIGIN
    ));
}
