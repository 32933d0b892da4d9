//! PEM text: finding blocks among other text (OpenSSL's `Bag Attributes`, `subject=` lines,
//! comments), with LF or CRLF line ends, and writing blocks.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::error::{Error, Result, corrupt};

/// One `-----BEGIN LABEL-----` ... `-----END LABEL-----` block.
pub(crate) struct Block {
    pub label: String,
    /// RFC 1421 headers, such as `Proc-Type` and `DEK-Info` of OpenSSL's traditional encryption.
    pub headers: Vec<(String, String)>,
    /// The decoded body; may be private key material, so it is wiped on drop.
    pub der: Zeroizing<Vec<u8>>,
}

impl Block {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Whether the input looks like PEM text rather than binary DER.
pub(crate) fn is_pem(input: &[u8]) -> bool {
    input.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Every PEM block in `input`, in order. Text outside blocks is ignored.
pub(crate) fn parse_all(input: &[u8]) -> Result<Vec<Block>> {
    let text = String::from_utf8_lossy(input);
    let mut blocks = Vec::new();
    let mut lines = text.split('\n').map(|l| l.trim_end_matches(['\r', ' ', '\t']));
    while let Some(line) = lines.next() {
        let Some(label) = boundary(line.trim_start(), "BEGIN") else {
            continue;
        };
        blocks.push(parse_body(label, &mut lines)?);
    }
    Ok(blocks)
}

fn boundary<'a>(line: &'a str, kind: &str) -> Option<&'a str> {
    line.strip_prefix("-----")?
        .strip_prefix(kind)?
        .strip_prefix(' ')?
        .strip_suffix("-----")
}

fn parse_body<'a>(label: &str, lines: &mut impl Iterator<Item = &'a str>) -> Result<Block> {
    let mut headers = Vec::new();
    let mut body = Zeroizing::new(String::new());
    let mut in_headers = true;
    for line in lines {
        let line = line.trim_start();
        if let Some(end) = boundary(line, "END") {
            if end != label {
                return Err(corrupt("PEM", format!("block BEGIN {label} is closed by END {end}")));
            }
            let der = STANDARD
                .decode(body.as_bytes())
                .map_err(|_| corrupt("PEM", format!("the body of the {label} block is not valid base64")))?;
            return Ok(Block {
                label: label.to_owned(),
                headers,
                der: Zeroizing::new(der),
            });
        }
        if in_headers {
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
                continue;
            }
            in_headers = false;
        }
        body.push_str(line);
    }
    Err(corrupt(
        "PEM",
        format!("the {label} block has no END line (the file is cut short)"),
    ))
}

/// Encodes DER as a PEM block with 64-character lines and LF line ends.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = Zeroizing::new(STANDARD.encode(der));
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Errors for a PEM file with no block we can use.
pub(crate) fn nothing_usable(blocks: &[Block]) -> Error {
    let found = if blocks.is_empty() {
        "the text holds no PEM block".to_owned()
    } else {
        let labels: Vec<&str> = blocks.iter().map(|b| b.label.as_str()).collect();
        let what = match labels[0] {
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => " (a certificate signing request, not a certificate)",
            "PUBLIC KEY" | "RSA PUBLIC KEY" => " (a public key alone; a certificate or private key is needed)",
            "X509 CRL" => " (a certificate revocation list)",
            _ => "",
        };
        format!("the PEM blocks are {}{what}", labels.join(", "))
    };
    Error::Unrecognized { found }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_among_bag_attributes_with_crlf() {
        let text = "Bag Attributes\r\n    localKeyID: 01 02\r\nsubject=CN = x\r\n-----BEGIN CERTIFICATE-----\r\nAQID\r\nBA==\r\n-----END CERTIFICATE-----\r\ntrailing\r\n";
        let blocks = parse_all(text.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].label, "CERTIFICATE");
        assert_eq!(&blocks[0].der[..], &[1, 2, 3, 4]);
    }

    #[test]
    fn reads_headers_of_traditional_encryption() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00FF\n\nAQID\n-----END RSA PRIVATE KEY-----\n";
        let blocks = parse_all(text.as_bytes()).unwrap();
        assert_eq!(blocks[0].header("dek-info"), Some("AES-256-CBC,00FF"));
        assert_eq!(&blocks[0].der[..], &[1, 2, 3]);
    }

    #[test]
    fn refuses_cut_short_and_mismatched_blocks() {
        let cut = parse_all(b"-----BEGIN CERTIFICATE-----\nAQID\n").err().unwrap();
        assert!(matches!(cut, Error::Corrupt { .. }), "{cut}");
        let mixed = parse_all(b"-----BEGIN CERTIFICATE-----\nAQID\n-----END PRIVATE KEY-----\n")
            .err()
            .unwrap();
        assert!(mixed.to_string().contains("closed by END PRIVATE KEY"), "{mixed}");
        let bad = parse_all(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
            .err()
            .unwrap();
        assert!(bad.to_string().contains("base64"), "{bad}");
    }

    #[test]
    fn encode_round_trips() {
        let der: Vec<u8> = (0..=255).collect();
        let text = encode("CERTIFICATE", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        let blocks = parse_all(text.as_bytes()).unwrap();
        assert_eq!(&blocks[0].der[..], &der[..]);
    }
}
