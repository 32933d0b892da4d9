//! Object names and version ids.

use crate::error::{Error, Result};

/// The longest certificate or secret name Key Vault accepts.
pub const MAX_NAME_LEN: usize = 127;

/// Checks a certificate or secret name: 1 to 127 ASCII letters, digits and hyphens. Names are
/// compared case-insensitively; the spelling of the first version is kept.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = (1..=MAX_NAME_LEN).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(name.chars().take(MAX_NAME_LEN + 1).collect()))
    }
}

/// A new version id: 32 random lowercase hex digits, as Key Vault's.
pub(crate) fn new_version() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A version id as a client may send it, in lowercase; `None` for anything that cannot be one
/// (which then names no version).
pub(crate) fn version_key(version: &str) -> Option<String> {
    (version.len() == 32 && version.bytes().all(|b| b.is_ascii_hexdigit())).then(|| version.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        for good in ["a", "My-Cert-01", &"x".repeat(127)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "a_b", "a.b", "a b", "ü", &"x".repeat(128), "a/b"] {
            assert!(matches!(check_name(bad), Err(Error::InvalidName(_))), "{bad}");
        }
        let v = new_version();
        assert_eq!(v.len(), 32);
        assert_eq!(version_key(&v.to_ascii_uppercase()), Some(v));
        assert_eq!(version_key("pending"), None);
    }
}
