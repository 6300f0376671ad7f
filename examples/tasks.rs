//! Seed 000, "SQLAlchemy ORM": models, a session, and CRUD through objects.
//!
//! Run on a SQLite file `orm_tasks.db` (recreated on each run):
//!     cargo run --example tasks
//! or on PostgreSQL:
//!     cargo run --example tasks -- postgresql://user:pass@127.0.0.1:5432/db

use std::fmt;

use strata::create_engine;
use strata::orm::{Many, Model, Registry, Session};

// Model = Rust struct = table in DB
#[derive(Model, Debug, Clone)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: Option<i64>,
    title: String,
    #[column(default = false)]
    completed: bool,
}

// User (one) -> Tasks (many)
#[derive(Model, Debug, Clone)]
#[model(table = "users")]
struct User {
    #[column(primary_key)]
    id: Option<i64>,
    name: String,
    // Link to tasks
    #[relationship]
    tasks: Many<UserTask>,
}

// Task belongs to user
#[derive(Model, Debug, Clone)]
#[model(table = "user_tasks")]
struct UserTask {
    #[column(primary_key)]
    id: Option<i64>,
    title: String,
    #[column(foreign_key = "users.id")]
    user_id: Option<i64>,
}

impl Task {
    fn new(title: &str) -> Task {
        Task {
            id: None,
            title: title.to_string(),
            completed: false,
        }
    }
}

// Nice object representation
impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = if self.completed { "✅" } else { "⏳" };
        write!(f, "<Task: {status} {}>", self.title)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Step 1: basic setup. The registry plays the declarative Base's part.
    let url = std::env::args().nth(1).unwrap_or_else(|| {
        let _ = std::fs::remove_file("orm_tasks.db");
        "sqlite:///orm_tasks.db".to_string()
    });
    let engine = create_engine(&url)?;
    // Start from an empty database on every run.
    let all = Registry::new()
        .map::<Task>()?
        .map::<User>()?
        .map::<UserTask>()?;
    all.metadata().drop_all(&engine)?;
    println!("✅ Basic setup ready!");

    // Step 2: the model (declared above), mapped by the registry.
    let registry = Registry::new().map::<Task>()?.configure()?;
    println!("✅ Task model created!");

    // Step 3: create the table and a session.
    registry.metadata().drop_all(&engine)?;
    registry.metadata().create_all(&engine)?;
    let mut session = Session::new(&engine);
    println!("✅ Table created, session ready!");

    // CREATE: objects like regular Rust values, added to the session and saved.
    let task1 = session.add(Task::new("Learn ORM"))?;
    let task2 = session.add(Task::new("Write code"))?;
    session.commit()?;
    println!("✅ CREATE: Tasks created:");
    println!("  {task1}");
    println!("  {task2}");

    // READ: all tasks.
    let all_tasks = session.query::<Task>().all()?;
    println!("📋 READ: All tasks:");
    for task in &all_tasks {
        println!("  {task}");
    }

    // READ: a specific task by primary key.
    let task = session.get::<Task>(1)?.ok_or("task 1 not found")?;
    println!("🎯 Task with ID=1: {task}");

    // UPDATE: just change the object's fields, then commit.
    let task = session.get::<Task>(1)?.ok_or("task 1 not found")?;
    task.write().completed = true;
    task.write().title = "Learn ORM ✨".to_string();
    session.commit()?;
    println!("🔄 UPDATE: {task}");

    // DELETE: find the object and delete it.
    let task_to_delete = session.get::<Task>(2)?.ok_or("task 2 not found")?;
    session.delete(&task_to_delete)?;
    session.commit()?;
    println!("🗑️ DELETE: Task deleted");

    // What's left.
    let remaining_tasks = session.query::<Task>().all()?;
    println!("📋 Remaining tasks: {}", remaining_tasks.len());
    for task in &remaining_tasks {
        println!("  {task}");
    }

    session.close()?;

    // Relationships between tables: create the new tables and data.
    let registry = Registry::new()
        .map::<Task>()?
        .map::<User>()?
        .map::<UserTask>()?
        .configure()?;
    registry.metadata().create_all(&engine)?;
    let mut session = Session::new(&engine);

    let user = session.add(User {
        id: None,
        name: "Anna".into(),
        tasks: Many::new(),
    })?;
    let task1 = UserTask {
        id: None,
        title: "Learn Python".into(),
        user_id: Some(1),
    };
    let task2 = UserTask {
        id: None,
        title: "Write code".into(),
        user_id: Some(1),
    };
    session.add_all([task1, task2])?;
    session.commit()?;

    // ORM magic: get related objects (loaded through the session, never by a field read).
    let tasks = session.load(&user, User::tasks)?;
    println!("👤 User: {}", user.read().name);
    println!("📋 Tasks: {}", tasks.len());
    for task in &tasks {
        println!("  - {}", task.read().title);
    }

    session.close()?;
    Ok(())
}
