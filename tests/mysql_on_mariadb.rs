//! The MySQL dialect's SQL on a real server, through the `mariadb` client rather than
//! strata's driver: every MySQL statement the golden tests (tests/golden_sql.rs) pin,
//! including those no execution test runs, is sent to a throwaway MariaDB server
//! (tests/support/mariadb.rs):
//!
//! - queries and DML are prepared (`PREPARE`), which parses them and resolves every
//!   table and column without running them, against the golden tests' schema;
//! - DDL runs, each snapshot in a database of its own, with foreign-key checks off so
//!   that a table may refer to one the snapshot does not create. A DROP or CREATE INDEX
//!   of a table the snapshot does not create is prepared instead.
//!
//! A few statements are valid MySQL 8 but not MariaDB (`MYSQL_8_ONLY`); the test
//! checks that MariaDB refuses exactly those, so the list cannot go stale.

#[allow(dead_code)] // each test binary uses only part of the support code
mod support;

use std::path::Path;

use strata::dialects::MySqlDialect;
use strata::{literal, select, Expr, Value};
use support::mariadb::{self, MariaDb, SqlError};

/// Golden snapshots whose MySQL statement MariaDB 10.11 does not take, with why.
const MYSQL_8_ONLY: [(&str, &str); 2] = [
    (
        "cast_per_dialect_text_and_time",
        "CAST(... AS JSON) is MySQL's; MariaDB has no JSON cast",
    ),
    (
        "cte_used_by_delete",
        "WITH before DELETE is MySQL 8's; MariaDB takes WITH only before SELECT",
    ),
];

/// The snapshot of the golden schema's `create_all`.
const SCHEMA_SNAPSHOT: &str = "metadata_create_all_sql_in_fk_order";
/// The tables that the seed and schema snapshots query, beyond the golden schema.
const MORE_TABLES: &str = "
CREATE TABLE tasks (id INTEGER PRIMARY KEY AUTO_INCREMENT, title VARCHAR(100), completed BOOL);
CREATE TABLE user_account (id INTEGER PRIMARY KEY AUTO_INCREMENT, name VARCHAR(30),
    fullname VARCHAR(50), email VARCHAR(50));
CREATE TABLE `we\"ird``name` (`co\"l``` INTEGER);
CREATE TABLE billing.customers (id INTEGER PRIMARY KEY, name VARCHAR(60));
CREATE TABLE billing.invoices (id INTEGER PRIMARY KEY, customer_id INTEGER,
    total NUMERIC(10, 2));
";
/// The schemas (MySQL databases) that schema-qualified snapshots name.
const SCHEMAS: [&str; 4] = ["billing", "shop", "auth", "myschema"];

/// A snapshot's MySQL part: its statements, or strata's refusal to compile them.
enum MySqlPart {
    Statements(Vec<String>),
    Refused,
}

/// The MySQL part of a golden snapshot: after the header, the lines from `mysql:` to
/// the next dialect's line (`name: SQL  params: [...]`, or `name:` then one statement
/// per `;`-ended line group for statement lists).
fn mysql_part(snapshot: &str) -> Option<MySqlPart> {
    let body = snapshot.splitn(3, "---\n").nth(2)?;
    let start = body
        .find("\nmysql:")
        .map(|i| i + 1)
        .or_else(|| body.starts_with("mysql:").then_some(0))?;
    let rest = &body[start + "mysql:".len()..];
    // The part ends where another dialect's line begins.
    let end = ["\nsqlite:", "\npostgresql:"]
        .iter()
        .filter_map(|d| rest.find(d))
        .min()
        .unwrap_or(rest.len());
    let part = rest[..end].trim();
    if part.starts_with("ERROR ") {
        return Some(MySqlPart::Refused);
    }
    if let Some((sql, _params)) = part.rsplit_once("  params: ") {
        return Some(MySqlPart::Statements(vec![sql.to_string()]));
    }
    let list = part
        .split(";\n")
        .map(|s| s.trim().trim_end_matches(';').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    Some(MySqlPart::Statements(list))
}

/// `s` as a MySQL string literal.
fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn is_ddl(sql: &str) -> bool {
    ["CREATE ", "DROP ", "ALTER "]
        .iter()
        .any(|k| sql.trim_start().starts_with(k))
}

/// The golden snapshots, by name (file name without `golden_sql__` and `.snap`).
fn snapshots() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {dir:?}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter_map(|path| {
            let file = path.file_name()?.to_str()?;
            let name = file.strip_prefix("golden_sql__")?.strip_suffix(".snap")?;
            let text = std::fs::read_to_string(&path).expect("readable snapshot");
            Some((name.to_string(), text))
        })
        .collect();
    out.sort();
    out
}

/// Make the golden schema in database `golden`, and the other snapshots' schemas.
fn create_schema(server: &MariaDb, snapshots: &[(String, String)]) {
    let (_, text) = snapshots
        .iter()
        .find(|(name, _)| name == SCHEMA_SNAPSHOT)
        .expect("the create_all snapshot");
    let Some(MySqlPart::Statements(tables)) = mysql_part(text) else {
        panic!("{SCHEMA_SNAPSHOT} has no MySQL statements");
    };
    let mut sql = String::from("CREATE DATABASE golden; USE golden;\n");
    for s in SCHEMAS {
        sql.push_str(&format!("CREATE DATABASE {s};\n"));
    }
    for t in tables {
        sql.push_str(&t);
        sql.push_str(";\n");
    }
    sql.push_str(MORE_TABLES);
    if let Err(e) = server.run(None, &sql) {
        panic!("creating the golden schema: {}", e.message);
    }
}

/// Prepare `sql` in database `golden`.
fn prepare(server: &MariaDb, sql: &str) -> Result<String, SqlError> {
    server.run(
        Some("golden"),
        &format!("PREPARE s FROM {};", string_literal(sql)),
    )
}

/// Run one snapshot's DDL in a fresh database (and fresh schemas).
fn run_ddl(server: &MariaDb, statements: &[String]) -> Result<(), SqlError> {
    let mut reset = String::from("DROP DATABASE IF EXISTS ddl; CREATE DATABASE ddl;\n");
    for s in SCHEMAS {
        reset.push_str(&format!(
            "DROP DATABASE IF EXISTS {s}; CREATE DATABASE {s};\n"
        ));
    }
    server.run(None, &reset)?;
    for sql in statements {
        let run = server.run(Some("ddl"), &format!("SET foreign_key_checks = 0;\n{sql};"));
        match run {
            Ok(_) => {}
            // 1051 unknown table, 1146 no such table: a DROP or an index of a table the
            // snapshot does not make.
            Err(e) if e.code == 1051 || e.code == 1146 => {
                server.run(
                    Some("ddl"),
                    &format!("PREPARE s FROM {};", string_literal(sql)),
                )?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[test]
fn every_mysql_golden_statement_is_accepted_by_mariadb() {
    let Some(server) =
        mariadb::require_mariadb("every_mysql_golden_statement_is_accepted_by_mariadb")
    else {
        return;
    };
    let snapshots = snapshots();
    create_schema(&server, &snapshots);
    let mut checked = 0;
    let mut refused_by_strata = 0;
    let mut failures = Vec::new();
    let mut mysql_8_only = Vec::new();
    // Queries and DML first: DDL snapshots reset the schema databases.
    let mut ddl = Vec::new();
    for (name, text) in &snapshots {
        let statements = match mysql_part(text) {
            Some(MySqlPart::Statements(s)) => s,
            Some(MySqlPart::Refused) => {
                refused_by_strata += 1;
                continue;
            }
            None => continue,
        };
        if statements.iter().any(|s| is_ddl(s)) {
            ddl.push((name, statements));
            continue;
        }
        for sql in &statements {
            checked += 1;
            let result = prepare(&server, sql).map(|_| ());
            record(name, sql, result, &mut failures, &mut mysql_8_only);
        }
    }
    for (name, statements) in ddl {
        checked += statements.len();
        let result = run_ddl(&server, &statements);
        record(
            name,
            &statements.join(";\n"),
            result,
            &mut failures,
            &mut mysql_8_only,
        );
    }
    eprintln!(
        "MariaDB: {checked} MySQL statements checked; {refused_by_strata} snapshots refused by \
         strata on MySQL"
    );
    assert!(
        failures.is_empty(),
        "MariaDB refused {} golden MySQL statement(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    let mut expected: Vec<&str> = MYSQL_8_ONLY.iter().map(|(n, _)| *n).collect();
    expected.sort();
    mysql_8_only.sort();
    assert_eq!(
        mysql_8_only, expected,
        "the snapshots MariaDB refuses as MySQL 8 syntax"
    );
    // The golden tests pin well over a hundred MySQL statements.
    assert!(checked > 150, "only {checked} statements found to check");
}

/// File the outcome of snapshot `name`'s statement `sql`: a syntax error on a
/// `MYSQL_8_ONLY` snapshot is expected, any other error is a failure.
fn record(
    name: &str,
    sql: &str,
    result: Result<(), SqlError>,
    failures: &mut Vec<String>,
    mysql_8_only: &mut Vec<&'static str>,
) {
    let listed = MYSQL_8_ONLY.iter().find(|(n, _)| *n == name);
    match (result, listed) {
        (Ok(()), Some((n, why))) => failures.push(format!(
            "{n}: listed as MySQL 8 only ({why}), but MariaDB took it:\n{sql}"
        )),
        (Ok(()), None) => {}
        (Err(e), Some((n, _))) if e.code == 1064 => mysql_8_only.push(n),
        (Err(e), _) => failures.push(format!("{name}: {}\n{sql}", e.message)),
    }
}

/// `/` of two integers truncates toward zero on MySQL as on SQLite, PostgreSQL and in
/// Rust (MySQL's own `/` would give 3.5000); anything else divides exactly.
#[test]
fn integer_division_truncates_as_in_rust() {
    let Some(server) = mariadb::require_mariadb("integer_division_truncates_as_in_rust") else {
        return;
    };
    let cases: [(Expr, &str); 5] = [
        (literal(7) / literal(2), "3"),
        (literal(-7) / literal(2), "-3"),
        (literal(7i64) / literal(-2i16), "-3"),
        ((literal(7) + literal(1)) / literal(3) * literal(2), "4"),
        (literal(7) / literal(2.0), "3.5"),
    ];
    for (expr, want) in cases {
        let compiled = select(expr.label("q"))
            .compile(&MySqlDialect)
            .expect("compiles for MySQL");
        let names: Vec<String> = (1..=compiled.params().len())
            .map(|i| format!("@p{i}"))
            .collect();
        let mut sql = format!("PREPARE s FROM {};\n", string_literal(compiled.sql()));
        for (name, value) in names.iter().zip(compiled.params()) {
            let literal = match value {
                Value::SmallInt(i) => i.to_string(),
                Value::Int(i) => i.to_string(),
                Value::BigInt(i) => i.to_string(),
                // A double literal (2.0 alone would be a decimal).
                Value::Double(f) => format!("{f:?}E0"),
                other => panic!("unexpected parameter {other:?}"),
            };
            sql.push_str(&format!("SET {name} = {literal};\n"));
        }
        sql.push_str(&format!("EXECUTE s USING {};", names.join(", ")));
        let got = server
            .run(None, &sql)
            .unwrap_or_else(|e| panic!("{}: {}", compiled.sql(), e.message));
        assert_eq!(got, want, "{}", compiled.sql());
    }
}
