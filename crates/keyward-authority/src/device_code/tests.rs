use super::*;

#[test]
fn user_codes_use_only_unambiguous_characters() {
    for _ in 0..200 {
        let code = new_user_code().unwrap();
        assert_eq!(code.len(), USER_CODE_LEN);
        assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
        assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));
    }
}

#[test]
fn user_codes_are_read_without_case_spaces_or_dashes() {
    assert_eq!(normalize_user_code(" abcd-efgh ").as_deref(), Some("ABCDEFGH"));
    assert_eq!(normalize_user_code("ab cd ef gh").as_deref(), Some("ABCDEFGH"));
    // Wrong length, ambiguous or foreign characters, too long an input: never a code.
    assert_eq!(normalize_user_code("ABCDEFG"), None);
    assert_eq!(normalize_user_code("ABCDEFGHJ"), None);
    assert_eq!(normalize_user_code("ABCDEFG0"), None);
    assert_eq!(normalize_user_code("ABCDEFGÉ"), None);
    assert_eq!(normalize_user_code(&"-".repeat(100)), None);
}

#[test]
fn a_poll_sooner_than_the_gap_is_slowed_down() {
    let polls = DevicePolls::default();
    let gap = std::time::Duration::from_secs(4);
    let start = Instant::now();
    assert!(polls.poll("a", gap, start).is_ok());
    assert!(matches!(
        polls.poll("a", gap, start + std::time::Duration::from_secs(1)),
        Err(DeviceError::SlowDown)
    ));
    // Another device code is not slowed by it; the first one is, from its latest poll.
    assert!(polls.poll("b", gap, start).is_ok());
    assert!(polls.poll("a", gap, start + std::time::Duration::from_secs(4)).is_err());
    assert!(polls.poll("a", gap, start + std::time::Duration::from_secs(9)).is_ok());
}

#[test]
fn a_ticket_opens_only_in_its_tenant_and_before_it_expires() {
    let master = MasterKey::from_bytes(&[7u8; 32]).unwrap();
    let now = OffsetDateTime::now_utc();
    let ticket = DeviceTicket {
        tenant_id: Uuid::new_v4(),
        client_id: Uuid::new_v4(),
        user_code: "u".into(),
        device: "d".into(),
        family: Uuid::new_v4(),
        expires_at: now.unix_timestamp() + 60,
    };
    let sealed = ticket.seal(&master).unwrap();
    assert_eq!(
        DeviceTicket::open(&master, ticket.tenant_id, &sealed, now),
        Some(ticket.clone())
    );
    assert_eq!(DeviceTicket::open(&master, Uuid::new_v4(), &sealed, now), None);
    assert_eq!(
        DeviceTicket::open(&master, ticket.tenant_id, &sealed, now + Duration::seconds(61)),
        None
    );
    assert_eq!(DeviceTicket::open(&master, ticket.tenant_id, "x", now), None);
}
