//! What survives a restart and a `kill -9`.

use std::sync::{Arc, Mutex};

use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey, Validity};

use super::support::reader;
use crate::common::*;

#[tokio::test]
async fn a_restart_keeps_certificates_their_keys_and_secrets() {
    let server = Server::spawn();
    server.keyward(&[
        "vault",
        "cert",
        "create",
        "kept",
        "--subject",
        "CN=kept",
        "--content-type",
        "pem",
    ]);
    let admin_view = reader(&server, "restart-reader", "get,list", "get,list,set");
    let vault = admin_view.vault(&server);
    vault
        .set_secret("kept-secret", "value ✓", Some("text/plain"))
        .await
        .unwrap();
    let certificate = vault.get_certificate("kept", None).await.unwrap();
    let managed = vault.get_secret("kept", None).await.unwrap();
    let dir = server.stop();

    let server = Server::spawn_in(dir);
    let vault = admin_view.vault(&server);
    let after = vault.get_certificate("kept", None).await.unwrap();
    // Ids are built from the request's host, and the restarted server has another port.
    let path = |id: &str| id.split_once("/certificates/").map(|(_, path)| path.to_owned());
    assert_eq!(path(&after.id), path(&certificate.id), "the same name and version");
    assert_eq!(after.x5t, certificate.x5t);
    let managed_after = vault.get_secret("kept", None).await.unwrap();
    assert_eq!(
        *managed_after.value, *managed.value,
        "the private key survives, unchanged"
    );
    assert!(managed_after.managed);
    assert_eq!(*vault.get_secret("kept-secret", None).await.unwrap().value, "value ✓");
}

#[tokio::test]
async fn kill_9_during_a_burst_of_imports_loses_no_acknowledged_write() {
    let server = Server::spawn();
    let importer = reader(&server, "importer", "get,import,list", "get,set");
    let bundles: Vec<(String, Vec<u8>)> = (0..48)
        .map(|i| {
            let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
            let certificate = CertificateSpec::new(Name::parse(&format!("CN=burst-{i}")).unwrap())
                .validity(Validity::Days(30))
                .self_signed(&key)
                .unwrap();
            let mut pem = key.to_pkcs8_pem(None).unwrap().as_bytes().to_vec();
            pem.extend_from_slice(certificate.pem().as_bytes());
            (certificate.thumbprints().x5t(), pem)
        })
        .collect();
    let vault = importer.vault(&server);
    // Authenticate once, before the burst.
    vault.list_certificates().await.unwrap();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for (worker, chunk) in bundles.chunks(12).enumerate() {
        let vault = vault.clone();
        let chunk = chunk.to_vec();
        let acknowledged = Arc::clone(&acknowledged);
        workers.push(tokio::spawn(async move {
            for (i, (x5t, pem)) in chunk.into_iter().enumerate() {
                let name = format!("burst-{worker}-{i}");
                if vault.import_certificate(&name, &pem, None, None).await.is_err() {
                    break;
                }
                let secret = format!("secret-{worker}-{i}");
                if vault.set_secret(&secret, &x5t, None).await.is_err() {
                    acknowledged.lock().unwrap().push((name, x5t, None));
                    break;
                }
                acknowledged.lock().unwrap().push((name, x5t, Some(secret)));
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let dir = server.kill9();
    for worker in workers {
        worker.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 4,
        "the burst should have landed a few imports before the kill, got {}",
        acknowledged.len()
    );

    let server = Server::spawn_in(dir);
    let vault = importer.vault(&server);
    for (name, x5t, secret) in &acknowledged {
        let certificate = vault
            .get_certificate(name, None)
            .await
            .unwrap_or_else(|e| panic!("acknowledged import {name} was lost: {e}"));
        assert_eq!(&certificate.x5t, x5t, "{name}");
        if let Some(secret) = secret {
            assert_eq!(*vault.get_secret(secret, None).await.unwrap().value, *x5t, "{secret}");
        }
    }
}
