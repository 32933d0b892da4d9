//! Running a behaviour against each backend: SQLite in a temporary file, PostgreSQL in a schema
//! of its own.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use keyward_store::Store;
use sqlx::Connection;
use uuid::Uuid;

/// The PostgreSQL server the tests use (trust authentication, database `test`).
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Opens `url` and runs a behaviour on the store.
pub(crate) async fn with_store<F, Fut>(url: String, behaviour: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = keyward_store::open(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    behaviour(store).await;
}

/// Runs a test on the URL of a new SQLite file in a temporary directory.
pub(crate) async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    test(format!("sqlite://{}", dir.path().join("keyward.db").display())).await;
}

/// Runs a test on the URL of a new, empty schema of the test PostgreSQL database, and drops the
/// schema afterwards, whether the test passed or not.
pub(crate) async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut admin = match tokio::time::timeout(Duration::from_secs(10), sqlx::PgConnection::connect(POSTGRES)).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(e)) => panic!("{}", postgres_unreachable(&e.to_string())),
        Err(_) => panic!("{}", postgres_unreachable("no answer within 10 s")),
    };
    let schema = format!("kw_test_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!("{POSTGRES}?options=-c%20search_path%3D{schema}");
    let outcome = tokio::spawn(test(url)).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn postgres_unreachable(why: &str) -> String {
    format!(
        "the PostgreSQL tests need a server at {POSTGRES} (user postgres, trust authentication, database test), \
         and it is unreachable: {why}. Start it with `service postgresql start` (or `pg_ctlcluster 15 main start`), \
         and create the database with `createdb -U postgres test` if it is missing."
    )
}
