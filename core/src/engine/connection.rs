//! `Connection` and `Transaction`: running statements on one pooled connection.

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::compile::Bound;
use crate::engine::pool::PooledConnection;
use crate::engine::result::SqlText;
use crate::engine::{CursorResult, Engine, IsolationLevel, Outcome};
use crate::{Compilable, Dialect, Error, Result, Value};

/// One connection checked out of an [`Engine`]'s pool; returned to the pool on drop.
///
/// Outside a transaction every statement commits on its own; [`Connection::begin`]
/// starts a transaction that rolls back unless committed.
pub struct Connection {
    raw: PooledConnection,
    engine: Engine,
    depth: usize,
    isolation: Option<IsolationLevel>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("engine", &self.engine)
            .field("depth", &self.depth)
            .finish()
    }
}

impl Connection {
    pub(crate) fn new(raw: PooledConnection, engine: Engine) -> Self {
        Connection {
            raw,
            engine,
            depth: 0,
            isolation: None,
        }
    }

    /// The engine this connection came from.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The dialect statements are compiled for.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.engine.dialect()
    }

    /// Run a Core statement or `text()`. The compiled SQL comes from the engine's
    /// statement cache and the prepared statement from this connection's cache.
    pub fn execute<S: Compilable + ?Sized>(&mut self, stmt: &S) -> Result<CursorResult<'_>> {
        let Connection { raw, engine, .. } = self;
        let engine: &Engine = engine;
        engine
            .cache()
            .with_template(&stmt, engine.dialect(), |template, params| {
                let (sql, values) = template.bind(params)?;
                let result = run_sql(raw, engine, &sql, &values)?;
                if !result.returns_rows() {
                    return Ok(result);
                }
                let text = match sql {
                    Cow::Owned(s) => SqlText::Owned(s),
                    Cow::Borrowed(_) => SqlText::Template(template.clone()),
                };
                Ok(result.with_sql_text(text))
            })
    }

    /// Run SQL text written for this connection's database, with positional
    /// parameters in the driver's placeholder style.
    pub fn exec_driver_sql(&mut self, sql: &str, params: &[Value]) -> Result<CursorResult<'_>> {
        self.run_text(sql, params, || SqlText::Owned(sql.to_string()))
    }

    /// [`Connection::exec_driver_sql`] for SQL text kept in an `Arc` (text run over and
    /// over): a result with rows refers to the text instead of copying it.
    pub fn exec_shared_sql(
        &mut self,
        sql: &Arc<str>,
        params: &[Value],
    ) -> Result<CursorResult<'_>> {
        self.run_text(sql, params, || SqlText::Shared(sql.clone()))
    }

    /// Run SQL written for the driver that returns no rows (an UPDATE, a DELETE, an
    /// INSERT without RETURNING) once per parameter row, in order, and push each run's
    /// rows affected onto `affected`. On PostgreSQL the runs are pipelined: all are sent
    /// before any answer is read, one round trip for the lot. The first failure ends the
    /// runs and is returned; `affected` then holds the counts of the rows before the
    /// failing one. Outside a transaction they run in one, so either all are written or
    /// none; inside one, a failure leaves the transaction to be rolled back.
    ///
    /// ```
    /// # use strata_core::Value;
    /// # fn demo(conn: &mut strata_core::engine::Connection) -> strata_core::Result<()> {
    /// conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)", &[])?;
    /// conn.exec_driver_sql("INSERT INTO t (id, n) VALUES (1, 0), (2, 0)", &[])?;
    /// let rows: [&[Value]; 3] = [&[Value::Int(1)], &[Value::Int(2)], &[Value::Int(3)]];
    /// let mut affected = Vec::new();
    /// conn.exec_driver_sql_each("UPDATE t SET n = n + 1 WHERE id = ?", &rows, &mut affected)?;
    /// assert_eq!(affected, [1, 1, 0]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn exec_driver_sql_each(
        &mut self,
        sql: &str,
        rows: &[&[Value]],
        affected: &mut Vec<u64>,
    ) -> Result<()> {
        if self.depth == 0 {
            let mut tx = self.begin()?;
            tx.exec_driver_sql_each(sql, rows, affected)?;
            return tx.commit();
        }
        for row in rows {
            self.engine.before_execute(sql, &Bound::Values(row));
        }
        self.raw
            .get_mut()
            .run_each(sql, rows, affected)
            .map_err(|e| e.with_sql(sql))
    }

    fn run_text(
        &mut self,
        sql: &str,
        params: &[Value],
        text: impl FnOnce() -> SqlText,
    ) -> Result<CursorResult<'_>> {
        let result = run_sql(&mut self.raw, &self.engine, sql, &Bound::Values(params))?;
        if !result.returns_rows() {
            return Ok(result);
        }
        Ok(result.with_sql_text(text()))
    }

    /// Run many statements of (usually) the same shape, e.g. one INSERT per row: each
    /// compiles through the cache and reuses the prepared statement. On PostgreSQL,
    /// consecutive statements of one text that return no rows are pipelined (sent
    /// together, one round trip for the lot). Returns the rows affected, summed (a
    /// statement that returns rows, such as one with RETURNING, is read to its end and
    /// counts the rows it returned).
    /// Outside a transaction they run in one, so either all are written or none.
    pub fn execute_many<S, I>(&mut self, stmts: I) -> Result<u64>
    where
        S: Compilable,
        I: IntoIterator<Item = S>,
    {
        if self.depth > 0 {
            return self.run_all(stmts);
        }
        let mut tx = self.begin()?;
        let n = tx.run_all(stmts)?;
        tx.commit()?;
        Ok(n)
    }

    fn run_all<S: Compilable, I: IntoIterator<Item = S>>(&mut self, stmts: I) -> Result<u64> {
        let mut total = 0;
        if !self.raw.get_mut().pipelines() {
            for s in stmts {
                total += self.run_counted(&s)?;
            }
            return Ok(total);
        }
        let mut run = Gathered::default();
        for s in stmts {
            if !s.returns_no_rows() {
                total += self.send_gathered(&mut run)?;
                total += self.run_counted(&s)?;
                continue;
            }
            let engine = &self.engine;
            let (text, values) =
                engine
                    .cache()
                    .with_template(&s, engine.dialect(), |template, params| {
                        let (sql, bound) = template.bind(params)?;
                        let text =
                            (run.rows.is_empty() || *sql != *run.sql).then(|| sql.into_owned());
                        Ok((text, bound.iter().cloned().collect::<Vec<Value>>()))
                    })?;
            if let Some(text) = text {
                total += self.send_gathered(&mut run)?;
                run.sql = text;
            }
            run.rows.push(values);
            if run.rows.len() == GATHERED_RUNS {
                total += self.send_gathered(&mut run)?;
            }
        }
        total += self.send_gathered(&mut run)?;
        Ok(total)
    }

    /// Run `stmt` to its end: the rows it affected, or the rows it returned.
    fn run_counted(&mut self, stmt: &dyn Compilable) -> Result<u64> {
        let mut result = self.execute(stmt)?;
        if !result.returns_rows() {
            return Ok(result.rows_affected());
        }
        let (mut rows, mut values) = (0, Vec::new());
        while result.fetch_into(&mut values)? {
            rows += 1;
        }
        Ok(rows)
    }

    /// Send the gathered runs of one text together; their rows affected, summed.
    fn send_gathered(&mut self, run: &mut Gathered) -> Result<u64> {
        if run.rows.is_empty() {
            return Ok(0);
        }
        let rows: Vec<&[Value]> = run.rows.iter().map(Vec::as_slice).collect();
        let mut affected = Vec::with_capacity(rows.len());
        let sent = self.exec_driver_sql_each(&run.sql, &rows, &mut affected);
        run.rows.clear();
        sent.map(|()| affected.iter().sum())
    }

    /// Set the isolation level of the transactions this connection begins.
    pub fn set_isolation_level(&mut self, level: IsolationLevel) {
        self.isolation = Some(level);
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.depth > 0
    }

    /// Begin a transaction; it rolls back when dropped without `commit()`.
    pub fn begin(&mut self) -> Result<Transaction<'_>> {
        if self.depth > 0 {
            return Err(Error::Transaction(
                "a transaction is already open on this connection; use begin_nested() for a savepoint".into(),
            ));
        }
        let iso = self.isolation;
        self.engine.before_execute("BEGIN", &Bound::Values(&[]));
        self.raw.get_mut().begin(iso)?;
        self.depth = 1;
        Ok(Transaction {
            conn: self,
            savepoint: None,
            active: true,
        })
    }

    /// Begin a transaction that is not tied to a [`Transaction`] value, for owners that
    /// manage the transaction themselves (the ORM `Session`). End it with
    /// [`Connection::commit_transaction`] or [`Connection::rollback_transaction`];
    /// dropping the connection rolls it back.
    pub fn start_transaction(&mut self) -> Result<()> {
        self.begin().map(std::mem::forget)
    }

    /// Commit the transaction started with [`Connection::start_transaction`].
    pub fn commit_transaction(&mut self) -> Result<()> {
        self.end_outer(true)
    }

    /// Roll back the transaction started with [`Connection::start_transaction`].
    pub fn rollback_transaction(&mut self) -> Result<()> {
        self.end_outer(false)
    }

    fn end_outer(&mut self, commit: bool) -> Result<()> {
        if self.depth != 1 {
            return Err(Error::Transaction(format!(
                "{} needs exactly one open transaction and no savepoint (depth is {})",
                if commit { "commit" } else { "rollback" },
                self.depth
            )));
        }
        self.end(None, commit)
    }

    /// Set a savepoint inside the open transaction (manual control; see
    /// [`Connection::start_transaction`]).
    pub fn savepoint(&mut self, name: &str) -> Result<()> {
        if self.depth == 0 {
            return Err(Error::Transaction(
                "a savepoint needs an open transaction".into(),
            ));
        }
        crate::check_identifier(name)?;
        let sql = format!("SAVEPOINT {}", self.dialect().quote_identifier(name));
        self.engine.before_execute(&sql, &Bound::Values(&[]));
        self.raw.get_mut().batch(&sql)?;
        self.depth += 1;
        Ok(())
    }

    /// Release (keep) or roll back to a savepoint set with [`Connection::savepoint`].
    pub fn end_savepoint(&mut self, name: &str, keep: bool) -> Result<()> {
        if self.depth < 2 {
            return Err(Error::Transaction("no savepoint is open".into()));
        }
        let q = self.dialect().quote_identifier(name);
        let sql = if keep {
            format!("RELEASE SAVEPOINT {q}")
        } else {
            format!("ROLLBACK TO SAVEPOINT {q}")
        };
        self.engine.before_execute(&sql, &Bound::Values(&[]));
        self.depth -= 1;
        self.raw.get_mut().batch(&sql)
    }

    fn end(&mut self, savepoint: Option<&str>, commit: bool) -> Result<()> {
        let sql: Cow<'static, str> = match (savepoint, commit) {
            (None, true) => "COMMIT".into(),
            (None, false) => "ROLLBACK".into(),
            (Some(sp), true) => format!("RELEASE SAVEPOINT {sp}").into(),
            (Some(sp), false) => format!("ROLLBACK TO SAVEPOINT {sp}").into(),
        };
        self.engine.before_execute(&sql, &Bound::Values(&[]));
        self.depth -= 1;
        let raw = self.raw.get_mut();
        match (savepoint, commit) {
            (None, true) => raw.commit(),
            (None, false) => raw.rollback(),
            (Some(_), _) => raw.batch(&sql),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.depth > 0 {
            // A transaction value was leaked: never hand a connection with an open
            // transaction back to the pool.
            if self.raw.get_mut().rollback().is_err() {
                self.raw.mark_broken();
            }
        }
    }
}

/// An open transaction (or savepoint) on a [`Connection`]. Dereferences to the
/// connection, so statements run on it directly. Rolls back when dropped uncommitted.
pub struct Transaction<'c> {
    conn: &'c mut Connection,
    savepoint: Option<String>,
    active: bool,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("savepoint", &self.savepoint)
            .field("active", &self.active)
            .finish()
    }
}

impl<'c> Transaction<'c> {
    /// Commit (or release the savepoint).
    pub fn commit(mut self) -> Result<()> {
        self.active = false;
        let sp = self.savepoint.take();
        self.conn.end(sp.as_deref(), true)
    }

    /// Roll back (to the savepoint).
    pub fn rollback(mut self) -> Result<()> {
        self.active = false;
        let sp = self.savepoint.take();
        self.conn.end(sp.as_deref(), false)
    }

    /// A nested transaction: a SAVEPOINT that can be rolled back on its own.
    pub fn begin_nested(&mut self) -> Result<Transaction<'_>> {
        let name = format!("strata_sp_{}", self.conn.depth);
        let sql = format!("SAVEPOINT {name}");
        self.conn.engine.before_execute(&sql, &Bound::Values(&[]));
        self.conn.raw.get_mut().batch(&sql)?;
        self.conn.depth += 1;
        Ok(Transaction {
            conn: self.conn,
            savepoint: Some(name),
            active: true,
        })
    }
}

impl Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl DerefMut for Transaction<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.active {
            self.active = false;
            let sp = self.savepoint.take();
            if self.conn.end(sp.as_deref(), false).is_err() {
                self.conn.raw.mark_broken();
            }
        }
    }
}

/// Statements [`Connection::execute_many`] gathers before sending them together, at most.
const GATHERED_RUNS: usize = 1024;

/// Consecutive statements of one SQL text, gathered by [`Connection::execute_many`]: the
/// text and each statement's parameter values.
#[derive(Default)]
struct Gathered {
    sql: String,
    rows: Vec<Vec<Value>>,
}

/// Send one statement on `raw`, telling `engine`'s listeners first.
fn run_sql<'c>(
    raw: &'c mut PooledConnection,
    engine: &Engine,
    sql: &str,
    values: &Bound<'_>,
) -> Result<CursorResult<'c>> {
    engine.before_execute(sql, values);
    match raw.get_mut().run(sql, values) {
        Ok(Outcome::Rows(stream)) => Ok(CursorResult::rows(stream)),
        Ok(Outcome::Done {
            rows_affected,
            last_insert_id,
        }) => Ok(CursorResult::done(rows_affected, last_insert_id)),
        Err(e) => Err(e.with_sql(sql)),
    }
}
