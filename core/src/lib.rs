//! strata-core: schema objects, the SQL expression language, and its compiler.
//!
//! This crate knows no database driver and no ORM. Dialects (in `strata-dialects`)
//! implement [`Dialect`]; the generic compiler here lowers statements to sea-query,
//! renders them with the dialect's builder and caches the result by structure.
#![warn(missing_docs)]

mod error;
mod ident;
mod schema;
mod types;
mod value;

pub mod compile;
pub mod engine;
pub mod sql;

pub use compile::{
    compile, create_index, create_table, drop_index, drop_table, Capabilities, Compilable,
    CompiledStatement, Dialect, Placeholder, StatementCache, UpsertStyle,
};
pub use error::{DbErrorKind, Error, Result};
pub use ident::check_identifier;
pub use schema::{
    Autoincrement, CheckConstraint, Column, ColumnDefault, ForeignKey, Index, MetaData,
    NamingConvention, ReferentialAction, Table, TableBuilder, UniqueConstraint,
};
pub use sql::func;
pub use sql::{
    and_, case, cast, column, delete, except, excluded, exists, false_, insert, intersect, literal,
    literal_column, not_, null, or_, select, text, true_, tuple, union, union_all, update, Delete,
    Expr, FrameBound, FromItem, Insert, JoinKind, Nulls, OrderBy, Select, Text, Update, Window,
};
pub use types::SqlType;
pub use value::Value;
