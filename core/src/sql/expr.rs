//! The expression tree: column references, bound values, operators, functions.

use std::ops;
use std::sync::Arc;

use super::stack::{drop_in_fresh_segment, stack_is_low, with_stack};
use super::{FromItem, Select};
use crate::{Error, SqlType, Value};

/// A reference to a column of a table, alias, subquery or CTE.
///
/// ```
/// use strata_core::{Column, Expr, SqlType, Table};
/// let users = Table::build("users")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("name", SqlType::Text))
///     .finish()
///     .unwrap();
/// let Expr::Column(ref c) = users.c("name") else { unreachable!() };
/// assert_eq!(c.name(), "name");
/// assert_eq!(c.sql_type(), Some(&SqlType::Text));
/// assert_eq!(c.from().and_then(|f| f.name()), Some("users"));
/// ```
#[derive(Debug, Clone)]
pub struct ColumnRef {
    /// Where the column comes from (`None` for an unqualified `column("x")`).
    from: Option<FromItem>,
    /// Which column of `from`.
    column: ColumnId,
}

/// How a column reference names its column.
#[derive(Debug, Clone)]
enum ColumnId {
    /// The column at this position of the table that `from` is or aliases: its name
    /// and type are the table's, so a reference copies neither.
    Position(u32),
    /// A column by name, with its type where known (columns of subqueries and CTEs,
    /// unqualified columns).
    Named {
        name: Arc<str>,
        sql_type: Option<SqlType>,
    },
}

impl ColumnRef {
    /// Column `position` of `from`, a table or an alias of one.
    pub(crate) fn of_table(from: FromItem, position: usize) -> ColumnRef {
        debug_assert!(matches!(from, FromItem::Table(_) | FromItem::Alias(..)));
        ColumnRef {
            from: Some(from),
            column: ColumnId::Position(position as u32),
        }
    }

    /// The column called `name` of `from` (`None`: unqualified), of type `sql_type`.
    pub(crate) fn named(
        from: Option<FromItem>,
        name: Arc<str>,
        sql_type: Option<SqlType>,
    ) -> ColumnRef {
        ColumnRef {
            from,
            column: ColumnId::Named { name, sql_type },
        }
    }

    /// Where the column comes from (`None` for an unqualified `column("x")`).
    pub fn from(&self) -> Option<&FromItem> {
        self.from.as_ref()
    }

    /// The table column this refers to, for a column of a table or alias.
    fn table_column(&self) -> Option<&crate::Column> {
        match (&self.column, &self.from) {
            (ColumnId::Position(p), Some(FromItem::Table(t) | FromItem::Alias(t, _))) => {
                t.column_at(*p as usize)
            }
            _ => None,
        }
    }

    /// The column's name.
    pub fn name(&self) -> &str {
        match &self.column {
            ColumnId::Named { name, .. } => name,
            ColumnId::Position(_) => self.table_column().map_or("", |c| c.name()),
        }
    }

    /// The column's type, where known.
    pub fn sql_type(&self) -> Option<&SqlType> {
        match &self.column {
            ColumnId::Named { sql_type, .. } => sql_type.as_ref(),
            ColumnId::Position(_) => self.table_column().map(|c| c.sql_type()),
        }
    }

    /// The column's position in its table, for a column of a table or alias.
    pub(crate) fn position(&self) -> Option<u32> {
        match self.column {
            ColumnId::Position(p) => Some(p),
            ColumnId::Named { .. } => None,
        }
    }
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// String concatenation (`||`, or `CONCAT()` on MySQL).
    Concat,
}

impl BinaryOp {
    /// `+`, `-`, `*`, `/` or `%`.
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod
        )
    }
}

/// Where NULLs sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nulls {
    /// `NULLS FIRST`
    First,
    /// `NULLS LAST`
    Last,
}

/// One ORDER BY item.
#[derive(Debug, Clone)]
pub struct OrderBy {
    /// The sort expression.
    pub expr: Expr,
    /// Descending when set.
    pub desc: bool,
    /// NULL placement, if requested.
    pub nulls: Option<Nulls>,
}

impl OrderBy {
    /// Sort NULLs first.
    pub fn nulls_first(mut self) -> Self {
        self.nulls = Some(Nulls::First);
        self
    }

    /// Sort NULLs last.
    pub fn nulls_last(mut self) -> Self {
        self.nulls = Some(Nulls::Last);
        self
    }
}

impl<T: Into<Expr>> From<T> for OrderBy {
    fn from(e: T) -> Self {
        OrderBy {
            expr: e.into(),
            desc: false,
            nulls: None,
        }
    }
}

/// A window frame bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameBound {
    /// `UNBOUNDED PRECEDING`
    UnboundedPreceding,
    /// `n PRECEDING`
    Preceding(u32),
    /// `CURRENT ROW`
    CurrentRow,
    /// `n FOLLOWING`
    Following(u32),
    /// `UNBOUNDED FOLLOWING`
    UnboundedFollowing,
}

/// A window frame: `ROWS` or `RANGE` between two bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Frame {
    /// `RANGE` when set, `ROWS` otherwise.
    pub range: bool,
    /// Start bound.
    pub start: FrameBound,
    /// End bound.
    pub end: FrameBound,
}

/// A window specification: `OVER (PARTITION BY ... ORDER BY ... frame)`.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// PARTITION BY expressions.
    pub partition_by: Vec<Expr>,
    /// ORDER BY items.
    pub order_by: Vec<OrderBy>,
    /// Optional frame.
    pub frame: Option<Frame>,
}

impl Window {
    /// An empty window (`OVER ()`).
    pub fn new() -> Self {
        Window::default()
    }

    /// Add PARTITION BY expressions.
    pub fn partition_by<I: IntoIterator<Item = E>, E: Into<Expr>>(mut self, exprs: I) -> Self {
        self.partition_by.extend(exprs.into_iter().map(Into::into));
        self
    }

    /// Add ORDER BY items.
    pub fn order_by<I: IntoIterator<Item = O>, O: Into<OrderBy>>(mut self, items: I) -> Self {
        self.order_by.extend(items.into_iter().map(Into::into));
        self
    }

    /// `ROWS BETWEEN start AND end`.
    pub fn rows(mut self, start: FrameBound, end: FrameBound) -> Self {
        self.frame = Some(Frame {
            range: false,
            start,
            end,
        });
        self
    }

    /// `RANGE BETWEEN start AND end`.
    pub fn range(mut self, start: FrameBound, end: FrameBound) -> Self {
        self.frame = Some(Frame {
            range: true,
            start,
            end,
        });
        self
    }
}

/// An SQL expression.
///
/// Built from column references ([`Table::c`](crate::Table::c)), values (anything
/// `Into<Value>` becomes a bound parameter) and the methods below; Rust's `&`, `|`, `!`,
/// `+`, `-`, `*`, `/`, `%` operators work too.
///
/// An expression may be nested as deep as a loop builds it: cloning and dropping one
/// never overflow the thread's stack (compiling one nested deeper than 2000 levels is
/// an error). For that, `Expr` implements `Drop`, so its parts are matched by
/// reference (`Expr::And(ref parts)`), not moved out.
///
/// ```
/// use strata_core::{Column, Expr, SqlType, Table};
/// let users = Table::build("users")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("name", SqlType::Text))
///     .finish().unwrap();
/// let cond = users.c("name").eq("spongebob") & users.c("id").gt(3);
/// assert!(matches!(cond, Expr::And(ref parts) if parts.len() == 2));
/// ```
#[derive(Debug)]
pub enum Expr {
    /// A column reference.
    Column(ColumnRef),
    /// A bound parameter.
    Param(Value),
    /// The SQL `NULL` keyword.
    Null,
    /// A boolean constant rendered per dialect (`TRUE`/`1`).
    Bool(bool),
    /// SQL text written by the user, rendered verbatim (`literal_column`).
    Raw(Arc<str>),
    /// `*` or `table.*`.
    Star(Option<FromItem>),
    /// `a op b`.
    Binary(Box<Expr>, BinaryOp, Box<Expr>),
    /// `NOT a`.
    Not(Box<Expr>),
    /// `-a`.
    Neg(Box<Expr>),
    /// `a AND b AND ...`.
    And(Vec<Expr>),
    /// `a OR b OR ...`.
    Or(Vec<Expr>),
    /// `a IS [NOT] NULL`.
    IsNull(Box<Expr>, bool),
    /// `a [NOT] IN (values...)`: one expanding parameter, whatever the list's length.
    InList(Box<Expr>, Vec<Value>, bool),
    /// `a [NOT] IN (expressions...)`.
    InExprs(Box<Expr>, Vec<Expr>, bool),
    /// `a [NOT] IN (SELECT ...)`.
    InSelect(Box<Expr>, Box<Select>, bool),
    /// `a [NOT] BETWEEN b AND c`.
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    /// `a [NOT] LIKE b [ESCAPE c]`, or ILIKE when case-insensitive.
    Like {
        /// The tested expression.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// The escape character, if any.
        escape: Option<char>,
        /// ILIKE (rendered as `lower(a) LIKE lower(b)` where the dialect lacks ILIKE).
        case_insensitive: bool,
        /// NOT LIKE.
        negated: bool,
    },
    /// A function call.
    Function {
        /// The function's name.
        name: Arc<str>,
        /// Its arguments.
        args: Vec<Expr>,
        /// `f(DISTINCT ...)`.
        distinct: bool,
    },
    /// `CASE WHEN ... THEN ... ELSE ... END`.
    Case(Vec<(Expr, Expr)>, Option<Box<Expr>>),
    /// `CAST(a AS type)`.
    Cast(Box<Expr>, SqlType),
    /// `a AS name` (in a select list).
    Label(Box<Expr>, Arc<str>),
    /// `[NOT] EXISTS (SELECT ...)`.
    Exists(Box<Select>),
    /// `(SELECT ...)` used as a value.
    ScalarSubquery(Box<Select>),
    /// `f(...) OVER (...)`.
    Over(Box<Expr>, Box<Window>),
    /// `(a, b, ...)`.
    Tuple(Vec<Expr>),
    /// The row proposed for insertion in an upsert: `excluded.col` (`VALUES(col)` on MySQL).
    Excluded(Arc<str>),
    /// An expression that could not be built; compiling it returns this error.
    Invalid(Error),
}

impl Expr {
    /// Whether the expression holds other expressions or statements (whose clone and
    /// drop recurse).
    fn has_children(&self) -> bool {
        !matches!(
            self,
            Expr::Column(_)
                | Expr::Param(_)
                | Expr::Null
                | Expr::Bool(_)
                | Expr::Raw(_)
                | Expr::Excluded(_)
                | Expr::Invalid(_)
        )
    }

    fn clone_here(&self) -> Expr {
        match self {
            Expr::Column(c) => Expr::Column(c.clone()),
            Expr::Param(v) => Expr::Param(v.clone()),
            Expr::Null => Expr::Null,
            Expr::Bool(b) => Expr::Bool(*b),
            Expr::Raw(r) => Expr::Raw(r.clone()),
            Expr::Star(f) => Expr::Star(f.clone()),
            Expr::Binary(a, op, b) => Expr::Binary(a.clone(), *op, b.clone()),
            Expr::Not(a) => Expr::Not(a.clone()),
            Expr::Neg(a) => Expr::Neg(a.clone()),
            Expr::And(v) => Expr::And(v.clone()),
            Expr::Or(v) => Expr::Or(v.clone()),
            Expr::IsNull(a, n) => Expr::IsNull(a.clone(), *n),
            Expr::InList(a, v, n) => Expr::InList(a.clone(), v.clone(), *n),
            Expr::InExprs(a, v, n) => Expr::InExprs(a.clone(), v.clone(), *n),
            Expr::InSelect(a, s, n) => Expr::InSelect(a.clone(), s.clone(), *n),
            Expr::Between(a, lo, hi, n) => Expr::Between(a.clone(), lo.clone(), hi.clone(), *n),
            Expr::Like {
                expr,
                pattern,
                escape,
                case_insensitive,
                negated,
            } => Expr::Like {
                expr: expr.clone(),
                pattern: pattern.clone(),
                escape: *escape,
                case_insensitive: *case_insensitive,
                negated: *negated,
            },
            Expr::Function {
                name,
                args,
                distinct,
            } => Expr::Function {
                name: name.clone(),
                args: args.clone(),
                distinct: *distinct,
            },
            Expr::Case(whens, otherwise) => Expr::Case(whens.clone(), otherwise.clone()),
            Expr::Cast(a, t) => Expr::Cast(a.clone(), t.clone()),
            Expr::Label(a, name) => Expr::Label(a.clone(), name.clone()),
            Expr::Exists(s) => Expr::Exists(s.clone()),
            Expr::ScalarSubquery(s) => Expr::ScalarSubquery(s.clone()),
            Expr::Over(a, w) => Expr::Over(a.clone(), w.clone()),
            Expr::Tuple(v) => Expr::Tuple(v.clone()),
            Expr::Excluded(c) => Expr::Excluded(c.clone()),
            Expr::Invalid(e) => Expr::Invalid(e.clone()),
        }
    }
}

/// Cloning recurses once per level of nesting; deep in the stack it goes on in a fresh
/// segment, so a deep expression clones without overflowing the thread's stack.
impl Clone for Expr {
    fn clone(&self) -> Self {
        if self.has_children() {
            with_stack(|| self.clone_here())
        } else {
            self.clone_here()
        }
    }
}

/// Dropping recurses once per level of nesting, as cloning does: when little stack is
/// left, the expression's contents are moved out and dropped in a fresh segment.
impl Drop for Expr {
    fn drop(&mut self) {
        if self.has_children() && stack_is_low() {
            drop_in_fresh_segment(std::mem::replace(self, Expr::Null));
        }
    }
}

impl<T: Into<Value>> From<T> for Expr {
    fn from(v: T) -> Self {
        Expr::Param(v.into())
    }
}

impl From<&Expr> for Expr {
    fn from(e: &Expr) -> Self {
        e.clone()
    }
}

fn b(e: impl Into<Expr>) -> Box<Expr> {
    Box::new(e.into())
}

/// Escape `%`, `_` and the escape character `/` in a LIKE pattern fragment.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '/') {
            out.push('/');
        }
        out.push(ch);
    }
    out
}

impl Expr {
    fn binary(self, op: BinaryOp, rhs: impl Into<Expr>) -> Expr {
        Expr::Binary(Box::new(self), op, b(rhs))
    }

    /// `self = rhs`; comparing with NULL gives `IS NULL`.
    pub fn eq(self, rhs: impl Into<Expr>) -> Expr {
        match rhs.into() {
            Expr::Param(Value::Null) | Expr::Null => Expr::IsNull(Box::new(self), false),
            rhs => self.binary(BinaryOp::Eq, rhs),
        }
    }

    /// `self <> rhs`; comparing with NULL gives `IS NOT NULL`.
    pub fn ne(self, rhs: impl Into<Expr>) -> Expr {
        match rhs.into() {
            Expr::Param(Value::Null) | Expr::Null => Expr::IsNull(Box::new(self), true),
            rhs => self.binary(BinaryOp::Ne, rhs),
        }
    }

    /// `self < rhs`
    pub fn lt(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinaryOp::Lt, rhs)
    }

    /// `self <= rhs`
    pub fn le(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinaryOp::Le, rhs)
    }

    /// `self > rhs`
    pub fn gt(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinaryOp::Gt, rhs)
    }

    /// `self >= rhs`
    pub fn ge(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinaryOp::Ge, rhs)
    }

    /// `self AND rhs`
    pub fn and(self, rhs: impl Into<Expr>) -> Expr {
        and_([self, rhs.into()])
    }

    /// `self OR rhs`
    pub fn or(self, rhs: impl Into<Expr>) -> Expr {
        or_([self, rhs.into()])
    }

    /// `self IS NULL`
    pub fn is_null(self) -> Expr {
        Expr::IsNull(Box::new(self), false)
    }

    /// `self IS NOT NULL`
    pub fn is_not_null(self) -> Expr {
        Expr::IsNull(Box::new(self), true)
    }

    /// `self IN (v1, v2, ...)`: the list is one expanding parameter, so lists of any
    /// length share one compiled statement. An empty list is never true.
    pub fn in_<I: IntoIterator<Item = V>, V: Into<Value>>(self, values: I) -> Expr {
        Expr::InList(
            Box::new(self),
            values.into_iter().map(Into::into).collect(),
            false,
        )
    }

    /// `self NOT IN (v1, v2, ...)`; an empty list is always true.
    pub fn not_in<I: IntoIterator<Item = V>, V: Into<Value>>(self, values: I) -> Expr {
        Expr::InList(
            Box::new(self),
            values.into_iter().map(Into::into).collect(),
            true,
        )
    }

    /// `self IN (e1, e2, ...)` over arbitrary expressions.
    pub fn in_exprs<I: IntoIterator<Item = E>, E: Into<Expr>>(self, exprs: I) -> Expr {
        Expr::InExprs(
            Box::new(self),
            exprs.into_iter().map(Into::into).collect(),
            false,
        )
    }

    /// `self IN (SELECT ...)`
    pub fn in_select(self, select: Select) -> Expr {
        Expr::InSelect(Box::new(self), Box::new(select), false)
    }

    /// `self NOT IN (SELECT ...)`
    pub fn not_in_select(self, select: Select) -> Expr {
        Expr::InSelect(Box::new(self), Box::new(select), true)
    }

    /// `self BETWEEN low AND high`
    pub fn between(self, low: impl Into<Expr>, high: impl Into<Expr>) -> Expr {
        Expr::Between(Box::new(self), b(low), b(high), false)
    }

    /// `self NOT BETWEEN low AND high`
    pub fn not_between(self, low: impl Into<Expr>, high: impl Into<Expr>) -> Expr {
        Expr::Between(Box::new(self), b(low), b(high), true)
    }

    fn like_expr(self, pattern: Expr, escape: Option<char>, ci: bool, negated: bool) -> Expr {
        Expr::Like {
            expr: Box::new(self),
            pattern: Box::new(pattern),
            escape,
            case_insensitive: ci,
            negated,
        }
    }

    /// `self LIKE pattern` (the pattern's `%` and `_` are wildcards).
    pub fn like(self, pattern: impl Into<Expr>) -> Expr {
        self.like_expr(pattern.into(), None, false, false)
    }

    /// `self LIKE pattern ESCAPE escape`.
    pub fn like_escape(self, pattern: impl Into<Expr>, escape: char) -> Expr {
        self.like_expr(pattern.into(), Some(escape), false, false)
    }

    /// `self NOT LIKE pattern`
    pub fn not_like(self, pattern: impl Into<Expr>) -> Expr {
        self.like_expr(pattern.into(), None, false, true)
    }

    /// Case-insensitive LIKE (`ILIKE` on PostgreSQL, `lower(a) LIKE lower(b)` elsewhere).
    pub fn ilike(self, pattern: impl Into<Expr>) -> Expr {
        self.like_expr(pattern.into(), None, true, false)
    }

    /// Case-insensitive NOT LIKE.
    pub fn not_ilike(self, pattern: impl Into<Expr>) -> Expr {
        self.like_expr(pattern.into(), None, true, true)
    }

    fn affix(self, other: Expr, prefix: bool, suffix: bool) -> Expr {
        match other {
            Expr::Param(Value::Text(ref s)) => {
                let mut p = String::with_capacity(s.len() + 2);
                if prefix {
                    p.push('%');
                }
                p.push_str(&escape_like(s));
                if suffix {
                    p.push('%');
                }
                self.like_expr(Expr::Param(Value::Text(p)), Some('/'), false, false)
            }
            other => {
                let mut pattern = other;
                if prefix {
                    pattern = Expr::from("%").concat(pattern);
                }
                if suffix {
                    pattern = pattern.concat("%");
                }
                self.like_expr(pattern, None, false, false)
            }
        }
    }

    /// `self LIKE '%' || other || '%'`; a text value's `%` and `_` match literally.
    pub fn contains(self, other: impl Into<Expr>) -> Expr {
        self.affix(other.into(), true, true)
    }

    /// `self LIKE other || '%'`; a text value's `%` and `_` match literally.
    pub fn startswith(self, other: impl Into<Expr>) -> Expr {
        self.affix(other.into(), false, true)
    }

    /// `self LIKE '%' || other`; a text value's `%` and `_` match literally.
    pub fn endswith(self, other: impl Into<Expr>) -> Expr {
        self.affix(other.into(), true, false)
    }

    /// String concatenation.
    pub fn concat(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinaryOp::Concat, rhs)
    }

    /// `self AS name` in a select list.
    pub fn label(self, name: impl Into<String>) -> Expr {
        let name = name.into();
        match crate::ident::check_identifier(&name) {
            Ok(()) => Expr::Label(Box::new(self), Arc::from(name)),
            Err(e) => Expr::Invalid(e),
        }
    }

    /// Ascending ORDER BY item.
    pub fn asc(self) -> OrderBy {
        OrderBy {
            expr: self,
            desc: false,
            nulls: None,
        }
    }

    /// Descending ORDER BY item.
    pub fn desc(self) -> OrderBy {
        OrderBy {
            expr: self,
            desc: true,
            nulls: None,
        }
    }

    /// `CAST(self AS type)`, the type name chosen by the dialect.
    pub fn cast(self, sql_type: SqlType) -> Expr {
        Expr::Cast(Box::new(self), sql_type)
    }

    /// `self OVER (window)`: a window function call.
    pub fn over(self, window: Window) -> Expr {
        Expr::Over(Box::new(self), Box::new(window))
    }

    /// Mark a function call as `f(DISTINCT ...)`, e.g. `func::count(x).distinct()`.
    pub fn distinct(mut self) -> Expr {
        match &mut self {
            Expr::Function { distinct, .. } => {
                *distinct = true;
                self
            }
            _ => Expr::Invalid(Error::InvalidStatement(format!(
                "distinct() applies to a function call, not to {}",
                self.describe()
            ))),
        }
    }

    /// The name this expression has in a result row, if it has one.
    pub fn output_name(&self) -> Option<&str> {
        match self {
            Expr::Column(c) => Some(c.name()),
            Expr::Label(_, n) => Some(n),
            _ => None,
        }
    }

    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Expr::Column(_) => "a column",
            Expr::Param(_) => "a value",
            Expr::Function { .. } => "a function call",
            _ => "an expression",
        }
    }
}

/// An unqualified column by name (`column("x")` renders `"x"`).
pub fn column(name: &str) -> Expr {
    match crate::ident::check_identifier(name) {
        Ok(()) => Expr::Column(ColumnRef::named(None, Arc::from(name), None)),
        Err(e) => Expr::Invalid(e),
    }
}

/// SQL text rendered verbatim, like SQLAlchemy's `literal_column`. Never put user input
/// here: use values (bound parameters) for data.
pub fn literal_column(sql: &str) -> Expr {
    Expr::Raw(Arc::from(sql))
}

/// A bound value as an expression (`literal(5)`).
pub fn literal(v: impl Into<Value>) -> Expr {
    Expr::Param(v.into())
}

/// The SQL NULL keyword.
pub fn null() -> Expr {
    Expr::Null
}

/// A boolean constant.
pub fn true_() -> Expr {
    Expr::Bool(true)
}

/// A boolean constant.
pub fn false_() -> Expr {
    Expr::Bool(false)
}

/// `a AND b AND ...`; nested ANDs are flattened. An empty list is TRUE.
pub fn and_<I: IntoIterator<Item = E>, E: Into<Expr>>(exprs: I) -> Expr {
    flattened(exprs, true)
}

/// `a OR b OR ...`; nested ORs are flattened. An empty list is FALSE.
pub fn or_<I: IntoIterator<Item = E>, E: Into<Expr>>(exprs: I) -> Expr {
    flattened(exprs, false)
}

/// The AND (`and`) or OR of `exprs`, flattened. The list of a leading AND (OR) is
/// extended in place, so `cond = cond.and(x)` in a loop costs constant time a step.
fn flattened<I: IntoIterator<Item = E>, E: Into<Expr>>(exprs: I, and: bool) -> Expr {
    let mut out: Vec<Expr> = Vec::new();
    for e in exprs {
        let mut e = e.into();
        match (&mut e, and) {
            (Expr::And(v), true) | (Expr::Or(v), false) if out.is_empty() => {
                out = std::mem::take(v)
            }
            (Expr::And(v), true) | (Expr::Or(v), false) => out.append(v),
            _ => out.push(e),
        }
    }
    match (out.len(), and) {
        (1, _) => out.pop().unwrap_or(Expr::Bool(and)),
        (_, true) => Expr::And(out),
        (_, false) => Expr::Or(out),
    }
}

/// `NOT e`
pub fn not_(e: impl Into<Expr>) -> Expr {
    Expr::Not(b(e))
}

/// `EXISTS (SELECT ...)`
pub fn exists(select: Select) -> Expr {
    Expr::Exists(Box::new(select))
}

/// `CASE WHEN cond THEN value ... ELSE else_ END`.
pub fn case<I, C, V>(whens: I, else_: Option<Expr>) -> Expr
where
    I: IntoIterator<Item = (C, V)>,
    C: Into<Expr>,
    V: Into<Expr>,
{
    Expr::Case(
        whens
            .into_iter()
            .map(|(c, v)| (c.into(), v.into()))
            .collect(),
        else_.map(Box::new),
    )
}

/// `CAST(e AS type)`
pub fn cast(e: impl Into<Expr>, sql_type: SqlType) -> Expr {
    e.into().cast(sql_type)
}

/// A tuple `(a, b, ...)`, e.g. for composite comparisons.
pub fn tuple<I: IntoIterator<Item = E>, E: Into<Expr>>(exprs: I) -> Expr {
    Expr::Tuple(exprs.into_iter().map(Into::into).collect())
}

/// The value proposed for `column` in an upsert's DO UPDATE (`excluded.column`).
pub fn excluded(column: &str) -> Expr {
    match crate::ident::check_identifier(column) {
        Ok(()) => Expr::Excluded(Arc::from(column)),
        Err(e) => Expr::Invalid(e),
    }
}

macro_rules! std_op {
    ($tr:ident, $method:ident, $op:expr) => {
        impl<T: Into<Expr>> ops::$tr<T> for Expr {
            type Output = Expr;
            fn $method(self, rhs: T) -> Expr {
                self.binary($op, rhs)
            }
        }
    };
}

std_op!(Add, add, BinaryOp::Add);
std_op!(Sub, sub, BinaryOp::Sub);
std_op!(Mul, mul, BinaryOp::Mul);
std_op!(Div, div, BinaryOp::Div);
std_op!(Rem, rem, BinaryOp::Mod);

impl<T: Into<Expr>> ops::BitAnd<T> for Expr {
    type Output = Expr;
    fn bitand(self, rhs: T) -> Expr {
        self.and(rhs)
    }
}

impl<T: Into<Expr>> ops::BitOr<T> for Expr {
    type Output = Expr;
    fn bitor(self, rhs: T) -> Expr {
        self.or(rhs)
    }
}

impl ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }
}

impl ops::Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::Neg(Box::new(self))
    }
}
