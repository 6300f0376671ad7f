//! FROM items: tables, aliases, subqueries, CTEs and joins.

use std::sync::Arc;

use super::stack::{drop_in_fresh_segment, stack_is_low};
use super::{ColumnRef, Expr, Select, SelectBody};
use crate::{Error, Result, Table};

/// How two FROM items are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinKind {
    /// `JOIN`
    Inner,
    /// `LEFT OUTER JOIN`
    Left,
    /// `RIGHT OUTER JOIN`
    Right,
    /// `FULL OUTER JOIN`
    Full,
}

/// A named SELECT usable in FROM: a subquery or a common table expression.
#[derive(Debug)]
pub struct NamedSelect {
    /// The name the SELECT is known by.
    pub name: Arc<str>,
    /// The SELECT (for a recursive CTE, the anchor member with its recursive members).
    pub select: Select,
    /// Whether this is a CTE (rendered in WITH) rather than a subquery in FROM.
    pub cte: bool,
    /// Whether the CTE is recursive.
    pub recursive: bool,
}

/// A subquery of a subquery of ... drops one level at a time: deep in the stack, the
/// SELECT's body is moved out and dropped in a fresh segment.
impl Drop for NamedSelect {
    fn drop(&mut self) {
        if stack_is_low() {
            drop_in_fresh_segment(std::mem::replace(
                &mut self.select.body,
                SelectBody::Compound(Vec::new()),
            ));
        }
    }
}

/// A join of two FROM items.
#[derive(Debug)]
pub struct Join {
    /// Left side.
    pub left: FromItem,
    /// Right side.
    pub right: FromItem,
    /// ON condition; `None` means "infer from foreign keys".
    pub on: Option<Expr>,
    /// The kind of join.
    pub kind: JoinKind,
}

/// A FROM item holding nothing, put in place of one moved out to be dropped in a fresh
/// stack segment. Never rendered.
fn placeholder() -> FromItem {
    static EMPTY: std::sync::OnceLock<Arc<NamedSelect>> = std::sync::OnceLock::new();
    let empty = EMPTY.get_or_init(|| {
        Arc::new(NamedSelect {
            name: Arc::from(""),
            select: Select {
                body: SelectBody::Compound(Vec::new()),
                order_by: Vec::new(),
                limit: None,
                offset: None,
                error: None,
            },
            cte: false,
            recursive: false,
        })
    });
    FromItem::Named(empty.clone())
}

/// A join of a join of ... drops one level at a time: deep in the stack, its sides
/// and ON clause are moved out and dropped in a fresh segment.
impl Drop for Join {
    fn drop(&mut self) {
        if stack_is_low() {
            drop_in_fresh_segment((
                std::mem::replace(&mut self.left, placeholder()),
                std::mem::replace(&mut self.right, placeholder()),
                self.on.take(),
            ));
        }
    }
}

/// Something a SELECT can read from.
///
/// ```
/// use strata_core::{Column, SqlType, Table};
/// let users = Table::build("users")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .finish().unwrap();
/// let u = users.alias("u");
/// assert!(u.c("id").output_name() == Some("id"));
/// assert!(u.try_c("nope").is_err());
/// ```
#[derive(Debug, Clone)]
pub enum FromItem {
    /// A table.
    Table(Table),
    /// A table under another name.
    Alias(Table, Arc<str>),
    /// A subquery or CTE.
    Named(Arc<NamedSelect>),
    /// A join.
    Join(Arc<Join>),
}

impl From<Table> for FromItem {
    fn from(t: Table) -> Self {
        FromItem::Table(t)
    }
}

impl From<&Table> for FromItem {
    fn from(t: &Table) -> Self {
        FromItem::Table(t.clone())
    }
}

impl From<&FromItem> for FromItem {
    fn from(f: &FromItem) -> Self {
        f.clone()
    }
}

impl FromItem {
    pub(crate) fn aliased_table(table: Table, name: String) -> FromItem {
        FromItem::Alias(table, Arc::from(name))
    }

    /// The name columns of this item are qualified with (`None` for a join).
    pub fn name(&self) -> Option<&str> {
        match self {
            FromItem::Table(t) => Some(t.name()),
            FromItem::Alias(_, a) => Some(a),
            FromItem::Named(n) => Some(&n.name),
            FromItem::Join(_) => None,
        }
    }

    /// The schema qualifier, for tables only.
    pub fn schema(&self) -> Option<&str> {
        match self {
            FromItem::Table(t) => t.schema(),
            _ => None,
        }
    }

    /// Whether two items are the same FROM entry (same kind and name).
    pub fn same(&self, other: &FromItem) -> bool {
        match (self, other) {
            (FromItem::Table(a), FromItem::Table(b)) => a == b,
            (FromItem::Alias(_, a), FromItem::Alias(_, b)) => a == b,
            (FromItem::Named(a), FromItem::Named(b)) => Arc::ptr_eq(a, b) || a.name == b.name,
            (FromItem::Join(a), FromItem::Join(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Whether `other` is this item or part of this join.
    ///
    /// ```
    /// use strata_core::{Column, FromItem, SqlType, Table};
    /// let t = |name: &str| {
    ///     Table::build(name)
    ///         .column(Column::new("id", SqlType::Integer).primary_key())
    ///         .finish()
    ///         .unwrap()
    /// };
    /// let (a, b, c, d) = (t("a"), t("b"), t("c"), t("d"));
    /// let item = |t: &Table| FromItem::from(t);
    /// let left_deep = a.join(&b).join(&c);
    /// let right_nested = a.join(b.join(c.join(&d)));
    /// for x in [&a, &b, &c] {
    ///     assert!(left_deep.contains(&item(x)));
    ///     assert!(right_nested.contains(&item(x)));
    /// }
    /// assert!(right_nested.contains(&item(&d)));
    /// assert!(!left_deep.contains(&item(&d)));
    /// assert!(item(&a).contains(&item(&a)));
    /// assert!(!item(&a).contains(&item(&b)));
    /// assert!(!item(&a).contains(&a.alias("a2")));
    /// ```
    pub fn contains(&self, other: &FromItem) -> bool {
        self.any_item(|item| item.same(other))
    }

    /// Whether `f` holds for one of the items inside this one that are not joins (this
    /// item itself when it is not a join), tried left to right until it does.
    ///
    /// Iterative, since a join of a join of ... can be deeper than the stack; the right
    /// sides waiting their turn sit on a small inline stack, so a join of up to eight
    /// levels allocates nothing.
    pub(crate) fn any_item(&self, mut f: impl FnMut(&FromItem) -> bool) -> bool {
        let mut todo: smallvec::SmallVec<[&FromItem; 8]> = smallvec::SmallVec::new();
        let mut item = self;
        loop {
            match item {
                FromItem::Join(j) => {
                    todo.push(&j.right);
                    item = &j.left;
                    continue;
                }
                _ if f(item) => return true,
                _ => {}
            }
            match todo.pop() {
                Some(next) => item = next,
                None => return false,
            }
        }
    }

    /// The names of the columns this item provides.
    pub fn column_names(&self) -> Vec<String> {
        match self {
            FromItem::Table(t) | FromItem::Alias(t, _) => {
                t.columns().map(|c| c.name().to_string()).collect()
            }
            FromItem::Named(n) => n.select.output_names(),
            FromItem::Join(j) => {
                let mut v = j.left.column_names();
                v.extend(j.right.column_names());
                v
            }
        }
    }

    /// A column of this item, or [`Error::UnknownColumn`].
    pub fn try_c(&self, name: &str) -> Result<Expr> {
        match self {
            FromItem::Table(t) => t.try_c(name),
            FromItem::Alias(t, _) => match t.column_position(name) {
                Some(i) => Ok(Expr::Column(ColumnRef::of_table(self.clone(), i))),
                None => Err(self.unknown(name)),
            },
            FromItem::Named(n) => {
                if n.select.output_names().iter().any(|c| c == name) {
                    Ok(Expr::Column(ColumnRef::named(
                        Some(self.clone()),
                        Arc::from(name),
                        n.select.output_type(name),
                    )))
                } else {
                    Err(self.unknown(name))
                }
            }
            FromItem::Join(j) => j.left.try_c(name).or_else(|_| j.right.try_c(name)),
        }
    }

    /// A column of this item; an unknown name fails when the statement is compiled.
    pub fn c(&self, name: &str) -> Expr {
        self.try_c(name).unwrap_or_else(Expr::Invalid)
    }

    /// All columns of this item.
    pub fn all_columns(&self) -> Vec<Expr> {
        let mut v = Vec::new();
        self.push_columns(&mut v);
        v
    }

    /// Append all columns of this item to `out`.
    pub(crate) fn push_columns(&self, out: &mut Vec<Expr>) {
        match self {
            FromItem::Join(j) => {
                j.left.push_columns(out);
                j.right.push_columns(out);
            }
            FromItem::Table(t) => out.extend(t.column_refs()),
            _ => out.extend(self.column_names().iter().map(|n| self.c(n))),
        }
    }

    fn unknown(&self, column: &str) -> Error {
        Error::UnknownColumn {
            table: self.name().unwrap_or("join").to_string(),
            column: column.to_string(),
        }
    }

    fn join_with(self, right: impl Into<FromItem>, on: Option<Expr>, kind: JoinKind) -> FromItem {
        FromItem::Join(Arc::new(Join {
            left: self,
            right: right.into(),
            on,
            kind,
        }))
    }

    /// `self JOIN right`, the ON clause inferred from foreign keys.
    pub fn join(self, right: impl Into<FromItem>) -> FromItem {
        self.join_with(right, None, JoinKind::Inner)
    }

    /// `self JOIN right ON on`.
    pub fn join_on(self, right: impl Into<FromItem>, on: Expr) -> FromItem {
        self.join_with(right, Some(on), JoinKind::Inner)
    }

    /// `self LEFT OUTER JOIN right`, the ON clause inferred from foreign keys.
    pub fn outerjoin(self, right: impl Into<FromItem>) -> FromItem {
        self.join_with(right, None, JoinKind::Left)
    }

    /// `self LEFT OUTER JOIN right ON on`.
    pub fn outerjoin_on(self, right: impl Into<FromItem>, on: Expr) -> FromItem {
        self.join_with(right, Some(on), JoinKind::Left)
    }

    /// A join of any kind, with an explicit or inferred ON clause.
    pub fn join_kind(
        self,
        right: impl Into<FromItem>,
        on: Option<Expr>,
        kind: JoinKind,
    ) -> FromItem {
        self.join_with(right, on, kind)
    }

    /// The tables (with their FROM items) inside this item, for join inference.
    pub(crate) fn tables(&self, out: &mut Vec<(Table, FromItem)>) {
        self.any_item(|item| {
            if let FromItem::Table(t) | FromItem::Alias(t, _) = item {
                out.push((t.clone(), item.clone()));
            }
            false
        });
    }
}

impl Table {
    /// `self JOIN right`, ON inferred from foreign keys.
    pub fn join(&self, right: impl Into<FromItem>) -> FromItem {
        FromItem::from(self).join(right)
    }

    /// `self JOIN right ON on`.
    pub fn join_on(&self, right: impl Into<FromItem>, on: Expr) -> FromItem {
        FromItem::from(self).join_on(right, on)
    }

    /// `self LEFT OUTER JOIN right`, ON inferred from foreign keys.
    pub fn outerjoin(&self, right: impl Into<FromItem>) -> FromItem {
        FromItem::from(self).outerjoin(right)
    }

    /// `self LEFT OUTER JOIN right ON on`.
    pub fn outerjoin_on(&self, right: impl Into<FromItem>, on: Expr) -> FromItem {
        FromItem::from(self).outerjoin_on(right, on)
    }
}

/// Infer the ON clause joining `left` and `right` from foreign keys between their tables.
///
/// Exactly one foreign key must link a table of `left` with a table of `right`.
pub(crate) fn infer_on(left: &FromItem, right: &FromItem) -> Result<Expr> {
    let mut lt = Vec::new();
    left.tables(&mut lt);
    let mut rt = Vec::new();
    right.tables(&mut rt);
    let mut found: Vec<Expr> = Vec::new();
    for (ltab, litem) in &lt {
        for (rtab, ritem) in &rt {
            for (child, citem, parent, pitem) in
                [(rtab, ritem, ltab, litem), (ltab, litem, rtab, ritem)]
            {
                for fk in child.foreign_keys() {
                    let points_to_parent = fk.referred_table() == parent.name()
                        && fk
                            .referred_schema()
                            .is_none_or(|s| Some(s) == parent.schema());
                    if points_to_parent {
                        let conds: Vec<Expr> = fk
                            .columns()
                            .iter()
                            .zip(fk.referred_columns())
                            .map(|(c, p)| pitem.c(p).eq(citem.c(c)))
                            .collect();
                        found.push(super::and_(conds));
                    }
                }
            }
        }
    }
    let name = |f: &FromItem| f.name().map(String::from).unwrap_or_else(|| "join".into());
    match found.len() {
        1 => Ok(found.pop().unwrap_or(Expr::Bool(true))),
        0 => Err(Error::JoinCondition {
            left: name(left),
            right: name(right),
            reason: "no foreign key links them; give the ON clause explicitly".into(),
        }),
        n => Err(Error::JoinCondition {
            left: name(left),
            right: name(right),
            reason: format!("{n} foreign keys link them; give the ON clause explicitly"),
        }),
    }
}
