//! Loading relationships: join inference, lazy loads through the session, select-in
//! and joined eager loading, raise, and per-query loader options.

use indexmap::map::Entry;
use std::any::TypeId;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock, RwLock};

use strata_core::sql::SelectBody;
use strata_core::{and_, tuple, Expr, FromItem, OrderBy, Table, Value};

use crate::handle::{AnyObject, Handle, Meta, Obj, SessionLink};
use crate::info::{key_part, model_info, IdentityMap, KeyHash, KeyPart, ModelInfo};
use crate::model::Model;
use crate::plan::{col_indexes, PairSet, PtrMap, PtrSet};
use crate::relationship::{Join, ObjectRef, Rel, RelInfo, RelationKind, RelationshipDef, Strategy};
use crate::session::{refresh_if_expired, rel_bit, Session};
use crate::{Error, Result};

/// The relationships (model, index) on the path from a query's objects to the ones
/// being loaded.
type OnPath = [(TypeId, usize)];

/// Keys per `IN` query of a select-in load.
const SELECTIN_CHUNK: usize = 500;

fn mapping(info: &ModelInfo, def: &RelationshipDef, message: String) -> Error {
    Error::Mapping {
        model: info.short_name().to_string(),
        message: format!("relationship {:?}: {message}", def.name),
    }
}

fn infer_join(
    source: &'static ModelInfo,
    target: &'static ModelInfo,
    def: &RelationshipDef,
) -> Result<Join> {
    let refers = |from: &Table, to: &Table| -> Vec<strata_core::ForeignKey> {
        from.foreign_keys()
            .iter()
            .filter(|fk| {
                fk.referred_table() == to.name()
                    && fk.referred_schema().is_none_or(|s| Some(s) == to.schema())
            })
            .cloned()
            .collect()
    };
    if let Some(sec) = def.secondary {
        let t = sec();
        let to_source = refers(&t, &source.table);
        let to_target = refers(&t, &target.table);
        let (a, b) = if source.type_id == target.type_id {
            match to_source.as_slice() {
                [a, b] => (a.clone(), b.clone()),
                _ => {
                    return Err(mapping(
                        source,
                        def,
                        format!(
                            "association table {:?} needs exactly two foreign keys to {:?}",
                            t.name(),
                            source.table.name()
                        ),
                    ))
                }
            }
        } else {
            match (to_source.as_slice(), to_target.as_slice()) {
                ([a], [b]) => (a.clone(), b.clone()),
                _ => {
                    return Err(mapping(
                        source,
                        def,
                        format!(
                            "association table {:?} needs one foreign key to each side",
                            t.name()
                        ),
                    ))
                }
            }
        };
        return Ok(Join::Secondary {
            local: a.referred_columns().to_vec(),
            assoc_local: a.columns().to_vec(),
            remote: b.referred_columns().to_vec(),
            assoc_remote: b.columns().to_vec(),
            table: t,
        });
    }
    let named = |fks: Vec<strata_core::ForeignKey>| -> Vec<strata_core::ForeignKey> {
        match def.foreign_key {
            Some(col) => fks
                .into_iter()
                .filter(|fk| fk.columns().iter().any(|c| c == col))
                .collect(),
            None => fks,
        }
    };
    let to_parent = named(refers(&source.table, &target.table));
    let to_children = named(refers(&target.table, &source.table));
    let statics = |cols: &[String], info: &'static ModelInfo| -> Result<Vec<&'static str>> {
        cols.iter()
            .map(|c| {
                info.names.iter().copied().find(|n| n == c).ok_or_else(|| {
                    mapping(
                        info,
                        def,
                        format!("column {c:?} of the foreign key is not mapped"),
                    )
                })
            })
            .collect()
    };
    let pick = |fks: &[strata_core::ForeignKey], dir: &str| -> Result<strata_core::ForeignKey> {
        match fks {
            [fk] => Ok(fk.clone()),
            [] => Err(mapping(
                source,
                def,
                format!(
                    "no foreign key links {} to {}",
                    source.table.name(),
                    target.table.name()
                ),
            )),
            _ => Err(mapping(
                source,
                def,
                format!(
                    "{} foreign keys link the tables {dir}; name one with foreign_key = \"column\"",
                    fks.len()
                ),
            )),
        }
    };
    if def.collection || (to_parent.is_empty() && !to_children.is_empty()) {
        let fk = pick(&to_children, "from the target")?;
        return Ok(Join::ToChildren {
            local: statics(fk.referred_columns(), source)?,
            remote: fk.columns().to_vec(),
        });
    }
    let fk = pick(&to_parent, "from this model")?;
    Ok(Join::ToParent {
        local: fk.columns().to_vec(),
        remote: statics(fk.referred_columns(), target)?,
    })
}

type RelKey = (TypeId, usize);
static RELS: OnceLock<RwLock<HashMap<RelKey, &'static RelInfo, KeyHash>>> = OnceLock::new();

/// The resolved relationship `index` of `source`.
pub(crate) fn rel_info(source: &'static ModelInfo, index: usize) -> Result<&'static RelInfo> {
    let map = RELS.get_or_init(|| RwLock::new(HashMap::default()));
    if let Some(r) = map
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(&(source.type_id, index))
    {
        return Ok(r);
    }
    let def = source.relationships.get(index).cloned().ok_or_else(|| {
        Error::InvalidRequest(format!(
            "{} has no relationship number {index}",
            source.short_name()
        ))
    })?;
    let target = (def.target_info.0)()?;
    let join = infer_join(source, target, &def)?;
    if def.cascade.delete_orphan && !matches!(join, Join::ToChildren { .. }) {
        // SQLAlchemy asks for `single_parent` here; strata has none.
        return Err(mapping(
            source,
            &def,
            "a delete-orphan cascade needs a relationship to children (one-to-many, or \
             one-to-one on the side the foreign key refers to): through a many-to-one or \
             many-to-many link an object may have several parents"
                .into(),
        ));
    }
    let back = match def.back_populates {
        None => None,
        Some(name) => Some(back_of(source, target, &def, &join, name)?),
    };
    let leaked: &'static RelInfo = Box::leak(Box::new(RelInfo {
        def,
        index,
        source,
        target,
        join,
        back,
    }));
    let mut w = map.write().unwrap_or_else(|p| p.into_inner());
    Ok(*w.entry((source.type_id, index)).or_insert(leaked))
}

/// The position of relationship `name` of `target`, which `def` (of `source`, joined
/// by `join`) back-populates: it must lead back to `source` through the same foreign
/// key (or association table), or the two sides would write different columns.
fn back_of(
    source: &'static ModelInfo,
    target: &'static ModelInfo,
    def: &RelationshipDef,
    join: &Join,
    name: &str,
) -> Result<usize> {
    let fail = |why: String| mapping(source, def, format!("back_populates names {name:?}, {why}"));
    let (index, other) = target
        .relationships
        .iter()
        .enumerate()
        .find(|(_, r)| r.name == name)
        .ok_or_else(|| fail(format!("which {} does not have", target.short_name())))?;
    if (other.target_type)() != source.type_id {
        return Err(fail(format!(
            "which is {}'s relationship to {}, not to {}",
            target.short_name(),
            other.target_name,
            source.short_name()
        )));
    }
    let other_join = infer_join(target, source, other)?;
    if !mirrors(join, &other_join) {
        return Err(fail(format!(
            "which joins {} by other columns: both sides must use the same foreign key \
             (name it with foreign_key = \"column\" on each)",
            target.short_name()
        )));
    }
    Ok(index)
}

/// Whether `b` is `a` seen from its target: the same foreign key (or association
/// table and columns) followed the other way.
fn mirrors(a: &Join, b: &Join) -> bool {
    fn same<A: AsRef<str>, B: AsRef<str>>(a: &[A], b: &[B]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.as_ref() == y.as_ref())
    }
    match (a, b) {
        (
            Join::ToChildren { local, remote },
            Join::ToParent {
                local: b_local,
                remote: b_remote,
            },
        )
        | (
            Join::ToParent {
                local: b_local,
                remote: b_remote,
            },
            Join::ToChildren { local, remote },
        ) => same(remote, b_local) && same(local, b_remote),
        (
            Join::Secondary {
                table,
                local,
                assoc_local,
                remote,
                assoc_remote,
            },
            Join::Secondary {
                table: b_table,
                local: b_local,
                assoc_local: b_assoc_local,
                remote: b_remote,
                assoc_remote: b_assoc_remote,
            },
        ) => {
            table.same_name(b_table)
                && same(assoc_local, b_assoc_remote)
                && same(assoc_remote, b_assoc_local)
                && same(local, b_remote)
                && same(remote, b_local)
        }
        _ => false,
    }
}

/// The values of `obj`'s columns at positions `cols` (`None` when one is NULL), read
/// one by one without copying the object's other values.
fn col_values(obj: &Obj, cols: &[usize]) -> Option<Vec<Value>> {
    cols.iter()
        .map(|&i| obj.column_value(i).filter(|v| !v.is_null()))
        .collect()
}

/// The values of a row's join columns as a hashable key, inline (a key has one or two
/// columns as a rule); not the [`crate::info::RowKey`] an UPDATE matches a row by.
pub(crate) type JoinKey = smallvec::SmallVec<[KeyPart; 2]>;

/// Column values as a hashable key (integers of every width compare equal).
fn value_key(values: &[Value]) -> JoinKey {
    values.iter().map(KeyPart::from).collect()
}

/// `cols IN (keys)` for one or several columns.
fn in_keys(cols: Vec<Expr>, keys: &[Vec<Value>]) -> Expr {
    if cols.len() == 1 {
        let c = cols.into_iter().next().unwrap_or(Expr::Null);
        c.in_(keys.iter().map(|k| k[0].clone()))
    } else {
        tuple(cols).in_exprs(
            keys.iter()
                .map(|k| tuple(k.iter().cloned().map(Expr::Param))),
        )
    }
}

fn order_items(info: &ModelInfo, from: &FromItem, def: &RelationshipDef) -> Vec<OrderBy> {
    let mut out = Vec::new();
    if let Some(o) = def.order_by {
        for part in o.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, desc) = match part.strip_prefix('-') {
                Some(n) => (n, true),
                None => (part, false),
            };
            let e = from.c(name);
            out.push(if desc { e.desc() } else { e.asc() });
        }
    }
    // A stable order after the relationship's own.
    out.extend(info.pk.iter().map(|&i| from.c(info.names[i]).asc()));
    out
}

/// A relationship loaded by joins in its parents' statement.
pub(crate) struct JoinedNode {
    ri: &'static RelInfo,
    /// The node whose objects are the parents (`None`: the statement's own objects).
    parent: Option<usize>,
    /// The alias of the target table (and the prefix of its association table's).
    name: String,
    /// The target table under that alias.
    alias: FromItem,
}

/// Relationships loaded by joins in their parents' statement (by index), with the
/// ones loaded the same way below each: the loaders that run after the statement
/// take their objects from there rather than load them again.
#[derive(Debug)]
pub(crate) struct Joined {
    pub index: usize,
    pub below: Vec<Joined>,
}

/// The relationships of `info` to load by joins (depth first, parents before their
/// children), following the query's options and the relationships' default
/// strategies; a default does not recurse into a relationship already on the path.
fn joined_nodes(
    info: &'static ModelInfo,
    paths: &[LoadPath],
    parent: Option<usize>,
    on_path: &mut Vec<(TypeId, usize)>,
    out: &mut Vec<JoinedNode>,
) -> Result<()> {
    for (i, def) in info.relationships.iter().enumerate() {
        let explicit = first_step(paths, i);
        if explicit.unwrap_or(def.lazy) != Strategy::Joined
            || (explicit.is_none() && on_path.contains(&(info.type_id, i)))
        {
            continue;
        }
        let ri = rel_info(info, i)?;
        let at = out.len();
        let name = format!("{}_{at}", def.name);
        out.push(JoinedNode {
            ri,
            parent,
            alias: ri.target.table.alias(name.as_str()),
            name,
        });
        on_path.push((info.type_id, i));
        joined_nodes(ri.target, &sub_paths(paths, i), Some(at), on_path, out)?;
        on_path.pop();
    }
    Ok(())
}

/// The current members of relationship `index` of `objs` (none where it is not loaded).
fn loaded_members(objs: &[Obj], index: usize) -> Vec<Obj> {
    let mut out = Vec::new();
    for o in objs {
        out.extend(o.rel_members(index).into_iter().flatten().map(|r| r.0));
    }
    out
}

/// The strategy the first step of `paths` gives relationship `index`, if any.
fn first_step(paths: &[LoadPath], index: usize) -> Option<Strategy> {
    paths
        .iter()
        .find(|p| p.steps.first().is_some_and(|s| s.0 == index))
        .map(|p| p.steps[0].1)
}

/// The rest of the paths that start with relationship `index`.
fn sub_paths(paths: &[LoadPath], index: usize) -> Vec<LoadPath> {
    paths
        .iter()
        .filter(|p| p.steps.first().is_some_and(|s| s.0 == index) && p.steps.len() > 1)
        .map(|p| LoadPath {
            steps: p.steps[1..].to_vec(),
        })
        .collect()
}

/// The nodes below `parent` as a tree.
fn joined_tree(nodes: &[JoinedNode], parent: Option<usize>) -> Vec<Joined> {
    (0..nodes.len())
        .filter(|&j| nodes[j].parent == parent)
        .map(|j| Joined {
            index: nodes[j].ri.index,
            below: joined_tree(nodes, Some(j)),
        })
        .collect()
}

/// `stmt` with the columns of `node`'s target added, LEFT OUTER JOINed to `parent`
/// (the item its parents come from), and ordered by the relationship's order after
/// the statement's.
fn join_related(
    stmt: strata_core::Select,
    node: &JoinedNode,
    parent: &FromItem,
) -> strata_core::Select {
    let (ri, alias) = (node.ri, &node.alias);
    let s = stmt.add_columns(
        ri.target
            .names
            .iter()
            .map(|n| alias.c(n))
            .collect::<Vec<_>>(),
    );
    let s = match &ri.join {
        Join::ToChildren { local, remote } => {
            s.outerjoin_on(alias.clone(), columns_equal(alias, remote, parent, local))
        }
        Join::ToParent { local, remote } => {
            s.outerjoin_on(alias.clone(), columns_equal(parent, local, alias, remote))
        }
        Join::Secondary {
            table,
            local,
            assoc_local,
            remote,
            assoc_remote,
        } => {
            // parent LEFT JOIN association LEFT JOIN target: an association row whose
            // target is missing gives NULLs, skipped like no row.
            let assoc = table.alias(format!("{}_{}", node.name, table.name()));
            let to_parent = columns_equal(&assoc, assoc_local, parent, local);
            let to_target = columns_equal(alias, remote, &assoc, assoc_remote);
            s.outerjoin_on(assoc, to_parent)
                .outerjoin_on(alias.clone(), to_target)
        }
    };
    s.order_by(order_items(ri.target, alias, &ri.def))
}

/// `stmt` with each of `nodes` joined in, in order: a node's parents come from its
/// parent node's alias, or from `source` (the item `stmt` selects its objects from).
fn joined_to(
    mut stmt: strata_core::Select,
    nodes: &[JoinedNode],
    source: &FromItem,
) -> strata_core::Select {
    for node in nodes {
        let parent = node.parent.map_or(source, |p| &nodes[p].alias);
        stmt = join_related(stmt, node, parent);
    }
    stmt
}

/// `a.x1 = b.y1 AND a.x2 = b.y2 ...` for the column names `xs` of `a` and `ys` of `b`.
fn columns_equal(
    a: &FromItem,
    xs: &[impl AsRef<str>],
    b: &FromItem,
    ys: &[impl AsRef<str>],
) -> Expr {
    and_(
        xs.iter()
            .zip(ys)
            .map(|(x, y)| a.c(x.as_ref()).eq(b.c(y.as_ref()))),
    )
}

/// A limited ORM select of `info` turned into a subquery of the parents, for joined
/// loads (as SQLAlchemy does): `SELECT anon_1.<columns> FROM (<core>) AS anon_1`,
/// with the subquery's own ORDER BY, LIMIT and OFFSET inside it. Each ORDER BY
/// expression is also selected in the subquery under a label, by which the outer
/// statement keeps the same order. `None` for a compound or locking statement.
fn limited_parents(
    info: &ModelInfo,
    core: &strata_core::Select,
) -> Option<(strata_core::Select, FromItem)> {
    match &core.body {
        SelectBody::Simple(c) if c.lock.is_none() => {}
        _ => return None,
    }
    let labels: Vec<String> = (0..core.order_by.len())
        .map(|i| format!("anon_order_{i}"))
        .collect();
    let inner = core.clone().add_columns(
        core.order_by
            .iter()
            .zip(&labels)
            .map(|(o, l)| o.expr.clone().label(l.as_str()))
            .collect::<Vec<_>>(),
    );
    let parents = inner.subquery("anon_1");
    let order = core.order_by.iter().zip(&labels).map(|(o, l)| OrderBy {
        expr: parents.c(l),
        ..o.clone()
    });
    let outer = strata_core::select(info.columns_in(&parents))
        .select_from(parents.clone())
        .order_by(order.collect::<Vec<_>>());
    Some((outer, parents))
}

/// What loading rows changes in a session, borrowed apart from its connection so that
/// rows become objects while they are read.
pub(crate) struct Loader<'s> {
    identity: &'s mut IdentityMap<Obj>,
    link: &'s Arc<SessionLink>,
}

/// What loading a row did to the identity map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loaded {
    /// A new object was made from the row.
    New,
    /// An expired object already in the map was refreshed from the row.
    Refreshed,
    /// An object already in the map kept its values (the row's were dropped).
    Kept,
}

impl Loaded {
    /// Whether the object's column values are now the row's.
    fn holds_row(self) -> bool {
        self != Loaded::Kept
    }
}

impl Loader<'_> {
    /// Put a row (in `info`'s column order) into the identity map and return the object
    /// and what became of the row. The values a new or refreshed object takes are
    /// moved out of `values`, leaving NULLs.
    fn load(&mut self, info: &'static ModelInfo, values: &mut [Value]) -> Result<(Obj, Loaded)> {
        let key = info.key(values).ok_or_else(|| {
            Error::InvalidRequest(format!(
                "a {} row has a NULL primary key",
                info.short_name()
            ))
        })?;
        match self.identity.entry(key) {
            Entry::Occupied(e) => {
                let obj = e.get().clone();
                let loaded = if refresh_if_expired(&obj, values)? {
                    Loaded::Refreshed
                } else {
                    Loaded::Kept
                };
                Ok((obj, loaded))
            }
            Entry::Vacant(slot) => {
                // A new persistent object; its snapshot is its values as built.
                let meta = Meta::loaded(self.link, slot.key().clone());
                let obj = (info.make)(values, info, meta)?;
                slot.insert(obj.clone());
                Ok((obj, Loaded::New))
            }
        }
    }
}

impl Session {
    /// Load a row (in `info`'s column order) into the identity map, as `load` does for
    /// a typed model.
    pub(crate) fn load_erased(
        &mut self,
        info: &'static ModelInfo,
        values: &mut [Value],
    ) -> Result<Arc<dyn AnyObject>> {
        Ok(self.loader().load(info, values)?.0)
    }

    /// The identity map side of the session, for loading rows.
    fn loader(&mut self) -> Loader<'_> {
        Loader {
            identity: &mut self.identity,
            link: &self.link,
        }
    }

    /// Run `stmt` in the session's transaction and hand each row's values to `f` as it
    /// arrives (each row becomes an object before the next is read). The row's buffer
    /// is reused: `f` takes the values it keeps out of it.
    fn stream_rows(
        &mut self,
        stmt: &strata_core::Select,
        mut f: impl FnMut(&mut Loader<'_>, &mut [Value]) -> Result<()>,
    ) -> Result<()> {
        self.connection()?;
        let Session {
            conn,
            identity,
            link,
            ..
        } = self;
        let conn = conn
            .as_mut()
            .ok_or_else(|| Error::InvalidRequest("no connection".into()))?;
        let mut loader = Loader { identity, link };
        let mut result = conn.execute(stmt)?;
        let width = result.columns().len();
        let mut values = Vec::with_capacity(width);
        while result.fetch_into(&mut values)? {
            f(&mut loader, &mut values)?;
        }
        Ok(())
    }

    /// Run `stmt`, whose rows hold `info`'s columns, then `extra` more values, then the
    /// columns of each of `nodes` (relationships loaded by joins, see [`joined_to`]).
    /// Each row's objects are loaded as it arrives, and the joined ones are linked to
    /// their parents. `each` takes each row's object, what loading it did, the values
    /// of its `key_cols` as a key (from the row, unless the object keeps unflushed
    /// values of its own; `None` when one is NULL or none are asked for) and the
    /// extra values. With joins, a row that repeats an object and extra values
    /// already given (one row per joined child) is not given again.
    pub(crate) fn select_joined(
        &mut self,
        info: &'static ModelInfo,
        stmt: &strata_core::Select,
        (key_cols, extra): (&[usize], usize),
        nodes: &[JoinedNode],
        mut each: impl FnMut(Obj, Loaded, Option<JoinKey>, &mut [Value]) -> Result<()>,
    ) -> Result<()> {
        let key = |values: &[Value]| -> Option<JoinKey> {
            key_cols.iter().map(|&i| key_part(values, i)).collect()
        };
        let n = info.names.len();
        // With joins: the (object, extra values) given, and the distinct objects.
        let mut given = std::collections::HashSet::new();
        let (mut tops, mut top_seen): (Vec<Obj>, PtrSet) = Default::default();
        // Per node: the children of each parent, the (parent, child) pairs met, and
        // the distinct children in order (the parents of the nodes below).
        let mut children: Vec<PtrMap<Vec<Obj>>> = vec![PtrMap::default(); nodes.len()];
        let mut linked: Vec<PairSet> = vec![PairSet::default(); nodes.len()];
        let mut distinct: Vec<Vec<Obj>> = vec![Vec::new(); nodes.len()];
        let mut seen: Vec<PtrSet> = vec![PtrSet::default(); nodes.len()];
        // The object each node gave in the current row.
        let mut in_row: Vec<Option<Obj>> = vec![None; nodes.len()];
        self.stream_rows(stmt, |loader, row| {
            let (head, rest) = row.split_at_mut(n.min(row.len()));
            let (tail, mut rest) = rest.split_at_mut(extra.min(rest.len()));
            let from_row = if key_cols.is_empty() { None } else { key(head) };
            let (obj, loaded) = loader.load(info, head)?;
            let k = if key_cols.is_empty() || loaded.holds_row() {
                from_row
            } else {
                key(&obj.values())
            };
            if nodes.is_empty() {
                return each(obj, loaded, k, tail);
            }
            for (j, node) in nodes.iter().enumerate() {
                let target = node.ri.target;
                let width = target.names.len().min(rest.len());
                let (vals, next) = std::mem::take(&mut rest).split_at_mut(width);
                rest = next;
                in_row[j] = None;
                let owner = match node.parent {
                    Some(p) => in_row[p].as_ref(),
                    None => Some(&obj),
                };
                let Some(owner) = owner.map(crate::plan::ptr) else {
                    continue;
                };
                if target.key(vals).is_none() {
                    continue;
                }
                let (child, _) = loader.load(target, vals)?;
                let child_ptr = crate::plan::ptr(&child);
                if linked[j].insert((owner, child_ptr)) {
                    children[j].entry(owner).or_default().push(child.clone());
                }
                if seen[j].insert(child_ptr) {
                    distinct[j].push(child.clone());
                }
                in_row[j] = Some(child);
            }
            let at = crate::plan::ptr(&obj);
            if !given.insert((at, value_key(tail))) {
                return Ok(());
            }
            if top_seen.insert(at) {
                tops.push(obj.clone());
            }
            each(obj, loaded, k, tail)
        })?;
        for (j, node) in nodes.iter().enumerate() {
            let owners = match node.parent {
                Some(p) => &distinct[p],
                None => &tops,
            };
            for o in owners {
                // An object whose relationship is loaded already keeps it, with any
                // changes not flushed yet, as the identity map keeps its columns.
                if o.rel_loaded(node.ri.index) {
                    continue;
                }
                // The owners are distinct: each takes its own children.
                let members: Vec<ObjectRef> = children[j]
                    .remove(&crate::plan::ptr(o))
                    .map(|v| v.into_iter().map(ObjectRef).collect())
                    .unwrap_or_default();
                self.set_relation(o, node.ri, members)?;
            }
        }
        Ok(())
    }

    /// Load relationship `ri` for all `parents` (one query per chunk of keys) and return
    /// the related objects.
    pub(crate) fn load_relationship(
        &mut self,
        ri: &'static RelInfo,
        parents: &[Arc<dyn AnyObject>],
    ) -> Result<Vec<Arc<dyn AnyObject>>> {
        Ok(self.load_relationship_joined(ri, parents, None)?.0)
    }

    /// [`Session::load_relationship`], where `below` gives the loader options of the
    /// related objects and the relationships on the path so far: the relationships
    /// they (or their defaults) load by joins are joined into the select-in queries,
    /// as SQLAlchemy does, and returned as a tree with the related objects.
    pub(crate) fn load_relationship_joined(
        &mut self,
        ri: &'static RelInfo,
        parents: &[Arc<dyn AnyObject>],
        below: Option<(&[LoadPath], &OnPath)>,
    ) -> Result<(Vec<Obj>, Vec<Joined>)> {
        let (source, target) = (ri.source, ri.target);
        let ttable = FromItem::Table(target.table.clone());
        let mut nodes = Vec::new();
        if let Some((paths, on_path)) = below {
            let mut on_path = on_path.to_vec();
            on_path.push((source.type_id, ri.index));
            joined_nodes(target, paths, None, &mut on_path, &mut nodes)?;
        }
        // The related objects of each parent, by the parent's position.
        let mut assigned: Vec<Vec<Arc<dyn AnyObject>>> = vec![Vec::new(); parents.len()];
        let mut loaded = Vec::new();
        match &ri.join {
            Join::ToChildren { local, remote } => {
                // Parents (positions) by key, and the distinct keys in parent order.
                let mut by_key: HashMap<JoinKey, Vec<usize>, KeyHash> = HashMap::default();
                let mut distinct: Vec<Vec<Value>> = Vec::new();
                let local = col_indexes(source, local)?;
                for (at, p) in parents.iter().enumerate() {
                    if let Some(k) = col_values(p, &local) {
                        let owners = by_key.entry(value_key(&k)).or_default();
                        if owners.is_empty() {
                            distinct.push(k);
                        }
                        owners.push(at);
                    }
                }
                let fk_cols = col_indexes(target, remote)?;
                for chunk in distinct.chunks(SELECTIN_CHUNK) {
                    let cond = in_keys(remote.iter().map(|c| ttable.c(c)).collect(), chunk);
                    let stmt = strata_core::select(target.columns_in(&ttable))
                        .where_(cond)
                        .order_by(order_items(target, &ttable, &ri.def));
                    let stmt = joined_to(stmt, &nodes, &ttable);
                    let cols = (&fk_cols[..], 0);
                    self.select_joined(target, &stmt, cols, &nodes, |child, _, fk, _| {
                        if let Some(owners) = fk.and_then(|f| by_key.get(&f)) {
                            for &at in owners {
                                assigned[at].push(child.clone());
                            }
                        }
                        loaded.push(child);
                        Ok(())
                    })?;
                }
            }
            Join::ToParent { local, remote } => {
                let mut wanted: Vec<(usize, JoinKey)> = Vec::new();
                // Targets already in the identity map need no SQL.
                let mut missing: Vec<Vec<Value>> = Vec::new();
                let mut found: HashMap<JoinKey, Option<Arc<dyn AnyObject>>, KeyHash> =
                    HashMap::default();
                let local = col_indexes(source, local)?;
                for (at, p) in parents.iter().enumerate() {
                    let Some(k) = col_values(p, &local) else {
                        continue;
                    };
                    let vk = value_key(&k);
                    if !found.contains_key(&vk) {
                        let hit = self.identity_lookup(target, remote, &k);
                        if hit.is_none() {
                            missing.push(k);
                        }
                        found.insert(vk.clone(), hit);
                    }
                    wanted.push((at, vk));
                }
                let key_cols = col_indexes(target, remote)?;
                for chunk in missing.chunks(SELECTIN_CHUNK) {
                    let cond = in_keys(remote.iter().map(|c| ttable.c(c)).collect(), chunk);
                    let stmt = strata_core::select(target.columns_in(&ttable)).where_(cond);
                    let stmt = joined_to(stmt, &nodes, &ttable);
                    let cols = (&key_cols[..], 0);
                    self.select_joined(target, &stmt, cols, &nodes, |t, _, k, _| {
                        if let Some(k) = k {
                            // The first row for a key wins, as before.
                            let slot = found.entry(k).or_default();
                            if slot.is_none() {
                                *slot = Some(t);
                            }
                        }
                        Ok(())
                    })?;
                }
                for (at, k) in &wanted {
                    if let Some(Some(t)) = found.get(k) {
                        assigned[*at].push(t.clone());
                        loaded.push(t.clone());
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
                let assoc = FromItem::Table(table.clone());
                let mut by_key: HashMap<JoinKey, Vec<usize>, KeyHash> = HashMap::default();
                let mut distinct: Vec<Vec<Value>> = Vec::new();
                let local = col_indexes(source, local)?;
                for (at, p) in parents.iter().enumerate() {
                    if let Some(k) = col_values(p, &local) {
                        by_key.entry(value_key(&k)).or_default().push(at);
                        distinct.push(k);
                    }
                }
                let on = columns_equal(&ttable, remote, &assoc, assoc_remote);
                for chunk in distinct.chunks(SELECTIN_CHUNK) {
                    let mut cols = target.columns_in(&ttable);
                    cols.extend(assoc_local.iter().map(|c| assoc.c(c)));
                    let stmt = strata_core::select(cols)
                        .select_from(ttable.clone())
                        .join_on(assoc.clone(), on.clone())
                        .where_(in_keys(
                            assoc_local.iter().map(|c| assoc.c(c)).collect(),
                            chunk,
                        ))
                        .order_by(order_items(target, &ttable, &ri.def));
                    let stmt = joined_to(stmt, &nodes, &ttable);
                    let cols = (&[][..], assoc_local.len());
                    self.select_joined(target, &stmt, cols, &nodes, |t, _, _, extra| {
                        if let Some(owners) = by_key.get(&value_key(extra)) {
                            for &at in owners {
                                assigned[at].push(t.clone());
                            }
                        }
                        loaded.push(t);
                        Ok(())
                    })?;
                }
            }
        }
        for (p, members) in parents.iter().zip(assigned) {
            self.set_relation(p, ri, members.into_iter().map(ObjectRef).collect())?;
        }
        Ok((loaded, joined_tree(&nodes, None)))
    }

    /// Set a loaded relationship, and its mirror on the related objects.
    pub(crate) fn set_relation(
        &mut self,
        obj: &Arc<dyn AnyObject>,
        ri: &RelInfo,
        members: Vec<ObjectRef>,
    ) -> Result<()> {
        // A copy of the members is kept only for the mirror.
        let mirror = ri.back.map(|back| (back, members.clone()));
        let mut members = Some(members);
        let set = obj.rel_update(ri.index, &mut |r| {
            if let Some(m) = members.take() {
                r.set_loaded(m)
            }
        })?;
        let Some((back, members)) = mirror.filter(|_| set) else {
            return Ok(());
        };
        let me = ObjectRef(obj.clone());
        let back_is_collection = ri.target.relationships[back].collection;
        for m in members {
            // Only a collection already in memory gains the object; a reference is set
            // unless it is in memory (pointing at another object its row does not say
            // yet, until a flush). Either way the mirror is loaded state, not a change
            // to flush.
            let in_memory = m.0.rel_loaded(back);
            if back_is_collection == in_memory {
                m.0.rel_update(back, &mut |r| {
                    r.add(&me);
                    r.mark_flushed();
                })?;
            }
        }
        Ok(())
    }

    fn identity_lookup(
        &self,
        info: &'static ModelInfo,
        cols: &[&'static str],
        key: &[Value],
    ) -> Option<Arc<dyn AnyObject>> {
        // Only a primary-key lookup can use the identity map.
        let pk_names: Vec<&str> = info.pk.iter().map(|&i| info.names[i]).collect();
        if pk_names != cols {
            return None;
        }
        let ik = crate::info::IdentityKey::new(info.type_id, key.iter().map(Into::into).collect());
        self.identity
            .get(&ik)
            .filter(|o| !o.meta().expired)
            .cloned()
    }

    /// Load a relationship of `obj` through the session: the related objects when they
    /// are already loaded, otherwise one SELECT (a many-to-one target already in the
    /// identity map needs none). A relationship configured or marked `raise` is an error.
    pub fn load<M: Model, R: RelationKind>(
        &mut self,
        obj: &Handle<M>,
        rel: Rel<M, R>,
    ) -> Result<R::Loaded> {
        let info = model_info::<M>()?;
        let ri = rel_info(info, rel.index())?;
        self.check_write_guards()?;
        let erased = obj.erased();
        if let Some(members) = erased.rel_members(ri.index) {
            return Ok(R::from_members(members));
        }
        let raise = ri.def.lazy == Strategy::Raise || erased.meta().raise & rel_bit(ri.index) != 0;
        if raise {
            return Err(Error::InvalidRequest(format!(
                "relationship {}.{} is set to raise on load: load it with a loader option (selectinload/joinedload) in the query",
                info.short_name(),
                ri.def.name
            )));
        }
        match erased.meta().state() {
            crate::ObjectState::Persistent => {}
            crate::ObjectState::Pending => return Ok(R::from_members(Vec::new())),
            state => {
                return Err(Error::NotInSession {
                    model: info.short_name().to_string(),
                    key: info.key_text(&erased.values()),
                    state: state.to_string(),
                    hint: "relationships load only through the object's session".into(),
                })
            }
        }
        self.autoflush()?;
        self.load_relationship(ri, std::slice::from_ref(&erased))?;
        match erased.rel_members(ri.index) {
            Some(m) => Ok(R::from_members(m)),
            None => Err(Error::InvalidRequest(format!(
                "cannot fill {}.{} while a read()/write() guard on the object is alive",
                info.short_name(),
                ri.def.name
            ))),
        }
    }

    /// Apply loader strategies (query options, then the relationships' defaults) to
    /// freshly loaded objects of `info`.
    pub(crate) fn apply_loaders(
        &mut self,
        info: &'static ModelInfo,
        objs: &[Arc<dyn AnyObject>],
        paths: &[LoadPath],
        visited: &mut Vec<(TypeId, usize)>,
        joined: &[Joined],
    ) -> Result<()> {
        if objs.is_empty() {
            return Ok(());
        }
        for (i, def) in info.relationships.iter().enumerate() {
            let explicit = first_step(paths, i);
            let strategy = explicit.unwrap_or(def.lazy);
            match strategy {
                Strategy::SelectIn | Strategy::Joined => {
                    // Defaults do not recurse into a relationship already on the path.
                    if explicit.is_none() && visited.contains(&(info.type_id, i)) {
                        continue;
                    }
                    let ri = rel_info(info, i)?;
                    let below_paths = sub_paths(paths, i);
                    // The objects whose relationship is loaded (by a join of this
                    // statement, or before it, keeping any changes not flushed yet)
                    // keep it; the others load it by select-in.
                    let (loaded, unloaded): (Vec<Obj>, Vec<Obj>) =
                        objs.iter().cloned().partition(|o| o.rel_loaded(i));
                    let mut targets = loaded_members(&loaded, i);
                    let mut below = joined
                        .iter()
                        .find(|j| j.index == i)
                        .map_or(&[][..], |d| &d.below[..]);
                    let fetched;
                    if !unloaded.is_empty() {
                        let joins = Some((&below_paths[..], &visited[..]));
                        let (found, tree) = self.load_relationship_joined(ri, &unloaded, joins)?;
                        targets.extend(found);
                        fetched = tree;
                        below = &fetched;
                    }
                    let mut seen = PtrSet::default();
                    let unique: Vec<Arc<dyn AnyObject>> = targets
                        .into_iter()
                        .filter(|t| seen.insert(crate::plan::ptr(t)))
                        .collect();
                    visited.push((info.type_id, i));
                    self.apply_loaders(ri.target, &unique, &below_paths, visited, below)?;
                    visited.pop();
                }
                Strategy::Raise if explicit.is_some() => {
                    for o in objs {
                        o.meta().raise |= rel_bit(i);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// One path of loader options: (relationship index, strategy) per level.
#[derive(Debug, Clone)]
pub struct LoadPath {
    pub(crate) steps: Vec<(usize, Strategy)>,
}

/// A loader option for a query, typed by the model it starts from (`M`) and the model
/// at its end (`T`), so nested options only name relationships that exist.
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
/// # use strata_orm::{select, selectinload};
/// let anna = Handle::new(User { id: None, name: "Anna".into(), tasks: Many::new() })?;
/// anna.append(User::tasks, &Handle::new(Task { id: None, title: "Write code".into(), completed: false, user_id: None, user: One::new() })?)?;
/// session.add(&anna)?;
/// session.commit()?;
/// // Two statements: the users, then all their tasks with one IN query.
/// let users = session.scalars(&select::<User>().options(selectinload(User::tasks)))?.all();
/// assert_eq!(users[0].read().tasks.get()?.len(), 1);
/// # Ok(()) }
/// ```
pub struct Load<M, T> {
    path: LoadPath,
    _p: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Load<M, T> {
    fn clone(&self) -> Self {
        Load {
            path: self.path.clone(),
            _p: PhantomData,
        }
    }
}

impl<M, T> std::fmt::Debug for Load<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.path.fmt(f)
    }
}

fn start<M: Model, R: RelationKind>(rel: Rel<M, R>, s: Strategy) -> Load<M, R::Target> {
    Load {
        path: LoadPath {
            steps: vec![(rel.index(), s)],
        },
        _p: PhantomData,
    }
}

/// Load the relationship with one extra `IN` query per level.
pub fn selectinload<M: Model, R: RelationKind>(rel: Rel<M, R>) -> Load<M, R::Target> {
    start(rel, Strategy::SelectIn)
}

/// Load the relationship in the same statement with a LEFT OUTER JOIN (two for a
/// many-to-many: the association table, then the target). A statement with LIMIT or
/// OFFSET becomes a subquery of the parents first, so that they count parents rather
/// than joined rows, and its order is kept.
pub fn joinedload<M: Model, R: RelationKind>(rel: Rel<M, R>) -> Load<M, R::Target> {
    start(rel, Strategy::Joined)
}

/// Leave the relationship unloaded (loadable through the session later).
pub fn lazyload<M: Model, R: RelationKind>(rel: Rel<M, R>) -> Load<M, R::Target> {
    start(rel, Strategy::Lazy)
}

/// Make loading the relationship an error for the objects of this query.
pub fn raiseload<M: Model, R: RelationKind>(rel: Rel<M, R>) -> Load<M, R::Target> {
    start(rel, Strategy::Raise)
}

impl<M: Model, T: Model> Load<M, T> {
    fn then<R: RelationKind>(mut self, rel: Rel<T, R>, s: Strategy) -> Load<M, R::Target> {
        self.path.steps.push((rel.index(), s));
        Load {
            path: self.path,
            _p: PhantomData,
        }
    }

    /// Then load `rel` of the loaded objects with select-in.
    pub fn selectinload<R: RelationKind>(self, rel: Rel<T, R>) -> Load<M, R::Target> {
        self.then(rel, Strategy::SelectIn)
    }

    /// Then load `rel` of the loaded objects with a join in the same statement when
    /// they were joined too; below a select-in level, with select-in.
    pub fn joinedload<R: RelationKind>(self, rel: Rel<T, R>) -> Load<M, R::Target> {
        self.then(rel, Strategy::Joined)
    }

    /// Then leave `rel` unloaded.
    pub fn lazyload<R: RelationKind>(self, rel: Rel<T, R>) -> Load<M, R::Target> {
        self.then(rel, Strategy::Lazy)
    }

    /// Then make loading `rel` an error.
    pub fn raiseload<R: RelationKind>(self, rel: Rel<T, R>) -> Load<M, R::Target> {
        self.then(rel, Strategy::Raise)
    }
}

impl<M, T> Load<M, T> {
    pub(crate) fn into_path(self) -> LoadPath {
        self.path
    }
}

impl Session {
    /// Run an ORM select of `info`'s columns. Relationships whose strategy is
    /// `Joined` (by the query's options, or by default along the way unless already
    /// on the path) are loaded in the same statement with LEFT OUTER JOINs, nested
    /// ones joined to their parents'; a statement with LIMIT or OFFSET becomes a
    /// subquery first. They are returned as a tree with the objects.
    pub(crate) fn run_orm_select(
        &mut self,
        info: &'static ModelInfo,
        core: &strata_core::Select,
        paths: &[LoadPath],
    ) -> Result<(Vec<Obj>, Vec<Joined>)> {
        self.autoflush()?;
        let mut nodes = Vec::new();
        joined_nodes(info, paths, None, &mut Vec::new(), &mut nodes)?;
        // The statement as given unless joined loads add to it. With LIMIT or OFFSET
        // it becomes a subquery first, so that they count parents, not joined rows.
        let mut stmt = std::borrow::Cow::Borrowed(core);
        let mut source = FromItem::Table(info.table.clone());
        let limited = core.limit.is_some() || core.offset.is_some();
        if limited && !nodes.is_empty() {
            match limited_parents(info, core) {
                Some((outer, parents)) => {
                    stmt = std::borrow::Cow::Owned(outer);
                    source = parents;
                }
                // A compound or locking statement: select-in loads them instead.
                None => nodes.clear(),
            }
        }
        // Without joins, the statement as given (not a copy).
        if !nodes.is_empty() {
            stmt = std::borrow::Cow::Owned(joined_to(stmt.into_owned(), &nodes, &source));
        }
        let mut parents: Vec<Obj> = Vec::new();
        // Whether a row met an object already in the identity map: only then can the
        // same parent come twice (new objects are distinct).
        let mut met_existing = false;
        self.select_joined(info, &stmt, (&[], 0), &nodes, |obj, loaded, _, _| {
            met_existing |= loaded != Loaded::New;
            parents.push(obj);
            Ok(())
        })?;
        if met_existing {
            let mut seen = PtrSet::default();
            parents.retain(|p| seen.insert(crate::plan::ptr(p)));
        }
        Ok((parents, joined_tree(&nodes, None)))
    }
}
