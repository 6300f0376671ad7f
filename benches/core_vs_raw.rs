//! strata Core against the raw driver (rusqlite / postgres with hand-written prepared
//! statements), on Diesel's benchmark workloads:
//!
//! - `trivial_query`: load all users (1, 100, 10 000 rows);
//! - `medium_complex_query`: users LEFT JOIN posts with a filter on `hair_color`
//!   (1, 100, 1000 users with one post each);
//! - `insert`: N users in one multi-row INSERT (1, 100, 1000 rows), inside a
//!   transaction that is rolled back, so the table size stays constant. As in Diesel's
//!   benchmark, every iteration makes its users (`format!("User {i}")`) and inserts
//!   them: the raw side binds them to its prepared statement, strata moves them into
//!   the statement it builds (`insert().columns().rows()`). `strata_prebuilt` is a
//!   stricter variant: the users are made once, outside the timed part, and strata
//!   copies their borrowed strings into each statement while the raw side binds them
//!   by reference.
//!
//! Both sides materialize every row into the same Rust structs: the raw side reads typed
//! columns from the driver's rows, strata reads typed tuples from its rows
//! (`result.tuples::<(i32, String, Option<String>)>()`).
//!
//! SQLite runs in memory through `create_engine("sqlite://")` (a shared-cache in-memory
//! database); the raw side opens its own shared-cache in-memory database with the same
//! flags and settings, so both run on the same kind of connection. The `raw_private`
//! entries use `rusqlite::Connection::open_in_memory()` for reference.
//!
//! PostgreSQL runs when `STRATA_BENCH_PG_URL` (or `STRATA_TEST_PG_URL`) is set, e.g.
//! `postgresql://postgres@127.0.0.1:5432/bench`; it creates and drops the tables
//! `bench_users` and `bench_posts` there.
//!
//! Run: `cargo bench --bench core_vs_raw -- --warm-up-time 1 --measurement-time 3`
//!
//! With `STRATA_BENCH_PAIRED` set (to a number of rounds; 21 otherwise), each workload
//! is also timed against its raw side in alternating rounds, and the median ratio of
//! neighbouring runs is printed (`paired ...: strata / raw ...`): steadier than the
//! ratio of two criterion medians on a machine whose speed drifts between them.

use std::hint::black_box;

#[path = "support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use postgres::types::ToSql as PgToSql;
use strata::{
    create_engine, insert, select, Column, Connection, Engine, MetaData, Result, SqlType, Table,
};
use support::{
    configure_sqlite, paired, pg_url, raw_sqlite_exec_all, raw_sqlite_shared, time_iters, Db,
};

const TRIVIAL_SIZES: [usize; 3] = [1, 100, 10_000];
const MEDIUM_SIZES: [usize; 3] = [1, 100, 1000];
const INSERT_SIZES: [usize; 3] = [1, 100, 1000];

/// A loaded user.
#[derive(Debug, Clone, PartialEq)]
struct User {
    id: i32,
    name: String,
    hair_color: Option<String>,
}

/// A loaded post.
#[derive(Debug, Clone, PartialEq)]
struct Post {
    id: i32,
    user_id: i32,
    title: String,
    body: Option<String>,
}

/// A user to insert.
#[derive(Debug, Clone)]
struct NewUser {
    name: String,
    hair_color: Option<String>,
}

fn new_users(n: usize) -> Vec<NewUser> {
    (0..n)
        .map(|i| NewUser {
            name: format!("User {i}"),
            hair_color: (i % 2 == 0).then(|| "black".to_string()),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Schema and data, shared by both sides.
// ---------------------------------------------------------------------------------------

fn ddl(db: Db) -> Vec<String> {
    let id = match db {
        Db::Sqlite => "INTEGER PRIMARY KEY",
        Db::Postgres => "SERIAL PRIMARY KEY",
    };
    vec![
        "DROP TABLE IF EXISTS bench_posts".into(),
        "DROP TABLE IF EXISTS bench_users".into(),
        format!("CREATE TABLE bench_users (id {id}, name TEXT NOT NULL, hair_color TEXT)"),
        format!(
            "CREATE TABLE bench_posts (id {id}, user_id INTEGER NOT NULL REFERENCES bench_users (id), \
             title TEXT NOT NULL, body TEXT)"
        ),
    ]
}

/// Statements that leave exactly `users` users (ids 1..=users, every other one with black
/// hair, the rest brown) and, with `posts`, one post per user.
fn populate(db: Db, users: usize, posts: bool) -> Vec<String> {
    let mut out = vec![
        "DELETE FROM bench_posts".to_string(),
        "DELETE FROM bench_users".to_string(),
    ];
    let ids: Vec<usize> = (1..=users).collect();
    for chunk in ids.chunks(500) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| {
                let hair = if i % 2 == 1 { "black" } else { "brown" };
                format!("({i}, 'User {i}', '{hair}')")
            })
            .collect();
        out.push(format!(
            "INSERT INTO bench_users (id, name, hair_color) VALUES {}",
            rows.join(", ")
        ));
        if posts {
            let rows: Vec<String> = chunk
                .iter()
                .map(|i| format!("({i}, {i}, 'Post by user {i}', NULL)"))
                .collect();
            out.push(format!(
                "INSERT INTO bench_posts (id, user_id, title, body) VALUES {}",
                rows.join(", ")
            ));
        }
    }
    if db == Db::Postgres {
        out.push(format!(
            "SELECT setval('bench_users_id_seq', {})",
            users.max(1)
        ));
        out.push(format!(
            "SELECT setval('bench_posts_id_seq', {})",
            users.max(1)
        ));
        out.push("ANALYZE bench_users".into());
        out.push("ANALYZE bench_posts".into());
    }
    out
}

/// strata's view of the tables.
struct Schema {
    _metadata: MetaData,
    users: Table,
    posts: Table,
}

fn schema() -> Schema {
    let mut metadata = MetaData::new();
    let users = Table::build("bench_users")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::Text).not_null())
        .column(Column::new("hair_color", SqlType::Text))
        .add_to(&mut metadata)
        .expect("users table");
    let posts = Table::build("bench_posts")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .foreign_key("bench_users.id")
                .not_null(),
        )
        .column(Column::new("title", SqlType::Text).not_null())
        .column(Column::new("body", SqlType::Text))
        .add_to(&mut metadata)
        .expect("posts table");
    Schema {
        _metadata: metadata,
        users,
        posts,
    }
}

/// The raw side's SQL, written by hand (the same text strata renders, so both sides
/// prepare an identical statement).
const USERS_SQL: &str = r#"SELECT "bench_users"."id", "bench_users"."name", "bench_users"."hair_color" FROM "bench_users""#;

fn medium_sql(db: Db) -> String {
    format!(
        r#"SELECT "bench_users"."id", "bench_users"."name", "bench_users"."hair_color", "bench_posts"."id", "bench_posts"."user_id", "bench_posts"."title", "bench_posts"."body" FROM "bench_users" LEFT JOIN "bench_posts" ON "bench_users"."id" = "bench_posts"."user_id" WHERE "bench_users"."hair_color" = {}"#,
        db.placeholder(1)
    )
}

fn insert_sql(db: Db, rows: usize) -> String {
    let mut sql = String::from(r#"INSERT INTO "bench_users" ("name", "hair_color") VALUES "#);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(&db.placeholder(2 * r + 1));
        sql.push_str(", ");
        sql.push_str(&db.placeholder(2 * r + 2));
        sql.push(')');
    }
    sql
}

// ---------------------------------------------------------------------------------------
// strata Core.
// ---------------------------------------------------------------------------------------

/// A user's columns as strata reads them.
type UserColumns = (i32, String, Option<String>);

fn user(t: UserColumns) -> User {
    User {
        id: t.0,
        name: t.1,
        hair_color: t.2,
    }
}

fn strata_users(conn: &mut Connection, s: &Schema) -> Result<Vec<User>> {
    let stmt = select(&s.users);
    let mut out = Vec::new();
    for t in conn.execute(&stmt)?.tuples::<UserColumns>() {
        out.push(user(t?));
    }
    Ok(out)
}

fn medium_stmt(s: &Schema) -> strata::Select {
    select((&s.users, &s.posts))
        .select_from(s.users.outerjoin(&s.posts))
        .where_(s.users.c("hair_color").eq("black"))
}

type MediumColumns = (
    i32,
    String,
    Option<String>,
    Option<i32>,
    Option<i32>,
    Option<String>,
    Option<String>,
);

fn strata_medium(conn: &mut Connection, s: &Schema) -> Result<Vec<(User, Option<Post>)>> {
    let stmt = medium_stmt(s);
    let mut out = Vec::new();
    for t in conn.execute(&stmt)?.tuples::<MediumColumns>() {
        let (id, name, hair_color, post_id, user_id, title, body) = t?;
        let post = match (post_id, user_id, title) {
            (Some(id), Some(user_id), Some(title)) => Some(Post {
                id,
                user_id,
                title,
                body,
            }),
            _ => None,
        };
        out.push((user((id, name, hair_color)), post));
    }
    Ok(out)
}

fn insert_stmt(s: &Schema, data: &[NewUser]) -> strata::Insert {
    insert(&s.users).columns(["name", "hair_color"]).rows(
        data.iter()
            .map(|u| (u.name.as_str(), u.hair_color.as_deref())),
    )
}

/// Diesel's workload: make `n` users, insert them.
fn strata_insert(conn: &mut Connection, s: &Schema, n: usize) -> Result<u64> {
    let stmt = insert(&s.users)
        .columns(["name", "hair_color"])
        .rows(new_users(n).into_iter().map(|u| (u.name, u.hair_color)));
    let mut tx = conn.begin()?;
    let affected = tx.execute(&stmt)?.rows_affected();
    tx.rollback()?;
    Ok(affected)
}

/// The users made beforehand: strata copies their strings into the statement.
fn strata_insert_prebuilt(conn: &mut Connection, s: &Schema, data: &[NewUser]) -> Result<u64> {
    let mut tx = conn.begin()?;
    let n = tx.execute(&insert_stmt(s, data))?.rows_affected();
    tx.rollback()?;
    Ok(n)
}

fn strata_exec_all(engine: &Engine, statements: &[String]) -> Result<()> {
    let mut conn = engine.connect()?;
    for sql in statements {
        conn.exec_driver_sql(sql, &[])?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Raw rusqlite.
// ---------------------------------------------------------------------------------------

fn raw_sqlite_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        hair_color: r.get(2)?,
    })
}

fn raw_sqlite_users(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<User>> {
    let mut stmt = conn.prepare_cached(USERS_SQL)?;
    let rows = stmt.query_map([], raw_sqlite_user)?;
    rows.collect()
}

fn raw_sqlite_medium(
    conn: &rusqlite::Connection,
    sql: &str,
) -> rusqlite::Result<Vec<(User, Option<Post>)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(["black"], |r| {
        let post = match r.get::<_, Option<i32>>(3)? {
            Some(id) => Some(Post {
                id,
                user_id: r.get(4)?,
                title: r.get(5)?,
                body: r.get(6)?,
            }),
            None => None,
        };
        Ok((raw_sqlite_user(r)?, post))
    })?;
    rows.collect()
}

fn raw_sqlite_insert(
    conn: &mut rusqlite::Connection,
    sql: &str,
    data: &[NewUser],
) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let n = {
        let mut stmt = tx.prepare_cached(sql)?;
        for (i, u) in data.iter().enumerate() {
            stmt.raw_bind_parameter(2 * i + 1, &u.name)?;
            stmt.raw_bind_parameter(2 * i + 2, &u.hair_color)?;
        }
        stmt.raw_execute()?
    };
    tx.rollback()?;
    Ok(n)
}

// ---------------------------------------------------------------------------------------
// Raw postgres.
// ---------------------------------------------------------------------------------------

fn raw_pg_user(r: &postgres::Row) -> User {
    User {
        id: r.get(0),
        name: r.get(1),
        hair_color: r.get(2),
    }
}

fn raw_pg_users(
    client: &mut postgres::Client,
    stmt: &postgres::Statement,
) -> std::result::Result<Vec<User>, postgres::Error> {
    Ok(client.query(stmt, &[])?.iter().map(raw_pg_user).collect())
}

fn raw_pg_medium(
    client: &mut postgres::Client,
    stmt: &postgres::Statement,
) -> std::result::Result<Vec<(User, Option<Post>)>, postgres::Error> {
    Ok(client
        .query(stmt, &[&"black"])?
        .iter()
        .map(|r| {
            let post = r.get::<_, Option<i32>>(3).map(|id| Post {
                id,
                user_id: r.get(4),
                title: r.get(5),
                body: r.get(6),
            });
            (raw_pg_user(r), post)
        })
        .collect())
}

fn raw_pg_insert(
    client: &mut postgres::Client,
    stmt: &postgres::Statement,
    data: &[NewUser],
) -> std::result::Result<u64, postgres::Error> {
    let mut tx = client.transaction()?;
    let mut params: Vec<&(dyn PgToSql + Sync)> = Vec::with_capacity(2 * data.len());
    for u in data {
        params.push(&u.name);
        params.push(&u.hair_color);
    }
    let n = tx.execute(stmt, &params)?;
    tx.rollback()?;
    Ok(n)
}

fn raw_pg_exec_all(client: &mut postgres::Client, statements: &[String]) {
    for sql in statements {
        client.batch_execute(sql).expect(sql);
    }
}

// ---------------------------------------------------------------------------------------
// Benchmarks.
// ---------------------------------------------------------------------------------------

fn sample_size(n: usize) -> usize {
    if n >= 1000 {
        30
    } else {
        100
    }
}

fn bench_sqlite(c: &mut Criterion) {
    let s = schema();
    let engine = create_engine("sqlite://").expect("sqlite engine");
    strata_exec_all(&engine, &ddl(Db::Sqlite)).expect("strata ddl");
    // The raw side's database, plus a second connection kept open like the strata
    // driver's keeper connection.
    let raw_name = format!("core_vs_raw_{}", std::process::id());
    let mut raw = raw_sqlite_shared(&raw_name);
    let _raw_keeper = raw_sqlite_shared(&raw_name);
    let private = configure_sqlite(rusqlite::Connection::open_in_memory().expect("memory"));
    raw_sqlite_exec_all(&raw, &ddl(Db::Sqlite));
    raw_sqlite_exec_all(&private, &ddl(Db::Sqlite));
    let mut conn = engine.connect().expect("connect");

    let setup = |conn: &mut Connection, raw: &rusqlite::Connection, users, posts| {
        let stmts = populate(Db::Sqlite, users, posts);
        raw_sqlite_exec_all(raw, &stmts);
        raw_sqlite_exec_all(&private, &stmts);
        for sql in &stmts {
            conn.exec_driver_sql(sql, &[]).expect(sql);
        }
    };

    let mut g = c.benchmark_group("trivial_query/sqlite");
    for n in TRIVIAL_SIZES {
        setup(&mut conn, &raw, n, false);
        let expected = raw_sqlite_users(&raw).expect("raw users");
        assert_eq!(expected.len(), n);
        assert_eq!(strata_users(&mut conn, &s).expect("strata users"), expected);
        assert_eq!(raw_sqlite_users(&private).expect("private"), expected);
        g.sample_size(sample_size(n));
        g.bench_with_input(BenchmarkId::new("raw", n), &n, |b, _| {
            b.iter(|| black_box(raw_sqlite_users(&raw).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("strata", n), &n, |b, _| {
            b.iter(|| black_box(strata_users(&mut conn, &s).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("raw_private", n), &n, |b, _| {
            b.iter(|| black_box(raw_sqlite_users(&private).unwrap()))
        });
        paired(
            &format!("trivial_query/sqlite/{n}"),
            |k| time_iters(k, || raw_sqlite_users(&raw).unwrap()),
            |k| time_iters(k, || strata_users(&mut conn, &s).unwrap()),
        );
    }
    g.finish();

    let sql = medium_sql(Db::Sqlite);
    let mut g = c.benchmark_group("medium_complex_query/sqlite");
    for n in MEDIUM_SIZES {
        setup(&mut conn, &raw, n, true);
        let expected = raw_sqlite_medium(&raw, &sql).expect("raw medium");
        assert_eq!(expected.len(), n.div_ceil(2));
        assert_eq!(
            strata_medium(&mut conn, &s).expect("strata medium"),
            expected
        );
        g.sample_size(sample_size(n));
        g.bench_with_input(BenchmarkId::new("raw", n), &n, |b, _| {
            b.iter(|| black_box(raw_sqlite_medium(&raw, &sql).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("strata", n), &n, |b, _| {
            b.iter(|| black_box(strata_medium(&mut conn, &s).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("raw_private", n), &n, |b, _| {
            b.iter(|| black_box(raw_sqlite_medium(&private, &sql).unwrap()))
        });
        paired(
            &format!("medium_complex_query/sqlite/{n}"),
            |k| time_iters(k, || raw_sqlite_medium(&raw, &sql).unwrap()),
            |k| time_iters(k, || strata_medium(&mut conn, &s).unwrap()),
        );
    }
    g.finish();

    setup(&mut conn, &raw, 0, false);
    let mut private = private;
    let mut g = c.benchmark_group("insert/sqlite");
    for n in INSERT_SIZES {
        let data = new_users(n);
        let sql = insert_sql(Db::Sqlite, n);
        assert_eq!(raw_sqlite_insert(&mut raw, &sql, &data).expect("raw"), n);
        assert_eq!(strata_insert(&mut conn, &s, n).expect("strata") as usize, n);
        assert_eq!(
            strata_insert_prebuilt(&mut conn, &s, &data).expect("strata") as usize,
            n
        );
        g.sample_size(sample_size(n));
        g.bench_with_input(BenchmarkId::new("raw", n), &n, |b, _| {
            b.iter(|| black_box(raw_sqlite_insert(&mut raw, &sql, &new_users(n)).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("strata", n), &n, |b, _| {
            b.iter(|| black_box(strata_insert(&mut conn, &s, n).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("raw_private", n), &n, |b, _| {
            b.iter(|| black_box(raw_sqlite_insert(&mut private, &sql, &new_users(n)).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("raw_prebuilt", n), &n, |b, _| {
            b.iter(|| black_box(raw_sqlite_insert(&mut raw, &sql, &data).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("strata_prebuilt", n), &n, |b, _| {
            b.iter(|| black_box(strata_insert_prebuilt(&mut conn, &s, &data).unwrap()))
        });
        paired(
            &format!("insert/sqlite/{n}"),
            |k| {
                time_iters(k, || {
                    raw_sqlite_insert(&mut raw, &sql, &new_users(n)).unwrap()
                })
            },
            |k| time_iters(k, || strata_insert(&mut conn, &s, n).unwrap()),
        );
    }
    g.finish();
}

fn bench_postgres(c: &mut Criterion) {
    let Some(url) = pg_url() else {
        println!(
            "core_vs_raw: skipping the PostgreSQL benchmarks: set STRATA_BENCH_PG_URL \
             (or STRATA_TEST_PG_URL) to a postgresql:// URL to run them"
        );
        return;
    };
    let s = schema();
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("raw pg connect");
    raw_pg_exec_all(&mut client, &ddl(Db::Postgres));
    let engine = create_engine(&url).expect("pg engine");
    let mut conn = engine.connect().expect("connect");
    let db = Db::Postgres;

    let mut g = c.benchmark_group(format!("trivial_query/{}", db.name()));
    let stmt = client.prepare(USERS_SQL).expect("prepare");
    for n in TRIVIAL_SIZES {
        raw_pg_exec_all(&mut client, &populate(db, n, false));
        let expected = raw_pg_users(&mut client, &stmt).expect("raw users");
        assert_eq!(expected.len(), n);
        let mut got = strata_users(&mut conn, &s).expect("strata users");
        got.sort_by_key(|u| u.id);
        let mut want = expected.clone();
        want.sort_by_key(|u| u.id);
        assert_eq!(got, want);
        g.sample_size(sample_size(n));
        g.bench_with_input(BenchmarkId::new("raw", n), &n, |b, _| {
            b.iter(|| black_box(raw_pg_users(&mut client, &stmt).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("strata", n), &n, |b, _| {
            b.iter(|| black_box(strata_users(&mut conn, &s).unwrap()))
        });
        paired(
            &format!("trivial_query/{}/{n}", db.name()),
            |k| time_iters(k, || raw_pg_users(&mut client, &stmt).unwrap()),
            |k| time_iters(k, || strata_users(&mut conn, &s).unwrap()),
        );
    }
    g.finish();

    let mut g = c.benchmark_group(format!("medium_complex_query/{}", db.name()));
    let stmt = client.prepare(&medium_sql(db)).expect("prepare");
    for n in MEDIUM_SIZES {
        raw_pg_exec_all(&mut client, &populate(db, n, true));
        let mut want = raw_pg_medium(&mut client, &stmt).expect("raw medium");
        assert_eq!(want.len(), n.div_ceil(2));
        let mut got = strata_medium(&mut conn, &s).expect("strata medium");
        got.sort_by_key(|(u, _)| u.id);
        want.sort_by_key(|(u, _)| u.id);
        assert_eq!(got, want);
        g.sample_size(sample_size(n));
        g.bench_with_input(BenchmarkId::new("raw", n), &n, |b, _| {
            b.iter(|| black_box(raw_pg_medium(&mut client, &stmt).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("strata", n), &n, |b, _| {
            b.iter(|| black_box(strata_medium(&mut conn, &s).unwrap()))
        });
        paired(
            &format!("medium_complex_query/{}/{n}", db.name()),
            |k| time_iters(k, || raw_pg_medium(&mut client, &stmt).unwrap()),
            |k| time_iters(k, || strata_medium(&mut conn, &s).unwrap()),
        );
    }
    g.finish();

    raw_pg_exec_all(&mut client, &populate(db, 0, false));
    let mut g = c.benchmark_group(format!("insert/{}", db.name()));
    for n in INSERT_SIZES {
        let data = new_users(n);
        let stmt = client.prepare(&insert_sql(db, n)).expect("prepare");
        assert_eq!(
            raw_pg_insert(&mut client, &stmt, &data).expect("raw"),
            n as u64
        );
        assert_eq!(strata_insert(&mut conn, &s, n).expect("strata"), n as u64);
        assert_eq!(
            strata_insert_prebuilt(&mut conn, &s, &data).expect("strata"),
            n as u64
        );
        g.sample_size(sample_size(n));
        g.bench_with_input(BenchmarkId::new("raw", n), &n, |b, _| {
            b.iter(|| black_box(raw_pg_insert(&mut client, &stmt, &new_users(n)).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("strata", n), &n, |b, _| {
            b.iter(|| black_box(strata_insert(&mut conn, &s, n).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("raw_prebuilt", n), &n, |b, _| {
            b.iter(|| black_box(raw_pg_insert(&mut client, &stmt, &data).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("strata_prebuilt", n), &n, |b, _| {
            b.iter(|| black_box(strata_insert_prebuilt(&mut conn, &s, &data).unwrap()))
        });
        paired(
            &format!("insert/{}/{n}", db.name()),
            |k| {
                time_iters(k, || {
                    raw_pg_insert(&mut client, &stmt, &new_users(n)).unwrap()
                })
            },
            |k| time_iters(k, || strata_insert(&mut conn, &s, n).unwrap()),
        );
    }
    g.finish();

    drop(conn);
    raw_pg_exec_all(
        &mut client,
        &[
            "DROP TABLE IF EXISTS bench_posts".into(),
            "DROP TABLE IF EXISTS bench_users".into(),
        ],
    );
}

/// Print the SQL strata renders for the three workloads (the raw side uses the same).
fn check_sql(_c: &mut Criterion) {
    let s = schema();
    let dialects: [(Db, &dyn strata::Dialect); 2] = [
        (Db::Sqlite, &strata::dialects::SqliteDialect),
        (Db::Postgres, &strata::dialects::PostgresDialect),
    ];
    for (db, d) in dialects {
        let users = select(&s.users).compile(d).expect("compile");
        let medium = medium_stmt(&s).compile(d).expect("compile");
        let ins = insert_stmt(&s, &new_users(3)).compile(d).expect("compile");
        assert_eq!(users.sql(), USERS_SQL, "{}", db.name());
        assert_eq!(medium.sql(), medium_sql(db), "{}", db.name());
        assert_eq!(ins.sql(), insert_sql(db, 3), "{}", db.name());
    }
}

criterion_group!(benches, check_sql, bench_sqlite, bench_postgres);
criterion_main!(benches);
