// Unknown #[relationship] keys, with suggestions; SQLAlchemy's backref is explained.
use strata_orm::{Many, Model, One};

#[derive(Model)]
#[model(table = "users")]
struct User {
    #[column(primary_key)]
    id: i64,
    #[relationship(back_populate = "user")]
    tasks: Many<Task>,
    #[relationship(backref = "owner")]
    notes: Many<Task>,
    #[relationship(uselist)]
    best: One<Task>,
}

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: i64,
}

fn main() {}
