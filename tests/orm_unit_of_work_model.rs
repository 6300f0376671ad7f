//! A model test of the Session: random runs of adds, changes, deletes, flushes,
//! commits, rollbacks, gets, queries, expiries, expunges and merges, played on a Session
//! (on SQLite, PostgreSQL and MySQL) and on a plain model of what SQLAlchemy's unit of
//! work promises. After every step the database, the objects' states, the identity map
//! and (once loaded) the objects' values agree with the model; a flush either succeeds
//! or fails on the unique name with nothing written and every object as it was.

#[allow(dead_code)] // each test binary uses only part of the support code
#[macro_use]
mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use strata::orm::{select, Handle, Model, ObjectState, Registry, Session};
use strata::{DbErrorKind, Engine};
use support::ModelRun;

#[derive(Model, Debug, Clone)]
#[model(table = "uow_items")]
struct Item {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(unique)]
    name: String,
    qty: i64,
}

/// Few names, so that flushes often meet the unique constraint.
const NAMES: [&str; 4] = ["a", "b", "c", "d"];

/// A step of a run; the `usize` that picks an object is taken modulo the objects
/// the step applies to (a step with none does nothing).
#[derive(Debug, Clone)]
enum Op {
    Add(usize, i64),
    SetQty(usize, i64),
    Rename(usize, usize),
    Delete(usize),
    Flush,
    Commit,
    Rollback,
    Get(usize),
    Query,
    Expire(usize),
    Expunge(usize),
    Merge(usize, usize, i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..NAMES.len(), 0..4i64).prop_map(|(n, q)| Op::Add(n, q)),
        3 => (any::<usize>(), 0..4i64).prop_map(|(i, q)| Op::SetQty(i, q)),
        2 => (any::<usize>(), 0..NAMES.len()).prop_map(|(i, n)| Op::Rename(i, n)),
        2 => any::<usize>().prop_map(Op::Delete),
        2 => Just(Op::Flush),
        2 => Just(Op::Commit),
        2 => Just(Op::Rollback),
        2 => any::<usize>().prop_map(Op::Get),
        2 => Just(Op::Query),
        1 => any::<usize>().prop_map(Op::Expire),
        1 => any::<usize>().prop_map(Op::Expunge),
        2 => (any::<usize>(), 0..NAMES.len(), 0..4i64).prop_map(|(i, n, q)| Op::Merge(i, n, q)),
    ]
}

/// Where the model expects an object to be.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Added, not flushed.
    Pending,
    /// Has a row (flushed or committed).
    Persistent,
    /// Marked by `delete()`, not flushed.
    Marked,
    /// Its DELETE was flushed, not committed.
    Deleted,
    /// Pending and deleted: the next flush leaves it out of the session.
    Dropped,
    /// Out of the session (expunged, rolled back or deleted and committed).
    Gone,
}

/// An object's name and quantity.
type Vals = (String, i64);

struct Tracked {
    h: Handle<Item>,
    expect: Expect,
    /// The values the object has for the database: what its next flush leaves in its
    /// row (the values written last, or those of its row after a rollback).
    vals: Vals,
    /// Whether its row is committed (SQLite may give a new row the key of a row
    /// deleted in the same transaction, so the key does not tell).
    committed: bool,
}

impl Tracked {
    fn id(&self) -> i64 {
        self.h.read().id.expect("a persistent object has its key")
    }
}

/// Rows by primary key.
type Rows = BTreeMap<i64, Vals>;

struct Run {
    engine: Engine,
    session: Session,
    objs: Vec<Tracked>,
    /// The rows as committed.
    committed: Rows,
    /// The rows as the session's transaction sees them.
    flushed: Rows,
}

impl Run {
    /// The rows in the session's transaction (without autoflush).
    fn session_rows(&mut self) -> Rows {
        self.session.set_autoflush(false);
        let rows = self
            .session
            .execute(&strata::select(Item::table().unwrap()))
            .unwrap()
            .tuples::<(i64, String, i64)>()
            .map(|r| r.map(|(id, name, qty)| (id, (name, qty))))
            .collect::<strata::Result<Rows>>()
            .unwrap();
        self.session.set_autoflush(true);
        rows
    }

    /// The committed rows, read by another connection.
    fn committed_rows(&self) -> Rows {
        let mut conn = self.engine.connect().unwrap();
        conn.execute(&strata::select(Item::table().unwrap()))
            .unwrap()
            .tuples::<(i64, String, i64)>()
            .map(|r| r.map(|(id, name, qty)| (id, (name, qty))))
            .collect::<strata::Result<Rows>>()
            .unwrap()
    }

    /// The `i`th (mod the count) object that is pending or persistent.
    fn live(&self, i: usize) -> Option<usize> {
        let live: Vec<usize> = (0..self.objs.len())
            .filter(|&k| matches!(self.objs[k].expect, Expect::Pending | Expect::Persistent))
            .collect();
        (!live.is_empty()).then(|| live[i % live.len()])
    }

    /// The rows a flush is to leave: the rows of objects out of the session stay,
    /// those of objects marked for deletion go, the others hold their objects'
    /// values; pending objects add rows (without a key yet).
    fn rows_to_be(&self) -> Vec<(Option<i64>, &str)> {
        let held: BTreeMap<i64, &Tracked> = self
            .objs
            .iter()
            .filter(|t| matches!(t.expect, Expect::Persistent | Expect::Marked))
            .map(|t| (t.id(), t))
            .collect();
        let mut rows: Vec<(Option<i64>, &str)> = self
            .flushed
            .iter()
            .filter(|(id, _)| !held.contains_key(id))
            .map(|(id, (name, _))| (Some(*id), name.as_str()))
            .collect();
        for t in &self.objs {
            match t.expect {
                Expect::Persistent => rows.push((Some(t.id()), t.vals.0.as_str())),
                Expect::Pending => rows.push((None, t.vals.0.as_str())),
                _ => {}
            }
        }
        rows
    }

    /// Whether the rows a flush is to leave clash on a name, and whether one of them
    /// may clash on the way with a row the database has now.
    fn clashes(&self) -> (bool, bool) {
        let to_be = self.rows_to_be();
        let mut names: Vec<&str> = to_be.iter().map(|r| r.1).collect();
        names.sort_unstable();
        let must = names.windows(2).any(|w| w[0] == w[1]);
        let may = must
            || to_be.iter().any(|(id, name)| {
                self.flushed
                    .iter()
                    .any(|(other, (n, _))| n == name && Some(*other) != *id)
            });
        (must, may)
    }

    /// Check a flush (alone, or the one a commit or query makes first) against the
    /// model, and bring the model in step.
    fn flushed<T>(&mut self, result: strata::orm::Result<T>) -> Option<T> {
        let (must_fail, may_fail) = self.clashes();
        match result {
            Ok(v) => {
                assert!(!must_fail, "a flush of clashing names succeeded");
                for t in &mut self.objs {
                    match t.expect {
                        Expect::Pending => t.expect = Expect::Persistent,
                        Expect::Dropped => t.expect = Expect::Gone,
                        Expect::Marked => {
                            t.expect = Expect::Deleted;
                            self.flushed.remove(&t.id());
                        }
                        _ => {}
                    }
                }
                for t in &self.objs {
                    if t.expect == Expect::Persistent {
                        self.flushed.insert(t.id(), t.vals.clone());
                    }
                }
                assert_eq!(self.session_rows(), self.flushed, "rows after a flush");
                Some(v)
            }
            Err(e) => {
                assert!(may_fail, "a flush failed without a clash: {e}");
                assert_eq!(e.db_kind(), Some(DbErrorKind::IntegrityError), "{e}");
                assert_eq!(self.session_rows(), self.flushed, "a failed flush wrote");
                None
            }
        }
    }

    /// The `i`th (mod the count) object that is persistent and not marked.
    fn persistent(&self, i: usize) -> Option<usize> {
        let found: Vec<usize> = (0..self.objs.len())
            .filter(|&k| self.objs[k].expect == Expect::Persistent)
            .collect();
        (!found.is_empty()).then(|| found[i % found.len()])
    }

    fn rollback(&mut self) {
        self.session.rollback().unwrap();
        self.flushed = self.committed.clone();
        for t in &mut self.objs {
            let committed = match t.expect {
                Expect::Persistent | Expect::Marked | Expect::Deleted if t.committed => {
                    Some(self.committed[&t.id()].clone())
                }
                _ => None,
            };
            match committed {
                Some(vals) => {
                    t.expect = Expect::Persistent;
                    t.vals = vals;
                }
                None => t.expect = Expect::Gone,
            }
        }
        assert_eq!(self.session_rows(), self.committed, "rows after rollback");
    }
}

impl ModelRun for Run {
    type Step = Op;

    /// A run on a fresh, empty table.
    fn new(engine: &Engine) -> Run {
        let registry = Registry::new().map::<Item>().unwrap();
        registry.metadata().drop_all(engine).unwrap();
        registry.metadata().create_all(engine).unwrap();
        Run {
            session: Session::new(engine),
            engine: engine.clone(),
            objs: Vec::new(),
            committed: Rows::new(),
            flushed: Rows::new(),
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Add(n, qty) => {
                let vals = (NAMES[n].to_string(), qty);
                let h = self
                    .session
                    .add(Item {
                        id: None,
                        name: vals.0.clone(),
                        qty,
                    })
                    .unwrap();
                self.objs.push(Tracked {
                    h,
                    expect: Expect::Pending,
                    vals,
                    committed: false,
                });
            }
            Op::SetQty(i, qty) => {
                if let Some(k) = self.live(i) {
                    self.objs[k].h.write().qty = qty;
                    self.objs[k].vals.1 = qty;
                }
            }
            Op::Rename(i, n) => {
                if let Some(k) = self.live(i) {
                    self.objs[k].h.write().name = NAMES[n].to_string();
                    self.objs[k].vals.0 = NAMES[n].to_string();
                }
            }
            Op::Delete(i) => {
                if let Some(k) = self.live(i) {
                    self.session.delete(&self.objs[k].h).unwrap();
                    let t = &mut self.objs[k];
                    // A pending object is never inserted.
                    t.expect = match t.expect {
                        Expect::Pending => Expect::Dropped,
                        _ => Expect::Marked,
                    };
                }
            }
            Op::Flush => {
                let result = self.session.flush();
                self.flushed(result);
            }
            Op::Commit => {
                let result = self.session.commit();
                if self.flushed(result).is_some() {
                    self.committed = self.flushed.clone();
                    for t in &mut self.objs {
                        match t.expect {
                            Expect::Deleted => t.expect = Expect::Gone,
                            Expect::Persistent => t.committed = true,
                            _ => {}
                        }
                    }
                    assert_eq!(self.committed_rows(), self.committed, "rows after commit");
                } else {
                    // As SQLAlchemy asks after a failed flush.
                    self.rollback();
                }
            }
            Op::Rollback => self.rollback(),
            Op::Get(i) => {
                let Some(k) = self.persistent(i) else {
                    return;
                };
                let (id, expired) = (self.objs[k].id(), self.objs[k].h.is_expired());
                let got = self.session.get::<Item>(id);
                // An expired object is loaded again, after an autoflush.
                let got = if expired {
                    match self.flushed(got) {
                        Some(got) => got,
                        None => return,
                    }
                } else {
                    got.unwrap()
                };
                let got = got.expect("get finds a persistent object");
                assert!(
                    Handle::ptr_eq(&got, &self.objs[k].h),
                    "get gave another object"
                );
                if expired {
                    let item = got.read();
                    let vals = (item.name.clone(), item.qty);
                    assert_eq!(vals, self.objs[k].vals, "values once loaded");
                }
            }
            Op::Query => {
                let result = self.session.scalars(&select::<Item>());
                let Some(found) = self.flushed(result) else {
                    return;
                };
                let found = found.all();
                // Rows of expunged objects come back as new objects.
                for h in &found {
                    if self.objs.iter().any(|t| Handle::ptr_eq(&t.h, h)) {
                        continue;
                    }
                    let id = h.read().id.expect("a loaded object has its key");
                    let held = self.objs.iter().any(|t| {
                        matches!(t.expect, Expect::Persistent | Expect::Marked) && t.id() == id
                    });
                    assert!(!held, "a query gave a second object for row {id}");
                    self.objs.push(Tracked {
                        h: h.clone(),
                        expect: Expect::Persistent,
                        vals: self.flushed[&id].clone(),
                        committed: self.committed.contains_key(&id),
                    });
                }
                let mut want: Vec<&Tracked> = self
                    .objs
                    .iter()
                    .filter(|t| t.expect == Expect::Persistent)
                    .collect();
                assert_eq!(found.len(), want.len(), "objects a query gives");
                want.sort_by_key(|t| t.id());
                let mut found = found;
                found.sort_by_key(|h| h.read().id);
                for (h, t) in found.iter().zip(want) {
                    assert!(Handle::ptr_eq(h, &t.h), "a query gave another object");
                    let item = h.read();
                    assert_eq!((item.name.clone(), item.qty), t.vals, "values once loaded");
                }
            }
            Op::Expire(i) => {
                if let Some(k) = self.persistent(i) {
                    self.session.expire(&self.objs[k].h).unwrap();
                    // Its unflushed changes are dropped.
                    let id = self.objs[k].id();
                    self.objs[k].vals = self.flushed[&id].clone();
                }
            }
            Op::Expunge(i) => {
                // An object whose row is committed as it is, so that its row stays as
                // committed and a rollback keeps it.
                let Some(k) = self.persistent(i) else {
                    return;
                };
                let t = &self.objs[k];
                let id = t.id();
                let unchanged = Some(&t.vals) == self.flushed.get(&id)
                    && self.flushed.get(&id) == self.committed.get(&id);
                if t.committed && unchanged {
                    self.session.expunge(&t.h).unwrap();
                    self.objs[k].expect = Expect::Gone;
                }
            }
            Op::Merge(i, n, qty) => {
                let Some(k) = self.persistent(i) else {
                    return;
                };
                let item = Item {
                    id: Some(self.objs[k].id()),
                    name: NAMES[n].to_string(),
                    qty,
                };
                // merge() flushes first.
                let result = self.session.merge(&item);
                if let Some(merged) = self.flushed(result) {
                    assert!(
                        Handle::ptr_eq(&merged, &self.objs[k].h),
                        "merge gave another object"
                    );
                    self.objs[k].vals = (item.name, qty);
                }
            }
        }
    }

    /// Every object is in the state the model expects.
    fn check(&self) {
        for (k, t) in self.objs.iter().enumerate() {
            let state = t.h.state();
            let ok = match t.expect {
                Expect::Pending => state == ObjectState::Pending,
                Expect::Persistent | Expect::Marked => state == ObjectState::Persistent,
                Expect::Deleted => state == ObjectState::Deleted,
                Expect::Dropped => matches!(state, ObjectState::Pending | ObjectState::Transient),
                Expect::Gone => matches!(state, ObjectState::Transient | ObjectState::Detached),
            };
            assert!(ok, "object {k} is {state}, expected {:?}", t.expect);
        }
    }
}

fn the_session_keeps_to_the_unit_of_work_model(engine: &Engine) {
    support::run_model::<Run>(engine, op(), &[Op::Commit, Op::Query]);
}

on_all!(crate::support::plain; the_session_keeps_to_the_unit_of_work_model);
