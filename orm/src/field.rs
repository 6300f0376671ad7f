//! Rust field types that map onto SQL columns.

use strata_core::{SqlType, Value};

use crate::{Error, Result};

/// A Rust type stored in one column: its default SQL type and its value conversions.
///
/// Implemented for integers, floats, `bool`, `String`, `Vec<u8>` and `Option<T>`
/// (nullable). Implement it for your own types to map them.
pub trait SqlField: Sized {
    /// The type of value the column holds, for typed comparisons (`i64` for
    /// `Option<i64>`).
    type Base;
    /// The SQL type used when the registry's type map says nothing else.
    fn sql_type() -> SqlType;
    /// Whether the column is nullable (true for `Option<T>`).
    const NULLABLE: bool = false;
    /// This value as an SQL value.
    fn to_value(&self) -> Value;
    /// Read the value back; a NULL or a value of the wrong kind is an error.
    fn from_value(v: Value) -> Result<Self>;
    /// Whether `v` is this field's value (`self.to_value().same_as(v)`), for the dirty
    /// check; types that own memory compare without building a `Value`.
    fn same_as_value(&self, v: &Value) -> bool {
        self.to_value().same_as(v)
    }
}

fn wrong(want: &str, v: &Value) -> Error {
    if v.is_null() {
        Error::InvalidRequest(format!(
            "expected {want}, found NULL: declare the field as Option<{want}>"
        ))
    } else {
        Error::InvalidRequest(format!("expected {want}, found {} value {v}", v.kind()))
    }
}

macro_rules! int_field {
    ($($t:ty => $sql:expr),*) => {$(
        impl SqlField for $t {
            type Base = $t;
            fn sql_type() -> SqlType {
                $sql
            }
            fn to_value(&self) -> Value {
                Value::from(*self)
            }
            fn from_value(v: Value) -> Result<Self> {
                let i = match &v {
                    Value::SmallInt(i) => *i as i64,
                    Value::Int(i) => *i as i64,
                    Value::BigInt(i) => *i,
                    _ => return Err(wrong(stringify!($t), &v)),
                };
                <$t>::try_from(i).map_err(|_| Error::InvalidRequest(format!("{i} is out of range for {}", stringify!($t))))
            }
        }
    )*};
}
int_field!(i16 => SqlType::SmallInteger, i32 => SqlType::Integer, i64 => SqlType::BigInteger);

impl SqlField for f64 {
    type Base = f64;
    fn sql_type() -> SqlType {
        SqlType::Double
    }
    fn to_value(&self) -> Value {
        Value::Double(*self)
    }
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Double(f) => Ok(f),
            Value::Float(f) => Ok(f as f64),
            Value::SmallInt(i) => Ok(i as f64),
            Value::Int(i) => Ok(i as f64),
            Value::BigInt(i) => Ok(i as f64),
            Value::Text(ref s) => s.parse().map_err(|_| wrong("f64", &v)),
            other => Err(wrong("f64", &other)),
        }
    }
}

impl SqlField for f32 {
    type Base = f32;
    fn sql_type() -> SqlType {
        SqlType::Float
    }
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
    fn from_value(v: Value) -> Result<Self> {
        f64::from_value(v).map(|f| f as f32)
    }
}

impl SqlField for bool {
    type Base = bool;
    fn sql_type() -> SqlType {
        SqlType::Boolean
    }
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Bool(b) => Ok(b),
            Value::SmallInt(0) | Value::Int(0) | Value::BigInt(0) => Ok(false),
            Value::SmallInt(1) | Value::Int(1) | Value::BigInt(1) => Ok(true),
            other => Err(wrong("bool", &other)),
        }
    }
}

impl SqlField for String {
    type Base = String;
    /// VARCHAR; VARCHAR(255) on MySQL, which takes no VARCHAR without a length (as
    /// SeaORM maps it). A type override or the registry's type map can say otherwise.
    fn sql_type() -> SqlType {
        SqlType::String(None).with_variant(SqlType::String(Some(255)), "mysql")
    }
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
    fn same_as_value(&self, v: &Value) -> bool {
        matches!(v, Value::Text(s) if s == self)
    }
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Text(s) => Ok(s),
            // A date, UUID, JSON or decimal column read into a String gets its text.
            other => other.typed_text().ok_or_else(|| wrong("String", &other)),
        }
    }
}

impl SqlField for Vec<u8> {
    type Base = Vec<u8>;
    fn sql_type() -> SqlType {
        SqlType::LargeBinary
    }
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }
    fn same_as_value(&self, v: &Value) -> bool {
        matches!(v, Value::Bytes(b) if b == self)
    }
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Bytes(b) => Ok(b),
            other => Err(wrong("Vec<u8>", &other)),
        }
    }
}

impl<T: SqlField> SqlField for Option<T> {
    type Base = T::Base;
    const NULLABLE: bool = true;
    fn sql_type() -> SqlType {
        T::sql_type()
    }
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
    fn same_as_value(&self, v: &Value) -> bool {
        match self {
            Some(x) => x.same_as_value(v),
            None => v.is_null(),
        }
    }
}

/// Values that may be compared with, or assigned to, a column whose base type is `B`.
/// This is what makes `Task::title.eq(5)` a compile error.
pub trait ValueFor<B>: Into<Value> {}

macro_rules! value_for {
    ($($b:ty: $($v:ty),*;)*) => {$($(impl ValueFor<$b> for $v {})*)*};
}
value_for! {
    i16: i16, u8, i8;
    i32: i32, i16, u16, u8, i8;
    i64: i64, i32, i16, u32, u16, u8, i8;
    f32: f32;
    f64: f64, f32;
    bool: bool;
    String: String, &str, &String;
    Vec<u8>: Vec<u8>, &[u8];
}

impl<B, V: ValueFor<B>> ValueFor<B> for Option<V> where Option<V>: Into<Value> {}

/// Fields of the optional value types: their SQL type, and conversion through
/// strata-core's `FromValue` (which also reads their canonical text, as SQLite stores it).
macro_rules! typed_field {
    ($feature:literal, $t:ty, $sql:expr, $name:literal) => {
        #[cfg(feature = $feature)]
        impl SqlField for $t {
            type Base = $t;
            fn sql_type() -> SqlType {
                $sql
            }
            fn to_value(&self) -> Value {
                Value::from(self.clone())
            }
            fn from_value(v: Value) -> Result<Self> {
                <$t as strata_core::engine::FromValue>::from_value(&v).map_err(|_| wrong($name, &v))
            }
        }

        #[cfg(feature = $feature)]
        impl ValueFor<$t> for $t {}
    };
}

typed_field!("chrono", chrono::NaiveDate, SqlType::Date, "NaiveDate");
typed_field!("chrono", chrono::NaiveTime, SqlType::Time, "NaiveTime");
typed_field!(
    "chrono",
    chrono::NaiveDateTime,
    SqlType::DateTime,
    "NaiveDateTime"
);
typed_field!(
    "chrono",
    chrono::DateTime<chrono::Utc>,
    SqlType::Timestamp(true),
    "DateTime<Utc>"
);
typed_field!("uuid", uuid::Uuid, SqlType::Uuid, "Uuid");
typed_field!(
    "serde_json",
    serde_json::Value,
    SqlType::Json,
    "serde_json::Value"
);
typed_field!(
    "rust_decimal",
    rust_decimal::Decimal,
    SqlType::Numeric(None),
    "Decimal"
);
