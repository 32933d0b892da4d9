//! Microsoft's host names, which the server also answers for when started in the Azure host
//! names mode (`keyward serve --azure-hosts`), so that code written for Entra and Key Vault runs
//! unchanged: the hosts file points these names at Keyward, and the data directory's own
//! Azure-hosts CA (name-constrained to exactly these domains, never trusted system-wide unless
//! asked) vouches for them.
//!
//! [`AzureHost::of`] tells which of Microsoft's services a request's host name stands for; the
//! HTTP layer answers in that service's exact form (its issuer, its endpoints).

/// The sign-in hosts of Entra ID's global cloud (`login.windows.net` is the one Key Vault's
/// challenge names).
pub const LOGIN_HOSTS: [&str; 3] = ["login.microsoftonline.com", "login.microsoft.com", "login.windows.net"];
/// External ID's (CIAM) sign-in domain: `{tenant}.ciamlogin.com`.
pub const CIAM_DOMAIN: &str = "ciamlogin.com";
/// Azure Resource Manager.
pub const MANAGEMENT_HOST: &str = "management.azure.com";
/// Key Vault's domain: `{vault}.vault.azure.net`.
pub const VAULT_DOMAIN: &str = "vault.azure.net";

/// Which of Microsoft's services a host name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AzureHost<'a> {
    /// `login.microsoftonline.com` or `login.microsoft.com` (the host, lower case).
    Login(&'a str),
    /// `{subdomain}.ciamlogin.com`: External ID's sign-in host of a tenant.
    Ciam {
        /// The first label: the tenant's name or id.
        subdomain: &'a str,
    },
    /// `management.azure.com`.
    Management,
    /// `{vault}.vault.azure.net`.
    Vault {
        /// The vault's name.
        name: &'a str,
    },
}

impl<'a> AzureHost<'a> {
    /// The service `host` (a `Host` header's name, without port, lower case) stands for, if it
    /// is one of Microsoft's that the mode answers for.
    pub fn of(host: &'a str) -> Option<Self> {
        if let Some(login) = LOGIN_HOSTS.iter().find(|h| **h == host) {
            return Some(Self::Login(login));
        }
        if host == MANAGEMENT_HOST {
            return Some(Self::Management);
        }
        let single_label = |label: &str| {
            !label.is_empty() && label.len() <= 63 && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if let Some(subdomain) = host.strip_suffix(CIAM_DOMAIN).and_then(|h| h.strip_suffix('.'))
            && single_label(subdomain)
        {
            return Some(Self::Ciam { subdomain });
        }
        if let Some(name) = host.strip_suffix(VAULT_DOMAIN).and_then(|h| h.strip_suffix('.'))
            && single_label(name)
        {
            return Some(Self::Vault { name });
        }
        None
    }
}

/// The origin of a request that reached the server as one of Microsoft's sign-in hosts, from
/// its `Host` (or HTTP/2 `:authority`) value: `https://login.microsoftonline.com`,
/// `https://contoso.ciamlogin.com` (a port kept if the client sent one). `None` for any other
/// host: the server's own public URL answers.
pub fn sign_in_origin(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let name = host.rsplit_once(':').map_or(host.as_str(), |(name, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            name
        } else {
            host.as_str()
        }
    });
    matches!(AzureHost::of(name), Some(AzureHost::Login(_) | AzureHost::Ciam { .. })).then(|| format!("https://{host}"))
}

/// Whether `origin` (from [`sign_in_origin`]) may speak for the tenant `name`/`id`: a
/// `{subdomain}.ciamlogin.com` origin only for the tenant it names (by name or id); the
/// `login.*` hosts for every tenant.
pub fn origin_serves(origin: &str, tenant_name: &str, tenant_id: &str) -> bool {
    let host = origin.trim_start_matches("https://");
    let name = host.split(':').next().unwrap_or(host);
    match AzureHost::of(name) {
        Some(AzureHost::Ciam { subdomain }) => subdomain == tenant_name || subdomain == tenant_id,
        Some(AzureHost::Login(_)) => true,
        _ => false,
    }
}

/// Whether `iss` is the issuer a tenant has at one of Microsoft's sign-in hosts that may speak
/// for it: `https://{host}/{tenant_id}/v2.0`.
pub fn is_sign_in_issuer(iss: &str, tenant_name: &str, tenant_id: &str) -> bool {
    let Some((host, path)) = iss.strip_prefix("https://").and_then(|rest| rest.split_once('/')) else {
        return false;
    };
    path.strip_prefix(tenant_id) == Some("/v2.0")
        && sign_in_origin(host).is_some_and(|origin| origin_serves(&origin, tenant_name, tenant_id))
}

/// The names the Azure-hosts TLS certificate covers.
pub fn certificate_names() -> Vec<String> {
    let mut names: Vec<String> = LOGIN_HOSTS.iter().map(|h| (*h).to_owned()).collect();
    names.push(MANAGEMENT_HOST.to_owned());
    names.push(format!("*.{CIAM_DOMAIN}"));
    names.push(format!("*.{VAULT_DOMAIN}"));
    names
}

/// The DNS subtrees the Azure-hosts CA is constrained to: it can vouch for nothing else.
pub fn permitted_domains() -> Vec<String> {
    let mut domains: Vec<String> = LOGIN_HOSTS.iter().map(|h| (*h).to_owned()).collect();
    domains.extend([
        MANAGEMENT_HOST.to_owned(),
        CIAM_DOMAIN.to_owned(),
        VAULT_DOMAIN.to_owned(),
    ]);
    domains
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsofts_hosts_are_recognised_and_nothing_else() {
        assert_eq!(
            AzureHost::of("login.microsoftonline.com"),
            Some(AzureHost::Login("login.microsoftonline.com"))
        );
        assert_eq!(
            AzureHost::of("contoso.ciamlogin.com"),
            Some(AzureHost::Ciam { subdomain: "contoso" })
        );
        assert_eq!(
            AzureHost::of("kv-1.vault.azure.net"),
            Some(AzureHost::Vault { name: "kv-1" })
        );
        assert_eq!(AzureHost::of("management.azure.com"), Some(AzureHost::Management));
        for other in [
            "localhost",
            "ciamlogin.com",
            ".ciamlogin.com",
            "a.b.ciamlogin.com",
            "evilciamlogin.com",
            "contoso.ciamlogin.com.evil.example",
            "vault.azure.net",
            "login.microsoftonline.com.evil.example",
            "x_y.vault.azure.net",
        ] {
            assert_eq!(AzureHost::of(other), None, "{other}");
        }
    }

    #[test]
    fn a_sign_in_origin_is_one_of_microsofts_sign_in_hosts() {
        assert_eq!(
            sign_in_origin("login.microsoftonline.com").as_deref(),
            Some("https://login.microsoftonline.com")
        );
        assert_eq!(
            sign_in_origin("Contoso.CIAMlogin.com:443").as_deref(),
            Some("https://contoso.ciamlogin.com:443")
        );
        for other in [
            "localhost:8443",
            "kv.vault.azure.net",
            "management.azure.com",
            "login.microsoftonline.com.evil",
        ] {
            assert_eq!(sign_in_origin(other), None, "{other}");
        }
    }

    #[test]
    fn a_ciam_host_speaks_only_for_its_own_tenant() {
        let id = "6d1f6c57-0000-4000-8000-000000000001";
        assert!(origin_serves("https://contoso.ciamlogin.com", "contoso", id));
        assert!(origin_serves(&format!("https://{id}.ciamlogin.com"), "contoso", id));
        assert!(!origin_serves("https://fabrikam.ciamlogin.com", "contoso", id));
        assert!(origin_serves("https://login.microsoftonline.com", "contoso", id));
        assert!(is_sign_in_issuer(
            &format!("https://{id}.ciamlogin.com/{id}/v2.0"),
            "contoso",
            id
        ));
        assert!(is_sign_in_issuer(
            &format!("https://login.microsoftonline.com/{id}/v2.0"),
            "contoso",
            id
        ));
        assert!(!is_sign_in_issuer(
            &format!("https://fabrikam.ciamlogin.com/{id}/v2.0"),
            "contoso",
            id
        ));
        assert!(!is_sign_in_issuer(
            &format!("https://evil.example/{id}/v2.0"),
            "contoso",
            id
        ));
        assert!(!is_sign_in_issuer(
            &format!("https://login.microsoftonline.com/{id}/v2.0/x"),
            "contoso",
            id
        ));
    }

    #[test]
    fn every_certificate_name_lies_within_a_permitted_domain() {
        let domains = permitted_domains();
        for name in certificate_names() {
            let bare = name.trim_start_matches("*.");
            assert!(
                domains.iter().any(|d| bare == d || bare.ends_with(&format!(".{d}"))),
                "{name}"
            );
        }
    }
}
