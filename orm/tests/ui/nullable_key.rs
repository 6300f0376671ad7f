// There is no `nullable` key: nullability comes from Option<T>.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: i64,
    #[column(nullable)]
    title: String,
}

fn main() {}
