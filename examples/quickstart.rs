//! strata Core on a real database: create tables, insert, join, aggregate, update.
//!
//! Embedded SQLite (nothing to install):   cargo run --example quickstart
//! PostgreSQL:   cargo run --example quickstart -- postgresql://user:pass@127.0.0.1:5432/db

use strata::{
    create_engine, func, insert, select, update, Column, Engine, MetaData, Result, SqlType, Table,
};

fn main() -> Result<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite://".to_string());
    let engine = create_engine(&url)?;
    println!("engine: {engine:?}");
    run(&engine)
}

fn run(engine: &Engine) -> Result<()> {
    let mut metadata = MetaData::new();
    let users = Table::build("qs_users")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(Some(50))).not_null())
        .column(Column::new("email", SqlType::String(Some(100))))
        .add_to(&mut metadata)?;
    let posts = Table::build("qs_posts")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .foreign_key("qs_users.id")
                .not_null(),
        )
        .column(Column::new("title", SqlType::String(Some(200))).not_null())
        .column(Column::new("likes", SqlType::Integer).not_null().default(0))
        .add_to(&mut metadata)?;

    metadata.drop_all(engine)?;
    metadata.create_all(engine)?;
    println!(
        "✅ tables created: {}",
        metadata
            .tables()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(", ")
    );

    // INSERT, all in one transaction.
    engine.begin(|conn| {
        conn.execute(
            &insert(&users)
                .columns(["id", "name", "email"])
                .row((1, "Anna", "anna@example.com"))
                .row((2, "Boris", "boris@example.com"))
                .row((3, "Chen", None::<String>)),
        )?;
        conn.execute(
            &insert(&posts)
                .columns(["user_id", "title", "likes"])
                .row((1, "Learn Python", 10))
                .row((1, "Write code", 7))
                .row((2, "Read SQL", 3)),
        )?;
        Ok(())
    })?;

    let mut conn = engine.connect()?;

    // JOIN: the ON clause comes from the foreign key.
    println!("\n📋 posts with their authors:");
    let stmt = select((users.c("name"), posts.c("title"), posts.c("likes")))
        .join(&posts)
        .order_by([users.c("name").asc(), posts.c("title").asc()]);
    for row in conn.execute(&stmt)? {
        let row = row?;
        println!(
            "  {:<6} {:<14} {:>3} likes",
            row.get::<String>("name")?,
            row.get::<String>("title")?,
            row.get::<i64>("likes")?
        );
    }

    // Aggregate with an outer join, so users without posts count zero.
    println!("\n📊 posts and likes per user:");
    let stmt = select((
        users.c("name"),
        func::count(posts.c("id")).label("posts"),
        func::coalesce([func::sum(posts.c("likes")), 0.into()]).label("likes"),
    ))
    .outerjoin(&posts)
    .group_by([users.c("name")])
    .order_by([users.c("name")]);
    for row in conn.execute(&stmt)? {
        let row = row?;
        println!(
            "  {:<6} {} posts, {} likes",
            row.get::<String>(0)?,
            row.get::<i64>(1)?,
            row.get::<i64>(2)?
        );
    }

    // UPDATE, then read the row back.
    let changed = conn
        .execute(
            &update(&users)
                .set("email", "new@email.com")
                .where_(users.c("name").eq("Chen")),
        )?
        .rows_affected();
    println!("\n🔄 updated {changed} row");
    let row = conn
        .execute(&select(&users).where_(users.c("name").eq("Chen")))?
        .one()?;
    println!("  {:?}", row.values());

    metadata.drop_all(engine)?;
    Ok(())
}
