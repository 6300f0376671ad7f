//! Values bound as statement parameters and read back from rows.

use std::fmt;

/// A single SQL value, owned.
///
/// Literals in expressions become bound parameters holding a `Value`; drivers convert
/// `Value`s to their own parameter types.
///
/// ```
/// use strata_core::Value;
/// assert_eq!(Value::from(5), Value::Int(5));
/// assert_eq!(Value::from("a"), Value::Text("a".into()));
/// assert_eq!(Value::from(None::<i64>), Value::Null);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// SQL NULL.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A 16-bit integer.
    SmallInt(i16),
    /// A 32-bit integer.
    Int(i32),
    /// A 64-bit integer.
    BigInt(i64),
    /// A single-precision float.
    Float(f32),
    /// A double-precision float.
    Double(f64),
    /// Text.
    Text(String),
    /// Binary data.
    Bytes(Vec<u8>),
    /// A calendar date.
    #[cfg(feature = "chrono")]
    Date(chrono::NaiveDate),
    /// A time of day.
    #[cfg(feature = "chrono")]
    Time(chrono::NaiveTime),
    /// A date and time without time zone.
    #[cfg(feature = "chrono")]
    DateTime(chrono::NaiveDateTime),
    /// An instant, in UTC.
    #[cfg(feature = "chrono")]
    DateTimeUtc(chrono::DateTime<chrono::Utc>),
    /// A UUID.
    #[cfg(feature = "uuid")]
    Uuid(uuid::Uuid),
    /// A JSON document.
    #[cfg(feature = "serde_json")]
    Json(Box<serde_json::Value>),
    /// An exact decimal number.
    #[cfg(feature = "rust_decimal")]
    Decimal(rust_decimal::Decimal),
}

impl Value {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is a floating-point NaN.
    #[inline]
    pub fn is_nan(&self) -> bool {
        match self {
            Value::Float(f) => f.is_nan(),
            Value::Double(f) => f.is_nan(),
            _ => false,
        }
    }

    /// Drop this value; a value that owns no memory (NULL, numbers, dates, UUIDs,
    /// decimals) is dropped without a call into `Value`'s drop code. Row buffers are
    /// emptied this way once per row, when the values a reader moved out of them
    /// left NULLs behind.
    #[inline(always)]
    pub fn discard(self) {
        // Every variant is named, so a new one must be sorted into one of the arms.
        match self {
            Value::Text(_) | Value::Bytes(_) => drop(self),
            #[cfg(feature = "serde_json")]
            Value::Json(_) => drop(self),
            Value::Null
            | Value::Bool(_)
            | Value::SmallInt(_)
            | Value::Int(_)
            | Value::BigInt(_)
            | Value::Float(_)
            | Value::Double(_) => std::mem::forget(self),
            #[cfg(feature = "chrono")]
            Value::Date(_) | Value::Time(_) | Value::DateTime(_) | Value::DateTimeUtc(_) => {
                std::mem::forget(self)
            }
            #[cfg(feature = "uuid")]
            Value::Uuid(_) => std::mem::forget(self),
            #[cfg(feature = "rust_decimal")]
            Value::Decimal(_) => std::mem::forget(self),
        }
    }

    /// Empty a buffer of values, as [`Value::discard`] drops each; the buffer keeps
    /// its allocation.
    #[inline]
    pub fn clear_all(values: &mut Vec<Value>) {
        values.drain(..).for_each(Value::discard);
    }

    /// The name of this value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "bool",
            Value::SmallInt(_) => "i16",
            Value::Int(_) => "i32",
            Value::BigInt(_) => "i64",
            Value::Float(_) => "f32",
            Value::Double(_) => "f64",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            #[cfg(feature = "chrono")]
            Value::Date(_) => "date",
            #[cfg(feature = "chrono")]
            Value::Time(_) => "time",
            #[cfg(feature = "chrono")]
            Value::DateTime(_) => "datetime",
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(_) => "datetime (UTC)",
            #[cfg(feature = "uuid")]
            Value::Uuid(_) => "uuid",
            #[cfg(feature = "serde_json")]
            Value::Json(_) => "json",
            #[cfg(feature = "rust_decimal")]
            Value::Decimal(_) => "decimal",
        }
    }

    /// The canonical text of a date/time, UUID, JSON or decimal value (ISO 8601,
    /// hyphenated UUID, compact JSON, plain decimal); `None` for the basic kinds.
    /// Databases without a native type store this text.
    pub fn typed_text(&self) -> Option<String> {
        match self {
            #[cfg(feature = "chrono")]
            Value::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
            #[cfg(feature = "chrono")]
            Value::Time(t) => Some(t.format("%H:%M:%S%.f").to_string()),
            #[cfg(feature = "chrono")]
            Value::DateTime(t) => Some(t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(t) => Some(t.format("%Y-%m-%d %H:%M:%S%.f+00:00").to_string()),
            #[cfg(feature = "uuid")]
            Value::Uuid(u) => Some(u.hyphenated().to_string()),
            #[cfg(feature = "serde_json")]
            Value::Json(j) => Some(j.to_string()),
            #[cfg(feature = "rust_decimal")]
            Value::Decimal(d) => Some(d.to_string()),
            _ => None,
        }
    }

    /// A distinct byte per kind, for cache keys: rendering may depend on a value's kind
    /// (a PostgreSQL cast of an untyped literal), never on the value itself. Stable:
    /// 0 NULL, 1 bool, 2 i16, 3 i32, 4 i64, 5 f32, 6 f64, 7 text, 8 bytes, 9 date,
    /// 10 time, 11 datetime, 12 datetime UTC, 13 uuid, 14 json, 15 decimal.
    pub fn kind_tag(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::SmallInt(_) => 2,
            Value::Int(_) => 3,
            Value::BigInt(_) => 4,
            Value::Float(_) => 5,
            Value::Double(_) => 6,
            Value::Text(_) => 7,
            Value::Bytes(_) => 8,
            #[cfg(feature = "chrono")]
            Value::Date(_) => 9,
            #[cfg(feature = "chrono")]
            Value::Time(_) => 10,
            #[cfg(feature = "chrono")]
            Value::DateTime(_) => 11,
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(_) => 12,
            #[cfg(feature = "uuid")]
            Value::Uuid(_) => 13,
            #[cfg(feature = "serde_json")]
            Value::Json(_) => 14,
            #[cfg(feature = "rust_decimal")]
            Value::Decimal(_) => 15,
        }
    }

    /// Structural equality that treats two NaNs as equal (used by consistency checks).
    pub fn same_as(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Double(a), Value::Double(b)) => a.to_bits() == b.to_bits(),
            _ => self == other,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::SmallInt(v) => write!(f, "{v}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::BigInt(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Double(v) => write!(f, "{v}"),
            Value::Text(v) => write!(f, "{v:?}"),
            Value::Bytes(v) => write!(f, "<{} bytes>", v.len()),
            #[allow(unreachable_patterns)]
            other => f.write_str(&other.typed_text().unwrap_or_default()),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(v.into())
            }
        })*
    };
}

value_from! {
    bool => Bool,
    i8 => SmallInt,
    i16 => SmallInt,
    u8 => SmallInt,
    i32 => Int,
    u16 => Int,
    i64 => BigInt,
    u32 => BigInt,
    f32 => Float,
    f64 => Double,
    String => Text,
    &str => Text,
    &String => Text,
    Vec<u8> => Bytes,
    &[u8] => Bytes,
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(feature = "chrono")]
value_from! {
    chrono::NaiveDate => Date,
    chrono::NaiveTime => Time,
    chrono::NaiveDateTime => DateTime,
    chrono::DateTime<chrono::Utc> => DateTimeUtc,
}

#[cfg(feature = "uuid")]
value_from! { uuid::Uuid => Uuid }

#[cfg(feature = "rust_decimal")]
value_from! { rust_decimal::Decimal => Decimal }

#[cfg(feature = "serde_json")]
impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::Json(Box::new(v))
    }
}
