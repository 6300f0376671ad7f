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
    /// A value that cannot be converted to the requested Rust type.
    #[error("type mismatch: {0}")]
    TypeMismatch(String),
}

/// Result alias for strata-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
