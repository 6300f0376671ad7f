// Flags take no value; values must have the right kind.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key = true)]
    id: i64,
    #[column(name = title)]
    title: String,
    #[column(foreign_key = "users")]
    user_id: i64,
    #[column(autoincrement = "yes")]
    n: i64,
}

fn main() {}
