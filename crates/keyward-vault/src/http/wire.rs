//! Key Vault's JSON for what the domain returns. Ids are `{base}/{collection}/{name}/{version}`
//! with `base` = `https://{Host}`; times are unix seconds.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::model::{
    Attributes, CertificateBundle, CertificateOperation, Deleted, Page, PolicyBundle, RECOVERABLE_DAYS, RECOVERY_LEVEL,
    SecretBundle, Tags,
};
use crate::policy::{Policy, Trigger};

fn attributes(a: &Attributes, recovery: bool) -> Value {
    let mut out = json!({"enabled": a.enabled});
    if let Some(nbf) = a.nbf {
        out["nbf"] = json!(nbf);
    }
    if let Some(exp) = a.exp {
        out["exp"] = json!(exp);
    }
    out["created"] = json!(a.created);
    out["updated"] = json!(a.updated);
    if recovery {
        out["recoveryLevel"] = json!(RECOVERY_LEVEL);
        out["recoverableDays"] = json!(RECOVERABLE_DAYS);
    }
    out
}

fn put_tags(out: &mut Value, tags: &Tags) {
    if !tags.is_empty() {
        out["tags"] = json!(tags);
    }
}

fn object_id(base: &str, collection: &str, name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{base}/{collection}/{name}/{v}"),
        None => format!("{base}/{collection}/{name}"),
    }
}

/// A CertificateBundle.
pub(crate) fn certificate(base: &str, c: &CertificateBundle) -> Value {
    let v = Some(c.version.as_str());
    let mut out = json!({
        "id": object_id(base, "certificates", &c.name, v),
        "kid": object_id(base, "keys", &c.name, v),
        "sid": object_id(base, "secrets", &c.name, v),
        "x5t": c.certificate.thumbprints().x5t(),
        "cer": STANDARD.encode(c.certificate.der()),
        "attributes": attributes(&c.attributes, true),
        "policy": policy(base, &c.name, &c.policy, &c.policy_attributes),
    });
    put_tags(&mut out, &c.tags);
    out
}

/// A CertificateItem: in a list of names the id has no version, in a list of versions it has.
pub(crate) fn certificate_item(base: &str, c: &CertificateBundle, with_version: bool) -> Value {
    let mut out = json!({
        "id": object_id(base, "certificates", &c.name, with_version.then_some(c.version.as_str())),
        "x5t": c.certificate.thumbprints().x5t(),
        "attributes": attributes(&c.attributes, true),
    });
    put_tags(&mut out, &c.tags);
    out
}

fn deleted_fields(base: &str, collection: &str, name: &str, out: &mut Value, d: &crate::model::Deletion) {
    out["recoveryId"] = json!(format!("{base}/{collection}/{name}"));
    out["deletedDate"] = json!(d.deleted_date);
    out["scheduledPurgeDate"] = json!(d.scheduled_purge_date);
}

/// A DeletedCertificateBundle.
pub(crate) fn deleted_certificate(base: &str, d: &Deleted<CertificateBundle>) -> Value {
    let mut out = certificate(base, &d.item);
    deleted_fields(base, "deletedcertificates", &d.item.name, &mut out, &d.deletion);
    out
}

/// A DeletedCertificateItem.
pub(crate) fn deleted_certificate_item(base: &str, d: &Deleted<CertificateBundle>) -> Value {
    let mut out = certificate_item(base, &d.item, false);
    deleted_fields(base, "deletedcertificates", &d.item.name, &mut out, &d.deletion);
    out
}

/// A CertificatePolicy.
pub(crate) fn policy(base: &str, name: &str, p: &Policy, a: &Attributes) -> Value {
    let mut key_props = json!({
        "exportable": p.exportable,
        "kty": p.kty,
        "key_size": p.key_size,
        "reuse_key": p.reuse_key,
    });
    if let Some(crv) = &p.crv {
        key_props["crv"] = json!(crv);
    }
    let mut sans = Map::new();
    for (field, values) in [
        ("emails", &p.sans.emails),
        ("dns_names", &p.sans.dns_names),
        ("upns", &p.sans.upns),
        ("uris", &p.sans.uris),
        ("ipAddresses", &p.sans.ip_addresses),
    ] {
        if !values.is_empty() {
            sans.insert(field.into(), json!(values));
        }
    }
    let actions: Vec<Value> = p
        .lifetime_actions
        .iter()
        .map(|a| {
            let trigger = match a.trigger {
                Trigger::LifetimePercentage(n) => json!({"lifetime_percentage": n}),
                Trigger::DaysBeforeExpiry(n) => json!({"days_before_expiry": n}),
            };
            json!({"trigger": trigger, "action": {"action_type": a.action.as_str()}})
        })
        .collect();
    let mut issuer = json!({"name": p.issuer.name});
    if let Some(cty) = &p.issuer.cty {
        issuer["cty"] = json!(cty);
    }
    if let Some(ct) = p.issuer.cert_transparency {
        issuer["cert_transparency"] = json!(ct);
    }
    json!({
        "id": format!("{base}/certificates/{name}/policy"),
        "key_props": key_props,
        "secret_props": {"contentType": p.content_type.as_str()},
        "x509_props": {
            "subject": p.subject,
            "sans": sans,
            "ekus": p.ekus,
            "key_usage": p.key_usage,
            "validity_months": p.validity_months,
            "basic_constraints": {"ca": false},
        },
        "lifetime_actions": actions,
        "issuer": issuer,
        "attributes": {"enabled": a.enabled, "created": a.created, "updated": a.updated},
    })
}

/// A policy on its own (`GET /certificates/{name}/policy`).
pub(crate) fn policy_bundle(base: &str, p: &PolicyBundle) -> Value {
    policy(base, &p.name, &p.policy, &p.attributes)
}

/// A CertificateOperation.
pub(crate) fn operation(base: &str, op: &CertificateOperation) -> Value {
    let mut out = json!({
        "id": format!("{base}/certificates/{}/pending", op.name),
        "issuer": {"name": op.issuer},
        "cancellation_requested": op.cancellation_requested,
        "status": op.status.as_str(),
        "status_details": op.status_details,
        "request_id": op.request_id,
    });
    if let Some(csr) = &op.csr {
        out["csr"] = json!(STANDARD.encode(csr));
    }
    if op.status == crate::model::OperationStatus::Completed {
        out["target"] = json!(format!("{base}/certificates/{}", op.name));
    }
    out
}

/// The 202 of a create: Key Vault answers `inProgress` and clients poll `/pending` for the
/// outcome. Python's poller never polls, and so never fetches the certificate, when the first
/// answer is already final; the stored operation (what `/pending` shows) says `completed`.
pub(crate) fn operation_accepted(base: &str, op: &CertificateOperation) -> Value {
    let mut out = operation(base, op);
    if op.status == crate::model::OperationStatus::Completed {
        out["status"] = json!(crate::model::OperationStatus::InProgress.as_str());
        out["status_details"] = json!(
            "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later."
        );
        if let Some(object) = out.as_object_mut() {
            object.remove("target");
        }
    }
    out
}

/// A SecretBundle (with the value when it has one).
pub(crate) fn secret(base: &str, s: &SecretBundle) -> Value {
    let v = Some(s.version.as_str());
    let mut out = json!({
        "id": object_id(base, "secrets", &s.name, v),
        "attributes": attributes(&s.attributes, true),
    });
    if let Some(value) = &s.value {
        out["value"] = json!(value.as_str());
    }
    if let Some(ct) = &s.content_type {
        out["contentType"] = json!(ct);
    }
    put_tags(&mut out, &s.tags);
    if s.managed {
        out["kid"] = json!(object_id(base, "keys", &s.name, v));
        out["managed"] = json!(true);
    }
    out
}

/// A SecretItem.
pub(crate) fn secret_item(base: &str, s: &SecretBundle, with_version: bool) -> Value {
    let mut out = json!({
        "id": object_id(base, "secrets", &s.name, with_version.then_some(s.version.as_str())),
        "attributes": attributes(&s.attributes, true),
    });
    if let Some(ct) = &s.content_type {
        out["contentType"] = json!(ct);
    }
    put_tags(&mut out, &s.tags);
    if s.managed {
        out["managed"] = json!(true);
    }
    out
}

/// A DeletedSecretBundle.
pub(crate) fn deleted_secret(base: &str, d: &Deleted<SecretBundle>) -> Value {
    let mut out = secret(base, &d.item);
    deleted_fields(base, "deletedsecrets", &d.item.name, &mut out, &d.deletion);
    out
}

/// A DeletedSecretItem.
pub(crate) fn deleted_secret_item(base: &str, d: &Deleted<SecretBundle>) -> Value {
    let mut out = secret_item(base, &d.item, false);
    deleted_fields(base, "deletedsecrets", &d.item.name, &mut out, &d.deletion);
    out
}

/// A list result: `{"value": [...], "nextLink": url|null}`. The next link repeats the path with
/// the same `api-version` and `maxresults`, and the `$skiptoken`.
pub(crate) fn page<T>(
    base: &str,
    path: &str,
    query: &super::auth::Query,
    page: &Page<T>,
    render: impl Fn(&T) -> Value,
) -> Value {
    let next = page.next.as_ref().map(|token| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(v) = &query.api_version {
            q.append_pair("api-version", v);
        }
        q.append_pair("$skiptoken", token);
        if let Some(max) = query.page.max {
            q.append_pair("maxresults", &max.to_string());
        }
        format!("{base}{path}?{}", q.finish())
    });
    json!({
        "value": page.items.iter().map(render).collect::<Vec<_>>(),
        "nextLink": next,
    })
}
