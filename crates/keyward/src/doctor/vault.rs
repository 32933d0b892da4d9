//! The `vault` check: the certificate and its private key read from a Key Vault the way the
//! article's app reads them (the certificate, then its managed secret, PEM or PKCS#12), so that
//! the other checks run on what the app would get.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_client::Error;
use zeroize::Zeroizing;

use super::finding::Finding;
use crate::connection::Connection;

/// What the vault check works on.
pub struct Vault<'a> {
    /// The vault's URL, e.g. `https://localhost:8443` or `https://NAME.vault.azure.net`.
    pub url: &'a str,
    /// The certificate's name.
    pub name: &'a str,
    /// A Keyward data directory: its admin credential reads the vault.
    pub data: Option<&'a Path>,
}

/// The certificate and key as the vault's secret holds them, for the local checks.
pub struct Fetched {
    /// How the certificate is named in messages: `vault certificate NAME`.
    pub label: String,
    /// The secret's value: a PEM text, or the PKCS#12 bytes.
    pub bytes: Zeroizing<Vec<u8>>,
}

/// Reads the certificate `vault.name` and its secret; pushes the `vault` finding. Returns the
/// secret's contents when they hold the certificate with its private key.
pub async fn check(vault: &Vault<'_>, findings: &mut Vec<Finding>) -> Option<Fetched> {
    match fetch(vault).await {
        Ok((fetched, message)) => {
            findings.push(Finding::ok("vault", message));
            Some(fetched)
        }
        Err(finding) => {
            findings.push(*finding);
            None
        }
    }
}

async fn fetch(vault: &Vault<'_>) -> Result<(Fetched, String), Box<Finding>> {
    let fail = |message: String, fix: String| Box::new(Finding::fail("vault", message, fix));
    let (url, name) = (vault.url.trim_end_matches('/'), vault.name);
    let Some(data) = vault.data else {
        return Err(fail(
            format!(
                "no identity to read certificate {name:?} from {url} with: doctor reads a vault as a Keyward server's admin"
            ),
            format!(
                "for Keyward's vault, add --data DIR (the server's data directory); doctor cannot sign in to Azure Key \
                 Vault here: export the certificate with `az keyvault secret download --vault-name VAULT --name {name} \
                 --encoding base64 --file {name}.pfx` and pass --cert {name}.pfx"
            ),
        ));
    };
    let connection = Connection::to(data, None)
        .await
        .map_err(|e| fail(format!("cannot sign in as the admin of {} ({e:#})", data.display()), format!("start the server with `keyward serve --data {}`, or give the data directory of the server that holds the vault", data.display())))?;
    let client = connection.vault(Some(url)).map_err(|e| {
        fail(
            format!("{url} is not a vault URL: {e:#}"),
            "give the vault's origin, e.g. https://localhost:8443 or https://NAME.vault.azure.net".to_owned(),
        )
    })?;
    let caller = admin_app_id(data);
    let certificate = client
        .get_certificate(name, None)
        .await
        .map_err(|e| refused(&e, url, name, "certificate", &caller))?;
    let secret = client
        .get_secret(name, Some(&certificate.version))
        .await
        .map_err(|e| refused(&e, url, name, "secret", &caller))?;
    let content_type = secret.content_type.as_deref().unwrap_or("no content type");
    let bytes = match secret.content_type.as_deref() {
        Some("application/x-pkcs12") => Zeroizing::new(STANDARD.decode(secret.value.trim()).map_err(|_| {
            fail(
                format!("the secret behind certificate {name:?} says PKCS#12 but is not base64"),
                "import the certificate again with its key (`keyward vault cert import NAME app.pfx`)".to_owned(),
            )
        })?),
        _ => Zeroizing::new(secret.value.as_bytes().to_vec()),
    };
    let no_key = || {
        fail(
            format!(
                "the secret behind certificate {name:?} holds no private key: the certificate was made non-exportable, \
                 or imported without its key"
            ),
            format!(
                "make it exportable (the policy's keyProperties.exportable: true, as the article's app needs) or \
                 import it with its key: `keyward vault cert import {name} app.pfx`"
            ),
        )
    };
    let contents = keyward_pki::read(&bytes, None).map_err(|e| match e {
        keyward_pki::Error::MissingPrivateKey => no_key(),
        e => fail(
            format!("the secret behind certificate {name:?} ({content_type}) cannot be read: {e}"),
            "import the certificate again with its key (`keyward vault cert import NAME app.pfx`)".to_owned(),
        ),
    })?;
    if contents.private_key.is_none() {
        return Err(no_key());
    }
    let thumbprint = certificate.thumbprint();
    if !contents
        .certificates
        .iter()
        .any(|c| c.thumbprints().sha1_hex() == thumbprint)
    {
        return Err(fail(
            format!("the secret behind certificate {name:?} holds another certificate than the vault's ({thumbprint})"),
            "the secret was replaced by hand: import the certificate again with its key".to_owned(),
        ));
    }
    let message = format!(
        "{url}: certificate {name:?} (version {}), its secret readable ({content_type}) with the private key",
        certificate.version
    );
    let fetched = Fetched {
        label: format!("vault certificate {name}"),
        bytes,
    };
    Ok((fetched, message))
}

/// The vault's refusal of the `what` behind `name`, as a finding.
fn refused(error: &Error, url: &str, name: &str, what: &str, caller: &str) -> Box<Finding> {
    let permission = if what == "secret" {
        "secrets get"
    } else {
        "certificates get"
    };
    let (message, fix) = match error {
        Error::Vault(e) if e.status == 404 => (
            format!("{url} has no {what} named {name:?} ({})", e.message),
            "check the name (`keyward vault cert list` lists them), and whether it was deleted".to_owned(),
        ),
        Error::Vault(e) if e.status == 403 => (
            format!(
                "{url} refuses to show the {what} {name:?} to the caller ({caller}): it lacks the permission `{permission}`"
            ),
            format!("grant it, as the app needs too: `keyward vault grant {caller} --certificates get --secrets get`"),
        ),
        Error::Vault(e) => (
            format!("{url} refused the {what} {name:?}: {e}"),
            e.hint()
                .unwrap_or("check the vault URL and the server's log")
                .to_owned(),
        ),
        Error::Network { .. } => (
            format!("nothing answers at {url} ({error})"),
            "check the vault URL's host and port, and that the server is running".to_owned(),
        ),
        other => (
            format!("cannot read the {what} {name:?} from {url}: {other}"),
            "check the vault URL and the certificate's name".to_owned(),
        ),
    };
    Box::new(Finding::fail("vault", message, fix))
}

/// The admin application's client id, for the grant command; `APP` when unknown.
fn admin_app_id(data: &Path) -> String {
    keyward_server::DataDir::new(data)
        .read_json::<keyward_server::AdminInfo>("admin/admin.json")
        .map(|a| a.app_id)
        .unwrap_or_else(|_| "APP".to_owned())
}
