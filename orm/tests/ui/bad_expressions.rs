// sql_type, default_fn and validate are type-checked where they are written.
use strata_orm::Model;

fn make_label() -> i64 {
    0
}

#[derive(Model)]
#[model(table = "tasks", validate = check)]
struct Task {
    #[column(primary_key)]
    id: i64,
    #[column(sql_type = "DATE")]
    due: Option<String>,
    #[column(default_fn = make_label)]
    label: String,
}

fn check(_t: &Task) -> bool {
    true
}

fn main() {}
