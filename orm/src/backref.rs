//! Changing relationships in memory, with `back_populates` kept in step.

use std::sync::Arc;

use crate::handle::{AnyObject, Handle};
use crate::info::model_info;
use crate::loading::rel_info;
use crate::model::Model;
use crate::relationship::{Many, ObjectRef, One, Rel, RelInfo, RelationField};
use crate::{Error, Result};

/// Mark an object changed so the session's next flush looks at it.
fn mark_changed(o: &Arc<dyn AnyObject>) {
    o.touch();
    o.meta().mark_written();
}

fn update(
    o: &Arc<dyn AnyObject>,
    ri: &RelInfo,
    index: usize,
    f: &mut dyn FnMut(&mut dyn RelationField),
) -> Result<()> {
    if !o.rel_update(index, f)? {
        return Err(Error::InvalidRequest(format!(
            "cannot change {}'s relationship {:?} while a read()/write() guard on it is alive",
            o.info().short_name(),
            if std::ptr::eq(o.info(), ri.source) {
                ri.def.name
            } else {
                "(mirror)"
            }
        )));
    }
    mark_changed(o);
    Ok(())
}

fn require_loaded(o: &Arc<dyn AnyObject>, ri: &RelInfo) -> Result<()> {
    if !o.rel_loaded(ri.index) {
        return Err(Error::InvalidRequest(format!(
            "relationship {}.{} is not loaded: load it through the session (session.load) before changing it",
            ri.source.short_name(),
            ri.def.name
        )));
    }
    Ok(())
}

/// On the mirror side of `ri`, add or remove `me` on `other` (a reference is set or
/// cleared; a collection changes only when it is loaded).
fn mirror(
    ri: &RelInfo,
    other: &Arc<dyn AnyObject>,
    me: &Arc<dyn AnyObject>,
    add: bool,
) -> Result<()> {
    let Some(back) = ri.back else { return Ok(()) };
    let back_is_collection = ri.target.relationships[back].collection;
    if back_is_collection && !other.rel_loaded(back) {
        return Ok(());
    }
    let me_ref = ObjectRef(me.clone());
    let back_ri = rel_info(ri.target, back)?;
    update(other, back_ri, back, &mut |r| {
        if add {
            r.add(&me_ref)
        } else {
            r.remove(&me_ref)
        }
    })
}

/// Append `c` to `me`'s collection `ri`, with the back reference ([`Handle::append`]).
pub(crate) fn append(me: &Arc<dyn AnyObject>, ri: &RelInfo, c: &Arc<dyn AnyObject>) -> Result<()> {
    require_loaded(me, ri)?;
    let c_ref = ObjectRef(c.clone());
    update(me, ri, ri.index, &mut |r| r.add(&c_ref))?;
    // A child moved from another parent leaves that parent's loaded collection.
    if let Some(back) = ri.back {
        if !ri.target.relationships[back].collection {
            if let Some(old) = c.rel_members(back).and_then(|m| m.into_iter().next()) {
                if !crate::session::same_object(&old.0, me) && old.0.rel_loaded(ri.index) {
                    update(&old.0, ri, ri.index, &mut |r| r.remove(&c_ref))?;
                }
            }
        }
    }
    mirror(ri, c, me, true)
}

/// Remove `c` from `me`'s collection `ri`, with the back reference
/// ([`Handle::remove_from`]).
pub(crate) fn remove(me: &Arc<dyn AnyObject>, ri: &RelInfo, c: &Arc<dyn AnyObject>) -> Result<()> {
    require_loaded(me, ri)?;
    let c_ref = ObjectRef(c.clone());
    update(me, ri, ri.index, &mut |r| r.remove(&c_ref))?;
    mirror(ri, c, me, false)
}

/// Point `me`'s reference `ri` at `new`, with the back references ([`Handle::set_ref`]).
pub(crate) fn set_ref(
    me: &Arc<dyn AnyObject>,
    ri: &RelInfo,
    new: Option<Arc<dyn AnyObject>>,
) -> Result<()> {
    let old = me.rel_members(ri.index).and_then(|m| m.into_iter().next());
    if let (Some(o), Some(n)) = (&old, &new) {
        if crate::session::same_object(&o.0, n) {
            return Ok(());
        }
    }
    let new_ref = new.clone().map(ObjectRef);
    update(me, ri, ri.index, &mut |r| match &new_ref {
        Some(n) => r.add(n),
        None => {
            if let Some(o) = &old {
                r.remove(o)
            }
        }
    })?;
    if let Some(o) = &old {
        mirror(ri, &o.0, me, false)?;
    }
    if let Some(n) = &new {
        mirror(ri, n, me, true)?;
    }
    Ok(())
}

impl<M: Model> Handle<M> {
    /// Append `child` to this object's collection `rel` and point the child's mirror
    /// relationship at this object. At flush the child's foreign key is set from this
    /// object's key, and a transient child is added to the session (save-update cascade).
    ///
    /// ```
    /// use strata_orm::{Handle, Many, Model, One, Registry, Session};
    /// #[derive(Model, Debug, Clone)]
    /// #[model(table = "users")]
    /// struct User {
    ///     #[column(primary_key)]
    ///     id: Option<i64>,
    ///     name: String,
    ///     #[relationship(back_populates = "user", cascade = "all, delete-orphan")]
    ///     tasks: Many<Task>,
    /// }
    /// #[derive(Model, Debug, Clone)]
    /// #[model(table = "tasks")]
    /// struct Task {
    ///     #[column(primary_key)]
    ///     id: Option<i64>,
    ///     title: String,
    ///     #[column(default = false)]
    ///     completed: bool,
    ///     #[column(foreign_key = "users.id")]
    ///     user_id: Option<i64>,
    ///     #[relationship(back_populates = "tasks")]
    ///     user: One<User>,
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use std::sync::Arc;
    /// # use strata_core::engine::{Engine, EngineOptions};
    /// # let engine = Engine::new(Arc::new(strata_dialects::SqliteDriver::memory()?), EngineOptions::default())?;
    /// let registry = Registry::new().map::<User>()?.map::<Task>()?.configure()?;
    /// registry.metadata().create_all(&engine)?;
    /// let mut session = Session::new(&engine);
    /// let user = Handle::new(User { id: None, name: "Anna".into(), tasks: Many::new() })?;
    /// let task = Handle::new(Task { id: None, title: "Learn Python".into(), completed: false, user_id: None, user: One::new() })?;
    /// user.append(User::tasks, &task)?;               // task.user is now user, in memory
    /// assert!(Handle::ptr_eq(&task.read().user.get()?.unwrap(), &user));
    /// session.add(&user)?;                            // the task comes along (save-update)
    /// session.commit()?;                              // parent first, then the child
    /// assert_eq!(task.read().user_id, user.read().id);
    /// # Ok(()) }
    /// ```
    pub fn append<T: Model>(&self, rel: Rel<M, Many<T>>, child: &Handle<T>) -> Result<()> {
        let ri = rel_info(model_info::<M>()?, rel.index())?;
        append(&self.erased(), ri, &child.erased())
    }

    /// Remove `child` from this object's collection `rel` (and clear its mirror). At
    /// flush the child's foreign key becomes NULL, or the child is deleted when the
    /// relationship cascades `delete-orphan`.
    pub fn remove_from<T: Model>(&self, rel: Rel<M, Many<T>>, child: &Handle<T>) -> Result<()> {
        let ri = rel_info(model_info::<M>()?, rel.index())?;
        remove(&self.erased(), ri, &child.erased())
    }

    /// Point this object's reference `rel` at `target` (or at nothing). The old
    /// target's and the new target's loaded collections follow (back_populates); at
    /// flush this object's foreign key is set from the target's key.
    pub fn set_ref<T: Model>(&self, rel: Rel<M, One<T>>, target: Option<&Handle<T>>) -> Result<()> {
        let ri = rel_info(model_info::<M>()?, rel.index())?;
        set_ref(&self.erased(), ri, target.map(|t| t.erased()))
    }
}
