//! A typed client of the server's management API, shaped like Microsoft Graph: applications,
//! their key and password credentials, app roles, service principals, users and their directory
//! roles, and Keyward's own admin endpoints (signing keys, vault access policies), as the CLI
//! uses them.
//!
//! Each object comes back as an [`Object`]: typed fields for the CLI's logic and text, and the
//! JSON exactly as the server sent it, which `--json` prints.

use std::ops::Deref;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::connection::Connection;

/// A Graph object: typed, and as the server sent it.
#[derive(Debug, Clone)]
pub struct Object<T> {
    fields: T,
    /// The JSON the server sent.
    pub json: Value,
}

impl<T> Deref for Object<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.fields
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Value::deserialize(deserializer)?;
        let fields = T::deserialize(&json).map_err(serde::de::Error::custom)?;
        Ok(Self { fields, json })
    }
}

/// The JSON of a list of objects, as the server sent them.
pub fn json_list<T>(objects: &[Object<T>]) -> Value {
    Value::Array(objects.iter().map(|o| o.json.clone()).collect())
}

/// A missing or `null` field is its type's default.
fn lenient<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(deserializer: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An app registration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Application {
    /// The object id.
    #[serde(deserialize_with = "lenient")]
    pub id: String,
    /// The application (client) id.
    #[serde(deserialize_with = "lenient")]
    pub app_id: String,
    /// Its name.
    #[serde(deserialize_with = "lenient")]
    pub display_name: String,
    /// Its identifier URIs (`api://...`).
    #[serde(deserialize_with = "lenient")]
    pub identifier_uris: Vec<String>,
    /// The web platform.
    #[serde(deserialize_with = "lenient")]
    pub web: Web,
    /// Certificate credentials.
    #[serde(deserialize_with = "lenient")]
    pub key_credentials: Vec<Object<KeyCredential>>,
    /// Client secrets.
    #[serde(deserialize_with = "lenient")]
    pub password_credentials: Vec<Object<PasswordCredential>>,
    /// The app roles it defines as a resource.
    #[serde(deserialize_with = "lenient")]
    pub app_roles: Vec<Object<AppRole>>,
}

/// An application's web platform.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Web {
    /// Where sign-in may redirect.
    #[serde(deserialize_with = "lenient")]
    pub redirect_uris: Vec<String>,
}

/// A certificate credential.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyCredential {
    /// Its key id.
    #[serde(deserialize_with = "lenient")]
    pub key_id: String,
    /// Its description.
    #[serde(deserialize_with = "lenient")]
    pub display_name: String,
    /// The SHA-1 thumbprint, uppercase hex (as the portal shows it).
    #[serde(deserialize_with = "lenient")]
    pub custom_key_identifier: String,
    /// The SHA-256 thumbprint, uppercase hex.
    #[serde(deserialize_with = "lenient")]
    pub thumbprint_sha256: String,
    /// When it starts to be accepted (RFC 3339).
    #[serde(deserialize_with = "lenient")]
    pub start_date_time: String,
    /// When it expires (RFC 3339).
    #[serde(deserialize_with = "lenient")]
    pub end_date_time: String,
    /// When it last authenticated a client, and from where (Keyward's extension); `None` if
    /// never.
    pub keyward_last_used: Option<LastUsed>,
}

/// Keyward's `keywardLastUsed` of a credential.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LastUsed {
    /// When (RFC 3339, UTC).
    #[serde(deserialize_with = "lenient")]
    pub date_time: String,
    /// The client's address, when known.
    pub client_address: Option<String>,
}

/// A service-principal sign-in record, in the names of Graph's beta `signIn`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SignIn {
    /// When (RFC 3339, UTC).
    #[serde(deserialize_with = "lenient")]
    pub created_date_time: String,
    /// The credential's key id, when identified.
    pub service_principal_credential_key_id: Option<String>,
    /// The certificate's SHA-1 thumbprint, when the request named one.
    pub service_principal_credential_thumbprint: Option<String>,
    /// The client's address.
    pub ip_address: Option<String>,
    /// The correlation id of the request (in the error response of a refusal).
    pub correlation_id: Option<String>,
    /// The result: `errorCode` 0 for a success, else the AADSTS code.
    pub status: SignInStatus,
    /// How many requests the record stands for (Keyward's: successes of one credential from
    /// one address within a second are one record).
    pub keyward_requests: u32,
}

/// The result of a sign-in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SignInStatus {
    /// 0 for a success, else the AADSTS code.
    pub error_code: u32,
}

/// A client secret (its value only in the answer that created it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PasswordCredential {
    /// Its key id.
    #[serde(deserialize_with = "lenient")]
    pub key_id: String,
    /// Its description.
    #[serde(deserialize_with = "lenient")]
    pub display_name: String,
    /// Its first characters.
    #[serde(deserialize_with = "lenient")]
    pub hint: String,
    /// The secret itself, in the answer to `addPassword` only.
    #[serde(deserialize_with = "lenient")]
    pub secret_text: String,
    /// When it starts to be accepted (RFC 3339).
    #[serde(deserialize_with = "lenient")]
    pub start_date_time: String,
    /// When it expires (RFC 3339).
    #[serde(deserialize_with = "lenient")]
    pub end_date_time: String,
    /// When it last authenticated a client, and from where (Keyward's extension); `None` if
    /// never.
    pub keyward_last_used: Option<LastUsed>,
}

/// An app role a resource application defines.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppRole {
    /// Its id.
    #[serde(deserialize_with = "lenient")]
    pub id: String,
    /// Its value, as the roles claim carries it.
    #[serde(deserialize_with = "lenient")]
    pub value: String,
}

/// An application's service principal in the tenant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServicePrincipal {
    /// Its object id.
    #[serde(deserialize_with = "lenient")]
    pub id: String,
}

/// A customer account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    /// The object id.
    #[serde(deserialize_with = "lenient")]
    pub id: String,
    /// The sign-in email.
    #[serde(deserialize_with = "lenient")]
    pub mail: String,
    /// The display name.
    #[serde(deserialize_with = "lenient")]
    pub display_name: String,
    /// Whether it may sign in.
    #[serde(deserialize_with = "lenient")]
    pub account_enabled: bool,
    /// When it was created (RFC 3339).
    #[serde(deserialize_with = "lenient")]
    pub created_date_time: String,
}

/// A user holding a directory role (Graph's `unifiedRoleAssignment`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoleAssignment {
    /// The assignment's id.
    #[serde(deserialize_with = "lenient")]
    pub id: String,
    /// The user's object id.
    #[serde(deserialize_with = "lenient")]
    pub principal_id: String,
    /// The role's template id.
    #[serde(deserialize_with = "lenient")]
    pub role_definition_id: String,
    /// Where it holds: `/`, the whole tenant.
    #[serde(deserialize_with = "lenient")]
    pub directory_scope_id: String,
}

/// A token-signing key of the tenant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SigningKey {
    /// Its key id.
    #[serde(deserialize_with = "lenient")]
    pub kid: String,
    /// Whether new tokens are signed with it.
    #[serde(deserialize_with = "lenient")]
    pub active: bool,
    /// When it was made (RFC 3339).
    #[serde(deserialize_with = "lenient")]
    pub created_date_time: String,
    /// Until when a retired key stays published.
    pub published_until: Option<String>,
}

/// The signing keys, as listed (`value`) or after a rotation (`kid` of the new key, `keys`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SigningKeys {
    /// The new key's id, after a rotation.
    pub kid: Option<String>,
    /// The keys, after a rotation.
    #[serde(deserialize_with = "lenient")]
    keys: Vec<SigningKey>,
    /// The keys, as listed.
    #[serde(deserialize_with = "lenient")]
    value: Vec<SigningKey>,
}

impl SigningKeys {
    /// The keys, however they came.
    pub fn keys(&self) -> &[SigningKey] {
        if self.keys.is_empty() { &self.value } else { &self.keys }
    }
}

/// A list answer: `{"value": [...]}`, and where the next page is when there is one.
#[derive(Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct List<T> {
    #[serde(default = "Vec::new")]
    value: Vec<Object<T>>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

/// The request of an `@odata.nextLink`, as a path and query to send to the server the CLI is
/// connected to: the token goes nowhere else, whatever host the link names (the server writes
/// its public URL, which may not be the address the CLI reached it at).
fn next_page(link: &str) -> anyhow::Result<String> {
    let url =
        url::Url::parse(link).map_err(|e| anyhow::anyhow!("the server sent a bad @odata.nextLink {link:?}: {e}"))?;
    anyhow::ensure!(
        url.path().starts_with("/v1.0/"),
        "the server sent an @odata.nextLink outside the management API: {link:?}"
    );
    Ok(match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    })
}

/// What a new certificate credential is made of.
pub struct NewKeyCredential<'a> {
    /// The certificate, DER.
    pub der: &'a [u8],
    /// A description (Graph `displayName`).
    pub display_name: Option<&'a str>,
}

impl Connection {
    async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        Ok(serde_json::from_value(self.call(Method::GET, path, None).await?)?)
    }

    async fn send<T: DeserializeOwned>(&self, method: Method, path: &str, body: Value) -> anyhow::Result<T> {
        Ok(serde_json::from_value(self.call(method, path, Some(body)).await?)?)
    }

    /// Every item of a collection, page after page (`@odata.nextLink`).
    async fn get_all<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Vec<Object<T>>> {
        let mut items = Vec::new();
        let mut path = path.to_owned();
        loop {
            let page: List<T> = self.get(&path).await?;
            items.extend(page.value);
            let Some(link) = page.next_link else {
                return Ok(items);
            };
            let next = next_page(&link)?;
            anyhow::ensure!(next != path, "the server sent the same page again: {link:?}");
            path = next;
        }
    }

    /// Every application.
    pub async fn applications(&self) -> anyhow::Result<Vec<Object<Application>>> {
        self.get_all("/v1.0/applications").await
    }

    /// The applications named `name` (without regard to case), found by the server.
    pub async fn applications_named(&self, name: &str) -> anyhow::Result<Vec<Object<Application>>> {
        let filter = format!("displayName eq '{}'", name.replace('\'', "''"));
        let path = format!("/v1.0/applications?$filter={}", encode_segment(&filter));
        self.get_all(&path).await
    }

    /// An application by object id.
    pub async fn application(&self, object_id: &str) -> anyhow::Result<Object<Application>> {
        self.get(&format!("/v1.0/applications/{object_id}")).await
    }

    /// An application by appId.
    pub async fn application_by_app_id(&self, app_id: Uuid) -> anyhow::Result<Object<Application>> {
        self.get(&format!("/v1.0/applications(appId='{app_id}')")).await
    }

    /// Registers an application.
    pub async fn create_application(
        &self,
        display_name: &str,
        redirect_uris: &[impl AsRef<str>],
        identifier_uris: &[String],
    ) -> anyhow::Result<Object<Application>> {
        let redirect_uris: Vec<&str> = redirect_uris.iter().map(AsRef::as_ref).collect();
        let mut body = json!({"displayName": display_name, "web": {"redirectUris": redirect_uris}});
        if !identifier_uris.is_empty() {
            body["identifierUris"] = json!(identifier_uris);
        }
        self.send(Method::POST, "/v1.0/applications", body).await
    }

    /// Changes an application: `patch` holds the properties to replace.
    async fn patch_application(&self, object_id: &str, patch: Value) -> anyhow::Result<()> {
        self.call(Method::PATCH, &format!("/v1.0/applications/{object_id}"), Some(patch))
            .await?;
        Ok(())
    }

    /// Replaces an application's redirect URIs.
    pub async fn set_redirect_uris(&self, object_id: &str, uris: &[String]) -> anyhow::Result<()> {
        self.patch_application(object_id, json!({"web": {"redirectUris": uris}}))
            .await
    }

    /// Replaces an application's app roles (each as the server sent it, or a new one).
    pub async fn set_app_roles(&self, object_id: &str, roles: Vec<Value>) -> anyhow::Result<()> {
        self.patch_application(object_id, json!({"appRoles": roles})).await
    }

    /// A new app role, allowed to applications and enabled.
    pub fn new_app_role(value: &str, description: &str) -> Value {
        json!({"id": Uuid::new_v4(), "value": value, "displayName": value,
            "description": description, "allowedMemberTypes": ["Application"], "isEnabled": true})
    }

    /// Keeps the certificate credentials `keep` (by key id) and adds `new`, as Graph does it:
    /// the whole list is replaced.
    pub async fn set_key_credentials(
        &self,
        object_id: &str,
        keep: &[&KeyCredential],
        new: Option<NewKeyCredential<'_>>,
    ) -> anyhow::Result<()> {
        use base64::Engine;
        let mut keys: Vec<Value> = keep.iter().map(|k| json!({"keyId": k.key_id})).collect();
        if let Some(new) = new {
            let mut key = json!({"type": "AsymmetricX509Cert", "usage": "Verify",
                "key": base64::engine::general_purpose::STANDARD.encode(new.der)});
            if let Some(name) = new.display_name {
                key["displayName"] = json!(name);
            }
            keys.push(key);
        }
        self.patch_application(object_id, json!({"keyCredentials": keys})).await
    }

    /// Deletes an application and its grants.
    pub async fn delete_application(&self, object_id: &str) -> anyhow::Result<()> {
        self.call(Method::DELETE, &format!("/v1.0/applications/{object_id}"), None)
            .await?;
        Ok(())
    }

    /// Adds a client secret expiring at `end` (RFC 3339); the answer holds its value.
    pub async fn add_password(
        &self,
        object_id: &str,
        display_name: &str,
        end: &str,
    ) -> anyhow::Result<Object<PasswordCredential>> {
        let body = json!({"passwordCredential": {"displayName": display_name, "endDateTime": end}});
        self.send(
            Method::POST,
            &format!("/v1.0/applications/{object_id}/addPassword"),
            body,
        )
        .await
    }

    /// Removes a client secret.
    pub async fn remove_password(&self, object_id: &str, key_id: &str) -> anyhow::Result<()> {
        self.call(
            Method::POST,
            &format!("/v1.0/applications/{object_id}/removePassword"),
            Some(json!({"keyId": key_id})),
        )
        .await?;
        Ok(())
    }

    /// The service principal of the application `app_id`.
    pub async fn service_principal(&self, app_id: &str) -> anyhow::Result<Object<ServicePrincipal>> {
        self.get(&format!("/v1.0/servicePrincipals(appId='{app_id}')")).await
    }

    /// Grants the app role `app_role_id` of `resource` to `principal`; returns the assignment.
    pub async fn assign_app_role(
        &self,
        principal: &ServicePrincipal,
        resource: &ServicePrincipal,
        app_role_id: &str,
    ) -> anyhow::Result<Value> {
        self.call(
            Method::POST,
            &format!("/v1.0/servicePrincipals/{}/appRoleAssignedTo", resource.id),
            Some(json!({"principalId": principal.id, "resourceId": resource.id, "appRoleId": app_role_id})),
        )
        .await
    }

    /// Every user.
    pub async fn users(&self) -> anyhow::Result<Vec<Object<User>>> {
        self.get_all("/v1.0/users").await
    }

    /// A user by email or object id (`key` percent-encoded as one path segment).
    pub async fn user(&self, key: &str) -> anyhow::Result<Object<User>> {
        self.get(&format!("/v1.0/users/{}", encode_segment(key))).await
    }

    /// Creates a user.
    pub async fn create_user(
        &self,
        email: &str,
        display_name: Option<&str>,
        password: &str,
        enabled: bool,
    ) -> anyhow::Result<Object<User>> {
        let mut body = json!({
            "accountEnabled": enabled,
            "identities": [{"signInType": "emailAddress", "issuerAssignedId": email}],
            "passwordProfile": {"password": password, "forceChangePasswordNextSignIn": false},
        });
        if let Some(name) = display_name {
            body["displayName"] = json!(name);
        }
        self.send(Method::POST, "/v1.0/users", body).await
    }

    /// Enables or disables a user.
    pub async fn set_user_enabled(&self, user: &User, enabled: bool) -> anyhow::Result<()> {
        self.patch_user(user, json!({"accountEnabled": enabled})).await
    }

    /// Sets a user's password.
    pub async fn set_user_password(&self, user: &User, password: &str) -> anyhow::Result<()> {
        self.patch_user(
            user,
            json!({"passwordProfile": {"password": password, "forceChangePasswordNextSignIn": false}}),
        )
        .await
    }

    async fn patch_user(&self, user: &User, patch: Value) -> anyhow::Result<()> {
        self.call(Method::PATCH, &format!("/v1.0/users/{}", user.id), Some(patch))
            .await?;
        Ok(())
    }

    /// A user again, after a change.
    pub async fn reload_user(&self, user: &User) -> anyhow::Result<Object<User>> {
        self.get(&format!("/v1.0/users/{}", user.id)).await
    }

    /// Deletes a user.
    pub async fn delete_user(&self, user: &User) -> anyhow::Result<()> {
        self.call(Method::DELETE, &format!("/v1.0/users/{}", user.id), None)
            .await?;
        Ok(())
    }

    /// The directory roles a user holds.
    pub async fn role_assignments(&self, user: &User) -> anyhow::Result<Vec<Object<RoleAssignment>>> {
        let filter = format!("principalId eq '{}'", user.id);
        let query = format!("$filter={}", encode_segment(&filter));
        let path = format!("/v1.0/roleManagement/directory/roleAssignments?{query}");
        Ok(self.get::<List<RoleAssignment>>(&path).await?.value)
    }

    /// Gives a user the directory role with this template id, for the whole tenant.
    pub async fn assign_directory_role(
        &self,
        user: &User,
        template_id: Uuid,
    ) -> anyhow::Result<Object<RoleAssignment>> {
        let body = json!({"principalId": user.id, "roleDefinitionId": template_id, "directoryScopeId": "/"});
        self.send(Method::POST, "/v1.0/roleManagement/directory/roleAssignments", body)
            .await
    }

    /// Deletes a directory role assignment.
    pub async fn delete_role_assignment(&self, assignment: &RoleAssignment) -> anyhow::Result<()> {
        let path = format!(
            "/v1.0/roleManagement/directory/roleAssignments/{}",
            encode_segment(&assignment.id)
        );
        self.call(Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// The service-principal sign-in records of the application `app_id` (its client id),
    /// newest first: those since `since` (RFC 3339 in UTC, `Z`), only refusals when `failures`.
    pub async fn sign_ins(
        &self,
        app_id: &str,
        since: Option<&str>,
        failures: bool,
    ) -> anyhow::Result<Vec<Object<SignIn>>> {
        let mut path = format!("/admin/api/applications/{app_id}/sign-ins?failures={failures}");
        if let Some(since) = since {
            // RFC 3339 in UTC: digits, `-`, `:`, `.`, `T` and `Z`, nothing to escape.
            path.push_str("&since=");
            path.push_str(since);
        }
        Ok(self.get::<List<SignIn>>(&path).await?.value)
    }

    /// The tenant's token-signing keys.
    pub async fn signing_keys(&self) -> anyhow::Result<Object<SigningKeys>> {
        self.get("/admin/api/signing-keys").await
    }

    /// Makes a new signing key.
    pub async fn rotate_signing_key(&self) -> anyhow::Result<Object<SigningKeys>> {
        Ok(serde_json::from_value(
            self.call(Method::POST, "/admin/api/signing-keys/rotate", None).await?,
        )?)
    }

    /// Replaces the permissions of the principal `object_id` on the vault `vault`; returns the
    /// access policy.
    pub async fn set_access_policy(
        &self,
        vault: &str,
        object_id: &str,
        certificates: &[String],
        secrets: &[String],
    ) -> anyhow::Result<Value> {
        self.call(
            Method::PUT,
            &format!("/admin/api/vaults/{vault}/accessPolicies/{object_id}"),
            Some(json!({"certificates": certificates, "secrets": secrets})),
        )
        .await
    }
}

/// Percent-encodes a path segment (an email may hold `+`, `%`, `/` ...).
fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_next_link_is_followed_on_the_connected_server_and_only_into_the_api() {
        let link = "https://keyward.example:8443/v1.0/users?%24top=2&%24skiptoken=YWJj";
        assert_eq!(next_page(link).unwrap(), "/v1.0/users?%24top=2&%24skiptoken=YWJj");
        assert_eq!(next_page("https://h/v1.0/applications").unwrap(), "/v1.0/applications");
        for bad in [
            "/v1.0/users",
            "https://h/admin/api/time",
            "https://h/v1.0x",
            "not a link",
        ] {
            assert!(next_page(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_encoded_as_one_path_segment() {
        assert_eq!(encode_segment("alice@example.com"), "alice@example.com");
        assert_eq!(encode_segment("a+b/c%d@x.example"), "a%2Bb%2Fc%25d@x.example");
    }

    #[test]
    fn objects_keep_the_servers_json_and_read_nulls_as_defaults() {
        let json = json!({"id": "o", "appId": "a", "displayName": null, "unknown": 1,
            "keyCredentials": [{"keyId": "k", "customKeyIdentifier": "AB", "displayName": null}]});
        let app: Object<Application> = serde_json::from_value(json.clone()).unwrap();
        assert_eq!((app.id.as_str(), app.display_name.as_str()), ("o", ""));
        assert_eq!(app.key_credentials[0].custom_key_identifier, "AB");
        assert_eq!(app.json, json);
        assert_eq!(json_list(&app.key_credentials), json["keyCredentials"]);
    }
}
