//! `keyward token`: the client credentials grant from the command line, through
//! `keyward-client`.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_client::{CertificateCredential, ClientCredential, ConfidentialClient};
use serde_json::{Value, json};

use crate::cli::{MintArgs, TokenArgs, TokenCommand};
use crate::connection::Connection;
use crate::files;
use crate::password;

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    if let Some(TokenCommand::Mint(mint_args)) = args.command {
        return mint(mint_args);
    }
    let authority = args.authority.as_deref().context("give --authority URL")?;
    let client_id = args.client_id.as_deref().context("give --client-id ID")?;
    let credential = credential(&args)?;
    let mut builder = ConfidentialClient::builder(authority, client_id, credential);
    if let Some(ca) = &args.ca {
        let bytes =
            files::read_limited(ca, keyward_pki::MAX_INPUT).with_context(|| format!("cannot read {}", ca.display()))?;
        builder = builder.trust_ca(&bytes);
    }
    let client = builder.build()?;
    let scopes: Vec<&str> = args.scopes.iter().map(String::as_str).collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let token = runtime
        .block_on(client.acquire_token_for_client(&scopes))
        .map_err(|e| with_ca_hint(e, args.ca.is_some()))?;
    if !args.json {
        return crate::output::emit(&format!("{}\n", token.secret()));
    }
    let decode = |part: Option<&str>| -> Value {
        part.and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null)
    };
    let mut parts = token.secret().split('.');
    let (header, claims) = (decode(parts.next()), decode(parts.next()));
    let format = time::format_description::well_known::Rfc3339;
    let report = json!({
        "token_type": token.token_type,
        "expires_on": token.expires_on.format(&format)?,
        "refresh_on": token.refresh_on.format(&format)?,
        "access_token": token.secret(),
        "header": header,
        "claims": claims,
    });
    crate::output::emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))
}

fn credential(args: &TokenArgs) -> anyhow::Result<ClientCredential> {
    if let Some(secret) = &args.secret {
        return Ok(ClientCredential::secret(secret.clone()));
    }
    if let Some(path) = &args.secret_file {
        return Ok(ClientCredential::secret(password::from_file(path)?.as_str()));
    }
    let cert = args.cert.as_ref().context("give --cert FILE or --secret")?;
    let password = password::given(
        args.password.password.as_deref(),
        args.password.password_file.as_deref(),
    )?;
    let password = password.as_deref().map(String::as_str);
    let mut credential = match &args.key {
        Some(key) => CertificateCredential::from_files(cert, key, password),
        None => CertificateCredential::from_bundle_file(cert, password),
    }
    .with_context(|| match &args.key {
        Some(key) => format!("{} and {}", cert.display(), key.display()),
        None => cert.display().to_string(),
    })?;
    if let Some(thumbprint) = &args.thumbprint {
        credential = credential.expect_thumbprint(thumbprint)?;
    }
    if args.sha1 {
        credential = credential.legacy_sha1()?;
    }
    Ok(credential.send_certificate_chain(args.x5c).into())
}

/// A server certificate nobody here vouches for is what a first `keyward token` against a local
/// server meets: say which CA to pass, naming the data directory's when there is one to see.
fn with_ca_hint(error: keyward_client::Error, ca_given: bool) -> anyhow::Error {
    let untrusted = matches!(&error, keyward_client::Error::Network { detail, .. }
        if detail.contains("UnknownIssuer") || detail.contains("invalid peer certificate"));
    if !untrusted {
        return error.into();
    }
    let data = std::env::var_os("KEYWARD_DATA").map_or_else(|| "keyward-data".into(), std::path::PathBuf::from);
    let local_ca = data.join("tls").join("ca.pem");
    let which = if local_ca.is_file() {
        format!(
            "--ca {} (the local server's CA) or KEYWARD_CA={}",
            local_ca.display(),
            local_ca.display()
        )
    } else {
        "--ca FILE or KEYWARD_CA=FILE (for a Keyward server, its data directory's tls/ca.pem)".to_owned()
    };
    let given = if ca_given {
        " the CA given is not the one that signed it;"
    } else {
        ""
    };
    anyhow::Error::new(error).context(format!(
        "the server's certificate is not signed by a CA this machine trusts:{given} pass the server's CA with {which}"
    ))
}

/// `keyward token mint`: asks the server for a test token as the data directory's admin.
fn mint(args: MintArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let claims: serde_json::Map<String, Value> = args.claims.into_iter().collect();
    let body = json!({
        "tenant": args.tenant,
        "app": args.app,
        "audience": args.audience,
        "roles": args.roles,
        "claims": claims,
        "lifetimeSeconds": args.lifetime.as_secs(),
    });
    let minted = runtime.block_on(async {
        let api = Connection::open(&args.server).await?;
        api.call(reqwest::Method::POST, "/admin/api/test-tokens", Some(body))
            .await
            .context("no test token minted")
    })?;
    if args.server.json {
        return crate::output::emit(&format!("{}\n", serde_json::to_string_pretty(&minted)?));
    }
    let token = minted["access_token"]
        .as_str()
        .context("the server answered without a token")?;
    crate::output::emit(&format!("{token}\n"))
}
