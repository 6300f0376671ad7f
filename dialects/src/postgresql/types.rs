//! strata's own conversion between its values and PostgreSQL's binary wire formats.
//!
//! Parameters are encoded for the type the server assigned to each placeholder, so an
//! `i64` bound where the server expects `int4` is sent as 4 bytes (range-checked), and
//! a mismatch is an error naming the parameter's position, the expected SQL type and
//! the given value's Rust type.

use std::borrow::Cow;
use std::error::Error as StdError;

use crate::typed::typed;
use bytes::{BufMut, BytesMut};
use strata_core::{Error, Result, Value};
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type};

type BoxError = Box<dyn StdError + Sync + Send>;

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// The dates PostgreSQL has (AD; its upper limit).
const MAX_YEAR: i64 = 5_874_897;

fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    // A day past the month's end is an error, not the next month (PostgreSQL's text
    // input rejects it too); a year out of range would overflow.
    if !(1..=MAX_YEAR).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=days_in_month(y, m)).contains(&d)
    {
        return None;
    }
    Some(days_from_civil(y, m, d) - PG_EPOCH_DAYS)
}

fn parse_time(s: &str) -> Option<i64> {
    let (hms, frac) = match s.split_once('.') {
        Some((a, b)) => (a, b),
        None => (s, ""),
    };
    let mut it = hms.splitn(3, ':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec: i64 = it.next().unwrap_or("0").parse().ok()?;
    if !(0..=24).contains(&h)
        || !(0..=59).contains(&m)
        || !(0..=60).contains(&sec)
        || frac.len() > 6
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let micros: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    // 24:00:00 is the end of the day; 24:30 is no time (and no shift into the next day).
    if h == 24 && (m, sec, micros) != (0, 0, 0) {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1_000_000 + micros)
}

/// Parse `YYYY-MM-DD[ T]HH:MM:SS[.ffffff][Z|±HH[:MM]]` into micros since 2000-01-01 UTC.
fn parse_timestamp(s: &str, with_zone: bool) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, "00:00:00"),
    };
    let days = parse_date(date)?;
    let (time, offset_secs) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']).filter(|&i| i >= 5) {
        let (t, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let off = &off[1..];
        let (oh, om) = match off.split_once(':') {
            Some((h, m)) => (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?),
            None if off.len() == 4 => (off.get(..2)?.parse().ok()?, off.get(2..)?.parse().ok()?),
            None => (off.parse().ok()?, 0),
        };
        if !(0..=15).contains(&oh) || !(0..=59).contains(&om) {
            return None;
        }
        (t, sign * (oh * 3600 + om * 60))
    } else {
        (rest, 0)
    };
    if offset_secs != 0 && !with_zone {
        return None;
    }
    days.checked_mul(MICROS_PER_DAY)?
        .checked_add(parse_time(time)?)?
        .checked_sub(offset_secs * 1_000_000)
}

fn format_time(micros: i64) -> String {
    let (secs, us) = (micros / 1_000_000, micros % 1_000_000);
    let s = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if us == 0 {
        s
    } else {
        format!("{s}.{us:06}")
    }
}

fn format_date(days_since_2000: i64) -> String {
    let (y, m, d) = civil_from_days(days_since_2000 + PG_EPOCH_DAYS);
    format!("{y:04}-{m:02}-{d:02}")
}

fn format_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rest = micros.rem_euclid(MICROS_PER_DAY);
    format!("{} {}", format_date(days), format_time(rest))
}

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn format_uuid(b: &[u8]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Encode a decimal string (`-123.4500`) in PostgreSQL's binary NUMERIC format.
fn encode_numeric(s: &str, out: &mut BytesMut) -> Option<()> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("nan") {
        out.put_i16(0);
        out.put_i16(0);
        out.put_u16(0xC000);
        out.put_u16(0);
        return Some(());
    }
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let dscale = frac.len();
    // Pad the integer part on the left and the fraction on the right to groups of 4.
    let int_pad = (4 - int.len() % 4) % 4;
    let int_digits = format!("{}{int}", "0".repeat(int_pad));
    let frac_digits = format!("{frac}{}", "0".repeat((4 - frac.len() % 4) % 4));
    let mut groups: Vec<i16> = Vec::new();
    for chunk in int_digits
        .as_bytes()
        .chunks(4)
        .chain(frac_digits.as_bytes().chunks(4))
    {
        groups.push(std::str::from_utf8(chunk).ok()?.parse().ok()?);
    }
    let mut weight = (int_digits.len() / 4) as i16 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    out.put_i16(groups.len() as i16);
    out.put_i16(weight);
    out.put_u16(if neg && !groups.is_empty() { 0x4000 } else { 0 });
    out.put_u16(dscale as u16);
    for g in groups {
        out.put_i16(g);
    }
    Some(())
}

fn decode_numeric(raw: &[u8]) -> Option<String> {
    let rd =
        |i: usize| -> Option<i16> { Some(i16::from_be_bytes([*raw.get(i)?, *raw.get(i + 1)?])) };
    let ndigits = rd(0)? as usize;
    let weight = rd(2)? as i64;
    let sign = rd(4)? as u16;
    let dscale = rd(6)? as usize;
    if sign == 0xC000 {
        return Some("NaN".into());
    }
    let digits: Vec<i64> = (0..ndigits)
        .map(|i| rd(8 + 2 * i).map(|d| d as i64))
        .collect::<Option<_>>()?;
    let mut int = String::new();
    for w in 0..=weight.max(-1) {
        let d = digits.get(w as usize).copied().unwrap_or(0);
        if int.is_empty() {
            int = d.to_string();
        } else {
            int.push_str(&format!("{d:04}"));
        }
    }
    if int.is_empty() {
        int.push('0');
    }
    let mut frac = String::new();
    let mut idx = weight + 1;
    while (frac.len()) < dscale {
        let d = if idx < 0 {
            0
        } else {
            digits.get(idx as usize).copied().unwrap_or(0)
        };
        frac.push_str(&format!("{d:04}"));
        idx += 1;
    }
    frac.truncate(dscale);
    let sign = if sign == 0x4000 { "-" } else { "" };
    Some(if dscale > 0 {
        format!("{sign}{int}.{frac}")
    } else {
        format!("{sign}{int}")
    })
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::SmallInt(i) => Some(*i as i64),
        Value::Int(i) => Some(*i as i64),
        Value::BigInt(i) => Some(*i),
        _ => None,
    }
}

/// A value as text for a text-like column: text itself borrowed, other kinds formatted.
fn text_of(v: &Value) -> Option<Cow<'_, str>> {
    Some(Cow::Owned(match v {
        Value::Text(s) => return Some(Cow::Borrowed(s)),
        Value::Bool(b) => b.to_string(),
        Value::SmallInt(_) | Value::Int(_) | Value::BigInt(_) => int_of(v)?.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Null | Value::Bytes(_) => return None,
        #[allow(unreachable_patterns)]
        other => other.typed_text()?,
    }))
}

/// Whether `ty` takes text as it is (text types, enums, citext).
pub(crate) fn is_texty(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || matches!(ty.kind(), Kind::Enum(_))
        || ty.name() == "citext"
}

/// Encode `v` for a parameter of server type `ty`; `None` when the kinds do not fit.
fn encode(v: &Value, ty: &Type, out: &mut BytesMut) -> Option<IsNull> {
    if v.is_null() {
        return Some(IsNull::Yes);
    }
    if let Kind::Domain(inner) = ty.kind() {
        return encode(v, inner, out);
    }
    // Dates and times, UUIDs, JSON and decimals go through their canonical text, whose
    // parsers check the target type; a decimal into a float column is converted.
    if let Some(text) = v.typed_text() {
        return match *ty {
            Type::FLOAT4 | Type::FLOAT8 => {
                let f: f64 = (v.kind() == "decimal")
                    .then(|| text.parse().ok())
                    .flatten()?;
                encode(&Value::Double(f), ty, out)
            }
            Type::INT2 | Type::INT4 | Type::INT8 | Type::BOOL | Type::BYTEA | Type::OID => None,
            _ => encode(&Value::Text(text), ty, out),
        };
    }
    match *ty {
        Type::BOOL => match v {
            Value::Bool(b) => out.put_u8(*b as u8),
            _ => return None,
        },
        Type::INT2 => out.put_i16(i16::try_from(int_of(v)?).ok()?),
        Type::INT4 => out.put_i32(i32::try_from(int_of(v)?).ok()?),
        Type::INT8 => out.put_i64(int_of(v)?),
        Type::OID => out.put_u32(u32::try_from(int_of(v)?).ok()?),
        Type::FLOAT4 => match v {
            Value::Float(f) => out.put_f32(*f),
            Value::Double(f) => out.put_f32(*f as f32),
            other => out.put_f32(int_of(other)? as f32),
        },
        Type::FLOAT8 => match v {
            Value::Float(f) => out.put_f64(*f as f64),
            Value::Double(f) => out.put_f64(*f),
            other => out.put_f64(int_of(other)? as f64),
        },
        Type::NUMERIC => {
            let s: Cow<'_, str> = match v {
                Value::Text(s) => Cow::Borrowed(s),
                Value::Float(f) if f.is_finite() => Cow::Owned(f.to_string()),
                Value::Double(f) if f.is_finite() => Cow::Owned(f.to_string()),
                other => Cow::Owned(int_of(other)?.to_string()),
            };
            encode_numeric(&s, out)?;
        }
        Type::BYTEA => match v {
            Value::Bytes(b) => out.put_slice(b),
            _ => return None,
        },
        Type::JSON => match v {
            Value::Text(s) => out.put_slice(s.as_bytes()),
            _ => return None,
        },
        Type::JSONB => match v {
            Value::Text(s) => {
                out.put_u8(1);
                out.put_slice(s.as_bytes());
            }
            _ => return None,
        },
        Type::UUID => match v {
            Value::Text(s) => out.put_slice(&parse_uuid(s)?),
            Value::Bytes(b) if b.len() == 16 => out.put_slice(b),
            _ => return None,
        },
        Type::DATE => match v {
            Value::Text(s) => out.put_i32(i32::try_from(parse_date(s.trim())?).ok()?),
            _ => return None,
        },
        Type::TIME => match v {
            Value::Text(s) => out.put_i64(parse_time(s.trim())?),
            _ => return None,
        },
        Type::TIMESTAMP => match v {
            Value::Text(s) => out.put_i64(parse_timestamp(s, false)?),
            _ => return None,
        },
        Type::TIMESTAMPTZ => match v {
            Value::Text(s) => out.put_i64(parse_timestamp(s, true)?),
            _ => return None,
        },
        _ if is_texty(ty) => out.put_slice(text_of(v)?.as_bytes()),
        _ => return None,
    }
    Some(IsNull::No)
}

/// Check that parameter `position` (1-based) can be sent as server type `ty`.
pub(crate) fn check_param(position: usize, v: &Value, ty: &Type) -> Result<()> {
    let mut scratch = BytesMut::new();
    match encode(v, ty, &mut scratch) {
        Some(_) => Ok(()),
        None => Err(Error::type_mismatch(format!(
            "parameter ${position}: the server expects {} but the value is {} ({})",
            ty.name(),
            v.kind(),
            match v {
                Value::Text(s) if s.chars().count() > 40 =>
                    format!("{:?}...", s.chars().take(40).collect::<String>()),
                other => other.to_string(),
            }
        ))),
    }
}

/// A strata value sent as a PostgreSQL parameter.
#[derive(Debug)]
pub(crate) struct PgParam<'a>(pub(crate) &'a Value);

impl ToSql for PgParam<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        encode(self.0, ty, out)
            .ok_or_else(|| format!("cannot send {} value as {}", self.0.kind(), ty.name()).into())
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// A PostgreSQL result value read as a strata value.
pub(crate) struct PgValue(pub(crate) Value);

fn be<const N: usize>(raw: &[u8]) -> Result<[u8; N], BoxError> {
    raw.try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", raw.len()).into())
}

impl<'a> FromSql<'a> for PgValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        if let Kind::Domain(inner) = ty.kind() {
            return PgValue::from_sql(inner, raw);
        }
        let text = |raw: &[u8]| -> Result<Value, BoxError> {
            Ok(Value::Text(std::str::from_utf8(raw)?.to_string()))
        };
        Ok(PgValue(match *ty {
            Type::BOOL => Value::Bool(raw.first().copied().unwrap_or(0) != 0),
            Type::INT2 => Value::SmallInt(i16::from_be_bytes(be(raw)?)),
            Type::INT4 => Value::Int(i32::from_be_bytes(be(raw)?)),
            Type::INT8 => Value::BigInt(i64::from_be_bytes(be(raw)?)),
            Type::OID => Value::BigInt(u32::from_be_bytes(be(raw)?) as i64),
            Type::FLOAT4 => Value::Float(f32::from_be_bytes(be(raw)?)),
            Type::FLOAT8 => Value::Double(f64::from_be_bytes(be(raw)?)),
            Type::NUMERIC => typed(
                Value::Text(decode_numeric(raw).ok_or("malformed numeric")?),
                "numeric",
            ),
            Type::BYTEA => Value::Bytes(raw.to_vec()),
            Type::JSONB => typed(text(raw.get(1..).unwrap_or_default())?, "json"),
            Type::UUID => typed(Value::Text(format_uuid(&be::<16>(raw)?)), "uuid"),
            Type::DATE => typed(
                Value::Text(format_date(i32::from_be_bytes(be(raw)?) as i64)),
                "date",
            ),
            Type::TIME => typed(
                Value::Text(format_time(i64::from_be_bytes(be(raw)?))),
                "time",
            ),
            Type::TIMESTAMP => typed(
                Value::Text(format_timestamp(i64::from_be_bytes(be(raw)?))),
                "timestamp",
            ),
            Type::TIMESTAMPTZ => typed(
                Value::Text(format!(
                    "{}+00:00",
                    format_timestamp(i64::from_be_bytes(be(raw)?))
                )),
                "timestamptz",
            ),
            Type::JSON => typed(text(raw)?, "json"),
            Type::XML => text(raw)?,
            _ if is_texty(ty) => text(raw)?,
            _ => {
                return Err(format!("strata cannot read PostgreSQL type {} yet", ty.name()).into())
            }
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(PgValue(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for s in [
            "2000-01-01",
            "1999-12-31",
            "2024-02-29",
            "1970-01-01",
            "0001-01-01",
        ] {
            assert_eq!(format_date(parse_date(s).unwrap()), s);
        }
        assert_eq!(parse_date("2000-01-02"), Some(1));
        assert_eq!(parse_date("2024-13-01"), None);
        // No day past the month's end, no year that overflows.
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-04-31"), None);
        assert_eq!(parse_date("1900-02-29"), None);
        assert!(parse_date("2000-02-29").is_some());
        assert_eq!(parse_date("9223372036854775807-01-01"), None);
        assert_eq!(parse_date("0000-01-01"), None);
    }

    #[test]
    fn timestamps_round_trip() {
        let t = parse_timestamp("2024-05-06 07:08:09.123456", false).unwrap();
        assert_eq!(format_timestamp(t), "2024-05-06 07:08:09.123456");
        let z = parse_timestamp("2024-05-06T09:08:09+02:00", true).unwrap();
        assert_eq!(format_timestamp(z), "2024-05-06 07:08:09");
        assert!(parse_timestamp("2024-05-06T09:08:09+02:00", false).is_none());
        // Out-of-range fields are errors, never a shift into another day.
        for bad in [
            "2024-01-01 24:30:00",
            "2024-01-01 -1:30:00",
            "2024-01-01 10:-5:00",
            "2024-01-01 10:00:-1",
            "2024-01-01 10:00:00+99:00",
            "2024-01-01 10:00:00+a\u{e9}1",
            "99999999999-01-01 00:00:00",
            "5874897-12-31 00:00:00",
        ] {
            assert!(parse_timestamp(bad, true).is_none(), "{bad}");
        }
        assert!(parse_timestamp("2024-01-01 24:00:00", false).is_some());
        assert_eq!(parse_time("24:00"), Some(86_400_000_000));
        assert_eq!(parse_time("24:00:01"), None);
    }

    #[test]
    fn numerics_round_trip() {
        for s in [
            "0",
            "1",
            "-1",
            "12345.678",
            "0.0001",
            "-98765432109876.54321",
            "100",
            "1.50",
        ] {
            let mut b = BytesMut::new();
            encode_numeric(s, &mut b).unwrap();
            assert_eq!(decode_numeric(&b).unwrap(), s, "{s}");
        }
        assert!(encode_numeric("1e5", &mut BytesMut::new()).is_none());
    }

    #[test]
    fn uuids_round_trip() {
        let s = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        assert_eq!(format_uuid(&parse_uuid(s).unwrap()), s);
    }

    #[test]
    fn mismatches_name_position_type_and_value() {
        let e = check_param(3, &Value::Text("abc".into()), &Type::INT4)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("$3") && e.contains("int4") && e.contains("text"),
            "{e}"
        );
        assert!(check_param(1, &Value::BigInt(1 << 40), &Type::INT4).is_err());
        assert!(check_param(1, &Value::BigInt(7), &Type::INT2).is_ok());
        assert!(check_param(1, &Value::Null, &Type::UUID).is_ok());
    }
}
