//! Seed 001, "ORM Introduction": declarative models, the registry and its metadata,
//! the type annotation map, mixins and abstract bases, the unit of work, the identity
//! map and `select()` queries.
//!
//!     cargo run --example declarative
//!     cargo run --example declarative -- postgresql://user:pass@127.0.0.1:5432/db

use strata::dialects::{MySqlDialect, PostgresDialect, SqliteDialect};
use strata::orm::{select, Embeddable, Handle, Model, Registry, Session, TypeMap};
use strata::{create_engine, create_table, func, Dialect, MetaData, SqlType};

// class User(Base): __tablename__ = "user_account"
#[derive(Model, Debug, Clone)]
#[model(table = "user_account")]
struct User {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    email: String,
}

// `MetaData(schema="myschema")`: models in such a registry declare the schema too, so
// their statements name it.
#[derive(Model, Debug, Clone)]
#[model(table = "user_account", schema = "myschema")]
struct SchemaUser {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
}

// Type annotation map: `bigint = Annotated[int, "bigint"]`, and str -> String(255) on MySQL.
#[derive(Model, Debug, Clone)]
#[model(table = "users")]
struct TypedUser {
    #[column(primary_key, annotation = "bigint")]
    id: Option<i64>,
    name: String,
}

// class TimestampMixin: created_at / updated_at with server defaults and onupdate.
#[derive(Embeddable, Debug, Clone, Default)]
struct TimestampMixin {
    #[column(sql_type = SqlType::DateTime, server_default = func::now())]
    created_at: Option<String>,
    #[column(sql_type = SqlType::DateTime, server_default = func::now(), onupdate = func::now())]
    updated_at: Option<String>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "users")]
struct StampedUser {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    #[column(flatten)]
    timestamps: TimestampMixin,
}

// class CommonBase(Base): __abstract__ = True — an embedded struct shared by models.
#[derive(Embeddable, Debug, Clone, Default)]
struct CommonBase {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(sql_type = SqlType::DateTime, server_default = func::now())]
    created_at: Option<String>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "users")]
struct BasedUser {
    #[column(flatten)]
    base: CommonBase,
    name: String,
}

#[derive(Model, Debug, Clone)]
#[model(table = "posts")]
struct BasedPost {
    #[column(flatten)]
    base: CommonBase,
    title: String,
}

fn ddl(registry: &Registry, dialects: &[&dyn Dialect]) -> Result<(), strata::Error> {
    for t in registry.metadata().tables() {
        for &d in dialects {
            println!("-- {}\n{};", d.name(), create_table(t).compile(d)?.sql());
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite://".to_string());
    let engine = create_engine(&url)?;

    // Registry and metadata: the registry maps models onto one MetaData.
    let registry = Registry::new().map::<User>()?.configure()?;
    println!(
        "registry.metadata tables: {:?}",
        registry
            .metadata()
            .tables()
            .map(|t| t.name())
            .collect::<Vec<_>>()
    );
    println!(
        "registry.mappers: {:?}",
        registry.mappers().map(|m| m.type_name).collect::<Vec<_>>()
    );

    // mapper = inspect(User)
    let mapper = registry.inspect::<User>().ok_or("User is not mapped")?;
    println!(
        "inspect(User): table={} columns={:?} primary_key={:?}",
        mapper.table.name(),
        mapper.column_names(),
        mapper.primary_key_names()
    );

    registry.metadata().drop_all(&engine)?;
    registry.metadata().create_all(&engine)?;

    // with Session(engine) as session: session.add(User(...)); session.commit()
    {
        let mut session = Session::new(&engine);
        session.add(User {
            id: None,
            name: "Alice".into(),
            email: "alice@example.com".into(),
        })?;
        session.add(User {
            id: None,
            name: "Bob".into(),
            email: "bob@example.com".into(),
        })?;
        session.commit()?;
    }

    // Unit of work: the change is tracked, and the flush sends SQL at commit time.
    {
        let mut session = Session::new(&engine);
        let user = session.get::<User>(1)?.ok_or("no user 1")?;
        user.write().name = "New Name".into();
        session.commit()?;
        println!(
            "unit of work: user 1 is now {:?}",
            session.get::<User>(1)?.ok_or("no user 1")?.read().name
        );
    }

    // Identity map: one object per row per session.
    {
        let mut session = Session::new(&engine);
        let user1 = session.get::<User>(1)?.ok_or("no user 1")?;
        let user2 = session.get::<User>(1)?.ok_or("no user 1")?;
        assert!(Handle::ptr_eq(&user1, &user2)); // assert user1 is user2
        println!(
            "identity map: user1 is user2 = {}",
            Handle::ptr_eq(&user1, &user2)
        );
    }

    // Querying with select().
    {
        let mut session = Session::new(&engine);
        let stmt = select::<User>().filter(User::name.eq("Bob"));
        let users = session.scalars(&stmt)?.all();
        println!(
            "select(User).where(User.name == 'Bob'): {:?}",
            users
                .iter()
                .map(|u| u.read().email.clone())
                .collect::<Vec<_>>()
        );
        let user = session.scalar(&select::<User>().filter(User::id.eq(1)))?;
        println!(
            "scalar(select(User).where(User.id == 1)): {:?}",
            user.map(|u| u.read().name.clone())
        );
    }

    // Custom metadata with a schema: MetaData(schema="myschema").
    let my_metadata = MetaData::new().with_schema("myschema");
    let schemaed = Registry::with_metadata(my_metadata).map::<SchemaUser>()?;
    let t = schemaed.metadata().tables().next().ok_or("no table")?;
    println!(
        "\nMetaData(schema=\"myschema\"):\n{};",
        create_table(t).compile(&PostgresDialect)?.sql()
    );

    // Type annotation map.
    println!("\ntype_annotation_map: str -> String().with_variant(String(255), \"mysql\"), bigint -> BigInteger()");
    let typed = Registry::new()
        .type_map(
            TypeMap::new()
                .rust::<String>(
                    SqlType::String(None).with_variant(SqlType::String(Some(255)), "mysql"),
                )
                .annotation("bigint", SqlType::BigInteger),
        )
        .map::<TypedUser>()?;
    ddl(&typed, &[&SqliteDialect, &PostgresDialect, &MySqlDialect])?;

    // Mixins and abstract bases.
    println!("\nTimestampMixin:");
    ddl(
        &Registry::new().map::<StampedUser>()?,
        &[&SqliteDialect, &PostgresDialect],
    )?;
    println!("\nCommonBase (abstract):");
    ddl(
        &Registry::new().map::<BasedUser>()?.map::<BasedPost>()?,
        &[&SqliteDialect, &PostgresDialect],
    )?;

    registry.metadata().drop_all(&engine)?;
    Ok(())
}
