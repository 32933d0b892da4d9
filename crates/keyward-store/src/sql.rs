//! The SQL both backends run, written once: the schemas differ in column types (text or `uuid`,
//! text or `jsonb`, integer or boolean), not in names, and every statement here reads and writes
//! both alike. Parameters are numbered (`$1`), which SQLite and PostgreSQL both accept; booleans
//! are written `true` and `false`, which SQLite reads as 1 and 0.
//!
//! A statement's parameters are listed in its documentation, in order; the rows it reads are
//! the types of [`crate::rows`].

pub(crate) mod directory;
pub(crate) mod sign_in;
pub(crate) mod vault;
