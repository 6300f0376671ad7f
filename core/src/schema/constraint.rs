//! Table constraints: foreign keys, unique and check constraints, and indexes.

use crate::sql::Expr;

/// What the database does to referencing rows when a referenced row changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferentialAction {
    /// `CASCADE`
    Cascade,
    /// `SET NULL`
    SetNull,
    /// `SET DEFAULT`
    SetDefault,
    /// `RESTRICT`
    Restrict,
    /// `NO ACTION`
    NoAction,
}

/// A (possibly composite) foreign key constraint.
///
/// ```
/// use strata_core::{ForeignKey, ReferentialAction};
/// let fk = ForeignKey::new(["user_id"], "users", ["id"]).on_delete(ReferentialAction::Cascade);
/// assert_eq!(fk.referred_table(), "users");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    pub(crate) name: Option<String>,
    pub(crate) columns: Vec<String>,
    pub(crate) referred_schema: Option<String>,
    pub(crate) referred_table: String,
    pub(crate) referred_columns: Vec<String>,
    pub(crate) on_delete: Option<ReferentialAction>,
    pub(crate) on_update: Option<ReferentialAction>,
    pub(crate) use_alter: bool,
}

impl ForeignKey {
    /// `columns` of this table refer to `referred_columns` of `table`
    /// (`"table"` or `"schema.table"`).
    pub fn new<C, R>(columns: C, table: &str, referred_columns: R) -> ForeignKey
    where
        C: IntoIterator,
        C::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        let (schema, table) = match table.rsplit_once('.') {
            Some((s, t)) => (Some(s.to_string()), t.to_string()),
            None => (None, table.to_string()),
        };
        ForeignKey {
            name: None,
            columns: columns.into_iter().map(Into::into).collect(),
            referred_schema: schema,
            referred_table: table,
            referred_columns: referred_columns.into_iter().map(Into::into).collect(),
            on_delete: None,
            on_update: None,
            use_alter: false,
        }
    }

    /// Name the constraint.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `ON DELETE` action.
    pub fn on_delete(mut self, a: ReferentialAction) -> Self {
        self.on_delete = Some(a);
        self
    }

    /// `ON UPDATE` action.
    pub fn on_update(mut self, a: ReferentialAction) -> Self {
        self.on_update = Some(a);
        self
    }

    /// Create this constraint with ALTER TABLE after the tables (breaks dependency cycles).
    pub fn use_alter(mut self) -> Self {
        self.use_alter = true;
        self
    }

    /// The local columns.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The referred table's name (without schema).
    pub fn referred_table(&self) -> &str {
        &self.referred_table
    }

    /// The referred table's schema, if given.
    pub fn referred_schema(&self) -> Option<&str> {
        self.referred_schema.as_deref()
    }

    /// The referred columns.
    pub fn referred_columns(&self) -> &[String] {
        &self.referred_columns
    }

    /// The constraint's name, if set (or given by the naming convention).
    pub fn constraint_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether the constraint is created by ALTER TABLE.
    pub fn is_use_alter(&self) -> bool {
        self.use_alter
    }
}

/// A UNIQUE constraint over one or more columns.
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueConstraint {
    pub(crate) name: Option<String>,
    pub(crate) columns: Vec<String>,
}

impl UniqueConstraint {
    /// A unique constraint over `columns`.
    pub fn new<C>(columns: C) -> Self
    where
        C: IntoIterator,
        C::Item: Into<String>,
    {
        UniqueConstraint {
            name: None,
            columns: columns.into_iter().map(Into::into).collect(),
        }
    }

    /// Name the constraint.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The columns.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }
}

/// A CHECK constraint.
#[derive(Debug, Clone)]
pub struct CheckConstraint {
    pub(crate) name: Option<String>,
    pub(crate) condition: Expr,
}

impl CheckConstraint {
    /// `CHECK (condition)`; literal values in the condition are rendered inline.
    pub fn new(condition: Expr) -> Self {
        CheckConstraint {
            name: None,
            condition,
        }
    }

    /// Name the constraint.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// An index over one or more columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub(crate) name: Option<String>,
    pub(crate) columns: Vec<String>,
    pub(crate) unique: bool,
}

impl Index {
    /// An index over `columns`; unnamed indexes get a name from the naming convention.
    pub fn new<C>(columns: C) -> Self
    where
        C: IntoIterator,
        C::Item: Into<String>,
    {
        Index {
            name: None,
            columns: columns.into_iter().map(Into::into).collect(),
            unique: false,
        }
    }

    /// Name the index.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Make it a UNIQUE index.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// The index's name (always set once the table is built).
    pub fn index_name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The indexed columns.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Whether the index is unique.
    pub fn is_unique(&self) -> bool {
        self.unique
    }
}
