//! `Session::merge`: copy an object's state, and along the merge cascade that of the
//! objects it relates to, onto the session's own objects.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use strata_core::{FromItem, Value};

use crate::backref;
use crate::handle::{is_written_here, AnyObject, Handle, Meta, ObjectState};
use crate::info::{model_info, IdentityKey, ModelInfo};
use crate::loading::rel_info;
use crate::model::Model;
use crate::plan::{ptr, PtrMap};
use crate::relationship::ObjectRef;
use crate::session::{same_object, Session};
use crate::{Error, Result};

type Obj = Arc<dyn AnyObject>;

/// The objects one merge has met: each source object's merged counterpart.
struct Merged {
    /// The address of the value `merge` was given, and its merged object: related
    /// objects that point back at a handle holding that very value meet it here.
    root: (usize, Obj),
    /// Merged objects by the address of their source object.
    by_source: PtrMap<Obj>,
    /// Source objects whose relationships are still to merge, with their targets.
    queue: Vec<(Obj, Obj)>,
}

/// Where a merge put an object's values.
enum Merge {
    /// The value merged is the session's own object's: nothing to copy or cascade.
    Itself(Obj),
    /// Onto this object (the session's, or a new pending one).
    Onto(Obj),
}

/// A relationship's members and its members as last loaded or flushed (`None` when it
/// is not loaded).
type Members = Option<(Vec<ObjectRef>, Vec<ObjectRef>)>;

impl Session {
    /// Copy the state of `obj` onto the session's object with the same primary key
    /// (loaded by primary key when the session does not hold it) and return that
    /// object; when no row has the key, or `obj` has none, a new pending object with
    /// its values is added. The object passed in is left as it was, in whatever
    /// session it belongs to.
    ///
    /// Along relationships with the `merge` cascade (on by default), the related
    /// objects are merged the same way, and the merged object's relationship is
    /// pointed at the merged related objects: a collection gains the ones it lacked
    /// (in the source's order, after the ones it keeps) and loses the ones the source
    /// does not hold, and their back references follow. A relationship is taken from
    /// the source when it is loaded there and holds objects, or was changed (a
    /// collection emptied, a reference cleared); an empty collection or a `None`
    /// reference nobody set leaves the merged object's relationship alone, as an
    /// attribute never set does in SQLAlchemy. Objects already in this session (the
    /// value given too, when it is borrowed from one) are used as they are.
    ///
    /// The session autoflushes once, before the merge; the merge itself loads what it
    /// needs without flushing.
    ///
    /// ```
    /// use strata_orm::{Handle, Many, Model, One, Registry, Session};
    /// #[derive(Model, Debug, Clone)]
    /// #[model(table = "users")]
    /// struct User {
    ///     #[column(primary_key)]
    ///     id: Option<i64>,
    ///     name: String,
    ///     #[relationship(back_populates = "user")]
    ///     tasks: Many<Task>,
    /// }
    /// #[derive(Model, Debug, Clone)]
    /// #[model(table = "tasks")]
    /// struct Task {
    ///     #[column(primary_key)]
    ///     id: Option<i64>,
    ///     title: String,
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
    /// // An object graph built outside any session: a user with one task.
    /// let user = Handle::new(User { id: Some(1), name: "Anna".into(), tasks: Many::new() })?;
    /// let task = Handle::new(Task { id: None, title: "Write code".into(), user_id: None, user: One::new() })?;
    /// user.append(User::tasks, &task)?;
    ///
    /// let mut session = Session::new(&engine);
    /// let merged = session.merge(&*user.read())?;     // no row 1 yet: a new pending user
    /// assert!(!Handle::ptr_eq(&merged, &user));        // the session's own copy
    /// let merged_task = merged.read().tasks.get()?[0].clone();
    /// assert!(!Handle::ptr_eq(&merged_task, &task));   // the task was merged too
    /// session.commit()?;
    /// assert_eq!(merged_task.read().user_id, Some(1));
    /// # Ok(()) }
    /// ```
    pub fn merge<T: Model>(&mut self, obj: &T) -> Result<Handle<T>> {
        let info = model_info::<T>()?;
        self.autoflush()?;
        let autoflush = std::mem::replace(&mut self.autoflush, false);
        let merged = self.merge_graph(info, obj);
        self.autoflush = autoflush;
        let merged = merged?;
        Handle::from_erased(&merged).ok_or_else(|| {
            Error::InvalidRequest(format!("merge of {} lost its type", info.short_name()))
        })
    }

    /// Merge `obj` and, breadth first, the objects its merge cascades reach.
    fn merge_graph<T: Model>(&mut self, info: &'static ModelInfo, obj: &T) -> Result<Obj> {
        let mut values = Vec::with_capacity(info.columns.len());
        obj.write_values(&mut values);
        let addr = obj as *const T as usize;
        let target = match self.merge_values(info, values, Some(addr))? {
            Merge::Itself(obj) => return Ok(obj),
            Merge::Onto(target) => target,
        };
        let mut merged = Merged {
            root: (addr, target.clone()),
            by_source: PtrMap::default(),
            queue: Vec::new(),
        };
        let root_members = |i: usize| -> Members {
            let r = obj.relation(i).filter(|r| r.is_loaded())?;
            Some((r.members(), r.original()))
        };
        self.merge_relationships(info, &root_members, &target, &mut merged)?;
        let mut next = 0;
        while next < merged.queue.len() {
            let (source, target) = merged.queue[next].clone();
            next += 1;
            let members = |i: usize| -> Members {
                Some((
                    source.rel_members(i)?,
                    source.rel_original(i).unwrap_or_default(),
                ))
            };
            self.merge_relationships(source.info(), &members, &target, &mut merged)?;
        }
        Ok(target)
    }

    /// Merge the relationships of a source object (given by `members`) onto `target`.
    fn merge_relationships(
        &mut self,
        info: &'static ModelInfo,
        members: &dyn Fn(usize) -> Members,
        target: &Obj,
        merged: &mut Merged,
    ) -> Result<()> {
        for index in 0..info.relationships.len() {
            let ri = rel_info(info, index)?;
            if !ri.def.cascade.merge {
                continue;
            }
            let Some((now, original)) = members(index) else {
                continue;
            };
            // Empty and unchanged: never set, so nothing to carry over.
            if now.is_empty() && original.is_empty() {
                continue;
            }
            let mut wanted = Vec::with_capacity(now.len());
            for m in &now {
                wanted.push(self.merge_member(&m.0, merged)?);
            }
            if !target.rel_loaded(index) {
                if target.meta().state() == ObjectState::Persistent {
                    self.load_relationship(ri, std::slice::from_ref(target))?;
                } else {
                    target.rel_update(index, &mut |r| r.set_loaded(Vec::new()))?;
                }
            }
            if !ri.def.collection {
                backref::set_ref(target, ri, wanted.into_iter().next())?;
                continue;
            }
            let current = target.rel_members(index).unwrap_or_default();
            for c in &current {
                if !wanted.iter().any(|w| same_object(w, &c.0)) {
                    backref::remove(target, ri, &c.0)?;
                }
            }
            for w in &wanted {
                if !current.iter().any(|c| same_object(&c.0, w)) {
                    backref::append(target, ri, w)?;
                }
            }
        }
        Ok(())
    }

    /// The merged counterpart of a related object: itself when it is this session's,
    /// the one already merged, or a new merge (its relationships queued).
    fn merge_member(&mut self, source: &Obj, merged: &mut Merged) -> Result<Obj> {
        if let Some(done) = merged.by_source.get(&ptr(source)) {
            return Ok(done.clone());
        }
        let (state, session) = {
            let m = source.meta();
            (m.state(), m.session())
        };
        if session == Some(self.link.id)
            && !matches!(state, ObjectState::Detached | ObjectState::Transient)
        {
            return Ok(source.clone());
        }
        if is_written_here(source) {
            return Err(Error::InvalidRequest(format!(
                "cannot merge a {} while a write() guard on it is alive on this thread",
                source.info().short_name()
            )));
        }
        if source.data_addr() == Some(merged.root.0) {
            return Ok(merged.root.1.clone());
        }
        let target = match self.merge_values(source.info(), source.values(), None)? {
            Merge::Itself(obj) | Merge::Onto(obj) => obj,
        };
        merged.by_source.insert(ptr(source), target.clone());
        merged.queue.push((source.clone(), target.clone()));
        Ok(target)
    }

    /// Copy `values` onto the session's object with their primary key, or add a new
    /// pending object holding them. When the session's object holds the value at
    /// `source` (the value to merge is the session's own), nothing is copied.
    fn merge_values(
        &mut self,
        info: &'static ModelInfo,
        mut values: Vec<Value>,
        source: Option<usize>,
    ) -> Result<Merge> {
        if let Some(key) = info.key(&values) {
            if let Some(existing) = self.get_erased(info, &key, &values)? {
                if source.is_some() && existing.data_addr() == source {
                    return Ok(Merge::Itself(existing));
                }
                existing.keep_snapshot();
                if !existing.set_values(values)? {
                    return Err(Error::InvalidRequest(format!(
                        "cannot merge into {} {}: a read()/write() guard on it is alive",
                        info.short_name(),
                        info.key_text(&existing.values())
                    )));
                }
                existing.touch();
                self.link.hint.store(true, Ordering::Release);
                return Ok(Merge::Onto(existing));
            }
        }
        let obj = (info.make)(&mut values, info, Meta::new(ObjectState::Transient))?;
        // A new object's relationships are empty, not unloaded.
        for index in 0..info.relationships.len() {
            obj.rel_update(index, &mut |r| r.set_loaded(Vec::new()))?;
        }
        self.attach(&obj, ObjectState::Pending);
        self.pending.push(obj.clone());
        Ok(Merge::Onto(obj))
    }

    /// The object of model `info` with identity `key`, taken from the column `values`:
    /// the session's, or loaded with one SELECT (without autoflush).
    fn get_erased(
        &mut self,
        info: &'static ModelInfo,
        key: &IdentityKey,
        values: &[Value],
    ) -> Result<Option<Obj>> {
        if let Some(found) = self.known(key) {
            return Ok(found.cloned());
        }
        let stmt = strata_core::select(info.columns_in(&FromItem::Table(info.table.clone())))
            .where_(strata_core::and_(info.pk_condition(&info.row_key(values))));
        let mut found = None;
        self.select_joined(info, &stmt, (&[], 0), &[], |obj, _, _, _| {
            found.get_or_insert(obj);
            Ok(())
        })?;
        Ok(found)
    }
}
