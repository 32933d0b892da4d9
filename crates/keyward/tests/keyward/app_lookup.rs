//! Finding an application by name asks the server for that name (Graph
//! `$filter=displayName eq '...'`), so that `keyward app cert add NAME` costs the same in a
//! directory of 100,000 applications as in one of ten: the CLI used to read every application.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{Server, http_client};
use crate::signin::flows::admin_token;

#[tokio::test]
async fn an_application_is_found_by_its_name_through_a_graph_filter() {
    let server = Server::start();
    let quoted = server.keyward(&["app", "create", "--name", "O'Brien's API"]);
    server.keyward(&["app", "create", "--name", "O'Brien's API v2"]);

    // The CLI: any case, quotes in the name, and a name no application has.
    let shown = server.keyward(&["app", "show", "o'brien's api"]);
    assert_eq!(shown["appId"], quoted["appId"]);
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["app", "show", "O'Brien", "--data"])
        .arg(server.data())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && stderr.contains("no application is named"),
        "{stderr}"
    );

    // Graph: the filter as OData writes it, with the quote doubled.
    let token = admin_token(&server).await;
    let client = http_client(&server.ca_pem());
    let list = |filter: &'static str| {
        let request = client
            .get(format!("{}/v1.0/applications", server.url))
            .query(&[("$filter", filter)])
            .bearer_auth(&token);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = list("displayName eq 'O''BRIEN''S API'").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let found: Vec<&Value> = body["value"].as_array().unwrap().iter().collect();
    assert_eq!(found.len(), 1, "{body}");
    assert_eq!(found[0]["appId"], quoted["appId"]);
    let (_, none) = list("displayName eq 'nobody'").await;
    assert_eq!(none["value"], Value::Array(Vec::new()));
    for bad in [
        "displayName eq 'O'Brien'",
        "startswith(displayName,'O')",
        "appId eq 'x'",
    ] {
        let (status, body) = list(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("displayName eq"),
            "{body}"
        );
    }
}

/// Graph answers a list in pages of 100 (`@odata.nextLink`); `keyward app list` follows them
/// and lists every application.
#[tokio::test]
async fn every_application_is_listed_across_graph_pages() {
    let server = Server::start();
    let token = admin_token(&server).await;
    let client = http_client(&server.ca_pem());
    for i in 0..105 {
        let response = client
            .post(format!("{}/v1.0/applications", server.url))
            .bearer_auth(&token)
            .json(&serde_json::json!({"displayName": format!("many {i:03}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let first: Value = client
        .get(format!("{}/v1.0/applications", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["value"].as_array().unwrap().len(), 100);
    assert!(
        first["@odata.nextLink"].as_str().unwrap().contains("skiptoken"),
        "{first}"
    );

    let listed = server.keyward(&["app", "list"]);
    let mut names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|app| app["displayName"].as_str())
        .filter(|name| name.starts_with("many "))
        .collect();
    names.sort_unstable();
    let expected: Vec<String> = (0..105).map(|i| format!("many {i:03}")).collect();
    assert_eq!(names, expected);
}
