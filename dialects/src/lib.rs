//! strata-dialects: everything particular to one database.
//!
//! Each module holds one database's [`Dialect`](strata_core::Dialect): its type names,
//! rendering quirks and capabilities (and, with the engines, its driver).
#![warn(missing_docs)]

pub mod mysql;
pub mod postgresql;
pub mod sqlite;
mod typed;

pub use mysql::{MySqlDialect, MySqlDriver};
pub use postgresql::{PostgresDialect, PostgresDriver};
pub use sqlite::{SqliteDialect, SqliteDriver};

/// Quote an identifier with `q`, doubling embedded quote characters.
pub(crate) fn quote_with(ident: &str, q: char) -> String {
    let mut s = String::with_capacity(ident.len() + 2);
    s.push(q);
    for c in ident.chars() {
        if c == q {
            s.push(q);
        }
        s.push(c);
    }
    s.push(q);
    s
}

/// The most parameters one statement may have on PostgreSQL and MySQL: their wire
/// protocols count them in 16 bits.
pub(crate) const MAX_WIRE_PARAMS: usize = u16::MAX as usize;

/// Refuse a statement with more parameters than `database`'s protocol takes, before
/// the server sees it (past the limit its reply cannot be parsed).
pub(crate) fn check_param_count(count: usize, database: &str) -> strata_core::Result<()> {
    if count > MAX_WIRE_PARAMS {
        return Err(strata_core::Error::Parameter(format!(
            "the statement has {count} parameters but {database} takes at most {MAX_WIRE_PARAMS} \
             in one statement; split its rows or values into several statements"
        )));
    }
    Ok(())
}

/// `NAME(p, s)` / `NAME(n)` helpers shared by the type-name tables.
pub(crate) fn with_args(name: &str, args: Option<String>) -> String {
    match args {
        Some(a) => format!("{name}({a})"),
        None => name.to_string(),
    }
}

/// The longest value of an enum, for its VARCHAR length.
pub(crate) fn enum_len(values: &[String]) -> usize {
    values
        .iter()
        .map(|v| v.chars().count())
        .max()
        .unwrap_or(1)
        .max(1)
}
