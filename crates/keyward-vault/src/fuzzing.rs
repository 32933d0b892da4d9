//! Entry points for the fuzz targets in `fuzz/`; not part of the API.
//!
//! Each function takes the fuzzer's bytes, feeds them to one parser of what Key Vault clients
//! send, and panics only where an invariant of that parser is broken. Inputs with several parts
//! (an import's value and password) are split at NUL bytes.

use std::sync::LazyLock;

use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey};
use keyward_store::{Collection, ItemKey, VaultItem};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::http::auth::{self, Body};
use crate::import::read_import;
use crate::model::{Attributes, AttributesInput, MAX_PAGE, PageRequest, check_tags};
use crate::names::{check_name, version_key};
use crate::paging::{page_by_offset, page_of_names};
use crate::policy::{ContentType, Policy, PolicyInput};
use crate::secret_value::managed_secret_value;
use crate::{
    CreateCertificate, DEFAULT_VAULT, ImportCertificate, MAX_NAME_LEN, MAX_SECRET_VALUE, MergeCertificate, SetSecret,
    UpdateCertificate, UpdateSecret, vault_for_host, vault_name,
};

/// An imported certificate's policy and validity, at a fixed time.
struct Fixture {
    certificate: Certificate,
    now: OffsetDateTime,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a valid time");
    let key = PrivateKey::generate(KeyType::EcP256).expect("a key");
    let certificate = CertificateSpec::new(Name::parse("CN=fuzz").expect("a name"))
        .issued_at(now)
        .self_signed(&key)
        .expect("a certificate");
    Fixture { certificate, now }
});

/// `data` split at NUL bytes into at most `N` parts (the last keeps any further NULs); missing
/// parts are `None`.
fn parts<const N: usize>(data: &[u8]) -> [Option<&[u8]>; N] {
    let mut out = [None; N];
    for (slot, part) in out.iter_mut().zip(data.splitn(N, |&b| b == 0)) {
        *slot = Some(part);
    }
    out
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// What the vault does with a policy it keeps: the key to generate, the certificate to issue,
/// when each lifetime action is due (as the renewal pass computes it, over the validity of
/// `certificate`), and the stored JSON read back.
fn use_policy(policy: &Policy, certificate: &Certificate, now: OffsetDateTime) {
    let _ = policy.key_type();
    let _ = policy.self_issued();
    let _ = policy.spec(now);
    let info = certificate.info();
    for action in &policy.lifetime_actions {
        let _ = action.trigger.due(info.not_before, info.not_after);
    }
    let json = serde_json::to_value(policy).expect("a policy is JSON");
    let back: Policy = serde_json::from_value(json).expect("a stored policy reads back");
    assert_eq!(&back, policy);
}

/// The `value` of a certificate import, with its `pwd`. Parts: value, password (absent without
/// a NUL). What is read is stored as the vault stores it: policy and managed secret.
pub fn import(data: &[u8]) {
    let [value, password] = parts::<2>(data);
    let value = text(value.unwrap_or_default());
    let password = password.map(text);
    let Ok(imported) = read_import(&value, password.as_deref()) else {
        return;
    };
    assert!(
        imported.certificate.matches_key(&imported.key),
        "an import's key is its certificate's"
    );
    let content_type = if imported.pem {
        ContentType::Pem
    } else {
        ContentType::Pkcs12
    };
    let policy = Policy::for_import(&imported.certificate, content_type);
    use_policy(&policy, &imported.certificate, FIXTURE.now);
    let _ = managed_secret_value(
        content_type,
        &imported.certificate,
        &imported.chain,
        Some(&imported.key),
    );
}

/// A policy as JSON (`PATCH .../policy`, or the `policy` of a create or import), filled from
/// Key Vault's defaults, from an imported certificate's policy, and changed on an existing one.
pub fn policy(data: &[u8]) {
    let Ok(input) = serde_json::from_slice::<PolicyInput>(data) else {
        return;
    };
    let f = &*FIXTURE;
    let defaults = Policy::defaults();
    if let Ok(policy) = input.apply(&defaults) {
        use_policy(&policy, &f.certificate, f.now);
    }
    let import_base = Policy::for_import(&f.certificate, ContentType::Pem);
    if let Ok(policy) = input.apply_to_import(&import_base) {
        use_policy(&policy, &f.certificate, f.now);
    }
    // A policy change, as `change_policy` makes it: checked whole only when self-issued.
    for base in [&defaults, &import_base] {
        if let Ok(policy) = input.merge(base)
            && (if policy.self_issued() {
                policy.validate().is_ok()
            } else {
                policy.key_type().is_ok()
            })
        {
            use_policy(&policy, &f.certificate, f.now);
        }
    }
}

/// Certificate and secret names, version ids, vault names, and the request's host: the
/// `Host` header check and the vault it names.
pub fn names(data: &[u8]) {
    let s = text(data);
    if check_name(&s).is_ok() {
        assert!((1..=MAX_NAME_LEN).contains(&s.len()));
    }
    if let Some(v) = version_key(&s) {
        assert!(v.len() == 32 && v.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
    if let Ok(name) = vault_name(&s) {
        assert_eq!(name, s.to_ascii_lowercase());
    }
    // One label, lowercase; one that is no vault name (`a:b.localhost`) names no vault.
    let vault = vault_for_host(&s);
    assert!(vault == DEFAULT_VAULT || (!vault.is_empty() && !vault.contains('.')));
    assert_eq!(vault, vault.to_ascii_lowercase());
    crate::http::fuzzing::host_header(data);
}

/// The query of a list request (`maxresults`, `$skiptoken`, `api-version`) and the pages it
/// asks for, by name and by offset. A next page the vault links to is always accepted.
pub fn paging(data: &[u8]) {
    let query = auth::parse_query(Some(&text(data)));
    let items = |n: usize| -> Vec<VaultItem> {
        (0..n)
            .map(|i| VaultItem {
                key: ItemKey {
                    vault_id: Uuid::nil(),
                    collection: Collection::Secrets,
                    name: format!("name-{i:03}"),
                },
                deleted: false,
                document: serde_json::Value::Null,
                revision: 0,
            })
            .collect()
    };
    for n in [0, 1, MAX_PAGE, 60] {
        if let Ok((page, next)) = page_by_offset((0..n).collect::<Vec<_>>(), &query.page) {
            assert!(page.len() <= query.page.max.unwrap_or(MAX_PAGE));
            if let Some(token) = next {
                let again = PageRequest {
                    max: query.page.max,
                    skip_token: Some(token),
                };
                assert!(page_by_offset((0..n).collect::<Vec<_>>(), &again).is_ok());
            }
        }
        if let Ok((page, next)) = page_of_names(items(n), &query.page) {
            assert!(page.len() <= query.page.max.unwrap_or(MAX_PAGE));
            if let Some(token) = next {
                let again = PageRequest {
                    max: query.page.max,
                    skip_token: Some(token),
                };
                assert!(page_of_names(items(n), &again).is_ok());
            }
        }
    }
}

/// A request body, read as every request type the vault takes, then checked as the service
/// checks it before touching the store: tags, content type, value size, attributes, policy.
pub fn body(data: &[u8]) {
    let body = Body(bytes::Bytes::copy_from_slice(data));
    let f = &*FIXTURE;
    let attributes = |input: &Option<AttributesInput>| {
        if let Some(input) = input {
            let mut a = Attributes {
                enabled: true,
                nbf: None,
                exp: None,
                created: 0,
                updated: 0,
            };
            input.apply(&mut a, true, 1);
        }
    };
    let tags = |tags: &Option<crate::Tags>| {
        if let Some(tags) = tags {
            let _ = check_tags(tags);
        }
    };
    if let Ok(set) = body.json::<SetSecret>() {
        let _ = set.value.as_ref().map(|v| v.len() > MAX_SECRET_VALUE);
        let _ = crate::secrets::check_content_type(set.content_type.as_deref());
        attributes(&set.attributes);
        tags(&set.tags);
    }
    if let Ok(update) = body.json::<UpdateSecret>() {
        let _ = crate::secrets::check_content_type(update.content_type.as_deref());
        attributes(&update.attributes);
        tags(&update.tags);
    }
    if let Ok(create) = body.json::<CreateCertificate>() {
        if let Ok(policy) = create.policy.unwrap_or_default().apply(&Policy::defaults()) {
            use_policy(&policy, &f.certificate, f.now);
        }
        tags(&create.tags);
    }
    if let Ok(import) = body.json::<ImportCertificate>() {
        // The value itself is the `import` target's.
        let base = Policy::for_import(&f.certificate, ContentType::Pkcs12);
        if let Some(Ok(policy)) = import.policy.as_ref().map(|p| p.apply_to_import(&base)) {
            use_policy(&policy, &f.certificate, f.now);
        }
        attributes(&import.attributes);
        tags(&import.tags);
    }
    if let Ok(update) = body.json::<UpdateCertificate>() {
        attributes(&update.attributes);
        tags(&update.tags);
    }
    if let Ok(merge) = body.json::<MergeCertificate>() {
        use base64::Engine;
        for b64 in &merge.x5c {
            if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
                let _ = Certificate::from_der(&der);
            }
        }
        tags(&merge.tags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzz_entry_points_take_real_requests() {
        policy(
            br#"{"key_props":{},"secret_props":{},"x509_props":{"subject":"CN=x","sans":{}},"issuer":{"name":"Self"}}"#,
        );
        names(b"myvault.localhost:8443");
        paging(b"api-version=7.5&maxresults=10");
        body(br#"{"value":"s3cret","contentType":"text/plain","tags":{"a":"b"}}"#);
        import(b"not a certificate\0pw");
        assert_eq!(parts::<2>(b"a"), [Some(&b"a"[..]), None]);
    }

    /// Every input of the kept corpora still runs without a panic (`fuzz/README.md`).
    #[test]
    fn the_kept_fuzz_corpora_replay() {
        keyward_pki::fuzzing::replay_corpus("vault_import", import);
        keyward_pki::fuzzing::replay_corpus("vault_policy", policy);
        keyward_pki::fuzzing::replay_corpus("vault_names", names);
        keyward_pki::fuzzing::replay_corpus("vault_paging", paging);
        keyward_pki::fuzzing::replay_corpus("vault_body", body);
    }
}
