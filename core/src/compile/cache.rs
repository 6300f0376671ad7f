//! The compiled-statement cache: (structural key, dialect) -> SQL template.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use std::cell::RefCell;
use std::hash::BuildHasher;

use lru::LruCache;
use rustc_hash::FxBuildHasher;

use super::{render_template, Compilable, Dialect, KeyWriter, Param, Params, Template};
use crate::{Result, Value};

/// Entries of the per-thread front cache (a power of two).
const FRONT_SLOTS: usize = 64;

/// Ids of statement caches, so one thread's front cache can serve several.
static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

/// A direct-mapped cache in front of the shared LRU, one per thread: a hit there takes
/// no lock, moves no LRU entry and touches no shared counter. Each slot remembers which
/// cache (and which generation of it, bumped by `clear`) its template came from.
struct Front {
    /// Key bytes of the last lookup on this thread, reused so a hit allocates no key.
    key_buffer: Vec<u8>,
    slots: Vec<Option<FrontEntry>>,
    /// This thread's hit counter for each cache it has served (see `ThreadHits`).
    counters: Vec<(u64, Arc<AtomicU64>)>,
}

struct FrontEntry {
    cache: u64,
    generation: u64,
    key: Vec<u8>,
    template: Arc<Template>,
    /// This thread's hit counter for the cache (see `ThreadHits`).
    hits: Arc<AtomicU64>,
}

thread_local! {
    static FRONT: RefCell<Front> = RefCell::new(Front {
        key_buffer: Vec::with_capacity(256),
        slots: (0..FRONT_SLOTS).map(|_| None).collect(),
        counters: Vec::new(),
    });
}

impl Front {
    /// This thread's hit counter for cache `id`, registered with the cache on first use.
    fn counter(&mut self, id: u64, register: impl FnOnce() -> Arc<AtomicU64>) -> Arc<AtomicU64> {
        if let Some((_, counter)) = self.counters.iter().find(|(c, _)| *c == id) {
            return counter.clone();
        }
        // Forget the counters of caches that are gone (only this thread holds them, in
        // its list and its entries).
        let slots = &self.slots;
        self.counters.retain(|(_, c)| {
            let in_entries = slots
                .iter()
                .flatten()
                .filter(|e| Arc::ptr_eq(&e.hits, c))
                .count();
            Arc::strong_count(c) > 1 + in_entries
        });
        let counter = register();
        self.counters.push((id, counter.clone()));
        counter
    }
}

/// The front-cache hit counters of the threads that used a cache, and the hits of
/// threads that have ended.
#[derive(Debug, Default)]
struct ThreadHits {
    live: Vec<Arc<AtomicU64>>,
    ended: u64,
}

/// Where a statement's template was found.
enum Found {
    /// In this thread's front cache, at this slot.
    Front(usize),
    /// Not kept in the front cache (not cacheable).
    Uncached(Arc<Template>),
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
    /// Hits in the shared LRU; front-cache hits are counted per thread.
    hits: AtomicU64,
    misses: AtomicU64,
    thread_hits: Mutex<ThreadHits>,
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
            thread_hits: Mutex::new(ThreadHits::default()),
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
        self.with_template(stmt, dialect, |t, params| {
            Ok((t.clone(), params.iter().cloned().collect()))
        })
    }

    /// Call `f` with the template for `stmt` (from the cache or freshly rendered) and
    /// the statement's parameters. On a hit in this thread's front cache the template
    /// is lent, not cloned: `f` clones the `Arc` only if it keeps it.
    pub fn with_template<'a, R>(
        &self,
        stmt: &'a dyn Compilable,
        dialect: &dyn Dialect,
        f: impl FnOnce(&Arc<Template>, &[Param<'a>]) -> Result<R>,
    ) -> Result<R> {
        let mut f = Some(f);
        let served = FRONT.try_with(|cell| {
            let mut front = cell.try_borrow_mut().ok()?;
            let f = f.take()?;
            Some(self.with_front(&mut front, stmt, dialect, f))
        });
        if let Ok(Some(r)) = served {
            return r;
        }
        // Entered again from inside `f` (a listener running a statement), or while the
        // thread is ending: the shared cache alone serves this lookup.
        let f = f.ok_or_else(|| {
            crate::Error::InvalidStatement("internal: statement cache callback lost".into())
        })?;
        let KeyWriter { key, params, .. } = super::cache_key(stmt, dialect)?;
        let t = self.shared(stmt, dialect, &key, params.len())?;
        f(&t, &params)
    }

    fn with_front<'a, R>(
        &self,
        front: &mut Front,
        stmt: &'a dyn Compilable,
        dialect: &dyn Dialect,
        f: impl FnOnce(&Arc<Template>, &[Param<'a>]) -> Result<R>,
    ) -> Result<R> {
        let buffer = std::mem::take(&mut front.key_buffer);
        let mut k = KeyWriter::with_buffer(dialect.key_tag(), buffer);
        let written = stmt.write_key(&mut k);
        let found = match written {
            Ok(()) => self.lookup(front, stmt, dialect, &k.key, k.params.len()),
            Err(e) => Err(e),
        };
        front.key_buffer = std::mem::take(&mut k.key);
        let result = match found? {
            Found::Front(slot) => match &front.slots[slot] {
                Some(e) => f(&e.template, &k.params),
                None => Err(crate::Error::InvalidStatement(
                    "internal: the statement cache lost an entry it had just stored".into(),
                )),
            },
            Found::Uncached(t) => f(&t, &k.params),
        };
        k.release();
        result
    }

    /// Find the template for a statement of key `key` in this thread's front cache,
    /// else in the shared LRU or by rendering it (then keeping it in both).
    fn lookup(
        &self,
        front: &mut Front,
        stmt: &dyn Compilable,
        dialect: &dyn Dialect,
        key: &[u8],
        slots: usize,
    ) -> Result<Found> {
        if !stmt.cacheable() {
            return self.shared(stmt, dialect, key, slots).map(Found::Uncached);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let slot = FxBuildHasher.hash_one(key) as usize & (FRONT_SLOTS - 1);
        if let Some(e) = &front.slots[slot] {
            if e.cache == self.id && e.generation == generation && e.key == key {
                // Only this thread writes its counter: no locked instruction.
                e.hits
                    .store(e.hits.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                return Ok(Found::Front(slot));
            }
        }
        let template = self.shared(stmt, dialect, key, slots)?;
        let hits = front.counter(self.id, || self.register_thread());
        front.slots[slot] = Some(FrontEntry {
            cache: self.id,
            generation,
            key: key.to_vec(),
            template,
            hits,
        });
        Ok(Found::Front(slot))
    }

    /// The template from the shared LRU, or rendered and kept there.
    fn shared(
        &self,
        stmt: &dyn Compilable,
        dialect: &dyn Dialect,
        key: &[u8],
        slots: usize,
    ) -> Result<Arc<Template>> {
        if !stmt.cacheable() {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return render_template(stmt, dialect, slots).map(Arc::new);
        }
        let hit = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            map.get(key).cloned()
        };
        if let Some(t) = hit {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(t);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let t = Arc::new(render_template(stmt, dialect, slots)?);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.put(key.to_vec(), t.clone());
        Ok(t)
    }

    /// A new front-cache hit counter for the calling thread.
    fn register_thread(&self) -> Arc<AtomicU64> {
        let counter = Arc::new(AtomicU64::new(0));
        let mut t = self.thread_hits.lock().unwrap_or_else(|p| p.into_inner());
        t.live.push(counter.clone());
        counter
    }

    /// Compile `stmt` through the cache into SQL text and parameter values.
    pub fn compile(
        &self,
        stmt: &dyn Compilable,
        dialect: &dyn Dialect,
    ) -> Result<(String, Vec<Value>)> {
        let (t, params) = self.template(stmt, dialect)?;
        let (sql, values) = t.bind(&params)?;
        Ok((sql.into_owned(), values.iter().cloned().collect()))
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
        let mut t = self.thread_hits.lock().unwrap_or_else(|p| p.into_inner());
        // Fold in the counters of threads that have ended (only this side holds them).
        let mut ended = 0;
        t.live.retain(|c| {
            let gone = Arc::strong_count(c) == 1;
            if gone {
                ended += c.load(Ordering::Relaxed);
            }
            !gone
        });
        t.ended += ended;
        let front_hits: u64 = t.ended
            + t.live
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .sum::<u64>();
        (
            self.hits.load(Ordering::Relaxed) + front_hits,
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
