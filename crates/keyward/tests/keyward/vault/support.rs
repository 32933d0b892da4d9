//! What the vault tests share: an application with a client secret and vault access.

use keyward_client::{ClientCredential, ConfidentialClient, VaultClient};

use crate::common::Server;

/// An application that signs in with a secret, granted `certificates` and `secrets`
/// permissions on the default vault (none if both are empty).
pub struct Reader {
    pub app_id: String,
    pub secret: String,
}

pub fn reader(server: &Server, name: &str, certificates: &str, secrets: &str) -> Reader {
    let app = server.keyward(&["app", "create", "--name", name]);
    let secret = server.keyward(&["app", "secret", "add", name])["secretText"]
        .as_str()
        .expect("secretText")
        .to_owned();
    let mut grant = vec!["vault", "grant", name];
    if !certificates.is_empty() {
        grant.extend(["--certificates", certificates]);
    }
    if !secrets.is_empty() {
        grant.extend(["--secrets", secrets]);
    }
    if grant.len() > 3 {
        server.keyward(&grant);
    }
    Reader {
        app_id: app["appId"].as_str().expect("appId").to_owned(),
        secret,
    }
}

impl Reader {
    pub fn client(&self, server: &Server) -> ConfidentialClient {
        ConfidentialClient::builder(
            &format!("{}/contoso", server.url),
            &self.app_id,
            ClientCredential::secret(self.secret.clone()),
        )
        .trust_ca(&server.ca_pem())
        .build()
        .expect("client builds")
    }

    pub fn vault(&self, server: &Server) -> VaultClient {
        VaultClient::new(&server.url, self.client(server))
            .expect("vault client")
            .verify_challenge_resource(false)
    }

    /// An access token for the vault.
    pub async fn vault_token(&self, server: &Server) -> String {
        self.client(server)
            .acquire_token_for_client(&["https://vault.keyward.localhost/.default"])
            .await
            .expect("a vault token")
            .secret()
            .to_owned()
    }
}
