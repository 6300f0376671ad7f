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
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
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
}

impl Value {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
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
