// An embedded struct cannot be the primary key as a whole.
use strata_orm::{Embeddable, Model};

#[derive(Embeddable, Default)]
struct Key {
    id: i64,
}

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(flatten, primary_key)]
    key: Key,
    title: String,
}

fn main() {}
