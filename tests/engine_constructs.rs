//! Every Core construct executed on SQLite, PostgreSQL and MySQL (MariaDB), with its
//! rows asserted.
//!
//! Each check is written once as `fn check(&Engine) -> Result<()>` and run on the three
//! databases by `on_all!`, which makes a module per check holding the tests `sqlite`
//! (an in-memory `create_engine("sqlite://")`), `postgres` (a fresh database on the
//! test cluster, see tests/support/pg.rs) and `mysql` (a fresh database on a throwaway
//! MariaDB server, see tests/support/mariadb.rs). Checks that differ by database
//! (DISTINCT ON, FOR UPDATE, RETURNING, isolation levels, last_insert_id) assert each
//! database's own behaviour.

#[allow(dead_code)] // each test binary uses only part of the support code
#[macro_use]
mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use strata::func;
use strata::{
    and_, case, cast, column, create_engine, delete, except, excluded, exists, insert, intersect,
    literal, not_, null, or_, select, text, tuple, union, union_all, update, Column, Compilable,
    Connection, DbErrorKind, Engine, Error, Expr, IsolationLevel, JoinKind, MetaData, Result,
    SqlType, Table, Value, Window,
};
use support::pg;

// ---------------------------------------------------------------------------------------
// Running a check on both databases
// ---------------------------------------------------------------------------------------

fn is_pg(e: &Engine) -> bool {
    e.dialect().name() == "postgresql"
}

fn is_mysql(e: &Engine) -> bool {
    e.dialect().name() == "mysql"
}

/// Check that running a statement with RETURNING on MySQL is refused before anything
/// is sent.
fn refused_returning(r: Result<strata::CursorResult<'_>>) -> Result<()> {
    match r {
        Err(Error::Unsupported { construct, dialect }) => {
            ensure(construct == "RETURNING" && dialect == "mysql", || {
                format!("Unsupported names {construct:?} on {dialect}")
            })
        }
        other => Err(Error::InvalidStatement(format!(
            "RETURNING on MySQL must be Unsupported, got {other:?}"
        ))),
    }
}

/// Fail the check with a message (for conditions `?` cannot express).
fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(Error::InvalidStatement(format!("check failed: {}", what())))
    }
}

/// A numeric value as f64: integers, floats, and PostgreSQL NUMERIC (exact decimal
/// text, e.g. from `avg`).
fn num(v: &Value) -> f64 {
    match v {
        Value::SmallInt(i) => *i as f64,
        Value::Int(i) => *i as f64,
        Value::BigInt(i) => *i as f64,
        Value::Float(f) => *f as f64,
        Value::Double(f) => *f,
        Value::Text(s) => s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}")),
        Value::Decimal(d) => d
            .to_string()
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {d:?}")),
        other => panic!("not a number: {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// The fixture schema and rows
// ---------------------------------------------------------------------------------------

/// users (7 rows, with NULLs and a name containing `%` and `_`), addresses and posts
/// (foreign keys to users), nodes (a tree through a self-referencing foreign key),
/// kv (a string primary key, for upserts), events (nothing but an autoincrementing key
/// and a nullable column) and stamps (client-side defaults, one computed per row).
struct Fx {
    md: MetaData,
    users: Table,
    addresses: Table,
    posts: Table,
    nodes: Table,
    kv: Table,
    events: Table,
    stamps: Table,
    stamp_calls: Arc<AtomicUsize>,
}

fn schema() -> Fx {
    let mut md = MetaData::new();
    let users = Table::build("users")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(30))).not_null())
        .column(Column::new("fullname", SqlType::String(Some(50))))
        .column(Column::new("age", SqlType::Integer))
        .column(Column::new("city", SqlType::String(Some(20))))
        .add_to(&mut md)
        .unwrap();
    let addresses = Table::build("addresses")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .foreign_key("users.id")
                .not_null(),
        )
        .column(Column::new("email", SqlType::String(Some(100))).not_null())
        .add_to(&mut md)
        .unwrap();
    let posts = Table::build("posts")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .foreign_key("users.id")
                .not_null(),
        )
        .column(Column::new("title", SqlType::String(Some(100))).not_null())
        .column(Column::new("views", SqlType::Integer).not_null().default(0))
        .column(
            Column::new("status", SqlType::String(Some(20)))
                .not_null()
                .default("draft"),
        )
        .column(Column::new("rating", SqlType::Double))
        .add_to(&mut md)
        .unwrap();
    let nodes = Table::build("nodes")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("parent_id", SqlType::Integer).foreign_key("nodes.id"))
        .column(Column::new("name", SqlType::String(Some(20))).not_null())
        .add_to(&mut md)
        .unwrap();
    let kv = Table::build("kv")
        .column(Column::new("key", SqlType::String(Some(20))).primary_key())
        .column(Column::new("val", SqlType::Integer).not_null())
        .add_to(&mut md)
        .unwrap();
    let events = Table::build("events")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("note", SqlType::Text))
        .add_to(&mut md)
        .unwrap();
    let stamp_calls = Arc::new(AtomicUsize::new(0));
    let calls = stamp_calls.clone();
    let stamps = Table::build("stamps")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("label", SqlType::String(Some(20)))
                .not_null()
                .default_fn(move || {
                    Value::from(format!("L{}", calls.fetch_add(1, Ordering::SeqCst) + 1))
                }),
        )
        .column(Column::new("n", SqlType::Integer).not_null().default(7))
        .add_to(&mut md)
        .unwrap();
    Fx {
        md,
        users,
        addresses,
        posts,
        nodes,
        kv,
        events,
        stamps,
        stamp_calls,
    }
}

/// The schema created with `create_all` and filled with the rows below.
fn fixture(engine: &Engine) -> Result<Fx> {
    let f = schema();
    f.md.create_all(engine)?;
    engine.begin(|c| {
        let n = c
            .execute(
                &insert(&f.users)
                    .columns(["id", "name", "fullname", "age", "city"])
                    .row((1, "spongebob", "Spongebob Squarepants", 20, "bikini"))
                    .row((2, "sandy", "Sandy Cheeks", 30, "texas"))
                    .row((3, "patrick", None::<&str>, 25, "bikini"))
                    .row((
                        4,
                        "squidward",
                        "Squidward Tentacles",
                        None::<i32>,
                        None::<&str>,
                    ))
                    .row((5, "e%_x", "50% off_sale", 40, "texas"))
                    .row((6, "eve", None::<&str>, 35, None::<&str>))
                    .row((7, "max", None::<&str>, None::<i32>, "bikini")),
            )?
            .rows_affected();
        ensure(n == 7, || format!("7 users inserted, not {n}"))?;
        c.execute(
            &insert(&f.addresses)
                .columns(["id", "user_id", "email"])
                .row((1, 1, "spongebob@sqlalchemy.org"))
                .row((2, 2, "sandy@sqlalchemy.org"))
                .row((3, 2, "sandy@squirrelpower.org"))
                .row((4, 3, "patrick@bikini.net")),
        )?;
        c.execute(
            &insert(&f.posts)
                .columns(["id", "user_id", "title", "views", "status", "rating"])
                .row((1, 1, "Jellyfishing", 10, "published", Some(4.5)))
                .row((2, 1, "Krabby Patty", 30, "published", None::<f64>))
                .row((3, 2, "Karate", 20, "draft", Some(3.0)))
                .row((4, 3, "Rock life", 5, "draft", Some(1.5))),
        )?;
        c.execute(
            &insert(&f.nodes)
                .columns(["id", "parent_id", "name"])
                .row((1, None::<i32>, "root"))
                .row((2, Some(1), "a"))
                .row((3, Some(1), "b"))
                .row((4, Some(2), "a1"))
                .row((5, Some(2), "a2"))
                .row((6, Some(4), "a1x"))
                .row((7, None::<i32>, "other")),
        )?;
        c.execute(
            &insert(&f.kv)
                .columns(["key", "val"])
                .row(("a", 1))
                .row(("b", 2)),
        )?;
        Ok(())
    })?;
    Ok(f)
}

/// Ids of the users matching `cond`, in id order.
fn user_ids(c: &mut Connection, f: &Fx, cond: Expr) -> Result<Vec<i64>> {
    c.execute(
        &select(f.users.c("id"))
            .where_(cond)
            .order_by([f.users.c("id")]),
    )?
    .scalars()
}

fn count(c: &mut Connection, t: &Table) -> Result<i64> {
    c.execute(&select(func::count_star()).select_from(t))?
        .scalar_one()
}

fn check_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<()> {
    ensure(got == want, || {
        format!("{what}: got {got:?}, expected {want:?}")
    })
}

// ---------------------------------------------------------------------------------------
// SELECT and WHERE
// ---------------------------------------------------------------------------------------

on_all!(
    crate::support::checked;
    select_by_primary_key,
    where_and_or_not,
    comparisons,
    is_null,
    in_lists,
    in_select,
    between,
    like_ilike_contains_startswith_endswith,
    arithmetic,
    concat,
    functions,
    count_distinct,
    case_expressions,
    casts,
    labels,
    alias_and_self_join,
    distinct,
    distinct_on,
    exists_and_correlated_scalar_subquery,
    window_functions,
    tuple_comparisons,
    text_with_named_params,
    joins_with_inferred_on,
    outer_joins,
    group_by_having,
    order_by_nulls_first_last,
    limit_offset,
    for_update,
    subquery_in_from,
    cte,
    recursive_cte,
    set_operations,
);

fn select_by_primary_key(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let mut c = e.connect()?;
    let row = c
        .execute(&select(&f.users).where_(f.users.c("id").eq(2)))?
        .one()?;
    check_eq(
        "columns",
        row.columns().to_vec(),
        strs(&["id", "name", "fullname", "age", "city"]),
    )?;
    check_eq("id", row.get::<i64>("id")?, 2)?;
    check_eq("name", row.get::<String>("name")?, "sandy".into())?;
    check_eq("fullname", row.get::<String>(2)?, "Sandy Cheeks".into())?;
    check_eq("age", row.get::<i32>("age")?, 30)?;
    check_eq(
        "city",
        row.get::<Option<String>>("city")?,
        Some("texas".into()),
    )?;
    let none = c
        .execute(&select(&f.users).where_(f.users.c("id").eq(99)))?
        .one_or_none()?;
    check_eq("missing pk", none, None)
}

fn where_and_or_not(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    let cond = or_([
        and_([u.c("city").eq("bikini"), u.c("age").gt(21)]),
        u.c("name").eq("sandy"),
    ]);
    check_eq("and/or", user_ids(&mut c, &f, cond)?, vec![2, 3])?;
    check_eq(
        "operators & |",
        user_ids(
            &mut c,
            &f,
            (u.c("city").eq("bikini") & u.c("age").lt(21)) | u.c("id").eq(7),
        )?,
        vec![1, 7],
    )?;
    // NOT of a comparison with NULL is NULL: rows without a city are not returned.
    check_eq(
        "not_",
        user_ids(&mut c, &f, not_(u.c("city").eq("bikini")))?,
        vec![2, 5],
    )?;
    check_eq(
        "operator !",
        user_ids(&mut c, &f, !(u.c("age").gt(25) | u.c("age").is_null()))?,
        vec![1, 3],
    )?;
    check_eq(
        "where_ twice is AND",
        c.execute(
            &select(u.c("id"))
                .where_(u.c("city").eq("texas"))
                .where_(u.c("age").lt(35))
                .order_by([u.c("id")]),
        )?
        .scalars::<i64>()?,
        vec![2],
    )?;
    Ok(())
}

fn comparisons(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let age = || f.users.c("age");
    let mut c = e.connect()?;
    check_eq("eq", user_ids(&mut c, &f, age().eq(30))?, vec![2])?;
    check_eq("ne", user_ids(&mut c, &f, age().ne(30))?, vec![1, 3, 5, 6])?;
    check_eq("lt", user_ids(&mut c, &f, age().lt(25))?, vec![1])?;
    check_eq("le", user_ids(&mut c, &f, age().le(25))?, vec![1, 3])?;
    check_eq("gt", user_ids(&mut c, &f, age().gt(30))?, vec![5, 6])?;
    check_eq("ge", user_ids(&mut c, &f, age().ge(30))?, vec![2, 5, 6])?;
    check_eq(
        "text comparison",
        user_ids(&mut c, &f, f.users.c("name").gt("sandy"))?,
        vec![1, 4],
    )?;
    check_eq(
        "column to column",
        c.execute(
            &select(f.posts.c("id"))
                .where_(f.posts.c("views").gt(f.posts.c("user_id") * 10))
                .order_by([f.posts.c("id")]),
        )?
        .scalars::<i64>()?,
        vec![2],
    )?;
    Ok(())
}

fn is_null(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    check_eq(
        "is_null",
        user_ids(&mut c, &f, u.c("age").is_null())?,
        vec![4, 7],
    )?;
    check_eq(
        "is_not_null",
        user_ids(&mut c, &f, u.c("age").is_not_null())?,
        vec![1, 2, 3, 5, 6],
    )?;
    check_eq(
        "eq(None) is IS NULL",
        user_ids(&mut c, &f, u.c("fullname").eq(None::<String>))?,
        vec![3, 6, 7],
    )?;
    check_eq(
        "ne(null()) is IS NOT NULL",
        user_ids(&mut c, &f, u.c("fullname").ne(null()))?,
        vec![1, 2, 4, 5],
    )
}

fn in_lists(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let id = || f.users.c("id");
    let mut c = e.connect()?;
    check_eq("in_ one", user_ids(&mut c, &f, id().in_([2]))?, vec![2])?;
    check_eq(
        "in_ two",
        user_ids(&mut c, &f, id().in_([3, 1]))?,
        vec![1, 3],
    )?;
    check_eq(
        "in_ six",
        user_ids(&mut c, &f, id().in_([1, 2, 3, 4, 5, 99]))?,
        vec![1, 2, 3, 4, 5],
    )?;
    check_eq(
        "in_ empty",
        user_ids(&mut c, &f, id().in_(Vec::<i32>::new()))?,
        vec![],
    )?;
    // The same statement shape again with a non-empty list after the empty one.
    check_eq(
        "in_ after empty",
        user_ids(&mut c, &f, id().in_([4]))?,
        vec![4],
    )?;
    check_eq(
        "not_in",
        user_ids(&mut c, &f, id().not_in([1, 2]))?,
        vec![3, 4, 5, 6, 7],
    )?;
    check_eq(
        "not_in empty",
        user_ids(&mut c, &f, id().not_in(Vec::<i32>::new()))?,
        vec![1, 2, 3, 4, 5, 6, 7],
    )?;
    check_eq(
        "in_ of text",
        user_ids(
            &mut c,
            &f,
            f.users.c("name").in_(["eve", "sandy", "nobody"]),
        )?,
        vec![2, 6],
    )?;
    check_eq(
        "in_ combined with other parameters",
        user_ids(
            &mut c,
            &f,
            id().in_([1, 2, 3]) & f.users.c("age").gt(21) & id().not_in([3]),
        )?,
        vec![2],
    )?;
    check_eq(
        "in_exprs",
        user_ids(
            &mut c,
            &f,
            id().in_exprs([literal(6), f.users.c("age") - 19]),
        )?,
        vec![1, 6],
    )
}

fn in_select(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let mut c = e.connect()?;
    let with_address = || select(f.addresses.c("user_id"));
    check_eq(
        "in_select",
        user_ids(&mut c, &f, f.users.c("id").in_select(with_address()))?,
        vec![1, 2, 3],
    )?;
    check_eq(
        "not_in_select",
        user_ids(&mut c, &f, f.users.c("id").not_in_select(with_address()))?,
        vec![4, 5, 6, 7],
    )?;
    check_eq(
        "in_select with its own where",
        user_ids(
            &mut c,
            &f,
            f.users
                .c("id")
                .in_select(select(f.posts.c("user_id")).where_(f.posts.c("status").eq("draft"))),
        )?,
        vec![2, 3],
    )
}

fn between(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let mut c = e.connect()?;
    check_eq(
        "between",
        user_ids(&mut c, &f, f.users.c("age").between(25, 35))?,
        vec![2, 3, 6],
    )?;
    check_eq(
        "not_between",
        user_ids(&mut c, &f, f.users.c("age").not_between(25, 35))?,
        vec![1, 5],
    )?;
    check_eq(
        "between text",
        user_ids(&mut c, &f, f.users.c("name").between("m", "q"))?,
        vec![3, 7],
    )
}

fn like_ilike_contains_startswith_endswith(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let name = || f.users.c("name");
    let mut c = e.connect()?;
    check_eq(
        "like",
        user_ids(&mut c, &f, name().like("s%"))?,
        vec![1, 2, 4],
    )?;
    check_eq(
        "like with _",
        user_ids(&mut c, &f, name().like("_a%"))?,
        vec![2, 3, 7],
    )?;
    check_eq(
        "not_like",
        user_ids(&mut c, &f, name().not_like("s%"))?,
        vec![3, 5, 6, 7],
    )?;
    check_eq(
        "ilike",
        user_ids(&mut c, &f, name().ilike("SAND%"))?,
        vec![2],
    )?;
    check_eq(
        "not_ilike",
        user_ids(&mut c, &f, name().not_ilike("%A%"))?,
        vec![1, 5, 6],
    )?;
    check_eq(
        "contains",
        user_ids(&mut c, &f, name().contains("and"))?,
        vec![2],
    )?;
    check_eq(
        "startswith",
        user_ids(&mut c, &f, name().startswith("sp"))?,
        vec![1],
    )?;
    check_eq(
        "endswith",
        user_ids(&mut c, &f, name().endswith("ard"))?,
        vec![4],
    )?;
    // `%` and `_` in a contains/startswith/endswith value match only themselves.
    check_eq(
        "wildcard like matches both",
        user_ids(&mut c, &f, name().like("e%"))?,
        vec![5, 6],
    )?;
    check_eq(
        "startswith e% is literal",
        user_ids(&mut c, &f, name().startswith("e%"))?,
        vec![5],
    )?;
    check_eq(
        "contains %_ is literal",
        user_ids(&mut c, &f, name().contains("%_"))?,
        vec![5],
    )?;
    check_eq(
        "contains _ is literal",
        user_ids(&mut c, &f, name().contains("_"))?,
        vec![5],
    )?;
    check_eq(
        "endswith _x is literal",
        user_ids(&mut c, &f, name().endswith("_x"))?,
        vec![5],
    )?;
    check_eq(
        "fullname contains '% off_'",
        user_ids(&mut c, &f, f.users.c("fullname").contains("% off_"))?,
        vec![5],
    )?;
    check_eq(
        "contains a slash (the escape character)",
        user_ids(&mut c, &f, name().contains("/"))?,
        vec![],
    )?;
    check_eq(
        "like_escape",
        user_ids(&mut c, &f, name().like_escape("e!%!_%", '!'))?,
        vec![5],
    )?;
    check_eq(
        "contains a column",
        c.execute(
            &select(f.addresses.c("id"))
                .join(&f.users)
                .where_(f.addresses.c("email").contains(f.users.c("name")))
                .order_by([f.addresses.c("id")]),
        )?
        .scalars::<i64>()?,
        vec![1, 2, 3, 4],
    )?;
    Ok(())
}

fn arithmetic(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let p = &f.posts;
    let v = || p.c("views");
    let mut c = e.connect()?;
    let row = c
        .execute(
            &select((
                (v() + 1).label("plus"),
                (v() - 1).label("minus"),
                (v() * 2).label("times"),
                (v() / 4).label("div"),
                (v() % 7).label("rem"),
                (-v()).label("neg"),
                (p.c("rating") * 2).label("dbl"),
                ((v() + p.c("user_id")) * (v() - 20)).label("nested"),
            ))
            .where_(p.c("id").eq(2)),
        )?
        .one()?;
    check_eq("+", row.get::<i64>("plus")?, 31)?;
    check_eq("-", row.get::<i64>("minus")?, 29)?;
    check_eq("*", row.get::<i64>("times")?, 60)?;
    check_eq("integer /", row.get::<i64>("div")?, 7)?;
    check_eq("%", row.get::<i64>("rem")?, 2)?;
    check_eq("neg", row.get::<i64>("neg")?, -30)?;
    check_eq("NULL * 2", row.get::<Option<f64>>("dbl")?, None)?;
    check_eq("nested", row.get::<i64>("nested")?, 310)?;
    let dbl: f64 = c
        .execute(&select(p.c("rating") * 2).where_(p.c("id").eq(1)))?
        .scalar_one()?;
    ensure(close(dbl, 9.0), || format!("4.5 * 2 = {dbl}"))?;
    check_eq(
        "arithmetic in where",
        c.execute(
            &select(p.c("id"))
                .where_((v() * 2).gt(30))
                .order_by([p.c("id")]),
        )?
        .scalars::<i64>()?,
        vec![2, 3],
    )?;
    Ok(())
}

fn concat(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    let s: String = c
        .execute(
            &select(
                u.c("name")
                    .concat(" <")
                    .concat(f.addresses.c("email"))
                    .concat(">"),
            )
            .join(&f.addresses)
            .where_(f.addresses.c("id").eq(1)),
        )?
        .scalar_one()?;
    check_eq("concat", s, "spongebob <spongebob@sqlalchemy.org>".into())?;
    let with_null: Option<String> = c
        .execute(&select(u.c("fullname").concat("!")).where_(u.c("id").eq(3)))?
        .scalar_one()?;
    check_eq("concat with NULL", with_null, None)?;
    check_eq(
        "concat in where",
        user_ids(&mut c, &f, u.c("name").concat("@x").eq("eve@x"))?,
        vec![6],
    )
}

fn functions(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, p) = (&f.users, &f.posts);
    let mut c = e.connect()?;
    let row = c
        .execute(&select((
            func::count(u.c("id")).label("n"),
            func::count(u.c("age")).label("n_age"),
            func::count_star().label("n_star"),
            func::sum(u.c("age")).label("sum_age"),
            func::avg(u.c("age")).label("avg_age"),
            func::min(u.c("age")).label("min_age"),
            func::max(u.c("age")).label("max_age"),
            func::min(u.c("name")).label("min_name"),
        )))?
        .one()?;
    check_eq("count", row.get::<i64>("n")?, 7)?;
    check_eq("count skips NULL", row.get::<i64>("n_age")?, 5)?;
    check_eq("count(*)", row.get::<i64>("n_star")?, 7)?;
    check_eq("sum", row.get::<i64>("sum_age")?, 150)?;
    let avg = num(row.value("avg_age")?);
    ensure(close(avg, 30.0), || format!("avg(age) = {avg}"))?;
    check_eq("min", row.get::<i64>("min_age")?, 20)?;
    check_eq("max", row.get::<i64>("max_age")?, 40)?;
    check_eq("min text", row.get::<String>("min_name")?, "e%_x".into())?;

    let row = c
        .execute(&select((
            func::sum(p.c("rating")).label("s"),
            func::avg(p.c("rating")).label("a"),
            func::avg(p.c("views")).label("av"),
        )))?
        .one()?;
    let (s, a, av) = (
        num(row.value("s")?),
        num(row.value("a")?),
        num(row.value("av")?),
    );
    ensure(close(s, 9.0) && close(a, 3.0) && close(av, 16.25), || {
        format!("sum/avg of ratings and views: {s} {a} {av}")
    })?;

    let row = c
        .execute(
            &select((
                func::coalesce([u.c("fullname"), u.c("name")]).label("display"),
                func::coalesce([u.c("age"), literal(-1)]).label("age_or"),
                func::lower(literal("Sandy CHEEKS")).label("low"),
                func::upper(u.c("name")).label("up"),
                func::length(u.c("name")).label("len"),
                func::abs(literal(0) - u.c("age")).label("abs"),
                func::now().label("now"),
                func::call("replace", [u.c("name"), "a".into(), "4".into()]).label("repl"),
            ))
            .where_(u.c("id").eq(3)),
        )?
        .one()?;
    check_eq("coalesce", row.get::<String>("display")?, "patrick".into())?;
    check_eq("coalesce value", row.get::<i64>("age_or")?, 25)?;
    check_eq("lower", row.get::<String>("low")?, "sandy cheeks".into())?;
    check_eq("upper", row.get::<String>("up")?, "PATRICK".into())?;
    check_eq("length", row.get::<i64>("len")?, 7)?;
    check_eq("abs", row.get::<i64>("abs")?, 25)?;
    check_eq("func::call", row.get::<String>("repl")?, "p4trick".into())?;
    let now = row.value("now")?;
    ensure(!now.is_null(), || "now() is NULL".into())?;
    let empty: Option<i64> = c
        .execute(&select(func::max(u.c("age"))).where_(u.c("id").gt(100)))?
        .scalar_one()?;
    check_eq("max of no rows", empty, None)
}

fn count_distinct(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let mut c = e.connect()?;
    let row = c
        .execute(&select((
            func::count(f.users.c("city")).distinct().label("cities"),
            func::count(f.users.c("city")).label("with_city"),
        )))?
        .one()?;
    check_eq("count distinct city", row.get::<i64>("cities")?, 2)?;
    check_eq("count city", row.get::<i64>("with_city")?, 5)?;
    let n: i64 = c
        .execute(&select(func::count(f.addresses.c("user_id")).distinct()))?
        .scalar_one()?;
    check_eq("count distinct user_id", n, 3)?;
    let s: i64 = c
        .execute(&select(func::sum(f.posts.c("user_id")).distinct()))?
        .scalar_one()?;
    check_eq("sum distinct", s, 6)
}

fn case_expressions(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    let rows = c
        .execute(
            &select((
                u.c("id"),
                case(
                    [(u.c("age").lt(25), "young"), (u.c("age").lt(35), "mid")],
                    Some("old".into()),
                )
                .label("band"),
                case([(u.c("city").eq("bikini"), u.c("age"))], None).label("bikini_age"),
            ))
            .order_by([u.c("id")]),
        )?
        .all()?;
    let bands: Vec<String> = rows.iter().map(|r| r.get("band")).collect::<Result<_>>()?;
    // NULL age matches no WHEN: ELSE.
    check_eq(
        "case with else",
        bands,
        strs(&["young", "mid", "mid", "old", "old", "old", "old"]),
    )?;
    let bikini: Vec<Option<i64>> = rows
        .iter()
        .map(|r| r.get("bikini_age"))
        .collect::<Result<_>>()?;
    check_eq(
        "case without else",
        bikini,
        vec![Some(20), None, Some(25), None, None, None, None],
    )?;
    let total: i64 = c
        .execute(&select(func::sum(case(
            [(f.posts.c("status").eq("published"), f.posts.c("views"))],
            Some(literal(0)),
        ))))?
        .scalar_one()?;
    check_eq("sum of case", total, 40)
}

fn casts(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, p) = (&f.users, &f.posts);
    let mut c = e.connect()?;
    let row = c
        .execute(
            &select((
                cast(u.c("age"), SqlType::Text).label("age_text"),
                cast(
                    cast(u.c("age"), SqlType::Text).concat("1"),
                    SqlType::Integer,
                )
                .label("n"),
                cast(u.c("age"), SqlType::Double).label("d"),
                cast(literal(7), SqlType::Text).label("seven"),
                cast(u.c("age"), SqlType::String(Some(10))).label("s10"),
                cast(u.c("age"), SqlType::BigInteger).label("big"),
            ))
            .where_(u.c("id").eq(1)),
        )?
        .one()?;
    check_eq("cast to text", row.get::<String>("age_text")?, "20".into())?;
    check_eq("cast text to integer", row.get::<i64>("n")?, 201)?;
    let d = row.get::<f64>("d")?;
    ensure(close(d, 20.0), || format!("cast to double: {d}"))?;
    ensure(matches!(row.value("d")?, Value::Double(_)), || {
        format!("cast to double gives a double: {:?}", row.value("d"))
    })?;
    check_eq("cast bound value", row.get::<String>("seven")?, "7".into())?;
    check_eq("cast to varchar", row.get::<String>("s10")?, "20".into())?;
    check_eq("cast to bigint", row.get::<i64>("big")?, 20)?;
    let quarter: f64 = c
        .execute(&select(cast(p.c("views"), SqlType::Double) / 4).where_(p.c("id").eq(1)))?
        .scalar_one()?;
    ensure(close(quarter, 2.5), || format!("10.0 / 4 = {quarter}"))?;
    let r: i64 = c
        .execute(&select(cast(p.c("rating"), SqlType::Integer)).where_(p.c("id").eq(3)))?
        .scalar_one()?;
    check_eq("cast double to integer", r, 3)?;
    check_eq(
        "cast in where",
        user_ids(&mut c, &f, cast(u.c("age"), SqlType::Text).eq("25"))?,
        vec![3],
    )
}

fn labels(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    let row = c
        .execute(
            &select((
                u.c("name").label("who"),
                (u.c("age") + 1).label("next_age"),
                u.c("city"),
            ))
            .where_(u.c("id").eq(1)),
        )?
        .one()?;
    check_eq(
        "columns",
        row.columns().to_vec(),
        strs(&["who", "next_age", "city"]),
    )?;
    check_eq("who", row.get::<String>("who")?, "spongebob".into())?;
    check_eq("next_age", row.get::<i64>("next_age")?, 21)?;
    check_eq("city", row.get::<String>("city")?, "bikini".into())?;
    // A label is usable in ORDER BY through column().
    let names: Vec<String> = c
        .execute(
            &select(u.c("name").label("who"))
                .where_(u.c("id").le(3))
                .order_by([column("who").desc()]),
        )?
        .scalars()?;
    check_eq(
        "order by label",
        names,
        strs(&["spongebob", "sandy", "patrick"]),
    )
}

fn alias_and_self_join(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let child = f.nodes.alias("child");
    let parent = f.nodes.alias("parent");
    let mut c = e.connect()?;
    let rows = c
        .execute(
            &select((child.c("name"), parent.c("name").label("parent_name")))
                .select_from(&child)
                .join_on(&parent, child.c("parent_id").eq(parent.c("id")))
                .order_by([child.c("id")]),
        )?
        .all()?;
    let pairs: Vec<(String, String)> = rows
        .iter()
        .map(|r| Ok((r.get(0)?, r.get("parent_name")?)))
        .collect::<Result<_>>()?;
    check_eq(
        "child -> parent",
        pairs,
        vec![
            ("a".into(), "root".into()),
            ("b".into(), "root".into()),
            ("a1".into(), "a".into()),
            ("a2".into(), "a".into()),
            ("a1x".into(), "a1".into()),
        ],
    )?;
    // Grandparents: the table aliased three times.
    let grand = f.nodes.alias("grand");
    let names: Vec<String> = c
        .execute(
            &select(child.c("name"))
                .select_from(&child)
                .join_on(&parent, child.c("parent_id").eq(parent.c("id")))
                .join_on(&grand, parent.c("parent_id").eq(grand.c("id")))
                .where_(grand.c("name").eq("root"))
                .order_by([child.c("id")]),
        )?
        .scalars()?;
    check_eq("grandchildren of root", names, strs(&["a1", "a2"]))?;
    // An alias of users joined to the real table.
    let u2 = f.users.alias("u2");
    let same_city: Vec<i64> = c
        .execute(
            &select(u2.c("id"))
                .select_from(&f.users)
                .join_on(
                    &u2,
                    f.users
                        .c("city")
                        .eq(u2.c("city"))
                        .and(f.users.c("id").ne(u2.c("id"))),
                )
                .where_(f.users.c("id").eq(1))
                .order_by([u2.c("id")]),
        )?
        .scalars()?;
    check_eq("same city as user 1", same_city, vec![3, 7])
}

fn distinct(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    let cities: Vec<String> = c
        .execute(
            &select(u.c("city"))
                .distinct()
                .where_(u.c("city").is_not_null())
                .order_by([u.c("city")]),
        )?
        .scalars()?;
    check_eq("distinct", cities, strs(&["bikini", "texas"]))?;
    let pairs = c
        .execute(
            &select((f.posts.c("user_id"), f.posts.c("status")))
                .distinct()
                .order_by([f.posts.c("user_id"), f.posts.c("status")]),
        )?
        .all()?;
    check_eq("distinct pairs", pairs.len(), 3)
}

fn distinct_on(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let a = &f.addresses;
    let stmt = select((a.c("user_id"), a.c("email")))
        .distinct_on([a.c("user_id")])
        .order_by([a.c("user_id").asc(), a.c("email").desc()]);
    let mut c = e.connect()?;
    if is_pg(e) {
        let rows = c.execute(&stmt)?.all()?;
        let got: Vec<(i64, String)> = rows
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<_>>()?;
        check_eq(
            "distinct on",
            got,
            vec![
                (1, "spongebob@sqlalchemy.org".into()),
                (2, "sandy@squirrelpower.org".into()),
                (3, "patrick@bikini.net".into()),
            ],
        )
    } else {
        match c.execute(&stmt) {
            Err(Error::Unsupported { construct, dialect }) => ensure(
                construct.contains("DISTINCT ON") && dialect == e.dialect().name(),
                || format!("Unsupported names {construct:?} on {dialect}"),
            ),
            other => Err(Error::InvalidStatement(format!(
                "DISTINCT ON on SQLite and MySQL must be Unsupported, got {other:?}"
            ))),
        }
    }
}

fn exists_and_correlated_scalar_subquery(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, a) = (&f.users, &f.addresses);
    let mut c = e.connect()?;
    let has_address = || select(a.c("id")).where_(a.c("user_id").eq(u.c("id")));
    check_eq(
        "exists",
        user_ids(&mut c, &f, exists(has_address()))?,
        vec![1, 2, 3],
    )?;
    check_eq(
        "not exists",
        user_ids(&mut c, &f, not_(has_address().exists()))?,
        vec![4, 5, 6, 7],
    )?;
    let counts = c
        .execute(
            &select((
                u.c("name"),
                select(func::count_star())
                    .select_from(a)
                    .where_(a.c("user_id").eq(u.c("id")))
                    .scalar_subquery()
                    .label("n"),
            ))
            .order_by([u.c("id")]),
        )?
        .all()?;
    let n: Vec<i64> = counts.iter().map(|r| r.get("n")).collect::<Result<_>>()?;
    check_eq("correlated count", n, vec![1, 2, 1, 0, 0, 0, 0])?;
    // A scalar subquery in WHERE: users older than the average.
    let avg_age = select(func::avg(u.c("age"))).scalar_subquery();
    check_eq(
        "scalar subquery in where",
        user_ids(&mut c, &f, u.c("age").gt(avg_age))?,
        vec![5, 6],
    )?;
    // exists() in the select list.
    let flags: Vec<bool> = c
        .execute(
            &select(exists(has_address()).label("has"))
                .select_from(u)
                .order_by([u.c("id")]),
        )?
        .scalars()?;
    check_eq(
        "exists as a value",
        flags,
        vec![true, true, true, false, false, false, false],
    )
}

fn window_functions(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let p = &f.posts;
    let mut c = e.connect()?;
    let rows = c
        .execute(
            &select((
                p.c("title"),
                func::row_number()
                    .over(
                        Window::new()
                            .partition_by([p.c("user_id")])
                            .order_by([p.c("views").desc()]),
                    )
                    .label("rn"),
                func::rank()
                    .over(Window::new().order_by([p.c("status")]))
                    .label("rk"),
                func::sum(p.c("views"))
                    .over(Window::new().partition_by([p.c("user_id")]))
                    .label("user_total"),
                func::count_star().over(Window::new()).label("all"),
            ))
            .order_by([p.c("id")]),
        )?
        .all()?;
    let get = |name: &str| -> Result<Vec<i64>> { rows.iter().map(|r| r.get(name)).collect() };
    check_eq("row_number", get("rn")?, vec![2, 1, 1, 1])?;
    check_eq("rank", get("rk")?, vec![3, 3, 1, 1])?;
    check_eq(
        "sum over partition",
        get("user_total")?,
        vec![40, 40, 20, 5],
    )?;
    check_eq("count over ()", get("all")?, vec![4, 4, 4, 4])?;
    // The top post per user through a window in a subquery.
    let ranked = select((
        p.c("user_id"),
        p.c("title"),
        func::row_number()
            .over(
                Window::new()
                    .partition_by([p.c("user_id")])
                    .order_by([p.c("views").desc()]),
            )
            .label("rn"),
    ))
    .subquery("ranked");
    let top: Vec<String> = c
        .execute(
            &select(ranked.c("title"))
                .where_(ranked.c("rn").eq(1))
                .order_by([ranked.c("user_id")]),
        )?
        .scalars()?;
    check_eq(
        "top post per user",
        top,
        strs(&["Krabby Patty", "Karate", "Rock life"]),
    )?;
    // A running total with a frame.
    let running: Vec<i64> = c
        .execute(
            &select(
                func::sum(p.c("views"))
                    .over(Window::new().order_by([p.c("id")]).rows(
                        strata::FrameBound::UnboundedPreceding,
                        strata::FrameBound::CurrentRow,
                    ))
                    .label("running"),
            )
            .order_by([p.c("id")]),
        )?
        .scalars()?;
    check_eq("running total", running, vec![10, 40, 60, 65])
}

fn tuple_comparisons(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let p = &f.posts;
    let mut c = e.connect()?;
    let ids = |c: &mut Connection, cond: Expr| -> Result<Vec<i64>> {
        c.execute(&select(p.c("id")).where_(cond).order_by([p.c("id")]))?
            .scalars()
    };
    let key = || tuple([p.c("user_id"), p.c("views")]);
    check_eq(
        "tuple >",
        ids(&mut c, key().gt(tuple([1, 10])))?,
        vec![2, 3, 4],
    )?;
    check_eq("tuple =", ids(&mut c, key().eq(tuple([2, 20])))?, vec![3])?;
    check_eq(
        "tuple <=",
        ids(&mut c, key().le(tuple([1, 30])))?,
        vec![1, 2],
    )?;
    check_eq(
        "tuple IN",
        ids(
            &mut c,
            key().in_exprs([tuple([1, 30]), tuple([3, 5]), tuple([9, 9])]),
        )?,
        vec![2, 4],
    )
}

fn text_with_named_params(e: &Engine) -> Result<()> {
    let _f = fixture(e)?;
    let mut c = e.connect()?;
    let names: Vec<String> = c
        .execute(
            &text("SELECT name FROM users WHERE age > :age AND city = :city ORDER BY id")
                .bind("age", 22)
                .bind("city", "texas"),
        )?
        .scalars()?;
    check_eq("text", names, strs(&["sandy", "e%_x"]))?;
    // The same SQL with its values bound in the other order (and run again from the
    // statement cache) gives each name its own value.
    for _ in 0..2 {
        let names: Vec<String> = c
            .execute(
                &text("SELECT name FROM users WHERE age > :age AND city = :city ORDER BY id")
                    .bind("city", "texas")
                    .bind("age", 22),
            )?
            .scalars()?;
        check_eq(
            "text bound in another order",
            names,
            strs(&["sandy", "e%_x"]),
        )?;
    }
    // A parameter used twice, a quoted ':word' that is not a parameter.
    let rows = c
        .execute(
            &text("SELECT id, 'a:b' AS s FROM users WHERE id = :id OR age = :id + 19 ORDER BY id")
                .bind("id", 1),
        )?
        .all()?;
    let ids: Vec<i64> = rows.iter().map(|r| r.get("id")).collect::<Result<_>>()?;
    check_eq("repeated parameter", ids, vec![1])?;
    check_eq("quoted colon", rows[0].get::<String>("s")?, "a:b".into())?;
    // NULL through a text() parameter.
    let n: i64 = c
        .execute(
            &text(if is_mysql(e) {
                // MySQL's NULL-safe equality.
                "SELECT count(*) FROM users WHERE fullname <=> :f"
            } else {
                "SELECT count(*) FROM users WHERE fullname IS NOT DISTINCT FROM :f"
            })
            .bind("f", None::<String>),
        )?
        .scalar_one()?;
    check_eq("NULL parameter", n, 3)?;
    // A missing parameter is an error naming it; the connection keeps working.
    match c.execute(&text("SELECT name FROM users WHERE id = :nope")) {
        Err(Error::Parameter(m)) => ensure(m.contains("nope"), || m.clone())?,
        other => {
            return Err(Error::InvalidStatement(format!(
                "missing text() parameter: {other:?}"
            )))
        }
    }
    let n: i64 = c
        .execute(&text("SELECT count(*) FROM users"))?
        .scalar_one()?;
    check_eq("count after error", n, 7)?;
    // exec_driver_sql with the driver's own placeholders.
    let sql = if is_pg(e) {
        "SELECT name FROM users WHERE id = $1"
    } else {
        "SELECT name FROM users WHERE id = ?"
    };
    let name: String = c.exec_driver_sql(sql, &[Value::Int(4)])?.scalar_one()?;
    check_eq("exec_driver_sql", name, "squidward".into())?;
    // A comment with a multi-byte character before the statement.
    let n = c
        .execute(&text("/*   \u{e9} */ UPDATE users SET age = age WHERE id = :id").bind("id", 1))?
        .rows_affected();
    check_eq("statement after a comment", n, 1)?;
    if is_pg(e) {
        // `::` is a cast, not a parameter.
        let n: i64 = c
            .execute(&text("SELECT :v::int + 1").bind("v", 41))?
            .scalar_one()?;
        check_eq("cast after a parameter", n, 42)?;
        // Dollar quotes and escape strings are literals: `:x` in them is text.
        let row = c
            .execute(
                &text(
                    "SELECT $$:x$$ AS a, $t$ '' :x $t$ AS b, E'\\':x' AS c, CAST(:x AS int) AS d",
                )
                .bind("x", 7),
            )?
            .one()?;
        check_eq("dollar quote", row.get::<String>("a")?, ":x".into())?;
        check_eq(
            "tagged dollar quote",
            row.get::<String>("b")?,
            " '' :x ".into(),
        )?;
        check_eq("escape string", row.get::<String>("c")?, "':x".into())?;
        check_eq("parameter after them", row.get::<i32>("d")?, 7)?;
    }
    Ok(())
}

fn joins_with_inferred_on(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, a, p) = (&f.users, &f.addresses, &f.posts);
    let mut c = e.connect()?;
    let pairs = |rows: Vec<strata::Row>| -> Result<Vec<(String, String)>> {
        rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
    };
    let rows = c
        .execute(
            &select((u.c("name"), a.c("email")))
                .join(a)
                .order_by([a.c("id")]),
        )?
        .all()?;
    check_eq(
        "users join addresses",
        pairs(rows)?,
        vec![
            ("spongebob".into(), "spongebob@sqlalchemy.org".into()),
            ("sandy".into(), "sandy@sqlalchemy.org".into()),
            ("sandy".into(), "sandy@squirrelpower.org".into()),
            ("patrick".into(), "patrick@bikini.net".into()),
        ],
    )?;
    // From the child side.
    let rows = c
        .execute(
            &select((a.c("email"), u.c("name")))
                .select_from(a)
                .join(u)
                .where_(u.c("name").eq("sandy"))
                .order_by([a.c("id")]),
        )?
        .all()?;
    check_eq("addresses join users", pairs(rows)?.len(), 2)?;
    // A join tree as a FROM item, three tables.
    let rows = c
        .execute(
            &select((a.c("email"), p.c("title")))
                .select_from(u.join(a).join(p))
                .where_(p.c("views").ge(20))
                .order_by([a.c("id"), p.c("id")]),
        )?
        .all()?;
    check_eq(
        "three-table join",
        pairs(rows)?,
        vec![
            ("spongebob@sqlalchemy.org".into(), "Krabby Patty".into()),
            ("sandy@sqlalchemy.org".into(), "Karate".into()),
            ("sandy@squirrelpower.org".into(), "Karate".into()),
        ],
    )?;
    // An explicit ON.
    let n: i64 = c
        .execute(
            &select(func::count_star())
                .select_from(u)
                .join_on(p, p.c("user_id").eq(u.c("id")).and(p.c("views").gt(15))),
        )?
        .scalar_one()?;
    check_eq("explicit on", n, 2)
}

fn outer_joins(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, a, p) = (&f.users, &f.addresses, &f.posts);
    let mut c = e.connect()?;
    let rows = c
        .execute(
            &select((u.c("id"), a.c("email")))
                .outerjoin(a)
                .order_by([u.c("id"), a.c("id")]),
        )?
        .all()?;
    let got: Vec<(i64, Option<String>)> = rows
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<Result<_>>()?;
    check_eq(
        "left outer join",
        got,
        vec![
            (1, Some("spongebob@sqlalchemy.org".into())),
            (2, Some("sandy@sqlalchemy.org".into())),
            (2, Some("sandy@squirrelpower.org".into())),
            (3, Some("patrick@bikini.net".into())),
            (4, None),
            (5, None),
            (6, None),
            (7, None),
        ],
    )?;
    let counts: Vec<i64> = c
        .execute(
            &select(func::count(p.c("id")))
                .select_from(u)
                .outerjoin(p)
                .group_by([u.c("id")])
                .order_by([u.c("id")]),
        )?
        .scalars()?;
    check_eq("counts over outer join", counts, vec![2, 1, 1, 0, 0, 0, 0])?;
    let n: i64 = c
        .execute(&select(func::count_star()).select_from(u.outerjoin_on(
            a,
            a.c("user_id").eq(u.c("id")).and(a.c("email").like("%.org")),
        )))?
        .scalar_one()?;
    check_eq("outerjoin_on", n, 8)?;
    let right: Vec<Option<String>> = c
        .execute(
            &select(u.c("name"))
                .select_from(p)
                .join_kind(u, None, JoinKind::Right)
                .where_(p.c("id").is_null())
                .order_by([u.c("id")]),
        )?
        .scalars()?;
    check_eq(
        "right outer join",
        right,
        vec![
            Some("squidward".into()),
            Some("e%_x".into()),
            Some("eve".into()),
            Some("max".into()),
        ],
    )?;
    let full = select(func::count_star())
        .select_from(u)
        .join_kind(p, None, JoinKind::Full);
    if is_mysql(e) {
        return match c.execute(&full) {
            Err(Error::Unsupported { construct, .. }) if construct.contains("FULL") => Ok(()),
            other => Err(Error::InvalidStatement(format!(
                "FULL OUTER JOIN on MySQL must be Unsupported, got {other:?}"
            ))),
        };
    }
    let full: i64 = c.execute(&full)?.scalar_one()?;
    check_eq("full outer join", full, 8)
}

fn group_by_having(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, a) = (&f.users, &f.addresses);
    let mut c = e.connect()?;
    let rows = c
        .execute(
            &select((u.c("name"), func::count(a.c("id")).label("n")))
                .join(a)
                .group_by([u.c("name")])
                .having(func::count(a.c("id")).gt(1)),
        )?
        .all()?;
    check_eq("having rows", rows.len(), 1)?;
    check_eq(
        "having name",
        rows[0].get::<String>("name")?,
        "sandy".into(),
    )?;
    check_eq("having n", rows[0].get::<i64>("n")?, 2)?;
    let rows = c
        .execute(
            &select((
                u.c("city"),
                func::count_star().label("n"),
                func::max(u.c("age")).label("oldest"),
            ))
            .group_by([u.c("city")])
            .order_by([u.c("city").asc().nulls_first()]),
        )?
        .all()?;
    let got: Vec<(Option<String>, i64, Option<i64>)> = rows
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .collect::<Result<_>>()?;
    check_eq(
        "group by with NULL group",
        got,
        vec![
            (None, 2, Some(35)),
            (Some("bikini".into()), 3, Some(25)),
            (Some("texas".into()), 2, Some(40)),
        ],
    )?;
    let cities: Vec<String> = c
        .execute(
            &select(u.c("city"))
                .where_(u.c("city").is_not_null())
                .group_by([u.c("city")])
                .having(func::sum(u.c("age")).gt(50))
                .having(func::count_star().ge(2))
                .order_by([u.c("city")]),
        )?
        .scalars()?;
    check_eq("two having conditions", cities, strs(&["texas"]))
}

fn order_by_nulls_first_last(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    let mut ids = |items: Vec<strata::OrderBy>| -> Result<Vec<i64>> {
        c.execute(&select(u.c("id")).order_by(items))?.scalars()
    };
    check_eq(
        "asc nulls first",
        ids(vec![u.c("age").asc().nulls_first(), u.c("id").into()])?,
        vec![4, 7, 1, 3, 2, 6, 5],
    )?;
    check_eq(
        "asc nulls last",
        ids(vec![u.c("age").asc().nulls_last(), u.c("id").into()])?,
        vec![1, 3, 2, 6, 5, 4, 7],
    )?;
    check_eq(
        "desc nulls first",
        ids(vec![u.c("age").desc().nulls_first(), u.c("id").desc()])?,
        vec![7, 4, 5, 6, 2, 3, 1],
    )?;
    check_eq(
        "desc nulls last",
        ids(vec![u.c("age").desc().nulls_last(), u.c("id").into()])?,
        vec![5, 6, 2, 3, 1, 4, 7],
    )?;
    check_eq(
        "order by expression",
        ids(vec![(u.c("id") % 3).asc(), u.c("id").desc()])?,
        vec![6, 3, 7, 4, 1, 5, 2],
    )
}

fn limit_offset(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let base = || select(u.c("id")).order_by([u.c("id")]);
    let mut c = e.connect()?;
    check_eq(
        "limit",
        c.execute(&base().limit(2))?.scalars::<i64>()?,
        vec![1, 2],
    )?;
    check_eq(
        "limit offset",
        c.execute(&base().limit(2).offset(1))?.scalars::<i64>()?,
        vec![2, 3],
    )?;
    check_eq(
        "same shape, other values",
        c.execute(&base().limit(3).offset(4))?.scalars::<i64>()?,
        vec![5, 6, 7],
    )?;
    check_eq(
        "limit 0",
        c.execute(&base().limit(0))?.scalars::<i64>()?,
        vec![],
    )?;
    check_eq(
        "offset without limit",
        c.execute(&base().offset(5))?.scalars::<i64>()?,
        vec![6, 7],
    )?;
    check_eq(
        "offset past the end",
        c.execute(&base().offset(50))?.scalars::<i64>()?,
        vec![],
    )?;
    check_eq(
        "limit with where",
        c.execute(&base().where_(u.c("age").is_not_null()).limit(2).offset(3))?
            .scalars::<i64>()?,
        vec![5, 6],
    )?;
    Ok(())
}

fn for_update(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let stmt = select((u.c("id"), u.c("name")))
        .where_(u.c("id").eq(1))
        .for_update();
    let mut c = e.connect()?;
    if is_pg(e) || is_mysql(e) {
        let mut tx = c.begin()?;
        let row = tx.execute(&stmt)?.one()?;
        check_eq(
            "for update row",
            row.get::<String>("name")?,
            "spongebob".into(),
        )?;
        tx.execute(&update(u).set("age", 21).where_(u.c("id").eq(1)))?;
        let shared = tx
            .execute(
                &select(u.c("id"))
                    .where_(u.c("city").eq("texas"))
                    .for_share(),
            )?
            .scalars::<i64>()?;
        check_eq("for share", sorted(shared), vec![2, 5])?;
        let skip = tx
            .execute(
                &select(u.c("id"))
                    .where_(u.c("id").le(2))
                    .order_by([u.c("id")])
                    .for_update_skip_locked(),
            )?
            .scalars::<i64>()?;
        check_eq("skip locked (own locks are not skipped)", skip, vec![1, 2])?;
        tx.commit()?;
        let age: i64 = c
            .execute(&select(u.c("age")).where_(u.c("id").eq(1)))?
            .scalar_one()?;
        check_eq("update under lock", age, 21)
    } else {
        match c.execute(&stmt) {
            Err(Error::Unsupported { construct, dialect }) => ensure(
                construct.contains("FOR UPDATE") && dialect == "sqlite",
                || format!("Unsupported names {construct:?} on {dialect}"),
            )?,
            other => {
                return Err(Error::InvalidStatement(format!(
                    "FOR UPDATE on SQLite must be Unsupported, got {other:?}"
                )))
            }
        }
        // The connection is fine afterwards.
        check_eq("after error", count(&mut c, u)?, 7)
    }
}

fn subquery_in_from(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, a) = (&f.users, &f.addresses);
    let mut c = e.connect()?;
    let sub = select((a.c("user_id"), func::count_star().label("address_count")))
        .group_by([a.c("user_id")])
        .subquery("addr_counts");
    let rows = c
        .execute(
            &select((u.c("name"), sub.c("address_count")))
                .join_on(sub.clone(), u.c("id").eq(sub.c("user_id")))
                .order_by([u.c("id")]),
        )?
        .all()?;
    let got: Vec<(String, i64)> = rows
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<Result<_>>()?;
    check_eq(
        "join to subquery",
        got,
        vec![
            ("spongebob".into(), 1),
            ("sandy".into(), 2),
            ("patrick".into(), 1),
        ],
    )?;
    let only: Vec<i64> = c
        .execute(&select(sub.c("user_id")).where_(sub.c("address_count").gt(1)))?
        .scalars()?;
    check_eq("select from subquery", only, vec![2])?;
    let doubled = select((u.c("name"), (u.c("age") * 2).label("double_age")))
        .where_(u.c("age").is_not_null())
        .subquery("s");
    let names: Vec<String> = c
        .execute(
            &select(&doubled)
                .with_only_columns(doubled.c("name"))
                .where_(doubled.c("double_age").lt(55))
                .order_by([doubled.c("double_age").desc()]),
        )?
        .scalars()?;
    check_eq("subquery columns", names, strs(&["patrick", "spongebob"]))?;
    // A subquery of a subquery.
    let outer =
        select((sub.c("user_id"), (sub.c("address_count") * 10).label("x"))).subquery("outer_sub");
    let xs: Vec<i64> = c
        .execute(&select(outer.c("x")).order_by([outer.c("user_id")]))?
        .scalars()?;
    check_eq("nested subquery", xs, vec![10, 20, 10])
}

fn cte(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, p) = (&f.users, &f.posts);
    let mut c = e.connect()?;
    let totals = select((p.c("user_id"), func::sum(p.c("views")).label("total")))
        .group_by([p.c("user_id")])
        .cte("totals");
    let rows = c
        .execute(
            &select((u.c("name"), totals.c("total")))
                .join_on(totals.clone(), u.c("id").eq(totals.c("user_id")))
                .where_(totals.c("total").gt(10))
                .order_by([totals.c("total").desc()]),
        )?
        .all()?;
    let got: Vec<(String, i64)> = rows
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<Result<_>>()?;
    check_eq(
        "cte",
        got,
        vec![("spongebob".into(), 40), ("sandy".into(), 20)],
    )?;
    // Two CTEs, one used in a scalar subquery.
    let adults = select((u.c("id"), u.c("name")))
        .where_(u.c("age").ge(30))
        .cte("adults");
    let names: Vec<String> = c
        .execute(
            &select(adults.c("name"))
                .where_(adults.c("id").in_select(select(totals.c("user_id"))))
                .order_by([adults.c("id")]),
        )?
        .scalars()?;
    check_eq("two ctes", names, strs(&["sandy"]))
}

fn recursive_cte(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let n = &f.nodes;
    let mut c = e.connect()?;
    // Walk down from the root, counting depth.
    let tree = select((
        n.c("id"),
        n.c("name"),
        cast(literal(0), SqlType::Integer).label("depth"),
    ))
    .where_(n.c("id").eq(1))
    .cte_recursive("tree", |t| {
        select((n.c("id"), n.c("name"), (t.c("depth") + 1).label("depth")))
            .join_on(t.clone(), n.c("parent_id").eq(t.c("id")))
    });
    let rows = c
        .execute(&select((tree.c("id"), tree.c("name"), tree.c("depth"))).order_by([tree.c("id")]))?
        .all()?;
    let got: Vec<(i64, String, i64)> = rows
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .collect::<Result<_>>()?;
    check_eq(
        "descendants of root",
        got,
        vec![
            (1, "root".into(), 0),
            (2, "a".into(), 1),
            (3, "b".into(), 1),
            (4, "a1".into(), 2),
            (5, "a2".into(), 2),
            (6, "a1x".into(), 3),
        ],
    )?;
    // Walk up from a leaf.
    let up = select((n.c("id"), n.c("parent_id")))
        .where_(n.c("name").eq("a1x"))
        .cte_recursive("up", |t| {
            select((n.c("id"), n.c("parent_id"))).join_on(t.clone(), n.c("id").eq(t.c("parent_id")))
        });
    let ancestors: Vec<i64> = c
        .execute(&select(up.c("id")).order_by([up.c("id").desc()]))?
        .scalars()?;
    check_eq("ancestors of a1x", ancestors, vec![6, 4, 2, 1])?;
    let leaves: i64 = c
        .execute(
            &select(func::count_star())
                .select_from(tree.clone())
                .where_(not_(exists(
                    select(n.c("id")).where_(n.c("parent_id").eq(tree.c("id"))),
                ))),
        )?
        .scalar_one()?;
    check_eq("leaves under root", leaves, 3)
}

fn set_operations(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, a) = (&f.users, &f.addresses);
    let mut c = e.connect()?;
    let names =
        |c: &mut Connection, s: strata::Select| -> Result<Vec<String>> { c.execute(&s)?.scalars() };
    let bikini = || select(u.c("name")).where_(u.c("city").eq("bikini"));
    let over_30 = || select(u.c("name")).where_(u.c("age").gt(30));
    check_eq(
        "union",
        sorted(names(&mut c, union([bikini(), over_30(), bikini()]))?),
        strs(&["e%_x", "eve", "max", "patrick", "spongebob"]),
    )?;
    check_eq(
        "union_all keeps duplicates",
        names(&mut c, union_all([bikini(), bikini()]))?.len(),
        6,
    )?;
    check_eq(
        "method chain",
        sorted(names(
            &mut c,
            bikini()
                .union(over_30())
                .except(select(literal("max").label("name"))),
        )?),
        strs(&["e%_x", "eve", "patrick", "spongebob"]),
    )?;
    let ids =
        |c: &mut Connection, s: strata::Select| -> Result<Vec<i64>> { c.execute(&s)?.scalars() };
    check_eq(
        "intersect",
        sorted(ids(
            &mut c,
            intersect([select(u.c("id")), select(a.c("user_id"))]),
        )?),
        vec![1, 2, 3],
    )?;
    check_eq(
        "except",
        sorted(ids(
            &mut c,
            except([select(u.c("id")), select(a.c("user_id"))]),
        )?),
        vec![4, 5, 6, 7],
    )?;
    // A member with its own ORDER BY and LIMIT: the oldest user, then user 1.
    let oldest = select(u.c("name"))
        .order_by([u.c("age").desc().nulls_last()])
        .limit(1);
    check_eq(
        "member with order by/limit",
        sorted(names(
            &mut c,
            union_all([oldest.clone(), select(u.c("name")).where_(u.c("id").eq(1))]),
        )?),
        strs(&["e%_x", "spongebob"]),
    )?;
    let youngest_two = select(u.c("name"))
        .where_(u.c("age").is_not_null())
        .order_by([u.c("age")])
        .limit(2)
        .offset(0);
    check_eq(
        "two limited members",
        sorted(names(&mut c, union([oldest, youngest_two]))?),
        strs(&["e%_x", "patrick", "spongebob"]),
    )?;
    // ORDER BY and LIMIT of the whole compound.
    check_eq(
        "compound order by/limit",
        names(
            &mut c,
            union([bikini(), over_30()])
                .order_by([u.c("name").desc()])
                .limit(2),
        )?,
        strs(&["spongebob", "patrick"]),
    )?;
    // A compound as a subquery.
    let sub = union_all([
        select(u.c("id").label("x")).where_(u.c("id").lt(3)),
        select(a.c("user_id").label("x")),
    ])
    .subquery("both");
    let n: i64 = c
        .execute(&select(func::count_star()).select_from(sub.clone()))?
        .scalar_one()?;
    check_eq("compound in from", n, 6)
}

// ---------------------------------------------------------------------------------------
// INSERT, UPDATE, DELETE
// ---------------------------------------------------------------------------------------

on_all!(
    crate::support::checked;
    insert_one_and_many,
    execute_many,
    insert_from_select,
    default_values,
    client_side_defaults,
    returning,
    last_insert_id,
    upsert,
    update_and_delete_rows_affected,
);

fn insert_one_and_many(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    let r = c.execute(&insert(u).value("id", 100).value("name", "nemo"))?;
    check_eq("one row", r.rows_affected(), 1)?;
    check_eq("returns no rows", r.returns_rows(), false)?;
    drop(r);
    let r = c.execute(
        &insert(u)
            .columns(["id", "name", "age"])
            .row((101, "dory", 5))
            .row((102, "marlin", 40))
            .row((103, "bruce", None::<i32>)),
    )?;
    check_eq("three rows", r.rows_affected(), 3)?;
    drop(r);
    let r = c.execute(
        &insert(u)
            .columns(["id", "name"])
            .value_rows((104..110).map(|i| vec![Value::Int(i), Value::Text(format!("fish{i}"))])),
    )?;
    check_eq("value_rows", r.rows_affected(), 6)?;
    drop(r);
    let r = c.execute(&insert(u).values([("id", Expr::from(110)), ("name", "gill".into())]))?;
    check_eq("values pairs", r.rows_affected(), 1)?;
    drop(r);
    let rows = c
        .execute(
            &select((u.c("id"), u.c("name"), u.c("age")))
                .where_(u.c("id").between(100, 103))
                .order_by([u.c("id")]),
        )?
        .all()?;
    let got: Vec<(i64, String, Option<i64>)> = rows
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .collect::<Result<_>>()?;
    check_eq(
        "read back",
        got,
        vec![
            (100, "nemo".into(), None),
            (101, "dory".into(), Some(5)),
            (102, "marlin".into(), Some(40)),
            (103, "bruce".into(), None),
        ],
    )?;
    check_eq("total", count(&mut c, u)?, 7 + 11)
}

fn execute_many(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    let (hits_before, _) = e.cache().stats();
    let n = c.execute_many((0..20).map(|i| {
        insert(u)
            .value("id", 200 + i)
            .value("name", format!("u{i}"))
            .value("age", i)
    }))?;
    check_eq("rows written", n, 20)?;
    let (hits_after, _) = e.cache().stats();
    ensure(hits_after - hits_before >= 19, || {
        format!("19 of the 20 inserts come from the cache: {hits_before} -> {hits_after}")
    })?;
    let sum: i64 = c
        .execute(&select(func::sum(u.c("age"))).where_(u.c("id").ge(200)))?
        .scalar_one()?;
    check_eq("values of every row", sum, (0..20).sum::<i64>())?;
    // All or nothing: the 3rd of 4 inserts fails, none is written.
    let before = count(&mut c, u)?;
    let err = c
        .execute_many([300, 301, 1, 302].map(|id| insert(u).value("id", id).value("name", "dup")))
        .err();
    ensure(
        err.as_ref().and_then(Error::db_kind) == Some(DbErrorKind::IntegrityError),
        || format!("duplicate key in execute_many: {err:?}"),
    )?;
    check_eq("nothing written", count(&mut c, u)?, before)?;
    check_eq("no transaction left open", c.in_transaction(), false)?;
    // Statements of several texts, in order: runs of one text go together (pipelined on
    // PostgreSQL), a statement that returns rows or a text() runs on its own.
    let rows = |ids: std::ops::Range<i64>| -> Vec<Box<dyn Compilable>> {
        ids.map(|i| {
            Box::new(insert(u).value("id", i).value("name", format!("m{i}"))) as Box<dyn Compilable>
        })
        .collect()
    };
    let mut mixed = rows(500..505);
    mixed.push(Box::new(
        update(u).set("age", 7).where_(u.c("id").between(500, 502)),
    ));
    let returned = insert(u).value("id", 505).value("name", "returned");
    if is_mysql(e) {
        mixed.push(Box::new(returned));
    } else {
        mixed.push(Box::new(returned.returning(u.c("id"))));
    }
    mixed.extend(rows(506..508));
    mixed.push(Box::new(
        text("UPDATE users SET age = :age WHERE id = :id")
            .bind("age", 9)
            .bind("id", 507),
    ));
    mixed.push(Box::new(delete(u).where_(u.c("id").eq(506))));
    mixed.extend(rows(508..510));
    let n = c.execute_many(mixed.iter().map(|b| &**b))?;
    // 5 inserts, 3 updated, 1 returned insert (its row counted), 2 inserts, 1 updated,
    // 1 deleted, 2 inserts.
    check_eq("rows of the mixed statements", n, 5 + 3 + 1 + 2 + 1 + 1 + 2)?;
    let written: Vec<(i64, String, Option<i64>)> = c
        .execute(
            &select((u.c("id"), u.c("name"), u.c("age")))
                .where_(u.c("id").ge(500))
                .order_by([u.c("id")]),
        )?
        .tuples()
        .collect::<Result<_>>()?;
    let want: Vec<(i64, String, Option<i64>)> = [
        (500, "m500", Some(7)),
        (501, "m501", Some(7)),
        (502, "m502", Some(7)),
        (503, "m503", None),
        (504, "m504", None),
        (505, "returned", None),
        (507, "m507", Some(9)),
        (508, "m508", None),
        (509, "m509", None),
    ]
    .into_iter()
    .map(|(i, n, a)| (i, n.to_string(), a))
    .collect();
    check_eq("rows after the mixed statements", written, want)?;
    c.execute(&delete(u).where_(u.c("id").ge(500)))?;
    // Inside a transaction it joins the transaction.
    let mut tx = c.begin()?;
    tx.execute_many((0..3).map(|i| insert(u).value("id", 400 + i).value("name", "t")))?;
    tx.rollback()?;
    check_eq(
        "rolled back with the transaction",
        count(&mut c, u)?,
        before,
    )
}

fn insert_from_select(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, kv) = (&f.users, &f.kv);
    let mut c = e.connect()?;
    let n = c
        .execute(
            &insert(kv).from_select(
                ["key", "val"],
                select((u.c("name"), u.c("age") * 10))
                    .where_(u.c("age").is_not_null().and(u.c("id").le(3))),
            ),
        )?
        .rows_affected();
    check_eq("rows inserted", n, 3)?;
    let rows = c
        .execute(&select((kv.c("key"), kv.c("val"))).order_by([kv.c("val")]))?
        .all()?;
    let got: Vec<(String, i64)> = rows
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<Result<_>>()?;
    check_eq(
        "kv after insert from select",
        got,
        vec![
            ("a".into(), 1),
            ("b".into(), 2),
            ("spongebob".into(), 200),
            ("patrick".into(), 250),
            ("sandy".into(), 300),
        ],
    )?;
    // From a CTE, with RETURNING (MySQL: without, the keys read back after).
    let src = select((u.c("name").concat("!").label("k"), u.c("id").label("v")))
        .where_(u.c("id").ge(6))
        .cte("src");
    let from_cte = insert(kv).from_select(["key", "val"], select((src.c("k"), src.c("v"))));
    let keys: Vec<String> = if is_mysql(e) {
        refused_returning(c.execute(&from_cte.clone().returning(kv.c("key"))))?;
        c.execute(&from_cte)?;
        c.execute(&select(kv.c("key")).where_(kv.c("key").endswith("!")))?
            .scalars()?
    } else {
        c.execute(&from_cte.returning(kv.c("key")))?.scalars()?
    };
    check_eq(
        "from cte with returning",
        sorted(keys),
        strs(&["eve!", "max!"]),
    )
}

fn default_values(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let ev = &f.events;
    let mut c = e.connect()?;
    let n = c.execute(&insert(ev).default_values())?.rows_affected();
    check_eq("default values", n, 1)?;
    if is_mysql(e) {
        // No RETURNING: the generated keys are the last inserted ids.
        let id = c.execute(&insert(ev).default_values())?.last_insert_id();
        check_eq("generated key", id, Some(2))?;
        let id = c.execute(&insert(ev).value("note", "x"))?.last_insert_id();
        check_eq("next key", id, Some(3))?;
    } else {
        let id: i64 = c
            .execute(&insert(ev).default_values().returning(ev.c("id")))?
            .scalar_one()?;
        check_eq("generated key", id, 2)?;
        let id: i64 = c
            .execute(&insert(ev).value("note", "x").returning(ev.c("id")))?
            .scalar_one()?;
        check_eq("next key", id, 3)?;
    }
    let rows = c
        .execute(&select((ev.c("id"), ev.c("note"))).order_by([ev.c("id")]))?
        .all()?;
    let got: Vec<(i64, Option<String>)> = rows
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<Result<_>>()?;
    check_eq(
        "events",
        got,
        vec![(1, None), (2, None), (3, Some("x".into()))],
    )?;
    // A table with client-side defaults: default_values() uses them.
    let st = &f.stamps;
    let stamp = insert(st).default_values();
    let row = if is_mysql(e) {
        c.execute(&stamp)?;
        c.execute(&select((st.c("label"), st.c("n"))))?.one()?
    } else {
        c.execute(&stamp.returning((st.c("label"), st.c("n"))))?
            .one()?
    };
    check_eq("callable default", row.get::<String>("label")?, "L1".into())?;
    check_eq("value default", row.get::<i64>("n")?, 7)
}

fn client_side_defaults(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (p, st) = (&f.posts, &f.stamps);
    let mut c = e.connect()?;
    c.execute(
        &insert(p)
            .value("id", 10)
            .value("user_id", 4)
            .value("title", "Clarinet"),
    )?;
    let row = c
        .execute(&select((p.c("views"), p.c("status"))).where_(p.c("id").eq(10)))?
        .one()?;
    check_eq("value default 0", row.get::<i64>("views")?, 0)?;
    check_eq(
        "value default text",
        row.get::<String>("status")?,
        "draft".into(),
    )?;
    // A given value wins over the default.
    c.execute(
        &insert(p)
            .value("id", 11)
            .value("user_id", 4)
            .value("title", "Art")
            .value("status", "published"),
    )?;
    let status: String = c
        .execute(&select(p.c("status")).where_(p.c("id").eq(11)))?
        .scalar_one()?;
    check_eq("given value", status, "published".into())?;
    // A callable default is called once per row, also when the statement comes from
    // the cache.
    c.execute(&insert(st).columns(["id"]).row((1,)).row((2,)))?;
    c.execute(&insert(st).columns(["id"]).row((3,)).row((4,)))?;
    c.execute(&insert(st).value("id", 5))?;
    c.execute(&insert(st).value("id", 6).value("label", "mine"))?;
    let labels: Vec<String> = c
        .execute(&select(st.c("label")).order_by([st.c("id")]))?
        .scalars()?;
    check_eq(
        "callable per row",
        labels,
        strs(&["L1", "L2", "L3", "L4", "L5", "mine"]),
    )?;
    check_eq("callable calls", f.stamp_calls.load(Ordering::SeqCst), 5)
}

fn returning(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, a) = (&f.users, &f.addresses);
    let mut c = e.connect()?;
    if is_mysql(e) {
        // Refused before anything is sent: nothing is written.
        refused_returning(
            c.execute(
                &insert(u)
                    .value("id", 110)
                    .value("name", "pearl")
                    .returning(u.c("id")),
            ),
        )?;
        refused_returning(c.execute(&update(u).set("age", 1).returning(u.c("id"))))?;
        refused_returning(c.execute(&strata::delete(a).returning(a.c("email"))))?;
        check_eq("users", count(&mut c, u)?, 7)?;
        check_eq(
            "no age changed",
            user_ids(&mut c, &f, u.c("age").eq(1))?,
            vec![],
        )?;
        return check_eq("addresses", count(&mut c, a)?, 4);
    }
    let row = c
        .execute(
            &insert(u)
                .value("id", 110)
                .value("name", "pearl")
                .returning((u.c("id"), u.c("name"), u.c("age"))),
        )?
        .one()?;
    check_eq("insert returning id", row.get::<i64>("id")?, 110)?;
    check_eq(
        "insert returning name",
        row.get::<String>("name")?,
        "pearl".into(),
    )?;
    check_eq(
        "insert returning NULL",
        row.get::<Option<i64>>("age")?,
        None,
    )?;
    let ids: Vec<i64> = c
        .execute(
            &insert(u)
                .columns(["id", "name"])
                .row((111, "a"))
                .row((112, "b"))
                .returning(u.c("id")),
        )?
        .scalars()?;
    check_eq("multi-row returning", sorted(ids), vec![111, 112])?;
    let rows = c
        .execute(
            &update(u)
                .set("age", u.c("age") + 1)
                .where_(u.c("city").eq("texas"))
                .returning((u.c("id"), u.c("age").label("new_age"))),
        )?
        .all()?;
    let mut got: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| Ok((r.get(0)?, r.get("new_age")?)))
        .collect::<Result<_>>()?;
    got.sort();
    check_eq("update returning", got, vec![(2, 31), (5, 41)])?;
    let emails: Vec<String> = c
        .execute(
            &strata::delete(a)
                .where_(a.c("user_id").eq(2))
                .returning(a.c("email")),
        )?
        .scalars()?;
    check_eq(
        "delete returning",
        sorted(emails),
        strs(&["sandy@sqlalchemy.org", "sandy@squirrelpower.org"]),
    )?;
    check_eq("deleted", count(&mut c, a)?, 2)?;
    let none: Vec<i64> = c
        .execute(
            &update(u)
                .set("age", 1)
                .where_(u.c("id").eq(999))
                .returning(u.c("id")),
        )?
        .scalars()?;
    check_eq("returning nothing", none, vec![])?;
    // A write with RETURNING is made when it runs, whether or not its rows are read,
    // and its failure is the execution's error.
    drop(
        c.execute(
            &insert(u)
                .value("id", 113)
                .value("name", "unread")
                .returning(u.c("id")),
        )?,
    );
    let unread: i64 = c
        .execute(&select(func::count(u.c("id"))).where_(u.c("name").eq("unread")))?
        .scalar_one()?;
    check_eq("a RETURNING insert whose rows were not read", unread, 1)?;
    let dup = c.execute(
        &insert(u)
            .value("id", 113)
            .value("name", "again")
            .returning(u.c("id")),
    );
    check_eq(
        "a RETURNING insert's failure",
        dup.err().as_ref().and_then(Error::db_kind),
        Some(DbErrorKind::IntegrityError),
    )
}

fn last_insert_id(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let ev = &f.events;
    let mut c = e.connect()?;
    let first = c.execute(&insert(ev).value("note", "a"))?.last_insert_id();
    let second = c.execute(&insert(ev).value("note", "b"))?.last_insert_id();
    if is_pg(e) {
        // PostgreSQL reports no generated key: RETURNING is the way there.
        check_eq(
            "no last_insert_id on PostgreSQL",
            (first, second),
            (None, None),
        )
    } else {
        check_eq("last_insert_id", (first, second), (Some(1), Some(2)))?;
        let explicit = c
            .execute(&insert(&f.users).value("id", 500).value("name", "x"))?
            .last_insert_id();
        check_eq("explicit key", explicit, Some(500))?;
        let upd = c
            .execute(&update(ev).set("note", "c").where_(ev.c("id").eq(1)))?
            .last_insert_id();
        check_eq("no key for an update", upd, None)
    }
}

fn upsert(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let kv = &f.kv;
    let mut c = e.connect()?;
    let val = |c: &mut Connection, k: &str| -> Result<Option<i64>> {
        c.execute(&select(kv.c("val")).where_(kv.c("key").eq(k)))?
            .scalar()
    };
    let n = c
        .execute(
            &insert(kv)
                .value("key", "a")
                .value("val", 10)
                .on_conflict_do_nothing(["key"]),
        )?
        .rows_affected();
    // MySQL has no DO NOTHING: the row is "updated" to itself, which it reports as a
    // row matched (strata's MySQL connections count matched rows, not changed ones).
    let nothing = if is_mysql(e) { 1 } else { 0 };
    check_eq(
        "do nothing on conflict",
        (n, val(&mut c, "a")?),
        (nothing, Some(1)),
    )?;
    let n = c
        .execute(
            &insert(kv)
                .value("key", "z")
                .value("val", 26)
                .on_conflict_do_nothing(["key"]),
        )?
        .rows_affected();
    check_eq("do nothing inserts", (n, val(&mut c, "z")?), (1, Some(26)))?;
    c.execute(
        &insert(kv)
            .value("key", "a")
            .value("val", 10)
            .on_conflict_do_update(["key"], [("val", excluded("val") + kv.c("val"))]),
    )?;
    check_eq("do update with excluded", val(&mut c, "a")?, Some(11))?;
    c.execute(
        &insert(kv)
            .columns(["key", "val"])
            .row(("b", 20))
            .row(("c", 3))
            .on_conflict_do_update(["key"], [("val", excluded("val"))]),
    )?;
    check_eq(
        "multi-row upsert",
        (val(&mut c, "b")?, val(&mut c, "c")?),
        (Some(20), Some(3)),
    )?;
    let doubled = insert(kv)
        .value("key", "c")
        .value("val", 100)
        .on_conflict_do_update(["key"], [("val", kv.c("val") * 2)]);
    if is_mysql(e) {
        refused_returning(c.execute(&doubled.clone().returning(kv.c("val"))))?;
        c.execute(&doubled)?;
        check_eq("upsert of the row itself", val(&mut c, "c")?, Some(6))?;
    } else {
        let rows = c
            .execute(&doubled.returning((kv.c("key"), kv.c("val"))))?
            .one()?;
        check_eq("upsert returning", rows.get::<i64>("val")?, 6)?;
    }
    check_eq("rows", count(&mut c, kv)?, 4)
}

fn update_and_delete_rows_affected(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let (u, a, p) = (&f.users, &f.addresses, &f.posts);
    let mut c = e.connect()?;
    let n = c
        .execute(
            &update(u)
                .set("city", "atlantis")
                .where_(u.c("city").eq("bikini")),
        )?
        .rows_affected();
    check_eq("update 3", n, 3)?;
    check_eq(
        "updated rows",
        user_ids(&mut c, &f, u.c("city").eq("atlantis"))?,
        vec![1, 3, 7],
    )?;
    let n = c
        .execute(&update(u).set("city", "x").where_(u.c("id").eq(999)))?
        .rows_affected();
    check_eq("update none", n, 0)?;
    let n = c
        .execute(
            &update(p)
                .set("views", p.c("views") + 1)
                .set("rating", None::<f64>)
                .where_(p.c("user_id").eq(1)),
        )?
        .rows_affected();
    check_eq("update with expression", n, 2)?;
    let views: Vec<i64> = c
        .execute(&select(p.c("views")).order_by([p.c("id")]))?
        .scalars()?;
    check_eq("views", views, vec![11, 31, 20, 5])?;
    let n = c
        .execute(
            &update(u)
                .values([("age", 1)])
                .where_(u.c("id").in_select(select(a.c("user_id")))),
        )?
        .rows_affected();
    check_eq("update where in select", n, 3)?;
    let n = c
        .execute(&strata::delete(a).where_(a.c("user_id").in_([1, 3])))?
        .rows_affected();
    check_eq("delete 2", n, 2)?;
    let n = c
        .execute(&strata::delete(a).where_(a.c("id").eq(999)))?
        .rows_affected();
    check_eq("delete none", n, 0)?;
    let n = c
        .execute(&strata::delete(p).where_(p.c("status").eq("draft").and(p.c("views").lt(10))))?
        .rows_affected();
    check_eq("delete with and", n, 1)?;
    let n = c.execute(&strata::delete(a))?.rows_affected();
    check_eq("delete all", n, 2)?;
    check_eq("addresses left", count(&mut c, a)?, 0)?;
    check_eq("posts left", count(&mut c, p)?, 3)
}

// ---------------------------------------------------------------------------------------
// Transactions, savepoints, isolation, DDL
// ---------------------------------------------------------------------------------------

on_all!(
    crate::support::checked;
    transactions,
    engine_begin,
    savepoints,
    isolation_level,
    transactions_start_with_their_first_statement,
    create_all_drop_all_checkfirst,
);

fn transactions(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let kv = &f.kv;
    let add = |c: &mut Connection, k: &str| -> Result<()> {
        c.execute(&insert(kv).value("key", k).value("val", 0))
            .map(|_| ())
    };
    let keys = |e: &Engine| -> Result<Vec<String>> {
        e.connect()?
            .execute(&select(kv.c("key")).order_by([kv.c("key")]))?
            .scalars()
    };
    let mut c = e.connect()?;
    // Commit.
    let mut tx = c.begin()?;
    add(&mut tx, "c1")?;
    add(&mut tx, "c2")?;
    ensure(tx.in_transaction(), || "in transaction".into())?;
    tx.commit()?;
    check_eq("after commit", c.in_transaction(), false)?;
    check_eq("committed", keys(e)?, strs(&["a", "b", "c1", "c2"]))?;
    // Rollback.
    let mut tx = c.begin()?;
    add(&mut tx, "r1")?;
    let inside: i64 = tx
        .execute(&select(func::count_star()).select_from(kv))?
        .scalar_one()?;
    check_eq("visible inside", inside, 5)?;
    tx.rollback()?;
    check_eq("rolled back", keys(e)?, strs(&["a", "b", "c1", "c2"]))?;
    // Rollback when dropped.
    {
        let mut tx = c.begin()?;
        add(&mut tx, "d1")?;
    }
    check_eq("dropped", c.in_transaction(), false)?;
    check_eq("drop rolls back", keys(e)?, strs(&["a", "b", "c1", "c2"]))?;
    // A second begin() on a connection with an open transaction is an error.
    let mut tx = c.begin()?;
    match tx.begin() {
        Err(Error::Transaction(_)) => {}
        other => {
            return Err(Error::InvalidStatement(format!(
                "nested begin(): {other:?}"
            )))
        }
    }
    add(&mut tx, "n1")?;
    tx.commit()?;
    // Without a transaction every statement commits on its own.
    add(&mut c, "auto")?;
    check_eq(
        "autocommit",
        keys(e)?,
        strs(&["a", "auto", "b", "c1", "c2", "n1"]),
    )?;
    // Manual transaction control.
    c.start_transaction()?;
    add(&mut c, "m1")?;
    c.rollback_transaction()?;
    c.start_transaction()?;
    add(&mut c, "m2")?;
    c.commit_transaction()?;
    match c.commit_transaction() {
        Err(Error::Transaction(_)) => {}
        other => {
            return Err(Error::InvalidStatement(format!(
                "commit without transaction: {other:?}"
            )))
        }
    }
    check_eq(
        "manual",
        keys(e)?,
        strs(&["a", "auto", "b", "c1", "c2", "m2", "n1"]),
    )
}

fn engine_begin(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let kv = &f.kv;
    let n = e.begin(|c| {
        c.execute(&insert(kv).value("key", "x").value("val", 1))?;
        c.execute(&insert(kv).value("key", "y").value("val", 2))?;
        Ok(42)
    })?;
    check_eq("closure value", n, 42)?;
    let err = e
        .begin(|c| -> Result<()> {
            c.execute(&insert(kv).value("key", "z").value("val", 3))?;
            Err(Error::InvalidStatement("boom".into()))
        })
        .unwrap_err();
    check_eq("closure error", err, Error::InvalidStatement("boom".into()))?;
    let err = e
        .begin(|c| {
            c.execute(&insert(kv).value("key", "w").value("val", 4))?;
            c.execute(&insert(kv).value("key", "x").value("val", 5))?;
            Ok(())
        })
        .unwrap_err();
    check_eq(
        "database error",
        err.db_kind(),
        Some(DbErrorKind::IntegrityError),
    )?;
    let mut c = e.connect()?;
    let keys: Vec<String> = c
        .execute(&select(kv.c("key")).order_by([kv.c("key")]))?
        .scalars()?;
    check_eq(
        "committed, not rolled back",
        keys,
        strs(&["a", "b", "x", "y"]),
    )?;
    check_eq("pool has no open transaction", c.in_transaction(), false)
}

fn savepoints(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let kv = &f.kv;
    let add = |c: &mut Connection, k: &str| -> Result<()> {
        c.execute(&insert(kv).value("key", k).value("val", 0))
            .map(|_| ())
    };
    let mut c = e.connect()?;
    let mut tx = c.begin()?;
    add(&mut tx, "outer1")?;
    {
        let mut sp = tx.begin_nested()?;
        add(&mut sp, "inner_rolled_back")?;
        sp.rollback()?;
    }
    add(&mut tx, "outer2")?;
    {
        let mut sp = tx.begin_nested()?;
        add(&mut sp, "inner_kept")?;
        {
            let mut sp2 = sp.begin_nested()?;
            add(&mut sp2, "inner_inner_dropped")?;
        }
        {
            let mut sp2 = sp.begin_nested()?;
            add(&mut sp2, "inner_inner_kept")?;
            sp2.commit()?;
        }
        sp.commit()?;
    }
    // A failed statement inside a savepoint: roll back to it and go on.
    {
        let mut sp = tx.begin_nested()?;
        let err = add(&mut sp, "a").unwrap_err();
        check_eq(
            "duplicate in savepoint",
            err.db_kind(),
            Some(DbErrorKind::IntegrityError),
        )?;
        sp.rollback()?;
    }
    add(&mut tx, "after_error")?;
    tx.commit()?;
    let keys: Vec<String> = c
        .execute(&select(kv.c("key")).order_by([kv.c("key")]))?
        .scalars()?;
    check_eq(
        "savepoints",
        keys,
        strs(&[
            "a",
            "after_error",
            "b",
            "inner_inner_kept",
            "inner_kept",
            "outer1",
            "outer2",
        ]),
    )?;
    // Rolling back the outer transaction discards released savepoints too.
    let mut tx = c.begin()?;
    {
        let mut sp = tx.begin_nested()?;
        add(&mut sp, "gone")?;
        sp.commit()?;
    }
    tx.rollback()?;
    check_eq("outer rollback", count(&mut c, kv)?, 7)?;
    // Manual savepoints.
    c.start_transaction()?;
    c.savepoint("sp one")?;
    add(&mut c, "manual_gone")?;
    c.end_savepoint("sp one", false)?;
    c.savepoint("two")?;
    add(&mut c, "manual_kept")?;
    c.end_savepoint("two", true)?;
    c.commit_transaction()?;
    let keys: Vec<String> = c
        .execute(&select(kv.c("key")).where_(kv.c("key").like("manual%")))?
        .scalars()?;
    check_eq("manual savepoints", keys, strs(&["manual_kept"]))
}

fn isolation_level(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let kv = &f.kv;
    let mut c = e.connect()?;
    if is_pg(e) {
        for (level, name) in [
            (IsolationLevel::Serializable, "serializable"),
            (IsolationLevel::RepeatableRead, "repeatable read"),
            (IsolationLevel::ReadCommitted, "read committed"),
        ] {
            c.set_isolation_level(level);
            let mut tx = c.begin()?;
            let got: String = tx
                .execute(&text("SELECT current_setting('transaction_isolation')"))?
                .scalar_one()?;
            check_eq("isolation level", got, name.to_string())?;
            tx.execute(&insert(kv).value("key", name).value("val", 1))?;
            tx.commit()?;
        }
        check_eq("committed", count(&mut c, kv)?, 5)
    } else if is_mysql(e) {
        // MySQL sets the level of the next transaction only, where no variable shows
        // it: a REPEATABLE READ transaction keeps reading its first snapshot, a READ
        // COMMITTED one sees another connection's commit.
        let mut other = e.connect()?;
        for (level, sees_commit) in [
            (IsolationLevel::RepeatableRead, false),
            (IsolationLevel::ReadCommitted, true),
            (IsolationLevel::Serializable, false),
        ] {
            c.set_isolation_level(level);
            let mut tx = c.begin()?;
            let before: i64 = tx
                .execute(&select(func::count_star()).select_from(kv))?
                .scalar_one()?;
            if level == IsolationLevel::Serializable {
                // Its reads lock: the other connection's write would wait. Read only.
                tx.commit()?;
                check_eq("serializable reads", before >= 2, true)?;
                continue;
            }
            other.execute(
                &insert(kv)
                    .value("key", format!("{level:?}"))
                    .value("val", 1),
            )?;
            let after: i64 = tx
                .execute(&select(func::count_star()).select_from(kv))?
                .scalar_one()?;
            tx.commit()?;
            check_eq(
                &format!("{level:?} sees the commit"),
                after > before,
                sees_commit,
            )?;
        }
        check_eq("committed", count(&mut c, kv)?, 4)
    } else {
        c.set_isolation_level(IsolationLevel::ReadCommitted);
        match c.begin() {
            Err(Error::Unsupported { construct, dialect }) => ensure(
                construct.contains("READ COMMITTED") && dialect == "sqlite",
                || format!("Unsupported names {construct:?} on {dialect}"),
            )?,
            other => {
                return Err(Error::InvalidStatement(format!(
                    "READ COMMITTED on SQLite must be Unsupported, got {other:?}"
                )))
            }
        }
        check_eq("no transaction after the error", c.in_transaction(), false)?;
        check_eq("connection usable", count(&mut c, kv)?, 2)?;
        c.set_isolation_level(IsolationLevel::Serializable);
        let mut tx = c.begin()?;
        tx.execute(&insert(kv).value("key", "s").value("val", 1))?;
        tx.commit()?;
        check_eq("serializable works", count(&mut c, kv)?, 3)
    }
}

/// PostgreSQL sends BEGIN with the transaction's first statement (one round trip); an
/// empty transaction sends nothing. Either way the transaction is real.
fn transactions_start_with_their_first_statement(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let kv = &f.kv;
    let mut c = e.connect()?;
    let before = count(&mut c, kv)?;
    // Empty transactions, committed and rolled back.
    c.begin()?.commit()?;
    c.begin()?.rollback()?;
    check_eq("no transaction left open", c.in_transaction(), false)?;
    // The statement below is prepared already: BEGIN travels with it.
    let stmt = insert(kv).value("key", "pipelined").value("val", 1);
    c.execute(&stmt)?;
    check_eq("inserted outside", count(&mut c, kv)?, before + 1)?;
    let mut tx = c.begin()?;
    tx.execute(&insert(kv).value("key", "rolled back").value("val", 2))?;
    tx.rollback()?;
    check_eq("rolled back", count(&mut c, kv)?, before + 1)?;
    // A savepoint as the first statement starts the transaction as well.
    let mut tx = c.begin()?;
    {
        let mut sp = tx.begin_nested()?;
        sp.execute(&insert(kv).value("key", "in savepoint").value("val", 3))?;
        sp.commit()?;
    }
    tx.rollback()?;
    check_eq(
        "savepoint rolled back with its transaction",
        count(&mut c, kv)?,
        before + 1,
    )?;
    if is_pg(e) {
        // Both statements run in one transaction: now() is its start time. The
        // statement is prepared first, so BEGIN travels with the first of them.
        let _: String = c.execute(&text("SELECT now()::text"))?.scalar_one()?;
        let mut tx = c.begin()?;
        let a: String = tx.execute(&text("SELECT now()::text"))?.scalar_one()?;
        let b: String = tx.execute(&text("SELECT now()::text"))?.scalar_one()?;
        check_eq("now() is the transaction's start in both statements", a, b)?;
        tx.commit()?;
    }
    Ok(())
}

fn create_all_drop_all_checkfirst(e: &Engine) -> Result<()> {
    let mut md = MetaData::new();
    let parent = Table::build("ddl_parent")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(20))).unique())
        .add_to(&mut md)?;
    let child = Table::build("ddl_child")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("parent_id", SqlType::Integer)
                .foreign_key("ddl_parent.id")
                .index(),
        )
        .add_to(&mut md)?;
    let has = |t: &Table| -> Result<bool> { strata::engine::has_table(&mut e.connect()?, t) };
    check_eq("absent", (has(&parent)?, has(&child)?), (false, false))?;
    md.create_all(e)?;
    md.create_all(e)?;
    check_eq("created", (has(&parent)?, has(&child)?), (true, true))?;
    let mut c = e.connect()?;
    c.execute(&insert(&parent).value("id", 1).value("name", "p"))?;
    c.execute(&insert(&child).value("id", 1).value("parent_id", 1))?;
    drop(c);
    // checkfirst=false sends CREATE TABLE again: an error, and nothing changes.
    let err = md.create_all_with(e, false).unwrap_err();
    ensure(
        err.db_kind().is_some() && err.sql().is_some_and(|s| s.contains("CREATE TABLE")),
        || format!("create_all without checkfirst: {err:?}"),
    )?;
    let mut c = e.connect()?;
    check_eq("rows kept", count(&mut c, &child)?, 1)?;
    drop(c);
    md.drop_all(e)?;
    md.drop_all(e)?;
    check_eq("dropped", (has(&parent)?, has(&child)?), (false, false))?;
    let err = md.drop_all_with(e, false).unwrap_err();
    ensure(err.db_kind().is_some(), || {
        format!("drop_all without checkfirst: {err:?}")
    })?;
    md.create_all_with(e, false)?;
    check_eq("created again", (has(&parent)?, has(&child)?), (true, true))?;
    let mut c = e.connect()?;
    check_eq("empty", count(&mut c, &child)?, 0)?;
    drop(c);
    md.drop_all_with(e, false)?;
    check_eq(
        "dropped again",
        (has(&parent)?, has(&child)?),
        (false, false),
    )
}

// ---------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------

on_all!(
    crate::support::checked;
    results_api,
    streaming_rows,
    typed_get_errors,
    schema_change_between_executions
);

fn results_api(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    let names = || select(u.c("name")).order_by([u.c("id")]);
    let all = c.execute(&names())?.all()?;
    check_eq("all", all.len(), 7)?;
    check_eq("row len", (all[0].len(), all[0].is_empty()), (1, false))?;
    let first = c.execute(&names())?.first()?;
    check_eq(
        "first",
        first.map(|r| r.get::<String>(0)).transpose()?,
        Some("spongebob".into()),
    )?;
    let none = c.execute(&names().where_(u.c("id").gt(99)))?.first()?;
    check_eq("first of nothing", none, None)?;
    let one = c.execute(&names().where_(u.c("id").eq(4)))?.one()?;
    check_eq("one", one.get::<String>("name")?, "squidward".into())?;
    check_eq(
        "one of nothing",
        c.execute(&names().where_(u.c("id").gt(99)))?.one().err(),
        Some(Error::NoResultFound),
    )?;
    check_eq(
        "one of many",
        c.execute(&names())?.one().err(),
        Some(Error::MultipleResultsFound),
    )?;
    check_eq(
        "one_or_none of nothing",
        c.execute(&names().where_(u.c("id").gt(99)))?
            .one_or_none()?,
        None,
    )?;
    check_eq(
        "one_or_none of many",
        c.execute(&names())?.one_or_none().err(),
        Some(Error::MultipleResultsFound),
    )?;
    check_eq(
        "scalar",
        c.execute(&names())?.scalar::<String>()?,
        Some("spongebob".into()),
    )?;
    check_eq(
        "scalar of nothing",
        c.execute(&names().where_(u.c("id").gt(99)))?
            .scalar::<String>()?,
        None,
    )?;
    check_eq(
        "scalar_one",
        c.execute(&select(func::count_star()).select_from(u))?
            .scalar_one::<i64>()?,
        7,
    )?;
    check_eq(
        "scalar_one of many",
        c.execute(&names())?.scalar_one::<String>().err(),
        Some(Error::MultipleResultsFound),
    )?;
    check_eq(
        "scalars",
        c.execute(&names().limit(3))?.scalars::<String>()?,
        strs(&["spongebob", "sandy", "patrick"]),
    )?;
    let maps = c
        .execute(
            &select((u.c("id"), u.c("name"), u.c("age")))
                .where_(u.c("id").in_([3, 4]))
                .order_by([u.c("id")]),
        )?
        .mappings()?;
    check_eq("mappings", maps.len(), 2)?;
    check_eq(
        "mapping keys in column order",
        maps[0].keys().cloned().collect::<Vec<_>>(),
        strs(&["id", "name", "age"]),
    )?;
    check_eq(
        "mapping value",
        maps[0]["name"].clone(),
        Value::from("patrick"),
    )?;
    check_eq("mapping NULL", maps[1]["age"].clone(), Value::Null)?;
    check_eq("mapping integer", num(&maps[1]["id"]), 4.0)?;
    // Typed tuples, moved out of the rows.
    let three = || {
        select((u.c("id"), u.c("name"), u.c("age")))
            .where_(u.c("id").in_([3, 4]))
            .order_by([u.c("id")])
    };
    let tuples = c
        .execute(&three())?
        .tuples::<(i32, String, Option<i64>)>()
        .collect::<Result<Vec<_>>>()?;
    check_eq(
        "tuples",
        tuples,
        vec![
            (3, "patrick".into(), Some(25)),
            (4, "squidward".into(), None),
        ],
    )?;
    let err = c.execute(&three())?.tuples::<(i32, String)>().next();
    match err {
        Some(Err(Error::TypeMismatch { message, .. })) => ensure(
            message.contains("3 columns (id, name, age)") && message.contains("tuple of 2"),
            || format!("arity mismatch message: {message}"),
        )?,
        other => ensure(false, || format!("tuple of the wrong arity: {other:?}"))?,
    }
    let err = c.execute(&three())?.tuples::<(i32, i32, i64)>().next();
    match err {
        Some(Err(Error::TypeMismatch { message, .. })) => ensure(
            message.starts_with("column 1:") && message.contains("patrick"),
            || format!("conversion error names the column: {message}"),
        )?,
        other => ensure(false, || format!("tuple of the wrong type: {other:?}"))?,
    }
    let mut row = c.execute(&three())?.first()?.ok_or(Error::NoResultFound)?;
    check_eq("take", row.take::<String>("name")?, "patrick".into())?;
    check_eq("taken leaves NULL", row.get::<Option<String>>(1)?, None)?;
    ensure(row.take::<i64>("nope").is_err(), || {
        "take of no column".into()
    })?;
    // Iterating the rows.
    let mut seen = Vec::new();
    let mut result = c.execute(&names())?;
    check_eq("columns", result.columns().to_vec(), strs(&["name"]))?;
    check_eq("returns rows", result.returns_rows(), true)?;
    for row in &mut result {
        seen.push(row?.get::<String>("name")?);
    }
    check_eq("iterated", seen.len(), 7)?;
    check_eq("exhausted", result.fetch_one()?, None)?;
    drop(result);
    // Rows by index and by name, raw values.
    let row = c
        .execute(&select((u.c("id"), u.c("name"), u.c("fullname"))).where_(u.c("id").eq(3)))?
        .one()?;
    check_eq("by index", row.get::<i64>(0)?, 3)?;
    check_eq("by name", row.get::<String>("name")?, "patrick".into())?;
    check_eq("NULL as Option", row.get::<Option<String>>(2)?, None)?;
    check_eq("raw value", row.value("fullname")?.clone(), Value::Null)?;
    check_eq("values", row.values().len(), 3)?;
    let as_value: Value = row.get("name")?;
    check_eq("as Value", as_value, Value::from("patrick"))?;
    // A statement that returns no rows.
    let r = c.execute(&update(u).set("age", 26).where_(u.c("id").eq(3)))?;
    check_eq(
        "update result",
        (r.returns_rows(), r.rows_affected()),
        (false, 1),
    )?;
    check_eq("no columns", r.columns().len(), 0)?;
    check_eq("no rows", r.all()?.len(), 0)
}

fn streaming_rows(e: &Engine) -> Result<()> {
    let _f = fixture(e)?;
    let mut c = e.connect()?;
    let series = text(
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < :max) \
         SELECT n FROM t",
    );
    // Read a few rows of a large result, then drop it: the connection goes on.
    if is_mysql(e) {
        // MariaDB stops a recursive CTE after 1000 rounds by default, and MySQL fails it.
        let limit = "SET SESSION max_recursive_iterations = 1000000";
        if c.execute(&text(limit)).is_err() {
            c.execute(&text("SET SESSION cte_max_recursion_depth = 1000000"))?;
        }
    }
    let mut result = c.execute(&series.clone().bind("max", 100_000))?;
    let mut firsts = Vec::new();
    for row in result.by_ref().take(3) {
        firsts.push(row?.get::<i64>(0)?);
    }
    check_eq("first rows", firsts, vec![1, 2, 3])?;
    check_eq(
        "next row",
        result.fetch_one()?.map(|r| r.get::<i64>(0)).transpose()?,
        Some(4),
    )?;
    drop(result);
    let n: i64 = c
        .execute(&text("SELECT count(*) FROM users"))?
        .scalar_one()?;
    check_eq("after dropping a partly read result", n, 7)?;
    // Sum a large result while streaming.
    let mut sum = 0i64;
    let mut rows = 0;
    for row in c.execute(&series.clone().bind("max", 20_000))? {
        sum += row?.get::<i64>(0)?;
        rows += 1;
    }
    check_eq("streamed", (rows, sum), (20_000, 20_000 * 20_001 / 2))?;
    // The same as typed tuples (one reused buffer), stopping half-way.
    let mut tuples = c
        .execute(&series.clone().bind("max", 20_000))?
        .tuples::<(i64,)>();
    let half: i64 = tuples
        .by_ref()
        .take(10_000)
        .map(|t| t.map(|(n,)| n))
        .sum::<Result<i64>>()?;
    check_eq("tuples, half", half, 10_000 * 10_001 / 2)?;
    check_eq("tuples, next", tuples.next().transpose()?, Some((10_001,)))?;
    drop(tuples);
    // The same inside a transaction, interleaved with writes.
    let mut tx = c.begin()?;
    let ids: Vec<i64> = tx
        .execute(&text("SELECT id FROM users ORDER BY id"))?
        .take(2)
        .collect::<Result<Vec<_>>>()?
        .iter()
        .map(|r| r.get(0))
        .collect::<Result<_>>()?;
    check_eq("partial in tx", ids, vec![1, 2])?;
    tx.execute(&text("UPDATE users SET age = 1 WHERE id = :id").bind("id", 1))?;
    tx.commit()?;
    let age: i64 = c
        .execute(&text("SELECT age FROM users WHERE id = 1"))?
        .scalar_one()?;
    check_eq("write after partial read", age, 1)
}

fn typed_get_errors(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    let row = c
        .execute(
            &select((
                u.c("id"),
                u.c("name"),
                u.c("age"),
                (u.c("age") * 10).label("big"),
            ))
            .where_(u.c("id").eq(4)),
        )?
        .one()?;
    let mismatch = |r: Result<()>, needles: &[&str]| -> Result<()> {
        match r {
            Err(Error::TypeMismatch { message: m, .. }) => {
                ensure(needles.iter().all(|n| m.contains(n)), || {
                    format!("message {m:?} should name {needles:?}")
                })
            }
            other => Err(Error::InvalidStatement(format!(
                "expected TypeMismatch naming {needles:?}, got {other:?}"
            ))),
        }
    };
    mismatch(row.get::<i64>("age").map(drop), &["age", "NULL"])?;
    mismatch(row.get::<i64>("name").map(drop), &["name", "text"])?;
    mismatch(row.get::<bool>("name").map(drop), &["name", "bool"])?;
    mismatch(row.get::<Vec<u8>>(0).map(drop), &["0", "bytes"])?;
    match row.get::<i64>("nope") {
        Err(Error::NoSuchColumn(m)) => ensure(m.contains("nope") && m.contains("name"), || m)?,
        other => {
            return Err(Error::InvalidStatement(format!(
                "unknown column: {other:?}"
            )))
        }
    }
    match row.get::<i64>(9) {
        Err(Error::NoSuchColumn(m)) => ensure(m.contains('9'), || m)?,
        other => return Err(Error::InvalidStatement(format!("column 9 of 4: {other:?}"))),
    }
    let row = c
        .execute(&select((u.c("age") * 10).label("big")).where_(u.c("id").eq(5)))?
        .one()?;
    check_eq("fits i16", row.get::<i16>("big")?, 400)?;
    mismatch(row.get::<i8>("big").map(drop), &["big", "400", "i8"])?;
    mismatch(row.get::<u8>(0).map(drop), &["400", "u8"])?;
    let neg = c
        .execute(&select(literal(0) - u.c("age")).where_(u.c("id").eq(1)))?
        .one()?;
    mismatch(neg.get::<u32>(0).map(drop), &["-20", "u32"])?;
    check_eq("i32", neg.get::<i32>(0)?, -20)?;
    check_eq("f64 from integer", neg.get::<f64>(0)?, -20.0)
}

/// Statements are prepared once per connection and reused: a table changed in between
/// must never give rows under stale column names.
fn schema_change_between_executions(e: &Engine) -> Result<()> {
    let mut c = e.connect()?;
    c.execute(&text("CREATE TABLE t (x INTEGER)"))?;
    c.execute(&text("INSERT INTO t VALUES (1)"))?;
    let star = text("SELECT * FROM t");
    let read = |c: &mut Connection| -> Result<(Vec<String>, Vec<Value>)> {
        let row = c.execute(&star)?.one()?;
        Ok((row.columns().to_vec(), row.values().to_vec()))
    };
    let (cols, _) = read(&mut c)?;
    check_eq("before", cols, strs(&["x"]))?;
    c.execute(&text("ALTER TABLE t ADD COLUMN y INTEGER DEFAULT 7"))?;
    // PostgreSQL may refuse the prepared statement once ("cached plan must not change
    // result type"); it is prepared afresh for the next execution.
    let first = read(&mut c);
    if let Err(err) = &first {
        ensure(is_pg(e) && err.sql() == Some("SELECT * FROM t"), || {
            format!("after ALTER TABLE: {err:?}")
        })?;
    }
    for got in [first.ok(), Some(read(&mut c)?)].into_iter().flatten() {
        let (cols, values) = got;
        check_eq("added column", cols, strs(&["x", "y"]))?;
        check_eq(
            "values",
            values.iter().map(num).collect::<Vec<_>>(),
            vec![1.0, 7.0],
        )?;
    }
    c.execute(&text("DROP TABLE t"))?;
    c.execute(&text("CREATE TABLE t (a TEXT, b TEXT)"))?;
    c.execute(&text("INSERT INTO t VALUES ('p', 'q')"))?;
    let first = read(&mut c);
    if let Err(err) = &first {
        ensure(is_pg(e), || format!("after DROP/CREATE: {err:?}"))?;
    }
    for got in [first.ok(), Some(read(&mut c)?)].into_iter().flatten() {
        check_eq(
            "recreated table",
            got,
            (strs(&["a", "b"]), vec![Value::from("p"), Value::from("q")]),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Engine: statement cache, statement counter, pool, echo
// ---------------------------------------------------------------------------------------

on_all!(
    crate::support::checked;
    statement_cache_and_counter,
    listener_runs_statements_of_its_own,
    pool_limits,
    engine_is_shared_across_threads
);

/// A listener is called while a statement is being sent; it may run statements of its
/// own (on another connection), which compile through the same cache.
fn listener_runs_statements_of_its_own(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = f.users.clone();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    // The listener's engine handle is taken back at the end: an engine holding a
    // listener that holds the engine would never be dropped.
    let inner = Arc::new(std::sync::Mutex::new(Some(e.clone())));
    let (s, held) = (seen.clone(), inner.clone());
    let busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    e.on_execute(move |sql, _| {
        // Only the outer statement's listener call runs one (not the nested ones).
        if !sql.starts_with("SELECT") || busy.swap(true, Ordering::SeqCst) {
            return;
        }
        let Some(engine) = held.lock().unwrap().clone() else {
            return;
        };
        let count = engine.connect().and_then(|mut c| {
            c.execute(&select(func::count_star()).select_from(&u))?
                .scalar_one::<i64>()
        });
        s.lock().unwrap().push(count.map_err(|e| e.to_string()));
        busy.store(false, Ordering::SeqCst);
    });
    let mut c = e.connect()?;
    for id in [1, 2] {
        let name = c
            .execute(&select(f.users.c("name")).where_(f.users.c("id").eq(id)))?
            .scalar_one::<String>()?;
        check_eq("outer statement", name.is_empty(), false)?;
    }
    inner.lock().unwrap().take();
    let seen = seen.lock().unwrap().clone();
    check_eq("nested statements", seen, vec![Ok(7), Ok(7)])
}

fn statement_cache_and_counter(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let u = &f.users;
    let mut c = e.connect()?;
    let by_id = |id: i32| select(u.c("name")).where_(u.c("id").eq(id));
    c.execute(&by_id(1))?.one()?;
    let (hits0, misses0) = e.cache().stats();
    let executed0 = e.statements_executed();
    let mut names = Vec::new();
    for id in 1..=5 {
        names.push(c.execute(&by_id(id))?.scalar_one::<String>()?);
    }
    check_eq(
        "values differ per execution",
        names,
        strs(&["spongebob", "sandy", "patrick", "squidward", "e%_x"]),
    )?;
    let (hits1, misses1) = e.cache().stats();
    check_eq("cache hits", (hits1 - hits0, misses1 - misses0), (5, 0))?;
    check_eq("statements counted", e.statements_executed() - executed0, 5)?;
    ensure(!e.cache().is_empty(), || "cache is empty".into())?;
    // A different shape is a miss, then a hit.
    c.execute(&select(u.c("id")).where_(u.c("name").eq("eve")))?
        .one()?;
    c.execute(&select(u.c("id")).where_(u.c("name").eq("max")))?
        .one()?;
    let (hits2, misses2) = e.cache().stats();
    check_eq("new shape", (hits2 - hits1, misses2 - misses1), (1, 1))?;
    // BEGIN and COMMIT count as statements.
    let before = e.statements_executed();
    let mut tx = c.begin()?;
    tx.execute(&by_id(2))?.one()?;
    tx.commit()?;
    check_eq(
        "begin + select + commit",
        e.statements_executed() - before,
        3,
    )?;
    // Listeners see each statement and its parameters.
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    e.on_execute(move |sql, params| {
        let params: Vec<Value> = params.iter().map(|v| (*v).clone()).collect();
        s.lock().unwrap().push((sql.to_string(), params));
    });
    c.execute(&by_id(3))?.one()?;
    let seen = seen.lock().unwrap().clone();
    check_eq("listener calls", seen.len(), 1)?;
    ensure(
        seen[0].0.contains("SELECT") && seen[0].1 == vec![Value::Int(3)],
        || format!("listener saw {seen:?}"),
    )?;
    e.cache().clear();
    check_eq("cleared", e.cache().len(), 0)?;
    let (_, misses3) = e.cache().stats();
    c.execute(&by_id(4))?.one()?;
    check_eq("miss after clear", e.cache().stats().1 - misses3, 1)
}

fn pool_limits(e: &Engine) -> Result<()> {
    // The same database (a file for SQLite) through an engine with one pooled connection.
    let dir = temp_dir("pool");
    let url = if is_pg(e) {
        pool_url(e)
    } else {
        format!(
            "sqlite:///{}/pool.db?pool_size=1&pool_timeout=0.2",
            dir.display()
        )
    };
    let small = create_engine(&url)?;
    let _f = fixture(&small)?;
    check_eq("pool size", small.options().pool_size, 1)?;
    let held = small.connect()?;
    let started = Instant::now();
    let err = small.connect().unwrap_err();
    let waited = started.elapsed();
    ensure(matches!(err, Error::Pool(_)), || {
        format!("second connect: {err:?}")
    })?;
    ensure(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(3),
        || format!("waited {waited:?} for pool_timeout=0.2"),
    )?;
    check_eq("pool status", small.pool_status(), (1, 0))?;
    drop(held);
    let mut c = small.connect()?;
    let n: i64 = c
        .execute(&text("SELECT count(*) FROM users"))?
        .scalar_one()?;
    check_eq("connect after release", n, 7)?;
    // A connection given back with a leaked open transaction is not reused as is.
    c.start_transaction()?;
    c.execute(&text("UPDATE users SET age = 99 WHERE id = 1"))?;
    drop(c);
    let mut c = small.connect()?;
    check_eq("no transaction", c.in_transaction(), false)?;
    let age: i64 = c
        .execute(&text("SELECT age FROM users WHERE id = 1"))?
        .scalar_one()?;
    check_eq("leaked transaction rolled back", age, 20)?;
    drop(c);
    drop(small);
    std::fs::remove_dir_all(&dir).map_err(|e| Error::Connection(e.to_string()))
}

/// The URL of `e`'s database with pool_size=1 and pool_timeout=0.2.
fn pool_url(e: &Engine) -> String {
    let described = format!("{e:?}");
    let url = described
        .strip_prefix("Engine(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("Engine Debug: {described}"));
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}pool_size=1&pool_timeout=0.2")
}

fn engine_is_shared_across_threads(e: &Engine) -> Result<()> {
    if is_pg(e) {
        return threads_write_concurrently(e);
    }
    // On SQLite, a database file: in the shared in-memory database of `sqlite://`
    // (shared-cache mode) concurrent writers fail at once with "database table is
    // locked" instead of waiting, as they do for a file (busy timeout).
    let dir = temp_dir("threads");
    let file = create_engine(&format!("sqlite:///{}/threads.db", dir.display()))?;
    let r = threads_write_concurrently(&file);
    drop(file);
    std::fs::remove_dir_all(&dir).map_err(|e| Error::Connection(e.to_string()))?;
    r
}

fn threads_write_concurrently(e: &Engine) -> Result<()> {
    let f = fixture(e)?;
    let kv = f.kv.clone();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let engine = e.clone();
            let kv = kv.clone();
            std::thread::spawn(move || -> Result<()> {
                for i in 0..30 {
                    let key = format!("t{t}_{i}");
                    engine.begin(|c| {
                        c.execute(&insert(&kv).value("key", key.as_str()).value("val", i))?;
                        let mine: i64 = c
                            .execute(
                                &select(func::count_star())
                                    .select_from(&kv)
                                    .where_(kv.c("key").like(format!("t{t}_%"))),
                            )?
                            .scalar_one()?;
                        ensure(mine == i as i64 + 1, || {
                            format!("thread {t} sees {mine} of its rows")
                        })
                    })?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread panicked")?;
    }
    let mut c = e.connect()?;
    check_eq("rows from 4 threads", count(&mut c, &f.kv)?, 2 + 120)?;
    let keys: BTreeSet<String> = c
        .execute(&select(f.kv.c("key")))?
        .scalars::<String>()?
        .into_iter()
        .collect();
    check_eq("distinct keys", keys.len(), 122)
}

// ---------------------------------------------------------------------------------------
// SQLite-only: URLs, files, echo
// ---------------------------------------------------------------------------------------

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "strata-engine-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn sqlite_url_absolute_file() {
    let dir = temp_dir("abs");
    let path = dir.join("abs.db");
    let url = format!("sqlite:///{}", path.display());
    assert!(url.starts_with("sqlite:////"), "{url}");
    let e = create_engine(&url).unwrap();
    support::checked(&e, |e| {
        let f = fixture(e)?;
        check_eq("rows", count(&mut e.connect()?, &f.users)?, 7)
    });
    drop(e);
    assert!(path.is_file(), "{} was created", path.display());
    // A second engine on the same file sees the committed rows.
    let e = create_engine(&url).unwrap();
    let n: i64 = e
        .connect()
        .unwrap()
        .execute(&text("SELECT count(*) FROM users"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(n, 7);
    drop(e);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file URL's options: read only, read-write without creating, the lock timeout;
/// an unknown option, a bad value, or an option on an in-memory URL is an error.
#[test]
fn sqlite_url_options() {
    let dir = temp_dir("opts");
    let path = dir.join("opts.db");
    let url = format!("sqlite:///{}", path.display());
    let scalar = |e: &strata::Engine, sql: &str| -> Result<i64> {
        e.connect()?.execute(&text(sql))?.scalar_one()
    };
    let e = create_engine(&url).unwrap();
    e.connect()
        .unwrap()
        .execute(&text("CREATE TABLE t (x INTEGER)"))
        .unwrap();
    let ro = create_engine(&format!("{url}?mode=ro")).unwrap();
    assert_eq!(scalar(&ro, "SELECT count(*) FROM t").unwrap(), 0);
    let mut ro_conn = ro.connect().unwrap();
    let err = ro_conn
        .execute(&text("INSERT INTO t VALUES (1)"))
        .map(drop)
        .unwrap_err()
        .to_string();
    drop(ro_conn);
    assert!(err.contains("readonly"), "{err}");
    let rw = create_engine(&format!("{url}?mode=rw&timeout=0.5&uri=true")).unwrap();
    rw.connect()
        .unwrap()
        .execute(&text("INSERT INTO t VALUES (1)"))
        .unwrap();
    assert_eq!(scalar(&e, "SELECT count(*) FROM t").unwrap(), 1);
    // mode=rw does not create a missing file; mode=ro cannot either.
    for mode in ["rw", "ro"] {
        let missing = format!("sqlite:///{}?mode={mode}", dir.join("missing.db").display());
        let err = create_engine(&missing)
            .unwrap()
            .connect()
            .map(drop)
            .unwrap_err();
        assert!(matches!(err, Error::Connection(_)), "{err:?}");
    }
    assert!(!dir.join("missing.db").exists());
    for bad in [
        format!("{url}?bogus=1"),
        format!("{url}?mode=memory"),
        format!("{url}?timeout=soon"),
        "sqlite://?mode=ro".to_string(),
    ] {
        let err = create_engine(&bad).map(drop).unwrap_err();
        assert!(matches!(err, Error::Url(_)), "{bad}: {err:?}");
    }
    drop((e, ro, rw));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sqlite_url_relative_file() {
    // A relative path is relative to the working directory; resolve one inside a temp dir
    // from here, without changing the process's working directory.
    let dir = temp_dir("rel");
    let cwd = std::env::current_dir().unwrap();
    let rel = pathdiff(&dir.join("rel.db"), &cwd);
    assert!(rel.is_relative(), "{}", rel.display());
    let url = format!("sqlite:///{}", rel.display());
    let e = create_engine(&url).unwrap();
    assert_eq!(format!("{e:?}"), format!("Engine({url})"));
    let mut c = e.connect().unwrap();
    c.execute(&text("CREATE TABLE t (x INTEGER)")).unwrap();
    c.execute(&text("INSERT INTO t VALUES (:x)").bind("x", 5))
        .unwrap();
    drop(c);
    drop(e);
    assert!(dir.join("rel.db").is_file());
    let again = create_engine(&format!("sqlite:///{}", dir.join("rel.db").display())).unwrap();
    let x: i64 = again
        .connect()
        .unwrap()
        .execute(&text("SELECT x FROM t"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(x, 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `path` relative to `base` (both absolute), with `..` components.
fn pathdiff(path: &std::path::Path, base: &std::path::Path) -> std::path::PathBuf {
    let p: Vec<_> = path.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = std::path::PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    out
}

#[test]
fn sqlite_url_memory_forms_and_bad_urls() {
    for url in [
        "sqlite://",
        "sqlite:///:memory:",
        "SQLite://",
        "sqlite+rusqlite://",
    ] {
        let e = create_engine(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        let n: i64 = e
            .connect()
            .unwrap()
            .execute(&text("SELECT 1 + 1"))
            .unwrap()
            .scalar_one()
            .unwrap();
        assert_eq!(n, 2, "{url}");
    }
    // Two in-memory engines are two databases; the connections of one share it.
    let a = create_engine("sqlite://").unwrap();
    let b = create_engine("sqlite://").unwrap();
    a.connect()
        .unwrap()
        .execute(&text("CREATE TABLE only_a (x INTEGER)"))
        .unwrap();
    let mut a2 = a.connect().unwrap();
    let mut a3 = a.connect().unwrap();
    assert!(a3.execute(&text("SELECT * FROM only_a")).is_ok());
    assert!(a2.execute(&text("SELECT * FROM only_a")).is_ok());
    let err = b
        .connect()
        .unwrap()
        .execute(&text("SELECT * FROM only_a"))
        .unwrap_err();
    assert_eq!(err.db_kind(), Some(DbErrorKind::ProgrammingError), "{err}");

    for (url, needle) in [
        ("", "scheme"),
        ("not a url", "scheme"),
        ("://x", "scheme"),
        ("sqlite:/x.db", "scheme"),
        ("nosuchdb://x", "unknown database scheme"),
        ("oracle://scott:tiger@host/db", "unknown database scheme"),
        ("mysql://u@localhost/db?bogus=1", "bogus"),
        ("mysql://u@localhost/db?ssl_mode=REQUIRED", "ssl_mode"),
        ("mariadb://u@localhost:70000/db", "port"),
        ("sqlite://somehost/x.db", "no host"),
        ("sqlite://?echo=maybe", "echo"),
        ("sqlite://?pool_size=many", "pool_size"),
        ("sqlite://?pool_size=0", "pool_size"),
        ("sqlite://?pool_timeout=-1", "pool_timeout"),
        ("sqlite://?pool_timeout=soon", "pool_timeout"),
        // Values the pool would panic or abort on.
        ("sqlite://?pool_timeout=0", "pool_timeout"),
        ("sqlite://?pool_timeout=0.0000000001", "pool_timeout"),
        ("sqlite://?pool_timeout=nan", "pool_timeout"),
        ("sqlite://?pool_size=4294967295", "pool_size"),
        ("sqlite://?pool_size=10001", "pool_size"),
        ("postgresql://u@host:99999/db", "port"),
        ("postgresql://u@host:abc/db", "port"),
        ("postgresql://u@[::1/db", "["),
        ("postgresql://u@host/db?sslmode=require", "sslmode"),
        ("postgresql://u@host/db?bogus=1", "bogus"),
        ("postgresql://u%zz@host/db", "percent"),
    ] {
        match create_engine(url) {
            Err(e @ (Error::Url(_) | Error::Pool(_))) => {
                assert!(
                    e.to_string().contains(needle),
                    "{url:?}: error {e} should mention {needle:?}"
                )
            }
            Err(other) => panic!("{url:?}: expected a URL error, got {other:?}"),
            Ok(e) => panic!("{url:?}: expected an error, got {e:?}"),
        }
    }
}

#[test]
fn passwords_never_appear_in_errors_or_debug() {
    let secret = "s3cr3t-Pw%40x";
    let decoded = "s3cr3t-Pw@x";
    // A server that is not there (port 1), with a short pool timeout.
    let url =
        format!("postgresql://scott:{secret}@127.0.0.1:1/db?connect_timeout=1&pool_timeout=0.5");
    let e = create_engine(&url).unwrap();
    for shown in [
        format!("{e:?}"),
        format!("{:?}", e.connect().map(drop).unwrap_err()),
    ] {
        assert!(
            !shown.contains(secret) && !shown.contains(decoded),
            "{shown}"
        );
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
    let err = e.connect().unwrap_err();
    assert!(matches!(err, Error::Connection(_)), "{err:?}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    // With nothing to wait for (no connection open, the attempt refused), the refusal
    // itself is the error, with its cause, not the pool's timeout (30 s by default).
    let refused = create_engine("postgresql://scott@127.0.0.1:1/db").unwrap();
    for _ in 0..2 {
        let err = refused.connect().map(drop).unwrap_err();
        assert!(matches!(err, Error::Connection(_)), "{err:?}");
        assert!(err.to_string().contains("refused"), "{err}");
    }
    assert!(format!("{e:?}").contains("scott:***@127.0.0.1:1"), "{e:?}");
    // Bad URLs with a password: the message does not repeat it.
    for bad in [
        format!("postgresql://scott:{secret}@host:notaport/db"),
        format!("postgresql://scott:{secret}@host/db?sslmode=verify-full"),
        format!("postgresql://scott:{secret}@host/db?what=1"),
        format!("sqlite://scott:{secret}@host/x.db"),
        format!("nosuch://scott:{secret}@host/db"),
        format!("postgresql://scott:{secret}@host/db?pool_size=x"),
    ] {
        let err = create_engine(&bad).unwrap_err();
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("s3cr3t"), "{bad}: {shown}");
        }
    }
    // A password of the real test server: engine and errors do not show it.
    let Some(url) = pg::require_fresh_database("passwords_never_appear_in_errors_or_debug") else {
        return;
    };
    let with_pw = url.replacen("://postgres@", &format!("://postgres:{secret}@"), 1);
    if with_pw == url {
        return; // STRATA_TEST_PG_URL has its own credentials
    }
    let e = create_engine(&with_pw).unwrap();
    let mut c = e.connect().unwrap(); // trust authentication ignores the password
    let err = c.execute(&text("SELECT nope FROM nowhere")).unwrap_err();
    for shown in [
        format!("{e:?}"),
        format!("{c:?}"),
        err.to_string(),
        format!("{err:?}"),
    ] {
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}

#[test]
fn echo_option() {
    let e = create_engine("sqlite://?echo=true").unwrap();
    assert!(e.options().echo);
    let n: i64 = e
        .connect()
        .unwrap()
        .execute(&text("SELECT :a + 1").bind("a", 1))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(n, 2);
    assert!(
        !create_engine("sqlite://?echo=false")
            .unwrap()
            .options()
            .echo
    );
    assert!(!create_engine("sqlite://").unwrap().options().echo);
    let e = create_engine("sqlite://?pool_size=10000&pool_timeout=0.001").unwrap();
    assert_eq!(e.options().pool_size, 10_000);
    let e = create_engine("sqlite://?echo=1&pool_size=3&pool_timeout=2.5").unwrap();
    assert!(e.options().echo);
    assert_eq!(e.options().pool_size, 3);
    assert_eq!(e.options().pool_timeout, Duration::from_millis(2500));
}

// ---------------------------------------------------------------------------------------
// PostgreSQL parameter typing
// ---------------------------------------------------------------------------------------

/// A table with one column of every type the binder handles, on a fresh database.
fn typed_table(test: &str) -> Option<(Engine, Table)> {
    let engine = support::pg_engine(test)?;
    let mut md = MetaData::new();
    let t = Table::build("typed")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("i2", SqlType::SmallInteger))
        .column(Column::new("i4", SqlType::Integer))
        .column(Column::new("i8", SqlType::BigInteger))
        .column(Column::new("f4", SqlType::Float))
        .column(Column::new("f8", SqlType::Double))
        .column(Column::new("num", SqlType::Numeric(Some((12, 3)))))
        .column(Column::new("b", SqlType::Boolean))
        .column(Column::new("t", SqlType::Text))
        .column(Column::new("vc", SqlType::String(Some(10))))
        .column(Column::new("bin", SqlType::LargeBinary))
        .column(Column::new("d", SqlType::Date))
        .column(Column::new("tm", SqlType::Time))
        .column(Column::new("ts", SqlType::Timestamp(false)))
        .column(Column::new("tstz", SqlType::Timestamp(true)))
        .column(Column::new("js", SqlType::Json))
        .column(Column::new("u", SqlType::Uuid))
        .column(Column::new("jb", SqlType::Json))
        .add_to(&mut md)
        .unwrap();
    md.create_all(&engine).unwrap();
    engine
        .connect()
        .unwrap()
        .execute(&text("ALTER TABLE typed ALTER COLUMN jb TYPE JSONB"))
        .unwrap();
    Some((engine, t))
}

fn read_back(c: &mut Connection, t: &Table, id: i32, col: &str) -> Value {
    c.execute(&select(t.c(col)).where_(t.c("id").eq(id)))
        .unwrap()
        .scalar_one::<Value>()
        .unwrap()
}

#[test]
fn postgres_integer_parameters_fit_every_width() {
    let Some((e, t)) = typed_table("postgres_integer_parameters_fit_every_width") else {
        return;
    };
    let mut c = e.connect().unwrap();
    // i64 values into int2/int4/int8; i16 and i32 into int8.
    c.execute(
        &insert(&t)
            .value("id", 1)
            .value("i2", 12_i64)
            .value("i4", 70_000_i64)
            .value("i8", 5_000_000_000_i64),
    )
    .unwrap();
    c.execute(
        &insert(&t)
            .value("id", 2)
            .value("i2", -32768_i64)
            .value("i4", i32::MIN as i64)
            .value("i8", 7_i16),
    )
    .unwrap();
    c.execute(
        &insert(&t)
            .value("id", 3)
            .value("i2", 1_i32)
            .value("i8", i64::MAX),
    )
    .unwrap();
    assert_eq!(read_back(&mut c, &t, 1, "i2"), Value::SmallInt(12));
    assert_eq!(read_back(&mut c, &t, 1, "i4"), Value::Int(70_000));
    assert_eq!(read_back(&mut c, &t, 1, "i8"), Value::BigInt(5_000_000_000));
    assert_eq!(read_back(&mut c, &t, 2, "i2"), Value::SmallInt(-32768));
    assert_eq!(read_back(&mut c, &t, 2, "i4"), Value::Int(i32::MIN));
    assert_eq!(read_back(&mut c, &t, 2, "i8"), Value::BigInt(7));
    assert_eq!(read_back(&mut c, &t, 3, "i8"), Value::BigInt(i64::MAX));
    // Comparisons bind at the column's width too.
    let ids: Vec<i64> = c
        .execute(
            &select(t.c("id"))
                .where_(t.c("i2").lt(100_i64).and(t.c("i8").ge(7_i64)))
                .order_by([t.c("id")]),
        )
        .unwrap()
        .scalars()
        .unwrap();
    assert_eq!(ids, vec![1, 2, 3]);
    // The id column (int4) given an i64.
    let n: i64 = c
        .execute(
            &select(func::count_star())
                .select_from(&t)
                .where_(t.c("id").in_([1_i64, 3])),
        )
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn postgres_out_of_range_and_wrong_kinds_are_type_mismatches() {
    let Some((e, t)) = typed_table("postgres_out_of_range_and_wrong_kinds_are_type_mismatches")
    else {
        return;
    };
    let mut c = e.connect().unwrap();
    let cases: Vec<(strata::Insert, &str, &str, &str)> = vec![
        (
            insert(&t).value("id", 1).value("i2", 40_000),
            "$2",
            "int2",
            "i32",
        ),
        (
            insert(&t).value("id", 1).value("i4", 1_i64 << 40),
            "$2",
            "int4",
            "i64",
        ),
        (
            insert(&t).value("id", 1).value("i2", 1).value("i4", "12"),
            "$3",
            "int4",
            "text",
        ),
        (
            insert(&t).value("id", 1).value("i8", 1.5),
            "$2",
            "int8",
            "f64",
        ),
        (insert(&t).value("id", 1).value("b", 1), "$2", "bool", "i32"),
        (
            insert(&t).value("id", 1).value("bin", "abc"),
            "$2",
            "bytea",
            "text",
        ),
        (
            insert(&t).value("id", 1).value("d", "2024-13-45"),
            "$2",
            "date",
            "text",
        ),
        (
            insert(&t).value("id", 1).value("d", 20240101),
            "$2",
            "date",
            "i32",
        ),
        (
            insert(&t).value("id", 1).value("u", "not-a-uuid"),
            "$2",
            "uuid",
            "text",
        ),
        (
            insert(&t).value("id", 1).value("num", "1.2.3"),
            "$2",
            "numeric",
            "text",
        ),
        (
            insert(&t).value("id", 1).value("t", vec![1_u8, 2]),
            "$2",
            "text",
            "bytes",
        ),
        (
            insert(&t)
                .value("id", 1)
                .value("ts", "2024-01-01 10:00:00+02:00"),
            "$2",
            "timestamp",
            "text",
        ),
        // Dates and times that do not exist are errors, never shifted to others.
        (
            insert(&t).value("id", 1).value("d", "2024-02-30"),
            "$2",
            "date",
            "text",
        ),
        (
            insert(&t).value("id", 1).value("d", "2023-02-29"),
            "$2",
            "date",
            "text",
        ),
        (
            insert(&t).value("id", 1).value("ts", "2024-01-01 24:30:00"),
            "$2",
            "timestamp",
            "text",
        ),
        (
            insert(&t).value("id", 1).value("ts", "2024-01-01 -1:30:00"),
            "$2",
            "timestamp",
            "text",
        ),
        (
            insert(&t)
                .value("id", 1)
                .value("ts", "99999999999-01-01 00:00:00"),
            "$2",
            "timestamp",
            "text",
        ),
        (
            insert(&t)
                .value("id", 1)
                .value("d", "9223372036854775807-01-01"),
            "$2",
            "date",
            "text",
        ),
        (
            insert(&t)
                .value("id", 1)
                .value("tstz", "2024-01-01 10:00:00+a\u{e9}1"),
            "$2",
            "timestamptz",
            "text",
        ),
        (insert(&t).value("id", "one"), "$1", "int4", "text"),
    ];
    for (stmt, pos, sql_type, kind) in cases {
        let err = c.execute(&stmt).unwrap_err();
        match &err {
            Error::TypeMismatch { message: m, sql } => {
                assert!(
                    sql.as_deref()
                        .is_some_and(|s| s.starts_with("INSERT INTO \"typed\"")),
                    "the SQL is attached: {sql:?}"
                );
                for needle in [pos, sql_type, kind] {
                    assert!(m.contains(needle), "{m:?} should name {needle:?}");
                }
            }
            other => panic!("expected TypeMismatch for {pos} {sql_type} {kind}, got {other:?}"),
        }
    }
    // Nothing was written and the connection still works.
    let n: i64 = c
        .execute(&select(func::count_star()).select_from(&t))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(n, 0);
    // In a WHERE clause too.
    let err = c
        .execute(&select(t.c("id")).where_(t.c("i2").eq(1_i64 << 20)))
        .unwrap_err();
    assert!(
        matches!(&err, Error::TypeMismatch { message: m, .. } if m.contains("$1") && m.contains("int2")),
        "{err:?}"
    );
}

#[test]
fn postgres_float_numeric_bool_text_bytes_round_trip() {
    let Some((e, t)) = typed_table("postgres_float_numeric_bool_text_bytes_round_trip") else {
        return;
    };
    let mut c = e.connect().unwrap();
    c.execute(
        &insert(&t)
            .value("id", 1)
            .value("f4", 1.5_f32)
            .value("f8", 2.25_f64)
            .value("num", "12345.678")
            .value("b", true)
            .value("t", "héllo 'quoted' \"x\" ✓")
            .value("vc", "short")
            .value("bin", vec![0_u8, 1, 2, 255]),
    )
    .unwrap();
    c.execute(
        &insert(&t)
            .value("id", 2)
            .value("f4", 3_i64)
            .value("f8", 0.1_f32)
            .value("num", 42)
            .value("b", false),
    )
    .unwrap();
    c.execute(
        &insert(&t)
            .value("id", 3)
            .value("num", -0.5_f64)
            .value("f8", 7),
    )
    .unwrap();
    assert_eq!(read_back(&mut c, &t, 1, "f4"), Value::Float(1.5));
    assert_eq!(read_back(&mut c, &t, 1, "f8"), Value::Double(2.25));
    assert_eq!(
        read_back(&mut c, &t, 1, "num"),
        Value::Decimal("12345.678".parse().unwrap())
    );
    assert_eq!(read_back(&mut c, &t, 1, "b"), Value::Bool(true));
    assert_eq!(
        read_back(&mut c, &t, 1, "t"),
        Value::Text("héllo 'quoted' \"x\" ✓".into())
    );
    assert_eq!(read_back(&mut c, &t, 1, "vc"), Value::Text("short".into()));
    assert_eq!(
        read_back(&mut c, &t, 1, "bin"),
        Value::Bytes(vec![0, 1, 2, 255])
    );
    assert_eq!(read_back(&mut c, &t, 2, "f4"), Value::Float(3.0));
    assert_eq!(
        read_back(&mut c, &t, 2, "f8"),
        Value::Double(0.1_f32 as f64)
    );
    assert_eq!(
        read_back(&mut c, &t, 2, "num"),
        Value::Decimal("42.000".parse().unwrap())
    );
    assert_eq!(read_back(&mut c, &t, 2, "b"), Value::Bool(false));
    assert_eq!(
        read_back(&mut c, &t, 3, "num"),
        Value::Decimal("-0.500".parse().unwrap())
    );
    assert_eq!(read_back(&mut c, &t, 3, "f8"), Value::Double(7.0));
    // Numeric comparisons with integer and text parameters.
    let ids: Vec<i64> = c
        .execute(
            &select(t.c("id"))
                .where_(t.c("num").gt(0).and(t.c("num").lt("100")))
                .order_by([t.c("id")]),
        )
        .unwrap()
        .scalars()
        .unwrap();
    assert_eq!(ids, vec![2]);
    // Arithmetic on numeric, read as exact text.
    let s: String = c
        .execute(&select(func::sum(t.c("num"))))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(s, "12387.178");
    // A boolean read through FromValue, a value too long for VARCHAR(10).
    assert!(c
        .execute(&select(t.c("b")).where_(t.c("id").eq(1)))
        .unwrap()
        .scalar_one::<bool>()
        .unwrap());
    let err = c
        .execute(
            &insert(&t)
                .value("id", 9)
                .value("vc", "much too long for ten"),
        )
        .unwrap_err();
    assert_eq!(err.db_kind(), Some(DbErrorKind::DataError), "{err:?}");
}

#[test]
fn postgres_dates_times_json_uuid_as_text() {
    let Some((e, t)) = typed_table("postgres_dates_times_json_uuid_as_text") else {
        return;
    };
    let mut c = e.connect().unwrap();
    c.execute(
        &insert(&t)
            .value("id", 1)
            .value("d", "2024-02-29")
            .value("tm", "13:45:07.25")
            .value("ts", "2024-05-06 07:08:09.123456")
            .value("tstz", "2024-05-06T09:08:09+02:00")
            .value("js", r#"{"a": [1, 2, {"b": null}]}"#)
            .value("jb", r#"{"z": 1, "a": true}"#)
            .value("u", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
    )
    .unwrap();
    c.execute(
        &insert(&t)
            .value("id", 2)
            .value("d", "1999-12-31")
            .value("tm", "00:00")
            .value("ts", "2000-01-01T00:00:00")
            .value("tstz", "1970-01-01 00:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        read_back(&mut c, &t, 1, "d"),
        Value::Date(chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
    );
    assert_eq!(
        read_back(&mut c, &t, 1, "tm"),
        Value::Time(chrono::NaiveTime::from_hms_micro_opt(13, 45, 7, 250_000).unwrap())
    );
    assert_eq!(
        read_back(&mut c, &t, 1, "ts"),
        Value::DateTime(
            chrono::NaiveDate::from_ymd_opt(2024, 5, 6)
                .unwrap()
                .and_hms_micro_opt(7, 8, 9, 123_456)
                .unwrap()
        )
    );
    assert_eq!(
        read_back(&mut c, &t, 1, "tstz"),
        Value::DateTimeUtc(
            chrono::NaiveDate::from_ymd_opt(2024, 5, 6)
                .unwrap()
                .and_hms_opt(7, 8, 9)
                .unwrap()
                .and_utc()
        )
    );
    assert_eq!(
        read_back(&mut c, &t, 1, "js"),
        Value::from(serde_json::json!({"a": [1, 2, {"b": null}]}))
    );
    assert_eq!(
        read_back(&mut c, &t, 1, "jb"),
        Value::from(serde_json::json!({"a": true, "z": 1}))
    );
    assert_eq!(
        read_back(&mut c, &t, 1, "u"),
        Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".parse().unwrap())
    );
    assert_eq!(
        read_back(&mut c, &t, 2, "d"),
        Value::Date(chrono::NaiveDate::from_ymd_opt(1999, 12, 31).unwrap())
    );
    assert_eq!(
        read_back(&mut c, &t, 2, "tm"),
        Value::Time(chrono::NaiveTime::from_hms_opt(0, 0, 0).unwrap())
    );
    assert_eq!(
        read_back(&mut c, &t, 2, "ts"),
        Value::DateTime(
            chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        )
    );
    assert_eq!(
        read_back(&mut c, &t, 2, "tstz"),
        Value::DateTimeUtc(chrono::DateTime::UNIX_EPOCH)
    );
    // The server agrees with what was sent.
    let row = c
        .execute(&text(
            "SELECT d = DATE '2024-02-29' AS d_ok, \
             ts = TIMESTAMP '2024-05-06 07:08:09.123456' AS ts_ok, \
             tstz = TIMESTAMPTZ '2024-05-06 07:08:09Z' AS tstz_ok, \
             jb -> 'a' = 'true'::jsonb AS jb_ok, \
             u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u_ok \
             FROM typed WHERE id = 1",
        ))
        .unwrap()
        .one()
        .unwrap();
    for col in ["d_ok", "ts_ok", "tstz_ok", "jb_ok", "u_ok"] {
        assert!(row.get::<bool>(col).unwrap(), "{col}");
    }
    // Dates compared with text parameters; a uuid parameter in WHERE.
    let ids: Vec<i64> = c
        .execute(
            &select(t.c("id"))
                .where_(t.c("d").between("2000-01-01", "2030-01-01"))
                .where_(t.c("u").eq("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
        )
        .unwrap()
        .scalars()
        .unwrap();
    assert_eq!(ids, vec![1]);
}

#[test]
fn postgres_null_into_every_type() {
    let Some((e, t)) = typed_table("postgres_null_into_every_type") else {
        return;
    };
    let columns = [
        "i2", "i4", "i8", "f4", "f8", "num", "b", "t", "vc", "bin", "d", "tm", "ts", "tstz", "js",
        "jb", "u",
    ];
    let mut c = e.connect().unwrap();
    let mut stmt = insert(&t).value("id", 1);
    for col in columns {
        stmt = stmt.value(col, Value::Null);
    }
    c.execute(&stmt).unwrap();
    // Each type with NULL as the typed parameter of a comparison too.
    for col in columns {
        assert_eq!(read_back(&mut c, &t, 1, col), Value::Null, "{col}");
        let n: i64 = c
            .execute(
                &select(func::count_star())
                    .select_from(&t)
                    .where_(func::coalesce([t.c(col), Expr::Param(Value::Null)]).is_null()),
            )
            .unwrap()
            .scalar_one()
            .unwrap();
        assert_eq!(n, 1, "{col}");
    }
    let n = c
        .execute(
            &update(&t)
                .values(columns.iter().map(|col| (*col, Value::Null)))
                .where_(t.c("id").eq(1)),
        )
        .unwrap()
        .rows_affected();
    assert_eq!(n, 1);
}

/// A statement MySQL's prepared-statement protocol refuses (error 1295: PREPARE,
/// EXECUTE, ...) runs as text, and its rows are read, not dropped.
#[test]
fn mysql_statements_the_prepared_protocol_refuses_run_as_text() {
    let Some(e) = support::mysql_engine("mysql_statements_the_prepared_protocol_refuses") else {
        return;
    };
    let f = fixture(&e).unwrap();
    let mut c = e.connect().unwrap();
    c.execute(&text(
        "PREPARE by_city FROM 'SELECT id, name FROM users WHERE city = ''texas'' ORDER BY id'",
    ))
    .unwrap();
    let rows: Vec<(i64, String)> = c
        .execute(&text("EXECUTE by_city"))
        .unwrap()
        .tuples()
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(rows, vec![(2, "sandy".into()), (5, "e%_x".into())]);
    c.execute(&text("DEALLOCATE PREPARE by_city")).unwrap();
    assert_eq!(count(&mut c, &f.users).unwrap(), 7);
}
