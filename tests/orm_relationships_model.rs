//! A model test of the Session over a one-to-many relationship with back_populates and
//! the cascade "all, delete-orphan": random runs of new bins and things, things moved
//! between bins or taken out of theirs, bins deleted, flushes, commits, rollbacks and
//! eager queries, played on a Session (on SQLite, PostgreSQL and MySQL) and on a plain
//! model of what SQLAlchemy promises. Every flush succeeds (nothing here breaks a
//! constraint); after each the rows are the model's, and a query gives each bin the
//! things the model says are in it.

#[allow(dead_code)] // each test binary uses only part of the support code
#[macro_use]
mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use strata::orm::{select, selectinload, Handle, Many, Model, ObjectState, One, Registry, Session};
use strata::Engine;
use support::ModelRun;

#[derive(Model, Debug, Clone)]
#[model(table = "uow_bins")]
struct Bin {
    #[column(primary_key)]
    id: Option<i64>,
    label: String,
    #[relationship(
        back_populates = "bin",
        cascade = "all, delete-orphan",
        order_by = "id"
    )]
    things: Many<Thing>,
}

#[derive(Model, Debug, Clone)]
#[model(table = "uow_things")]
struct Thing {
    #[column(primary_key)]
    id: Option<i64>,
    #[column(foreign_key = "uow_bins.id")]
    bin_id: i64,
    name: String,
    #[relationship(back_populates = "things")]
    bin: One<Bin>,
}

/// A step of a run; a `usize` that picks an object is taken modulo the objects the
/// step applies to (a step with none does nothing).
#[derive(Debug, Clone)]
enum Op {
    /// A new bin.
    AddBin,
    /// A new thing, appended to a bin.
    AddThing(usize),
    /// A thing appended to another bin.
    Move(usize, usize),
    /// A thing taken out of its bin (an orphan: deleted at flush).
    Orphan(usize),
    /// A bin deleted, with its things.
    DeleteBin(usize),
    Flush,
    Commit,
    Rollback,
    /// Every bin with its things (select-in).
    Query,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::AddBin),
        4 => any::<usize>().prop_map(Op::AddThing),
        3 => (any::<usize>(), any::<usize>()).prop_map(|(t, b)| Op::Move(t, b)),
        2 => any::<usize>().prop_map(Op::Orphan),
        1 => any::<usize>().prop_map(Op::DeleteBin),
        2 => Just(Op::Flush),
        2 => Just(Op::Commit),
        2 => Just(Op::Rollback),
        2 => Just(Op::Query),
    ]
}

/// Where the model expects an object to be.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// New: a bin added, or a thing in a bin, not flushed (a new thing is pending or
    /// still transient until the flush that its bin's cascade brings it to).
    New,
    /// Has a row.
    Persistent,
    /// Its row goes at the next flush (marked, an orphan, or a deleted bin's thing).
    Doomed,
    /// Its DELETE was flushed, not committed.
    Deleted,
    /// New and dropped before any flush (an orphan, a deleted bin's thing, a deleted
    /// new bin): it never gets a row.
    Dropped,
    /// Out of the session.
    Gone,
}

impl Expect {
    /// After a flush: new objects have rows, doomed ones have lost theirs, dropped ones
    /// are out of the session.
    fn flushed(self) -> Self {
        match self {
            Expect::New => Expect::Persistent,
            Expect::Doomed => Expect::Deleted,
            Expect::Dropped => Expect::Gone,
            e => e,
        }
    }

    /// Marked to go: a new object never gets a row, one with a row loses it at the
    /// next flush.
    fn doomed(self) -> Self {
        match self {
            Expect::New => Expect::Dropped,
            Expect::Persistent => Expect::Doomed,
            e => e,
        }
    }

    /// Has a row in the transaction (until a commit or rollback ends it).
    fn has_row(self) -> bool {
        matches!(self, Expect::Persistent | Expect::Doomed | Expect::Deleted)
    }
}

struct TBin {
    h: Handle<Bin>,
    expect: Expect,
    label: String,
    committed: bool,
}

struct TThing {
    h: Handle<Thing>,
    expect: Expect,
    name: String,
    /// The bin (index) it is in.
    bin: usize,
    /// Its bin when its row was last committed (`None`: its row is not committed).
    committed_bin: Option<usize>,
}

fn id<T: Model>(h: &Handle<T>, of: impl Fn(&T) -> Option<i64>) -> i64 {
    of(&h.read()).expect("an object with a row has its key")
}

/// The bins of a result of `SELECT` of the bins' table.
fn bin_rows(result: strata::CursorResult<'_>) -> BTreeMap<i64, String> {
    result
        .tuples::<(i64, String)>()
        .collect::<strata::Result<_>>()
        .unwrap()
}

/// The things of a result of `SELECT` of the things' table.
fn thing_rows(result: strata::CursorResult<'_>) -> BTreeMap<i64, (i64, String)> {
    result
        .tuples::<(i64, i64, String)>()
        .map(|r| r.map(|(id, bin, name)| (id, (bin, name))))
        .collect::<strata::Result<_>>()
        .unwrap()
}

struct Run {
    engine: Engine,
    session: Session,
    bins: Vec<TBin>,
    things: Vec<TThing>,
    /// The number of objects made, for distinct names.
    made: usize,
}

/// The rows of both tables: bins (id → label), things (id → (bin id, name)).
type Rows = (BTreeMap<i64, String>, BTreeMap<i64, (i64, String)>);

impl Run {
    fn bin_id(&self, b: usize) -> i64 {
        id(&self.bins[b].h, |b| b.id)
    }

    fn thing_id(&self, t: usize) -> i64 {
        id(&self.things[t].h, |t| t.id)
    }

    /// The rows as `conn` sees them.
    fn rows_of(conn: &mut strata::Connection) -> Rows {
        let bins = conn.execute(&strata::select(Bin::table().unwrap()));
        let bins = bin_rows(bins.unwrap());
        let things = conn.execute(&strata::select(Thing::table().unwrap()));
        (bins, thing_rows(things.unwrap()))
    }

    /// The rows in the session's transaction (without autoflush).
    fn session_rows(&mut self) -> Rows {
        self.session.set_autoflush(false);
        let bins = self.session.execute(&strata::select(Bin::table().unwrap()));
        let bins = bin_rows(bins.unwrap());
        let things = self
            .session
            .execute(&strata::select(Thing::table().unwrap()));
        let things = thing_rows(things.unwrap());
        self.session.set_autoflush(true);
        (bins, things)
    }

    /// The rows the model says the session's transaction has.
    fn model_rows(&self) -> Rows {
        let bins = (0..self.bins.len())
            .filter(|&b| matches!(self.bins[b].expect, Expect::Persistent))
            .map(|b| (self.bin_id(b), self.bins[b].label.clone()))
            .collect();
        let things = (0..self.things.len())
            .filter(|&t| matches!(self.things[t].expect, Expect::Persistent))
            .map(|t| {
                let thing = &self.things[t];
                (
                    self.thing_id(t),
                    (self.bin_id(thing.bin), thing.name.clone()),
                )
            })
            .collect();
        (bins, things)
    }

    /// The model after a flush (which must succeed): new objects get rows, doomed ones
    /// lose them; then the rows are checked.
    fn flushed(&mut self) {
        for b in &mut self.bins {
            b.expect = b.expect.flushed();
        }
        for t in &mut self.things {
            t.expect = t.expect.flushed();
        }
        let want = self.model_rows();
        assert_eq!(self.session_rows(), want, "rows after a flush");
    }

    /// Indexes of the bins (or things) whose expectation is one of `of`.
    fn pick(expects: impl Iterator<Item = Expect>, of: &[Expect], i: usize) -> Option<usize> {
        let found: Vec<usize> = expects
            .enumerate()
            .filter(|(_, e)| of.contains(e))
            .map(|(k, _)| k)
            .collect();
        (!found.is_empty()).then(|| found[i % found.len()])
    }

    fn live_bin(&self, i: usize) -> Option<usize> {
        let of = [Expect::New, Expect::Persistent];
        Run::pick(self.bins.iter().map(|b| b.expect), &of, i)
    }

    fn live_thing(&self, i: usize) -> Option<usize> {
        let of = [Expect::New, Expect::Persistent];
        Run::pick(self.things.iter().map(|t| t.expect), &of, i)
    }

    /// Load bin `b`'s things unless they are in memory; loading flushes first.
    fn loaded(&mut self, b: usize) {
        if self.bins[b].h.read().things.get().is_ok() {
            return;
        }
        self.session.load(&self.bins[b].h, Bin::things).unwrap();
        self.flushed();
    }
}

impl ModelRun for Run {
    type Step = Op;

    fn new(engine: &Engine) -> Run {
        let registry = Registry::new()
            .map::<Bin>()
            .and_then(|r| r.map::<Thing>())
            .and_then(|r| r.configure())
            .unwrap();
        registry.metadata().drop_all(engine).unwrap();
        registry.metadata().create_all(engine).unwrap();
        Run {
            session: Session::new(engine),
            engine: engine.clone(),
            bins: Vec::new(),
            things: Vec::new(),
            made: 0,
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::AddBin => {
                self.made += 1;
                let label = format!("bin {}", self.made);
                let h = self
                    .session
                    .add(Bin {
                        id: None,
                        label: label.clone(),
                        things: Many::new(),
                    })
                    .unwrap();
                self.bins.push(TBin {
                    h,
                    expect: Expect::New,
                    label,
                    committed: false,
                });
            }
            Op::AddThing(b) => {
                let Some(b) = self.live_bin(b) else {
                    return;
                };
                self.loaded(b);
                self.made += 1;
                let name = format!("thing {}", self.made);
                let h = Handle::new(Thing {
                    id: None,
                    bin_id: 0,
                    name: name.clone(),
                    bin: One::new(),
                })
                .unwrap();
                self.bins[b].h.append(Bin::things, &h).unwrap();
                self.things.push(TThing {
                    h,
                    expect: Expect::New,
                    name,
                    bin: b,
                    committed_bin: None,
                });
            }
            Op::Move(t, b) => {
                let (Some(t), Some(b)) = (self.live_thing(t), self.live_bin(b)) else {
                    return;
                };
                self.loaded(b);
                // Loading may have flushed, but cannot have taken `t` or `b` out.
                self.bins[b]
                    .h
                    .append(Bin::things, &self.things[t].h)
                    .unwrap();
                self.things[t].bin = b;
            }
            Op::Orphan(t) => {
                let Some(t) = self.live_thing(t) else {
                    return;
                };
                let b = self.things[t].bin;
                self.loaded(b);
                let thing = &self.things[t].h;
                self.bins[b].h.remove_from(Bin::things, thing).unwrap();
                let t = &mut self.things[t];
                t.expect = t.expect.doomed();
            }
            Op::DeleteBin(b) => {
                let Some(b) = self.live_bin(b) else {
                    return;
                };
                self.session.delete(&self.bins[b].h).unwrap();
                self.bins[b].expect = self.bins[b].expect.doomed();
                for t in &mut self.things {
                    if t.bin == b {
                        t.expect = t.expect.doomed();
                    }
                }
            }
            Op::Flush => {
                self.session.flush().unwrap();
                self.flushed();
            }
            Op::Commit => {
                self.session.commit().unwrap();
                self.flushed();
                for b in &mut self.bins {
                    match b.expect {
                        Expect::Persistent => b.committed = true,
                        Expect::Deleted => b.expect = Expect::Gone,
                        _ => {}
                    }
                }
                for t in &mut self.things {
                    match t.expect {
                        Expect::Persistent => t.committed_bin = Some(t.bin),
                        Expect::Deleted => t.expect = Expect::Gone,
                        _ => {}
                    }
                }
                let want = self.model_rows();
                let mut conn = self.engine.connect().unwrap();
                assert_eq!(Run::rows_of(&mut conn), want, "rows after commit");
            }
            Op::Rollback => {
                self.session.rollback().unwrap();
                for b in &mut self.bins {
                    b.expect = if b.committed && b.expect.has_row() {
                        Expect::Persistent
                    } else {
                        Expect::Gone
                    };
                }
                for t in &mut self.things {
                    match t.committed_bin {
                        Some(bin) if t.expect.has_row() => {
                            t.expect = Expect::Persistent;
                            t.bin = bin;
                        }
                        _ => t.expect = Expect::Gone,
                    }
                }
                let want = self.model_rows();
                assert_eq!(self.session_rows(), want, "rows after rollback");
            }
            Op::Query => {
                let bins = self
                    .session
                    .scalars(&select::<Bin>().options(selectinload(Bin::things)))
                    .unwrap()
                    .all();
                self.flushed();
                let persistent: Vec<usize> = (0..self.bins.len())
                    .filter(|&b| self.bins[b].expect == Expect::Persistent)
                    .collect();
                assert_eq!(bins.len(), persistent.len(), "bins a query gives");
                for h in &bins {
                    let b = persistent
                        .iter()
                        .copied()
                        .find(|&b| Handle::ptr_eq(&self.bins[b].h, h))
                        .expect("a query gives the session's bins");
                    let mut want: Vec<i64> = (0..self.things.len())
                        .filter(|&t| {
                            self.things[t].expect == Expect::Persistent && self.things[t].bin == b
                        })
                        .map(|t| self.thing_id(t))
                        .collect();
                    want.sort_unstable();
                    // A collection in memory keeps its order (appends last); one
                    // loaded by the query is in the relationship's order.
                    let mut got: Vec<i64> = h
                        .read()
                        .things
                        .get()
                        .expect("things loaded")
                        .iter()
                        .map(|t| id(t, |t| t.id))
                        .collect();
                    got.sort_unstable();
                    assert_eq!(got, want, "things of bin {}", self.bin_id(b));
                }
            }
        }
    }

    /// Every object is in a state the model allows.
    fn check(&self) {
        let allowed = |e: Expect| -> &'static [ObjectState] {
            match e {
                Expect::New => &[ObjectState::Pending, ObjectState::Transient],
                Expect::Persistent | Expect::Doomed => &[ObjectState::Persistent],
                Expect::Deleted => &[ObjectState::Deleted],
                Expect::Dropped => &[
                    ObjectState::Pending,
                    ObjectState::Transient,
                    ObjectState::Detached,
                ],
                Expect::Gone => &[ObjectState::Transient, ObjectState::Detached],
            }
        };
        for (k, b) in self.bins.iter().enumerate() {
            let state = b.h.state();
            assert!(
                allowed(b.expect).contains(&state),
                "bin {k} is {state}, expected {:?}",
                b.expect
            );
        }
        for (k, t) in self.things.iter().enumerate() {
            let state = t.h.state();
            assert!(
                allowed(t.expect).contains(&state),
                "thing {k} is {state}, expected {:?}",
                t.expect
            );
        }
    }
}

fn the_session_keeps_to_the_relationship_model(engine: &Engine) {
    support::run_model::<Run>(engine, op(), &[Op::Commit, Op::Query]);
}

on_all!(crate::support::plain; the_session_keeps_to_the_relationship_model);
