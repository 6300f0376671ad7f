//! Engines and connections: running compiled statements through a [`Driver`].
//!
//! strata-core defines the traits; the drivers (rusqlite, postgres) live in
//! strata-dialects and the facade's `create_engine` wires them up.

mod connection;
mod driver;
#[allow(clippy::module_inception)]
mod engine;
mod pool;
mod result;
mod row;
mod schema_ops;
mod url;

pub use connection::{Connection, Transaction};
pub use driver::{Driver, DriverConnection, IsolationLevel, Outcome, RowStream};
pub use engine::{Engine, EngineOptions};
pub use result::{CursorResult, Tuples};
pub use row::{FromRow, FromValue, Row, RowIndex};
pub use schema_ops::has_table;
pub use url::DatabaseUrl;
