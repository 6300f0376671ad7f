//! The SQLite driver: rusqlite connections with prepared-statement reuse and rows
//! streamed as SQLite produces them.

use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hashlink::linked_hash_map::RawEntryMut;
use hashlink::LinkedHashMap;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{OpenFlags, PrepFlags, StatementStatus, ToSql};
use rustc_hash::FxBuildHasher;
use strata_core::compile::Bound;
use strata_core::engine::{
    DatabaseUrl, Driver, DriverConnection, IsolationLevel, Outcome, RowStream,
};
use strata_core::{DbErrorKind, Dialect, Error, Result, Value};

use super::SqliteDialect;

static MEMORY_DB_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Where the database lives.
#[derive(Debug, Clone)]
enum Target {
    /// A named shared-cache in-memory database: every connection of the engine sees it.
    Memory(String),
    /// A database file, opened with `flags`, waiting up to `busy_timeout` for locks.
    File {
        path: PathBuf,
        flags: OpenFlags,
        busy_timeout: Duration,
    },
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Memory(_) => f.write_str("sqlite://"),
            Target::File { path, .. } => write!(f, "sqlite:///{}", path.display()),
        }
    }
}

/// How long a connection waits for another's lock before "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Open flags for a file that may be read and written, and is created if missing.
fn read_write_create() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// Open flags for a file URL's `mode`: `ro` (read only), `rw` (read and write, the
/// file must exist) or `rwc` (created if missing).
fn mode_flags(mode: &str) -> Option<OpenFlags> {
    let rwc = read_write_create();
    let rw = rwc - OpenFlags::SQLITE_OPEN_CREATE;
    match mode {
        "rwc" => Some(rwc),
        "rw" => Some(rw),
        "ro" => Some((rw - OpenFlags::SQLITE_OPEN_READ_WRITE) | OpenFlags::SQLITE_OPEN_READ_ONLY),
        _ => None,
    }
}

/// Opens rusqlite connections to one database (a file, or an in-memory database
/// shared by all of the engine's connections).
///
/// ```
/// use strata_dialects::SqliteDriver;
/// use strata_core::engine::Driver;
/// let d = SqliteDriver::memory().unwrap();
/// let mut c = d.connect().unwrap();
/// c.batch("CREATE TABLE t (x INTEGER)").unwrap();
/// ```
#[derive(Debug)]
pub struct SqliteDriver {
    target: Target,
    /// Keeps an in-memory database alive while the pool has no connection open.
    _keeper: Option<Mutex<rusqlite::Connection>>,
}

impl SqliteDriver {
    /// A fresh in-memory database, shared by every connection of this driver.
    pub fn memory() -> Result<SqliteDriver> {
        let n = MEMORY_DB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "file:strata_mem_{}_{n}?mode=memory&cache=shared",
            std::process::id()
        );
        let keeper = open(&Target::Memory(name.clone()))?;
        Ok(SqliteDriver {
            target: Target::Memory(name),
            _keeper: Some(Mutex::new(keeper)),
        })
    }

    /// A database file (created if missing).
    pub fn file(path: impl Into<PathBuf>) -> SqliteDriver {
        SqliteDriver {
            target: Target::File {
                path: path.into(),
                flags: read_write_create(),
                busy_timeout: BUSY_TIMEOUT,
            },
            _keeper: None,
        }
    }

    /// From a `sqlite://` URL: `sqlite://` or `sqlite:///:memory:` is in memory,
    /// `sqlite:///relative.db` and `sqlite:////absolute/path.db` are files.
    ///
    /// Options of a file URL: `mode=ro` (read only), `mode=rw` (read and write, the
    /// file must exist) or `mode=rwc` (the default: created if missing); `timeout=`
    /// seconds to wait for another connection's lock (5 by default); `uri=true` is
    /// accepted for SQLAlchemy's URLs. Any other option is an error.
    pub fn from_url(url: &DatabaseUrl) -> Result<SqliteDriver> {
        if url.host.as_deref().is_some_and(|h| !h.is_empty()) {
            return Err(Error::Url(format!(
                "sqlite URLs have no host: use sqlite:///relative.db or sqlite:////absolute/path.db, not {url}"
            )));
        }
        let path = match url.database.as_str() {
            "" | ":memory:" => {
                if let Some((k, _)) = url.query.first() {
                    return Err(Error::Url(format!(
                        "the sqlite URL option {k:?} applies to database files, not to an in-memory database"
                    )));
                }
                return SqliteDriver::memory();
            }
            path => path,
        };
        let mut flags = read_write_create();
        let mut busy_timeout = BUSY_TIMEOUT;
        for (k, v) in &url.query {
            match (k.as_str(), v.as_str()) {
                ("mode", mode) => {
                    flags = mode_flags(mode).ok_or_else(|| {
                        Error::Url(format!("sqlite mode={mode:?} is not one of ro, rw, rwc"))
                    })?
                }
                ("timeout", secs) => {
                    busy_timeout = secs
                        .parse::<f64>()
                        .ok()
                        .and_then(|s| Duration::try_from_secs_f64(s).ok())
                        .ok_or_else(|| {
                            Error::Url(format!(
                                "sqlite timeout={secs:?} is not a number of seconds"
                            ))
                        })?;
                }
                ("uri", "true") => {}
                (other, _) => {
                    return Err(Error::Url(format!("unknown sqlite URL option {other:?}")))
                }
            }
        }
        Ok(SqliteDriver {
            target: Target::File {
                path: path.into(),
                flags,
                busy_timeout,
            },
            _keeper: None,
        })
    }
}

fn open(target: &Target) -> Result<rusqlite::Connection> {
    let conn = match target {
        Target::Memory(uri) => rusqlite::Connection::open_with_flags(uri, read_write_create()),
        Target::File { path, flags, .. } => rusqlite::Connection::open_with_flags(path, *flags),
    }
    .map_err(|e| Error::Connection(format!("cannot open SQLite database {target}: {e}")))?;
    // strata keeps its own statements (see `PreparedConnection`); rusqlite's cache only holds
    // the rare PRAGMA the driver reads.
    conn.set_prepared_statement_cache_capacity(8);
    let busy_timeout = match target {
        Target::File { busy_timeout, .. } => *busy_timeout,
        Target::Memory(_) => BUSY_TIMEOUT,
    };
    conn.busy_timeout(busy_timeout).map_err(db_error)?;
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .map_err(db_error)?;
    if matches!(target, Target::Memory(_)) {
        conn.execute_batch("PRAGMA read_uncommitted = 1")
            .map_err(db_error)?;
    }
    Ok(conn)
}

impl Driver for SqliteDriver {
    fn dialect(&self) -> &'static dyn Dialect {
        &SqliteDialect
    }

    fn connect(&self) -> Result<Box<dyn DriverConnection>> {
        Ok(Box::new(SqliteConnection::open(&self.target)?))
    }

    fn describe(&self) -> String {
        self.target.to_string()
    }
}

/// Convert a rusqlite error into strata's, classified by SQLite's result code.
pub(crate) fn db_error(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode as C;
    // A syntax error that SQLite locates in the SQL text (`SqlInputError`) carries its
    // SQLite error as the source, like a plain `SqliteFailure`.
    let failure =
        std::error::Error::source(&e).and_then(|s| s.downcast_ref::<rusqlite::ffi::Error>());
    let (kind, code) = match (&e, failure) {
        (_, Some(f)) => {
            let kind = match f.code {
                C::ConstraintViolation => DbErrorKind::IntegrityError,
                C::Unknown | C::ApiMisuse | C::ParameterOutOfRange => DbErrorKind::ProgrammingError,
                C::DatabaseBusy | C::DatabaseLocked => DbErrorKind::TransactionConflict,
                C::TypeMismatch | C::TooBig => DbErrorKind::DataError,
                C::CannotOpen
                | C::SystemIoFailure
                | C::DiskFull
                | C::ReadOnly
                | C::NotADatabase => DbErrorKind::OperationalError,
                _ => DbErrorKind::Other,
            };
            (kind, Some(f.extended_code.to_string()))
        }
        (
            rusqlite::Error::InvalidParameterCount(..) | rusqlite::Error::InvalidColumnIndex(_),
            _,
        ) => (DbErrorKind::ProgrammingError, None),
        _ => (DbErrorKind::Other, None),
    };
    let message = match &e {
        // Its Display repeats the whole statement, which the error carries anyway.
        // (rusqlite has this error only with a modern SQLite, which `bundled` brings.)
        #[cfg(feature = "bundled-sqlite")]
        rusqlite::Error::SqlInputError { msg, offset, .. } => {
            format!("{msg} (at offset {offset} of the statement)")
        }
        _ => e.to_string(),
    };
    Error::Database {
        kind,
        message,
        code,
        sql: None,
    }
}

struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as V;
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Bool(b) => ToSqlOutput::Owned(V::Integer(*b as i64)),
            Value::SmallInt(i) => ToSqlOutput::Owned(V::Integer(*i as i64)),
            Value::Int(i) => ToSqlOutput::Owned(V::Integer(*i as i64)),
            Value::BigInt(i) => ToSqlOutput::Owned(V::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Owned(V::Real(*f as f64)),
            Value::Double(f) => ToSqlOutput::Owned(V::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            // UUIDs as 32 hex digits, like SQLAlchemy's CHAR(32).
            #[cfg(feature = "uuid")]
            Value::Uuid(u) => ToSqlOutput::Owned(V::Text(u.simple().to_string())),
            // Dates and times, JSON and decimals as their canonical text.
            #[allow(unreachable_patterns)]
            other => ToSqlOutput::Owned(V::Text(other.typed_text().unwrap_or_default())),
        })
    }
}

fn read_value(v: ValueRef<'_>) -> Result<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::BigInt(i),
        ValueRef::Real(f) => Value::Double(f),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|_| Error::type_mismatch("SQLite returned text that is not valid UTF-8"))?
                .to_string(),
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    })
}

/// Prepared statements kept per connection; past this many the least recently used is
/// finalized.
const STATEMENT_CACHE: usize = 256;

struct SqliteConnection {
    /// The rusqlite connection with its prepared statements.
    db: PreparedConnection,
    /// An in-memory database shared by the engine's connections (shared-cache mode).
    /// There, readers would hold table locks that make writers fail at once with
    /// SQLITE_LOCKED (busy timeouts do not apply), so transactions read uncommitted
    /// data by default, as SQLite recommends for shared cache.
    shared_cache: bool,
    /// The `read_uncommitted` setting as last set or read; `None` once a PRAGMA ran
    /// that may have changed it. Reading it from SQLite costs a statement that SQLite
    /// re-prepares every time, which would double the cost of a short transaction.
    read_uncommitted: Option<bool>,
}

/// A statement prepared on the connection, with its result column names.
struct Prepared {
    /// Borrows the `rusqlite::Connection` of its [`PreparedConnection`], which outlives
    /// it (the `'static` is a promise `PreparedConnection` keeps, never handed out).
    stmt: rusqlite::Statement<'static>,
    columns: ColumnNames,
    /// The text may run a PRAGMA ([`is_pragma`]).
    pragma: bool,
    /// The text is an INSERT (whose generated key the run reports).
    insert: bool,
}

/// A rusqlite connection and its prepared statements by SQL text, least recently used
/// first.
///
/// rusqlite's own statement cache moves a statement out of its LRU map and back on
/// every execution, hashing the text twice, copying it into a new `Arc<str>` and
/// clearing the bindings; for a point query that is a quarter of the whole execution.
/// Here a statement stays in place and is lent out for one execution (its rows borrow
/// it, and the connection, until they are dropped, which resets it). The statements
/// borrow the connection they were prepared on, so both live in this one struct.
struct PreparedConnection {
    /// Declared before `conn`: the statements are finalized before the connection
    /// closes.
    prepared: LinkedHashMap<Box<str>, Prepared, FxBuildHasher>,
    /// Boxed so that its address, which the statements hold, never changes.
    conn: Box<rusqlite::Connection>,
}

// SAFETY: the statements are only used through `&mut PreparedConnection`, which owns
// them together with the connection they borrow: they move to another thread only with
// that connection, never apart from it and never shared, as rusqlite's own statement
// cache (`unsafe impl Send for StatementCache`) moves with its `Connection`.
unsafe impl Send for PreparedConnection {}

impl PreparedConnection {
    /// `conn` with no statement prepared yet.
    fn new(conn: rusqlite::Connection) -> Self {
        PreparedConnection {
            prepared: LinkedHashMap::default(),
            conn: Box::new(conn),
        }
    }

    /// The connection, for what does not go through the cache.
    fn conn(&self) -> &rusqlite::Connection {
        &self.conn
    }

    /// The prepared statement for `sql` (prepared now if new), and the connection.
    fn get(&mut self, sql: &str) -> Result<(&mut Prepared, &rusqlite::Connection)> {
        let hash = self.prepared.hasher().hash_one(sql);
        if self
            .prepared
            .raw_entry()
            .from_key_hashed_nocheck(hash, sql)
            .is_none()
        {
            let prepared = self.prepare(sql)?;
            if self.prepared.len() >= STATEMENT_CACHE {
                self.prepared.pop_front();
            }
            self.prepared.insert(sql.into(), prepared);
        }
        let RawEntryMut::Occupied(mut entry) = self
            .prepared
            .raw_entry_mut()
            .from_key_hashed_nocheck(hash, sql)
        else {
            // Found or inserted just above.
            return Err(Error::Connection(format!(
                "the SQLite statement cache lost the statement {sql:?}"
            )));
        };
        entry.to_back();
        let p = entry.into_mut();
        if !p.columns.still_of(&p.stmt) {
            // Re-prepared (the schema changed) since its names were read.
            p.columns = ColumnNames::of(&p.stmt);
        }
        Ok((p, &self.conn))
    }

    /// Prepare `sql` on the connection, for the cache.
    fn prepare(&self, sql: &str) -> Result<Prepared> {
        let stmt = self
            .conn
            .prepare_with_flags(sql, PrepFlags::SQLITE_PREPARE_PERSISTENT)
            .map_err(|e| db_error(e).with_sql(sql))?;
        // SAFETY: the statement borrows `*self.conn`, whose box never moves or is
        // replaced; `prepared` is declared before `conn`, so every statement is
        // finalized before the connection is dropped. The `'static` never leaves the
        // borrows of `self` that `get` hands out.
        let stmt = unsafe {
            std::mem::transmute::<rusqlite::Statement<'_>, rusqlite::Statement<'static>>(stmt)
        };
        let columns = ColumnNames::of(&stmt);
        Ok(Prepared {
            stmt,
            columns,
            pragma: is_pragma(sql),
            insert: is_insert(sql),
        })
    }
}

/// A cached statement's result column names. SQLite re-prepares a statement after a
/// schema change (inside its first step), and it may then have other columns; its
/// re-prepare counter tells whether that happened since the names were read, without
/// comparing them. A statement prepared afresh (never run) always has its names read.
#[derive(Clone)]
struct ColumnNames {
    names: Arc<[String]>,
    reprepared: i32,
}

impl ColumnNames {
    fn of(stmt: &rusqlite::Statement<'_>) -> ColumnNames {
        ColumnNames {
            names: stmt.column_names().into_iter().map(String::from).collect(),
            reprepared: stmt.get_status(StatementStatus::RePrepare),
        }
    }

    /// Whether these are still the names of `stmt`, which has run before.
    fn still_of(&self, stmt: &rusqlite::Statement<'_>) -> bool {
        stmt.get_status(StatementStatus::RePrepare) == self.reprepared
    }
}

impl SqliteConnection {
    /// A new connection to `target`.
    fn open(target: &Target) -> Result<Self> {
        let shared_cache = matches!(target, Target::Memory(_));
        Ok(SqliteConnection {
            db: PreparedConnection::new(open(target)?),
            shared_cache,
            // As `open` set it.
            read_uncommitted: Some(shared_cache),
        })
    }

    /// The connection's current `read_uncommitted` setting (reading it, unlike setting
    /// it, does not expire prepared statements); `None` if it cannot be read.
    fn read_uncommitted(&self) -> Option<bool> {
        let mut stmt = self
            .db
            .conn()
            .prepare_cached("PRAGMA read_uncommitted")
            .ok()?;
        stmt.query_row([], |r| r.get::<_, i64>(0))
            .ok()
            .map(|v| v != 0)
    }

    /// Forget the known `read_uncommitted` setting if `sql` may run a PRAGMA, as
    /// `may_be_pragma` tells.
    fn note_pragma(&mut self, sql: &str, may_be_pragma: fn(&str) -> bool) {
        if self.read_uncommitted.is_some() && may_be_pragma(sql) {
            self.read_uncommitted = None;
        }
    }

    /// Run a statement without parameters or rows (BEGIN, COMMIT, ROLLBACK) through the
    /// statement cache, so it is parsed once per connection.
    fn simple(&mut self, sql: &'static str) -> Result<()> {
        self.db
            .get(sql)?
            .0
            .stmt
            .raw_execute()
            .map(drop)
            .map_err(|e| db_error(e).with_sql(sql))
    }
}

/// Whether `sql` starts with the (ASCII) keyword `word`, in any case.
fn starts_with_keyword(sql: &str, word: &[u8]) -> bool {
    // Bytes, not a str slice: the keyword's last byte may be inside a multi-byte
    // character of the text.
    let s = sql.trim_start().as_bytes();
    s.get(..word.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(word))
}

/// Whether `sql` holds the word PRAGMA anywhere.
fn mentions_pragma(sql: &str) -> bool {
    sql.as_bytes()
        .windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"pragma"))
}

/// Whether `sql` (one statement) may be a PRAGMA: it starts with one, or with a
/// comment that may hide one.
fn is_pragma(sql: &str) -> bool {
    let s = sql.trim_start();
    if s.starts_with("--") || s.starts_with("/*") {
        return mentions_pragma(s);
    }
    starts_with_keyword(s, b"PRAGMA")
}

fn is_insert(sql: &str) -> bool {
    starts_with_keyword(sql, b"INSERT")
}

/// Bind `count` values to the statement's parameters, which must be as many.
fn bind_all<'v>(
    stmt: &mut rusqlite::Statement<'_>,
    count: usize,
    values: impl Iterator<Item = &'v Value>,
) -> Result<()> {
    let expected = stmt.parameter_count();
    if expected != count {
        return Err(Error::Parameter(format!(
            "the statement has {expected} parameters but {count} values were given"
        )));
    }
    for (i, v) in values.enumerate() {
        if let Some(why) = not_kept(v) {
            return Err(Error::Parameter(format!("parameter {} is {why}", i + 1)));
        }
        stmt.raw_bind_parameter(i + 1, Param(v)).map_err(db_error)?;
    }
    Ok(())
}

/// Why SQLite would not keep `v` as given, if it would not: it stores NaN as NULL,
/// and a NUMERIC column keeps only 15 significant digits of a decimal that is not an
/// integer of 64 bits (the rest are rounded away without an error).
fn not_kept(v: &Value) -> Option<String> {
    match v {
        Value::Float(f) if f.is_nan() => Some(NAN_NOT_KEPT.into()),
        Value::Double(f) if f.is_nan() => Some(NAN_NOT_KEPT.into()),
        #[cfg(feature = "rust_decimal")]
        Value::Decimal(d) => {
            let exact = d.normalize();
            if exact.scale() == 0 && i64::try_from(exact.mantissa()).is_ok() {
                return None;
            }
            let digits = exact
                .mantissa()
                .unsigned_abs()
                .checked_ilog10()
                .map_or(1, |l| l + 1);
            (digits > 15).then(|| {
                format!(
                    "the decimal {d}, of {digits} significant digits: a NUMERIC column of \
                     SQLite keeps 15 and would round the rest away (bind it as a String to \
                     keep it exactly in a TEXT column)"
                )
            })
        }
        _ => None,
    }
}

const NAN_NOT_KEPT: &str = "NaN, which SQLite cannot store or compare (it would become NULL)";

impl DriverConnection for SqliteConnection {
    fn run<'c>(&'c mut self, sql: &str, params: &Bound<'_>) -> Result<Outcome<'c>> {
        let (prepared, conn) = self.db.get(sql)?;
        if prepared.pragma {
            self.read_uncommitted = None;
        }
        let Prepared {
            stmt,
            columns,
            insert,
            ..
        } = prepared;
        bind_all(stmt, params.len(), params.iter())?;
        if stmt.column_count() == 0 {
            let n = stmt.raw_execute().map_err(db_error)?;
            let last = insert.then(|| conn.last_insert_rowid());
            return Ok(Outcome::Done {
                rows_affected: n as u64,
                last_insert_id: last,
            });
        }
        let writes = !stmt.readonly();
        let mut rows = SqliteRows {
            rows: stmt.raw_query(),
            columns,
            checked: false,
            ahead: None,
        };
        if writes {
            // A write with RETURNING makes all its changes in its first step: take it
            // now, so that they are made (and their errors reported) even when no row
            // is read.
            let mut first = Vec::new();
            if rows.next_into(&mut first)? {
                rows.ahead = Some(first);
            }
        }
        Ok(Outcome::Rows(Box::new(rows)))
    }

    fn run_each(&mut self, sql: &str, rows: &[&[Value]], affected: &mut Vec<u64>) -> Result<()> {
        // One lookup of the prepared statement for all the rows.
        let (Prepared { stmt, pragma, .. }, _) = self.db.get(sql)?;
        if *pragma {
            self.read_uncommitted = None;
        }
        if stmt.column_count() != 0 {
            return Err(Error::InvalidStatement(
                "run_each takes statements that return no rows".into(),
            ));
        }
        for row in rows {
            bind_all(stmt, row.len(), row.iter())?;
            affected.push(stmt.raw_execute().map_err(db_error)? as u64);
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.note_pragma(sql, mentions_pragma);
        self.db
            .conn()
            .execute_batch(sql)
            .map_err(|e| db_error(e).with_sql(sql))
    }

    fn begin(&mut self, isolation: Option<IsolationLevel>) -> Result<()> {
        let read_uncommitted = match isolation {
            None if self.shared_cache => true,
            None | Some(IsolationLevel::Serializable) => false,
            Some(IsolationLevel::ReadUncommitted) => true,
            Some(other) => {
                return Err(Error::Unsupported {
                    construct: format!("isolation level {}", other.sql()),
                    dialect: "sqlite",
                })
            }
        };
        // Setting a flag pragma expires every prepared statement of the connection (SQLite
        // codes an OP_Expire), so the next run of each cached statement would be parsed
        // and planned again: set it only when it changes.
        let current = match self.read_uncommitted {
            Some(known) => Some(known),
            None => self.read_uncommitted(),
        };
        if current == Some(read_uncommitted) {
            self.read_uncommitted = current;
            return self.simple("BEGIN");
        }
        self.batch(if read_uncommitted {
            "PRAGMA read_uncommitted = 1"
        } else {
            "PRAGMA read_uncommitted = 0"
        })?;
        self.read_uncommitted = Some(read_uncommitted);
        self.simple("BEGIN")
    }

    fn commit(&mut self) -> Result<()> {
        self.simple("COMMIT")
    }

    fn rollback(&mut self) -> Result<()> {
        self.simple("ROLLBACK")
    }

    fn is_broken(&self) -> bool {
        false
    }

    fn ping(&mut self) -> Result<()> {
        Ok(())
    }

    fn in_transaction(&self) -> Option<bool> {
        Some(!self.db.conn().is_autocommit())
    }
}

struct SqliteRows<'c> {
    /// Borrows the cached statement; dropping them resets it.
    rows: rusqlite::Rows<'c>,
    /// The cached statement's column names, refreshed here if SQLite re-prepared it.
    columns: &'c mut ColumnNames,
    /// Whether the columns were checked against the statement after its first step
    /// (where SQLite re-prepares it if the schema changed since it was cached).
    checked: bool,
    /// The first row, read when a writing statement ran; handed out first.
    ahead: Option<Vec<Value>>,
}

impl RowStream for SqliteRows<'_> {
    fn columns(&self) -> &Arc<[String]> {
        &self.columns.names
    }

    fn next_into(&mut self, values: &mut Vec<Value>) -> Result<bool> {
        if let Some(row) = self.ahead.take() {
            *values = row;
            return Ok(true);
        }
        Value::clear_all(values);
        let Some(r) = self.rows.next().map_err(db_error)? else {
            return Ok(false);
        };
        if !self.checked {
            self.checked = true;
            let stmt: &rusqlite::Statement<'_> = AsRef::as_ref(r);
            if !self.columns.still_of(stmt) {
                *self.columns = ColumnNames::of(stmt);
            }
        }
        for i in 0..self.columns.names.len() {
            values.push(read_value(r.get_ref(i).map_err(db_error)?)?);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    fn read_all(c: &mut SqliteConnection, sql: &str) -> Vec<strata_core::engine::Row> {
        let mut out = Vec::new();
        if let Outcome::Rows(mut rows) = c.run(sql, &Bound::Values(&[])).unwrap() {
            while let Some(r) = rows.next_row().unwrap() {
                out.push(r);
            }
        }
        out
    }

    #[test]
    fn begin_sets_the_isolation_without_expiring_cached_statements() {
        let d = SqliteDriver::memory().unwrap();
        let mut c = SqliteConnection::open(&d.target).unwrap();
        c.batch("CREATE TABLE t (x INTEGER)").unwrap();
        let sql = "SELECT x FROM t";
        for iso in [
            None,
            None,
            Some(IsolationLevel::Serializable),
            Some(IsolationLevel::Serializable),
            Some(IsolationLevel::ReadUncommitted),
            None,
        ] {
            c.begin(iso).unwrap();
            let want = iso != Some(IsolationLevel::Serializable);
            assert_eq!(c.read_uncommitted(), Some(want), "{iso:?}");
            read_all(&mut c, sql);
            c.rollback().unwrap();
        }
        // Re-prepared after the two changes of the setting only, not after every BEGIN.
        let stmt = &c.db.get(sql).unwrap().0.stmt;
        assert_eq!(stmt.get_status(StatementStatus::RePrepare), 2);
    }

    #[test]
    fn begin_sees_the_setting_changed_by_a_pragma_of_the_user() {
        let d = SqliteDriver::memory().unwrap();
        let mut c = SqliteConnection::open(&d.target).unwrap();
        // As a statement, and inside a batch.
        for sql in [
            "PRAGMA read_uncommitted = 0",
            "/* set */ PRAGMA read_uncommitted = 0",
            "SELECT 1; pragma read_uncommitted = 0",
        ] {
            if !sql.contains(';') {
                drop(c.run(sql, &Bound::Values(&[])).unwrap());
            } else {
                c.batch(sql).unwrap();
            }
            assert_eq!(c.read_uncommitted(), Some(false));
            c.begin(None).unwrap();
            assert_eq!(c.read_uncommitted(), Some(true), "{sql}");
            c.rollback().unwrap();
        }
        // BEGIN, COMMIT and ROLLBACK are parsed once.
        for _ in 0..3 {
            c.begin(None).unwrap();
            c.commit().unwrap();
        }
        let begin = &c.db.get("BEGIN").unwrap().0.stmt;
        assert!(begin.get_status(StatementStatus::Run) >= 3);
    }

    #[test]
    fn statements_stay_prepared_up_to_the_cache_size_and_the_least_used_go_first() {
        let d = SqliteDriver::memory().unwrap();
        let mut c = SqliteConnection::open(&d.target).unwrap();
        c.batch("CREATE TABLE t (x INTEGER)").unwrap();
        let sql = |i: usize| format!("SELECT x + {i} FROM t");
        for i in 0..STATEMENT_CACHE {
            read_all(&mut c, &sql(i));
            read_all(&mut c, &sql(i));
        }
        // Statement 0 is used again, so 1 to 10 are the least recently used.
        read_all(&mut c, &sql(0));
        for i in STATEMENT_CACHE..STATEMENT_CACHE + 10 {
            read_all(&mut c, &sql(i));
        }
        assert_eq!(c.db.prepared.len(), STATEMENT_CACHE);
        let runs = |c: &SqliteConnection, i: usize| {
            let p = c.db.prepared.get(sql(i).as_str())?;
            Some(p.stmt.get_status(StatementStatus::Run))
        };
        assert_eq!(runs(&c, 0), Some(3));
        assert_eq!(runs(&c, 1), None);
        assert_eq!(runs(&c, 10), None);
        assert_eq!(runs(&c, 11), Some(2));
        // A statement that fails to prepare is reported and not kept.
        let err = c.run("SELEC 1", &Bound::Values(&[])).err().unwrap();
        assert!(err.to_string().contains("syntax error"), "{err}");
        assert_eq!(c.db.prepared.len(), STATEMENT_CACHE);
        // Rows left unread reset the statement: it runs again at once.
        c.batch("INSERT INTO t VALUES (1), (2)").unwrap();
        for _ in 0..2 {
            if let Outcome::Rows(mut rows) = c.run(&sql(20), &Bound::Values(&[])).unwrap() {
                assert!(rows.next_row().unwrap().is_some());
            }
        }
        assert_eq!(read_all(&mut c, &sql(20)).len(), 2);
    }
}
