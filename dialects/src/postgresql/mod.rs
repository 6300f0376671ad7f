//! PostgreSQL: the production engine.

mod dialect;

pub use dialect::PostgresDialect;
