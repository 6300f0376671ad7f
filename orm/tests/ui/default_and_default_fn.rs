// A column has one client-side default.
use strata_orm::Model;

fn zero() -> i64 {
    0
}

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: i64,
    #[column(default = 1, default_fn = zero)]
    priority: i64,
}

fn main() {}
