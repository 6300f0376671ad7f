// #[relationship] needs a Many<T> or One<T> field; Vec and Option get a hint.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "users")]
struct User {
    #[column(primary_key)]
    id: i64,
    #[relationship(back_populates = "user")]
    tasks: Vec<Task>,
    #[relationship]
    best: Option<Task>,
    #[relationship]
    name: String,
}

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: i64,
}

fn main() {}
