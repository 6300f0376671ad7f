// Relationships belong on models: an Embeddable cannot have a Many/One field, with or
// without #[relationship]; on a struct, #[relationship] is misplaced.
use strata_orm::{Embeddable, Many, Model, One};

#[derive(Embeddable, Default)]
struct Owned {
    #[relationship(back_populates = "things")]
    owner: One<User>,
    things: Many<User>,
}

#[derive(Model)]
#[model(table = "users")]
struct User {
    #[column(primary_key)]
    id: i64,
}

#[derive(Model)]
#[model(table = "groups")]
#[relationship(lazy = "joined")]
struct Group {
    #[column(primary_key)]
    id: i64,
    members: Many<User>,
}

fn main() {}
