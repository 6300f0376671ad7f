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

/// Time `f` run `iters` times, its outputs dropped inside the timing (as criterion's
/// `iter` does).
pub fn time_iters<R>(iters: u64, mut f: impl FnMut() -> R) -> std::time::Duration {
    let start = std::time::Instant::now();
    for _ in 0..iters {
        drop(std::hint::black_box(f()));
    }
    start.elapsed()
}

/// Rounds of [`paired`] asked for with `STRATA_BENCH_PAIRED` (a number, or anything
/// else for 21); `None` when it is not set.
fn paired_rounds() -> Option<usize> {
    let v = std::env::var("STRATA_BENCH_PAIRED").ok()?;
    Some(v.trim().parse().ok().filter(|&n| n > 0).unwrap_or(21))
}

/// With `STRATA_BENCH_PAIRED` set, time `strata` against `raw` in alternating rounds
/// and print the median of the per-round ratios strata / raw, with its quartiles.
///
/// Each side is given a number of iterations and returns the time they took (as in
/// criterion's `iter_custom`); a round runs each side for as many iterations as make
/// the raw side take 2 ms at least, the two in turns (raw first in even rounds). On a
/// machine whose speed drifts, as shared virtual machines' does by tens of percent
/// within minutes, criterion's medians of the two sides, measured one after the other,
/// can be minutes apart; the ratio of two runs side by side is steadier.
pub fn paired(
    id: &str,
    raw: impl FnMut(u64) -> std::time::Duration,
    strata: impl FnMut(u64) -> std::time::Duration,
) {
    paired_named(id, ("raw", raw), ("strata", strata));
}

/// [`paired`] of any two sides, named in the printed ratio `b / a`; `a` sets the
/// number of iterations.
pub fn paired_named(
    id: &str,
    (a_name, mut a): (&str, impl FnMut(u64) -> std::time::Duration),
    (b_name, mut b): (&str, impl FnMut(u64) -> std::time::Duration),
) {
    let Some(rounds) = paired_rounds() else {
        return;
    };
    let mut iters = 1;
    while a(iters) < std::time::Duration::from_millis(2) && iters < 1 << 20 {
        iters *= 2;
    }
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|round| {
            let (ta, tb) = if round % 2 == 0 {
                let ta = a(iters);
                (ta, b(iters))
            } else {
                let tb = b(iters);
                (a(iters), tb)
            };
            tb.as_secs_f64() / ta.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: usize| ratios[(rounds - 1) * q / 4];
    println!(
        "paired {id}: {b_name} / {a_name} {:.2} (quartiles {:.2} to {:.2}; {rounds} rounds of {iters} iterations a side)",
        at(2),
        at(1),
        at(3)
    );
}
