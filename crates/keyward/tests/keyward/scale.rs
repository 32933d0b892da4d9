//! The scale run, small (issue 16, point 4): `keyward_loadgen::scale` end to end against the
//! debug binary with 300 applications of 10 certificates and 2,000 users, so that the harness
//! behind `cargo xtask scale` cannot rot. No timing is asserted: the figures are the long run's
//! (`cargo xtask scale`, a hundred thousand applications and a million users).

use std::time::Duration;

use keyward_loadgen::scale::{self, Settings};

#[test]
fn a_big_directory_and_a_small_one_answer_every_token_request_and_take_new_certificates() {
    let cache = tempfile::tempdir().expect("a cache directory");
    let mut settings = Settings::full(env!("CARGO_BIN_EXE_keyward").into(), cache.path().to_owned());
    settings.apps = 300;
    settings.certs = 10;
    settings.users = 2000;
    settings.seconds = Duration::from_secs(3);
    settings.rate = 40.0;
    settings.workers = 8;
    settings.adds = 2;
    settings.start_timeout = Duration::from_secs(120);
    let report = scale::run(&settings).expect("the scale run runs");
    let text = report.text();
    eprintln!("{text}");

    for (name, server) in [("big", &report.big), ("small", &report.small)] {
        let latency = &server.latency;
        assert!(latency.sent > 0, "no token requests to the {name} server: {text}");
        assert_eq!(latency.errors, 0, "the {name} server refused token requests: {text}");
        assert_eq!(latency.tokens, latency.sent, "{name}: {text}");
        assert!(!latency.ran_out, "{name}: {text}");
        assert_eq!(
            server.cert_adds.new_cert_tokens, settings.adds,
            "a certificate added to the {name} server got no token: {text}"
        );
    }
    assert!(report.big.startup_seconds > 0.0, "{text}");
    assert!(
        report.big.rss_kib > 0 && report.big.peak_rss_kib >= report.big.rss_kib,
        "{text}"
    );
    assert!(report.big.database_bytes > report.small.database_bytes, "{text}");
    assert!(!report.certificates_cached && !report.populate_cached, "{text}");
    // The second run reads both caches.
    let again = scale::run(&Settings {
        seconds: Duration::from_secs(2),
        adds: 1,
        ..settings
    })
    .expect("the second run runs");
    assert!(again.certificates_cached && again.populate_cached, "{}", again.text());
    assert_eq!(again.big.latency.errors, 0, "{}", again.text());
}
