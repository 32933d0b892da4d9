//! The overview: the tenant's identity, its endpoints, and what needs attention (credentials
//! that expired or soon will, applications that still use client secrets).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use keyward_authority::is_builtin;
use time::{Duration, OffsetDateTime};

use super::{Chrome, IntoPage, When};
use crate::AdminCenter;
use crate::access::Admin;

/// Credentials that expire within this window need attention.
pub const EXPIRY_WARNING: Duration = Duration::days(30);

/// One endpoint with a copy button.
pub struct Endpoint {
    /// What it is.
    pub name: &'static str,
    /// The element id of its value (for the copy button).
    pub id: &'static str,
    /// The URL.
    pub url: String,
}

/// Something that needs attention.
pub struct Attention {
    /// The application's object id (the link).
    pub app_object_id: String,
    /// The application's name.
    pub app: String,
    /// What is wrong.
    pub problem: String,
    /// Since or until when.
    pub when: Option<When>,
    /// How bad: `bad` (expired) or `warn`.
    pub severity: &'static str,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    name: String,
    tenant_id: String,
    domain: String,
    endpoints: Vec<Endpoint>,
    attention: Vec<Attention>,
    apps: usize,
}

/// The endpoints of a tenant, as the portal's "Endpoints" pane lists them.
pub fn endpoints(public_url: &str, tenant_name: &str, tenant_id: &str) -> Vec<Endpoint> {
    vec![
        Endpoint {
            name: "Authority (MSAL)",
            id: "endpoint-authority",
            url: format!("{public_url}/{tenant_name}"),
        },
        Endpoint {
            name: "OAuth 2.0 token endpoint (v2)",
            id: "endpoint-token",
            url: format!("{public_url}/{tenant_id}/oauth2/v2.0/token"),
        },
        Endpoint {
            name: "OAuth 2.0 authorization endpoint (v2)",
            id: "endpoint-authorize",
            url: format!("{public_url}/{tenant_id}/oauth2/v2.0/authorize"),
        },
        Endpoint {
            name: "OpenID Connect metadata document",
            id: "endpoint-discovery",
            url: format!("{public_url}/{tenant_id}/v2.0/.well-known/openid-configuration"),
        },
        Endpoint {
            name: "Signing keys (JWKS)",
            id: "endpoint-jwks",
            url: format!("{public_url}/{tenant_id}/discovery/v2.0/keys"),
        },
    ]
}

/// What needs attention in the tenant's applications, worst first.
pub fn attention(center: &AdminCenter, tenant_id: uuid::Uuid, now: OffsetDateTime) -> Vec<Attention> {
    let snapshot = center.authority().snapshot();
    let mut found = Vec::new();
    for entry in snapshot
        .apps_of(tenant_id)
        .into_iter()
        .filter(|a| !is_builtin(a.app.app_id))
    {
        let app = &entry.app;
        let mut note = |problem: String, when: Option<OffsetDateTime>, severity| {
            found.push(Attention {
                app_object_id: app.id.to_string(),
                app: app.display_name.clone(),
                problem,
                when: when.map(When::of),
                severity,
            })
        };
        for key in &app.key_credentials {
            if key.end <= now {
                note(
                    format!("Certificate \"{}\" has expired", key.display_name),
                    Some(key.end),
                    "bad",
                );
            } else if key.end - now <= EXPIRY_WARNING {
                let days = (key.end - now).whole_days();
                note(
                    format!("Certificate \"{}\" expires in {days} days", key.display_name),
                    Some(key.end),
                    "warn",
                );
            }
        }
        for secret in &app.password_credentials {
            if secret.end <= now {
                note(
                    format!("Client secret \"{}\" has expired", secret.display_name),
                    Some(secret.end),
                    "bad",
                );
            } else {
                note(
                    format!(
                        "Uses a client secret (\"{}\"): a certificate credential is safer",
                        secret.display_name
                    ),
                    None,
                    "warn",
                );
            }
        }
    }
    found.sort_by_key(|a| (a.severity != "bad", a.app.to_lowercase()));
    found
}

/// `GET /admin/`.
pub(crate) async fn show(State(center): State<Arc<AdminCenter>>, admin: Admin) -> Response {
    let tenant = &admin.tenant.tenant;
    let tenant_id = tenant.id.to_string();
    let apps = center
        .authority()
        .snapshot()
        .apps_of(tenant.id)
        .iter()
        .filter(|a| !is_builtin(a.app.app_id))
        .count();
    OverviewPage {
        chrome: Chrome::of(&admin, "overview"),
        name: tenant.name.clone(),
        domain: tenant.domain.clone(),
        endpoints: endpoints(center.public_url(), &tenant.name, &tenant_id),
        attention: attention(&center, tenant.id, center.now()),
        tenant_id,
        apps,
    }
    .into_page()
}
