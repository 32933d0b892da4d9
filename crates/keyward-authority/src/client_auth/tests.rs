//! Client authentication on a [`Snapshot`]: every refusal of an assertion or a secret, named
//! for its condition, and the AADSTS code it becomes.

use std::sync::{Arc, LazyLock};

use keyward_jose::{Header, SigningKey};
use keyward_pki::sealing::MasterKey;
use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey, Validity};
use keyward_store::{Application, KeyCredential, PasswordCredential, Tenant};
use serde_json::{Value, json};

use super::*;
use crate::signing::{self, TenantKeys};

const ENDPOINT: &str = "https://localhost:8443/contoso/oauth2/v2.0/token";
const SECRET: &str = "s3cret-s3cret-s3cret-s3cret-s3cret-s3cre";

struct Fixture {
    snapshot: Snapshot,
    tenant: Arc<TenantEntry>,
    app_id: Uuid,
    key: PrivateKey,
    certificate: Certificate,
    /// A certificate not registered anywhere, and its key.
    stranger: (PrivateKey, Certificate),
    now: OffsetDateTime,
}

fn new_certificate(subject: &str) -> (PrivateKey, Certificate) {
    let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
    let certificate = CertificateSpec::new(Name::parse(subject).unwrap())
        .validity(Validity::Days(30))
        .self_signed(&key)
        .unwrap();
    (key, certificate)
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let master = MasterKey::from_bytes(&[5u8; 32]).unwrap();
    let now = OffsetDateTime::now_utc();
    let tenant = Tenant {
        id: Uuid::new_v4(),
        name: "contoso".into(),
        domain: "contoso.onmicrosoft.com".into(),
        created: now,
    };
    let signing_key = signing::new_signing_key(&tenant, &master, now).unwrap();
    let issuer = format!("https://localhost:8443/{}/v2.0", tenant.id);
    let keys = TenantKeys::load(&tenant, vec![signing_key], &master, &issuer, now).unwrap();
    let tenant = Arc::new(TenantEntry {
        tenant,
        keys,
        issuer,
        token_endpoints: vec![ENDPOINT.into()],
    });
    let (key, certificate) = new_certificate("CN=daemon");
    let app_id = Uuid::new_v4();
    let app = Application {
        id: Uuid::new_v4(),
        tenant_id: tenant.tenant.id,
        app_id,
        service_principal_id: Uuid::new_v4(),
        display_name: "daemon".into(),
        identifier_uris: vec![format!("api://{app_id}")],
        redirect_uris: Vec::new(),
        logout_url: None,
        key_credentials: vec![KeyCredential {
            key_id: Uuid::new_v4(),
            display_name: "cert".into(),
            certificate_der: certificate.der().to_vec(),
            start: now - Duration::days(1),
            end: now + Duration::days(20),
        }],
        password_credentials: vec![PasswordCredential {
            key_id: Uuid::new_v4(),
            display_name: "secret".into(),
            hint: "s3c".into(),
            secret_hash: hash_secret(SECRET),
            start: now - Duration::days(1),
            end: now + Duration::days(1),
        }],
        app_roles: Vec::new(),
        created: now,
        version: 1,
    };
    let snapshot = Snapshot::new([Arc::clone(&tenant)], [Arc::new(AppEntry::new(app))], Vec::new());
    Fixture {
        snapshot,
        tenant,
        app_id,
        key,
        certificate,
        stranger: new_certificate("CN=stranger"),
        now,
    }
});

fn claims() -> Value {
    let f = &*FIXTURE;
    let now = f.now.unix_timestamp();
    json!({"iss": f.app_id, "sub": f.app_id, "aud": ENDPOINT, "exp": now + 600, "nbf": now - 10,
        "jti": Uuid::new_v4()})
}

fn header() -> Header {
    Header::new(Algorithm::Rs256).with_x5t(FIXTURE.certificate.thumbprints().x5t())
}

fn sign(header: &Header, claims: &Value) -> String {
    SigningKey::new(&FIXTURE.key, Algorithm::Rs256)
        .unwrap()
        .sign(header, claims)
        .unwrap()
}

fn check_with(assertion: &str, form_client_id: Option<&str>) -> Result<AuthenticatedClient, ClientAuthError> {
    let f = &*FIXTURE;
    authenticate_assertion(
        &f.snapshot,
        &f.tenant,
        form_client_id,
        assertion,
        &f.tenant.token_endpoints,
        &AssertionPolicy::default(),
        f.now,
    )
}

fn refusal(assertion: &str) -> AssertionError {
    match check_with(assertion, None) {
        Err(ClientAuthError::Assertion(e)) => e,
        Err(other) => panic!("expected an assertion error, got {other:?}"),
        Ok(_) => panic!("accepted"),
    }
}

fn code(e: impl Into<ClientAuthError>) -> (OAuthErrorKind, u32) {
    let e = OAuthError::from(e.into());
    (e.kind, e.code)
}

#[test]
fn a_good_assertion_authenticates_with_the_certificate() {
    let client = check_with(&sign(&header(), &claims()), Some(&FIXTURE.app_id.to_string())).unwrap();
    assert_eq!(client.app.app.app_id, FIXTURE.app_id);
    assert_eq!(client.method, ClientAuthMethod::Certificate);
    assert_eq!(client.method.azpacr(), "2");
    // x5t#S256 and kid name the certificate too, and a trailing slash or query in aud is fine.
    let s256 = Header::new(Algorithm::Rs256).with_x5t_s256(FIXTURE.certificate.thumbprints().x5t_s256());
    let mut relaxed = claims();
    relaxed["aud"] = json!([format!("{ENDPOINT}/?x=1")]);
    assert!(check_with(&sign(&s256, &relaxed), None).is_ok());
    let kid = Header::new(Algorithm::Rs256).with_kid(FIXTURE.certificate.thumbprints().sha1_hex());
    assert!(check_with(&sign(&kid, &claims()), None).is_ok());
}

#[test]
fn who_is_calling_must_agree() {
    let mut c = claims();
    c.as_object_mut().unwrap().remove("sub");
    assert_eq!(refusal(&sign(&header(), &c)), AssertionError::MissingIssuerOrSubject);
    let mut c = claims();
    c["sub"] = json!(Uuid::new_v4());
    let e = refusal(&sign(&header(), &c));
    assert!(matches!(e, AssertionError::IssuerSubjectDiffer { .. }), "{e:?}");
    assert_eq!(code(e), (OAuthErrorKind::InvalidClient, 700021));
    let other = Uuid::new_v4().to_string();
    let e = match check_with(&sign(&header(), &claims()), Some(&other)) {
        Err(ClientAuthError::Assertion(e)) => e,
        other => panic!("{:?}", other.err()),
    };
    assert!(matches!(e, AssertionError::ClientIdMismatch { .. }), "{e:?}");
    // An unknown client is unauthorized_client, 700016.
    let mut c = claims();
    c["iss"] = json!(other);
    c["sub"] = json!(other);
    let e = check_with(&sign(&header(), &c), None).err().unwrap();
    assert!(matches!(e, ClientAuthError::UnknownClient { .. }), "{e:?}");
    assert_eq!(code(e), (OAuthErrorKind::UnauthorizedClient, 700016));
}

#[test]
fn only_a_registered_certificate_signs() {
    // Not a JWT at all; an algorithm outside the allow-list.
    assert!(matches!(refusal("not.a.jwt"), AssertionError::NotAJwt(_)));
    assert_eq!(code(refusal("garbage")), (OAuthErrorKind::InvalidRequest, 50027));
    // No header naming the certificate.
    let e = refusal(&sign(&Header::new(Algorithm::Rs256), &claims()));
    assert_eq!(e, AssertionError::NoCertificateHeader);
    // A kid that is no thumbprint.
    let e = refusal(&sign(&Header::new(Algorithm::Rs256).with_kid("key-1"), &claims()));
    assert!(
        matches!(e, AssertionError::NotAThumbprint { header: "kid", .. }),
        "{e:?}"
    );
    // The SHA-256 thumbprint in x5t: named, with the registered certificate it belongs to.
    let wrong = Header::new(Algorithm::Rs256).with_x5t(FIXTURE.certificate.thumbprints().x5t_s256());
    let e = refusal(&sign(&wrong, &claims()));
    let AssertionError::WrongThumbprintHash { registered_as, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        registered_as.as_deref(),
        Some(FIXTURE.certificate.thumbprints().sha1_hex().as_str())
    );
    assert!(e.to_string().contains("x5t#S256"), "{e}");
    // Another certificate, signed with its own key: the key was not found.
    let (key, stranger) = &FIXTURE.stranger;
    let header = Header::new(Algorithm::Rs256).with_x5t(stranger.thumbprints().x5t());
    let forged = SigningKey::new(key, Algorithm::Rs256)
        .unwrap()
        .sign(&header, &claims())
        .unwrap();
    let e = refusal(&forged);
    assert!(matches!(&e, AssertionError::UnknownCertificate { registered, .. } if registered.len() == 1));
    assert_eq!(code(e), (OAuthErrorKind::InvalidClient, 700027));
    // The registered certificate's thumbprint over another key's signature.
    let forged = SigningKey::new(key, Algorithm::Rs256)
        .unwrap()
        .sign(&self::header(), &claims())
        .unwrap();
    assert!(matches!(refusal(&forged), AssertionError::BadSignature { .. }));
    // x5c is never trusted by itself: it must start with the registered certificate.
    let chain = vec![STANDARD.encode(stranger.der())];
    let e = refusal(&sign(&self::header().with_x5c(chain), &claims()));
    assert_eq!(e, AssertionError::ChainMismatch);
    let chain = vec![STANDARD.encode(FIXTURE.certificate.der())];
    assert!(check_with(&sign(&self::header().with_x5c(chain), &claims()), None).is_ok());
}

#[test]
fn the_credential_must_be_current() {
    let f = &*FIXTURE;
    let later = f.now + Duration::days(25);
    let mut c = claims();
    c["exp"] = json!(later.unix_timestamp() + 60);
    c["nbf"] = json!(later.unix_timestamp());
    let result = authenticate_assertion(
        &f.snapshot,
        &f.tenant,
        None,
        &sign(&header(), &c),
        &f.tenant.token_endpoints,
        &AssertionPolicy::default(),
        later,
    );
    let Err(ClientAuthError::Assertion(e)) = result else {
        panic!("accepted after the credential's end")
    };
    assert!(matches!(e, AssertionError::CertificateNotCurrent { .. }), "{e:?}");
}

#[test]
fn audience_and_lifetime_are_checked_after_the_signature() {
    let mut c = claims();
    c["aud"] = json!("https://login.microsoftonline.com/contoso/oauth2/v2.0/token");
    let e = refusal(&sign(&header(), &c));
    assert_eq!(
        e,
        AssertionError::WrongAudience {
            expected: ENDPOINT.into()
        }
    );
    assert_eq!(code(e), (OAuthErrorKind::InvalidClient, 700023));
    let now = FIXTURE.now.unix_timestamp();
    for (exp, nbf, problem) in [
        (None, None, WindowProblem::NoExpiry),
        (Some(now - 301), None, WindowProblem::Expired),
        (Some(now + 3600 + 301), None, WindowProblem::TooLong(3600)),
        (Some(now + 600), Some(now + 301), WindowProblem::NotYetValid),
    ] {
        let mut c = claims();
        c["exp"] = json!(exp);
        c["nbf"] = json!(nbf);
        let e = refusal(&sign(&header(), &c));
        assert!(
            matches!(&e, AssertionError::OutsideWindow { problem: p, .. } if *p == problem),
            "{e:?}"
        );
        assert_eq!(code(e), (OAuthErrorKind::InvalidClient, 700024));
    }
    // Within the clock skew on both sides.
    let mut c = claims();
    c["exp"] = json!(now - 200);
    c["nbf"] = json!(now + 200);
    assert!(check_with(&sign(&header(), &c), None).is_ok());
}

#[test]
fn secrets_are_checked_against_the_hashes() {
    let f = &*FIXTURE;
    let id = f.app_id.to_string();
    let client = authenticate_secret(&f.snapshot, &f.tenant, &id, SECRET, f.now).unwrap();
    assert_eq!(client.method, ClientAuthMethod::Secret);
    let e = authenticate_secret(&f.snapshot, &f.tenant, &id, "s3c", f.now)
        .err()
        .unwrap();
    assert_eq!(e, ClientAuthError::WrongSecret { app_id: f.app_id });
    assert_eq!(code(e), (OAuthErrorKind::InvalidClient, 7000215));
    // Expired secrets no longer match.
    let later = f.now + Duration::days(2);
    assert!(authenticate_secret(&f.snapshot, &f.tenant, &id, SECRET, later).is_err());
    let e = authenticate_secret(&f.snapshot, &f.tenant, "nobody", SECRET, f.now)
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .contains("'nobody' was not found in the directory 'contoso'"),
        "{e}"
    );
}
