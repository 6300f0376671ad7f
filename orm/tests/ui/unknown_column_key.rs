// A misspelt #[column] key is rejected and the closest key is suggested.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary)]
    id: i64,
    title: String,
}

fn main() {}
