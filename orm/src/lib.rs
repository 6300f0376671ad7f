//! strata-orm: models mapped onto Core tables, a [`Registry`] of mappers, and a
//! [`Session`] with an identity map and a unit of work.
//!
//! This crate talks to the database only through strata-core's engine traits; it knows
//! no driver.
#![warn(missing_docs)]

mod backref;
mod cascade;
mod column;
mod delete_order;
mod error;
mod field;
mod flush;
mod handle;
mod info;
mod loading;
mod merge;
mod model;
mod plan;
mod query;
mod registry;
mod relationship;
mod session;
mod statements;

pub use column::{Col, EmbeddedCol};
pub use error::{Error, Result};
pub use field::{SqlField, ValueFor};
pub use handle::{Handle, ObjectState, WriteGuard};
pub use info::InfoRef;
pub use info::PrimaryKey;
pub use loading::{joinedload, lazyload, raiseload, selectinload, Load, LoadPath};
pub use model::{build_table, build_table_with, column_defs, ColumnDef, ColumnSet, Model};
pub use query::{select, Query, ScalarResult, Select};
pub use registry::{Mapper, Registry, TypeMap};
pub use relationship::{
    Cascade, Many, ObjectRef, One, Rel, RelationField, RelationKind, RelationshipDef,
    RelationshipKind, Strategy,
};
pub use session::{IntoHandle, Session};
pub use strata_derive::{Embeddable, Model};

/// Items the derive macros refer to; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::info::InfoSlot;
    pub use std::any::TypeId;
    pub use std::sync::{Arc, OnceLock};
    pub use strata_core::{ColumnDefault, Error as CoreError, Expr, SqlType, Table, Value};
}
