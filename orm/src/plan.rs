//! Planning a flush: which objects to insert, update and delete once cascades run,
//! which foreign keys follow from relationships, and which association rows change.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use strata_core::Table;

use crate::handle::{is_written_here, AnyObject, Obj, ObjectState};
use crate::info::ModelInfo;
use crate::loading::rel_info;
use crate::relationship::{Join, ObjectRef, RelInfo};
use crate::session::{same_object, Session};
use crate::{Error, Result};

/// Set `child`'s foreign-key columns from `parent`'s key columns (NULL when `parent` is
/// `None`; then only while the key still points at `only_if`).
pub(crate) struct Link {
    pub child: Arc<dyn AnyObject>,
    pub parent: Option<Arc<dyn AnyObject>>,
    pub child_cols: Vec<usize>,
    pub parent_cols: Vec<usize>,
    pub only_if: Option<Arc<dyn AnyObject>>,
}

/// A row to add to or remove from an association table.
pub(crate) struct AssocRow {
    pub table: Table,
    pub cols: Vec<String>,
    pub local: Arc<dyn AnyObject>,
    pub local_cols: Vec<usize>,
    pub remote: Arc<dyn AnyObject>,
    pub remote_cols: Vec<usize>,
    pub insert: bool,
}

/// Every association row of a deleted object, removed before the object.
pub(crate) struct AssocClear {
    pub table: Table,
    pub assoc_cols: Vec<String>,
    pub obj: Arc<dyn AnyObject>,
    pub obj_cols: Vec<usize>,
}

#[derive(Default)]
pub(crate) struct Plan {
    pub inserts: Vec<Arc<dyn AnyObject>>,
    pub updates: Vec<Arc<dyn AnyObject>>,
    pub deletes: Vec<Arc<dyn AnyObject>>,
    pub links: Vec<Link>,
    pub assoc: Vec<AssocRow>,
    pub clears: Vec<AssocClear>,
    /// Pending objects removed from a delete-orphan collection: dropped from the session.
    pub expunge: Vec<Arc<dyn AnyObject>>,
    /// Objects whose loaded relationships become their new original state.
    pub holders: Vec<Arc<dyn AnyObject>>,
}

pub(crate) fn ptr(o: &Arc<dyn AnyObject>) -> usize {
    Arc::as_ptr(o) as *const () as usize
}

/// Hashes object addresses for sets and maps keyed by [`ptr`]: one multiply and a
/// rotate (SipHash's resistance to crafted keys buys nothing for addresses).
#[derive(Default, Clone, Copy)]
pub(crate) struct PtrHasher(u64);

const PTR_SEED: u64 = 0xf135_7aea_2e62_a9c5;

impl Hasher for PtrHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(PTR_SEED);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        // The well-mixed high bits go to the low bits, which pick the bucket.
        self.0.rotate_left(26)
    }
}

/// A set of object addresses.
pub(crate) type PtrSet = HashSet<usize, BuildHasherDefault<PtrHasher>>;
/// A map keyed by object address.
pub(crate) type PtrMap<V> = HashMap<usize, V, BuildHasherDefault<PtrHasher>>;
/// A set of (parent, child) object address pairs.
pub(crate) type PairSet = HashSet<(usize, usize), BuildHasherDefault<PtrHasher>>;

/// Objects in insertion order, with constant-time membership.
#[derive(Default)]
pub(crate) struct ObjSet {
    pub list: Vec<Arc<dyn AnyObject>>,
    seen: PtrSet,
}

impl ObjSet {
    /// An empty set with room for `n` objects.
    pub(crate) fn with_capacity(n: usize) -> Self {
        ObjSet {
            list: Vec::with_capacity(n),
            seen: PtrSet::with_capacity_and_hasher(n, Default::default()),
        }
    }

    pub(crate) fn contains(&self, o: &Arc<dyn AnyObject>) -> bool {
        self.seen.contains(&ptr(o))
    }

    /// Add `o`; false when it was there already.
    pub(crate) fn push(&mut self, o: &Arc<dyn AnyObject>) -> bool {
        let new = self.seen.insert(ptr(o));
        if new {
            self.list.push(o.clone());
        }
        new
    }

    /// Remove `o` (a scan of the list only when it is there).
    pub(crate) fn remove(&mut self, o: &Arc<dyn AnyObject>) {
        if self.seen.remove(&ptr(o)) {
            let p = ptr(o);
            self.list.retain(|x| ptr(x) != p);
        }
    }

    /// Keep the objects for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Arc<dyn AnyObject>) -> bool) {
        let seen = &mut self.seen;
        self.list.retain(|o| {
            let k = keep(o);
            if !k {
                seen.remove(&ptr(o));
            }
            k
        });
    }

    pub(crate) fn clear(&mut self) {
        self.list.clear();
        self.seen.clear();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Arc<dyn AnyObject>> {
        self.list.iter()
    }
}

/// The objects of `a` that are not in `b`, in `a`'s order.
fn minus(a: &[ObjectRef], b: &[ObjectRef]) -> Vec<Arc<dyn AnyObject>> {
    // A scan of `b` per object while `b` is short, a set of it beyond.
    if b.len() <= 16 {
        return a
            .iter()
            .filter(|x| !b.iter().any(|y| same_object(&x.0, &y.0)))
            .map(|x| x.0.clone())
            .collect();
    }
    let in_b: PtrSet = b.iter().map(|y| ptr(&y.0)).collect();
    a.iter()
        .filter(|x| !in_b.contains(&ptr(&x.0)))
        .map(|x| x.0.clone())
        .collect()
}

pub(crate) fn col_indexes(info: &ModelInfo, cols: &[impl AsRef<str>]) -> Result<Vec<usize>> {
    cols.iter()
        .map(|c| {
            info.names
                .iter()
                .position(|n| *n == c.as_ref())
                .ok_or_else(|| Error::Mapping {
                    model: info.short_name().to_string(),
                    message: format!(
                        "column {:?} used by a relationship is not mapped",
                        c.as_ref()
                    ),
                })
        })
        .collect()
}

/// `roots`, each followed depth first by the objects it brought in (`reached`).
fn cascade_order(roots: &[Obj], reached: &PtrMap<Vec<Obj>>) -> Vec<Obj> {
    let mut out = Vec::new();
    let mut stack: Vec<Obj> = roots.iter().rev().cloned().collect();
    while let Some(o) = stack.pop() {
        if let Some(kids) = reached.get(&ptr(&o)) {
            stack.extend(kids.iter().rev().cloned());
        }
        out.push(o);
    }
    out
}

/// An error when this thread holds a `write()` guard on `obj`, which a save-update
/// cascade of relationship `ri` (of `owner`) reached: its relationships cannot be read.
fn refuse_written(obj: &Obj, owner: &ModelInfo, ri: &RelInfo) -> Result<()> {
    if !is_written_here(obj) {
        return Ok(());
    }
    Err(Error::InvalidRequest(format!(
        "a write() guard on a new {} (reached from {}.{} by the save-update cascade) is alive on this thread: drop it before the session flushes",
        obj.info().short_name(),
        owner.short_name(),
        ri.def.name
    )))
}

impl Session {
    /// Attach a transient object reached by a save-update cascade.
    fn cascade_add(&mut self, obj: &Arc<dyn AnyObject>) {
        self.attach(obj, ObjectState::Pending);
        self.pending.push(obj.clone());
    }

    /// Work out the flush: cascades (which may load relationships), links, association rows.
    pub(crate) fn plan(&mut self, touched: &[Arc<dyn AnyObject>]) -> Result<Plan> {
        let mut plan = Plan::default();
        let mut holders = ObjSet::with_capacity(self.pending.len() + touched.len());
        for o in self.pending.iter().chain(touched) {
            holders.push(o);
        }
        let mut updates = ObjSet::with_capacity(touched.len());
        for t in touched {
            updates.push(t);
        }
        let mut deletes = ObjSet::default();
        for d in self.deleted.iter() {
            deletes.push(d);
        }
        let mut expunge = ObjSet::default();
        let mut assoc_rows = AssocRows::default();
        let mut orphans = Vec::new();
        // The holders the flush starts from, and the transient objects each of them
        // brought in by a save-update cascade.
        let roots = holders.list.len();
        let mut reached: PtrMap<Vec<Obj>> = PtrMap::default();
        let mut i = 0;
        while i < holders.list.len() {
            let h = holders.list[i].clone();
            i += 1;
            let info = h.info();
            for idx in 0..info.relationships.len() {
                let Some(members) = h.rel_members(idx) else {
                    continue;
                };
                let original = h.rel_original(idx);
                if members.is_empty() && original.as_ref().is_some_and(Vec::is_empty) {
                    // Empty before and after: no cascade, link or association row.
                    continue;
                }
                let ri = rel_info(info, idx)?;
                if ri.def.cascade.save_update {
                    for m in &members {
                        if m.0.meta().state() == ObjectState::Transient {
                            refuse_written(&m.0, info, ri)?;
                            self.cascade_add(&m.0);
                            holders.push(&m.0);
                            reached.entry(ptr(&h)).or_default().push(m.0.clone());
                        }
                    }
                }
                let mut cx = Cx {
                    plan: &mut plan,
                    updates: &mut updates,
                    assoc_rows: &mut assoc_rows,
                    orphans: &mut orphans,
                };
                plan_relationship(&mut cx, &h, ri, &members, original.as_deref())?;
            }
        }
        // An object removed from a delete-orphan collection is an orphan unless the same
        // relationship gave it another parent in this flush (it moved).
        let adopted: HashSet<(usize, &[usize])> = plan
            .links
            .iter()
            .filter(|l| l.parent.is_some())
            .map(|l| (ptr(&l.child), l.child_cols.as_slice()))
            .collect();
        for (orphan, child_cols) in &orphans {
            if adopted.contains(&(ptr(orphan), child_cols.as_slice())) {
                continue;
            }
            match orphan.meta().state() {
                ObjectState::Persistent => {
                    deletes.push(orphan);
                }
                ObjectState::Pending => {
                    expunge.push(orphan);
                }
                _ => {}
            }
        }
        // Deletions cascade to children, or leave them with a NULL foreign key. A new
        // (pending) object a deletion cascades to is visited too, for the new objects
        // below it, and leaves the session below: it never had a row.
        let mut j = 0;
        while j < deletes.list.len() {
            let d = deletes.list[j].clone();
            j += 1;
            let info = d.info();
            let has_row = d.meta().state() == ObjectState::Persistent;
            for idx in 0..info.relationships.len() {
                let ri = rel_info(info, idx)?;
                match &ri.join {
                    // No association row refers to an object without a row yet.
                    Join::Secondary {
                        table,
                        local,
                        assoc_local,
                        ..
                    } if has_row => plan.clears.push(AssocClear {
                        table: table.clone(),
                        assoc_cols: assoc_local.clone(),
                        obj: d.clone(),
                        obj_cols: col_indexes(info, local)?,
                    }),
                    Join::Secondary { .. } => {}
                    Join::ToChildren { local, remote } => {
                        // With passive deletes the database deletes a row's children;
                        // an object without a row still takes its new ones with it.
                        if ri.def.passive_deletes && has_row {
                            continue;
                        }
                        let members = match d.rel_members(idx) {
                            Some(m) => m,
                            None => {
                                // Load it for every object of the list still to visit that
                                // lacks it, not one statement per object: a parent's many
                                // deleted children have their own children loaded together.
                                let batch: Vec<Obj> = deletes.list[j - 1..]
                                    .iter()
                                    .filter(|o| {
                                        o.info().type_id == info.type_id && !o.rel_loaded(idx)
                                    })
                                    .cloned()
                                    .collect();
                                self.load_relationship(ri, &batch)?;
                                d.rel_members(idx).unwrap_or_default()
                            }
                        };
                        for m in members {
                            if deletes.contains(&m.0) || moved_away(&m.0, ri, &d) {
                                continue;
                            }
                            if ri.def.cascade.delete {
                                if matches!(
                                    m.0.meta().state(),
                                    ObjectState::Persistent | ObjectState::Pending
                                ) {
                                    deletes.push(&m.0);
                                }
                            } else if has_row {
                                plan.links.push(Link {
                                    child: m.0.clone(),
                                    parent: None,
                                    child_cols: col_indexes(ri.target, remote)?,
                                    parent_cols: col_indexes(info, local)?,
                                    only_if: Some(d.clone()),
                                });
                                updates.push(&m.0);
                            }
                        }
                    }
                    Join::ToParent { .. } => {
                        if ri.def.cascade.delete {
                            if let Some(m) = d.rel_members(idx).and_then(|m| m.into_iter().next()) {
                                if m.0.meta().state() == ObjectState::Persistent {
                                    deletes.push(&m.0);
                                }
                            }
                        }
                    }
                }
            }
        }
        deletes.retain(|d| {
            let new = d.meta().state() == ObjectState::Pending;
            if new {
                expunge.push(d);
            }
            !new
        });
        // New objects in the order they were added, each followed by the ones its
        // cascades brought in (depth first), as SQLAlchemy cascades on add.
        let mut inserts = self.pending.clone();
        if !reached.is_empty() {
            let pending: PtrSet = inserts.iter().map(ptr).collect();
            inserts = cascade_order(&holders.list[..roots], &reached);
            inserts.retain(|p| pending.contains(&ptr(p)));
        }
        inserts.retain(|p| !expunge.contains(p));
        plan.inserts = inserts;
        plan.updates = updates
            .list
            .into_iter()
            .filter(|u| u.meta().state() == ObjectState::Persistent && !deletes.contains(u))
            .collect();
        plan.deletes = deletes.list;
        plan.expunge = expunge.list;
        plan.holders = holders.list;
        Ok(plan)
    }
}

/// Whether `child`, a member of `parent`'s collection `ri` as its row says, now
/// refers to another parent in memory (it moved, and the flush is to write that): a
/// deletion of `parent` does not reach it.
fn moved_away(child: &Obj, ri: &RelInfo, parent: &Obj) -> bool {
    let Some(back) = ri.back else {
        return false;
    };
    match child.rel_members(back) {
        Some(now) => !now.iter().any(|p| same_object(&p.0, parent)),
        None => false,
    }
}

/// The sets a relationship adds to while a flush is planned.
struct Cx<'a> {
    plan: &'a mut Plan,
    updates: &'a mut ObjSet,
    assoc_rows: &'a mut AssocRows,
    /// Objects removed from a delete-orphan collection, with the columns of their
    /// foreign key to it: deleted after planning unless another parent adopted them.
    orphans: &'a mut Vec<(Arc<dyn AnyObject>, Vec<usize>)>,
}

/// The association rows a flush plans, to plan each once: the two sides of a
/// back-populated pair report the same row.
#[derive(Default)]
struct AssocRows {
    /// The association tables met (a row names its table by position here).
    tables: Vec<Table>,
    /// (table, added, object of the row's first column by name, the other object).
    rows: HashSet<(usize, bool, usize, usize)>,
}

impl AssocRows {
    /// The position of the association table named as `table` is.
    fn table(&mut self, table: &Table) -> usize {
        match self.tables.iter().position(|t| t.same_name(table)) {
            Some(i) => i,
            None => {
                self.tables.push(table.clone());
                self.tables.len() - 1
            }
        }
    }
}

/// Plan relationship `ri` of `h`, whose members were `original` as loaded or last
/// flushed (`None`: not known, for a reference set or cleared while not loaded).
fn plan_relationship(
    cx: &mut Cx<'_>,
    h: &Arc<dyn AnyObject>,
    ri: &'static RelInfo,
    members: &[ObjectRef],
    original: Option<&[ObjectRef]>,
) -> Result<()> {
    let info = h.info();
    let plan = &mut *cx.plan;
    match &ri.join {
        Join::ToParent { local, remote } => {
            let changed = original.is_none_or(|original| {
                members.len() != original.len() || !minus(members, original).is_empty()
            });
            if changed {
                let child_cols = col_indexes(info, local)?;
                // Taken from a parent whose collection deletes its orphans: an orphan,
                // whichever side it was taken out by.
                let orphaned = members.is_empty()
                    && ri
                        .back
                        .is_some_and(|b| ri.target.relationships[b].cascade.delete_orphan);
                if orphaned {
                    cx.orphans.push((h.clone(), child_cols.clone()));
                }
                plan.links.push(Link {
                    child: h.clone(),
                    parent: members.first().map(|m| m.0.clone()),
                    child_cols,
                    parent_cols: col_indexes(ri.target, remote)?,
                    only_if: None,
                });
                cx.updates.push(h);
            }
        }
        Join::ToChildren { local, remote } => {
            let original = original.unwrap_or_default();
            let child_cols = col_indexes(ri.target, remote)?;
            let parent_cols = col_indexes(info, local)?;
            for m in members {
                plan.links.push(Link {
                    child: m.0.clone(),
                    parent: Some(h.clone()),
                    child_cols: child_cols.clone(),
                    parent_cols: parent_cols.clone(),
                    only_if: None,
                });
                cx.updates.push(&m.0);
            }
            for gone in minus(original, members) {
                if ri.def.cascade.delete_orphan {
                    cx.orphans.push((gone, child_cols.clone()));
                } else {
                    plan.links.push(Link {
                        child: gone.clone(),
                        parent: None,
                        child_cols: child_cols.clone(),
                        parent_cols: parent_cols.clone(),
                        only_if: Some(h.clone()),
                    });
                    cx.updates.push(&gone);
                }
            }
        }
        Join::Secondary {
            table,
            local,
            assoc_local,
            remote,
            assoc_remote,
        } => {
            let original = original.unwrap_or_default();
            let mut cols = assoc_local.clone();
            cols.extend(assoc_remote.iter().cloned());
            let local_cols = col_indexes(info, local)?;
            let remote_cols = col_indexes(ri.target, remote)?;
            // A row is the same row when the same objects fill the same columns: it is
            // known by the table and the object of its first column by name.
            let t = cx.assoc_rows.table(table);
            let local_first = assoc_local.iter().min() < assoc_remote.iter().min();
            for (list, insert) in [
                (minus(members, original), true),
                (minus(original, members), false),
            ] {
                for m in list {
                    let (first, second) = if local_first {
                        (ptr(h), ptr(&m))
                    } else {
                        (ptr(&m), ptr(h))
                    };
                    if cx.assoc_rows.rows.insert((t, insert, first, second)) {
                        plan.assoc.push(AssocRow {
                            table: table.clone(),
                            cols: cols.clone(),
                            local: h.clone(),
                            local_cols: local_cols.clone(),
                            remote: m,
                            remote_cols: remote_cols.clone(),
                            insert,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}
