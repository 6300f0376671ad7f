// Only structs with named fields can be mapped.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "states")]
enum State {
    Open,
    Closed,
}

fn main() {}
