//! Secrets through the domain service: versions, update, limits, paging, soft delete.

use keyward_vault::{Error, MAX_SECRET_VALUE, PageRequest, SetSecret, UpdateSecret};
use serde_json::json;

use super::common::harness;

fn set(value: &str) -> SetSecret {
    SetSecret {
        value: Some(value.into()),
        ..SetSecret::default()
    }
}

#[tokio::test]
async fn versions_update_and_soft_delete() {
    let h = harness().await;
    let owner = h.owner().await;
    let first: SetSecret =
        serde_json::from_value(json!({"value": "s3cr3t-one", "contentType": "text/plain", "tags": {"env": "test"}}))
            .unwrap();
    assert!(!format!("{first:?}").contains("s3cr3t"));
    let first = h.vaults.set_secret(&owner, "s", first).await.unwrap();
    assert_eq!(first.value.as_deref().map(String::as_str), Some("s3cr3t-one"));
    assert_eq!(first.content_type.as_deref(), Some("text/plain"));
    assert!(!format!("{first:?}").contains("s3cr3t"));
    let second = h.vaults.set_secret(&owner, "s", set("two ✓\n")).await.unwrap();
    assert_ne!(first.version, second.version);
    let latest = h.vaults.secret(&owner, "s", None).await.unwrap();
    assert_eq!(latest.value.as_deref().map(String::as_str), Some("two ✓\n"));
    let old = h
        .vaults
        .secret(&owner, "s", Some(&first.version.to_uppercase()))
        .await
        .unwrap();
    assert_eq!(old.value.as_deref().map(String::as_str), Some("s3cr3t-one"));
    let versions = h
        .vaults
        .secret_versions(&owner, "s", &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(versions.items.len(), 2);
    assert!(versions.items.iter().all(|v| v.value.is_none()));

    let updated = h
        .vaults
        .update_secret(
            &owner,
            "s",
            Some(&first.version),
            serde_json::from_value::<UpdateSecret>(
                json!({"attributes": {"enabled": false, "exp": 4102444800_i64}, "tags": {"a": "b"}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert!(!updated.attributes.enabled);
    assert_eq!(updated.attributes.exp, Some(4102444800));
    assert_eq!(updated.tags.get("a").map(String::as_str), Some("b"));
    assert_eq!(updated.content_type.as_deref(), Some("text/plain"));
    assert!(matches!(
        h.vaults.secret(&owner, "s", Some(&first.version)).await,
        Err(Error::SecretDisabled(_))
    ));

    let deleted = h.vaults.delete_secret(&owner, "s").await.unwrap();
    assert_eq!(deleted.item.version, second.version);
    assert!(deleted.item.value.is_none());
    assert!(matches!(
        h.vaults.secret(&owner, "s", None).await,
        Err(Error::SecretNotFound { .. })
    ));
    assert!(matches!(
        h.vaults.set_secret(&owner, "s", set("reuse")).await,
        Err(Error::DeletedButRecoverable { .. })
    ));
    assert_eq!(
        h.vaults
            .deleted_secrets(&owner, &PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    h.vaults.recover_secret(&owner, "s").await.unwrap();
    let back = h.vaults.secret(&owner, "s", None).await.unwrap();
    assert_eq!(back.value.as_deref().map(String::as_str), Some("two ✓\n"));
    h.vaults.delete_secret(&owner, "s").await.unwrap();
    h.vaults.purge_secret(&owner, "s").await.unwrap();
    assert!(matches!(
        h.vaults.deleted_secret(&owner, "s").await,
        Err(Error::SecretNotFound { deleted: true, .. })
    ));
    h.vaults.set_secret(&owner, "s", set("fresh")).await.unwrap();
    assert_eq!(
        h.vaults
            .secret_versions(&owner, "s", &PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn limits_are_key_vaults() {
    let h = harness().await;
    let owner = h.owner().await;
    assert!(
        h.vaults
            .set_secret(&owner, "big", set(&"x".repeat(MAX_SECRET_VALUE)))
            .await
            .is_ok()
    );
    assert!(matches!(
        h.vaults
            .set_secret(&owner, "big", set(&"x".repeat(MAX_SECRET_VALUE + 1)))
            .await,
        Err(Error::SecretTooLarge { .. })
    ));
    assert!(matches!(
        h.vaults.set_secret(&owner, "novalue", SetSecret::default()).await,
        Err(Error::BadParameter(_))
    ));
    let tags: std::collections::BTreeMap<String, String> = (0..16).map(|i| (format!("t{i}"), "v".into())).collect();
    assert!(matches!(
        h.vaults
            .set_secret(
                &owner,
                "tags",
                SetSecret {
                    value: Some("v".into()),
                    tags: Some(tags),
                    ..SetSecret::default()
                }
            )
            .await,
        Err(Error::BadParameter(_))
    ));
}

#[tokio::test]
async fn lists_come_in_pages() {
    let h = harness().await;
    let owner = h.owner().await;
    for name in ["c", "a", "E", "b", "d"] {
        h.vaults.set_secret(&owner, name, set(name)).await.unwrap();
    }
    let mut request = PageRequest {
        max: Some(2),
        skip_token: None,
    };
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let page = h.vaults.secrets(&owner, &request).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        names.extend(page.items.into_iter().map(|s| s.name));
        match page.next {
            Some(token) => request.skip_token = Some(token),
            None => break,
        }
    }
    assert_eq!(names, ["a", "b", "c", "d", "E"]);
    assert_eq!(pages, 3);
    assert!(matches!(
        h.vaults
            .secrets(
                &owner,
                &PageRequest {
                    max: Some(26),
                    skip_token: None
                }
            )
            .await,
        Err(Error::BadParameter(_))
    ));
}
