//! strata: SQLAlchemy's Core-and-ORM design in Rust.
//!
//! Core lives at the top level (`use strata::{Table, Column, MetaData, select, ...}`),
//! the dialects under [`dialects`], and the ORM under [`orm`].
//!
//! ```
//! use strata::{select, func, Column, MetaData, SqlType, Table};
//! use strata::dialects::{SqliteDialect, PostgresDialect};
//!
//! let mut metadata = MetaData::new();
//! let users = Table::build("users")
//!     .column(Column::new("id", SqlType::Integer).primary_key())
//!     .column(Column::new("name", SqlType::String(Some(30))).not_null())
//!     .add_to(&mut metadata)?;
//! let addresses = Table::build("addresses")
//!     .column(Column::new("id", SqlType::Integer).primary_key())
//!     .column(Column::new("user_id", SqlType::Integer).foreign_key("users.id"))
//!     .column(Column::new("email", SqlType::Text).not_null())
//!     .add_to(&mut metadata)?;
//!
//! let stmt = select((users.c("name"), func::count(addresses.c("id")).label("n")))
//!     .join(&addresses)
//!     .where_(users.c("name").startswith("s"))
//!     .group_by([users.c("name")]);
//! let sqlite = stmt.compile(&SqliteDialect)?;
//! assert_eq!(
//!     sqlite.sql(),
//!     r#"SELECT "users"."name", count("addresses"."id") AS "n" FROM "users" INNER JOIN "addresses" ON "users"."id" = "addresses"."user_id" WHERE "users"."name" LIKE ? ESCAPE '/' GROUP BY "users"."name""#
//! );
//! assert_eq!(sqlite.params(), [strata::Value::from("s%")]);
//! assert!(stmt.compile(&PostgresDialect)?.sql().contains("LIKE $1"));
//! # Ok::<(), strata::Error>(())
//! ```
#![warn(missing_docs)]

mod create_engine;

pub use create_engine::{create_engine, create_engine_with};
pub use strata_core::engine::{
    Connection, CursorResult, Engine, EngineOptions, FromRow, FromValue, IsolationLevel, Row,
    Transaction,
};
pub use strata_core::*;

/// The SQL dialects: SQLite, PostgreSQL, MySQL.
pub mod dialects {
    pub use strata_dialects::*;
}

/// The ORM layer (mappers, registry, session).
pub mod orm {
    #[allow(unused_imports)]
    pub use strata_orm::*;
}

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
