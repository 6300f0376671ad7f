//! strata's ORM against the raw driver (rusqlite / postgres with hand-written prepared
//! statements), both materializing the same Rust structs:
//!
//! - `orm_load`: load all users (1, 100, 10 000 rows) with
//!   `session.scalars(&select::<User>())` on a fresh `Session` per iteration. `raw` is
//!   one prepared query into `Vec<User>`; `raw_tx` wraps it in BEGIN ... ROLLBACK, as the
//!   session's transaction does; `core` is strata Core alone (the same statement on a
//!   pooled connection, rows read with `Row::get`), the floor under the ORM.
//! - `orm_get`: `session.get::<User>(id)` for 10 000 distinct ids on one fresh session
//!   (each one a SELECT, since none is in the identity map yet), against 10 000
//!   executions of a prepared point query in one transaction.
//! - `orm_update`: load 1000 users, change one column of each and commit. The raw side
//!   runs, in a transaction, the same SELECT into `Vec<User>`, then one prepared UPDATE
//!   per user. Load, change and commit are all timed, on both sides. The ORM sends
//!   one UPDATE per user too, but on PostgreSQL pipelined (all sent before any answer
//!   is read, one round trip), which the sync `postgres` crate of the raw side cannot do.
//! - `orm_insert`: add 1000 new users and commit (the ORM sends one multi-row INSERT
//!   ... RETURNING id and sets the generated ids on the objects). Two raw baselines,
//!   both in a transaction and both setting the generated ids on the structs:
//!   `raw_multi` (one prepared multi-row INSERT ... RETURNING id, the ORM's strategy) and
//!   `raw_single` (one prepared single-row INSERT per user: rusqlite's `insert()` with
//!   `last_insert_rowid`, postgres `INSERT ... RETURNING id`). The table is emptied
//!   after every iteration, outside the timed part.
//! - `orm_assoc`: Diesel's "loading associations": 100 users, 10 posts each, 10 comments
//!   per post, loaded with
//!   `select::<User>().options(selectinload(User::posts).selectinload(Post::comments))`.
//!   The raw side runs the same three statements (users; posts `WHERE user_id IN (...)`;
//!   comments `WHERE post_id IN (...)`, each ordered by id as the ORM orders them) and
//!   stitches `Vec<(User, Vec<(Post, Vec<Comment>)>)>`. The ORM splits `IN` lists into
//!   chunks of 500 keys, so it sends the comments query twice.
//!
//! The raw side's SQL is the text the ORM sends (checked at start-up by `check_sql`).
//!
//! SQLite runs in memory through `create_engine("sqlite://")` (a shared-cache in-memory
//! database); the raw side opens its own shared-cache in-memory database with the same
//! flags and settings, as `core_vs_raw` does.
//!
//! PostgreSQL runs when `STRATA_BENCH_PG_URL` (or `STRATA_TEST_PG_URL`) is set, e.g.
//! `postgresql://postgres@127.0.0.1:5432/bench`; it creates and drops the tables
//! `ob_users`, `ob_posts` and `ob_comments` there.
//!
//! The workload functions are `#[inline(never)]` so that profilers find them (e.g.
//! `valgrind --tool=callgrind --toggle-collect='orm_vs_raw::orm_load'`).
//!
//! Run: `cargo bench --bench orm_vs_raw -- --warm-up-time 1 --measurement-time 3`
//!
//! With `STRATA_BENCH_PAIRED` set (to a number of rounds; 21 otherwise), each workload
//! is also timed against its raw side in alternating rounds, and the median ratio of
//! neighbouring runs is printed (`paired ...: strata / raw ...`): steadier than the
//! ratio of two criterion medians on a machine whose speed drifts between them.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use postgres::types::ToSql as PgToSql;
use strata::orm::{select, selectinload, Handle, Many, Model, Session};
use strata::{create_engine, Engine};
use support::{paired, pg_url, raw_sqlite_exec_all, raw_sqlite_shared, time_iters, Db};

const LOAD_SIZES: [usize; 3] = [1, 100, 10_000];
const GETS: usize = 10_000;
const UPDATES: usize = 1000;
const INSERTS: usize = 1000;
const ASSOC_USERS: usize = 100;
const POSTS_PER_USER: usize = 10;
const COMMENTS_PER_POST: usize = 10;

// ---------------------------------------------------------------------------------------
// The models; the raw side builds the same structs.
// ---------------------------------------------------------------------------------------

/// A user.
#[derive(Model, Debug, Clone)]
#[model(table = "ob_users")]
struct User {
    #[column(primary_key)]
    id: Option<i32>,
    name: String,
    hair_color: Option<String>,
    #[relationship]
    posts: Many<Post>,
}

/// A post of a user.
#[derive(Model, Debug, Clone)]
#[model(table = "ob_posts")]
struct Post {
    #[column(primary_key)]
    id: Option<i32>,
    #[column(foreign_key = "ob_users.id", index)]
    user_id: i32,
    title: String,
    body: Option<String>,
    #[relationship]
    comments: Many<Comment>,
}

/// A comment on a post.
#[derive(Model, Debug, Clone)]
#[model(table = "ob_comments")]
struct Comment {
    #[column(primary_key)]
    id: Option<i32>,
    #[column(foreign_key = "ob_posts.id", index)]
    post_id: i32,
    text: String,
}

/// What the association workload produces, as plain values (to compare both sides).
type UserRow = (Option<i32>, String, Option<String>);
type PostRow = (Option<i32>, i32, String, Option<String>);
type CommentRow = (Option<i32>, i32, String);
type Tree = Vec<(UserRow, Vec<(PostRow, Vec<CommentRow>)>)>;

fn user_row(u: &User) -> UserRow {
    (u.id, u.name.clone(), u.hair_color.clone())
}

fn post_row(p: &Post) -> PostRow {
    (p.id, p.user_id, p.title.clone(), p.body.clone())
}

fn comment_row(c: &Comment) -> CommentRow {
    (c.id, c.post_id, c.text.clone())
}

/// The raw association result.
type RawTree = Vec<(User, Vec<(Post, Vec<Comment>)>)>;

fn raw_tree_rows(t: &RawTree) -> Tree {
    t.iter()
        .map(|(u, ps)| {
            (
                user_row(u),
                ps.iter()
                    .map(|(p, cs)| (post_row(p), cs.iter().map(comment_row).collect()))
                    .collect(),
            )
        })
        .collect()
}

fn orm_tree_rows(users: &[Handle<User>]) -> Tree {
    users
        .iter()
        .map(|u| {
            let u = u.read();
            let posts = u
                .posts
                .get()
                .expect("posts loaded")
                .iter()
                .map(|p| {
                    let p = p.read();
                    let comments = p
                        .comments
                        .get()
                        .expect("comments loaded")
                        .iter()
                        .map(|c| comment_row(&c.read()))
                        .collect();
                    (post_row(&p), comments)
                })
                .collect();
            (user_row(&u), posts)
        })
        .collect()
}

fn new_users(n: usize) -> Vec<User> {
    (0..n)
        .map(|i| User {
            id: None,
            name: format!("New user {i}"),
            hair_color: (i % 2 == 0).then(|| "black".to_string()),
            posts: Many::new(),
        })
        .collect()
}

fn toggle(hair: &Option<String>) -> Option<String> {
    Some(if hair.as_deref() == Some("black") {
        "brown".to_string()
    } else {
        "black".to_string()
    })
}

// ---------------------------------------------------------------------------------------
// Schema and data, shared by both sides.
// ---------------------------------------------------------------------------------------

/// Placeholders `from..from + count`, comma-separated.
fn placeholders(db: Db, from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| db.placeholder(i))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ddl(db: Db) -> Vec<String> {
    let id = match db {
        Db::Sqlite => "INTEGER PRIMARY KEY",
        Db::Postgres => "SERIAL PRIMARY KEY",
    };
    vec![
        "DROP TABLE IF EXISTS ob_comments".into(),
        "DROP TABLE IF EXISTS ob_posts".into(),
        "DROP TABLE IF EXISTS ob_users".into(),
        format!("CREATE TABLE ob_users (id {id}, name TEXT NOT NULL, hair_color TEXT)"),
        format!(
            "CREATE TABLE ob_posts (id {id}, user_id INTEGER NOT NULL REFERENCES ob_users (id), \
             title TEXT NOT NULL, body TEXT)"
        ),
        "CREATE INDEX ix_ob_posts_user_id ON ob_posts (user_id)".into(),
        format!(
            "CREATE TABLE ob_comments (id {id}, post_id INTEGER NOT NULL REFERENCES ob_posts (id), \
             text TEXT NOT NULL)"
        ),
        "CREATE INDEX ix_ob_comments_post_id ON ob_comments (post_id)".into(),
    ]
}

fn drop_tables() -> Vec<String> {
    ddl(Db::Sqlite).into_iter().take(3).collect()
}

/// Statements that leave exactly `users` users (ids 1..=users, every other one with
/// black hair), `posts` posts per user and `comments` comments per post.
fn populate(db: Db, users: usize, posts: usize, comments: usize) -> Vec<String> {
    let mut out = vec![
        "DELETE FROM ob_comments".to_string(),
        "DELETE FROM ob_posts".to_string(),
        "DELETE FROM ob_users".to_string(),
    ];
    let mut rows = Vec::new();
    let flush = |out: &mut Vec<String>, rows: &mut Vec<String>, head: &str| {
        if !rows.is_empty() {
            out.push(format!("{head} VALUES {}", rows.join(", ")));
            rows.clear();
        }
    };
    for u in 1..=users {
        let hair = if u % 2 == 1 { "'black'" } else { "NULL" };
        rows.push(format!("({u}, 'User {u}', {hair})"));
        if rows.len() == 500 {
            flush(
                &mut out,
                &mut rows,
                "INSERT INTO ob_users (id, name, hair_color)",
            );
        }
    }
    flush(
        &mut out,
        &mut rows,
        "INSERT INTO ob_users (id, name, hair_color)",
    );
    let head = "INSERT INTO ob_posts (id, user_id, title, body)";
    for p in 1..=users * posts {
        let u = (p - 1) / posts.max(1) + 1;
        rows.push(format!("({p}, {u}, 'Post {p} by user {u}', NULL)"));
        if rows.len() == 500 {
            flush(&mut out, &mut rows, head);
        }
    }
    flush(&mut out, &mut rows, head);
    let head = "INSERT INTO ob_comments (id, post_id, text)";
    for c in 1..=users * posts * comments {
        let p = (c - 1) / comments.max(1) + 1;
        rows.push(format!("({c}, {p}, 'Comment {c} on post {p}')"));
        if rows.len() == 500 {
            flush(&mut out, &mut rows, head);
        }
    }
    flush(&mut out, &mut rows, head);
    if db == Db::Postgres {
        for (t, n) in [
            ("ob_users", users),
            ("ob_posts", users * posts),
            ("ob_comments", users * posts * comments),
        ] {
            out.push(format!("SELECT setval('{t}_id_seq', {})", n.max(1)));
            out.push(format!("VACUUM ANALYZE {t}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The raw side's SQL: the text the ORM sends (see `check_sql`).
// ---------------------------------------------------------------------------------------

const USERS_SQL: &str =
    r#"SELECT "ob_users"."id", "ob_users"."name", "ob_users"."hair_color" FROM "ob_users""#;

fn get_sql(db: Db) -> String {
    format!(
        r#"{USERS_SQL} WHERE "ob_users"."id" = {}"#,
        db.placeholder(1)
    )
}

fn update_sql(db: Db) -> String {
    format!(
        r#"UPDATE "ob_users" SET "hair_color" = {} WHERE "ob_users"."id" = {}"#,
        db.placeholder(1),
        db.placeholder(2)
    )
}

fn insert_multi_sql(db: Db, rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| format!("({})", placeholders(db, 2 * r + 1, 2)))
        .collect();
    format!(
        r#"INSERT INTO "ob_users" ("name", "hair_color") VALUES {} RETURNING "id""#,
        values.join(", ")
    )
}

fn insert_single_sql(db: Db, returning: bool) -> String {
    let mut sql = insert_multi_sql(db, 1);
    if !returning {
        sql.truncate(sql.len() - r#" RETURNING "id""#.len());
    }
    sql
}

fn posts_sql(db: Db, keys: usize) -> String {
    format!(
        r#"SELECT "ob_posts"."id", "ob_posts"."user_id", "ob_posts"."title", "ob_posts"."body" FROM "ob_posts" WHERE "ob_posts"."user_id" IN ({}) ORDER BY "ob_posts"."id" ASC"#,
        placeholders(db, 1, keys)
    )
}

fn comments_sql(db: Db, keys: usize) -> String {
    format!(
        r#"SELECT "ob_comments"."id", "ob_comments"."post_id", "ob_comments"."text" FROM "ob_comments" WHERE "ob_comments"."post_id" IN ({}) ORDER BY "ob_comments"."id" ASC"#,
        placeholders(db, 1, keys)
    )
}

// ---------------------------------------------------------------------------------------
// The ORM side.
// ---------------------------------------------------------------------------------------

#[inline(never)]
fn orm_load(engine: &Engine) -> Vec<Handle<User>> {
    let mut session = Session::new(engine);
    session.scalars(&select::<User>()).expect("orm load").all()
}

#[inline(never)]
fn orm_get(engine: &Engine, n: usize) -> usize {
    let mut session = Session::new(engine);
    let mut found = 0;
    for id in 1..=n as i32 {
        let user = session.get::<User>(id).expect("orm get");
        found += black_box(user).is_some() as usize;
    }
    found
}

#[inline(never)]
fn orm_update(engine: &Engine) -> usize {
    let mut session = Session::new(engine);
    let users = session.scalars(&select::<User>()).expect("orm load").all();
    for u in &users {
        let mut w = u.write();
        w.hair_color = toggle(&w.hair_color);
    }
    session.commit().expect("orm commit");
    users.len()
}

#[inline(never)]
fn orm_insert(engine: &Engine, data: Vec<User>) -> Vec<Handle<User>> {
    let mut session = Session::new(engine);
    let handles = session.add_all(data).expect("orm add");
    session.commit().expect("orm commit");
    handles
}

fn orm_assoc(engine: &Engine) -> Vec<Handle<User>> {
    orm_assoc_in(&mut Session::new(engine))
}

#[inline(never)]
fn orm_assoc_in(session: &mut Session) -> Vec<Handle<User>> {
    session
        .scalars(&select::<User>().options(selectinload(User::posts).selectinload(Post::comments)))
        .expect("orm assoc")
        .all()
}

/// The association tree the ORM loads, read while its session is open.
fn orm_assoc_rows(engine: &Engine) -> Tree {
    let mut session = Session::new(engine);
    orm_tree_rows(&orm_assoc_in(&mut session))
}

/// Core alone, for reference: the ORM's statement through a pooled connection, rows
/// read with `Row::get` into the same structs (no session, no transaction).
#[inline(never)]
fn core_load(engine: &Engine) -> Vec<User> {
    let mut conn = engine.connect().expect("connect");
    let stmt = select::<User>().into_core();
    let mut out = Vec::new();
    for r in conn.execute(&stmt).expect("core load") {
        let r = r.expect("row");
        out.push(User {
            id: r.get(0).expect("id"),
            name: r.get(1).expect("name"),
            hair_color: r.get(2).expect("hair_color"),
            posts: Many::new(),
        });
    }
    out
}

fn strata_exec_all(engine: &Engine, statements: &[String]) {
    let mut conn = engine.connect().expect("connect");
    for sql in statements {
        conn.exec_driver_sql(sql, &[]).expect(sql);
    }
}

// ---------------------------------------------------------------------------------------
// Raw rusqlite.
// ---------------------------------------------------------------------------------------

fn sqlite_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        hair_color: r.get(2)?,
        posts: Many::new(),
    })
}

#[inline(never)]
fn sqlite_users(conn: &rusqlite::Connection) -> Vec<User> {
    let mut stmt = conn.prepare_cached(USERS_SQL).expect("prepare");
    let rows = stmt.query_map([], sqlite_user).expect("query");
    rows.collect::<rusqlite::Result<_>>().expect("rows")
}

#[inline(never)]
fn sqlite_load_tx(conn: &mut rusqlite::Connection) -> Vec<User> {
    let tx = conn.transaction().expect("begin");
    let users = sqlite_users(&tx);
    tx.rollback().expect("rollback");
    users
}

#[inline(never)]
fn sqlite_get(conn: &mut rusqlite::Connection, sql: &str, n: usize) -> usize {
    let tx = conn.transaction().expect("begin");
    let mut found = 0;
    {
        let mut stmt = tx.prepare_cached(sql).expect("prepare");
        for id in 1..=n as i32 {
            let user = stmt
                .query_row([id], sqlite_user)
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })
                .expect("get");
            found += black_box(user).is_some() as usize;
        }
    }
    tx.rollback().expect("rollback");
    found
}

#[inline(never)]
fn sqlite_update(conn: &mut rusqlite::Connection, sql: &str) -> usize {
    let tx = conn.transaction().expect("begin");
    let mut users = sqlite_users(&tx);
    {
        let mut stmt = tx.prepare_cached(sql).expect("prepare");
        for u in &mut users {
            u.hair_color = toggle(&u.hair_color);
            let n = stmt.execute((&u.hair_color, u.id)).expect("update");
            assert_eq!(n, 1);
        }
    }
    tx.commit().expect("commit");
    users.len()
}

#[inline(never)]
fn sqlite_insert_multi(
    conn: &mut rusqlite::Connection,
    sql: &str,
    mut data: Vec<User>,
) -> Vec<User> {
    let tx = conn.transaction().expect("begin");
    {
        let mut stmt = tx.prepare_cached(sql).expect("prepare");
        for (i, u) in data.iter().enumerate() {
            stmt.raw_bind_parameter(2 * i + 1, &u.name).expect("bind");
            stmt.raw_bind_parameter(2 * i + 2, &u.hair_color)
                .expect("bind");
        }
        let mut ids = Vec::with_capacity(data.len());
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next().expect("row") {
            ids.push(r.get::<_, i32>(0).expect("id"));
        }
        // RETURNING gives no order guarantee; ids of one INSERT ascend in row order.
        ids.sort_unstable();
        for (u, id) in data.iter_mut().zip(ids) {
            u.id = Some(id);
        }
    }
    tx.commit().expect("commit");
    data
}

#[inline(never)]
fn sqlite_insert_single(
    conn: &mut rusqlite::Connection,
    sql: &str,
    mut data: Vec<User>,
) -> Vec<User> {
    let tx = conn.transaction().expect("begin");
    {
        let mut stmt = tx.prepare_cached(sql).expect("prepare");
        for u in &mut data {
            let id = stmt.insert((&u.name, &u.hair_color)).expect("insert");
            u.id = Some(id as i32);
        }
    }
    tx.commit().expect("commit");
    data
}

#[inline(never)]
fn sqlite_assoc(conn: &rusqlite::Connection, db: Db) -> RawTree {
    let users = sqlite_users(conn);
    let user_ids: Vec<i32> = users.iter().filter_map(|u| u.id).collect();
    let mut stmt = conn
        .prepare_cached(&posts_sql(db, user_ids.len()))
        .expect("prepare");
    let posts: Vec<Post> = stmt
        .query_map(rusqlite::params_from_iter(&user_ids), |r| {
            Ok(Post {
                id: r.get(0)?,
                user_id: r.get(1)?,
                title: r.get(2)?,
                body: r.get(3)?,
                comments: Many::new(),
            })
        })
        .expect("posts")
        .collect::<rusqlite::Result<_>>()
        .expect("posts");
    let post_ids: Vec<i32> = posts.iter().filter_map(|p| p.id).collect();
    let mut stmt = conn
        .prepare_cached(&comments_sql(db, post_ids.len()))
        .expect("prepare");
    let comments = stmt
        .query_map(rusqlite::params_from_iter(&post_ids), |r| {
            Ok(Comment {
                id: r.get(0)?,
                post_id: r.get(1)?,
                text: r.get(2)?,
            })
        })
        .expect("comments")
        .collect::<rusqlite::Result<Vec<Comment>>>()
        .expect("comments");
    stitch(users, posts, comments)
}

/// Put posts under their users and comments under their posts, in query order.
fn stitch(users: Vec<User>, posts: Vec<Post>, comments: Vec<Comment>) -> RawTree {
    let user_at: HashMap<i32, usize> = users
        .iter()
        .enumerate()
        .filter_map(|(i, u)| Some((u.id?, i)))
        .collect();
    let mut tree: RawTree = users.into_iter().map(|u| (u, Vec::new())).collect();
    let mut post_at: HashMap<i32, (usize, usize)> = HashMap::with_capacity(posts.len());
    for p in posts {
        if let Some(&ui) = user_at.get(&p.user_id) {
            let list = &mut tree[ui].1;
            if let Some(id) = p.id {
                post_at.insert(id, (ui, list.len()));
            }
            list.push((p, Vec::new()));
        }
    }
    for c in comments {
        if let Some(&(ui, pi)) = post_at.get(&c.post_id) {
            tree[ui].1[pi].1.push(c);
        }
    }
    tree
}

// ---------------------------------------------------------------------------------------
// Raw postgres.
// ---------------------------------------------------------------------------------------

type Pg = postgres::Client;

fn pg_user(r: &postgres::Row) -> User {
    User {
        id: r.get(0),
        name: r.get(1),
        hair_color: r.get(2),
        posts: Many::new(),
    }
}

fn pg_exec_all(client: &mut Pg, statements: &[String]) {
    for sql in statements {
        client.batch_execute(sql).expect(sql);
    }
}

/// The prepared statements of the raw PostgreSQL side.
struct PgStatements {
    users: postgres::Statement,
    get: postgres::Statement,
    update: postgres::Statement,
    insert_multi: postgres::Statement,
    insert_single: postgres::Statement,
    posts: postgres::Statement,
    comments: postgres::Statement,
}

impl PgStatements {
    fn prepare(client: &mut Pg) -> Self {
        let db = Db::Postgres;
        let mut p = |sql: &str| client.prepare(sql).expect(sql);
        PgStatements {
            users: p(USERS_SQL),
            get: p(&get_sql(db)),
            update: p(&update_sql(db)),
            insert_multi: p(&insert_multi_sql(db, INSERTS)),
            insert_single: p(&insert_single_sql(db, true)),
            posts: p(&posts_sql(db, ASSOC_USERS)),
            comments: p(&comments_sql(db, ASSOC_USERS * POSTS_PER_USER)),
        }
    }
}

#[inline(never)]
fn pg_users<C: postgres::GenericClient>(client: &mut C, stmt: &postgres::Statement) -> Vec<User> {
    client
        .query(stmt, &[])
        .expect("users")
        .iter()
        .map(pg_user)
        .collect()
}

#[inline(never)]
fn pg_load_tx(client: &mut Pg, stmt: &postgres::Statement) -> Vec<User> {
    let mut tx = client.transaction().expect("begin");
    let users = pg_users(&mut tx, stmt);
    tx.rollback().expect("rollback");
    users
}

#[inline(never)]
fn pg_get(client: &mut Pg, stmt: &postgres::Statement, n: usize) -> usize {
    let mut tx = client.transaction().expect("begin");
    let mut found = 0;
    for id in 1..=n as i32 {
        let user = tx
            .query_opt(stmt, &[&id])
            .expect("get")
            .map(|r| pg_user(&r));
        found += black_box(user).is_some() as usize;
    }
    tx.rollback().expect("rollback");
    found
}

#[inline(never)]
fn pg_update(client: &mut Pg, st: &PgStatements) -> usize {
    let mut tx = client.transaction().expect("begin");
    let mut users = pg_users(&mut tx, &st.users);
    for u in &mut users {
        u.hair_color = toggle(&u.hair_color);
        let n = tx
            .execute(&st.update, &[&u.hair_color, &u.id])
            .expect("update");
        assert_eq!(n, 1);
    }
    tx.commit().expect("commit");
    users.len()
}

#[inline(never)]
fn pg_insert_multi(client: &mut Pg, stmt: &postgres::Statement, mut data: Vec<User>) -> Vec<User> {
    let mut tx = client.transaction().expect("begin");
    let mut params: Vec<&(dyn PgToSql + Sync)> = Vec::with_capacity(2 * data.len());
    for u in &data {
        params.push(&u.name);
        params.push(&u.hair_color);
    }
    let mut ids: Vec<i32> = tx
        .query(stmt, &params)
        .expect("insert")
        .iter()
        .map(|r| r.get(0))
        .collect();
    drop(params);
    // RETURNING gives no order guarantee; ids of one INSERT ascend in row order.
    ids.sort_unstable();
    for (u, id) in data.iter_mut().zip(ids) {
        u.id = Some(id);
    }
    tx.commit().expect("commit");
    data
}

#[inline(never)]
fn pg_insert_single(client: &mut Pg, stmt: &postgres::Statement, mut data: Vec<User>) -> Vec<User> {
    let mut tx = client.transaction().expect("begin");
    for u in &mut data {
        let id: i32 = tx
            .query_one(stmt, &[&u.name, &u.hair_color])
            .expect("insert")
            .get(0);
        u.id = Some(id);
    }
    tx.commit().expect("commit");
    data
}

#[inline(never)]
fn pg_assoc(client: &mut Pg, st: &PgStatements) -> RawTree {
    let users = pg_users(client, &st.users);
    let user_ids: Vec<i32> = users.iter().filter_map(|u| u.id).collect();
    let params: Vec<&(dyn PgToSql + Sync)> = user_ids.iter().map(|i| i as _).collect();
    let posts: Vec<Post> = client
        .query(&st.posts, &params)
        .expect("posts")
        .iter()
        .map(|r| Post {
            id: r.get(0),
            user_id: r.get(1),
            title: r.get(2),
            body: r.get(3),
            comments: Many::new(),
        })
        .collect();
    let post_ids: Vec<i32> = posts.iter().filter_map(|p| p.id).collect();
    let params: Vec<&(dyn PgToSql + Sync)> = post_ids.iter().map(|i| i as _).collect();
    let comments: Vec<Comment> = client
        .query(&st.comments, &params)
        .expect("comments")
        .iter()
        .map(|r| Comment {
            id: r.get(0),
            post_id: r.get(1),
            text: r.get(2),
        })
        .collect();
    stitch(users, posts, comments)
}

// ---------------------------------------------------------------------------------------
// Checks: both sides produce the same data with the same SQL.
// ---------------------------------------------------------------------------------------

fn user_rows(users: &[User]) -> Vec<UserRow> {
    let mut v: Vec<UserRow> = users.iter().map(user_row).collect();
    v.sort();
    v
}

fn handle_rows(users: &[Handle<User>]) -> Vec<UserRow> {
    let mut v: Vec<UserRow> = users.iter().map(|u| user_row(&u.read())).collect();
    v.sort();
    v
}

/// Record every statement an engine sends.
fn recorder(engine: &Engine) -> Arc<Mutex<Vec<String>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    engine.on_execute(move |sql, _| l.lock().unwrap().push(sql.to_string()));
    log
}

fn taken(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
        .into_iter()
        .filter(|s| !matches!(s.as_str(), "BEGIN" | "COMMIT" | "ROLLBACK"))
        .collect()
}

/// Compare statement lists, showing only the start of the first difference.
fn same_sql(what: &str, got: Vec<String>, want: Vec<String>) {
    let short = |s: &str| s.chars().take(160).collect::<String>();
    assert_eq!(got.len(), want.len(), "{what}: statement count");
    for (g, w) in got.iter().zip(&want) {
        assert!(
            g == w,
            "{what}: the ORM sent\n  {}\nthe raw side sends\n  {}",
            short(g),
            short(w)
        );
    }
}

/// Run every ORM workload once on a recording engine and compare its SQL with the
/// raw side's.
fn check_sql(db: Db, url: &str) {
    let engine = create_engine(url).expect("engine");
    strata_exec_all(&engine, &ddl(db));
    strata_exec_all(
        &engine,
        &populate(db, ASSOC_USERS, POSTS_PER_USER, COMMENTS_PER_POST),
    );
    let log = recorder(&engine);
    let what = db.name();

    assert_eq!(orm_load(&engine).len(), ASSOC_USERS);
    same_sql(what, taken(&log), vec![USERS_SQL.to_string()]);

    assert_eq!(orm_get(&engine, 3), 3);
    same_sql(what, taken(&log), vec![get_sql(db); 3]);

    assert_eq!(orm_update(&engine), ASSOC_USERS);
    let mut want = vec![USERS_SQL.to_string()];
    want.extend(vec![update_sql(db); ASSOC_USERS]);
    same_sql(what, taken(&log), want);

    let tree = orm_assoc(&engine);
    assert_eq!(tree.len(), ASSOC_USERS);
    let posts = ASSOC_USERS * POSTS_PER_USER;
    same_sql(
        what,
        taken(&log),
        vec![
            USERS_SQL.to_string(),
            posts_sql(db, ASSOC_USERS),
            comments_sql(db, 500),
            comments_sql(db, posts - 500),
        ],
    );

    strata_exec_all(&engine, &populate(db, 0, 0, 0));
    taken(&log);
    let inserted = orm_insert(&engine, new_users(INSERTS));
    assert!(inserted.iter().all(|h| h.read().id.is_some()));
    same_sql(what, taken(&log), vec![insert_multi_sql(db, INSERTS)]);
    strata_exec_all(&engine, &drop_tables());
    println!("orm_vs_raw: {what}: the raw side sends the ORM's SQL");
}

// ---------------------------------------------------------------------------------------
// Benchmarks.
// ---------------------------------------------------------------------------------------

/// Time `op` only; `after` runs between iterations, outside the timed part.
fn timed<C: ?Sized, S, R>(
    iters: u64,
    ctx: &mut C,
    mut setup: impl FnMut() -> S,
    mut op: impl FnMut(&mut C, S) -> R,
    mut after: impl FnMut(&mut C),
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let input = setup();
        let start = Instant::now();
        let out = op(ctx, input);
        drop(black_box(out));
        total += start.elapsed();
        after(ctx);
    }
    total
}

/// `iters` ORM inserts of `data`, timed without copying the data in or running `clear`
/// after each.
fn orm_insert_timed(iters: u64, engine: &Engine, data: &[User], clear: &[String]) -> Duration {
    timed(
        iters,
        &mut &*engine,
        || data.to_vec(),
        |e, d| orm_insert(e, d),
        |e| strata_exec_all(e, clear),
    )
}

fn sample_size(n: usize) -> usize {
    if n >= 1000 {
        20
    } else {
        100
    }
}

fn bench_sqlite(c: &mut Criterion) {
    let db = Db::Sqlite;
    check_sql(db, "sqlite://");
    let engine = create_engine("sqlite://").expect("sqlite engine");
    strata_exec_all(&engine, &ddl(db));
    let raw_name = format!("orm_vs_raw_{}", std::process::id());
    let mut raw = raw_sqlite_shared(&raw_name);
    // A second connection kept open, like the strata driver's keeper connection.
    let _raw_keeper = raw_sqlite_shared(&raw_name);
    raw_sqlite_exec_all(&raw, &ddl(db));
    let setup = |raw: &rusqlite::Connection, u, p, c| {
        let stmts = populate(db, u, p, c);
        raw_sqlite_exec_all(raw, &stmts);
        strata_exec_all(&engine, &stmts);
    };

    let mut g = c.benchmark_group("orm_load/sqlite");
    for n in LOAD_SIZES {
        setup(&raw, n, 0, 0);
        let want = user_rows(&sqlite_users(&raw));
        assert_eq!(want.len(), n);
        assert_eq!(handle_rows(&orm_load(&engine)), want);
        assert_eq!(user_rows(&core_load(&engine)), want);
        g.sample_size(sample_size(n));
        g.bench_with_input(BenchmarkId::new("raw", n), &n, |b, _| {
            b.iter(|| black_box(sqlite_users(&raw)))
        });
        g.bench_with_input(BenchmarkId::new("raw_tx", n), &n, |b, _| {
            b.iter(|| black_box(sqlite_load_tx(&mut raw)))
        });
        g.bench_with_input(BenchmarkId::new("core", n), &n, |b, _| {
            b.iter(|| black_box(core_load(&engine)))
        });
        g.bench_with_input(BenchmarkId::new("orm", n), &n, |b, _| {
            b.iter(|| black_box(orm_load(&engine)))
        });
        paired(
            &format!("orm_load/sqlite/{n}"),
            |k| time_iters(k, || sqlite_users(&raw)),
            |k| time_iters(k, || orm_load(&engine)),
        );
    }
    g.finish();

    let mut g = c.benchmark_group("orm_get/sqlite");
    setup(&raw, GETS, 0, 0);
    let sql = get_sql(db);
    assert_eq!(sqlite_get(&mut raw, &sql, GETS), GETS);
    assert_eq!(orm_get(&engine, GETS), GETS);
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("raw", GETS), |b| {
        b.iter(|| black_box(sqlite_get(&mut raw, &sql, GETS)))
    });
    g.bench_function(BenchmarkId::new("orm", GETS), |b| {
        b.iter(|| black_box(orm_get(&engine, GETS)))
    });
    paired(
        &format!("orm_get/sqlite/{GETS}"),
        |k| time_iters(k, || sqlite_get(&mut raw, &sql, GETS)),
        |k| time_iters(k, || orm_get(&engine, GETS)),
    );
    g.finish();

    let mut g = c.benchmark_group("orm_update/sqlite");
    setup(&raw, UPDATES, 0, 0);
    let sql = update_sql(db);
    assert_eq!(sqlite_update(&mut raw, &sql), UPDATES);
    assert_eq!(orm_update(&engine), UPDATES);
    assert_eq!(
        handle_rows(&orm_load(&engine)),
        user_rows(&sqlite_users(&raw))
    );
    g.sample_size(30);
    g.bench_function(BenchmarkId::new("raw", UPDATES), |b| {
        b.iter(|| black_box(sqlite_update(&mut raw, &sql)))
    });
    g.bench_function(BenchmarkId::new("orm", UPDATES), |b| {
        b.iter(|| black_box(orm_update(&engine)))
    });
    paired(
        &format!("orm_update/sqlite/{UPDATES}"),
        |k| time_iters(k, || sqlite_update(&mut raw, &sql)),
        |k| time_iters(k, || orm_update(&engine)),
    );
    g.finish();

    let mut g = c.benchmark_group("orm_insert/sqlite");
    setup(&raw, 0, 0, 0);
    let data = new_users(INSERTS);
    let multi = insert_multi_sql(db, INSERTS);
    let single = insert_single_sql(db, false);
    let clear = ["DELETE FROM ob_users".to_string()];
    let a = sqlite_insert_multi(&mut raw, &multi, data.clone());
    raw_sqlite_exec_all(&raw, &clear);
    let b = sqlite_insert_single(&mut raw, &single, data.clone());
    raw_sqlite_exec_all(&raw, &clear);
    let o = orm_insert(&engine, data.clone());
    strata_exec_all(&engine, &clear);
    assert_eq!(user_rows(&a), user_rows(&b));
    assert_eq!(handle_rows(&o), user_rows(&a));
    drop(o);
    g.sample_size(30);
    g.bench_function(BenchmarkId::new("raw_multi", INSERTS), |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                &mut raw,
                || data.clone(),
                |raw, d| sqlite_insert_multi(raw, &multi, d),
                |raw| raw_sqlite_exec_all(raw, &clear),
            )
        })
    });
    g.bench_function(BenchmarkId::new("raw_single", INSERTS), |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                &mut raw,
                || data.clone(),
                |raw, d| sqlite_insert_single(raw, &single, d),
                |raw| raw_sqlite_exec_all(raw, &clear),
            )
        })
    });
    g.bench_function(BenchmarkId::new("orm", INSERTS), |b| {
        b.iter_custom(|iters| orm_insert_timed(iters, &engine, &data, &clear))
    });
    paired(
        &format!("orm_insert/sqlite/{INSERTS}"),
        |k| {
            let insert = |raw: &mut _, d| sqlite_insert_multi(raw, &multi, d);
            timed(
                k,
                &mut raw,
                || data.clone(),
                insert,
                |raw| raw_sqlite_exec_all(raw, &clear),
            )
        },
        |k| orm_insert_timed(k, &engine, &data, &clear),
    );
    g.finish();

    let mut g = c.benchmark_group("orm_assoc/sqlite");
    setup(&raw, ASSOC_USERS, POSTS_PER_USER, COMMENTS_PER_POST);
    let want = raw_tree_rows(&sqlite_assoc(&raw, db));
    assert_eq!(want.len(), ASSOC_USERS);
    assert_eq!(orm_assoc_rows(&engine), want);
    let label = format!("{ASSOC_USERS}x{POSTS_PER_USER}x{COMMENTS_PER_POST}");
    g.sample_size(30);
    g.bench_function(BenchmarkId::new("raw", &label), |b| {
        b.iter(|| black_box(sqlite_assoc(&raw, db)))
    });
    g.bench_function(BenchmarkId::new("orm", &label), |b| {
        b.iter(|| black_box(orm_assoc(&engine)))
    });
    paired(
        &format!("orm_assoc/sqlite/{label}"),
        |k| time_iters(k, || sqlite_assoc(&raw, db)),
        |k| time_iters(k, || orm_assoc(&engine)),
    );
    g.finish();
}

fn bench_postgres(c: &mut Criterion) {
    let Some(url) = pg_url() else {
        println!(
            "orm_vs_raw: skipping the PostgreSQL benchmarks: set STRATA_BENCH_PG_URL \
             (or STRATA_TEST_PG_URL) to a postgresql:// URL to run them"
        );
        return;
    };
    let db = Db::Postgres;
    check_sql(db, &url);
    let mut client = Pg::connect(&url, postgres::NoTls).expect("raw pg connect");
    pg_exec_all(&mut client, &ddl(db));
    let st = PgStatements::prepare(&mut client);
    let engine = create_engine(&url).expect("pg engine");
    let name = db.name();

    let mut g = c.benchmark_group(format!("orm_load/{name}"));
    for n in LOAD_SIZES {
        pg_exec_all(&mut client, &populate(db, n, 0, 0));
        let want = user_rows(&pg_users(&mut client, &st.users));
        assert_eq!(want.len(), n);
        assert_eq!(handle_rows(&orm_load(&engine)), want);
        assert_eq!(user_rows(&core_load(&engine)), want);
        g.sample_size(sample_size(n));
        g.bench_with_input(BenchmarkId::new("raw", n), &n, |b, _| {
            b.iter(|| black_box(pg_users(&mut client, &st.users)))
        });
        g.bench_with_input(BenchmarkId::new("raw_tx", n), &n, |b, _| {
            b.iter(|| black_box(pg_load_tx(&mut client, &st.users)))
        });
        g.bench_with_input(BenchmarkId::new("core", n), &n, |b, _| {
            b.iter(|| black_box(core_load(&engine)))
        });
        g.bench_with_input(BenchmarkId::new("orm", n), &n, |b, _| {
            b.iter(|| black_box(orm_load(&engine)))
        });
        paired(
            &format!("orm_load/{name}/{n}"),
            |k| time_iters(k, || pg_users(&mut client, &st.users)),
            |k| time_iters(k, || orm_load(&engine)),
        );
    }
    g.finish();

    let mut g = c.benchmark_group(format!("orm_get/{name}"));
    pg_exec_all(&mut client, &populate(db, GETS, 0, 0));
    assert_eq!(pg_get(&mut client, &st.get, GETS), GETS);
    assert_eq!(orm_get(&engine, GETS), GETS);
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("raw", GETS), |b| {
        b.iter(|| black_box(pg_get(&mut client, &st.get, GETS)))
    });
    g.bench_function(BenchmarkId::new("orm", GETS), |b| {
        b.iter(|| black_box(orm_get(&engine, GETS)))
    });
    paired(
        &format!("orm_get/{name}/{GETS}"),
        |k| time_iters(k, || pg_get(&mut client, &st.get, GETS)),
        |k| time_iters(k, || orm_get(&engine, GETS)),
    );
    g.finish();

    let mut g = c.benchmark_group(format!("orm_update/{name}"));
    pg_exec_all(&mut client, &populate(db, UPDATES, 0, 0));
    assert_eq!(pg_update(&mut client, &st), UPDATES);
    assert_eq!(orm_update(&engine), UPDATES);
    assert_eq!(
        handle_rows(&orm_load(&engine)),
        user_rows(&pg_users(&mut client, &st.users))
    );
    let vacuum = ["VACUUM ob_users".to_string()];
    g.sample_size(20);
    pg_exec_all(&mut client, &vacuum);
    g.bench_function(BenchmarkId::new("raw", UPDATES), |b| {
        b.iter(|| black_box(pg_update(&mut client, &st)))
    });
    pg_exec_all(&mut client, &vacuum);
    g.bench_function(BenchmarkId::new("orm", UPDATES), |b| {
        b.iter(|| black_box(orm_update(&engine)))
    });
    paired(
        &format!("orm_update/{name}/{UPDATES}"),
        |k| time_iters(k, || pg_update(&mut client, &st)),
        |k| time_iters(k, || orm_update(&engine)),
    );
    g.finish();

    let mut g = c.benchmark_group(format!("orm_insert/{name}"));
    pg_exec_all(&mut client, &populate(db, 0, 0, 0));
    let data = new_users(INSERTS);
    let clear = ["TRUNCATE ob_users CASCADE".to_string()];
    let a = pg_insert_multi(&mut client, &st.insert_multi, data.clone());
    pg_exec_all(&mut client, &clear);
    let b = pg_insert_single(&mut client, &st.insert_single, data.clone());
    pg_exec_all(&mut client, &clear);
    let o = orm_insert(&engine, data.clone());
    pg_exec_all(&mut client, &clear);
    let ids = |v: Vec<UserRow>| -> Vec<(String, Option<String>)> {
        v.into_iter().map(|(_, n, h)| (n, h)).collect()
    };
    assert_eq!(ids(user_rows(&a)), ids(user_rows(&b)));
    assert_eq!(ids(handle_rows(&o)), ids(user_rows(&a)));
    assert!(o.iter().all(|h| h.read().id.is_some()));
    drop(o);
    g.sample_size(20);
    let truncate = |c: &mut Pg| pg_exec_all(c, &clear);
    g.bench_function(BenchmarkId::new("raw_multi", INSERTS), |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                &mut client,
                || data.clone(),
                |c, d| pg_insert_multi(c, &st.insert_multi, d),
                truncate,
            )
        })
    });
    g.bench_function(BenchmarkId::new("raw_single", INSERTS), |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                &mut client,
                || data.clone(),
                |c, d| pg_insert_single(c, &st.insert_single, d),
                truncate,
            )
        })
    });
    g.bench_function(BenchmarkId::new("orm", INSERTS), |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                &mut client,
                || data.clone(),
                |_, d| orm_insert(&engine, d),
                truncate,
            )
        })
    });
    paired(
        &format!("orm_insert/{name}/{INSERTS}"),
        |k| {
            let insert = |c: &mut Pg, d| pg_insert_multi(c, &st.insert_multi, d);
            timed(k, &mut client, || data.clone(), insert, truncate)
        },
        |k| orm_insert_timed(k, &engine, &data, &clear),
    );
    g.finish();

    let mut g = c.benchmark_group(format!("orm_assoc/{name}"));
    pg_exec_all(
        &mut client,
        &populate(db, ASSOC_USERS, POSTS_PER_USER, COMMENTS_PER_POST),
    );
    let want = raw_tree_rows(&pg_assoc(&mut client, &st));
    assert_eq!(want.len(), ASSOC_USERS);
    let mut got = orm_assoc_rows(&engine);
    let mut want_sorted = want;
    got.sort_by_key(|(u, _)| u.0);
    want_sorted.sort_by_key(|(u, _)| u.0);
    assert_eq!(got, want_sorted);
    let label = format!("{ASSOC_USERS}x{POSTS_PER_USER}x{COMMENTS_PER_POST}");
    g.sample_size(30);
    g.bench_function(BenchmarkId::new("raw", &label), |b| {
        b.iter(|| black_box(pg_assoc(&mut client, &st)))
    });
    g.bench_function(BenchmarkId::new("orm", &label), |b| {
        b.iter(|| black_box(orm_assoc(&engine)))
    });
    paired(
        &format!("orm_assoc/{name}/{label}"),
        |k| time_iters(k, || pg_assoc(&mut client, &st)),
        |k| time_iters(k, || orm_assoc(&engine)),
    );
    g.finish();

    drop(engine);
    pg_exec_all(&mut client, &drop_tables());
}

criterion_group!(benches, bench_sqlite, bench_postgres);
criterion_main!(benches);
