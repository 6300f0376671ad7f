//! `INSERT`, `UPDATE` and `DELETE`.

use super::{Expr, Select, Selectable};
use crate::{Table, Value};

/// Where an INSERT's rows come from.
#[derive(Debug, Clone)]
pub enum InsertSource {
    /// `VALUES (...), (...)`: column names, then the rows' expressions.
    Values(Vec<String>, InsertRows),
    /// `INSERT ... SELECT`.
    Select(Vec<String>, Box<Select>),
}

/// What an upsert does on conflict.
#[derive(Debug, Clone)]
pub enum ConflictAction {
    /// `ON CONFLICT DO NOTHING`
    Nothing,
    /// `ON CONFLICT DO UPDATE SET col = expr, ...` (`excluded("col")` is the proposed row).
    Update(Vec<(String, Expr)>),
}

/// `ON CONFLICT (target) action`.
#[derive(Debug, Clone)]
pub struct OnConflict {
    /// The conflict target columns (ignored by MySQL, which uses every unique key).
    pub target: Vec<String>,
    /// The action.
    pub action: ConflictAction,
}

/// The rows of an `INSERT ... VALUES`, stored back to back: one allocation for all
/// rows rather than one per row.
///
/// ```
/// use strata_core::sql::InsertRows;
/// use strata_core::Expr;
/// let mut rows = InsertRows::default();
/// rows.push(("sandy", 5));
/// rows.push(["patrick"]);
/// let lens: Vec<usize> = rows.iter().map(|r| r.len()).collect();
/// assert_eq!(lens, [2, 1]);
/// assert!(matches!(rows.get(0), Some([Expr::Param(_), Expr::Param(_)])));
/// ```
#[derive(Debug, Clone, Default)]
pub struct InsertRows {
    exprs: Vec<Expr>,
    /// Where each row ends in `exprs`.
    ends: Vec<usize>,
}

impl InsertRows {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Row `i`'s expressions.
    pub fn get(&self, i: usize) -> Option<&[Expr]> {
        (i < self.len()).then(|| self.row(i))
    }

    /// Row `i` (which exists).
    fn row(&self, i: usize) -> &[Expr] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.exprs[start..self.ends[i]]
    }

    /// The rows in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[Expr]> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }

    /// The expressions of all rows, one row after the other.
    pub fn values(&self) -> &[Expr] {
        &self.exprs
    }

    /// Add a row.
    pub fn push(&mut self, row: impl IntoRow) {
        row.push_into(&mut self.exprs);
        self.ends.push(self.exprs.len());
    }

    /// Make room for `rows` more rows of `width` expressions each.
    pub fn reserve(&mut self, rows: usize, width: usize) {
        self.ends.reserve(rows);
        self.exprs.reserve(rows.saturating_mul(width));
    }

    /// Set column `i` of every row that has it to `v`.
    fn set_column(&mut self, i: usize, v: &Expr) {
        let mut start = 0;
        for &end in &self.ends {
            if start + i < end {
                self.exprs[start + i] = v.clone();
            }
            start = end;
        }
    }

    /// Append `v` to every row.
    fn push_column(&mut self, v: &Expr) {
        if let [end] = self.ends.as_mut_slice() {
            // One row (`insert(t).value(..).value(..)`): it ends where the list does.
            self.exprs.push(v.clone());
            *end = self.exprs.len();
            return;
        }
        let mut exprs = Vec::with_capacity(self.exprs.len() + self.ends.len());
        let mut start = 0;
        for end in &mut self.ends {
            exprs.extend(self.exprs.drain(..*end - start));
            exprs.push(v.clone());
            start = *end;
            *end = exprs.len();
        }
        self.exprs = exprs;
    }
}

/// Anything usable as one row of values: arrays, vectors and tuples of values.
pub trait IntoRow {
    /// Append the row's expressions to `out`.
    fn push_into(self, out: &mut Vec<Expr>);
}

impl<T: Into<Expr>, const N: usize> IntoRow for [T; N] {
    fn push_into(self, out: &mut Vec<Expr>) {
        out.extend(self.into_iter().map(Into::into))
    }
}

impl<T: Into<Expr>> IntoRow for Vec<T> {
    fn push_into(self, out: &mut Vec<Expr>) {
        out.extend(self.into_iter().map(Into::into))
    }
}

macro_rules! row_tuple {
    ($($n:ident),+) => {
        impl<$($n: Into<Expr>),+> IntoRow for ($($n,)+) {
            #[allow(non_snake_case)]
            fn push_into(self, out: &mut Vec<Expr>) {
                let ($($n,)+) = self;
                $(out.push($n.into());)+
            }
        }
    };
}
row_tuple!(A);
row_tuple!(A, B);
row_tuple!(A, B, C);
row_tuple!(A, B, C, D);
row_tuple!(A, B, C, D, E);
row_tuple!(A, B, C, D, E, F);
row_tuple!(A, B, C, D, E, F, G);
row_tuple!(A, B, C, D, E, F, G, H);

/// An INSERT statement.
///
/// Columns with a client-side default that a row leaves out get their default.
///
/// ```
/// use strata_core::{insert, Column, SqlType, Table};
/// let users = Table::build("users")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("name", SqlType::Text))
///     .column(Column::new("age", SqlType::Integer))
///     .finish().unwrap();
/// let one = insert(&users).value("name", "spongebob").value("age", 7);
/// let many = insert(&users).columns(["name", "age"]).row(("sandy", 5)).row(("patrick", 8));
/// # let _ = (one, many);
/// ```
#[derive(Debug, Clone)]
pub struct Insert {
    /// The target table.
    pub table: Table,
    /// The rows.
    pub source: InsertSource,
    /// Upsert behaviour.
    pub on_conflict: Option<OnConflict>,
    /// RETURNING items.
    pub returning: Vec<Expr>,
}

/// `INSERT INTO table`.
pub fn insert(table: &Table) -> Insert {
    Insert {
        table: table.clone(),
        source: InsertSource::Values(Vec::new(), InsertRows::default()),
        on_conflict: None,
        returning: Vec::new(),
    }
}

impl Insert {
    fn values_mut(&mut self) -> (&mut Vec<String>, &mut InsertRows) {
        if !matches!(self.source, InsertSource::Values(..)) {
            self.source = InsertSource::Values(Vec::new(), InsertRows::default());
        }
        match &mut self.source {
            InsertSource::Values(c, r) => (c, r),
            _ => unreachable!("source was just set to Values"),
        }
    }

    /// Set one column of a single-row insert.
    pub fn value(mut self, column: &str, v: impl Into<Expr>) -> Self {
        let (cols, rows) = self.values_mut();
        if rows.is_empty() {
            rows.push(Vec::<Expr>::new());
        }
        let v = v.into();
        match cols.iter().position(|c| c == column) {
            Some(i) => rows.set_column(i, &v),
            None => {
                cols.push(column.to_string());
                rows.push_column(&v);
            }
        }
        self
    }

    /// Set several columns of a single-row insert from (name, value) pairs.
    pub fn values<I, S, E>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (S, E)>,
        S: AsRef<str>,
        E: Into<Expr>,
    {
        for (c, v) in pairs {
            self = self.value(c.as_ref(), v);
        }
        self
    }

    /// Name the columns for [`Insert::row`].
    pub fn columns<I: IntoIterator<Item = S>, S: Into<String>>(mut self, columns: I) -> Self {
        let (cols, _) = self.values_mut();
        *cols = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Add a row of values for the columns named by [`Insert::columns`].
    pub fn row(mut self, row: impl IntoRow) -> Self {
        let (_, rows) = self.values_mut();
        rows.push(row);
        self
    }

    /// Add many rows.
    pub fn rows<I: IntoIterator<Item = R>, R: IntoRow>(mut self, rows: I) -> Self {
        let (cols, out) = self.values_mut();
        let rows = rows.into_iter();
        out.reserve(rows.size_hint().0, cols.len());
        for r in rows {
            out.push(r);
        }
        self
    }

    /// Add rows of plain values ([`Insert::rows`] for rows that are `Vec<Value>`).
    pub fn value_rows(self, rows: impl IntoIterator<Item = Vec<Value>>) -> Self {
        self.rows(rows)
    }

    /// `INSERT INTO table (columns) SELECT ...`
    pub fn from_select<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        columns: I,
        select: Select,
    ) -> Self {
        self.source = InsertSource::Select(
            columns.into_iter().map(Into::into).collect(),
            Box::new(select),
        );
        self
    }

    /// A row of defaults only: client-side defaults are sent, and `DEFAULT VALUES`
    /// is written when the table has none (the same as an insert with no values).
    pub fn default_values(mut self) -> Self {
        self.source = InsertSource::Values(Vec::new(), InsertRows::default());
        self
    }

    /// `ON CONFLICT (target) DO NOTHING` (MySQL: a no-op `ON DUPLICATE KEY UPDATE`).
    pub fn on_conflict_do_nothing<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        target: I,
    ) -> Self {
        self.on_conflict = Some(OnConflict {
            target: target.into_iter().map(Into::into).collect(),
            action: ConflictAction::Nothing,
        });
        self
    }

    /// `ON CONFLICT (target) DO UPDATE SET ...` (MySQL: `ON DUPLICATE KEY UPDATE`).
    pub fn on_conflict_do_update<I, S, U, C, E>(mut self, target: I, set: U) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        U: IntoIterator<Item = (C, E)>,
        C: Into<String>,
        E: Into<Expr>,
    {
        self.on_conflict = Some(OnConflict {
            target: target.into_iter().map(Into::into).collect(),
            action: ConflictAction::Update(
                set.into_iter().map(|(c, e)| (c.into(), e.into())).collect(),
            ),
        });
        self
    }

    /// `RETURNING items` (not on MySQL).
    pub fn returning(mut self, items: impl Selectable) -> Self {
        items.push_into(&mut self.returning);
        self
    }
}

/// An UPDATE statement. Columns with an `onupdate` that are not set get it.
///
/// ```
/// use strata_core::{update, Column, SqlType, Table};
/// let users = Table::build("users")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("name", SqlType::Text))
///     .finish().unwrap();
/// let stmt = update(&users).set("name", "patrick").where_(users.c("id").eq(2));
/// # let _ = stmt;
/// ```
#[derive(Debug, Clone)]
pub struct Update {
    /// The target table.
    pub table: Table,
    /// SET assignments.
    pub set: Vec<(String, Expr)>,
    /// WHERE conditions, ANDed.
    pub where_: Vec<Expr>,
    /// RETURNING items.
    pub returning: Vec<Expr>,
}

/// `UPDATE table`.
pub fn update(table: &Table) -> Update {
    Update {
        table: table.clone(),
        set: Vec::new(),
        where_: Vec::new(),
        returning: Vec::new(),
    }
}

impl Update {
    /// `SET column = value`.
    pub fn set(mut self, column: &str, v: impl Into<Expr>) -> Self {
        let v = v.into();
        match self.set.iter_mut().find(|(c, _)| c == column) {
            Some(slot) => slot.1 = v,
            None => self.set.push((column.to_string(), v)),
        }
        self
    }

    /// Several assignments from (name, value) pairs.
    pub fn values<I, S, E>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (S, E)>,
        S: AsRef<str>,
        E: Into<Expr>,
    {
        for (c, v) in pairs {
            self = self.set(c.as_ref(), v);
        }
        self
    }

    /// Add a WHERE condition.
    pub fn where_(mut self, cond: impl Into<Expr>) -> Self {
        self.where_.push(cond.into());
        self
    }

    /// Same as [`Update::where_`].
    pub fn filter(self, cond: impl Into<Expr>) -> Self {
        self.where_(cond)
    }

    /// `RETURNING items` (not on MySQL).
    pub fn returning(mut self, items: impl Selectable) -> Self {
        items.push_into(&mut self.returning);
        self
    }
}

/// A DELETE statement.
///
/// ```
/// use strata_core::{delete, Column, SqlType, Table};
/// let users = Table::build("users")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .finish().unwrap();
/// let stmt = delete(&users).where_(users.c("id").eq(2));
/// # let _ = stmt;
/// ```
#[derive(Debug, Clone)]
pub struct Delete {
    /// The target table.
    pub table: Table,
    /// WHERE conditions, ANDed.
    pub where_: Vec<Expr>,
    /// RETURNING items.
    pub returning: Vec<Expr>,
}

/// `DELETE FROM table`.
pub fn delete(table: &Table) -> Delete {
    Delete {
        table: table.clone(),
        where_: Vec::new(),
        returning: Vec::new(),
    }
}

impl Delete {
    /// Add a WHERE condition.
    pub fn where_(mut self, cond: impl Into<Expr>) -> Self {
        self.where_.push(cond.into());
        self
    }

    /// Same as [`Delete::where_`].
    pub fn filter(self, cond: impl Into<Expr>) -> Self {
        self.where_(cond)
    }

    /// `RETURNING items` (not on MySQL).
    pub fn returning(mut self, items: impl Selectable) -> Self {
        items.push_into(&mut self.returning);
        self
    }
}
