//! Compile-path benchmarks, per dialect:
//!
//! - `fresh`: a compile without a cache (key walk, lowering, sea-query rendering, bind,
//!   SQL text and values copied out);
//! - `cache_hit`: what an execution pays on a hit (`Connection::execute`): key walk,
//!   lookup and bind, the SQL text and values borrowed, not copied;
//! - `cache_hit_owned`: a hit through `StatementCache::compile`, which also copies the
//!   SQL text and the values out.
//!
//! Run: `cargo bench --bench compile -- --warm-up-time 1 --measurement-time 3`
//!
//! With `STRATA_BENCH_PAIRED` set, `cache_hit` is also timed against `fresh` in
//! alternating rounds and the median ratio printed (see `support::paired`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

// Only the paired timing is used here.
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;
use strata::dialects::{PostgresDialect, SqliteDialect};
use strata::{
    func, insert, select, update, Column, Compilable, Dialect, MetaData, SqlType, StatementCache,
    Table,
};

fn schema() -> (Table, Table) {
    let mut metadata = MetaData::new();
    let users = Table::build("users")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(30))).not_null())
        .column(Column::new("fullname", SqlType::Text))
        .column(Column::new("age", SqlType::Integer))
        .add_to(&mut metadata)
        .expect("users table");
    let addresses = Table::build("addresses")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .foreign_key("users.id")
                .not_null(),
        )
        .column(Column::new("email", SqlType::Text).not_null())
        .add_to(&mut metadata)
        .expect("addresses table");
    (users, addresses)
}

fn statements(users: &Table, addresses: &Table) -> Vec<(&'static str, Box<dyn Compilable>)> {
    vec![
        (
            "point_select",
            Box::new(select(users).where_(users.c("id").eq(5))),
        ),
        (
            "join_group_order_limit",
            Box::new(
                select((users.c("name"), func::count(addresses.c("id")).label("n")))
                    .join(addresses)
                    .where_(users.c("name").startswith("s"))
                    .where_(addresses.c("email").ne("nobody@example.com"))
                    .group_by([users.c("name")])
                    .order_by([users.c("name").desc()])
                    .limit(10),
            ),
        ),
        (
            "insert_one",
            Box::new(
                insert(users)
                    .value("name", "spongebob")
                    .value("fullname", "Spongebob Squarepants")
                    .value("age", 7),
            ),
        ),
        (
            "update",
            Box::new(
                update(users)
                    .set("fullname", "Sandy Cheeks")
                    .where_(users.c("id").eq(2)),
            ),
        ),
    ]
}

fn bench_compile(c: &mut Criterion) {
    let (users, addresses) = schema();
    let stmts = statements(&users, &addresses);
    let dialects: [&dyn Dialect; 2] = [&SqliteDialect, &PostgresDialect];
    for d in dialects {
        let mut group = c.benchmark_group(format!("compile/{}", d.name()));
        for (name, stmt) in &stmts {
            let stmt: &dyn Compilable = stmt.as_ref();
            let cache = StatementCache::new(64);
            // Warm the cache and check that both paths agree before timing them.
            let fresh = strata::compile(stmt, d).expect("statement compiles");
            let cached = cache.compile(stmt, d).expect("statement compiles");
            assert_eq!((fresh.sql().to_string(), fresh.params().to_vec()), cached);

            group.bench_function(format!("{name}/fresh"), |b| {
                b.iter(|| strata::compile(black_box(stmt), d).expect("compile"))
            });
            group.bench_function(format!("{name}/cache_hit"), |b| {
                b.iter(|| {
                    cache
                        .with_template(black_box(stmt), d, |t, params| {
                            let (sql, values) = t.bind(params)?;
                            Ok(black_box((sql.len(), values.len())))
                        })
                        .expect("template")
                })
            });
            group.bench_function(format!("{name}/cache_hit_owned"), |b| {
                b.iter(|| cache.compile(black_box(stmt), d).expect("compile"))
            });
            support::paired_named(
                &format!("compile/{}/{name}", d.name()),
                ("fresh", |k| {
                    support::time_iters(k, || strata::compile(stmt, d).expect("compile"))
                }),
                ("cache_hit", |k| {
                    support::time_iters(k, || {
                        cache
                            .with_template(stmt, d, |t, params| {
                                let (sql, values) = t.bind(params)?;
                                Ok((sql.len(), values.len()))
                            })
                            .expect("template")
                    })
                }),
            );
        }
        group.finish();
    }
}

criterion_group!(benches, bench_compile);
criterion_main!(benches);
