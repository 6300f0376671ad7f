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
//! # Field attribute: `#[relationship(...)]` (Model only; several on one field merge)
//!
//! A field typed `Many<T>` (a collection: one-to-many, many-to-many) or `One<T>` (one
//! object: many-to-one, one-to-one) is a relationship to the model `T`, not a column;
//! the type is recognised by its last path segment (`Many<Task>`,
//! `strata::orm::Many<Task>`). Such a field without the attribute is a relationship
//! with SQLAlchemy's defaults. Every key is optional:
//!
//! | key | meaning |
//! | --- | --- |
//! | `back_populates = "field"` | the target's relationship field mirroring this one |
//! | `secondary = path::to::fn` | `fn() -> Table`: the association table of a many-to-many (Many only) |
//! | `foreign_key = "column"` | the foreign-key column to join on, when several link the tables |
//! | `order_by = "col"` | sort the collection: `"a, -b"` (a leading `-` is descending; Many only) |
//! | `lazy = "..."` | default loading: `"select"` (lazy, the default), `"selectin"`, `"joined"`, `"raise"`, `"noload"` |
//! | `cascade = "..."` | SQLAlchemy's cascade string, checked at compile time: `"save-update"`, `"merge"`, `"refresh-expire"`, `"expunge"`, `"delete"`, `"delete-orphan"` (on a link to children: one-to-many, or a one-to-one `One<T>` whose target holds the foreign key; a many-to-one or many-to-many is refused when the registry is configured), `"all"` (all but delete-orphan), `"none"`, comma separated (default `"save-update, merge"`) |
//! | `passive_deletes` | leave child rows to the database's `ON DELETE` rule |
//!
//! The foreign-key column itself is an ordinary column field
//! (`#[column(foreign_key = "users.id")] user_id: Option<i64>`); a relationship field
//! takes no `#[column(...)]`.
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
//!   Relationship fields are no columns: nothing in `column_defs` / `write_values`,
//!   `Default::default()` (an empty, loaded `Many` / `One`) from `read_values`, left
//!   alone by `update_values`. `column_count`, `diff_values` (the dirty check: each
//!   field compared in place with `SqlField::same_as_value`, no value copied) and
//!   `column_value` (one column's value) walk the columns in the same order, embedded
//!   columns included.
//! - `Model` (Model only): `TABLE`, `SCHEMA`, `table()` (built once by
//!   `build_table::<Self>()`), and `validate` when `validate = ...` is given. With
//!   relationship fields: `relationships()`, one `RelationshipDef` per relationship
//!   field in field order (`RelationshipDef { lazy: Strategy::Joined, ..,
//!   ..RelationshipDef::new::<Target>("field", is_many) }`, setting only the keys
//!   given), and `relation(i)` / `relation_mut(i)`, the field at that position as a
//!   `&dyn RelationField`.
//!
//! Besides the trait impls, each column field gets a typed constant named after the
//! field: `Task::title` is a `Col<Task, String>` (for an `Embeddable`, an
//! `EmbeddedCol<String>`; `Mixin::created_at.of::<Task>()` ties it to a model), and each
//! relationship field a typed descriptor: `User::tasks` is a
//! `Rel<User, Many<Task>>` whose `index()` is the field's position in
//! `relationships()`. Those constants live in the struct's inherent namespace, so a
//! field called `table`, `c`, `validate` or `relationships` shadows the `Model` method
//! of that name in `Task::table()`-style calls; write `<Task as Model>::table()` then.
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
//! A one-to-many with its many-to-one side, a many-to-many and a self-referential tree:
//!
//! ```
//! use strata_orm::{Many, Model, One, Rel, Strategy};
//! use strata_core::{Column, SqlType, Table};
//!
//! #[derive(Model, Debug, Clone)]
//! #[model(table = "users")]
//! struct User {
//!     #[column(primary_key)]
//!     id: Option<i64>,
//!     name: String,
//!     #[relationship(back_populates = "user", cascade = "all, delete-orphan", order_by = "-id")]
//!     tasks: Many<Task>,
//!     #[relationship(secondary = user_groups, lazy = "selectin")]
//!     groups: Many<Group>,
//! }
//!
//! #[derive(Model, Debug, Clone)]
//! #[model(table = "tasks")]
//! struct Task {
//!     #[column(primary_key)]
//!     id: Option<i64>,
//!     #[column(foreign_key = "users.id")]
//!     user_id: Option<i64>,
//!     #[relationship(back_populates = "tasks")]
//!     user: One<User>,
//! }
//!
//! #[derive(Model, Debug, Clone)]
//! #[model(table = "groups")]
//! struct Group {
//!     #[column(primary_key)]
//!     id: Option<i64>,
//!     #[column(foreign_key = "groups.id")]
//!     parent_id: Option<i64>,
//!     #[relationship(back_populates = "children")]
//!     parent: One<Group>,
//!     #[relationship(back_populates = "parent")]
//!     children: Many<Group>,
//! }
//!
//! fn user_groups() -> Table {
//!     Table::build("user_groups")
//!         .column(Column::new("user_id", SqlType::Integer).primary_key().foreign_key("users.id"))
//!         .column(Column::new("group_id", SqlType::Integer).primary_key().foreign_key("groups.id"))
//!         .finish()
//!         .unwrap()
//! }
//!
//! let rels = User::relationships();
//! assert_eq!((rels[0].name, rels[0].collection), ("tasks", true));
//! assert!(rels[0].cascade.delete_orphan);
//! assert_eq!(rels[1].lazy, Strategy::SelectIn);
//! let groups: Rel<User, Many<Group>> = User::groups;
//! assert_eq!(groups.index(), 1);
//! assert_eq!(strata_orm::column_defs::<User>().len(), 2); // id, name
//! ```
//!
//! Misuse is a compile error pointing at the offending field or key: an unknown key
//! (with a suggestion for likely typos), a duplicate key, a value of the wrong kind, a
//! missing `table`, `primary_key` or column keys together with `flatten`/`skip`,
//! `default` with `default_fn`, `version` on a non-integer type, two fields mapped to
//! one column name, a `foreign_key` that is not `"table.column"`, enums, unions, tuple,
//! unit and generic structs, `#[model(...)]` on a field or on an `Embeddable`;
//! for relationships, `#[relationship]` on a field that is not `Many<T>` / `One<T>`,
//! `#[column]` on a relationship field, an unknown `lazy` strategy or cascade, a
//! malformed `order_by`, `order_by` / `secondary` on a `One<T>`, and
//! any relationship on an `Embeddable`. Values given as expressions (`sql_type`,
//! `default`, `default_fn`, `validate`, `secondary`, ...) are type-checked where they
//! are written.
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
/// column constant per column field (`Task::title: Col<Task, String>`) and a typed
/// descriptor per relationship field (`User::tasks: Rel<User, Many<Task>>`).
///
/// Needs `#[model(table = "...")]`; see the [crate docs](crate) for every attribute.
#[proc_macro_derive(Model, attributes(model, column, relationship))]
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
/// accepted), and relationships (`Many<T>` / `One<T>` fields, `#[relationship]`) belong
/// on the models that embed it.
#[proc_macro_derive(Embeddable, attributes(model, column, relationship))]
pub fn derive_embeddable(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::embeddable(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
