// A relationship field is not a column: #[column] on a Many/One field is an error,
// with or without #[relationship].
use strata_orm::{Many, Model, One};

#[derive(Model)]
#[model(table = "users")]
struct User {
    #[column(primary_key)]
    id: i64,
    #[relationship(back_populates = "user")]
    #[column(skip)]
    tasks: Many<Task>,
    #[column(foreign_key = "tasks.id")]
    best: One<Task>,
}

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: i64,
}

fn main() {}
