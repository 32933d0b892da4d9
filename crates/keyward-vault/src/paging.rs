//! Pages of lists: at most 25 items, continued by an opaque `$skiptoken`. Names are paged by
//! the lowercase name the next page starts at (stable while names come and go); versions, which
//! are only ever appended, by offset.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_store::VaultItem;

use crate::error::{Error, Result};
use crate::model::{MAX_PAGE, PageRequest};

fn page_size(request: &PageRequest) -> Result<usize> {
    match request.max {
        None => Ok(MAX_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(Error::BadParameter(format!(
            "maxresults must be between 1 and {MAX_PAGE}"
        ))),
    }
}

fn token(kind: char, value: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{value}"))
}

fn read_token(request: &PageRequest, kind: char) -> Result<Option<String>> {
    let Some(token) = &request.skip_token else {
        return Ok(None);
    };
    let bad = || Error::BadParameter("the $skiptoken is not one this vault issued".into());
    let bytes = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    match text.split_once(':') {
        Some((k, value)) if k.len() == 1 && k.starts_with(kind) => Ok(Some(value.to_owned())),
        _ => Err(bad()),
    }
}

/// The page of `items` (sorted by lowercase name) the request asks for, and the next token.
pub(crate) fn page_of_names(items: Vec<VaultItem>, request: &PageRequest) -> Result<(Vec<VaultItem>, Option<String>)> {
    let size = page_size(request)?;
    let start = read_token(request, 'n')?;
    let mut rest = items
        .into_iter()
        .filter(|i| start.as_ref().is_none_or(|s| i.key.name.to_ascii_lowercase() >= *s));
    let page: Vec<VaultItem> = rest.by_ref().take(size).collect();
    let next = rest.next().map(|i| token('n', &i.key.name.to_ascii_lowercase()));
    Ok((page, next))
}

/// The page of `items` (in their order) the request asks for, and the next token.
pub(crate) fn page_by_offset<T>(items: Vec<T>, request: &PageRequest) -> Result<(Vec<T>, Option<String>)> {
    let size = page_size(request)?;
    let offset = match read_token(request, 'o')? {
        None => 0,
        Some(o) => o
            .parse::<usize>()
            .map_err(|_| Error::BadParameter("the $skiptoken is not one this vault issued".into()))?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(size).collect();
    let next = (offset.saturating_add(size) < total).then(|| token('o', &(offset + size).to_string()));
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_walk_the_whole_list_once() {
        let items: Vec<u32> = (0..60).collect();
        let mut request = PageRequest {
            max: Some(25),
            skip_token: None,
        };
        let mut seen = Vec::new();
        loop {
            let (page, next) = page_by_offset(items.clone(), &request).unwrap();
            seen.extend(page);
            match next {
                Some(t) => request.skip_token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert!(
            page_by_offset(
                items.clone(),
                &PageRequest {
                    max: Some(26),
                    skip_token: None
                }
            )
            .is_err()
        );
        assert!(
            page_by_offset(
                items,
                &PageRequest {
                    max: None,
                    skip_token: Some("bogus!".into())
                }
            )
            .is_err()
        );
    }
}
