//! A `.env` file reader, as the `dotenv` package that the article's `authConfig.js` loads:
//! `KEY=value` lines, `#` comments, optional `export `, single-quoted values taken literally,
//! double-quoted values with `\n`, `\"` and `\\` escapes, and unquoted values trimmed and cut at
//! ` #`. Variables already set in the environment win over the file, as with `dotenv`.

/// A line of a `.env` file that is not `KEY=value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    /// The line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Parses the text of a `.env` file into `(key, value)` pairs, in file order.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut pairs = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let err = |reason| ParseError { line, reason };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let trimmed = trimmed.strip_prefix("export ").map_or(trimmed, str::trim_start);
        let (key, value) = trimmed
            .split_once('=')
            .ok_or_else(|| err("no '=' between name and value"))?;
        let key = key.trim();
        let valid_key = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !valid_key {
            return Err(err("the name is not a variable name (letters, digits and _)"));
        }
        let value = value.trim();
        let value = if let Some(rest) = value.strip_prefix('\'') {
            let end = rest.find('\'').ok_or_else(|| err("no closing ' quote"))?;
            rest[..end].to_owned()
        } else if let Some(rest) = value.strip_prefix('"') {
            unescape_double_quoted(rest).ok_or_else(|| err("no closing \" quote"))?
        } else {
            let cut = value.find(" #").map_or(value, |at| &value[..at]);
            cut.trim_end().to_owned()
        };
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

/// The value of a double-quoted string up to its closing quote, escapes resolved.
fn unescape_double_quoted(rest: &str) -> Option<String> {
    let mut value = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                'r' => value.push('\r'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

/// The environment as the app sees it: `file` pairs first, overridden by `process` variables.
pub fn merge(
    file: Vec<(String, String)>,
    process: impl IntoIterator<Item = (String, String)>,
) -> std::collections::HashMap<String, String> {
    let mut all: std::collections::HashMap<String, String> = file.into_iter().collect();
    all.extend(process);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_dotenv_reads() {
        let text = "# the app\nCLIENT_ID=abc \nexport AUTHORITY = https://localhost:8443/contoso/\n\n\
                    PRIVATE_KEY_PASSPHRASE='p#s s\\n'\nQUOTED=\"a \\\"b\\\"\\nc\" # note\nBARE=x # comment\nEMPTY=\n";
        let pairs = parse(text).unwrap();
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("CLIENT_ID"), Some("abc"));
        assert_eq!(get("AUTHORITY"), Some("https://localhost:8443/contoso/"));
        assert_eq!(get("PRIVATE_KEY_PASSPHRASE"), Some("p#s s\\n"));
        assert_eq!(get("QUOTED"), Some("a \"b\"\nc"));
        assert_eq!(get("BARE"), Some("x"));
        assert_eq!(get("EMPTY"), Some(""));
    }

    #[test]
    fn names_the_bad_line() {
        assert_eq!(parse("A=1\nnonsense\n").unwrap_err().line, 2);
        assert_eq!(parse("A='open\n").unwrap_err().line, 1);
        assert_eq!(parse("1A=x\n").unwrap_err().line, 1);
        assert_eq!(parse("A=\"open\n").unwrap_err().line, 1);
    }

    #[test]
    fn the_process_environment_wins() {
        let merged = merge(
            vec![("PORT".into(), "3000".into()), ("CLIENT_ID".into(), "file".into())],
            vec![("CLIENT_ID".to_owned(), "env".to_owned())],
        );
        assert_eq!(merged["PORT"], "3000");
        assert_eq!(merged["CLIENT_ID"], "env");
    }
}
