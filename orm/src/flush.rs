//! The unit of work: find what changed, write it in dependency order, atomically.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use strata_core::engine::Connection;
use strata_core::{delete, insert, update, Expr, MetaData, Table, Value};

use crate::delete_order;
use crate::handle::{AnyObject, Changes, ObjectState, Snapshot};
use crate::info::{key_part, IdentityKey, KeyHash, KeyPart, ModelInfo, Params, RowKey};
use crate::plan::{ptr, AssocRow, Link, Plan, PtrMap, PtrSet};
use crate::session::{same_object, Session};
use crate::statements::{reusable_sql, Cols, LastText, Shape};
use crate::{Error, Result};

/// What a successful flush changes in memory, applied only after every statement ran.
#[derive(Default)]
struct Applied {
    inserted: Vec<(Arc<dyn AnyObject>, Vec<Value>, bool)>,
    updated: Vec<Updated>,
    deleted: Vec<Arc<dyn AnyObject>>,
}

/// An UPDATE that ran, as the flush applies it to its object.
struct Updated {
    obj: Arc<dyn AnyObject>,
    /// The values written (empty when only changed values were taken, see `own`).
    values: Vec<Value>,
    /// The values written are the object's own current values.
    own: bool,
    /// A primary key column was SET: the object's identity key changes.
    rekey: bool,
}

struct Dirty {
    obj: Arc<dyn AnyObject>,
    /// The values to write.
    values: DirtyValues,
    /// The columns that differ from the snapshot.
    changed: Cols,
    /// The snapshot's primary key and version values (`ModelInfo::row_key`).
    old: RowKey,
    /// The values are the object's own current values.
    own: bool,
}

/// The values an UPDATE writes.
enum DirtyValues {
    /// The whole row, kept after the statement (for rows that other rows read, version
    /// counters and onupdate columns).
    Row(Vec<Value>),
    /// The changed columns' values alone, in the order of `Dirty::changed`: they become
    /// the statement's first parameters.
    Changed(Params),
}

impl Dirty {
    /// What to write for `obj` with the values `values`; `None` without a snapshot or
    /// when nothing changed. `own` says `values` are the object's own current values.
    fn new(
        info: &ModelInfo,
        obj: &Arc<dyn AnyObject>,
        values: Vec<Value>,
        own: bool,
    ) -> Option<Self> {
        let diff = |snapshot: &[Value]| -> Option<(Cols, RowKey)> {
            let changed: Cols = (0..values.len())
                .filter(|&i| !values[i].same_as(&snapshot[i]))
                .collect();
            if changed.is_empty() {
                return None;
            }
            Some((changed, info.row_key(snapshot)))
        };
        let m = obj.meta();
        let (changed, old) = match &m.snapshot {
            Snapshot::None => return None,
            // The snapshot is the object's current values.
            Snapshot::Current if own => return None,
            Snapshot::Current => {
                drop(m);
                diff(&obj.values())?
            }
            Snapshot::Values(snapshot) => diff(snapshot)?,
        };
        Some(Dirty {
            obj: obj.clone(),
            values: DirtyValues::Row(values),
            changed,
            old,
            own,
        })
    }

    /// What to write for `obj`, whose values are its own and only its changed columns
    /// are needed (no version counter, no onupdate column, no other row reads them):
    /// the changes are found in place, and only changed values are copied.
    fn changed_columns(obj: &Arc<dyn AnyObject>) -> Option<Self> {
        let Changes {
            changed,
            values,
            old,
        } = obj.changes()?;
        if changed.is_empty() {
            return None;
        }
        Some(Dirty {
            obj: obj.clone(),
            values: DirtyValues::Changed(values),
            changed,
            old,
            own: true,
        })
    }
}

/// An object with its column values at flush time.
type Row = (Arc<dyn AnyObject>, Vec<Value>);

const FLUSH_SAVEPOINT: &str = "strata_flush";
/// Parameters per INSERT statement (and keys per batched DELETE), well under every
/// database's limit (SQLite 32 766, PostgreSQL 65 535).
const MAX_PARAMS: usize = 10_000;

/// `e`, raised by a statement for an object of `info`, as a flush error naming the
/// object by the key text `key` gives (asked only when `e` is wrapped).
fn flush_error(info: &ModelInfo, key: impl FnOnce() -> String, e: Error) -> Error {
    match e {
        e @ (Error::StaleData { .. } | Error::Flush { .. }) => e,
        e => Error::Flush {
            model: info.short_name().to_string(),
            key: key(),
            source: Box::new(e),
        },
    }
}

/// The tables involved, parents before children.
fn table_order(infos: &[&'static ModelInfo]) -> Result<Vec<&'static ModelInfo>> {
    let mut unique: Vec<&'static ModelInfo> = Vec::new();
    for i in infos {
        if !unique.iter().any(|u| u.type_id == i.type_id) {
            unique.push(i);
        }
    }
    if unique.len() <= 1 {
        return Ok(unique);
    }
    let mut md = MetaData::new();
    for i in &unique {
        if md.table(&i.table.fullname()).is_none() {
            md.add_table(i.table.clone())?;
        }
    }
    let sorted = md.sorted_tables()?;
    let mut out = Vec::with_capacity(unique.len());
    for t in sorted {
        out.extend(
            unique
                .iter()
                .copied()
                .filter(|i| i.table.fullname() == t.fullname()),
        );
    }
    Ok(out)
}

/// The parameters of `row_where(info, old)` (`old` a `ModelInfo::row_key`), in its
/// order: the primary key, then the version unless it is NULL (matched with
/// `IS NULL`). Returns whether it is NULL (`None`: no version column), which the
/// statement's text depends on.
fn row_params(info: &ModelInfo, old: &[Value], params: &mut Params) -> Option<bool> {
    params.extend(old[..info.pk.len()].iter().cloned());
    let version = info.key_version(old);
    if let Some(v) = version.filter(|v| !v.is_null()) {
        params.push(v.clone());
    }
    version.map(Value::is_null)
}

/// A row an UPDATE or DELETE was to change (`old` its `ModelInfo::row_key`) that it did
/// not match exactly once.
fn stale(info: &ModelInfo, old: &[Value], statement: &str, matched: u64) -> Error {
    Error::StaleData {
        model: info.short_name().to_string(),
        key: info.row_key_text(old),
        statement: statement.into(),
        matched,
        expected: 1,
    }
}

/// Run `sql` once per row of `params` (pipelined on PostgreSQL); each run must match
/// exactly one row, that of the row key in `olds` at the same position (which errors
/// name).
fn run_each_on_one_row(
    conn: &mut Connection,
    info: &ModelInfo,
    statement: &str,
    sql: &str,
    params: &[&[Value]],
    olds: &[&[Value]],
) -> Result<()> {
    let mut affected = Vec::with_capacity(params.len());
    if let Err(e) = conn.exec_driver_sql_each(sql, params, &mut affected) {
        let failed = olds[affected.len().min(olds.len() - 1)];
        return Err(flush_error(info, || info.row_key_text(failed), e.into()));
    }
    match affected.iter().zip(olds).find(|(&n, _)| n != 1) {
        Some((&n, old)) => Err(stale(info, old, statement, n)),
        None => Ok(()),
    }
}

/// Run the Core statement `stmt` for the row of the row key `old`: it must match that
/// row exactly once.
fn run_on_one_row(
    conn: &mut Connection,
    info: &ModelInfo,
    statement: &str,
    stmt: &dyn strata_core::Compilable,
    old: &[Value],
) -> Result<()> {
    let matched = conn
        .execute(stmt)
        .map_err(|e| flush_error(info, || info.row_key_text(old), e.into()))?
        .rows_affected();
    if matched != 1 {
        return Err(stale(info, old, statement, matched));
    }
    Ok(())
}

/// The conditions that match the row of the row key `old` (`ModelInfo::row_key`): its
/// primary key and its version.
fn row_where(info: &ModelInfo, old: &[Value]) -> Expr {
    let mut conds = info.pk_condition(old);
    if let (Some(c), Some(version)) = (info.version, info.key_version(old)) {
        let c = info.table.c(info.names[c]);
        conds.push(if version.is_null() {
            c.is_null()
        } else {
            c.eq(version.clone())
        });
    }
    strata_core::and_(conds)
}

impl Session {
    /// Write every pending change: INSERTs of new objects (parents first, batched per
    /// table with generated keys read back, foreign keys taken from related objects),
    /// UPDATEs of changed columns only (none when nothing changed), association rows,
    /// DELETEs (children first, after cascades). Atomic: on error nothing of this flush
    /// stays in the database and every object is as it was before.
    pub fn flush(&mut self) -> Result<()> {
        self.check_write_guards()?;
        let mut touched = Vec::new();
        if self.link.hint.swap(false, Ordering::AcqRel) {
            for obj in self.identity.values() {
                if obj.take_touched() && obj.meta().state() == ObjectState::Persistent {
                    touched.push(obj.clone());
                }
            }
        }
        if self.pending.is_empty() && self.deleted.is_empty() && touched.is_empty() {
            return Ok(());
        }
        let restore = |s: &Session, touched: &[Arc<dyn AnyObject>]| {
            for t in touched {
                t.touch();
            }
            if !touched.is_empty() {
                s.link.hint.store(true, Ordering::Release);
            }
        };
        let plan = match self.plan(&touched) {
            Ok(p) => p,
            Err(e) => {
                restore(self, &touched);
                return Err(e);
            }
        };
        // Objects the flush will update in memory must not be borrowed.
        for obj in plan.inserts.iter().chain(&plan.updates) {
            if !obj.is_free() {
                restore(self, &touched);
                let info = obj.info();
                return Err(Error::InvalidRequest(format!(
                    "cannot flush {} {} while a read()/write() guard on it is alive; drop the guard first",
                    info.short_name(),
                    info.key_text(&obj.values())
                )));
            }
        }
        // Validation runs before any SQL.
        for obj in plan.inserts.iter().chain(&plan.updates) {
            if let Err(message) = obj.validate() {
                restore(self, &touched);
                let info = obj.info();
                return Err(Error::Validation {
                    model: info.short_name().to_string(),
                    key: info.key_text(&obj.values()),
                    message,
                });
            }
        }
        let use_savepoint = self.in_tx && self.wrote_in_tx;
        let conn = match self.connection() {
            Ok(c) => c,
            Err(e) => {
                restore(self, &touched);
                return Err(e);
            }
        };
        if use_savepoint {
            if let Err(e) = conn.savepoint(FLUSH_SAVEPOINT) {
                restore(self, &touched);
                return Err(e.into());
            }
        }
        match run(conn, &plan) {
            Ok(applied) => {
                if use_savepoint {
                    conn.end_savepoint(FLUSH_SAVEPOINT, true)?;
                }
                self.wrote_in_tx = true;
                self.apply(applied, &plan)
            }
            Err(e) => {
                if use_savepoint {
                    let _ = conn.end_savepoint(FLUSH_SAVEPOINT, false);
                } else {
                    let _ = conn.rollback_transaction();
                    self.in_tx = false;
                    self.conn = None;
                }
                restore(self, &touched);
                Err(e)
            }
        }
    }

    fn apply(&mut self, applied: Applied, plan: &Plan) -> Result<()> {
        // Objects leave `pending` (and `deleted`) by their new state, in one pass each.
        let mut failed = None;
        self.identity.reserve(applied.inserted.len());
        self.inserted_in_tx.reserve(applied.inserted.len());
        for (obj, values, server_unknown) in applied.inserted {
            let key = obj.info().key(&values);
            // The values come back when a guard kept the object from taking them.
            let kept = match obj.try_set_values(values) {
                Ok(kept) => kept,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            };
            obj.take_touched();
            {
                let mut m = obj.meta();
                m.set_state(ObjectState::Persistent);
                m.expired = server_unknown || kept.is_some();
                m.snapshot = match kept {
                    Some(v) => Snapshot::Values(v),
                    None => Snapshot::Current,
                };
                m.key = key.clone();
            }
            if let Some(k) = key {
                self.identity.insert(k, obj.clone());
            }
            self.inserted_in_tx.push(obj);
        }
        self.pending
            .retain(|p| p.meta().state() == ObjectState::Pending);
        if let Some(e) = failed {
            return Err(e);
        }
        for Updated {
            obj,
            values,
            own,
            rekey,
        } in applied.updated
        {
            if rekey {
                let info = obj.info();
                let key = if own {
                    info.key(&obj.values())
                } else {
                    info.key(&values)
                };
                self.rekey(&obj, key);
            }
            // The row's values before the UPDATE, for a rollback: the snapshot, or (an
            // object the flush set a foreign key of, not written itself) its values as
            // they are until the written ones go in below.
            let old = std::mem::replace(&mut obj.meta().snapshot, Snapshot::Current);
            let mut before = match old {
                Snapshot::Values(v) => Some(v),
                _ => None,
            };
            if !own {
                let now = obj.values();
                if !crate::handle::same_values(&now, &values) {
                    before.get_or_insert(now);
                    if let Some(values) = obj.try_set_values(values)? {
                        let mut m = obj.meta();
                        m.expired = true;
                        m.snapshot = Snapshot::Values(values);
                    }
                }
            }
            obj.take_touched();
            if let Some(before) = before {
                self.updated_in_tx.push((obj, before));
            }
        }
        let any_deleted = !applied.deleted.is_empty();
        for obj in applied.deleted {
            let key = {
                let mut m = obj.meta();
                m.set_state(ObjectState::Deleted);
                m.key.clone()
            };
            // A new object that took over the row has the key now.
            if let Some(k) = key {
                self.unfile(&k, &obj);
            }
            self.flushed_deleted.push(obj);
        }
        if any_deleted {
            self.deleted
                .retain(|d| d.meta().state() != ObjectState::Deleted);
        }
        if !plan.expunge.is_empty() {
            let expunged: PtrSet = plan.expunge.iter().map(ptr).collect();
            self.pending.retain(|p| !expunged.contains(&ptr(p)));
        }
        for obj in &plan.expunge {
            self.deleted.remove(obj);
            obj.meta().leave_session(ObjectState::Transient);
        }
        for h in &plan.holders {
            for i in 0..h.info().relationships.len() {
                h.rel_update(i, &mut |r| r.mark_flushed())?;
            }
        }
        Ok(())
    }

    /// Put `obj`, whose primary key a flush changed, under its new identity key `key`
    /// (a rollback puts it back).
    fn rekey(&mut self, obj: &Arc<dyn AnyObject>, key: Option<IdentityKey>) {
        let old = self.move_in_identity(obj, key);
        self.rekeyed_in_tx.push((obj.clone(), old));
    }
}

/// Column values as the flush goes: generated keys of inserted parents flow into the
/// foreign keys of their children.
struct Work<'p> {
    values: PtrMap<Vec<Value>>,
    /// The links of the plan, by child.
    links: PtrMap<Vec<&'p Link>>,
    /// Objects whose values other rows read (link parents, association rows).
    read: PtrSet,
}

impl<'p> Work<'p> {
    fn new(plan: &'p Plan) -> Self {
        let mut links: PtrMap<Vec<&'p Link>> = PtrMap::default();
        let mut read = PtrSet::default();
        for l in &plan.links {
            links.entry(ptr(&l.child)).or_default().push(l);
            read.extend(l.parent.iter().chain(&l.only_if).map(ptr));
        }
        for a in &plan.assoc {
            read.insert(ptr(&a.local));
            read.insert(ptr(&a.remote));
        }
        read.extend(plan.clears.iter().map(|c| ptr(&c.obj)));
        Work {
            values: PtrMap::default(),
            links,
            read,
        }
    }

    fn get(&self, o: &Arc<dyn AnyObject>) -> Vec<Value> {
        self.values
            .get(&ptr(o))
            .cloned()
            .unwrap_or_else(|| o.values())
    }

    /// `o`'s values for its INSERT (taken: [`Work::written`] records them again).
    fn take(&mut self, o: &Arc<dyn AnyObject>) -> Vec<Value> {
        self.values.remove(&ptr(o)).unwrap_or_else(|| o.values())
    }

    /// Record the values `o` was written with, when another row reads them.
    fn written(&mut self, o: &Arc<dyn AnyObject>, values: &[Value]) {
        if self.read.contains(&ptr(o)) {
            self.values.insert(ptr(o), values.to_vec());
        }
    }

    fn links_of(&self, o: &Arc<dyn AnyObject>) -> &[&'p Link] {
        self.links.get(&ptr(o)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `o` takes a value from a row of `inserted` (objects this flush inserts).
    fn waits_on_inserts(&self, o: &Arc<dyn AnyObject>, inserted: &PtrSet) -> bool {
        self.links_of(o).iter().any(|l| {
            l.parent
                .iter()
                .chain(&l.only_if)
                .any(|p| inserted.contains(&ptr(p)))
        })
    }

    /// The value of column `col` of `o` as the flush has it (without copying its row).
    fn value_of(&self, o: &Arc<dyn AnyObject>, col: usize) -> Value {
        match self.values.get(&ptr(o)) {
            Some(v) => v[col].clone(),
            None => o.column_value(col).unwrap_or(Value::Null),
        }
    }

    /// Apply the links that set `obj`'s foreign keys.
    fn sync(&mut self, obj: &Arc<dyn AnyObject>) {
        let Some(links) = self.links.get(&ptr(obj)).filter(|l| !l.is_empty()) else {
            return;
        };
        let mut values = self.get(obj);
        for l in links {
            match &l.parent {
                Some(p) => {
                    for (&c, &pc) in l.child_cols.iter().zip(&l.parent_cols) {
                        values[c] = self.value_of(p, pc);
                    }
                }
                None => {
                    let still_points = match &l.only_if {
                        Some(old) => l
                            .child_cols
                            .iter()
                            .zip(&l.parent_cols)
                            .all(|(&c, &pc)| values[c].same_as(&self.value_of(old, pc))),
                        None => true,
                    };
                    if still_points {
                        for &c in &l.child_cols {
                            values[c] = Value::Null;
                        }
                    }
                }
            }
        }
        self.values.insert(ptr(obj), values);
    }
}

fn run(conn: &mut Connection, plan: &Plan) -> Result<Applied> {
    let mut applied = Applied::default();
    applied.updated.reserve(plan.updates.len());
    let mut work = Work::new(plan);
    let infos: Vec<&'static ModelInfo> = plan
        .inserts
        .iter()
        .chain(&plan.updates)
        .chain(&plan.deletes)
        .map(|o| o.info())
        .collect();
    let order = table_order(&infos)?;
    let returning = conn.dialect().capabilities().returning;
    // Deleted objects whose rows new objects took over.
    let mut switched = PtrSet::default();
    let inserted: PtrSet = plan.inserts.iter().map(ptr).collect();
    for info in &order {
        // Inserts, in rounds so that a row's parent in the same table goes first.
        let mut waiting: Vec<Arc<dyn AnyObject>> = plan
            .inserts
            .iter()
            .filter(|o| o.info().type_id == info.type_id)
            .cloned()
            .collect();
        // UPDATEs run before the INSERTs, as SQLAlchemy runs them (a row that gives up a
        // unique value, e.g. a replaced one-to-one child, lets a new row take it), except
        // those that take a key from a row inserted in this flush.
        let (early, late): (Vec<_>, Vec<_>) = plan
            .updates
            .iter()
            .filter(|o| o.info().type_id == info.type_id)
            .partition(|o| !work.waits_on_inserts(o, &inserted));
        update_objects(conn, info, &early, &mut work, returning, &mut applied)?;
        if !waiting.is_empty() && !plan.deletes.is_empty() {
            let mut switch = RowSwitch {
                plan,
                work: &mut work,
                switched: &mut switched,
                applied: &mut applied,
            };
            switch.run(conn, info, &mut waiting)?;
        }
        for ready in insert_rounds(&work, info, waiting)? {
            let mut rows = Vec::with_capacity(ready.len());
            for o in &ready {
                work.sync(o);
                rows.push((o.clone(), work.take(o)));
            }
            let start = applied.inserted.len();
            insert_objects(conn, info, rows, returning, &mut applied)?;
            for (o, v, _) in &applied.inserted[start..] {
                work.written(o, v);
            }
        }
        update_objects(conn, info, &late, &mut work, returning, &mut applied)?;
    }
    write_association_rows(conn, plan, &work)?;
    for info in order.iter().rev() {
        // Children found by a cascade come later in the list: delete them first.
        let objs: Vec<&Arc<dyn AnyObject>> = plan
            .deletes
            .iter()
            .rev()
            .filter(|o| o.info().type_id == info.type_id && !switched.contains(&ptr(o)))
            .collect();
        if !objs.is_empty() {
            delete_objects(conn, info, &objs, &mut applied)?;
        }
    }
    Ok(applied)
}

/// The new objects of one table in rounds of INSERTs: each after the objects of the
/// same table it takes a key from, in the order given within a round. Each object
/// goes in the first round after all of its parents' (Kahn's algorithm: linear in
/// objects and links, so a deep chain of self-referential rows costs no more per row
/// than a flat list).
fn insert_rounds(
    work: &Work,
    info: &ModelInfo,
    objs: Vec<Arc<dyn AnyObject>>,
) -> Result<Vec<Vec<Arc<dyn AnyObject>>>> {
    if work.links.is_empty() {
        // No row waits for another.
        return Ok(if objs.is_empty() { vec![] } else { vec![objs] });
    }
    let at: PtrMap<usize> = objs.iter().enumerate().map(|(i, o)| (ptr(o), i)).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); objs.len()];
    let mut parents_left = vec![0usize; objs.len()];
    for (i, o) in objs.iter().enumerate() {
        for l in work.links_of(o) {
            let parent = l.parent.as_ref().filter(|p| !same_object(p, o));
            if let Some(&p) = parent.and_then(|p| at.get(&ptr(p))) {
                children[p].push(i);
                parents_left[i] += 1;
            }
        }
    }
    let mut round = vec![usize::MAX; objs.len()];
    let mut queue: Vec<usize> = (0..objs.len()).filter(|&i| parents_left[i] == 0).collect();
    for &i in &queue {
        round[i] = 0;
    }
    let mut next = 0;
    while let Some(&p) = queue.get(next) {
        next += 1;
        for &c in &children[p] {
            parents_left[c] -= 1;
            if parents_left[c] == 0 {
                round[c] = round[p] + 1;
                queue.push(c);
            }
        }
    }
    if queue.len() < objs.len() {
        return Err(Error::InvalidRequest(format!(
            "{} objects of {} refer to each other in a cycle; flush them in two steps",
            objs.len() - queue.len(),
            info.short_name()
        )));
    }
    let rounds = round.iter().max().map_or(0, |r| r + 1);
    let mut out: Vec<Vec<Arc<dyn AnyObject>>> = vec![Vec::new(); rounds];
    for (o, r) in objs.into_iter().zip(round) {
        out[r].push(o);
    }
    Ok(out)
}

/// SQLAlchemy's row switch: a new object with the primary key of an object deleted in
/// the same flush takes over its row with one UPDATE, where an INSERT would be refused
/// by the row still there (deletes run last).
struct RowSwitch<'a, 'p> {
    plan: &'p Plan,
    work: &'a mut Work<'p>,
    /// The deleted objects whose rows were taken over (not deleted afterwards).
    switched: &'a mut PtrSet,
    applied: &'a mut Applied,
}

impl RowSwitch<'_, '_> {
    /// Take over the rows of deleted objects of `info` for the objects of `waiting` with
    /// their keys (they leave `waiting`). Models with a version column are left out.
    fn run(
        &mut self,
        conn: &mut Connection,
        info: &'static ModelInfo,
        waiting: &mut Vec<Arc<dyn AnyObject>>,
    ) -> Result<()> {
        if info.version.is_some() {
            return Ok(());
        }
        let mut gone: HashMap<IdentityKey, &Arc<dyn AnyObject>> = self
            .plan
            .deletes
            .iter()
            .filter(|d| d.info().type_id == info.type_id)
            .filter_map(|d| d.meta().key.clone().map(|k| (k, d)))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        let mut kept = Vec::with_capacity(waiting.len());
        for o in waiting.drain(..) {
            self.work.sync(&o);
            let old = info.key(&self.work.get(&o)).and_then(|k| gone.remove(&k));
            match old {
                Some(old) => self.take_over(conn, info, o, old)?,
                None => kept.push(o),
            }
        }
        *waiting = kept;
        Ok(())
    }

    /// Write `new`'s values into the row of the deleted `old`.
    fn take_over(
        &mut self,
        conn: &mut Connection,
        info: &'static ModelInfo,
        new: Arc<dyn AnyObject>,
        old: &Arc<dyn AnyObject>,
    ) -> Result<()> {
        let values = self.work.take(&new);
        let old_key = info.row_key(&old.snapshot().unwrap_or_else(|| old.values()));
        let mut sent = Vec::new();
        sent_columns(info, &values, &mut sent);
        sent.retain(|c| !info.pk.contains(c));
        // A column left to a default keeps the old row's value here: read it back.
        let unknown = sent.len() + info.pk.len() < values.len();
        if !sent.is_empty() {
            let mut stmt = update(&info.table);
            for &c in &sent {
                stmt = stmt.set(info.names[c], values[c].clone());
            }
            let stmt = stmt.where_(row_where(info, &old_key));
            run_on_one_row(conn, info, "UPDATE", &stmt, &old_key)?;
        }
        self.work.written(&new, &values);
        self.switched.insert(ptr(old));
        self.applied.deleted.push(old.clone());
        self.applied.inserted.push((new, values, unknown));
        Ok(())
    }
}

/// UPDATE the objects `objs` of `info`: those of one text whose values no other row reads
/// run together, in order.
fn update_objects(
    conn: &mut Connection,
    info: &'static ModelInfo,
    objs: &[&Arc<dyn AnyObject>],
    work: &mut Work,
    returning: bool,
    applied: &mut Applied,
) -> Result<()> {
    if objs.is_empty() {
        return Ok(());
    }
    let mut last_text = LastText::new(info, conn.dialect());
    let mut queue: Vec<PreparedUpdate> = Vec::with_capacity(objs.len());
    for &o in objs {
        work.sync(o);
        let read = work.read.contains(&ptr(o));
        let own = !work.values.contains_key(&ptr(o));
        let d = if own && info.version.is_none() && info.onupdate.is_empty() && !read {
            Dirty::changed_columns(o)
        } else {
            Dirty::new(info, o, work.get(o), own)
        };
        let Some(d) = d else {
            continue;
        };
        let p = prepare_update(info, d, returning, &mut last_text)?;
        if !read && p.batchable() {
            if queue.first().is_some_and(|q| q.sql != p.sql) {
                run_updates(conn, info, &mut queue, applied)?;
            }
            queue.push(p);
            continue;
        }
        run_updates(conn, info, &mut queue, applied)?;
        let start = applied.updated.len();
        update_object(conn, info, p, applied)?;
        for u in &applied.updated[start..] {
            work.written(&u.obj, &u.values);
        }
    }
    run_updates(conn, info, &mut queue, applied)
}

fn write_association_rows(conn: &mut Connection, plan: &Plan, work: &Work) -> Result<()> {
    for c in &plan.clears {
        let v = work.get(&c.obj);
        let conds: Vec<Expr> = c
            .assoc_cols
            .iter()
            .zip(&c.obj_cols)
            .map(|(a, &i)| c.table.c(a).eq(v[i].clone()))
            .collect();
        conn.execute(&delete(&c.table).where_(strata_core::and_(conds)))
            .map_err(|e| flush_error(c.obj.info(), || c.obj.info().key_text(&v), e.into()))?;
    }
    // Rows removed before rows added (as SQLAlchemy orders them), each table's together.
    for insert in [false, true] {
        let mut groups: Vec<Vec<&AssocRow>> = Vec::new();
        for a in plan.assoc.iter().filter(|a| a.insert == insert) {
            let same =
                |g: &&mut Vec<&AssocRow>| g[0].table.same_name(&a.table) && g[0].cols == a.cols;
            match groups.iter_mut().find(same) {
                Some(g) => g.push(a),
                None => groups.push(vec![a]),
            }
        }
        for group in groups {
            let rows: Vec<Vec<Value>> = group.iter().map(|a| association_row(a, work)).collect();
            if insert {
                insert_association_rows(conn, work, &group, rows)?;
            } else {
                delete_association_rows(conn, work, &group, &rows)?;
            }
        }
    }
    Ok(())
}

/// The association table's values for `a`: the local object's key, then the remote's.
fn association_row(a: &AssocRow, work: &Work) -> Vec<Value> {
    let lv = work.get(&a.local);
    let rv = work.get(&a.remote);
    let mut vals: Vec<Value> = a.local_cols.iter().map(|&i| lv[i].clone()).collect();
    vals.extend(a.remote_cols.iter().map(|&i| rv[i].clone()));
    vals
}

/// A failed association row's error, naming the object on its local side.
fn association_error(a: &AssocRow, work: &Work, e: strata_core::Error) -> Error {
    let info = a.local.info();
    flush_error(info, || info.key_text(&work.get(&a.local)), e.into())
}

/// Add the rows of one association table (same columns) in multi-row INSERTs.
fn insert_association_rows(
    conn: &mut Connection,
    work: &Work,
    group: &[&AssocRow],
    rows: Vec<Vec<Value>>,
) -> Result<()> {
    let (table, cols) = (&group[0].table, &group[0].cols);
    let per_statement = (MAX_PARAMS / cols.len().max(1)).max(1);
    let mut rows = rows.into_iter();
    for chunk in group.chunks(per_statement) {
        let stmt = insert(table)
            .columns(cols.iter().cloned())
            .value_rows(rows.by_ref().take(chunk.len()));
        conn.execute(&stmt)
            .map_err(|e| association_error(chunk[0], work, e))?;
    }
    Ok(())
}

/// Remove the rows of one association table (same columns): one DELETE text, run once
/// per row (prepared once on SQLite, pipelined on PostgreSQL).
fn delete_association_rows(
    conn: &mut Connection,
    work: &Work,
    group: &[&AssocRow],
    rows: &[Vec<Value>],
) -> Result<()> {
    let (table, cols) = (&group[0].table, &group[0].cols);
    let stmt = |vals: &[Value]| {
        let conds: Vec<Expr> = cols
            .iter()
            .zip(vals)
            .map(|(c, v)| table.c(c).eq(v.clone()))
            .collect();
        delete(table).where_(strata_core::and_(conds))
    };
    // A NULL is matched with IS NULL, which changes the text: such rows share none.
    let shared = if rows.iter().flatten().any(Value::is_null) {
        None
    } else {
        let compiled = strata_core::compile(&stmt(&rows[0]), conn.dialect())
            .map_err(|e| association_error(group[0], work, e))?;
        (compiled.params() == &rows[0][..]).then_some(compiled)
    };
    if let Some(compiled) = shared {
        let params: Vec<&[Value]> = rows.iter().map(Vec::as_slice).collect();
        let mut affected = Vec::with_capacity(rows.len());
        if let Err(e) = conn.exec_driver_sql_each(compiled.sql(), &params, &mut affected) {
            return Err(association_error(
                group[affected.len().min(group.len() - 1)],
                work,
                e,
            ));
        }
    } else {
        // Parameters the text does not take as they are: each row through Core.
        for (a, vals) in group.iter().zip(rows) {
            conn.execute(&stmt(vals))
                .map_err(|e| association_error(a, work, e))?;
        }
    }
    Ok(())
}

/// Which columns an INSERT sends (into `cols`, cleared first): everything but NULLs the
/// database or a default fills.
fn sent_columns(info: &ModelInfo, values: &[Value], cols: &mut Vec<usize>) {
    cols.clear();
    cols.extend((0..values.len()).filter(|&i| {
        let c = &info.columns[i];
        !(values[i].is_null()
            && (Some(i) == info.autoinc || c.server_default.is_some() || c.default.is_some()))
    }));
}

fn insert_objects(
    conn: &mut Connection,
    info: &'static ModelInfo,
    objs: Vec<Row>,
    returning: bool,
    applied: &mut Applied,
) -> Result<()> {
    // Batch rows that send the same columns, keeping the order they were added in. Most
    // often all rows send the same columns: the first group has room for all.
    let mut groups: Vec<(Vec<usize>, Vec<Row>)> = Vec::new();
    let mut cols = Vec::new();
    let count = objs.len();
    for (o, v) in objs {
        sent_columns(info, &v, &mut cols);
        match groups.iter_mut().find(|(c, _)| *c == cols) {
            Some((_, g)) => g.push((o, v)),
            None => {
                let mut g = Vec::with_capacity(if groups.is_empty() { count } else { 1 });
                g.push((o, v));
                groups.push((cols.clone(), g));
            }
        }
    }
    for (cols, mut rows) in groups {
        // Read back the generated key and server defaults not sent.
        let back: Vec<usize> = (0..info.columns.len())
            .filter(|i| {
                !cols.contains(i)
                    && (info.pk.contains(i)
                        || info.columns[*i].server_default.is_some()
                        || info.columns[*i].default.is_some())
            })
            .collect();
        // Rows that send no column are `DEFAULT VALUES`, which inserts one row.
        let per_stmt = match cols.len() {
            0 => 1,
            n => (MAX_PARAMS / n).max(1),
        };
        for chunk in rows.chunks_mut(per_stmt) {
            if returning || back.is_empty() {
                insert_chunk(conn, info, &cols, &back, chunk, returning, applied)?;
            } else {
                for row in chunk {
                    insert_chunk(
                        conn,
                        info,
                        &cols,
                        &back,
                        std::slice::from_mut(row),
                        false,
                        applied,
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// What an INSERT gave back: the rows of its RETURNING clause, or the last inserted id.
enum Inserted {
    /// The rows, one after the other, as many values each as RETURNING names.
    Returned(Vec<Value>),
    LastId(Option<i64>),
}

fn insert_chunk(
    conn: &mut Connection,
    info: &'static ModelInfo,
    cols: &[usize],
    back: &[usize],
    chunk: &mut [Row],
    returning: bool,
    applied: &mut Applied,
) -> Result<()> {
    let table: &Table = &info.table;
    let read_back = returning && !back.is_empty();
    // Returned: the primary key first, to match rows to objects.
    let ret_cols: Vec<usize> = if read_back {
        info.pk
            .iter()
            .copied()
            .chain(back.iter().copied().filter(|i| !info.pk.contains(i)))
            .collect()
    } else {
        Vec::new()
    };
    // The sent values move into the parameters for the statement, and back after it.
    let width = cols.len();
    let mut params: Vec<Value> = Vec::with_capacity(chunk.len() * width);
    for (_, v) in chunk.iter_mut() {
        params.extend(
            cols.iter()
                .map(|&i| std::mem::replace(&mut v[i], Value::Null)),
        );
    }
    let build = || {
        let stmt = insert(table)
            .columns(cols.iter().map(|&i| info.names[i]))
            .value_rows((0..chunk.len()).map(|r| params[r * width..(r + 1) * width].to_vec()));
        if read_back {
            stmt.returning(
                ret_cols
                    .iter()
                    .map(|&i| table.c(info.names[i]))
                    .collect::<Vec<_>>(),
            )
        } else {
            stmt
        }
    };
    let shape = Shape::Insert {
        cols: cols.iter().copied().collect(),
        rows: chunk.len(),
        returning: ret_cols.iter().copied().collect(),
    };
    let outcome = (|| -> Result<Inserted> {
        let sql = reusable_sql(info, conn.dialect(), &shape, &params, build)?;
        let mut result = match &sql {
            Some(sql) => conn.exec_shared_sql(sql, &params)?,
            None => conn.execute(&build())?,
        };
        if !read_back {
            return Ok(Inserted::LastId(result.last_insert_id()));
        }
        // The rows one after the other in one buffer, not a vector each.
        let width = ret_cols.len();
        let mut rows = Vec::with_capacity(chunk.len() * width);
        let mut row = Vec::with_capacity(width);
        while result.fetch_into(&mut row)? {
            if row.len() != width {
                return Err(Error::InvalidRequest(format!(
                    "INSERT ... RETURNING gave a row of {} values for {width} columns",
                    row.len()
                )));
            }
            rows.append(&mut row);
        }
        Ok(Inserted::Returned(rows))
    })();
    let mut params = params.into_iter();
    for (_, v) in chunk.iter_mut() {
        for (&i, p) in cols.iter().zip(params.by_ref()) {
            v[i] = p;
        }
    }
    let first = &chunk[0].1;
    let outcome = outcome.map_err(|e| flush_error(info, || info.key_text(first), e))?;
    match outcome {
        Inserted::Returned(mut rows) => {
            let width = ret_cols.len();
            let count = rows.len() / width.max(1);
            if count != chunk.len() {
                return Err(flush_error(
                    info,
                    || info.key_text(first),
                    Error::InvalidRequest(format!(
                        "INSERT returned {count} rows for {} objects",
                        chunk.len()
                    )),
                ));
            }
            applied.inserted.reserve(count);
            let generated_key = info.autoinc.is_some_and(|a| back.contains(&a));
            if generated_key {
                // Keys from one INSERT ascend in row order (the key is the first value).
                let mut order: Vec<usize> = (0..count).collect();
                order.sort_by_key(|&r| match &rows[r * width] {
                    Value::SmallInt(i) => *i as i64,
                    Value::Int(i) => *i as i64,
                    Value::BigInt(i) => *i,
                    _ => 0,
                });
                for ((obj, values), &r) in chunk.iter_mut().zip(&order) {
                    let mut v = std::mem::take(values);
                    let row = &mut rows[r * width..(r + 1) * width];
                    for (&c, val) in ret_cols.iter().zip(row) {
                        v[c] = std::mem::take(val);
                    }
                    applied.inserted.push((obj.clone(), v, false));
                }
            } else {
                // Match returned rows to objects by primary key (the first row wins).
                // Each row starts with the primary key (`ret_cols`).
                let npk = info.pk.len();
                let mut by_key: HashMap<Vec<KeyPart>, &[Value], KeyHash> = HashMap::default();
                for row in rows.chunks(width) {
                    by_key
                        .entry(row[..npk].iter().map(KeyPart::from).collect())
                        .or_insert(row);
                }
                for (obj, values) in chunk.iter_mut() {
                    let mut v = std::mem::take(values);
                    let key: Option<Vec<KeyPart>> =
                        info.pk.iter().map(|&i| key_part(&v, i)).collect();
                    if let Some(row) = key.as_ref().and_then(|k| by_key.get(k)) {
                        for (&c, val) in ret_cols.iter().zip(row.iter()) {
                            v[c] = val.clone();
                        }
                    }
                    applied.inserted.push((obj.clone(), v, false));
                }
            }
        }
        Inserted::LastId(last) => {
            let single = chunk.len() == 1;
            for (obj, values) in chunk.iter_mut() {
                let mut v = std::mem::take(values);
                let mut unknown = false;
                for &b in back {
                    if Some(b) == info.autoinc && single {
                        v[b] = last.map(Value::BigInt).unwrap_or(Value::Null);
                    } else {
                        unknown = true;
                    }
                }
                if unknown && single {
                    // No RETURNING (MySQL): the server's values are read back by key.
                    let read = select_by_key(conn, info, back, &v)
                        .map_err(|e| flush_error(info, || info.key_text(&v), e))?;
                    if let Some(row) = read {
                        for (&c, val) in back.iter().zip(row) {
                            v[c] = val;
                        }
                        unknown = false;
                    }
                }
                applied.inserted.push((obj.clone(), v, unknown));
            }
        }
    }
    Ok(())
}

/// The values of the columns `back` of the row just written with `values` (its
/// primary key known), read with a SELECT by its row key (`row_where`) where the
/// database has no RETURNING; `None` when the key is not known or no row has it.
fn select_by_key(
    conn: &mut Connection,
    info: &ModelInfo,
    back: &[usize],
    values: &[Value],
) -> Result<Option<Vec<Value>>> {
    if info.pk.iter().any(|&i| values[i].is_null()) {
        return Ok(None);
    }
    let table = &info.table;
    let stmt = strata_core::select(
        back.iter()
            .map(|&i| table.c(info.names[i]))
            .collect::<Vec<_>>(),
    )
    .where_(row_where(info, &info.row_key(values)));
    let mut result = conn.execute(&stmt)?;
    let mut row = Vec::with_capacity(back.len());
    Ok(result.fetch_into(&mut row)?.then_some(row))
}

/// An UPDATE ready to run: its text, parameters, and what the flush keeps of it.
struct PreparedUpdate {
    obj: Arc<dyn AnyObject>,
    /// The whole row written (`DirtyValues::Row`), empty when only the changed values
    /// were taken (they are the object's own, and nothing needs them afterwards).
    values: Vec<Value>,
    /// The snapshot's primary key and version values (`ModelInfo::row_key`).
    old: RowKey,
    own: bool,
    /// The columns SET, then the version bump.
    set: Cols,
    /// The columns read back by RETURNING.
    returned: Cols,
    /// The columns read back by a SELECT after the UPDATE (no RETURNING).
    selected: Cols,
    /// The parameters in statement order: SET values, then the WHERE clause's.
    params: Params,
    /// The SQL text, when it can be run with `params` as they are.
    sql: Option<Arc<str>>,
}

fn prepare_update(
    info: &'static ModelInfo,
    d: Dirty,
    returning: bool,
    last_text: &mut LastText,
) -> Result<PreparedUpdate> {
    let Dirty {
        obj,
        values,
        changed,
        old,
        mut own,
    } = d;
    let (mut values, mut params) = match values {
        DirtyValues::Row(values) => {
            let params = changed.iter().map(|&i| values[i].clone()).collect();
            (values, params)
        }
        DirtyValues::Changed(params) => (Vec::new(), params),
    };
    // The columns the UPDATE's onupdate values set: read back by RETURNING, or by a
    // SELECT after the UPDATE where the database has no RETURNING.
    let onupdate: Cols = info
        .onupdate
        .iter()
        .copied()
        .filter(|i| !changed.contains(i))
        .collect();
    let (returned, selected) = match returning {
        true => (onupdate, Cols::new()),
        false => (Cols::new(), onupdate),
    };
    // The columns SET: the changed ones, then the version bump.
    let mut set = changed;
    if let (Some(v), Some(version)) = (info.version, info.key_version(&old)) {
        if !set.contains(&v) {
            let next = match version {
                Value::SmallInt(i) => Value::SmallInt(i + 1),
                Value::Int(i) => Value::Int(i + 1),
                Value::BigInt(i) => Value::BigInt(i + 1),
                _ => Value::BigInt(1),
            };
            if let Some(slot) = values.get_mut(v) {
                *slot = next.clone();
            }
            params.push(next);
            set.push(v);
            own = false;
        }
    }
    let version_is_null = row_params(info, &old, &mut params);
    let shape = Shape::Update {
        set,
        version: version_is_null,
        returning: returned,
    };
    let sql = {
        let Shape::Update { set, returning, .. } = &shape else {
            unreachable!("built just above")
        };
        last_text
            .get(&shape, &params, || {
                update_statement(info, set, returning, &params, &old)
            })
            .map_err(|e| flush_error(info, || info.row_key_text(&old), e))?
    };
    // The statement's shape owned the column lists until the text was found.
    let Shape::Update {
        set,
        returning: returned,
        ..
    } = shape
    else {
        unreachable!("built just above")
    };
    Ok(PreparedUpdate {
        obj,
        values,
        old,
        own,
        set,
        returned,
        selected,
        params,
        sql,
    })
}

/// The Core UPDATE of `set` (values: the first of `params`) for the row of the row key
/// `old`, returning `returned`.
fn update_statement(
    info: &ModelInfo,
    set: &[usize],
    returned: &[usize],
    params: &[Value],
    old: &[Value],
) -> strata_core::Update {
    let table = &info.table;
    let mut stmt = update(table);
    for (&i, v) in set.iter().zip(params) {
        stmt = stmt.set(info.names[i], v.clone());
    }
    let stmt = stmt.where_(row_where(info, old));
    if returned.is_empty() {
        stmt
    } else {
        stmt.returning(
            returned
                .iter()
                .map(|&i| table.c(info.names[i]))
                .collect::<Vec<_>>(),
        )
    }
}

impl PreparedUpdate {
    /// The Core statement (for a text that cannot be reused).
    fn statement(&self, info: &ModelInfo) -> strata_core::Update {
        update_statement(info, &self.set, &self.returned, &self.params, &self.old)
    }

    /// Whether it can run with others of the same text (`run_updates`).
    fn batchable(&self) -> bool {
        self.sql.is_some() && self.returned.is_empty() && self.selected.is_empty()
    }

    /// Record the UPDATE, which matched its row, as done.
    fn finish(self, info: &ModelInfo, applied: &mut Applied) {
        let rekey = self.set.iter().any(|c| info.pk.contains(c));
        applied.updated.push(Updated {
            obj: self.obj,
            values: self.values,
            own: self.own,
            rekey,
        });
    }
}

/// Run one UPDATE on its own.
fn update_object(
    conn: &mut Connection,
    info: &'static ModelInfo,
    mut p: PreparedUpdate,
    applied: &mut Applied,
) -> Result<()> {
    let wrap = |e: strata_core::Error, old: &[Value]| {
        flush_error(info, || info.row_key_text(old), e.into())
    };
    let result = match &p.sql {
        Some(sql) => conn.exec_shared_sql(sql, &p.params),
        None => conn.execute(&p.statement(info)),
    };
    let matched = if p.returned.is_empty() {
        result.map_err(|e| wrap(e, &p.old))?.rows_affected()
    } else {
        let rows = result.and_then(|r| r.all()).map_err(|e| wrap(e, &p.old))?;
        if let Some(r) = rows.first() {
            for (&c, v) in p.returned.iter().zip(r.values()) {
                if let Some(slot) = p.values.get_mut(c) {
                    *slot = v.clone();
                }
            }
            p.own = false;
        }
        rows.len() as u64
    };
    if matched != 1 {
        return Err(stale(info, &p.old, "UPDATE", matched));
    }
    if !p.selected.is_empty() {
        let read = select_by_key(conn, info, &p.selected, &p.values)
            .map_err(|e| flush_error(info, || info.row_key_text(&p.old), e))?;
        for (&c, v) in p.selected.iter().zip(read.into_iter().flatten()) {
            if let Some(slot) = p.values.get_mut(c) {
                *slot = v;
            }
        }
        p.own = false;
    }
    p.finish(info, applied);
    Ok(())
}

/// Run UPDATEs of one text together (pipelined on PostgreSQL), in order.
fn run_updates(
    conn: &mut Connection,
    info: &'static ModelInfo,
    queue: &mut Vec<PreparedUpdate>,
    applied: &mut Applied,
) -> Result<()> {
    let Some(sql) = queue.first().and_then(|p| p.sql.clone()) else {
        return Ok(());
    };
    let params: Vec<&[Value]> = queue.iter().map(|p| &p.params[..]).collect();
    let olds: Vec<&[Value]> = queue.iter().map(|p| &p.old[..]).collect();
    run_each_on_one_row(conn, info, "UPDATE", &sql, &params, &olds)?;
    for p in queue.drain(..) {
        p.finish(info, applied);
    }
    Ok(())
}

fn delete_objects(
    conn: &mut Connection,
    info: &'static ModelInfo,
    objs: &[&Arc<dyn AnyObject>],
    applied: &mut Applied,
) -> Result<()> {
    // The rows as the database has them.
    let rows: Vec<Vec<Value>> = objs
        .iter()
        .map(|o| o.snapshot().unwrap_or_else(|| o.values()))
        .collect();
    let olds: Vec<RowKey> = rows.iter().map(|r| info.row_key(r)).collect();
    let rounds = match conn.dialect().capabilities().row_by_row_foreign_keys {
        true => delete_order::leaves_first(info, &rows),
        false => None,
    };
    match rounds {
        None => delete_rows(conn, info, &olds)?,
        Some(rounds) => {
            for round in rounds {
                let olds: Vec<RowKey> = round.iter().map(|&i| olds[i].clone()).collect();
                delete_rows(conn, info, &olds)?;
            }
        }
    }
    applied.deleted.extend(objs.iter().map(|o| (*o).clone()));
    Ok(())
}

/// DELETEs of the rows with these [`ModelInfo::row_key`]s, in one statement a chunk
/// where the key is one column and there is no version, else one a row.
fn delete_rows(conn: &mut Connection, info: &'static ModelInfo, olds: &[RowKey]) -> Result<()> {
    let table = &info.table;
    if info.pk.len() == 1 && info.version.is_none() && olds.len() > 1 {
        let pk = table.c(info.names[info.pk[0]]);
        for chunk in olds.chunks(MAX_PARAMS) {
            let keys: Vec<Value> = chunk.iter().map(|k| k[0].clone()).collect();
            let stmt = delete(table).where_(pk.clone().in_(keys));
            let n = conn
                .execute(&stmt)
                .map_err(|e| flush_error(info, || info.row_key_text(&chunk[0]), e.into()))?
                .rows_affected();
            if n != chunk.len() as u64 {
                return Err(Error::StaleData {
                    model: info.short_name().to_string(),
                    key: format!("{} objects", chunk.len()),
                    statement: "DELETE".into(),
                    matched: n,
                    expected: chunk.len() as u64,
                });
            }
        }
    } else {
        // One DELETE per object, those of one text run together (pipelined on
        // PostgreSQL).
        let mut last_text = LastText::new(info, conn.dialect());
        let mut runs: Vec<(Option<Arc<str>>, Params)> = Vec::with_capacity(olds.len());
        for old in olds {
            let mut params = Params::new();
            let version = row_params(info, old, &mut params);
            let sql = last_text
                .get(&Shape::Delete { version }, &params, || {
                    delete(table).where_(row_where(info, old))
                })
                .map_err(|e| flush_error(info, || info.row_key_text(old), e))?;
            runs.push((sql, params));
        }
        let mut start = 0;
        while start < runs.len() {
            let sql = runs[start].0.clone();
            let end = start + runs[start..].iter().take_while(|(t, _)| *t == sql).count();
            let group: Vec<&[Value]> = olds[start..end].iter().map(|k| &k[..]).collect();
            match sql {
                Some(sql) => {
                    let params: Vec<&[Value]> =
                        runs[start..end].iter().map(|(_, p)| &p[..]).collect();
                    run_each_on_one_row(conn, info, "DELETE", &sql, &params, &group)?;
                }
                // A text that cannot be reused runs through Core, row by row.
                None => {
                    for old in group {
                        let stmt = delete(table).where_(row_where(info, old));
                        run_on_one_row(conn, info, "DELETE", &stmt, old)?;
                    }
                }
            }
            start = end;
        }
    }
    Ok(())
}
