//! Compiled SQL templates: SQL text with parameter slots, filled per execution.

use std::borrow::Cow;
use std::fmt::Write;

use sea_query::{QueryBuilder, SqlWriter, Value as SeaValue};
use smallvec::SmallVec;

use super::dialect::Placeholder;
use crate::{Error, Result, Value};

/// Parameters are passed to sea-query as markers: a tag in the high bits and the slot
/// number in the low bits. Any other value sea-query pushes is its own and is inlined.
const MARKER_TAG: u64 = 0xA5A5_0000_0000_0000;
const EXPAND_TAG: u64 = 0x5A5A_0000_0000_0000;
const TAG_MASK: u64 = 0xFFFF_0000_0000_0000;

pub(crate) fn marker(slot: usize) -> u64 {
    MARKER_TAG | slot as u64
}

pub(crate) fn expand_marker(slot: usize) -> u64 {
    EXPAND_TAG | slot as u64
}

/// A statement's parameter value as collected from the tree: single, or an expanding
/// list. Values are borrowed from the statement where they are in it, owned where the
/// walk made them (a LIMIT, a callable default).
#[derive(Debug, Clone, PartialEq)]
pub enum Param<'a> {
    /// One value, one placeholder.
    Single(Cow<'a, Value>),
    /// A list (for `IN`), one placeholder per element.
    List(Cow<'a, [Value]>),
}

/// A statement's collected parameters, in slot order (held inline when few).
pub type Params<'a> = SmallVec<[Param<'a>; 4]>;

/// A statement's parameter values in placeholder order, as a driver binds them:
/// borrowed, and listed only when the placeholders do not follow the collected slots.
#[derive(Debug, Clone)]
pub enum Bound<'p> {
    /// The collected parameters themselves: every one a single value, each used once,
    /// in slot order.
    Slots(&'p [Param<'p>]),
    /// Values given in placeholder order (SQL written for the driver).
    Values(&'p [Value]),
    /// Values listed for a template whose placeholders reorder, repeat or expand slots.
    Listed(SmallVec<[&'p Value; 8]>),
}

impl<'p> Bound<'p> {
    /// The number of placeholders.
    pub fn len(&self) -> usize {
        match self {
            Bound::Slots(p) => p.len(),
            Bound::Values(v) => v.len(),
            Bound::Listed(l) => l.len(),
        }
    }

    /// Whether there are no placeholders.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of placeholder `i` (from 0).
    pub fn get(&self, i: usize) -> Option<&'p Value> {
        match self {
            Bound::Slots(p) => match p.get(i)? {
                Param::Single(v) => Some(v.as_ref()),
                // `Template::bind` makes `Slots` only of single values.
                Param::List(_) => None,
            },
            Bound::Values(v) => v.get(i),
            Bound::Listed(l) => l.get(i).copied(),
        }
    }

    /// The values in placeholder order.
    pub fn iter(&self) -> BoundIter<'_, 'p> {
        BoundIter {
            bound: self,
            next: 0,
        }
    }

    /// The values in placeholder order, as a list.
    pub fn to_vec(&self) -> Vec<&'p Value> {
        self.iter().collect()
    }
}

/// The values of a [`Bound`] in placeholder order.
#[derive(Debug, Clone)]
pub struct BoundIter<'b, 'p> {
    bound: &'b Bound<'p>,
    next: usize,
}

impl<'p> Iterator for BoundIter<'_, 'p> {
    type Item = &'p Value;

    fn next(&mut self) -> Option<&'p Value> {
        let v = self.bound.get(self.next)?;
        self.next += 1;
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bound.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl ExactSizeIterator for BoundIter<'_, '_> {}

impl Param<'_> {
    /// The same parameter, owning its value.
    pub fn into_owned(self) -> Param<'static> {
        match self {
            Param::Single(v) => Param::Single(Cow::Owned(v.into_owned())),
            Param::List(l) => Param::List(Cow::Owned(l.into_owned())),
        }
    }
}

/// A piece of a compiled SQL template.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Literal SQL text.
    Sql(String),
    /// One parameter placeholder for the given slot.
    Param(usize),
    /// One placeholder per element of the list in the given slot.
    Expand(usize),
}

/// A `sea_query::SqlWriter` that records parameter slots instead of values.
#[derive(Debug, Default)]
pub struct TemplateWriter {
    pieces: Vec<Piece>,
    cur: String,
}

impl TemplateWriter {
    pub(crate) fn new() -> Self {
        TemplateWriter {
            pieces: Vec::new(),
            cur: String::with_capacity(256),
        }
    }

    fn flush(&mut self) {
        if !self.cur.is_empty() {
            self.pieces.push(Piece::Sql(std::mem::take(&mut self.cur)));
        }
    }

    pub(crate) fn push_raw(&mut self, pieces: &[Piece]) {
        for p in pieces {
            match p {
                Piece::Sql(s) => self.cur.push_str(s),
                other => {
                    self.flush();
                    self.pieces.push(other.clone());
                }
            }
        }
    }

    pub(crate) fn finish(mut self, placeholder: Placeholder) -> Template {
        self.flush();
        Template::new(self.pieces, placeholder)
    }
}

impl Write for TemplateWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.cur.push_str(s);
        Ok(())
    }
}

impl std::fmt::Display for TemplateWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.cur)
    }
}

impl SqlWriter for TemplateWriter {
    fn push_param<T: QueryBuilder>(&mut self, value: SeaValue, query_builder: &T) {
        match value {
            SeaValue::BigUnsigned(Some(m)) if m & TAG_MASK == MARKER_TAG => {
                self.flush();
                self.pieces.push(Piece::Param((m & !TAG_MASK) as usize));
            }
            SeaValue::BigUnsigned(Some(m)) if m & TAG_MASK == EXPAND_TAG => {
                self.flush();
                self.pieces.push(Piece::Expand((m & !TAG_MASK) as usize));
            }
            // A value sea-query made up itself: write it inline, escaped by sea-query.
            other => {
                let _ = query_builder.write_value(&mut self.cur, &other);
            }
        }
    }

    fn as_writer(&mut self) -> &mut dyn Write {
        self as _
    }
}

/// Compiled SQL with parameter slots: what the statement cache stores.
///
/// Statements without expanding (`IN` list) parameters keep their final SQL text, so
/// binding them is a lookup of values by slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
    placeholder: Placeholder,
    fixed: Option<(String, Vec<usize>)>,
    slot_count: usize,
    /// The fixed text's placeholders are the slots in order, each once: binding hands
    /// the collected parameters over as they are.
    in_order: bool,
}

impl Template {
    pub(crate) fn new(pieces: Vec<Piece>, placeholder: Placeholder) -> Template {
        let slot_count = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Param(s) | Piece::Expand(s) => Some(*s + 1),
                Piece::Sql(_) => None,
            })
            .max()
            .unwrap_or(0);
        let has_expand = pieces.iter().any(|p| matches!(p, Piece::Expand(_)));
        let fixed = (!has_expand).then(|| {
            let mut sql = String::new();
            let mut order = Vec::new();
            for p in &pieces {
                match p {
                    Piece::Sql(s) => sql.push_str(s),
                    Piece::Param(slot) => {
                        order.push(*slot);
                        write_placeholder(&mut sql, placeholder, order.len());
                    }
                    Piece::Expand(_) => {}
                }
            }
            (sql, order)
        });
        let in_order = fixed
            .as_ref()
            .is_some_and(|(_, order)| order.iter().copied().eq(0..slot_count));
        Template {
            pieces,
            placeholder,
            fixed,
            slot_count,
            in_order,
        }
    }

    /// The SQL text when it does not depend on parameter values (no `IN` lists).
    pub fn fixed_sql(&self) -> Option<&str> {
        self.fixed.as_ref().map(|(s, _)| s.as_str())
    }

    fn check_count(&self, params: &[Param<'_>]) -> Result<()> {
        if params.len() < self.slot_count {
            return Err(Error::Parameter(format!(
                "statement needs {} parameters, {} collected",
                self.slot_count,
                params.len()
            )));
        }
        Ok(())
    }

    /// The SQL text and the values in placeholder order for one execution (borrowed
    /// from `params`: nothing is copied).
    pub fn bind<'p>(&self, params: &'p [Param<'_>]) -> Result<(Cow<'_, str>, Bound<'p>)> {
        self.check_count(params)?;
        let list_error = |slot: usize| {
            Error::Parameter(format!(
                "parameter {slot} is a list where one value is needed"
            ))
        };
        if let Some((sql, order)) = &self.fixed {
            if self.in_order {
                let params = &params[..self.slot_count];
                if let Some(slot) = params.iter().position(|p| matches!(p, Param::List(_))) {
                    return Err(list_error(slot));
                }
                return Ok((Cow::Borrowed(sql), Bound::Slots(params)));
            }
            let mut values = SmallVec::with_capacity(order.len());
            for &slot in order {
                match &params[slot] {
                    Param::Single(v) => values.push(&**v),
                    Param::List(_) => return Err(list_error(slot)),
                }
            }
            return Ok((Cow::Borrowed(sql), Bound::Listed(values)));
        }
        let mut sql = String::new();
        let mut values = SmallVec::new();
        for p in &self.pieces {
            match p {
                Piece::Sql(s) => sql.push_str(s),
                Piece::Param(slot) => match &params[*slot] {
                    Param::Single(v) => {
                        values.push(&**v);
                        write_placeholder(&mut sql, self.placeholder, values.len());
                    }
                    Param::List(_) => return Err(list_error(*slot)),
                },
                Piece::Expand(slot) => {
                    let list: &[Value] = match &params[*slot] {
                        Param::List(l) => l,
                        Param::Single(v) => std::slice::from_ref(&**v),
                    };
                    for (i, v) in list.iter().enumerate() {
                        if i > 0 {
                            sql.push_str(", ");
                        }
                        values.push(v);
                        write_placeholder(&mut sql, self.placeholder, values.len());
                    }
                }
            }
        }
        Ok((Cow::Owned(sql), Bound::Listed(values)))
    }
}

/// Write the `n`th placeholder (from 1) in style `p`.
pub(crate) fn write_placeholder(sql: &mut String, p: Placeholder, n: usize) {
    match p {
        Placeholder::Question => sql.push('?'),
        Placeholder::Dollar => {
            sql.push('$');
            let _ = write!(sql, "{n}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(s: &str) -> Piece {
        Piece::Sql(s.into())
    }

    #[test]
    fn bind_orders_values_by_placeholder_and_checks_slots() {
        let t = Template::new(
            vec![
                sql("a = "),
                Piece::Param(1),
                sql(" AND b = "),
                Piece::Param(0),
            ],
            Placeholder::Dollar,
        );
        let x = Value::Text("x".into());
        let params = vec![
            Param::Single(Cow::Borrowed(&x)),
            Param::Single(Cow::Owned(Value::BigInt(2))),
        ];
        let (text, values) = t.bind(&params).unwrap();
        assert_eq!(text, "a = $1 AND b = $2");
        assert_eq!(values.to_vec(), [&Value::BigInt(2), &x]);
        // Borrowed values are handed on, not copied.
        assert!(values.get(1).is_some_and(|v| std::ptr::eq(v, &x)));
        // Placeholders in slot order hand the parameters over as they are.
        let in_order = Template::new(
            vec![
                sql("a = "),
                Piece::Param(0),
                sql(" AND b = "),
                Piece::Param(1),
            ],
            Placeholder::Question,
        );
        let (_, values) = in_order.bind(&params).unwrap();
        assert!(matches!(values, Bound::Slots(_)));
        assert_eq!(values.to_vec(), [&x, &Value::BigInt(2)]);
        assert_eq!(values.iter().len(), 2);

        // A slot with two placeholders gives its value twice.
        let twice = Template::new(
            vec![Piece::Param(0), sql(", "), Piece::Param(0)],
            Placeholder::Question,
        );
        let p = vec![Param::Single(Cow::Owned(Value::Int(7)))];
        assert_eq!(
            twice.bind(&p).unwrap().1.to_vec(),
            [&Value::Int(7), &Value::Int(7)]
        );

        // A list where one value is needed, and too few parameters.
        let list = vec![
            Param::List(Cow::Owned(vec![])),
            Param::Single(Cow::Borrowed(&x)),
        ];
        assert!(t.bind(&list).unwrap_err().to_string().contains("is a list"));
        assert!(in_order
            .bind(&list)
            .unwrap_err()
            .to_string()
            .contains("parameter 0 is a list"));
        assert!(t
            .bind(&[])
            .unwrap_err()
            .to_string()
            .contains("needs 2 parameters"));
    }
}
