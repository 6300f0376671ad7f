//! The Core expression language compiled for SQLite, PostgreSQL and MySQL.
//!
//! Run: `cargo run --example core_sql`

use strata::dialects::{MySqlDialect, PostgresDialect, SqliteDialect};
use strata::{
    compile, delete, func, insert, select, update, Column, Compilable, Dialect, MetaData, SqlType,
    Table,
};

fn main() -> Result<(), strata::Error> {
    let mut metadata = MetaData::new();
    let users = Table::build("users")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(30))).not_null())
        .column(Column::new("email", SqlType::String(Some(100))))
        .add_to(&mut metadata)?;
    let posts = Table::build("posts")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .foreign_key("users.id")
                .not_null(),
        )
        .column(Column::new("title", SqlType::Text).not_null())
        .add_to(&mut metadata)?;

    let statements: Vec<(&str, Box<dyn Compilable>)> = vec![
        (
            "select by id",
            Box::new(select(&users).where_(users.c("id").eq(1))),
        ),
        (
            "join + aggregate",
            Box::new(
                select((
                    users.c("name"),
                    func::count(posts.c("id")).label("post_count"),
                ))
                .outerjoin(&posts)
                .group_by([users.c("name")])
                .order_by([users.c("name")]),
            ),
        ),
        (
            "insert",
            Box::new(
                insert(&users)
                    .value("name", "Anna")
                    .value("email", "anna@example.com"),
            ),
        ),
        (
            "update",
            Box::new(
                update(&users)
                    .set("email", "new@email.com")
                    .where_(users.c("id").eq(1)),
            ),
        ),
        (
            "delete",
            Box::new(delete(&posts).where_(posts.c("user_id").in_([1, 2, 3]))),
        ),
    ];
    let dialects: [&dyn Dialect; 3] = [&SqliteDialect, &PostgresDialect, &MySqlDialect];
    for sql in metadata.create_all_sql(&SqliteDialect, false)? {
        println!("{sql};\n");
    }
    for (name, stmt) in &statements {
        println!("-- {name}");
        for d in dialects {
            let c = compile(stmt.as_ref(), d)?;
            println!("{:>10}: {}  {:?}", d.name(), c.sql(), c.params());
        }
        println!();
    }
    Ok(())
}
