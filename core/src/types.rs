//! SQL types of columns, casts and bound parameters.

use std::sync::Arc;

/// A column's SQL type.
///
/// Each dialect owns the type names it emits for these (see `Dialect::type_name`).
/// [`SqlType::with_variant`] picks a different type on a named dialect.
///
/// ```
/// use strata_core::SqlType;
/// let t = SqlType::Text.with_variant(SqlType::String(Some(255)), "mysql");
/// assert_eq!(t.for_dialect("mysql"), &SqlType::String(Some(255)));
/// assert_eq!(t.for_dialect("sqlite"), &SqlType::Text);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum SqlType {
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    BigInteger,
    /// 16-bit integer.
    SmallInteger,
    /// Single-precision float.
    Float,
    /// Double-precision float.
    Double,
    /// Exact numeric with optional precision and scale.
    Numeric(Option<(u32, u32)>),
    /// Variable-length string, with an optional length.
    String(Option<u32>),
    /// Unbounded text.
    Text,
    /// Boolean.
    Boolean,
    /// Calendar date.
    Date,
    /// Time of day.
    Time,
    /// Date and time without time zone.
    DateTime,
    /// Timestamp, with time zone when the flag is set.
    Timestamp(bool),
    /// Binary data.
    LargeBinary,
    /// JSON document.
    Json,
    /// UUID.
    Uuid,
    /// An enumerated type: its name and allowed values.
    Enum {
        /// The type's name (PostgreSQL creates a type of this name).
        name: String,
        /// The allowed values.
        values: Vec<String>,
    },
    /// A type that is different on some dialects.
    Variant {
        /// The type used where no variant matches.
        base: Box<SqlType>,
        /// (dialect name, type) pairs.
        variants: Arc<Vec<(String, SqlType)>>,
    },
}

impl SqlType {
    /// Use `other` on the dialect named `dialect` ("sqlite", "postgresql", "mysql";
    /// "mariadb" is treated as "mysql").
    pub fn with_variant(self, other: SqlType, dialect: &str) -> SqlType {
        let dialect = normalize_dialect(dialect).to_string();
        match self {
            SqlType::Variant { base, variants } => {
                let mut v = (*variants).clone();
                v.retain(|(d, _)| *d != dialect);
                v.push((dialect, other));
                SqlType::Variant {
                    base,
                    variants: Arc::new(v),
                }
            }
            base => SqlType::Variant {
                base: Box::new(base),
                variants: Arc::new(vec![(dialect, other)]),
            },
        }
    }

    /// The type in effect on the named dialect.
    pub fn for_dialect(&self, dialect: &str) -> &SqlType {
        match self {
            SqlType::Variant { base, variants } => {
                let d = normalize_dialect(dialect);
                variants
                    .iter()
                    .find(|(n, _)| n == d)
                    .map(|(_, t)| t.for_dialect(dialect))
                    .unwrap_or_else(|| base.for_dialect(dialect))
            }
            other => other,
        }
    }

    /// Whether this is an integer type (a candidate for autoincrement).
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            SqlType::Integer | SqlType::BigInteger | SqlType::SmallInteger
        ) || matches!(self, SqlType::Variant { base, .. } if base.is_integer())
    }

    pub(crate) fn key(&self, k: &mut Vec<u8>) {
        // An unambiguous encoding for cache keys: the length-prefixed Debug text.
        crate::compile::key::write_debug(k, self);
    }
}

fn normalize_dialect(name: &str) -> &str {
    match name {
        "mariadb" => "mysql",
        "postgres" => "postgresql",
        other => other,
    }
}
