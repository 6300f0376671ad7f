// An unknown #[model] key is rejected.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "tasks", tabel_comment = "x")]
struct Task {
    #[column(primary_key)]
    id: i64,
}

fn main() {}
