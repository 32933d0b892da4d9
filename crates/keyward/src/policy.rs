//! `keyward policy`: the tenant's default app management policy, read and changed through the
//! management API (`/v1.0/policies/defaultAppManagementPolicy`, Graph's shape).

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Lifetime, PolicyCommand};
use crate::connection::Connection;
use crate::output::print;

const PATH: &str = "/v1.0/policies/defaultAppManagementPolicy";

pub fn run(command: PolicyCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(dispatch(command))
}

async fn dispatch(command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Show { server } => {
            let api = Connection::open(&server).await?;
            let policy = api.call(Method::GET, PATH, None).await?;
            print(server.json, &policy, || describe(&policy))
        }
        PolicyCommand::Set {
            no_secrets,
            allow_secrets,
            max_secret_lifetime,
            max_cert_lifetime,
            disable,
            enable,
            server,
        } => {
            let api = Connection::open(&server).await?;
            let current = api.call(Method::GET, PATH, None).await?;
            let mut passwords = restrictions(&current, "passwordCredentials");
            let mut keys = restrictions(&current, "keyCredentials");
            if no_secrets {
                set(&mut passwords, "passwordAddition", None);
            }
            if allow_secrets {
                passwords.retain(|r| r["restrictionType"] != "passwordAddition");
            }
            match max_secret_lifetime {
                Some(Lifetime::Iso(max)) => set(&mut passwords, "passwordLifetime", Some(max)),
                Some(Lifetime::Unlimited) => passwords.retain(|r| r["restrictionType"] != "passwordLifetime"),
                None => {}
            }
            match max_cert_lifetime {
                Some(Lifetime::Iso(max)) => set(&mut keys, "asymmetricKeyLifetime", Some(max)),
                Some(Lifetime::Unlimited) => keys.retain(|r| r["restrictionType"] != "asymmetricKeyLifetime"),
                None => {}
            }
            // Setting a restriction enforces the policy, unless --disable says otherwise.
            let was_enabled = current["isEnabled"].as_bool().unwrap_or(false);
            let is_enabled = !disable && (enable || was_enabled || !passwords.is_empty() || !keys.is_empty());
            let body = json!({
                "isEnabled": is_enabled,
                "applicationRestrictions": {"passwordCredentials": passwords, "keyCredentials": keys},
            });
            api.call(Method::PATCH, PATH, Some(body)).await?;
            let policy = api.call(Method::GET, PATH, None).await?;
            print(server.json, &policy, || format!("Changed.\n{}", describe(&policy)))
        }
    }
}

/// The restrictions of one list, as the server sent them.
fn restrictions(policy: &Value, list: &str) -> Vec<Value> {
    policy["applicationRestrictions"][list]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Adds or replaces the restriction of `kind` (enabled, for all applications).
fn set(list: &mut Vec<Value>, kind: &str, max_lifetime: Option<String>) {
    list.retain(|r| r["restrictionType"] != kind);
    list.push(json!({"restrictionType": kind, "state": "enabled", "maxLifetime": max_lifetime}));
}

/// The policy for people.
fn describe(policy: &Value) -> String {
    let enabled = policy["isEnabled"].as_bool().unwrap_or(false);
    let has_restrictions =
        !restrictions(policy, "passwordCredentials").is_empty() || !restrictions(policy, "keyCredentials").is_empty();
    let find = |list: &str, kind: &str| {
        restrictions(policy, list)
            .into_iter()
            .find(|r| r["restrictionType"] == kind && r["state"] != "disabled")
    };
    let lifetime = |list: &str, kind: &str| match find(list, kind) {
        Some(r) => format!("at most {} ({kind})", r["maxLifetime"].as_str().unwrap_or("?")),
        None => "no limit".to_owned(),
    };
    let secrets = if find("passwordCredentials", "passwordAddition").is_some() {
        "not allowed (passwordAddition)".to_owned()
    } else {
        "allowed".to_owned()
    };
    format!(
        "Default app management policy: {}\n  Client secrets:          {secrets}\n  Client secret lifetime:  {}\n  Certificate lifetime:    {}\n",
        match (enabled, has_restrictions) {
            (true, _) => "enforced",
            (false, true) => "not enforced (keyward policy set --enable)",
            (false, false) => "nothing restricted (e.g. keyward policy set --no-secrets)",
        },
        lifetime("passwordCredentials", "passwordLifetime"),
        lifetime("keyCredentials", "asymmetricKeyLifetime"),
    )
}
