//! DDL: CREATE/DROP TABLE and INDEX, with strata's own type names per dialect.
//!
//! DDL text is assembled here rather than by sea-query's table builder, which renames
//! SQLite types (`timestamp_text`, ...) and handles autoincrement differently per
//! backend; expressions inside DDL (defaults, CHECK) still go through sea-query.

use super::template::Piece;
use super::{Compilable, Dialect, KeyWriter, Lowered, Lowerer};
use crate::schema::{Column, ReferentialAction};
use crate::{Error, Index, Result, SqlType, Table};

/// `CREATE TABLE`.
///
/// ```
/// use strata_core::{create_table, Column, SqlType, Table};
/// let t = Table::build("t").column(Column::new("id", SqlType::Integer).primary_key()).finish().unwrap();
/// let stmt = create_table(&t).if_not_exists();
/// # let _ = stmt;
/// ```
#[derive(Debug, Clone)]
pub struct CreateTable {
    table: Table,
    if_not_exists: bool,
    with_alter_fks: bool,
}

/// `DROP TABLE`.
#[derive(Debug, Clone)]
pub struct DropTable {
    table: Table,
    if_exists: bool,
}

/// `CREATE INDEX`.
#[derive(Debug, Clone)]
pub struct CreateIndex {
    table: Table,
    index: Index,
    if_not_exists: bool,
}

/// `DROP INDEX`.
#[derive(Debug, Clone)]
pub struct DropIndex {
    table: Table,
    index: Index,
    if_exists: bool,
}

/// `CREATE TABLE table (...)`, with its columns and constraints (indexes are separate).
pub fn create_table(table: &Table) -> CreateTable {
    CreateTable {
        table: table.clone(),
        if_not_exists: false,
        with_alter_fks: true,
    }
}

/// `DROP TABLE table`.
pub fn drop_table(table: &Table) -> DropTable {
    DropTable {
        table: table.clone(),
        if_exists: false,
    }
}

/// `CREATE INDEX` for one of `table`'s indexes.
pub fn create_index(table: &Table, index: &Index) -> CreateIndex {
    CreateIndex {
        table: table.clone(),
        index: index.clone(),
        if_not_exists: false,
    }
}

/// `DROP INDEX` for one of `table`'s indexes.
pub fn drop_index(table: &Table, index: &Index) -> DropIndex {
    DropIndex {
        table: table.clone(),
        index: index.clone(),
        if_exists: false,
    }
}

impl CreateTable {
    /// `CREATE TABLE IF NOT EXISTS`.
    pub fn if_not_exists(mut self) -> Self {
        self.if_not_exists = true;
        self
    }

    /// Leave out foreign keys marked `use_alter` (they are added by ALTER TABLE later).
    pub fn without_use_alter_foreign_keys(mut self) -> Self {
        self.with_alter_fks = false;
        self
    }

    /// Compile for `dialect`.
    pub fn compile(&self, dialect: &dyn Dialect) -> Result<super::CompiledStatement> {
        super::compile(self, dialect)
    }
}

impl DropTable {
    /// `DROP TABLE IF EXISTS`.
    pub fn if_exists(mut self) -> Self {
        self.if_exists = true;
        self
    }

    /// Compile for `dialect`.
    pub fn compile(&self, dialect: &dyn Dialect) -> Result<super::CompiledStatement> {
        super::compile(self, dialect)
    }
}

impl CreateIndex {
    /// `CREATE INDEX IF NOT EXISTS` (an error on dialects without it).
    pub fn if_not_exists(mut self) -> Self {
        self.if_not_exists = true;
        self
    }

    /// Compile for `dialect`.
    pub fn compile(&self, dialect: &dyn Dialect) -> Result<super::CompiledStatement> {
        super::compile(self, dialect)
    }
}

impl DropIndex {
    /// `DROP INDEX IF EXISTS`.
    pub fn if_exists(mut self) -> Self {
        self.if_exists = true;
        self
    }

    /// Compile for `dialect`.
    pub fn compile(&self, dialect: &dyn Dialect) -> Result<super::CompiledStatement> {
        super::compile(self, dialect)
    }
}

pub(crate) fn qualified(d: &dyn Dialect, schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", d.quote_identifier(s), d.quote_identifier(name)),
        None => d.quote_identifier(name),
    }
}

/// Render an expression that `l` lowered, values inline, on a stack with room for its
/// depth (see `depth`); the tree is dropped there too.
fn render_inline(d: &dyn Dialect, l: &Lowerer, e: sea_query::Expr) -> String {
    super::depth::with_render_stack(l.max_depth(), move || d.render_inline_expr(&e))
}

fn column_list(d: &dyn Dialect, cols: &[String]) -> String {
    cols.iter()
        .map(|c| d.quote_identifier(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQL of referential action `a` after `ON DELETE` / `ON UPDATE` (`on`).
fn action(d: &dyn Dialect, on: &str, a: ReferentialAction) -> Result<&'static str> {
    Ok(match a {
        ReferentialAction::Cascade => "CASCADE",
        ReferentialAction::SetNull => "SET NULL",
        ReferentialAction::SetDefault if !d.capabilities().set_default_action => {
            return Err(Error::Unsupported {
                construct: format!("{on} SET DEFAULT on a foreign key"),
                dialect: d.name(),
            })
        }
        ReferentialAction::SetDefault => "SET DEFAULT",
        ReferentialAction::Restrict => "RESTRICT",
        ReferentialAction::NoAction => "NO ACTION",
    })
}

fn constraint_prefix(d: &dyn Dialect, name: Option<&str>) -> String {
    name.map(|n| format!("CONSTRAINT {} ", d.quote_identifier(n)))
        .unwrap_or_default()
}

fn column_ddl(d: &dyn Dialect, table: &Table, c: &Column) -> Result<String> {
    let t = c.sql_type().for_dialect(d.name());
    let is_auto = table
        .autoincrement_column()
        .is_some_and(|a| a.name() == c.name());
    let mut s = d.quote_identifier(c.name());
    s.push(' ');
    let suffix = if is_auto {
        if !t.is_integer() {
            return Err(Error::InvalidSchema(format!(
                "autoincrement needs an integer column, not {t:?}"
            )));
        }
        let a = d.autoincrement_ddl(t)?;
        s.push_str(&a.type_name);
        a.suffix
    } else {
        s.push_str(&d.type_name(t)?);
        String::new()
    };
    if !c.is_nullable() {
        s.push_str(" NOT NULL");
    }
    if let Some(def) = c.server_default_expr() {
        let mut l = Lowerer::ddl(d);
        let e = l.expr(def)?;
        let simple = matches!(e, sea_query::Expr::Value(_) | sea_query::Expr::Keyword(_))
            || matches!(&e, sea_query::Expr::Custom(s) if s.starts_with("CURRENT_"));
        let rendered = render_inline(d, &l, e);
        if simple {
            s.push_str(&format!(" DEFAULT {rendered}"));
        } else {
            s.push_str(&format!(" DEFAULT ({rendered})"));
        }
    }
    if !suffix.is_empty() {
        s.push(' ');
        s.push_str(&suffix);
    }
    Ok(s)
}

/// Refuse names of `t` (its schema, table, columns, constraints and indexes) longer
/// than the dialect takes: PostgreSQL would cut them to 63 bytes without a word, so
/// two long names could become one, and a result column would come back under a
/// name that is not the one asked for.
pub(crate) fn check_name_lengths(d: &dyn Dialect, t: &Table) -> Result<()> {
    let Some(max) = d.capabilities().max_identifier_length else {
        return Ok(());
    };
    let names = t
        .schema()
        .into_iter()
        .chain([t.name()])
        .chain(t.columns().map(|c| c.name()))
        .chain(t.0.primary_key_name.as_deref())
        .chain(
            t.foreign_keys()
                .iter()
                .filter_map(|fk| fk.constraint_name()),
        )
        .chain(
            t.unique_constraints()
                .iter()
                .filter_map(|u| u.name.as_deref()),
        )
        .chain(
            t.check_constraints()
                .iter()
                .filter_map(|c| c.name.as_deref()),
        )
        .chain(t.indexes().iter().map(|ix| ix.index_name()));
    for name in names {
        if name.len() > max {
            return Err(Error::InvalidSchema(format!(
                "the name {name:?} in table {:?} is {} bytes long; {} takes names of at most \
                 {max} bytes",
                t.fullname(),
                name.len(),
                d.name()
            )));
        }
    }
    Ok(())
}

fn create_table_sql(ct: &CreateTable, d: &dyn Dialect) -> Result<String> {
    let t = &ct.table;
    check_name_lengths(d, t)?;
    let mut parts = Vec::new();
    for c in t.columns() {
        parts.push(column_ddl(d, t, c)?);
    }
    if !t.primary_key().is_empty() {
        parts.push(format!(
            "{}PRIMARY KEY ({})",
            constraint_prefix(d, t.0.primary_key_name.as_deref()),
            column_list(d, t.primary_key())
        ));
    }
    for u in t.unique_constraints() {
        parts.push(format!(
            "{}UNIQUE ({})",
            constraint_prefix(d, u.name.as_deref()),
            column_list(d, u.columns())
        ));
    }
    for c in t.columns() {
        if let SqlType::Enum { values, .. } = c.sql_type().for_dialect(d.name()) {
            if !d.capabilities().native_enum {
                let list: Vec<String> = values
                    .iter()
                    .map(|v| format!("'{}'", v.replace('\'', "''")))
                    .collect();
                parts.push(format!(
                    "CHECK ({} IN ({}))",
                    d.quote_identifier(c.name()),
                    list.join(", ")
                ));
            }
        }
    }
    for ck in t.check_constraints() {
        let mut l = Lowerer::ddl(d);
        let e = l.expr(&ck.condition)?;
        parts.push(format!(
            "{}CHECK ({})",
            constraint_prefix(d, ck.name.as_deref()),
            render_inline(d, &l, e)
        ));
    }
    for fk in t.foreign_keys() {
        if fk.is_use_alter() && !ct.with_alter_fks {
            continue;
        }
        parts.push(foreign_key_sql(d, t, fk)?);
    }
    Ok(format!(
        "CREATE TABLE {}{} (\n\t{}\n)",
        if ct.if_not_exists {
            "IF NOT EXISTS "
        } else {
            ""
        },
        qualified(d, t.schema(), t.name()),
        parts.join(",\n\t")
    ))
}

pub(crate) fn foreign_key_sql(
    d: &dyn Dialect,
    t: &Table,
    fk: &crate::ForeignKey,
) -> Result<String> {
    let referred_schema = fk.referred_schema().or(t.schema());
    let referred = if d.capabilities().schemas_are_databases {
        // SQLite's REFERENCES takes a bare table name in the referring table's schema.
        if referred_schema != t.schema() {
            return Err(Error::Unsupported {
                construct: format!(
                    "FOREIGN KEY from {:?} to a table in another schema ({:?})",
                    t.fullname(),
                    referred_schema.unwrap_or("main")
                ),
                dialect: d.name(),
            });
        }
        d.quote_identifier(fk.referred_table())
    } else {
        qualified(d, referred_schema, fk.referred_table())
    };
    let mut s = format!(
        "{}FOREIGN KEY({}) REFERENCES {} ({})",
        constraint_prefix(d, fk.constraint_name()),
        column_list(d, fk.columns()),
        referred,
        column_list(d, fk.referred_columns())
    );
    for (on, a) in [("ON DELETE", fk.on_delete), ("ON UPDATE", fk.on_update)] {
        if let Some(a) = a {
            s.push(' ');
            s.push_str(on);
            s.push(' ');
            s.push_str(action(d, on, a)?);
        }
    }
    Ok(s)
}

fn raw(sql: String) -> Lowered {
    Lowered::Raw(vec![Piece::Sql(sql)])
}

macro_rules! ddl_compilable {
    ($t:ty, $tag:expr, |$s:ident, $d:ident| $body:expr) => {
        impl Compilable for $t {
            fn write_key<'a>(&'a self, k: &mut KeyWriter<'a>) -> Result<()> {
                k.key.extend_from_slice($tag);
                Ok(())
            }
            fn lower(&self, l: &mut Lowerer) -> Result<Lowered> {
                let $s = self;
                let $d = l.dialect();
                $body.map(raw)
            }
            fn cacheable(&self) -> bool {
                false
            }
        }
    };
}

ddl_compilable!(CreateTable, b"DDL:create_table", |s, d| create_table_sql(
    s, d
));
ddl_compilable!(DropTable, b"DDL:drop_table", |s, d| Ok::<_, Error>(
    format!(
        "DROP TABLE {}{}",
        if s.if_exists { "IF EXISTS " } else { "" },
        qualified(d, s.table.schema(), s.table.name())
    )
));
ddl_compilable!(CreateIndex, b"DDL:create_index", |s, d| {
    check_name_lengths(d, &s.table)?;
    if s.if_not_exists && !d.capabilities().create_index_if_not_exists {
        Err(Error::Unsupported {
            construct: "CREATE INDEX IF NOT EXISTS".into(),
            dialect: d.name(),
        })
    } else {
        // SQLite qualifies the index name with the schema and takes a bare table name.
        let (name, table) = if d.capabilities().schemas_are_databases {
            (
                qualified(d, s.table.schema(), s.index.index_name()),
                d.quote_identifier(s.table.name()),
            )
        } else {
            (
                d.quote_identifier(s.index.index_name()),
                qualified(d, s.table.schema(), s.table.name()),
            )
        };
        Ok(format!(
            "CREATE {}INDEX {}{} ON {} ({})",
            if s.index.is_unique() { "UNIQUE " } else { "" },
            if s.if_not_exists {
                "IF NOT EXISTS "
            } else {
                ""
            },
            name,
            table,
            column_list(d, s.index.columns())
        ))
    }
});
ddl_compilable!(DropIndex, b"DDL:drop_index", |s, d| {
    if s.if_exists && d.capabilities().drop_index_on_table {
        // MySQL's `DROP INDEX name ON table` has no IF EXISTS.
        return Err(Error::Unsupported {
            construct: "DROP INDEX IF EXISTS".into(),
            dialect: d.name(),
        });
    }
    let name = match (d.capabilities().drop_index_on_table, s.table.schema()) {
        (false, Some(schema)) => qualified(d, Some(schema), s.index.index_name()),
        _ => d.quote_identifier(s.index.index_name()),
    };
    let on = if d.capabilities().drop_index_on_table {
        format!(" ON {}", qualified(d, s.table.schema(), s.table.name()))
    } else {
        String::new()
    };
    Ok::<_, Error>(format!(
        "DROP INDEX {}{}{}",
        if s.if_exists { "IF EXISTS " } else { "" },
        name,
        on
    ))
});

/// `ALTER TABLE ... ADD` for a foreign key created after its tables (`use_alter`).
pub(crate) fn add_foreign_key_sql(
    d: &dyn Dialect,
    t: &Table,
    fk: &crate::ForeignKey,
) -> Result<String> {
    if !d.capabilities().alter_table_constraints {
        return Err(Error::Unsupported {
            construct: "ALTER TABLE ADD CONSTRAINT".into(),
            dialect: d.name(),
        });
    }
    Ok(format!(
        "ALTER TABLE {} ADD {}",
        qualified(d, t.schema(), t.name()),
        foreign_key_sql(d, t, fk)?
    ))
}

impl crate::MetaData {
    /// The DDL that creates every table and index, in foreign-key order. Foreign keys
    /// marked `use_alter` are added afterwards by ALTER TABLE (inline on SQLite, which
    /// checks foreign keys only when rows are written).
    pub fn create_all_sql(&self, d: &dyn Dialect, if_not_exists: bool) -> Result<Vec<String>> {
        let alter = d.capabilities().alter_table_constraints;
        let mut out = Vec::new();
        let mut alters = Vec::new();
        for t in self.sorted_tables()? {
            let mut ct = create_table(&t);
            if if_not_exists {
                ct = ct.if_not_exists();
            }
            if alter {
                ct = ct.without_use_alter_foreign_keys();
                for fk in t.foreign_keys().iter().filter(|fk| fk.is_use_alter()) {
                    alters.push(add_foreign_key_sql(d, &t, fk)?);
                }
            }
            out.push(ct.compile(d)?.into_parts().0);
            for ix in t.indexes() {
                let mut ci = create_index(&t, ix);
                if if_not_exists && d.capabilities().create_index_if_not_exists {
                    ci = ci.if_not_exists();
                }
                out.push(ci.compile(d)?.into_parts().0);
            }
        }
        out.extend(alters);
        Ok(out)
    }

    /// The DDL that drops every table, dependants first. Foreign keys marked
    /// `use_alter` are dropped first by ALTER TABLE where the dialect needs it.
    pub fn drop_all_sql(&self, d: &dyn Dialect, if_exists: bool) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let tables = self.sorted_tables()?;
        if d.capabilities().alter_table_constraints {
            for t in &tables {
                for fk in t.foreign_keys().iter().filter(|fk| fk.is_use_alter()) {
                    let name = fk.constraint_name().ok_or_else(|| {
                        Error::InvalidSchema(format!(
                            "foreign key of {:?} marked use_alter needs a name to be dropped",
                            t.fullname()
                        ))
                    })?;
                    let kw = if d.capabilities().drop_index_on_table {
                        "FOREIGN KEY"
                    } else {
                        "CONSTRAINT"
                    };
                    out.push(format!(
                        "ALTER TABLE {} DROP {kw} {}",
                        qualified(d, t.schema(), t.name()),
                        d.quote_identifier(name)
                    ));
                }
            }
        }
        for t in tables.iter().rev() {
            let mut dt = drop_table(t);
            if if_exists {
                dt = dt.if_exists();
            }
            out.push(dt.compile(d)?.into_parts().0);
        }
        Ok(out)
    }
}
