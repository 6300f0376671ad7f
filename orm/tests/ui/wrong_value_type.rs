// A typed column only compares with values of its own type.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: Option<i64>,
    title: String,
}

fn main() {
    let _ok = Task::title.eq("x");
    let _wrong = Task::title.eq(5);
}
