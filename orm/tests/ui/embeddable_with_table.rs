// An embeddable struct has no table.
use strata_orm::Embeddable;

#[derive(Embeddable)]
#[model(table = "stamps")]
struct Stamps {
    created_at: Option<String>,
}

fn main() {}
