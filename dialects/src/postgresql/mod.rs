//! PostgreSQL: the production engine (the sync `postgres` crate).

mod dialect;
mod driver;
mod types;

pub use dialect::PostgresDialect;
pub use driver::PostgresDriver;
