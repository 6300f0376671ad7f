//! The compiled-statement cache: (structural key, dialect) -> SQL template.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use std::cell::RefCell;

use lru::LruCache;
use rustc_hash::FxBuildHasher;

use super::{render_template, Compilable, Dialect, KeyWriter, Template};

thread_local! {
    /// Key bytes of the last lookup on this thread, reused so a hit allocates no key.
    static KEY_BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(256));
}
use crate::{Result, Value};

/// An LRU cache of compiled statements, shared by an engine's connections.
///
/// A hit skips lowering and rendering: it costs one walk of the statement tree to
/// build its key and collect its parameters.
///
/// ```
/// use strata_core::StatementCache;
/// let cache = StatementCache::new(100);
/// assert_eq!(cache.len(), 0);
/// ```
#[derive(Debug)]
pub struct StatementCache {
    /// Keys are compared in full on lookup, so a fast hash is safe.
    map: Mutex<LruCache<Vec<u8>, Arc<Template>, FxBuildHasher>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl StatementCache {
    /// A cache holding up to `capacity` statements (at least one).
    pub fn new(capacity: usize) -> Self {
        let cap = NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        StatementCache {
            map: Mutex::new(LruCache::with_hasher(cap, FxBuildHasher)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The template for `stmt` (from the cache or freshly rendered) and its parameters.
    pub fn template<'a>(
        &self,
        stmt: &'a dyn Compilable,
        dialect: &dyn Dialect,
    ) -> Result<(Arc<Template>, Vec<super::Param<'a>>)> {
        let buffer = KEY_BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut()));
        let mut k = KeyWriter::with_buffer(dialect.key_tag(), buffer);
        stmt.write_key(&mut k)?;
        if stmt.cacheable() {
            let hit = {
                let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
                map.get(k.key.as_slice()).cloned()
            };
            if let Some(t) = hit {
                self.hits.fetch_add(1, Ordering::Relaxed);
                let KeyWriter { key, params, .. } = k;
                KEY_BUFFER.with(|b| *b.borrow_mut() = key);
                return Ok((t, params));
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let t = Arc::new(render_template(stmt, dialect, k.params.len())?);
        if stmt.cacheable() {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            map.put(k.key, t.clone());
        }
        Ok((t, k.params))
    }

    /// Compile `stmt` through the cache into SQL text and parameter values.
    pub fn compile(
        &self,
        stmt: &dyn Compilable,
        dialect: &dyn Dialect,
    ) -> Result<(String, Vec<Value>)> {
        let (t, params) = self.template(stmt, dialect)?;
        let (sql, values) = t.bind(&params)?;
        Ok((sql.into_owned(), values.into_iter().cloned().collect()))
    }

    /// Number of cached statements.
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (hits, misses) since creation.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Drop every cached statement.
    pub fn clear(&self) {
        if let Ok(mut m) = self.map.lock() {
            m.clear();
        }
    }
}
