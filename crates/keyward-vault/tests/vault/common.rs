//! A vault service over a fresh SQLite database, a shifted clock, and a token issuer whose
//! tokens the vault checks for real (RS256 signature, issuer, audience, lifetime).

use std::sync::Arc;

use keyward_jose::{Algorithm, Header, Jws, SigningKey, VerifyingKey};
use keyward_pki::sealing::MasterKey;
use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey};
use keyward_store::{AccessPolicy, Tenant};
use keyward_vault::{Access, Caller, ShiftedClock, Tokens, Vaults};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// The resource vault tokens are for.
pub const RESOURCE: &str = "https://vault.keyward.localhost";
/// The audience of management tokens.
pub const GRAPH: &str = "https://graph.microsoft.com";
/// Where the challenge sends clients.
pub const AUTHORITY: &str = "https://localhost:8443";

/// Validates tokens signed by one test key, as the authority validates its own.
pub struct TestTokens {
    verifier: VerifyingKey,
    tenants: Vec<Uuid>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    exp: i64,
    nbf: Option<i64>,
    tid: Uuid,
    oid: Uuid,
    azp: Option<Uuid>,
    #[serde(default)]
    roles: Vec<String>,
}

impl TestTokens {
    fn claims(&self, token: &str, audience: &str) -> Option<Claims> {
        let jws = Jws::parse(token).ok()?;
        let claims: Claims = jws.verified_claims(&self.verifier, &[Algorithm::Rs256]).ok()?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let valid = claims.aud == audience
            && claims.iss == format!("{AUTHORITY}/{}/v2.0", claims.tid)
            && self.tenants.contains(&claims.tid)
            && claims.exp > now
            && claims.nbf.is_none_or(|n| n <= now);
        valid.then_some(claims)
    }
}

impl Tokens for TestTokens {
    fn vault_caller(&self, tenant_id: Uuid, token: &str) -> Option<Caller> {
        let claims = self.claims(token, RESOURCE)?;
        (claims.tid == tenant_id).then_some(Caller {
            object_id: claims.oid,
            app_id: claims.azp,
        })
    }

    fn admin_caller(&self, token: &str) -> Option<Uuid> {
        let claims = self.claims(token, GRAPH)?;
        claims
            .roles
            .iter()
            .any(|r| r == "Application.ReadWrite.All")
            .then_some(claims.tid)
    }

    fn authorization(&self, tenant_id: Uuid) -> Option<String> {
        self.tenants
            .contains(&tenant_id)
            .then(|| format!("{AUTHORITY}/{tenant_id}"))
    }

    fn resource(&self) -> String {
        RESOURCE.to_owned()
    }
}

/// A certificate added to an application: its DER and the vault version it came from.
pub type Added = (Vec<u8>, String);

/// The other side of [`keyward_vault::Applications`], as the authority is to the binary: the
/// applications of the tenants and the certificates each holds, and the link audit calls.
#[derive(Default)]
pub struct TestDirectory {
    /// (tenant, app id) -> display name.
    pub apps: std::sync::Mutex<std::collections::HashMap<(Uuid, Uuid), String>>,
    /// (tenant, app id) -> the DER of each certificate added, in order, with its source.
    pub certificates: std::sync::Mutex<std::collections::HashMap<(Uuid, Uuid), Vec<Added>>>,
    /// (app id, `vault/name`, linked) per audit call.
    pub audited: std::sync::Mutex<Vec<(Uuid, String, bool)>>,
}

impl TestDirectory {
    /// Registers an application; returns its client id.
    pub fn register(&self, tenant: Uuid, name: &str) -> Uuid {
        let app_id = Uuid::new_v4();
        self.apps.lock().unwrap().insert((tenant, app_id), name.to_owned());
        app_id
    }

    /// The certificates (DER) added to an application.
    pub fn added(&self, tenant: Uuid, app_id: Uuid) -> Vec<Vec<u8>> {
        self.certificates
            .lock()
            .unwrap()
            .get(&(tenant, app_id))
            .map(|list| list.iter().map(|(der, _)| der.clone()).collect())
            .unwrap_or_default()
    }
}

impl keyward_vault::Applications for TestDirectory {
    fn application(&self, tenant_id: Uuid, app_id: Uuid) -> Option<String> {
        self.apps.lock().unwrap().get(&(tenant_id, app_id)).cloned()
    }

    fn add_certificate<'a>(
        &'a self,
        tenant_id: Uuid,
        app_id: Uuid,
        certificate: &'a keyward_pki::Certificate,
        source: &'a str,
    ) -> keyward_vault::BoxFuture<'a, keyward_vault::Result<bool>> {
        Box::pin(async move {
            if self.application(tenant_id, app_id).is_none() {
                return Err(keyward_vault::Error::ApplicationNotFound(app_id));
            }
            let mut all = self.certificates.lock().unwrap();
            let list = all.entry((tenant_id, app_id)).or_default();
            if list.iter().any(|(der, _)| der == certificate.der()) {
                return Ok(false);
            }
            list.push((certificate.der().to_vec(), source.to_owned()));
            Ok(true)
        })
    }

    fn audit_link<'a>(
        &'a self,
        _tenant_id: Uuid,
        app_id: Uuid,
        certificate: &'a str,
        linked: bool,
    ) -> keyward_vault::BoxFuture<'a, ()> {
        Box::pin(async move {
            self.audited
                .lock()
                .unwrap()
                .push((app_id, certificate.to_owned(), linked));
        })
    }
}

/// Mints tokens.
pub struct Issuer {
    signer: SigningKey,
    /// Another key, for forged tokens.
    forger: SigningKey,
}

/// What a minted token says.
pub struct TokenSpec<'a> {
    pub tenant: Uuid,
    pub oid: Uuid,
    pub audience: &'a str,
    pub lifetime: i64,
    pub roles: &'a [&'a str],
    pub forged: bool,
}

impl Issuer {
    pub fn token(&self, spec: &TokenSpec<'_>) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({
            "iss": format!("{AUTHORITY}/{}/v2.0", spec.tenant),
            "aud": spec.audience,
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + spec.lifetime,
            "tid": spec.tenant,
            "oid": spec.oid,
            "sub": spec.oid,
            "azp": Uuid::new_v4(),
            "roles": spec.roles,
        });
        let signer = if spec.forged { &self.forger } else { &self.signer };
        signer
            .sign(&Header::new(Algorithm::Rs256).with_typ("JWT"), &claims)
            .expect("sign")
    }
}

pub struct Harness {
    pub vaults: Arc<Vaults>,
    pub clock: Arc<ShiftedClock>,
    pub directory: Arc<TestDirectory>,
    pub issuer: Issuer,
    pub tenant: Uuid,
    pub other_tenant: Uuid,
    pub _dir: tempfile::TempDir,
}

async fn tenant(store: &Arc<dyn keyward_store::Store>, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    store
        .insert_tenant(&Tenant {
            id,
            name: name.into(),
            domain: format!("{name}.onmicrosoft.com"),
            created: OffsetDateTime::now_utc(),
        })
        .await
        .expect("tenant");
    id
}

fn signing_pair() -> (SigningKey, VerifyingKey) {
    let key = PrivateKey::generate(KeyType::Rsa2048).expect("key");
    let cert = CertificateSpec::new(Name::parse("CN=test issuer").unwrap())
        .self_signed(&key)
        .expect("cert");
    (
        SigningKey::new(&key, Algorithm::Rs256).expect("signer"),
        VerifyingKey::from_certificate(&cert).expect("verifier"),
    )
}

pub async fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("v.db").display());
    let store = keyward_store::open(&url).await.expect("store");
    let tenant_id = tenant(&store, "contoso").await;
    let other_tenant = tenant(&store, "fabrikam").await;
    let (signer, verifier) = signing_pair();
    let (forger, _) = signing_pair();
    let tokens = Arc::new(TestTokens {
        verifier,
        tenants: vec![tenant_id, other_tenant],
    });
    let master = MasterKey::from_bytes(&MasterKey::generate().unwrap()).unwrap();
    let clock = Arc::new(ShiftedClock::new());
    let directory = Arc::new(TestDirectory::default());
    let vaults =
        Arc::new(Vaults::new(store, Arc::new(master), tokens, clock.clone()).with_applications(directory.clone()));
    vaults.ensure_vault(tenant_id, "default").await.expect("default vault");
    Harness {
        vaults,
        clock,
        directory,
        issuer: Issuer { signer, forger },
        tenant: tenant_id,
        other_tenant,
        _dir: dir,
    }
}

impl Harness {
    /// A principal with every permission in the default vault, as an [`Access`].
    pub async fn owner(&self) -> Access {
        self.principal(&["all"], &["all"]).await
    }

    /// A new principal with these permissions in the default vault.
    pub async fn principal(&self, certificates: &[&str], secrets: &[&str]) -> Access {
        let object_id = Uuid::new_v4();
        self.grant(object_id, certificates, secrets).await;
        self.vaults
            .access(
                "default",
                Caller {
                    object_id,
                    app_id: Some(Uuid::new_v4()),
                },
            )
            .await
            .expect("access")
    }

    pub async fn grant(&self, object_id: Uuid, certificates: &[&str], secrets: &[&str]) {
        self.vaults
            .set_access_policy(
                "default",
                AccessPolicy {
                    object_id,
                    certificates: certificates.iter().map(|s| (*s).to_owned()).collect(),
                    secrets: secrets.iter().map(|s| (*s).to_owned()).collect(),
                },
            )
            .await
            .expect("grant");
    }

    /// A valid vault token of the tenant for `oid`.
    pub fn token(&self, oid: Uuid) -> String {
        self.issuer.token(&TokenSpec {
            tenant: self.tenant,
            oid,
            audience: RESOURCE,
            lifetime: 3600,
            roles: &[],
            forged: false,
        })
    }

    /// A management token of `tenant`.
    pub fn admin_token(&self, tenant: Uuid) -> String {
        self.issuer.token(&TokenSpec {
            tenant,
            oid: Uuid::new_v4(),
            audience: GRAPH,
            lifetime: 3600,
            roles: &["Application.ReadWrite.All"],
            forged: false,
        })
    }
}

/// `CreateCertificate` from Key Vault's JSON.
pub fn create_request(json: serde_json::Value) -> keyward_vault::CreateCertificate {
    serde_json::from_value(json).expect("create request")
}

/// The fixtures of the shared directory, found from this crate upwards.
pub fn fixture(name: &str) -> Vec<u8> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = manifest
        .ancestors()
        .map(|dir| dir.join("shared/fixtures/azure-key-vault").join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("fixture {name} not found above {}", manifest.display()));
    std::fs::read(path).expect("fixture")
}
