//! SQL text of the statements a session runs over and over (`get`, and the flush's
//! INSERTs, UPDATEs and DELETEs), compiled once per model, dialect and statement shape
//! and then run with new parameters, as SQLAlchemy's ORM caches its persistence
//! statements per mapper. Building and looking up a Core statement tree for every object
//! costs more than running the statement.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use strata_core::{Compilable, Dialect, Value};

use crate::info::{KeyHash, ModelInfo};
use crate::Result;

/// Texts kept per model; past this the model's cache starts over.
const MAX_TEXTS: usize = 256;

/// Column positions, inline when few (a shape is built for every UPDATE).
pub(crate) type Cols = smallvec::SmallVec<[usize; 8]>;

/// What a statement looks like apart from its parameter values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Shape {
    /// `SELECT` every column `WHERE` each primary key column `=` a parameter.
    Get,
    /// `INSERT` of `rows` rows of the columns `cols`, `RETURNING` the columns
    /// `returning` (none: no `RETURNING`).
    Insert {
        cols: Cols,
        rows: usize,
        returning: Cols,
    },
    /// `UPDATE` of the columns `set` `WHERE` the primary key and, with `version`, the
    /// version column (`Some(true)`: `IS NULL`), `RETURNING` the columns `returning`.
    Update {
        set: Cols,
        version: Option<bool>,
        returning: Cols,
    },
    /// `DELETE` `WHERE` the primary key and, with `version`, the version column
    /// (`Some(true)`: `IS NULL`).
    Delete { version: Option<bool> },
}

/// Statement texts by shape, then dialect name; `None` marks a statement that cannot be
/// reused (see [`reusable_sql`]).
type TextMap = HashMap<Shape, Vec<(&'static str, Option<Arc<str>>)>, KeyHash>;

/// A model's statement texts.
pub(crate) type Texts = Mutex<TextMap>;

/// The SQL text of the statement `build` makes for `shape`, to run with parameters in
/// the order of `params` (the values `build` puts in the statement). `None` when the
/// compiled statement's parameters are not exactly those (e.g. Core added a column
/// default): such a statement is run through Core every time.
pub(crate) fn reusable_sql<S: Compilable>(
    info: &ModelInfo,
    dialect: &dyn Dialect,
    shape: &Shape,
    params: &[Value],
    build: impl FnOnce() -> S,
) -> Result<Option<Arc<str>>> {
    let name = dialect.name();
    let found = lock(&info.sql_texts).get(shape).and_then(|by_dialect| {
        by_dialect
            .iter()
            .find(|(d, _)| *d == name)
            .map(|(_, text)| text.clone())
    });
    if let Some(text) = found {
        return Ok(text);
    }
    let compiled = strata_core::compile(&build(), dialect)?;
    let text = (compiled.params() == params).then(|| Arc::from(compiled.sql()));
    let mut texts = lock(&info.sql_texts);
    if texts.len() >= MAX_TEXTS {
        texts.clear();
    }
    let by_dialect = texts.entry(shape.clone()).or_default();
    if !by_dialect.iter().any(|(d, _)| *d == name) {
        by_dialect.push((name, text.clone()));
    }
    Ok(text)
}

/// The text of the statement looked up last, for a run of statements of one model and
/// dialect of (mostly) one shape, as a flush's UPDATEs: the same shape again is
/// answered without locking and hashing.
pub(crate) struct LastText {
    info: &'static ModelInfo,
    dialect: &'static dyn Dialect,
    last: Option<(Shape, Option<Arc<str>>)>,
}

impl LastText {
    /// Nothing looked up yet, for statements of `info` in `dialect`.
    pub(crate) fn new(info: &'static ModelInfo, dialect: &'static dyn Dialect) -> Self {
        LastText {
            info,
            dialect,
            last: None,
        }
    }

    /// Whether this is made for `info`'s statements.
    pub(crate) fn is_for(&self, info: &ModelInfo) -> bool {
        std::ptr::eq(self.info, info)
    }

    /// [`reusable_sql`], from the last lookup when `shape` is the same.
    pub(crate) fn get<S: Compilable>(
        &mut self,
        shape: &Shape,
        params: &[Value],
        build: impl FnOnce() -> S,
    ) -> Result<Option<Arc<str>>> {
        if let Some((last, text)) = &self.last {
            if last == shape {
                return Ok(text.clone());
            }
        }
        let text = reusable_sql(self.info, self.dialect, shape, params, build)?;
        self.last = Some((shape.clone(), text.clone()));
        Ok(text)
    }
}

fn lock(texts: &Texts) -> MutexGuard<'_, TextMap> {
    texts.lock().unwrap_or_else(|p| p.into_inner())
}
