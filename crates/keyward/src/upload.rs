//! The certificate `keyward app cert add` uploads, from whatever file the user has: a `.cer` or
//! `.pem` as it is, a PFX (or a PEM with its key) with the certificate taken out. Only the
//! certificate ever leaves the machine; the private key is never sent.

use std::path::Path;

use anyhow::{Context, bail};
use keyward_pki::{Certificate, MAX_INPUT};

use crate::files;
use crate::password::Password;

/// The certificate to upload, and, when the file also held a private key, a line saying that
/// only the certificate was taken out of it.
pub struct Upload {
    /// The certificate, the leaf when the file held a chain.
    pub certificate: Certificate,
    /// Said to the user when the file held more than the certificate.
    pub note: Option<String>,
}

/// Reads `file` for upload. A password (from `--password-file` or `KEYWARD_PASSWORD`) opens a
/// PFX or an encrypted key; without one, the error says that only the certificate is uploaded
/// and how to give it.
pub fn certificate(file: &Path, password: Option<&Password>) -> anyhow::Result<Upload> {
    let name = file.display();
    let bytes = files::read_limited(file, MAX_INPUT).with_context(|| format!("cannot read {name}"))?;
    let contents = match keyward_pki::read(&bytes, password.map(|p| p.as_str())) {
        Ok(contents) => contents,
        Err(keyward_pki::Error::PasswordRequired { what }) if what.starts_with("PKCS#12") => bail!(
            "{name} is a PFX protected by a password: only its certificate is uploaded (the private key is never \
             sent). Give the PFX's password with --password-file FILE or the KEYWARD_PASSWORD environment variable \
             and the certificate is taken out of it, or upload the .cer that `keyward cert new` wrote beside it"
        ),
        Err(keyward_pki::Error::PasswordRequired { .. }) => bail!(
            "{name} holds an encrypted private key: only a certificate is uploaded, never the key. Upload the \
             certificate (the .cer or .pem that `keyward cert new` wrote beside it), or a PFX with \
             --password-file FILE (or KEYWARD_PASSWORD) to take its certificate out"
        ),
        Err(e) => return Err(e).with_context(|| name.to_string()),
    };
    let Some(certificate) = contents.certificate().cloned() else {
        bail!(
            "{name} holds no certificate{}: upload the certificate (the .cer or .pem that `keyward cert new` wrote)",
            if contents.private_key.is_some() {
                ", only a private key, which is never uploaded"
            } else {
                ""
            }
        );
    };
    let note = (contents.private_key.is_some() || contents.format == keyward_pki::Format::Pkcs12)
        .then(|| format!("Took the certificate out of {name} and uploaded only that: the private key was not sent."));
    Ok(Upload { certificate, note })
}
