// `secondary` must name a `fn() -> Table`; the type error points at the path.
use strata_orm::{Many, Model};

fn assoc() -> &'static str {
    "user_groups"
}

#[derive(Model)]
#[model(table = "users")]
struct User {
    #[column(primary_key)]
    id: i64,
    #[relationship(secondary = assoc)]
    groups: Many<Group>,
}

#[derive(Model)]
#[model(table = "groups")]
struct Group {
    #[column(primary_key)]
    id: i64,
}

fn main() {}
