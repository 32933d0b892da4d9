//! The throttle's counts, locks, reservations and bounds.

use super::*;

fn throttle() -> Throttle {
    Throttle::new(ThrottlePolicy::default())
}

#[test]
fn five_failures_lock_the_account_and_the_lock_doubles() {
    let t = throttle();
    let tenant = Uuid::new_v4();
    let start = Instant::now();
    let attempt = Attempt::new(tenant, "Alice@Example.com", None);
    for _ in 0..4 {
        t.failure(&attempt, start);
        assert!(t.check(&attempt, start).is_ok());
    }
    t.failure(&attempt, start);
    let wait = t.check(&attempt, start).unwrap_err();
    assert_eq!(wait, Duration::from_secs(60));
    // The same account in another case is the same account.
    assert!(
        t.check(&Attempt::new(tenant, "alice@example.com ", None), start)
            .is_err()
    );
    // Another tenant's account of the same name is not.
    assert!(
        t.check(&Attempt::new(Uuid::new_v4(), "alice@example.com", None), start)
            .is_ok()
    );
    let later = start + Duration::from_secs(61);
    assert!(t.check(&attempt, later).is_ok());
    t.failure(&attempt, later);
    assert_eq!(t.check(&attempt, later).unwrap_err(), Duration::from_secs(120));
    t.success(&attempt);
    assert!(t.check(&attempt, later).is_ok());
}

#[test]
fn an_address_spraying_many_accounts_is_locked() {
    let t = throttle();
    let tenant = Uuid::new_v4();
    let ip: IpAddr = "203.0.113.9".parse().unwrap();
    let now = Instant::now();
    for i in 0..20 {
        let attempt = Attempt::new(tenant, &format!("user{i}@example.com"), Some(ip));
        assert!(t.check(&attempt, now).is_ok(), "attempt {i}");
        t.failure(&attempt, now);
    }
    let fresh = Attempt::new(tenant, "someone-else@example.com", Some(ip));
    assert!(t.check(&fresh, now).is_err());
    let elsewhere = Attempt::new(
        tenant,
        "someone-else@example.com",
        Some("203.0.113.10".parse().unwrap()),
    );
    assert!(t.check(&elsewhere, now).is_ok());
}

#[test]
fn ipv6_counts_by_slash_64() {
    let tenant = Uuid::new_v4();
    let a = Attempt::new(tenant, "x", Some("2001:db8::1".parse().unwrap()));
    let b = Attempt::new(tenant, "x", Some("2001:db8::ffff:2".parse().unwrap()));
    assert_eq!(a.address, b.address);
    let mapped = Attempt::new(tenant, "x", Some("::ffff:192.0.2.1".parse().unwrap()));
    assert_eq!(mapped.address, Some(Key::Address("192.0.2.1".parse().unwrap())));
}

#[test]
fn old_failures_are_forgotten_and_memory_is_bounded() {
    let t = Throttle::new(ThrottlePolicy {
        max_entries: 10,
        ..ThrottlePolicy::default()
    });
    let tenant = Uuid::new_v4();
    let start = Instant::now();
    let attempt = Attempt::new(tenant, "a@example.com", None);
    for _ in 0..4 {
        t.failure(&attempt, start);
    }
    let much_later = start + Duration::from_secs(7200);
    t.failure(&attempt, much_later);
    assert!(t.check(&attempt, much_later).is_ok(), "the count started over");
    for i in 0..100 {
        t.failure(&Attempt::new(tenant, &format!("{i}"), None), much_later);
    }
    assert!(t.entries().len() <= 10);
}

#[test]
fn attempts_in_flight_take_up_the_free_attempts() {
    let t = throttle();
    let tenant = Uuid::new_v4();
    let now = Instant::now();
    let attempt = Attempt::new(tenant, "race@example.com", None);
    // Five at once, as many as the account's free attempts; the sixth is refused unchecked.
    let first: Vec<_> = (0..5).map(|_| t.begin(&attempt, now).unwrap()).collect();
    assert_eq!(t.begin(&attempt, now).unwrap_err(), Duration::from_secs(60));
    // They all fail: the account is locked.
    first.into_iter().for_each(Reservation::failed);
    assert!(t.check(&attempt, now).is_err());
    assert!(t.begin(&attempt, now).is_err());
    // Once the lock has passed, one attempt at a time.
    let later = now + Duration::from_secs(61);
    let one = t.begin(&attempt, later).unwrap();
    assert!(t.begin(&attempt, later).is_err());
    // The right password clears the account.
    one.succeeded();
    assert!(t.check(&attempt, later).is_ok());
    assert!(t.entries().is_empty(), "{:?}", t.entries());
}

#[test]
fn an_attempt_dropped_unresolved_is_a_failure_and_a_released_one_is_not() {
    let t = throttle();
    let tenant = Uuid::new_v4();
    let now = Instant::now();
    let attempt = Attempt::new(tenant, "gone@example.com", Some("198.51.100.7".parse().unwrap()));
    for _ in 0..5 {
        // A request its client cancelled mid-check.
        drop(t.begin(&attempt, now).unwrap());
    }
    assert!(t.check(&attempt, now).is_err(), "the cancelled attempts counted");
    let other = Attempt::new(tenant, "other@example.com", Some("198.51.100.8".parse().unwrap()));
    for _ in 0..10 {
        t.begin(&other, now).unwrap().release();
    }
    assert!(t.check(&other, now).is_ok());
    assert!(t.begin(&other, now).is_ok());
}

#[test]
fn an_address_gets_its_free_attempts_in_flight_across_accounts() {
    let t = throttle();
    let tenant = Uuid::new_v4();
    let now = Instant::now();
    let ip: IpAddr = "203.0.113.77".parse().unwrap();
    let spray: Vec<_> = (0..20)
        .map(|i| {
            t.begin(&Attempt::new(tenant, &format!("user{i}@example.com"), Some(ip)), now)
                .unwrap()
        })
        .collect();
    let fresh = Attempt::new(tenant, "someone-else@example.com", Some(ip));
    assert!(t.begin(&fresh, now).is_err());
    // A success frees its place at the address without clearing the address's failures.
    let mut spray = spray.into_iter();
    spray.next().unwrap().succeeded();
    let last = t.begin(&fresh, now).unwrap();
    spray.for_each(Reservation::failed);
    last.failed();
    assert!(t.check(&fresh, now).is_err(), "twenty failures lock the address");
}
