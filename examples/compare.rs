//! The same job done three ways — raw SQL on the driver (rusqlite), strata Core, and
//! the strata ORM — with the results and seed 000's "Approach Comparison" table,
//! plus a measured time per approach.
//!
//!     cargo run --release --example compare

use std::time::{Duration, Instant};

use strata::orm::{
    select as orm_select, selectinload, Handle, Many, Model, One, Registry, Session,
};
use strata::{
    create_engine, func, insert, select, update, Column, MetaData, Result, SqlType, Table,
};

const USERS: usize = 200;
const TASKS_PER_USER: usize = 5;

#[derive(Model, Debug, Clone)]
#[model(table = "users")]
struct User {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    #[relationship(back_populates = "user")]
    tasks: Many<UserTask>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "user_tasks")]
struct UserTask {
    #[column(primary_key)]
    id: Option<i64>,
    title: String,
    #[column(default = false)]
    done: bool,
    #[column(foreign_key = "users.id")]
    user_id: Option<i64>,
    #[relationship(back_populates = "tasks")]
    user: One<User>,
}

/// What each approach reports: (user name, tasks, tasks done) for the first users.
type Summary = Vec<(String, i64, i64)>;

const DDL: &str = "CREATE TABLE users (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR NOT NULL);
CREATE TABLE user_tasks (id INTEGER NOT NULL PRIMARY KEY, title VARCHAR NOT NULL, done BOOLEAN NOT NULL,
                         user_id INTEGER REFERENCES users (id));";

/// Pure SQL: SQL strings and hand-bound parameters on the driver.
fn pure_sql() -> rusqlite::Result<Summary> {
    let conn = rusqlite::Connection::open_in_memory()?;
    conn.execute_batch(DDL)?;
    let tx = conn.unchecked_transaction()?;
    {
        let mut add_user = tx.prepare("INSERT INTO users (name) VALUES (?1)")?;
        let mut add_task =
            tx.prepare("INSERT INTO user_tasks (title, done, user_id) VALUES (?1, 0, ?2)")?;
        for u in 0..USERS {
            add_user.execute([format!("user{u:03}")])?;
            let uid = tx.last_insert_rowid();
            for t in 0..TASKS_PER_USER {
                add_task.execute(rusqlite::params![format!("task {t}"), uid])?;
            }
        }
        tx.execute(
            "UPDATE user_tasks SET done = 1 WHERE title = ?1",
            ["task 0"],
        )?;
    }
    tx.commit()?;
    let mut q = conn.prepare(
        "SELECT users.name, count(user_tasks.id), coalesce(sum(user_tasks.done), 0) FROM users \
         LEFT OUTER JOIN user_tasks ON users.id = user_tasks.user_id GROUP BY users.name ORDER BY users.name LIMIT 3",
    )?;
    let rows = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

/// strata Core: schema objects and composable statements; values are always bound.
fn core() -> Result<Summary> {
    let engine = create_engine("sqlite://")?;
    let mut md = MetaData::new();
    let users = Table::build("users")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::String(None)).not_null())
        .add_to(&mut md)?;
    let tasks = Table::build("user_tasks")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("title", SqlType::String(None)).not_null())
        .column(
            Column::new("done", SqlType::Boolean)
                .not_null()
                .default(false),
        )
        .column(Column::new("user_id", SqlType::Integer).foreign_key("users.id"))
        .add_to(&mut md)?;
    md.create_all(&engine)?;
    engine.begin(|conn| {
        for u in 0..USERS {
            let uid = conn
                .execute(&insert(&users).value("name", format!("user{u:03}")))?
                .last_insert_id();
            let rows = (0..TASKS_PER_USER).map(|t| (format!("task {t}"), uid));
            conn.execute(&insert(&tasks).columns(["title", "user_id"]).rows(rows))?;
        }
        conn.execute(
            &update(&tasks)
                .set("done", true)
                .where_(tasks.c("title").eq("task 0")),
        )?;
        Ok(())
    })?;
    let stmt = select((
        users.c("name"),
        func::count(tasks.c("id")),
        func::coalesce([func::sum(tasks.c("done")), 0.into()]),
    ))
    .outerjoin(&tasks)
    .group_by([users.c("name")])
    .order_by([users.c("name")])
    .limit(3);
    let mut conn = engine.connect()?;
    let rows = conn.execute(&stmt)?.all()?;
    rows.iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .collect()
}

/// strata ORM: structs, a session that tracks changes, relationships.
fn orm() -> strata::orm::Result<Summary> {
    let engine = create_engine("sqlite://")?;
    let registry = Registry::new()
        .map::<User>()?
        .map::<UserTask>()?
        .configure()?;
    registry.metadata().create_all(&engine)?;
    let mut session = Session::new(&engine);
    for u in 0..USERS {
        let user = Handle::new(User {
            id: None,
            name: format!("user{u:03}"),
            tasks: Many::new(),
        })?;
        for t in 0..TASKS_PER_USER {
            let task = UserTask {
                id: None,
                title: format!("task {t}"),
                done: false,
                user_id: None,
                user: One::new(),
            };
            user.append(User::tasks, &Handle::new(task)?)?;
        }
        session.add(&user)?;
    }
    session.commit()?;
    for task in session
        .scalars(&orm_select::<UserTask>().filter(UserTask::title.eq("task 0")))?
        .all()
    {
        task.write().done = true;
    }
    session.commit()?;
    let users = session
        .scalars(
            &orm_select::<User>()
                .order_by([User::name.asc()])
                .limit(3)
                .options(selectinload(User::tasks)),
        )?
        .all();
    users
        .iter()
        .map(|u| {
            let u = u.read();
            let tasks = u.tasks.get()?;
            let done = tasks.iter().filter(|t| t.read().done).count();
            Ok((u.name.clone(), tasks.len() as i64, done as i64))
        })
        .collect()
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    println!("Job: {USERS} users with {TASKS_PER_USER} tasks each, mark every 'task 0' done, report the first 3 users.\n");
    let (raw, t_raw) = timed(pure_sql);
    let (core, t_core) = timed(core);
    let (orm, t_orm) = timed(orm);
    let (raw, core, orm) = (raw?, core?, orm?);
    for (name, r) in [
        ("Pure SQL", &raw),
        ("strata Core", &core),
        ("strata ORM", &orm),
    ] {
        println!("{name}:");
        for (user, tasks, done) in r {
            println!("  {user}: {tasks} tasks, {done} done");
        }
    }
    assert_eq!(raw, core);
    assert_eq!(core, orm);
    println!("\nAll three approaches agree.\n");
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let rows = [
        (
            "Aspect",
            "Pure SQL".to_string(),
            "strata Core".to_string(),
            "strata ORM".to_string(),
        ),
        (
            "Syntax",
            "SQL strings".into(),
            "Rust functions".into(),
            "Rust structs".into(),
        ),
        (
            "Security",
            "Manual".into(),
            "Automatic".into(),
            "Automatic".into(),
        ),
        (
            "Table relations",
            "JOIN queries".into(),
            "Complex expressions".into(),
            "user.tasks".into(),
        ),
        (
            "Changes",
            "UPDATE SQL".into(),
            "update().set()".into(),
            "obj.field = value".into(),
        ),
        (
            "Learning curve",
            "Need to know SQL".into(),
            "Medium".into(),
            "Simple to start".into(),
        ),
        (
            "Performance",
            "Maximum".into(),
            "High".into(),
            "Good".into(),
        ),
        ("Measured time", ms(t_raw), ms(t_core), ms(t_orm)),
    ];
    println!("Approach Comparison");
    for (a, b, c, d) in &rows {
        println!("| {a:<15} | {b:<16} | {c:<19} | {d:<17} |");
    }
    Ok(())
}
