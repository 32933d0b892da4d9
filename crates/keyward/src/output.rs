//! What commands print: text for people, JSON for machines (`--json`), on standard output.

use serde_json::Value;

/// Writes to standard output. A closed pipe (`keyward cert show x --json | head -1`) comes back
/// as an error that `main` ends on quietly, instead of the panic `print!` would give.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Prints `value` as pretty JSON with `json`, else the text `text` makes.
pub fn print(json: bool, value: &Value, text: impl FnOnce() -> String) -> anyhow::Result<()> {
    if json {
        emit(&format!("{}\n", serde_json::to_string_pretty(value)?))
    } else {
        emit(&text())
    }
}
