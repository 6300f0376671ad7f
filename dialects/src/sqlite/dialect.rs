//! The SQLite dialect.

use sea_query::{Expr as SeaExpr, Keyword, SqliteQueryBuilder};
use strata_core::compile::{
    render_inline_with, render_with, AutoincrementDdl, Lowered, TemplateWriter,
};
use strata_core::sql::{text, Text};
use strata_core::{Capabilities, Dialect, Placeholder, Result, SqlType, UpsertStyle};

use crate::{enum_len, quote_with, with_args};

const CAPABILITIES: Capabilities = Capabilities {
    returning: true,
    distinct_on: false,
    for_update: false,
    lock_options: false,
    ilike: false,
    right_join: true,
    full_join: true,
    intersect_except: true,
    upsert: UpsertStyle::OnConflict,
    create_index_if_not_exists: true,
    transactional_ddl: true,
    native_enum: false,
    drop_index_on_table: false,
    set_default_action: true,
    integer_division: None,
    concat_function: false,
    nulls_ordering: true,
    with_before_insert: true,
    row_by_row_foreign_keys: false,
    schemas_are_databases: true,
    alter_table_constraints: false,
    max_identifier_length: None,
};

/// SQLite: `?` parameters, `"` quoting, no FOR UPDATE, no DISTINCT ON.
///
/// ```
/// use strata_core::{select, Column, SqlType, Table};
/// use strata_dialects::SqliteDialect;
/// let t = Table::build("t").column(Column::new("id", SqlType::Integer).primary_key()).finish().unwrap();
/// let c = select(&t).where_(t.c("id").eq(1)).compile(&SqliteDialect).unwrap();
/// assert_eq!(c.sql(), r#"SELECT "t"."id" FROM "t" WHERE "t"."id" = ?"#);
/// assert!(select(&t).for_update().compile(&SqliteDialect).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn key_tag(&self) -> u8 {
        b's'
    }

    fn placeholder(&self) -> Placeholder {
        Placeholder::Question
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn render(&self, stmt: &Lowered, out: &mut TemplateWriter) {
        render_with(stmt, &SqliteQueryBuilder, out)
    }

    fn render_inline_expr(&self, expr: &SeaExpr) -> String {
        render_inline_with(expr, &SqliteQueryBuilder)
    }

    fn quote_identifier(&self, ident: &str) -> String {
        quote_with(ident, '"')
    }

    fn type_name(&self, t: &SqlType) -> Result<String> {
        Ok(match t {
            SqlType::Integer => "INTEGER".into(),
            SqlType::BigInteger => "BIGINT".into(),
            SqlType::SmallInteger => "SMALLINT".into(),
            SqlType::Float => "FLOAT".into(),
            SqlType::Double => "DOUBLE".into(),
            SqlType::Numeric(ps) => with_args("NUMERIC", ps.map(|(p, s)| format!("{p}, {s}"))),
            SqlType::String(n) => with_args("VARCHAR", n.map(|n| n.to_string())),
            SqlType::Text => "TEXT".into(),
            SqlType::Boolean => "BOOLEAN".into(),
            SqlType::Date => "DATE".into(),
            SqlType::Time => "TIME".into(),
            SqlType::DateTime => "DATETIME".into(),
            SqlType::Timestamp(_) => "TIMESTAMP".into(),
            SqlType::LargeBinary => "BLOB".into(),
            SqlType::Json => "JSON".into(),
            SqlType::Uuid => "CHAR(32)".into(),
            SqlType::Enum { values, .. } => format!("VARCHAR({})", enum_len(values)),
            SqlType::Variant { .. } => return self.type_name(t.for_dialect(self.name())),
        })
    }

    fn cast_type_name(&self, t: &SqlType) -> Result<String> {
        // SQLite casts by affinity: date/time and JSON values are text.
        Ok(match t {
            SqlType::Integer | SqlType::BigInteger | SqlType::SmallInteger | SqlType::Boolean => {
                "INTEGER".into()
            }
            SqlType::Float | SqlType::Double => "REAL".into(),
            SqlType::Numeric(_) => "NUMERIC".into(),
            SqlType::LargeBinary => "BLOB".into(),
            SqlType::Variant { .. } => return self.cast_type_name(t.for_dialect(self.name())),
            _ => "TEXT".into(),
        })
    }

    fn autoincrement_ddl(&self, _t: &SqlType) -> Result<AutoincrementDdl> {
        // Only a column declared exactly INTEGER PRIMARY KEY aliases the rowid.
        Ok(AutoincrementDdl {
            type_name: "INTEGER".into(),
            suffix: String::new(),
        })
    }

    fn function(&self, name: &str, args: &[SeaExpr]) -> Option<SeaExpr> {
        match (name, args.len()) {
            ("now", 0) => Some(SeaExpr::Keyword(Keyword::CurrentTimestamp)),
            _ => None,
        }
    }

    fn limit_for_offset_only(&self) -> Option<u64> {
        Some(i64::MAX as u64)
    }

    fn has_table_query(&self, schema: Option<&str>, name: &str) -> Text {
        match schema {
            Some(s) => text(&format!(
                "SELECT name FROM {}.sqlite_master WHERE type = 'table' AND name = :name",
                self.quote_identifier(s)
            )),
            None => text("SELECT name FROM sqlite_master WHERE type = 'table' AND name = :name"),
        }
        .bind("name", name)
    }
}
