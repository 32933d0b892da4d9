//! The store in SQL, written once for both backends: [`SqlStore`] implements each family of the
//! store (`directory.rs`, `sign_in.rs`, `vault.rs`, `audit.rs`, `usage.rs`) over any [`Backend`], that is SQLite or
//! PostgreSQL. Their schemas differ in column types (text or `uuid`, text or `jsonb`, integer or
//! boolean), not in names, so one text of each statement serves both: parameters are numbered
//! (`$1`), booleans written `true` and `false` (SQLite reads 1 and 0), documents bound and read
//! as JSON (text on SQLite, `jsonb` on PostgreSQL). Ids are the one difference a statement
//! sees: each backend binds them as its [`Backend::Id`].
//!
//! Which backend a store runs on is chosen once, by [`crate::open`]; nothing here asks.

mod audit;
mod directory;
mod sign_in;
mod usage;
mod vault;

use sqlx::{Database, Decode, Encode, Pool, Type};
use uuid::Uuid;

use crate::columns::IdColumn;

/// A database the store runs on: what sets it apart from the other in the statements
/// [`SqlStore`] runs.
pub(crate) trait Backend: Database {
    /// An id as stored and bound: text on SQLite, `uuid` on PostgreSQL.
    type Id: IdColumn + Column<Self> + Send + Sync + Unpin + 'static;

    /// An id as bound to a statement.
    fn id(uuid: Uuid) -> Self::Id;

    /// How many rows a statement wrote.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// A condition on a user row: its document lists directory roles. JSON functions are named
    /// differently by the two databases.
    const HAS_DIRECTORY_ROLES: &'static str;
}

/// A Rust type a backend binds and reads as a column (`String`, `i64`, a [`Backend::Id`], ...).
pub(crate) trait Column<DB: Database>: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> {}

impl<DB: Database, T> Column<DB> for T where T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> {}

/// The store on a [`Backend`]: a pool of connections to its database, migrated.
///
/// Its impl blocks all repeat one `where` clause: what the statements need of the backend
/// (executors, and the types they bind and read). Both backends meet it; Rust does not carry such
/// bounds over from a trait's definition, so each block names them.
pub(crate) struct SqlStore<DB: Database> {
    pub(crate) pool: Pool<DB>,
}

impl<DB: Database> SqlStore<DB> {
    /// The store over a pool whose database is migrated.
    pub(crate) fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}
