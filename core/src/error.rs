//! The one error type of strata-core.

/// Everything that can go wrong while building, compiling or running a statement.
///
/// Every variant says what went wrong and where; none is produced by a panic.
///
/// ```
/// use strata_core::Error;
/// let e = Error::Unsupported { construct: "RETURNING".into(), dialect: "mysql" };
/// assert_eq!(e.to_string(), "RETURNING is not supported by the mysql dialect");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A column name that the table (or alias, subquery, CTE) does not have.
    #[error("unknown column {column:?} on {table:?}")]
    UnknownColumn {
        /// The table, alias or subquery that was asked.
        table: String,
        /// The column name that was not found.
        column: String,
    },
    /// A table name that the MetaData does not hold.
    #[error("unknown table {0:?}")]
    UnknownTable(String),
    /// A construct the target dialect lacks; strata never drops it silently.
    #[error("{construct} is not supported by the {dialect} dialect")]
    Unsupported {
        /// What was asked for, e.g. `RETURNING`.
        construct: String,
        /// The dialect's name.
        dialect: &'static str,
    },
    /// A statement that cannot be built as given (the message says why).
    #[error("invalid statement: {0}")]
    InvalidStatement(String),
    /// A schema definition that is inconsistent (duplicate column, bad foreign key, ...).
    #[error("invalid schema: {0}")]
    InvalidSchema(String),
    /// An identifier that no database accepts (empty, or containing NUL).
    #[error(
        "invalid identifier {0:?}: identifiers must be non-empty and contain no NUL character"
    )]
    InvalidIdentifier(String),
    /// A join whose ON clause could not be inferred from foreign keys.
    #[error("cannot infer join condition between {left:?} and {right:?}: {reason}")]
    JoinCondition {
        /// The left side's name.
        left: String,
        /// The right side's name.
        right: String,
        /// Why: no foreign key, or more than one.
        reason: String,
    },
    /// Tables whose foreign keys form a cycle that cannot be broken for this operation.
    #[error("foreign key dependency cycle between tables: {}", .0.join(", "))]
    DependencyCycle(Vec<String>),
    /// A bound parameter of `text()` without a value, or a value for no parameter.
    #[error("parameter error: {0}")]
    Parameter(String),
    /// A value that cannot be converted to the requested Rust type, or a parameter
    /// value that cannot be sent as the SQL type the database expects.
    #[error("type mismatch: {message}{}", while_running(sql))]
    TypeMismatch {
        /// What was expected and what was found.
        message: String,
        /// The SQL that was running, where there was one.
        sql: Option<String>,
    },
    /// An error reported by the database (or its driver) while running a statement.
    #[error("{kind:?} error from the database: {message}{}", while_running(sql))]
    Database {
        /// What kind of failure it was.
        kind: DbErrorKind,
        /// The driver's message.
        message: String,
        /// The SQLSTATE or extended result code, where the driver gives one.
        code: Option<String>,
        /// The SQL that failed, where there was one.
        sql: Option<String>,
    },
    /// A connection could not be opened, or was lost.
    #[error("connection error: {0}")]
    Connection(String),
    /// The connection pool could not hand out a connection in time.
    #[error("connection pool: {0}")]
    Pool(String),
    /// A malformed or unsupported database URL (the password is never shown).
    #[error("invalid database URL: {0}")]
    Url(String),
    /// `one()` found no row.
    #[error("no row was found when one was required")]
    NoResultFound,
    /// `one()` or `one_or_none()` found more than one row.
    #[error("multiple rows were found when exactly one was required")]
    MultipleResultsFound,
    /// A result column asked for by name or index that the row does not have.
    #[error("no result column {0}")]
    NoSuchColumn(String),
    /// A transaction was used after it ended, or nested wrongly.
    #[error("transaction error: {0}")]
    Transaction(String),
}

/// The longest statement text an error message shows in full.
const SHOWN_SQL: usize = 2000;

/// The "while running" line of an error message: the statement, cut short past
/// [`SHOWN_SQL`] bytes (a multi-row INSERT can run to megabytes; [`Error::sql`] keeps
/// the whole text).
fn while_running(sql: &Option<String>) -> String {
    let Some(sql) = sql else {
        return String::new();
    };
    if sql.len() <= SHOWN_SQL {
        return format!("\n  while running: {sql}");
    }
    let mut cut = SHOWN_SQL;
    while !sql.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "\n  while running: {} ... ({} more bytes)",
        &sql[..cut],
        sql.len() - cut
    )
}

/// The kind of a database error, for matching without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbErrorKind {
    /// A UNIQUE, PRIMARY KEY, FOREIGN KEY, NOT NULL or CHECK constraint was violated.
    IntegrityError,
    /// Malformed SQL or an unknown table/column.
    ProgrammingError,
    /// A value the database could not store or convert.
    DataError,
    /// The connection failed or the server went away.
    OperationalError,
    /// A serialization failure or deadlock: the transaction may be retried.
    TransactionConflict,
    /// Anything else.
    Other,
}

impl Error {
    /// A [`Error::TypeMismatch`] with no SQL attached.
    pub fn type_mismatch(message: impl Into<String>) -> Error {
        Error::TypeMismatch {
            message: message.into(),
            sql: None,
        }
    }

    /// Attach the SQL that was running to a database error or type mismatch.
    pub fn with_sql(self, statement: &str) -> Error {
        match self {
            Error::TypeMismatch { message, sql: None } => Error::TypeMismatch {
                message,
                sql: Some(statement.to_string()),
            },
            Error::Database {
                kind,
                message,
                code,
                sql: None,
            } => Error::Database {
                kind,
                message,
                code,
                sql: Some(statement.to_string()),
            },
            other => other,
        }
    }

    /// The database error kind, if this is a database error.
    pub fn db_kind(&self) -> Option<DbErrorKind> {
        match self {
            Error::Database { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The SQL that failed, if known.
    pub fn sql(&self) -> Option<&str> {
        match self {
            Error::Database { sql, .. } | Error::TypeMismatch { sql, .. } => sql.as_deref(),
            _ => None,
        }
    }
}

/// Result alias for strata-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_statements_are_cut_at_a_character_boundary_in_messages() {
        // 'é' is two bytes: the cut falls inside one unless moved back.
        let sql = format!("SELECT '{}'", "é".repeat(3000));
        let e = Error::type_mismatch("bad").with_sql(&sql);
        let shown = e.to_string();
        assert!(shown.len() < SHOWN_SQL + 100, "{} bytes shown", shown.len());
        let rest = sql.len() - (shown.find(" ... (").unwrap() - shown.find("SELECT").unwrap());
        assert!(
            shown.ends_with(&format!(" ... ({rest} more bytes)")),
            "{shown}"
        );
        assert_eq!(e.sql(), Some(sql.as_str()));
        let short = Error::type_mismatch("bad").with_sql("SELECT 1");
        assert_eq!(
            short.to_string(),
            "type mismatch: bad\n  while running: SELECT 1"
        );
    }
}
