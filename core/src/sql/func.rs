//! SQL functions: `func::count`, `func::now`, and any named function.

use std::sync::Arc;

use super::Expr;
use crate::Error;

fn valid_function_name(name: &str) -> bool {
    let mut parts = name.split('.');
    parts.all(|p| {
        let mut chars = p.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Call any SQL function by name: `func::call("json_extract", [col, "$.a".into()])`.
///
/// The name must be an SQL identifier (letters, digits, `_`, optionally `schema.`);
/// anything else fails to compile with a clear error.
///
/// ```
/// use strata_core::{func, Expr};
/// let e = func::call("random", Vec::<Expr>::new());
/// assert!(matches!(e, Expr::Function { .. }));
/// ```
pub fn call<I: IntoIterator<Item = E>, E: Into<Expr>>(name: &str, args: I) -> Expr {
    if !valid_function_name(name) {
        return Expr::Invalid(Error::InvalidStatement(format!(
            "{name:?} is not a valid SQL function name"
        )));
    }
    Expr::Function {
        name: Arc::from(name.to_ascii_lowercase()),
        args: args.into_iter().map(Into::into).collect(),
        distinct: false,
    }
}

fn f1(name: &'static str, a: impl Into<Expr>) -> Expr {
    Expr::Function {
        name: Arc::from(name),
        args: vec![a.into()],
        distinct: false,
    }
}

/// `count(expr)`
pub fn count(e: impl Into<Expr>) -> Expr {
    f1("count", e)
}

/// `count(*)`
pub fn count_star() -> Expr {
    f1("count", Expr::Star(None))
}

/// `sum(expr)`
pub fn sum(e: impl Into<Expr>) -> Expr {
    f1("sum", e)
}

/// `avg(expr)`
pub fn avg(e: impl Into<Expr>) -> Expr {
    f1("avg", e)
}

/// `min(expr)`
pub fn min(e: impl Into<Expr>) -> Expr {
    f1("min", e)
}

/// `max(expr)`
pub fn max(e: impl Into<Expr>) -> Expr {
    f1("max", e)
}

/// `lower(expr)`
pub fn lower(e: impl Into<Expr>) -> Expr {
    f1("lower", e)
}

/// `upper(expr)`
pub fn upper(e: impl Into<Expr>) -> Expr {
    f1("upper", e)
}

/// Length in characters (`length`, `CHAR_LENGTH` on MySQL).
pub fn length(e: impl Into<Expr>) -> Expr {
    f1("length", e)
}

/// `abs(expr)`
pub fn abs(e: impl Into<Expr>) -> Expr {
    f1("abs", e)
}

/// `coalesce(a, b, ...)`
pub fn coalesce<I: IntoIterator<Item = E>, E: Into<Expr>>(args: I) -> Expr {
    Expr::Function {
        name: Arc::from("coalesce"),
        args: args.into_iter().map(Into::into).collect(),
        distinct: false,
    }
}

/// The current timestamp (`now()`, `CURRENT_TIMESTAMP` on SQLite).
pub fn now() -> Expr {
    Expr::Function {
        name: Arc::from("now"),
        args: Vec::new(),
        distinct: false,
    }
}

/// `row_number()` (use with `.over(...)`).
pub fn row_number() -> Expr {
    Expr::Function {
        name: Arc::from("row_number"),
        args: Vec::new(),
        distinct: false,
    }
}

/// `rank()` (use with `.over(...)`).
pub fn rank() -> Expr {
    Expr::Function {
        name: Arc::from("rank"),
        args: Vec::new(),
        distinct: false,
    }
}
