//! The PostgreSQL driver: a blocking `tokio-postgres` client, statements prepared once
//! per connection, parameters encoded by strata for the types the server expects.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustc_hash::FxHashMap;
use strata_core::compile::Bound;
use strata_core::engine::{
    DatabaseUrl, Driver, DriverConnection, IsolationLevel, Outcome, RowStream,
};
use strata_core::{DbErrorKind, Dialect, Error, Result, Value};
use tokio_postgres::types::Type;
use tokio_postgres::{Config, Statement};

use super::blocking::{BlockingClient, Failure};
use super::types::{check_param, is_texty, PgParam, PgValue};
use super::PostgresDialect;
use crate::check_param_count;

/// Statements sent at most before their answers are read (`run_each`).
const PIPELINE_DEPTH: usize = 1024;

/// Opens connections to one PostgreSQL database.
///
/// ```
/// use strata_core::engine::DatabaseUrl;
/// use strata_dialects::PostgresDriver;
/// let url = DatabaseUrl::parse("postgresql://app:secret@127.0.0.1:5432/app").unwrap();
/// let d = PostgresDriver::from_url(&url).unwrap();
/// assert!(!format!("{d:?}").contains("secret"));
/// ```
pub struct PostgresDriver {
    config: Config,
    description: String,
    /// Moved on by each schema change run through any of this driver's connections:
    /// statements a connection prepared before it may expect old column types.
    schema_changes: Arc<AtomicU64>,
}

impl std::fmt::Debug for PostgresDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresDriver({})", self.description)
    }
}

impl PostgresDriver {
    /// From a `postgresql://user:password@host:port/database?options` URL. Options:
    /// `sslmode=disable|prefer`, `connect_timeout=SECONDS`, `application_name=NAME`,
    /// `options=...` (server options such as `-c search_path=x`).
    pub fn from_url(url: &DatabaseUrl) -> Result<PostgresDriver> {
        let mut config = Config::new();
        config.host(
            url.host
                .as_deref()
                .filter(|h| !h.is_empty())
                .unwrap_or("localhost"),
        );
        config.port(url.port.unwrap_or(5432));
        let user = url
            .username
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "postgres".into());
        config.user(&user);
        if let Some(p) = &url.password {
            config.password(p);
        }
        config.dbname(if url.database.is_empty() {
            &user
        } else {
            &url.database
        });
        config.connect_timeout(Duration::from_secs(10));
        for (k, v) in &url.query {
            match k.as_str() {
                "sslmode" => match v.as_str() {
                    "disable" | "prefer" | "allow" => {}
                    other => {
                        return Err(Error::Url(format!(
                            "sslmode={other} needs TLS, which this build of strata does not include; use sslmode=disable"
                        )))
                    }
                },
                "connect_timeout" => {
                    let secs: u64 = v.parse().map_err(|_| Error::Url(format!("connect_timeout={v:?} is not a number")))?;
                    config.connect_timeout(Duration::from_secs(secs));
                }
                "application_name" => {
                    config.application_name(v);
                }
                "options" => {
                    config.options(v);
                }
                other => return Err(Error::Url(format!("unknown postgresql URL option {other:?}"))),
            }
        }
        Ok(PostgresDriver {
            config,
            description: url.to_string(),
            schema_changes: Arc::default(),
        })
    }
}

impl Driver for PostgresDriver {
    fn dialect(&self) -> &'static dyn Dialect {
        &PostgresDialect
    }

    fn connect(&self) -> Result<Box<dyn DriverConnection>> {
        let client = BlockingClient::connect(&self.config).map_err(|e| {
            Error::Connection(format!("cannot connect to {}: {e}", self.description))
        })?;
        Ok(Box::new(PgConnection {
            client,
            statements: FxHashMap::default(),
            pending_begin: None,
            schema_seen: self.schema_changes.load(Ordering::Acquire),
            in_transaction: false,
            schema_changes: self.schema_changes.clone(),
        }))
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// Convert a failed wait for the server into strata's error, classified by SQLSTATE.
pub(crate) fn db_error(failure: Failure) -> Error {
    let e = match failure {
        Failure::Pg(e) => e,
        Failure::Closed => {
            return Error::Database {
                kind: DbErrorKind::OperationalError,
                message: "the connection to the server was closed".into(),
                code: None,
                sql: None,
            }
        }
        Failure::Timeout(t) => {
            return Error::Database {
                kind: DbErrorKind::OperationalError,
                message: format!("no answer from the server within {t:?}"),
                code: None,
                sql: None,
            }
        }
    };
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            let kind = match &code[..2] {
                "23" => DbErrorKind::IntegrityError,
                "42" | "26" | "34" | "3F" => DbErrorKind::ProgrammingError,
                "22" => DbErrorKind::DataError,
                "40" => DbErrorKind::TransactionConflict,
                "08" | "57" | "53" => DbErrorKind::OperationalError,
                _ => DbErrorKind::Other,
            };
            let mut message = db.message().to_string();
            if let Some(d) = db.detail() {
                message.push_str(" (");
                message.push_str(d);
                message.push(')');
            }
            Error::Database {
                kind,
                message,
                code: Some(code.to_string()),
                sql: None,
            }
        }
        None => Error::Database {
            kind: if e.is_closed() {
                DbErrorKind::OperationalError
            } else {
                DbErrorKind::Other
            },
            message: e.to_string(),
            code: None,
            sql: None,
        },
    }
}

struct PgConnection {
    client: BlockingClient,
    statements: FxHashMap<String, (Statement, Arc<[String]>)>,
    /// A BEGIN not sent yet: it goes out with the transaction's first statement, in
    /// the same round trip (a transaction that runs nothing sends nothing).
    pending_begin: Option<Cow<'static, str>>,
    /// The driver's count of schema changes when `statements` was last emptied.
    schema_seen: u64,
    /// A transaction is open (a failed statement cannot simply be run again).
    in_transaction: bool,
    schema_changes: Arc<AtomicU64>,
}

/// The first word of `sql`, after leading whitespace and comments.
fn first_word(sql: &str) -> &[u8] {
    let mut sql = sql.trim_start();
    loop {
        if let Some(rest) = sql.strip_prefix("--") {
            sql = rest
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest
                .split_once("*/")
                .map_or("", |(_, after)| after)
                .trim_start();
        } else {
            break;
        }
    }
    let sql = sql.as_bytes();
    &sql[..sql.iter().take_while(|b| b.is_ascii_alphabetic()).count()]
}

/// Whether the first word of a statement is one of `words`.
fn starts_with_any(word: &[u8], words: &[&str]) -> bool {
    words
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}

/// Whether a statement whose first word is `word` may change a table's columns or
/// types (CREATE, ALTER, DROP), after which prepared statements are prepared afresh.
fn changes_schema(word: &[u8]) -> bool {
    starts_with_any(word, &["create", "alter", "drop"])
}

/// Whether a prepared statement failed because its table changed since it was
/// prepared (by another process): the server would not reuse its plan, or its
/// parameters no longer have the column's type.
fn is_stale_statement(failure: &Failure) -> bool {
    let Failure::Pg(e) = failure else {
        return false;
    };
    e.as_db_error().is_some_and(|db| match db.code().code() {
        "0A000" => db
            .message()
            .contains("cached plan must not change result type"),
        "42804" => true,
        _ => false,
    })
}

impl PgConnection {
    /// Note a statement about to run: one that changes the schema moves the driver's
    /// count on, and a count moved on since this connection last looked empties its
    /// prepared statements.
    fn note(&mut self, sql: &str) {
        let word = first_word(sql);
        if changes_schema(word) {
            self.schema_changes.fetch_add(1, Ordering::AcqRel);
        } else if starts_with_any(word, &["begin", "start"]) {
            self.in_transaction = true;
        } else if starts_with_any(word, &["commit", "rollback", "end", "abort"]) {
            // ROLLBACK TO SAVEPOINT stays in the transaction.
            let to_savepoint = sql
                .as_bytes()
                .windows(4)
                .any(|w| w.eq_ignore_ascii_case(b" to "));
            self.in_transaction &= to_savepoint;
        }
        let now = self.schema_changes.load(Ordering::Acquire);
        if now != self.schema_seen {
            self.statements.clear();
            self.schema_seen = now;
        }
    }

    /// `sql`'s prepared statement `prepared`, checked against `values`; a statement
    /// prepared earlier whose parameter types refuse them (its table changed since, by
    /// another process) is prepared afresh and checked again before they are refused.
    fn checked<'v, I: Iterator<Item = &'v Value>>(
        &mut self,
        sql: &str,
        prepared: (Statement, Arc<[String]>),
        count: usize,
        values: impl Fn() -> I,
    ) -> Result<(Statement, Arc<[String]>)> {
        let Err(refused) = check_params(prepared.0.params(), count, values()) else {
            return Ok(prepared);
        };
        self.statements.remove(sql);
        let again = self.prepare(sql)?;
        check_params(again.0.params(), count, values()).map_err(|_| refused)?;
        Ok(again)
    }

    /// Send a pending BEGIN on its own.
    fn flush_begin(&mut self) -> Result<()> {
        match self.pending_begin.take() {
            Some(begin) => self
                .client
                .batch_execute(&begin)
                .map_err(|e| db_error(e).with_sql(&begin)),
            None => Ok(()),
        }
    }

    /// The prepared statement for `sql`, prepared on the server the first time (after
    /// a pending BEGIN, since preparing is a round trip of its own).
    fn prepare(&mut self, sql: &str) -> Result<(Statement, Arc<[String]>)> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        self.flush_begin()?;
        let stmt = self.client.prepare(sql).map_err(db_error)?;
        let cols: Arc<[String]> = stmt
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        if self.statements.len() >= 512 {
            self.statements.clear();
        }
        self.statements
            .insert(sql.to_string(), (stmt.clone(), cols.clone()));
        Ok((stmt, cols))
    }
}

impl DriverConnection for PgConnection {
    fn run<'c>(&'c mut self, sql: &str, params: &Bound<'_>) -> Result<Outcome<'c>> {
        check_param_count(params.len(), "PostgreSQL")?;
        self.note(sql);
        let prepared = self.prepare(sql)?;
        let (mut stmt, mut columns) =
            self.checked(sql, prepared, params.len(), || params.iter())?;
        let begin = self.pending_begin.take();
        let mut attempt =
            self.client
                .query_raw(begin.as_deref(), &stmt, params.iter().map(PgParam));
        if let Err(e) = &attempt {
            // The server may refuse the prepared statement for good, e.g. "cached plan
            // must not change result type" after another process changed its table:
            // prepare it afresh. Outside a transaction the failed run changed nothing,
            // so it runs once more right away.
            self.statements.remove(sql);
            if begin.is_none() && !self.in_transaction && is_stale_statement(e) {
                let prepared = self.prepare(sql)?;
                (stmt, columns) = self.checked(sql, prepared, params.len(), || params.iter())?;
                attempt = self
                    .client
                    .query_raw(None, &stmt, params.iter().map(PgParam));
                if attempt.is_err() {
                    self.statements.remove(sql);
                }
            }
        }
        let mut stream = attempt.map_err(db_error)?;
        if columns.is_empty() {
            let mut rows = VecDeque::new();
            loop {
                let ended = self
                    .client
                    .next_batch(&mut stream, &mut rows)
                    .map_err(db_error)?;
                for r in rows.drain(..) {
                    r.map_err(|e| db_error(Failure::Pg(e)))?;
                }
                if ended {
                    break;
                }
            }
            return Ok(Outcome::Done {
                rows_affected: stream.rows_affected().unwrap_or(0),
                last_insert_id: None,
            });
        }
        let mut rows = PgRows {
            client: &mut self.client,
            stream,
            buffered: VecDeque::new(),
            ended: false,
            columns,
        };
        // The first answer is read now: a statement that fails (a write with RETURNING
        // that breaks a constraint) fails the run, whether or not its rows are read.
        rows.ended = rows
            .client
            .next_batch(&mut rows.stream, &mut rows.buffered)
            .map_err(db_error)?;
        if let Some(Err(_)) = rows.buffered.back() {
            if let Some(Err(e)) = rows.buffered.pop_back() {
                return Err(db_error(Failure::Pg(e)));
            }
        }
        Ok(Outcome::Rows(Box::new(rows)))
    }

    fn pipelines(&self) -> bool {
        true
    }

    fn run_each(&mut self, sql: &str, rows: &[&[Value]], affected: &mut Vec<u64>) -> Result<()> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        check_param_count(first.len(), "PostgreSQL")?;
        self.note(sql);
        let prepared = self.prepare(sql)?;
        if !prepared.1.is_empty() {
            return Err(Error::InvalidStatement(
                "run_each takes statements that return no rows".into(),
            ));
        }
        let (stmt, _) = self.checked(sql, prepared, first.len(), || first.iter())?;
        // The rows are checked before they are sent: those before a row that does not
        // fit run, then its error ends the runs, as if it had been sent.
        let mut refused = Ok(());
        let mut fitting = rows.len();
        for (k, row) in rows.iter().enumerate() {
            if let Err(e) = check_params(stmt.params(), row.len(), row.iter()) {
                (refused, fitting) = (Err(e), k);
                break;
            }
        }
        for chunk in rows[..fitting].chunks(PIPELINE_DEPTH) {
            let begin = self.pending_begin.take();
            let answers = self
                .client
                .execute_each(
                    begin.as_deref(),
                    &stmt,
                    chunk.iter().map(|row| row.iter().map(PgParam)),
                )
                .map_err(db_error)?;
            for answer in answers {
                match answer {
                    Ok(n) => affected.push(n),
                    Err(e) => {
                        // As in `run`: the server may refuse the statement for good.
                        self.statements.remove(sql);
                        return Err(db_error(Failure::Pg(e)));
                    }
                }
            }
        }
        refused
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.note(sql);
        let sql = match self.pending_begin.take() {
            // One round trip for both.
            Some(begin) => Cow::Owned(format!("{begin}; {sql}")),
            None => Cow::Borrowed(sql),
        };
        self.client
            .batch_execute(&sql)
            .map_err(|e| db_error(e).with_sql(&sql))
    }

    fn begin(&mut self, isolation: Option<IsolationLevel>) -> Result<()> {
        self.flush_begin()?;
        self.in_transaction = true;
        self.pending_begin = Some(match isolation {
            None => Cow::Borrowed("BEGIN"),
            Some(level) => Cow::Owned(format!("BEGIN ISOLATION LEVEL {}", level.sql())),
        });
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.in_transaction = false;
        if self.pending_begin.take().is_some() {
            // Nothing ran in the transaction: there is nothing to commit.
            return Ok(());
        }
        self.batch("COMMIT")
    }

    fn rollback(&mut self) -> Result<()> {
        self.in_transaction = false;
        if self.pending_begin.take().is_some() {
            return Ok(());
        }
        // Sent, not waited for: the connection's next request goes out behind it, and
        // a transaction whose ROLLBACK never arrives ends with the connection.
        self.client
            .batch_send("ROLLBACK")
            .map_err(|e| db_error(e).with_sql("ROLLBACK"))
    }

    fn is_broken(&self) -> bool {
        self.client.is_closed()
    }

    fn ping(&mut self) -> Result<()> {
        self.client
            .is_valid(Duration::from_secs(5))
            .map_err(db_error)
    }
}

/// Check `count` values against the parameter types the server expects.
fn check_params<'v>(
    types: &[Type],
    count: usize,
    values: impl Iterator<Item = &'v Value>,
) -> Result<()> {
    if types.len() != count {
        return Err(Error::Parameter(format!(
            "the statement has {} parameters but {count} values were given",
            types.len()
        )));
    }
    for (i, (v, ty)) in values.zip(types).enumerate() {
        if !always_fits(v, ty) {
            check_param(i + 1, v, ty)?;
        }
    }
    Ok(())
}

/// Whether `v` can be sent as `ty` whatever its value: the common pairs, which
/// `check_param` always accepts, checked without encoding into a scratch buffer.
fn always_fits(v: &Value, ty: &Type) -> bool {
    match v {
        Value::Null => true,
        Value::Text(_) => is_texty(ty),
        Value::SmallInt(_) => matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8),
        Value::Int(_) => matches!(*ty, Type::INT4 | Type::INT8),
        Value::BigInt(_) => *ty == Type::INT8,
        Value::Bool(_) => *ty == Type::BOOL,
        Value::Float(_) => matches!(*ty, Type::FLOAT4 | Type::FLOAT8),
        Value::Double(_) => *ty == Type::FLOAT8,
        Value::Bytes(_) => *ty == Type::BYTEA,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Rows of a running statement, taken from the connection in batches.
struct PgRows<'c> {
    client: &'c mut BlockingClient,
    stream: Pin<Box<tokio_postgres::RowStream>>,
    /// Rows received and not yet handed out (and the error that ended them).
    buffered: VecDeque<std::result::Result<tokio_postgres::Row, tokio_postgres::Error>>,
    /// Whether the stream has ended (the rows in `buffered` are the last).
    ended: bool,
    columns: Arc<[String]>,
}

impl RowStream for PgRows<'_> {
    fn columns(&self) -> &Arc<[String]> {
        &self.columns
    }

    fn next_into(&mut self, values: &mut Vec<Value>) -> Result<bool> {
        Value::clear_all(values);
        if self.buffered.is_empty() {
            if self.ended {
                return Ok(false);
            }
            self.ended = self
                .client
                .next_batch(&mut self.stream, &mut self.buffered)
                .map_err(db_error)?;
        }
        let r = match self.buffered.pop_front() {
            None => return Ok(false),
            Some(r) => r.map_err(|e| db_error(Failure::Pg(e)))?,
        };
        for i in 0..self.columns.len() {
            let v: PgValue = r.try_get(i).map_err(|e| {
                // The driver's own text ("error deserializing column 0") says where;
                // its source says what.
                let why =
                    std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
                Error::type_mismatch(format!("result column {:?}: {why}", self.columns[i]))
            })?;
            values.push(v.0);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::{changes_schema, first_word};

    #[test]
    fn schema_changes_are_told_by_their_first_word_after_comments() {
        for ddl in [
            "CREATE TABLE t (x int)",
            "  alter table t add y int",
            "Drop TABLE t",
            "-- rebuild\nDROP TABLE t",
            "/* a */ /* b */\n  create index i on t (x)",
        ] {
            assert!(changes_schema(first_word(ddl)), "{ddl}");
        }
        for other in [
            "SELECT 1",
            "INSERT INTO created (x) VALUES (1)",
            "-- DROP TABLE t\nSELECT 1",
            "/* unclosed DROP",
            "creates",
            "",
        ] {
            assert!(!changes_schema(first_word(other)), "{other}");
        }
    }
}
