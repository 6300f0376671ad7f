//! `#[derive(Model)]` and `#[derive(Embeddable)]`: the generated `ColumnSet`, `Model`
//! and typed column constants, checked through their effects (column definitions,
//! value round trips, DDL and SQL per dialect, the registry's type map).

use strata_core::{create_table, func, select, ColumnDefault, Dialect, Expr, SqlType, Value};
use strata_dialects::{MySqlDialect, PostgresDialect, SqliteDialect};
use strata_orm::{column_defs, ColumnDef, ColumnSet, Embeddable, Error, Model, Registry, TypeMap};

/// Seed 001's `TimestampMixin`: two server-side timestamps, one refreshed on UPDATE.
#[derive(Embeddable, Debug, Clone, Default, PartialEq)]
struct TimestampMixin {
    #[column(sql_type = SqlType::DateTime, server_default = func::now())]
    created_at: Option<String>,
    #[column(sql_type = SqlType::DateTime, server_default = func::now(), onupdate = func::now())]
    updated_at: Option<String>,
}

/// The model of the derive's documentation, with every kind of field.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: Option<i64>,
    title: String,
    #[column(default = false)]
    completed: bool,
    #[column(name = "due_on", sql_type = SqlType::Date)]
    due: Option<String>,
    #[column(flatten)]
    timestamps: TimestampMixin,
    #[column(skip)]
    notes_cache: Vec<String>,
}

fn task(title: &str) -> Task {
    Task {
        id: Some(7),
        title: title.into(),
        completed: true,
        due: None,
        timestamps: TimestampMixin {
            created_at: Some("2024-01-02 03:04:05".into()),
            updated_at: None,
        },
        notes_cache: vec!["cached".into()],
    }
}

fn def<'a>(defs: &'a [ColumnDef], name: &str) -> &'a ColumnDef {
    defs.iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

fn ddl(table: &strata_core::Table, dialect: &dyn Dialect) -> String {
    create_table(table)
        .compile(dialect)
        .unwrap()
        .sql()
        .to_string()
}

#[test]
fn column_defs_follow_field_order_with_embedded_columns_in_place() {
    let defs = column_defs::<Task>();
    let names: Vec<_> = defs
        .iter()
        .map(|d| (d.field, d.name, d.rust_type))
        .collect();
    assert_eq!(
        names,
        [
            ("id", "id", "Option<i64>"),
            ("title", "title", "String"),
            ("completed", "completed", "bool"),
            ("due", "due_on", "Option<String>"),
            ("timestamps.created_at", "created_at", "Option<String>"),
            ("timestamps.updated_at", "updated_at", "Option<String>"),
        ]
    );
    // Calling it again gives the same (cached) embedded field names.
    let again = column_defs::<Task>();
    assert_eq!(again[4].field, "timestamps.created_at");
    assert!(std::ptr::eq(again[4].field, defs[4].field));
}

#[test]
fn column_defs_carry_types_nullability_keys_and_defaults() {
    let defs = column_defs::<Task>();

    let id = def(&defs, "id");
    assert!(id.primary_key && id.nullable && !id.version && !id.unique && !id.index);
    assert_eq!((id.default_type)(), SqlType::BigInteger);
    assert_eq!((id.type_id)(), std::any::TypeId::of::<Option<i64>>());
    assert!(id.sql_type.is_none() && id.annotation.is_none() && id.default.is_none());

    let title = def(&defs, "title");
    assert!(!title.primary_key && !title.nullable);
    // VARCHAR, with a length on MySQL, which takes none without.
    assert_eq!(
        (title.default_type)(),
        SqlType::String(None).with_variant(SqlType::String(Some(255)), "mysql")
    );

    let completed = def(&defs, "completed");
    assert_eq!((completed.default_type)(), SqlType::Boolean);
    match (completed.default.expect("default"))() {
        ColumnDefault::Value(v) => assert_eq!(v, Value::Bool(false)),
        other => panic!("expected a value default, got {other:?}"),
    }

    let due = def(&defs, "due_on");
    assert!(due.nullable);
    assert_eq!((due.sql_type.expect("sql_type"))(), SqlType::Date);
    assert_eq!(due.resolve_type(None), SqlType::Date);

    let created = def(&defs, "created_at");
    assert!(matches!(
        (created.server_default.expect("server_default"))(),
        Expr::Function { .. }
    ));
    assert!(created.onupdate.is_none());
    let updated = def(&defs, "updated_at");
    assert!(matches!(
        (updated.onupdate.expect("onupdate"))(),
        ColumnDefault::Expr(Expr::Function { .. })
    ));
}

/// A model with the remaining column keys: unique, index, foreign key, autoincrement,
/// annotation, version, default_fn, a literal server default and an Expr default.
#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "entries", schema = "app")]
struct Entry {
    #[column(primary_key, autoincrement = false)]
    id: i32,
    #[column(unique, index)]
    slug: String,
    #[column(foreign_key = "users.id", index)]
    owner_id: Option<i64>,
    #[column(annotation = "bigint")]
    views: i32,
    #[column(version)]
    version_id: i32,
    #[column(default_fn = default_label)]
    label: String,
    #[column(server_default = 0)]
    score: f64,
    #[column(default = func::now())]
    stamped: Option<String>,
    #[column(onupdate = 1)]
    touched: i16,
    r#type: String,
    payload: Vec<u8>,
}

fn default_label() -> String {
    "untitled".into()
}

#[test]
fn column_defs_carry_constraints_version_and_callables() {
    assert_eq!(Entry::TABLE, "entries");
    assert_eq!(Entry::SCHEMA, Some("app"));
    let defs = column_defs::<Entry>();
    let id = def(&defs, "id");
    assert_eq!(
        (id.primary_key, id.autoincrement, id.nullable),
        (true, Some(false), false)
    );
    let slug = def(&defs, "slug");
    assert!(slug.unique && slug.index);
    let owner = def(&defs, "owner_id");
    assert_eq!(owner.foreign_key, Some("users.id"));
    assert!(owner.index && owner.nullable && !owner.unique);
    assert_eq!(def(&defs, "views").annotation, Some("bigint"));
    let version: Vec<_> = defs.iter().filter(|d| d.version).map(|d| d.name).collect();
    assert_eq!(version, ["version_id"]);
    match (def(&defs, "label").default.expect("default_fn"))() {
        ColumnDefault::Callable(f) => assert_eq!(f(), Value::Text("untitled".into())),
        other => panic!("expected a callable default, got {other:?}"),
    }
    assert!(matches!(
        (def(&defs, "score").server_default.unwrap())(),
        Expr::Param(Value::Int(0))
    ));
    assert!(matches!(
        (def(&defs, "stamped").default.unwrap())(),
        ColumnDefault::Expr(_)
    ));
    assert!(matches!(
        (def(&defs, "touched").onupdate.unwrap())(),
        ColumnDefault::Value(Value::Int(1))
    ));
    // A raw identifier maps to the plain column name.
    assert_eq!(def(&defs, "type").field, "type");
    assert_eq!(Entry::r#type.name(), "type");
    assert_eq!((def(&defs, "payload").default_type)(), SqlType::LargeBinary);

    let table = Entry::table().unwrap();
    assert_eq!(table.schema(), Some("app"));
    assert_eq!(table.foreign_keys().len(), 1);
}

#[test]
fn write_values_then_read_values_round_trips() {
    let t = task("Learn ORM");
    let mut values = Vec::new();
    t.write_values(&mut values);
    assert_eq!(
        values,
        [
            Value::BigInt(7),
            Value::Text("Learn ORM".into()),
            Value::Bool(true),
            Value::Null,
            Value::Text("2024-01-02 03:04:05".into()),
            Value::Null,
        ]
    );
    let mut it = values.iter_mut();
    let back = Task::read_values(&mut it).unwrap();
    assert!(
        it.next().is_none(),
        "read_values consumes exactly one value per column"
    );
    assert!(
        values.iter().all(Value::is_null),
        "read_values takes the values out"
    );
    // Skipped fields come back as their Default.
    assert_eq!(
        back,
        Task {
            notes_cache: Vec::new(),
            ..t
        }
    );
}

#[test]
fn read_values_names_the_field_of_a_bad_value() {
    let mut values = [
        Value::BigInt(1),
        Value::BigInt(5),
        Value::Bool(false),
        Value::Null,
        Value::Null,
        Value::Null,
    ];
    let err = Task::read_values(&mut values.iter_mut()).unwrap_err();
    match &err {
        Error::InvalidRequest(m) => assert!(m.starts_with("Task.title: expected String"), "{m}"),
        other => panic!("unexpected error {other:?}"),
    }

    // An error inside an embedded struct names both levels.
    let mut values = [
        Value::Null,
        "t".into(),
        Value::Bool(false),
        Value::Null,
        Value::Bool(true),
        Value::Null,
    ];
    let err = Task::read_values(&mut values.iter_mut())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Task.timestamps: TimestampMixin.created_at: expected String"),
        "{err}"
    );

    // NULL in a non-Option field says how to fix it.
    let mut values = [Value::Null, Value::Null];
    let err = Task::read_values(&mut values.iter_mut())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Task.title: expected String, found NULL"),
        "{err}"
    );
}

#[test]
fn read_values_errors_when_the_values_run_out() {
    let mut values = [
        Value::BigInt(1),
        "t".into(),
        Value::Bool(false),
        Value::Null,
        Value::Null,
    ];
    let err = Task::read_values(&mut values.iter_mut())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Task.timestamps: TimestampMixin.updated_at: no value left"),
        "{err}"
    );
    let err = Task::read_values(&mut [].iter_mut())
        .unwrap_err()
        .to_string();
    assert!(err.contains("Task.id: no value left"), "{err}");
}

#[test]
fn update_values_overwrites_columns_and_leaves_skip_fields_alone() {
    let mut t = task("old");
    let mut values = Vec::new();
    Task {
        id: Some(8),
        title: "new".into(),
        completed: false,
        due: Some("2024-05-01".into()),
        timestamps: TimestampMixin {
            created_at: None,
            updated_at: Some("later".into()),
        },
        notes_cache: Vec::new(),
    }
    .write_values(&mut values);
    let mut it = values.iter_mut();
    t.update_values(&mut it).unwrap();
    assert!(it.next().is_none());
    assert_eq!(t.id, Some(8));
    assert_eq!(t.title, "new");
    assert!(!t.completed);
    assert_eq!(t.due.as_deref(), Some("2024-05-01"));
    assert_eq!(
        t.timestamps,
        TimestampMixin {
            created_at: None,
            updated_at: Some("later".into())
        }
    );
    assert_eq!(t.notes_cache, ["cached"], "skip fields keep their value");
}

#[test]
fn update_values_leaves_plain_columns_unchanged_on_error() {
    let mut t = task("old");
    let before = t.clone();
    // id is fine, title has the wrong type: nothing of the object changes.
    let err = t
        .update_values(&mut [Value::BigInt(99), Value::Bool(true)].iter_mut())
        .unwrap_err();
    assert!(err.to_string().contains("Task.title"), "{err}");
    assert_eq!(t, before);
}

#[test]
fn model_table_renders_create_table_per_dialect() {
    let table = Task::table().unwrap();
    assert!(
        std::ptr::eq(table, Task::table().unwrap()),
        "the table is built once"
    );
    assert_eq!(table.name(), "tasks");
    assert_eq!(table.primary_key(), ["id"]);
    assert_eq!(
        ddl(table, &SqliteDialect),
        "CREATE TABLE \"tasks\" (\n\
         \t\"id\" INTEGER NOT NULL,\n\
         \t\"title\" VARCHAR NOT NULL,\n\
         \t\"completed\" BOOLEAN NOT NULL,\n\
         \t\"due_on\" DATE,\n\
         \t\"created_at\" DATETIME DEFAULT CURRENT_TIMESTAMP,\n\
         \t\"updated_at\" DATETIME DEFAULT CURRENT_TIMESTAMP,\n\
         \tPRIMARY KEY (\"id\")\n\
         )"
    );
    assert_eq!(
        ddl(table, &PostgresDialect),
        "CREATE TABLE \"tasks\" (\n\
         \t\"id\" BIGSERIAL NOT NULL,\n\
         \t\"title\" VARCHAR NOT NULL,\n\
         \t\"completed\" BOOLEAN NOT NULL,\n\
         \t\"due_on\" DATE,\n\
         \t\"created_at\" TIMESTAMP WITHOUT TIME ZONE DEFAULT (now()),\n\
         \t\"updated_at\" TIMESTAMP WITHOUT TIME ZONE DEFAULT (now()),\n\
         \tPRIMARY KEY (\"id\")\n\
         )"
    );
}

#[test]
fn typed_columns_compile_into_sql() {
    let stmt = select(Task::table().unwrap())
        .where_(
            Task::title
                .eq("x")
                .and(Task::completed.eq(false))
                .and(Task::id.gt(3)),
        )
        .order_by([Task::due.desc()]);
    let sqlite = stmt.compile(&SqliteDialect).unwrap();
    assert_eq!(
        sqlite.sql(),
        "SELECT \"tasks\".\"id\", \"tasks\".\"title\", \"tasks\".\"completed\", \"tasks\".\"due_on\", \
         \"tasks\".\"created_at\", \"tasks\".\"updated_at\" FROM \"tasks\" \
         WHERE \"tasks\".\"title\" = ? AND \"tasks\".\"completed\" = ? AND \"tasks\".\"id\" > ? \
         ORDER BY \"tasks\".\"due_on\" DESC"
    );
    assert_eq!(
        sqlite.params(),
        [Value::from("x"), Value::Bool(false), Value::Int(3)]
    );

    // The constant is named after the field and refers to the column name.
    assert_eq!(Task::due.name(), "due_on");
    let pg = select((Task::title, Task::due))
        .where_(Task::due.is_null())
        .compile(&PostgresDialect)
        .unwrap();
    assert_eq!(pg.sql(), "SELECT \"tasks\".\"title\", \"tasks\".\"due_on\" FROM \"tasks\" WHERE \"tasks\".\"due_on\" IS NULL");

    // Embedded columns are tied to a model with `of`.
    let created = TimestampMixin::created_at.of::<Task>();
    let q = select(Task::id)
        .where_(created.is_not_null())
        .compile(&SqliteDialect)
        .unwrap();
    assert_eq!(
        q.sql(),
        "SELECT \"tasks\".\"id\" FROM \"tasks\" WHERE \"tasks\".\"created_at\" IS NOT NULL"
    );
}

/// Seed 001's mixin: `class User(TimestampMixin, Base)`.
#[derive(Model, Debug, Clone)]
#[model(table = "users")]
struct MixedUser {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    #[column(flatten)]
    timestamps: TimestampMixin,
}

#[test]
fn mixin_adds_server_default_and_onupdate_columns() {
    let table = MixedUser::table().unwrap();
    let names: Vec<_> = table.columns().map(|c| c.name().to_string()).collect();
    assert_eq!(names, ["id", "name", "created_at", "updated_at"]);
    let created = table.column("created_at").unwrap();
    assert!(created.server_default_expr().is_some() && created.onupdate_value().is_none());
    let updated = table.column("updated_at").unwrap();
    assert!(updated.server_default_expr().is_some());
    assert!(matches!(
        updated.onupdate_value(),
        Some(ColumnDefault::Expr(_))
    ));
    assert_eq!(
        ddl(table, &SqliteDialect),
        "CREATE TABLE \"users\" (\n\
         \t\"id\" INTEGER NOT NULL,\n\
         \t\"name\" VARCHAR NOT NULL,\n\
         \t\"created_at\" DATETIME DEFAULT CURRENT_TIMESTAMP,\n\
         \t\"updated_at\" DATETIME DEFAULT CURRENT_TIMESTAMP,\n\
         \tPRIMARY KEY (\"id\")\n\
         )"
    );
}

/// Seed 001's abstract base: `class CommonBase(Base): __abstract__ = True` with the
/// primary key and a timestamp, shared by `User` and `Post`.
#[derive(Embeddable, Debug, Clone, Default, PartialEq)]
struct CommonBase {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(sql_type = SqlType::DateTime, server_default = func::now())]
    created_at: Option<String>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "users")]
struct User {
    #[column(flatten)]
    base: CommonBase,
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "posts")]
struct Post {
    #[column(flatten)]
    base: CommonBase,
    title: String,
    #[column(foreign_key = "users.id")]
    user_id: Option<i64>,
}

#[test]
fn abstract_base_is_shared_by_two_models() {
    let names = |defs: Vec<ColumnDef>| {
        defs.iter()
            .map(|d| (d.field, d.name, d.primary_key))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(column_defs::<User>()),
        [
            ("base.id", "id", true),
            ("base.created_at", "created_at", false),
            ("name", "name", false)
        ]
    );
    assert_eq!(
        names(column_defs::<Post>()),
        [
            ("base.id", "id", true),
            ("base.created_at", "created_at", false),
            ("title", "title", false),
            ("user_id", "user_id", false),
        ]
    );
    assert_eq!(User::table().unwrap().primary_key(), ["id"]);
    assert_eq!(Post::table().unwrap().primary_key(), ["id"]);
    assert_eq!(
        ddl(Post::table().unwrap(), &SqliteDialect),
        "CREATE TABLE \"posts\" (\n\
         \t\"id\" INTEGER NOT NULL,\n\
         \t\"created_at\" DATETIME DEFAULT CURRENT_TIMESTAMP,\n\
         \t\"title\" VARCHAR NOT NULL,\n\
         \t\"user_id\" BIGINT,\n\
         \tPRIMARY KEY (\"id\"),\n\
         \tFOREIGN KEY(\"user_id\") REFERENCES \"users\" (\"id\")\n\
         )"
    );

    // Each model's typed embedded column refers to its own table.
    let q = select(CommonBase::id.of::<Post>())
        .where_(CommonBase::id.of::<User>().eq_col(Post::user_id));
    assert_eq!(
        q.compile(&SqliteDialect).unwrap().sql(),
        "SELECT \"posts\".\"id\" FROM \"posts\", \"users\" WHERE \"users\".\"id\" = \"posts\".\"user_id\""
    );

    // Values round-trip through the embedded struct.
    let post = Post {
        base: CommonBase {
            id: Some(3),
            created_at: None,
        },
        title: "Hello".into(),
        user_id: Some(1),
    };
    let mut values = Vec::new();
    post.write_values(&mut values);
    assert_eq!(values[0], Value::BigInt(3));
    assert_eq!(Post::read_values(&mut values.iter_mut()).unwrap(), post);

    let registry = Registry::new()
        .map::<User>()
        .unwrap()
        .map::<Post>()
        .unwrap()
        .configure()
        .unwrap();
    assert_eq!(
        registry.inspect::<Post>().unwrap().primary_key_names(),
        ["id"]
    );
}

/// Seed 001's `type_annotation_map` example.
#[derive(Model, Debug, Clone)]
#[model(table = "accounts")]
struct Account {
    #[column(primary_key, annotation = "bigint")]
    id: Option<i32>,
    name: String,
    nickname: Option<String>,
    #[column(sql_type = SqlType::String(Some(20)))]
    code: String,
    #[column(annotation = "bigint")]
    karma: i32,
}

#[test]
fn registry_type_map_gives_per_dialect_ddl() {
    let map = TypeMap::new()
        .rust::<String>(SqlType::Text.with_variant(SqlType::String(Some(255)), "mysql"))
        .annotation("bigint", SqlType::BigInteger);
    let registry = Registry::new().type_map(map).map::<Account>().unwrap();
    let mapper = registry.inspect::<Account>().unwrap();
    assert_eq!(
        mapper.column_names(),
        ["id", "name", "nickname", "code", "karma"]
    );
    assert_eq!(mapper.primary_key_names(), ["id"]);
    let table = &mapper.table;
    assert_eq!(
        ddl(table, &SqliteDialect),
        "CREATE TABLE \"accounts\" (\n\
         \t\"id\" INTEGER NOT NULL,\n\
         \t\"name\" TEXT NOT NULL,\n\
         \t\"nickname\" TEXT,\n\
         \t\"code\" VARCHAR(20) NOT NULL,\n\
         \t\"karma\" BIGINT NOT NULL,\n\
         \tPRIMARY KEY (\"id\")\n\
         )"
    );
    assert_eq!(
        ddl(table, &PostgresDialect),
        "CREATE TABLE \"accounts\" (\n\
         \t\"id\" BIGSERIAL NOT NULL,\n\
         \t\"name\" TEXT NOT NULL,\n\
         \t\"nickname\" TEXT,\n\
         \t\"code\" VARCHAR(20) NOT NULL,\n\
         \t\"karma\" BIGINT NOT NULL,\n\
         \tPRIMARY KEY (\"id\")\n\
         )"
    );
    assert_eq!(
        ddl(table, &MySqlDialect),
        "CREATE TABLE `accounts` (\n\
         \t`id` BIGINT NOT NULL AUTO_INCREMENT,\n\
         \t`name` VARCHAR(255) NOT NULL,\n\
         \t`nickname` VARCHAR(255),\n\
         \t`code` VARCHAR(20) NOT NULL,\n\
         \t`karma` BIGINT NOT NULL,\n\
         \tPRIMARY KEY (`id`)\n\
         )"
    );
    // Without the type map the same model keeps its fields' default types.
    let plain = Account::table().unwrap();
    assert_eq!(plain.column("id").unwrap().sql_type(), &SqlType::Integer);
    assert_eq!(
        plain.column("name").unwrap().sql_type(),
        &SqlType::String(None).with_variant(SqlType::String(Some(255)), "mysql")
    );
}

fn check_title(t: &Titled) -> Result<(), String> {
    if t.title.trim().is_empty() {
        Err("title must not be blank".into())
    } else {
        Ok(())
    }
}

#[derive(Model, Debug, Clone)]
#[model(table = "titled", validate = check_title)]
struct Titled {
    #[column(primary_key)]
    id: i64,
    title: String,
}

#[test]
fn validate_calls_the_given_function() {
    assert_eq!(
        Titled {
            id: 1,
            title: "ok".into()
        }
        .validate(),
        Ok(())
    );
    assert_eq!(
        Titled {
            id: 1,
            title: "  ".into()
        }
        .validate(),
        Err("title must not be blank".to_string())
    );
    // Without `validate`, the trait's default accepts everything.
    assert_eq!(task("").validate(), Ok(()));
}

mod reexport {
    //! A crate path given explicitly, as a crate that re-exports the ORM would.
    pub use strata_orm as my_orm;
}

#[derive(Model, Debug, Clone)]
#[model(table = "explicit", crate = "crate::reexport::my_orm")]
struct Explicit {
    #[column(primary_key)]
    id: i64,
}

#[derive(Embeddable, Debug, Clone, Default)]
#[model(crate = "crate::reexport::my_orm")]
struct ExplicitMixin {
    note: Option<String>,
}

#[test]
fn crate_path_can_be_given_explicitly() {
    assert_eq!(Explicit::table().unwrap().name(), "explicit");
    assert_eq!(column_defs::<ExplicitMixin>()[0].name, "note");
}

/// Embeddables nest, and several `#[column]` attributes on one field merge.
#[derive(Embeddable, Debug, Clone, Default, PartialEq)]
struct Audit {
    #[column(flatten)]
    stamps: TimestampMixin,
    #[column(name = "audited_by")]
    #[column(index)]
    by: Option<String>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "documents")]
#[model(schema = "docs")]
struct Document {
    #[column(primary_key)]
    id: i64,
    #[column(flatten)]
    audit: Audit,
    #[column(skip)]
    dirty: bool,
}

#[test]
fn nested_embeddables_and_merged_attributes() {
    let defs = column_defs::<Document>();
    let fields: Vec<_> = defs.iter().map(|d| (d.field, d.name)).collect();
    assert_eq!(
        fields,
        [
            ("id", "id"),
            ("audit.stamps.created_at", "created_at"),
            ("audit.stamps.updated_at", "updated_at"),
            ("audit.by", "audited_by"),
        ]
    );
    assert!(def(&defs, "audited_by").index);
    assert_eq!(Document::SCHEMA, Some("docs"));
    assert_eq!(Audit::by.of::<Document>().name(), "audited_by");

    let doc = Document {
        id: 1,
        audit: Audit {
            stamps: TimestampMixin::default(),
            by: Some("ann".into()),
        },
        dirty: true,
    };
    let mut values = Vec::new();
    doc.write_values(&mut values);
    assert_eq!(values.len(), 4);
    let back = Document::read_values(&mut values.iter_mut()).unwrap();
    assert_eq!(
        back,
        Document {
            dirty: false,
            ..doc
        }
    );
}

/// The generated code is clean under strict lints: public models need no extra docs,
/// and models whose fields are all embedded or skipped compile without warnings.
pub mod strict {
    #![deny(missing_docs, warnings, clippy::all, clippy::pedantic)]

    use strata_orm::{Embeddable, Model};

    /// A public embeddable with a public field.
    #[derive(Embeddable, Debug, Clone, Default)]
    pub struct Key {
        /// The id.
        #[column(primary_key)]
        pub id: i64,
    }

    /// A public model made only of an embedded struct and a skipped field.
    #[derive(Model, Debug, Clone)]
    #[model(table = "strict_only_embedded")]
    pub struct OnlyEmbedded {
        /// The key.
        #[column(flatten)]
        pub key: Key,
        /// Not a column.
        #[column(skip)]
        pub cache: Option<String>,
    }

    /// A public model whose fields are named like the generated code's locals.
    #[derive(Model, Debug, Clone)]
    #[model(table = "strict_names")]
    pub struct Names {
        /// Primary key.
        #[column(primary_key)]
        pub values: i64,
        /// A column called `out`.
        pub out: String,
        /// A column called `e`.
        pub e: Option<i32>,
        /// A column called `value`.
        #[column(default_fn = super::default_label)]
        pub value: String,
    }
}

#[test]
fn fields_named_like_generated_locals_work() {
    use strict::{Key, Names, OnlyEmbedded};
    let n = Names {
        values: 1,
        out: "o".into(),
        e: Some(2),
        value: "v".into(),
    };
    let mut values = Vec::new();
    n.write_values(&mut values);
    let back = Names::read_values(&mut values.iter_mut()).unwrap();
    assert_eq!(
        (back.values, back.out.as_str(), back.e, back.value.as_str()),
        (1, "o", Some(2), "v")
    );
    assert_eq!(Names::values.name(), "values");

    let mut o = OnlyEmbedded {
        key: Key { id: 1 },
        cache: Some("kept".into()),
    };
    o.update_values(&mut [Value::BigInt(5)].iter_mut()).unwrap();
    assert_eq!((o.key.id, o.cache.as_deref()), (5, Some("kept")));
    assert_eq!(OnlyEmbedded::table().unwrap().primary_key(), ["id"]);
}
