//! Distinguished names typed by people: `CN=my-app,O=Contoso` (RFC 4514 order and escaping,
//! `;` as well as `,`, quoted values as Windows writes them) or OpenSSL's `/CN=my-app/O=Contoso`.

use rcgen::{DistinguishedName, DnType, DnValue};

use crate::error::{Error, Result};

/// A parsed subject or issuer name, attributes in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    attributes: Vec<(Attribute, String)>,
}

/// The attribute types a name may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attribute {
    CommonName,
    Organization,
    OrganizationalUnit,
    Country,
    State,
    Locality,
    Street,
    Email,
    DomainComponent,
    SerialNumber,
    Title,
    GivenName,
    Surname,
    UserId,
}

impl Attribute {
    fn from_keyword(keyword: &str) -> Option<Self> {
        Some(match keyword.to_ascii_uppercase().as_str() {
            "CN" | "2.5.4.3" => Self::CommonName,
            "O" | "2.5.4.10" => Self::Organization,
            "OU" | "2.5.4.11" => Self::OrganizationalUnit,
            "C" | "2.5.4.6" => Self::Country,
            "ST" | "S" | "2.5.4.8" => Self::State,
            "L" | "2.5.4.7" => Self::Locality,
            "STREET" | "2.5.4.9" => Self::Street,
            "E" | "EMAIL" | "EMAILADDRESS" | "1.2.840.113549.1.9.1" => Self::Email,
            "DC" | "0.9.2342.19200300.100.1.25" => Self::DomainComponent,
            "SERIALNUMBER" | "2.5.4.5" => Self::SerialNumber,
            "T" | "TITLE" | "2.5.4.12" => Self::Title,
            "G" | "GN" | "GIVENNAME" | "2.5.4.42" => Self::GivenName,
            "SN" | "SURNAME" | "2.5.4.4" => Self::Surname,
            "UID" | "0.9.2342.19200300.100.1.1" => Self::UserId,
            _ => return None,
        })
    }

    fn dn_type(self) -> DnType {
        let custom = |arcs: &[u64]| DnType::CustomDnType(arcs.to_vec());
        match self {
            Self::CommonName => DnType::CommonName,
            Self::Organization => DnType::OrganizationName,
            Self::OrganizationalUnit => DnType::OrganizationalUnitName,
            Self::Country => DnType::CountryName,
            Self::State => DnType::StateOrProvinceName,
            Self::Locality => DnType::LocalityName,
            Self::Street => custom(&[2, 5, 4, 9]),
            Self::Email => custom(&[1, 2, 840, 113549, 1, 9, 1]),
            Self::DomainComponent => custom(&[0, 9, 2342, 19200300, 100, 1, 25]),
            Self::SerialNumber => custom(&[2, 5, 4, 5]),
            Self::Title => custom(&[2, 5, 4, 12]),
            Self::GivenName => custom(&[2, 5, 4, 42]),
            Self::Surname => custom(&[2, 5, 4, 4]),
            Self::UserId => custom(&[0, 9, 2342, 19200300, 100, 1, 1]),
        }
    }

    fn value(self, text: &str) -> DnValue {
        match self {
            Self::Country => match text.try_into() {
                Ok(printable) => DnValue::PrintableString(printable),
                Err(_) => DnValue::Utf8String(text.to_owned()),
            },
            Self::Email | Self::DomainComponent => match text.try_into() {
                Ok(ia5) => DnValue::Ia5String(ia5),
                Err(_) => DnValue::Utf8String(text.to_owned()),
            },
            _ => DnValue::Utf8String(text.to_owned()),
        }
    }
}

impl Name {
    /// Parses a name such as `CN=ciam-client-app,O=Contoso` or `/CN=ciam-client-app/O=Contoso`.
    pub fn parse(input: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidSubject {
            input: input.to_owned(),
            reason,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid(
                "it is empty; give at least a common name, e.g. CN=my-app".into(),
            ));
        }
        let (separators, body): (&[char], &str) = match trimmed.strip_prefix('/') {
            Some(rest) => (&['/'], rest),
            None => (&[',', ';'], trimmed),
        };
        let mut attributes = Vec::new();
        for part in split_unescaped(body, separators).map_err(invalid)? {
            let (keyword, raw_value) = part
                .split_once('=')
                .ok_or_else(|| invalid(format!("{:?} has no '='", part.trim())))?;
            let keyword = keyword.trim();
            let attribute = Attribute::from_keyword(keyword).ok_or_else(|| {
                invalid(format!("unknown attribute {keyword:?} (use CN, O, OU, C, ST, L, STREET, E, DC, SERIALNUMBER, T, GN, SN, UID or a dotted OID)"))
            })?;
            let value = unescape(raw_value.trim()).map_err(invalid)?;
            if value.is_empty() {
                return Err(invalid(format!("{keyword} has an empty value")));
            }
            if value.chars().any(char::is_control) {
                return Err(invalid(format!("{keyword} contains a control character")));
            }
            if attribute == Attribute::Country && !(value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()))
            {
                return Err(invalid(format!("C must be a two-letter country code, not {value:?}")));
            }
            if value.chars().count() > 256 {
                return Err(invalid(format!("the {keyword} value is longer than 256 characters")));
            }
            attributes.push((attribute, value));
        }
        Ok(Self { attributes })
    }

    /// The value of the first common name (CN), if any.
    pub fn common_name(&self) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(a, _)| *a == Attribute::CommonName)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn to_rcgen(&self) -> DistinguishedName {
        let mut dn = DistinguishedName::new();
        for (attribute, value) in &self.attributes {
            dn.push(attribute.dn_type(), attribute.value(value));
        }
        dn
    }
}

/// Splits on unescaped, unquoted separators. A `+` (multi-valued RDN) is refused.
fn split_unescaped<'a>(input: &'a str, separators: &[char]) -> Result<Vec<&'a str>, String> {
    let mut parts = Vec::new();
    let (mut start, mut escaped, mut quoted) = (0, false, false);
    for (i, c) in input.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '+' if !quoted && separators != ['/'] => {
                return Err("multi-valued attributes ('+') are not supported; escape a literal plus as \\+".into());
            }
            c if !quoted && separators.contains(&c) => {
                parts.push(&input[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if quoted {
        return Err("a quoted value has no closing '\"'".into());
    }
    if escaped {
        return Err("it ends with a lone backslash".into());
    }
    parts.push(&input[start..]);
    Ok(parts.into_iter().filter(|p| !p.trim().is_empty()).collect())
}

/// Removes quotes and RFC 4514 escapes (`\,` and `\2C` alike).
fn unescape(value: &str) -> Result<String, String> {
    let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner,
        None => value,
    };
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&b, after)) = rest.split_first() {
        rest = after;
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match rest {
            [h, l, tail @ ..] if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                let pair = [*h, *l];
                let hex = std::str::from_utf8(&pair).map_err(|e| e.to_string())?;
                bytes.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
                rest = tail;
            }
            [c, tail @ ..] => {
                bytes.push(*c);
                rest = tail;
            }
            [] => return Err("it ends with a lone backslash".into()),
        }
    }
    String::from_utf8(bytes).map_err(|_| "a \\XX escape makes invalid UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(input: &str) -> Vec<(Attribute, String)> {
        Name::parse(input).unwrap().attributes
    }

    #[test]
    fn parses_rfc4514_windows_and_openssl_forms() {
        let expected = vec![
            (Attribute::CommonName, "my-app".to_owned()),
            (Attribute::Organization, "Contoso".to_owned()),
        ];
        assert_eq!(attrs("CN=my-app,O=Contoso"), expected);
        assert_eq!(attrs("CN = my-app; O = Contoso"), expected);
        assert_eq!(attrs("/CN=my-app/O=Contoso"), expected);
        assert_eq!(attrs("cn=my-app, o=Contoso"), expected);
    }

    #[test]
    fn handles_escapes_and_quotes() {
        assert_eq!(attrs(r"CN=Smith\, John")[0].1, "Smith, John");
        assert_eq!(attrs(r"CN=Smith\2C John")[0].1, "Smith, John");
        assert_eq!(attrs(r#"CN="Smith, John",O=X"#)[0].1, "Smith, John");
        assert_eq!(attrs(r"CN=a\+b")[0].1, "a+b");
        assert_eq!(attrs(r"CN=caf\C3\A9")[0].1, "café");
        assert_eq!(Name::parse("CN=x,O=y").unwrap().common_name(), Some("x"));
    }

    #[test]
    fn refuses_what_it_cannot_represent() {
        for bad in [
            "",
            "my-app",
            "XX=1",
            "CN=",
            "CN=a+O=b",
            r"CN=a\",
            "CN=\"open",
            "C=USA",
            "CN=a\u{1}",
        ] {
            assert!(matches!(Name::parse(bad), Err(Error::InvalidSubject { .. })), "{bad:?}");
        }
    }
}
