//! The PostgreSQL dialect.

use sea_query::{Expr as SeaExpr, PostgresQueryBuilder};
use strata_core::compile::{
    render_inline_with, render_with, AutoincrementDdl, Lowered, TemplateWriter,
};
use strata_core::sql::{text, Text};
use strata_core::{Capabilities, Dialect, Error, Placeholder, Result, SqlType, UpsertStyle, Value};

use crate::{enum_len, quote_with, with_args};

const CAPABILITIES: Capabilities = Capabilities {
    returning: true,
    distinct_on: true,
    for_update: true,
    lock_options: true,
    ilike: true,
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
    schemas_are_databases: false,
    alter_table_constraints: true,
    max_identifier_length: Some(63),
};

/// PostgreSQL: `$n` parameters, `"` quoting, RETURNING, DISTINCT ON, FOR UPDATE.
///
/// ```
/// use strata_core::{select, Column, SqlType, Table};
/// use strata_dialects::PostgresDialect;
/// let t = Table::build("t").column(Column::new("id", SqlType::Integer).primary_key()).finish().unwrap();
/// let c = select(&t).where_(t.c("id").eq(1)).compile(&PostgresDialect).unwrap();
/// assert_eq!(c.sql(), r#"SELECT "t"."id" FROM "t" WHERE "t"."id" = $1"#);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDialect;

impl Dialect for PostgresDialect {
    fn name(&self) -> &'static str {
        "postgresql"
    }

    fn key_tag(&self) -> u8 {
        b'p'
    }

    fn placeholder(&self) -> Placeholder {
        Placeholder::Dollar
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn render(&self, stmt: &Lowered, out: &mut TemplateWriter) {
        render_with(stmt, &PostgresQueryBuilder, out)
    }

    fn render_inline_expr(&self, expr: &SeaExpr) -> String {
        render_inline_with(expr, &PostgresQueryBuilder)
    }

    fn quote_identifier(&self, ident: &str) -> String {
        quote_with(ident, '"')
    }

    fn type_name(&self, t: &SqlType) -> Result<String> {
        Ok(match t {
            SqlType::Integer => "INTEGER".into(),
            SqlType::BigInteger => "BIGINT".into(),
            SqlType::SmallInteger => "SMALLINT".into(),
            SqlType::Float => "REAL".into(),
            SqlType::Double => "DOUBLE PRECISION".into(),
            SqlType::Numeric(ps) => with_args("NUMERIC", ps.map(|(p, s)| format!("{p}, {s}"))),
            SqlType::String(n) => with_args("VARCHAR", n.map(|n| n.to_string())),
            SqlType::Text => "TEXT".into(),
            SqlType::Boolean => "BOOLEAN".into(),
            SqlType::Date => "DATE".into(),
            SqlType::Time => "TIME WITHOUT TIME ZONE".into(),
            SqlType::DateTime | SqlType::Timestamp(false) => "TIMESTAMP WITHOUT TIME ZONE".into(),
            SqlType::Timestamp(true) => "TIMESTAMP WITH TIME ZONE".into(),
            SqlType::LargeBinary => "BYTEA".into(),
            SqlType::Json => "JSON".into(),
            SqlType::Uuid => "UUID".into(),
            SqlType::Enum { values, .. } => format!("VARCHAR({})", enum_len(values)),
            SqlType::Variant { .. } => return self.type_name(t.for_dialect(self.name())),
        })
    }

    fn untyped_literal_cast(&self, v: &Value) -> Option<&'static str> {
        // By kind tag rather than by variant: the optional kinds exist whenever
        // strata-core has the feature, whatever features this crate was built with.
        Some(match v.kind_tag() {
            1 => "BOOLEAN",
            2 => "SMALLINT",
            3 => "INTEGER",
            4 => "BIGINT",
            5 => "REAL",
            6 => "DOUBLE PRECISION",
            8 => "BYTEA",
            9 => "DATE",
            10 => "TIME",
            11 => "TIMESTAMP",
            12 => "TIMESTAMPTZ",
            13 => "UUID",
            14 => "JSONB",
            15 => "NUMERIC",
            _ => return None,
        })
    }

    fn autoincrement_ddl(&self, t: &SqlType) -> Result<AutoincrementDdl> {
        let type_name = match t {
            SqlType::SmallInteger => "SMALLSERIAL",
            SqlType::Integer => "SERIAL",
            SqlType::BigInteger => "BIGSERIAL",
            other => {
                return Err(Error::InvalidSchema(format!(
                    "autoincrement needs an integer column, not {other:?}"
                )))
            }
        };
        Ok(AutoincrementDdl {
            type_name: type_name.into(),
            suffix: String::new(),
        })
    }

    fn has_table_query(&self, schema: Option<&str>, name: &str) -> Text {
        let t = match schema {
            Some(s) => text(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = :schema AND table_name = :name",
            )
            .bind("schema", s),
            None => text(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = :name",
            ),
        };
        t.bind("name", name)
    }
}
