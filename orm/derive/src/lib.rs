//! strata-derive: `#[derive(Model)]`. Filled in by the ORM issue.
