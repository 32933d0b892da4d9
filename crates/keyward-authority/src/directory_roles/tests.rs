//! Roles by name and id, Entra's assignment ids, and role changes on a real authority.

use zeroize::Zeroizing;

use super::*;
use crate::Config;
use crate::testing::authority;
use crate::users::NewUser;

#[test]
fn roles_are_named_as_on_the_command_line_and_known_by_entras_template_ids() {
    for role in DirectoryRole::ALL {
        assert_eq!(role.to_string().parse::<DirectoryRole>(), Ok(role));
        assert_eq!(role.display_name().parse::<DirectoryRole>(), Ok(role));
        assert_eq!(role.template_id().to_string().parse::<DirectoryRole>(), Ok(role));
        assert_eq!(DirectoryRole::from_template_id(role.template_id()), Some(role));
    }
    assert_eq!(
        "Global-Admin".parse::<DirectoryRole>(),
        Ok(DirectoryRole::GlobalAdministrator),
        "any case"
    );
    assert_eq!(
        DirectoryRole::ApplicationAdministrator.template_id().to_string(),
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
    );
    assert_eq!(
        DirectoryRole::GlobalReader.template_id().to_string(),
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
    );
    assert!(DirectoryRole::GlobalReader.is_read_only());
    assert!(!DirectoryRole::ApplicationAdministrator.is_read_only());
    for unknown in ["", "admin", "root", "62e90394-69f5-4237-9190-012177145e11"] {
        let refused = unknown.parse::<DirectoryRole>();
        assert_eq!(refused, Err(DirectoryRoleError::Unknown(unknown.into())));
    }
    let message = "owner".parse::<DirectoryRole>().unwrap_err().to_string();
    assert!(
        message.contains("global-admin, app-admin or global-reader"),
        "{message}"
    );
}

#[test]
fn assignment_ids_are_entras() {
    // An id as Entra gives it: a Global Administrator assignment.
    let documented = "lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1";
    let assignment = RoleAssignment::parse_id(documented).expect("parsed");
    assert_eq!(assignment.role, DirectoryRole::GlobalAdministrator);
    assert_eq!(
        assignment.principal_id,
        uuid!("4ab0b690-479b-47ff-af8f-2576cf521872"),
        "GUID byte order"
    );
    assert_eq!(assignment.id(), documented);

    let ours = RoleAssignment {
        principal_id: Uuid::new_v4(),
        role: DirectoryRole::GlobalReader,
    };
    assert_eq!(RoleAssignment::parse_id(&ours.id()), Some(ours));
    let id = ours.id();
    let unknown_role = format!("{}-1", URL_SAFE_NO_PAD.encode([7u8; 32]));
    let bad: [&str; 7] = [
        "",
        "-1",
        &id[..id.len() - 2],
        &format!("{}-2", &id[..id.len() - 2]),
        &format!("A{id}"),
        &id.replacen('-', "+", 1),
        // A template id no role has.
        &unknown_role,
    ];
    for bad in bad {
        assert_eq!(RoleAssignment::parse_id(bad), None, "{bad:?}");
    }
}

#[tokio::test]
async fn roles_are_given_and_taken_and_a_refusal_changes_nothing() {
    let t = authority(Config::new("https://localhost:8443")).await;
    let tenant_id = t.tenant.tenant.id;
    let new = NewUser {
        email: "ann@example.com".into(),
        display_name: None,
        password: Zeroizing::new("correct horse battery".into()),
        enabled: true,
        email_verified: true,
    };
    let ann = t.authority.create_user(tenant_id, new).await.unwrap();
    let a = &t.authority;
    assert!(a.directory_roles_of(tenant_id, ann.id).await.unwrap().is_empty());

    let global = a
        .assign_directory_role(tenant_id, ann.id, DirectoryRole::GlobalAdministrator)
        .await
        .unwrap();
    a.assign_directory_role(tenant_id, ann.id, DirectoryRole::GlobalReader)
        .await
        .unwrap();
    let stored = a.user(tenant_id, ann.id).await.unwrap();
    assert_eq!(
        roles_of(&stored),
        [DirectoryRole::GlobalAdministrator, DirectoryRole::GlobalReader]
    );

    // Twice: refused, nothing written.
    let twice = a
        .assign_directory_role(tenant_id, ann.id, DirectoryRole::GlobalAdministrator)
        .await;
    assert!(
        matches!(
            twice,
            Err(Error::DirectoryRole(DirectoryRoleError::AlreadyAssigned { .. }))
        ),
        "{twice:?}"
    );
    assert_eq!(a.user(tenant_id, ann.id).await.unwrap().version, stored.version);
    // A user who is not there.
    let nobody = a
        .assign_directory_role(tenant_id, Uuid::new_v4(), DirectoryRole::GlobalReader)
        .await;
    assert!(matches!(nobody, Err(Error::UserNotFound(_))), "{nobody:?}");

    // Listed, found by id, removed by id; a second removal finds nothing.
    assert_eq!(a.directory_role_assignments(tenant_id).await.unwrap().len(), 2);
    assert_eq!(
        a.directory_role_assignment(tenant_id, &global.id()).await.unwrap(),
        global
    );
    a.delete_directory_role_assignment(tenant_id, &global.id())
        .await
        .unwrap();
    let gone = a.delete_directory_role_assignment(tenant_id, &global.id()).await;
    assert!(
        matches!(gone, Err(Error::DirectoryRoleAssignmentNotFound(_))),
        "{gone:?}"
    );
    let not_held = a
        .remove_directory_role(tenant_id, ann.id, DirectoryRole::ApplicationAdministrator)
        .await;
    assert!(matches!(not_held, Err(Error::DirectoryRoleAssignmentNotFound(_))));
    assert_eq!(
        roles_of(&a.user(tenant_id, ann.id).await.unwrap()),
        [DirectoryRole::GlobalReader]
    );

    // A deleted user holds nothing.
    a.delete_user(tenant_id, ann.id).await.unwrap();
    assert!(a.directory_role_assignments(tenant_id).await.unwrap().is_empty());
}
