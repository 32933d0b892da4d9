//! A minimal browser: HTTPS trusting the server's CA, a cookie jar (for the server's origin
//! only, as a browser keeps them), no automatic redirects (tests look at every `Location`), and
//! just enough HTML reading to fill in forms.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};

use crate::common::Server;

/// A browser session with its own cookies.
pub struct Browser {
    http: reqwest::Client,
    origin: String,
    cookies: Mutex<HashMap<String, String>>,
}

/// What the browser received.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Browser {
    pub fn new(server: &Server) -> Self {
        Self::with_headers(server, &[])
    }

    /// A browser that sends `headers` with every request (`X-Forwarded-For`, as a proxy would).
    pub fn with_headers(server: &Server, headers: &[(&str, &str)]) -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in keyward_pki::read(&server.ca_pem(), None).expect("CA").certificates {
            roots
                .add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
                .expect("root");
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let headers = headers
            .iter()
            .map(|(name, value)| {
                (
                    reqwest::header::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                    reqwest::header::HeaderValue::from_str(value).expect("header value"),
                )
            })
            .collect();
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            http,
            origin: server.url.clone(),
            cookies: Mutex::new(HashMap::new()),
        }
    }

    /// An absolute URL for a path of the server.
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("https://") || path_or_url.starts_with("http://") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.origin)
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub fn cookie_names(&self) -> Vec<String> {
        self.cookies.lock().unwrap().keys().cloned().collect()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.lock().unwrap().insert(name.into(), value.into());
    }

    pub fn forget_cookies(&self) {
        self.cookies.lock().unwrap().clear();
    }

    fn with_cookies(&self, url: &str, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let cookies = self.cookies.lock().unwrap();
        if !url.starts_with(&self.origin) || cookies.is_empty() {
            return request;
        }
        let header: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        request.header(COOKIE, header.join("; "))
    }

    async fn receive(&self, url: &str, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if url.starts_with(&self.origin) {
            let mut cookies = self.cookies.lock().unwrap();
            for value in headers.get_all(SET_COOKIE) {
                let value = value.to_str().expect("ASCII cookie");
                let mut parts = value.split(';');
                let (name, val) = parts.next().unwrap().split_once('=').expect("name=value");
                let attributes: Vec<String> = parts.map(|a| a.trim().to_ascii_lowercase()).collect();
                assert!(
                    attributes.iter().any(|a| a == "secure"),
                    "cookie without Secure: {value}"
                );
                assert!(
                    attributes.iter().any(|a| a == "httponly"),
                    "cookie without HttpOnly: {value}"
                );
                assert!(
                    attributes.iter().any(|a| a == "samesite=lax" || a == "samesite=strict"),
                    "cookie without SameSite: {value}"
                );
                if attributes.iter().any(|a| a == "max-age=0") {
                    cookies.remove(name.trim());
                } else {
                    cookies.insert(name.trim().to_owned(), val.trim().to_owned());
                }
            }
        }
        let body = response.text().await.unwrap_or_default();
        Page { status, headers, body }
    }

    pub async fn get(&self, url: &str) -> Page {
        let url = self.url(url);
        let response = self.with_cookies(&url, self.http.get(&url)).send().await.expect("GET");
        self.receive(&url, response).await
    }

    pub async fn post(&self, url: &str, fields: &[(String, String)]) -> Page {
        let url = self.url(url);
        let response = self
            .with_cookies(&url, self.http.post(&url).form(fields))
            .send()
            .await
            .expect("POST");
        self.receive(&url, response).await
    }

    /// Fills in the page's form with `values` (over its own fields) and submits it.
    pub async fn submit(&self, page: &Page, values: &[(&str, &str)]) -> Page {
        let form = page.form();
        let mut fields = form.fields.clone();
        for (name, value) in values {
            match fields.iter_mut().find(|(n, _)| n == name) {
                Some(field) => field.1 = (*value).to_owned(),
                None => fields.push(((*name).to_owned(), (*value).to_owned())),
            }
        }
        self.post(&form.action, &fields).await
    }
}

/// A form on a page.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl Page {
    pub fn location(&self) -> Option<String> {
        self.headers
            .get(LOCATION)
            .map(|v| v.to_str().expect("ASCII location").to_owned())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first form: its action and its inputs' names and values.
    pub fn form(&self) -> Form {
        self.form_at("<form")
    }

    /// The form whose action is `action`.
    pub fn form_to(&self, action: &str) -> Form {
        self.form_at(&format!("action=\"{action}\""))
    }

    fn form_at(&self, marker: &str) -> Form {
        let at = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no form {marker} on the page:\n{}", self.body));
        let start = self.body[..at + marker.len()].rfind("<form").expect("<form");
        let end = self.body[start..].find("</form>").expect("</form>") + start;
        let html = &self.body[start..end];
        let tag_end = html.find('>').expect("form tag");
        let action = attribute(&html[..tag_end], "action").expect("action");
        let mut fields = Vec::new();
        let mut rest = html;
        while let Some(i) = rest.find("<input") {
            let tag = &rest[i..];
            let close = tag.find('>').expect("input tag end");
            let tag = &tag[..close];
            if let Some(name) = attribute(tag, "name") {
                fields.push((name, attribute(tag, "value").unwrap_or_default()));
            }
            rest = &rest[i + close..];
        }
        Form { action, fields }
    }

    /// The text of the page's error message, if it shows one.
    pub fn error_message(&self) -> Option<String> {
        let start = self.body.find("class=\"error\"")?;
        let text = &self.body[start..];
        let open = text.find('>')? + 1;
        let close = text.find("</p>")?;
        Some(decode(&text[open..close]))
    }
}

/// An attribute's value in a tag, entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(decode(&tag[start..end]))
}

/// Decodes the HTML entities askama writes.
pub fn decode(text: &str) -> String {
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

/// The query (or fragment) parameters of a URL.
pub fn params(url: &str) -> HashMap<String, String> {
    let query = url.split_once(['?', '#']).map(|(_, q)| q).unwrap_or_default();
    let parsed = reqwest::Url::parse(&format!("https://x/?{query}")).expect("query");
    parsed.query_pairs().into_owned().collect()
}
