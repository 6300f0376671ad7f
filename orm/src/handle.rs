//! `Handle<T>`: a shared, session-tracked object.

use std::any::Any;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use strata_core::Value;

use crate::info::{model_info, IdentityKey, ModelInfo};
use crate::model::Model;
use crate::relationship::{ObjectRef, RelationField};
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

#[derive(Debug)]
pub(crate) struct Meta {
    pub state: ObjectState,
    pub session: Option<u64>,
    pub snapshot: Option<Vec<Value>>,
    pub expired: bool,
    pub key: Option<IdentityKey>,
    /// The owning session's "something was written" flag.
    pub hint: Option<Arc<AtomicBool>>,
    /// Relationships (by index) a query marked `raiseload`.
    pub raise: u64,
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
    /// Overwrite the column fields; `Ok(false)` when a `read()`/`write()` guard is alive.
    fn set_values(&self, values: Vec<Value>) -> Result<bool>;
    /// Whether no `read()`/`write()` guard is alive.
    fn is_free(&self) -> bool;
    fn meta(&self) -> MutexGuard<'_, Meta>;
    fn take_touched(&self) -> bool;
    fn touch(&self);
    fn validate(&self) -> std::result::Result<(), String>;
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// The current members of relationship `index` (`None` when not loaded).
    fn rel_members(&self, index: usize) -> Option<Vec<ObjectRef>>;
    /// The members of relationship `index` as last loaded or flushed.
    fn rel_original(&self, index: usize) -> Vec<ObjectRef>;
    /// Change relationship `index`; `Ok(false)` when a guard on the object is alive.
    fn rel_update(&self, index: usize, f: &mut dyn FnMut(&mut dyn RelationField)) -> Result<bool>;
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

    fn set_values(&self, values: Vec<Value>) -> Result<bool> {
        let mut it = values.into_iter();
        // Never block: the caller may hold a guard on this very object.
        let mut guard = match self.data.try_write() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(false),
        };
        guard.update_values(&mut it)?;
        Ok(true)
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

    fn take_touched(&self) -> bool {
        self.touched.swap(false, Ordering::AcqRel)
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

    fn rel_original(&self, index: usize) -> Vec<ObjectRef> {
        let data = self.data.read().unwrap_or_else(|p| p.into_inner());
        data.relation(index)
            .map(|r| r.original())
            .unwrap_or_default()
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

impl<T: Model + fmt::Debug> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.read(), f)
    }
}

impl<T: Model + fmt::Display> fmt::Display for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.read(), f)
    }
}

/// Write access to a tracked object; marks it for the dirty check.
pub struct WriteGuard<'a, T>(RwLockWriteGuard<'a, T>);

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
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
        Handle {
            cell: Arc::new(Cell {
                data: RwLock::new(obj),
                meta: Mutex::new(Meta {
                    state,
                    session: None,
                    snapshot: None,
                    expired: false,
                    key: None,
                    hint: None,
                    raise: 0,
                }),
                touched: AtomicBool::new(false),
                info,
            }),
        }
    }

    /// Read the object.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.cell.data.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Change the object; the session sees the change at its next flush.
    pub fn write(&self) -> WriteGuard<'_, T> {
        self.cell.touched.store(true, Ordering::Release);
        if let Some(h) = &self.cell.meta().hint {
            h.store(true, Ordering::Release);
        }
        WriteGuard(self.cell.data.write().unwrap_or_else(|p| p.into_inner()))
    }

    /// Whether two handles are the same object.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.cell, &b.cell)
    }

    /// The object's state.
    pub fn state(&self) -> ObjectState {
        self.cell.meta().state
    }

    /// Whether the object's loaded state was expired (the next load through the session
    /// refreshes it).
    pub fn is_expired(&self) -> bool {
        self.cell.meta().expired
    }

    /// Whether the object's column values differ from what was last loaded or flushed.
    pub fn is_modified(&self) -> bool {
        let values = self.cell.values();
        match &self.cell.meta().snapshot {
            Some(s) => !same_values(s, &values),
            None => true,
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

    pub(crate) fn from_erased(obj: &Arc<dyn AnyObject>) -> Option<Self> {
        obj.clone()
            .into_any()
            .downcast::<Cell<T>>()
            .ok()
            .map(|cell| Handle { cell })
    }
}

/// Compare column values, treating NaN as equal to itself.
pub(crate) fn same_values(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
}
