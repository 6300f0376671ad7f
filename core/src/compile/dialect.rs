//! The `Dialect` trait: what the generic compiler asks of each database.

use std::fmt;

use sea_query::{Expr as SeaExpr, QueryBuilder};

use super::template::TemplateWriter;
use super::Lowered;
use crate::{Result, SqlType};

/// How parameters are written in SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `?` (SQLite, MySQL).
    Question,
    /// `$1`, `$2`, ... (PostgreSQL).
    Dollar,
}

/// How an upsert is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertStyle {
    /// `ON CONFLICT (...) DO NOTHING / DO UPDATE SET ... = excluded.col`.
    OnConflict,
    /// `ON DUPLICATE KEY UPDATE ... = VALUES(col)`.
    OnDuplicateKey,
}

/// What a dialect supports. The compiler returns `Error::Unsupported` for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `RETURNING` on INSERT/UPDATE/DELETE.
    pub returning: bool,
    /// `SELECT DISTINCT ON`.
    pub distinct_on: bool,
    /// `FOR UPDATE` / `FOR SHARE`.
    pub for_update: bool,
    /// `NOWAIT` and `SKIP LOCKED`.
    pub lock_options: bool,
    /// Native `ILIKE` (otherwise `lower(a) LIKE lower(b)`).
    pub ilike: bool,
    /// `RIGHT OUTER JOIN`.
    pub right_join: bool,
    /// `FULL OUTER JOIN`.
    pub full_join: bool,
    /// `INTERSECT` and `EXCEPT`.
    pub intersect_except: bool,
    /// Upsert syntax.
    pub upsert: UpsertStyle,
    /// `IF NOT EXISTS` on CREATE INDEX.
    pub create_index_if_not_exists: bool,
    /// Transactional DDL (PostgreSQL, SQLite).
    pub transactional_ddl: bool,
    /// A native ENUM column type (MySQL); elsewhere enums are strings with a CHECK.
    pub native_enum: bool,
    /// `DROP INDEX name ON table` (MySQL) rather than `DROP INDEX name`.
    pub drop_index_on_table: bool,
    /// `ON DELETE SET DEFAULT` / `ON UPDATE SET DEFAULT` on a foreign key. MySQL's
    /// InnoDB refuses them, and MariaDB's drops them without a word.
    pub set_default_action: bool,
    /// The operator that divides two integers to an integer (truncating toward zero),
    /// where `/` does not (MySQL: `DIV`; its `/` gives a decimal). `None` where `/` of
    /// two integers already is one (SQLite, PostgreSQL).
    pub integer_division: Option<&'static str>,
    /// String concatenation as `CONCAT(a, b)` (MySQL, where `||` means OR) rather than
    /// `a || b`.
    pub concat_function: bool,
    /// `NULLS FIRST` / `NULLS LAST` in ORDER BY; without them (MySQL) a window's
    /// ORDER BY sorts on `x IS NULL` first.
    pub nulls_ordering: bool,
    /// A WITH clause before INSERT; without it (MySQL) an INSERT ... SELECT's CTEs go
    /// on its SELECT, and any other INSERT with CTEs is refused.
    pub with_before_insert: bool,
    /// Foreign keys checked as each row is written, not at the end of the statement
    /// (MySQL's InnoDB): one DELETE of a parent row and its child fails unless the
    /// child's row happens to go first.
    pub row_by_row_foreign_keys: bool,
    /// Schemas are attached databases (SQLite): an index's name is qualified by its
    /// schema and its table's is not, and a table refers only to tables of its own
    /// schema, by their bare names.
    pub schemas_are_databases: bool,
    /// `ALTER TABLE ... ADD CONSTRAINT` / `DROP CONSTRAINT` (not on SQLite), with which
    /// foreign keys marked `use_alter` are added after their tables and dropped before
    /// them.
    pub alter_table_constraints: bool,
    /// The longest name, in bytes, of a table, column, constraint, index or result
    /// label that strata sends, for databases that would cut longer ones short
    /// silently (PostgreSQL: 63); `None` where the database takes them or refuses them
    /// itself (MySQL refuses names over 64 characters).
    pub max_identifier_length: Option<usize>,
}

/// One database's rendering rules. The generic compiler lives in strata-core;
/// everything particular to one database implements this trait in strata-dialects.
pub trait Dialect: Send + Sync + fmt::Debug {
    /// The dialect's name: `"sqlite"`, `"postgresql"` or `"mysql"`.
    fn name(&self) -> &'static str;

    /// A short unique tag used in cache keys.
    fn key_tag(&self) -> u8;

    /// The placeholder style.
    fn placeholder(&self) -> Placeholder;

    /// What the dialect supports.
    fn capabilities(&self) -> &Capabilities;

    /// Render a lowered statement into the template writer with this dialect's
    /// sea-query builder (see [`render_with`]).
    fn render(&self, stmt: &Lowered, out: &mut TemplateWriter);

    /// Render an expression with its values written inline (for DDL).
    fn render_inline_expr(&self, expr: &SeaExpr) -> String;

    /// Quote an identifier (embedded quote characters doubled).
    fn quote_identifier(&self, ident: &str) -> String;

    /// The type name used in CREATE TABLE for `t` (already resolved for this dialect).
    fn type_name(&self, t: &SqlType) -> Result<String>;

    /// The type name used in `CAST(x AS ...)` (by default the CREATE TABLE name).
    fn cast_type_name(&self, t: &SqlType) -> Result<String> {
        self.type_name(t)
    }

    /// The column type and suffix for a generated (autoincrement) primary key column;
    /// `t` is an integer type (the DDL builder checks).
    fn autoincrement_ddl(&self, t: &SqlType) -> Result<AutoincrementDdl>;

    /// Dialect-specific rendering of a function call, or `None` for the generic
    /// `name(args)`.
    fn function(&self, name: &str, args: &[SeaExpr]) -> Option<SeaExpr> {
        let _ = (name, args);
        None
    }

    /// A query returning a row when the table exists (for `create_all` checkfirst).
    fn has_table_query(&self, schema: Option<&str>, name: &str) -> crate::sql::Text;

    /// The type to cast a bound value to where the SQL gives it no type of its own (a
    /// select-list item, a CASE result, a function argument), or `None` to leave it.
    /// PostgreSQL types such parameters as text otherwise.
    fn untyped_literal_cast(&self, v: &crate::Value) -> Option<&'static str> {
        let _ = v;
        None
    }

    /// The LIMIT written when only OFFSET is given, for dialects that need one.
    fn limit_for_offset_only(&self) -> Option<u64> {
        None
    }
}

/// How a dialect declares an autoincrement primary key column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoincrementDdl {
    /// The column type to write (e.g. `SERIAL`, `INTEGER`).
    pub type_name: String,
    /// Text after NOT NULL (e.g. `AUTO_INCREMENT`), possibly empty.
    pub suffix: String,
}

/// Render `stmt` with a concrete sea-query builder into `out`.
pub fn render_with<B: QueryBuilder>(stmt: &Lowered, builder: &B, out: &mut TemplateWriter) {
    use sea_query::QueryStatementBuilder;
    match stmt {
        Lowered::Select(s) => s.build_collect_any_into(builder, out),
        Lowered::Insert(s) => s.build_collect_any_into(builder, out),
        Lowered::Update(s) => s.build_collect_any_into(builder, out),
        Lowered::Delete(s) => s.build_collect_any_into(builder, out),
        Lowered::With(s) => s.build_collect_any_into(builder, out),
        Lowered::Raw(pieces) => out.push_raw(pieces),
    }
}

/// Render an expression with values inline using a concrete builder.
pub fn render_inline_with<B: QueryBuilder>(expr: &SeaExpr, builder: &B) -> String {
    let mut s = String::new();
    builder.prepare_expr(expr, &mut s);
    s
}
