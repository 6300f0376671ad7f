//! `SELECT`, including compound selects (UNION, INTERSECT, EXCEPT), subqueries and CTEs.

use std::sync::Arc;

use super::from::NamedSelect;
use super::stack::{drop_in_fresh_segment, stack_is_low, with_stack};
use super::{Expr, FromItem, JoinKind, OrderBy};
use crate::{Error, SqlType, Table};

/// Anything that can be put in a select list: expressions, tables (all their columns),
/// FROM items, and lists and tuples of those.
pub trait Selectable {
    /// Append the select-list expressions to `out`.
    fn push_into(self, out: &mut Vec<Expr>);
}

impl Selectable for Expr {
    fn push_into(self, out: &mut Vec<Expr>) {
        out.push(self)
    }
}

impl Selectable for &Table {
    fn push_into(self, out: &mut Vec<Expr>) {
        out.extend(self.column_refs())
    }
}

impl Selectable for Table {
    fn push_into(self, out: &mut Vec<Expr>) {
        out.extend(self.column_refs())
    }
}

impl Selectable for &FromItem {
    fn push_into(self, out: &mut Vec<Expr>) {
        self.push_columns(out)
    }
}

impl Selectable for FromItem {
    fn push_into(self, out: &mut Vec<Expr>) {
        self.push_columns(out)
    }
}

impl<T: Selectable> Selectable for Vec<T> {
    fn push_into(self, out: &mut Vec<Expr>) {
        for t in self {
            t.push_into(out)
        }
    }
}

impl<T: Selectable, const N: usize> Selectable for [T; N] {
    fn push_into(self, out: &mut Vec<Expr>) {
        for t in self {
            t.push_into(out)
        }
    }
}

macro_rules! selectable_tuple {
    ($($n:ident),+) => {
        impl<$($n: Selectable),+> Selectable for ($($n,)+) {
            #[allow(non_snake_case)]
            fn push_into(self, out: &mut Vec<Expr>) {
                let ($($n,)+) = self;
                $($n.push_into(out);)+
            }
        }
    };
}
selectable_tuple!(A, B);
selectable_tuple!(A, B, C);
selectable_tuple!(A, B, C, D);
selectable_tuple!(A, B, C, D, E);
selectable_tuple!(A, B, C, D, E, F);
selectable_tuple!(A, B, C, D, E, F, G);
selectable_tuple!(A, B, C, D, E, F, G, H);

/// Set operations between selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOp {
    /// `UNION`
    Union,
    /// `UNION ALL`
    UnionAll,
    /// `INTERSECT`
    Intersect,
    /// `INTERSECT ALL`
    IntersectAll,
    /// `EXCEPT`
    Except,
    /// `EXCEPT ALL`
    ExceptAll,
}

/// Row locking requested with `FOR UPDATE` / `FOR SHARE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lock {
    /// `FOR SHARE` when set, `FOR UPDATE` otherwise.
    pub share: bool,
    /// `NOWAIT`
    pub nowait: bool,
    /// `SKIP LOCKED`
    pub skip_locked: bool,
}

/// `DISTINCT` variants.
#[derive(Debug, Clone, Default)]
pub enum Distinct {
    /// No DISTINCT.
    #[default]
    None,
    /// `SELECT DISTINCT`
    All,
    /// `SELECT DISTINCT ON (exprs)` (PostgreSQL).
    On(Vec<Expr>),
}

/// The part of a simple SELECT before ORDER BY.
#[derive(Debug, Clone, Default)]
pub struct SelectCore {
    /// The select list.
    pub columns: Vec<Expr>,
    /// Explicit FROM items (`select_from`).
    pub from: Vec<FromItem>,
    /// Joins applied to the leftmost FROM item.
    pub joins: Vec<(FromItem, Option<Expr>, JoinKind)>,
    /// WHERE conditions, ANDed.
    pub where_: Vec<Expr>,
    /// GROUP BY.
    pub group_by: Vec<Expr>,
    /// HAVING conditions, ANDed.
    pub having: Vec<Expr>,
    /// DISTINCT.
    pub distinct: Distinct,
    /// FOR UPDATE / FOR SHARE.
    pub lock: Option<Lock>,
}

/// The body of a select: simple, or a chain of set operations.
///
/// It implements `Drop` (a compound of compounds of ... is dropped without overflowing
/// the stack), so its parts are matched by reference or taken with `std::mem::take`.
#[derive(Debug)]
pub enum SelectBody {
    /// A simple SELECT.
    Simple(Box<SelectCore>),
    /// `m1 op m2 op m3 ...` (the first member's op is ignored).
    Compound(Vec<(SetOp, Select)>),
}

/// Members of members of ... clone one level at a time, deep in the stack in a fresh
/// segment.
impl Clone for SelectBody {
    fn clone(&self) -> Self {
        match self {
            SelectBody::Simple(core) => SelectBody::Simple(core.clone()),
            SelectBody::Compound(members) => with_stack(|| SelectBody::Compound(members.clone())),
        }
    }
}

/// Members of members of ... drop one level at a time: deep in the stack, the members
/// are moved out and dropped in a fresh segment.
impl Drop for SelectBody {
    fn drop(&mut self) {
        if let SelectBody::Compound(members) = self {
            if !members.is_empty() && stack_is_low() {
                drop_in_fresh_segment(std::mem::take(members));
            }
        }
    }
}

/// A SELECT statement.
///
/// ```
/// use strata_core::{select, func, Column, SqlType, Table};
/// let users = Table::build("users")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("name", SqlType::Text))
///     .finish().unwrap();
/// let stmt = select((users.c("name"), func::count(users.c("id"))))
///     .where_(users.c("name").like("s%"))
///     .group_by([users.c("name")])
///     .order_by([users.c("name").desc()])
///     .limit(10);
/// assert_eq!(stmt.output_names(), ["name"]);
/// ```
#[derive(Debug, Clone)]
pub struct Select {
    /// The body.
    pub body: SelectBody,
    /// ORDER BY of the whole statement.
    pub order_by: Vec<OrderBy>,
    /// LIMIT.
    pub limit: Option<u64>,
    /// OFFSET.
    pub offset: Option<u64>,
    /// An error recorded while building (reported when compiled).
    pub error: Option<Error>,
}

/// `SELECT items`: expressions, tables, or tuples/lists of them.
pub fn select(items: impl Selectable) -> Select {
    let mut columns = Vec::new();
    items.push_into(&mut columns);
    Select {
        body: SelectBody::Simple(Box::new(SelectCore {
            columns,
            ..Default::default()
        })),
        order_by: Vec::new(),
        limit: None,
        offset: None,
        error: None,
    }
}

fn compound(op: SetOp, members: Vec<Select>) -> Select {
    Select {
        body: SelectBody::Compound(members.into_iter().map(|m| (op, m)).collect()),
        order_by: Vec::new(),
        limit: None,
        offset: None,
        error: None,
    }
}

/// `a UNION b UNION ...`
pub fn union(members: impl IntoIterator<Item = Select>) -> Select {
    compound(SetOp::Union, members.into_iter().collect())
}

/// `a UNION ALL b UNION ALL ...`
pub fn union_all(members: impl IntoIterator<Item = Select>) -> Select {
    compound(SetOp::UnionAll, members.into_iter().collect())
}

/// `a INTERSECT b ...`
pub fn intersect(members: impl IntoIterator<Item = Select>) -> Select {
    compound(SetOp::Intersect, members.into_iter().collect())
}

/// `a EXCEPT b ...`
pub fn except(members: impl IntoIterator<Item = Select>) -> Select {
    compound(SetOp::Except, members.into_iter().collect())
}

impl Select {
    fn core_mut(&mut self, what: &str) -> Option<&mut SelectCore> {
        match &mut self.body {
            SelectBody::Simple(c) => Some(c),
            SelectBody::Compound(_) => {
                if self.error.is_none() {
                    self.error = Some(Error::InvalidStatement(format!(
                        "{what} cannot be applied to a compound select (UNION/INTERSECT/EXCEPT); \
                         use .subquery() and select from it"
                    )));
                }
                None
            }
        }
    }

    /// The simple part, if this is not a compound select.
    pub fn core(&self) -> Option<&SelectCore> {
        match &self.body {
            SelectBody::Simple(c) => Some(c),
            SelectBody::Compound(_) => None,
        }
    }

    /// Add more items to the select list.
    pub fn add_columns(mut self, items: impl Selectable) -> Self {
        if let Some(c) = self.core_mut("add_columns") {
            items.push_into(&mut c.columns);
        }
        self
    }

    /// Replace the select list.
    pub fn with_only_columns(mut self, items: impl Selectable) -> Self {
        if let Some(c) = self.core_mut("with_only_columns") {
            c.columns.clear();
            items.push_into(&mut c.columns);
        }
        self
    }

    /// Add an explicit FROM item.
    pub fn select_from(mut self, from: impl Into<FromItem>) -> Self {
        if let Some(c) = self.core_mut("select_from") {
            c.from.push(from.into());
        }
        self
    }

    fn add_join(mut self, target: FromItem, on: Option<Expr>, kind: JoinKind) -> Self {
        if let Some(c) = self.core_mut("join") {
            c.joins.push((target, on, kind));
        }
        self
    }

    /// `JOIN target`, ON inferred from foreign keys.
    pub fn join(self, target: impl Into<FromItem>) -> Self {
        self.add_join(target.into(), None, JoinKind::Inner)
    }

    /// `JOIN target ON on`.
    pub fn join_on(self, target: impl Into<FromItem>, on: Expr) -> Self {
        self.add_join(target.into(), Some(on), JoinKind::Inner)
    }

    /// `LEFT OUTER JOIN target`, ON inferred from foreign keys.
    pub fn outerjoin(self, target: impl Into<FromItem>) -> Self {
        self.add_join(target.into(), None, JoinKind::Left)
    }

    /// `LEFT OUTER JOIN target ON on`.
    pub fn outerjoin_on(self, target: impl Into<FromItem>, on: Expr) -> Self {
        self.add_join(target.into(), Some(on), JoinKind::Left)
    }

    /// A join of any kind.
    pub fn join_kind(self, target: impl Into<FromItem>, on: Option<Expr>, kind: JoinKind) -> Self {
        self.add_join(target.into(), on, kind)
    }

    /// Add a WHERE condition (ANDed with earlier ones).
    pub fn where_(mut self, cond: impl Into<Expr>) -> Self {
        if let Some(c) = self.core_mut("where") {
            c.where_.push(cond.into());
        }
        self
    }

    /// Same as [`Select::where_`].
    pub fn filter(self, cond: impl Into<Expr>) -> Self {
        self.where_(cond)
    }

    /// Add GROUP BY expressions.
    pub fn group_by<I: IntoIterator<Item = E>, E: Into<Expr>>(mut self, exprs: I) -> Self {
        if let Some(c) = self.core_mut("group_by") {
            c.group_by.extend(exprs.into_iter().map(Into::into));
        }
        self
    }

    /// Add a HAVING condition (ANDed with earlier ones).
    pub fn having(mut self, cond: impl Into<Expr>) -> Self {
        if let Some(c) = self.core_mut("having") {
            c.having.push(cond.into());
        }
        self
    }

    /// Add ORDER BY items (`expr`, `expr.desc()`, `expr.asc().nulls_last()`).
    pub fn order_by<I: IntoIterator<Item = O>, O: Into<OrderBy>>(mut self, items: I) -> Self {
        self.order_by.extend(items.into_iter().map(Into::into));
        self
    }

    /// LIMIT (bound as a parameter).
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// OFFSET (bound as a parameter).
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// `SELECT DISTINCT`
    pub fn distinct(mut self) -> Self {
        if let Some(c) = self.core_mut("distinct") {
            c.distinct = Distinct::All;
        }
        self
    }

    /// `SELECT DISTINCT ON (exprs)` (PostgreSQL only; an error elsewhere).
    pub fn distinct_on<I: IntoIterator<Item = E>, E: Into<Expr>>(mut self, exprs: I) -> Self {
        if let Some(c) = self.core_mut("distinct_on") {
            c.distinct = Distinct::On(exprs.into_iter().map(Into::into).collect());
        }
        self
    }

    fn lock(mut self, lock: Lock) -> Self {
        if let Some(c) = self.core_mut("for_update") {
            c.lock = Some(lock);
        }
        self
    }

    /// `FOR UPDATE`
    pub fn for_update(self) -> Self {
        self.lock(Lock {
            share: false,
            nowait: false,
            skip_locked: false,
        })
    }

    /// `FOR UPDATE NOWAIT`
    pub fn for_update_nowait(self) -> Self {
        self.lock(Lock {
            share: false,
            nowait: true,
            skip_locked: false,
        })
    }

    /// `FOR UPDATE SKIP LOCKED`
    pub fn for_update_skip_locked(self) -> Self {
        self.lock(Lock {
            share: false,
            nowait: false,
            skip_locked: true,
        })
    }

    /// `FOR SHARE`
    pub fn for_share(self) -> Self {
        self.lock(Lock {
            share: true,
            nowait: false,
            skip_locked: false,
        })
    }

    fn set_op(mut self, op: SetOp, other: Select) -> Select {
        let bare = self.order_by.is_empty() && self.limit.is_none() && self.offset.is_none();
        match &mut self.body {
            // A compound without its own ORDER BY/LIMIT/OFFSET takes one more member.
            SelectBody::Compound(members) if bare => {
                members.push((op, other));
                self
            }
            _ => Select {
                body: SelectBody::Compound(vec![(op, self), (op, other)]),
                order_by: Vec::new(),
                limit: None,
                offset: None,
                error: None,
            },
        }
    }

    /// `self UNION other`
    pub fn union(self, other: Select) -> Select {
        self.set_op(SetOp::Union, other)
    }

    /// `self UNION ALL other`
    pub fn union_all(self, other: Select) -> Select {
        self.set_op(SetOp::UnionAll, other)
    }

    /// `self INTERSECT other`
    pub fn intersect(self, other: Select) -> Select {
        self.set_op(SetOp::Intersect, other)
    }

    /// `self INTERSECT ALL other`
    pub fn intersect_all(self, other: Select) -> Select {
        self.set_op(SetOp::IntersectAll, other)
    }

    /// `self EXCEPT other`
    pub fn except(self, other: Select) -> Select {
        self.set_op(SetOp::Except, other)
    }

    /// `self EXCEPT ALL other`
    pub fn except_all(self, other: Select) -> Select {
        self.set_op(SetOp::ExceptAll, other)
    }

    /// Use this select in FROM under `name`; its columns are `sub.c("col")`.
    pub fn subquery(self, name: impl Into<String>) -> FromItem {
        self.named(name.into(), false, false)
    }

    /// A common table expression `WITH name AS (self)`, usable as a FROM item.
    pub fn cte(self, name: impl Into<String>) -> FromItem {
        self.named(name.into(), true, false)
    }

    /// A recursive CTE: `self` is the anchor member; `recursive` builds the recursive
    /// member from a reference to the CTE; they are joined with UNION ALL.
    ///
    /// ```
    /// use strata_core::{select, literal_column, Column, SqlType, Table};
    /// let nodes = Table::build("nodes")
    ///     .column(Column::new("id", SqlType::Integer).primary_key())
    ///     .column(Column::new("parent_id", SqlType::Integer))
    ///     .finish().unwrap();
    /// let tree = select(nodes.c("id")).where_(nodes.c("id").eq(1)).cte_recursive("tree", |tree| {
    ///     select(nodes.c("id")).join_on(tree.clone(), nodes.c("parent_id").eq(tree.c("id")))
    /// });
    /// assert_eq!(tree.column_names(), ["id"]);
    /// ```
    pub fn cte_recursive(
        self,
        name: impl Into<String>,
        recursive: impl FnOnce(&FromItem) -> Select,
    ) -> FromItem {
        let name: String = name.into();
        let placeholder = self.clone().named(name.clone(), true, true);
        let member = recursive(&placeholder);
        self.union_all(member).named(name, true, true)
    }

    fn named(self, name: String, cte: bool, recursive: bool) -> FromItem {
        let select = match crate::ident::check_identifier(&name) {
            Ok(()) => self,
            Err(e) => Select {
                error: Some(e),
                ..self
            },
        };
        FromItem::Named(Arc::new(NamedSelect {
            name: Arc::from(name),
            select,
            cte,
            recursive,
        }))
    }

    /// `(SELECT ...)` as a value expression.
    pub fn scalar_subquery(self) -> Expr {
        Expr::ScalarSubquery(Box::new(self))
    }

    /// `EXISTS (SELECT ...)`
    pub fn exists(self) -> Expr {
        Expr::Exists(Box::new(self))
    }

    fn first_core(&self) -> Option<&SelectCore> {
        match &self.body {
            SelectBody::Simple(c) => Some(c),
            SelectBody::Compound(m) => m.first().and_then(|(_, s)| s.first_core()),
        }
    }

    /// The names of the result columns that have one (columns and labels).
    pub fn output_names(&self) -> Vec<String> {
        self.first_core()
            .map(|c| {
                c.columns
                    .iter()
                    .filter_map(|e| e.output_name().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The SQL type of the named result column, where known.
    pub fn output_type(&self, name: &str) -> Option<SqlType> {
        let core = self.first_core()?;
        core.columns
            .iter()
            .find(|e| e.output_name() == Some(name))
            .and_then(|e| match e {
                Expr::Column(c) => c.sql_type().cloned(),
                Expr::Label(inner, _) => match inner.as_ref() {
                    Expr::Column(c) => c.sql_type().cloned(),
                    Expr::Cast(_, t) => Some(t.clone()),
                    _ => None,
                },
                _ => None,
            })
    }
}
