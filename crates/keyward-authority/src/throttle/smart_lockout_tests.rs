//! Smart lockout: failures from unfamiliar sources lock those sources, not the account's owner
//! at the networks they signed in from.

use super::*;

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

#[test]
fn an_attacker_locks_the_unfamiliar_bucket_not_the_owner_at_home() {
    let t = Throttle::new(ThrottlePolicy::default());
    let tenant = Uuid::new_v4();
    let now = Instant::now();
    let home = Attempt::new(tenant, "ann@example.com", ip("192.0.2.10"));
    t.begin(&home, now).unwrap().succeeded();
    // Twenty wrong passwords from elsewhere: the first five are checked, then refused unchecked.
    let attacker = Attempt::new(tenant, "ann@example.com", ip("203.0.113.66"));
    let mut checked = 0;
    for _ in 0..20 {
        if let Ok(reservation) = t.begin(&attacker, now) {
            reservation.failed();
            checked += 1;
        }
    }
    assert_eq!(checked, 5);
    assert!(t.begin(&attacker, now).is_err());
    // Every unfamiliar address shares the lock: a thousand addresses get no more guesses.
    assert!(
        t.begin(&Attempt::new(tenant, "ann@example.com", ip("198.51.100.1")), now)
            .is_err()
    );
    assert!(t.begin(&Attempt::new(tenant, "ANN@example.com", None), now).is_err());
    // Ann at home, even from another address of the same /24, is not locked.
    let home_again = Attempt::new(tenant, "ann@example.com", ip("192.0.2.200"));
    t.begin(&home_again, now).unwrap().succeeded();
    // And her success there gives the attacker no fresh attempts.
    assert!(t.begin(&attacker, now).is_err());
}

#[test]
fn a_familiar_network_has_its_own_limited_bucket() {
    let t = Throttle::new(ThrottlePolicy::default());
    let tenant = Uuid::new_v4();
    let now = Instant::now();
    let office = Attempt::new(tenant, "ann@example.com", ip("2001:db8:1:2::10"));
    t.begin(&office, now).unwrap().succeeded();
    // Someone in the same /64 guesses: that network locks after five, like any bucket.
    let colleague = Attempt::new(tenant, "ann@example.com", ip("2001:db8:1:2::99"));
    for _ in 0..5 {
        t.begin(&colleague, now).unwrap().failed();
    }
    assert!(t.begin(&office, now).is_err());
    // Not the unfamiliar bucket, which is counted apart.
    assert!(
        t.check(&Attempt::new(tenant, "ann@example.com", ip("203.0.113.1")), now)
            .is_ok()
    );
}

#[test]
fn familiarity_is_only_earned_by_a_success_and_fades() {
    let t = Throttle::new(ThrottlePolicy::default());
    let tenant = Uuid::new_v4();
    let now = Instant::now();
    let attacker = Attempt::new(tenant, "ann@example.com", ip("203.0.113.66"));
    // Failures and released attempts do not make a network familiar.
    t.begin(&attacker, now).unwrap().release();
    for _ in 0..5 {
        t.begin(&attacker, now).unwrap().failed();
    }
    assert!(t.begin(&attacker, now).is_err());
    let home = Attempt::new(tenant, "ann@example.com", ip("192.0.2.10"));
    assert!(t.begin(&home, now).is_err(), "home was never a success: unfamiliar");
    // Another account's success at an address is not this account's familiarity.
    t.begin(&Attempt::new(tenant, "bob@example.com", ip("192.0.2.10")), now)
        .unwrap()
        .succeeded();
    assert!(t.begin(&home, now).is_err());

    // Familiar, until long after the last success.
    let t = Throttle::new(ThrottlePolicy::default());
    let start = Instant::now();
    let mut entries = t.entries();
    let keys = t.keys(&home, start);
    t.succeed(&mut entries, &home, &keys, start);
    drop(entries);
    assert!(matches!(
        t.keys(&home, start + Duration::from_secs(29 * 24 * 3600)).account,
        Some(Key::Account(_, _, Source::Familiar(_)))
    ));
    assert!(matches!(
        t.keys(&home, start + Duration::from_secs(31 * 24 * 3600)).account,
        Some(Key::Account(_, _, Source::Unfamiliar))
    ));
}

#[test]
fn the_per_address_limit_still_holds_at_a_familiar_network() {
    let t = Throttle::new(ThrottlePolicy::default());
    let tenant = Uuid::new_v4();
    let now = Instant::now();
    let sprayer = ip("192.0.2.10");
    t.begin(&Attempt::new(tenant, "ann@example.com", sprayer), now)
        .unwrap()
        .succeeded();
    for i in 0..20 {
        t.begin(&Attempt::new(tenant, &format!("user{i}@example.com"), sprayer), now)
            .unwrap()
            .failed();
    }
    assert!(t.begin(&Attempt::new(tenant, "ann@example.com", sprayer), now).is_err());
}

#[test]
fn attempts_in_flight_keep_the_bucket_they_were_reserved_in() {
    let t = Throttle::new(ThrottlePolicy::default());
    let tenant = Uuid::new_v4();
    let now = Instant::now();
    let cafe = Attempt::new(tenant, "ann@example.com", ip("198.51.100.5"));
    // Four guesses in flight from the café's network, then Ann signs in there.
    let guesses: Vec<_> = (0..4).map(|_| t.begin(&cafe, now).unwrap()).collect();
    t.begin(&cafe, now).unwrap().succeeded();
    // The guesses fail in the unfamiliar bucket they were counted in, not the new familiar one.
    guesses.into_iter().for_each(Reservation::failed);
    for _ in 0..4 {
        t.begin(&cafe, now).unwrap().release();
    }
    let elsewhere = Attempt::new(tenant, "ann@example.com", ip("203.0.113.1"));
    t.begin(&elsewhere, now).unwrap().failed();
    assert!(
        t.begin(&elsewhere, now).is_err(),
        "the four guesses counted as unfamiliar"
    );
    assert!(t.begin(&cafe, now).is_ok());
}
