//! The test PostgreSQL database (127.0.0.1:5432, database `test`, trust authentication), a
//! schema of its own per test.

use std::process::Command;

/// The PostgreSQL server the tests use.
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A schema of its own in the test database, dropped at the end.
pub struct Schema(String);

impl Schema {
    pub fn new() -> Self {
        let name = format!("kw_shared_{}", uuid::Uuid::new_v4().simple());
        psql(&format!("CREATE SCHEMA {name}"));
        Self(name)
    }

    /// The database URL whose connections use the schema.
    pub fn url(&self) -> String {
        format!("{POSTGRES}?options=-c%20search_path%3D{}", self.0)
    }

    /// Runs `sql` in the schema with `psql`; returns its unaligned output.
    pub fn query(&self, sql: &str) -> String {
        psql(&format!("SET search_path TO {}; {sql}", self.0))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        psql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
    }
}

fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .args([POSTGRES, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .expect("psql runs (the PostgreSQL client)");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
