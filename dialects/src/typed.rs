//! Result text read as its typed value where a feature gives one.

use strata_core::Value;

/// With the matching feature, turn the text of a date/time, UUID, JSON or NUMERIC result
/// into its typed value (text it cannot parse stays text).
pub(crate) fn typed(v: Value, kind: &str) -> Value {
    let Value::Text(s) = &v else { return v };
    let _ = (s, kind);
    #[cfg(feature = "chrono")]
    match kind {
        "date" => {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                return Value::Date(d);
            }
        }
        "time" => {
            if let Ok(t) = chrono::NaiveTime::parse_from_str(s, "%H:%M:%S%.f") {
                return Value::Time(t);
            }
        }
        "timestamp" => {
            if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f") {
                return Value::DateTime(t);
            }
        }
        "timestamptz" => {
            if let Ok(t) = chrono::NaiveDateTime::parse_from_str(
                s.trim_end_matches("+00:00"),
                "%Y-%m-%d %H:%M:%S%.f",
            ) {
                return Value::DateTimeUtc(t.and_utc());
            }
        }
        _ => {}
    }
    #[cfg(feature = "uuid")]
    if kind == "uuid" {
        if let Ok(u) = uuid::Uuid::parse_str(s) {
            return Value::Uuid(u);
        }
    }
    #[cfg(feature = "serde_json")]
    if kind == "json" {
        if let Ok(j) = serde_json::from_str::<serde_json::Value>(s) {
            return Value::Json(Box::new(j));
        }
    }
    #[cfg(feature = "rust_decimal")]
    if kind == "numeric" {
        if let Ok(d) = s.parse::<rust_decimal::Decimal>() {
            return Value::Decimal(d);
        }
    }
    v
}
