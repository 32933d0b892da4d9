//! Just enough of a browser for a customer sign-in: PKCE, the authorize URL MSAL Node sends,
//! cookies of one flow, the sign-in page's form, and the code in the redirect.

use anyhow::Context;
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{GetAll, HeaderValue};

use super::traffic::WebApp;

/// The `state` sent and expected back.
const STATE: &str = "soak-state";

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> anyhow::Result<(String, String)> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).context("no random bytes for PKCE")?;
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    Ok((verifier, challenge))
}

/// The authorize URL with MSAL Node's parameters.
pub fn authorize_url(origin: &str, tenant: &str, app: &WebApp, challenge: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &app.app_id)
        .append_pair("scope", "openid profile offline_access")
        .append_pair("redirect_uri", &app.redirect)
        .append_pair("response_mode", "query")
        .append_pair("response_type", "code")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", STATE)
        .append_pair("nonce", "soak-nonce")
        .finish();
    format!("{origin}/{tenant}/oauth2/v2.0/authorize?{query}")
}

/// The code in a redirect to `redirect` that carries our `state` back.
pub fn code_in(location: &str, redirect: &str) -> Option<String> {
    let query = location.strip_prefix(redirect)?.strip_prefix('?')?;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let value = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    (value("state")? == STATE).then_some(())?;
    value("code")
}

/// The cookies one flow received (`name=value` only).
#[derive(Default)]
pub struct Cookies(Vec<(String, String)>);

impl Cookies {
    /// Keeps the cookies of `Set-Cookie` headers.
    pub fn take(&mut self, headers: GetAll<'_, HeaderValue>) {
        for value in headers {
            let Some((name, rest)) = value.to_str().ok().and_then(|v| v.split_once('=')) else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or_default();
            self.0.retain(|(n, _)| n != name);
            self.0.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }

    /// The `Cookie` header to send, if there are any.
    pub fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// A page's form: where it posts and its inputs.
pub struct Form {
    /// The `action` attribute.
    pub action: String,
    fields: Vec<(String, String)>,
}

impl Form {
    /// The page's first form.
    pub fn first(page: &str) -> Option<Self> {
        let start = page.find("<form")?;
        let end = page[start..].find("</form>")? + start;
        let html = &page[start..end];
        let tag_end = html.find('>')?;
        let action = attribute(&html[..tag_end], "action")?;
        let mut fields = Vec::new();
        let mut rest = html;
        while let Some(i) = rest.find("<input") {
            let tag = &rest[i..];
            let close = tag.find('>')?;
            if let Some(name) = attribute(&tag[..close], "name") {
                fields.push((name, attribute(&tag[..close], "value").unwrap_or_default()));
            }
            rest = &rest[i + close..];
        }
        Some(Self { action, fields })
    }

    /// The form's fields with `values` filled in (over the form's own, or added).
    pub fn filled(&self, values: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut fields = self.fields.clone();
        for (name, value) in values {
            match fields.iter_mut().find(|(n, _)| n == name) {
                Some(field) => field.1 = (*value).to_owned(),
                None => fields.push(((*name).to_owned(), (*value).to_owned())),
            }
        }
        fields
    }
}

/// An attribute's value in a tag, the entities the server's templates write decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(decode(&tag[start..end]))
}

fn decode(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let Some(end) = rest[i..].find(';') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let entity = &rest[i + 1..i + end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix('#')
                .and_then(|n| n.parse::<u32>().ok())
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&rest[i..=i + end]),
        }
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_its_hidden_fields_and_entities() {
        let page = r#"<p>x</p><form method="post" action="/t/login?a=1&amp;b=2"><input type="hidden" name="flow" value="a&#43;b"><input name="email" value=""><input type="password" name="password"><button>Go</button></form>"#;
        let form = Form::first(page).unwrap();
        assert_eq!(form.action, "/t/login?a=1&b=2");
        let filled = form.filled(&[("email", "e@x"), ("password", "pw"), ("extra", "1")]);
        assert_eq!(
            filled,
            [("flow", "a+b"), ("email", "e@x"), ("password", "pw"), ("extra", "1")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert!(Form::first("<p>no form</p>").is_none());
    }

    #[test]
    fn the_code_only_from_our_redirect_with_our_state() {
        let r = "https://localhost:3000/auth/redirect";
        assert_eq!(
            code_in(&format!("{r}?code=abc&state={STATE}"), r).as_deref(),
            Some("abc")
        );
        assert_eq!(code_in(&format!("{r}?code=abc&state=other"), r), None);
        assert_eq!(code_in("https://evil/?code=abc&state=soak-state", r), None);
        assert_eq!(code_in(&format!("{r}?error=access_denied&state={STATE}"), r), None);
    }

    #[test]
    fn cookies_replace_by_name() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.append("set-cookie", HeaderValue::from_static("a=1; Secure; HttpOnly"));
        headers.append("set-cookie", HeaderValue::from_static("b=2; Path=/"));
        headers.append("set-cookie", HeaderValue::from_static("a=3; Secure"));
        let mut cookies = Cookies::default();
        assert_eq!(cookies.header(), None);
        cookies.take(headers.get_all("set-cookie"));
        assert_eq!(cookies.header().as_deref(), Some("b=2; a=3"));
    }
}
