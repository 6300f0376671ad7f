// A skipped field cannot be the primary key.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key, skip)]
    id: i64,
    title: String,
}

fn main() {}
