//! Where passwords come from: a flag, a file, an environment variable (through clap), or a
//! prompt on the terminal. Never a prompt when standard input is not a terminal.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, bail};
use zeroize::Zeroizing;

use crate::files;

/// A password, wiped from memory when dropped and never printed.
pub type Password = Zeroizing<String>;

/// Reads the first line of a password file (without its line end).
pub fn from_file(path: &Path) -> anyhow::Result<Password> {
    let bytes = files::read_limited(path, 64 * 1024)
        .with_context(|| format!("cannot read the password file {}", path.display()))?;
    let text = Zeroizing::new(
        String::from_utf8(bytes).with_context(|| format!("the password file {} is not UTF-8", path.display()))?,
    );
    Ok(Zeroizing::new(text.lines().next().unwrap_or_default().to_owned()))
}

/// The password given by flag, environment or file, if any.
pub fn given(flag: Option<&str>, file: Option<&Path>) -> anyhow::Result<Option<Password>> {
    match (flag, file) {
        (Some(pw), _) => Ok(Some(Zeroizing::new(pw.to_owned()))),
        (None, Some(path)) => from_file(path).map(Some),
        (None, None) => Ok(None),
    }
}

/// Whether we may ask the user.
pub fn can_prompt() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks for the password of an existing file.
pub fn prompt_existing(what: &str) -> anyhow::Result<Password> {
    let pw = rpassword::prompt_password(format!("Password for {what}: "))
        .context("cannot read the password from the terminal")?;
    Ok(Zeroizing::new(pw))
}

/// Asks for a new password twice; Enter means none.
pub fn prompt_new(what: &str) -> anyhow::Result<Option<Password>> {
    let first = Zeroizing::new(
        rpassword::prompt_password(format!("Password for {what} (Enter for none): "))
            .context("cannot read the password from the terminal")?,
    );
    if first.is_empty() {
        return Ok(None);
    }
    let second = Zeroizing::new(
        rpassword::prompt_password("Repeat the password: ").context("cannot read the password from the terminal")?,
    );
    if *first != *second {
        bail!("the two passwords differ; nothing was written");
    }
    Ok(Some(first))
}
