//! SQLite: the embedded default.

mod dialect;

pub use dialect::SqliteDialect;
