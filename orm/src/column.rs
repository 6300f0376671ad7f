//! Typed column references: `Task::title` is a `Col<Task, String>`.

use std::marker::PhantomData;

use strata_core::{Expr, OrderBy, Value};

use crate::field::{SqlField, ValueFor};
use crate::model::Model;

/// A typed reference to a column of model `M` whose field type is `T`.
///
/// It converts into a Core [`Expr`], so it works with every Core operator and
/// function; its own comparison methods only accept values of the column's type, so
/// `Task::title.eq(5)` does not compile.
pub struct Col<M, T> {
    name: &'static str,
    _p: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Col<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, T> Copy for Col<M, T> {}

impl<M, T> std::fmt::Debug for Col<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Col({})", self.name)
    }
}

impl<M: Model, T: SqlField> Col<M, T> {
    /// A column reference (used by the derive macro).
    pub const fn new(name: &'static str) -> Self {
        Col {
            name,
            _p: PhantomData,
        }
    }

    /// The column's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The Core expression for this column.
    pub fn expr(&self) -> Expr {
        M::c(self.name)
    }

    fn v(v: impl ValueFor<T::Base>) -> Expr {
        Expr::Param(v.into())
    }

    /// `col = value` (`IS NULL` for `None`).
    pub fn eq(self, v: impl ValueFor<T::Base>) -> Expr {
        self.expr().eq(Self::v(v))
    }

    /// `col <> value`.
    pub fn ne(self, v: impl ValueFor<T::Base>) -> Expr {
        self.expr().ne(Self::v(v))
    }

    /// `col < value`.
    pub fn lt(self, v: impl ValueFor<T::Base>) -> Expr {
        self.expr().lt(Self::v(v))
    }

    /// `col <= value`.
    pub fn le(self, v: impl ValueFor<T::Base>) -> Expr {
        self.expr().le(Self::v(v))
    }

    /// `col > value`.
    pub fn gt(self, v: impl ValueFor<T::Base>) -> Expr {
        self.expr().gt(Self::v(v))
    }

    /// `col >= value`.
    pub fn ge(self, v: impl ValueFor<T::Base>) -> Expr {
        self.expr().ge(Self::v(v))
    }

    /// `col BETWEEN low AND high`.
    pub fn between(self, low: impl ValueFor<T::Base>, high: impl ValueFor<T::Base>) -> Expr {
        self.expr().between(Self::v(low), Self::v(high))
    }

    /// `col IN (values)`.
    pub fn in_<I: IntoIterator<Item = V>, V: ValueFor<T::Base>>(self, values: I) -> Expr {
        self.expr().in_(values.into_iter().map(Into::<Value>::into))
    }

    /// `col NOT IN (values)`.
    pub fn not_in<I: IntoIterator<Item = V>, V: ValueFor<T::Base>>(self, values: I) -> Expr {
        self.expr()
            .not_in(values.into_iter().map(Into::<Value>::into))
    }

    /// Compare with another column of the same type: `col = other`.
    pub fn eq_col<M2: Model, T2: SqlField<Base = T::Base>>(self, other: Col<M2, T2>) -> Expr {
        self.expr().eq(other.expr())
    }

    /// `col IS NULL`.
    pub fn is_null(self) -> Expr {
        self.expr().is_null()
    }

    /// `col IS NOT NULL`.
    pub fn is_not_null(self) -> Expr {
        self.expr().is_not_null()
    }

    /// Ascending ORDER BY item.
    pub fn asc(self) -> OrderBy {
        self.expr().asc()
    }

    /// Descending ORDER BY item.
    pub fn desc(self) -> OrderBy {
        self.expr().desc()
    }

    /// `col AS name`.
    pub fn label(self, name: &str) -> Expr {
        self.expr().label(name)
    }
}

impl<M: Model> Col<M, String> {
    /// `col LIKE pattern`.
    pub fn like(self, pattern: &str) -> Expr {
        self.expr().like(pattern)
    }

    /// Case-insensitive LIKE.
    pub fn ilike(self, pattern: &str) -> Expr {
        self.expr().ilike(pattern)
    }

    /// Contains `s` literally.
    pub fn contains(self, s: &str) -> Expr {
        self.expr().contains(s)
    }

    /// Starts with `s` literally.
    pub fn startswith(self, s: &str) -> Expr {
        self.expr().startswith(s)
    }

    /// Ends with `s` literally.
    pub fn endswith(self, s: &str) -> Expr {
        self.expr().endswith(s)
    }
}

impl<M: Model> Col<M, Option<String>> {
    /// `col LIKE pattern`.
    pub fn like(self, pattern: &str) -> Expr {
        self.expr().like(pattern)
    }

    /// Contains `s` literally.
    pub fn contains(self, s: &str) -> Expr {
        self.expr().contains(s)
    }
}

impl<M: Model, T: SqlField> From<Col<M, T>> for Expr {
    fn from(c: Col<M, T>) -> Expr {
        c.expr()
    }
}

impl<M: Model, T: SqlField> strata_core::sql::Selectable for Col<M, T> {
    fn push_into(self, out: &mut Vec<Expr>) {
        out.push(self.expr())
    }
}

/// A typed column of an embedded struct, not yet tied to a model:
/// `TimestampMixin::created_at.of::<User>()`.
pub struct EmbeddedCol<T> {
    name: &'static str,
    _p: PhantomData<fn() -> T>,
}

impl<T> Clone for EmbeddedCol<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for EmbeddedCol<T> {}

impl<T: SqlField> EmbeddedCol<T> {
    /// A column reference (used by the derive macro).
    pub const fn new(name: &'static str) -> Self {
        EmbeddedCol {
            name,
            _p: PhantomData,
        }
    }

    /// This column on model `M`.
    pub fn of<M: Model>(self) -> Col<M, T> {
        Col::new(self.name)
    }
}
