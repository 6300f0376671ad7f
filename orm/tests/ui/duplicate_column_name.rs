// Two fields cannot map to the same column (after name = overrides).
use strata_orm::Model;

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: i64,
    title: String,
    #[column(name = "title")]
    heading: String,
}

fn main() {}
