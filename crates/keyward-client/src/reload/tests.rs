use std::path::Path;

use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey, Validity};

use super::*;

fn pair(name: &str) -> (Certificate, PrivateKey) {
    let key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let certificate = CertificateSpec::new(Name::parse(&format!("CN={name}")).unwrap())
        .validity(Validity::Days(30))
        .self_signed(&key)
        .unwrap();
    (certificate, key)
}

fn write_pair(dir: &Path, certificate: &Certificate, key: &PrivateKey) {
    std::fs::write(dir.join("app.pem"), certificate.pem()).unwrap();
    std::fs::write(dir.join("app.key"), key.to_pkcs8_pem(None).unwrap().as_bytes()).unwrap();
}

fn thumbprint(credential: &CertificateCredential) -> String {
    credential.certificate().thumbprints().sha1_hex()
}

fn from_dir(dir: &Path) -> ReloadingCertificate {
    ReloadingCertificate::from_files(&dir.join("app.pem"), Some(&dir.join("app.key")), None).unwrap()
}

#[tokio::test]
async fn new_files_are_switched_to_and_unchanged_files_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let (old_cert, old_key) = pair("old");
    write_pair(dir.path(), &old_cert, &old_key);
    let reloading = from_dir(dir.path());
    let before = reloading.current();
    assert!(!reloading.reload().await.unwrap(), "nothing changed");
    assert!(Arc::ptr_eq(&before, &reloading.current()));

    let (new_cert, new_key) = pair("new");
    write_pair(dir.path(), &new_cert, &new_key);
    assert!(reloading.reload().await.unwrap());
    assert_eq!(thumbprint(&reloading.current()), new_cert.thumbprints().sha1_hex());
    // The pair in use before is still whole for whoever holds it.
    assert_eq!(thumbprint(&before), old_cert.thumbprints().sha1_hex());
    // A clone shares the switch.
    assert_eq!(
        thumbprint(&reloading.clone().current()),
        new_cert.thumbprints().sha1_hex()
    );
}

#[tokio::test]
async fn a_half_written_pair_keeps_the_old_one_until_the_key_follows() {
    let dir = tempfile::tempdir().unwrap();
    let (old_cert, old_key) = pair("old");
    write_pair(dir.path(), &old_cert, &old_key);
    let reloading = from_dir(dir.path()).check_every(Duration::ZERO);
    let (new_cert, new_key) = pair("new");

    // The new certificate beside the old key: refused, the old pair stays.
    std::fs::write(dir.path().join("app.pem"), new_cert.pem()).unwrap();
    assert!(reloading.reload().await.is_err());
    assert_eq!(
        thumbprint(&*reloading.for_request().await),
        old_cert.thumbprints().sha1_hex()
    );

    // The key cut off in the middle of its write: still the old pair.
    let key_pem = new_key.to_pkcs8_pem(None).unwrap();
    std::fs::write(dir.path().join("app.key"), &key_pem.as_bytes()[..key_pem.len() / 2]).unwrap();
    assert_eq!(
        thumbprint(&*reloading.for_request().await),
        old_cert.thumbprints().sha1_hex()
    );

    // The whole key: the next request signs with the new pair.
    std::fs::write(dir.path().join("app.key"), key_pem.as_bytes()).unwrap();
    let current = reloading.for_request().await;
    assert_eq!(thumbprint(&current), new_cert.thumbprints().sha1_hex());
    current
        .assertion("client", "https://localhost/t/oauth2/v2.0/token", 0)
        .unwrap();
}

#[tokio::test]
async fn files_are_looked_at_no_more_often_than_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (old_cert, old_key) = pair("old");
    write_pair(dir.path(), &old_cert, &old_key);
    let reloading = from_dir(dir.path()).check_every(Duration::from_secs(3600));
    let (new_cert, new_key) = pair("new");
    write_pair(dir.path(), &new_cert, &new_key);
    assert_eq!(
        thumbprint(&*reloading.for_request().await),
        old_cert.thumbprints().sha1_hex()
    );
    // A refusal looks at once.
    let used = reloading.current();
    let fresh = reloading.after_refusal(&used).await.expect("a new certificate");
    assert_eq!(thumbprint(&fresh), new_cert.thumbprints().sha1_hex());
    // A second refusal of the same certificate, with nothing newer: no retry.
    assert!(reloading.after_refusal(&fresh).await.is_none());
    // A request refused with the old one while another switched: retried with the new one.
    let again = reloading.after_refusal(&used).await.expect("the switched one");
    assert!(Arc::ptr_eq(&again, &fresh));
}

#[test]
fn a_certificate_nears_expiry_in_the_last_tenth_of_its_lifetime() {
    let (certificate, key) = pair("c");
    let credential = CertificateCredential::new(certificate.clone(), Vec::new(), key).unwrap();
    let info = certificate.info();
    let lifetime = info.not_after - info.not_before;
    assert!(!nears_expiry(&credential, info.not_before));
    assert!(!nears_expiry(&credential, info.not_after - lifetime / 5));
    assert!(nears_expiry(&credential, info.not_after - lifetime / 20));
    assert!(nears_expiry(&credential, info.not_after + time::Duration::days(1)));
}

#[tokio::test]
async fn signing_options_apply_to_later_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let (old_cert, old_key) = pair("old");
    write_pair(dir.path(), &old_cert, &old_key);
    let reloading = from_dir(dir.path()).send_certificate_chain(true);
    let (new_cert, new_key) = pair("new");
    write_pair(dir.path(), &new_cert, &new_key);
    assert!(reloading.reload().await.unwrap());
    let jwt = reloading.current().assertion("c", "https://x/t/token", 0).unwrap();
    let header = jwt.split('.').next().unwrap();
    let header = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    assert!(header["x5c"].is_array(), "{header}");
}
