//! From a problem's path in the document (`app[2].grant[0].app`) to its line and column in
//! the TOML text, so that every error, the parser's and the validator's and the server's,
//! names the line to fix.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a path: a key or an index in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `app[2].grant[0].app` into steps; `None` when it is not such a path.
fn steps(path: &str) -> Option<Vec<Step<'_>>> {
    let mut out = Vec::new();
    if path.is_empty() {
        return Some(out);
    }
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => part.split_at(i),
            None => (part, ""),
        };
        if key.is_empty() {
            return None;
        }
        out.push(Step::Key(key));
        while let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']')?;
            out.push(Step::Index(inner[..end].parse().ok()?));
            rest = &inner[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(out)
}

/// The 1-based line and column of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The line and column of the deepest part of `path` found in `text` (the whole path when it
/// is there; its nearest written ancestor when the path names a key left out). `None` when the
/// text does not parse or nothing of the path is there.
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let steps = steps(path)?;
    let root = DeTable::parse(text).ok()?;
    let mut span: Option<std::ops::Range<usize>> = None;
    let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
    let mut value: Option<&Spanned<DeValue<'_>>> = None;
    for step in steps {
        let next = match (step, table, value) {
            (Step::Key(key), Some(t), _) => t.iter().find(|(k, _)| k.get_ref().as_ref() == key).map(|(_, v)| v),
            (Step::Index(i), _, Some(v)) => match v.get_ref() {
                DeValue::Array(items) => items.get(i),
                _ => None,
            },
            _ => None,
        };
        let Some(next) = next else { break };
        span = Some(next.span());
        table = match next.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => None,
        };
        value = Some(next);
    }
    span.map(|s| line_column(text, s.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[[tenant]]\nname = \"contoso\"\n\n[[app]]\nname = \"a\"\n\n[[app]]\nname = \"b\"\n\n[[app.grant]]\napp = \"a\"\nroles = [\"x\", \"y\"]\n";

    #[test]
    fn paths_split() {
        assert_eq!(
            steps("app[2].grant[0].app"),
            Some(vec![
                Step::Key("app"),
                Step::Index(2),
                Step::Key("grant"),
                Step::Index(0),
                Step::Key("app")
            ])
        );
        assert_eq!(steps("a[x]"), None);
        assert_eq!(steps("a..b"), None);
    }

    #[test]
    fn finds_lines() {
        assert_eq!(locate(TEXT, "tenant[0].name"), Some((2, 8)));
        assert_eq!(locate(TEXT, "app[1].name"), Some((8, 8)));
        assert_eq!(locate(TEXT, "app[1].grant[0].app"), Some((11, 7)));
        assert_eq!(locate(TEXT, "app[1].grant[0].roles[1]"), Some((12, 15)));
        // A key left out: its table's line.
        let (line, _) = locate(TEXT, "app[0].secret[0]").unwrap();
        assert!((4..=5).contains(&line), "{line}");
        assert_eq!(locate("not toml [", "app"), None);
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_column("é\nab", 4), (2, 2));
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
