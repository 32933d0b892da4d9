//! The proof of possession on an [`AppEntry`], without HTTP: what Entra accepts and each
//! refusal, named for its condition. The router tests (`tests/authority/key_rotation.rs`) cover
//! the replay check, which needs the store.

use keyward_jose::{Header, SigningKey};
use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey, Validity};
use keyward_store::Application;
use serde_json::{Value, json};

use super::*;

fn new_certificate(subject: &str, validity: Validity) -> (PrivateKey, Certificate) {
    let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
    let certificate = CertificateSpec::new(Name::parse(subject).unwrap())
        .validity(validity)
        .self_signed(&key)
        .unwrap();
    (key, certificate)
}

fn credential(certificate: &Certificate) -> KeyCredential {
    crate::credentials::certificate_credential(certificate.der(), None, None, None, false, OffsetDateTime::now_utc())
        .unwrap()
}

fn app(credentials: Vec<KeyCredential>) -> AppEntry {
    AppEntry::new(Application {
        id: Uuid::new_v4(),
        tenant_id: Uuid::new_v4(),
        app_id: Uuid::new_v4(),
        service_principal_id: Uuid::new_v4(),
        display_name: "roller".into(),
        identifier_uris: Vec::new(),
        redirect_uris: Vec::new(),
        logout_url: None,
        key_credentials: credentials,
        password_credentials: Vec::new(),
        app_roles: Vec::new(),
        created: OffsetDateTime::now_utc(),
        version: 1,
    })
}

fn sign(key: &PrivateKey, certificate: &Certificate, claims: &Value) -> String {
    let header = Header::new(Algorithm::Rs256)
        .with_typ("JWT")
        .with_x5t(certificate.thumbprints().x5t());
    SigningKey::new(key, Algorithm::Rs256)
        .unwrap()
        .sign(&header, claims)
        .unwrap()
}

fn claims(app: &AppEntry, now: OffsetDateTime) -> Value {
    let now = now.unix_timestamp();
    json!({"aud": PROOF_AUDIENCE, "iss": app.app.id, "nbf": now, "exp": now + 600})
}

#[test]
fn a_proof_as_entra_documents_it_passes_with_either_graph_audience() {
    let (key, certificate) = new_certificate("CN=roller", Validity::Days(30));
    let app = app(vec![credential(&certificate)]);
    let now = OffsetDateTime::now_utc();
    let policy = AssertionPolicy::default();
    let verified = verify_proof(&app, &sign(&key, &certificate, &claims(&app, now)), &policy, now).unwrap();
    assert_eq!(verified.signer, app.app.key_credentials[0].key_id);
    let mut newer = claims(&app, now);
    newer["aud"] = json!(GRAPH_APP_ID);
    assert!(verify_proof(&app, &sign(&key, &certificate, &newer), &policy, now).is_ok());
}

#[test]
fn the_app_id_as_issuer_is_refused_with_a_hint() {
    let (key, certificate) = new_certificate("CN=roller", Validity::Days(30));
    let app = app(vec![credential(&certificate)]);
    let now = OffsetDateTime::now_utc();
    let mut wrong = claims(&app, now);
    wrong["iss"] = json!(app.app.app_id);
    let err = verify_proof(
        &app,
        &sign(&key, &certificate, &wrong),
        &AssertionPolicy::default(),
        now,
    )
    .unwrap_err();
    assert!(
        matches!(err, KeyProofError::WrongIssuer { is_app_id: true, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("object id"), "{err}");
}

#[test]
fn a_proof_living_longer_than_ten_minutes_or_without_exp_is_refused() {
    let (key, certificate) = new_certificate("CN=roller", Validity::Days(30));
    let app = app(vec![credential(&certificate)]);
    let now = OffsetDateTime::now_utc();
    let policy = AssertionPolicy::default();
    let mut long = claims(&app, now);
    long["exp"] = json!(now.unix_timestamp() + 3600);
    let err = verify_proof(&app, &sign(&key, &certificate, &long), &policy, now).unwrap_err();
    assert!(
        matches!(
            err,
            KeyProofError::OutsideWindow {
                problem: WindowProblem::TooLong(600),
                ..
            }
        ),
        "{err:?}"
    );
    let mut none = claims(&app, now);
    none.as_object_mut().unwrap().remove("exp");
    let err = verify_proof(&app, &sign(&key, &certificate, &none), &policy, now).unwrap_err();
    assert!(
        matches!(
            err,
            KeyProofError::OutsideWindow {
                problem: WindowProblem::NoExpiry,
                ..
            }
        ),
        "{err:?}"
    );
    let mut future = claims(&app, now);
    future["nbf"] = json!(now.unix_timestamp() + 3000);
    future["exp"] = json!(now.unix_timestamp() + 3300);
    assert!(verify_proof(&app, &sign(&key, &certificate, &future), &policy, now).is_err());
}

#[test]
fn replay_ids_follow_the_jti_or_else_the_signature() {
    let (key, certificate) = new_certificate("CN=roller", Validity::Days(30));
    let app = app(vec![credential(&certificate)]);
    let now = OffsetDateTime::now_utc();
    let policy = AssertionPolicy::default();
    let id = |claims: &Value| {
        verify_proof(&app, &sign(&key, &certificate, claims), &policy, now)
            .unwrap()
            .replay_id
    };
    let plain = claims(&app, now);
    assert_eq!(
        id(&plain),
        id(&plain),
        "RS256 is deterministic: the same proof, the same id"
    );
    let mut with_jti = plain.clone();
    with_jti["jti"] = json!("one");
    let mut same_jti_later = with_jti.clone();
    same_jti_later["nbf"] = json!(now.unix_timestamp() - 5);
    assert_eq!(
        id(&with_jti),
        id(&same_jti_later),
        "a jti is used once, whatever else changes"
    );
    assert_ne!(id(&with_jti), id(&plain));
}

#[test]
fn an_app_without_a_current_certificate_cannot_prove_anything() {
    let (key, certificate) = new_certificate("CN=roller", Validity::Days(30));
    let mut registered = credential(&certificate);
    let now = OffsetDateTime::now_utc();
    registered.end = now - Duration::minutes(1);
    let app = app(vec![registered]);
    let err = verify_proof(
        &app,
        &sign(&key, &certificate, &claims(&app, now)),
        &AssertionPolicy::default(),
        now,
    )
    .unwrap_err();
    assert!(matches!(err, KeyProofError::NoCurrentCertificate { .. }), "{err:?}");
}
