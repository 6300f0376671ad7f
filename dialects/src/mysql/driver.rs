//! The MySQL / MariaDB driver: the `mysql` crate's synchronous connections, statements
//! prepared once per connection and reused (the crate's statement cache, keyed by SQL
//! text), values converted by strata ([`super::types`]).

use std::sync::Arc;
use std::time::Duration;

use mysql::consts::CapabilityFlags;
use mysql::prelude::{Protocol, Queryable};
use mysql::{Conn, Opts, OptsBuilder, Params, QueryResult, Statement};
use rustc_hash::FxHashMap;
use strata_core::compile::Bound;
use strata_core::engine::{
    DatabaseUrl, Driver, DriverConnection, IsolationLevel, Outcome, RowStream,
};
use strata_core::{DbErrorKind, Dialect, Error, Result, Value};

use super::types::{to_param, ReadAs};
use super::MySqlDialect;
use crate::check_param_count;

/// Statements each connection keeps prepared (the least recently used are closed).
const STATEMENT_CACHE: usize = 256;

/// The session settings every connection starts with: strict mode, so that a value
/// that does not fit its column is an error rather than silently truncated or zeroed;
/// an explicit 0 stored in an AUTO_INCREMENT column as 0, not replaced by the next key;
/// and UTC, so that TIMESTAMP columns store the instants they are given.
const SESSION_SETUP: [&str; 2] = [
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,\
     ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'",
    "SET SESSION time_zone = '+00:00'",
];

/// Server error numbers of statements the prepared-statement protocol does not take
/// (1295), which run as plain text instead when they have no parameters.
const NOT_PREPARABLE: u16 = 1295;

/// Opens connections to one MySQL or MariaDB database.
///
/// Connections run in strict SQL mode and in UTC (see [`MySqlDriver::from_url`]), and
/// report the rows an UPDATE matched, not only those it changed, as the other
/// databases do (the unit of work's version checks rely on it).
///
/// ```
/// use strata_core::engine::DatabaseUrl;
/// use strata_dialects::MySqlDriver;
/// let url = DatabaseUrl::parse("mysql://app:secret@127.0.0.1:3306/app").unwrap();
/// let d = MySqlDriver::from_url(&url).unwrap();
/// assert!(!format!("{d:?}").contains("secret"));
/// ```
pub struct MySqlDriver {
    opts: Opts,
    description: String,
}

impl std::fmt::Debug for MySqlDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MySqlDriver({})", self.description)
    }
}

impl MySqlDriver {
    /// From a `mysql://user:password@host:port/database?options` URL (`mariadb://`
    /// too). Options: `socket=PATH` (a Unix socket instead of TCP),
    /// `connect_timeout=SECONDS`, `ssl_mode=DISABLED` (TLS is not built in).
    ///
    /// Every connection sets its session's `sql_mode` to strict
    /// (`STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,
    /// NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO`) and its `time_zone` to UTC.
    pub fn from_url(url: &DatabaseUrl) -> Result<MySqlDriver> {
        let host = url
            .host
            .as_deref()
            .filter(|h| !h.is_empty())
            .unwrap_or("localhost");
        let user = url
            .username
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "root".into());
        let mut builder = OptsBuilder::new()
            .ip_or_hostname(Some(host))
            .tcp_port(url.port.unwrap_or(3306))
            .user(Some(user))
            .pass(url.password.clone())
            .db_name((!url.database.is_empty()).then(|| url.database.clone()))
            // The crate would otherwise look up the server's socket and move to it.
            .prefer_socket(false)
            .stmt_cache_size(STATEMENT_CACHE)
            .tcp_connect_timeout(Some(Duration::from_secs(10)))
            .additional_capabilities(CapabilityFlags::CLIENT_FOUND_ROWS)
            .init(SESSION_SETUP.to_vec());
        for (k, v) in &url.query {
            match k.as_str() {
                "socket" | "unix_socket" => builder = builder.socket(Some(v.clone())),
                "connect_timeout" => {
                    let secs: u64 = v.parse().map_err(|_| {
                        Error::Url(format!("connect_timeout={v:?} is not a number"))
                    })?;
                    builder = builder.tcp_connect_timeout(Some(Duration::from_secs(secs)));
                }
                "ssl_mode" | "ssl-mode" | "sslmode" => {
                    if !v.eq_ignore_ascii_case("disabled") && !v.eq_ignore_ascii_case("disable") {
                        return Err(Error::Url(format!(
                            "{k}={v} needs TLS, which this build of strata does not include; use {k}=DISABLED"
                        )));
                    }
                }
                other => return Err(Error::Url(format!("unknown mysql URL option {other:?}"))),
            }
        }
        Ok(MySqlDriver {
            opts: builder.into(),
            description: url.to_string(),
        })
    }
}

impl Driver for MySqlDriver {
    fn dialect(&self) -> &'static dyn Dialect {
        &MySqlDialect
    }

    fn connect(&self) -> Result<Box<dyn DriverConnection>> {
        let conn = Conn::new(self.opts.clone()).map_err(|e| {
            Error::Connection(format!("cannot connect to {}: {e}", self.description))
        })?;
        Ok(Box::new(MySqlConnection {
            conn,
            columns: FxHashMap::default(),
            broken: false,
        }))
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// A result's column names and how to read each column.
#[derive(Debug)]
struct ResultColumns {
    names: Arc<[String]>,
    read_as: Vec<ReadAs>,
}

impl ResultColumns {
    fn of(columns: &[mysql::Column]) -> Arc<ResultColumns> {
        Arc::new(ResultColumns {
            names: columns.iter().map(|c| c.name_str().into_owned()).collect(),
            read_as: columns.iter().map(read_as).collect(),
        })
    }

    /// Whether these are `columns` (same names and kinds), so a result of a statement
    /// whose table changed since it was first run is read by its new columns.
    fn describe(&self, columns: &[mysql::Column]) -> bool {
        self.names.len() == columns.len()
            && columns
                .iter()
                .zip(self.names.iter().zip(&self.read_as))
                .all(|(c, (name, kind))| c.name_ref() == name.as_bytes() && read_as(c) == *kind)
    }
}

fn read_as(c: &mysql::Column) -> ReadAs {
    ReadAs::of(c.column_type(), c.flags(), c.character_set())
}

struct MySqlConnection {
    conn: Conn,
    /// The result columns of each prepared statement run, by statement id.
    columns: FxHashMap<u32, Arc<ResultColumns>>,
    /// Set when the connection failed (the server went away, or the protocol broke).
    broken: bool,
}

/// strata's error for a failure of the `mysql` crate, classified by the server's error
/// number and SQLSTATE; a failure of the connection itself sets `broken`.
fn db_error(broken: &mut bool, e: mysql::Error) -> Error {
    let (kind, code, message) = match e {
        mysql::Error::MySqlError(e) => {
            let kind = match (e.code, &e.state[..e.state.len().min(2)]) {
                // Deadlock, lock wait timeout.
                (1213 | 1205, _) => DbErrorKind::TransactionConflict,
                // Out of range, incorrect value, too long, division by zero, bad date.
                (1264 | 1265 | 1292 | 1365 | 1366 | 1406 | 1411, _) => DbErrorKind::DataError,
                // MariaDB's CHECK constraint failure (4025), MySQL's (3819).
                (4025 | 3819, _) | (_, "23") => DbErrorKind::IntegrityError,
                (_, "42") | (_, "3D") => DbErrorKind::ProgrammingError,
                (_, "22") => DbErrorKind::DataError,
                (_, "40") => DbErrorKind::TransactionConflict,
                (_, "08") => DbErrorKind::OperationalError,
                _ => DbErrorKind::Other,
            };
            (kind, Some(e.code.to_string()), e.message)
        }
        mysql::Error::IoError(_) | mysql::Error::CodecError(_) => {
            *broken = true;
            (
                DbErrorKind::OperationalError,
                None,
                format!("the connection to the server failed: {e}"),
            )
        }
        mysql::Error::DriverError(e) => {
            use mysql::DriverError as D;
            let lost = matches!(
                e,
                D::PacketOutOfSync | D::PacketTooLarge | D::UnexpectedPacket | D::Timeout
            );
            *broken |= lost;
            let kind = if lost {
                DbErrorKind::OperationalError
            } else {
                DbErrorKind::Other
            };
            (kind, None, e.to_string())
        }
        other => (DbErrorKind::Other, None, other.to_string()),
    };
    Error::Database {
        kind,
        message,
        code,
        sql: None,
    }
}

/// The parameters as the `mysql` crate sends them.
fn params_of<'v>(values: impl Iterator<Item = &'v Value>) -> Result<Params> {
    let values = values
        .enumerate()
        .map(|(i, v)| to_param(i + 1, v))
        .collect::<Result<Vec<_>>>()?;
    Ok(if values.is_empty() {
        Params::Empty
    } else {
        Params::Positional(values)
    })
}

fn is_not_preparable(e: &mysql::Error) -> bool {
    matches!(e, mysql::Error::MySqlError(e) if e.code == NOT_PREPARABLE)
}

/// Refuse values that are not as many as the statement's parameters.
fn check_arity(stmt: &Statement, given: usize) -> Result<()> {
    if stmt.num_params() as usize != given {
        return Err(Error::Parameter(format!(
            "the statement has {} parameters but {given} values were given",
            stmt.num_params()
        )));
    }
    Ok(())
}

/// What a run produced: its rows as they come, read by the columns `columns` gives for
/// the result's, or its counts when it returns none.
fn outcome<'c, P: Protocol>(
    result: QueryResult<'c, 'c, 'c, P>,
    columns: impl FnOnce(&[mysql::Column]) -> Arc<ResultColumns>,
    broken: &'c mut bool,
) -> Outcome<'c> {
    let described = result.columns();
    if described.as_ref().is_empty() {
        return Outcome::Done {
            rows_affected: result.affected_rows(),
            last_insert_id: result
                .last_insert_id()
                .filter(|id| *id != 0)
                .and_then(|id| i64::try_from(id).ok()),
        };
    }
    let columns = columns(described.as_ref());
    Outcome::Rows(Box::new(MySqlRows {
        result,
        columns,
        broken,
    }))
}

impl MySqlConnection {
    /// Run SQL that may hold several statements as text, reading every statement's
    /// outcome: the first failure is the error. Returns the last statement's rows
    /// affected.
    fn run_text(&mut self, sql: &str) -> Result<u64> {
        let MySqlConnection { conn, broken, .. } = self;
        let mut result = conn.query_iter(sql).map_err(|e| db_error(broken, e))?;
        let mut affected = 0;
        while let Some(mut set) = result.iter() {
            for row in set.by_ref() {
                row.map_err(|e| db_error(broken, e))?;
            }
            affected = set.affected_rows();
        }
        Ok(affected)
    }
}

impl DriverConnection for MySqlConnection {
    fn run<'c>(&'c mut self, sql: &str, params: &Bound<'_>) -> Result<Outcome<'c>> {
        check_param_count(params.len(), "MySQL")?;
        let values = params_of(params.iter())?;
        let MySqlConnection {
            conn,
            columns,
            broken,
        } = self;
        let stmt = match conn.prep(sql) {
            Ok(stmt) => stmt,
            Err(e) if params.is_empty() && is_not_preparable(&e) => {
                let result = conn.query_iter(sql).map_err(|e| db_error(broken, e))?;
                return Ok(outcome(result, ResultColumns::of, broken));
            }
            Err(e) => return Err(db_error(broken, e)),
        };
        check_arity(&stmt, params.len())?;
        let result = conn
            .exec_iter(&stmt, values)
            .map_err(|e| db_error(broken, e))?;
        let cached = |described: &[mysql::Column]| match columns.get(&stmt.id()) {
            Some(c) if c.describe(described) => c.clone(),
            _ => {
                let c = ResultColumns::of(described);
                if columns.len() >= 4 * STATEMENT_CACHE {
                    columns.clear();
                }
                columns.insert(stmt.id(), c.clone());
                c
            }
        };
        Ok(outcome(result, cached, broken))
    }

    fn run_each(&mut self, sql: &str, rows: &[&[Value]], affected: &mut Vec<u64>) -> Result<()> {
        let MySqlConnection { conn, broken, .. } = self;
        let stmt = conn.prep(sql).map_err(|e| db_error(broken, e))?;
        if !stmt.columns().is_empty() {
            return Err(Error::InvalidStatement(
                "run_each takes statements that return no rows".into(),
            ));
        }
        for row in rows {
            check_arity(&stmt, row.len())?;
            let result = conn
                .exec_iter(&stmt, params_of(row.iter())?)
                .map_err(|e| db_error(broken, e))?;
            affected.push(result.affected_rows());
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.run_text(sql).map(drop)
    }

    fn begin(&mut self, isolation: Option<IsolationLevel>) -> Result<()> {
        match isolation {
            // The level of the next transaction only, set before it starts (one round
            // trip for both).
            Some(level) => self.batch(&format!(
                "SET TRANSACTION ISOLATION LEVEL {}; START TRANSACTION",
                level.sql()
            )),
            None => self.batch("START TRANSACTION"),
        }
    }

    fn is_broken(&self) -> bool {
        self.broken
    }

    fn ping(&mut self) -> Result<()> {
        self.conn.ping().map_err(|e| db_error(&mut self.broken, e))
    }
}

/// The rows of a running statement, read from the connection one at a time (sent by
/// the binary protocol of prepared statements, or as text).
struct MySqlRows<'c, P: Protocol> {
    result: QueryResult<'c, 'c, 'c, P>,
    columns: Arc<ResultColumns>,
    broken: &'c mut bool,
}

impl<P: Protocol> RowStream for MySqlRows<'_, P> {
    fn columns(&self) -> &Arc<[String]> {
        &self.columns.names
    }

    fn next_into(&mut self, values: &mut Vec<Value>) -> Result<bool> {
        Value::clear_all(values);
        let row = match self.result.next() {
            None => return Ok(false),
            Some(r) => r.map_err(|e| db_error(self.broken, e))?,
        };
        // The row has the result's columns, which `columns` describes.
        let cols = &self.columns;
        for ((v, kind), name) in row
            .unwrap_raw()
            .into_iter()
            .zip(&cols.read_as)
            .zip(cols.names.iter())
        {
            values.push(kind.read(v.unwrap_or(mysql::Value::NULL), name)?);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn driver(url: &str) -> Result<MySqlDriver> {
        MySqlDriver::from_url(&DatabaseUrl::parse(url)?)
    }

    #[test]
    fn urls_take_a_socket_a_timeout_and_no_tls() {
        assert!(driver("mysql://root@localhost/db?socket=/tmp/x.sock&connect_timeout=3").is_ok());
        let e = driver("mysql://root:pw@localhost/db?ssl_mode=REQUIRED").unwrap_err();
        assert!(e.to_string().contains("TLS"), "{e}");
        assert!(!e.to_string().contains("pw"), "{e}");
        let e = driver("mysql://root@localhost/db?charset=latin1").unwrap_err();
        assert!(e.to_string().contains("\"charset\""), "{e}");
        assert!(driver("mysql://localhost/db?connect_timeout=soon").is_err());
    }

    #[test]
    fn a_server_that_is_not_there_is_a_connection_error_without_the_password() {
        // Port 1 on the loopback interface refuses at once.
        let d = driver("mysql://root:hunter2@127.0.0.1:1/db?connect_timeout=2").unwrap();
        let e = d.connect().err().expect("no server listens on port 1");
        assert!(matches!(e, Error::Connection(_)), "{e:?}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn server_errors_are_classified_by_number_and_sqlstate() {
        let e = |code, state: &str| {
            let mut broken = false;
            let err = db_error(
                &mut broken,
                mysql::Error::MySqlError(mysql::MySqlError {
                    state: state.into(),
                    message: "m".into(),
                    code,
                }),
            );
            match err {
                Error::Database { kind, .. } => kind,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(e(1062, "23000"), DbErrorKind::IntegrityError);
        assert_eq!(e(4025, "23000"), DbErrorKind::IntegrityError);
        assert_eq!(e(1064, "42000"), DbErrorKind::ProgrammingError);
        assert_eq!(e(1366, "HY000"), DbErrorKind::DataError);
        assert_eq!(e(1213, "40001"), DbErrorKind::TransactionConflict);
        assert_eq!(e(1205, "HY000"), DbErrorKind::TransactionConflict);
        let mut broken = false;
        db_error(
            &mut broken,
            mysql::Error::IoError(std::io::Error::other("reset")),
        );
        assert!(broken);
    }
}
