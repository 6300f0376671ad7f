//! Lowering strata's statement trees to sea-query statements.
//!
//! Parameters become slot markers (see `template.rs`), assigned in the same order the
//! key walk (`key.rs`) collects their values.

use std::sync::Arc;

use sea_query::{
    Alias, Asterisk, BinOper, CaseStatement, ColumnName, ColumnRef as SeaColumnRef,
    CommonTableExpression, DeleteStatement, DynIden, Expr as SeaExpr, Func, InsertStatement,
    IntoIden, JoinType, Keyword, LockBehavior, LockType, NullOrdering, OnConflict as SeaOnConflict,
    Order, Query, ReturningClause, SchemaName, SelectStatement, SubQueryStatement, TableName,
    TableRef, UnOper, UnionType, UpdateStatement, Value as SeaValue, WithClause, WithQuery,
};

use super::depth;
use super::dialect::{Dialect, UpsertStyle};
use super::resolve::{join_on, resolve_froms};
use super::template::{expand_marker, marker, Piece};
use crate::schema::ColumnDefault;
use crate::sql::{
    BinaryOp, BoundPiece, ConflictAction, Delete, Distinct, Expr, FrameBound, FromItem, Insert,
    InsertSource, JoinKind, Nulls, OrderBy, Select, SelectBody, SetOp, Text, Update, Window,
};
use crate::{Error, Result, Table, Value};

/// A statement lowered to sea-query (or to raw pieces for `text()`), ready to render.
#[derive(Debug, Clone)]
pub enum Lowered {
    /// SELECT
    Select(SelectStatement),
    /// INSERT
    Insert(InsertStatement),
    /// UPDATE
    Update(UpdateStatement),
    /// DELETE
    Delete(DeleteStatement),
    /// A statement with a WITH clause.
    With(WithQuery),
    /// Literal SQL pieces with parameter slots.
    Raw(Vec<Piece>),
}

/// Lowering state for one statement.
pub struct Lowerer<'d> {
    dialect: &'d dyn Dialect,
    inline: bool,
    next_slot: usize,
    enclosing: Vec<FromItem>,
    ctes: Vec<CommonTableExpression>,
    cte_names: Vec<Arc<str>>,
    recursive: bool,
    unqualified: bool,
    anon: usize,
    /// The nesting of the expression or query being lowered, and the deepest met.
    depth: u32,
    max_depth: u32,
    /// Whether the expression lowered last is an integer for certain: a column of an
    /// integer type (a table's, or a subquery's whose select gives one), an integer
    /// parameter, a cast to an integer type, or arithmetic of those. Decides `/` on
    /// dialects whose `/` of two integers is not an integer (MySQL).
    integer: bool,
}

fn iden(s: &str) -> DynIden {
    Alias::new(s).into_iden()
}

fn table_name(schema: Option<&str>, name: &str) -> TableName {
    TableName(schema.map(|s| SchemaName(None, iden(s))), iden(name))
}

fn sea_value(v: &Value) -> SeaValue {
    match v {
        Value::Null => SeaValue::String(None),
        Value::Bool(b) => SeaValue::Bool(Some(*b)),
        Value::SmallInt(i) => SeaValue::SmallInt(Some(*i)),
        Value::Int(i) => SeaValue::Int(Some(*i)),
        Value::BigInt(i) => SeaValue::BigInt(Some(*i)),
        Value::Float(f) => SeaValue::Float(Some(*f)),
        Value::Double(f) => SeaValue::Double(Some(*f)),
        Value::Text(s) => SeaValue::String(Some(s.clone())),
        Value::Bytes(b) => SeaValue::Bytes(Some(b.clone())),
        // Dates, UUIDs, JSON and decimals are written as their canonical text.
        #[allow(unreachable_patterns)]
        other => SeaValue::String(other.typed_text()),
    }
}

/// Columns of `table` with a client-side default that `given` leaves out.
pub(crate) fn missing_defaults<'t>(
    table: &'t Table,
    given: &'t [String],
) -> impl Iterator<Item = (&'t str, &'t ColumnDefault)> + 't {
    let any = table.has_client_defaults();
    table
        .columns()
        .take_while(move |_| any)
        .filter(|c| !given.iter().any(|g| g == c.name()))
        .filter_map(|c| c.default_value().map(|d| (c.name(), d)))
}

/// Columns of `table` with an onupdate that `set` leaves out.
pub(crate) fn missing_onupdates<'t>(
    table: &'t Table,
    set: &'t [(String, Expr)],
) -> impl Iterator<Item = (&'t str, &'t ColumnDefault)> + 't {
    let any = table.has_onupdates();
    table
        .columns()
        .take_while(move |_| any)
        .filter(|c| !set.iter().any(|(g, _)| g == c.name()))
        .filter_map(|c| c.onupdate_value().map(|d| (c.name(), d)))
}

/// Conditions that sea-query renders through one recursion each: a left-nested chain
/// of this many or fewer, a balanced tree beyond (so ten thousand ORed conditions
/// nest 14 deep, not ten thousand, and render within any thread's stack).
const LOGICAL_CHAIN_MAX: usize = 32;

/// `parts[0] op parts[1] op ...`; one part is itself (`parts` not empty).
fn logical_chain(parts: Vec<SeaExpr>, op: BinOper) -> SeaExpr {
    if parts.len() > LOGICAL_CHAIN_MAX {
        let mut level = parts;
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(2));
            let mut it = level.into_iter();
            while let Some(a) = it.next() {
                next.push(match it.next() {
                    Some(b) => SeaExpr::Binary(Box::new(a), op, Box::new(b)),
                    None => a,
                });
            }
            level = next;
        }
        return level.pop().unwrap_or(SeaExpr::Custom("TRUE".into()));
    }
    let mut it = parts.into_iter();
    let first = it.next().unwrap_or(SeaExpr::Custom("TRUE".into()));
    it.fold(first, |acc, x| {
        SeaExpr::Binary(Box::new(acc), op, Box::new(x))
    })
}

fn is_simple(e: &SeaExpr) -> bool {
    matches!(
        e,
        SeaExpr::Column(_)
            | SeaExpr::Value(_)
            | SeaExpr::FunctionCall(_)
            | SeaExpr::Keyword(_)
            | SeaExpr::Tuple(_)
            | SeaExpr::SubQuery(..)
            | SeaExpr::Constant(_)
    )
}

impl<'d> Lowerer<'d> {
    /// A lowerer that turns values into parameter slots.
    pub fn new(dialect: &'d dyn Dialect) -> Self {
        Lowerer {
            dialect,
            inline: false,
            next_slot: 0,
            enclosing: Vec::new(),
            ctes: Vec::new(),
            cte_names: Vec::new(),
            recursive: false,
            unqualified: false,
            anon: 0,
            depth: 0,
            max_depth: 0,
            integer: false,
        }
    }

    /// The deepest nesting of expressions and queries lowered so far.
    pub fn max_depth(&self) -> u32 {
        self.max_depth
    }

    /// Run `f`, which lowers one level deeper, with stack for it (see `depth`).
    fn deeper<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R>) -> Result<R> {
        if self.depth >= depth::MAX_DEPTH {
            return Err(depth::too_deep());
        }
        self.depth += 1;
        self.max_depth = self.max_depth.max(self.depth);
        let r = depth::level(self.depth, || f(self));
        self.depth -= 1;
        r
    }

    /// A lowerer that writes values inline (for DDL: CHECK constraints, defaults).
    pub fn inline(dialect: &'d dyn Dialect) -> Self {
        Lowerer {
            inline: true,
            ..Lowerer::new(dialect)
        }
    }

    /// A lowerer for DDL expressions: values inline, column references unqualified.
    pub fn ddl(dialect: &'d dyn Dialect) -> Self {
        Lowerer {
            inline: true,
            unqualified: true,
            ..Lowerer::new(dialect)
        }
    }

    /// The dialect being lowered for.
    pub fn dialect(&self) -> &'d dyn Dialect {
        self.dialect
    }

    /// The number of parameter slots assigned so far.
    pub fn slots(&self) -> usize {
        self.next_slot
    }

    fn unsupported(&self, construct: &str) -> Error {
        Error::Unsupported {
            construct: construct.to_string(),
            dialect: self.dialect.name(),
        }
    }

    fn slot(&mut self) -> usize {
        let s = self.next_slot;
        self.next_slot += 1;
        s
    }

    fn param(&mut self, v: &Value) -> SeaExpr {
        if self.inline {
            SeaExpr::Value(sea_value(v))
        } else {
            SeaExpr::Value(SeaValue::BigUnsigned(Some(marker(self.slot()))))
        }
    }

    fn default(&mut self, d: &ColumnDefault) -> Result<SeaExpr> {
        match d {
            ColumnDefault::Expr(e) => self.expr(e),
            ColumnDefault::Value(v) => Ok(self.param(v)),
            ColumnDefault::Callable(f) => {
                let v = if self.inline { f() } else { Value::Null };
                Ok(self.param(&v))
            }
        }
    }

    /// `parts[0] e1 parts[1] e2 ...` with the dialect's placeholders.
    fn custom(&self, parts: &[&str], exprs: Vec<SeaExpr>) -> SeaExpr {
        let mut s = String::new();
        for (i, p) in parts.iter().enumerate() {
            s.push_str(p);
            if i < exprs.len() {
                super::template::write_placeholder(&mut s, self.dialect.placeholder(), i + 1);
            }
        }
        SeaExpr::CustomWithExpr(s.into(), exprs)
    }

    fn paren(&self, e: SeaExpr) -> SeaExpr {
        if is_simple(&e) {
            e
        } else {
            self.custom(&["(", ")"], vec![e])
        }
    }

    fn column_ref(&self, from: Option<&FromItem>, name: &str) -> SeaExpr {
        let table = match (from, self.unqualified) {
            (Some(f), false) => f.name().map(|n| table_name(f.schema(), n)),
            _ => None,
        };
        SeaExpr::Column(SeaColumnRef::Column(ColumnName(table, iden(name))))
    }

    /// Lower an expression in a position that gives a bound value no type (see
    /// `Dialect::untyped_literal_cast`).
    fn free_expr(&mut self, e: &Expr) -> Result<SeaExpr> {
        if let Expr::Param(v) = e {
            if let Some(ty) = self.dialect.untyped_literal_cast(v) {
                let p = self.param(v);
                let tail = format!(" AS {ty})");
                return Ok(self.custom(&["CAST(", &tail], vec![p]));
            }
        }
        self.expr(e)
    }

    /// Lower the AND of `conds` (a WHERE or HAVING list) as `and_` would build it, an
    /// AND among them contributing its members, without copying the conditions.
    fn all_of(&mut self, conds: &[Expr]) -> Result<SeaExpr> {
        let mut parts = Vec::with_capacity(conds.len());
        for c in conds {
            match c {
                Expr::And(v) => {
                    for x in v {
                        parts.push(self.expr(x)?);
                    }
                }
                c => parts.push(self.expr(c)?),
            }
        }
        Ok(if parts.is_empty() {
            SeaExpr::Custom("TRUE".into())
        } else {
            logical_chain(parts, BinOper::And)
        })
    }

    /// Lower an expression.
    pub fn expr(&mut self, e: &Expr) -> Result<SeaExpr> {
        self.deeper(|l| l.expr_node(e))
    }

    fn expr_node(&mut self, e: &Expr) -> Result<SeaExpr> {
        // Whether this expression is an integer for certain (see `Lowerer::integer`).
        let mut integer = false;
        let lowered = match e {
            Expr::Column(c) => {
                integer = c.sql_type().is_some_and(|t| self.is_integer(t));
                self.column_ref(c.from(), c.name())
            }
            Expr::Param(v) => {
                integer = matches!(v, Value::SmallInt(_) | Value::Int(_) | Value::BigInt(_));
                self.param(v)
            }
            Expr::Null => SeaExpr::Keyword(Keyword::Null),
            Expr::Bool(b) => SeaExpr::Custom(if *b { "TRUE" } else { "FALSE" }.into()),
            Expr::Raw(s) => SeaExpr::Custom(s.to_string().into()),
            Expr::Star(f) => match f
                .as_ref()
                .and_then(|f| f.name().map(|n| table_name(f.schema(), n)))
            {
                Some(t) => SeaExpr::Column(SeaColumnRef::Asterisk(Some(t))),
                None => SeaExpr::col(Asterisk),
            },
            Expr::Binary(a, op, b) => {
                let l = self.expr(a)?;
                let left_integer = self.integer;
                let r = self.expr(b)?;
                let integers = left_integer && self.integer;
                integer = integers && op.is_arithmetic();
                if let (BinaryOp::Div, true, Some(div)) =
                    (op, integers, self.dialect.capabilities().integer_division)
                {
                    // `/` of two integers is an integer everywhere, as in Rust.
                    let (l, r) = (self.paren(l), self.paren(r));
                    return self.lowered(self.custom(&["", div, ""], vec![l, r]), integer);
                }
                let sea_op = match op {
                    BinaryOp::Eq => Some(BinOper::Equal),
                    BinaryOp::Ne => Some(BinOper::NotEqual),
                    BinaryOp::Lt => Some(BinOper::SmallerThan),
                    BinaryOp::Le => Some(BinOper::SmallerThanOrEqual),
                    BinaryOp::Gt => Some(BinOper::GreaterThan),
                    BinaryOp::Ge => Some(BinOper::GreaterThanOrEqual),
                    BinaryOp::Add => Some(BinOper::Add),
                    BinaryOp::Sub => Some(BinOper::Sub),
                    BinaryOp::Mul => Some(BinOper::Mul),
                    BinaryOp::Div => Some(BinOper::Div),
                    BinaryOp::Mod => Some(BinOper::Mod),
                    BinaryOp::Concat => None,
                };
                match sea_op {
                    Some(o) => SeaExpr::Binary(Box::new(l), o, Box::new(r)),
                    None => {
                        if self.dialect.capabilities().concat_function {
                            self.custom(&["CONCAT(", ", ", ")"], vec![l, r])
                        } else {
                            let (l, r) = (self.paren(l), self.paren(r));
                            self.custom(&["", " || ", ""], vec![l, r])
                        }
                    }
                }
            }
            Expr::Not(a) => {
                let a = self.expr(a)?;
                SeaExpr::Unary(UnOper::Not, Box::new(self.paren(a)))
            }
            Expr::Neg(a) => {
                let a = self.expr(a)?;
                integer = self.integer;
                self.custom(&["-(", ")"], vec![a])
            }
            Expr::And(v) | Expr::Or(v) => {
                let is_and = matches!(e, Expr::And(_));
                if v.is_empty() {
                    return Ok(SeaExpr::Custom(
                        if is_and { "TRUE" } else { "FALSE" }.into(),
                    ));
                }
                let mut parts = Vec::with_capacity(v.len());
                for x in v {
                    parts.push(self.expr(x)?);
                }
                let op = if is_and { BinOper::And } else { BinOper::Or };
                logical_chain(parts, op)
            }
            Expr::IsNull(a, neg) => {
                let a = self.expr(a)?;
                let op = if *neg { BinOper::IsNot } else { BinOper::Is };
                SeaExpr::Binary(Box::new(a), op, Box::new(SeaExpr::Keyword(Keyword::Null)))
            }
            Expr::InList(a, list, neg) => {
                let a = self.expr(a)?;
                if list.is_empty() {
                    // An empty IN is never true; an empty NOT IN always is.
                    return Ok(SeaExpr::Custom(
                        if *neg { "1 = 1" } else { "1 <> 1" }.into(),
                    ));
                }
                let l = if self.inline {
                    SeaExpr::Tuple(list.iter().map(|v| SeaExpr::Value(sea_value(v))).collect())
                } else {
                    let slot = self.slot();
                    SeaExpr::Tuple(vec![SeaExpr::Value(SeaValue::BigUnsigned(Some(
                        expand_marker(slot),
                    )))])
                };
                let op = if *neg { BinOper::NotIn } else { BinOper::In };
                SeaExpr::Binary(Box::new(a), op, Box::new(l))
            }
            Expr::InExprs(a, list, neg) => {
                let a = self.expr(a)?;
                let mut items = Vec::with_capacity(list.len());
                for x in list {
                    items.push(self.expr(x)?);
                }
                if items.is_empty() {
                    return Ok(SeaExpr::Custom(
                        if *neg { "1 = 1" } else { "1 <> 1" }.into(),
                    ));
                }
                let op = if *neg { BinOper::NotIn } else { BinOper::In };
                SeaExpr::Binary(Box::new(a), op, Box::new(SeaExpr::Tuple(items)))
            }
            Expr::InSelect(a, s, neg) => {
                let a = self.expr(a)?;
                let s = self.select(s)?;
                let op = if *neg { BinOper::NotIn } else { BinOper::In };
                SeaExpr::Binary(
                    Box::new(a),
                    op,
                    Box::new(SeaExpr::SubQuery(
                        None,
                        Box::new(SubQueryStatement::SelectStatement(s)),
                    )),
                )
            }
            Expr::Between(a, lo, hi, neg) => {
                let a = self.expr(a)?;
                let lo = self.expr(lo)?;
                let hi = self.expr(hi)?;
                let (a, lo, hi) = (self.paren(a), self.paren(lo), self.paren(hi));
                let kw = if *neg { " NOT BETWEEN " } else { " BETWEEN " };
                self.custom(&["", kw, " AND ", ""], vec![a, lo, hi])
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                case_insensitive,
                negated,
            } => {
                let a = self.expr(expr)?;
                let p = self.expr(pattern)?;
                let esc = match escape {
                    None => String::new(),
                    Some(c) if c.is_ascii_punctuation() && !matches!(c, '\'' | '?' | '$' | '"' | '`') => {
                        // A string literal of the dialect: MySQL needs '\\' for a backslash.
                        let lit = self
                            .dialect
                            .render_inline_expr(&SeaExpr::Value(SeaValue::String(Some(c.to_string()))));
                        format!(" ESCAPE {lit}")
                    }
                    Some(c) => {
                        return Err(Error::InvalidStatement(format!(
                            "LIKE escape character {c:?} must be ASCII punctuation other than quotes, '?' and '$'"
                        )))
                    }
                };
                let not = if *negated { " NOT" } else { "" };
                if *case_insensitive && !self.dialect.capabilities().ilike {
                    let kw = format!("){not} LIKE lower(");
                    let tail = format!("){esc}");
                    self.custom(&["lower(", &kw, &tail], vec![a, p])
                } else {
                    let word = if *case_insensitive { "ILIKE" } else { "LIKE" };
                    let kw = format!("{not} {word} ");
                    let (a, p) = (self.paren(a), self.paren(p));
                    self.custom(&["", &kw, &esc], vec![a, p])
                }
            }
            Expr::Function {
                name,
                args,
                distinct,
            } => {
                let mut lowered = Vec::with_capacity(args.len());
                for a in args {
                    lowered.push(self.free_expr(a)?);
                }
                if *distinct {
                    let head = format!("{name}(DISTINCT ");
                    let mut parts = vec![head.as_str()];
                    let seps = vec![", "; lowered.len().saturating_sub(1)];
                    parts.extend(seps.iter().copied());
                    parts.push(")");
                    self.custom(&parts, lowered)
                } else if let Some(special) = self.dialect.function(name, &lowered) {
                    special
                } else {
                    SeaExpr::FunctionCall(Func::cust(Alias::new(name.to_string())).args(lowered))
                }
            }
            Expr::Case(whens, else_) => {
                if whens.is_empty() {
                    return Err(Error::InvalidStatement(
                        "CASE needs at least one WHEN".into(),
                    ));
                }
                let mut cs = CaseStatement::new();
                for (c, v) in whens {
                    let c = self.expr(c)?;
                    let v = self.free_expr(v)?;
                    cs = cs.case(c, v);
                }
                if let Some(e) = else_ {
                    cs = cs.finally(self.free_expr(e)?);
                }
                SeaExpr::Case(Box::new(cs))
            }
            Expr::Cast(a, t) => {
                let a = self.expr(a)?;
                integer = self.is_integer(t);
                let ty = self
                    .dialect
                    .cast_type_name(t.for_dialect(self.dialect.name()))?;
                let tail = format!(" AS {ty})");
                self.custom(&["CAST(", &tail], vec![a])
            }
            Expr::Label(a, _) => self.expr(a)?,
            Expr::Exists(s) => SeaExpr::exists(self.select(s)?),
            Expr::ScalarSubquery(s) => SeaExpr::SubQuery(
                None,
                Box::new(SubQueryStatement::SelectStatement(self.select(s)?)),
            ),
            Expr::Over(f, w) => self.window(f, w)?,
            Expr::Tuple(v) => {
                let mut items = Vec::with_capacity(v.len());
                for x in v {
                    items.push(self.expr(x)?);
                }
                SeaExpr::Tuple(items)
            }
            Expr::Excluded(c) => match self.dialect.capabilities().upsert {
                UpsertStyle::OnConflict => SeaExpr::Column(SeaColumnRef::Column(ColumnName(
                    Some(table_name(None, "excluded")),
                    iden(c),
                ))),
                UpsertStyle::OnDuplicateKey => {
                    SeaExpr::Custom(format!("VALUES({})", self.dialect.quote_identifier(c)).into())
                }
            },
            Expr::Invalid(err) => return Err(err.clone()),
        };
        self.lowered(lowered, integer)
    }

    /// `e`, lowered, noting whether it is an integer for the expression around it.
    fn lowered(&mut self, e: SeaExpr, integer: bool) -> Result<SeaExpr> {
        self.integer = integer;
        Ok(e)
    }

    /// Whether a value of type `t` is an integer on this dialect.
    fn is_integer(&self, t: &crate::SqlType) -> bool {
        t.for_dialect(self.dialect.name()).is_integer()
    }

    fn order_items(
        &mut self,
        items: &[OrderBy],
    ) -> Result<Vec<(SeaExpr, Order, Option<NullOrdering>)>> {
        let mut out = Vec::with_capacity(items.len());
        for o in items {
            let e = self.expr(&o.expr)?;
            let order = if o.desc { Order::Desc } else { Order::Asc };
            let nulls = o.nulls.map(|n| match n {
                Nulls::First => NullOrdering::First,
                Nulls::Last => NullOrdering::Last,
            });
            out.push((e, order, nulls));
        }
        Ok(out)
    }

    fn window(&mut self, f: &Expr, w: &Window) -> Result<SeaExpr> {
        // Windows are always rendered inline: sea-query puts a named WINDOW clause after
        // ORDER BY/LIMIT, which no database accepts.
        let func = self.expr(f)?;
        let mut exprs = vec![func];
        let mut parts: Vec<String> = vec![String::new(), " OVER (".into()];
        let mut need_space = false;
        if !w.partition_by.is_empty() {
            let last = parts.last_mut().expect("parts is never empty");
            last.push_str("PARTITION BY ");
            for (i, p) in w.partition_by.iter().enumerate() {
                exprs.push(self.expr(p)?);
                parts.push(if i + 1 < w.partition_by.len() {
                    ", ".into()
                } else {
                    String::new()
                });
            }
            need_space = true;
        }
        if !w.order_by.is_empty() {
            let items = self.order_items(&w.order_by)?;
            let emulate_nulls = !self.dialect.capabilities().nulls_ordering;
            let n = items.len();
            for (i, (e, order, nulls)) in items.into_iter().enumerate() {
                let last = parts.last_mut().expect("parts is never empty");
                if i == 0 {
                    if need_space {
                        last.push(' ');
                    }
                    last.push_str("ORDER BY ");
                }
                let dir = if matches!(order, Order::Desc) {
                    " DESC"
                } else {
                    " ASC"
                };
                match (nulls, emulate_nulls) {
                    (Some(n), true) => {
                        // No NULLS FIRST/LAST (MySQL): sort on `e IS NULL` first.
                        exprs.push(e.clone());
                        let nd = if matches!(n, NullOrdering::First) {
                            " IS NULL DESC, "
                        } else {
                            " IS NULL ASC, "
                        };
                        parts.push(nd.into());
                        exprs.push(e);
                        parts.push(dir.into());
                    }
                    (n, _) => {
                        exprs.push(e);
                        let nl = match n {
                            Some(NullOrdering::First) => " NULLS FIRST",
                            Some(NullOrdering::Last) => " NULLS LAST",
                            None => "",
                        };
                        parts.push(format!("{dir}{nl}"));
                    }
                }
                if i + 1 < n {
                    parts
                        .last_mut()
                        .expect("parts is never empty")
                        .push_str(", ");
                }
            }
            need_space = true;
        }
        if let Some(fr) = &w.frame {
            let bound = |b: &FrameBound| match b {
                FrameBound::UnboundedPreceding => "UNBOUNDED PRECEDING".to_string(),
                FrameBound::Preceding(n) => format!("{n} PRECEDING"),
                FrameBound::CurrentRow => "CURRENT ROW".to_string(),
                FrameBound::Following(n) => format!("{n} FOLLOWING"),
                FrameBound::UnboundedFollowing => "UNBOUNDED FOLLOWING".to_string(),
            };
            let last = parts.last_mut().expect("parts is never empty");
            if need_space {
                last.push(' ');
            }
            last.push_str(&format!(
                "{} BETWEEN {} AND {}",
                if fr.range { "RANGE" } else { "ROWS" },
                bound(&fr.start),
                bound(&fr.end)
            ));
        }
        parts.last_mut().expect("parts is never empty").push(')');
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        Ok(self.custom(&refs, exprs))
    }

    fn lower_from(&mut self, f: &FromItem, q: &mut SelectStatement) -> Result<()> {
        // The joins down the left side, innermost first after the reversal: the leftmost
        // item is the FROM, each join adds its right side (a loop, not a recursion: a
        // join of a join of ... can be deeper than the stack).
        let mut joins = Vec::new();
        let mut leftmost = f;
        while let FromItem::Join(j) = leftmost {
            joins.push(j);
            leftmost = &j.left;
        }
        let r = self.table_ref(leftmost)?;
        q.from(r);
        for j in joins.into_iter().rev() {
            if matches!(j.right, FromItem::Join(_)) {
                return Err(Error::InvalidStatement(
                    "a join whose right side is itself a join is not supported; join left to right"
                        .into(),
                ));
            }
            let right = self.table_ref(&j.right)?;
            let on = join_on(j)?;
            let on = self.expr(&on)?;
            let caps = self.dialect.capabilities();
            let jt = match j.kind {
                JoinKind::Inner => JoinType::InnerJoin,
                JoinKind::Left => JoinType::LeftJoin,
                JoinKind::Right if caps.right_join => JoinType::RightJoin,
                JoinKind::Full if caps.full_join => JoinType::FullOuterJoin,
                JoinKind::Right => return Err(self.unsupported("RIGHT OUTER JOIN")),
                JoinKind::Full => return Err(self.unsupported("FULL OUTER JOIN")),
            };
            q.join(jt, right, on);
        }
        Ok(())
    }

    fn table_ref(&mut self, f: &FromItem) -> Result<TableRef> {
        Ok(match f {
            FromItem::Table(t) => TableRef::Table(table_name(t.schema(), t.name()), None),
            FromItem::Alias(t, a) => {
                TableRef::Table(table_name(t.schema(), t.name()), Some(iden(a)))
            }
            FromItem::Named(n) if n.cte => {
                if !self.cte_names.contains(&n.name) {
                    self.cte_names.push(n.name.clone());
                    let saved = std::mem::take(&mut self.enclosing);
                    let body = self.select(&n.select);
                    self.enclosing = saved;
                    let mut cte = CommonTableExpression::new();
                    cte.query(body?).table_name(iden(&n.name));
                    self.recursive |= n.recursive;
                    self.ctes.push(cte);
                }
                TableRef::Table(table_name(None, &n.name), None)
            }
            FromItem::Named(n) => {
                let saved = std::mem::take(&mut self.enclosing);
                let body = self.select(&n.select);
                self.enclosing = saved;
                TableRef::SubQuery(Box::new(body?), iden(&n.name))
            }
            FromItem::Join(_) => {
                return Err(Error::InvalidStatement(
                    "a join cannot be used where a table is expected".into(),
                ))
            }
        })
    }

    fn apply_limit(&mut self, q: &mut SelectStatement, limit: Option<u64>, offset: Option<u64>) {
        if limit.is_some() {
            let m = self.slot();
            q.limit(marker(m));
        }
        if offset.is_some() {
            let m = self.slot();
            if limit.is_none() {
                if let Some(n) = self.dialect.limit_for_offset_only() {
                    q.limit(n);
                }
            }
            q.offset(marker(m));
        }
    }

    /// Lower a SELECT (nested or top-level, without its WITH clause).
    pub fn select(&mut self, s: &Select) -> Result<SelectStatement> {
        self.deeper(|l| l.select_node(s))
    }

    fn select_node(&mut self, s: &Select) -> Result<SelectStatement> {
        if let Some(e) = &s.error {
            return Err(e.clone());
        }
        let caps = *self.dialect.capabilities();
        let mut q = Query::select();
        match &s.body {
            SelectBody::Simple(core) => {
                let froms = resolve_froms(core, &self.enclosing, true)?;
                match &core.distinct {
                    Distinct::None => {}
                    Distinct::All => {
                        q.distinct();
                    }
                    Distinct::On(exprs) => {
                        if !caps.distinct_on {
                            return Err(self.unsupported("DISTINCT ON"));
                        }
                        let mut cols = Vec::with_capacity(exprs.len());
                        for e in exprs {
                            match self.expr(e)? {
                                SeaExpr::Column(c) => cols.push(c),
                                _ => {
                                    return Err(Error::InvalidStatement(
                                        "DISTINCT ON takes column references only".into(),
                                    ))
                                }
                            }
                        }
                        q.distinct_on(cols);
                    }
                }
                if core.columns.is_empty() {
                    return Err(Error::InvalidStatement("SELECT has no columns".into()));
                }
                let saved = self.enclosing.len();
                self.enclosing.extend(froms.iter().cloned());
                let r = self.select_core_body(core, &froms, &s.order_by, &mut q);
                self.enclosing.truncate(saved);
                r?;
                if let Some(lock) = &core.lock {
                    if !caps.for_update {
                        return Err(self.unsupported(if lock.share {
                            "FOR SHARE"
                        } else {
                            "FOR UPDATE"
                        }));
                    }
                    if (lock.nowait || lock.skip_locked) && !caps.lock_options {
                        return Err(self.unsupported(if lock.nowait {
                            "NOWAIT"
                        } else {
                            "SKIP LOCKED"
                        }));
                    }
                    let lt = if lock.share {
                        LockType::Share
                    } else {
                        LockType::Update
                    };
                    if lock.nowait {
                        q.lock_with_behavior(lt, LockBehavior::Nowait);
                    } else if lock.skip_locked {
                        q.lock_with_behavior(lt, LockBehavior::SkipLocked);
                    } else {
                        q.lock(lt);
                    }
                }
            }
            SelectBody::Compound(members) => {
                if members.is_empty() {
                    return Err(Error::InvalidStatement(
                        "a compound select needs at least one member".into(),
                    ));
                }
                let mut first: Option<SelectStatement> = None;
                for (op, m) in members {
                    let needs_wrap = !m.order_by.is_empty()
                        || m.limit.is_some()
                        || m.offset.is_some()
                        || matches!(m.body, SelectBody::Compound(_));
                    let lowered = self.select(m)?;
                    let member = if needs_wrap {
                        // Members with their own ORDER BY/LIMIT are wrapped in a subquery:
                        // SQLite does not parenthesise union members.
                        self.anon += 1;
                        let mut w = Query::select();
                        w.column(Asterisk)
                            .from_subquery(lowered, iden(&format!("anon_{}", self.anon)));
                        w
                    } else {
                        lowered
                    };
                    match &mut first {
                        None => first = Some(member),
                        Some(f) => {
                            let ut = match op {
                                SetOp::Union => UnionType::Distinct,
                                SetOp::UnionAll => UnionType::All,
                                SetOp::Intersect if caps.intersect_except => UnionType::Intersect,
                                SetOp::Except if caps.intersect_except => UnionType::Except,
                                SetOp::Intersect => return Err(self.unsupported("INTERSECT")),
                                SetOp::Except => return Err(self.unsupported("EXCEPT")),
                                SetOp::IntersectAll => {
                                    return Err(self.unsupported("INTERSECT ALL"))
                                }
                                SetOp::ExceptAll => return Err(self.unsupported("EXCEPT ALL")),
                            };
                            f.union(ut, member);
                        }
                    }
                }
                q = first.unwrap_or_else(Query::select);
                // ORDER BY of a compound names result columns, unqualified.
                let was = std::mem::replace(&mut self.unqualified, true);
                let items = self.order_items(&s.order_by);
                self.unqualified = was;
                for (e, o, n) in items? {
                    match n {
                        Some(n) => q.order_by_expr_with_nulls(e, o, n),
                        None => q.order_by_expr(e, o),
                    };
                }
            }
        }
        self.apply_limit(&mut q, s.limit, s.offset);
        Ok(q)
    }

    /// Refuse a result column label longer than the dialect keeps (PostgreSQL would
    /// return the column under a shortened name).
    fn check_label(&self, name: &str) -> Result<()> {
        match self.dialect.capabilities().max_identifier_length {
            Some(max) if name.len() > max => Err(Error::InvalidStatement(format!(
                "the label {name:?} is {} bytes long; {} returns columns under names of at \
                 most {max} bytes",
                name.len(),
                self.dialect.name()
            ))),
            _ => Ok(()),
        }
    }

    fn select_core_body(
        &mut self,
        core: &crate::sql::SelectCore,
        froms: &[FromItem],
        order_by: &[OrderBy],
        q: &mut SelectStatement,
    ) -> Result<()> {
        for c in &core.columns {
            match c {
                Expr::Label(inner, name) => {
                    self.check_label(name)?;
                    let e = self.free_expr(inner)?;
                    q.expr_as(e, iden(name));
                }
                other => {
                    let e = self.free_expr(other)?;
                    q.expr(e);
                }
            }
        }
        for f in froms {
            self.lower_from(f, q)?;
        }
        if !core.where_.is_empty() {
            let w = self.all_of(&core.where_)?;
            q.and_where(w);
        }
        if !core.group_by.is_empty() {
            let mut g = Vec::with_capacity(core.group_by.len());
            for e in &core.group_by {
                g.push(self.expr(e)?);
            }
            q.add_group_by(g);
        }
        if !core.having.is_empty() {
            let h = self.all_of(&core.having)?;
            q.and_having(h);
        }
        for (e, o, n) in self.order_items(order_by)? {
            match n {
                Some(n) => q.order_by_expr_with_nulls(e, o, n),
                None => q.order_by_expr(e, o),
            };
        }
        Ok(())
    }

    fn with_clause(&mut self) -> Option<WithClause> {
        if self.ctes.is_empty() {
            return None;
        }
        let mut w = WithClause::new();
        w.recursive(self.recursive);
        for c in self.ctes.drain(..) {
            w.cte(c);
        }
        Some(w)
    }

    /// Lower a top-level SELECT, with its WITH clause.
    pub fn top_select(&mut self, s: &Select) -> Result<Lowered> {
        let q = self.select(s)?;
        Ok(match self.with_clause() {
            Some(w) => Lowered::With(q.with(w)),
            None => Lowered::Select(q),
        })
    }

    fn returning(&mut self, items: &[Expr]) -> Result<Option<ReturningClause>> {
        if items.is_empty() {
            return Ok(None);
        }
        if !self.dialect.capabilities().returning {
            return Err(self.unsupported("RETURNING"));
        }
        // RETURNING names the target table's columns unqualified (SQLite requires it).
        let was = std::mem::replace(&mut self.unqualified, true);
        // A label names the returned column, as in a select list.
        let exprs: Result<Vec<SeaExpr>> = items
            .iter()
            .map(|e| match e {
                Expr::Label(inner, name) => {
                    self.check_label(name)?;
                    let inner = self.expr(inner)?;
                    // The quoted name is an argument written verbatim, never part of the
                    // template: sea-query would read `?`/`$1` in it as placeholders.
                    let alias = SeaExpr::Custom(self.dialect.quote_identifier(name).into());
                    Ok(self.custom(&["", " AS ", ""], vec![inner, alias]))
                }
                other => self.expr(other),
            })
            .collect();
        self.unqualified = was;
        Ok(Some(Query::returning().exprs(exprs?)))
    }

    fn check_column(table: &Table, c: &str) -> Result<()> {
        if table.column(c).is_none() {
            return Err(Error::UnknownColumn {
                table: table.fullname(),
                column: c.to_string(),
            });
        }
        Ok(())
    }

    /// Lower an INSERT.
    pub fn insert(&mut self, s: &Insert) -> Result<Lowered> {
        let t = &s.table;
        let mut q = Query::insert();
        q.into_table(table_name(t.schema(), t.name()));
        match &s.source {
            InsertSource::Values(cols, rows) => {
                for c in cols {
                    Self::check_column(t, c)?;
                }
                if cols.is_empty() || rows.is_empty() {
                    if !rows.values().is_empty() {
                        return Err(Error::InvalidStatement(
                            "INSERT row values given without column names".into(),
                        ));
                    }
                    let defaults: Vec<_> = missing_defaults(t, &[]).collect();
                    if defaults.is_empty() {
                        q.or_default_values();
                    } else {
                        let names: Vec<DynIden> = defaults.iter().map(|(n, _)| iden(n)).collect();
                        q.columns(names);
                        let mut vals = Vec::new();
                        for (_, d) in &defaults {
                            vals.push(self.default(d)?);
                        }
                        q.values(vals)
                            .map_err(|e| Error::InvalidStatement(e.to_string()))?;
                    }
                } else {
                    let defaults: Vec<_> = missing_defaults(t, cols).collect();
                    let mut names: Vec<DynIden> = cols.iter().map(|c| iden(c)).collect();
                    names.extend(defaults.iter().map(|(n, _)| iden(n)));
                    q.columns(names);
                    for (i, row) in rows.iter().enumerate() {
                        if row.len() != cols.len() {
                            return Err(Error::InvalidStatement(format!(
                                "INSERT row {i} has {} values for {} columns",
                                row.len(),
                                cols.len()
                            )));
                        }
                        let mut vals = Vec::with_capacity(row.len() + defaults.len());
                        for e in row {
                            vals.push(self.expr(e)?);
                        }
                        for (_, d) in &defaults {
                            vals.push(self.default(d)?);
                        }
                        q.values(vals)
                            .map_err(|e| Error::InvalidStatement(e.to_string()))?;
                    }
                }
            }
            InsertSource::Select(cols, sel) => {
                for c in cols {
                    Self::check_column(t, c)?;
                }
                q.columns(cols.iter().map(|c| iden(c)).collect::<Vec<_>>());
                let mut sel = self.select(sel)?;
                if !self.dialect.capabilities().with_before_insert {
                    // No WITH before INSERT (MySQL): it goes on the SELECT
                    // (`INSERT INTO t (..) WITH .. SELECT ..`).
                    if let Some(w) = self.with_clause() {
                        sel.with_cte(w);
                    }
                }
                q.select_from(sel)
                    .map_err(|e| Error::InvalidStatement(e.to_string()))?;
            }
        }
        if let Some(oc) = &s.on_conflict {
            for c in &oc.target {
                Self::check_column(t, c)?;
            }
            let style = self.dialect.capabilities().upsert;
            let mut sea_oc = match style {
                UpsertStyle::OnConflict => {
                    SeaOnConflict::columns(oc.target.iter().map(|c| iden(c)))
                }
                UpsertStyle::OnDuplicateKey => SeaOnConflict::new(),
            };
            match &oc.action {
                ConflictAction::Nothing => {
                    match style {
                        UpsertStyle::OnConflict => {
                            sea_oc.do_nothing();
                        }
                        UpsertStyle::OnDuplicateKey => {
                            // A no-op assignment: the row is left as it is.
                            let col = oc.target.first().cloned().or_else(|| t.primary_key().first().cloned()).ok_or_else(
                            || Error::InvalidStatement("ON CONFLICT DO NOTHING needs a target column or a primary key".into()),
                        )?;
                            sea_oc.do_nothing_on([iden(&col)]);
                        }
                    }
                }
                ConflictAction::Update(set) => {
                    if set.is_empty() {
                        return Err(Error::InvalidStatement(
                            "ON CONFLICT DO UPDATE needs at least one column".into(),
                        ));
                    }
                    if style == UpsertStyle::OnConflict && oc.target.is_empty() {
                        return Err(Error::InvalidStatement(
                            "ON CONFLICT DO UPDATE needs conflict target columns".into(),
                        ));
                    }
                    let mut vals = Vec::with_capacity(set.len());
                    for (c, e) in set {
                        Self::check_column(t, c)?;
                        vals.push((iden(c), self.expr(e)?));
                    }
                    sea_oc.values(vals);
                }
            }
            q.on_conflict(sea_oc);
        }
        if let Some(r) = self.returning(&s.returning)? {
            q.returning(r);
        }
        Ok(match self.with_clause() {
            Some(_) if !self.dialect.capabilities().with_before_insert => {
                return Err(self.unsupported("WITH clause before INSERT"))
            }
            Some(w) => Lowered::With(q.with(w)),
            None => Lowered::Insert(q),
        })
    }

    /// Lower an UPDATE.
    pub fn update(&mut self, s: &Update) -> Result<Lowered> {
        let t = &s.table;
        if s.set.is_empty() {
            return Err(Error::InvalidStatement(format!(
                "UPDATE of {:?} sets no columns",
                t.fullname()
            )));
        }
        let mut q = Query::update();
        q.table(table_name(t.schema(), t.name()));
        // Subqueries in SET and WHERE correlate to the target table.
        self.enclosing.push(FromItem::Table(t.clone()));
        let r = self.update_set_where(s);
        self.enclosing.pop();
        let (vals, w) = r?;
        q.values(vals);
        if let Some(w) = w {
            q.and_where(w);
        }
        if let Some(r) = self.returning(&s.returning)? {
            q.returning(r);
        }
        Ok(match self.with_clause() {
            Some(w) => Lowered::With(q.with(w)),
            None => Lowered::Update(q),
        })
    }

    #[allow(clippy::type_complexity)]
    fn update_set_where(
        &mut self,
        s: &Update,
    ) -> Result<(Vec<(DynIden, SeaExpr)>, Option<SeaExpr>)> {
        let t = &s.table;
        let mut vals = Vec::new();
        for (c, e) in &s.set {
            Self::check_column(t, c)?;
            vals.push((iden(c), self.expr(e)?));
        }
        for (c, d) in missing_onupdates(t, &s.set) {
            vals.push((iden(c), self.default(d)?));
        }
        let w = if s.where_.is_empty() {
            None
        } else {
            Some(self.all_of(&s.where_)?)
        };
        Ok((vals, w))
    }

    /// Lower a DELETE.
    pub fn delete(&mut self, s: &Delete) -> Result<Lowered> {
        let t = &s.table;
        let mut q = Query::delete();
        q.from_table(table_name(t.schema(), t.name()));
        self.enclosing.push(FromItem::Table(t.clone()));
        let w = if s.where_.is_empty() {
            None
        } else {
            Some(self.all_of(&s.where_))
        };
        self.enclosing.pop();
        if let Some(w) = w {
            q.and_where(w?);
        }
        if let Some(r) = self.returning(&s.returning)? {
            q.returning(r);
        }
        Ok(match self.with_clause() {
            Some(w) => Lowered::With(q.with(w)),
            None => Lowered::Delete(q),
        })
    }

    /// Lower a `text()` statement. Its parameters are its bound values in the order
    /// they were bound (as `KeyWriter::text` collects them); each `:name` is a
    /// placeholder for its value's slot, so a name used twice takes one value twice.
    pub fn text(&mut self, t: &Text) -> Result<Lowered> {
        let pieces = t
            .bound_pieces()?
            .into_iter()
            .map(|p| match p {
                BoundPiece::Sql(s) => Piece::Sql(s),
                BoundPiece::Value(slot) => Piece::Param(slot),
            })
            .collect();
        self.next_slot = t.binds.len();
        Ok(Lowered::Raw(pieces))
    }
}
