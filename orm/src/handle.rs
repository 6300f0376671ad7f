//! `Handle<T>`: a shared, session-tracked object.

use std::any::Any;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use strata_core::Value;

use crate::info::{model_info, IdentityKey, ModelInfo, Params, RowKey};
use crate::model::Model;
use crate::relationship::{ObjectRef, RelationField};
use crate::statements::Cols;
use crate::Result;

/// An object's life-cycle state (SQLAlchemy's object states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectState {
    /// Not in any session and never saved.
    Transient,
    /// Added to a session, not yet flushed.
    Pending,
    /// In a session's identity map with a database row.
    Persistent,
    /// Deleted in a flush, not yet committed.
    Deleted,
    /// Was persistent, but its session was closed, or it was expunged or its deletion
    /// committed.
    Detached,
}

impl fmt::Display for ObjectState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectState::Transient => "transient",
            ObjectState::Pending => "pending",
            ObjectState::Persistent => "persistent",
            ObjectState::Deleted => "deleted",
            ObjectState::Detached => "detached",
        })
    }
}

/// The column values an object was loaded or last flushed with, for the dirty check.
#[derive(Debug, Clone)]
pub(crate) enum Snapshot {
    /// None yet (a new object).
    None,
    /// The object's current column values. The first `write()` (or a merge) copies
    /// them into `Values` before anything changes, so loading an object copies nothing.
    Current,
    /// The values as loaded or flushed.
    Values(Vec<Value>),
}

/// The tie between a session and the objects it holds: the session's id, whether it
/// still holds them, and its "something was written" flag. Closing a session cuts the
/// tie of all its objects at once: they read as detached without being visited.
#[derive(Debug)]
pub(crate) struct SessionLink {
    pub id: u64,
    open: AtomicBool,
    /// Set when an object of the session may have been written since the last flush.
    pub hint: AtomicBool,
}

/// Ids of session links (a session that closes takes a new one).
static SESSION_IDS: AtomicU64 = AtomicU64::new(1);

impl SessionLink {
    /// A link with a new id.
    pub fn new() -> Arc<Self> {
        Arc::new(SessionLink {
            id: SESSION_IDS.fetch_add(1, Ordering::Relaxed),
            open: AtomicBool::new(true),
            hint: AtomicBool::new(false),
        })
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// The session lets go of every object tied to it.
    pub fn close(&self) {
        self.open.store(false, Ordering::Release);
    }
}

#[derive(Debug)]
pub(crate) struct Meta {
    /// The state while tied to an open session (see [`Meta::state`]).
    state: ObjectState,
    /// The session holding the object.
    link: Option<Arc<SessionLink>>,
    pub snapshot: Snapshot,
    pub expired: bool,
    pub key: Option<IdentityKey>,
    /// Relationships (by index) a query marked `raiseload`.
    pub raise: u64,
    /// Relationships (by index) that an expiry could not unload while a guard on the
    /// object was alive: they are unloaded when the object is refreshed.
    pub unload_on_refresh: u64,
}

/// What changed in an object since its snapshot ([`AnyObject::changes`]).
pub(crate) struct Changes {
    /// The columns whose values differ from the snapshot's.
    pub changed: Cols,
    /// The changed columns' current values, in the order of `changed`.
    pub values: Params,
    /// The snapshot's primary key and version values ([`ModelInfo::row_key`]).
    pub old: RowKey,
}

pub(crate) struct Cell<T> {
    data: RwLock<T>,
    meta: Mutex<Meta>,
    /// Set by every `write()`: the object may have changed since its snapshot.
    touched: AtomicBool,
    info: &'static ModelInfo,
}

/// A tracked object of any model.
pub(crate) type Obj = Arc<dyn AnyObject>;

/// The type-erased view of a tracked object that the session works with.
pub(crate) trait AnyObject: Send + Sync {
    fn info(&self) -> &'static ModelInfo;
    fn values(&self) -> Vec<Value>;
    /// The value of column `index` alone (`ColumnSet::column_value`).
    fn column_value(&self, index: usize) -> Option<Value>;
    /// Overwrite the column fields; `Ok(false)` when a `read()`/`write()` guard is alive.
    fn set_values(&self, values: Vec<Value>) -> Result<bool> {
        Ok(self.try_set_values(values)?.is_none())
    }
    /// [`AnyObject::set_values`], handing the values back when a guard is alive.
    fn try_set_values(&self, values: Vec<Value>) -> Result<Option<Vec<Value>>>;
    /// Overwrite the column fields with values taken out of `row`; `Ok(false)` (and
    /// `row` untouched) when a `read()`/`write()` guard is alive.
    fn set_row(&self, row: &mut [Value]) -> Result<bool>;
    /// Whether no `read()`/`write()` guard is alive.
    fn is_free(&self) -> bool;
    /// The address of the model value inside the object (`None` while a `write()`
    /// guard is alive): tells whether a `&T` borrowed from a guard is this object's.
    fn data_addr(&self) -> Option<usize>;
    fn meta(&self) -> MutexGuard<'_, Meta>;
    /// With a snapshot of values: what changed since, compared in place without
    /// copying the object's values. `None` without such a snapshot.
    fn changes(&self) -> Option<Changes>;
    fn take_touched(&self) -> bool;
    fn touch(&self);
    fn validate(&self) -> std::result::Result<(), String>;
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// The current members of relationship `index` (`None` when not loaded).
    fn rel_members(&self, index: usize) -> Option<Vec<ObjectRef>>;
    /// Whether relationship `index` is loaded (without copying its members).
    fn rel_loaded(&self, index: usize) -> bool;
    /// The members of relationship `index` as last loaded or flushed; `None` when that
    /// is not known (a reference set or cleared while it was not loaded).
    fn rel_original(&self, index: usize) -> Option<Vec<ObjectRef>>;
    /// Change relationship `index`; `Ok(false)` when a guard on the object is alive.
    fn rel_update(&self, index: usize, f: &mut dyn FnMut(&mut dyn RelationField)) -> Result<bool>;
}

impl Meta {
    /// The object leaves its session, in `state` (transient or detached).
    pub(crate) fn leave_session(&mut self, state: ObjectState) {
        self.state = state;
        self.link = None;
    }

    /// The meta of an object that is not in any session.
    pub(crate) fn new(state: ObjectState) -> Self {
        Meta {
            state,
            link: None,
            snapshot: Snapshot::None,
            expired: false,
            key: None,
            raise: 0,
            unload_on_refresh: 0,
        }
    }

    /// The meta of an object just loaded into the session of `link`.
    pub(crate) fn loaded(link: &Arc<SessionLink>, key: IdentityKey) -> Self {
        Meta {
            state: ObjectState::Persistent,
            link: Some(link.clone()),
            snapshot: Snapshot::Current,
            expired: false,
            key: Some(key),
            raise: 0,
            unload_on_refresh: 0,
        }
    }

    /// The object's state: an object whose session was closed is detached.
    pub(crate) fn state(&self) -> ObjectState {
        match self.state {
            ObjectState::Transient | ObjectState::Detached => self.state,
            attached if self.session().is_some() => attached,
            _ => ObjectState::Detached,
        }
    }

    /// Change the state of an object that stays in its session.
    pub(crate) fn set_state(&mut self, state: ObjectState) {
        self.state = state;
    }

    /// The id of the open session holding the object.
    pub(crate) fn session(&self) -> Option<u64> {
        self.link.as_ref().filter(|l| l.is_open()).map(|l| l.id)
    }

    /// Tie the object to the session of `link`, in `state`.
    pub(crate) fn attach(&mut self, link: &Arc<SessionLink>, state: ObjectState) {
        self.state = state;
        self.link = Some(link.clone());
    }

    /// Tell the object's session that the object may have changed.
    pub(crate) fn mark_written(&self) {
        if let Some(l) = &self.link {
            l.hint.store(true, Ordering::Release);
        }
    }
}

impl dyn AnyObject {
    /// The snapshot's values (`None` when there is none).
    pub(crate) fn snapshot(&self) -> Option<Vec<Value>> {
        // Not under the meta lock: `values()` takes the data lock.
        let snapshot = self.meta().snapshot.clone();
        match snapshot {
            Snapshot::None => None,
            Snapshot::Current => Some(self.values()),
            Snapshot::Values(v) => Some(v),
        }
    }

    /// Copy the current values into the snapshot if it refers to them, before the
    /// values change.
    pub(crate) fn keep_snapshot(&self) {
        keep_snapshot(self);
    }
}

fn keep_snapshot<O: AnyObject + ?Sized>(o: &O) {
    if !matches!(o.meta().snapshot, Snapshot::Current) {
        return;
    }
    let values = o.values();
    let mut m = o.meta();
    if matches!(m.snapshot, Snapshot::Current) {
        m.snapshot = Snapshot::Values(values);
    }
}

impl<T: Model> AnyObject for Cell<T> {
    fn info(&self) -> &'static ModelInfo {
        self.info
    }

    fn values(&self) -> Vec<Value> {
        let mut v = Vec::with_capacity(self.info.columns.len());
        self.data
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .write_values(&mut v);
        v
    }

    fn column_value(&self, index: usize) -> Option<Value> {
        self.data
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .column_value(index)
    }

    fn try_set_values(&self, mut values: Vec<Value>) -> Result<Option<Vec<Value>>> {
        Ok((!self.set_row(&mut values)?).then_some(values))
    }

    fn set_row(&self, row: &mut [Value]) -> Result<bool> {
        // Never block: the caller may hold a guard on this very object.
        let mut guard = match self.data.try_write() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(false),
        };
        guard.update_values(&mut row.iter_mut())?;
        Ok(true)
    }

    fn data_addr(&self) -> Option<usize> {
        let guard = match self.data.try_read() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(&*guard as *const T as usize)
    }

    fn is_free(&self) -> bool {
        !matches!(
            self.data.try_write(),
            Err(std::sync::TryLockError::WouldBlock)
        )
    }

    fn meta(&self) -> MutexGuard<'_, Meta> {
        self.meta.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn changes(&self) -> Option<Changes> {
        // The data lock before the meta lock, as everywhere.
        let data = self.data.read().unwrap_or_else(|p| p.into_inner());
        let m = self.meta();
        let Snapshot::Values(snapshot) = &m.snapshot else {
            return None;
        };
        let mut changed = Cols::new();
        data.diff_values(snapshot, &mut |i| changed.push(i));
        let values = changed
            .iter()
            .map(|&i| data.column_value(i).unwrap_or(Value::Null))
            .collect();
        Some(Changes {
            changed,
            values,
            old: self.info.row_key(snapshot),
        })
    }

    fn take_touched(&self) -> bool {
        // A plain load first: most objects were not written, and a swap is a locked
        // instruction.
        self.touched.load(Ordering::Acquire) && self.touched.swap(false, Ordering::AcqRel)
    }

    fn touch(&self) {
        self.touched.store(true, Ordering::Release)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        self.data
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .validate()
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn rel_members(&self, index: usize) -> Option<Vec<ObjectRef>> {
        let data = self.data.read().unwrap_or_else(|p| p.into_inner());
        let r = data.relation(index)?;
        r.is_loaded().then(|| r.members())
    }

    fn rel_loaded(&self, index: usize) -> bool {
        let data = self.data.read().unwrap_or_else(|p| p.into_inner());
        data.relation(index).is_some_and(|r| r.is_loaded())
    }

    fn rel_original(&self, index: usize) -> Option<Vec<ObjectRef>> {
        let data = self.data.read().unwrap_or_else(|p| p.into_inner());
        match data.relation(index) {
            Some(r) if !r.original_known() => None,
            Some(r) => Some(r.original()),
            None => Some(Vec::new()),
        }
    }

    fn rel_update(&self, index: usize, f: &mut dyn FnMut(&mut dyn RelationField)) -> Result<bool> {
        let mut guard = match self.data.try_write() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(false),
        };
        match guard.relation_mut(index) {
            Some(r) => {
                f(r);
                Ok(true)
            }
            None => Err(crate::Error::InvalidRequest(format!(
                "{} has no relationship number {index}",
                self.info.short_name()
            ))),
        }
    }
}

/// A shared handle to a mapped object. Clones point at the same object: the identity
/// map hands out the same handle for the same row (`Handle::ptr_eq(&a, &b)` is
/// SQLAlchemy's `a is b`).
///
/// Read with [`Handle::read`], change with [`Handle::write`]; changes are found by the
/// session's dirty check at flush. Reading never does I/O. The guards are those of a
/// `RwLock`: drop them before the session must update the object (a flush refuses to
/// run while a guard on one of its objects is alive; a load leaves such an object
/// expired instead of waiting).
pub struct Handle<T: Model> {
    pub(crate) cell: Arc<Cell<T>>,
}

impl<T: Model> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Handle {
            cell: self.cell.clone(),
        }
    }
}

impl<T: Model> Handle<T> {
    /// Format the object with `show`, unless this thread holds its `write()` guard:
    /// reading it then would wait for ever, so a placeholder is written instead.
    fn format_with(
        &self,
        f: &mut fmt::Formatter<'_>,
        show: impl FnOnce(&T, &mut fmt::Formatter<'_>) -> fmt::Result,
    ) -> fmt::Result {
        if is_written_here(&self.erased()) {
            return write!(
                f,
                "<{} held by a write() guard on this thread>",
                self.cell.info.short_name()
            );
        }
        show(&self.read(), f)
    }
}

impl<T: Model + fmt::Debug> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.format_with(f, fmt::Debug::fmt)
    }
}

impl<T: Model + fmt::Display> fmt::Display for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.format_with(f, fmt::Display::fmt)
    }
}

/// Write access to a tracked object; marks it for the dirty check.
///
/// While it is alive the session cannot read the object: a flush, a query or a load
/// through the object's session on the same thread is an error until it is dropped
/// (rather than a wait on the guard that would never end).
pub struct WriteGuard<'a, T> {
    guard: RwLockWriteGuard<'a, T>,
    /// The object, as registered in [`WRITING`].
    ptr: usize,
}

thread_local! {
    /// The objects this thread holds a `write()` guard on.
    static WRITING: std::cell::RefCell<Vec<Obj>> = const { std::cell::RefCell::new(Vec::new()) };
    /// How many there are: the sessions' check reads only this while it is zero (a
    /// thread-local without a destructor costs a few instructions, the list more).
    static WRITING_COUNT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        // A thread being torn down may have lost its list already: nothing to forget.
        let _ = WRITING.try_with(|w| {
            let mut w = w.borrow_mut();
            if let Some(i) = w.iter().rposition(|o| crate::plan::ptr(o) == self.ptr) {
                w.swap_remove(i);
                WRITING_COUNT.set(w.len());
            }
        });
    }
}

/// The first object of session `session` (by its link id) that this thread holds a
/// `write()` guard on: the session must not wait to read it.
pub(crate) fn written_in(session: u64) -> Option<Obj> {
    if WRITING_COUNT.get() == 0 {
        return None;
    }
    WRITING.with(|w| {
        let w = w.borrow();
        w.iter()
            .find(|o| {
                let m = o.meta();
                m.session() == Some(session) && m.state() != ObjectState::Detached
            })
            .cloned()
    })
}

/// Whether this thread holds a `write()` guard on `obj`.
pub(crate) fn is_written_here(obj: &Obj) -> bool {
    if WRITING_COUNT.get() == 0 {
        return false;
    }
    WRITING.with(|w| {
        w.borrow()
            .iter()
            .any(|o| crate::plan::ptr(o) == crate::plan::ptr(obj))
    })
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: Model> Handle<T> {
    /// A transient object, not yet in any session.
    pub fn new(obj: T) -> Result<Self> {
        Ok(Handle::with_state(
            obj,
            model_info::<T>()?,
            ObjectState::Transient,
        ))
    }

    pub(crate) fn with_state(obj: T, info: &'static ModelInfo, state: ObjectState) -> Self {
        Handle::with_meta(obj, info, Meta::new(state))
    }

    pub(crate) fn with_meta(obj: T, info: &'static ModelInfo, meta: Meta) -> Self {
        Handle {
            cell: Arc::new(Cell {
                data: RwLock::new(obj),
                meta: Mutex::new(meta),
                touched: AtomicBool::new(false),
                info,
            }),
        }
    }

    /// Read the object.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.cell.data.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Change the object; the session sees the change at its next flush. Drop the
    /// guard before the object's session flushes, queries or loads on this thread:
    /// until then they fail (see [`WriteGuard`]).
    pub fn write(&self) -> WriteGuard<'_, T> {
        self.cell.touched.store(true, Ordering::Release);
        let keep = {
            let m = self.cell.meta();
            m.mark_written();
            matches!(m.snapshot, Snapshot::Current)
        };
        if keep {
            keep_snapshot(&*self.cell);
        }
        let guard = self.cell.data.write().unwrap_or_else(|p| p.into_inner());
        let obj: Obj = self.cell.clone();
        let ptr = crate::plan::ptr(&obj);
        WRITING.with(|w| {
            let mut w = w.borrow_mut();
            w.push(obj);
            WRITING_COUNT.set(w.len());
        });
        WriteGuard { guard, ptr }
    }

    /// Whether two handles are the same object.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.cell, &b.cell)
    }

    /// The object's state.
    pub fn state(&self) -> ObjectState {
        self.cell.meta().state()
    }

    /// Whether the object's loaded state was expired (the next load through the session
    /// refreshes it).
    pub fn is_expired(&self) -> bool {
        self.cell.meta().expired
    }

    /// Whether the object's column values differ from what was last loaded or flushed.
    pub fn is_modified(&self) -> bool {
        let data = self.read();
        match &self.cell.meta().snapshot {
            Snapshot::Values(s) => {
                let mut changed = false;
                data.diff_values(s, &mut |_| changed = true);
                changed
            }
            Snapshot::Current => false,
            Snapshot::None => true,
        }
    }

    /// The primary key values, once the object has an identity.
    pub fn identity(&self) -> Option<Vec<Value>> {
        let values = self.cell.values();
        let info = self.cell.info;
        info.key(&values)
            .map(|_| info.pk.iter().map(|&i| values[i].clone()).collect())
    }

    pub(crate) fn erased(&self) -> Arc<dyn AnyObject> {
        self.cell.clone()
    }

    /// The same object as a type-erased reference, without another reference count.
    pub(crate) fn into_erased(self) -> Arc<dyn AnyObject> {
        self.cell
    }

    pub(crate) fn from_erased(obj: &Arc<dyn AnyObject>) -> Option<Self> {
        Self::from_erased_owned(obj.clone())
    }

    /// A typed handle made from a type-erased reference, which it takes over.
    pub(crate) fn from_erased_owned(obj: Arc<dyn AnyObject>) -> Option<Self> {
        obj.into_any()
            .downcast::<Cell<T>>()
            .ok()
            .map(|cell| Handle { cell })
    }
}

/// Compare column values, treating NaN as equal to itself.
pub(crate) fn same_values(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
}
