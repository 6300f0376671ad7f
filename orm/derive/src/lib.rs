//! strata-derive: `#[derive(Model)]` and `#[derive(Embeddable)]` for strata's ORM.
//!
//! Use them through `strata::orm` or `strata_orm`; the generated code finds the ORM
//! crate by itself (a direct `strata-orm` dependency first, then the `strata` facade),
//! or through `#[model(crate = "path::to::orm")]`.
//!
//! # Struct attribute: `#[model(...)]` (Model only)
//!
//! | key | meaning |
//! | --- | --- |
//! | `table = "name"` | the table name (required) |
//! | `schema = "name"` | the table's schema |
//! | `validate = path::to::fn` | `fn(&Self) -> Result<(), String>`, run before each flush |
//! | `crate = "path"` | where strata-orm is (also accepted on `Embeddable`) |
//!
//! # Field attribute: `#[column(...)]` (several on one field merge)
//!
//! | key | meaning |
//! | --- | --- |
//! | `primary_key` | part of the primary key |
//! | `name = "col"` | the column name (default: the field name) |
//! | `sql_type = <expr>` | an explicit `SqlType`, which wins over the registry's type map |
//! | `annotation = "key"` | look the type up under this key in the registry's type map |
//! | `default = <expr>` | client-side INSERT default: anything `Into<ColumnDefault>` (a literal, an `Expr`) |
//! | `default_fn = path` | `fn() -> FieldType`, called once per INSERT |
//! | `server_default = <expr>` | DDL default: anything `Into<Expr>` (`func::now()`, a literal) |
//! | `onupdate = <expr>` | value set by every UPDATE: anything `Into<ColumnDefault>` |
//! | `unique`, `index` | UNIQUE constraint, index |
//! | `foreign_key = "table.column"` | a foreign key (`"schema.table.column"` also accepted) |
//! | `autoincrement = true\|false` | explicit autoincrement |
//! | `version` | the optimistic-concurrency counter (an integer field) |
//! | `flatten` | the field is a `ColumnSet` (an `Embeddable`) whose columns go here |
//! | `skip` | not a column; the field gets `Default::default()` when loaded |
//!
//! Nullability comes from the type: an `Option<T>` field is a nullable column.
//!
//! # What is generated
//!
//! - `ColumnSet`: `column_defs` pushes one `ColumnDef` per column field in field order
//!   (a flattened struct's columns in place, its fields named `outer.inner`; skipped
//!   fields nothing); `write_values` / `read_values` convert through `SqlField`, and a
//!   bad or missing value is an `Error::InvalidRequest` naming the field
//!   (`"Task.title: expected String, found NULL ..."`); skipped fields are read as
//!   `Default::default()`; `update_values` overwrites the column fields only. It
//!   decodes a model's own columns before assigning any of them, so a bad value leaves
//!   them as they were; an embedded struct updates itself in place, in order.
//! - `Model` (Model only): `TABLE`, `SCHEMA`, `table()` (built once by
//!   `build_table::<Self>()`), and `validate` when `validate = ...` is given.
//!
//! Besides the trait impls, each column field gets a typed constant named after the
//! field: `Task::title` is a `Col<Task, String>` (for an `Embeddable`, an
//! `EmbeddedCol<String>`; `Mixin::created_at.of::<Task>()` ties it to a model). Those
//! constants live in the struct's inherent namespace, so a field called `table`, `c` or
//! `validate` shadows the `Model` method of that name in `Task::table()`-style calls;
//! write `<Task as Model>::table()` then.
//!
//! ```
//! use strata_orm::{Model, Embeddable, ColumnSet};
//! use strata_core::{func, SqlType};
//!
//! #[derive(Embeddable, Debug, Clone, Default)]
//! struct Timestamps {
//!     #[column(server_default = func::now())]
//!     created_at: Option<String>,
//!     #[column(server_default = func::now(), onupdate = func::now())]
//!     updated_at: Option<String>,
//! }
//!
//! #[derive(Model, Debug, Clone)]
//! #[model(table = "tasks")]
//! struct Task {
//!     #[column(primary_key)]
//!     id: Option<i64>,
//!     title: String,
//!     #[column(default = false)]
//!     completed: bool,
//!     #[column(name = "due_on", sql_type = SqlType::Date)]
//!     due: Option<String>,
//!     #[column(flatten)]
//!     timestamps: Timestamps,
//!     #[column(skip)]
//!     notes_cache: Vec<String>,
//! }
//!
//! let names: Vec<_> = strata_orm::column_defs::<Task>().iter().map(|d| d.name).collect();
//! assert_eq!(names, ["id", "title", "completed", "due_on", "created_at", "updated_at"]);
//! assert_eq!(Task::TABLE, "tasks");
//! assert_eq!(Task::due.name(), "due_on");
//! ```
//!
//! Misuse is a compile error pointing at the offending field or key: an unknown key
//! (with a suggestion for likely typos), a duplicate key, a value of the wrong kind, a
//! missing `table`, `primary_key` or column keys together with `flatten`/`skip`,
//! `default` with `default_fn`, `version` on a non-integer type, two fields mapped to
//! one column name, a `foreign_key` that is not `"table.column"`, enums, unions, tuple,
//! unit and generic structs, `#[model(...)]` on a field or on an `Embeddable`. Values
//! given as expressions (`sql_type`, `default`, `default_fn`, `validate`, ...) are
//! type-checked where they are written.
//!
//! ```compile_fail
//! # use strata_orm::Model;
//! #[derive(Model)]
//! #[model(table = "tasks")]
//! struct Task {
//!     #[column(primary_key, skip)] // a primary key must be a column
//!     id: i64,
//! }
//! ```

mod attrs;
mod expand;
mod fields;
mod krate;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derive `ColumnSet` and `Model` for a struct mapped onto a table, plus a typed
/// column constant per column field (`Task::title: Col<Task, String>`).
///
/// Needs `#[model(table = "...")]`; see the [crate docs](crate) for every attribute.
#[proc_macro_derive(Model, attributes(model, column))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::model(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derive `ColumnSet` for a group of columns that several models embed with
/// `#[column(flatten)]` (SQLAlchemy's mixins and abstract bases), plus an
/// `EmbeddedCol` constant per column field.
///
/// Takes the same `#[column(...)]` field attributes as [`macro@Model`]; it has no table,
/// so `#[model(table/schema/validate)]` is an error (only `#[model(crate = "...")]` is
/// accepted).
#[proc_macro_derive(Embeddable, attributes(model, column))]
pub fn derive_embeddable(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::embeddable(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
