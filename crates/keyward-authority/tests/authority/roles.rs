//! Directory roles through the management API: `/v1.0/roleManagement/directory/roleAssignments`
//! in Microsoft Graph's shapes, and its refusals, each of which changes nothing.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{Harness, Reply, harness, json_request, send};

const ASSIGNMENTS: &str = "/v1.0/roleManagement/directory/roleAssignments";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const APP_ADMIN: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";

async fn call(h: &Harness, token: &str, method: Method, uri: &str, body: Option<Value>) -> Reply {
    send(&h.router, json_request(method, uri, Some(token), body)).await
}

/// Creates a user through the API; its object id.
async fn user(h: &Harness, token: &str, email: &str) -> String {
    let body = json!({"identities": [{"signInType": "emailAddress", "issuerAssignedId": email}],
        "passwordProfile": {"password": "correct horse battery"}});
    let reply = call(h, token, Method::POST, "/v1.0/users", Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

fn assign(principal: &str, role: &str) -> Value {
    json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/"})
}

#[tokio::test]
async fn role_assignments_are_created_listed_filtered_and_deleted() {
    let h = harness().await;
    let token = h.admin_token().await;
    let ann = user(&h, &token, "ann@example.com").await;
    let bob = user(&h, &token, "bob@example.com").await;

    let created = call(&h, &token, Method::POST, ASSIGNMENTS, Some(assign(&ann, GLOBAL_ADMIN))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["principalId"], ann.as_str());
    assert_eq!(created.body["roleDefinitionId"], GLOBAL_ADMIN);
    assert_eq!(created.body["directoryScopeId"], "/");
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.ends_with("-1") && id.len() == 45, "Entra's form: {id}");
    // With the @odata.type Graph clients send.
    let mut body = assign(&bob, GLOBAL_READER);
    body["@odata.type"] = json!("#microsoft.graph.unifiedRoleAssignment");
    let reader = call(&h, &token, Method::POST, ASSIGNMENTS, Some(body)).await;
    assert_eq!(reader.status, StatusCode::CREATED, "{}", reader.body);
    let reply = call(&h, &token, Method::POST, ASSIGNMENTS, Some(assign(&ann, APP_ADMIN))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);

    // Listed, all or filtered.
    let all = call(&h, &token, Method::GET, ASSIGNMENTS, None).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.body["value"].as_array().unwrap().len(), 3, "{}", all.body);
    let filter = |property: &str, value: &str| {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("$filter", &format!("{property} eq '{value}'"))
            .finish();
        format!("{ASSIGNMENTS}?{query}")
    };
    let anns = call(&h, &token, Method::GET, &filter("principalId", &ann), None).await;
    let roles: Vec<&str> = anns.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["roleDefinitionId"].as_str().unwrap())
        .collect();
    assert_eq!(roles, [GLOBAL_ADMIN, APP_ADMIN]);
    let readers = call(
        &h,
        &token,
        Method::GET,
        &filter("roleDefinitionId", GLOBAL_READER),
        None,
    )
    .await;
    assert_eq!(readers.body["value"], json!([reader.body]));
    let nobody = filter("principalId", "6a0c3ea8-9b6f-4c1e-8b8a-111111111111");
    let reply = call(&h, &token, Method::GET, &nobody, None).await;
    assert_eq!(reply.body["value"], json!([]));
    let reply = call(&h, &token, Method::GET, &format!("{ASSIGNMENTS}/{id}"), None).await;
    assert_eq!(reply.body, created.body);

    // Deleted once; then gone.
    let one = format!("{ASSIGNMENTS}/{id}");
    let reply = call(&h, &token, Method::DELETE, &one, None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    for method in [Method::DELETE, Method::GET] {
        let reply = call(&h, &token, method, &one, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
        assert_eq!(reply.body["error"]["code"], "Request_ResourceNotFound");
    }
    let reply = call(&h, &token, Method::DELETE, &format!("{ASSIGNMENTS}/not-an-id"), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let anns = call(&h, &token, Method::GET, &filter("principalId", &ann), None).await;
    assert_eq!(anns.body["value"].as_array().unwrap().len(), 1);

    // Deleting the user takes its roles.
    let reply = call(&h, &token, Method::DELETE, &format!("/v1.0/users/{bob}"), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let readers = call(
        &h,
        &token,
        Method::GET,
        &filter("roleDefinitionId", GLOBAL_READER),
        None,
    )
    .await;
    assert_eq!(readers.body["value"], json!([]));
}

#[tokio::test]
async fn bad_assignments_are_refused_and_change_nothing() {
    let h = harness().await;
    let token = h.admin_token().await;
    let ann = user(&h, &token, "ann@example.com").await;
    let reply = call(&h, &token, Method::POST, ASSIGNMENTS, Some(assign(&ann, GLOBAL_READER))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let before = call(&h, &token, Method::GET, ASSIGNMENTS, None).await.body;

    let unknown_user = "6a0c3ea8-9b6f-4c1e-8b8a-111111111111";
    for (body, status) in [
        (assign(unknown_user, GLOBAL_ADMIN), StatusCode::NOT_FOUND),
        (assign("ann@example.com", GLOBAL_ADMIN), StatusCode::BAD_REQUEST),
        (assign(&ann, unknown_user), StatusCode::BAD_REQUEST),
        (assign(&ann, "global-admin"), StatusCode::BAD_REQUEST),
        (assign(&ann, GLOBAL_READER), StatusCode::BAD_REQUEST),
        (
            json!({"principalId": ann, "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/administrativeUnits/x"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"principalId": ann, "roleDefinitionId": GLOBAL_ADMIN}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"principalId": ann, "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/", "appScopeId": "/"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"principalId": ann, "directoryScopeId": "/"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"principalId": ann, "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/", "extra": 1}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let reply = call(&h, &token, Method::POST, ASSIGNMENTS, Some(body.clone())).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert!(reply.body["error"]["message"].is_string(), "{}", reply.body);
    }
    let twice = call(&h, &token, Method::POST, ASSIGNMENTS, Some(assign(&ann, GLOBAL_READER))).await;
    let message = twice.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("already holds the Global Reader role"), "{message}");
    assert_eq!(call(&h, &token, Method::GET, ASSIGNMENTS, None).await.body, before);

    for bad in [
        "principalId eq 'x'",
        "displayName eq 'Ann'",
        "principalId ne 'x'",
        "principalId",
    ] {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("$filter", bad)
            .finish();
        let reply = call(&h, &token, Method::GET, &format!("{ASSIGNMENTS}?{query}"), None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // Without a management token: nothing.
    for method in [Method::GET, Method::POST] {
        let reply = send(&h.router, json_request(method, ASSIGNMENTS, None, None)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
}
