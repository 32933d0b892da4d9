//! What the token endpoint says to a real assertion, and what a Keyward admin credential can
//! look up: the `application`, `registration`, `assertion` and `scope` findings.

use std::path::Path;

use keyward_client::{Authority, CertificateCredential, Metadata};
use keyward_pki::{Certificate, PrivateKey};
use serde::Deserialize;

use super::finding::Finding;
use super::remote::{Remote, error_chain, first_line};
use crate::connection::Connection;
use crate::graph::Application;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the admin lookup found.
pub(super) enum Lookup {
    /// The application with this client id, or none.
    Found(Option<Application>, String),
    /// No lookup, and why.
    Unavailable(String),
}

/// Looks the application up with a Keyward server's admin credential.
pub(super) async fn lookup(data: &Path, authority: &Authority, metadata: &Metadata, client_id: &str) -> Lookup {
    let dir = keyward_server::DataDir::new(data);
    let admin: keyward_server::AdminInfo = match dir.read_json("admin/admin.json") {
        Ok(a) => a,
        Err(e) => return Lookup::Unavailable(format!("no admin credential in {} ({e})", data.display())),
    };
    if !metadata.issuer.contains(&admin.tenant_id) {
        return Lookup::Unavailable(format!(
            "the admin credential in {} is for another tenant ({})",
            data.display(),
            admin.tenant
        ));
    }
    let connection = match Connection::to(data, Some(authority.origin())).await {
        Ok(c) => c,
        Err(e) => return Lookup::Unavailable(format!("the admin credential in {} did not work ({e})", data.display())),
    };
    match connection.applications().await {
        Ok(apps) => {
            let app = apps
                .into_iter()
                .find(|a| a.app_id.eq_ignore_ascii_case(client_id.trim()))
                .map(|a| (*a).clone());
            Lookup::Found(
                app,
                format!("looked up with the admin credential in {}", data.display()),
            )
        }
        Err(e) => Lookup::Unavailable(format!("the management API refused the lookup ({e})")),
    }
}

/// Which check an error of the token endpoint was put down to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Attributed {
    Nothing,
    Application,
    Registration,
}

/// The `application` and `registration` findings, from the lookup when there is one, else from
/// what the token endpoint said about the credential.
pub(super) fn app_findings(
    remote: &Remote<'_>,
    lookup: Option<&Lookup>,
    outcome: Option<&Outcome>,
    credential: Option<&(Certificate, PrivateKey)>,
    findings: &mut Vec<Finding>,
) -> Attributed {
    let client_id = remote.client_id;
    let cert = &remote.cert_file;
    let register_fix = |app: &str| match remote.vault_cert {
        Some(name) => format!(
            "register {cert} on the app ({app}): `keyward vault cert link {name} --app {app}` (its renewals too), or \
             in the Entra portal: upload its .cer (`az keyvault certificate download --vault-name VAULT --name {name} \
             --file {name}.cer`) under App registrations > the app > Certificates & secrets"
        ),
        None => format!(
            "register {cert} on the app ({app}): `keyward app cert add {app} {cert}`, or in the Entra portal: App \
             registrations > the app > Certificates & secrets > Upload certificate (the certificate, never the key)"
        ),
    };
    let app_fix = "use the Application (client) ID shown by `keyward app list` or the portal's app Overview, \
                   and check the tenant";
    if let Some(Lookup::Found(app, how)) = lookup {
        let Some(app) = app else {
            findings.push(Finding::fail(
                "application",
                format!("no application has client id {client_id} in this tenant ({how})"),
                app_fix,
            ));
            findings.push(Finding::skipped("registration", "not checked: no application"));
            return Attributed::Application;
        };
        findings.push(Finding::ok(
            "application",
            format!("client id {client_id} is {:?} ({how})", app.display_name),
        ));
        let Some((certificate, _)) = credential else {
            findings.push(Finding::skipped("registration", "not checked: no usable certificate"));
            return Attributed::Nothing;
        };
        let sha1 = certificate.thumbprints().sha1_hex();
        let registered = app
            .key_credentials
            .iter()
            .find(|k| k.custom_key_identifier.eq_ignore_ascii_case(&sha1));
        return match registered {
            Some(k) => {
                findings.push(Finding::ok(
                    "registration",
                    format!(
                        "{cert} is registered on {:?} (key id {}, until {})",
                        app.display_name, k.key_id, k.end_date_time
                    ),
                ));
                Attributed::Nothing
            }
            None => {
                let others: Vec<&str> = app
                    .key_credentials
                    .iter()
                    .map(|k| k.custom_key_identifier.as_str())
                    .collect();
                let others = if others.is_empty() {
                    "it has no certificate".to_owned()
                } else {
                    format!("it has {}", others.join(", "))
                };
                findings.push(Finding::fail(
                    "registration",
                    format!(
                        "{cert} (SHA-1 {sha1}) is not registered on {:?}; {others} ({how})",
                        app.display_name
                    ),
                    register_fix(&app.display_name),
                ));
                Attributed::Registration
            }
        };
    }
    let entra = remote.authority.contains(".microsoftonline.com") || remote.authority.contains(".ciamlogin.com");
    let how = match lookup {
        Some(Lookup::Unavailable(why)) => format!("told by the token endpoint: {why}"),
        _ if entra => "Entra: only the token endpoint can tell".to_owned(),
        _ => "told by the token endpoint; give --data DIR to look it up".to_owned(),
    };
    let code = match outcome {
        Some(Outcome::Refused(r)) => r.code,
        _ => None,
    };
    match outcome {
        Some(Outcome::Issued) => {
            findings.push(Finding::ok(
                "application",
                format!("client id {client_id} is known ({how})"),
            ));
            findings.push(Finding::ok(
                "registration",
                format!("{cert} is accepted for this app ({how})"),
            ));
            Attributed::Nothing
        }
        Some(Outcome::Refused(r)) if code == Some(700016) => {
            findings.push(Finding::fail(
                "application",
                format!("no application has client id {client_id} in this tenant (AADSTS700016; {how})"),
                app_fix,
            ));
            findings.push(Finding::skipped("registration", format!("not checked: {}", r.short())));
            Attributed::Application
        }
        Some(Outcome::Refused(r)) if code == Some(700027) => {
            findings.push(Finding::ok(
                "application",
                format!("client id {client_id} is known (the server got past AADSTS700016; {how})"),
            ));
            findings.push(Finding::fail(
                "registration",
                format!(
                    "the token endpoint does not accept {cert} for this app: {} ({how})",
                    r.short()
                ),
                register_fix(client_id),
            ));
            Attributed::Registration
        }
        Some(Outcome::Refused(r)) if code == Some(700024) || code == Some(700023) => {
            findings.push(Finding::ok(
                "application",
                format!("client id {client_id} is known (the server got past AADSTS700016; {how})"),
            ));
            findings.push(Finding::skipped("registration", format!("not known: {}", r.short())));
            Attributed::Nothing
        }
        Some(other) => {
            let why = match other {
                Outcome::Refused(r) => r.short(),
                Outcome::Unreachable(e) => e.clone(),
                Outcome::Issued => String::new(),
            };
            findings.push(Finding::skipped("application", format!("not known: {why}")));
            findings.push(Finding::skipped("registration", format!("not known: {why}")));
            Attributed::Nothing
        }
        None => {
            let why = if credential.is_some() {
                "the token endpoint refused the scope before the credential"
            } else {
                "no usable certificate and key to try"
            };
            findings.push(Finding::skipped("application", format!("not known: {why}")));
            findings.push(Finding::skipped("registration", format!("not known: {why}")));
            Attributed::Nothing
        }
    }
}

/// Whether a real assertion was accepted.
pub(super) fn assertion(outcome: Option<&Outcome>, attributed: Attributed, clock_ok: bool) -> Finding {
    let Some(outcome) = outcome else {
        return Finding::skipped(
            "assertion",
            "not known: the token endpoint refused the scope before reading the assertion",
        );
    };
    match outcome {
        Outcome::Issued => Finding::ok(
            "assertion",
            "the token endpoint accepted a real assertion (PS256, x5t#S256) and issued a token",
        ),
        Outcome::Refused(_) if attributed != Attributed::Nothing => Finding::skipped(
            "assertion",
            format!(
                "refused, because of the {} above",
                if attributed == Attributed::Application {
                    "application"
                } else {
                    "registration"
                }
            ),
        ),
        Outcome::Refused(r) if r.code == Some(700024) && !clock_ok => Finding::skipped(
            "assertion",
            format!("refused because of the clock above: {}", r.short()),
        ),
        Outcome::Refused(r) => Finding::fail(
            "assertion",
            format!("the token endpoint refused the assertion: {}", r.short()),
            hint(r.code).unwrap_or("read the server's description; quote its correlation id when asking for help"),
        ),
        Outcome::Unreachable(e) => Finding::fail(
            "assertion",
            format!("the token endpoint did not answer: {e}"),
            "check the network path to the token endpoint the discovery document names",
        ),
    }
}

/// Whether the scope exists, from the answer to the request for it.
pub(super) fn scope(scope: &str, first: &Outcome) -> Finding {
    match first {
        Outcome::Issued => Finding::ok("scope", format!("{scope} exists: a token was issued for it")),
        Outcome::Refused(r) if r.code == Some(500011) => Finding::fail(
            "scope",
            format!("the scope {scope} names no resource in this tenant ({})", r.short()),
            "use the API's Application ID URI (Expose an API) or its app id, followed by /.default; \
             `keyward app list` shows identifier URIs",
        ),
        Outcome::Refused(r) if r.is_scope_error() => Finding::fail(
            "scope",
            format!("{scope} is not a client credentials scope ({})", r.short()),
            "a client credentials scope is '<resource>/.default', e.g. api://my-api/.default",
        ),
        _ => Finding::skipped("scope", "not known: the request failed before the scope was read"),
    }
}

/// What the token endpoint said.
#[derive(Clone)]
pub(super) enum Outcome {
    Issued,
    Refused(Refusal),
    Unreachable(String),
}

#[derive(Clone)]
pub(super) struct Refusal {
    status: u16,
    code: Option<u32>,
    error: String,
    description: String,
}

impl Refusal {
    /// An error response in Entra's shape (anything else kept as its first 300 characters).
    fn of(status: u16, body: &[u8]) -> Self {
        let refusal: OAuthRefusal = serde_json::from_slice(body).unwrap_or_default();
        Self {
            status,
            code: refusal.error_codes.first().copied(),
            error: refusal.error.unwrap_or_else(|| format!("http_{status}")),
            description: refusal
                .error_description
                .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect()),
        }
    }

    pub(super) fn is_scope_error(&self) -> bool {
        matches!(self.code, Some(500011 | 70011 | 1002012))
    }

    /// `AADSTS700027: ... (HTTP 401 invalid_client)`, first line only.
    pub(super) fn short(&self) -> String {
        format!(
            "{} (HTTP {} {})",
            first_line(&self.description),
            self.status,
            self.error
        )
    }
}

/// Entra's error body.
#[derive(Deserialize, Default)]
pub(super) struct OAuthRefusal {
    pub(super) error: Option<String>,
    pub(super) error_description: Option<String>,
    #[serde(default)]
    pub(super) error_codes: Vec<u32>,
}

pub(super) async fn request_token(
    http: &reqwest::Client,
    endpoint: &str,
    client_id: &str,
    credential: &CertificateCredential,
    scope: &str,
    now: i64,
) -> Outcome {
    let assertion = match credential.assertion(client_id, endpoint, now) {
        Ok(a) => a,
        Err(e) => return Outcome::Unreachable(format!("cannot sign the assertion: {e}")),
    };
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
        ("scope", scope),
    ];
    let response = match http.post(endpoint).form(&form).send().await {
        Ok(r) => r,
        Err(e) => return Outcome::Unreachable(error_chain(&e)),
    };
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    if status.is_success() {
        return Outcome::Issued;
    }
    Outcome::Refused(Refusal::of(status.as_u16(), &body))
}

/// What to do about the AADSTS errors the other checks do not explain.
fn hint(code: Option<u32>) -> Option<&'static str> {
    Some(match code? {
        700024 => "sync this machine's clock (NTP); the assertion is outside its time window",
        700023 => "the assertion's audience must be the token endpoint: check the authority and its tenant",
        700021 => "the client id, iss and sub of the assertion must all be the application (client) id",
        90002 => "the tenant in the authority does not exist: use its id or domain",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::finding::Status;

    fn remote(authority: &str) -> Remote<'_> {
        Remote {
            authority,
            client_id: "00000000-0000-0000-0000-000000000000",
            scope: "api://tasks/.default",
            ca: None,
            data: None,
            skew: time::Duration::ZERO,
            cert_file: "app.pem".into(),
            vault_cert: None,
        }
    }

    /// Entra's real 700027 answer: the certificate is not on the app, and doctor says that only
    /// the token endpoint could tell; the assertion is not blamed twice.
    #[test]
    fn entra_700027_is_the_registration_told_by_the_token_endpoint() {
        let body = include_bytes!("../../../keyward-client/tests/fixtures/entra-error-700027.json");
        let outcome = Outcome::Refused(Refusal::of(401, body));
        let mut findings = Vec::new();
        let remote = remote("https://login.microsoftonline.com/contoso.onmicrosoft.com");
        let attributed = app_findings(&remote, None, Some(&outcome), None, &mut findings);
        assert!(attributed == Attributed::Registration);
        let registration = findings.iter().find(|f| f.check == "registration").unwrap();
        assert_eq!(registration.status, Status::Fail);
        assert!(
            registration.message.contains("AADSTS700027"),
            "{}",
            registration.message
        );
        assert!(
            registration.message.contains("Entra: only the token endpoint can tell"),
            "{}",
            registration.message
        );
        assert!(!registration.message.contains("Trace ID"), "{}", registration.message);
        assert!(registration.fix.as_deref().unwrap().contains("Upload certificate"));
        let application = findings.iter().find(|f| f.check == "application").unwrap();
        assert_eq!(application.status, Status::Ok);
        assert_eq!(assertion(Some(&outcome), attributed, true).status, Status::Skipped);
    }

    #[test]
    fn an_unknown_client_id_is_the_application_and_an_unknown_resource_the_scope() {
        let unknown_app = Outcome::Refused(Refusal::of(
            400,
            br#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application not found.","error_codes":[700016]}"#,
        ));
        let mut findings = Vec::new();
        let remote = remote("https://localhost:8443/contoso");
        app_findings(&remote, None, Some(&unknown_app), None, &mut findings);
        assert_eq!(findings[0].check, "application");
        assert_eq!(findings[0].status, Status::Fail);
        assert!(
            findings[0].message.contains("give --data DIR"),
            "{}",
            findings[0].message
        );
        let unknown_scope = Outcome::Refused(Refusal::of(
            400,
            br#"{"error":"invalid_resource","error_description":"AADSTS500011: not found","error_codes":[500011]}"#,
        ));
        let finding = scope("api://nope/.default", &unknown_scope);
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.message.contains("api://nope/.default"));
        // A body that is not Entra's still says something.
        let refusal = Refusal::of(502, b"<html>Bad Gateway</html>");
        assert_eq!((refusal.code, refusal.error.as_str()), (None, "http_502"));
        assert!(refusal.short().contains("Bad Gateway"));
    }
}
