// A mapped struct must be a concrete type.
use strata_orm::Model;

#[derive(Model)]
#[model(table = "boxes")]
struct Boxed<T> {
    #[column(primary_key)]
    id: i64,
    value: T,
}

fn main() {}
