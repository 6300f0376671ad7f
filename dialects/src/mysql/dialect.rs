//! The MySQL / MariaDB dialect.

use sea_query::{Expr as SeaExpr, Func, Keyword, MysqlQueryBuilder};
use strata_core::compile::{
    render_inline_with, render_with, AutoincrementDdl, Lowered, TemplateWriter,
};
use strata_core::sql::{text, Text};
use strata_core::{Capabilities, Dialect, Error, Placeholder, Result, SqlType, UpsertStyle};

use crate::{quote_with, with_args};

const CAPABILITIES: Capabilities = Capabilities {
    returning: false,
    distinct_on: false,
    for_update: true,
    lock_options: true,
    ilike: false,
    right_join: true,
    full_join: false,
    intersect_except: true,
    upsert: UpsertStyle::OnDuplicateKey,
    create_index_if_not_exists: false,
    transactional_ddl: false,
    native_enum: true,
    drop_index_on_table: true,
    set_default_action: false,
    integer_division: Some(" DIV "),
    concat_function: true,
    nulls_ordering: false,
    with_before_insert: false,
    row_by_row_foreign_keys: true,
    schemas_are_databases: false,
    alter_table_constraints: true,
    max_identifier_length: None,
};

/// MySQL / MariaDB: `?` parameters, backtick quoting, ON DUPLICATE KEY UPDATE, no
/// RETURNING, no DISTINCT ON, no FULL OUTER JOIN, no `ON DELETE SET DEFAULT`.
///
/// The SQL is MySQL 8's. MariaDB (10.11, on which CI checks every golden statement)
/// takes all of it but `CAST(... AS JSON)` and a `WITH` clause before DELETE, which it
/// refuses as syntax errors.
///
/// ```
/// use strata_core::{insert, Column, SqlType, Table};
/// use strata_dialects::MySqlDialect;
/// let t = Table::build("t").column(Column::new("id", SqlType::Integer).primary_key()).finish().unwrap();
/// let err = insert(&t).value("id", 1).returning(t.c("id")).compile(&MySqlDialect).unwrap_err();
/// assert_eq!(err.to_string(), "RETURNING is not supported by the mysql dialect");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MySqlDialect;

impl Dialect for MySqlDialect {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn key_tag(&self) -> u8 {
        b'm'
    }

    fn placeholder(&self) -> Placeholder {
        Placeholder::Question
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn render(&self, stmt: &Lowered, out: &mut TemplateWriter) {
        render_with(stmt, &MysqlQueryBuilder, out)
    }

    fn render_inline_expr(&self, expr: &SeaExpr) -> String {
        render_inline_with(expr, &MysqlQueryBuilder)
    }

    fn quote_identifier(&self, ident: &str) -> String {
        quote_with(ident, '`')
    }

    fn type_name(&self, t: &SqlType) -> Result<String> {
        Ok(match t {
            SqlType::Integer => "INTEGER".into(),
            SqlType::BigInteger => "BIGINT".into(),
            SqlType::SmallInteger => "SMALLINT".into(),
            SqlType::Float => "FLOAT".into(),
            SqlType::Double => "DOUBLE".into(),
            SqlType::Numeric(ps) => with_args("NUMERIC", ps.map(|(p, s)| format!("{p}, {s}"))),
            SqlType::String(Some(n)) => format!("VARCHAR({n})"),
            SqlType::String(None) => {
                return Err(Error::InvalidSchema(
                    "VARCHAR requires a length on the mysql dialect: use String(Some(n)) or Text"
                        .into(),
                ))
            }
            SqlType::Text => "TEXT".into(),
            SqlType::Boolean => "BOOL".into(),
            SqlType::Date => "DATE".into(),
            SqlType::Time => "TIME".into(),
            SqlType::DateTime => "DATETIME".into(),
            SqlType::Timestamp(_) => "TIMESTAMP".into(),
            SqlType::LargeBinary => "BLOB".into(),
            SqlType::Json => "JSON".into(),
            SqlType::Uuid => "CHAR(36)".into(),
            SqlType::Enum { values, .. } => {
                let list: Vec<String> = values
                    .iter()
                    .map(|v| format!("'{}'", v.replace('\'', "''")))
                    .collect();
                format!("ENUM({})", list.join(", "))
            }
            SqlType::Variant { .. } => return self.type_name(t.for_dialect(self.name())),
        })
    }

    fn cast_type_name(&self, t: &SqlType) -> Result<String> {
        Ok(match t {
            SqlType::Integer | SqlType::BigInteger | SqlType::SmallInteger | SqlType::Boolean => {
                "SIGNED".into()
            }
            SqlType::Float => "FLOAT".into(),
            SqlType::Double => "DOUBLE".into(),
            SqlType::Numeric(ps) => with_args("DECIMAL", ps.map(|(p, s)| format!("{p}, {s}"))),
            SqlType::String(n) => with_args("CHAR", n.map(|n| n.to_string())),
            SqlType::Text | SqlType::Enum { .. } => "CHAR".into(),
            SqlType::Date => "DATE".into(),
            SqlType::Time => "TIME".into(),
            SqlType::DateTime | SqlType::Timestamp(_) => "DATETIME".into(),
            SqlType::LargeBinary => "BINARY".into(),
            SqlType::Json => "JSON".into(),
            SqlType::Uuid => "CHAR(36)".into(),
            SqlType::Variant { .. } => return self.cast_type_name(t.for_dialect(self.name())),
        })
    }

    fn autoincrement_ddl(&self, t: &SqlType) -> Result<AutoincrementDdl> {
        Ok(AutoincrementDdl {
            type_name: self.type_name(t)?,
            suffix: "AUTO_INCREMENT".into(),
        })
    }

    fn function(&self, name: &str, args: &[SeaExpr]) -> Option<SeaExpr> {
        match (name, args.len()) {
            // MySQL's LENGTH counts bytes; CHAR_LENGTH counts characters like the others.
            ("length", 1) => Some(Func::char_length(args[0].clone()).into()),
            ("now", 0) => Some(SeaExpr::Keyword(Keyword::CurrentTimestamp)),
            _ => None,
        }
    }

    fn limit_for_offset_only(&self) -> Option<u64> {
        Some(u64::MAX)
    }

    fn has_table_query(&self, schema: Option<&str>, name: &str) -> Text {
        let t = match schema {
            Some(s) => text(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = :schema AND table_name = :name",
            )
            .bind("schema", s),
            None => text(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = :name",
            ),
        };
        t.bind("name", name)
    }
}
