//! Property tests of the SQL compiler, on all three dialects:
//!
//! - values (strings full of quotes, comments, placeholders, NUL, unicode; numbers of
//!   every kind including NaN and infinities) never change a statement's SQL text and
//!   reach the parameters unchanged;
//! - identifiers are rejected (empty, NUL) or appear only as correctly quoted
//!   identifiers;
//! - compiling random expression trees and statements never panics, and expressions
//!   far deeper than strata compiles clone and drop without overflowing the stack;
//! - the structural cache key ignores values and only values, and a statement compiled
//!   through the `StatementCache` (miss or hit, for the same statement or another of the
//!   same shape) is exactly what the uncached `compile` gives;
//! - `text()` parameter parsing.

#[allow(dead_code)] // each test binary uses only part of the support code
#[macro_use]
mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use proptest::collection::vec;
use proptest::prelude::*;
use strata::compile::{cache_key, render_template, Lowerer, TemplateWriter};
use strata::dialects::{MySqlDialect, PostgresDialect, SqliteDialect};
use strata::sql::escape_like;
use strata::{
    and_, case, column, delete, except, excluded, exists, false_, func, insert, intersect, literal,
    literal_column, not_, null, or_, select, text, true_, tuple, union, union_all, update, Column,
    Compilable, Dialect, Error, Expr, FrameBound, FromItem, JoinKind, OrderBy, Select, SqlType,
    StatementCache, Table, Value, Window,
};

const DIALECTS: [&dyn Dialect; 3] = [&SqliteDialect, &PostgresDialect, &MySqlDialect];

// ---------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------

struct Schema {
    users: Table,
    addresses: Table,
    items: Table,
    orders: Table,
}

impl Schema {
    fn tables(&self) -> [&Table; 4] {
        [&self.users, &self.addresses, &self.items, &self.orders]
    }

    fn table(&self, i: u8) -> &Table {
        self.tables()[i as usize % 4]
    }
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let users = Table::build("users")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("name", SqlType::String(Some(30))).not_null())
            .column(Column::new("fullname", SqlType::Text))
            .column(Column::new("age", SqlType::Integer))
            .column(Column::new("score", SqlType::Double))
            .column(Column::new("data", SqlType::LargeBinary))
            .finish()
            .expect("users");
        let addresses = Table::build("addresses")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(
                Column::new("user_id", SqlType::Integer)
                    .foreign_key("users.id")
                    .not_null(),
            )
            .column(Column::new("email", SqlType::Text).not_null())
            .finish()
            .expect("addresses");
        // Client-side defaults of all three kinds, and an onupdate.
        let items = Table::build("items")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("user_id", SqlType::Integer).foreign_key("users.id"))
            .column(Column::new("label", SqlType::Text).default("new"))
            .column(Column::new("qty", SqlType::Integer).default_fn(|| Value::Int(7)))
            .column(Column::new("added", SqlType::DateTime).default(func::now()))
            .column(Column::new("updated", SqlType::DateTime).onupdate(func::now()))
            .finish()
            .expect("items");
        let orders = Table::build("orders")
            .schema("sales")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("item_id", SqlType::Integer).foreign_key("items.id"))
            .column(Column::new("amount", SqlType::Numeric(Some((10, 2)))))
            .finish()
            .expect("orders");
        Schema {
            users,
            addresses,
            items,
            orders,
        }
    })
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Strings meant to break things: quotes, comments, placeholders of every dialect,
/// backslashes, NUL, unicode.
const NASTY: &[&str] = &[
    "'",
    "\"",
    "`",
    "x' OR '1'='1",
    "'; DROP TABLE users; --",
    "/* comment */",
    "*/",
    "--",
    "$1",
    "$",
    "?",
    "??",
    ":name",
    "::",
    "\\",
    "\\'",
    "''",
    "\"\"",
    "``",
    "\0",
    "a\0b",
    "%_/",
    "é",
    "😀",
    // Once rendered inside a sea-query template, these broke it (a panic, a misplaced
    // expression).
    "\\\"?",
    "\\\"$1",
];

/// Strings meant to break things: `NASTY`, arbitrary strings, strings of special
/// characters, the empty string.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        any::<String>(),
        r#"["'`;?$:@%_/\\*\x00 a-zA-Z0-9é€😀\n-]{0,16}"#,
        prop::sample::select(NASTY.to_vec()).prop_map(String::from),
    ]
}

/// A value of every kind, including NaN and infinities.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i16>().prop_map(Value::SmallInt),
        1 => any::<i32>().prop_map(Value::Int),
        1 => any::<i64>().prop_map(Value::BigInt),
        1 => prop_oneof![
            any::<f32>(),
            Just(f32::NAN),
            Just(f32::INFINITY),
            Just(f32::NEG_INFINITY)
        ]
        .prop_map(Value::Float),
        1 => prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0)
        ]
        .prop_map(Value::Double),
        3 => nasty_string().prop_map(Value::Text),
        1 => vec(any::<u8>(), 0..6).prop_map(Value::Bytes),
    ]
}

/// Equality of parameter lists that treats NaN as equal to NaN.
fn same_values(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
}

type Compiled = strata::Result<(String, Vec<Value>)>;

/// A statement of any kind.
type Stmt = Box<dyn Compilable>;

fn fresh(stmt: &dyn Compilable, d: &dyn Dialect) -> Compiled {
    strata::compile(stmt, d).map(|c| c.into_parts())
}

fn same_compiled(a: &Compiled, b: &Compiled) -> bool {
    match (a, b) {
        (Ok((s1, p1)), Ok((s2, p2))) => s1 == s2 && same_values(p1, p2),
        (Err(e1), Err(e2)) => e1 == e2,
        _ => false,
    }
}

/// Quote an identifier the way the dialect must: its quote character, embedded quote
/// characters doubled.
fn quote(d: &dyn Dialect, ident: &str) -> String {
    let q = if d.name() == "mysql" { '`' } else { '"' };
    let mut s = String::with_capacity(ident.len() + 2);
    s.push(q);
    for c in ident.chars() {
        if c == q {
            s.push(q);
        }
        s.push(c);
    }
    s.push(q);
    s
}

fn invalid_identifier(s: &str) -> bool {
    s.is_empty() || s.contains('\0')
}

// ---------------------------------------------------------------------------------------
// 1. Values never change a statement's structure
// ---------------------------------------------------------------------------------------

/// How the string value reaches the parameters.
#[derive(Clone, Copy, Debug)]
enum Appears {
    /// Unchanged.
    Plain,
    /// As a LIKE pattern fragment, its wildcards escaped (`contains` and friends).
    Escaped,
}

type ValueCase = (&'static str, Appears, fn(&str) -> Stmt);

fn string_value_cases() -> Vec<ValueCase> {
    vec![
        ("eq", Appears::Plain, |s| {
            let u = &schema().users;
            Box::new(select(u).where_(u.c("name").eq(s)))
        }),
        ("insert values", Appears::Plain, |s| {
            let u = &schema().users;
            Box::new(insert(u).value("name", s).value("fullname", s))
        }),
        ("insert many rows", Appears::Plain, |s| {
            let u = &schema().users;
            Box::new(
                insert(u)
                    .columns(["name", "fullname"])
                    .row((s, "fixed"))
                    .row(("fixed", s)),
            )
        }),
        ("update set and where", Appears::Plain, |s| {
            let u = &schema().users;
            Box::new(update(u).set("fullname", s).where_(u.c("name").ne(s)))
        }),
        ("delete like", Appears::Plain, |s| {
            let u = &schema().users;
            Box::new(delete(u).where_(u.c("name").like(s)))
        }),
        ("not like, ilike, like escape", Appears::Plain, |s| {
            let u = &schema().users;
            Box::new(
                select(u.c("id"))
                    .where_(u.c("name").not_like(s))
                    .where_(u.c("fullname").ilike(s))
                    .where_(u.c("fullname").like_escape(s, '#')),
            )
        }),
        ("contains", Appears::Escaped, |s| {
            let u = &schema().users;
            Box::new(select(u.c("id")).where_(u.c("name").contains(s)))
        }),
        ("startswith", Appears::Escaped, |s| {
            let u = &schema().users;
            Box::new(select(u.c("id")).where_(u.c("name").startswith(s)))
        }),
        ("endswith", Appears::Escaped, |s| {
            let u = &schema().users;
            Box::new(delete(u).where_(u.c("fullname").endswith(s)))
        }),
        ("in list", Appears::Plain, |s| {
            let u = &schema().users;
            Box::new(select(u.c("id")).where_(u.c("name").in_([s, "fixed", s])))
        }),
        ("not in list", Appears::Plain, |s| {
            let u = &schema().users;
            Box::new(select(u.c("id")).where_(u.c("name").not_in([s])))
        }),
        (
            "select list, function, case, between",
            Appears::Plain,
            |s| {
                let u = &schema().users;
                Box::new(
                    select((
                        literal(s).label("v"),
                        func::upper(s),
                        case([(u.c("name").eq(s), literal(s))], Some(literal(s))),
                    ))
                    .where_(u.c("name").between(s, s))
                    .order_by([func::coalesce([u.c("fullname"), literal(s)])]),
                )
            },
        ),
        ("upsert", Appears::Plain, |s| {
            let u = &schema().users;
            Box::new(
                insert(u)
                    .value("id", 1)
                    .value("name", s)
                    .on_conflict_do_update(["id"], [("fullname", literal(s))]),
            )
        }),
        ("subquery and cte", Appears::Plain, |s| {
            let (u, a) = (&schema().users, &schema().addresses);
            let c = select(a.c("user_id")).where_(a.c("email").eq(s)).cte("c");
            Box::new(
                select(u.c("id"))
                    .where_(u.c("id").in_select(select(c.c("user_id"))))
                    .where_(exists(select(a.c("id")).where_(a.c("email").ne(s)))),
            )
        }),
        ("text", Appears::Plain, |s| {
            Box::new(
                text("SELECT :a, ':a' AS q, :b::text -- :c\n")
                    .bind("a", s)
                    .bind("b", s),
            )
        }),
    ]
}

/// `s` as a value in every case of `string_value_cases`, on every dialect.
fn check_string_value(s: &str) -> Result<(), TestCaseError> {
    let s = s.to_string();
    for (name, appears, build) in string_value_cases() {
        let harmless = build("x");
        let nasty = build(&s);
        let expected_fragment = match appears {
            Appears::Plain => s.clone(),
            Appears::Escaped => escape_like(&s),
        };
        for d in DIALECTS {
            let Ok((sql_x, params_x)) = fresh(harmless.as_ref(), d) else {
                // The construct is unsupported on this dialect: then it must be so
                // whatever the value.
                prop_assert_eq!(
                    fresh(harmless.as_ref(), d).err(),
                    fresh(nasty.as_ref(), d).err()
                );
                continue;
            };
            let (sql_s, params_s) = fresh(nasty.as_ref(), d)
                .map_err(|e| TestCaseError::fail(format!("{name} on {}: {e}", d.name())))?;
            // Through one cache, the second statement is a hit with its own values.
            let cache = StatementCache::new(4);
            let first = cache.compile(harmless.as_ref(), d);
            let second = cache.compile(nasty.as_ref(), d);
            prop_assert!(same_compiled(
                &first,
                &Ok((sql_x.clone(), params_x.clone()))
            ));
            prop_assert!(same_compiled(
                &second,
                &Ok((sql_s.clone(), params_s.clone()))
            ));
            prop_assert_eq!(cache.stats(), (1, 1));
            prop_assert_eq!(&sql_s, &sql_x, "{} on {}", name, d.name());
            // The parameters are those of the harmless statement with "x" replaced.
            let expected: Vec<Value> = params_x
                .iter()
                .map(|p| match p {
                    Value::Text(t) if t.contains('x') && t != "fixed" => {
                        Value::Text(t.replacen('x', &expected_fragment, 1))
                    }
                    other => other.clone(),
                })
                .collect();
            prop_assert_eq!(&params_s, &expected, "{} on {}", name, d.name());
            prop_assert!(
                params_s.iter().any(|p| match p {
                    Value::Text(t) => t.contains(expected_fragment.as_str()),
                    _ => false,
                }),
                "{} on {}: the value is not among the parameters",
                name,
                d.name()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(support::proptest_config(256))]

    /// A string used as a value never changes the SQL text, on any dialect, and reaches
    /// the parameters unchanged (or LIKE-escaped, for contains/startswith/endswith).
    #[test]
    fn string_values_never_change_structure(s in nasty_string()) {
        check_string_value(&s)?;
    }

    /// Values of every kind (NaN and infinities included) are parameters: the SQL text
    /// is that of a harmless value of the same kind (a value's kind, never the value,
    /// may pick the cast of an untyped literal on PostgreSQL) and the values reach the
    /// parameters unchanged, in order (an IN list expands to one parameter per element).
    #[test]
    fn values_of_every_kind_are_parameters(v in value(), list in vec(value(), 1..5)) {
        let u = &schema().users;
        let build = |v: &Value, list: &[Value]| -> Vec<(Stmt, Vec<Value>)> {
            let with_list = |head: Vec<Value>, tail: Vec<Value>| {
                let mut p = head;
                p.extend(list.iter().cloned());
                p.extend(tail);
                p
            };
            vec![
                (
                    Box::new(
                        select((u.c("id"), literal(v.clone())))
                            .where_(u.c("age").in_(list.to_vec()))
                            .where_(u.c("score").between(v.clone(), v.clone())),
                    ),
                    with_list(vec![v.clone()], vec![v.clone(), v.clone()]),
                ),
                (
                    Box::new(insert(u).value("name", "n").value("score", v.clone())),
                    vec![Value::from("n"), v.clone()],
                ),
                (
                    Box::new(update(u).set("data", v.clone()).where_(u.c("id").not_in(list.to_vec()))),
                    with_list(vec![v.clone()], vec![]),
                ),
                (Box::new(text("SELECT :v").bind("v", v.clone())), vec![v.clone()]),
            ]
        };
        let harmless_list: Vec<Value> = list.iter().map(harmless_like).collect();
        let harmless = build(&harmless_like(&v), &harmless_list);
        let real = build(&v, &list);
        for d in DIALECTS {
            for ((h, _), (r, expected)) in harmless.iter().zip(&real) {
                let (sql_h, _) = fresh(h.as_ref(), d).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let (sql_r, params_r) = fresh(r.as_ref(), d).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(sql_r, sql_h);
                prop_assert!(same_values(&params_r, expected), "{:?} vs {:?}", params_r, expected);
            }
        }
    }
}

#[test]
fn nasty_string_values_never_change_structure() {
    for s in NASTY {
        check_string_value(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
    }
}

// ---------------------------------------------------------------------------------------
// 2. Identifiers are rejected or correctly quoted
// ---------------------------------------------------------------------------------------

/// A plain identifier standing in for the arbitrary one.
const PLAIN: &str = "plain_ident";

type IdentCase = (&'static str, fn(&str) -> strata::Result<Vec<Stmt>>);

fn two_column_table(name: &str) -> strata::Result<Table> {
    Table::build(name)
        .column(Column::new("fixed_id", SqlType::Integer).primary_key())
        .column(Column::new("fixed_v", SqlType::Text))
        .finish()
}

fn ident_cases() -> Vec<IdentCase> {
    vec![
        ("table name", |s| {
            let t = two_column_table(s)?;
            Ok(vec![
                Box::new(select(&t).where_(t.c("fixed_id").eq(1))),
                Box::new(
                    insert(&t)
                        .value("fixed_v", "a")
                        .on_conflict_do_update(["fixed_id"], [("fixed_v", excluded("fixed_v"))]),
                ),
                Box::new(update(&t).set("fixed_v", "b").where_(t.c("fixed_id").eq(1))),
                Box::new(delete(&t).where_(t.c("fixed_v").contains("c"))),
                Box::new(select(schema().users.c("id")).where_(exists(
                    select(t.c("fixed_id")).where_(t.c("fixed_id").eq(schema().users.c("id"))),
                ))),
            ])
        }),
        ("schema name", |s| {
            let t = Table::build("fixed_t")
                .schema(s)
                .column(Column::new("fixed_id", SqlType::Integer).primary_key())
                .column(Column::new("fixed_v", SqlType::Text))
                .finish()?;
            Ok(vec![
                Box::new(select(&t).where_(t.c("fixed_id").eq(1))),
                Box::new(insert(&t).value("fixed_v", "a")),
                Box::new(update(&t).set("fixed_v", "b").where_(t.c("fixed_id").eq(1))),
                Box::new(delete(&t).where_(t.c("fixed_id").eq(1))),
            ])
        }),
        ("column name", |s| {
            let t = Table::build("fixed_t")
                .column(Column::new(s, SqlType::Integer).primary_key())
                .column(Column::new("fixed_v", SqlType::Text))
                .finish()?;
            Ok(vec![
                Box::new(
                    select((t.c(s), func::count(t.c(s))))
                        .where_(t.c(s).gt(1))
                        .group_by([t.c(s)])
                        .order_by([t.c(s).desc()]),
                ),
                Box::new(
                    insert(&t)
                        .value(s, 1)
                        .value("fixed_v", "a")
                        .on_conflict_do_update([s], [(s, excluded(s))]),
                ),
                Box::new(
                    insert(&t)
                        .columns([s])
                        .row((2,))
                        .on_conflict_do_nothing([s]),
                ),
                Box::new(update(&t).set(s, 2).where_(t.c(s).eq(1))),
                Box::new(delete(&t).where_(t.c(s).in_([1, 2]))),
            ])
        }),
        ("unqualified column", |s| {
            Ok(vec![Box::new(
                select((column(s), schema().users.c("id")))
                    .where_(column(s).is_not_null())
                    .order_by([column(s)]),
            )])
        }),
        ("table alias", |s| {
            let (u, a) = (&schema().users, &schema().addresses);
            let al = u.alias(s);
            let aa = a.alias(s);
            Ok(vec![
                Box::new(select((al.c("id"), al.c("name"))).where_(al.c("name").eq("x"))),
                Box::new(select(u.c("name")).join(&aa).where_(aa.c("email").eq("e"))),
                Box::new(select(&al)),
            ])
        }),
        ("label", |s| {
            let u = &schema().users;
            Ok(vec![
                Box::new(select((
                    u.c("id").label(s),
                    func::count(u.c("id")).label(s),
                ))),
                Box::new(union([
                    select(u.c("name").label(s)),
                    select(u.c("fullname")),
                ])),
                // RETURNING (not on MySQL) names its labelled columns too.
                Box::new(
                    insert(u)
                        .value("name", "n")
                        .returning((u.c("id").label(s), u.c("name"))),
                ),
                Box::new(
                    delete(u)
                        .where_(u.c("id").eq(1))
                        .returning([u.c("id").label(s), func::upper(u.c("name")).label(s)]),
                ),
            ])
        }),
        ("subquery name", |s| {
            let u = &schema().users;
            let sq = select((u.c("id"), u.c("name")))
                .where_(u.c("age").gt(3))
                .subquery(s);
            Ok(vec![Box::new(
                select((sq.c("id"), sq.c("name"))).where_(sq.c("name").ne("n")),
            )])
        }),
        ("cte name", |s| {
            let u = &schema().users;
            let c = select(u.c("id")).where_(u.c("age").gt(3)).cte(s);
            Ok(vec![
                Box::new(select(c.c("id")).where_(c.c("id").lt(10))),
                Box::new(delete(u).where_(u.c("id").in_select(select(c.c("id"))))),
            ])
        }),
    ]
}

/// `s` as an identifier in every case of `ident_cases`, on every dialect.
fn check_identifier_everywhere(s: &str) -> Result<(), TestCaseError> {
    let s = s.to_string();
    for case in ident_cases() {
        let plain = (case.1)(PLAIN).map_err(|e| TestCaseError::fail(format!("{}: {e}", case.0)))?;
        let built = catch_unwind(AssertUnwindSafe(|| (case.1)(&s)))
            .map_err(|_| TestCaseError::fail(format!("{}: building panicked", case.0)))?;
        let stmts = match built {
            Ok(stmts) => stmts,
            Err(e) => {
                prop_assert!(
                    invalid_identifier(&s),
                    "{}: {:?} rejected: {}",
                    case.0,
                    s,
                    e
                );
                prop_assert_eq!(e, Error::InvalidIdentifier(s.clone()));
                continue;
            }
        };
        for d in DIALECTS {
            // One cache for both: a key that missed the identifier would serve the
            // plain statement's SQL for the other.
            let cache = StatementCache::new(16);
            for (p, x) in plain.iter().zip(&stmts) {
                let got = catch_unwind(AssertUnwindSafe(|| fresh(x.as_ref(), d)))
                    .map_err(|_| TestCaseError::fail(format!("{}: compile panicked", case.0)))?;
                let (sql_p, params_p) = match fresh(p.as_ref(), d) {
                    Ok(c) => c,
                    // A construct the dialect lacks (RETURNING on MySQL) is reported
                    // whatever the identifier.
                    Err(e @ Error::Unsupported { .. }) => {
                        prop_assert!(
                            got == Err(e) || got == Err(Error::InvalidIdentifier(s.clone())),
                            "{} on {}: {:?}",
                            case.0,
                            d.name(),
                            got
                        );
                        continue;
                    }
                    Err(e) => {
                        return Err(TestCaseError::fail(format!(
                            "{} on {}: {e}",
                            case.0,
                            d.name()
                        )));
                    }
                };
                if invalid_identifier(&s) {
                    prop_assert_eq!(
                        got.err(),
                        Some(Error::InvalidIdentifier(s.clone())),
                        "{} on {}",
                        case.0,
                        d.name()
                    );
                    continue;
                }
                // PostgreSQL would cut a name past 63 bytes short: table, column and
                // label names that long are refused when the statement compiles.
                if s.len() > 63 && d.name() == "postgresql" {
                    if let Err(e) = &got {
                        prop_assert!(
                            e.to_string().contains("at most 63 bytes"),
                            "{} on {}: {}",
                            case.0,
                            d.name(),
                            e
                        );
                        continue;
                    }
                }
                let (sql_x, params_x) = got
                    .map_err(|e| TestCaseError::fail(format!("{} on {}: {e}", case.0, d.name())))?;
                let (cached_p, cached_x) =
                    (cache.compile(p.as_ref(), d), cache.compile(x.as_ref(), d));
                prop_assert!(same_compiled(
                    &cached_p,
                    &Ok((sql_p.clone(), params_p.clone()))
                ));
                prop_assert!(same_compiled(
                    &cached_x,
                    &Ok((sql_x.clone(), params_x.clone()))
                ));
                let expected = sql_p.replace(&quote(d, PLAIN), &quote(d, &s));
                prop_assert!(sql_p.contains(&quote(d, PLAIN)), "{}: {}", case.0, sql_p);
                prop_assert_eq!(sql_x, expected, "{} on {}", case.0, d.name());
                prop_assert!(same_values(&params_x, &params_p));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(support::proptest_config(256))]

    /// An identifier is either rejected with `InvalidIdentifier` (empty, NUL) or appears
    /// in the SQL only as a quoted identifier: the SQL with the identifier is the SQL
    /// with a plain identifier, the quoted plain one replaced by the quoted arbitrary one.
    #[test]
    fn identifiers_are_rejected_or_quoted(s in nasty_string()) {
        prop_assume!(!s.starts_with("fixed_") && s != PLAIN);
        check_identifier_everywhere(&s)?;
    }
}

#[test]
fn nasty_identifiers_are_rejected_or_quoted() {
    let more = ["", " ", "a b", "SELECT", "users", "$2", "a\"b", "a`b"];
    for s in NASTY.iter().chain(&more) {
        check_identifier_everywhere(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
    }
}

// ---------------------------------------------------------------------------------------
// 3. Random expression trees and statements
// ---------------------------------------------------------------------------------------

/// An expression to build: a mirror of the builder API with the values inline, so that
/// the same shape can be built again with other values.
#[derive(Debug, Clone)]
enum E {
    /// A column of the scope item `.0`, column `.1` (both taken modulo).
    Col(u8, u8),
    /// `column(name)`.
    Bare(u8),
    Val(Value),
    Lit(Value),
    Null,
    Bool(bool),
    Raw(String),
    Cmp(Box<E>, u8, Box<E>),
    Arith(Box<E>, u8, Box<E>),
    And(Vec<E>),
    Or(Vec<E>),
    Not(Box<E>),
    Neg(Box<E>),
    IsNull(Box<E>, bool),
    In(Box<E>, Vec<Value>, bool),
    InExprs(Box<E>, Vec<E>, bool),
    InSelect(Box<E>, Box<S>, bool),
    Between(Box<E>, Box<E>, Box<E>, bool),
    Like(Box<E>, Box<E>, u8, char),
    Affix(Box<E>, Box<E>, u8),
    Func(String, Vec<E>, bool),
    Agg(u8, Box<E>),
    Case(Vec<(E, E)>, Option<Box<E>>),
    Cast(Box<E>, SqlType),
    Label(Box<E>, String),
    Exists(Box<S>),
    Scalar(Box<S>),
    Over(
        Box<E>,
        Vec<E>,
        Vec<(E, u8)>,
        Option<(bool, u8, u32, u8, u32)>,
    ),
    Tuple(Vec<E>),
    Excluded(u8),
}

/// A FROM item to build.
#[derive(Debug, Clone)]
enum F {
    Table(u8),
    Alias(u8, String),
    Sub(Box<S>, String),
    Cte(Box<S>, String),
    /// A recursive CTE: the anchor, and a recursive member reading the CTE up to a value.
    RecCte(Box<S>, String, Value),
    /// `table JOIN table` as one item, ON given or inferred.
    Join(u8, u8, Option<E>, u8),
}

/// A SELECT to build.
#[derive(Debug, Clone)]
struct S {
    cols: Vec<E>,
    from: Vec<F>,
    joins: Vec<(F, Option<E>, u8)>,
    where_: Vec<E>,
    group_by: Vec<E>,
    having: Vec<E>,
    order_by: Vec<(E, u8)>,
    limit: Option<u64>,
    offset: Option<u64>,
    distinct: u8,
    lock: u8,
}

/// A statement to build.
#[derive(Debug, Clone)]
enum St {
    Select(S),
    Compound(u8, Vec<S>, Vec<(E, u8)>, Option<u64>, Option<u64>),
    Insert {
        table: u8,
        cols: Vec<u8>,
        rows: Vec<Vec<E>>,
        source: u8,
        sel: S,
        conflict: u8,
        set: Vec<(u8, E)>,
        returning: Vec<E>,
    },
    Update {
        table: u8,
        set: Vec<(u8, E)>,
        where_: Vec<E>,
        returning: Vec<E>,
    },
    Delete {
        table: u8,
        where_: Vec<E>,
        returning: Vec<E>,
    },
    /// text() from `TEXT_PIECES`; its parameters bound in order to the values, and
    /// maybe one more name bound (used or not).
    Text(Vec<u8>, Vec<Value>, Option<u8>),
}

fn sql_type() -> impl Strategy<Value = SqlType> {
    let base = prop_oneof![
        Just(SqlType::Integer),
        Just(SqlType::BigInteger),
        Just(SqlType::SmallInteger),
        Just(SqlType::Float),
        Just(SqlType::Double),
        proptest::option::of((0u32..40, 0u32..40)).prop_map(SqlType::Numeric),
        proptest::option::of(0u32..300).prop_map(SqlType::String),
        Just(SqlType::Text),
        Just(SqlType::Boolean),
        Just(SqlType::Date),
        Just(SqlType::Time),
        Just(SqlType::DateTime),
        any::<bool>().prop_map(SqlType::Timestamp),
        Just(SqlType::LargeBinary),
        Just(SqlType::Json),
        Just(SqlType::Uuid),
        (nasty_string(), vec(nasty_string(), 0..3))
            .prop_map(|(name, values)| SqlType::Enum { name, values }),
    ];
    base.prop_recursive(1, 4, 2, |inner| {
        (
            inner.clone(),
            inner,
            prop::sample::select(vec!["sqlite", "postgresql", "mysql", "mariadb", "other"]),
        )
            .prop_map(|(a, b, d)| a.with_variant(b, d))
    })
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec!["n1", "n2", "sq", "c1", "users", "id"]).prop_map(String::from),
        1 => nasty_string(),
    ]
}

fn function_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["lower", "json_extract", "now", "length", "my.fn", "count"])
            .prop_map(String::from),
        2 => "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
        1 => nasty_string(),
    ]
}

fn escape_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(r#"/\!#%&*+,-.:;<=>@^_|~'"`?$"#.chars().collect::<Vec<_>>()),
        1 => any::<char>(),
    ]
}

fn frame() -> impl Strategy<Value = Option<(bool, u8, u32, u8, u32)>> {
    proptest::option::of((any::<bool>(), 0u8..5, any::<u32>(), 0u8..5, any::<u32>()))
}

fn select_strategy(expr: BoxedStrategy<E>, nested: bool) -> BoxedStrategy<S> {
    let from_item = if nested {
        let inner = select_strategy(expr.clone(), false);
        prop_oneof![
            4 => any::<u8>().prop_map(F::Table),
            2 => (any::<u8>(), name()).prop_map(|(t, n)| F::Alias(t, n)),
            1 => (inner.clone(), name()).prop_map(|(s, n)| F::Sub(Box::new(s), n)),
            1 => (inner.clone(), name()).prop_map(|(s, n)| F::Cte(Box::new(s), n)),
            1 => (inner, name(), value()).prop_map(|(s, n, v)| F::RecCte(Box::new(s), n, v)),
            1 => (any::<u8>(), any::<u8>(), proptest::option::of(expr.clone()), any::<u8>())
                .prop_map(|(a, b, on, k)| F::Join(a, b, on, k)),
        ]
        .boxed()
    } else {
        prop_oneof![
            3 => any::<u8>().prop_map(F::Table),
            1 => (any::<u8>(), name()).prop_map(|(t, n)| F::Alias(t, n)),
        ]
        .boxed()
    };
    let order = vec((expr.clone(), any::<u8>()), 0..3);
    (
        vec(expr.clone(), 1..4),
        vec(from_item.clone(), 0..2),
        vec(
            (from_item, proptest::option::of(expr.clone()), any::<u8>()),
            0..2,
        ),
        vec(expr.clone(), 0..3),
        (vec(expr.clone(), 0..2), vec(expr, 0..2), order),
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(0u64..1000),
            0u8..20,
            0u8..40,
        ),
    )
        .prop_map(
            |(
                cols,
                from,
                joins,
                where_,
                (group_by, having, order_by),
                (limit, offset, distinct, lock),
            )| S {
                cols,
                from,
                joins,
                where_,
                group_by,
                having,
                order_by,
                limit,
                offset,
                distinct,
                lock,
            },
        )
        .boxed()
}

fn expr_strategy() -> BoxedStrategy<E> {
    let leaf = prop_oneof![
        6 => (any::<u8>(), any::<u8>()).prop_map(|(i, j)| E::Col(i, j)),
        4 => value().prop_map(E::Val),
        1 => value().prop_map(E::Lit),
        1 => Just(E::Null),
        1 => any::<bool>().prop_map(E::Bool),
        1 => (0u8..4).prop_map(E::Bare),
        1 => prop::sample::select(vec!["1", "CURRENT_DATE", "'?'", "$1"]).prop_map(|s| E::Raw(s.into())),
        1 => (0u8..6).prop_map(E::Excluded),
    ];
    leaf.prop_recursive(3, 28, 4, |inner| {
        let sel = select_strategy(inner.clone(), false);
        let b = |e: E| Box::new(e);
        prop_oneof![
            4 => (inner.clone(), 0u8..6, inner.clone()).prop_map(move |(a, o, c)| E::Cmp(b(a), o, b(c))),
            2 => (inner.clone(), 0u8..6, inner.clone()).prop_map(move |(a, o, c)| E::Arith(b(a), o, b(c))),
            2 => vec(inner.clone(), 0..4).prop_map(E::And),
            1 => vec(inner.clone(), 0..4).prop_map(E::Or),
            1 => inner.clone().prop_map(move |a| E::Not(b(a))),
            1 => inner.clone().prop_map(move |a| E::Neg(b(a))),
            1 => (inner.clone(), any::<bool>()).prop_map(move |(a, n)| E::IsNull(b(a), n)),
            2 => (inner.clone(), vec(value(), 0..5), any::<bool>()).prop_map(move |(a, l, n)| E::In(b(a), l, n)),
            1 => (inner.clone(), vec(inner.clone(), 0..3), any::<bool>()).prop_map(move |(a, l, n)| E::InExprs(b(a), l, n)),
            1 => (inner.clone(), sel.clone(), any::<bool>()).prop_map(move |(a, s, n)| E::InSelect(b(a), Box::new(s), n)),
            1 => (inner.clone(), inner.clone(), inner.clone(), any::<bool>()).prop_map(move |(a, l, h, n)| E::Between(b(a), b(l), b(h), n)),
            1 => (inner.clone(), inner.clone(), 0u8..5, escape_char()).prop_map(move |(a, p, k, c)| E::Like(b(a), b(p), k, c)),
            1 => (inner.clone(), inner.clone(), 0u8..3).prop_map(move |(a, p, k)| E::Affix(b(a), b(p), k)),
            1 => (function_name(), vec(inner.clone(), 0..3), any::<bool>()).prop_map(|(n, a, d)| E::Func(n, a, d)),
            2 => (0u8..14, inner.clone()).prop_map(move |(k, a)| E::Agg(k, b(a))),
            1 => (vec((inner.clone(), inner.clone()), 1..3), proptest::option::of(inner.clone()))
                .prop_map(move |(w, e)| E::Case(w, e.map(b))),
            1 => (inner.clone(), sql_type()).prop_map(move |(a, t)| E::Cast(b(a), t)),
            1 => (inner.clone(), name()).prop_map(move |(a, n)| E::Label(b(a), n)),
            1 => sel.clone().prop_map(|s| E::Exists(Box::new(s))),
            1 => sel.prop_map(|s| E::Scalar(Box::new(s))),
            1 => (inner.clone(), vec(inner.clone(), 0..2), vec((inner.clone(), any::<u8>()), 0..2), frame())
                .prop_map(move |(f, p, o, fr)| E::Over(b(f), p, o, fr)),
            1 => vec(inner, 0..3).prop_map(E::Tuple),
        ]
    })
    .boxed()
}

/// Fragments of text() SQL: parameters, a cast, quoted colons, an escaped colon, a
/// comment. Concatenated at random, they also make names run into each other.
const TEXT_PIECES: [&str; 12] = [
    "SELECT ", ":a", ":b", " + ", "':a'", "::int", "\\:c", "-- :d\n", ", ", "\"q:e\"", ":c_1",
    " FROM t",
];

fn text_sql(pieces: &[u8]) -> String {
    pieces
        .iter()
        .map(|p| TEXT_PIECES[*p as usize % TEXT_PIECES.len()])
        .collect()
}

/// The parameter names of text() SQL, each once, in order of first appearance.
fn distinct_param_names(sql: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for n in text(sql).param_names() {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

fn text_strategy() -> impl Strategy<Value = St> {
    (
        vec(0u8..12, 0..8),
        vec(value(), 0..4),
        proptest::option::weighted(0.2, any::<u8>()),
    )
        .prop_map(|(pieces, values, extra)| St::Text(pieces, values, extra))
}

fn statement_strategy() -> BoxedStrategy<St> {
    let e = expr_strategy();
    let s = select_strategy(e.clone(), true);
    let order = vec((e.clone(), any::<u8>()), 0..3);
    prop_oneof![
        6 => s.clone().prop_map(St::Select),
        2 => (0u8..6, vec(s.clone(), 1..4), order, proptest::option::of(any::<u64>()), proptest::option::of(any::<u64>()))
            .prop_map(|(op, m, o, l, f)| St::Compound(op, m, o, l, f)),
        2 => (
                any::<u8>(),
                vec(any::<u8>(), 0..4),
                vec(vec(e.clone(), 0..4), 0..3),
                0u8..4,
                s,
                (0u8..3, vec((any::<u8>(), e.clone()), 1..3), vec(e.clone(), 0..2)),
            )
            .prop_map(|(table, cols, rows, source, sel, (conflict, set, returning))| St::Insert {
                table, cols, rows, source, sel, conflict, set, returning,
            }),
        2 => (any::<u8>(), vec((any::<u8>(), e.clone()), 1..3), vec(e.clone(), 0..3), vec(e.clone(), 0..2))
            .prop_map(|(table, set, where_, returning)| St::Update { table, set, where_, returning }),
        1 => (any::<u8>(), vec(e.clone(), 0..3), vec(e, 0..2))
            .prop_map(|(table, where_, returning)| St::Delete { table, where_, returning }),
        1 => text_strategy(),
    ]
    .boxed()
}

/// Builds statements from specs. With a salt, every value is replaced by another of
/// the same kind (non-empty IN lists get another non-zero length, LIMIT/OFFSET other
/// numbers): the result differs from the unsalted build in parameter values only.
struct Builder {
    salt: Option<u64>,
    n: u64,
    scope: Vec<FromItem>,
}

/// A harmless value of the same kind as `v`.
fn harmless_like(v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Bool(_) => Value::Bool(true),
        Value::SmallInt(_) => Value::SmallInt(1),
        Value::Int(_) => Value::Int(1),
        Value::BigInt(_) => Value::BigInt(1),
        Value::Float(_) => Value::Float(1.0),
        Value::Double(_) => Value::Double(1.0),
        Value::Text(_) => Value::Text("x".into()),
        Value::Bytes(_) => Value::Bytes(vec![1]),
        other => other.clone(),
    }
}

fn perturb(v: &Value, salt: u64) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Bool(b) => Value::Bool(!b),
        Value::SmallInt(i) => Value::SmallInt(i.wrapping_add(1 + (salt % 100) as i16)),
        Value::Int(i) => Value::Int(i.wrapping_mul(3).wrapping_add(salt as i32 | 1)),
        Value::BigInt(i) => Value::BigInt(i.wrapping_add(salt as i64 | 1)),
        Value::Float(f) => Value::Float(if f.is_finite() { -f - 1.5 } else { f32::NAN }),
        Value::Double(f) => Value::Double(if f.is_finite() {
            -f - 2.5
        } else {
            f64::INFINITY
        }),
        Value::Text(s) => Value::Text(match salt % 4 {
            0 => format!("{s}'; --"),
            1 => format!("\"?{s}$1"),
            2 => String::new(),
            _ => format!("%_{salt}/*"),
        }),
        Value::Bytes(b) => {
            let mut b = b.clone();
            b.push(salt as u8);
            Value::Bytes(b)
        }
        // The generators make only the basic kinds; the typed ones become text.
        other => Value::Text(format!("{}{salt}", other.typed_text().unwrap_or_default())),
    }
}

impl Builder {
    fn new(salt: Option<u64>) -> Self {
        let s = schema();
        Builder {
            salt,
            n: 0,
            scope: s.tables().iter().map(|t| FromItem::from(*t)).collect(),
        }
    }

    fn salt(&mut self) -> Option<u64> {
        self.n += 1;
        self.salt.map(|s| s.wrapping_mul(31).wrapping_add(self.n))
    }

    fn v(&mut self, v: &Value) -> Value {
        match self.salt() {
            Some(s) => perturb(v, s),
            None => v.clone(),
        }
    }

    fn list(&mut self, l: &[Value]) -> Vec<Value> {
        match self.salt() {
            Some(s) if !l.is_empty() => {
                let len = l.len() + 1 + (s % 3) as usize;
                (0..len)
                    .map(|i| perturb(&l[i % l.len()], s + i as u64))
                    .collect()
            }
            _ => l.to_vec(),
        }
    }

    fn num(&mut self, n: u64) -> u64 {
        match self.salt() {
            Some(s) => n.wrapping_add(s | 1),
            None => n,
        }
    }

    fn col(&self, i: u8, j: u8) -> Expr {
        let item = &self.scope[i as usize % self.scope.len()];
        let names = item.column_names();
        if names.is_empty() {
            return schema().users.c("id");
        }
        item.c(&names[j as usize % names.len()])
    }

    fn es(&mut self, v: &[E]) -> Vec<Expr> {
        v.iter().map(|e| self.e(e)).collect()
    }

    fn e(&mut self, e: &E) -> Expr {
        match e {
            E::Col(i, j) => self.col(*i, *j),
            E::Bare(n) => column(["a", "b", "id", "name"][*n as usize % 4]),
            E::Val(v) => Expr::from(self.v(v)),
            E::Lit(v) => literal(self.v(v)),
            E::Null => null(),
            E::Bool(b) => {
                if *b {
                    true_()
                } else {
                    false_()
                }
            }
            E::Raw(s) => literal_column(s),
            E::Cmp(a, op, c) => {
                let (a, c) = (self.e(a), self.e(c));
                match op % 6 {
                    0 => a.eq(c),
                    1 => a.ne(c),
                    2 => a.lt(c),
                    3 => a.le(c),
                    4 => a.gt(c),
                    _ => a.ge(c),
                }
            }
            E::Arith(a, op, c) => {
                let (a, c) = (self.e(a), self.e(c));
                match op % 6 {
                    0 => a + c,
                    1 => a - c,
                    2 => a * c,
                    3 => a / c,
                    4 => a % c,
                    _ => a.concat(c),
                }
            }
            E::And(v) => and_(self.es(v)),
            E::Or(v) => or_(self.es(v)),
            E::Not(a) => not_(self.e(a)),
            E::Neg(a) => -self.e(a),
            E::IsNull(a, n) => {
                let a = self.e(a);
                if *n {
                    a.is_not_null()
                } else {
                    a.is_null()
                }
            }
            E::In(a, l, n) => {
                let a = self.e(a);
                let l = self.list(l);
                if *n {
                    a.not_in(l)
                } else {
                    a.in_(l)
                }
            }
            E::InExprs(a, l, n) => {
                let a = self.e(a);
                let l = self.es(l);
                if *n {
                    not_(a.in_exprs(l))
                } else {
                    a.in_exprs(l)
                }
            }
            E::InSelect(a, s, n) => {
                let a = self.e(a);
                let s = self.s(s);
                if *n {
                    a.not_in_select(s)
                } else {
                    a.in_select(s)
                }
            }
            E::Between(a, l, h, n) => {
                let (a, l, h) = (self.e(a), self.e(l), self.e(h));
                if *n {
                    a.not_between(l, h)
                } else {
                    a.between(l, h)
                }
            }
            E::Like(a, p, k, c) => {
                let (a, p) = (self.e(a), self.e(p));
                match k % 5 {
                    0 => a.like(p),
                    1 => a.not_like(p),
                    2 => a.ilike(p),
                    3 => a.not_ilike(p),
                    _ => a.like_escape(p, *c),
                }
            }
            E::Affix(a, p, k) => {
                let (a, p) = (self.e(a), self.e(p));
                match k % 3 {
                    0 => a.contains(p),
                    1 => a.startswith(p),
                    _ => a.endswith(p),
                }
            }
            E::Func(name, args, distinct) => {
                let f = func::call(name, self.es(args));
                if *distinct {
                    f.distinct()
                } else {
                    f
                }
            }
            E::Agg(k, a) => {
                let a = self.e(a);
                match k % 14 {
                    0 => func::count(a),
                    1 => func::count_star(),
                    2 => func::sum(a),
                    3 => func::avg(a),
                    4 => func::min(a),
                    5 => func::max(a),
                    6 => func::lower(a),
                    7 => func::upper(a),
                    8 => func::length(a),
                    9 => func::abs(a),
                    10 => func::coalesce([a, null()]),
                    11 => func::now(),
                    12 => func::row_number(),
                    _ => func::count(a).distinct(),
                }
            }
            E::Case(whens, else_) => {
                let whens: Vec<(Expr, Expr)> =
                    whens.iter().map(|(c, v)| (self.e(c), self.e(v))).collect();
                let else_ = else_.as_ref().map(|e| self.e(e));
                case(whens, else_)
            }
            E::Cast(a, t) => self.e(a).cast(t.clone()),
            E::Label(a, n) => self.e(a).label(n.as_str()),
            E::Exists(s) => exists(self.s(s)),
            E::Scalar(s) => self.s(s).scalar_subquery(),
            E::Over(f, part, order, fr) => {
                let f = self.e(f);
                let mut w = Window::new()
                    .partition_by(self.es(part))
                    .order_by(self.order(order));
                if let Some((range, s, sn, e, en)) = fr {
                    let bound = |k: u8, n: u32| match k {
                        0 => FrameBound::UnboundedPreceding,
                        1 => FrameBound::Preceding(n),
                        2 => FrameBound::CurrentRow,
                        3 => FrameBound::Following(n),
                        _ => FrameBound::UnboundedFollowing,
                    };
                    let (s, e) = (bound(*s, *sn), bound(*e, *en));
                    w = if *range { w.range(s, e) } else { w.rows(s, e) };
                }
                f.over(w)
            }
            E::Tuple(v) => tuple(self.es(v)),
            E::Excluded(n) => {
                excluded(["id", "name", "label", "qty", "email", "fullname"][*n as usize % 6])
            }
        }
    }

    fn order(&mut self, items: &[(E, u8)]) -> Vec<OrderBy> {
        items
            .iter()
            .map(|(e, k)| {
                let e = self.e(e);
                let o = if k & 1 == 1 { e.desc() } else { e.asc() };
                match (k >> 1) % 3 {
                    0 => o,
                    1 => o.nulls_first(),
                    _ => o.nulls_last(),
                }
            })
            .collect()
    }

    fn f(&mut self, f: &F) -> FromItem {
        let s = schema();
        match f {
            F::Table(t) => FromItem::from(s.table(*t)),
            F::Alias(t, n) => s.table(*t).alias(n.as_str()),
            F::Sub(q, n) => self.s(q).subquery(n.as_str()),
            F::Cte(q, n) => self.s(q).cte(n.as_str()),
            F::RecCte(q, n, v) => {
                let anchor = self.s(q);
                let v = self.v(v);
                let col = anchor.output_names().into_iter().next();
                anchor.cte_recursive(n.as_str(), move |c| match col {
                    Some(col) => select(c.c(&col)).where_(c.c(&col).lt(v)),
                    None => select(literal(v)),
                })
            }
            F::Join(a, b, on, k) => {
                let on = on.as_ref().map(|e| self.e(e));
                // Mostly tables linked by a foreign key, so that ON can be inferred.
                let b = if b % 4 == 0 { *b } else { join_partner(*a) };
                FromItem::from(s.table(*a)).join_kind(s.table(b), on, join_kind(*k))
            }
        }
    }

    fn s(&mut self, q: &S) -> Select {
        let saved = self.scope.len();
        let from: Vec<FromItem> = q.from.iter().map(|f| self.f(f)).collect();
        let joins: Vec<(FromItem, &Option<E>, u8)> = q
            .joins
            .iter()
            .map(|(f, on, k)| (self.f(f), on, *k))
            .collect();
        self.scope.extend(from.iter().cloned());
        self.scope.extend(joins.iter().map(|(f, _, _)| f.clone()));
        let cols = self.es(&q.cols);
        let mut sel = select(cols);
        if from.is_empty() {
            // Something to join from: a table linked to the first join target.
            if let Some((F::Table(t) | F::Alias(t, _), _, _)) = q.joins.first() {
                sel = sel.select_from(schema().table(join_partner(*t)));
            }
        }
        for f in from {
            sel = sel.select_from(f);
        }
        for (f, on, k) in joins {
            let on = on.as_ref().map(|e| self.e(e));
            sel = sel.join_kind(f, on, join_kind(k));
        }
        for w in &q.where_ {
            let w = self.e(w);
            sel = sel.where_(w);
        }
        let g = self.es(&q.group_by);
        sel = sel.group_by(g);
        for h in &q.having {
            let h = self.e(h);
            sel = sel.having(h);
        }
        let o = self.order(&q.order_by);
        sel = sel.order_by(o);
        if let Some(l) = q.limit {
            sel = sel.limit(self.num(l));
        }
        if let Some(o) = q.offset {
            sel = sel.offset(self.num(o));
        }
        match q.distinct {
            0..=16 => {}
            17 | 18 => sel = sel.distinct(),
            _ => {
                let on = self.es(&q.cols[..1]);
                sel = sel.distinct_on(on);
            }
        }
        sel = match q.lock {
            0..=35 => sel,
            36 => sel.for_update(),
            37 => sel.for_update_nowait(),
            38 => sel.for_update_skip_locked(),
            _ => sel.for_share(),
        };
        self.scope.truncate(saved);
        sel
    }

    fn statement(&mut self, st: &St) -> Stmt {
        let s = schema();
        match st {
            St::Select(q) => Box::new(self.s(q)),
            St::Compound(op, members, order, limit, offset) => {
                let members: Vec<Select> = members.iter().map(|m| self.s(m)).collect();
                let mut c = match op % 6 {
                    0 => union(members),
                    1 => union_all(members),
                    2 => intersect(members),
                    3 => except(members),
                    4 => {
                        let mut it = members.into_iter();
                        let first = it.next().unwrap_or_else(|| select(null()));
                        it.fold(first, |acc, m| acc.intersect_all(m))
                    }
                    _ => {
                        let mut it = members.into_iter();
                        let first = it.next().unwrap_or_else(|| select(null()));
                        it.fold(first, |acc, m| acc.except_all(m))
                    }
                };
                c = c.order_by(self.order(order));
                if let Some(l) = limit {
                    c = c.limit(self.num(*l));
                }
                if let Some(o) = offset {
                    c = c.offset(self.num(*o));
                }
                Box::new(c)
            }
            St::Insert {
                table,
                cols,
                rows,
                source,
                sel,
                conflict,
                set,
                returning,
            } => {
                let t = s.table(*table);
                let names: Vec<String> = t.columns().map(|c| c.name().to_string()).collect();
                let mut chosen: Vec<String> = Vec::new();
                for c in cols {
                    let n = &names[*c as usize % names.len()];
                    if !chosen.contains(n) {
                        chosen.push(n.clone());
                    }
                }
                let mut ins = insert(t);
                match source {
                    0 | 1 => {
                        let rows: Vec<Vec<Expr>> = rows
                            .iter()
                            .map(|r| {
                                (0..chosen.len())
                                    .map(|i| r.get(i).map_or_else(null, |e| self.e(e)))
                                    .collect()
                            })
                            .collect();
                        ins = ins.columns(chosen.clone()).rows(rows);
                    }
                    2 => {
                        let q = self.s(sel);
                        ins = ins.from_select(chosen.clone(), q);
                    }
                    _ => ins = ins.default_values(),
                }
                let pk = t.primary_key().to_vec();
                match conflict {
                    0 => {}
                    1 => ins = ins.on_conflict_do_nothing(pk),
                    _ => {
                        let set: Vec<(String, Expr)> = set
                            .iter()
                            .map(|(c, e)| (names[*c as usize % names.len()].clone(), self.e(e)))
                            .collect();
                        ins = ins.on_conflict_do_update(pk, set);
                    }
                }
                let r = self.es(returning);
                Box::new(ins.returning(r))
            }
            St::Update {
                table,
                set,
                where_,
                returning,
            } => {
                let t = s.table(*table);
                let names: Vec<String> = t.columns().map(|c| c.name().to_string()).collect();
                let mut u = update(t);
                for (c, e) in set {
                    let e = self.e(e);
                    u = u.set(&names[*c as usize % names.len()], e);
                }
                for w in where_ {
                    let w = self.e(w);
                    u = u.where_(w);
                }
                let r = self.es(returning);
                Box::new(u.returning(r))
            }
            St::Delete {
                table,
                where_,
                returning,
            } => {
                let mut d = delete(s.table(*table));
                for w in where_ {
                    let w = self.e(w);
                    d = d.where_(w);
                }
                let r = self.es(returning);
                Box::new(d.returning(r))
            }
            St::Text(pieces, values, extra) => {
                let sql = text_sql(pieces);
                let mut t = text(&sql);
                for (i, n) in distinct_param_names(&sql).iter().enumerate() {
                    let v = values
                        .get(i % values.len().max(1))
                        .cloned()
                        .unwrap_or(Value::Null);
                    let v = self.v(&v);
                    t = t.bind(n, v);
                }
                if let Some(k) = extra {
                    t = t.bind(["a", "b", "c_1", "zz"][*k as usize % 4], Value::Null);
                }
                Box::new(t)
            }
        }
    }
}

/// A table linked to table `t` by a foreign key.
fn join_partner(t: u8) -> u8 {
    match t % 4 {
        0 => 1,
        1 | 2 => 0,
        _ => 2,
    }
}

fn join_kind(k: u8) -> JoinKind {
    match k % 4 {
        0 => JoinKind::Inner,
        1 => JoinKind::Left,
        2 => JoinKind::Right,
        _ => JoinKind::Full,
    }
}

fn build(st: &St, salt: Option<u64>) -> Stmt {
    Builder::new(salt).statement(st)
}

/// Run `f`, turning a panic into a test failure that carries the panic message.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        TestCaseError::fail(format!("{what} panicked: {msg}"))
    })
}

proptest! {
    #![proptest_config(support::proptest_config(256))]

    /// Building and compiling random statements (every expression kind, every value
    /// kind, subqueries, CTEs, windows, joins, compound selects, DML with RETURNING and
    /// upserts, text()) never panics, uncached or through the cache, on any dialect.
    #[test]
    fn compiling_random_statements_never_panics(st in statement_strategy()) {
        let stmt = no_panic("building", || build(&st, None))?;
        let cache = StatementCache::new(8);
        for d in DIALECTS {
            let uncached = no_panic("compile", || fresh(stmt.as_ref(), d))?;
            let key = no_panic("cache_key", || cache_key(stmt.as_ref(), d).map(|k| k.key))?;
            let miss = no_panic("cached compile", || cache.compile(stmt.as_ref(), d))?;
            let hit = no_panic("cached compile (hit)", || cache.compile(stmt.as_ref(), d))?;
            prop_assert!(key.is_ok() || uncached.is_err());
            prop_assert!(same_compiled(&uncached, &miss) && same_compiled(&uncached, &hit));
        }
    }

    /// (a) Two statements that differ only in parameter values (IN lists of different
    /// non-zero lengths included) have the same cache key; (c) the cache gives exactly
    /// what the uncached compile gives, on a miss, on a hit, and for a second statement
    /// of the same shape served from the first one's template.
    #[test]
    fn cache_agrees_with_fresh_compile(st in statement_strategy(), salt in any::<u64>()) {
        let first = build(&st, None);
        let second = build(&st, Some(salt));
        for d in DIALECTS {
            let k1 = cache_key(first.as_ref(), d);
            let k2 = cache_key(second.as_ref(), d);
            match (&k1, &k2) {
                (Ok(k1), Ok(k2)) => {
                    prop_assert_eq!(&k1.key, &k2.key, "keys differ on {}", d.name());
                    prop_assert_eq!(k1.params.len(), k2.params.len());
                }
                (Err(e1), Err(e2)) => prop_assert_eq!(e1, e2),
                _ => prop_assert!(false, "one key failed: {:?} / {:?}", k1.as_ref().err(), k2.as_ref().err()),
            }
            let cache = StatementCache::new(8);
            let fresh1 = fresh(first.as_ref(), d);
            let miss = cache.compile(first.as_ref(), d);
            prop_assert!(same_compiled(&miss, &fresh1), "miss on {}: {:?} vs {:?}", d.name(), miss, fresh1);
            let hit = cache.compile(first.as_ref(), d);
            prop_assert!(same_compiled(&hit, &fresh1), "hit on {}: {:?} vs {:?}", d.name(), hit, fresh1);
            let fresh2 = fresh(second.as_ref(), d);
            let other = cache.compile(second.as_ref(), d);
            prop_assert!(
                same_compiled(&other, &fresh2),
                "same shape, other values on {}: {:?} vs {:?}", d.name(), other, fresh2
            );
            if fresh1.is_ok() {
                // Both later calls were served from the first call's template.
                prop_assert_eq!(cache.stats(), (2, 1));
                prop_assert_eq!(cache.len(), 1);
            }
        }
    }
}

/// The statement rendered with its values written inline (the lowering used for DDL),
/// or `None` when that is not possible: an error, or parameters that are never inlined
/// (LIMIT/OFFSET, text()).
fn inline_sql(stmt: &dyn Compilable, d: &dyn Dialect) -> Option<String> {
    let mut l = Lowerer::inline(d);
    let lowered = stmt.lower(&mut l).ok()?;
    if l.slots() > 0 {
        return None;
    }
    let mut w = TemplateWriter::default();
    d.render(&lowered, &mut w);
    Some(w.to_string())
}

/// The literal the dialect writes for a value.
fn literal_sql(v: &Value, d: &dyn Dialect) -> String {
    let sql = inline_sql(&select(literal(v.clone())), d).expect("a literal renders");
    sql.strip_prefix("SELECT ")
        .expect("SELECT literal")
        .to_string()
}

/// Replace the `?` placeholders of compiled SQL (outside quoted sections) with the
/// literals of the parameters, in order.
fn substitute(sql: &str, params: &[Value], d: &dyn Dialect) -> Option<String> {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut params = params.iter();
    for c in sql.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '?') => {
                out.push_str(&literal_sql(params.next()?, d));
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    params.next().is_none().then_some(out)
}

proptest! {
    #![proptest_config(support::proptest_config(256))]

    /// The parameters are in placeholder order: the compiled SQL with each placeholder
    /// replaced by the literal of its parameter is the statement rendered with its values
    /// inline. This checks the key walk (which collects the values) against the lowering
    /// (which places them), independently of the cache.
    #[test]
    fn parameters_follow_placeholders(st in statement_strategy(), salt in any::<u64>()) {
        for stmt in [build(&st, None), build(&st, Some(salt))] {
            for d in [&SqliteDialect as &dyn Dialect, &MySqlDialect] {
                let Some(inline) = inline_sql(stmt.as_ref(), d) else { continue };
                let Ok((sql, params)) = fresh(stmt.as_ref(), d) else { continue };
                let substituted = substitute(&sql, &params, d);
                prop_assert_eq!(
                    substituted.as_deref(),
                    Some(inline.as_str()),
                    "{} with {:?}",
                    sql,
                    params
                );
                let cached = StatementCache::new(4).compile(stmt.as_ref(), d);
                prop_assert!(same_compiled(&cached, &Ok((sql, params))));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 4. Cache keys distinguish structure
// ---------------------------------------------------------------------------------------

fn key(stmt: &dyn Compilable, d: &dyn Dialect) -> Vec<u8> {
    cache_key(stmt, d).expect("cache key").key
}

#[test]
fn cache_key_differs_when_structure_differs() {
    let s = schema();
    let (u, a) = (&s.users, &s.addresses);
    let base = || select(u.c("id")).where_(u.c("name").eq("x"));
    // Two aliases in FROM; the subquery correlates to one of them, by name only.
    let correlated = |to: &str| {
        let (x1, x2) = (u.alias("x1"), u.alias("x2"));
        let inner = if to == "x1" { &x1 } else { &x2 };
        select((x1.c("id"), x2.c("id"))).where_(exists(
            select(u.c("id")).where_(u.c("id").eq(inner.c("id"))),
        ))
    };
    let variants: Vec<(&str, Select)> = vec![
        ("base", base()),
        (
            "other column",
            select(u.c("id")).where_(u.c("fullname").eq("x")),
        ),
        (
            "other select column",
            select(u.c("age")).where_(u.c("name").eq("x")),
        ),
        (
            "other operator",
            select(u.c("id")).where_(u.c("name").ne("x")),
        ),
        ("lt", select(u.c("id")).where_(u.c("name").lt("x"))),
        ("like", select(u.c("id")).where_(u.c("name").like("x"))),
        (
            "contains",
            select(u.c("id")).where_(u.c("name").contains("x")),
        ),
        (
            "other table",
            select(a.c("id")).where_(a.c("email").eq("x")),
        ),
        ("alias", {
            let al = u.alias("u2");
            select(al.c("id")).where_(al.c("name").eq("x"))
        }),
        (
            "unqualified column",
            select(u.c("id")).where_(column("name").eq("x")),
        ),
        ("other schema", {
            let t = Table::build("users")
                .schema("other")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("name", SqlType::Text))
                .finish()
                .expect("table");
            select(t.c("id")).where_(t.c("name").eq("x"))
        }),
        ("in list", select(u.c("id")).where_(u.c("name").in_(["x"]))),
        (
            "empty in list",
            select(u.c("id")).where_(u.c("name").in_(Vec::<String>::new())),
        ),
        (
            "not in list",
            select(u.c("id")).where_(u.c("name").not_in(["x"])),
        ),
        (
            "is null",
            select(u.c("id")).where_(u.c("name").eq(None::<String>)),
        ),
        (
            "and",
            select(u.c("id"))
                .where_(u.c("name").eq("x"))
                .where_(u.c("age").eq(1)),
        ),
        (
            "or",
            select(u.c("id")).where_(or_([u.c("name").eq("x"), u.c("age").eq(1)])),
        ),
        (
            "label",
            select(u.c("id").label("l")).where_(u.c("name").eq("x")),
        ),
        (
            "other label",
            select(u.c("id").label("m")).where_(u.c("name").eq("x")),
        ),
        (
            "other function",
            select(func::upper(u.c("id"))).where_(u.c("name").eq("x")),
        ),
        (
            "called function",
            select(func::call("f", [u.c("id")])).where_(u.c("name").eq("x")),
        ),
        ("other alias", {
            let al = u.alias("u3");
            select(al.c("id")).where_(al.c("name").eq("x"))
        }),
        ("alias only in FROM", base().select_from(u.alias("f1"))),
        (
            "other alias only in FROM",
            base().select_from(u.alias("f2")),
        ),
        ("correlated to x1", correlated("x1")),
        ("correlated to x2", correlated("x2")),
        (
            "function",
            select(func::lower(u.c("id"))).where_(u.c("name").eq("x")),
        ),
        (
            "cast",
            select(u.c("id").cast(SqlType::Text)).where_(u.c("name").eq("x")),
        ),
        (
            "cast other type",
            select(u.c("id").cast(SqlType::String(Some(5)))).where_(u.c("name").eq("x")),
        ),
        ("limit", base().limit(1)),
        ("offset", base().offset(1)),
        ("order", base().order_by([u.c("id")])),
        ("order desc", base().order_by([u.c("id").desc()])),
        (
            "order nulls first",
            base().order_by([u.c("id").asc().nulls_first()]),
        ),
        ("distinct", base().distinct()),
        ("for update", base().for_update()),
        ("for share", base().for_share()),
        ("join", base().join(a)),
        ("outer join", base().outerjoin(a)),
        ("join on", base().join_on(a, a.c("id").eq(u.c("id")))),
        ("group by", base().group_by([u.c("id")])),
        (
            "having",
            base().group_by([u.c("id")]).having(u.c("age").gt(1)),
        ),
        ("union", base().union(base())),
        ("union all", base().union_all(base())),
        (
            "window",
            select(func::row_number().over(Window::new().order_by([u.c("id")])))
                .where_(u.c("name").eq("x")),
        ),
        (
            "window frame",
            select(
                func::row_number().over(
                    Window::new()
                        .order_by([u.c("id")])
                        .rows(FrameBound::Preceding(1), FrameBound::CurrentRow),
                ),
            )
            .where_(u.c("name").eq("x")),
        ),
        (
            "literal column",
            select(literal_column("1")).where_(u.c("name").eq("x")),
        ),
        (
            "subquery",
            select(u.c("id")).where_(u.c("name").in_select(select(a.c("email")))),
        ),
        // A table named like an alias of another table: the implied FROM lists are
        // `FROM u2` and `FROM users AS u2`.
        ("table named like the alias", {
            static U2: OnceLock<Table> = OnceLock::new();
            let t = U2.get_or_init(|| {
                Table::build("u2")
                    .column(Column::new("id", SqlType::Integer))
                    .column(Column::new("name", SqlType::String(Some(30))))
                    .finish()
                    .expect("u2")
            });
            select(t.c("id")).where_(t.c("name").eq("x"))
        }),
        (
            "second table only in WHERE",
            select(u.c("id")).where_(a.c("email").eq("x")),
        ),
        (
            "second table only in ORDER BY",
            base().order_by([a.c("email")]),
        ),
    ];
    for d in DIALECTS {
        let keys: Vec<(&str, Vec<u8>)> = variants.iter().map(|(n, s)| (*n, key(s, d))).collect();
        for (i, (n1, k1)) in keys.iter().enumerate() {
            for (n2, k2) in &keys[i + 1..] {
                assert_ne!(k1, k2, "{n1} and {n2} share a key on {}", d.name());
            }
        }
    }
    // The dialect is part of the key.
    let b = base();
    assert_ne!(key(&b, &SqliteDialect), key(&b, &PostgresDialect));
    assert_ne!(key(&b, &PostgresDialect), key(&b, &MySqlDialect));
    // DML.
    let dml: Vec<Stmt> = vec![
        Box::new(insert(u).value("name", "x")),
        Box::new(insert(u).value("fullname", "x")),
        Box::new(insert(a).value("email", "x")),
        Box::new(insert(u).value("name", "x").returning(u.c("id"))),
        Box::new(insert(u).value("name", "x").on_conflict_do_nothing(["id"])),
        Box::new(update(u).set("name", "x")),
        Box::new(update(u).set("name", "x").where_(u.c("id").eq(1))),
        Box::new(delete(u)),
        Box::new(delete(u).where_(u.c("id").eq(1))),
        Box::new(delete(u).where_(u.c("id").gt(1))),
        Box::new(text("SELECT :x").bind("x", 1)),
        Box::new(text("SELECT :x ").bind("x", 1)),
    ];
    let keys: Vec<Vec<u8>> = dml
        .iter()
        .map(|s| {
            cache_key(s.as_ref(), &SqliteDialect)
                .map(|k| k.key)
                .unwrap_or_default()
        })
        .collect();
    for (i, k1) in keys.iter().enumerate() {
        for (j, k2) in keys.iter().enumerate().skip(i + 1) {
            assert_ne!(k1, k2, "DML statements {i} and {j} share a key");
        }
    }
}

/// Two tables of the same name but different definitions: what the statement takes from
/// the definition (client-side defaults, onupdates, the foreign key of an inferred join)
/// must be in the key, or one cache would serve one table's SQL for the other.
#[test]
fn cache_key_covers_table_definitions() {
    let t1 = Table::build("t")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("a", SqlType::Integer).default(1).onupdate(2))
        .column(Column::new("b", SqlType::Integer))
        .finish()
        .expect("t1");
    let t2 = Table::build("t")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("a", SqlType::Integer))
        .column(Column::new("b", SqlType::Integer).default(1).onupdate(2))
        .finish()
        .expect("t2");
    let child = |fk: &str| {
        Table::build("child")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("a", SqlType::Integer).foreign_key(fk))
            .column(Column::new("b", SqlType::Integer))
            .finish()
            .expect("child")
    };
    let (c1, c2) = (child("t.id"), child("t.b"));
    let pairs: Vec<(&str, Stmt, Stmt)> = vec![
        (
            "insert defaults",
            Box::new(insert(&t1).value("id", 5)),
            Box::new(insert(&t2).value("id", 5)),
        ),
        (
            "insert only defaults",
            Box::new(insert(&t1)),
            Box::new(insert(&t2)),
        ),
        (
            "update onupdates",
            Box::new(update(&t1).set("id", 5)),
            Box::new(update(&t2).set("id", 5)),
        ),
        (
            "inferred join",
            Box::new(select(t1.c("id")).join(&c1)),
            Box::new(select(t1.c("id")).join(&c2)),
        ),
        (
            "inferred join as a FROM item",
            Box::new(select(t1.c("id")).select_from(t1.join(&c1))),
            Box::new(select(t1.c("id")).select_from(t1.join(&c2))),
        ),
    ];
    for d in DIALECTS {
        for (name, x, y) in &pairs {
            let (fx, fy) = (fresh(x.as_ref(), d), fresh(y.as_ref(), d));
            let (sx, sy) = (
                &fx.as_ref().expect("compiles").0,
                &fy.as_ref().expect("compiles").0,
            );
            assert_ne!(sx, sy, "{name}: the test needs different SQL");
            assert_ne!(
                key(x.as_ref(), d),
                key(y.as_ref(), d),
                "{name} on {}",
                d.name()
            );
            let cache = StatementCache::new(8);
            assert!(same_compiled(&cache.compile(x.as_ref(), d), &fx));
            assert!(same_compiled(&cache.compile(y.as_ref(), d), &fy), "{name}");
        }
    }
}

/// Each thread keeps a small front cache before the shared LRU: it serves only the
/// cache it took an entry from, and nothing once that cache is cleared.
#[test]
fn front_cache_serves_its_own_cache_until_cleared() {
    let s = schema();
    let stmt = select(s.users.c("id")).where_(s.users.c("id").eq(1));
    let d = &SqliteDialect;
    let (a, b) = (StatementCache::new(4), StatementCache::new(4));
    a.template(&stmt, d).expect("template");
    a.template(&stmt, d).expect("template");
    assert_eq!(a.stats(), (1, 1));
    b.template(&stmt, d).expect("template");
    assert_eq!(b.stats(), (0, 1), "another cache on the same thread");
    a.clear();
    assert!(a.is_empty());
    a.template(&stmt, d).expect("template");
    assert_eq!(a.stats(), (1, 2), "cleared: rendered again");
    a.template(&stmt, d).expect("template");
    assert_eq!(a.stats(), (2, 2));
    // Another thread finds it in the shared LRU.
    std::thread::scope(|sc| {
        sc.spawn(|| a.template(&stmt, d).expect("template"));
    });
    assert_eq!(a.stats(), (3, 2));
}

/// A select whose FROM follows from its columns is keyed without resolving it, and
/// walked again the general way when a subquery turns up: what the first walk noted
/// (a CTE met inside the subquery) must not leak into the second.
#[test]
fn key_walk_retried_for_a_subquery_reading_a_cte() {
    let s = schema();
    let u = &s.users;
    let older = select(u.c("id")).where_(u.c("age").gt(5)).cte("older");
    let stmt = select(u.c("name")).where_(u.c("id").in_select(select(older.c("id"))));
    for d in DIALECTS {
        let fresh = fresh(&stmt, d).expect("compiles");
        assert!(fresh.0.contains("WITH"), "{}", fresh.0);
        assert_eq!(fresh.1, vec![Value::Int(5)], "{}", d.name());
        let cache = StatementCache::new(4);
        assert!(same_compiled(&cache.compile(&stmt, d), &Ok(fresh.clone())));
        assert!(same_compiled(&cache.compile(&stmt, d), &Ok(fresh)));
    }
}

#[test]
fn cache_key_ignores_values() {
    let s = schema();
    let u = &s.users;
    let a = |name: &str, ids: Vec<i32>, limit: u64| {
        select(u.c("id"))
            .where_(u.c("name").eq(name))
            .where_(u.c("id").in_(ids))
            .where_(u.c("fullname").contains(name))
            .limit(limit)
    };
    for d in DIALECTS {
        let (s1, s2) = (
            a("x", vec![1], 10),
            a("'; DROP TABLE users; --", vec![5, 6, 7, 8], 3),
        );
        let k1 = cache_key(&s1, d).expect("key");
        let k2 = cache_key(&s2, d).expect("key");
        assert_eq!(k1.key, k2.key);
        assert_eq!(k1.params.len(), k2.params.len());
        // An empty IN list is another shape.
        let s3 = a("x", vec![], 10);
        let k3 = cache_key(&s3, d).expect("key");
        assert_ne!(k1.key, k3.key);
    }
}

/// A small alphabet of expressions, so that random pairs often share their structure.
fn small_expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        (0u8..2, 0u8..2).prop_map(|(i, j)| E::Col(i, j)),
        (0i32..3).prop_map(|i| E::Val(Value::Int(i))),
        (0i32..2).prop_map(|i| E::Val(Value::Text(i.to_string()))),
        Just(E::Val(Value::Null)),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), 0u8..6, inner.clone()).prop_map(|(a, o, b)| E::Cmp(
                Box::new(a),
                o,
                Box::new(b)
            )),
            (inner.clone(), 0u8..6, inner.clone()).prop_map(|(a, o, b)| E::Arith(
                Box::new(a),
                o,
                Box::new(b)
            )),
            vec(inner.clone(), 2..3).prop_map(E::And),
            vec(inner.clone(), 2..3).prop_map(E::Or),
            inner.clone().prop_map(|a| E::Not(Box::new(a))),
            (
                inner.clone(),
                vec((0i32..2).prop_map(Value::Int), 0..3),
                any::<bool>()
            )
                .prop_map(|(a, l, n)| E::In(Box::new(a), l, n)),
            (inner.clone(), inner.clone(), 0u8..5, Just('/')).prop_map(|(a, p, k, c)| E::Like(
                Box::new(a),
                Box::new(p),
                k,
                c
            )),
            (inner.clone(), 0u8..14).prop_map(|(a, k)| E::Agg(k, Box::new(a))),
            (inner, 0u8..3)
                .prop_map(|(a, n)| E::Label(Box::new(a), ["l1", "l2", "l3"][n as usize].into())),
        ]
    })
}

/// `e` with one node changed, at the `at`-th node in walk order: another operator,
/// column, list kind, label or function. The result may or may not render differently.
fn mutate(e: &E, at: &mut u32, k: u8) -> E {
    let here = *at == 0;
    *at = at.wrapping_sub(1);
    let bx = |e: E| Box::new(e);
    match e {
        E::Col(i, j) if here => E::Col(i.wrapping_add(k % 2), j.wrapping_add(k / 2 % 2 + 1)),
        E::Val(v) if here => E::Val(match v {
            Value::Int(i) => Value::Text(i.to_string()),
            Value::Text(_) => Value::Null,
            _ => Value::Int(k as i32),
        }),
        E::Cmp(a, o, b) if here => E::Cmp(a.clone(), o.wrapping_add(1 + k % 5), b.clone()),
        E::Cmp(a, o, b) => E::Cmp(bx(mutate(a, at, k)), *o, bx(mutate(b, at, k))),
        E::Arith(a, o, b) if here => E::Arith(a.clone(), o.wrapping_add(1 + k % 5), b.clone()),
        E::Arith(a, o, b) => E::Arith(bx(mutate(a, at, k)), *o, bx(mutate(b, at, k))),
        E::And(v) if here => E::Or(v.clone()),
        E::Or(v) if here => E::And(v.clone()),
        E::And(v) => E::And(v.iter().map(|x| mutate(x, at, k)).collect()),
        E::Or(v) => E::Or(v.iter().map(|x| mutate(x, at, k)).collect()),
        E::Not(a) if here => (**a).clone(),
        E::Not(a) => E::Not(bx(mutate(a, at, k))),
        E::In(a, l, n) if here => match k % 3 {
            0 => E::In(a.clone(), l.clone(), !n),
            1 if l.is_empty() => E::In(a.clone(), vec![Value::Int(1)], *n),
            _ => E::In(a.clone(), vec![], *n),
        },
        E::In(a, l, n) => E::In(bx(mutate(a, at, k)), l.clone(), *n),
        E::Like(a, p, kind, c) if here => {
            E::Like(a.clone(), p.clone(), kind.wrapping_add(1 + k % 4), *c)
        }
        E::Like(a, p, kind, c) => E::Like(bx(mutate(a, at, k)), bx(mutate(p, at, k)), *kind, *c),
        E::Agg(kind, a) if here => E::Agg(kind.wrapping_add(1 + k % 13), a.clone()),
        E::Agg(kind, a) => E::Agg(*kind, bx(mutate(a, at, k))),
        E::Label(a, n) if here => E::Label(a.clone(), format!("{n}x")),
        E::Label(a, n) => E::Label(bx(mutate(a, at, k)), n.clone()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(support::proptest_config(256))]

    /// (b) Equal keys mean equal SQL templates: a statement and a near miss (one node
    /// changed) or an unrelated statement never share a key unless they render alike.
    #[test]
    fn equal_keys_mean_equal_templates(
        a in small_expr(),
        other in small_expr(),
        near in any::<bool>(),
        at in prop_oneof![Just(0u32), 0u32..12],
        k in any::<u8>(),
        la in any::<bool>(),
        lb in any::<bool>(),
    ) {
        let b = if near { mutate(&a, &mut at.clone(), k) } else { other };
        let make = |e: &E, limit: bool| {
            let s = S {
                cols: vec![E::Col(0, 0), e.clone()],
                from: vec![],
                joins: vec![],
                where_: vec![e.clone()],
                group_by: vec![],
                having: vec![],
                order_by: vec![],
                limit: limit.then_some(5),
                offset: None,
                distinct: 0,
                lock: 0,
            };
            build(&St::Select(s), None)
        };
        let (sa, sb) = (make(&a, la), make(&b, lb));
        for d in DIALECTS {
            let (ka, kb) = (cache_key(sa.as_ref(), d), cache_key(sb.as_ref(), d));
            let (Ok(ka), Ok(kb)) = (ka, kb) else { continue };
            if ka.key == kb.key {
                let ta = render_template(sa.as_ref(), d, ka.params.len());
                let tb = render_template(sb.as_ref(), d, kb.params.len());
                prop_assert_eq!(ta, tb, "one key, two templates on {}", d.name());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 5. text()
// ---------------------------------------------------------------------------------------

fn sqlite(stmt: &dyn Compilable) -> strata::Result<(String, Vec<Value>)> {
    fresh(stmt, &SqliteDialect)
}

fn pg(stmt: &dyn Compilable) -> strata::Result<(String, Vec<Value>)> {
    fresh(stmt, &PostgresDialect)
}

#[test]
fn text_parses_named_parameters() {
    let t = text("SELECT * FROM t WHERE a = :a AND b = :b_2 OR c = :a")
        .bind("a", 1)
        .bind("b_2", "two");
    assert_eq!(t.param_names(), ["a", "b_2", "a"]);
    let (sql, params) = sqlite(&t).expect("compiles");
    assert_eq!(sql, "SELECT * FROM t WHERE a = ? AND b = ? OR c = ?");
    assert_eq!(params, [Value::Int(1), Value::from("two"), Value::Int(1)]);
    let (sql, params) = pg(&t).expect("compiles");
    assert_eq!(sql, "SELECT * FROM t WHERE a = $1 AND b = $2 OR c = $3");
    assert_eq!(params.len(), 3);
    // A later bind of the same name replaces the value.
    let t = text("SELECT :x").bind("x", 1).bind("x", 2);
    assert_eq!(sqlite(&t).expect("compiles").1, [Value::Int(2)]);
    // Unicode names.
    let t = text("SELECT :größe").bind("größe", 3);
    assert_eq!(
        sqlite(&t).expect("compiles"),
        ("SELECT ?".to_string(), vec![Value::Int(3)])
    );
}

#[test]
fn text_leaves_casts_quotes_escapes_and_comments_alone() {
    // '::' is a PostgreSQL cast, not a parameter; `:v::int` is a parameter then a cast.
    let t = text("SELECT :v::int, x::text FROM t").bind("v", "5");
    assert_eq!(t.param_names(), ["v"]);
    assert_eq!(
        pg(&t).expect("compiles").0,
        "SELECT $1::int, x::text FROM t"
    );
    // Quoted sections (string literals, quoted identifiers, backticks) are not parsed,
    // doubled quote characters included.
    let sql = r#"SELECT ':x', 'it''s :y', ":z", "a"":w", `:q` FROM t"#;
    let t = text(sql);
    assert!(t.param_names().is_empty());
    assert_eq!(sqlite(&t).expect("compiles"), (sql.to_string(), vec![]));
    // `\:` is a literal colon.
    let t = text(r"SELECT a\:b, c\:d");
    assert!(t.param_names().is_empty());
    assert_eq!(sqlite(&t).expect("compiles").0, "SELECT a:b, c:d");
    // `--` comments run to the end of the line.
    let t = text("SELECT 1 -- :hidden\n, :shown").bind("shown", 1);
    assert_eq!(t.param_names(), ["shown"]);
    assert_eq!(sqlite(&t).expect("compiles").0, "SELECT 1 -- :hidden\n, ?");
    // A colon not followed by a name is text.
    let t = text("SELECT ':' || : || :1");
    assert!(t.param_names().is_empty());
    assert!(sqlite(&t).is_ok());
}

#[test]
fn text_reports_missing_and_unused_binds() {
    let missing = text("SELECT :a, :b").bind("a", 1);
    assert!(matches!(sqlite(&missing), Err(Error::Parameter(m)) if m.contains(":b")));
    assert!(matches!(
        StatementCache::new(4).compile(&missing, &SqliteDialect),
        Err(Error::Parameter(_))
    ));
    let unused = text("SELECT :a").bind("a", 1).bind("nope", 2);
    assert!(matches!(sqlite(&unused), Err(Error::Parameter(m)) if m.contains(":nope")));
    // A name that only appears quoted or commented is unused.
    let quoted = text("SELECT ':a' -- :b").bind("a", 1);
    assert!(matches!(sqlite(&quoted), Err(Error::Parameter(_))));
    assert!(matches!(
        pg(&text("SELECT :a").bind("b", 1)),
        Err(Error::Parameter(_))
    ));
}

proptest! {
    #![proptest_config(support::proptest_config(256))]

    /// Arbitrary SQL given to text() never panics: it compiles or names the parameter
    /// that has no value.
    #[test]
    fn text_never_panics(sql in nasty_string(), more in any::<String>()) {
        for sql in [sql.clone(), format!("{sql}{more}"), format!(":{sql}")] {
            let t = text(&sql);
            let names = no_panic("param_names", || t.param_names())?;
            for d in DIALECTS {
                let r = no_panic("compile", || fresh(&t, d))?;
                match r {
                    Ok((_, params)) => prop_assert!(params.is_empty() && names.is_empty()),
                    Err(e) => prop_assert!(matches!(e, Error::Parameter(_)), "{e}"),
                }
            }
        }
    }

    /// The parameters of a text() statement are its bound values in the order the
    /// parameter names appear, with one placeholder each.
    #[test]
    fn text_params_follow_appearance(pieces in vec(0u8..12, 0..8), values in vec(value(), 1..4)) {
        let source = text_sql(&pieces);
        let stmt = build(&St::Text(pieces, values.clone(), None), None);
        let names = distinct_param_names(&source);
        let bound = |n: &String| {
            let i = names.iter().position(|x| x == n).unwrap_or(0);
            values[i % values.len()].clone()
        };
        // Every name is bound, so the statement compiles.
        for d in [&SqliteDialect as &dyn Dialect, &PostgresDialect] {
            let (sql, params) = fresh(stmt.as_ref(), d).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let expected: Vec<Value> = text(&source)
                .param_names()
                .iter()
                .map(bound)
                .collect();
            prop_assert!(same_values(&params, &expected), "{:?} vs {:?}", params, expected);
            if d.name() == "sqlite" {
                prop_assert_eq!(sql.matches('?').count(), params.len(), "{}", sql);
            } else {
                let numbers: Vec<usize> = sql
                    .split('$')
                    .skip(1)
                    .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>())
                    .filter_map(|n| n.parse().ok())
                    .collect();
                prop_assert_eq!(numbers, (1..=params.len()).collect::<Vec<_>>(), "{}", sql);
            }
        }
    }
}

/// Expressions built in a loop far deeper than strata compiles clone and drop without
/// overflowing a spawned thread's 2 MiB stack (in a debug build, whose frames are the
/// largest): both recurse a level at a time, and go on in a fresh stack segment when
/// the stack runs low. Compiling one is an error on every dialect.
#[test]
fn deep_expressions_clone_and_drop_on_a_small_stack() {
    let worker = std::thread::Builder::new().stack_size(2 << 20);
    let run = worker.spawn(|| {
        let mut sum = column("x");
        let mut negated = column("x").eq(1);
        let mut nested = column("x").eq(0);
        for i in 0..50_000 {
            sum = sum + literal(1);
            negated = not_(negated);
            // An OR holding an AND holding an OR ...: nested through lists.
            nested = or_([nested.and(column("y").eq(i)), column("z").eq(i)]);
        }
        for deep in [&sum, &negated, &nested] {
            let copy = deep.clone();
            for d in DIALECTS {
                let compiled = select(copy.clone()).compile(d);
                assert!(
                    matches!(&compiled, Err(Error::InvalidStatement(m)) if m.contains("nested more than")),
                    "{}: {compiled:?}",
                    d.name()
                );
            }
        }
        drop((sum, negated, nested));
    });
    run.unwrap().join().unwrap();
}

/// Statements nested through their FROM lists, joins and set operations, built in a
/// loop far deeper than strata compiles, clone and drop without overflowing a spawned
/// thread's 2 MiB stack, as deep expressions do; compiling one is an error.
#[test]
fn deep_statements_clone_and_drop_on_a_small_stack() {
    let worker = std::thread::Builder::new().stack_size(2 << 20);
    let run = worker.spawn(|| {
        let t = Table::build("t")
            .column(Column::new("id", SqlType::Integer))
            .finish()
            .unwrap();
        let levels = 50_000;
        // SELECT q.id FROM (SELECT q.id FROM (...) AS q) AS q
        let mut in_from = select(t.c("id"));
        // t JOIN t AS a0 ON ... JOIN t AS a1 ON ...
        let mut joins = FromItem::from(&t);
        // SELECT ... UNION (SELECT ... UNION (...)), each member with its own LIMIT
        let mut unions = select(t.c("id"));
        for i in 0..levels {
            in_from = select(in_from.subquery("q").c("id"));
            let a = t.alias(format!("a{i}"));
            let on = a.c("id").eq(t.c("id"));
            joins = joins.join_on(a, on);
            unions = select(t.c("id")).union(unions.limit(1));
        }
        let joined = select(t.c("id")).select_from(joins);
        for deep in [&in_from, &joined, &unions] {
            let copy = deep.clone();
            for d in DIALECTS {
                let compiled = copy.compile(d);
                assert!(
                    matches!(&compiled, Err(Error::InvalidStatement(m)) if m.contains("nested more than")),
                    "{}: {compiled:?}",
                    d.name()
                );
            }
        }
        drop((in_from, joined, unions));
        // A chain of joins within the limit compiles, one JOIN a level.
        let mut joins = FromItem::from(&t);
        for i in 0..1500 {
            let a = t.alias(format!("a{i}"));
            let on = a.c("id").eq(t.c("id"));
            joins = joins.join_on(a, on);
        }
        let joined = select(t.c("id")).select_from(joins);
        for d in DIALECTS {
            let sql = joined.compile(d).unwrap().sql().to_string();
            assert_eq!(sql.matches(" JOIN ").count(), 1500, "{}", d.name());
        }
    });
    run.unwrap().join().unwrap();
}
