//! `keyward cert`: make, show and take apart certificate files.

mod report;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use keyward_pki::{
    Certificate, CertificateSpec, Contents, KeyType, MAX_INPUT, Name, PfxEncryption, PrivateKey, SubjectAltName,
    Validity,
};

use crate::cli::{CertCommand, ExtractKeyArgs, NewArgs, PasswordArgs, ShowArgs};
use crate::files::{self, Access};
use crate::password::{self, Password};
use zeroize::Zeroizing;

pub fn run(command: CertCommand) -> anyhow::Result<()> {
    match command {
        CertCommand::New(args) => new(args),
        CertCommand::Show(args) => show(args),
        CertCommand::ExtractKey(args) => extract_key(args),
    }
}

fn new(args: NewArgs) -> anyhow::Result<()> {
    let subject = Name::parse(&args.subject)?;
    let key_type: KeyType = args.key_type.parse().map_err(|e: String| anyhow!(e))?;
    let validity = match (args.months, args.days) {
        (_, Some(days)) => Validity::Days(days),
        (Some(months), None) => Validity::Months(months),
        (None, None) => Validity::default(),
    };
    let mut sans = Vec::with_capacity(args.sans.len());
    for san in &args.sans {
        sans.push(SubjectAltName::parse(san)?);
    }
    let prefix = args.out.clone().unwrap_or_else(|| default_prefix(&subject));
    let request = NewCertificate {
        subject,
        key_type,
        validity,
        sans,
        prefix,
        legacy_pfx: args.legacy_pfx,
        combined: args.combined,
        force: args.force,
    };
    request.check_absent()?;
    let password = new_password(
        args.password.as_deref(),
        args.password_file.as_deref(),
        args.no_password,
        "--password-file FILE (or set KEYWARD_PASSWORD), or --no-password",
    )?;
    let made = request.write(password.as_deref().map(String::as_str))?;
    let files = report::NewFiles {
        cer: &made.cer,
        pem: &made.pem,
        key: &made.key_path,
        pfx: &made.pfx,
        combined: made.combined.as_deref(),
        encrypted: password.is_some(),
        legacy_pfx: args.legacy_pfx,
    };
    report::print_new(&made.certificate, &made.key, &files, args.json)
}

/// The password for a new key and .pfx: given, none (`no_password`), or asked for at a
/// terminal; elsewhere an error naming `flags` to give.
pub(crate) fn new_password(
    flag: Option<&str>,
    file: Option<&Path>,
    no_password: bool,
    flags: &str,
) -> anyhow::Result<Option<Password>> {
    match password::given(flag, file)? {
        Some(pw) => Ok(Some(pw)),
        None if no_password => Ok(None),
        None if password::can_prompt() => password::prompt_new("the private key and the .pfx"),
        None => bail!(
            "no password given, and standard input is not a terminal to ask for one; give {flags} to write the key unencrypted"
        ),
    }
}

/// A self-signed certificate and key to make, and where: `PREFIX.cer`, `.pem`, `.key`, `.pfx`
/// (what `keyward cert new` writes, and `keyward app cert rotate` reuses).
pub(crate) struct NewCertificate {
    /// The subject.
    pub subject: Name,
    /// The key type.
    pub key_type: KeyType,
    /// How long it is valid.
    pub validity: Validity,
    /// Subject alternative names.
    pub sans: Vec<SubjectAltName>,
    /// The path prefix of the four files.
    pub prefix: PathBuf,
    /// Protect the .pfx the old way (3DES, SHA-1 MAC).
    pub legacy_pfx: bool,
    /// Also write `PREFIX.combined.pem`: the key then the certificate, in one file (what
    /// `AZURE_CLIENT_CERTIFICATE_PATH` reads).
    pub combined: bool,
    /// Overwrite existing files.
    pub force: bool,
}

/// What [`NewCertificate::write`] made.
pub(crate) struct MadeCertificate {
    pub certificate: Certificate,
    pub key: PrivateKey,
    pub cer: PathBuf,
    pub pem: PathBuf,
    pub key_path: PathBuf,
    pub pfx: PathBuf,
    /// `PREFIX.combined.pem`, when asked for.
    pub combined: Option<PathBuf>,
}

impl NewCertificate {
    fn paths(&self) -> [PathBuf; 4] {
        ["cer", "pem", "key", "pfx"].map(|ext| with_suffix(&self.prefix, ext))
    }

    fn combined_path(&self) -> Option<PathBuf> {
        self.combined.then(|| with_suffix(&self.prefix, "combined.pem"))
    }

    /// Fails, naming them, if any of the files to write exists (unless `force`).
    pub(crate) fn check_absent(&self) -> anyhow::Result<()> {
        let [cer, pem, key, pfx] = self.paths();
        let combined = self.combined_path();
        let mut targets = vec![cer.as_path(), pem.as_path(), key.as_path(), pfx.as_path()];
        targets.extend(combined.as_deref());
        files::check_absent(&targets, self.force)
    }

    /// Generates the key and certificate and writes the four files (the key and .pfx 0600,
    /// encrypted with `password` when there is one); on a failure, removes what it wrote.
    pub(crate) fn write(&self, password: Option<&str>) -> anyhow::Result<MadeCertificate> {
        self.check_absent()?;
        let [cer, pem, key_path, pfx] = self.paths();
        let mut spec = CertificateSpec::new(self.subject.clone()).validity(self.validity);
        for san in &self.sans {
            spec = spec.subject_alt_name(san.clone());
        }
        let key = PrivateKey::generate(self.key_type)?;
        let certificate = spec.self_signed(&key)?;
        let key_pem = key.to_pkcs8_pem(password)?;
        let encryption = if self.legacy_pfx {
            PfxEncryption::Legacy3Des
        } else {
            PfxEncryption::Aes256
        };
        let pfx_der = keyward_pki::write_pfx(&certificate, &[], &key, password.unwrap_or(""), encryption)?;
        let cert_pem = certificate.pem();
        let combined = self.combined_path();
        // Key first, then the certificate: the order of Key Vault's PEM secrets, which every
        // reader of AZURE_CLIENT_CERTIFICATE_PATH accepts.
        let combined_pem = Zeroizing::new(format!("{}{}", key_pem.as_str(), cert_pem));
        let mut outputs: Vec<(&Path, &[u8], Access)> = vec![
            (&cer, certificate.der(), Access::Public),
            (&pem, cert_pem.as_bytes(), Access::Public),
            (&key_path, key_pem.as_bytes(), Access::OwnerOnly),
            (&pfx, &pfx_der, Access::OwnerOnly),
        ];
        if let Some(path) = &combined {
            outputs.push((path, combined_pem.as_bytes(), Access::OwnerOnly));
        }
        let mut written: Vec<&Path> = Vec::new();
        for (path, contents, access) in outputs {
            if let Err(err) = files::write_new(path, contents, access, self.force) {
                for done in written {
                    std::fs::remove_file(done).ok();
                }
                return Err(err);
            }
            written.push(path);
        }
        Ok(MadeCertificate {
            certificate,
            key,
            cer,
            pem,
            key_path,
            pfx,
            combined,
        })
    }
}

fn show(args: ShowArgs) -> anyhow::Result<()> {
    let given = given_password(&args.password)?;
    let (mut contents, used) = load(&args.file, given)?;
    let mut key_file = None;
    if let Some(key_path) = &args.key {
        let (key_contents, _) = load(key_path, used)?;
        let key = key_contents
            .private_key
            .ok_or(keyward_pki::Error::MissingPrivateKey)
            .with_context(|| key_path.display().to_string())?;
        contents = contents
            .with_private_key(key)
            .with_context(|| format!("{} and {}", args.file.display(), key_path.display()))?;
        key_file = Some(key_path.as_path());
    }
    report::print_show(&args.file, key_file, &contents, args.json)
}

fn extract_key(args: ExtractKeyArgs) -> anyhow::Result<()> {
    let given = given_password(&args.password)?;
    let (contents, _) = load(&args.file, given)?;
    let key = contents
        .private_key
        .as_ref()
        .ok_or(keyward_pki::Error::MissingPrivateKey)
        .with_context(|| args.file.display().to_string())?;
    let out = args.out.clone().unwrap_or_else(|| args.file.with_extension("key"));
    let to_stdout = out.as_os_str() == "-";
    if !to_stdout && same_file(&out, &args.file) {
        bail!(
            "the output {} would replace the input; choose another name with --out",
            out.display()
        );
    }
    if !to_stdout {
        files::check_absent(&[&out], args.force)?;
    }
    let new_password = match password::given(args.new_password.as_deref(), args.new_password_file.as_deref())? {
        Some(pw) => Some(pw),
        None if args.no_encrypt => None,
        None if password::can_prompt() => password::prompt_new("the extracted key")?,
        None => bail!(
            "no new password given, and standard input is not a terminal to ask for one; give --new-password-file FILE \
             (or set KEYWARD_NEW_PASSWORD), or --no-encrypt to write the key unencrypted"
        ),
    };
    let pem = key.to_pkcs8_pem(new_password.as_deref().map(String::as_str))?;
    if to_stdout {
        return crate::output::emit(&pem);
    }
    files::write_new(&out, pem.as_bytes(), Access::OwnerOnly, args.force)?;
    report::print_extracted(&out, &contents, new_password.is_some(), args.json)
}

fn given_password(args: &PasswordArgs) -> anyhow::Result<Option<Password>> {
    password::given(args.password.as_deref(), args.password_file.as_deref())
}

/// Reads a file; when it needs a password we were not given and a person is at the terminal,
/// asks for it. Returns the contents and the password that opened them.
fn load(path: &Path, password: Option<Password>) -> anyhow::Result<(Contents, Option<Password>)> {
    let name = path.display().to_string();
    let bytes = files::read_limited(path, MAX_INPUT).with_context(|| format!("cannot read {name}"))?;
    match keyward_pki::read(&bytes, password.as_deref().map(String::as_str)) {
        Err(keyward_pki::Error::PasswordRequired { .. }) if password.is_none() && password::can_prompt() => {
            let asked = password::prompt_existing(&name)?;
            let contents = keyward_pki::read(&bytes, Some(&asked)).with_context(|| name.clone())?;
            Ok((contents, Some(asked)))
        }
        result => Ok((result.with_context(|| name.clone())?, password)),
    }
}

/// The CN made safe as a file name, e.g. `CN=ciam client/app` -> `ciam-client-app`.
pub(crate) fn default_prefix(subject: &Name) -> PathBuf {
    let cn = subject.common_name().unwrap_or("certificate");
    let safe: String = cn
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches(['-', '.'])
        .to_owned();
    PathBuf::from(if safe.is_empty() {
        "certificate".to_owned()
    } else {
        safe
    })
}

/// `prefix` + `.ext`, keeping any dots already in the prefix (`app.v2` -> `app.v2.cer`).
fn with_suffix(prefix: &Path, ext: &str) -> PathBuf {
    let mut name = OsString::from(prefix.as_os_str());
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_prefix_is_a_safe_file_name() {
        let name = |s| default_prefix(&Name::parse(s).unwrap());
        assert_eq!(name("CN=ciam-client-app"), PathBuf::from("ciam-client-app"));
        assert_eq!(name("CN=../../etc/passwd"), PathBuf::from("etc-passwd"));
        assert_eq!(name("CN=my app/v2,O=X"), PathBuf::from("my-app-v2"));
        assert_eq!(name("O=NoCommonName"), PathBuf::from("certificate"));
    }

    #[test]
    fn suffix_keeps_dots_in_the_prefix() {
        assert_eq!(
            with_suffix(Path::new("out/app.v2"), "cer"),
            PathBuf::from("out/app.v2.cer")
        );
    }
}
