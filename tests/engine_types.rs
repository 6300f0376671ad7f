//! The optional value types (chrono, uuid, serde_json, rust_decimal) through Core and
//! the ORM, on SQLite and PostgreSQL.

#[allow(dead_code)]
#[macro_use]
mod support;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use rust_decimal::Decimal;
use strata::orm::{select as orm_select, Model, Registry, Session};
use strata::{insert, select, Column, Engine, MetaData, SqlType, Table};
use support::pg;

#[derive(Model, Debug, Clone, PartialEq)]
#[model(table = "typed_things")]
struct Thing {
    #[column(primary_key)]
    id: Option<i64>,
    day: NaiveDate,
    at: NaiveTime,
    stamp: NaiveDateTime,
    instant: chrono::DateTime<Utc>,
    key: uuid::Uuid,
    doc: serde_json::Value,
    #[column(sql_type = SqlType::Numeric(Some((12, 4))))]
    price: Decimal,
    maybe_day: Option<NaiveDate>,
}

fn sample() -> Thing {
    Thing {
        id: None,
        day: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
        at: NaiveTime::from_hms_micro_opt(13, 45, 7, 250_000).unwrap(),
        stamp: NaiveDate::from_ymd_opt(1999, 12, 31)
            .unwrap()
            .and_hms_opt(23, 59, 58)
            .unwrap(),
        instant: Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap(),
        key: uuid::Uuid::parse_str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap(),
        doc: serde_json::json!({"a": [1, 2, {"b": null}], "s": "x'y"}),
        price: "1234.5600".parse().unwrap(),
        maybe_day: None,
    }
}

fn core_round_trip(engine: &Engine) {
    let mut md = MetaData::new();
    let t = Table::build("core_typed")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("day", SqlType::Date))
        .column(Column::new("stamp", SqlType::DateTime))
        .column(Column::new("instant", SqlType::Timestamp(true)))
        .column(Column::new("key", SqlType::Uuid))
        .column(Column::new("doc", SqlType::Json))
        .column(Column::new("price", SqlType::Numeric(Some((10, 2)))))
        .add_to(&mut md)
        .unwrap();
    md.drop_all(engine).unwrap();
    md.create_all(engine).unwrap();
    let s = sample();
    let mut conn = engine.connect().unwrap();
    conn.execute(
        &insert(&t)
            .value("day", s.day)
            .value("stamp", s.stamp)
            .value("instant", s.instant)
            .value("key", s.key)
            .value("doc", s.doc.clone())
            .value("price", Decimal::new(1999, 2)),
    )
    .unwrap();
    let row = conn.execute(&select(&t)).unwrap().one().unwrap();
    assert_eq!(row.get::<NaiveDate>("day").unwrap(), s.day);
    assert_eq!(row.get::<NaiveDateTime>("stamp").unwrap(), s.stamp);
    assert_eq!(
        row.get::<chrono::DateTime<Utc>>("instant").unwrap(),
        s.instant
    );
    assert_eq!(row.get::<uuid::Uuid>("key").unwrap(), s.key);
    assert_eq!(row.get::<serde_json::Value>("doc").unwrap(), s.doc);
    assert_eq!(row.get::<Decimal>("price").unwrap(), Decimal::new(1999, 2));
    assert_eq!(row.get::<f64>("price").unwrap(), 19.99);
    // Any of them reads as text too.
    assert_eq!(row.get::<String>("day").unwrap(), "2024-02-29");
    // Filtering by a typed value works on both databases.
    let n: i64 = conn
        .execute(
            &select(strata::func::count_star())
                .select_from(&t)
                .where_(t.c("day").eq(s.day)),
        )
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(n, 1);
    // A value of the wrong kind for a typed column is an error, not corrupted data.
    if engine.dialect().name() == "postgresql" {
        let err = conn
            .execute(&insert(&t).value("day", s.key))
            .unwrap_err()
            .to_string();
        assert!(err.contains("date") && err.contains("uuid"), "{err}");
    }
}

fn orm_round_trip(engine: &Engine) {
    let reg = Registry::new().map::<Thing>().unwrap();
    reg.metadata().drop_all(engine).unwrap();
    reg.metadata().create_all(engine).unwrap();
    let mut s = Session::new(engine);
    let h = s.add(sample()).unwrap();
    s.commit().unwrap();
    let id = h.read().id.unwrap();
    drop(s);
    let mut s = Session::new(engine);
    let back = s.get::<Thing>(id).unwrap().unwrap();
    let mut expected = sample();
    expected.id = Some(id);
    assert_eq!(*back.read(), expected);
    let found = s
        .scalars(&orm_select::<Thing>().filter(Thing::key.eq(expected.key)))
        .unwrap()
        .all();
    assert_eq!(found.len(), 1);
    back.write().maybe_day = Some(expected.day);
    s.commit().unwrap();
    let v: String = engine
        .connect()
        .unwrap()
        .execute(&strata::text("SELECT maybe_day FROM typed_things"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(v, "2024-02-29");
}

#[test]
fn sqlite_core_round_trip() {
    core_round_trip(&strata::create_engine("sqlite://").unwrap());
}

#[test]
fn sqlite_orm_round_trip() {
    orm_round_trip(&strata::create_engine("sqlite://").unwrap());
}

#[test]
fn postgres_core_round_trip() {
    let Some(url) = pg::require_fresh_database("engine_types::core_round_trip") else {
        return;
    };
    core_round_trip(&strata::create_engine(&url).unwrap());
}

#[test]
fn postgres_orm_round_trip() {
    let Some(url) = pg::require_fresh_database("engine_types::orm_round_trip") else {
        return;
    };
    orm_round_trip(&strata::create_engine(&url).unwrap());
}

/// A bound value where the SQL gives it no type (select list, CASE result, function
/// argument) comes back as what was sent, not as text (PostgreSQL casts it).
fn literals_keep_their_types(engine: &Engine) {
    use strata::{case, func, literal, true_};
    let mut c = engine.connect().unwrap();
    let stmt = select((
        literal(5).label("i"),
        case([(true_(), literal(7))], Some(literal(8))).label("c"),
        func::coalesce([strata::null(), literal(2.5)]).label("f"),
        literal("text").label("t"),
    ));
    let row = c.execute(&stmt).unwrap().one().unwrap();
    assert_eq!(row.get::<i64>("i").unwrap(), 5);
    assert_eq!(row.get::<i64>("c").unwrap(), 7);
    assert_eq!(row.get::<f64>("f").unwrap(), 2.5);
    assert_eq!(row.get::<String>("t").unwrap(), "text");
}

#[test]
fn sqlite_literals_keep_their_types() {
    literals_keep_their_types(&strata::create_engine("sqlite://").unwrap());
}

#[test]
fn postgres_literals_keep_their_types() {
    let Some(url) = pg::require_fresh_database("engine_types::literals_keep_their_types") else {
        return;
    };
    literals_keep_their_types(&strata::create_engine(&url).unwrap());
}

/// A result column of a type strata does not read is an error that names the column and
/// the type (the driver's own text says only "error deserializing column 0").
#[test]
fn postgres_unreadable_result_type_names_the_type() {
    let Some(url) = pg::require_fresh_database("engine_types::unreadable_result_type") else {
        return;
    };
    let engine = strata::create_engine(&url).unwrap();
    let mut c = engine.connect().unwrap();
    let err = c
        .execute(&strata::text("SELECT ARRAY[1, 2] AS pair"))
        .and_then(|r| r.all())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("result column \"pair\": strata cannot read PostgreSQL type _int4"),
        "{err}"
    );
    // The connection is still usable.
    let one: i32 = c
        .execute(&strata::text("SELECT 1"))
        .unwrap()
        .scalar_one()
        .unwrap();
    assert_eq!(one, 1);
}

/// Special floats: infinities round-trip on both databases, NaN on PostgreSQL; SQLite
/// would store NaN as NULL (and never match it), so binding one there is an error that
/// names the parameter, and nothing is written.
fn special_floats(engine: &Engine) {
    let mut md = MetaData::new();
    let t = Table::build("floats")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("f", SqlType::Double))
        .add_to(&mut md)
        .unwrap();
    md.create_all(engine).unwrap();
    let sqlite = engine.dialect().name() == "sqlite";
    let mysql = engine.dialect().name() == "mysql";
    let mut c = engine.connect().unwrap();
    let mut stored = 0;
    for (id, v) in [(1, f64::INFINITY), (2, f64::NEG_INFINITY), (3, f64::NAN)] {
        let written = c.execute(&insert(&t).columns(["id", "f"]).row((id, v)));
        // What the database cannot store is refused, naming the parameter, before
        // anything is written: NaN on SQLite (it would store NULL), NaN and the
        // infinities on MySQL.
        let refused = if mysql {
            Some("parameter 2: MySQL cannot store the float")
        } else if sqlite && v.is_nan() {
            Some("parameter 2 is NaN")
        } else {
            None
        };
        if let Some(why) = refused {
            let err = written.expect_err("a float was bound that the database cannot store");
            assert!(err.to_string().contains(why), "{err}");
            let n: i64 = c
                .execute(&select(strata::func::count_star()).select_from(&t))
                .unwrap()
                .scalar_one()
                .unwrap();
            assert_eq!(n, stored);
            continue;
        }
        stored += 1;
        written.unwrap();
        let back: f64 = c
            .execute(&select(t.c("f")).where_(t.c("id").eq(id)))
            .unwrap()
            .scalar_one()
            .unwrap();
        assert!(
            back == v || (back.is_nan() && v.is_nan()),
            "{v} came back as {back}"
        );
    }
}

/// Decimals: PostgreSQL keeps every digit. A NUMERIC column of SQLite keeps 15
/// significant digits (beyond a 64-bit integer), so a decimal with more is refused
/// there rather than rounded; up to 15, and 64-bit integers, round-trip exactly.
fn exact_decimals(engine: &Engine) {
    use std::str::FromStr;
    let mut md = MetaData::new();
    let t = Table::build("decimals")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("d", SqlType::Numeric(Some((40, 16)))))
        .add_to(&mut md)
        .unwrap();
    md.create_all(engine).unwrap();
    let sqlite = engine.dialect().name() == "sqlite";
    let mut c = engine.connect().unwrap();
    let cases = [
        ("123456789012.345", true),
        ("-0.000000000000001", true),
        ("9223372036854775807", true),
        ("12345678901234567890.1234", false),
        ("99999999999999.9999", false),
    ];
    for (id, (text, fits_sqlite)) in cases.into_iter().enumerate() {
        let d = Decimal::from_str(text).unwrap();
        let written = c.execute(&insert(&t).columns(["id", "d"]).row((id as i64, d)));
        if sqlite && !fits_sqlite {
            let err = written
                .expect_err("a rounded decimal was bound")
                .to_string();
            assert!(err.contains("significant digits"), "{err}");
            continue;
        }
        written.unwrap();
        let back: Decimal = c
            .execute(&select(t.c("d")).where_(t.c("id").eq(id as i64)))
            .unwrap()
            .scalar_one()
            .unwrap();
        assert_eq!(back.normalize(), d.normalize(), "{text}");
    }
}

/// Runs a check given an engine (for `on_all!`).
fn on(engine: &Engine, check: fn(&Engine)) {
    check(engine)
}

on_all!(crate::on; special_floats, exact_decimals);
