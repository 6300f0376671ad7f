// order_by and secondary belong on a Many<T>, not a One<T>.
use strata_orm::{Model, One};

fn assoc() -> strata_core::Table {
    unimplemented!()
}

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: i64,
    #[relationship(order_by = "name", secondary = assoc)]
    user: One<User>,
    #[relationship(cascade = "all")] // fine
    owner: One<User>,
}

#[derive(Model)]
#[model(table = "users")]
struct User {
    #[column(primary_key)]
    id: i64,
}

fn main() {}
