//! What the benchmarks against the raw drivers share: the database kind with its
//! placeholder style, the raw rusqlite connection configured as strata's driver
//! configures its own, and the PostgreSQL URL to run against.

use rusqlite::OpenFlags;

/// Which database a workload runs on.
#[derive(Clone, Copy, PartialEq)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    /// The dialect name, as in the benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "sqlite",
            Db::Postgres => "postgresql",
        }
    }

    /// The `n`th placeholder (from 1) in this database's style.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Db::Sqlite => "?".to_string(),
            Db::Postgres => format!("${n}"),
        }
    }
}

/// A connection configured like strata's SQLite driver configures its own: a named
/// shared-cache in-memory database, the same flags, statement cache and pragmas.
pub fn raw_sqlite_shared(name: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open_with_flags(
        format!("file:{name}?mode=memory&cache=shared"),
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("open shared in-memory sqlite");
    let conn = configure_sqlite(conn);
    // As strata's driver does for its shared-cache in-memory databases.
    conn.execute_batch("PRAGMA read_uncommitted = 1")
        .expect("read_uncommitted");
    conn
}

/// The statement cache, busy timeout and pragmas of strata's SQLite connections.
pub fn configure_sqlite(conn: rusqlite::Connection) -> rusqlite::Connection {
    conn.set_prepared_statement_cache_capacity(256);
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy_timeout");
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .expect("foreign_keys");
    conn
}

/// Run each of `statements` on a raw SQLite connection.
pub fn raw_sqlite_exec_all(conn: &rusqlite::Connection, statements: &[String]) {
    for sql in statements {
        conn.execute_batch(sql).expect(sql);
    }
}

/// The PostgreSQL database to run against, if one is configured.
pub fn pg_url() -> Option<String> {
    ["STRATA_BENCH_PG_URL", "STRATA_TEST_PG_URL"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}
