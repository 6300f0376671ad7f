//! PostgreSQL: the production engine (`tokio-postgres`, driven by a blocking
//! client of strata's own).

mod blocking;
mod dialect;
mod driver;
mod types;

pub use dialect::PostgresDialect;
pub use driver::PostgresDriver;
