//! Compilation: lowering statements to sea-query, rendering per dialect, and caching.

mod cache;
mod ddl;
mod depth;
mod dialect;
pub(crate) mod key;
mod lower;
mod resolve;
mod template;

pub use cache::StatementCache;
pub(crate) use ddl::check_name_lengths;
pub use ddl::{
    create_index, create_table, drop_index, drop_table, CreateIndex, CreateTable, DropIndex,
    DropTable,
};
pub use dialect::{
    render_inline_with, render_with, AutoincrementDdl, Capabilities, Dialect, Placeholder,
    UpsertStyle,
};
pub use key::KeyWriter;
pub use lower::{Lowered, Lowerer};
pub use template::{Bound, BoundIter, Param, Params, Piece, Template, TemplateWriter};

use std::sync::Arc;

use crate::sql::{Delete, Insert, Select, Text, Update};
use crate::{Error, Result, Value};

/// A statement that can be compiled: it writes a structural cache key (collecting its
/// parameter values) and lowers itself to sea-query.
pub trait Compilable {
    /// Write the cache key and collect parameters, in slot order.
    fn write_key<'a>(&'a self, k: &mut KeyWriter<'a>) -> Result<()>;

    /// Lower to a renderable statement, assigning parameter slots in the same order.
    fn lower(&self, l: &mut Lowerer) -> Result<Lowered>;

    /// Whether the compiled form may be cached by its key (DDL is not).
    fn cacheable(&self) -> bool {
        true
    }

    /// Whether the statement is known to return no rows: an INSERT, UPDATE or DELETE
    /// without RETURNING. `false` for anything else (a `text()` may return rows).
    fn returns_no_rows(&self) -> bool {
        false
    }
}

/// SQL text and its ordered parameter values, ready for a driver.
///
/// ```
/// # use strata_core::CompiledStatement;
/// let c = CompiledStatement::new("SELECT 1".into(), vec![]);
/// assert_eq!(c.sql(), "SELECT 1");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledStatement {
    sql: String,
    params: Vec<Value>,
}

impl CompiledStatement {
    /// Wrap SQL and parameters.
    pub fn new(sql: String, params: Vec<Value>) -> Self {
        CompiledStatement { sql, params }
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The parameter values in placeholder order.
    pub fn params(&self) -> &[Value] {
        &self.params
    }

    /// Both parts.
    pub fn into_parts(self) -> (String, Vec<Value>) {
        (self.sql, self.params)
    }
}

/// Walk the statement for its cache key and parameters.
pub fn cache_key<'a>(stmt: &'a dyn Compilable, dialect: &dyn Dialect) -> Result<KeyWriter<'a>> {
    let mut k = KeyWriter::new(dialect.key_tag());
    stmt.write_key(&mut k)?;
    Ok(k)
}

/// Lower and render a statement into a template, without caching.
pub fn render_template(
    stmt: &dyn Compilable,
    dialect: &dyn Dialect,
    expected_slots: usize,
) -> Result<Template> {
    let mut l = Lowerer::new(dialect);
    let lowered = stmt.lower(&mut l)?;
    let mut w = TemplateWriter::new();
    let slots_agree = l.slots() == expected_slots;
    // The lowered tree is dropped on the same stack: its drop recurses as deep.
    depth::with_render_stack(l.max_depth(), || {
        if slots_agree {
            dialect.render(&lowered, &mut w);
        }
        drop(lowered)
    });
    if !slots_agree {
        return Err(Error::InvalidStatement(format!(
            "internal: lowering assigned {} parameter slots but the key walk collected {}",
            l.slots(),
            expected_slots
        )));
    }
    Ok(w.finish(dialect.placeholder()))
}

/// Compile a statement for a dialect, without a cache.
pub fn compile(stmt: &dyn Compilable, dialect: &dyn Dialect) -> Result<CompiledStatement> {
    let k = cache_key(stmt, dialect)?;
    let t = render_template(stmt, dialect, k.params.len())?;
    let (sql, params) = t.bind(&k.params)?;
    Ok(CompiledStatement {
        sql: sql.into_owned(),
        params: params.iter().cloned().collect(),
    })
}

macro_rules! compilable {
    ($t:ty, $key:ident, $lower:ident) => {
        compilable!($t, $key, $lower, |_s: &$t| false);
    };
    ($t:ty, $key:ident, $lower:ident, $no_rows:expr) => {
        impl Compilable for $t {
            fn write_key<'a>(&'a self, k: &mut KeyWriter<'a>) -> Result<()> {
                k.$key(self)
            }
            fn lower(&self, l: &mut Lowerer) -> Result<Lowered> {
                l.$lower(self)
            }
            fn returns_no_rows(&self) -> bool {
                $no_rows(self)
            }
        }

        impl $t {
            /// Compile for `dialect` into SQL text and parameters.
            pub fn compile(&self, dialect: &dyn Dialect) -> Result<CompiledStatement> {
                compile(self, dialect)
            }
        }
    };
}

compilable!(Select, select, top_select);
compilable!(Insert, insert, insert, |s: &Insert| s.returning.is_empty());
compilable!(Update, update, update, |s: &Update| s.returning.is_empty());
compilable!(Delete, delete, delete, |s: &Delete| s.returning.is_empty());
compilable!(Text, text, text);

impl<T: Compilable + ?Sized> Compilable for &T {
    fn write_key<'a>(&'a self, k: &mut KeyWriter<'a>) -> Result<()> {
        (**self).write_key(k)
    }
    fn lower(&self, l: &mut Lowerer) -> Result<Lowered> {
        (**self).lower(l)
    }
    fn cacheable(&self) -> bool {
        (**self).cacheable()
    }
    fn returns_no_rows(&self) -> bool {
        (**self).returns_no_rows()
    }
}

impl<T: Compilable + ?Sized> Compilable for Arc<T> {
    fn write_key<'a>(&'a self, k: &mut KeyWriter<'a>) -> Result<()> {
        (**self).write_key(k)
    }
    fn lower(&self, l: &mut Lowerer) -> Result<Lowered> {
        (**self).lower(l)
    }
    fn cacheable(&self) -> bool {
        (**self).cacheable()
    }
    fn returns_no_rows(&self) -> bool {
        (**self).returns_no_rows()
    }
}
