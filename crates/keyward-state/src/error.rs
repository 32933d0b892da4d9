//! The crate's one error type.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::locate;

/// What went wrong with a state document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not TOML, or does not fit the schema (unknown key, wrong type, bad date).
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// The document's name as shown.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The document is TOML of the right shape but says something impossible: each problem
    /// names its line.
    #[error("{}", Problems(.problems))]
    Invalid {
        /// Every problem found, in document order.
        problems: Vec<Located>,
    },
    /// A file the document names cannot be read.
    #[error("{}: cannot read: {source}; check the path (relative to the document's directory)", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file for generated material cannot be written.
    #[error("{}: cannot write: {source}; check that its directory can be created and written", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file the document names holds no usable certificate or key.
    #[error("{}: {message}", .path.display())]
    Material {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Generating a key, certificate or random value failed.
    #[error("generating {what}: {message}")]
    Generate {
        /// What was being generated.
        what: String,
        /// Why it failed.
        message: String,
    },
    /// The sealed values of an export do not open with the passphrase given.
    #[error(
        "the passphrase does not open the sealed values of this document: give the passphrase `keyward export --include-secrets` was given (--passphrase-file or KEYWARD_EXPORT_PASSPHRASE); nothing was applied"
    )]
    Passphrase,
    /// A sealed value is malformed, or sealing needs what is missing (a passphrase).
    #[error("sealed values: {message}")]
    Sealed {
        /// What is wrong.
        message: String,
    },
}

/// A problem found in a document, named by its path (`app[2].grant[0].app`): what validation
/// (here or on the server) reports before it is placed on a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Where: keys and 0-based list indexes, dot-separated.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A problem placed in the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Located {
    /// The document's name as shown.
    pub file: String,
    /// 1-based line, when the path is found in the text.
    pub line: Option<usize>,
    /// 1-based column, when the path is found in the text.
    pub column: Option<usize>,
    /// The problem.
    #[serde(flatten)]
    pub problem: Problem,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{}:{line}:{column}: ", self.file)?,
            _ => write!(f, "{}: ", self.file)?,
        }
        write!(f, "{} ({})", self.problem.message, self.problem.path)
    }
}

struct Problems<'a>(&'a [Located]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl Error {
    /// Places `problems` (found here or reported by a server) on the lines of `text`.
    pub fn invalid(file: &str, text: &str, problems: Vec<Problem>) -> Self {
        let problems = problems
            .into_iter()
            .map(|problem| {
                let place = locate::locate(text, &problem.path);
                Located {
                    file: file.to_owned(),
                    line: place.map(|p| p.0),
                    column: place.map(|p| p.1),
                    problem,
                }
            })
            .collect();
        Self::Invalid { problems }
    }

    /// The TOML parser's error, placed in the text.
    pub(crate) fn syntax(file: &str, text: &str, error: &toml::de::Error) -> Self {
        let (line, column) = error
            .span()
            .map_or((1, 1), |span| locate::line_column(text, span.start));
        Self::Syntax {
            file: file.to_owned(),
            line,
            column,
            message: error.message().trim().to_owned(),
        }
    }

    /// The first line the error names, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Syntax { line, .. } => Some(*line),
            Self::Invalid { problems } => problems.iter().find_map(|p| p.line),
            _ => None,
        }
    }
}
