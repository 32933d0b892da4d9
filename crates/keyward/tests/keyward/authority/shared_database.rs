//! Two servers on one PostgreSQL database behave as one service: what one
//! registers, removes or rotates, the other honours at once (PostgreSQL notifies it), at the
//! latest at its directory check (1 s).

use std::time::{Duration, Instant};

use crate::common::*;

/// Waits up to 10 s for `check` to hold.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not seen within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn two_servers_on_one_postgres_database_act_as_one() {
    let schema = Schema::new();
    let url = schema.url();
    let a = Server::start_with(tempfile::tempdir().unwrap(), |settings| settings.database(&url));
    // The second server seals with the same master key: a deployment shares it like the database.
    let b_dir = tempfile::tempdir().unwrap();
    std::fs::copy(a.data().join("master.key"), b_dir.path().join("master.key")).unwrap();
    let b = Server::start_with(b_dir, |settings| settings.database(&url));

    // Registered through A, honoured by B.
    let client = a.client("shared");
    let assertion = client.assertion(&b);
    eventually("B accepts an app registered through A", || async {
        b.token("contoso", &client.form(&assertion)).await.0 == 200
    })
    .await;
    let (_, body) = b.token("contoso", &client.form(&assertion)).await;
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["roles"][0],
        "Tasks.Read.All"
    );

    // Removed through A, refused by B.
    a.keyward(&[
        "app",
        "cert",
        "remove",
        "shared",
        &client.certificate.thumbprints().sha1_hex(),
    ]);
    eventually("B refuses a certificate removed through A", || async {
        let (status, body) = b.token("contoso", &client.form(&assertion)).await;
        status == 401 && body["error_codes"][0] == 700027
    })
    .await;

    // Rotated through A, published by B.
    let rotated = a.keyward(&["signing-key", "rotate"]);
    let kid = rotated["kid"].as_str().unwrap().to_owned();
    eventually("B publishes the key A rotated to", || async {
        let keys = b.get_json("/contoso/discovery/v2.0/keys").await;
        keys["keys"]
            .as_array()
            .is_some_and(|keys| keys.iter().any(|k| k["kid"] == kid.as_str()))
    })
    .await;
}
