//! Golden SQL: every Core construct compiled for SQLite, PostgreSQL and MySQL, pinned
//! by `insta` snapshots (`tests/snapshots/golden_sql__*.snap`), plus plain assertions
//! that fail if one of sea-query's known faults leaks through strata's compiler.
//!
//! Each snapshot holds one construct: a line per dialect with the SQL text and its
//! parameters in placeholder order, or `ERROR <message>` where the dialect rejects it.
//! Regenerate with `INSTA_UPDATE=always cargo test --test golden_sql`, then review the
//! changed `.snap` files before committing them.

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};

use strata::dialects::{MySqlDialect, PostgresDialect, SqliteDialect};
use strata::{
    and_, case, cast, column, compile, create_index, create_table, delete, drop_index, drop_table,
    except, exists, false_, func, insert, intersect, literal, literal_column, not_, null, or_,
    select, text, true_, tuple, union, union_all, update, Autoincrement, CheckConstraint, Column,
    Compilable, Dialect, Error, Expr, ForeignKey, FrameBound, Index, JoinKind, MetaData,
    NamingConvention, ReferentialAction, SqlType, Table, UniqueConstraint, Value, Window,
};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn dialects() -> [&'static dyn Dialect; 3] {
    [&SqliteDialect, &PostgresDialect, &MySqlDialect]
}

/// One statement compiled on every dialect: `name: SQL  params: [...]` or
/// `name: ERROR message`, one line per dialect (DDL keeps its own line breaks).
fn golden(stmt: &dyn Compilable) -> String {
    let mut out = String::new();
    for d in dialects() {
        match compile(stmt, d) {
            Ok(c) => writeln!(out, "{}: {}  params: {:?}", d.name(), c.sql(), c.params()),
            Err(e) => writeln!(out, "{}: ERROR {e}", d.name()),
        }
        .unwrap();
    }
    out
}

/// A list of DDL statements per dialect (`create_all_sql`, `drop_all_sql`).
fn golden_list(f: impl Fn(&dyn Dialect) -> strata::Result<Vec<String>>) -> String {
    let mut out = String::new();
    for d in dialects() {
        match f(d) {
            Ok(list) => {
                writeln!(out, "{}:", d.name()).unwrap();
                for s in list {
                    writeln!(out, "{s};").unwrap();
                }
            }
            Err(e) => writeln!(out, "{}: ERROR {e}", d.name()).unwrap(),
        }
    }
    out
}

/// The shared schema: users, their addresses, posts and comments, messages between
/// users (two foreign keys to users), a self-referencing employees table and an
/// unrelated tags table.
struct Fx {
    md: MetaData,
    users: Table,
    addresses: Table,
    posts: Table,
    comments: Table,
    messages: Table,
    employees: Table,
    tags: Table,
}

fn fx() -> Fx {
    let mut md = MetaData::new();
    let users = Table::build("users")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(30))).not_null())
        .column(Column::new("fullname", SqlType::String(Some(50))))
        .column(Column::new("age", SqlType::Integer))
        .add_to(&mut md)
        .unwrap();
    let addresses = Table::build("addresses")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .foreign_key("users.id")
                .not_null(),
        )
        .column(Column::new("email_address", SqlType::String(Some(100))).not_null())
        .add_to(&mut md)
        .unwrap();
    let posts = Table::build("posts")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .foreign_key("users.id")
                .not_null(),
        )
        .column(Column::new("title", SqlType::String(Some(200))).not_null())
        .column(Column::new("body", SqlType::Text))
        .column(Column::new("views", SqlType::Integer).default(0))
        .column(Column::new("status", SqlType::String(Some(20))).default("draft"))
        .column(Column::new("updated_at", SqlType::DateTime).onupdate(func::now()))
        .add_to(&mut md)
        .unwrap();
    let comments = Table::build("comments")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("post_id", SqlType::Integer)
                .foreign_key("posts.id")
                .not_null(),
        )
        .column(Column::new("body", SqlType::Text).not_null())
        .add_to(&mut md)
        .unwrap();
    let messages = Table::build("messages")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("sender_id", SqlType::Integer).foreign_key("users.id"))
        .column(Column::new("recipient_id", SqlType::Integer).foreign_key("users.id"))
        .column(Column::new("body", SqlType::Text))
        .add_to(&mut md)
        .unwrap();
    let employees = Table::build("employees")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(50))).not_null())
        .column(Column::new("manager_id", SqlType::Integer).foreign_key("employees.id"))
        .column(Column::new("dept", SqlType::String(Some(30))))
        .column(Column::new("salary", SqlType::Numeric(Some((10, 2)))))
        .add_to(&mut md)
        .unwrap();
    let tags = Table::build("tags")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("label", SqlType::String(Some(30))).unique())
        .add_to(&mut md)
        .unwrap();
    Fx {
        md,
        users,
        addresses,
        posts,
        comments,
        messages,
        employees,
        tags,
    }
}

/// `golden!(name, |f| statement)`: a test compiling `statement` on every dialect and
/// comparing with the snapshot called `name`.
macro_rules! golden {
    ($name:ident, |$f:ident| $stmt:expr) => {
        #[test]
        fn $name() {
            #[allow(unused_variables)]
            let $f = fx();
            let stmt = $stmt;
            insta::assert_snapshot!(stringify!($name), golden(&stmt));
        }
    };
}

// ---------------------------------------------------------------------------------------
// Column references, literals, comparisons
// ---------------------------------------------------------------------------------------

golden!(column_refs, |f| select((
    f.users.c("id"),
    f.users.c("name")
)));

golden!(unqualified_column_and_literal_column, |f| select((
    column("name"),
    literal_column("1 + 1").label("two")
))
.select_from(&f.users));

golden!(bound_literals, |f| select((
    literal(5).label("int"),
    literal(7_i64).label("bigint"),
    literal(1.5_f64).label("double"),
    literal("it's").label("text"),
    literal(true).label("flag"),
    literal(None::<i32>).label("nothing"),
    literal(vec![1_u8, 2, 3]).label("bytes"),
)));

golden!(keyword_constants_null_true_false, |f| select((
    null(),
    true_(),
    false_()
))
.select_from(&f.users)
.where_(true_()));

golden!(compare_eq, |f| select(f.users.c("id"))
    .where_(f.users.c("name").eq("spongebob")));

golden!(compare_ne, |f| select(f.users.c("id"))
    .where_(f.users.c("name").ne("spongebob")));

golden!(compare_lt_le, |f| select(f.users.c("id"))
    .where_(f.users.c("age").lt(30))
    .where_(f.users.c("id").le(100)));

golden!(compare_gt_ge, |f| select(f.users.c("id"))
    .where_(f.users.c("age").gt(18))
    .where_(f.users.c("id").ge(10)));

golden!(compare_column_to_column, |f| select(f.users.c("id"))
    .where_(f.users.c("id").eq(f.users.c("age"))));

// ---------------------------------------------------------------------------------------
// Boolean logic
// ---------------------------------------------------------------------------------------

golden!(and_or_not_functions, |f| select(f.users.c("id")).where_(
    and_([
        f.users.c("name").eq("a"),
        or_([f.users.c("age").lt(10), f.users.c("age").gt(60)]),
        not_(f.users.c("fullname").eq("x")),
    ])
));

golden!(and_or_not_operators, |f| select(f.users.c("id")).where_(
    (f.users.c("name").eq("a") | f.users.c("name").eq("b"))
        & !(f.users.c("age").lt(18) & f.users.c("age").is_not_null())
));

golden!(empty_and_or_are_true_false, |f| select(f.users.c("id"))
    .where_(and_(Vec::<Expr>::new()))
    .where_(or_(Vec::<Expr>::new()).or(f.users.c("id").eq(1))));

golden!(is_null_is_not_null, |f| select(f.users.c("id"))
    .where_(f.users.c("fullname").is_null())
    .where_(f.users.c("age").is_not_null()));

golden!(eq_none_is_null_ne_none_is_not_null, |f| select(
    f.users.c("id")
)
.where_(f.users.c("fullname").eq(None::<&str>))
.where_(f.users.c("age").ne(None::<i32>)));

// ---------------------------------------------------------------------------------------
// IN, BETWEEN, LIKE
// ---------------------------------------------------------------------------------------

golden!(in_list, |f| select(f.users.c("id"))
    .where_(f.users.c("id").in_([1, 2, 3])));

golden!(in_empty_list_is_never_true, |f| select(f.users.c("id"))
    .where_(f.users.c("id").in_(Vec::<i32>::new())));

golden!(not_in_list, |f| select(f.users.c("id"))
    .where_(f.users.c("name").not_in(["a", "b"])));

golden!(not_in_empty_list_is_always_true, |f| select(
    f.users.c("id")
)
.where_(f.users.c("id").not_in(Vec::<i32>::new())));

golden!(in_select, |f| select(f.users.c("name")).where_(
    f.users.c("id").in_select(
        select(f.addresses.c("user_id"))
            .where_(f.addresses.c("email_address").like("%@example.com"))
    )
));

golden!(not_in_select, |f| select(f.users.c("name")).where_(
    f.users.c("id").not_in_select(select(f.posts.c("user_id")))
));

golden!(in_exprs, |f| select(f.users.c("id")).where_(
    f.users
        .c("age")
        .in_exprs([f.users.c("id"), literal(5), f.users.c("id") + 1])
));

golden!(between_and_not_between, |f| select(f.users.c("id"))
    .where_(f.users.c("age").between(18, 65))
    .where_(f.users.c("id").not_between(100, 200)));

golden!(like, |f| select(f.users.c("id"))
    .where_(f.users.c("name").like("sp%")));

golden!(ilike, |f| select(f.users.c("id"))
    .where_(f.users.c("name").ilike("SP%")));

golden!(not_like_not_ilike, |f| select(f.users.c("id"))
    .where_(f.users.c("name").not_like("a%"))
    .where_(f.users.c("fullname").not_ilike("B%")));

golden!(like_escape, |f| select(f.users.c("id"))
    .where_(f.users.c("name").like_escape("100#%%", '#')));

golden!(like_escape_backslash, |f| select(f.users.c("id"))
    .where_(f.users.c("name").like_escape("100\\%%", '\\')));

golden!(contains_escapes_wildcards, |f| select(f.users.c("id"))
    .where_(f.users.c("name").contains("50%_off/now")));

golden!(startswith_endswith, |f| select(f.users.c("id"))
    .where_(f.users.c("name").startswith("a_b"))
    .where_(f.users.c("fullname").endswith("100%")));

golden!(contains_column_expression, |f| select(f.users.c("id"))
    .where_(f.users.c("fullname").contains(f.users.c("name"))));

// ---------------------------------------------------------------------------------------
// Arithmetic, concatenation, functions
// ---------------------------------------------------------------------------------------

golden!(arithmetic_operators, |f| select((
    (f.users.c("age") + 1).label("plus"),
    (f.users.c("age") - 1).label("minus"),
    (f.users.c("age") * 2).label("times"),
    (f.users.c("age") / 3).label("div"),
    (f.users.c("age") % 4).label("modulo"),
)));

golden!(arithmetic_precedence_and_negation, |f| select((
    ((f.users.c("age") + 1) * 2).label("a"),
    (f.users.c("age") - (f.users.c("id") - 1)).label("b"),
    (-f.users.c("age")).label("neg"),
    (-(f.users.c("age") + 1)).label("neg_sum"),
)));

// `/` of two integers is an integer on every dialect (MySQL: DIV); any other `/` is `/`.
golden!(integer_and_other_division, |f| select((
    ((f.users.c("age") + 1) / (f.users.c("id") * 2) * 3).label("ints"),
    (-f.users.c("age") / cast(f.employees.c("salary"), SqlType::BigInteger)).label("cast"),
    (f.employees.c("salary") / 2).label("numeric"),
    (f.users.c("age") / 2.5).label("double"),
    (column("age") / 2).label("untyped"),
    (f.users.c("age") / 2)
        .gt(f.users.c("id") / 3)
        .label("compared"),
    (f.users.c("id") - f.users.c("age") / 2).label("subtracted"),
))
.select_from(&f.users)
.join_on(&f.employees, f.users.c("id").eq(f.employees.c("id"))));

// A subquery's column keeps its type, so `/` of its integers is an integer too.
golden!(integer_division_of_subquery_columns, |f| {
    let sub = select((f.users.c("age"), f.employees.c("salary")))
        .select_from(&f.users)
        .join_on(&f.employees, f.users.c("id").eq(f.employees.c("id")))
        .subquery("sub");
    select((sub.c("age") / 2, sub.c("salary") / 2))
});

golden!(concat, |f| select(
    f.users
        .c("name")
        .concat(" ")
        .concat(f.users.c("fullname"))
        .label("display")
));

golden!(aggregate_functions, |f| select((
    func::count(f.users.c("id")),
    func::count_star(),
    func::sum(f.users.c("age")),
    func::avg(f.users.c("age")),
    func::min(f.users.c("age")),
    func::max(f.users.c("age")),
)));

golden!(count_distinct, |f| select((
    func::count(f.users.c("name")).distinct().label("names"),
    func::call("sum", [f.users.c("age")])
        .distinct()
        .label("distinct_age_sum"),
)));

golden!(scalar_functions, |f| select((
    func::coalesce([f.users.c("fullname"), f.users.c("name"), literal("?")]),
    func::lower(f.users.c("name")),
    func::upper(f.users.c("name")),
    func::length(f.users.c("name")),
    func::abs(f.users.c("age") - 40),
)));

golden!(func_now, |f| select(func::now().label("ts"))
    .select_from(&f.users));

golden!(func_call_any_name, |f| select((
    func::call("replace", [f.users.c("name"), literal("a"), literal("b")]),
    func::call("NULLIF", [f.users.c("age"), literal(0)]),
    func::call("trim", [f.users.c("fullname")]).label("trimmed"),
)));

golden!(case_when_else, |f| select((
    f.users.c("name"),
    case(
        [
            (f.users.c("age").lt(18), literal("minor")),
            (f.users.c("age").lt(65), literal("adult")),
        ],
        Some(literal("senior"))
    )
    .label("bracket"),
)));

golden!(case_without_else, |f| select(
    case([(f.users.c("name").eq("a"), f.users.c("age"))], None).label("x")
));

golden!(cast_per_dialect, |f| select((
    cast(f.users.c("name"), SqlType::Integer).label("i"),
    cast(f.users.c("age"), SqlType::BigInteger).label("bi"),
    cast(f.users.c("age"), SqlType::SmallInteger).label("si"),
    cast(f.users.c("age"), SqlType::Boolean).label("b"),
    cast(f.users.c("age"), SqlType::Float).label("fl"),
    cast(f.users.c("age"), SqlType::Double).label("d"),
    cast(f.users.c("age"), SqlType::Numeric(Some((10, 2)))).label("n"),
    cast(f.users.c("age"), SqlType::String(Some(20))).label("s"),
)));

golden!(cast_per_dialect_text_and_time, |f| select((
    cast(f.users.c("age"), SqlType::Text).label("t"),
    cast(f.users.c("name"), SqlType::Date).label("d"),
    cast(f.users.c("name"), SqlType::Time).label("tm"),
    cast(f.users.c("name"), SqlType::DateTime).label("dt"),
    cast(f.users.c("name"), SqlType::Timestamp(true)).label("tz"),
    cast(f.users.c("name"), SqlType::Json).label("j"),
    cast(f.users.c("name"), SqlType::Uuid).label("u"),
    cast(f.users.c("name"), SqlType::LargeBinary).label("bin"),
)));

golden!(cast_with_variant, |f| select(
    f.users
        .c("age")
        .cast(SqlType::Text.with_variant(SqlType::String(Some(10)), "mysql"))
        .label("v")
));

golden!(label, |f| select((
    f.users.c("name").label("user_name"),
    (f.users.c("age") * 12).label("months"),
)));

// ---------------------------------------------------------------------------------------
// Aliases, DISTINCT, EXISTS, subqueries
// ---------------------------------------------------------------------------------------

golden!(table_alias, |f| {
    let u = f.users.alias("u");
    select((u.c("id"), u.c("name"))).where_(u.c("name").eq("x"))
});

golden!(self_join_via_alias, |f| {
    let e = f.employees.alias("e");
    let m = f.employees.alias("m");
    select((e.c("name"), m.c("name").label("manager")))
        .join_on(m.clone(), e.c("manager_id").eq(m.c("id")))
        .where_(m.c("dept").eq("sales"))
});

golden!(self_join_via_alias_outer, |f| {
    let e = f.employees.alias("e");
    let m = f.employees.alias("m");
    select((e.c("name"), m.c("name").label("manager"))).select_from(
        e.clone()
            .outerjoin_on(m.clone(), e.c("manager_id").eq(m.c("id"))),
    )
});

golden!(select_distinct, |f| select(f.users.c("name")).distinct());

golden!(select_distinct_on, |f| select((
    f.users.c("name"),
    f.users.c("age")
))
.distinct_on([f.users.c("name")])
.order_by([f.users.c("name").asc(), f.users.c("age").desc()]));

golden!(exists_correlated, |f| select(f.users.c("name")).where_(
    exists(select(f.addresses.c("id")).where_(f.addresses.c("user_id").eq(f.users.c("id"))))
));

golden!(not_exists_correlated, |f| select(f.users.c("name")).where_(
    !select(f.posts.c("id"))
        .where_(f.posts.c("user_id").eq(f.users.c("id")))
        .where_(f.posts.c("views").gt(100))
        .exists()
));

golden!(scalar_subquery_auto_correlated, |f| select((
    f.users.c("name"),
    select(func::count(f.addresses.c("id")))
        .where_(f.addresses.c("user_id").eq(f.users.c("id")))
        .scalar_subquery()
        .label("address_count"),
)));

golden!(scalar_subquery_uncorrelated_same_table, |f| select(
    f.users.c("name")
)
.where_(
    f.users
        .c("age")
        .gt(select(func::avg(f.users.c("age"))).scalar_subquery())
));

golden!(scalar_subquery_with_limit_in_where, |f| select(
    f.users.c("name")
)
.where_(
    f.users.c("id").eq(select(f.posts.c("user_id"))
        .order_by([f.posts.c("views").desc()])
        .limit(1)
        .scalar_subquery())
));

// ---------------------------------------------------------------------------------------
// Window functions, tuples, text()
// ---------------------------------------------------------------------------------------

golden!(window_partition_order, |f| select((
    f.users.c("name"),
    func::row_number()
        .over(
            Window::new()
                .partition_by([f.users.c("fullname")])
                .order_by([f.users.c("age").desc()])
        )
        .label("rn"),
)));

golden!(window_order_nulls_first_last, |f| select((
    f.users.c("name"),
    func::rank()
        .over(Window::new().order_by([
            f.users.c("age").asc().nulls_first(),
            f.users.c("name").desc().nulls_last()
        ]))
        .label("r"),
)));

golden!(window_rows_frame, |f| select((
    f.users.c("id"),
    func::sum(f.users.c("age"))
        .over(
            Window::new()
                .order_by([f.users.c("id")])
                .rows(FrameBound::Preceding(2), FrameBound::CurrentRow)
        )
        .label("running"),
)));

golden!(window_range_frame_and_empty_window, |f| select((
    func::count_star().over(Window::new()).label("total"),
    func::max(f.users.c("age"))
        .over(
            Window::new()
                .partition_by([f.users.c("name"), f.users.c("fullname")])
                .range(
                    FrameBound::UnboundedPreceding,
                    FrameBound::UnboundedFollowing
                )
        )
        .label("oldest"),
    func::min(f.users.c("age"))
        .over(Window::new().rows(FrameBound::CurrentRow, FrameBound::Following(3)))
        .label("m"),
))
.order_by([f.users.c("id")])
.limit(10));

golden!(tuple_comparison, |f| select(f.users.c("id")).where_(
    tuple([f.users.c("id"), f.users.c("age")]).eq(tuple([literal(1), literal(30)]))
));

golden!(tuple_in_exprs, |f| select(f.users.c("id")).where_(
    tuple([f.users.c("name"), f.users.c("age")]).in_exprs([
        tuple([literal("a"), literal(1)]),
        tuple([literal("b"), literal(2)])
    ])
));

golden!(text_named_params_with_repeats, |_f| text(
    "SELECT id, name FROM users WHERE name = :name OR fullname = :name AND age > :age"
)
.bind("age", 18)
.bind("name", "spongebob"));

golden!(text_quoted_colons_and_comments_are_not_params, |_f| {
    text(
    "SELECT ':not_a_param' AS q, 1 AS \"col:umn\", 'a''b:c' AS r -- :comment\nFROM users WHERE name = :x"
)
.bind("x", "spongebob")
});

/// text() is verbatim SQL: this one is PostgreSQL's (`::` casts, `\:` for a literal
/// colon in an array slice), so only PostgreSQL's rendering is pinned.
#[test]
fn text_postgresql_casts_and_escaped_colon() {
    let t = text("SELECT :v::int AS v, (ARRAY[1, 2, 3])[1\\:2] AS sl, :v::text AS again")
        .bind("v", "5");
    let c = compile(&t, &PostgresDialect).unwrap();
    let out = format!("postgresql: {}  params: {:?}\n", c.sql(), c.params());
    assert_eq!(
        compile(&t, &SqliteDialect).unwrap().sql(),
        "SELECT ?::int AS v, (ARRAY[1, 2, 3])[1:2] AS sl, ?::text AS again"
    );
    insta::assert_snapshot!("text_postgresql_casts_and_escaped_colon", out);
}

golden!(text_missing_parameter, |_f| text(
    "SELECT * FROM users WHERE id = :id"
));

golden!(text_unused_parameter, |_f| text("SELECT 1").bind("id", 1));

// ---------------------------------------------------------------------------------------
// FROM: whole tables, joins
// ---------------------------------------------------------------------------------------

golden!(select_whole_table, |f| select(&f.users));

golden!(select_two_whole_tables_joined, |f| select((
    &f.users,
    &f.addresses
))
.join(&f.addresses)
.where_(f.users.c("id").eq(7)));

golden!(table_select_shortcut, |f| f
    .tags
    .select()
    .where_(f.tags.c("label").eq("rust")));

golden!(join_on_inferred_from_foreign_key, |f| select((
    f.users.c("name"),
    f.addresses.c("email_address")
))
.join(&f.addresses));

golden!(join_inferred_from_child_side, |f| select((
    f.addresses.c("email_address"),
    f.users.c("name")
))
.select_from(&f.addresses)
.join(&f.users));

golden!(join_on_explicit, |f| select((
    f.users.c("name"),
    f.messages.c("body")
))
.join_on(
    &f.messages,
    f.messages.c("recipient_id").eq(f.users.c("id"))
)
.where_(f.messages.c("sender_id").ne(f.users.c("id"))));

golden!(outerjoin, |f| select((
    f.users.c("name"),
    func::count(f.posts.c("id")).label("n")
))
.outerjoin(&f.posts)
.group_by([f.users.c("name")]));

golden!(outerjoin_on_explicit, |f| select((
    f.users.c("name"),
    f.messages.c("body")
))
.outerjoin_on(
    &f.messages,
    f.messages.c("sender_id").eq(f.users.c("id"))
));

golden!(right_outer_join, |f| select((
    f.users.c("name"),
    f.addresses.c("email_address")
))
.join_kind(&f.addresses, None, JoinKind::Right));

golden!(full_outer_join, |f| select((
    f.users.c("name"),
    f.addresses.c("email_address")
))
.join_kind(&f.addresses, None, JoinKind::Full));

golden!(chained_joins_three_tables, |f| select((
    f.users.c("name"),
    f.posts.c("title"),
    f.comments.c("body")
))
.join(&f.posts)
.join(&f.comments)
.where_(f.comments.c("body").contains("great")));

golden!(join_tree_as_from_item, |f| select((
    f.users.c("name"),
    f.comments.c("body")
))
.select_from(f.users.join(&f.posts).outerjoin(&f.comments)));

golden!(join_ambiguous_foreign_keys_error, |f| select(
    f.users.c("name")
)
.join(&f.messages));

golden!(join_missing_foreign_key_error, |f| select(
    f.users.c("name")
)
.join(&f.tags));

golden!(join_with_nothing_to_join_from_error, |f| select(literal(1))
    .join(&f.users));

// ---------------------------------------------------------------------------------------
// WHERE, GROUP BY, HAVING, ORDER BY, LIMIT/OFFSET, locking
// ---------------------------------------------------------------------------------------

golden!(where_group_by_having_order_by, |f| select((
    f.users.c("name"),
    func::count(f.addresses.c("id")).label("n")
))
.join(&f.addresses)
.where_(f.users.c("age").gt(18))
.where_(f.addresses.c("email_address").like("%@example.com"))
.group_by([f.users.c("name")])
.having(func::count(f.addresses.c("id")).gt(1))
.order_by([f.users.c("name").desc()]));

golden!(order_by_asc_desc_nulls, |f| select(f.users.c("name"))
    .order_by([
        f.users.c("age").desc().nulls_first(),
        f.users.c("fullname").asc().nulls_last(),
        f.users.c("name").into(),
    ]));

golden!(limit_offset, |f| select(f.users.c("name"))
    .order_by([f.users.c("id")])
    .limit(10)
    .offset(20));

golden!(offset_without_limit, |f| select(f.users.c("name"))
    .order_by([f.users.c("id")])
    .offset(5));

golden!(for_update, |f| select(&f.users)
    .where_(f.users.c("id").eq(1))
    .for_update());

golden!(for_share, |f| select(&f.users)
    .where_(f.users.c("id").eq(1))
    .for_share());

golden!(for_update_nowait, |f| select(&f.users).for_update_nowait());

golden!(for_update_skip_locked, |f| select(&f.users)
    .limit(5)
    .for_update_skip_locked());

// ---------------------------------------------------------------------------------------
// Subqueries in FROM, CTEs
// ---------------------------------------------------------------------------------------

golden!(subquery_in_from, |f| {
    let sub = select((
        f.addresses.c("user_id"),
        func::count_star().label("address_count"),
    ))
    .where_(f.addresses.c("email_address").ne("x"))
    .group_by([f.addresses.c("user_id")])
    .subquery("addr_counts");
    select((f.users.c("name"), sub.c("address_count")))
        .join_on(sub.clone(), f.users.c("id").eq(sub.c("user_id")))
        .where_(sub.c("address_count").gt(1))
});

golden!(select_from_subquery_only, |f| {
    let sub = select((
        f.users.c("name"),
        (f.users.c("age") * 2).label("double_age"),
    ))
    .where_(f.users.c("age").gt(1))
    .subquery("s");
    select(&sub)
        .where_(sub.c("double_age").lt(50))
        .order_by([sub.c("name")])
});

golden!(cte, |f| {
    let c = select((f.addresses.c("user_id"), func::count_star().label("n")))
        .where_(f.addresses.c("email_address").like("%@x.com"))
        .group_by([f.addresses.c("user_id")])
        .cte("addr_counts");
    select((f.users.c("name"), c.c("n")))
        .join_on(c.clone(), f.users.c("id").eq(c.c("user_id")))
        .where_(c.c("n").gt(2))
});

golden!(cte_recursive, |f| {
    let e = &f.employees;
    let org = select((e.c("id"), e.c("name"), e.c("manager_id")))
        .where_(e.c("manager_id").is_null())
        .cte_recursive("org", |org| {
            select((e.c("id"), e.c("name"), e.c("manager_id")))
                .join_on(org.clone(), e.c("manager_id").eq(org.c("id")))
        });
    select((org.c("id"), org.c("name"))).order_by([org.c("id")])
});

golden!(cte_used_by_insert_from_select, |f| {
    let adults = select((f.users.c("id"), f.users.c("name")))
        .where_(f.users.c("age").ge(18))
        .cte("adults");
    insert(&f.addresses).from_select(
        ["user_id", "email_address"],
        select((adults.c("id"), adults.c("name").concat("@example.com"))),
    )
});

golden!(cte_in_insert_values_subquery, |f| {
    let newest = select(f.users.c("id"))
        .order_by([f.users.c("id").desc()])
        .limit(1)
        .cte("newest");
    insert(&f.addresses)
        .value("user_id", select(newest.c("id")).scalar_subquery())
        .value("email_address", "new@example.com")
});

golden!(cte_used_by_delete, |f| {
    let idle = select(f.users.c("id"))
        .where_(f.users.c("age").gt(90))
        .cte("idle");
    delete(&f.posts).where_(f.posts.c("user_id").in_select(select(idle.c("id"))))
});

// ---------------------------------------------------------------------------------------
// Compound selects
// ---------------------------------------------------------------------------------------

golden!(union_distinct, |f| union([
    select(f.users.c("name")).where_(f.users.c("age").lt(20)),
    select(f.users.c("name")).where_(f.users.c("age").gt(60)),
]));

golden!(union_all_three_members, |f| union_all([
    select(f.users.c("name")).where_(f.users.c("id").eq(1)),
    select(f.users.c("name")).where_(f.users.c("id").eq(2)),
    select(f.employees.c("name")).where_(f.employees.c("id").eq(3)),
]));

golden!(intersect_select, |f| intersect([
    select(f.users.c("id")),
    select(f.addresses.c("user_id")),
]));

golden!(except_select, |f| except([
    select(f.users.c("id")),
    select(f.posts.c("user_id"))
]));

golden!(intersect_all_and_except_all, |f| select(f.users.c("id"))
    .intersect_all(select(f.addresses.c("user_id")))
    .except_all(select(f.posts.c("user_id"))));

golden!(union_member_with_order_by_limit, |f| select(
    f.users.c("name")
)
.where_(f.users.c("age").lt(30))
.union(
    select(f.users.c("name"))
        .order_by([f.users.c("age").desc()])
        .limit(3)
));

golden!(union_first_member_with_limit, |f| select(f.users.c("name"))
    .order_by([f.users.c("id")])
    .limit(2)
    .union_all(select(f.employees.c("name"))));

golden!(compound_order_by_limit_offset, |f| union([
    select((f.users.c("id"), f.users.c("name"))),
    select((f.employees.c("id"), f.employees.c("name"))),
])
.order_by([f.users.c("name").desc()])
.limit(10)
.offset(5));

golden!(nested_compound_member, |f| union([
    select(f.users.c("id")),
    union_all([
        select(f.posts.c("user_id")),
        select(f.addresses.c("user_id"))
    ]),
]));

golden!(compound_as_subquery, |f| {
    let u = union([
        select(f.users.c("name").label("n")),
        select(f.employees.c("name").label("n")),
    ])
    .subquery("names");
    select(func::count(u.c("n")).label("total"))
});

// ---------------------------------------------------------------------------------------
// INSERT
// ---------------------------------------------------------------------------------------

golden!(insert_single_row, |f| insert(&f.users)
    .value("name", "spongebob")
    .value("fullname", "Spongebob Squarepants")
    .value("age", 7));

golden!(insert_values_pairs, |f| insert(&f.users)
    .values([("name", "sandy"), ("fullname", "Sandy Cheeks")]));

golden!(insert_multi_row, |f| insert(&f.users)
    .columns(["name", "age"])
    .row(("sandy", 5))
    .row(("patrick", 8))
    .row(("squidward", 40)));

golden!(insert_value_rows, |f| insert(&f.users)
    .columns(["name", "fullname"])
    .value_rows(vec![
        vec![Value::from("a"), Value::from("A a")],
        vec![Value::from("b"), Value::Null],
    ]));

golden!(insert_value_after_rows, |f| insert(&f.users)
    .columns(["name", "fullname"])
    .row(("sandy", "Sandy Cheeks"))
    .row(("patrick", "Patrick Star"))
    .value("age", 7)
    .value("fullname", "(hidden)"));

golden!(insert_from_select, |f| insert(&f.addresses).from_select(
    ["user_id", "email_address"],
    select((f.users.c("id"), f.users.c("name").concat("@example.com")))
        .where_(f.users.c("age").gt(21))
));

golden!(insert_default_values, |f| insert(&f.tags).default_values());

golden!(insert_no_values_fills_client_defaults, |f| insert(&f.posts));

golden!(insert_client_side_defaults_filled_in, |f| insert(&f.posts)
    .value("user_id", 1)
    .value("title", "Hello"));

golden!(insert_multi_row_client_defaults, |f| insert(&f.posts)
    .columns(["user_id", "title", "views"])
    .row((1, "a", 5))
    .row((2, "b", 6)));

golden!(insert_with_expression_value, |f| insert(&f.users)
    .value("name", func::lower(literal("ANNA")))
    .value("age", literal(20) + 1));

golden!(insert_returning, |f| insert(&f.users)
    .value("name", "spongebob")
    .returning((f.users.c("id"), f.users.c("name"))));

golden!(upsert_on_conflict_do_nothing, |f| insert(&f.tags)
    .value("label", "rust")
    .on_conflict_do_nothing(["label"]));

golden!(upsert_on_conflict_do_update_excluded, |f| insert(&f.users)
    .value("id", 1)
    .value("name", "spongebob")
    .value("age", 7)
    .on_conflict_do_update(
        ["id"],
        [
            ("name", strata::excluded("name")),
            ("age", f.users.c("age") + 1)
        ]
    ));

golden!(upsert_do_update_returning, |f| insert(&f.tags)
    .value("id", 3)
    .value("label", "go")
    .on_conflict_do_update(["id"], [("label", strata::excluded("label"))])
    .returning(f.tags.c("id")));

golden!(insert_unknown_column_error, |f| insert(&f.users)
    .value("nope", 1));

golden!(insert_row_length_mismatch_error, |f| insert(&f.users)
    .columns(["name", "age"])
    .row(("a", 1))
    .row(["b"]));

// ---------------------------------------------------------------------------------------
// UPDATE and DELETE
// ---------------------------------------------------------------------------------------

golden!(update_set_where, |f| update(&f.users)
    .set("fullname", "Patrick Star")
    .set("age", f.users.c("age") + 1)
    .where_(f.users.c("name").eq("patrick")));

golden!(update_values_pairs, |f| update(&f.users)
    .values([("name", "x"), ("fullname", "y")])
    .where_(f.users.c("id").eq(5)));

golden!(update_returning, |f| update(&f.users)
    .set("name", "sandy")
    .where_(f.users.c("id").eq(2))
    .returning((f.users.c("id"), f.users.c("name"))));

golden!(update_applies_onupdate_columns, |f| update(&f.posts)
    .set("title", "new title")
    .where_(f.posts.c("id").eq(1)));

golden!(update_explicit_value_overrides_onupdate, |f| update(
    &f.posts
)
.set("title", "t")
.set("updated_at", null())
.where_(f.posts.c("id").eq(1)));

golden!(update_without_where, |f| update(&f.posts).set("views", 0));

golden!(update_correlated_subquery_in_where, |f| update(&f.users)
    .set("fullname", "has posts")
    .where_(exists(
        select(f.posts.c("id")).where_(f.posts.c("user_id").eq(f.users.c("id")))
    )));

golden!(update_correlated_subquery_in_set, |f| update(&f.users)
    .set(
        "fullname",
        select(f.addresses.c("email_address"))
            .where_(f.addresses.c("user_id").eq(f.users.c("id")))
            .order_by([f.addresses.c("id")])
            .limit(1)
            .scalar_subquery()
    )
    .where_(f.users.c("fullname").is_null()));

golden!(update_sets_nothing_error, |f| update(&f.users)
    .where_(f.users.c("id").eq(1)));

golden!(delete_all_rows, |f| delete(&f.comments));

golden!(delete_where, |f| delete(&f.users)
    .where_(f.users.c("name").eq("patrick")));

golden!(delete_returning, |f| delete(&f.users)
    .where_(f.users.c("age").lt(18))
    .returning((f.users.c("id"), f.users.c("name"))));

golden!(delete_correlated_subquery_in_where, |f| delete(&f.users)
    .where_(not_(exists(
        select(f.addresses.c("id")).where_(f.addresses.c("user_id").eq(f.users.c("id")))
    ))));

golden!(delete_in_subquery, |f| delete(&f.comments).where_(
    f.comments
        .c("post_id")
        .in_select(select(f.posts.c("id")).where_(f.posts.c("status").eq("spam")))
));

// ---------------------------------------------------------------------------------------
// Schema-qualified tables
// ---------------------------------------------------------------------------------------

struct Billing {
    customers: Table,
    invoices: Table,
    idx: Index,
}

fn billing() -> Billing {
    let mut md = MetaData::new();
    let customers = Table::build("customers")
        .schema("billing")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(60))).not_null())
        .add_to(&mut md)
        .unwrap();
    let invoices = Table::build("invoices")
        .schema("billing")
        .column(Column::new("id", SqlType::BigInteger).primary_key())
        .column(
            Column::new("customer_id", SqlType::Integer)
                .foreign_key("billing.customers.id")
                .not_null(),
        )
        .column(Column::new("total", SqlType::Numeric(Some((12, 2)))))
        .index(Index::new(["customer_id", "total"]))
        .add_to(&mut md)
        .unwrap();
    let idx = invoices.indexes()[0].clone();
    Billing {
        customers,
        invoices,
        idx,
    }
}

#[test]
fn schema_qualified_select_join() {
    let b = billing();
    let stmt = select((b.customers.c("name"), b.invoices.c("total")))
        .join(&b.invoices)
        .where_(b.invoices.c("total").gt(100));
    insta::assert_snapshot!("schema_qualified_select_join", golden(&stmt));
}

#[test]
fn schema_qualified_insert_update_delete() {
    let b = billing();
    let mut out = golden(
        &insert(&b.customers)
            .value("name", "acme")
            .returning(b.customers.c("id")),
    );
    out.push_str(&golden(
        &update(&b.customers)
            .set("name", "ACME")
            .where_(b.customers.c("id").eq(1)),
    ));
    out.push_str(&golden(
        &delete(&b.invoices).where_(b.invoices.c("customer_id").eq(1)),
    ));
    insta::assert_snapshot!("schema_qualified_insert_update_delete", out);
}

#[test]
fn schema_qualified_create_table() {
    let b = billing();
    let mut out = golden(&create_table(&b.customers));
    out.push_str(&golden(&create_table(&b.invoices)));
    insta::assert_snapshot!("schema_qualified_create_table", out);
}

#[test]
fn schema_qualified_create_drop_index() {
    let b = billing();
    let mut out = golden(&create_index(&b.invoices, &b.idx));
    out.push_str(&golden(&drop_index(&b.invoices, &b.idx)));
    out.push_str(&golden(&drop_table(&b.invoices).if_exists()));
    insta::assert_snapshot!("schema_qualified_create_drop_index", out);
}

#[test]
fn schema_cross_schema_foreign_key() {
    let mut md = MetaData::new();
    Table::build("accounts")
        .schema("auth")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .add_to(&mut md)
        .unwrap();
    let orders = Table::build("orders")
        .schema("shop")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("account_id", SqlType::Integer).foreign_key("auth.accounts.id"))
        .add_to(&mut md)
        .unwrap();
    insta::assert_snapshot!(
        "schema_cross_schema_foreign_key",
        golden(&create_table(&orders))
    );
}

#[test]
fn schema_from_metadata_default() {
    let mut md = MetaData::new().with_schema("myschema");
    let t = Table::build("user_account")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(50))).not_null())
        .add_to(&mut md)
        .unwrap();
    let mut out = golden(&create_table(&t));
    out.push_str(&golden(&select(&t).where_(t.c("id").eq(1))));
    insta::assert_snapshot!("schema_from_metadata_default", out);
}

// ---------------------------------------------------------------------------------------
// DDL
// ---------------------------------------------------------------------------------------

golden!(create_table_users, |f| create_table(&f.users));

golden!(create_table_with_defaults_and_fk, |f| create_table(
    &f.posts
));

golden!(create_table_if_not_exists, |f| create_table(&f.tags)
    .if_not_exists());

golden!(drop_table_plain, |f| drop_table(&f.comments));

golden!(drop_table_if_exists, |f| drop_table(&f.comments)
    .if_exists());

golden!(create_index_from_column_flag, |_f| {
    let t = Table::build("events")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("kind", SqlType::String(Some(20))).index())
        .finish()
        .unwrap();
    let ix = t.indexes()[0].clone();
    create_index(&t, &ix)
});

golden!(create_unique_index_multi_column_if_not_exists, |_f| {
    let t = Table::build("events")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("kind", SqlType::String(Some(20))))
        .column(Column::new("at", SqlType::DateTime))
        .index(Index::new(["kind", "at"]).name("uix_kind_at").unique())
        .finish()
        .unwrap();
    let ix = t.indexes()[0].clone();
    create_index(&t, &ix).if_not_exists()
});

golden!(drop_index_plain, |_f| {
    let t = Table::build("events")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("kind", SqlType::String(Some(20))).index())
        .finish()
        .unwrap();
    let ix = t.indexes()[0].clone();
    drop_index(&t, &ix)
});

golden!(drop_index_if_exists, |_f| {
    let t = Table::build("events")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("kind", SqlType::String(Some(20))).index())
        .finish()
        .unwrap();
    let ix = t.indexes()[0].clone();
    drop_index(&t, &ix).if_exists()
});

golden!(composite_primary_and_foreign_keys_with_actions, |_f| {
    let mut md = MetaData::new();
    Table::build("orders")
        .column(Column::new("region", SqlType::String(Some(8))))
        .column(Column::new("number", SqlType::Integer))
        .primary_key(["region", "number"])
        .add_to(&mut md)
        .unwrap();
    let lines = Table::build("order_lines")
        .column(Column::new("region", SqlType::String(Some(8))).not_null())
        .column(Column::new("order_number", SqlType::Integer).not_null())
        .column(Column::new("line", SqlType::SmallInteger).not_null())
        .column(Column::new("qty", SqlType::Integer).not_null())
        .primary_key(["region", "order_number", "line"])
        .foreign_key(
            ForeignKey::new(["region", "order_number"], "orders", ["region", "number"])
                .name("fk_lines_order")
                .on_delete(ReferentialAction::Cascade)
                .on_update(ReferentialAction::Restrict),
        )
        .add_to(&mut md)
        .unwrap();
    create_table(&lines)
});

golden!(foreign_key_actions_all_kinds, |_f| {
    let t = Table::build("links")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("a", SqlType::Integer))
        .column(Column::new("b", SqlType::Integer))
        .column(Column::new("c", SqlType::Integer))
        .foreign_key(ForeignKey::new(["a"], "users", ["id"]).on_delete(ReferentialAction::SetNull))
        .foreign_key(
            ForeignKey::new(["b"], "users", ["id"])
                .on_delete(ReferentialAction::SetDefault)
                .on_update(ReferentialAction::NoAction),
        )
        .foreign_key(ForeignKey::new(["c"], "users", ["id"]).on_update(ReferentialAction::Cascade))
        .finish()
        .unwrap();
    create_table(&t)
});

// MySQL refuses SET DEFAULT (above); every other action renders there.
golden!(foreign_key_actions_but_set_default, |_f| {
    let t = Table::build("links")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("a", SqlType::Integer))
        .column(Column::new("b", SqlType::Integer))
        .foreign_key(
            ForeignKey::new(["a"], "users", ["id"])
                .on_delete(ReferentialAction::SetNull)
                .on_update(ReferentialAction::Restrict),
        )
        .foreign_key(
            ForeignKey::new(["b"], "users", ["id"])
                .on_delete(ReferentialAction::NoAction)
                .on_update(ReferentialAction::Cascade),
        )
        .finish()
        .unwrap();
    create_table(&t)
});

golden!(unique_and_check_constraints, |_f| {
    let t = Table::build("products")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("sku", SqlType::String(Some(32)))
                .not_null()
                .unique(),
        )
        .column(Column::new("vendor", SqlType::String(Some(32))))
        .column(Column::new("name", SqlType::String(Some(64))))
        .column(Column::new("price", SqlType::Numeric(Some((10, 2)))))
        .column(Column::new("kind", SqlType::String(Some(10))))
        .unique(UniqueConstraint::new(["vendor", "name"]).name("uq_vendor_name"))
        .check(CheckConstraint::new(column("price").ge(0)).name("ck_price_positive"))
        .check(CheckConstraint::new(
            column("kind").in_(["a", "b's"]) | column("kind").is_null(),
        ))
        .finish()
        .unwrap();
    create_table(&t)
});

golden!(server_defaults_now_and_literals, |_f| {
    let t = Table::build("audit")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("created_at", SqlType::DateTime)
                .server_default(func::now())
                .not_null(),
        )
        .column(Column::new("status", SqlType::String(Some(16))).server_default("new"))
        .column(Column::new("quoted", SqlType::String(Some(16))).server_default("it's"))
        .column(Column::new("retries", SqlType::Integer).server_default(0))
        .column(Column::new("ratio", SqlType::Double).server_default(0.5))
        .column(Column::new("active", SqlType::Boolean).server_default(true))
        .column(Column::new("note", SqlType::Text).server_default(null()))
        .column(Column::new("expr", SqlType::Integer).server_default(literal_column("1 + 1")))
        .finish()
        .unwrap();
    create_table(&t)
});

golden!(every_sql_type_in_ddl, |_f| {
    let t = Table::build("all_types")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("c_integer", SqlType::Integer))
        .column(Column::new("c_bigint", SqlType::BigInteger))
        .column(Column::new("c_smallint", SqlType::SmallInteger))
        .column(Column::new("c_float", SqlType::Float))
        .column(Column::new("c_double", SqlType::Double))
        .column(Column::new("c_numeric", SqlType::Numeric(None)))
        .column(Column::new("c_numeric_ps", SqlType::Numeric(Some((12, 4)))))
        .column(Column::new("c_string", SqlType::String(Some(40))))
        .column(Column::new("c_text", SqlType::Text))
        .column(Column::new("c_boolean", SqlType::Boolean))
        .column(Column::new("c_date", SqlType::Date))
        .column(Column::new("c_time", SqlType::Time))
        .column(Column::new("c_datetime", SqlType::DateTime))
        .column(Column::new("c_timestamp", SqlType::Timestamp(false)))
        .column(Column::new("c_timestamptz", SqlType::Timestamp(true)))
        .column(Column::new("c_binary", SqlType::LargeBinary))
        .column(Column::new("c_json", SqlType::Json))
        .column(Column::new("c_uuid", SqlType::Uuid))
        .column(Column::new(
            "c_enum",
            SqlType::Enum {
                name: "mood".into(),
                values: vec!["sad".into(), "ok".into(), "happy".into()],
            },
        ))
        .column(Column::new(
            "c_variant",
            SqlType::Text
                .with_variant(SqlType::String(Some(255)), "mysql")
                .with_variant(SqlType::Json, "postgresql"),
        ))
        .finish()
        .unwrap();
    create_table(&t)
});

golden!(string_without_length_in_ddl, |_f| {
    let t = Table::build("notes")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("title", SqlType::String(None)).not_null())
        .finish()
        .unwrap();
    create_table(&t)
});

golden!(autoincrement_integer_primary_key, |_f| {
    let t = Table::build("a")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .finish()
        .unwrap();
    create_table(&t)
});

#[test]
fn autoincrement_bigint_and_smallint() {
    let big = Table::build("big")
        .column(Column::new("id", SqlType::BigInteger).primary_key())
        .finish()
        .unwrap();
    let small = Table::build("small")
        .column(Column::new("id", SqlType::SmallInteger).primary_key())
        .finish()
        .unwrap();
    let mut out = golden(&create_table(&big));
    out.push_str(&golden(&create_table(&small)));
    insta::assert_snapshot!("autoincrement_bigint_and_smallint", out);
}

golden!(autoincrement_disabled_and_composite, |_f| {
    let t = Table::build("manual")
        .column(
            Column::new("id", SqlType::Integer)
                .primary_key()
                .autoincrement(Autoincrement::No),
        )
        .column(Column::new("v", SqlType::Text))
        .finish()
        .unwrap();
    create_table(&t)
});

golden!(autoincrement_explicit_yes_variant_type, |_f| {
    let t = Table::build("explicit")
        .column(
            Column::new(
                "id",
                SqlType::Integer.with_variant(SqlType::BigInteger, "postgresql"),
            )
            .primary_key()
            .autoincrement(Autoincrement::Yes),
        )
        .finish()
        .unwrap();
    create_table(&t)
});

#[test]
fn metadata_create_all_sql_in_fk_order() {
    let f = fx();
    let out = golden_list(|d| f.md.create_all_sql(d, false));
    insta::assert_snapshot!("metadata_create_all_sql_in_fk_order", out);
}

#[test]
fn metadata_create_all_sql_if_not_exists() {
    let mut md = MetaData::new();
    // Declared child first: create_all_sql must still create the parent first.
    Table::build("child")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("parent_id", SqlType::Integer)
                .foreign_key("parent.id")
                .index(),
        )
        .add_to(&mut md)
        .unwrap();
    Table::build("parent")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .add_to(&mut md)
        .unwrap();
    let out = golden_list(|d| md.create_all_sql(d, true));
    insta::assert_snapshot!("metadata_create_all_sql_if_not_exists", out);
}

#[test]
fn metadata_drop_all_sql_in_reverse_fk_order() {
    let f = fx();
    let mut out = golden_list(|d| f.md.drop_all_sql(d, false));
    out.push_str(&golden_list(|d| f.md.drop_all_sql(d, true)));
    insta::assert_snapshot!("metadata_drop_all_sql_in_reverse_fk_order", out);
}

#[test]
fn metadata_use_alter_foreign_key_cycle() {
    let mut md = MetaData::new();
    Table::build("teams")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("captain_id", SqlType::Integer))
        .foreign_key(
            ForeignKey::new(["captain_id"], "players", ["id"])
                .name("fk_team_captain")
                .use_alter(),
        )
        .add_to(&mut md)
        .unwrap();
    Table::build("players")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("team_id", SqlType::Integer).foreign_key("teams.id"))
        .add_to(&mut md)
        .unwrap();
    let mut out = golden_list(|d| md.create_all_sql(d, false));
    out.push_str(&golden_list(|d| md.drop_all_sql(d, false)));
    insta::assert_snapshot!("metadata_use_alter_foreign_key_cycle", out);
}

#[test]
fn naming_convention_alembic() {
    let mut md = MetaData::new().with_naming_convention(NamingConvention::alembic());
    Table::build("account")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("email", SqlType::String(Some(100))).unique())
        .add_to(&mut md)
        .unwrap();
    Table::build("session")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("account_id", SqlType::Integer)
                .foreign_key("account.id")
                .index(),
        )
        .column(Column::new("ttl", SqlType::Integer))
        .check(CheckConstraint::new(column("ttl").gt(0)))
        .add_to(&mut md)
        .unwrap();
    let out = golden_list(|d| md.create_all_sql(d, false));
    insta::assert_snapshot!("naming_convention_alembic", out);
}

// ---------------------------------------------------------------------------------------
// The seed tutorials' Core constructs (shared/seeds)
// ---------------------------------------------------------------------------------------

/// The seed tutorial's schema: `tasks`, `users` and `user_tasks` (String without length,
/// as in `Column(String, nullable=False)`).
struct Seed {
    md: MetaData,
    tasks: Table,
    users: Table,
    user_tasks: Table,
}

fn seed() -> Seed {
    let mut md = MetaData::new();
    let tasks = Table::build("tasks")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("title", SqlType::String(None)).not_null())
        .column(Column::new("completed", SqlType::Boolean).default(false))
        .add_to(&mut md)
        .unwrap();
    let users = Table::build("users")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(None)).not_null())
        .add_to(&mut md)
        .unwrap();
    let user_tasks = Table::build("user_tasks")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("title", SqlType::String(None)).not_null())
        .column(Column::new("user_id", SqlType::Integer).foreign_key("users.id"))
        .add_to(&mut md)
        .unwrap();
    Seed {
        md,
        tasks,
        users,
        user_tasks,
    }
}

#[test]
fn seed_create_all_tasks_users_user_tasks() {
    let s = seed();
    let out = golden_list(|d| s.md.create_all_sql(d, false));
    insta::assert_snapshot!("seed_create_all_tasks_users_user_tasks", out);
}

#[test]
fn seed_select_users_where_id_eq_1() {
    // select(users_table).where(users_table.c.id == 1)
    let s = seed();
    let stmt = select(&s.users).where_(s.users.c("id").eq(1));
    insta::assert_snapshot!("seed_select_users_where_id_eq_1", golden(&stmt));
}

#[test]
fn seed_insert_tasks_values() {
    // Task(title="Learn ORM"), Task(title="Write code"): completed defaults to False.
    let s = seed();
    let mut out = golden(&insert(&s.tasks).values([("title", "Learn ORM")]));
    out.push_str(&golden(
        &insert(&s.tasks)
            .columns(["title"])
            .row(("Learn ORM",))
            .row(("Write code",)),
    ));
    insta::assert_snapshot!("seed_insert_tasks_values", out);
}

#[test]
fn seed_select_all_and_get_by_id() {
    // session.query(Task).all(); session.get(Task, 1)
    let s = seed();
    let mut out = golden(&select(&s.tasks));
    out.push_str(&golden(&select(&s.tasks).where_(s.tasks.c("id").eq(1))));
    insta::assert_snapshot!("seed_select_all_and_get_by_id", out);
}

#[test]
fn seed_update_values() {
    // update().values(): task.completed = True; task.title = "Learn ORM ✨"
    let s = seed();
    let stmt = update(&s.tasks)
        .values([
            ("completed", Expr::from(true)),
            ("title", Expr::from("Learn ORM ✨")),
        ])
        .where_(s.tasks.c("id").eq(1));
    insta::assert_snapshot!("seed_update_values", golden(&stmt));
}

#[test]
fn seed_delete_task() {
    // session.delete(task_to_delete) for id 2
    let s = seed();
    let stmt = delete(&s.tasks).where_(s.tasks.c("id").eq(2));
    insta::assert_snapshot!("seed_delete_task", golden(&stmt));
}

#[test]
fn seed_relationship_user_tasks() {
    // User(name="Anna"); UserTask(title=..., user_id=1); user.tasks (lazy load and join)
    let s = seed();
    let mut out = golden(&insert(&s.users).value("name", "Anna"));
    out.push_str(&golden(
        &insert(&s.user_tasks)
            .columns(["title", "user_id"])
            .row(("Learn Python", 1))
            .row(("Write code", 1)),
    ));
    out.push_str(&golden(
        &select(&s.user_tasks).where_(s.user_tasks.c("user_id").eq(1)),
    ));
    out.push_str(&golden(
        &select((s.users.c("name"), s.user_tasks.c("title"))).join(&s.user_tasks),
    ));
    insta::assert_snapshot!("seed_relationship_user_tasks", out);
}

#[test]
fn seed_user_account_and_addresses() {
    // class User: __tablename__ = "user_account"; select(User).where(User.name == "Alice");
    // class Address: user_id = mapped_column(ForeignKey("users.id")) (here user_account.id)
    let mut md = MetaData::new();
    let user = Table::build("user_account")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(30))).not_null())
        .column(Column::new("email", SqlType::String(Some(100))).not_null())
        .add_to(&mut md)
        .unwrap();
    Table::build("addresses")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("user_id", SqlType::Integer).foreign_key("user_account.id"))
        .add_to(&mut md)
        .unwrap();
    let mut out = golden_list(|d| md.create_all_sql(d, false));
    out.push_str(&golden(&select(&user).where_(user.c("name").eq("Alice"))));
    out.push_str(&golden(&select(&user).where_(user.c("id").eq(1)).limit(1)));
    out.push_str(&golden(
        &update(&user)
            .set("name", "New Name")
            .where_(user.c("id").eq(1)),
    ));
    insta::assert_snapshot!("seed_user_account_and_addresses", out);
}

#[test]
fn seed_timestamp_mixin_and_type_annotation_map() {
    // TimestampMixin: created_at server_default=func.now(); updated_at server_default
    // and onupdate func.now(); type_annotation_map: str -> String().with_variant(
    // String(255), "mysql"); bigint primary key.
    let mut md = MetaData::new();
    let str_type = SqlType::String(None).with_variant(SqlType::String(Some(255)), "mysql");
    let users = Table::build("users")
        .column(Column::new("id", SqlType::BigInteger).primary_key())
        .column(Column::new("name", str_type).not_null())
        .column(
            Column::new("created_at", SqlType::DateTime)
                .server_default(func::now())
                .not_null(),
        )
        .column(
            Column::new("updated_at", SqlType::DateTime)
                .server_default(func::now())
                .onupdate(func::now())
                .not_null(),
        )
        .add_to(&mut md)
        .unwrap();
    let mut out = golden_list(|d| md.create_all_sql(d, false));
    out.push_str(&golden(&insert(&users).value("name", "Alice")));
    out.push_str(&golden(
        &update(&users)
            .set("name", "Bob")
            .where_(users.c("id").eq(1_i64)),
    ));
    insta::assert_snapshot!("seed_timestamp_mixin_and_type_annotation_map", out);
}

// ---------------------------------------------------------------------------------------
// sea-query faults that must never leak through (plain assertions)
// ---------------------------------------------------------------------------------------

fn sql_of(stmt: &dyn Compilable, d: &dyn Dialect) -> String {
    compile(stmt, d)
        .unwrap_or_else(|e| panic!("{} failed: {e}", d.name()))
        .sql()
        .to_string()
}

fn unsupported(stmt: &dyn Compilable, d: &dyn Dialect) -> String {
    match compile(stmt, d) {
        Err(Error::Unsupported { construct, dialect }) => {
            assert_eq!(dialect, d.name());
            construct
        }
        other => panic!("expected Unsupported on {}, got {other:?}", d.name()),
    }
}

#[test]
fn fault_window_is_rendered_inline_never_as_window_clause() {
    let f = fx();
    let stmt = select((
        f.users.c("name"),
        func::row_number()
            .over(
                Window::new()
                    .partition_by([f.users.c("fullname")])
                    .order_by([f.users.c("age").desc().nulls_last()])
                    .rows(FrameBound::UnboundedPreceding, FrameBound::CurrentRow),
            )
            .label("rn"),
    ))
    .order_by([f.users.c("name")])
    .limit(3);
    for d in dialects() {
        let sql = sql_of(&stmt, d);
        assert!(sql.contains("row_number() OVER (PARTITION BY"), "{sql}");
        assert!(!sql.contains("WINDOW"), "named WINDOW clause leaked: {sql}");
        let over = sql.find(" OVER (").unwrap();
        let order = sql.rfind("ORDER BY").unwrap();
        let limit = sql.find("LIMIT").unwrap();
        assert!(over < order && order < limit, "{sql}");
        assert!(
            sql.ends_with("LIMIT ?") || sql.ends_with("LIMIT $1"),
            "{sql}"
        );
    }
}

/// The SQL text outside any parentheses (identifiers here contain none).
fn top_level(sql: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::new();
    for ch in sql.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn fault_sqlite_union_member_with_order_by_limit_is_wrapped() {
    let f = fx();
    let stmt = select(f.users.c("name"))
        .where_(f.users.c("age").lt(30))
        .union(
            select(f.users.c("name"))
                .order_by([f.users.c("age").desc()])
                .limit(3),
        )
        .union_all(select(f.employees.c("name")).offset(1));
    let sql = sql_of(&stmt, &SqliteDialect);
    assert!(
        sql.contains(
            r#"UNION SELECT * FROM (SELECT "users"."name" FROM "users" ORDER BY "users"."age" DESC LIMIT ?) AS "anon_1""#
        ),
        "{sql}"
    );
    assert!(
        sql.contains(r#"UNION ALL SELECT * FROM (SELECT "employees"."name""#),
        "{sql}"
    );
    assert!(sql.contains(r#"AS "anon_2""#), "{sql}");
    // Never a bare member with ORDER BY/LIMIT/OFFSET before a set operator: outside
    // parentheses, nothing of the kind precedes the last UNION.
    let top = top_level(&sql);
    let last_op = top.rfind("UNION").unwrap();
    for kw in ["ORDER BY", "LIMIT", "OFFSET"] {
        assert!(
            !top[..last_op].contains(kw),
            "bare {kw} before UNION: {sql}"
        );
    }
    let first_limited = select(f.users.c("name"))
        .order_by([f.users.c("id")])
        .limit(1)
        .union(select(f.employees.c("name")));
    let sql = sql_of(&first_limited, &SqliteDialect);
    assert!(
        sql.starts_with(r#"SELECT * FROM (SELECT "users"."name""#),
        "{sql}"
    );
    assert!(
        sql.contains(r#"LIMIT ?) AS "anon_1" UNION SELECT"#),
        "{sql}"
    );
}

#[test]
fn fault_unsupported_constructs_are_errors_naming_construct_and_dialect() {
    let f = fx();
    let returning_insert = insert(&f.users)
        .value("name", "x")
        .returning(f.users.c("id"));
    let returning_update = update(&f.users).set("name", "x").returning(f.users.c("id"));
    let returning_delete = delete(&f.users).returning(f.users.c("id"));
    for stmt in [
        &returning_insert as &dyn Compilable,
        &returning_update,
        &returning_delete,
    ] {
        assert_eq!(unsupported(stmt, &MySqlDialect), "RETURNING");
        assert!(compile(stmt, &SqliteDialect)
            .unwrap()
            .sql()
            .contains("RETURNING"));
        assert!(compile(stmt, &PostgresDialect)
            .unwrap()
            .sql()
            .contains("RETURNING"));
    }
    let err = compile(&returning_insert, &MySqlDialect).unwrap_err();
    assert_eq!(
        err.to_string(),
        "RETURNING is not supported by the mysql dialect"
    );

    let distinct_on = select(f.users.c("name")).distinct_on([f.users.c("name")]);
    assert_eq!(unsupported(&distinct_on, &SqliteDialect), "DISTINCT ON");
    assert_eq!(unsupported(&distinct_on, &MySqlDialect), "DISTINCT ON");
    assert!(sql_of(&distinct_on, &PostgresDialect)
        .starts_with(r#"SELECT DISTINCT ON ("users"."name")"#));

    assert_eq!(
        unsupported(&select(&f.users).for_update(), &SqliteDialect),
        "FOR UPDATE"
    );
    assert_eq!(
        unsupported(&select(&f.users).for_share(), &SqliteDialect),
        "FOR SHARE"
    );
    assert!(sql_of(&select(&f.users).for_update(), &PostgresDialect).ends_with("FOR UPDATE"));
    assert!(sql_of(&select(&f.users).for_update(), &MySqlDialect).ends_with("FOR UPDATE"));

    let full = select((f.users.c("name"), f.addresses.c("email_address"))).join_kind(
        &f.addresses,
        None,
        JoinKind::Full,
    );
    assert_eq!(unsupported(&full, &MySqlDialect), "FULL OUTER JOIN");
    assert!(sql_of(&full, &PostgresDialect).contains("FULL OUTER JOIN"));
    assert!(sql_of(&full, &SqliteDialect).contains("FULL OUTER JOIN"));

    let intersect_all = select(f.users.c("id")).intersect_all(select(f.posts.c("user_id")));
    let except_all = select(f.users.c("id")).except_all(select(f.posts.c("user_id")));
    for d in dialects() {
        assert_eq!(unsupported(&intersect_all, d), "INTERSECT ALL");
        assert_eq!(unsupported(&except_all, d), "EXCEPT ALL");
    }

    let mysql_err = compile(&full, &MySqlDialect).unwrap_err().to_string();
    assert_eq!(
        mysql_err,
        "FULL OUTER JOIN is not supported by the mysql dialect"
    );
}

#[test]
fn fault_cast_types_are_translated_per_dialect() {
    let f = fx();
    let c = |t: SqlType| select(cast(f.users.c("age"), t).label("v"));
    let int = c(SqlType::Integer);
    assert!(sql_of(&int, &MySqlDialect).contains("CAST(`users`.`age` AS SIGNED)"));
    assert!(sql_of(&int, &SqliteDialect).contains(r#"CAST("users"."age" AS INTEGER)"#));
    assert!(sql_of(&int, &PostgresDialect).contains(r#"CAST("users"."age" AS INTEGER)"#));
    for t in [
        SqlType::Date,
        SqlType::DateTime,
        SqlType::Time,
        SqlType::Timestamp(true),
    ] {
        let sql = sql_of(&c(t.clone()), &SqliteDialect);
        assert!(
            sql.contains(r#"CAST("users"."age" AS TEXT)"#),
            "{t:?}: {sql}"
        );
    }
    assert!(sql_of(&c(SqlType::Date), &PostgresDialect).contains("AS DATE)"));
    assert!(sql_of(&c(SqlType::DateTime), &MySqlDialect).contains("AS DATETIME)"));
    assert!(sql_of(&c(SqlType::Text), &MySqlDialect).contains("AS CHAR)"));
    assert!(sql_of(&c(SqlType::String(Some(5))), &MySqlDialect).contains("AS CHAR(5))"));
    assert!(sql_of(&c(SqlType::Numeric(Some((8, 3)))), &MySqlDialect).contains("AS DECIMAL(8, 3))"));
    assert!(sql_of(&c(SqlType::Float), &SqliteDialect).contains("AS REAL)"));
    assert!(sql_of(&c(SqlType::Timestamp(true)), &PostgresDialect)
        .contains("AS TIMESTAMP WITH TIME ZONE)"));
    let variant = c(SqlType::Text.with_variant(SqlType::Integer, "mysql"));
    assert!(sql_of(&variant, &MySqlDialect).contains("AS SIGNED)"));
    assert!(sql_of(&variant, &PostgresDialect).contains("AS TEXT)"));
}

#[test]
fn fault_sqlite_ddl_uses_strata_type_names() {
    let t = Table::build("types")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("f", SqlType::Float).not_null())
        .column(Column::new("d", SqlType::Double))
        .column(Column::new("ts", SqlType::Timestamp(false)))
        .column(Column::new("tz", SqlType::Timestamp(true)))
        .column(Column::new("dt", SqlType::DateTime))
        .column(Column::new("tm", SqlType::Time))
        .column(Column::new("dd", SqlType::Date))
        .column(Column::new("b", SqlType::Boolean))
        .column(Column::new("j", SqlType::Json))
        .column(Column::new("u", SqlType::Uuid))
        .column(Column::new("n", SqlType::Numeric(Some((5, 1)))))
        .column(Column::new("bin", SqlType::LargeBinary))
        .column(Column::new("si", SqlType::SmallInteger))
        .finish()
        .unwrap();
    let sql = sql_of(&create_table(&t), &SqliteDialect);
    for bad in [
        "timestamp_text",
        "datetime_text",
        "time_text",
        "date_text",
        "integer_null",
        "real",
        "REAL",
        "blob_text",
        "uuid_text",
        "json_text",
        "boolean_text",
    ] {
        assert!(
            !sql.contains(bad),
            "sea-query type name {bad:?} leaked: {sql}"
        );
    }
    for good in [
        r#""f" FLOAT NOT NULL"#,
        r#""d" DOUBLE"#,
        r#""ts" TIMESTAMP"#,
        r#""dt" DATETIME"#,
        r#""tm" TIME"#,
        r#""dd" DATE"#,
        r#""b" BOOLEAN"#,
        r#""j" JSON"#,
        r#""u" CHAR(32)"#,
        r#""n" NUMERIC(5, 1)"#,
        r#""bin" BLOB"#,
        r#""si" SMALLINT"#,
        r#""id" INTEGER NOT NULL"#,
    ] {
        assert!(sql.contains(good), "missing {good:?}: {sql}");
    }
}

/// Compile on every dialect inside `catch_unwind`: a panic fails the test loudly.
fn errors_without_panic(stmt: &dyn Compilable) -> Vec<Error> {
    dialects()
        .iter()
        .map(|d| {
            let r = catch_unwind(AssertUnwindSafe(|| compile(stmt, *d)));
            match r {
                Ok(Ok(c)) => panic!("{}: expected an error, got {:?}", d.name(), c.sql()),
                Ok(Err(e)) => e,
                Err(_) => panic!("{}: compiling panicked", d.name()),
            }
        })
        .collect()
}

#[test]
fn fault_no_panic_on_compile_oddities() {
    let f = fx();
    // Empty and_()/or_() are documented as TRUE/FALSE: they compile, and do not panic.
    let empty_and = select(f.users.c("id")).where_(and_(Vec::<Expr>::new()));
    for d in dialects() {
        let r = catch_unwind(AssertUnwindSafe(|| compile(&empty_and, d)));
        let sql = r
            .expect("empty and_() panicked")
            .expect("empty and_() failed");
        assert!(sql.sql().ends_with("WHERE TRUE"), "{}", sql.sql());
    }

    let no_columns = select(Vec::<Expr>::new()).select_from(&f.users);
    for e in errors_without_panic(&no_columns) {
        assert_eq!(e.to_string(), "invalid statement: SELECT has no columns");
    }

    let empty_case =
        select(case(Vec::<(Expr, Expr)>::new(), Some(literal(1)))).select_from(&f.users);
    for e in errors_without_panic(&empty_case) {
        assert_eq!(
            e.to_string(),
            "invalid statement: CASE needs at least one WHEN"
        );
    }

    let unknown = select(f.users.c("nope"));
    for e in errors_without_panic(&unknown) {
        assert_eq!(
            e,
            Error::UnknownColumn {
                table: "users".into(),
                column: "nope".into()
            }
        );
        assert_eq!(e.to_string(), r#"unknown column "nope" on "users""#);
    }
    let unknown_alias = select(f.users.alias("u").c("nope"));
    for e in errors_without_panic(&unknown_alias) {
        assert_eq!(e.to_string(), r#"unknown column "nope" on "u""#);
    }

    for name in ["drop table users; --", "", "1abc", "f(x)", "a..b", "na me"] {
        let bad = select(func::call(name, [f.users.c("id")]));
        for e in errors_without_panic(&bad) {
            assert!(
                e.to_string().contains("is not a valid SQL function name"),
                "{name:?}: {e}"
            );
        }
    }

    for esc in ['\'', '"', '`', '?', '$', 'a', ' ', 'é'] {
        let bad = select(f.users.c("id")).where_(f.users.c("name").like_escape("x", esc));
        for e in errors_without_panic(&bad) {
            assert!(
                e.to_string().contains("LIKE escape character"),
                "{esc:?}: {e}"
            );
        }
    }

    let not_a_function = select(f.users.c("id").distinct());
    for e in errors_without_panic(&not_a_function) {
        assert!(
            e.to_string()
                .contains("distinct() applies to a function call"),
            "{e}"
        );
    }

    for e in errors_without_panic(&union(Vec::new())) {
        assert!(e.to_string().contains("at least one member"), "{e}");
    }
    for e in errors_without_panic(&union([select(f.users.c("id"))]).where_(f.users.c("id").eq(1))) {
        assert!(
            e.to_string()
                .contains("cannot be applied to a compound select"),
            "{e}"
        );
    }
    for e in errors_without_panic(&select(column(""))) {
        assert!(matches!(e, Error::InvalidIdentifier(_)), "{e}");
    }
    for e in errors_without_panic(
        &insert(&f.users)
            .on_conflict_do_update(["id"], Vec::<(String, Expr)>::new())
            .value("id", 1),
    ) {
        assert!(e.to_string().contains("needs at least one column"), "{e}");
    }
    for e in errors_without_panic(&text("SELECT :a, :b").bind("a", 1)) {
        assert_eq!(
            e.to_string(),
            "parameter error: text() parameter :b has no bound value"
        );
    }
}

#[test]
fn identifiers_with_quotes_are_escaped() {
    let t = Table::build("we\"ird`name")
        .column(Column::new("co\"l`", SqlType::Integer).primary_key())
        .finish()
        .unwrap();
    let stmt = select(&t).where_(t.c("co\"l`").eq(1));
    assert_eq!(
        sql_of(&stmt, &SqliteDialect),
        r#"SELECT "we""ird`name"."co""l`" FROM "we""ird`name" WHERE "we""ird`name"."co""l`" = ?"#
    );
    assert_eq!(
        sql_of(&stmt, &MySqlDialect),
        r#"SELECT `we"ird``name`.`co"l``` FROM `we"ird``name` WHERE `we"ird``name`.`co"l``` = ?"#
    );
    insta::assert_snapshot!("identifiers_with_quotes_are_escaped", golden(&stmt));
}

#[test]
fn func_call_schema_qualified_name_is_rendered_as_given() {
    let f = fx();
    let stmt = select(func::call("pg_catalog.upper", [f.users.c("name")]).label("u"));
    assert_eq!(
        sql_of(&stmt, &PostgresDialect),
        r#"SELECT pg_catalog.upper("users"."name") AS "u" FROM "users""#
    );
}

/// Names past PostgreSQL's limit (63 bytes, past which it cuts names short) are refused
/// when the DDL or a labelled select compiles; exactly at the limit they render. SQLite
/// and MySQL (which refuses long names itself) render them.
#[test]
fn names_past_the_dialects_limit_are_refused() {
    let d = &PostgresDialect;
    for len in [63, 64] {
        let name = "n".repeat(len);
        let t = Table::build(&name)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .finish()
            .unwrap();
        let ddl = create_table(&t).compile(d);
        let labelled = compile(&select(t.c("id").label(&name)), d);
        let returned = compile(
            &insert(&t)
                .value("id", 1)
                .returning([t.c("id").label(&name)]),
            d,
        );
        if len == 63 {
            assert!(
                ddl.is_ok() && labelled.is_ok() && returned.is_ok(),
                "{len} bytes"
            );
        } else {
            for refused in [ddl, labelled, returned] {
                let e = refused.unwrap_err().to_string();
                assert!(e.contains("at most 63 bytes"), "{e}");
            }
        }
    }
    let long = "n".repeat(200);
    let t = Table::build(&long)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .finish()
        .unwrap();
    assert!(create_table(&t).compile(&SqliteDialect).is_ok());
    assert!(create_table(&t).compile(&MySqlDialect).is_ok());
}
