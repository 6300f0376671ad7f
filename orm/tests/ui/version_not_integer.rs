// The version counter must be an integer.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: i64,
    #[column(version)]
    version: String,
}

fn main() {}
