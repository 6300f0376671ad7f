// Tuple structs have no field names to use as column names.
use strata_orm::{Embeddable, Model};

#[derive(Model)]
#[model(table = "pairs")]
struct Pair(i64, String);

#[derive(Embeddable)]
struct Unit;

fn main() {}
