//! The structural cache key of a statement, and the collection of its parameter values.
//!
//! This walk must visit parameters in exactly the order the lowering walk
//! (`lower.rs`) assigns them slots; both are written side by side in the same order:
//! CTE bodies at first reference, DISTINCT ON, columns, FROM, WHERE, GROUP BY, HAVING,
//! ORDER BY, LIMIT, OFFSET.

use std::borrow::Cow;
use std::sync::Arc;

use super::depth;
use super::resolve::resolve_froms;
use super::template::{Param, Params};
use crate::schema::ColumnDefault;
use crate::sql::{
    ConflictAction, Delete, Distinct, Expr, FromItem, Insert, InsertSource, OrderBy, Select,
    SelectBody, SelectCore, Text, Update,
};
use crate::{Result, Value};

/// Write `v`'s `Debug` text to `key` as a length-prefixed string (as `KeyWriter::str`
/// does), formatted in place rather than into a `String` first.
pub(crate) fn write_debug(key: &mut Vec<u8>, v: &impl std::fmt::Debug) {
    use std::io::Write;
    let start = key.len();
    key.extend_from_slice(&[0; 4]);
    // Writing to a `Vec` cannot fail.
    let _ = write!(key, "{v:?}");
    let len = (key.len() - start - 4) as u32;
    key[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// Accumulates a statement's cache key bytes and its parameter values, borrowed from
/// the statement (`'a`).
#[derive(Debug, Default)]
pub struct KeyWriter<'a> {
    /// The key bytes.
    pub key: Vec<u8>,
    /// The parameters, in slot order.
    pub params: Params<'a>,
    enclosing: Vec<FromItem>,
    ctes: Vec<Arc<str>>,
    /// How many nested selects and columns of named subqueries were met: a select
    /// without any has a FROM list that follows from its column qualifiers alone.
    complex: usize,
    /// The target table of the UPDATE or DELETE being written, until a nested select
    /// needs it in `enclosing`.
    target: Option<&'a crate::Table>,
    /// Whether a parameter owns its value (otherwise all borrow from the statement).
    owns_values: bool,
    /// The nesting of the expression or query being written (see `depth`).
    depth: u32,
    /// Whether a select is being tried as simple (see `simple_select`): a nested select
    /// met then makes it not simple, and is not walked.
    probing: bool,
}

impl<'a> KeyWriter<'a> {
    /// A writer whose key starts with the dialect's tag.
    pub fn new(dialect_tag: u8) -> Self {
        Self::with_buffer(dialect_tag, Vec::with_capacity(256))
    }

    /// A writer that reuses `buffer`'s allocation for the key.
    #[inline(always)]
    pub fn with_buffer(dialect_tag: u8, mut key: Vec<u8>) -> Self {
        key.clear();
        key.push(dialect_tag);
        KeyWriter {
            key,
            params: Params::new(),
            enclosing: Vec::new(),
            ctes: Vec::new(),
            complex: 0,
            target: None,
            owns_values: false,
            depth: 0,
            probing: false,
        }
    }

    fn tag(&mut self, t: u8) {
        self.key.push(t);
    }

    fn str(&mut self, s: &str) {
        self.n(s.len());
        self.key.extend_from_slice(s.as_bytes());
    }

    /// A count or length.
    fn n(&mut self, n: usize) {
        self.key.extend_from_slice(&(n as u32).to_le_bytes());
    }

    #[inline(always)]
    fn param(&mut self, v: Cow<'a, Value>) {
        self.key.extend_from_slice(&[b'?', v.kind_tag()]);
        self.owns_values |= matches!(v, Cow::Owned(_));
        self.params.push(Param::Single(v));
    }

    /// Drop the writer once its key buffer was taken back. A writer whose parameters
    /// all borrow from the statement and are held inline, and whose lists never
    /// allocated, owns nothing: it is forgotten rather than dropped field by field.
    #[inline(always)]
    pub(crate) fn release(self) {
        let owns_nothing = !self.owns_values
            && !self.params.spilled()
            && self.key.capacity() == 0
            && self.enclosing.capacity() == 0
            && self.ctes.capacity() == 0;
        if owns_nothing {
            std::mem::forget(self);
        }
    }

    fn default(&mut self, d: &'a ColumnDefault) -> Result<()> {
        match d {
            ColumnDefault::Expr(e) => return self.expr(e),
            ColumnDefault::Value(v) => self.param(Cow::Borrowed(v)),
            ColumnDefault::Callable(f) => self.param(Cow::Owned(f())),
        }
        Ok(())
    }

    fn id(&mut self, id: u64) {
        self.key.extend_from_slice(&id.to_le_bytes());
    }

    /// A table by its id (which stands for its name, schema and definition).
    fn table(&mut self, t: &crate::Table) {
        self.id(t.id());
    }

    /// A table or an alias of one (other items write nothing).
    fn table_item(&mut self, f: &FromItem) -> Result<()> {
        match f {
            FromItem::Table(t) => {
                self.tag(b'T');
                self.table(t);
            }
            FromItem::Alias(t, a) => {
                // Alias names are checked here: `Table::alias` has nowhere to put the error.
                crate::ident::check_identifier(a)?;
                self.tag(b'A');
                self.table(t);
                self.str(a);
            }
            FromItem::Named(_) | FromItem::Join(_) => {}
        }
        Ok(())
    }

    /// Where a column comes from: the kind of item and what names it. A column of a
    /// named subquery or CTE marks the select as not simple (see `select`).
    fn qualifier(&mut self, f: Option<&FromItem>) -> Result<()> {
        match f {
            Some(f @ (FromItem::Table(_) | FromItem::Alias(..))) => self.table_item(f)?,
            Some(f) => {
                self.complex += 1;
                self.tag(b'Q');
                self.str(f.name().unwrap_or(""));
            }
            None => self.tag(0),
        }
        Ok(())
    }

    /// Write an expression that is most often a plain value (an INSERT row's or an
    /// UPDATE's SET item), without the general walk's call for a value.
    #[inline]
    fn value_expr(&mut self, e: &'a Expr) -> Result<()> {
        match e {
            Expr::Param(v) => {
                self.param(Cow::Borrowed(v));
                Ok(())
            }
            _ => self.expr(e),
        }
    }

    #[inline]
    pub(crate) fn expr(&mut self, e: &'a Expr) -> Result<()> {
        if self.depth + 1 < depth::CHECK_FROM {
            self.depth += 1;
            let r = self.expr_node(e);
            self.depth -= 1;
            return r;
        }
        self.deeper(|k| k.expr_node(e))
    }

    /// Run `f`, which writes one level deeper, with stack for it (see `depth`); past
    /// the deepest nesting strata compiles, an error.
    fn deeper(&mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        if self.depth >= depth::MAX_DEPTH {
            return Err(depth::too_deep());
        }
        self.depth += 1;
        let r = depth::level(self.depth, || f(self));
        self.depth -= 1;
        r
    }

    fn expr_node(&mut self, e: &'a Expr) -> Result<()> {
        match e {
            Expr::Column(c) => {
                // A table's column by position (the table's id in the qualifier makes
                // it unambiguous), any other column by name.
                let position = c.position();
                self.tag(if position.is_some() { b'p' } else { b'c' });
                self.qualifier(c.from())?;
                match position {
                    Some(p) => self.n(p as usize),
                    None => self.str(c.name()),
                }
            }
            Expr::Param(v) => self.param(Cow::Borrowed(v)),
            Expr::Null => self.tag(b'N'),
            Expr::Bool(b) => self.tag(if *b { b'T' } else { b'F' }),
            Expr::Raw(s) => {
                self.tag(b'r');
                self.str(s);
            }
            Expr::Star(f) => {
                self.tag(b'*');
                self.qualifier(f.as_ref())?;
            }
            Expr::Binary(a, op, b) => {
                self.tag(b'b');
                self.tag(*op as u8);
                self.expr(a)?;
                self.expr(b)?;
            }
            Expr::Not(a) => {
                self.tag(b'!');
                self.expr(a)?;
            }
            Expr::Neg(a) => {
                self.tag(b'-');
                self.expr(a)?;
            }
            Expr::And(v) | Expr::Or(v) | Expr::Tuple(v) => {
                self.tag(match e {
                    Expr::And(_) => b'&',
                    Expr::Or(_) => b'|',
                    _ => b'(',
                });
                self.n(v.len());
                for x in v {
                    self.expr(x)?;
                }
            }
            Expr::IsNull(a, neg) => {
                self.tag(if *neg { b'z' } else { b'Z' });
                self.expr(a)?;
            }
            Expr::InList(a, list, neg) => {
                self.tag(if *neg { b'i' } else { b'I' });
                self.tag(list.is_empty() as u8);
                self.expr(a)?;
                if !list.is_empty() {
                    self.key.push(b'?');
                    self.params.push(Param::List(Cow::Borrowed(list)));
                }
            }
            Expr::InExprs(a, list, neg) => {
                self.tag(if *neg { b'j' } else { b'J' });
                self.n(list.len());
                self.expr(a)?;
                for x in list {
                    self.expr(x)?;
                }
            }
            Expr::InSelect(a, s, neg) => {
                self.tag(if *neg { b's' } else { b'S' });
                self.expr(a)?;
                self.nested_select(s)?;
            }
            Expr::Between(a, lo, hi, neg) => {
                self.tag(if *neg { b'w' } else { b'W' });
                self.expr(a)?;
                self.expr(lo)?;
                self.expr(hi)?;
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                case_insensitive,
                negated,
            } => {
                self.tag(b'L');
                self.tag((*case_insensitive as u8) | ((*negated as u8) << 1));
                let mut buf = [0u8; 4];
                self.str(escape.map_or("", |c| c.encode_utf8(&mut buf)));
                self.expr(expr)?;
                self.expr(pattern)?;
            }
            Expr::Function {
                name,
                args,
                distinct,
            } => {
                self.tag(if *distinct { b'g' } else { b'f' });
                self.str(name);
                self.n(args.len());
                for a in args {
                    self.expr(a)?;
                }
            }
            Expr::Case(whens, else_) => {
                self.tag(b'k');
                self.n(whens.len());
                for (c, v) in whens {
                    self.expr(c)?;
                    self.expr(v)?;
                }
                match else_ {
                    Some(e) => {
                        self.tag(1);
                        self.expr(e)?;
                    }
                    None => self.tag(0),
                }
            }
            Expr::Cast(a, t) => {
                self.tag(b'C');
                t.key(&mut self.key);
                self.expr(a)?;
            }
            Expr::Label(a, n) => {
                self.tag(b'l');
                self.str(n);
                self.expr(a)?;
            }
            Expr::Exists(s) => {
                self.tag(b'E');
                self.nested_select(s)?;
            }
            Expr::ScalarSubquery(s) => {
                self.tag(b'q');
                self.nested_select(s)?;
            }
            Expr::Over(f, w) => {
                self.tag(b'o');
                self.expr(f)?;
                self.n(w.partition_by.len());
                for p in &w.partition_by {
                    self.expr(p)?;
                }
                self.order_by(&w.order_by)?;
                write_debug(&mut self.key, &w.frame);
            }
            Expr::Excluded(c) => {
                self.tag(b'x');
                self.str(c);
            }
            Expr::Invalid(err) => return Err(err.clone()),
        }
        Ok(())
    }

    fn order_by(&mut self, items: &'a [OrderBy]) -> Result<()> {
        self.n(items.len());
        for o in items {
            self.tag((o.desc as u8) | (o.nulls.map_or(0, |n| n as u8 + 1) << 1));
            self.expr(&o.expr)?;
        }
        Ok(())
    }

    fn nested_select(&mut self, s: &'a Select) -> Result<()> {
        self.complex += 1;
        if self.probing {
            // The select being tried is not simple, and is written again in full: its
            // nested selects are walked then, once (walking them here too would cost
            // twice per level of nesting, 2^n in all).
            return Ok(());
        }
        if let Some(t) = self.target.take() {
            self.enclosing.push(FromItem::Table(t.clone()));
        }
        self.select(s)
    }

    /// Write a FROM item of the resolved FROM list. Resolution builds items (joins with
    /// their ON clauses), so the item is not part of the statement: its parameters are
    /// walked by a writer of its own and kept as owned values.
    fn resolved_from(&mut self, f: &FromItem) -> Result<()> {
        let mut sub = KeyWriter {
            key: std::mem::take(&mut self.key),
            params: Params::new(),
            enclosing: std::mem::take(&mut self.enclosing),
            ctes: std::mem::take(&mut self.ctes),
            complex: self.complex,
            target: None,
            owns_values: true,
            depth: self.depth,
            probing: false,
        };
        let r = sub.visit_from(f);
        self.key = sub.key;
        self.enclosing = sub.enclosing;
        self.ctes = sub.ctes;
        self.complex = sub.complex;
        self.owns_values |= !sub.params.is_empty();
        let owned = sub
            .params
            .into_iter()
            .map(|p| -> Param<'a> { p.into_owned() });
        self.params.extend(owned);
        r
    }

    fn visit_from(&mut self, f: &'a FromItem) -> Result<()> {
        match f {
            FromItem::Table(_) | FromItem::Alias(..) => self.table_item(f)?,
            FromItem::Named(n) => {
                if n.cte {
                    self.tag(b'W');
                    self.str(&n.name);
                    if !self.ctes.contains(&n.name) {
                        self.ctes.push(n.name.clone());
                        self.tag(n.recursive as u8);
                        let saved = std::mem::take(&mut self.enclosing);
                        let r = self.select(&n.select);
                        self.enclosing = saved;
                        r?;
                    }
                } else {
                    self.tag(b'Q');
                    self.str(&n.name);
                    let saved = std::mem::take(&mut self.enclosing);
                    let r = self.select(&n.select);
                    self.enclosing = saved;
                    r?;
                }
            }
            // A join of a join of ... is a level deeper each time.
            FromItem::Join(j) => self.deeper(|k| {
                k.tag(b'J');
                k.tag(j.kind as u8);
                k.visit_from(&j.left)?;
                k.visit_from(&j.right)?;
                match &j.on {
                    Some(on) => {
                        k.tag(1);
                        k.expr(on)
                    }
                    // An inferred ON clause follows from the two sides already written
                    // and the foreign keys linking them: write those, not the clause.
                    None => {
                        k.tag(0);
                        super::resolve::foreign_key_links(&j.left, &j.right, &mut |s| k.str(s));
                        Ok(())
                    }
                }
            })?,
        }
        Ok(())
    }

    /// Write a SELECT.
    pub fn select(&mut self, s: &'a Select) -> Result<()> {
        self.deeper(|k| k.select_node(s))
    }

    fn select_node(&mut self, s: &'a Select) -> Result<()> {
        if let Some(e) = &s.error {
            return Err(e.clone());
        }
        match &s.body {
            SelectBody::Simple(core) => {
                self.tag(b'[');
                if !self.simple_select(core, &s.order_by)? {
                    self.general_select(core, &s.order_by)?;
                }
            }
            SelectBody::Compound(members) => {
                self.tag(b'U');
                self.n(members.len());
                for (op, m) in members {
                    self.tag(*op as u8);
                    self.select(m)?;
                }
                self.order_by(&s.order_by)?;
            }
        }
        self.limit_offset(s.limit, s.offset);
        self.tag(b']');
        Ok(())
    }

    /// Write a select whose FROM list is implied: no FROM items or joins of its own,
    /// no enclosing query, and only plain tables and aliases behind its columns and
    /// WHERE clause (no subqueries anywhere). Its FROM list is then those tables in
    /// order of first reference, which the key already records in the column
    /// qualifiers, so it is neither resolved nor written. Returns `false`, having
    /// written nothing, for any other select.
    fn simple_select(&mut self, core: &'a SelectCore, order_by: &'a [OrderBy]) -> Result<bool> {
        if !(core.from.is_empty() && core.joins.is_empty() && self.enclosing.is_empty()) {
            return Ok(false);
        }
        // Everything the walk may note, to undo it when the select turns out not simple
        // (a CTE met in a subquery must be met, and written, again).
        let (key_len, params_len, complex) = (self.key.len(), self.params.len(), self.complex);
        let (ctes_len, enclosing_len, target) =
            (self.ctes.len(), self.enclosing.len(), self.target);
        self.tag(b'i');
        let probing = std::mem::replace(&mut self.probing, true);
        let walked = self.select_parts(core, order_by, |_| Ok(()));
        self.probing = probing;
        walked?;
        if self.complex == complex {
            return Ok(true);
        }
        self.key.truncate(key_len);
        self.params.truncate(params_len);
        self.complex = complex;
        self.ctes.truncate(ctes_len);
        self.enclosing.truncate(enclosing_len);
        self.target = target;
        Ok(false)
    }

    /// Write a select with its FROM list resolved, which nested selects see as their
    /// enclosing scope.
    fn general_select(&mut self, core: &'a SelectCore, order_by: &'a [OrderBy]) -> Result<()> {
        self.tag(b'e');
        let froms = resolve_froms(core, &self.enclosing, false)?;
        // The FROM items become the enclosing scope of nested selects; moving them
        // there (rather than cloning) saves an allocation per select.
        let saved = self.enclosing.len();
        let n_froms = froms.len();
        if saved == 0 {
            self.enclosing = froms;
        } else {
            self.enclosing.extend(froms);
        }
        let r = self.select_parts(core, order_by, |k| {
            k.n(n_froms);
            for i in saved..saved + n_froms {
                let f = k.enclosing[i].clone();
                k.resolved_from(&f)?;
            }
            Ok(())
        });
        self.enclosing.truncate(saved);
        r
    }

    /// The parts of a simple select in order, with `from` writing the FROM list.
    fn select_parts(
        &mut self,
        core: &'a SelectCore,
        order_by: &'a [OrderBy],
        from: impl FnOnce(&mut Self) -> Result<()>,
    ) -> Result<()> {
        match &core.distinct {
            Distinct::None => self.tag(0),
            Distinct::All => self.tag(1),
            Distinct::On(v) => {
                self.tag(2);
                self.n(v.len());
                for x in v {
                    self.expr(x)?;
                }
            }
        }
        self.n(core.columns.len());
        for c in &core.columns {
            self.expr(c)?;
        }
        from(self)?;
        self.n(core.where_.len());
        for w in &core.where_ {
            self.expr(w)?;
        }
        self.n(core.group_by.len());
        for g in &core.group_by {
            self.expr(g)?;
        }
        self.n(core.having.len());
        for h in &core.having {
            self.expr(h)?;
        }
        self.order_by(order_by)?;
        match &core.lock {
            None => self.tag(0),
            Some(l) => self
                .tag(1 | (l.share as u8) << 1 | (l.nowait as u8) << 2 | (l.skip_locked as u8) << 3),
        }
        Ok(())
    }

    fn limit_offset(&mut self, limit: Option<u64>, offset: Option<u64>) {
        self.tag((limit.is_some() as u8) | ((offset.is_some() as u8) << 1));
        if let Some(l) = limit {
            self.param(Cow::Owned(Value::BigInt(l.min(i64::MAX as u64) as i64)));
        }
        if let Some(o) = offset {
            self.param(Cow::Owned(Value::BigInt(o.min(i64::MAX as u64) as i64)));
        }
    }

    fn returning(&mut self, r: &'a [Expr]) -> Result<()> {
        self.n(r.len());
        for e in r {
            self.expr(e)?;
        }
        Ok(())
    }

    /// Write an INSERT.
    pub fn insert(&mut self, s: &'a Insert) -> Result<()> {
        self.tag(b'+');
        self.table(&s.table);
        match &s.source {
            InsertSource::Values(cols, rows) => {
                // Tag and both counts in one write.
                let mut head = [b'v'; 9];
                head[1..5].copy_from_slice(&(cols.len() as u32).to_le_bytes());
                head[5..9].copy_from_slice(&(rows.len() as u32).to_le_bytes());
                self.key.extend_from_slice(&head);
                for c in cols {
                    self.str(c);
                }
                // Client-side defaults of the columns left out follow from the table
                // (its id is in the key) and the columns given: only their values are
                // collected.
                if cols.is_empty() || rows.is_empty() {
                    // Lowered as one row of client-side defaults (or DEFAULT VALUES).
                    for (_, d) in super::lower::missing_defaults(&s.table, &[]) {
                        self.default(d)?;
                    }
                } else {
                    let defaults = || super::lower::missing_defaults(&s.table, cols);
                    let values = rows.len() * cols.len();
                    if values > self.params.inline_size() {
                        // Many rows: grow the lists once, not by doubling.
                        self.params.reserve(values);
                        self.key.reserve(rows.len() * 4 + values * 2);
                    }
                    for row in rows.iter() {
                        self.n(row.len());
                        for e in row {
                            self.value_expr(e)?;
                        }
                        for (_, d) in defaults() {
                            self.default(d)?;
                        }
                    }
                }
            }
            InsertSource::Select(cols, sel) => {
                self.tag(b's');
                self.n(cols.len());
                for c in cols {
                    self.str(c);
                }
                self.select(sel)?;
            }
        }
        match &s.on_conflict {
            None => self.tag(0),
            Some(oc) => {
                self.tag(1);
                self.n(oc.target.len());
                for t in &oc.target {
                    self.str(t);
                }
                match &oc.action {
                    ConflictAction::Nothing => self.tag(0),
                    ConflictAction::Update(set) => {
                        self.tag(1);
                        self.n(set.len());
                        for (c, e) in set {
                            self.str(c);
                            self.expr(e)?;
                        }
                    }
                }
            }
        }
        self.returning(&s.returning)
    }

    /// Write an UPDATE.
    pub fn update(&mut self, s: &'a Update) -> Result<()> {
        self.tag(b'=');
        self.table(&s.table);
        self.n(s.set.len());
        // Subqueries in SET correlate to the target table, like those in WHERE.
        self.with_target(&s.table, |k| {
            for (c, e) in &s.set {
                k.str(c);
                k.value_expr(e)?;
            }
            for (_, d) in super::lower::missing_onupdates(&s.table, &s.set) {
                k.default(d)?;
            }
            Ok(())
        })?;
        self.target_where(&s.table, &s.where_)?;
        self.returning(&s.returning)
    }

    /// Write a DELETE.
    pub fn delete(&mut self, s: &'a Delete) -> Result<()> {
        self.tag(b'-');
        self.table(&s.table);
        self.target_where(&s.table, &s.where_)?;
        self.returning(&s.returning)
    }

    fn target_where(&mut self, table: &'a crate::Table, where_: &'a [Expr]) -> Result<()> {
        self.n(where_.len());
        self.with_target(table, |k| where_.iter().try_for_each(|w| k.expr(w)))
    }

    /// Run `f` with `table` (the target of an UPDATE or DELETE) as the enclosing scope
    /// of nested selects. The table joins `enclosing` only when a nested select is met
    /// (see `nested_select`), so a statement without one pays nothing for it.
    fn with_target(
        &mut self,
        table: &'a crate::Table,
        f: impl FnOnce(&mut Self) -> Result<()>,
    ) -> Result<()> {
        let saved = (self.enclosing.len(), self.target.replace(table));
        let r = f(self);
        self.enclosing.truncate(saved.0);
        self.target = saved.1;
        r
    }

    /// Write a `text()` statement: its SQL and the names it binds, in the order they
    /// were bound, with their values as the parameters. Which placeholder takes which
    /// value is settled when the SQL is parsed, once per cache entry (`Lowerer::text`).
    pub fn text(&mut self, t: &'a Text) -> Result<()> {
        self.tag(b't');
        self.str(t.sql());
        for (name, v) in &t.binds {
            self.str(name);
            self.param(Cow::Borrowed(v));
        }
        Ok(())
    }
}
