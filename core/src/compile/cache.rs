//! The compiled-statement cache: (structural key, dialect) -> SQL template.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use std::cell::RefCell;
use std::hash::BuildHasher;

use lru::LruCache;
use rustc_hash::FxBuildHasher;

use super::{render_template, Compilable, Dialect, KeyWriter, Params, Template};
use crate::{Result, Value};

/// Entries of the per-thread front cache (a power of two).
const FRONT_SLOTS: usize = 64;

/// Ids of statement caches, so one thread's front cache can serve several.
static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

/// A direct-mapped cache in front of the shared LRU, one per thread: a hit there takes
/// no lock and moves no LRU entry. Each slot remembers which cache (and which
/// generation of it, bumped by `clear`) its template came from.
struct Front {
    /// Key bytes of the last lookup on this thread, reused so a hit allocates no key.
    key_buffer: Vec<u8>,
    slots: Vec<Option<FrontEntry>>,
}

struct FrontEntry {
    cache: u64,
    generation: u64,
    key: Vec<u8>,
    template: Arc<Template>,
}

thread_local! {
    static FRONT: RefCell<Front> = RefCell::new(Front {
        key_buffer: Vec::with_capacity(256),
        slots: (0..FRONT_SLOTS).map(|_| None).collect(),
    });
}

/// An LRU cache of compiled statements, shared by an engine's connections.
///
/// A hit skips lowering and rendering: it costs one walk of the statement tree to
/// build its key and collect its parameters, and a lookup in the calling thread's
/// small front cache (no lock) before the shared LRU.
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
    /// This cache's id in the threads' front caches.
    id: u64,
    /// Bumped by `clear`, which so empties the front caches too.
    generation: AtomicU64,
}

impl StatementCache {
    /// A cache holding up to `capacity` statements (at least one).
    pub fn new(capacity: usize) -> Self {
        let cap = NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        StatementCache {
            map: Mutex::new(LruCache::with_hasher(cap, FxBuildHasher)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            id: NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
        }
    }

    /// The template for `stmt` (from the cache or freshly rendered) and its parameters.
    pub fn template<'a>(
        &self,
        stmt: &'a dyn Compilable,
        dialect: &dyn Dialect,
    ) -> Result<(Arc<Template>, Params<'a>)> {
        FRONT.with(|front| {
            let mut front = front.borrow_mut();
            let buffer = std::mem::take(&mut front.key_buffer);
            let mut k = KeyWriter::with_buffer(dialect.key_tag(), buffer);
            let written = stmt.write_key(&mut k);
            let KeyWriter { key, params, .. } = k;
            let found = match written {
                Ok(()) => self.lookup(&mut front, stmt, dialect, &key, params.len()),
                Err(e) => Err(e),
            };
            front.key_buffer = key;
            Ok((found?, params))
        })
    }

    /// The template for a statement of key `key`: from this thread's front cache, the
    /// shared LRU, or rendered (and then kept in both).
    fn lookup(
        &self,
        front: &mut Front,
        stmt: &dyn Compilable,
        dialect: &dyn Dialect,
        key: &[u8],
        slots: usize,
    ) -> Result<Arc<Template>> {
        if !stmt.cacheable() {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return render_template(stmt, dialect, slots).map(Arc::new);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let slot = FxBuildHasher.hash_one(key) as usize & (FRONT_SLOTS - 1);
        if let Some(e) = &front.slots[slot] {
            if e.cache == self.id && e.generation == generation && e.key == key {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(e.template.clone());
            }
        }
        let shared_hit = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            map.get(key).cloned()
        };
        let t = match shared_hit {
            Some(t) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                t
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                let t = Arc::new(render_template(stmt, dialect, slots)?);
                let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
                map.put(key.to_vec(), t.clone());
                t
            }
        };
        front.slots[slot] = Some(FrontEntry {
            cache: self.id,
            generation,
            key: key.to_vec(),
            template: t.clone(),
        });
        Ok(t)
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

    /// Drop every cached statement (the threads' front caches stop serving this
    /// cache's entries at once).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut m) = self.map.lock() {
            m.clear();
        }
    }
}
