//! Result rows and conversion of values to Rust types.

use std::fmt;
use std::sync::Arc;

use crate::{Error, Result, Value};

/// A result row: values by position, with the column names shared by all rows.
///
/// `get` converts a copy of a value; `take` and `into_tuple` move values out, so
/// text and bytes are not copied again.
///
/// ```
/// use std::sync::Arc;
/// use strata_core::{engine::Row, Value};
/// let cols: Arc<[String]> = Arc::from(vec!["id".to_string(), "name".to_string()]);
/// let row = Row::new(cols, vec![Value::BigInt(1), Value::Text("Anna".into())]);
/// assert_eq!(row.get::<i64>(0).unwrap(), 1);
/// assert_eq!(row.get::<String>("name").unwrap(), "Anna");
/// assert!(row.get::<i64>("nope").is_err());
///
/// let (id, name): (i32, String) = row.clone().into_tuple().unwrap();
/// assert_eq!((id, name.as_str()), (1, "Anna"));
/// assert!(row.into_tuple::<(i32,)>().is_err()); // two columns, not one
/// ```
#[derive(Clone, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = f.debug_tuple("Row");
        for v in &self.values {
            t.field(v);
        }
        t.finish()
    }
}

/// A column position or name.
pub trait RowIndex: fmt::Display {
    /// The position of this column in `columns`.
    fn index(&self, columns: &[String]) -> Option<usize>;
}

impl RowIndex for usize {
    fn index(&self, columns: &[String]) -> Option<usize> {
        (*self < columns.len()).then_some(*self)
    }
}

impl RowIndex for &str {
    fn index(&self, columns: &[String]) -> Option<usize> {
        columns.iter().position(|c| c == self)
    }
}

impl Row {
    /// A row of `values` named by `columns`.
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Row {
        Row { columns, values }
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Take the values.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The raw value of a column by position or name.
    pub fn value<I: RowIndex>(&self, idx: I) -> Result<&Value> {
        idx.index(&self.columns)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| self.no_such_column(&idx))
    }

    fn no_such_column(&self, idx: &dyn RowIndex) -> Error {
        Error::NoSuchColumn(format!("{idx} (columns: {})", self.columns.join(", ")))
    }

    /// A column converted to `T`, by position or name.
    pub fn get<T: FromValue>(&self, idx: impl RowIndex) -> Result<T> {
        // The column is only formatted into a name when there is an error to report.
        let Some(v) = idx.index(&self.columns).and_then(|i| self.values.get(i)) else {
            return Err(self.no_such_column(&idx));
        };
        T::from_value(v).map_err(|e| in_column(e, &idx))
    }

    /// A column moved out of the row and converted to `T`, by position or name; the
    /// row holds NULL there afterwards.
    pub fn take<T: FromValue>(&mut self, idx: impl RowIndex) -> Result<T> {
        let Some(i) = idx.index(&self.columns).filter(|i| *i < self.values.len()) else {
            return Err(self.no_such_column(&idx));
        };
        T::from_owned(std::mem::take(&mut self.values[i])).map_err(|e| in_column(e, &idx))
    }

    /// The whole row as a tuple of its columns in order, moved out of the row; the
    /// tuple must have one element per column.
    pub fn into_tuple<T: FromRow>(mut self) -> Result<T> {
        T::from_values(&mut self.values, &self.columns)
    }
}

/// Say which column a conversion error is about.
fn in_column(e: Error, idx: &dyn RowIndex) -> Error {
    match e {
        Error::TypeMismatch { message, sql } => Error::TypeMismatch {
            message: format!("column {idx}: {message}"),
            sql,
        },
        other => other,
    }
}

/// A type made from a whole row: tuples of [`FromValue`] types, one per column.
pub trait FromRow: Sized {
    /// Convert a row's values (named by `columns`), moving them out: `values` holds
    /// NULLs afterwards.
    fn from_values(values: &mut [Value], columns: &[String]) -> Result<Self>;
}

macro_rules! tuple_from_row {
    ($n:literal: $($t:ident $v:ident $i:tt),+) => {
        impl<$($t: FromValue),+> FromRow for ($($t,)+) {
            fn from_values(values: &mut [Value], columns: &[String]) -> Result<Self> {
                let [$($v),+] = values else {
                    return Err(Error::type_mismatch(format!(
                        "a row of {} columns ({}) read as a tuple of {}",
                        values.len(),
                        columns.join(", "),
                        $n
                    )));
                };
                Ok(($(
                    $t::from_owned(std::mem::take($v)).map_err(|e| in_column(e, &$i))?,
                )+))
            }
        }
    };
}
tuple_from_row!(1: A a 0usize);
tuple_from_row!(2: A a 0usize, B b 1usize);
tuple_from_row!(3: A a 0usize, B b 1usize, C c 2usize);
tuple_from_row!(4: A a 0usize, B b 1usize, C c 2usize, D d 3usize);
tuple_from_row!(5: A a 0usize, B b 1usize, C c 2usize, D d 3usize, E e 4usize);
tuple_from_row!(6: A a 0usize, B b 1usize, C c 2usize, D d 3usize, E e 4usize, F f 5usize);
tuple_from_row!(7: A a 0usize, B b 1usize, C c 2usize, D d 3usize, E e 4usize, F f 5usize, G g 6usize);
tuple_from_row!(8: A a 0usize, B b 1usize, C c 2usize, D d 3usize, E e 4usize, F f 5usize, G g 6usize, H h 7usize);
tuple_from_row!(9: A a 0usize, B b 1usize, C c 2usize, D d 3usize, E e 4usize, F f 5usize, G g 6usize, H h 7usize, I i 8usize);
tuple_from_row!(10: A a 0usize, B b 1usize, C c 2usize, D d 3usize, E e 4usize, F f 5usize, G g 6usize, H h 7usize, I i 8usize, J j 9usize);
tuple_from_row!(11: A a 0usize, B b 1usize, C c 2usize, D d 3usize, E e 4usize, F f 5usize, G g 6usize, H h 7usize, I i 8usize, J j 9usize, K k 10usize);
tuple_from_row!(12: A a 0usize, B b 1usize, C c 2usize, D d 3usize, E e 4usize, F f 5usize, G g 6usize, H h 7usize, I i 8usize, J j 9usize, K k 10usize, L l 11usize);

/// Conversion from an SQL value to a Rust type; integer conversions are range-checked.
pub trait FromValue: Sized {
    /// Convert, or `Error::TypeMismatch` saying what was found.
    fn from_value(v: &Value) -> Result<Self>;

    /// Convert a value that is not needed afterwards (text and bytes are moved, not
    /// copied).
    fn from_owned(v: Value) -> Result<Self> {
        let out = Self::from_value(&v);
        v.discard();
        out
    }
}

fn mismatch<T>(want: &str, v: &Value) -> Result<T> {
    if v.is_null() {
        return Err(Error::type_mismatch(format!(
            "expected {want}, found NULL (read it as Option<{want}>)"
        )));
    }
    Err(Error::type_mismatch(format!(
        "expected {want}, found {} value {v}",
        v.kind()
    )))
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::SmallInt(i) => Some(*i as i64),
        Value::Int(i) => Some(*i as i64),
        Value::BigInt(i) => Some(*i),
        Value::Bool(b) => Some(*b as i64),
        _ => None,
    }
}

/// An integer, or a decimal with no fractional part: MySQL's SUM of integers is a
/// DECIMAL, as is PostgreSQL's SUM of BIGINTs (text without the `rust_decimal` feature).
fn integral(v: &Value) -> Option<i64> {
    match v {
        Value::Text(s) => s.trim().parse().ok(),
        #[cfg(feature = "rust_decimal")]
        Value::Decimal(d) if d.fract().is_zero() => {
            use rust_decimal::prelude::ToPrimitive;
            d.to_i64()
        }
        other => as_i64(other),
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value) -> Result<Self> {
                match integral(v) {
                    Some(i) => <$t>::try_from(i).map_err(|_| {
                        Error::type_mismatch(format!("value {i} is out of range for {}", stringify!($t)))
                    }),
                    None => mismatch(stringify!($t), v),
                }
            }
        }
    )*};
}
int_from_value!(i8, i16, i32, i64, u8, u16, u32, u64, usize);

impl FromValue for f64 {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Float(f) => Ok(*f as f64),
            Value::Double(f) => Ok(*f),
            // NUMERIC results arrive as decimal text (or decimals) from PostgreSQL.
            Value::Text(s) => s.trim().parse().or_else(|_| mismatch("f64", v)),
            #[cfg(feature = "rust_decimal")]
            Value::Decimal(d) => {
                use rust_decimal::prelude::ToPrimitive;
                d.to_f64().map_or_else(|| mismatch("f64", v), Ok)
            }
            other => match as_i64(other) {
                Some(i) => Ok(i as f64),
                None => mismatch("f64", other),
            },
        }
    }
}

impl FromValue for f32 {
    fn from_value(v: &Value) -> Result<Self> {
        f64::from_value(v).map(|f| f as f32)
    }
}

impl FromValue for bool {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Bool(b) => Ok(*b),
            other => match as_i64(other) {
                Some(0) => Ok(false),
                Some(1) => Ok(true),
                _ => mismatch("bool", other),
            },
        }
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            // Dates, UUIDs, JSON and decimals read as their canonical text.
            other => other
                .typed_text()
                .map_or_else(|| mismatch("text", other), Ok),
        }
    }

    fn from_owned(v: Value) -> Result<Self> {
        match v {
            Value::Text(s) => Ok(s),
            other => Self::from_value(&other),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Bytes(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            other => mismatch("bytes", other),
        }
    }

    fn from_owned(v: Value) -> Result<Self> {
        match v {
            Value::Bytes(b) => Ok(b),
            Value::Text(s) => Ok(s.into_bytes()),
            other => Self::from_value(&other),
        }
    }
}

impl FromValue for Value {
    fn from_value(v: &Value) -> Result<Self> {
        Ok(v.clone())
    }

    fn from_owned(v: Value) -> Result<Self> {
        Ok(v)
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }

    fn from_owned(v: Value) -> Result<Self> {
        if v.is_null() {
            v.discard();
            return Ok(None);
        }
        T::from_owned(v).map(Some)
    }
}

/// A type read from its own value kind or from its canonical text (how SQLite, which
/// has no such column types, stores it).
macro_rules! typed_from_value {
    ($feature:literal, $t:ty, $variant:ident, $want:literal, |$s:ident| $parse:expr) => {
        #[cfg(feature = $feature)]
        impl FromValue for $t {
            fn from_value(v: &Value) -> Result<Self> {
                match v {
                    Value::$variant(x) => Ok(x.clone().into()),
                    Value::Text($s) => $parse.map_or_else(|| mismatch($want, v), Ok),
                    other => mismatch($want, other),
                }
            }
        }
    };
}

typed_from_value!("chrono", chrono::NaiveDate, Date, "date", |s| {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
});
typed_from_value!("chrono", chrono::NaiveTime, Time, "time", |s| {
    chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M:%S%.f").ok()
});
typed_from_value!("chrono", chrono::NaiveDateTime, DateTime, "datetime", |s| {
    parse_naive_datetime(s)
});
typed_from_value!(
    "chrono",
    chrono::DateTime<chrono::Utc>,
    DateTimeUtc,
    "datetime (UTC)",
    |s| parse_utc_datetime(s)
);
typed_from_value!("uuid", uuid::Uuid, Uuid, "uuid", |s| uuid::Uuid::parse_str(
    s.trim()
)
.ok());
#[cfg(feature = "rust_decimal")]
impl FromValue for rust_decimal::Decimal {
    fn from_value(v: &Value) -> Result<Self> {
        let parse = |s: &str| s.trim().parse::<rust_decimal::Decimal>().ok();
        let d = match v {
            Value::Decimal(d) => Some(*d),
            Value::Text(s) => parse(s),
            // SQLite's NUMERIC affinity stores decimals as REAL: read back the shortest
            // decimal text of the float, as SQLAlchemy's SQLite dialect does.
            Value::Double(f) => parse(&f.to_string()),
            Value::Float(f) => parse(&f.to_string()),
            other => as_i64(other).map(rust_decimal::Decimal::from),
        };
        d.map_or_else(|| mismatch("decimal", v), Ok)
    }
}

#[cfg(feature = "serde_json")]
impl FromValue for serde_json::Value {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Json(j) => Ok((**j).clone()),
            Value::Text(s) => serde_json::from_str(s).or_else(|_| mismatch("json", v)),
            other => mismatch("json", other),
        }
    }

    fn from_owned(v: Value) -> Result<Self> {
        match v {
            Value::Json(j) => Ok(*j),
            other => Self::from_value(&other),
        }
    }
}

/// `YYYY-MM-DD[ T]HH:MM:SS[.f]`, as SQLite's CURRENT_TIMESTAMP and strata write it.
#[cfg(feature = "chrono")]
pub fn parse_naive_datetime(s: &str) -> Option<chrono::NaiveDateTime> {
    let s = s.trim();
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
}

/// A timestamp with an offset (`+00:00`, `Z`), or without one (taken as UTC).
#[cfg(feature = "chrono")]
pub fn parse_utc_datetime(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let s = s.trim();
    chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map(|d| d.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| parse_naive_datetime(s).map(|n| n.and_utc()))
}
