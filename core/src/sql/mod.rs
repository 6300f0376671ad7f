//! The SQL expression language: expressions, FROM items and statements.

mod dml;
mod expr;
mod from;
pub mod func;
mod select;
mod stack;
mod text;

pub use dml::{
    delete, insert, update, ConflictAction, Delete, Insert, InsertRows, InsertSource, IntoRow,
    OnConflict, Update,
};
pub use expr::{
    and_, case, cast, column, escape_like, excluded, exists, false_, literal, literal_column, not_,
    null, or_, true_, tuple, BinaryOp, ColumnRef, Expr, Frame, FrameBound, Nulls, OrderBy, Window,
};
pub(crate) use from::infer_on;
pub use from::{FromItem, Join, JoinKind, NamedSelect};
pub use select::{
    except, intersect, select, union, union_all, Distinct, Lock, Select, SelectBody, SelectCore,
    Selectable, SetOp,
};
pub(crate) use text::BoundPiece;
pub use text::{text, Text};
