//! One finding of `keyward doctor`: which check, how it went, one line saying what was seen, and
//! the fix.

use serde::Serialize;

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Checked and right.
    Ok,
    /// Works now, but will not for long, or is fragile.
    Warn,
    /// Wrong: the app cannot get a token because of it.
    Fail,
    /// Not checked, because an earlier failure stands in the way or nothing was given.
    Skipped,
}

impl Status {
    fn mark(self) -> &'static str {
        match self {
            Self::Ok => "✓",
            Self::Warn => "!",
            Self::Fail => "✗",
            Self::Skipped => "-",
        }
    }
}

/// What one check found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The check's name: `vault`, `certificate`, `private-key`, `key-match`, `thumbprint`, `validity`,
    /// `authority`, `tenant`, `issuer`, `clock`, `application`, `registration`, `assertion`,
    /// `scope`.
    pub check: &'static str,
    /// How it went.
    pub status: Status,
    /// One line: what was seen.
    pub message: String,
    /// One line: what to do, for warnings and failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    pub fn ok(check: &'static str, message: impl Into<String>) -> Self {
        Self {
            check,
            status: Status::Ok,
            message: message.into(),
            fix: None,
        }
    }

    pub fn warn(check: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check,
            status: Status::Warn,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(check: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check,
            status: Status::Fail,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn skipped(check: &'static str, message: impl Into<String>) -> Self {
        Self {
            check,
            status: Status::Skipped,
            message: message.into(),
            fix: None,
        }
    }

    /// `✓ check: message`, and the fix indented on the next line.
    pub fn render(&self) -> String {
        let mut text = format!("{} {:<12} {}\n", self.status.mark(), self.check, self.message);
        if let Some(fix) = &self.fix {
            text.push_str(&format!("  {:<12} fix: {fix}\n", ""));
        }
        text
    }
}
