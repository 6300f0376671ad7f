//! Schema objects: columns, tables, constraints and the MetaData that holds them.

mod column;
mod constraint;
mod metadata;
mod naming;
mod table;

pub use column::{Autoincrement, Column, ColumnDefault};
pub use constraint::{CheckConstraint, ForeignKey, Index, ReferentialAction, UniqueConstraint};
pub use metadata::MetaData;
pub use naming::NamingConvention;
pub use table::{Table, TableBuilder};
