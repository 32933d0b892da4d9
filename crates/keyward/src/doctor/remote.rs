//! The checks that ask the authority: discovery and its issuer, the clock against the server's
//! `Date`, the app and its certificate (looked up with a Keyward admin credential, or told by the
//! token endpoint), a real assertion, the scope (the last four in [`super::token`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use keyward_client::{Authority, CertificateCredential, Metadata};
use keyward_pki::{Certificate, PrivateKey};
use time::OffsetDateTime;

use super::finding::Finding;
use super::token::{OAuthRefusal, Outcome, app_findings, assertion, lookup, request_token, scope};
use crate::cli::DEFAULT_SCOPE;

/// A clock further off than this from the server's is a warning.
const CLOCK_WARN_SECONDS: i64 = 60;
/// Entra and Keyward allow five minutes of skew on an assertion's `nbf` and `exp`.
const CLOCK_FAIL_SECONDS: i64 = 300;

/// What the remote checks work on.
pub struct Remote<'a> {
    pub authority: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    /// Extra CA to trust, PEM or DER.
    pub ca: Option<Vec<u8>>,
    /// A Keyward data directory with the admin credential.
    pub data: Option<&'a Path>,
    /// How far `--clock-skew` moves the local clock.
    pub skew: time::Duration,
    /// The certificate file, for messages (`vault certificate NAME` for one read from a vault).
    pub cert_file: String,
    /// The vault certificate's name, when the certificate was read from a vault.
    pub vault_cert: Option<&'a str>,
}

impl Remote<'_> {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.skew
    }
}

/// The checks after `from` (inclusive), skipped for `why`.
fn skip_from(findings: &mut Vec<Finding>, from: &str, why: &str) {
    const REMOTE: [&str; 8] = [
        "authority",
        "tenant",
        "issuer",
        "clock",
        "application",
        "registration",
        "assertion",
        "scope",
    ];
    let start = REMOTE.iter().position(|c| *c == from).unwrap_or(0);
    for check in &REMOTE[start..] {
        findings.push(Finding::skipped(check, format!("not checked: {why}")));
    }
}

/// Runs the remote checks. `credential` is the certificate and key when the local checks passed.
/// Returns the server's clock (its `Date`) when it answered.
pub async fn check(
    remote: &Remote<'_>,
    credential: Option<&(Certificate, PrivateKey)>,
    findings: &mut Vec<Finding>,
) -> Option<OffsetDateTime> {
    let authority = match Authority::parse(remote.authority) {
        Ok(a) => a,
        Err(e) => {
            findings.push(Finding::fail(
                "authority",
                e.to_string(),
                "give the authority as https://HOST[:PORT]/TENANT, e.g. https://login.microsoftonline.com/contoso.onmicrosoft.com",
            ));
            skip_from(findings, "tenant", "no usable authority");
            return None;
        }
    };
    let http = match http_client(remote.ca.as_deref()) {
        Ok(h) => h,
        Err(e) => {
            findings.push(Finding::fail(
                "authority",
                format!("cannot use the CA given: {e}"),
                "give the server's CA certificate in PEM (a Keyward server's keyward-data/tls/ca.pem)",
            ));
            skip_from(findings, "tenant", "no HTTP client");
            return None;
        }
    };
    let (metadata, server_date) = discovery(&http, &authority, findings).await?;
    let issuer_ok = issuer(&authority, &metadata, findings);
    let clock_ok = clock(remote, server_date, findings);
    if !issuer_ok {
        skip_from(findings, "application", "the issuer is wrong");
        return server_date;
    }
    let lookup = match remote.data {
        Some(data) => Some(lookup(data, &authority, &metadata, remote.client_id).await),
        None => None,
    };
    let Some((certificate, key)) = credential else {
        app_findings(remote, lookup.as_ref(), None, credential, findings);
        findings.push(Finding::skipped(
            "assertion",
            "not checked: no usable certificate and key",
        ));
        findings.push(Finding::skipped("scope", "not checked: no usable certificate and key"));
        return server_date;
    };
    let credential_object = match CertificateCredential::new(certificate.clone(), Vec::new(), key.clone()) {
        Ok(c) => c,
        Err(e) => {
            app_findings(remote, lookup.as_ref(), None, credential, findings);
            findings.push(Finding::fail(
                "assertion",
                format!("cannot sign an assertion with this key: {e}"),
                "use an RSA key of 2048 bits or more, or an EC P-256 key",
            ));
            findings.push(Finding::skipped("scope", "not checked: no assertion"));
            return server_date;
        }
    };
    let ask = |scope: String| {
        let http = http.clone();
        let endpoint = metadata.token_endpoint.clone();
        let credential = credential_object.clone();
        let client_id = remote.client_id.to_owned();
        let now = remote.now().unix_timestamp();
        async move { request_token(&http, &endpoint, &client_id, &credential, &scope, now).await }
    };
    let first = ask(remote.scope.to_owned()).await;
    // A scope the server does not know says nothing about the credential: ask again for one
    // every tenant has.
    let credential_outcome = match &first {
        Outcome::Refused(r) if r.is_scope_error() && remote.scope != DEFAULT_SCOPE => {
            Some(ask(DEFAULT_SCOPE.to_owned()).await)
        }
        Outcome::Refused(r) if r.is_scope_error() => None,
        other => Some(other.clone()),
    };
    let attributed = app_findings(
        remote,
        lookup.as_ref(),
        credential_outcome.as_ref(),
        credential,
        findings,
    );
    findings.push(assertion(credential_outcome.as_ref(), attributed, clock_ok));
    findings.push(scope(remote.scope, &first));
    server_date
}

/// The OpenID configuration and the server's `Date`, or failures saying why not.
async fn discovery(
    http: &reqwest::Client,
    authority: &Authority,
    findings: &mut Vec<Finding>,
) -> Option<(Metadata, Option<OffsetDateTime>)> {
    let url = authority.metadata_url();
    let origin = authority.origin();
    let response = match http.get(&url).send().await {
        Ok(r) => r,
        Err(e) => {
            let detail = error_chain(&e);
            let (message, fix) = if detail.contains("certificate") || detail.contains("UnknownIssuer") {
                (
                    format!("{origin} answers, but its TLS certificate is not trusted ({detail})"),
                    "trust the server's CA with --ca FILE or KEYWARD_CA (a Keyward server's keyward-data/tls/ca.pem), \
                     as the app must",
                )
            } else {
                (
                    format!("nothing answers at {origin} ({detail})"),
                    "check the host and port of the authority: Entra is https://login.microsoftonline.com/TENANT, \
                     a Keyward server the URL `keyward serve` printed",
                )
            };
            findings.push(Finding::fail("authority", message, fix));
            skip_from(findings, "tenant", "the authority does not answer");
            return None;
        }
    };
    let date = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date);
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    if status.is_success() {
        let Ok(metadata) = serde_json::from_slice::<Metadata>(&body) else {
            findings.push(Finding::fail(
                "authority",
                format!("{url} answers, but not with an OpenID configuration"),
                "check the authority URL: it is the URL before /v2.0/.well-known/openid-configuration",
            ));
            skip_from(findings, "tenant", "no OpenID configuration");
            return None;
        };
        findings.push(Finding::ok(
            "authority",
            format!("{origin} answers OpenID Connect discovery"),
        ));
        findings.push(Finding::ok(
            "tenant",
            format!("the tenant {} exists", authority.tenant()),
        ));
        return Some((metadata, date));
    }
    let refusal: OAuthRefusal = serde_json::from_slice(&body).unwrap_or_default();
    let code = refusal.error_codes.first().copied();
    if code == Some(90002) || status == reqwest::StatusCode::NOT_FOUND && refusal.error.is_some() {
        findings.push(Finding::ok(
            "authority",
            format!("{origin} answers OpenID Connect discovery"),
        ));
        findings.push(Finding::fail(
            "tenant",
            format!(
                "{origin} has no tenant {:?} ({})",
                authority.tenant(),
                first_line(&refusal.error_description.unwrap_or_else(|| format!("HTTP {status}")))
            ),
            "use the tenant's id (GUID) or domain, from the portal's Overview (Directory (tenant) ID) \
             or, for Keyward, `keyward serve --tenant NAME`",
        ));
        skip_from(findings, "issuer", "the tenant does not exist");
        return None;
    }
    findings.push(Finding::fail(
        "authority",
        format!("{url} answers HTTP {status}, not an OpenID configuration"),
        "check the authority URL: https://login.microsoftonline.com/TENANT for Entra, https://HOST:PORT/TENANT for Keyward",
    ));
    skip_from(findings, "tenant", "discovery failed");
    None
}

/// The issuer and the token endpoint are where the app is told to go.
fn issuer(authority: &Authority, metadata: &Metadata, findings: &mut Vec<Finding>) -> bool {
    let origin = authority.origin();
    let host_of = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    let authority_host = host_of(origin).unwrap_or_default();
    let issuer_host = host_of(&metadata.issuer).unwrap_or_default();
    if metadata.issuer.contains("{tenantid}") {
        findings.push(Finding::fail(
            "issuer",
            format!(
                "{:?} is not one tenant (the issuer is {})",
                authority.tenant(),
                metadata.issuer
            ),
            "client credentials need a tenant: use your tenant's id or domain instead of common/organizations",
        ));
        return false;
    }
    let entra = |h: &str| h == "login.microsoftonline.com" || h.ends_with(".ciamlogin.com") || h == "sts.windows.net";
    let same_host = issuer_host == authority_host || (entra(&issuer_host) && entra(&authority_host));
    let endpoint_here = metadata.token_endpoint.starts_with(&format!("{origin}/")) || entra(&authority_host);
    let guid_matches = match uuid::Uuid::parse_str(authority.tenant()) {
        Ok(guid) => metadata.issuer.to_ascii_lowercase().contains(&guid.to_string()),
        Err(_) => true,
    };
    if same_host && endpoint_here && guid_matches {
        findings.push(Finding::ok(
            "issuer",
            format!("the issuer {} matches the authority", metadata.issuer),
        ));
        return true;
    }
    let announced = url::Url::parse(&metadata.issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| metadata.issuer.clone());
    findings.push(Finding::fail(
        "issuer",
        format!(
            "the server at {origin} announces the issuer {} (token endpoint {}), not an address of {origin}",
            metadata.issuer, metadata.token_endpoint
        ),
        format!(
            "put the address the server announces ({announced}) in the authority; a Keyward server announces its \
             --public-url: change that if clients must use {origin}"
        ),
    ));
    false
}

/// The local clock against the server's `Date`.
fn clock(remote: &Remote<'_>, server: Option<OffsetDateTime>, findings: &mut Vec<Finding>) -> bool {
    let Some(server) = server else {
        findings.push(Finding::skipped("clock", "the server sent no Date header"));
        return true;
    };
    let offset = (remote.now() - server).whole_seconds();
    let how = if offset < 0 { "behind" } else { "ahead of" };
    let amount = if offset.abs() >= 120 {
        format!("{} min", (offset.abs() + 30) / 60)
    } else {
        format!("{} s", offset.abs())
    };
    let message = format!("the local clock is {amount} {how} the server's (its Date header)");
    let fix = "sync this machine's clock (NTP: `timedatectl set-ntp true`, `chronyc makestep`); \
               servers allow about 5 minutes of skew on an assertion";
    if offset.abs() > CLOCK_FAIL_SECONDS {
        findings.push(Finding::fail("clock", message, fix));
        return false;
    }
    if offset.abs() > CLOCK_WARN_SECONDS {
        findings.push(Finding::warn("clock", message, fix));
        return true;
    }
    findings.push(Finding::ok(
        "clock",
        format!("the local clock agrees with the server's (within {} s)", offset.abs()),
    ));
    true
}

pub(super) fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let line = line.split(" Trace ID:").next().unwrap_or(line);
    line.chars().take(300).collect()
}

pub(super) fn error_chain(e: &reqwest::Error) -> String {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    detail
}

/// Trusts the public roots (Entra) and `ca` (a Keyward server).
fn http_client(ca: Option<&[u8]>) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = ca {
        for certificate in keyward_pki::read(ca, None)?.certificates {
            roots.add(rustls::pki_types::CertificateDer::from(certificate.der().to_vec()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(20))
        .build()?)
}

/// An HTTP `Date` (IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let mut parts = value.split_whitespace().skip(1);
    let day: u8 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => time::Month::January,
        "Feb" => time::Month::February,
        "Mar" => time::Month::March,
        "Apr" => time::Month::April,
        "May" => time::Month::May,
        "Jun" => time::Month::June,
        "Jul" => time::Month::July,
        "Aug" => time::Month::August,
        "Sep" => time::Month::September,
        "Oct" => time::Month::October,
        "Nov" => time::Month::November,
        "Dec" => time::Month::December,
        _ => return None,
    };
    let year: i32 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u8>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" {
        return None;
    }
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let time = time::Time::from_hms(h, m, s).ok()?;
    Some(date.with_time(time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::super::finding::Status;
    use super::*;

    #[test]
    fn reads_an_http_date() {
        let date = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(date.unix_timestamp(), 784_111_777);
        assert!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").is_none());
        assert!(parse_http_date("").is_none());
    }

    #[test]
    fn a_description_is_cut_at_its_first_line() {
        assert_eq!(
            first_line("AADSTS700027: Client assertion failed.\r\nTrace ID: 1"),
            "AADSTS700027: Client assertion failed."
        );
    }

    /// Entra's discovery document: the issuer names the tenant's GUID on the same host, which
    /// is right whether the authority names the tenant by GUID or by domain; `common` is no
    /// tenant at all.
    #[test]
    fn entra_issuers() {
        let doc = include_str!("../../../keyward-client/tests/fixtures/entra-openid-configuration.json");
        let metadata: Metadata = serde_json::from_str(doc).unwrap();
        for (authority, ok) in [
            (
                "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47",
                true,
            ),
            ("https://login.microsoftonline.com/microsoft.onmicrosoft.com", true),
            (
                "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001",
                false,
            ),
            ("https://localhost:8443/contoso", false),
        ] {
            let mut findings = Vec::new();
            assert_eq!(
                issuer(&Authority::parse(authority).unwrap(), &metadata, &mut findings),
                ok,
                "{authority}"
            );
        }
        let common = Metadata {
            issuer: "https://login.microsoftonline.com/{tenantid}/v2.0".into(),
            ..metadata
        };
        let mut findings = Vec::new();
        assert!(!issuer(
            &Authority::parse("https://login.microsoftonline.com/common").unwrap(),
            &common,
            &mut findings
        ));
        assert!(findings[0].fix.as_deref().unwrap().contains("common/organizations"));
    }

    #[test]
    fn skipped_findings_cover_the_rest() {
        let mut findings = Vec::new();
        skip_from(&mut findings, "clock", "why");
        let checks: Vec<&str> = findings.iter().map(|f| f.check).collect();
        assert_eq!(checks, ["clock", "application", "registration", "assertion", "scope"]);
        assert!(findings.iter().all(|f| f.status == Status::Skipped));
    }
}
