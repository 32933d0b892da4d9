//! Entry points for the fuzz targets in `fuzz/`; not part of the API.
//!
//! Each function takes the fuzzer's bytes, feeds them to one parser of what browsers and clients
//! send, and panics only where an invariant of that parser is broken. Inputs with several parts
//! (a challenge and a verifier, a cookie and a token) are split at NUL bytes. The targets of
//! what only the HTTP layer reads (cookies, the token request) are in `http/fuzzing.rs`.

use std::sync::{Arc, LazyLock};

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_pki::sealing::MasterKey;
use keyward_store::{Application, PasswordCredential, Tenant};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::authority::GRAPH_APP_ID;
use crate::authorize::{self, AuthorizeError, PendingRequest, RedirectTarget, ResponseMode};
use crate::directory::{AppEntry, Snapshot, TenantEntry};
use crate::{pkce, scopes, signing};

pub use crate::http::fuzzing::{csrf, token_form};

/// The redirect URIs of the confidential fixture application.
const WEB_REDIRECTS: [&str; 3] = [
    "http://localhost:3000/redirect",
    "https://app.example/auth/callback?x=1",
    "msal00000000-0000-0000-0000-000000000000://auth",
];
/// The redirect URI of the public fixture application.
const SPA_REDIRECT: &str = "http://localhost";

/// A tenant with a confidential web app (a secret), a public SPA, an API and Microsoft Graph,
/// under a fixed master key, at a fixed time.
struct Fixture {
    master: MasterKey,
    snapshot: Snapshot,
    tenant: Arc<TenantEntry>,
    web: Arc<AppEntry>,
    now: OffsetDateTime,
}

fn application(
    tenant_id: Uuid,
    app_id: Uuid,
    identifier: &str,
    redirect_uris: &[&str],
    secret: bool,
    now: OffsetDateTime,
) -> Application {
    Application {
        id: Uuid::from_u128(app_id.as_u128() ^ 1),
        tenant_id,
        app_id,
        service_principal_id: Uuid::from_u128(app_id.as_u128() ^ 2),
        display_name: identifier.into(),
        identifier_uris: vec![identifier.into()],
        redirect_uris: redirect_uris.iter().map(|s| (*s).to_owned()).collect(),
        logout_url: None,
        key_credentials: Vec::new(),
        password_credentials: if secret {
            vec![PasswordCredential {
                key_id: Uuid::from_u128(3),
                display_name: "fuzz".into(),
                hint: "fuz".into(),
                secret_hash: "sha256:00".into(),
                start: now,
                end: now + Duration::days(1),
            }]
        } else {
            Vec::new()
        },
        app_roles: Vec::new(),
        created: now,
        version: 1,
    }
}

/// The master key of the fixture, for the HTTP layer's targets.
pub(crate) fn master() -> &'static MasterKey {
    &FIXTURE.master
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let master = MasterKey::from_bytes(&[7u8; 32]).expect("a 32-byte master key");
    let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a valid time");
    let tenant = Tenant {
        id: Uuid::from_u128(0x1111_1111_1111_4111_8111_1111_1111_1111),
        name: "contoso".into(),
        domain: "contoso.onmicrosoft.com".into(),
        created: now,
    };
    let key = signing::new_signing_key(&tenant, &master, now).expect("a signing key");
    let issuer = format!("https://localhost:8443/{}/v2.0", tenant.id);
    let keys = signing::TenantKeys::load(&tenant, vec![key], &master, &issuer, now).expect("tenant keys");
    let tid = tenant.id;
    let tenant = Arc::new(TenantEntry {
        tenant,
        keys,
        issuer,
        token_endpoints: Vec::new(),
    });
    let web = Arc::new(AppEntry::new(application(
        tid,
        Uuid::from_u128(0x2222_2222_2222_4222_8222_2222_2222_2222),
        "api://web",
        &WEB_REDIRECTS,
        true,
        now,
    )));
    let spa = application(
        tid,
        Uuid::from_u128(0x3333_3333_3333_4333_8333_3333_3333_3333),
        "api://spa",
        &[SPA_REDIRECT],
        false,
        now,
    );
    let api = application(
        tid,
        Uuid::from_u128(0x4444_4444_4444_4444_8444_4444_4444_4444),
        "api://tasks",
        &[],
        false,
        now,
    );
    let graph = application(tid, GRAPH_APP_ID, "https://graph.microsoft.com", &[], false, now);
    let apps = [
        Arc::clone(&web),
        Arc::new(AppEntry::new(spa)),
        Arc::new(AppEntry::new(api)),
        Arc::new(AppEntry::new(graph)),
    ];
    let snapshot = Snapshot::new([Arc::clone(&tenant)], apps, Vec::new());
    Fixture {
        master,
        snapshot,
        tenant,
        web,
        now,
    }
});

/// The owner a pending request is sealed for; checked against [`PendingRequest::seal`] once.
fn pending_owner(tenant_id: Uuid) -> String {
    format!("keyward/authorize-request/v1/{tenant_id}")
}

/// `data` split at NUL bytes into at most `N` parts (the last keeps any further NULs); missing
/// parts are `None`.
pub(crate) fn parts<const N: usize>(data: &[u8]) -> [Option<&[u8]>; N] {
    let mut out = [None; N];
    for (slot, part) in out.iter_mut().zip(data.splitn(N, |&b| b == 0)) {
        *slot = Some(part);
    }
    out
}

pub(crate) fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// What the handlers do with a trusted redirect target: the URL of a query or fragment response,
/// the fields of a `form_post` response, and the origin for the CSP.
fn render(target: &RedirectTarget) {
    let params = [("code", "c0de"), ("error", "access_denied")];
    let url = target.url(&params);
    assert!(url.starts_with(&target.uri), "the response goes to the redirect URI");
    let fields = target.fields(&params);
    assert_eq!(fields.len(), params.len() + usize::from(target.state.is_some()));
    let _ = target.origin();
}

/// An authorization request's query string (or form body): read, checked against the fixture
/// tenant, then sealed and opened again.
pub fn authorize_request(data: &[u8]) {
    let f = &*FIXTURE;
    let Ok(parameters) = authorize::parse_parameters(data) else {
        return;
    };
    match authorize::check(&f.snapshot, &f.tenant, &parameters, f.now) {
        Ok((app, pending)) => {
            assert!(
                authorize::redirect_uri_registered(&app, &pending.target.uri),
                "an accepted request answers a registered redirect URI"
            );
            assert_eq!(parameters.get("redirect_uri"), Some(&pending.target.uri));
            assert_eq!(pending.tenant_id, f.tenant.tenant.id);
            assert_eq!(pending.client_id, app.app.app_id);
            if authorize::is_public_client(&app) {
                assert!(pending.code_challenge.is_some(), "public clients use PKCE");
            }
            let sealed = pending.seal(&f.master).expect("sealing a checked request");
            let opened = PendingRequest::open(&f.master, f.tenant.tenant.id, &sealed, f.now);
            assert_eq!(opened.as_ref(), Some(&pending), "a sealed request opens as it was");
            render(&pending.target);
        }
        Err(AuthorizeError::Redirect(target, _)) => {
            // Never an open redirector: errors go back only to registered URIs.
            let registered = f
                .snapshot
                .apps_of(f.tenant.tenant.id)
                .into_iter()
                .any(|app| authorize::redirect_uri_registered(app, &target.uri));
            assert!(registered, "an error is redirected only to a registered URI");
            render(&target);
        }
        Err(AuthorizeError::Page(_)) => {}
    }
}

/// Redirect URI matching and the responses built on a redirect URI. A URI matches byte for byte,
/// or (RFC 8252 §7.3) it is plain HTTP to a loopback host and names a registered loopback URI at
/// another port: set to the registered port, it reads as that URI. Either way it must also be one
/// that could be registered now (so not the fixture's custom scheme, registered before that
/// check). Parts: the URI, the `state`.
pub fn redirect_uri(data: &[u8]) {
    let f = &*FIXTURE;
    let [uri, state] = parts::<2>(data);
    let uri = text(uri.unwrap_or_default());
    let loopback_at_any_port = || {
        let Ok(mut url) = url::Url::parse(&uri) else {
            return false;
        };
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        WEB_REDIRECTS.iter().any(|registered| {
            let registered = url::Url::parse(registered).expect("a fixture URI");
            loopback
                && url.scheme() == "http"
                && registered.scheme() == "http"
                && url.set_port(registered.port()).is_ok()
                && url == registered
        })
    };
    let registrable = crate::redirect_uri::allowed(&uri);
    assert_eq!(
        authorize::redirect_uri_registered(&f.web, &uri),
        registrable && (WEB_REDIRECTS.contains(&uri.as_str()) || loopback_at_any_port()),
        "exact matching, or a registered loopback URI at any port"
    );
    // Only a URI that can be registered is ever redirected to (and so parsed for its origin):
    // rendering kilobytes of punycode host names here only slowed the target down.
    if !registrable {
        return;
    }
    for mode in [ResponseMode::Query, ResponseMode::Fragment, ResponseMode::FormPost] {
        render(&RedirectTarget {
            uri: uri.clone(),
            mode,
            state: state.map(text),
        });
    }
}

/// A `scope` parameter, for a sign-in (`openid` required) and for a refresh.
pub fn scope(data: &[u8]) {
    let f = &*FIXTURE;
    let scope = text(data);
    for require_openid in [true, false] {
        let Ok(grant) = scopes::parse(&f.snapshot, f.tenant.tenant.id, &scope, require_openid) else {
            continue;
        };
        assert!(grant.oidc.iter().all(|s| scopes::OIDC_SCOPES.contains(&s.as_str())));
        assert!(!require_openid || grant.has("openid"));
        assert!(!grant.scp.is_empty() && !grant.resource_scopes.is_empty());
        assert!(f.snapshot.app_in_tenant(f.tenant.tenant.id, grant.resource).is_some());
        let _ = grant.response_scope();
        let _ = grant.scp_claim();
    }
}

/// PKCE: the challenge and method of an authorization request, the verifier of a code
/// redemption. Parts: challenge, method, verifier (empty parts are absent).
pub fn pkce(data: &[u8]) {
    let [challenge, method, verifier] = parts::<3>(data).map(|p| p.map(text).filter(|s| !s.is_empty()));
    let checked = pkce::check_challenge(challenge.as_deref(), method.as_deref());
    if let Ok(Some(challenge)) = &checked {
        assert_eq!(challenge.len(), 43);
    }
    let verifier = verifier.unwrap_or_default();
    if let (Ok(Some(challenge)), false) = (&checked, verifier.is_empty()) {
        let _ = pkce::verify(challenge, &verifier);
    }
    if pkce::verifier_is_well_formed(&verifier) {
        let s256 = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
        assert_eq!(pkce::check_challenge(Some(&s256), Some("S256")), Ok(Some(s256.clone())));
        assert!(pkce::verify(&s256, &verifier), "a verifier matches its own challenge");
    } else {
        assert!(challenge.is_none_or(|c| !pkce::verify(&c, &verifier)));
    }
}

/// The sealed pending request a sign-in form posts back. The first byte chooses: even, the rest
/// is the form field as the browser sends it (it must not open, and must not panic); odd, the
/// rest is sealed under the master key first, so that what the opener reads after decryption
/// (JSON, the tenant, the age) is fuzzed too.
pub fn pending_request(data: &[u8]) {
    let f = &*FIXTURE;
    let tenant_id = f.tenant.tenant.id;
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let field = if mode & 1 == 0 {
        text(rest)
    } else {
        let sealed = f.master.seal(&pending_owner(tenant_id), rest).expect("sealing");
        URL_SAFE_NO_PAD.encode(sealed)
    };
    let now = f.now + Duration::seconds(i64::from(mode >> 1) * 60);
    if let Some(request) = PendingRequest::open(&f.master, tenant_id, &field, now) {
        assert_eq!(request.tenant_id, tenant_id);
        let age = now.unix_timestamp() - request.issued;
        assert!((-60..=authorize::PENDING_LIFETIME_SECONDS).contains(&age));
    }
    // Another tenant never opens it.
    assert!(PendingRequest::open(&f.master, Uuid::nil(), &field, now).is_none());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks once that [`pending_owner`] is the owner [`PendingRequest::seal`] uses, so that the
    /// sealed half of [`pending_request`] reaches the opener's JSON.
    fn self_check() {
        let f = &*FIXTURE;
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("client_id", &f.web.app.app_id.to_string())
            .append_pair("redirect_uri", WEB_REDIRECTS[0])
            .append_pair("response_type", "code")
            .append_pair("scope", "openid");
        let parameters = authorize::parse_parameters(query.finish().as_bytes()).expect("a valid query");
        let (_, pending) = authorize::check(&f.snapshot, &f.tenant, &parameters, f.now).expect("a valid request");
        let json = serde_json::to_vec(&pending).expect("JSON");
        let sealed = f
            .master
            .seal(&pending_owner(f.tenant.tenant.id), &json)
            .expect("sealing");
        let opened = PendingRequest::open(&f.master, f.tenant.tenant.id, &URL_SAFE_NO_PAD.encode(sealed), f.now);
        assert_eq!(
            opened,
            Some(pending),
            "the fuzzer seals pending requests as the authority does"
        );
    }

    /// The entry points `fuzz/` calls (it is outside the workspace, so nothing else checks them).
    #[test]
    fn the_fuzz_targets_entry_points_exist() {
        let targets: [fn(&[u8]); 7] = [
            authorize_request,
            redirect_uri,
            scope,
            pkce,
            pending_request,
            csrf,
            token_form,
        ];
        for target in targets {
            target(b"");
        }
    }

    /// Every input of the kept corpora still runs without a panic (`fuzz/README.md`).
    #[test]
    fn the_kept_fuzz_corpora_replay() {
        keyward_pki::fuzzing::replay_corpus("authorize_request", authorize_request);
        keyward_pki::fuzzing::replay_corpus("redirect_uri", redirect_uri);
        keyward_pki::fuzzing::replay_corpus("scope", scope);
        keyward_pki::fuzzing::replay_corpus("pkce", pkce);
        keyward_pki::fuzzing::replay_corpus("pending_request", pending_request);
        keyward_pki::fuzzing::replay_corpus("csrf", csrf);
        keyward_pki::fuzzing::replay_corpus("token_form", token_form);
    }

    #[test]
    fn the_fuzz_fixture_matches_the_authority() {
        self_check();
        assert_eq!(parts::<3>(b"a\0b"), [Some(&b"a"[..]), Some(&b"b"[..]), None]);
        assert_eq!(parts::<2>(b"a\0b\0c"), [Some(&b"a"[..]), Some(&b"b\0c"[..])]);
    }
}
