// Column settings belong on the embedded struct's fields, not on the flatten field.
use strata_orm::{Embeddable, Model};

#[derive(Embeddable, Default)]
struct Stamps {
    created_at: Option<String>,
}

#[derive(Model)]
#[model(table = "tasks")]
struct Task {
    #[column(primary_key)]
    id: i64,
    #[column(flatten, name = "stamps", index)]
    stamps: Stamps,
}

fn main() {}
