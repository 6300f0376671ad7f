//! `Session`: identity map, unit of work, and queries through one transaction.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use strata_core::engine::{Connection, CursorResult, Engine};
use strata_core::{Compilable, Value};

use crate::handle::{written_in, AnyObject, Handle, ObjectState, SessionLink, Snapshot};
use crate::info::{model_info, IdentityKey, IdentityMap, ModelInfo, PrimaryKey};
use crate::model::Model;
use crate::query::{Query, ScalarResult, Select};
use crate::statements::{LastText, Shape};
use crate::{Error, Result};

/// Expire an object: its unflushed changes are dropped, columns reload on its next load,
/// relationships are unloaded now (an object whose guard is alive keeps them, and its
/// changes, until then).
pub(crate) fn expire(o: &Arc<dyn AnyObject>) {
    discard_changes(o);
    expire_and_detach(o, false);
}

/// The bit of relationship `index` in a relationship mask of `Meta` (relationships past
/// the 64th share the last bit).
pub(crate) fn rel_bit(index: usize) -> u64 {
    1u64 << index.min(63)
}

/// [`expire`], and with `detach` also leave the session, under one lock of the meta.
fn expire_and_detach(o: &Arc<dyn AnyObject>, detach: bool) {
    let mut kept = 0;
    for (i, def) in o.info().relationships.iter().enumerate() {
        if !matches!(o.rel_update(i, &mut |r| r.unload(def.name)), Ok(true)) {
            kept |= rel_bit(i);
        }
    }
    let mut m = o.meta();
    m.expired = true;
    m.unload_on_refresh |= kept;
    if detach {
        m.leave_session(ObjectState::Detached);
    }
}

/// Put the values of an object's snapshot back into it: its changes since its load or
/// last flush are dropped (kept when a `read()`/`write()` guard on it is alive).
fn discard_changes(o: &Arc<dyn AnyObject>) {
    let snapshot = {
        let mut m = o.meta();
        match std::mem::replace(&mut m.snapshot, Snapshot::Current) {
            Snapshot::Values(v) => v,
            other => {
                m.snapshot = other;
                return;
            }
        }
    };
    match o.try_set_values(snapshot) {
        Ok(None) => {
            o.take_touched();
        }
        Ok(Some(kept)) => o.meta().snapshot = Snapshot::Values(kept),
        // The snapshot was read from the object's own fields: it always fits them.
        Err(_) => {}
    }
}

/// Refresh an expired object from a row. Relationships its expiry could not unload are
/// unloaded now; those loaded since the expiry stay. An object whose guard is alive
/// stays expired and is refreshed next time. True when the object was refreshed.
pub(crate) fn refresh_if_expired(obj: &Arc<dyn AnyObject>, values: &mut [Value]) -> Result<bool> {
    let expired = obj.meta().expired;
    if expired && obj.set_row(values)? {
        let mut m = obj.meta();
        m.snapshot = Snapshot::Current;
        m.expired = false;
        m.raise = 0;
        let unload = std::mem::take(&mut m.unload_on_refresh);
        drop(m);
        obj.take_touched();
        for (i, def) in obj.info().relationships.iter().enumerate() {
            if unload & rel_bit(i) != 0 {
                obj.rel_update(i, &mut |r| r.unload(def.name))?;
            }
        }
        return Ok(true);
    }
    Ok(false)
}

/// A loaded object (of `info`'s model) as a typed handle.
fn typed<T: Model>(info: &ModelInfo, obj: Arc<dyn AnyObject>) -> Result<Handle<T>> {
    Handle::from_erased_owned(obj).ok_or_else(|| {
        Error::InvalidRequest(format!(
            "identity map holds another type under {}'s key",
            info.short_name()
        ))
    })
}

pub(crate) fn same_object(a: &Arc<dyn AnyObject>, b: &Arc<dyn AnyObject>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

/// Anything `Session::add` accepts: a new object, or a handle to one.
pub trait IntoHandle<T: Model> {
    /// The handle to track.
    fn into_handle(self) -> Result<Handle<T>>;
}

impl<T: Model> IntoHandle<T> for T {
    fn into_handle(self) -> Result<Handle<T>> {
        Handle::new(self)
    }
}

impl<T: Model> IntoHandle<T> for Handle<T> {
    fn into_handle(self) -> Result<Handle<T>> {
        Ok(self)
    }
}

impl<T: Model> IntoHandle<T> for &Handle<T> {
    fn into_handle(self) -> Result<Handle<T>> {
        Ok(self.clone())
    }
}

/// SQLAlchemy's Session: the identity map (one object per row), the unit of work
/// (changes found at flush and written in dependency order, atomically), and queries,
/// all within one transaction that begins on first use and ends with `commit` or
/// `rollback`. Dropping an uncommitted session rolls back.
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
/// let task = session.add(Task { id: None, title: "Learn ORM".into(), completed: false, user_id: None, user: One::new() })?;
/// session.commit()?;                          // INSERT INTO tasks ... RETURNING "id"
/// let same = session.get::<Task>(1)?.unwrap();
/// assert!(Handle::ptr_eq(&task, &same));      // one object per row: `task is same`
/// same.write().completed = true;              // the change is tracked
/// session.commit()?;                          // UPDATE tasks SET completed = ? WHERE id = ?
/// assert!(session.get::<Task>(1)?.unwrap().read().completed);
/// # Ok(()) }
/// ```
pub struct Session {
    pub(crate) engine: Engine,
    pub(crate) conn: Option<Connection>,
    pub(crate) in_tx: bool,
    pub(crate) wrote_in_tx: bool,
    pub(crate) identity: IdentityMap<Arc<dyn AnyObject>>,
    pub(crate) pending: Vec<Arc<dyn AnyObject>>,
    /// Objects marked for deletion at the next flush (ordered, constant-time membership).
    pub(crate) deleted: crate::plan::ObjSet,
    pub(crate) flushed_deleted: Vec<Arc<dyn AnyObject>>,
    pub(crate) inserted_in_tx: Vec<Arc<dyn AnyObject>>,
    /// Objects whose primary key a flush of this transaction changed, with the identity
    /// key they had before: a rollback puts them back under it.
    pub(crate) rekeyed_in_tx: Vec<(Arc<dyn AnyObject>, Option<IdentityKey>)>,
    /// Objects a flush of this transaction UPDATEd, each with the values its row had
    /// before (oldest first): a rollback gives them back those values, which their rows
    /// have again, rather than the values of their last flush.
    pub(crate) updated_in_tx: Vec<(Arc<dyn AnyObject>, Vec<Value>)>,
    /// The tie to this session's objects, with its "something was written" flag.
    pub(crate) link: Arc<SessionLink>,
    /// The `get` statement text of the model fetched last.
    get_text: Option<LastText>,
    pub(crate) autoflush: bool,
    expire_on_commit: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.link.id)
            .field("identity_map", &self.identity.len())
            .field("pending", &self.pending.len())
            .field("in_transaction", &self.in_tx)
            .finish()
    }
}

impl Session {
    /// A session on `engine`. No connection is taken until the first statement.
    pub fn new(engine: &Engine) -> Session {
        Session {
            engine: engine.clone(),
            conn: None,
            in_tx: false,
            wrote_in_tx: false,
            identity: IdentityMap::default(),
            pending: Vec::new(),
            deleted: crate::plan::ObjSet::default(),
            flushed_deleted: Vec::new(),
            inserted_in_tx: Vec::new(),
            rekeyed_in_tx: Vec::new(),
            updated_in_tx: Vec::new(),
            link: SessionLink::new(),
            get_text: None,
            autoflush: true,
            expire_on_commit: true,
        }
    }

    /// Turn autoflush before queries on or off (on by default).
    pub fn set_autoflush(&mut self, on: bool) {
        self.autoflush = on;
    }

    /// Turn expire-on-commit on or off (on by default).
    pub fn set_expire_on_commit(&mut self, on: bool) {
        self.expire_on_commit = on;
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Number of objects in the identity map.
    pub fn identity_map_len(&self) -> usize {
        self.identity.len()
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.in_tx
    }

    /// The session's connection, in an open transaction (begun on first use).
    pub fn connection(&mut self) -> Result<&mut Connection> {
        if self.conn.is_none() {
            self.conn = Some(self.engine.connect()?);
        }
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| Error::InvalidRequest("no connection".into()))?;
        if !self.in_tx {
            conn.start_transaction()?;
            self.in_tx = true;
            self.wrote_in_tx = false;
        }
        Ok(conn)
    }

    fn not_in_session(obj: &Arc<dyn AnyObject>, state: ObjectState, hint: &str) -> Error {
        let info = obj.info();
        Error::NotInSession {
            model: info.short_name().to_string(),
            key: info.key_text(&obj.values()),
            state: state.to_string(),
            hint: hint.to_string(),
        }
    }

    pub(crate) fn attach(&self, obj: &Arc<dyn AnyObject>, state: ObjectState) {
        obj.meta().attach(&self.link, state);
    }

    /// Add an object (or a handle) to the session: transient objects become pending
    /// and are inserted at the next flush; detached ones are attached again.
    pub fn add<T: Model>(&mut self, obj: impl IntoHandle<T>) -> Result<Handle<T>> {
        let h = obj.into_handle()?;
        let erased = h.erased();
        let (state, session) = {
            let m = erased.meta();
            (m.state(), m.session())
        };
        match (state, session) {
            (ObjectState::Deleted, Some(s)) if s == self.link.id => {
                Err(Error::InvalidRequest(format!(
                    "{} {} was deleted in this transaction; it cannot be added again before the transaction ends",
                    erased.info().short_name(),
                    erased.info().key_text(&erased.values())
                )))
            }
            (_, Some(s)) if s == self.link.id && state != ObjectState::Detached => {
                // Adding an object marked for deletion takes the mark back.
                self.deleted.remove(&erased);
                Ok(h)
            }
            (ObjectState::Transient, _) => {
                self.attach(&erased, ObjectState::Pending);
                self.pending.push(erased);
                Ok(h)
            }
            (ObjectState::Detached, _) => {
                let key = erased.meta().key.clone();
                let key = key.ok_or_else(|| {
                    Error::InvalidRequest("a detached object has no identity".into())
                })?;
                if let Some(other) = self.identity.get(&key) {
                    if !same_object(other, &erased) {
                        return Err(Error::InvalidRequest(format!(
                            "another {} with primary key {} is already in this session; use merge()",
                            erased.info().short_name(),
                            erased.info().key_text(&erased.values())
                        )));
                    }
                }
                self.attach(&erased, ObjectState::Persistent);
                erased.touch();
                self.link.hint.store(true, Ordering::Release);
                self.identity.insert(key, erased);
                Ok(h)
            }
            (s, _) => Err(Self::not_in_session(
                &erased,
                s,
                "it belongs to another session; expunge it there or use merge()",
            )),
        }
    }

    /// Add several objects.
    pub fn add_all<T: Model, I: IntoIterator<Item = H>, H: IntoHandle<T>>(
        &mut self,
        objs: I,
    ) -> Result<Vec<Handle<T>>> {
        let objs = objs.into_iter();
        self.pending.reserve(objs.size_hint().0);
        objs.map(|o| self.add(o)).collect()
    }

    fn check_attached(&self, obj: &Arc<dyn AnyObject>) -> Result<ObjectState> {
        let (state, session) = {
            let m = obj.meta();
            (m.state(), m.session())
        };
        if session != Some(self.link.id)
            || matches!(state, ObjectState::Detached | ObjectState::Transient)
        {
            let hint = match state {
                ObjectState::Transient => "add() it first",
                ObjectState::Detached => "its session was closed or it was expunged; add() or merge() it into this session",
                _ => "it belongs to another session",
            };
            return Err(Self::not_in_session(obj, state, hint));
        }
        Ok(state)
    }

    /// Mark an object for deletion at the next flush, which deletes it and the objects
    /// its `delete` cascades reach. A pending object is never inserted: that flush
    /// leaves it, and the new objects its cascades reach, out of the session (pending
    /// until then, so that an object still referring to it cannot bring it back).
    pub fn delete<T: Model>(&mut self, obj: &Handle<T>) -> Result<()> {
        let erased = obj.erased();
        if matches!(
            self.check_attached(&erased)?,
            ObjectState::Pending | ObjectState::Persistent
        ) {
            self.deleted.push(&erased);
        }
        Ok(())
    }

    /// Remove an object from the session without deleting it (it becomes detached, or
    /// transient if it was pending). The related objects in memory along relationships
    /// with the `expunge` cascade leave with it.
    pub fn expunge<T: Model>(&mut self, obj: &Handle<T>) -> Result<()> {
        let erased = obj.erased();
        self.check_attached(&erased)?;
        let related = crate::cascade::reached(&erased, self.link.id, |c| c.expunge);
        let leaving: Vec<_> = std::iter::once(erased).chain(related).collect();
        let gone: crate::plan::PtrSet = leaving.iter().map(crate::plan::ptr).collect();
        self.pending
            .retain(|o| !gone.contains(&crate::plan::ptr(o)));
        for o in &leaving {
            self.deleted.remove(o);
            let mut m = o.meta();
            if let Some(k) = &m.key {
                self.identity.swap_remove(k);
            }
            let state = if m.state() == ObjectState::Pending {
                ObjectState::Transient
            } else {
                ObjectState::Detached
            };
            m.leave_session(state);
        }
        Ok(())
    }

    /// Expire an object: its next load through this session reloads it from the
    /// database. The related objects in memory along relationships with the
    /// `refresh-expire` cascade are expired with it.
    pub fn expire<T: Model>(&mut self, obj: &Handle<T>) -> Result<()> {
        let erased = obj.erased();
        self.check_attached(&erased)?;
        self.expire_cascading(&erased);
        Ok(())
    }

    /// Expire `obj` and the objects its `refresh-expire` cascades reach.
    fn expire_cascading(&self, obj: &Arc<dyn AnyObject>) {
        let related = crate::cascade::reached(obj, self.link.id, |c| c.refresh_expire);
        expire(obj);
        for o in &related {
            expire(o);
        }
    }

    /// Expire every object in the identity map.
    pub fn expire_all(&mut self) {
        for o in self.identity.values() {
            expire(o);
        }
    }

    /// Reload an object's columns from the database now, discarding unflushed changes.
    /// The related objects in memory along relationships with the `refresh-expire`
    /// cascade are expired: they reload at their next use.
    pub fn refresh<T: Model>(&mut self, obj: &Handle<T>) -> Result<()> {
        self.check_write_guards()?;
        let erased = obj.erased();
        if self.check_attached(&erased)? != ObjectState::Persistent {
            return Err(Self::not_in_session(
                &erased,
                erased.meta().state(),
                "only persistent objects can be refreshed",
            ));
        }
        self.expire_cascading(&erased);
        let info = erased.info();
        let snapshot = erased.snapshot().unwrap_or_else(|| erased.values());
        let pk: Vec<Value> = info.pk.iter().map(|&i| snapshot[i].clone()).collect();
        erased.take_touched();
        let autoflush = std::mem::replace(&mut self.autoflush, false);
        let fetched = self.fetch_by_pk::<T>(pk);
        self.autoflush = autoflush;
        match fetched? {
            Some(_) => Ok(()),
            None => Err(Error::InvalidRequest(format!(
                "{} {} no longer exists in the database",
                info.short_name(),
                info.key_text(&snapshot)
            ))),
        }
    }

    /// The object with this primary key: from the identity map without SQL when it is
    /// there and not expired, otherwise with one SELECT.
    pub fn get<T: Model>(&mut self, pk: impl PrimaryKey) -> Result<Option<Handle<T>>> {
        let info = model_info::<T>()?;
        let pk = pk.values();
        if pk.len() != info.pk.len() {
            return Err(Error::InvalidRequest(format!(
                "{} has a primary key of {} column(s), {} value(s) given",
                info.short_name(),
                info.pk.len(),
                pk.len()
            )));
        }
        // No row has a NULL primary key (and NULL must not match another key part).
        if pk.iter().any(Value::is_null) {
            return Ok(None);
        }
        let key = IdentityKey::new(info.type_id, pk.iter().map(Into::into).collect());
        match self.known(&key) {
            Some(found) => Ok(found.and_then(Handle::from_erased)),
            None => self.fetch_by_pk::<T>(pk),
        }
    }

    /// What the session knows of the object with identity `key` without SQL:
    /// `Some(Some(obj))` when it holds it unexpired, `Some(None)` when it was deleted
    /// in this session, `None` when it must be loaded.
    pub(crate) fn known(&self, key: &IdentityKey) -> Option<Option<&Arc<dyn AnyObject>>> {
        if let Some(obj) = self.identity.get(key) {
            let (expired, state) = {
                let m = obj.meta();
                (m.expired, m.state())
            };
            if state == ObjectState::Deleted {
                return Some(None);
            }
            if !expired {
                return Some(Some(obj));
            }
            // Expired, it is loaded again, unless it is marked for deletion. An
            // object deleted before it that had the same key (a key the database
            // gave again) is no longer the key's.
            return self.deleted.contains(obj).then_some(None);
        }
        let deleted = self
            .deleted
            .iter()
            .chain(&self.flushed_deleted)
            .any(|o| o.meta().key.as_ref() == Some(key));
        deleted.then_some(None)
    }

    /// Load the object with primary key `pk` with one SELECT (its row, if any, goes
    /// into the identity map).
    fn fetch_by_pk<T: Model>(&mut self, pk: Vec<Value>) -> Result<Option<Handle<T>>> {
        let info = model_info::<T>()?;
        let select_by_pk = || {
            let mut stmt = crate::query::select::<T>();
            for (&i, v) in info.pk.iter().zip(&pk) {
                stmt = stmt.filter(T::c(info.names[i]).eq(v.clone()));
            }
            stmt.into_core()
        };
        // The statement differs only in its parameters: its text is compiled once, and
        // the last model's is kept at hand for a run of gets.
        let last = match &mut self.get_text {
            Some(last) if last.is_for(info) => last,
            slot => slot.insert(LastText::new(info, self.engine.dialect())),
        };
        let Some(sql) = last.get(&Shape::Get, &pk, select_by_pk)? else {
            return Ok(self.run_select::<T>(&select_by_pk())?.into_iter().next());
        };
        self.autoflush()?;
        let row = {
            let conn = self.connection()?;
            let mut result = conn.exec_shared_sql(&sql, &pk)?;
            // The primary key matches one row at most.
            let mut values = Vec::with_capacity(info.columns.len());
            result.fetch_into(&mut values)?.then_some(values)
        };
        row.map(|values| self.load_row::<T>(values)).transpose()
    }

    /// Flush pending changes if autoflush is on and anything changed.
    pub(crate) fn autoflush(&mut self) -> Result<()> {
        self.check_write_guards()?;
        if self.autoflush
            && (!self.pending.is_empty()
                || !self.deleted.is_empty()
                || self.link.hint.load(Ordering::Acquire))
        {
            self.flush()?;
        }
        Ok(())
    }

    /// An error while this thread holds a `write()` guard on an object of this session:
    /// flushing or loading would wait on the guard forever.
    pub(crate) fn check_write_guards(&self) -> Result<()> {
        match written_in(self.link.id) {
            None => Ok(()),
            Some(o) => {
                let info = o.info();
                let key = o.meta().key.as_ref().map(IdentityKey::text);
                Err(Error::InvalidRequest(format!(
                    "a write() guard on {} {} is alive on this thread: drop it before the session flushes, queries or loads",
                    info.short_name(),
                    key.as_deref().unwrap_or("(no key yet)")
                )))
            }
        }
    }

    /// Run a Core SELECT whose columns are `T`'s columns in field order, loading rows
    /// into the identity map.
    pub(crate) fn run_select<T: Model>(&mut self, stmt: &dyn Compilable) -> Result<Vec<Handle<T>>> {
        self.autoflush()?;
        let rows: Vec<Vec<Value>> = {
            let conn = self.connection()?;
            let mut out = Vec::new();
            let mut result = conn.execute(stmt)?;
            while let Some(r) = result.fetch_one()? {
                out.push(r.into_values());
            }
            out
        };
        rows.into_iter().map(|v| self.load_row::<T>(v)).collect()
    }

    /// Put a row's values (in `T`'s column order) into the identity map and return the
    /// object; an existing object keeps its unflushed changes unless it was expired.
    pub(crate) fn load_row<T: Model>(&mut self, mut values: Vec<Value>) -> Result<Handle<T>> {
        let info = model_info::<T>()?;
        let obj = self.load_erased(info, &mut values)?;
        typed(info, obj)
    }

    /// Run an ORM select and return its objects (`session.scalars(stmt).all()`).
    ///
    /// Relationships are loaded by the statement's loader options, then by each
    /// relationship's default strategy.
    pub fn scalars<T: Model>(&mut self, stmt: &Select<T>) -> Result<ScalarResult<T>> {
        let info = model_info::<T>()?;
        let (objs, joined) = self.run_orm_select(info, stmt.core(), stmt.load_paths())?;
        let mut visited = Vec::new();
        self.apply_loaders(info, &objs, stmt.load_paths(), &mut visited, &joined)?;
        let handles = objs
            .into_iter()
            .map(|o| typed(info, o))
            .collect::<Result<Vec<_>>>()?;
        Ok(ScalarResult::new(handles))
    }

    /// The first object of an ORM select, if any (`session.scalar(stmt)`).
    pub fn scalar<T: Model>(&mut self, stmt: &Select<T>) -> Result<Option<Handle<T>>> {
        Ok(self.scalars(stmt)?.first())
    }

    /// Load the rows of a Core statement as `T` objects, matching result columns to
    /// `T`'s columns by name.
    pub fn scalars_from<T: Model>(&mut self, stmt: &dyn Compilable) -> Result<ScalarResult<T>> {
        self.autoflush()?;
        let info = model_info::<T>()?;
        // The position of each of `T`'s columns among the result's, found with the first
        // row (when the driver knows the result's columns for sure).
        let rows: Vec<Vec<Value>> = {
            let conn = self.connection()?;
            let mut result = conn.execute(stmt)?;
            let mut positions: Option<Vec<usize>> = None;
            let mut out = Vec::new();
            let mut values = Vec::new();
            while result.fetch_into(&mut values)? {
                let cols = result.columns();
                let missing = |name: &str| {
                    Error::InvalidRequest(format!(
                        "the statement's rows have no column {name:?} needed to load {} (columns: {})",
                        info.short_name(),
                        cols.join(", ")
                    ))
                };
                let pos = match &positions {
                    Some(p) => p,
                    None => positions.insert(
                        info.names
                            .iter()
                            .map(|name| {
                                cols.iter()
                                    .position(|c| c == name)
                                    .ok_or_else(|| missing(name))
                            })
                            .collect::<Result<Vec<usize>>>()?,
                    ),
                };
                let mut ordered = Vec::with_capacity(pos.len());
                for (&i, name) in pos.iter().zip(&info.names) {
                    let v = values.get_mut(i).ok_or_else(|| missing(name))?;
                    ordered.push(std::mem::take(v));
                }
                out.push(ordered);
            }
            out
        };
        let mut handles = Vec::with_capacity(rows.len());
        for mut ordered in rows {
            let obj = self.load_erased(info, &mut ordered)?;
            handles.push(typed(info, obj)?);
        }
        Ok(ScalarResult::new(handles))
    }

    /// Run a Core statement (or `text()`) in the session's transaction, after autoflush.
    pub fn execute(&mut self, stmt: &dyn Compilable) -> Result<CursorResult<'_>> {
        self.autoflush()?;
        let conn = self.connection()?;
        Ok(conn.execute(stmt)?)
    }

    /// The legacy query API: `session.query::<Task>().all()`.
    pub fn query<T: Model>(&mut self) -> Query<'_, T> {
        Query::new(self)
    }

    /// Flush, then commit the transaction. Objects are expired (reloaded on next load)
    /// unless expire-on-commit is off; the connection goes back to the pool.
    pub fn commit(&mut self) -> Result<()> {
        self.flush()?;
        if self.in_tx {
            if let Some(c) = self.conn.as_mut() {
                c.commit_transaction()?;
            }
            self.in_tx = false;
        }
        self.conn = None;
        for o in self.flushed_deleted.drain(..) {
            o.meta().leave_session(ObjectState::Detached);
        }
        self.inserted_in_tx.clear();
        self.rekeyed_in_tx.clear();
        self.updated_in_tx.clear();
        self.wrote_in_tx = false;
        if self.expire_on_commit {
            self.expire_all();
        }
        Ok(())
    }

    /// Roll back the transaction: pending objects are dropped from the session,
    /// deletions undone, and every object expired.
    pub fn rollback(&mut self) -> Result<()> {
        self.end(false)
    }

    /// Roll back, expire every object and, with `detach`, detach them all (`close`), in
    /// one pass over the identity map. A close after a transaction that wrote nothing
    /// leaves the objects as they are (they hold what the database holds, as after
    /// SQLAlchemy's `close()`) and detaches them all at once, without visiting them.
    /// Give `obj` the identity key `key` in the identity map (in place of the one it
    /// has, whose entry goes if it is `obj`'s); returns the key it had.
    pub(crate) fn move_in_identity(
        &mut self,
        obj: &Arc<dyn AnyObject>,
        key: Option<IdentityKey>,
    ) -> Option<IdentityKey> {
        let old = std::mem::replace(&mut obj.meta().key, key.clone());
        if let Some(k) = &old {
            self.unfile(k, obj);
        }
        if let Some(k) = key {
            self.identity.insert(k, obj.clone());
        }
        old
    }

    /// Drop the identity map's entry of `key` if it is `obj` (another object may hold
    /// the key by now).
    pub(crate) fn unfile(&mut self, key: &IdentityKey, obj: &Arc<dyn AnyObject>) {
        if self.identity.get(key).is_some_and(|o| same_object(o, obj)) {
            self.identity.swap_remove(key);
        }
    }

    fn end(&mut self, detach: bool) -> Result<()> {
        let wrote = self.wrote_in_tx;
        let result = match (self.in_tx, self.conn.as_mut()) {
            (true, Some(c)) => c.rollback_transaction().map_err(Error::from),
            _ => Ok(()),
        };
        self.in_tx = false;
        self.wrote_in_tx = false;
        self.conn = None;
        if detach && !wrote && self.pending.is_empty() && self.inserted_in_tx.is_empty() {
            self.link.close();
            self.link = SessionLink::new();
            self.deleted.clear();
            self.identity.clear();
            self.flushed_deleted.clear();
            self.rekeyed_in_tx.clear();
            self.updated_in_tx.clear();
            return result;
        }
        // Objects whose primary key changed go back under their keys of before, last
        // change first.
        while let Some((o, old)) = self.rekeyed_in_tx.pop() {
            self.move_in_identity(&o, old);
        }
        // Objects UPDATEd in the transaction take back the values of before it (their
        // first UPDATE's, applied last), which the rollback below puts into them; a
        // close leaves the objects it detaches as they are.
        if detach {
            self.updated_in_tx.clear();
        }
        while let Some((o, before)) = self.updated_in_tx.pop() {
            o.meta().snapshot = Snapshot::Values(before);
        }
        for o in self.pending.drain(..).chain(self.inserted_in_tx.drain(..)) {
            if let Some(k) = o.meta().key.take() {
                self.identity.swap_remove(&k);
            }
            let mut m = o.meta();
            m.leave_session(ObjectState::Transient);
            m.snapshot = Snapshot::None;
        }
        self.deleted.clear();
        // Unflushed changes are discarded: expired objects reload on their next load.
        self.link.hint.store(false, Ordering::Release);
        for o in self.identity.values() {
            // A rollback drops unflushed changes; objects a close detaches keep theirs,
            // as SQLAlchemy's do.
            if !detach {
                discard_changes(o);
            }
            o.take_touched();
            expire_and_detach(o, detach);
        }
        if detach {
            self.identity.clear();
        }
        for o in self.flushed_deleted.drain(..) {
            if detach {
                expire_and_detach(&o, true);
                continue;
            }
            let key = o.meta().key.clone();
            o.meta().set_state(ObjectState::Persistent);
            expire(&o);
            if let Some(k) = key {
                self.identity.insert(k, o);
            }
        }
        result
    }

    /// Roll back and detach every object; the session can be used again afterwards.
    /// Objects keep their values and loaded relationships, as after SQLAlchemy's
    /// `close()`; only when the transaction wrote (its flushes are rolled back) are they
    /// expired too, since their values may no longer be the database's.
    pub fn close(&mut self) -> Result<()> {
        self.end(true)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
