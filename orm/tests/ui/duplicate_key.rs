// The same key twice on one field (also across merged attributes) is an error.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: i64,
    #[column(name = "a")]
    #[column(name = "b")]
    title: String,
}

fn main() {}
