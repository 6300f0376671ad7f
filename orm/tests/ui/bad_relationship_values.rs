// Bad lazy values and cascade parts are rejected at compile time; so are malformed
// order_by, back_populates and foreign_key strings, a flag with a value, and
// duplicate keys across merged attributes.
use strata_orm::{Many, Model, One};

#[derive(Model)]
#[model(table = "users")]
struct User {
    #[column(primary_key)]
    id: i64,
    #[relationship(lazy = "subquery")]
    a: Many<Task>,
    #[relationship(lazy = "selectn")]
    b: Many<Task>,
    #[relationship(cascade = "all, delete_orphan")]
    c: Many<Task>,
    #[relationship(cascade = "all delete-orphan")]
    d: Many<Task>,
    #[relationship(cascade = "save-update, everything")]
    e: Many<Task>,
    #[relationship(order_by = "created_at desc")]
    f: Many<Task>,
    #[relationship(order_by = "title,,id")]
    g: Many<Task>,
    #[relationship(back_populates = "Task.user")]
    h: Many<Task>,
    #[relationship(foreign_key = "tasks.user_id")]
    i: Many<Task>,
    #[relationship(passive_deletes = true)]
    j: Many<Task>,
    #[relationship(lazy = "joined")]
    #[relationship(lazy = "selectin")]
    k: Many<Task>,
    #[relationship(secondary = "not a path")]
    l: Many<Task>,
    #[relationship(lazy = joined)]
    m: One<Task>,
}

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: i64,
}

fn main() {}
