//! Resource Manager's few calls (what the Azure CLI makes after signing in): a token issued for
//! Resource Manager gets the tenant's subscription; no token, or a token for another resource,
//! gets ARM's 401.

use serde_json::Value;

use crate::common::Server;

#[tokio::test]
async fn subscriptions_and_tenants_answer_a_resource_manager_token_only() {
    let server = Server::start();
    let mut client = server.client("arm-caller");
    let (status, body) = server.get_text("/subscriptions?api-version=2022-12-01", None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("AuthenticationFailed"), "{body}");

    // A token for another resource (the client's API) is not one for Resource Manager.
    let (status, issued) = server.token("contoso", &client.form(&client.assertion(&server))).await;
    assert_eq!(status, 200, "{issued}");
    let other = issued["access_token"].as_str().unwrap();
    let (status, _) = server
        .get_text("/subscriptions?api-version=2022-12-01", Some(other))
        .await;
    assert_eq!(status, 401, "a token for another audience");

    // The Azure CLI's scope, double slash and all.
    client.scope = "https://management.core.windows.net//.default".into();
    let (status, issued) = server.token("contoso", &client.form(&client.assertion(&server))).await;
    assert_eq!(status, 200, "{issued}");
    let token = issued["access_token"].as_str().unwrap();
    let (status, body) = server
        .get_text("/subscriptions?api-version=2022-12-01", Some(token))
        .await;
    assert_eq!(status, 200, "{body}");
    let subscriptions: Value = serde_json::from_str(&body).unwrap();
    let first = &subscriptions["value"][0];
    assert_eq!(first["state"], "Enabled");
    assert_eq!(first["displayName"], "Keyward (contoso)");
    let tenant_id = first["tenantId"].as_str().unwrap().to_owned();
    let (status, body) = server.get_text("/tenants?api-version=2022-12-01", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    let tenants: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(tenants["value"][0]["tenantId"], tenant_id.as_str());
    assert_eq!(tenants["value"][0]["defaultDomain"], "contoso.onmicrosoft.com");
}

#[tokio::test]
async fn the_cloud_metadata_names_this_server() {
    let server = Server::start();
    let metadata = server.get_json("/metadata/endpoints?api-version=2022-09-01").await;
    assert_eq!(metadata["resourceManager"], format!("{}/", server.url).as_str());
    assert_eq!(
        metadata["authentication"]["loginEndpoint"],
        format!("{}/", server.url).as_str()
    );
    assert_eq!(
        metadata["authentication"]["audiences"][0],
        "https://management.core.windows.net/"
    );
    assert_eq!(metadata["suffixes"]["keyVaultDns"], "vault.azure.net");
}
