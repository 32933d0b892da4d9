//! Declarative state, server side: a resolved [`keyward_state::Document`] (ids filled in,
//! certificates as PEM, secrets as values: see [`keyward_state::resolve`]) is compared with the
//! directory and the vaults, checked whole, turned into a [`Plan`] and applied.
//!
//! - **Nothing is written before everything is checked**: the document's own rules, then what
//!   only the server knows (a tenant name taken with another id, an id taken by another
//!   object, a certificate the authority refuses, a password the policy refuses, a vault name
//!   of another tenant, the app management policy). A refused document changes nothing; its
//!   problems carry the document path (`app[2].certificate[0]`) that the CLI places on a line.
//! - **Idempotent**: what already is as declared is left alone, so applying twice gives an
//!   empty plan. Relative dates (`expires = "30d"`) are compared by their text, through a
//!   fingerprint of each declaration kept with the managed set.
//! - **Removal only of what an apply manages**: the set of objects the last apply declared is
//!   kept in the store ([`AppliedState`]); an object of that set that left the document is
//!   removed (listed first in the plan), anything made by hand never is. Tenants and vaults are
//!   never removed (what they hold is).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::digest;
use keyward_authority::{Authority, DirectoryRole, GRAPH_APP_ID, NewUser, UserChange};
use keyward_state::{Document, Problem};
use keyward_store::{
    AccessPolicy, AppRole, Application, AppliedState, AuditEvent, KeyCredential, PasswordCredential, Store,
};
use keyward_vault::{Administration, CreateCertificate, SetSecret, Vaults};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

mod http;

pub(crate) use http::router;

/// The longest a client secret may live (Entra's limit).
const MAX_SECRET_DAYS: i64 = 730;
/// How long a secret lives when the document gives no `expires`.
const DEFAULT_SECRET_DAYS: i64 = 730;

/// What an apply does, removals first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Every change, in the order it is applied.
    pub changes: Vec<Change>,
}

impl Plan {
    /// Whether the server already is as the document says.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The removals it makes.
    pub fn removals(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action == Action::Remove)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return f.write_str("no changes: the server is as the document says");
        }
        for (i, change) in self.changes.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{change}")?;
        }
        Ok(())
    }
}

/// One change of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Create, update or remove.
    pub action: Action,
    /// What, for people: `app "daemon" (contoso)`.
    pub target: String,
    /// What changes, for an update.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (sign, verb) = match self.action {
            Action::Create => ('+', "create"),
            Action::Update => ('~', "update"),
            Action::Remove => ('-', "remove"),
        };
        write!(f, "{sign} {verb} {}", self.target)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Makes something new.
    Create,
    /// Changes something that exists.
    Update,
    /// Removes something a previous apply made.
    Remove,
}

/// Why an apply did not happen, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The document cannot be applied: nothing was changed.
    #[error("the document cannot be applied ({} problems); nothing was changed", .0.len())]
    Invalid(Vec<Problem>),
    /// A write failed part way (the store, a race with another writer): what was applied
    /// before it stays; applying again converges.
    #[error("applying failed at {change}: {message}; apply again to converge")]
    Failed {
        /// The change that failed.
        change: String,
        /// Why.
        message: String,
    },
}

/// One write of a plan.
enum Op {
    Tenant {
        name: String,
        id: Uuid,
    },
    CreateApp(Box<Application>),
    UpdateApp(Box<Application>),
    RemoveApp {
        tenant_id: Uuid,
        object_id: Uuid,
    },
    Grant {
        tenant_id: Uuid,
        principal: Uuid,
        resource: Uuid,
        role: Uuid,
    },
    Revoke {
        tenant_id: Uuid,
        assignment: Uuid,
    },
    CreateUser {
        tenant_id: Uuid,
        id: Uuid,
        new: NewUser,
    },
    UpdateUser {
        tenant_id: Uuid,
        id: Uuid,
        change: UserChange,
    },
    Roles {
        tenant_id: Uuid,
        id: Uuid,
        add: Vec<DirectoryRole>,
        remove: Vec<DirectoryRole>,
    },
    RemoveUser {
        tenant_id: Uuid,
        id: Uuid,
    },
    /// An exported user's password hash, stored as is.
    PasswordHash {
        tenant_id: Uuid,
        id: Uuid,
        hash: Zeroizing<String>,
    },
    /// An exported vault certificate: its key and certificate imported, not made.
    ImportCertificate {
        tenant_id: Uuid,
        vault: String,
        name: String,
        request: Box<keyward_vault::ImportCertificate>,
    },
    Vault {
        tenant_id: Uuid,
        name: String,
    },
    Access {
        vault: String,
        policy: AccessPolicy,
    },
    RemoveAccess {
        vault: String,
        object_id: Uuid,
    },
    Certificate {
        tenant_id: Uuid,
        vault: String,
        name: String,
        request: Box<CreateCertificate>,
    },
    RemoveCertificate {
        tenant_id: Uuid,
        vault: String,
        name: String,
    },
    Secret {
        tenant_id: Uuid,
        vault: String,
        name: String,
        request: SetSecret,
    },
    RemoveSecret {
        tenant_id: Uuid,
        vault: String,
        name: String,
    },
}

/// Applies documents to one server's authority and vaults.
pub struct StateService {
    authority: Arc<Authority>,
    vaults: Arc<Vaults>,
    store: Arc<dyn Store>,
    /// Only an administrator of this tenant (the server's default) may apply.
    admin_tenant: Uuid,
}

/// A fingerprint of a declaration: SHA-256 of its JSON (never holding a secret value).
fn fingerprint(value: &serde_json::Value) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let d = digest::digest(&digest::SHA256, &bytes);
    d.as_ref().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The plan being built: its changes and writes, what will be managed, what is wrong.
#[derive(Default)]
struct Planner {
    removals: Vec<(Change, Op)>,
    changes: Vec<(Change, Op)>,
    managed: BTreeMap<String, String>,
    problems: Vec<Problem>,
}

impl Planner {
    fn change(&mut self, action: Action, target: String, detail: String, op: Op) {
        let change = Change { action, target, detail };
        if action == Action::Remove {
            self.removals.push((change, op));
        } else {
            self.changes.push((change, op));
        }
    }

    fn problem(&mut self, path: String, message: impl fmt::Display) {
        self.problems.push(Problem::new(path, message.to_string()));
    }
}

impl StateService {
    /// The service over a server's parts; `admin_tenant` is the tenant whose administrators
    /// may apply documents (the server's default tenant).
    pub fn new(authority: Arc<Authority>, vaults: Arc<Vaults>, store: Arc<dyn Store>, admin_tenant: Uuid) -> Self {
        Self {
            authority,
            vaults,
            store,
            admin_tenant,
        }
    }

    /// The tenant whose administrators may apply documents.
    pub fn admin_tenant(&self) -> Uuid {
        self.admin_tenant
    }

    /// Checks `doc` (resolved: see [`keyward_state::resolve`]) against the server and applies
    /// it, unless `dry_run`. Returns the plan (applied, or what would be). `actor` names the
    /// caller in the audit log.
    pub async fn apply(&self, doc: &Document, dry_run: bool, actor: &str) -> Result<Plan, StateError> {
        let mut doc = doc.clone();
        doc.fill_ids();
        let problems = keyward_state::validate(&doc);
        if !problems.is_empty() {
            return Err(StateError::Invalid(problems));
        }
        let applied = self.store.applied_state().await.map_err(|e| StateError::Failed {
            change: "reading the managed set".into(),
            message: e.to_string(),
        })?;
        let planner = self.plan(&doc, &applied).await;
        if !planner.problems.is_empty() {
            return Err(StateError::Invalid(planner.problems));
        }
        let Planner {
            removals,
            changes,
            managed,
            ..
        } = planner;
        let ops: Vec<(Change, Op)> = removals.into_iter().chain(changes).collect();
        let plan = Plan {
            changes: ops.iter().map(|(c, _)| c.clone()).collect(),
        };
        if dry_run {
            return Ok(plan);
        }
        for (change, op) in ops {
            self.run(op).await.map_err(|message| StateError::Failed {
                change: change.to_string(),
                message,
            })?;
        }
        let state = AppliedState { managed };
        if state != applied {
            self.store
                .put_applied_state(&state)
                .await
                .map_err(|e| StateError::Failed {
                    change: "writing the managed set".into(),
                    message: e.to_string(),
                })?;
        }
        if !plan.is_empty() {
            self.audit(actor, &plan).await;
        }
        Ok(plan)
    }

    async fn audit(&self, actor: &str, plan: &Plan) {
        let summary: Vec<String> = plan.changes.iter().map(ToString::to_string).collect();
        let event = AuditEvent {
            id: Uuid::new_v4(),
            tenant_id: self.admin_tenant,
            at: OffsetDateTime::now_utc(),
            actor_id: None,
            actor: actor.to_owned(),
            action: "state.apply".into(),
            target_kind: "state".into(),
            target_id: "state".into(),
            detail: format!("{} changes: {}", plan.changes.len(), summary.join("; ")),
        };
        if let Err(e) = self.store.append_audit(&event).await {
            tracing::warn!(error = %e, "writing the audit row of a state apply failed");
        }
    }

    /// Compares the document with the server: the plan, or the problems.
    async fn plan(&self, doc: &Document, applied: &AppliedState) -> Planner {
        let mut p = Planner::default();
        let now = self.authority.now();
        let snapshot = self.authority.snapshot();

        // Tenants: ids first, everything else is named by them.
        let mut tenant_ids: BTreeMap<String, Uuid> = BTreeMap::new();
        for (i, tenant) in doc.tenants.iter().enumerate() {
            let name = tenant.name.to_ascii_lowercase();
            let existing = snapshot.tenant(&name).filter(|t| t.tenant.name == name);
            let id = match (existing, tenant.id) {
                (Some(t), Some(id)) if t.tenant.id != id => {
                    p.problem(
                        format!("tenant[{i}].id"),
                        format!(
                            "tenant {name:?} exists with id {}, not {id}: give its id, or another name",
                            t.tenant.id
                        ),
                    );
                    continue;
                }
                (Some(t), _) => t.tenant.id,
                (None, id) => {
                    let id = id.unwrap_or_else(|| keyward_state::ids::tenant_id(&name));
                    if let Some(holder) = snapshot.tenant_by_id(id) {
                        p.problem(
                            format!("tenant[{i}].id"),
                            format!(
                                "tenant id {id} belongs to tenant {:?}: give another id",
                                holder.tenant.name
                            ),
                        );
                        continue;
                    }
                    p.change(
                        Action::Create,
                        format!("tenant {name:?} ({id})"),
                        String::new(),
                        Op::Tenant { name: name.clone(), id },
                    );
                    id
                }
            };
            tenant_ids.insert(name, id);
            p.managed.insert(format!("tenant:{id}"), String::new());
        }
        let tenant_of = |named: &Option<String>| -> Option<(String, Uuid)> {
            let name = named.as_deref()?.to_ascii_lowercase();
            tenant_ids.get(&name).map(|id| (name, *id))
        };

        // Applications, their credentials and roles.
        let allow_ec = self.authority.config().assertion.allow_es256;
        let mut apps: BTreeMap<(Uuid, String), Application> = BTreeMap::new();
        for (i, decl) in doc.apps.iter().enumerate() {
            let path = format!("app[{i}]");
            let Some((tenant_name, tenant_id)) = tenant_of(&decl.tenant) else {
                continue;
            };
            let (Some(app_id), Some(object_id), Some(sp_id)) = (decl.app_id, decl.object_id, decl.service_principal_id)
            else {
                continue;
            };
            if keyward_authority::is_builtin(app_id) {
                p.problem(
                    format!("{path}.app_id"),
                    format!("{app_id} is a built-in application's id: give another"),
                );
                continue;
            }
            // As stored, certificates included: the directory's copy has none, and the plan
            // compares certificates and writes whole documents.
            let current = match self.authority.stored_application(tenant_id, object_id).await {
                Ok(current) => current,
                Err(e) => {
                    p.problem(path, e.to_string());
                    continue;
                }
            };
            if current.is_none()
                && let Some(other) = snapshot.app_in_tenant(tenant_id, app_id)
            {
                p.problem(
                    format!("{path}.app_id"),
                    format!(
                        "appId {app_id} is app {:?}'s (object id {}): give that object id, or another appId",
                        other.app.display_name, other.app.id
                    ),
                );
                continue;
            }
            if let Some(current) = &current
                && (current.app_id != app_id || current.service_principal_id != sp_id)
            {
                p.problem(
                    format!("{path}.object_id"),
                    format!(
                        "object id {object_id} is app {:?} with appId {} and service principal {}: an app's ids cannot change; give its ids or another object id",
                        current.display_name, current.app_id, current.service_principal_id
                    ),
                );
                continue;
            }
            let app_key = format!("app:{tenant_id}:{object_id}");
            let mut desired = current.clone().unwrap_or_else(|| Application {
                id: object_id,
                tenant_id,
                app_id,
                service_principal_id: sp_id,
                display_name: decl.name.clone(),
                identifier_uris: Vec::new(),
                redirect_uris: Vec::new(),
                logout_url: None,
                key_credentials: Vec::new(),
                password_credentials: Vec::new(),
                app_roles: Vec::new(),
                created: now,
                version: 1,
            });
            let mut what = Vec::new();
            if desired.display_name != decl.name {
                desired.display_name = decl.name.clone();
                what.push("name");
            }
            let identifier_uris = if decl.identifier_uris.is_empty() {
                vec![format!("api://{app_id}")]
            } else {
                decl.identifier_uris.clone()
            };
            if desired.identifier_uris != identifier_uris {
                desired.identifier_uris = identifier_uris;
                what.push("identifier URIs");
            }
            if desired.redirect_uris != decl.redirect_uris {
                desired.redirect_uris = decl.redirect_uris.clone();
                what.push("redirect URIs");
            }
            let roles: Vec<AppRole> = decl
                .roles
                .iter()
                .map(|r| AppRole {
                    id: r.id.unwrap_or_default(),
                    value: r.value.clone(),
                    display_name: r.display_name.clone().unwrap_or_else(|| r.value.clone()),
                    description: r.description.clone().unwrap_or_default(),
                    allowed_member_types: if r.allowed_member_types.is_empty() {
                        vec!["Application".to_owned()]
                    } else {
                        r.allowed_member_types.iter().map(|t| t.as_str().to_owned()).collect()
                    },
                    is_enabled: true,
                })
                .collect();
            if desired.app_roles != roles {
                desired.app_roles = roles;
                what.push("app roles");
            }
            // Secrets: the declared ones converge, ones a previous apply made and the document
            // dropped go, hand-made ones stay.
            for (j, secret) in decl.secrets.iter().enumerate() {
                let spath = format!("{path}.secret[{j}]");
                let Some(key_id) = secret.key_id else { continue };
                // An export's secret (`hash`, keyward export --include-secrets) keeps its hash:
                // the old value goes on working.
                let (hash, hint) = match (&secret.value, &secret.hash) {
                    (Some(value), _) => (
                        keyward_authority::client_auth::hash_secret(value.expose()),
                        value.expose().chars().take(3).collect::<String>(),
                    ),
                    (None, Some(hash)) if is_secret_hash(hash.expose()) => {
                        (hash.expose().to_owned(), secret.hint.clone().unwrap_or_default())
                    }
                    (None, Some(_)) => {
                        p.problem(
                            format!("{spath}.hash"),
                            "a secret's hash is sha256: and 64 hexadecimal digits, as keyward export writes it",
                        );
                        continue;
                    }
                    (None, None) => {
                        p.problem(
                            spath,
                            "the secret has no value: resolve the document first (keyward apply does)",
                        );
                        continue;
                    }
                };
                let end = secret
                    .expires
                    .as_ref()
                    .map_or(now + time::Duration::days(DEFAULT_SECRET_DAYS), |w| w.at(now));
                let print =
                    fingerprint(&json!({"name": secret.name, "expires": secret.expires.as_ref().map(|w| w.as_str())}));
                let key = format!("secret:{tenant_id}:{object_id}:{key_id}");
                let existing = desired.password_credentials.iter().position(|c| c.key_id == key_id);
                let same = existing.is_some_and(|k| {
                    let c = &desired.password_credentials[k];
                    c.secret_hash == hash && c.display_name == secret.name && applied.managed.get(&key) == Some(&print)
                });
                p.managed.insert(key, print);
                if same {
                    continue;
                }
                if end <= now || (end - now).whole_days() > MAX_SECRET_DAYS {
                    p.problem(
                        format!("{spath}.expires"),
                        "a client secret expires in the future and within 2 years (730d)",
                    );
                    continue;
                }
                let credential = PasswordCredential {
                    key_id,
                    display_name: secret.name.clone(),
                    hint,
                    secret_hash: hash,
                    start: now,
                    end,
                };
                match existing {
                    Some(k) => desired.password_credentials[k] = credential,
                    None => desired.password_credentials.push(credential),
                }
                what.push("secrets");
            }
            for (j, cert) in decl.certificates.iter().enumerate() {
                let cpath = format!("{path}.certificate[{j}]");
                let Some(key_id) = cert.key_id else { continue };
                let Some(pem) = &cert.pem else {
                    p.problem(
                        cpath,
                        "the certificate has no pem: resolve the document first (keyward apply does)",
                    );
                    continue;
                };
                let key = format!("certificate:{tenant_id}:{object_id}:{key_id}");
                p.managed.insert(key, String::new());
                let mut credential = match keyward_authority::credentials::certificate_credential(
                    pem.as_bytes(),
                    Some(cert.name.clone()),
                    None,
                    None,
                    allow_ec,
                    now,
                ) {
                    Ok(c) => c,
                    Err(e) => {
                        let at = if cert.file.is_some() {
                            format!("{cpath}.file")
                        } else {
                            cpath
                        };
                        p.problem(at, e);
                        continue;
                    }
                };
                credential.key_id = key_id;
                let existing = desired.key_credentials.iter().position(|c| c.key_id == key_id);
                if let Some(k) = existing {
                    let c: &KeyCredential = &desired.key_credentials[k];
                    if c.certificate_der == credential.certificate_der && c.display_name == credential.display_name {
                        continue;
                    }
                    desired.key_credentials[k] = credential;
                } else {
                    desired.key_credentials.push(credential);
                }
                what.push("certificates");
            }
            // What a previous apply made that the document no longer has.
            let declared_secrets: BTreeSet<Uuid> = decl.secrets.iter().filter_map(|s| s.key_id).collect();
            let declared_certs: BTreeSet<Uuid> = decl.certificates.iter().filter_map(|c| c.key_id).collect();
            let mut dropped = Vec::new();
            desired.password_credentials.retain(|c| {
                let managed = applied
                    .managed
                    .contains_key(&format!("secret:{tenant_id}:{object_id}:{}", c.key_id));
                let keep = !managed || declared_secrets.contains(&c.key_id);
                if !keep {
                    dropped.push(format!("secret {:?}", c.display_name));
                }
                keep
            });
            desired.key_credentials.retain(|c| {
                let managed = applied
                    .managed
                    .contains_key(&format!("certificate:{tenant_id}:{object_id}:{}", c.key_id));
                let keep = !managed || declared_certs.contains(&c.key_id);
                if !keep {
                    dropped.push(format!("certificate {:?}", c.display_name));
                }
                keep
            });
            for item in &dropped {
                p.change(
                    Action::Remove,
                    format!("{item} of app {:?} ({tenant_name})", decl.name),
                    String::new(),
                    Op::UpdateApp(Box::new(desired.clone())),
                );
            }
            p.managed.insert(app_key, String::new());
            match &current {
                None => {
                    if let Err(e) = self.authority.check_application_document(&desired, None).await {
                        p.problem(path.clone(), e);
                    }
                    p.change(
                        Action::Create,
                        format!("app {:?} ({tenant_name}, appId {app_id})", decl.name),
                        String::new(),
                        Op::CreateApp(Box::new(desired.clone())),
                    );
                }
                Some(current) if !what.is_empty() => {
                    if let Err(e) = self.authority.check_application_document(&desired, Some(current)).await {
                        p.problem(path.clone(), e);
                    }
                    what.dedup();
                    p.change(
                        Action::Update,
                        format!("app {:?} ({tenant_name})", decl.name),
                        what.join(", "),
                        Op::UpdateApp(Box::new(desired.clone())),
                    );
                }
                Some(_) if !dropped.is_empty() => {
                    // The removal's own change carries the write.
                }
                Some(_) => {}
            }
            apps.insert((tenant_id, decl.name.clone()), desired);
        }
        // A dropped credential's update and the app's update carry the same document: keep
        // only the last write per app (the most complete).
        dedup_app_writes(&mut p);

        // Apps a previous apply made that the document dropped.
        for key in applied.managed.keys() {
            let Some(rest) = key.strip_prefix("app:") else { continue };
            let Some((tenant, object)) = rest.split_once(':') else {
                continue;
            };
            let (Ok(tenant_id), Ok(object_id)) = (tenant.parse::<Uuid>(), object.parse::<Uuid>()) else {
                continue;
            };
            if p.managed.contains_key(key) {
                continue;
            }
            if let Some(entry) = snapshot.app_by_object_id(tenant_id, object_id) {
                let tenant_name = snapshot
                    .tenant_by_id(tenant_id)
                    .map_or_else(|| tenant_id.to_string(), |t| t.tenant.name.clone());
                p.change(
                    Action::Remove,
                    format!(
                        "app {:?} ({tenant_name}, appId {})",
                        entry.app.display_name, entry.app.app_id
                    ),
                    String::new(),
                    Op::RemoveApp { tenant_id, object_id },
                );
            }
        }

        // Grants.
        for (i, decl) in doc.apps.iter().enumerate() {
            let Some((tenant_name, tenant_id)) = tenant_of(&decl.tenant) else {
                continue;
            };
            let Some(client) = apps.get(&(tenant_id, decl.name.clone())) else {
                continue;
            };
            for (j, grant) in decl.grants.iter().enumerate() {
                let resource: Option<Application> = if grant.app == keyward_state::MICROSOFT_GRAPH {
                    snapshot.app_in_tenant(tenant_id, GRAPH_APP_ID).map(|e| e.app.clone())
                } else {
                    apps.get(&(tenant_id, grant.app.clone())).cloned()
                };
                let Some(resource) = resource else {
                    p.problem(
                        format!("app[{i}].grant[{j}].app"),
                        format!("no app {:?} in tenant {tenant_name:?}", grant.app),
                    );
                    continue;
                };
                for (k, value) in grant.roles.iter().enumerate() {
                    let Some(role) = resource.app_roles.iter().find(|r| &r.value == value) else {
                        p.problem(
                            format!("app[{i}].grant[{j}].roles[{k}]"),
                            format!("app {:?} has no role {value:?}", grant.app),
                        );
                        continue;
                    };
                    let key = format!(
                        "grant:{tenant_id}:{}:{}:{}",
                        client.service_principal_id, resource.service_principal_id, role.id
                    );
                    p.managed.insert(key, String::new());
                    let exists = snapshot.assignments_of(tenant_id).any(|a| {
                        a.principal_id == client.service_principal_id
                            && a.resource_id == resource.service_principal_id
                            && a.app_role_id == role.id
                    });
                    if !exists {
                        p.change(
                            Action::Create,
                            format!(
                                "grant of {value:?} on {:?} to app {:?} ({tenant_name})",
                                grant.app, decl.name
                            ),
                            String::new(),
                            Op::Grant {
                                tenant_id,
                                principal: client.service_principal_id,
                                resource: resource.service_principal_id,
                                role: role.id,
                            },
                        );
                    }
                }
            }
        }
        for key in applied.managed.keys() {
            let Some(rest) = key.strip_prefix("grant:") else {
                continue;
            };
            if p.managed.contains_key(key) {
                continue;
            }
            let parts: Vec<Uuid> = rest.split(':').filter_map(|s| s.parse().ok()).collect();
            let [tenant_id, principal, resource, role] = parts[..] else {
                continue;
            };
            for a in snapshot.assignments_of(tenant_id) {
                if a.principal_id == principal && a.resource_id == resource && a.app_role_id == role {
                    let name = |sp: Uuid| {
                        snapshot
                            .app_by_service_principal(tenant_id, sp)
                            .map_or_else(|| sp.to_string(), |e| e.app.display_name.clone())
                    };
                    p.change(
                        Action::Remove,
                        format!(
                            "grant of role {role} on {:?} to app {:?}",
                            name(resource),
                            name(principal)
                        ),
                        String::new(),
                        Op::Revoke {
                            tenant_id,
                            assignment: a.id,
                        },
                    );
                }
            }
        }

        self.plan_users(doc, applied, &tenant_ids, &mut p).await;
        self.plan_vaults(doc, applied, &tenant_ids, &apps, &mut p).await;
        p
    }

    async fn plan_users(
        &self,
        doc: &Document,
        applied: &AppliedState,
        tenant_ids: &BTreeMap<String, Uuid>,
        p: &mut Planner,
    ) {
        for (i, decl) in doc.users.iter().enumerate() {
            let path = format!("user[{i}]");
            let Some(tenant_name) = decl.tenant.as_deref().map(str::to_ascii_lowercase) else {
                continue;
            };
            let Some(&tenant_id) = tenant_ids.get(&tenant_name) else {
                continue;
            };
            let Some(id) = decl.id else { continue };
            let email = match keyward_authority::users::normalize_email(&decl.email) {
                Ok(e) => e,
                Err(e) => {
                    p.problem(format!("{path}.email"), e);
                    continue;
                }
            };
            // An export's user (`password_hash`, keyward export --include-secrets) keeps its
            // password hash: the old password goes on working.
            let password_hash = decl.password_hash.as_ref().map(|h| h.expose().to_owned());
            let password = match (&decl.password, &password_hash) {
                (Some(password), _) => Some(password),
                (None, Some(_)) => None,
                (None, None) => {
                    p.problem(
                        path,
                        "the user has no password: resolve the document first (keyward apply does)",
                    );
                    continue;
                }
            };
            let mut roles = BTreeSet::new();
            for (j, role) in decl.roles.iter().enumerate() {
                match role.parse::<DirectoryRole>() {
                    Ok(r) => {
                        roles.insert(r);
                    }
                    Err(e) => p.problem(format!("{path}.roles[{j}]"), e),
                }
            }
            p.managed.insert(format!("user:{tenant_id}:{id}"), String::new());
            let current = self.authority.user(tenant_id, id).await.ok();
            let by_email = self.authority.user_by_email(tenant_id, &email).await.ok();
            if let Some(other) = &by_email
                && other.id != id
            {
                p.problem(
                    format!("{path}.email"),
                    format!(
                        "{email} is another user's (object id {}): give that id, or another email",
                        other.id
                    ),
                );
                continue;
            }
            let target = format!("user {email:?} ({tenant_name})");
            match current {
                None => {
                    let initial = match (password, &password_hash) {
                        (Some(password), _) => {
                            if let Err(e) = keyward_authority::password::check_policy(password.expose(), &email) {
                                p.problem(format!("{path}.password"), e);
                                continue;
                            }
                            Zeroizing::new(password.expose().to_owned())
                        }
                        // Replaced by the hash at once (Op::PasswordHash, next).
                        _ => Zeroizing::new(format!("{}-{}-Kw1!", Uuid::new_v4(), Uuid::new_v4())),
                    };
                    p.change(
                        Action::Create,
                        target.clone(),
                        String::new(),
                        Op::CreateUser {
                            tenant_id,
                            id,
                            new: NewUser {
                                email: email.clone(),
                                display_name: decl.display_name.clone(),
                                password: initial,
                                enabled: true,
                                email_verified: true,
                            },
                        },
                    );
                    if let (None, Some(hash)) = (password, &password_hash) {
                        p.change(
                            Action::Update,
                            target.clone(),
                            "password hash from the export".to_owned(),
                            Op::PasswordHash {
                                tenant_id,
                                id,
                                hash: Zeroizing::new(hash.clone()),
                            },
                        );
                    }
                    if !roles.is_empty() {
                        p.change(
                            Action::Update,
                            target,
                            format!("directory roles {}", join(&roles)),
                            Op::Roles {
                                tenant_id,
                                id,
                                add: roles.into_iter().collect(),
                                remove: Vec::new(),
                            },
                        );
                    }
                }
                Some(user) => {
                    let mut change = UserChange::default();
                    let mut what = Vec::new();
                    if user.email != email {
                        change.email = Some(email.clone());
                        what.push("email");
                    }
                    let display_name = decl
                        .display_name
                        .clone()
                        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
                    if user.display_name != display_name {
                        change.display_name = Some(display_name);
                        what.push("display name");
                    }
                    if !user.enabled {
                        change.enabled = Some(true);
                        what.push("enabled");
                    }
                    if let (None, Some(hash)) = (password, &password_hash)
                        && &user.password_hash != hash
                    {
                        p.change(
                            Action::Update,
                            target.clone(),
                            "password hash from the export".to_owned(),
                            Op::PasswordHash {
                                tenant_id,
                                id,
                                hash: Zeroizing::new(hash.clone()),
                            },
                        );
                    }
                    let matches = match password {
                        Some(password) => self
                            .authority
                            .password_matches(&user, Zeroizing::new(password.expose().to_owned()))
                            .await
                            .unwrap_or(false),
                        None => true,
                    };
                    if let Some(password) = password
                        && !matches
                    {
                        if let Err(e) = keyward_authority::password::check_policy(password.expose(), &email) {
                            p.problem(format!("{path}.password"), e);
                            continue;
                        }
                        change.password = Some(Zeroizing::new(password.expose().to_owned()));
                        what.push("password");
                    }
                    if !what.is_empty() {
                        p.change(
                            Action::Update,
                            target.clone(),
                            what.join(", "),
                            Op::UpdateUser { tenant_id, id, change },
                        );
                    }
                    let held: BTreeSet<DirectoryRole> = keyward_authority::directory_roles::roles_of(&user)
                        .into_iter()
                        .collect();
                    if held != roles {
                        let add: Vec<DirectoryRole> = roles.difference(&held).copied().collect();
                        let remove: Vec<DirectoryRole> = held.difference(&roles).copied().collect();
                        p.change(
                            Action::Update,
                            target,
                            format!("directory roles {}", join(&roles)),
                            Op::Roles {
                                tenant_id,
                                id,
                                add,
                                remove,
                            },
                        );
                    }
                }
            }
        }
        for key in applied.managed.keys() {
            let Some(rest) = key.strip_prefix("user:") else {
                continue;
            };
            if p.managed.contains_key(key) {
                continue;
            }
            let Some((tenant, id)) = rest.split_once(':') else {
                continue;
            };
            let (Ok(tenant_id), Ok(id)) = (tenant.parse::<Uuid>(), id.parse::<Uuid>()) else {
                continue;
            };
            if let Ok(user) = self.authority.user(tenant_id, id).await {
                p.change(
                    Action::Remove,
                    format!("user {:?}", user.email),
                    String::new(),
                    Op::RemoveUser { tenant_id, id },
                );
            }
        }
    }

    async fn plan_vaults(
        &self,
        doc: &Document,
        applied: &AppliedState,
        tenant_ids: &BTreeMap<String, Uuid>,
        apps: &BTreeMap<(Uuid, String), Application>,
        p: &mut Planner,
    ) {
        let mut declared_vaults = BTreeSet::new();
        for (i, decl) in doc.vaults.iter().enumerate() {
            let path = format!("vault[{i}]");
            let Some(tenant_name) = decl.tenant.as_deref().map(str::to_ascii_lowercase) else {
                continue;
            };
            let Some(&tenant_id) = tenant_ids.get(&tenant_name) else {
                continue;
            };
            let name = match keyward_vault::vault_name(&decl.name) {
                Ok(n) => n,
                Err(e) => {
                    p.problem(format!("{path}.name"), e);
                    continue;
                }
            };
            declared_vaults.insert(name.clone());
            p.managed.insert(format!("vault:{name}"), String::new());
            let existing = match self.vaults.find_vault(&name).await {
                Ok(v) => v,
                Err(e) => {
                    p.problem(path.clone(), e);
                    continue;
                }
            };
            let access = match &existing {
                Some(v) if v.tenant_id != tenant_id => {
                    p.problem(
                        format!("{path}.name"),
                        format!("vault {name:?} belongs to another tenant: choose another name"),
                    );
                    continue;
                }
                Some(_) => self
                    .vaults
                    .administer(tenant_id, &name, Administration::Manage)
                    .await
                    .ok(),
                None => {
                    p.change(
                        Action::Create,
                        format!("vault {name:?} ({tenant_name})"),
                        String::new(),
                        Op::Vault {
                            tenant_id,
                            name: name.clone(),
                        },
                    );
                    None
                }
            };
            // Certificates: made by the vault from their policy; a changed declaration makes a
            // new version with the new policy.
            for (j, cert) in decl.certificates.iter().enumerate() {
                let cpath = format!("{path}.certificate[{j}]");
                // The fingerprint never holds a secret: an exported key counts by its digest.
                let mut public = cert.clone();
                let imported = public.value.take().map(|v| {
                    let digest = digest::digest(&digest::SHA256, v.expose().as_bytes());
                    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>()
                });
                let mut declared = serde_json::to_value(&public).unwrap_or_default();
                if let Some(imported) = imported {
                    declared["imported"] = json!(imported);
                }
                let print = fingerprint(&declared);
                let key = format!("vault-certificate:{name}:{}", cert.name.to_ascii_lowercase());
                let request = match create_certificate_request(cert) {
                    Ok(r) => r,
                    Err(e) => {
                        p.problem(cpath, e);
                        continue;
                    }
                };
                let exists = match &access {
                    Some(a) => self.vaults.certificate(a, &cert.name, None).await.is_ok(),
                    None => false,
                };
                let same = exists && applied.managed.get(&key) == Some(&print);
                p.managed.insert(key, print);
                if same {
                    continue;
                }
                let (action, detail) = if exists {
                    (Action::Update, "a new version with the declared policy".to_owned())
                } else {
                    (Action::Create, String::new())
                };
                p.change(
                    action,
                    format!("certificate {:?} in vault {name:?}", cert.name),
                    detail,
                    match &cert.value {
                        Some(value) => Op::ImportCertificate {
                            tenant_id,
                            vault: name.clone(),
                            name: cert.name.clone(),
                            request: Box::new(keyward_vault::ImportCertificate {
                                value: Some(value.expose().to_owned()),
                                pwd: None,
                                policy: request.policy,
                                attributes: None,
                                tags: None,
                            }),
                        },
                        None => Op::Certificate {
                            tenant_id,
                            vault: name.clone(),
                            name: cert.name.clone(),
                            request: Box::new(request),
                        },
                    },
                );
            }
            for (j, secret) in decl.secrets.iter().enumerate() {
                let spath = format!("{path}.secret[{j}]");
                let Some(value) = &secret.value else {
                    p.problem(
                        spath,
                        "the secret has no value: resolve the document first (keyward apply does)",
                    );
                    continue;
                };
                p.managed.insert(
                    format!("vault-secret:{name}:{}", secret.name.to_ascii_lowercase()),
                    String::new(),
                );
                let current = match &access {
                    Some(a) => self.vaults.secret(a, &secret.name, None).await.ok(),
                    None => None,
                };
                let same = current.as_ref().is_some_and(|c| {
                    c.value.as_deref().map(String::as_str) == Some(value.expose())
                        && c.content_type == secret.content_type
                });
                if same {
                    continue;
                }
                p.change(
                    if current.is_some() {
                        Action::Update
                    } else {
                        Action::Create
                    },
                    format!("secret {:?} in vault {name:?}", secret.name),
                    if current.is_some() {
                        "a new version".to_owned()
                    } else {
                        String::new()
                    },
                    Op::Secret {
                        tenant_id,
                        vault: name.clone(),
                        name: secret.name.clone(),
                        request: SetSecret {
                            value: Some(value.expose().to_owned()),
                            content_type: secret.content_type.clone(),
                            ..SetSecret::default()
                        },
                    },
                );
            }
            for (j, policy) in decl.access.iter().enumerate() {
                let apath = format!("{path}.access[{j}]");
                let object_id = if let Some(app) = &policy.app {
                    apps.get(&(tenant_id, app.clone())).map(|a| a.service_principal_id)
                } else if let Some(email) = &policy.user {
                    doc.users
                        .iter()
                        .find(|u| u.email.trim().eq_ignore_ascii_case(email.trim()))
                        .and_then(|u| u.id)
                } else {
                    policy.object_id
                };
                let Some(object_id) = object_id else {
                    p.problem(apath, "the principal is not in the document");
                    continue;
                };
                let wanted = match keyward_vault::normalize_access_policy(AccessPolicy {
                    object_id,
                    certificates: policy.certificates.clone(),
                    secrets: policy.secrets.clone(),
                }) {
                    Ok(w) => w,
                    Err(e) => {
                        p.problem(apath, e);
                        continue;
                    }
                };
                p.managed
                    .insert(format!("vault-access:{name}:{object_id}"), String::new());
                let current = existing
                    .as_ref()
                    .and_then(|v| v.access_policies.iter().find(|a| a.object_id == object_id));
                let same = current.is_some_and(|c| {
                    let sorted = |v: &[String]| v.iter().cloned().collect::<BTreeSet<String>>();
                    sorted(&c.certificates) == sorted(&wanted.certificates)
                        && sorted(&c.secrets) == sorted(&wanted.secrets)
                });
                if same {
                    continue;
                }
                let who = policy
                    .app
                    .as_ref()
                    .map(|a| format!("app {a:?}"))
                    .or_else(|| policy.user.as_ref().map(|u| format!("user {u:?}")))
                    .unwrap_or_else(|| format!("principal {object_id}"));
                p.change(
                    if current.is_some() {
                        Action::Update
                    } else {
                        Action::Create
                    },
                    format!("access of {who} to vault {name:?}"),
                    format!(
                        "certificates [{}], secrets [{}]",
                        wanted.certificates.join(","),
                        wanted.secrets.join(",")
                    ),
                    Op::Access {
                        vault: name.clone(),
                        policy: wanted,
                    },
                );
            }
        }
        // What a previous apply made in a vault that the document dropped.
        for key in applied.managed.keys() {
            if p.managed.contains_key(key) {
                continue;
            }
            let mut parts = key.splitn(3, ':');
            let (Some(kind), Some(vault), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let Ok(Some(v)) = self.vaults.find_vault(vault).await else {
                continue;
            };
            let tenant_id = v.tenant_id;
            match kind {
                "vault-certificate" => p.change(
                    Action::Remove,
                    format!("certificate {name:?} in vault {vault:?}"),
                    String::new(),
                    Op::RemoveCertificate {
                        tenant_id,
                        vault: vault.to_owned(),
                        name: name.to_owned(),
                    },
                ),
                "vault-secret" => p.change(
                    Action::Remove,
                    format!("secret {name:?} in vault {vault:?}"),
                    String::new(),
                    Op::RemoveSecret {
                        tenant_id,
                        vault: vault.to_owned(),
                        name: name.to_owned(),
                    },
                ),
                "vault-access" => {
                    let Ok(object_id) = name.parse::<Uuid>() else { continue };
                    if v.access_policies.iter().any(|a| a.object_id == object_id) {
                        p.change(
                            Action::Remove,
                            format!("access of principal {object_id} to vault {vault:?}"),
                            String::new(),
                            Op::RemoveAccess {
                                vault: vault.to_owned(),
                                object_id,
                            },
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// Runs one write.
    async fn run(&self, op: Op) -> Result<(), String> {
        let a = &self.authority;
        let text = |e: &dyn fmt::Display| e.to_string();
        match op {
            Op::Tenant { name, id } => a
                .ensure_tenant_with_id(&name, Some(id))
                .await
                .map(drop)
                .map_err(|e| text(&e)),
            Op::CreateApp(app) => a.insert_application(*app).await.map(drop).map_err(|e| text(&e)),
            Op::UpdateApp(app) => {
                let desired = *app;
                a.update_application(desired.tenant_id, desired.id, move |current| {
                    *current = desired;
                    Ok(())
                })
                .await
                .map(drop)
                .map_err(|e| text(&e))
            }
            Op::RemoveApp { tenant_id, object_id } => {
                a.delete_application(tenant_id, object_id).await.map_err(|e| text(&e))
            }
            Op::Grant {
                tenant_id,
                principal,
                resource,
                role,
            } => a
                .grant_role(tenant_id, principal, resource, role)
                .await
                .map(drop)
                .map_err(|e| text(&e)),
            Op::Revoke { tenant_id, assignment } => a.revoke_role(tenant_id, assignment).await.map_err(|e| text(&e)),
            Op::CreateUser { tenant_id, id, new } => a
                .create_user_with_id(tenant_id, new, Some(id))
                .await
                .map(drop)
                .map_err(|e| text(&e)),
            Op::UpdateUser { tenant_id, id, change } => a
                .update_user(tenant_id, id, change)
                .await
                .map(drop)
                .map_err(|e| text(&e)),
            Op::Roles {
                tenant_id,
                id,
                add,
                remove,
            } => {
                for role in add {
                    a.assign_directory_role(tenant_id, id, role)
                        .await
                        .map_err(|e| text(&e))?;
                }
                for role in remove {
                    a.remove_directory_role(tenant_id, id, role)
                        .await
                        .map_err(|e| text(&e))?;
                }
                Ok(())
            }
            Op::RemoveUser { tenant_id, id } => a.delete_user(tenant_id, id).await.map_err(|e| text(&e)),
            Op::PasswordHash { tenant_id, id, hash } => {
                let mut user = a.user(tenant_id, id).await.map_err(|e| text(&e))?;
                user.password_hash = hash.to_string();
                user.version += 1;
                self.store.update_user(&user).await.map_err(|e| text(&e))
            }
            Op::ImportCertificate {
                tenant_id,
                vault,
                name,
                request,
            } => {
                let access = self.manage(tenant_id, &vault).await?;
                self.vaults
                    .import_certificate(&access, &name, *request)
                    .await
                    .map(drop)
                    .map_err(|e| text(&e))
            }
            Op::Vault { tenant_id, name } => self
                .vaults
                .ensure_vault(tenant_id, &name)
                .await
                .map(drop)
                .map_err(|e| text(&e)),
            Op::Access { vault, policy, .. } => self
                .vaults
                .set_access_policy(&vault, policy)
                .await
                .map(drop)
                .map_err(|e| text(&e)),
            Op::RemoveAccess { vault, object_id } => self
                .vaults
                .remove_access_policy(&vault, object_id)
                .await
                .map(drop)
                .map_err(|e| text(&e)),
            Op::Certificate {
                tenant_id,
                vault,
                name,
                request,
            } => {
                let access = self.manage(tenant_id, &vault).await?;
                self.vaults
                    .create_certificate(&access, &name, *request)
                    .await
                    .map(drop)
                    .map_err(|e| text(&e))
            }
            Op::RemoveCertificate { tenant_id, vault, name } => {
                let access = self.manage(tenant_id, &vault).await?;
                self.vaults
                    .delete_certificate(&access, &name)
                    .await
                    .map_err(|e| text(&e))?;
                self.vaults
                    .purge_certificate(&access, &name)
                    .await
                    .map_err(|e| text(&e))
            }
            Op::Secret {
                tenant_id,
                vault,
                name,
                request,
            } => {
                let access = self.manage(tenant_id, &vault).await?;
                self.vaults
                    .set_secret(&access, &name, request)
                    .await
                    .map(drop)
                    .map_err(|e| text(&e))
            }
            Op::RemoveSecret { tenant_id, vault, name } => {
                let access = self.manage(tenant_id, &vault).await?;
                self.vaults.delete_secret(&access, &name).await.map_err(|e| text(&e))?;
                self.vaults.purge_secret(&access, &name).await.map_err(|e| text(&e))
            }
        }
    }

    async fn manage(&self, tenant_id: Uuid, vault: &str) -> Result<keyward_vault::Access, String> {
        self.vaults
            .administer(tenant_id, vault, Administration::Manage)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Keeps one application write per app: the last (built from the most complete document).
fn dedup_app_writes(p: &mut Planner) {
    use std::collections::HashMap;
    let mut last: HashMap<Uuid, Box<Application>> = HashMap::new();
    for (_, op) in p.removals.iter().chain(p.changes.iter()) {
        if let Op::UpdateApp(app) = op {
            last.insert(app.id, app.clone());
        }
    }
    // Every write of an app carries the final document; the first one does the work, the
    // others find nothing to change.
    for (_, op) in p.removals.iter_mut().chain(p.changes.iter_mut()) {
        if let Op::UpdateApp(app) = op
            && let Some(final_doc) = last.get(&app.id)
        {
            *app = final_doc.clone();
        }
    }
}

fn join(roles: &BTreeSet<DirectoryRole>) -> String {
    if roles.is_empty() {
        return "none".to_owned();
    }
    roles.iter().map(|r| r.cli_name()).collect::<Vec<_>>().join(", ")
}

/// Key Vault's create request for a declared certificate.
fn create_certificate_request(cert: &keyward_state::VaultCertificate) -> Result<CreateCertificate, String> {
    use keyward_state::KeyType;
    let (kty, size, crv) = match cert.key_type {
        KeyType::Rsa2048 => ("RSA", 2048, None),
        KeyType::Rsa3072 => ("RSA", 3072, None),
        KeyType::Rsa4096 => ("RSA", 4096, None),
        KeyType::EcP256 => ("EC", 256, Some("P-256")),
        KeyType::EcP384 => ("EC", 384, Some("P-384")),
    };
    let mut key_props = json!({"kty": kty, "key_size": size});
    if let Some(crv) = crv {
        key_props["crv"] = json!(crv);
    }
    if let Some(exportable) = cert.exportable {
        key_props["exportable"] = json!(exportable);
    }
    if let Some(reuse) = cert.reuse_key {
        key_props["reuse_key"] = json!(reuse);
    }
    let mut x509 = json!({"subject": cert.subject, "validity_months": cert.validity_months.unwrap_or(12)});
    if !cert.dns_names.is_empty() {
        x509["sans"] = json!({"dns_names": cert.dns_names});
    }
    let mut policy = json!({
        "key_props": key_props,
        "secret_props": {"contentType": cert.content_type.mime()},
        "x509_props": x509,
        "issuer": {"name": "Self"},
    });
    if !cert.lifetime_action.is_empty() {
        let actions: Vec<serde_json::Value> = cert
            .lifetime_action
            .iter()
            .map(|a| {
                let trigger = match (a.lifetime_percentage, a.days_before_expiry) {
                    (Some(pct), _) => json!({"lifetime_percentage": pct}),
                    (None, Some(days)) => json!({"days_before_expiry": days}),
                    (None, None) => json!({}),
                };
                json!({"trigger": trigger, "action": {"action_type": a.action.key_vault_name()}})
            })
            .collect();
        policy["lifetime_actions"] = json!(actions);
    }
    serde_json::from_value(json!({ "policy": policy })).map_err(|e| format!("the certificate policy: {e}"))
}

/// Whether `hash` is a client secret's hash as the server keeps it (`sha256:` and 64 hex digits).
fn is_secret_hash(hash: &str) -> bool {
    hash.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}
