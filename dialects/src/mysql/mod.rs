//! MySQL and MariaDB.

mod dialect;

pub use dialect::MySqlDialect;
