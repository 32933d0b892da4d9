//! What a document must say to be applied: names unique where they are keys, references that
//! resolve, exactly one source for each value, ids that do not collide. Every problem is named
//! by its path, which [`Error::invalid`](crate::Error::invalid) places on a line.
//!
//! What only the server can know (an id already taken by an object the document does not
//! manage, the app management policy) is checked by the server, which reports its problems with
//! the same paths.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::error::Problem;
use crate::schema::{App, Document, MemberType};

/// The name of the built-in resource every tenant has, usable as a grant's `app`.
pub const MICROSOFT_GRAPH: &str = "Microsoft Graph";

/// Directory role names a user's `roles` may hold (as `keyward user role` names them).
pub const DIRECTORY_ROLES: &[&str] = &["global-admin", "app-admin", "global-reader"];

/// Key Vault's certificate permission names (`all` grants every one).
pub const CERTIFICATE_PERMISSIONS: &[&str] = &[
    "get",
    "list",
    "update",
    "create",
    "import",
    "delete",
    "recover",
    "purge",
    "backup",
    "restore",
    "managecontacts",
    "manageissuers",
    "getissuers",
    "listissuers",
    "setissuers",
    "deleteissuers",
];

/// Key Vault's secret permission names (`all` grants every one).
pub const SECRET_PERMISSIONS: &[&str] = &["get", "list", "set", "delete", "recover", "purge", "backup", "restore"];

/// Every problem of `doc`, in document order; empty when it can be applied.
pub fn validate(doc: &Document) -> Vec<Problem> {
    let mut v = Validator {
        doc,
        problems: Vec::new(),
        ids: HashMap::new(),
    };
    v.tenants();
    v.apps();
    v.users();
    v.vaults();
    v.problems
}

struct Validator<'a> {
    doc: &'a Document,
    problems: Vec<Problem>,
    /// Every fixed id seen, with where: two objects may not share one.
    ids: HashMap<Uuid, String>,
}

fn tenant_name_ok(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn vault_object_name_ok(name: &str) -> bool {
    (1..=127).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn vault_name_ok(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

impl<'a> Validator<'a> {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    fn fixed_id(&mut self, id: Option<Uuid>, path: String) {
        let Some(id) = id else { return };
        if id.is_nil() {
            self.problem(
                path,
                "the nil GUID is not an id: give another or leave the key out to derive one",
            );
            return;
        }
        if let Some(first) = self.ids.get(&id) {
            let message = format!("id {id} is also given at {first}: every object needs its own id");
            self.problem(path, message);
        } else {
            self.ids.insert(id, path);
        }
    }

    /// The tenant an object belongs to, reporting a missing or unknown one.
    fn tenant_of(&mut self, named: Option<&str>, path: &str) -> Option<String> {
        match named {
            Some(name) => {
                if self.doc.tenants.iter().any(|t| t.name.eq_ignore_ascii_case(name)) {
                    Some(name.to_ascii_lowercase())
                } else {
                    let known = self.tenant_names();
                    self.problem(
                        format!("{path}.tenant"),
                        format!("unknown tenant {name:?}: declare it with [[tenant]] (declared: {known})"),
                    );
                    None
                }
            }
            None => {
                match self.doc.tenants.as_slice() {
                    [only] => Some(only.name.to_ascii_lowercase()),
                    [] => {
                        self.problem(path, "no tenant: declare one with [[tenant]] (name = \"...\")");
                        None
                    }
                    _ => {
                        let known = self.tenant_names();
                        self.problem(
                        path,
                        format!("the document declares several tenants: say which with tenant = \"...\" (declared: {known})"),
                    );
                        None
                    }
                }
            }
        }
    }

    fn tenant_names(&self) -> String {
        let names: Vec<&str> = self.doc.tenants.iter().map(|t| t.name.as_str()).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    }

    fn tenants(&mut self) {
        let mut names = HashSet::new();
        for (i, tenant) in self.doc.tenants.iter().enumerate() {
            let path = format!("tenant[{i}]");
            if !tenant_name_ok(&tenant.name) {
                self.problem(
                    format!("{path}.name"),
                    format!("tenant name {:?}: use letters, digits and '-'", tenant.name),
                );
            }
            if !names.insert(tenant.name.to_ascii_lowercase()) {
                self.problem(
                    format!("{path}.name"),
                    format!("tenant {:?} is declared twice", tenant.name),
                );
            }
            self.fixed_id(tenant.id, format!("{path}.id"));
        }
    }

    /// The app named `name` in `tenant`.
    fn app<'d>(&self, tenant: &str, name: &str) -> Option<&'d App>
    where
        'a: 'd,
    {
        let doc: &'a Document = self.doc;
        doc.apps.iter().find(|a| {
            a.name == name
                && doc
                    .tenant_of(a.tenant.as_deref())
                    .is_some_and(|t| t.eq_ignore_ascii_case(tenant))
        })
    }

    fn apps(&mut self) {
        let mut names = HashSet::new();
        for (i, app) in self.doc.apps.iter().enumerate() {
            let path = format!("app[{i}]");
            let tenant = self.tenant_of(app.tenant.as_deref(), &path);
            let name = app.name.trim();
            if name.is_empty() || name.chars().count() > 256 || name != app.name {
                self.problem(
                    format!("{path}.name"),
                    "an app's name is 1 to 256 characters without spaces at either end",
                );
            }
            if name == MICROSOFT_GRAPH {
                self.problem(
                    format!("{path}.name"),
                    "\"Microsoft Graph\" is built in: choose another name",
                );
            }
            if let Some(tenant) = &tenant
                && !names.insert((tenant.clone(), app.name.clone()))
            {
                self.problem(
                    format!("{path}.name"),
                    format!(
                        "app {:?} is declared twice in tenant {tenant:?}: names are what grants refer to",
                        app.name
                    ),
                );
            }
            self.fixed_id(app.app_id, format!("{path}.app_id"));
            self.fixed_id(app.object_id, format!("{path}.object_id"));
            self.fixed_id(app.service_principal_id, format!("{path}.service_principal_id"));
            for (j, uri) in app.redirect_uris.iter().enumerate() {
                if !uri.contains("://") {
                    self.problem(
                        format!("{path}.redirect_uris[{j}]"),
                        format!("redirect URI {uri:?} is not an absolute URI"),
                    );
                }
            }
            for (j, uri) in app.identifier_uris.iter().enumerate() {
                if !uri.contains(':') {
                    self.problem(
                        format!("{path}.identifier_uris[{j}]"),
                        format!("identifier URI {uri:?} is not a URI (e.g. api://my-api)"),
                    );
                }
            }
            self.roles(app, &path);
            if let Some(tenant) = &tenant {
                self.grants(app, tenant, &path);
            }
            self.secrets(app, &path);
            self.certificates(app, &path);
        }
    }

    fn roles(&mut self, app: &App, path: &str) {
        let mut values = HashSet::new();
        for (j, role) in app.roles.iter().enumerate() {
            let path = format!("{path}.role[{j}]");
            if role.value.is_empty() || role.value.chars().any(char::is_whitespace) {
                self.problem(
                    format!("{path}.value"),
                    "a role's value is non-empty and has no spaces (e.g. Tasks.Read)",
                );
            }
            if !values.insert(role.value.clone()) {
                self.problem(
                    format!("{path}.value"),
                    format!("role {:?} is declared twice in app {:?}", role.value, app.name),
                );
            }
            self.fixed_id(role.id, format!("{path}.id"));
        }
    }

    fn grants(&mut self, app: &App, tenant: &str, path: &str) {
        for (j, grant) in app.grants.iter().enumerate() {
            let path = format!("{path}.grant[{j}]");
            if grant.app == MICROSOFT_GRAPH {
                continue; // Its roles are the server's to check.
            }
            let Some(resource) = self.app(tenant, &grant.app) else {
                let known: Vec<&str> = self
                    .doc
                    .apps
                    .iter()
                    .filter(|a| {
                        self.doc
                            .tenant_of(a.tenant.as_deref())
                            .is_some_and(|t| t.eq_ignore_ascii_case(tenant))
                    })
                    .map(|a| a.name.as_str())
                    .collect();
                let message = format!(
                    "grant names unknown app {:?} in tenant {tenant:?} (apps there: {})",
                    grant.app,
                    known.join(", ")
                );
                self.problem(format!("{path}.app"), message);
                continue;
            };
            if grant.roles.is_empty() {
                self.problem(format!("{path}.roles"), "a grant names at least one role");
            }
            let resource_roles: Vec<(String, bool)> = resource
                .roles
                .iter()
                .map(|r| {
                    let for_apps =
                        r.allowed_member_types.is_empty() || r.allowed_member_types.contains(&MemberType::Application);
                    (r.value.clone(), for_apps)
                })
                .collect();
            for (k, value) in grant.roles.iter().enumerate() {
                match resource_roles.iter().find(|(v, _)| v == value) {
                    None => {
                        let known: Vec<&str> = resource_roles.iter().map(|(v, _)| v.as_str()).collect();
                        let message = format!(
                            "app {:?} has no role {value:?} (its roles: {})",
                            grant.app,
                            if known.is_empty() {
                                "none".to_owned()
                            } else {
                                known.join(", ")
                            }
                        );
                        self.problem(format!("{path}.roles[{k}]"), message);
                    }
                    Some((_, false)) => self.problem(
                        format!("{path}.roles[{k}]"),
                        format!("role {value:?} is for users only: add \"Application\" to its allowed_member_types"),
                    ),
                    Some(_) => {}
                }
            }
        }
    }

    fn secrets(&mut self, app: &App, path: &str) {
        let mut names = HashSet::new();
        for (j, secret) in app.secrets.iter().enumerate() {
            let path = format!("{path}.secret[{j}]");
            if secret.name.trim().is_empty() {
                self.problem(format!("{path}.name"), "a secret's name (its description) is not blank");
            }
            if !names.insert(secret.name.clone()) {
                self.problem(
                    format!("{path}.name"),
                    format!("secret {:?} is declared twice in app {:?}", secret.name, app.name),
                );
            }
            match (&secret.value, &secret.generate) {
                (None, None) if secret.hash.is_none() => {
                    self.problem(&path, "give the secret's value = \"...\" or generate = \"FILE\"")
                }
                (Some(value), _) if value.expose().chars().count() < 8 => {
                    self.problem(format!("{path}.value"), "a client secret has at least 8 characters")
                }
                _ => {}
            }
            self.fixed_id(secret.key_id, format!("{path}.key_id"));
        }
    }

    fn certificates(&mut self, app: &App, path: &str) {
        let mut names = HashSet::new();
        for (j, cert) in app.certificates.iter().enumerate() {
            let path = format!("{path}.certificate[{j}]");
            if cert.name.trim().is_empty() {
                self.problem(
                    format!("{path}.name"),
                    "a certificate's name (its description) is not blank",
                );
            }
            if !names.insert(cert.name.clone()) {
                self.problem(
                    format!("{path}.name"),
                    format!("certificate {:?} is declared twice in app {:?}", cert.name, app.name),
                );
            }
            // After resolution `pem` is set beside `file` or `generate`: one of the two sources
            // at most, and something.
            let sources = usize::from(cert.file.is_some()) + usize::from(cert.generate.is_some());
            if sources > 1 {
                self.problem(&path, "give either file = \"...\" or [generate], not both");
            } else if sources == 0 && cert.pem.is_none() {
                self.problem(
                    &path,
                    "give the certificate: file = \"FILE\", pem = \"...\" or a [generate] table",
                );
            }
            if let Some(generate) = &cert.generate {
                if generate.subject.trim().is_empty() {
                    self.problem(format!("{path}.generate.subject"), "a subject such as \"CN=my-app\"");
                }
                if generate.cert == generate.key {
                    self.problem(
                        format!("{path}.generate.key"),
                        "the key and the certificate need two files",
                    );
                }
            }
            self.fixed_id(cert.key_id, format!("{path}.key_id"));
        }
    }

    fn users(&mut self) {
        let mut emails = HashSet::new();
        for (i, user) in self.doc.users.iter().enumerate() {
            let path = format!("user[{i}]");
            let tenant = self.tenant_of(user.tenant.as_deref(), &path);
            let email = user.email.trim().to_ascii_lowercase();
            let valid = email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
            });
            if !valid {
                self.problem(
                    format!("{path}.email"),
                    format!("{:?} is not an email address", user.email),
                );
            }
            if let Some(tenant) = tenant
                && !emails.insert((tenant.clone(), email))
            {
                self.problem(
                    format!("{path}.email"),
                    format!("user {:?} is declared twice in tenant {tenant:?}", user.email),
                );
            }
            match (&user.password, &user.generate_password) {
                (None, None) if user.password_hash.is_none() => {
                    self.problem(&path, "give password = \"...\" or generate_password = \"FILE\"")
                }
                (Some(p), _) if p.expose().chars().count() < 8 => {
                    self.problem(format!("{path}.password"), "a password has at least 8 characters")
                }
                _ => {}
            }
            for (j, role) in user.roles.iter().enumerate() {
                if !DIRECTORY_ROLES.iter().any(|r| r.eq_ignore_ascii_case(role)) {
                    self.problem(
                        format!("{path}.roles[{j}]"),
                        format!("unknown directory role {role:?}: use {}", DIRECTORY_ROLES.join(", ")),
                    );
                }
            }
            self.fixed_id(user.id, format!("{path}.id"));
        }
    }

    fn vaults(&mut self) {
        let mut names = HashSet::new();
        for (i, vault) in self.doc.vaults.iter().enumerate() {
            let path = format!("vault[{i}]");
            let tenant = self.tenant_of(vault.tenant.as_deref(), &path);
            if !vault_name_ok(&vault.name) {
                self.problem(
                    format!("{path}.name"),
                    format!(
                        "vault name {:?}: use lowercase letters, digits and '-' (it is a host name label)",
                        vault.name
                    ),
                );
            }
            if !names.insert(vault.name.clone()) {
                self.problem(
                    format!("{path}.name"),
                    format!("vault {:?} is declared twice", vault.name),
                );
            }
            let mut objects = HashSet::new();
            for (j, cert) in vault.certificates.iter().enumerate() {
                let path = format!("{path}.certificate[{j}]");
                if !vault_object_name_ok(&cert.name) {
                    self.problem(
                        format!("{path}.name"),
                        format!("certificate name {:?}: use letters, digits and '-'", cert.name),
                    );
                }
                if !objects.insert(("certificate", cert.name.to_ascii_lowercase())) {
                    self.problem(
                        format!("{path}.name"),
                        format!("certificate {:?} is declared twice", cert.name),
                    );
                }
                if cert.subject.trim().is_empty() {
                    self.problem(format!("{path}.subject"), "a subject such as \"CN=web\"");
                }
                if let Some(months) = cert.validity_months
                    && !(1..=1200).contains(&months)
                {
                    self.problem(format!("{path}.validity_months"), "validity_months is 1 to 1200");
                }
                for (k, action) in cert.lifetime_action.iter().enumerate() {
                    let path = format!("{path}.lifetime_action[{k}]");
                    match (action.lifetime_percentage, action.days_before_expiry) {
                        (Some(p), None) if (1..=99).contains(&p) => {}
                        (Some(_), None) => {
                            self.problem(format!("{path}.lifetime_percentage"), "lifetime_percentage is 1 to 99")
                        }
                        (None, Some(_)) => {}
                        _ => self.problem(&path, "give exactly one of lifetime_percentage and days_before_expiry"),
                    }
                }
            }
            for (j, secret) in vault.secrets.iter().enumerate() {
                let path = format!("{path}.secret[{j}]");
                if !vault_object_name_ok(&secret.name) {
                    self.problem(
                        format!("{path}.name"),
                        format!("secret name {:?}: use letters, digits and '-'", secret.name),
                    );
                }
                if !objects.insert(("secret", secret.name.to_ascii_lowercase())) {
                    self.problem(
                        format!("{path}.name"),
                        format!("secret {:?} is declared twice", secret.name),
                    );
                }
                let sources = usize::from(secret.file.is_some()) + usize::from(secret.generate.is_some());
                if sources > 1 {
                    self.problem(&path, "give one of value, file and generate");
                } else if sources == 0 && secret.value.is_none() {
                    self.problem(
                        &path,
                        "give the secret's value = \"...\", file = \"FILE\" or generate = \"FILE\"",
                    );
                }
            }
            for (j, access) in vault.access.iter().enumerate() {
                let path = format!("{path}.access[{j}]");
                let principals = usize::from(access.app.is_some())
                    + usize::from(access.user.is_some())
                    + usize::from(access.object_id.is_some());
                if principals != 1 {
                    self.problem(
                        &path,
                        "name exactly one principal: app = \"NAME\", user = \"EMAIL\" or object_id = \"GUID\"",
                    );
                }
                if let (Some(name), Some(tenant)) = (&access.app, &tenant)
                    && self.app(tenant, name).is_none()
                {
                    self.problem(
                        format!("{path}.app"),
                        format!("unknown app {name:?} in tenant {tenant:?}"),
                    );
                }
                if let (Some(email), Some(tenant)) = (&access.user, &tenant) {
                    let found = self.doc.users.iter().any(|u| {
                        u.email.trim().eq_ignore_ascii_case(email.trim())
                            && self
                                .doc
                                .tenant_of(u.tenant.as_deref())
                                .is_some_and(|t| t.eq_ignore_ascii_case(tenant))
                    });
                    if !found {
                        self.problem(
                            format!("{path}.user"),
                            format!("unknown user {email:?} in tenant {tenant:?}"),
                        );
                    }
                }
                self.permissions(
                    &access.certificates,
                    CERTIFICATE_PERMISSIONS,
                    &format!("{path}.certificates"),
                );
                self.permissions(&access.secrets, SECRET_PERMISSIONS, &format!("{path}.secrets"));
            }
        }
    }

    fn permissions(&mut self, given: &[String], known: &[&str], path: &str) {
        for (k, name) in given.iter().enumerate() {
            if name != "all" && !known.iter().any(|p| p.eq_ignore_ascii_case(name)) {
                self.problem(
                    format!("{path}[{k}]"),
                    format!("unknown permission {name:?}: use all or {}", known.join(", ")),
                );
            }
        }
    }
}
