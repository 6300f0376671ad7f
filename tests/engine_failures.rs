//! Failures on SQLite, PostgreSQL and MySQL (MariaDB): each gives a typed error carrying its SQL, the
//! connection is usable after rollback, the pool hands out working connections
//! afterwards, and no committed row is lost.
//!
//! Each check runs on the three databases (`on_all!` makes the tests `<check>::sqlite`,
//! `<check>::postgres` and `<check>::mysql`); the server-stopped test runs on a PostgreSQL cluster of its own
//! that it stops and starts again.

#[allow(dead_code)] // each test binary uses only part of the support code
#[macro_use]
mod support;

use std::time::{Duration, Instant};

use strata::func;
use strata::{
    create_engine, insert, literal, not_, select, text, update, Column, Connection, DbErrorKind,
    Engine, Error, MetaData, Result, SqlType, Table,
};
use support::pg;

fn is_pg(e: &Engine) -> bool {
    e.dialect().name() == "postgresql"
}

fn fail(what: String) -> Error {
    Error::InvalidStatement(format!("check failed: {what}"))
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(fail(what()))
    }
}

fn check_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<()> {
    ensure(got == want, || {
        format!("{what}: got {got:?}, expected {want:?}")
    })
}

// ---------------------------------------------------------------------------------------
// Fixture: people and their accounts, with committed rows
// ---------------------------------------------------------------------------------------

struct Fx {
    people: Table,
    accounts: Table,
}

fn schema() -> (MetaData, Fx) {
    let mut md = MetaData::new();
    let people = Table::build("people")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(30))).not_null())
        .add_to(&mut md)
        .unwrap();
    let accounts = Table::build("accounts")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("email", SqlType::String(Some(50)))
                .not_null()
                .unique(),
        )
        .column(Column::new("owner_id", SqlType::Integer).foreign_key("people.id"))
        .column(
            Column::new("balance", SqlType::Integer)
                .not_null()
                .default(0),
        )
        .add_to(&mut md)
        .unwrap();
    (md, Fx { people, accounts })
}

/// The committed rows: 2 people, 3 accounts.
const PEOPLE: i64 = 2;
const ACCOUNTS: i64 = 3;

fn fixture(e: &Engine) -> Result<Fx> {
    let (md, f) = schema();
    md.create_all(e)?;
    e.begin(|c| {
        c.execute(
            &insert(&f.people)
                .columns(["id", "name"])
                .row((1, "ann"))
                .row((2, "bob")),
        )?;
        c.execute(
            &insert(&f.accounts)
                .columns(["id", "email", "owner_id", "balance"])
                .row((1, "ann@example.com", 1, 100))
                .row((2, "bob@example.com", 2, 50))
                .row((3, "shared@example.com", None::<i32>, 0)),
        )?;
        Ok(())
    })?;
    Ok(f)
}

fn count(c: &mut Connection, t: &Table) -> Result<i64> {
    c.execute(&select(func::count_star()).select_from(t))?
        .scalar_one()
}

/// The committed rows are all there, with their values.
fn committed_rows_intact(c: &mut Connection, f: &Fx) -> Result<()> {
    check_eq("people", count(c, &f.people)?, PEOPLE)?;
    check_eq("accounts", count(c, &f.accounts)?, ACCOUNTS)?;
    let total: i64 = c
        .execute(&select(func::sum(f.accounts.c("balance"))))?
        .scalar_one()?;
    check_eq("balances", total, 150)
}

/// What a failure must look like.
struct Expect {
    kind: DbErrorKind,
    /// SQLSTATE on PostgreSQL.
    pg_code: &'static str,
    /// Extended result code on SQLite.
    sqlite_code: &'static str,
    /// Server error number on MySQL / MariaDB.
    mysql_code: &'static str,
    /// A piece of the SQL the error carries.
    sql_contains: &'static str,
}

fn is_mysql(e: &Engine) -> bool {
    e.dialect().name() == "mysql"
}

fn check_error(e: &Engine, err: &Error, want: &Expect) -> Result<()> {
    let Error::Database {
        kind,
        code,
        sql,
        message,
    } = err
    else {
        return Err(fail(format!("expected a database error, got {err:?}")));
    };
    check_eq("kind", *kind, want.kind)?;
    let code_want = match e.dialect().name() {
        "postgresql" => want.pg_code,
        "mysql" => want.mysql_code,
        _ => want.sqlite_code,
    };
    check_eq("code", code.as_deref(), Some(code_want))?;
    ensure(!message.is_empty(), || "empty message".into())?;
    // MySQL quotes names with backticks.
    let shown = sql.as_ref().map(|s| s.replace('`', "\""));
    ensure(
        shown
            .as_deref()
            .is_some_and(|s| s.contains(want.sql_contains)),
        || {
            format!(
                "error should carry SQL containing {:?}: {sql:?}",
                want.sql_contains
            )
        },
    )?;
    check_eq("err.sql()", err.sql(), sql.as_deref())?;
    ensure(
        err.to_string()
            .replace('`', "\"")
            .contains(want.sql_contains),
        || format!("Display shows the SQL: {err}"),
    )
}

/// Run `failing` (which must fail as `want` says) outside a transaction, inside one
/// (after an uncommitted write), inside a savepoint and inside `Engine::begin`; after
/// each, the connection and the pool work and the committed rows are intact.
fn fails_and_recovers(
    e: &Engine,
    f: &Fx,
    want: &Expect,
    failing: &dyn Fn(&mut Connection) -> Result<()>,
) -> Result<()> {
    let unexpected_ok = || fail("the failing statement succeeded".into());
    let mut c = e.connect()?;
    // Outside a transaction.
    let err = failing(&mut c).err().ok_or_else(unexpected_ok)?;
    check_error(e, &err, want)?;
    check_eq("no transaction", c.in_transaction(), false)?;
    committed_rows_intact(&mut c, f)?;

    // Inside a transaction, after a write that must be rolled back with it.
    let mut tx = c.begin()?;
    tx.execute(
        &insert(&f.people)
            .value("id", 10)
            .value("name", "uncommitted"),
    )?;
    let err = failing(&mut tx).err().ok_or_else(unexpected_ok)?;
    check_error(e, &err, want)?;
    if is_pg(e) {
        // PostgreSQL refuses further statements until the rollback.
        let aborted = count(&mut tx, &f.people).unwrap_err();
        check_eq(
            "aborted transaction",
            (aborted.db_kind().is_some(), aborted.sql().is_some()),
            (true, true),
        )?;
        if let Error::Database { code, .. } = &aborted {
            check_eq("aborted code", code.as_deref(), Some("25P02"))?;
        }
    }
    tx.rollback()?;
    check_eq("no transaction after rollback", c.in_transaction(), false)?;
    committed_rows_intact(&mut c, f)?;

    // Inside a savepoint: roll back to it, the outer transaction goes on.
    let mut tx = c.begin()?;
    tx.execute(&insert(&f.people).value("id", 11).value("name", "kept"))?;
    {
        let mut sp = tx.begin_nested()?;
        let err = failing(&mut sp).err().ok_or_else(unexpected_ok)?;
        check_error(e, &err, want)?;
        sp.rollback()?;
    }
    check_eq(
        "after savepoint rollback",
        count(&mut tx, &f.people)?,
        PEOPLE + 1,
    )?;
    tx.rollback()?;
    committed_rows_intact(&mut c, f)?;

    // Inside Engine::begin: the error comes back, the transaction is rolled back.
    drop(c);
    let err = e
        .begin(|c| {
            c.execute(
                &insert(&f.people)
                    .value("id", 12)
                    .value("name", "rolled back"),
            )?;
            failing(c)
        })
        .err()
        .ok_or_else(unexpected_ok)?;
    check_error(e, &err, want)?;

    // The pool hands out working connections, the committed rows are all there.
    let mut a = e.connect()?;
    let mut b = e.connect()?;
    committed_rows_intact(&mut a, f)?;
    committed_rows_intact(&mut b, f)?;
    check_eq(
        "no connection left in a transaction",
        (a.in_transaction(), b.in_transaction()),
        (false, false),
    )?;
    // And new work commits.
    a.execute(&insert(&f.people).value("id", 20).value("name", "after"))?;
    check_eq("new row", count(&mut b, &f.people)?, PEOPLE + 1)?;
    a.execute(&strata::delete(&f.people).where_(f.people.c("id").eq(20)))?;
    committed_rows_intact(&mut b, f)
}

// ---------------------------------------------------------------------------------------
// The failures
// ---------------------------------------------------------------------------------------

on_all!(
    crate::support::checked;
    syntax_error,
    unknown_table,
    unique_violation,
    primary_key_violation,
    unique_violation_in_update,
    not_null_violation,
    foreign_key_violation,
    foreign_key_violation_on_delete,
    violation_reported_while_reading_returning_rows,
    wrong_parameter_type,
    execute_many_failure_writes_nothing,
    each_run_stops_at_the_first_failure,
    deep_statements_run_or_fail_cleanly,
    statements_with_very_many_parameters,
    names_longer_than_the_database_keeps,
);

fn syntax_error(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let want = Expect {
        kind: DbErrorKind::ProgrammingError,
        pg_code: "42601",
        sqlite_code: "1",
        mysql_code: "1064",
        sql_contains: "SELEC name FROM people",
    };
    fails_and_recovers(e, &f, &want, &|c| {
        c.execute(&text("SELEC name FROM people WHERE id = :id").bind("id", 1))
            .map(drop)
    })
}

fn unknown_table(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let ghost = Table::build("ghosts")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .finish()?;
    let want = Expect {
        kind: DbErrorKind::ProgrammingError,
        pg_code: "42P01",
        sqlite_code: "1",
        mysql_code: "1146",
        sql_contains: r#"FROM "ghosts""#,
    };
    fails_and_recovers(e, &f, &want, &|c| {
        c.execute(&select(ghost.c("id")).where_(ghost.c("id").eq(1)))
            .map(drop)
    })
}

fn unique_violation(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let want = Expect {
        kind: DbErrorKind::IntegrityError,
        pg_code: "23505",
        sqlite_code: "2067", // SQLITE_CONSTRAINT_UNIQUE
        mysql_code: "1062",
        sql_contains: r#"INSERT INTO "accounts""#,
    };
    fails_and_recovers(e, &f, &want, &|c| {
        c.execute(
            &insert(&f.accounts)
                .value("id", 50)
                .value("email", "ann@example.com"),
        )
        .map(drop)
    })
}

fn primary_key_violation(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let want = Expect {
        kind: DbErrorKind::IntegrityError,
        pg_code: "23505",
        sqlite_code: "1555", // SQLITE_CONSTRAINT_PRIMARYKEY
        mysql_code: "1062",
        sql_contains: r#"INSERT INTO "people""#,
    };
    fails_and_recovers(e, &f, &want, &|c| {
        c.execute(
            &insert(&f.people)
                .columns(["id", "name"])
                .row((30, "new"))
                .row((1, "dup")),
        )
        .map(drop)
    })
}

fn unique_violation_in_update(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let want = Expect {
        kind: DbErrorKind::IntegrityError,
        pg_code: "23505",
        sqlite_code: "2067",
        mysql_code: "1062",
        sql_contains: r#"UPDATE "accounts""#,
    };
    fails_and_recovers(e, &f, &want, &|c| {
        c.execute(
            &update(&f.accounts)
                .set("email", "bob@example.com")
                .where_(f.accounts.c("id").eq(1)),
        )
        .map(drop)
    })
}

fn not_null_violation(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let want = Expect {
        kind: DbErrorKind::IntegrityError,
        pg_code: "23502",
        sqlite_code: "1299", // SQLITE_CONSTRAINT_NOTNULL
        mysql_code: "1048",
        sql_contains: r#"INSERT INTO "people""#,
    };
    fails_and_recovers(e, &f, &want, &|c| {
        c.execute(
            &insert(&f.people)
                .value("id", 40)
                .value("name", None::<String>),
        )
        .map(drop)
    })
}

fn foreign_key_violation(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let want = Expect {
        kind: DbErrorKind::IntegrityError,
        pg_code: "23503",
        sqlite_code: "787", // SQLITE_CONSTRAINT_FOREIGNKEY
        mysql_code: "1452",
        sql_contains: r#"INSERT INTO "accounts""#,
    };
    fails_and_recovers(e, &f, &want, &|c| {
        c.execute(
            &insert(&f.accounts)
                .value("id", 60)
                .value("email", "orphan@example.com")
                .value("owner_id", 99),
        )
        .map(drop)
    })
}

fn foreign_key_violation_on_delete(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let want = Expect {
        kind: DbErrorKind::IntegrityError,
        pg_code: "23503",
        sqlite_code: "787",
        mysql_code: "1451",
        sql_contains: r#"DELETE FROM "people""#,
    };
    fails_and_recovers(e, &f, &want, &|c| {
        c.execute(&strata::delete(&f.people).where_(f.people.c("id").eq(1)))
            .map(drop)
    })
}

/// With RETURNING the violation is reported while the rows are read, after `execute`
/// returned: the error still carries the SQL.
fn violation_reported_while_reading_returning_rows(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    if is_mysql(e) {
        // No RETURNING on MySQL: refused before anything is sent.
        let mut c = e.connect()?;
        let refused = c
            .execute(
                &insert(&f.accounts)
                    .columns(["id", "email"])
                    .row((70, "new@example.com"))
                    .returning(f.accounts.c("id")),
            )
            .map(drop);
        ensure(
            matches!(&refused, Err(Error::Unsupported { construct, .. }) if construct == "RETURNING"),
            || format!("RETURNING on MySQL: {refused:?}"),
        )?;
        return committed_rows_intact(&mut c, &f);
    }
    let want = Expect {
        kind: DbErrorKind::IntegrityError,
        pg_code: "23505",
        sqlite_code: "2067",
        mysql_code: "1062",
        sql_contains: "RETURNING",
    };
    fails_and_recovers(e, &f, &want, &|c| {
        let ids: Vec<i64> = c
            .execute(
                &insert(&f.accounts)
                    .columns(["id", "email"])
                    .row((70, "new@example.com"))
                    .row((71, "bob@example.com"))
                    .returning(f.accounts.c("id")),
            )?
            .scalars()?;
        Err(fail(format!("inserted {ids:?}")))
    })
}

fn wrong_parameter_type(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let stmt = || insert(&f.people).value("id", "seven").value("name", "x");
    if !is_pg(e) {
        // SQLite stores what it is given, except that an INTEGER PRIMARY KEY takes
        // integers only; MySQL in strict mode refuses text that is not a number.
        let want = Expect {
            kind: DbErrorKind::DataError,
            pg_code: "",
            sqlite_code: "20",  // SQLITE_MISMATCH
            mysql_code: "1366", // incorrect integer value (strict mode)
            sql_contains: r#"INSERT INTO "people""#,
        };
        return fails_and_recovers(e, &f, &want, &|c| c.execute(&stmt()).map(drop));
    }
    // PostgreSQL: strata checks every parameter against the type the server expects
    // before sending anything.
    let mut c = e.connect()?;
    let check = |err: Error, pos: &str, ty: &str, kind: &str, sql_piece: &str| -> Result<()> {
        match &err {
            Error::TypeMismatch { message, sql } => {
                for needle in [pos, ty, kind] {
                    ensure(message.contains(needle), || {
                        format!("{message:?} should name {needle:?}")
                    })?;
                }
                ensure(
                    sql.as_deref().is_some_and(|s| s.contains(sql_piece)),
                    || format!("TypeMismatch carries the SQL: {sql:?}"),
                )?;
                check_eq("err.sql()", err.sql(), sql.as_deref())?;
                ensure(err.to_string().contains(sql_piece), || {
                    format!("Display: {err}")
                })
            }
            other => Err(fail(format!("expected TypeMismatch, got {other:?}"))),
        }
    };
    let err = c.execute(&stmt()).unwrap_err();
    check(err, "$1", "int4", "text", r#"INSERT INTO "people""#)?;
    committed_rows_intact(&mut c, &f)?;
    // In a transaction: nothing was sent, so the transaction is not even aborted.
    let mut tx = c.begin()?;
    tx.execute(&insert(&f.people).value("id", 10).value("name", "in tx"))?;
    let err = tx
        .execute(
            &update(&f.accounts)
                .set("balance", 1_i64 << 40)
                .where_(f.accounts.c("id").eq(1)),
        )
        .unwrap_err();
    check(err, "$1", "int4", "i64", r#"UPDATE "accounts""#)?;
    let err = tx
        .execute(&select(f.people.c("name")).where_(f.people.c("id").eq(2.5)))
        .unwrap_err();
    check(err, "$1", "int4", "f64", r#"FROM "people""#)?;
    check_eq(
        "transaction still usable",
        count(&mut tx, &f.people)?,
        PEOPLE + 1,
    )?;
    tx.rollback()?;
    committed_rows_intact(&mut c, &f)?;
    let err = e
        .begin(|c| {
            c.execute(&insert(&f.people).value("id", 11).value("name", "gone"))?;
            c.execute(&text("SELECT name FROM people WHERE id = :id").bind("id", true))?;
            Ok(())
        })
        .unwrap_err();
    check(err, "$1", "int4", "bool", "SELECT name FROM people")?;
    drop(c);
    let mut fresh = e.connect()?;
    committed_rows_intact(&mut fresh, &f)
}

fn execute_many_failure_writes_nothing(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let want = Expect {
        kind: DbErrorKind::IntegrityError,
        pg_code: "23505",
        sqlite_code: "2067",
        mysql_code: "1062",
        sql_contains: r#"INSERT INTO "accounts""#,
    };
    fails_and_recovers(e, &f, &want, &|c| {
        c.execute_many((0..5).map(|i| {
            let email = if i == 3 {
                "bob@example.com".to_string()
            } else {
                format!("bulk{i}@example.com")
            };
            insert(&f.accounts)
                .value("id", 100 + i)
                .value("email", email)
        }))
        .map(drop)
    })
}

// ---------------------------------------------------------------------------------------
// Errors that never reach the database
// ---------------------------------------------------------------------------------------

on_all!(crate::support::checked; statement_errors_before_execution);

fn statement_errors_before_execution(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let mut c = e.connect()?;
    let executed = e.statements_executed();
    let unknown = c
        .execute(&select(f.people.c("nope")))
        .err()
        .ok_or_else(|| fail("unknown column".into()))?;
    ensure(
        matches!(&unknown, Error::UnknownColumn { table, column } if table == "people" && column == "nope"),
        || format!("{unknown:?}"),
    )?;
    let bad_insert = c
        .execute(&insert(&f.people).value("nope", 1))
        .err()
        .ok_or_else(|| fail("insert of unknown column".into()))?;
    ensure(matches!(bad_insert, Error::UnknownColumn { .. }), || {
        format!("{bad_insert:?}")
    })?;
    let missing = c
        .execute(&text("SELECT :a"))
        .err()
        .ok_or_else(|| fail("unbound parameter".into()))?;
    ensure(matches!(missing, Error::Parameter(_)), || {
        format!("{missing:?}")
    })?;
    let unused = c
        .execute(&text("SELECT 1").bind("b", 2))
        .err()
        .ok_or_else(|| fail("unused parameter".into()))?;
    ensure(matches!(unused, Error::Parameter(_)), || {
        format!("{unused:?}")
    })?;
    check_eq("nothing was sent", e.statements_executed(), executed)?;
    let wrong_count = c
        .exec_driver_sql(
            if is_pg(e) {
                "SELECT $1::int"
            } else {
                "SELECT ?"
            },
            &[],
        )
        .err()
        .ok_or_else(|| fail("missing positional parameter".into()))?;
    ensure(
        matches!(wrong_count, Error::Parameter(_) | Error::Database { .. }),
        || format!("{wrong_count:?}"),
    )?;
    committed_rows_intact(&mut c, &f)
}

// ---------------------------------------------------------------------------------------
// The server goes away under an open connection (PostgreSQL, a cluster of its own)
// ---------------------------------------------------------------------------------------

#[test]
fn postgres_server_stopped_under_open_connection() {
    let Some(mut cluster) =
        pg::require_dedicated_cluster("postgres_server_stopped_under_open_connection")
    else {
        return;
    };
    let url = format!("{}?pool_size=3&pool_timeout=3", cluster.url());
    let e = create_engine(&url).unwrap();
    let f = fixture(&e).unwrap_or_else(|err| panic!("fixture: {err}"));

    // One connection held open (with an uncommitted write), one idle in the pool.
    let mut held = e.connect().unwrap();
    {
        let mut idle = e.connect().unwrap();
        committed_rows_intact(&mut idle, &f).unwrap();
    }
    check_eq("pool", e.pool_status(), (2, 1)).unwrap();
    held.start_transaction().unwrap();
    held.execute(
        &insert(&f.people)
            .value("id", 10)
            .value("name", "uncommitted"),
    )
    .unwrap();

    cluster.stop();
    assert!(!cluster.is_running());

    let err = held
        .execute(&select(f.people.c("name")).where_(f.people.c("id").eq(1)))
        .unwrap_err();
    match &err {
        Error::Database { kind, sql, .. } => {
            assert_eq!(*kind, DbErrorKind::OperationalError, "{err:?}");
            assert!(
                sql.as_deref()
                    .is_some_and(|s| s.contains(r#"FROM "people""#)),
                "{err:?}"
            );
        }
        Error::Connection(_) => {}
        other => panic!("expected an operational error, got {other:?}"),
    }
    // Ending the transaction cannot reach the server either.
    assert!(held.rollback_transaction().is_err());
    drop(held);

    // While the server is down, connect() fails with the failed attempt's error.
    let started = Instant::now();
    let down = e.connect().map(drop).unwrap_err();
    assert!(matches!(down, Error::Connection(_)), "{down:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    cluster
        .start()
        .unwrap_or_else(|err| panic!("restart: {err}\n{}", cluster.log_tail(20)));

    // Fresh connections work, also the one that was idle in the pool during the stop.
    let mut first = e.connect().unwrap();
    let mut second = e.connect().unwrap();
    for c in [&mut first, &mut second] {
        committed_rows_intact(c, &f).unwrap_or_else(|err| panic!("after restart: {err}"));
        let names: Vec<String> = c
            .execute(&select(f.people.c("name")).order_by([f.people.c("id")]))
            .unwrap()
            .scalars()
            .unwrap();
        assert_eq!(names, ["ann", "bob"], "the uncommitted row is gone");
    }
    drop((first, second));
    e.begin(|c| {
        c.execute(&insert(&f.people).value("id", 3).value("name", "cid"))?;
        Ok(())
    })
    .unwrap();
    let mut c = e.connect().unwrap();
    assert_eq!(count(&mut c, &f.people).unwrap(), PEOPLE + 1);
    drop(c);

    // A restart that nobody sees while it happens: the pool still holds idle connections
    // to the old server. The first statement on one of them may fail (the pool cannot
    // know); that failure retires every connection opened before, so the next
    // connections all work. A new engine: the old one's pool may still be retrying a
    // connection it began while the server was down, which could open one to the
    // restarted server at any time (and be handed out first).
    drop(e);
    let e = create_engine(&url).unwrap();
    {
        let (mut a, mut b) = (e.connect().unwrap(), e.connect().unwrap());
        assert_eq!(count(&mut a, &f.people).unwrap(), PEOPLE + 1);
        assert_eq!(count(&mut b, &f.accounts).unwrap(), ACCOUNTS);
    }
    assert_eq!(e.pool_status().1, 2, "two idle connections");
    cluster.stop();
    cluster
        .start()
        .unwrap_or_else(|err| panic!("restart: {err}\n{}", cluster.log_tail(20)));
    let mut stale = e.connect().unwrap();
    if let Err(err) = count(&mut stale, &f.people) {
        assert_eq!(
            err.db_kind(),
            Some(DbErrorKind::OperationalError),
            "{err:?}"
        );
        assert!(err.sql().is_some(), "{err:?}");
    }
    drop(stale);
    let mut a = e.connect().unwrap();
    let mut b = e.connect().unwrap();
    for c in [&mut a, &mut b] {
        assert_eq!(count(c, &f.people).unwrap(), PEOPLE + 1);
    }
}

// ---------------------------------------------------------------------------------------
// Serialization failures (PostgreSQL; SQLite has one writer at a time)
// ---------------------------------------------------------------------------------------

#[test]
fn postgres_serialization_failure_is_a_transaction_conflict() {
    let Some(e) = support::pg_engine("postgres_serialization_failure_is_a_transaction_conflict")
    else {
        return;
    };
    let f = fixture(&e).unwrap();
    let a = &f.accounts;
    let (mut c1, mut c2) = (e.connect().unwrap(), e.connect().unwrap());
    c1.set_isolation_level(strata::IsolationLevel::Serializable);
    c2.set_isolation_level(strata::IsolationLevel::Serializable);
    let total = select(func::sum(a.c("balance")));
    // Write skew: each reads both balances, then changes a different one.
    let mut t1 = c1.begin().unwrap();
    let mut t2 = c2.begin().unwrap();
    let s1: i64 = t1.execute(&total).unwrap().scalar_one().unwrap();
    let s2: i64 = t2.execute(&total).unwrap().scalar_one().unwrap();
    assert_eq!((s1, s2), (150, 150));
    t1.execute(
        &update(a)
            .set("balance", a.c("balance") - 150)
            .where_(a.c("id").eq(1)),
    )
    .unwrap();
    t2.execute(
        &update(a)
            .set("balance", a.c("balance") - 150)
            .where_(a.c("id").eq(2)),
    )
    .unwrap();
    t1.commit().unwrap();
    let err = t2.commit().unwrap_err();
    assert_eq!(
        err.db_kind(),
        Some(DbErrorKind::TransactionConflict),
        "{err:?}"
    );
    assert_eq!(err.sql(), Some("COMMIT"), "{err:?}");
    assert!(
        matches!(&err, Error::Database { code: Some(c), .. } if c == "40001"),
        "{err:?}"
    );
    // Both connections go on; the second transaction's change is gone, the retry works.
    assert!(!c2.in_transaction());
    let balances: Vec<i64> = c2
        .execute(&select(a.c("balance")).order_by([a.c("id")]))
        .unwrap()
        .scalars()
        .unwrap();
    assert_eq!(balances, [-50, 50, 0]);
    let mut retry = c2.begin().unwrap();
    let s: i64 = retry.execute(&total).unwrap().scalar_one().unwrap();
    assert_eq!(s, 0);
    retry.commit().unwrap();
    let mut fresh = e.connect().unwrap();
    assert_eq!(count(&mut fresh, &f.people).unwrap(), PEOPLE);
    drop(c1);
}

/// `exec_driver_sql_each` (pipelined on PostgreSQL): the counts of every run, then a
/// unique violation in the middle ends the runs, reports the SQL, and leaves nothing
/// written; rows after it do not run.
fn each_run_stops_at_the_first_failure(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let sql = if is_pg(e) {
        "UPDATE accounts SET balance = balance + $1 WHERE id = $2"
    } else {
        "UPDATE accounts SET balance = balance + ? WHERE id = ?"
    };
    let mut c = e.connect()?;
    let rows: Vec<Vec<strata::Value>> = vec![
        vec![1.into(), 1.into()],
        vec![1.into(), 99.into()],
        vec![(-1).into(), 1.into()],
    ];
    let rows: Vec<&[strata::Value]> = rows.iter().map(Vec::as_slice).collect();
    let before = e.statements_executed();
    let mut affected = Vec::new();
    c.exec_driver_sql_each(sql, &rows, &mut affected)?;
    check_eq("rows affected", affected, vec![1, 0, 1])?;
    check_eq("statements", e.statements_executed() - before, 5)?; // BEGIN, 3 runs, COMMIT
    committed_rows_intact(&mut c, &f)?;
    // A statement that returns rows is refused before anything runs.
    let mut affected = Vec::new();
    let select = if is_pg(e) {
        "SELECT id FROM accounts WHERE id = $1"
    } else {
        "SELECT id FROM accounts WHERE id = ?"
    };
    let refused = c.exec_driver_sql_each(select, &rows[..1], &mut affected);
    ensure(matches!(refused, Err(Error::InvalidStatement(_))), || {
        format!("a SELECT should be refused: {refused:?}")
    })?;
    if is_pg(e) {
        // A value the server's parameter type refuses ends the runs at its row.
        let bad: Vec<Vec<strata::Value>> = vec![
            vec![1.into(), 1.into()],
            vec!["x".into(), 1.into()],
            vec![1.into(), 2.into()],
        ];
        let bad: Vec<&[strata::Value]> = bad.iter().map(Vec::as_slice).collect();
        let mut tx = c.begin()?;
        let mut affected = Vec::new();
        let refused = tx.exec_driver_sql_each(sql, &bad, &mut affected);
        check_eq("runs before the refused row", affected, vec![1])?;
        ensure(matches!(refused, Err(Error::TypeMismatch { .. })), || {
            format!("a text for an integer should be refused: {refused:?}")
        })?;
        tx.rollback()?;
        committed_rows_intact(&mut c, &f)?;
    }

    let sql = if is_pg(e) {
        "UPDATE accounts SET email = $1, balance = balance + 1000 WHERE id = $2"
    } else {
        "UPDATE accounts SET email = ?, balance = balance + 1000 WHERE id = ?"
    };
    let want = Expect {
        kind: DbErrorKind::IntegrityError,
        pg_code: "23505",
        sqlite_code: "2067",
        mysql_code: "1062",
        sql_contains: "UPDATE accounts SET email",
    };
    fails_and_recovers(e, &f, &want, &|c| {
        let rows: Vec<Vec<strata::Value>> = vec![
            vec!["new@example.com".into(), 1.into()],
            vec!["bob@example.com".into(), 3.into()],
            vec!["later@example.com".into(), 2.into()],
        ];
        let rows: Vec<&[strata::Value]> = rows.iter().map(Vec::as_slice).collect();
        let mut affected = Vec::new();
        let err = c
            .exec_driver_sql_each(sql, &rows, &mut affected)
            .err()
            .ok_or_else(|| fail("the failing runs succeeded".into()))?;
        check_eq("counts before the failure", affected, vec![1])?;
        Err(err)
    })
}

/// Statements nested hundreds of levels deep compile and run within a test thread's
/// 2 MiB stack (in a debug build, whose frames are the largest), and so do ten thousand
/// ORed conditions; a statement nested deeper than strata compiles is an error, not a
/// stack overflow that aborts the process.
fn deep_statements_run_or_fail_cleanly(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let mut c = e.connect()?;
    let id = || f.people.c("id");
    // ((id + 1) + 1) ... + 1, 500 levels.
    let mut sum = id();
    for _ in 0..500 {
        sum = sum + literal(1);
    }
    let got: i64 = c.execute(&select(sum).where_(id().eq(1)))?.scalar_one()?;
    check_eq("id + 1 + ... + 1", got, 501)?;
    // Ten thousand conditions, ORed one by one.
    let mut any = id().eq(-1);
    for i in 0..10_000 {
        any = any.or(id().eq(i));
    }
    let n: i64 = c
        .execute(
            &select(func::count_star())
                .select_from(&f.people)
                .where_(any),
        )?
        .scalar_one()?;
    check_eq("rows matching 10 000 ORed conditions", n, PEOPLE)?;
    // A scalar subquery in a scalar subquery ... (SQLite allows a few dozen levels).
    let levels = if is_pg(e) { 200 } else { 40 };
    let mut q = select(id()).where_(id().eq(2));
    for _ in 0..levels {
        q = select(q.scalar_subquery());
    }
    let got: i64 = c.execute(&q)?.scalar_one()?;
    check_eq("nested subqueries", got, 2)?;
    // NOT NOT ... NOT, 3000 levels: more than strata compiles.
    let mut deep = id().eq(1);
    for _ in 0..3000 {
        deep = not_(deep);
    }
    match c.execute(&select(id()).where_(deep)) {
        Err(Error::InvalidStatement(m)) if m.contains("nested more than 2000 levels") => {}
        Err(other) => return Err(fail(format!("expected the nesting error, got {other}"))),
        Ok(_) => return Err(fail("3000 levels of NOT compiled".into())),
    }
    committed_rows_intact(&mut c, &f)
}

/// Tens of thousands of parameters: an IN list and a text() statement within the
/// databases' limits run (text() binds by name in constant time, so 20 000 names take
/// no longer than a linear pass); an INSERT past them is an error that names the limit,
/// with nothing written, and whose message shows only the start of the statement.
fn statements_with_very_many_parameters(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let mut c = e.connect()?;
    let id = || f.people.c("id");
    let ids: Vec<i64> = (0..30_000).collect();
    let n: i64 = c
        .execute(
            &select(func::count_star())
                .select_from(&f.people)
                .where_(id().in_(ids)),
        )?
        .scalar_one()?;
    check_eq("rows matching an IN list of 30 000", n, PEOPLE)?;
    let names: Vec<String> = (0..20_000).map(|i| format!(":p{i}")).collect();
    let mut stmt = text(&format!(
        "SELECT count(*) FROM people WHERE id IN ({})",
        names.join(", ")
    ));
    for i in 0..20_000i64 {
        stmt = stmt.bind(&format!("p{i}"), i);
    }
    let n: i64 = c.execute(&stmt)?.scalar_one()?;
    check_eq("rows matching 20 000 text() parameters", n, PEOPLE)?;
    // 40 000 rows of two values: more than either database takes in one statement.
    let rows = (1000..41_000).map(|i| (i, format!("p{i}")));
    let err = match c.execute(&insert(&f.people).columns(["id", "name"]).rows(rows)) {
        Ok(_) => return Err(fail("an INSERT of 80 000 parameters ran".into())),
        Err(err) => err,
    };
    let said = err.to_string();
    if is_pg(e) || is_mysql(e) {
        ensure(
            matches!(err, Error::Parameter(_)) && said.contains("at most 65535"),
            || format!("expected the parameter limit, got {said}"),
        )?;
    } else {
        ensure(said.contains("too many SQL variables"), || {
            format!("expected SQLite's variable limit, got {said}")
        })?;
        // The message shows the start of the statement; the error keeps all of it.
        let whole = err.sql().map_or(0, str::len);
        ensure(said.len() < 3000 && whole > 300_000, || {
            format!(
                "a message of {} bytes for a statement of {whole} bytes",
                said.len()
            )
        })?;
        ensure(said.contains("more bytes)"), || {
            format!("the cut is not marked: {said}")
        })?;
    }
    committed_rows_intact(&mut c, &f)
}

/// A table, column, index or label name longer than PostgreSQL keeps (63 bytes, past
/// which it cuts names short silently) is an error naming it on PostgreSQL, before
/// anything is created; SQLite has no limit and runs them.
fn names_longer_than_the_database_keeps(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let long = format!("t_{}", "x".repeat(70));
    let col = format!("c_{}", "y".repeat(70));
    let mut md = MetaData::new();
    let t = Table::build(&long)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new(&col, SqlType::Integer))
        .add_to(&mut md)?;
    let label = format!("l_{}", "z".repeat(70));
    let labelled = select(f.people.c("id").label(&label)).where_(f.people.c("id").eq(1));
    // A short table whose index gets a long name from the naming convention.
    let mut md2 = MetaData::new();
    Table::build("short_named")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new(&col, SqlType::Integer).index())
        .add_to(&mut md2)?;
    // Where the database takes the long label, it reads back under it.
    let long_label_reads = |c: &mut Connection| -> Result<()> {
        let row = c.execute(&labelled)?.one()?;
        check_eq(
            "long label read by name",
            row.get::<i64>(label.as_str())?,
            1,
        )
    };
    let mut c = e.connect()?;
    let max = e.dialect().capabilities().max_identifier_length;
    if let Some(max) = max {
        let at_most = format!("at most {max} bytes");
        for (what, made) in [
            ("create_all", md.create_all(e)),
            ("index", md2.create_all(e)),
        ] {
            match made {
                Err(Error::InvalidSchema(m)) if m.contains(&at_most) => {}
                other => {
                    return Err(fail(format!(
                        "{what}: expected the length error, got {other:?}"
                    )))
                }
            }
        }
        let schema = if is_pg(e) {
            "current_schema()"
        } else {
            "DATABASE()"
        };
        let n: i64 = c
            .execute(&text(&format!(
                "SELECT count(*) FROM information_schema.tables WHERE (table_name LIKE 't_xxx%' \
                 OR table_name = 'short_named') AND table_schema = {schema}"
            )))?
            .scalar_one()?;
        check_eq("tables created", n, 0)?;
        match c.execute(&labelled) {
            Err(Error::InvalidStatement(m)) if m.contains(&at_most) => {}
            other => {
                return Err(fail(format!(
                    "label: expected the length error, got {other:?}"
                )))
            }
        }
    } else if is_mysql(e) {
        // MySQL refuses long names itself (64 characters; labels may have 256).
        for (what, made) in [
            ("create_all", md.create_all(e)),
            ("index", md2.create_all(e)),
        ] {
            match made {
                Err(err) if err.db_kind() == Some(DbErrorKind::ProgrammingError) => {}
                other => {
                    return Err(fail(format!(
                        "{what}: expected the server's refusal, got {other:?}"
                    )))
                }
            }
        }
        long_label_reads(&mut c)?;
        // The index of `short_named` was refused: drop the table it left.
        md2.drop_all(e)?;
    } else {
        md.create_all(e)?;
        md2.create_all(e)?;
        c.execute(&insert(&t).columns(["id", col.as_str()]).row((1, 5)))?;
        let row = c.execute(&select(&t))?.one()?;
        check_eq("long column read by name", row.get::<i64>(col.as_str())?, 5)?;
        long_label_reads(&mut c)?;
        md.drop_all(e)?;
        md2.drop_all(e)?;
    }
    committed_rows_intact(&mut c, &f)
}

/// A table dropped and created again with other column types: statements prepared for
/// the old table are prepared afresh. When another process changes the table, a
/// statement whose values no longer fit the old parameter types is prepared again
/// before they are refused, and one whose plan the server will not reuse is prepared
/// and run again outside a transaction; through the same engine, every connection
/// drops its prepared statements when one of them runs DDL (a text parameter, which
/// takes any value, would otherwise send an integer as text to the new integer column).
/// The one row's `x` of the table `t`.
fn x_of<T: strata::engine::FromValue>(c: &mut Connection, t: &Table) -> T {
    c.execute(&select(t.c("x"))).unwrap().scalar_one().unwrap()
}

#[test]
fn postgres_statements_follow_a_table_recreated_with_other_types() {
    let Some(url) = pg::require_fresh_database("postgres_statements_follow_a_recreated_table")
    else {
        return;
    };
    let table = |ty: SqlType| {
        let mut md = MetaData::new();
        let t = Table::build("reshaped")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("x", ty))
            .add_to(&mut md)
            .unwrap();
        (md, t)
    };
    let (md_int, t_int) = table(SqlType::Integer);
    let (md_text, t_text) = table(SqlType::Text);
    let count = |c: &mut Connection| -> i64 {
        c.execute(&text("SELECT count(*) FROM reshaped"))
            .unwrap()
            .scalar_one()
            .unwrap()
    };
    // Two connections, both with the statements prepared for an integer column.
    let e = create_engine(&format!("{url}?pool_size=2")).unwrap();
    md_int.create_all(&e).unwrap();
    let (mut c1, mut c2) = (e.connect().unwrap(), e.connect().unwrap());
    for (id, c) in [(1, &mut c1), (2, &mut c2)] {
        c.execute(&insert(&t_int).columns(["id", "x"]).row((id, 5)))
            .unwrap();
    }
    // Another engine (as another process would) makes the column text: the insert's
    // text value does not fit the old integer parameter, so it is prepared again.
    let other = create_engine(&url).unwrap();
    md_int.drop_all(&other).unwrap();
    md_text.create_all(&other).unwrap();
    c2.execute(&insert(&t_text).columns(["id", "x"]).row((1, "five")))
        .unwrap();
    assert_eq!(count(&mut c2), 1);
    // A value that fits neither the old nor the new types is still refused.
    let err = c2
        .execute(
            &insert(&t_text)
                .columns(["id", "x"])
                .row((2, b"\x00".to_vec())),
        )
        .map(drop)
        .unwrap_err();
    assert!(matches!(err, Error::TypeMismatch { .. }), "{err:?}");
    // Through this engine, one connection makes the column an integer again: the
    // other drops its statements prepared for text.
    c1.execute(&text("DROP TABLE reshaped")).unwrap();
    drop(c1);
    md_int.create_all(&e).unwrap();
    c2.execute(&insert(&t_int).columns(["id", "x"]).row((1, 7)))
        .unwrap();
    assert_eq!(x_of::<i64>(&mut c2, &t_int), 7);
    // Another process makes it text again. The cached SELECT's plan cannot be reused
    // ("cached plan must not change result type"); outside a transaction it is prepared
    // again and run once more, so the caller sees only the rows.
    md_int.drop_all(&other).unwrap();
    md_text.create_all(&other).unwrap();
    other
        .connect()
        .unwrap()
        .execute(&insert(&t_text).columns(["id", "x"]).row((1, "eight")))
        .unwrap();
    assert_eq!(x_of::<String>(&mut c2, &t_text), "eight");
    // Inside a transaction the failed run cannot be repeated (the transaction is
    // aborted): the error is the caller's, and the statement is prepared afresh after.
    md_text.drop_all(&other).unwrap();
    md_int.create_all(&other).unwrap();
    {
        let mut tx = c2.begin().unwrap();
        let err = tx.execute(&select(t_text.c("x"))).map(drop).unwrap_err();
        assert!(err.to_string().contains("cached plan"), "{err}");
    }
    let xs: Vec<i64> = c2
        .execute(&select(t_int.c("x")))
        .unwrap()
        .scalars()
        .unwrap();
    assert!(xs.is_empty());
}
