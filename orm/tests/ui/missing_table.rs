// #[derive(Model)] needs #[model(table = "...")].
use strata_orm::Model;

#[derive(Model)]
struct Task {
    #[column(primary_key)]
    id: i64,
}

#[derive(Model)]
#[model(schema = "app")]
struct Note {
    #[column(primary_key)]
    id: i64,
}

fn main() {}
