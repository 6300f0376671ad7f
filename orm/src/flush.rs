//! The unit of work: find what changed, write it in dependency order, atomically.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use strata_core::engine::Connection;
use strata_core::{delete, insert, update, Expr, MetaData, Table, Value};

use crate::handle::{same_values, AnyObject, ObjectState};
use crate::info::ModelInfo;
use crate::session::Session;
use crate::{Error, Result};

/// What a successful flush changes in memory, applied only after every statement ran.
#[derive(Default)]
struct Applied {
    inserted: Vec<(Arc<dyn AnyObject>, Vec<Value>, bool)>,
    updated: Vec<(Arc<dyn AnyObject>, Vec<Value>)>,
    deleted: Vec<Arc<dyn AnyObject>>,
}

struct Dirty {
    obj: Arc<dyn AnyObject>,
    values: Vec<Value>,
    snapshot: Vec<Value>,
}

/// An object with its column values at flush time.
type Row = (Arc<dyn AnyObject>, Vec<Value>);

const FLUSH_SAVEPOINT: &str = "strata_flush";
/// Parameters per INSERT statement, well under every database's limit.
const MAX_PARAMS: usize = 10_000;

fn flush_error(info: &ModelInfo, values: &[Value], e: Error) -> Error {
    match e {
        e @ (Error::StaleData { .. } | Error::Flush { .. }) => e,
        e => Error::Flush {
            model: info.short_name().to_string(),
            key: info.key_text(values),
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

fn pk_where(info: &ModelInfo, values: &[Value]) -> Vec<Expr> {
    info.pk
        .iter()
        .map(|&i| info.table.c(info.names[i]).eq(values[i].clone()))
        .collect()
}

impl Session {
    /// Write every pending change: INSERTs of new objects (parents first, batched per
    /// table with generated keys read back), UPDATEs of changed columns only (none when
    /// nothing changed), DELETEs (children first). Atomic: on error nothing of this
    /// flush stays in the database and every object is as it was before.
    pub fn flush(&mut self) -> Result<()> {
        let pending = self.pending.clone();
        let deletes = self.deleted.clone();
        let mut dirty = Vec::new();
        if self.hint.swap(false, Ordering::AcqRel) {
            for obj in self.identity.values() {
                if !obj.take_touched() {
                    continue;
                }
                let values = obj.values();
                let m = obj.meta();
                if m.state != ObjectState::Persistent {
                    continue;
                }
                match &m.snapshot {
                    Some(s) if same_values(s, &values) => {}
                    Some(s) => dirty.push(Dirty {
                        obj: obj.clone(),
                        values,
                        snapshot: s.clone(),
                    }),
                    None => {}
                }
            }
        }
        if pending.is_empty() && dirty.is_empty() && deletes.is_empty() {
            return Ok(());
        }
        let restore = |s: &Session, dirty: &[Dirty]| {
            for d in dirty {
                d.obj.touch();
            }
            if !dirty.is_empty() {
                s.hint.store(true, Ordering::Release);
            }
        };
        // Objects the flush will update in memory must not be borrowed.
        for obj in pending.iter().chain(dirty.iter().map(|d| &d.obj)) {
            if !obj.is_free() {
                restore(self, &dirty);
                let info = obj.info();
                return Err(Error::InvalidRequest(format!(
                    "cannot flush {} {} while a read()/write() guard on it is alive; drop the guard first",
                    info.short_name(),
                    info.key_text(&obj.values())
                )));
            }
        }
        // Validation runs before any SQL.
        for obj in pending.iter().chain(dirty.iter().map(|d| &d.obj)) {
            if let Err(message) = obj.validate() {
                restore(self, &dirty);
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
                restore(self, &dirty);
                return Err(e);
            }
        };
        if use_savepoint {
            if let Err(e) = conn.savepoint(FLUSH_SAVEPOINT) {
                restore(self, &dirty);
                return Err(e.into());
            }
        }
        match run(conn, &pending, &dirty, &deletes) {
            Ok(applied) => {
                if use_savepoint {
                    conn.end_savepoint(FLUSH_SAVEPOINT, true)?;
                }
                self.wrote_in_tx = true;
                self.apply(applied)
            }
            Err(e) => {
                if use_savepoint {
                    let _ = conn.end_savepoint(FLUSH_SAVEPOINT, false);
                } else {
                    let _ = conn.rollback_transaction();
                    self.in_tx = false;
                    self.conn = None;
                }
                restore(self, &dirty);
                Err(e)
            }
        }
    }

    fn apply(&mut self, applied: Applied) -> Result<()> {
        for (obj, values, server_unknown) in applied.inserted {
            let set = obj.set_values(values.clone())?;
            obj.take_touched();
            let key = obj.info().key(&values);
            {
                let mut m = obj.meta();
                m.state = ObjectState::Persistent;
                m.snapshot = Some(values);
                m.key = key.clone();
                m.expired = server_unknown || !set;
            }
            self.pending
                .retain(|p| !crate::session::same_object(p, &obj));
            if let Some(k) = key {
                self.identity.insert(k, obj.clone());
            }
            self.inserted_in_tx.push(obj);
        }
        for (obj, values) in applied.updated {
            if obj.values() != values && !obj.set_values(values.clone())? {
                obj.meta().expired = true;
            }
            obj.meta().snapshot = Some(values);
        }
        for obj in applied.deleted {
            let key = {
                let mut m = obj.meta();
                m.state = ObjectState::Deleted;
                m.key.clone()
            };
            if let Some(k) = key {
                self.identity.remove(&k);
            }
            self.deleted
                .retain(|d| !crate::session::same_object(d, &obj));
            self.flushed_deleted.push(obj);
        }
        Ok(())
    }
}

fn run(
    conn: &mut Connection,
    pending: &[Arc<dyn AnyObject>],
    dirty: &[Dirty],
    deletes: &[Arc<dyn AnyObject>],
) -> Result<Applied> {
    let mut applied = Applied::default();
    let infos: Vec<&'static ModelInfo> = pending
        .iter()
        .map(|o| o.info())
        .chain(dirty.iter().map(|d| d.obj.info()))
        .chain(deletes.iter().map(|o| o.info()))
        .collect();
    let order = table_order(&infos)?;
    let returning = conn.dialect().capabilities().returning;
    for info in &order {
        let objs: Vec<Row> = pending
            .iter()
            .filter(|o| o.info().type_id == info.type_id)
            .map(|o| (o.clone(), o.values()))
            .collect();
        if !objs.is_empty() {
            insert_objects(conn, info, objs, returning, &mut applied)?;
        }
        for d in dirty
            .iter()
            .filter(|d| d.obj.info().type_id == info.type_id)
        {
            update_object(conn, info, d, returning, &mut applied)?;
        }
    }
    for info in order.iter().rev() {
        let objs: Vec<&Arc<dyn AnyObject>> = deletes
            .iter()
            .filter(|o| o.info().type_id == info.type_id)
            .collect();
        if !objs.is_empty() {
            delete_objects(conn, info, &objs, &mut applied)?;
        }
    }
    Ok(applied)
}

/// Which columns an INSERT sends: everything but NULLs the database or a default fills.
fn sent_columns(info: &ModelInfo, values: &[Value]) -> Vec<usize> {
    (0..values.len())
        .filter(|&i| {
            let c = &info.columns[i];
            !(values[i].is_null()
                && (Some(i) == info.autoinc || c.server_default.is_some() || c.default.is_some()))
        })
        .collect()
}

fn insert_objects(
    conn: &mut Connection,
    info: &'static ModelInfo,
    objs: Vec<Row>,
    returning: bool,
    applied: &mut Applied,
) -> Result<()> {
    // Batch rows that send the same columns, keeping the order they were added in.
    let mut groups: Vec<(Vec<usize>, Vec<Row>)> = Vec::new();
    for (o, v) in objs {
        let cols = sent_columns(info, &v);
        match groups.iter_mut().find(|(c, _)| *c == cols) {
            Some((_, g)) => g.push((o, v)),
            None => groups.push((cols, vec![(o, v)])),
        }
    }
    for (cols, rows) in groups {
        // Read back the generated key and server defaults not sent.
        let back: Vec<usize> = (0..info.columns.len())
            .filter(|i| {
                !cols.contains(i)
                    && (info.pk.contains(i)
                        || info.columns[*i].server_default.is_some()
                        || info.columns[*i].default.is_some())
            })
            .collect();
        let per_stmt = (MAX_PARAMS / cols.len().max(1)).max(1);
        for chunk in rows.chunks(per_stmt) {
            if returning || back.is_empty() {
                insert_chunk(conn, info, &cols, &back, chunk, returning, applied)?;
            } else {
                for row in chunk {
                    insert_chunk(
                        conn,
                        info,
                        &cols,
                        &back,
                        std::slice::from_ref(row),
                        false,
                        applied,
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn insert_chunk(
    conn: &mut Connection,
    info: &'static ModelInfo,
    cols: &[usize],
    back: &[usize],
    chunk: &[Row],
    returning: bool,
    applied: &mut Applied,
) -> Result<()> {
    let table: &Table = &info.table;
    let mut stmt = insert(table)
        .columns(cols.iter().map(|&i| info.names[i]))
        .value_rows(
            chunk
                .iter()
                .map(|(_, v)| cols.iter().map(|&i| v[i].clone()).collect()),
        );
    let read_back = returning && !back.is_empty();
    if read_back {
        // The primary key first, to match rows to objects.
        let mut ret: Vec<Expr> = info.pk.iter().map(|&i| table.c(info.names[i])).collect();
        ret.extend(
            back.iter()
                .filter(|i| !info.pk.contains(i))
                .map(|&i| table.c(info.names[i])),
        );
        stmt = stmt.returning(ret);
    }
    let first = &chunk[0].1;
    let wrap = |e: strata_core::Error| flush_error(info, first, e.into());
    let mut result = conn.execute(&stmt).map_err(wrap)?;
    if read_back {
        let mut rows = Vec::with_capacity(chunk.len());
        while let Some(r) = result.fetch_one().map_err(wrap)? {
            rows.push(r.into_values());
        }
        drop(result);
        if rows.len() != chunk.len() {
            return Err(flush_error(
                info,
                first,
                Error::InvalidRequest(format!(
                    "INSERT returned {} rows for {} objects",
                    rows.len(),
                    chunk.len()
                )),
            ));
        }
        let ret_cols: Vec<usize> = info
            .pk
            .iter()
            .copied()
            .chain(back.iter().copied().filter(|i| !info.pk.contains(i)))
            .collect();
        let generated_key = info.autoinc.is_some_and(|a| back.contains(&a));
        if generated_key {
            // Keys from one INSERT ascend in row order.
            rows.sort_by_key(|r| {
                r.first().map(|v| match v {
                    Value::SmallInt(i) => *i as i64,
                    Value::Int(i) => *i as i64,
                    Value::BigInt(i) => *i,
                    _ => 0,
                })
            });
            for ((obj, values), row) in chunk.iter().zip(rows) {
                let mut v = values.clone();
                for (&c, val) in ret_cols.iter().zip(row) {
                    v[c] = val;
                }
                applied.inserted.push((obj.clone(), v, false));
            }
        } else {
            for (obj, values) in chunk {
                let key = info.key(values);
                let row = rows.iter().find(|r| {
                    let mut probe = values.clone();
                    for (&c, val) in ret_cols.iter().zip(r.iter()) {
                        probe[c] = val.clone();
                    }
                    info.key(&probe) == key
                });
                let mut v = values.clone();
                if let Some(row) = row {
                    for (&c, val) in ret_cols.iter().zip(row.iter()) {
                        v[c] = val.clone();
                    }
                }
                applied.inserted.push((obj.clone(), v, false));
            }
        }
    } else {
        let last = result.last_insert_id();
        drop(result);
        for (obj, values) in chunk {
            let mut v = values.clone();
            let mut unknown = false;
            for &b in back {
                if Some(b) == info.autoinc && chunk.len() == 1 {
                    v[b] = last.map(Value::BigInt).unwrap_or(Value::Null);
                } else {
                    unknown = true;
                }
            }
            applied.inserted.push((obj.clone(), v, unknown));
        }
    }
    Ok(())
}

fn update_object(
    conn: &mut Connection,
    info: &'static ModelInfo,
    d: &Dirty,
    returning: bool,
    applied: &mut Applied,
) -> Result<()> {
    let mut values = d.values.clone();
    let changed: Vec<usize> = (0..values.len())
        .filter(|&i| !values[i].same_as(&d.snapshot[i]))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let table = &info.table;
    let mut stmt = update(table);
    for &i in &changed {
        stmt = stmt.set(info.names[i], values[i].clone());
    }
    let mut conds = pk_where(info, &d.snapshot);
    if let Some(v) = info.version {
        let old = d.snapshot[v].clone();
        let next = match &old {
            Value::SmallInt(i) => Value::SmallInt(i + 1),
            Value::Int(i) => Value::Int(i + 1),
            Value::BigInt(i) => Value::BigInt(i + 1),
            _ => Value::BigInt(1),
        };
        if !changed.contains(&v) {
            values[v] = next.clone();
            stmt = stmt.set(info.names[v], next);
        }
        conds.push(if old.is_null() {
            table.c(info.names[v]).is_null()
        } else {
            table.c(info.names[v]).eq(old)
        });
    }
    let stmt = stmt.where_(strata_core::and_(conds));
    let onupdate: Vec<usize> = info
        .onupdate
        .iter()
        .copied()
        .filter(|i| !changed.contains(i))
        .collect();
    let wrap = |e: strata_core::Error| flush_error(info, &d.snapshot, e.into());
    let matched = if returning && !onupdate.is_empty() {
        let stmt = stmt.returning(
            onupdate
                .iter()
                .map(|&i| table.c(info.names[i]))
                .collect::<Vec<_>>(),
        );
        let rows = conn.execute(&stmt).map_err(wrap)?.all().map_err(wrap)?;
        if let Some(r) = rows.first() {
            for (&c, v) in onupdate.iter().zip(r.values()) {
                values[c] = v.clone();
            }
        }
        rows.len() as u64
    } else {
        conn.execute(&stmt).map_err(wrap)?.rows_affected()
    };
    if matched != 1 {
        return Err(Error::StaleData {
            model: info.short_name().to_string(),
            key: info.key_text(&d.snapshot),
            statement: "UPDATE".into(),
            matched,
            expected: 1,
        });
    }
    applied.updated.push((d.obj.clone(), values));
    Ok(())
}

fn delete_objects(
    conn: &mut Connection,
    info: &'static ModelInfo,
    objs: &[&Arc<dyn AnyObject>],
    applied: &mut Applied,
) -> Result<()> {
    let table = &info.table;
    let snapshots: Vec<Vec<Value>> = objs
        .iter()
        .map(|o| o.meta().snapshot.clone().unwrap_or_else(|| o.values()))
        .collect();
    if info.pk.len() == 1 && info.version.is_none() && objs.len() > 1 {
        let pk = info.pk[0];
        let keys: Vec<Value> = snapshots.iter().map(|s| s[pk].clone()).collect();
        let stmt = delete(table).where_(table.c(info.names[pk]).in_(keys));
        let n = conn
            .execute(&stmt)
            .map_err(|e| flush_error(info, &snapshots[0], e.into()))?
            .rows_affected();
        if n != objs.len() as u64 {
            return Err(Error::StaleData {
                model: info.short_name().to_string(),
                key: format!("{} objects", objs.len()),
                statement: "DELETE".into(),
                matched: n,
                expected: objs.len() as u64,
            });
        }
    } else {
        for s in &snapshots {
            let mut conds = pk_where(info, s);
            if let Some(v) = info.version {
                conds.push(table.c(info.names[v]).eq(s[v].clone()));
            }
            let stmt = delete(table).where_(strata_core::and_(conds));
            let n = conn
                .execute(&stmt)
                .map_err(|e| flush_error(info, s, e.into()))?
                .rows_affected();
            if n != 1 {
                return Err(Error::StaleData {
                    model: info.short_name().to_string(),
                    key: info.key_text(s),
                    statement: "DELETE".into(),
                    matched: n,
                    expected: 1,
                });
            }
        }
    }
    applied.deleted.extend(objs.iter().map(|o| (*o).clone()));
    Ok(())
}
