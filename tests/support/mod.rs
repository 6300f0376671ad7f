//! Shared support code for the integration tests.
//!
//! A test file uses it with
//!
//! ```ignore
//! #[allow(dead_code)] // each test binary uses only part of the support code
//! #[macro_use]
//! mod support;
//! use support::pg;
//! ```

pub mod mariadb;
pub mod pg;

use strata::{create_engine, Engine};

/// An in-memory SQLite engine.
pub fn sqlite_engine() -> Engine {
    create_engine("sqlite://").unwrap_or_else(|e| panic!("sqlite engine: {e}"))
}

/// An engine on a fresh PostgreSQL database, or `None` (with a loud skip line) when
/// there is no PostgreSQL outside CI.
pub fn pg_engine(test_name: &str) -> Option<Engine> {
    let url = pg::require_fresh_database(test_name)?;
    Some(create_engine(&url).unwrap_or_else(|e| panic!("postgresql engine: {e}")))
}

/// An engine on a fresh database of a throwaway MariaDB server (the MySQL dialect and
/// driver), or `None` (with a loud skip line) when there is no MariaDB outside CI.
pub fn mysql_engine(test_name: &str) -> Option<Engine> {
    let url = mariadb::fresh_database_url(test_name)?;
    Some(create_engine(&url).unwrap_or_else(|e| panic!("mysql engine: {e}")))
}

/// The rows of `sql` (a `text()` without parameters) as tuples, read on a new connection.
pub fn rows<T: strata::engine::FromRow>(engine: &Engine, sql: &str) -> Vec<T> {
    engine
        .connect()
        .and_then(|mut c| c.execute(&strata::text(sql))?.tuples().collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Proptest settings: `PROPTEST_CASES` cases if set, else `default`; a failure is
/// reported with its shrunk input and not saved to a file.
pub fn proptest_config(default: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// A model test's run: steps played on a Session and on a model of what it promises,
/// checked against each other after every step.
pub trait ModelRun {
    /// A step of a run.
    type Step: Clone + std::fmt::Debug;
    /// A run on fresh tables of `engine`.
    fn new(engine: &Engine) -> Self;
    /// Play a step on both sides, checking what it gives.
    fn apply(&mut self, step: &Self::Step);
    /// Check that the session's objects are where the model says.
    fn check(&self);
}

/// Play random runs of 1 to 39 steps from `steps` with `R` on `engine` (fewer on a
/// server, where each run starts with DDL), each ended by the steps `last` (say, a
/// commit and a query); a failure panics with the shrunk steps.
pub fn run_model<R: ModelRun>(
    engine: &Engine,
    steps: impl proptest::strategy::Strategy<Value = R::Step>,
    last: &[R::Step],
) {
    let cases = if engine.dialect().name() == "sqlite" {
        256
    } else {
        48
    };
    let mut runner = proptest::test_runner::TestRunner::new(proptest_config(cases));
    let result = runner.run(&proptest::collection::vec(steps, 1..40), |steps| {
        let mut run = R::new(engine);
        for step in steps.iter().chain(last) {
            run.apply(step);
            run.check();
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("on {}: {e}", engine.dialect().name());
    }
}

/// Run a check that panics on failure.
pub fn plain(engine: &Engine, check: fn(&Engine)) {
    check(engine)
}

/// Run a check that returns an error on failure, naming the database when it does.
pub fn checked(engine: &Engine, check: fn(&Engine) -> strata::Result<()>) {
    if let Err(e) = check(engine) {
        panic!("on {}: {e}\n{e:?}", engine.dialect().name());
    }
}

/// `on_all!(runner; check, ...)`: for each check, a module with the tests `sqlite`,
/// `postgres` and `mysql`, each calling `runner(&engine, check)` (`support::plain` or
/// `support::checked`). `mysql` runs on a fresh database of a throwaway MariaDB server
/// (the MySQL dialect and driver).
#[allow(unused_macros)]
macro_rules! on_all {
    ($runner:path; $($name:ident),* $(,)?) => {$(
        mod $name {
            database_test!(sqlite $runner; $name);
            database_test!(postgres $runner; $name);
            database_test!(mysql $runner; $name);
        }
    )*};
}

/// The test `sqlite`, `postgres` or `mysql` of one check.
#[allow(unused_macros)]
macro_rules! database_test {
    (sqlite $runner:path; $name:ident) => {
        #[test]
        fn sqlite() {
            $runner(&$crate::support::sqlite_engine(), super::$name);
        }
    };
    (postgres $runner:path; $name:ident) => {
        database_test!(@server postgres pg_engine $runner; $name);
    };
    (mysql $runner:path; $name:ident) => {
        database_test!(@server mysql mysql_engine $runner; $name);
    };
    // A server database: the test is skipped when `$engine` gives none.
    (@server $database:ident $engine:ident $runner:path; $name:ident) => {
        #[test]
        fn $database() {
            let test = concat!(module_path!(), "::", stringify!($database));
            let Some(engine) = $crate::support::$engine(test) else {
                return;
            };
            $runner(&engine, super::$name);
        }
    };
}
