//! The one error type of strata-orm.

/// Everything that can go wrong in the ORM. Core errors (SQL, driver, compile) are
/// wrapped in [`Error::Core`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An error from strata-core: compiling, the driver, the database.
    #[error(transparent)]
    Core(#[from] strata_core::Error),
    /// A mapping that cannot work (missing primary key, unknown relationship target, ...),
    /// reported when the registry is configured.
    #[error("mapping error for {model}: {message}")]
    Mapping {
        /// The model type.
        model: String,
        /// What is wrong.
        message: String,
    },
    /// An UPDATE or DELETE with a version check matched no row: someone else changed or
    /// deleted the row since it was loaded.
    #[error("stale data: {statement} on {model} with primary key {key} matched {matched} rows, expected {expected}")]
    StaleData {
        /// The model type.
        model: String,
        /// The primary key, rendered.
        key: String,
        /// "UPDATE" or "DELETE".
        statement: String,
        /// Rows matched.
        matched: u64,
        /// Rows expected.
        expected: u64,
    },
    /// A model's validation rejected an object; nothing was written.
    #[error("validation failed for {model} {key}: {message}")]
    Validation {
        /// The model type.
        model: String,
        /// The object's primary key or "(no key yet)".
        key: String,
        /// The validator's message.
        message: String,
    },
    /// A flush failed; nothing of it was written and the session is as it was.
    #[error("flush failed at {model} {key}: {source}")]
    Flush {
        /// The model of the object whose statement failed.
        model: String,
        /// Its primary key or "(no key yet)".
        key: String,
        /// The underlying error (carrying the SQL).
        source: Box<Error>,
    },
    /// An object is not attached to this session (detached, transient, or another
    /// session's), where a session-bound object is needed.
    #[error("{model} {key} is {state}, not attached to this session: {hint}")]
    NotInSession {
        /// The model type.
        model: String,
        /// Its primary key, if known.
        key: String,
        /// Its state.
        state: String,
        /// What to do.
        hint: String,
    },
    /// An invalid request (wrong key arity, a value of the wrong type for a column, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

/// Result alias for strata-orm.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The database error kind inside, if any.
    pub fn db_kind(&self) -> Option<strata_core::DbErrorKind> {
        match self {
            Error::Core(e) => e.db_kind(),
            Error::Flush { source, .. } => source.db_kind(),
            _ => None,
        }
    }
}
