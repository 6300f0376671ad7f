// #[model] goes on the struct, #[column] on fields.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "tasks")]
#[column(primary_key)]
struct Task {
    #[model(table = "x")]
    id: i64,
}

fn main() {}
