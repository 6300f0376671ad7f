//! SQLite: the embedded default (rusqlite).

mod dialect;
mod driver;

pub use dialect::SqliteDialect;
pub use driver::SqliteDriver;
