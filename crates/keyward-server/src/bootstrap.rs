//! The bootstrap admin: an application with a certificate credential (we use what we sell) and
//! the `Application.ReadWrite.All` role on Microsoft Graph, whose key the CLI uses.

use keyward_authority::{APPLICATION_READ_WRITE_ALL, Authority, GRAPH_APP_ID, NewApplication, TenantEntry};
use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey, Validity};
use uuid::Uuid;

use crate::data_dir::{Access, AdminInfo, DataDir};
use crate::error::{Error, Result};

/// The admin application's display name.
pub(crate) const ADMIN_APP_NAME: &str = "Keyward admin (CLI)";

/// Makes the admin application and its credential unless they exist.
pub(crate) async fn ensure_admin(authority: &Authority, tenant: &TenantEntry, dir: &DataDir) -> Result<()> {
    let tenant_id = tenant.tenant.id;
    if let Ok(info) = dir.read_json::<AdminInfo>("admin/admin.json")
        && let Ok(app_id) = Uuid::parse_str(&info.app_id)
        && info.tenant_id == tenant_id.to_string()
        && authority.snapshot().app_in_tenant(tenant_id, app_id).is_some()
        && dir.path("admin/admin.key").exists()
    {
        return Ok(());
    }
    let key = PrivateKey::generate(KeyType::Rsa2048)?;
    let certificate = CertificateSpec::new(Name::parse("CN=keyward-admin,O=Keyward")?)
        .validity(Validity::Months(24))
        .self_signed(&key)?;
    let app = authority
        .create_application(
            tenant_id,
            NewApplication {
                display_name: ADMIN_APP_NAME.into(),
                ..Default::default()
            },
        )
        .await?;
    let credential = keyward_authority::credentials::certificate_credential(
        certificate.der(),
        Some("bootstrap admin certificate".into()),
        None,
        None,
        false,
        authority.now(),
    )?;
    authority
        .update_application(tenant_id, app.app.id, |a| {
            a.key_credentials.push(credential);
            Ok(())
        })
        .await?;
    let snapshot = authority.snapshot();
    let graph = snapshot
        .app_in_tenant(tenant_id, GRAPH_APP_ID)
        .ok_or(Error::Inconsistent("the tenant has no Microsoft Graph resource"))?;
    let role = graph
        .app
        .app_roles
        .iter()
        .find(|r| r.value == APPLICATION_READ_WRITE_ALL)
        .ok_or(Error::Inconsistent("Microsoft Graph lacks its app role"))?;
    authority
        .grant_role(
            tenant_id,
            app.app.service_principal_id,
            graph.app.service_principal_id,
            role.id,
        )
        .await?;
    dir.write("admin/admin.key", key.to_pkcs8_pem(None)?.as_bytes(), Access::OwnerOnly)?;
    dir.write("admin/admin.pem", certificate.pem().as_bytes(), Access::Public)?;
    let info = AdminInfo {
        app_id: app.app.app_id.to_string(),
        tenant_id: tenant_id.to_string(),
        tenant: tenant.tenant.name.clone(),
    };
    dir.write_json("admin/admin.json", &info, Access::Public)?;
    Ok(())
}
