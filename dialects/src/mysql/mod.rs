//! MySQL and MariaDB.

mod dialect;
mod driver;
mod types;

pub use dialect::MySqlDialect;
pub use driver::MySqlDriver;
