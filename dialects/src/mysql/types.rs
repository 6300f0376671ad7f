//! strata values to MySQL parameters, and MySQL result values (binary or text
//! protocol) to strata values, by the result column's type.

use mysql::consts::{ColumnFlags, ColumnType};
use mysql::Value as MyValue;
use strata_core::{Error, Result, Value};

use crate::typed::typed;

/// The character set number MySQL gives binary strings (BLOB, BINARY, VARBINARY).
const BINARY_CHARSET: u16 = 63;

/// A strata value as a MySQL parameter; `position` (from 1) names it in errors.
pub(crate) fn to_param(position: usize, v: &Value) -> Result<MyValue> {
    let finite = |f: f64| {
        if f.is_finite() {
            Ok(())
        } else {
            Err(Error::Parameter(format!(
                "parameter {position}: MySQL cannot store the float {f} (no NaN or infinity)"
            )))
        }
    };
    Ok(match v {
        Value::Null => MyValue::NULL,
        Value::Bool(b) => MyValue::Int(*b as i64),
        Value::SmallInt(i) => MyValue::Int(*i as i64),
        Value::Int(i) => MyValue::Int(*i as i64),
        Value::BigInt(i) => MyValue::Int(*i),
        Value::Float(f) => {
            finite(*f as f64)?;
            MyValue::Float(*f)
        }
        Value::Double(f) => {
            finite(*f)?;
            MyValue::Double(*f)
        }
        Value::Text(s) => MyValue::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => MyValue::Bytes(b.clone()),
        #[cfg(feature = "chrono")]
        Value::Date(d) => {
            use chrono::Datelike;
            MyValue::Date(
                year(position, d.year())?,
                d.month() as u8,
                d.day() as u8,
                0,
                0,
                0,
                0,
            )
        }
        #[cfg(feature = "chrono")]
        Value::Time(t) => {
            use chrono::Timelike;
            MyValue::Time(
                false,
                0,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
                t.nanosecond().min(999_999_999) / 1000,
            )
        }
        #[cfg(feature = "chrono")]
        Value::DateTime(t) => datetime(position, t)?,
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(t) => datetime(position, &t.naive_utc())?,
        #[cfg(feature = "uuid")]
        Value::Uuid(u) => MyValue::Bytes(u.hyphenated().to_string().into_bytes()),
        #[cfg(feature = "serde_json")]
        Value::Json(j) => MyValue::Bytes(j.to_string().into_bytes()),
        #[cfg(feature = "rust_decimal")]
        Value::Decimal(d) => MyValue::Bytes(d.to_string().into_bytes()),
        // A typed value of a strata-core feature this crate was built without: its
        // canonical text, which MySQL converts to the column's type.
        #[allow(unreachable_patterns)]
        other => match other.typed_text() {
            Some(text) => MyValue::Bytes(text.into_bytes()),
            None => {
                return Err(Error::Parameter(format!(
                    "parameter {position}: cannot send a {} value to MySQL",
                    other.kind()
                )))
            }
        },
    })
}

#[cfg(feature = "chrono")]
fn year(position: usize, y: i32) -> Result<u16> {
    u16::try_from(y).ok().filter(|y| *y <= 9999).ok_or_else(|| {
        Error::Parameter(format!(
            "parameter {position}: MySQL dates run from year 0 to 9999, not {y}"
        ))
    })
}

#[cfg(feature = "chrono")]
fn datetime(position: usize, t: &chrono::NaiveDateTime) -> Result<MyValue> {
    use chrono::{Datelike, Timelike};
    Ok(MyValue::Date(
        year(position, t.year())?,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
        t.nanosecond().min(999_999_999) / 1000,
    ))
}

/// How a result column's values become strata values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadAs {
    /// An integer column of at most 16 bits (TINYINT, SMALLINT, YEAR, BOOL).
    Small,
    /// An integer column of at most 32 bits.
    Int,
    /// A 64-bit integer column.
    Big,
    /// FLOAT.
    Float,
    /// DOUBLE.
    Double,
    /// DECIMAL: its exact text (a `Decimal` with the `rust_decimal` feature).
    Decimal,
    /// A text column (CHAR, VARCHAR, TEXT, ENUM, SET).
    Text,
    /// JSON (text; a JSON value with the `serde_json` feature).
    Json,
    /// A binary column (BINARY, VARBINARY, BLOB, BIT, GEOMETRY).
    Bytes,
    /// DATE.
    Date,
    /// DATETIME or TIMESTAMP.
    DateTime,
    /// TIME.
    Time,
}

impl ReadAs {
    /// How to read a column of `ty` with `flags` and character set `charset`. An
    /// unsigned integer column is read one width up, so that every value fits.
    pub(crate) fn of(ty: ColumnType, flags: ColumnFlags, charset: u16) -> ReadAs {
        use ColumnType::*;
        let unsigned = flags.contains(ColumnFlags::UNSIGNED_FLAG);
        match ty {
            MYSQL_TYPE_TINY | MYSQL_TYPE_YEAR => ReadAs::Small,
            MYSQL_TYPE_SHORT if unsigned => ReadAs::Int,
            MYSQL_TYPE_SHORT => ReadAs::Small,
            MYSQL_TYPE_INT24 => ReadAs::Int,
            MYSQL_TYPE_LONG if unsigned => ReadAs::Big,
            MYSQL_TYPE_LONG => ReadAs::Int,
            MYSQL_TYPE_LONGLONG => ReadAs::Big,
            MYSQL_TYPE_FLOAT => ReadAs::Float,
            MYSQL_TYPE_DOUBLE => ReadAs::Double,
            MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => ReadAs::Decimal,
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => ReadAs::Date,
            MYSQL_TYPE_DATETIME
            | MYSQL_TYPE_DATETIME2
            | MYSQL_TYPE_TIMESTAMP
            | MYSQL_TYPE_TIMESTAMP2 => ReadAs::DateTime,
            MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => ReadAs::Time,
            MYSQL_TYPE_JSON => ReadAs::Json,
            MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => ReadAs::Bytes,
            _ if charset == BINARY_CHARSET => ReadAs::Bytes,
            _ => ReadAs::Text,
        }
    }

    /// The strata value of `v`, a value of a column read this way (`column` names it
    /// in errors). Values of the text protocol arrive as text and are parsed.
    pub(crate) fn read(self, v: MyValue, column: &str) -> Result<Value> {
        let out_of_range =
            |what: String| Error::type_mismatch(format!("result column {column:?}: {what}"));
        let int = |i: i64| -> Result<Value> {
            Ok(match self {
                ReadAs::Small => Value::SmallInt(
                    i16::try_from(i)
                        .map_err(|_| out_of_range(format!("{i} is not a 16-bit integer")))?,
                ),
                ReadAs::Int => Value::Int(
                    i32::try_from(i)
                        .map_err(|_| out_of_range(format!("{i} is not a 32-bit integer")))?,
                ),
                ReadAs::Float => Value::Float(i as f32),
                ReadAs::Double => Value::Double(i as f64),
                ReadAs::Text | ReadAs::Decimal | ReadAs::Json => self.text(i.to_string()),
                _ => Value::BigInt(i),
            })
        };
        match v {
            MyValue::NULL => Ok(Value::Null),
            MyValue::Int(i) => int(i),
            MyValue::UInt(u) => match i64::try_from(u) {
                Ok(i) => int(i),
                Err(_) => Err(out_of_range(format!(
                    "{u} is larger than the largest i64; read it as text with CAST(... AS CHAR)"
                ))),
            },
            MyValue::Float(f) => Ok(match self {
                ReadAs::Double => Value::Double(f as f64),
                _ => Value::Float(f),
            }),
            MyValue::Double(f) => Ok(match self {
                ReadAs::Float => Value::Float(f as f32),
                _ => Value::Double(f),
            }),
            MyValue::Date(y, mo, d, h, mi, s, us) => Ok(self.date((y, mo, d, h, mi, s, us))),
            MyValue::Time(negative, days, h, mi, s, us) => {
                Ok(time(negative, days * 24 + h as u32, mi, s, us))
            }
            MyValue::Bytes(b) => self.bytes(b, column),
        }
    }

    /// A value that came as bytes: binary data as it is, anything else as its text,
    /// parsed for numbers (the text protocol sends every value as text).
    fn bytes(self, b: Vec<u8>, column: &str) -> Result<Value> {
        if self == ReadAs::Bytes {
            return Ok(Value::Bytes(b));
        }
        let s = String::from_utf8(b).map_err(|e| {
            Error::type_mismatch(format!(
                "result column {column:?}: text that is not UTF-8 ({e}); read it as bytes with CAST(... AS BINARY)"
            ))
        })?;
        let unparsable = |what: &str| {
            Error::type_mismatch(format!("result column {column:?}: {s:?} is not {what}"))
        };
        Ok(match self {
            ReadAs::Small | ReadAs::Int | ReadAs::Big => {
                let i: i64 = s.trim().parse().map_err(|_| unparsable("an integer"))?;
                return self.read(MyValue::Int(i), column);
            }
            ReadAs::Float => Value::Float(s.trim().parse().map_err(|_| unparsable("a number"))?),
            ReadAs::Double => Value::Double(s.trim().parse().map_err(|_| unparsable("a number"))?),
            ReadAs::Date => typed(Value::Text(s), "date"),
            ReadAs::DateTime => typed(Value::Text(s), "timestamp"),
            ReadAs::Time => typed(Value::Text(s), "time"),
            _ => self.text(s),
        })
    }

    /// A DATE (read as `Date`), DATETIME or TIMESTAMP value of the binary protocol: its
    /// chrono value with the `chrono` feature, built from its parts; its text as MySQL
    /// writes it without the feature, or for a date chrono has not (the zero date).
    fn date(self, (y, mo, d, h, mi, s, us): (u16, u8, u8, u8, u8, u8, u32)) -> Value {
        #[cfg(feature = "chrono")]
        if let Some(date) = chrono::NaiveDate::from_ymd_opt(y.into(), mo.into(), d.into()) {
            if self == ReadAs::Date {
                return Value::Date(date);
            }
            if let Some(t) = date.and_hms_micro_opt(h.into(), mi.into(), s.into(), us) {
                return Value::DateTime(t);
            }
        }
        let day = format!("{y:04}-{mo:02}-{d:02}");
        match self {
            ReadAs::Date => Value::Text(day),
            _ => Value::Text(format!("{day} {}", clock(false, h.into(), mi, s, us))),
        }
    }

    /// Text read as this kind of column's value.
    fn text(self, s: String) -> Value {
        match self {
            ReadAs::Decimal => typed(Value::Text(s), "numeric"),
            ReadAs::Json => typed(Value::Text(s), "json"),
            _ => Value::Text(s),
        }
    }
}

/// A TIME value of the binary protocol: its chrono value with the `chrono` feature
/// when it is a time of day, else its text (a negative time, or one past a day, has no
/// chrono value).
fn time(negative: bool, hours: u32, minutes: u8, seconds: u8, micros: u32) -> Value {
    #[cfg(feature = "chrono")]
    if !negative {
        let t =
            chrono::NaiveTime::from_hms_micro_opt(hours, minutes.into(), seconds.into(), micros);
        if let Some(t) = t {
            return Value::Time(t);
        }
    }
    Value::Text(clock(negative, hours, minutes, seconds, micros))
}

/// `[-]HH:MM:SS[.ffffff]`, as MySQL writes a time.
fn clock(negative: bool, hours: u32, minutes: u8, seconds: u8, micros: u32) -> String {
    let sign = if negative { "-" } else { "" };
    let mut s = format!("{sign}{hours:02}:{minutes:02}:{seconds:02}");
    if micros != 0 {
        s.push_str(&format!(".{micros:06}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_read_at_their_column_width_and_refused_when_they_do_not_fit() {
        assert_eq!(
            ReadAs::Small.read(MyValue::Int(-5), "c").unwrap(),
            Value::SmallInt(-5)
        );
        assert_eq!(
            ReadAs::Int.read(MyValue::UInt(7), "c").unwrap(),
            Value::Int(7)
        );
        assert_eq!(
            ReadAs::Big.read(MyValue::UInt(u64::MAX >> 1), "c").unwrap(),
            Value::BigInt(i64::MAX)
        );
        let e = ReadAs::Big.read(MyValue::UInt(u64::MAX), "n").unwrap_err();
        assert!(e.to_string().contains("\"n\""), "{e}");
        assert!(ReadAs::Small.read(MyValue::Int(70_000), "c").is_err());
    }

    #[test]
    fn text_protocol_values_are_parsed_by_column_type() {
        let b = |s: &str| MyValue::Bytes(s.as_bytes().to_vec());
        assert_eq!(ReadAs::Big.read(b("42"), "c").unwrap(), Value::BigInt(42));
        assert_eq!(
            ReadAs::Double.read(b("2.5"), "c").unwrap(),
            Value::Double(2.5)
        );
        assert_eq!(
            ReadAs::Bytes.read(b("ab"), "c").unwrap(),
            Value::Bytes(b"ab".to_vec())
        );
        assert!(ReadAs::Int.read(b("x"), "c").is_err());
        assert!(ReadAs::Text.read(MyValue::Bytes(vec![0xff]), "c").is_err());
    }

    #[test]
    fn dates_and_times_read_as_mysql_writes_them() {
        let d = ReadAs::DateTime
            .read(MyValue::Date(2024, 2, 29, 13, 5, 9, 120), "c")
            .unwrap();
        let t = ReadAs::Time
            .read(MyValue::Time(true, 1, 2, 3, 4, 0), "c")
            .unwrap();
        // A negative time, or one past a day, has no chrono value: it stays text.
        assert_eq!(t, Value::Text("-26:03:04".into()));
        #[cfg(not(feature = "chrono"))]
        assert_eq!(d, Value::Text("2024-02-29 13:05:09.000120".into()));
        #[cfg(feature = "chrono")]
        assert_eq!(
            d,
            Value::DateTime(
                chrono::NaiveDate::from_ymd_opt(2024, 2, 29)
                    .and_then(|d| d.and_hms_micro_opt(13, 5, 9, 120))
                    .unwrap()
            )
        );
    }

    #[test]
    fn floats_that_mysql_cannot_store_are_refused_naming_the_parameter() {
        let e = to_param(3, &Value::Double(f64::NAN)).unwrap_err();
        assert!(e.to_string().contains("parameter 3"), "{e}");
        assert_eq!(to_param(1, &Value::Bool(true)).unwrap(), MyValue::Int(1));
    }
}
