use time::{Duration, OffsetDateTime};

use super::*;

fn key(byte: u8) -> MasterKey {
    MasterKey::from_bytes(&[byte; 32]).expect("a key")
}

fn session(last_seen: OffsetDateTime) -> SessionCookie {
    SessionCookie {
        handle: "handle-1".into(),
        last_seen: last_seen.unix_timestamp(),
    }
}

#[test]
fn a_cookie_opens_only_under_its_own_key() {
    let now = OffsetDateTime::now_utc();
    let value = session(now).sealed(&key(1));
    assert_eq!(
        SessionCookie::open(&key(1), &value, now).expect("opens").handle,
        "handle-1"
    );
    assert!(SessionCookie::open(&key(2), &value, now).is_none());
    let mut tampered = value.clone().into_bytes();
    tampered[10] ^= 1;
    assert!(SessionCookie::open(&key(1), &String::from_utf8(tampered).unwrap(), now).is_none());
    assert!(SessionCookie::open(&key(1), "not base64 !", now).is_none());
}

#[test]
fn a_session_idle_for_longer_than_the_timeout_is_over() {
    let now = OffsetDateTime::now_utc();
    let fresh = session(now - IDLE_TIMEOUT).sealed(&key(1));
    assert!(SessionCookie::open(&key(1), &fresh, now).is_some(), "at the limit");
    let idle = session(now - IDLE_TIMEOUT - Duration::seconds(1)).sealed(&key(1));
    assert!(SessionCookie::open(&key(1), &idle, now).is_none(), "one second past it");
    let future = session(now + Duration::minutes(5)).sealed(&key(1));
    assert!(SessionCookie::open(&key(1), &future, now).is_none(), "from the future");
}

#[test]
fn the_last_use_time_is_resealed_at_most_once_a_minute() {
    let now = OffsetDateTime::now_utc();
    assert!(!session(now - Duration::seconds(59)).is_due(now));
    assert!(session(now - Duration::seconds(60)).is_due(now));
}

#[test]
fn only_admin_center_paths_are_returned_to() {
    for ok in ["/admin/", "/admin/apps?q=x", "/admin/apps/1234/credentials"] {
        assert_eq!(safe_return_path(ok), ok);
    }
    for bad in [
        "https://evil.example/admin/",
        "//evil.example/admin/",
        "/admin//evil.example",
        "/admin/\\\\evil.example",
        "/adminx",
        "/v1.0/applications",
        "/admin/ spaces",
        "",
    ] {
        assert_eq!(safe_return_path(bad), "/admin/", "{bad:?}");
    }
}
