//! Authority URLs: Entra ID (`https://login.microsoftonline.com/{tenant}`), External ID
//! (`https://{sub}.ciamlogin.com/`, which MSAL rewrites to `.../{sub}.onmicrosoft.com`), and any
//! Keyward server (`https://HOST:PORT/{tenant}`).

use url::Url;

use crate::error::{Error, Result};

/// A parsed authority: an HTTPS origin and a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Authority {
    origin: String,
    tenant: String,
}

impl Authority {
    /// Parses and normalises an authority URL.
    pub fn parse(input: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidAuthority {
            url: input.to_owned(),
            reason,
        };
        let url = Url::parse(input.trim()).map_err(|_| invalid("not a URL"))?;
        if url.scheme() != "https" {
            return Err(invalid("an authority must be https://"));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("an authority has no query, fragment or user info"));
        }
        let host = url.host_str().ok_or_else(|| invalid("no host"))?.to_ascii_lowercase();
        let origin = match url.port() {
            Some(port) => format!("https://{host}:{port}"),
            None => format!("https://{host}"),
        };
        let mut segments = url.path_segments().into_iter().flatten().filter(|s| !s.is_empty());
        let first = segments.next().map(str::to_owned);
        if segments.next().is_some_and(|s| s != "v2.0") {
            return Err(invalid(
                "the authority is https://HOST/TENANT, with nothing after the tenant",
            ));
        }
        let tenant = match (first, host.strip_suffix(".ciamlogin.com")) {
            (Some(tenant), _) => tenant,
            // External ID: https://contoso.ciamlogin.com/ means the contoso.onmicrosoft.com tenant.
            (None, Some(sub)) if !sub.is_empty() && !sub.contains('.') => format!("{sub}.onmicrosoft.com"),
            (None, _) => return Err(invalid("the authority needs a tenant: https://HOST/TENANT")),
        };
        Ok(Self { origin, tenant })
    }

    /// `https://host[:port]`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tenant segment: a GUID, a domain, or a name.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// `https://host[:port]/tenant`.
    pub fn url(&self) -> String {
        format!("{}/{}", self.origin, self.tenant)
    }

    /// Where the OpenID Connect metadata is.
    pub fn metadata_url(&self) -> String {
        format!("{}/v2.0/.well-known/openid-configuration", self.url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_external_id_and_keyward_shapes() {
        let entra = Authority::parse("https://login.microsoftonline.com/contoso.onmicrosoft.com").unwrap();
        assert_eq!(entra.url(), "https://login.microsoftonline.com/contoso.onmicrosoft.com");
        let guid =
            Authority::parse("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0").unwrap();
        assert_eq!(guid.tenant(), "72f988bf-86f1-41af-91ab-2d7cd011db47");
        let ciam = Authority::parse("https://Contoso.ciamlogin.com/").unwrap();
        assert_eq!(ciam.url(), "https://contoso.ciamlogin.com/contoso.onmicrosoft.com");
        let ciam_tenant = Authority::parse("https://contoso.ciamlogin.com/contoso.onmicrosoft.com").unwrap();
        assert_eq!(ciam, ciam_tenant);
        let keyward = Authority::parse("https://localhost:8443/contoso/").unwrap();
        assert_eq!(keyward.url(), "https://localhost:8443/contoso");
        assert_eq!(
            keyward.metadata_url(),
            "https://localhost:8443/contoso/v2.0/.well-known/openid-configuration"
        );
    }

    #[test]
    fn refuses_what_is_not_an_authority() {
        for bad in [
            "http://localhost:8443/contoso",
            "https://login.microsoftonline.com/",
            "https://localhost:8443/contoso/oauth2/v2.0/token",
            "https://localhost:8443/contoso?x=1",
            "https://user:pw@localhost/contoso",
            "contoso",
            "",
        ] {
            assert!(Authority::parse(bad).is_err(), "{bad}");
        }
    }
}
