use super::*;

/// Everything the schema has, once.
const FULL: &str = r#"
[[tenant]]
name = "contoso"
id = "3f2b1c4d-0000-4000-8000-000000000001"

[[tenant]]
name = "fabrikam"

[[app]]
name = "api"
tenant = "contoso"
app_id = "11111111-1111-4111-8111-111111111111"
object_id = "11111111-1111-4111-8111-111111111112"
service_principal_id = "11111111-1111-4111-8111-111111111113"
identifier_uris = ["api://contoso-api"]

[[app.role]]
value = "Tasks.Read"
display_name = "Read tasks"
description = "Reads every task"
allowed_member_types = ["Application", "User"]

[[app.role]]
value = "Tasks.Write"
id = "22222222-2222-4222-8222-222222222222"

[[app]]
name = "daemon"
tenant = "contoso"
redirect_uris = ["http://localhost:3000/redirect"]

[[app.grant]]
app = "api"
roles = ["Tasks.Read", "Tasks.Write"]

[[app.secret]]
name = "ci"
generate = "secrets/daemon.secret"
expires = "30d"

[[app.secret]]
name = "fixed"
value = "a-long-enough-secret"
expires = "2030-01-01T00:00:00Z"

[[app.certificate]]
name = "from-openssl"
file = "certs/daemon.pem"

[[app.certificate]]
name = "generated"
generate = { subject = "CN=daemon", cert = "out/daemon.pem", key = "out/daemon.key", expires = "1y", key_type = "ec-p256" }

[[app]]
name = "web"
tenant = "fabrikam"

[[user]]
email = "alice@contoso.com"
tenant = "contoso"
generate_password = "secrets/alice.password"
roles = ["global-admin"]

[[user]]
email = "bob@fabrikam.com"
tenant = "fabrikam"
display_name = "Bob"
password = "correct horse battery"

[[vault]]
name = "default"
tenant = "contoso"

[[vault.certificate]]
name = "web"
subject = "CN=web"
validity_months = 6
content_type = "pem"
dns_names = ["web.localhost"]
lifetime_action = [{ action = "auto-renew", lifetime_percentage = 80 }, { action = "email-contacts", days_before_expiry = 10 }]

[[vault.secret]]
name = "db-password"
generate = "secrets/db-password"

[[vault.secret]]
name = "plain"
value = "hello"
content_type = "text/plain"

[[vault.access]]
app = "daemon"
certificates = ["get", "list"]
secrets = ["get"]

[[vault.access]]
user = "alice@contoso.com"
certificates = ["all"]
"#;

fn full() -> Document {
    parse(FULL, "full.toml").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn reads_every_part_of_the_schema() {
    let doc = full();
    assert_eq!(doc.tenants.len(), 2);
    assert_eq!(doc.apps.len(), 3);
    let daemon = &doc.apps[1];
    assert_eq!(daemon.grants[0].roles, ["Tasks.Read", "Tasks.Write"]);
    assert_eq!(daemon.secrets[0].expires.as_ref().unwrap().as_str(), "30d");
    assert_eq!(
        daemon.certificates[1].generate.as_ref().unwrap().key_type,
        KeyType::EcP256
    );
    assert_eq!(
        doc.users[1].password.as_ref().unwrap().expose(),
        "correct horse battery"
    );
    assert_eq!(
        doc.vaults[0].certificates[0].lifetime_action[1].action,
        Action::EmailContacts
    );
    assert_eq!(doc.vaults[0].certificates[0].content_type, ContentType::Pem);
    assert!(!format!("{doc:?}").contains("correct horse"), "Debug prints no secret");
}

#[test]
fn round_trips_through_toml_and_json() {
    let mut doc = full();
    let again = parse(&doc.to_toml().unwrap(), "again.toml").unwrap();
    assert_eq!(again, doc);
    doc.fill_ids();
    let again = parse(&doc.to_toml().unwrap(), "again.toml").unwrap();
    assert_eq!(again, doc);
    let json = serde_json::to_string(&doc).unwrap();
    let from_json: Document = serde_json::from_str(&json).unwrap();
    assert_eq!(from_json, doc);
    assert!(validate(&from_json).is_empty());
}

#[test]
fn fills_ids_deterministically_and_keeps_fixed_ones() {
    let mut doc = full();
    doc.fill_ids();
    let api = &doc.apps[0];
    assert_eq!(api.app_id.unwrap().to_string(), "11111111-1111-4111-8111-111111111111");
    assert_eq!(api.roles[0].id, Some(ids::role_id("contoso", "api", "Tasks.Read")));
    assert_eq!(
        api.roles[1].id.unwrap().to_string(),
        "22222222-2222-4222-8222-222222222222"
    );
    let daemon = &doc.apps[1];
    assert_eq!(daemon.app_id, Some(ids::app_id("contoso", "daemon")));
    assert_eq!(
        daemon.secrets[0].key_id,
        Some(ids::secret_key_id("contoso", "daemon", "ci"))
    );
    assert_eq!(doc.users[0].id, Some(ids::user_id("contoso", "alice@contoso.com")));
    assert_eq!(doc.tenants[1].id, None, "a tenant's id is left to the server");
    let mut twice = doc.clone();
    twice.fill_ids();
    assert_eq!(twice, doc);
}

#[test]
fn the_only_tenant_is_implied() {
    let mut doc = parse(
        "[[tenant]]\nname = \"contoso\"\n[[app]]\nname = \"a\"\n[[vault]]\nname = \"default\"\n",
        "t.toml",
    )
    .unwrap();
    doc.fill_ids();
    assert_eq!(doc.apps[0].tenant.as_deref(), Some("contoso"));
    assert_eq!(doc.vaults[0].tenant.as_deref(), Some("contoso"));
}

/// Parses `text`, expecting a refusal whose first line is `line` and whose text holds `says`.
#[track_caller]
fn refused(text: &str, line: usize, says: &str) {
    let err = parse(text, "bad.toml").expect_err("refused");
    let shown = err.to_string();
    assert_eq!(err.line(), Some(line), "{shown}");
    assert!(shown.contains(&format!("bad.toml:{line}:")), "{shown}");
    assert!(shown.contains(says), "{shown}");
}

const TENANT: &str = "[[tenant]]\nname = \"contoso\"\n";

#[test]
fn refuses_unknown_keys_on_their_line() {
    refused(
        &format!("{TENANT}\n[[app]]\nname = \"a\"\nredirect_uri = [\"x\"]\n"),
        6,
        "unknown field `redirect_uri`",
    );
    refused(
        &format!("{TENANT}[[tenants]]\nname = \"x\"\n"),
        3,
        "unknown field `tenants`",
    );
}

#[test]
fn refuses_bad_values_on_their_line() {
    refused(
        &format!("{TENANT}[[app]]\nname = \"a\"\napp_id = \"not-a-guid\"\n"),
        5,
        "",
    );
    refused(
        &format!(
            "{TENANT}[[app]]\nname = \"a\"\n[[app.secret]]\nname = \"s\"\nvalue = \"long-enough\"\nexpires = \"30 days\"\n"
        ),
        8,
        "30d",
    );
    refused(
        &format!(
            "{TENANT}[[app]]\nname = \"a\"\n[[app.certificate]]\nname = \"c\"\ngenerate = {{ subject = \"CN=a\", cert = \"a.pem\", key = \"a.key\", key_type = \"rsa-1024\" }}\n"
        ),
        7,
        "rsa-1024",
    );
    refused("[[tenant]]\nname = \n", 2, "");
}

#[test]
fn refuses_bad_references_on_their_line() {
    let text = format!(
        "{TENANT}[[app]]\nname = \"api\"\n[[app.role]]\nvalue = \"Tasks.Read\"\n[[app]]\nname = \"daemon\"\n[[app.grant]]\napp = \"apii\"\nroles = [\"Tasks.Read\"]\n"
    );
    refused(&text, 10, "unknown app \"apii\"");
    let text = format!(
        "{TENANT}[[app]]\nname = \"api\"\n[[app.role]]\nvalue = \"Tasks.Read\"\n[[app]]\nname = \"daemon\"\n[[app.grant]]\napp = \"api\"\nroles = [\"Tasks.Read\", \"Tasks.Wirte\"]\n"
    );
    refused(&text, 11, "no role \"Tasks.Wirte\" (its roles: Tasks.Read)");
    refused(
        &format!("{TENANT}[[app]]\nname = \"a\"\ntenant = \"fabrikam\"\n"),
        5,
        "unknown tenant \"fabrikam\"",
    );
    refused(
        &format!(
            "{TENANT}[[app]]\nname = \"a\"\n[[vault]]\nname = \"default\"\n[[vault.access]]\napp = \"b\"\nsecrets = [\"get\"]\n"
        ),
        8,
        "unknown app \"b\"",
    );
    refused(
        &format!(
            "{TENANT}[[app]]\nname = \"a\"\n[[vault]]\nname = \"default\"\n[[vault.access]]\napp = \"a\"\nsecrets = [\"get\", \"read\"]\n"
        ),
        9,
        "unknown permission \"read\"",
    );
}

#[test]
fn refuses_duplicates_and_missing_values_on_their_line() {
    refused(
        &format!("{TENANT}[[app]]\nname = \"a\"\n\n[[app]]\nname = \"a\"\n"),
        7,
        "declared twice",
    );
    refused(
        &format!(
            "{TENANT}[[app]]\nname = \"a\"\napp_id = \"11111111-1111-4111-8111-111111111111\"\n[[app]]\nname = \"b\"\nobject_id = \"11111111-1111-4111-8111-111111111111\"\n"
        ),
        8,
        "also given at app[0].app_id",
    );
    refused(
        &format!("{TENANT}[[app]]\nname = \"a\"\n[[app.secret]]\nname = \"s\"\n"),
        5,
        "generate = \"FILE\"",
    );
    refused(
        &format!("{TENANT}[[user]]\nemail = \"alice\"\npassword = \"long-enough\"\n"),
        4,
        "not an email",
    );
    refused(
        &format!("{TENANT}[[user]]\nemail = \"a@b.c\"\npassword = \"long-enough\"\nroles = [\"root\"]\n"),
        6,
        "unknown directory role",
    );
    refused(
        "[[tenant]]\nname = \"a\"\n[[tenant]]\nname = \"b\"\n[[app]]\nname = \"x\"\n",
        5,
        "several tenants",
    );
    refused("[[tenant]]\nname = \"a b\"\n", 2, "letters, digits");
    refused(
        &format!(
            "{TENANT}[[vault]]\nname = \"v\"\n[[vault.certificate]]\nname = \"c\"\nsubject = \"CN=c\"\nlifetime_action = [{{ action = \"auto-renew\" }}]\n"
        ),
        8,
        "exactly one of lifetime_percentage",
    );
}

#[test]
fn lists_every_problem() {
    let err = parse(&format!("{TENANT}[[app]]\nname = \"a\"\n[[app]]\nname = \"a\"\n[[user]]\nemail = \"x\"\npassword = \"long-enough\"\n"), "bad.toml")
        .unwrap_err();
    let Error::Invalid { problems } = &err else {
        panic!("{err}")
    };
    assert_eq!(problems.len(), 2, "{err}");
    assert_eq!(problems.iter().map(|p| p.line).collect::<Vec<_>>(), [Some(6), Some(8)]);
}

#[test]
fn places_a_servers_problems() {
    let err = Error::invalid(
        "full.toml",
        FULL,
        vec![Problem::new("app[1].certificate[0].file", "not a certificate")],
    );
    assert_eq!(err.line(), Some(48), "{err}");
    assert!(
        err.to_string()
            .starts_with("full.toml:48:8: not a certificate (app[1].certificate[0].file)"),
        "{err}"
    );
}
