//! What an email address may be made of. Addresses are compared as text, so two that look the
//! same must be the same text: a trailing zero-width space or a full-width `ａ` would otherwise
//! make a second account that reads, in a list or an ID token, exactly like the first.
//!
//! An address is printable ASCII only (internationalised addresses, RFC 6531, are not taken):
//! that refuses invisible and format characters (zero-width spaces and joiners, the byte order
//! mark, bidirectional controls, the soft hyphen), full-width and other compatibility forms, and
//! letters of other scripts that look like Latin ones (Cyrillic `а`), all with one rule that
//! needs no confusables table. The refusal names the character and says what to type instead.

use crate::error::AccountError;

/// `Err` naming the first character of `email` that is not printable ASCII, where it is, and
/// what to do about it.
pub fn check_characters(email: &str) -> Result<(), AccountError> {
    let Some((index, c)) = email
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_graphic() || *c == ' '))
    else {
        return Ok(());
    };
    let code = format!("U+{:04X}", u32::from(c));
    let (what, fix) = if let Some(ascii) = ascii_form(c) {
        (
            format!("'{c}' ({code}), a wide or compatibility form of '{ascii}'"),
            format!("type '{ascii}' with the ordinary keyboard letter instead."),
        )
    } else if is_invisible(c) {
        (
            format!("the invisible character {code}"),
            "type the address again rather than pasting it, or delete the character.".to_owned(),
        )
    } else if c.is_control() {
        (
            format!("the control character {code}"),
            "type the address again rather than pasting it.".to_owned(),
        )
    } else {
        (
            format!("'{c}' ({code}), which is not a plain ASCII letter, digit or sign"),
            "only addresses written in ASCII (a-z, 0-9, and . _ % + - and the like) are accepted.".to_owned(),
        )
    };
    Err(AccountError::EmailCharacter {
        what,
        position: index + 1,
        fix,
    })
}

/// The ASCII character a full-width (or ideographic-space) form stands for.
fn ascii_form(c: char) -> Option<char> {
    match u32::from(c) {
        code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0),
        0x3000 => Some(' '),
        _ => None,
    }
}

/// Characters that print as nothing (Unicode's default-ignorable and format characters that
/// turn up in pasted text).
fn is_invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD // soft hyphen
            | 0x034F // combining grapheme joiner
            | 0x061C // Arabic letter mark
            | 0x115F | 0x1160 // Hangul fillers
            | 0x17B4 | 0x17B5
            | 0x180B..=0x180F // Mongolian variation selectors, vowel separator
            | 0x200B..=0x200F // zero-width space, non-joiner, joiner, LRM, RLM
            | 0x202A..=0x202E // bidirectional embeddings and overrides
            | 0x2060..=0x206F // word joiner, invisible operators, bidi isolates
            | 0x3164 // Hangul filler
            | 0xFE00..=0xFE0F // variation selectors
            | 0xFEFF // byte order mark
            | 0xFFA0 // half-width Hangul filler
            | 0xFFF0..=0xFFF8
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF // tags, variation selectors supplement
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_passes() {
        assert!(check_characters("ann.o'neil+tag@example.com").is_ok());
    }

    #[test]
    fn look_alikes_and_invisible_characters_are_named() {
        let e = check_characters("ann@example.com\u{200b}").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("invisible character U+200B") && text.contains("character 16"),
            "{text}"
        );
        let e = check_characters("\u{ff41}nn@example.com").unwrap_err().to_string();
        assert!(
            e.contains("U+FF41") && e.contains("'a'") && e.contains("character 1"),
            "{e}"
        );
        for bad in [
            "a\u{00ad}nn@example.com",
            "\u{feff}ann@example.com",
            "ann@exam\u{202e}ple.com",
            "ann\u{2060}@example.com",
            "ann@example.com\u{e0041}",
        ] {
            let e = check_characters(bad).unwrap_err().to_string();
            assert!(e.contains("invisible"), "{bad:?}: {e}");
        }
        // Cyrillic 'а' (U+0430) looks like Latin 'a'.
        let e = check_characters("\u{430}nn@example.com").unwrap_err().to_string();
        assert!(e.contains("U+0430") && e.contains("ASCII"), "{e}");
        let e = check_characters("ann\u{7}@example.com").unwrap_err().to_string();
        assert!(e.contains("control character U+0007"), "{e}");
    }
}
