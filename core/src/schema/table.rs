//! `Table`: a named, ordered collection of columns and constraints.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;

use super::{CheckConstraint, Column, ForeignKey, Index, NamingConvention, UniqueConstraint};
use crate::ident::check_identifier;
use crate::schema::column::Autoincrement;
use crate::sql::{ColumnRef, Expr, FromItem};
use crate::{Error, MetaData, Result};

/// The id of the next table built.
static NEXT_TABLE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Debug)]
pub(crate) struct TableData {
    pub(crate) name: String,
    pub(crate) schema: Option<String>,
    pub(crate) columns: IndexMap<String, Column>,
    /// Unique in the process: statement cache keys name the table by it.
    pub(crate) id: u64,
    /// Whether any column has a client-side default / an onupdate.
    pub(crate) has_client_defaults: bool,
    pub(crate) has_onupdates: bool,
    pub(crate) primary_key: Vec<String>,
    pub(crate) primary_key_name: Option<String>,
    pub(crate) foreign_keys: Vec<ForeignKey>,
    pub(crate) uniques: Vec<UniqueConstraint>,
    pub(crate) checks: Vec<CheckConstraint>,
    pub(crate) indexes: Vec<Index>,
    pub(crate) comment: Option<String>,
    pub(crate) autoincrement: Option<String>,
}

/// A database table: cheap to clone (shared), immutable once built.
///
/// ```
/// use strata_core::{Column, MetaData, SqlType, Table};
/// let mut metadata = MetaData::new();
/// let users = Table::build("users")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("name", SqlType::String(Some(50))).not_null())
///     .add_to(&mut metadata)
///     .unwrap();
/// assert_eq!(users.primary_key(), ["id".to_string()]);
/// assert!(users.try_c("nope").is_err());
/// ```
#[derive(Clone)]
pub struct Table(pub(crate) Arc<TableData>);

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Table({})", self.fullname())
    }
}

impl PartialEq for Table {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.name == other.0.name && self.0.schema == other.0.schema)
    }
}

impl Table {
    /// Start building a table called `name`.
    pub fn build(name: impl Into<String>) -> TableBuilder {
        TableBuilder {
            name: name.into(),
            schema: None,
            columns: Vec::new(),
            primary_key: None,
            primary_key_name: None,
            foreign_keys: Vec::new(),
            uniques: Vec::new(),
            checks: Vec::new(),
            indexes: Vec::new(),
            comment: None,
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The table's schema, if any.
    pub fn schema(&self) -> Option<&str> {
        self.0.schema.as_deref()
    }

    /// `schema.name` or `name`.
    pub fn fullname(&self) -> String {
        match &self.0.schema {
            Some(s) => format!("{s}.{}", self.0.name),
            None => self.0.name.clone(),
        }
    }

    /// Whether `other` names the same table: the same name in the same schema (two
    /// definitions built apart, e.g. by two calls of one function, compare equal).
    pub fn same_name(&self, other: &Table) -> bool {
        self.0.name == other.0.name && self.0.schema == other.0.schema
    }

    /// The columns in declaration order.
    pub fn columns(&self) -> impl Iterator<Item = &Column> {
        self.0.columns.values()
    }

    /// The column called `name`, if any.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.0.columns.get(name)
    }

    /// A reference to column `name` for use in expressions.
    ///
    /// An unknown name gives an expression that fails to compile with
    /// [`Error::UnknownColumn`]; use [`Table::try_c`] to get the error at once.
    pub fn c(&self, name: &str) -> Expr {
        self.try_c(name).unwrap_or_else(Expr::Invalid)
    }

    /// A reference to column `name`, or [`Error::UnknownColumn`].
    pub fn try_c(&self, name: &str) -> Result<Expr> {
        match self.0.columns.get_index_of(name) {
            Some(i) => Ok(self.column_ref(i)),
            None => Err(Error::UnknownColumn {
                table: self.fullname(),
                column: name.to_string(),
            }),
        }
    }

    /// A reference to the column at `index` (which exists).
    fn column_ref(&self, index: usize) -> Expr {
        Expr::Column(ColumnRef::of_table(FromItem::Table(self.clone()), index))
    }

    /// The table's process-unique id (tables are immutable once built, so the id
    /// stands for the whole definition).
    pub(crate) fn id(&self) -> u64 {
        self.0.id
    }

    /// Whether any column has a client-side default.
    pub(crate) fn has_client_defaults(&self) -> bool {
        self.0.has_client_defaults
    }

    /// Whether any column has an onupdate.
    pub(crate) fn has_onupdates(&self) -> bool {
        self.0.has_onupdates
    }

    /// Column references for all columns, in order.
    pub fn all_columns(&self) -> Vec<Expr> {
        self.column_refs().collect()
    }

    /// References to all columns, in declaration order.
    pub(crate) fn column_refs(&self) -> impl ExactSizeIterator<Item = Expr> + '_ {
        (0..self.0.columns.len()).map(|i| self.column_ref(i))
    }

    /// The position of the column called `name`, if any.
    pub(crate) fn column_position(&self, name: &str) -> Option<usize> {
        self.0.columns.get_index_of(name)
    }

    /// The column at `index`, if any.
    pub(crate) fn column_at(&self, index: usize) -> Option<&Column> {
        self.0.columns.get_index(index).map(|(_, c)| c)
    }

    /// The primary key column names.
    pub fn primary_key(&self) -> &[String] {
        &self.0.primary_key
    }

    /// The foreign keys.
    pub fn foreign_keys(&self) -> &[ForeignKey] {
        &self.0.foreign_keys
    }

    /// The UNIQUE constraints (including single-column `unique()` columns).
    pub fn unique_constraints(&self) -> &[UniqueConstraint] {
        &self.0.uniques
    }

    /// The CHECK constraints.
    pub fn check_constraints(&self) -> &[CheckConstraint] {
        &self.0.checks
    }

    /// The indexes (including single-column `index()` columns).
    pub fn indexes(&self) -> &[Index] {
        &self.0.indexes
    }

    /// The table comment.
    pub fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }

    /// The column whose value the database generates on INSERT, if any.
    pub fn autoincrement_column(&self) -> Option<&Column> {
        self.0.autoincrement.as_deref().and_then(|n| self.column(n))
    }

    /// An alias of this table (`FROM users AS u`) whose columns are `u.c("name")`.
    pub fn alias(&self, name: impl Into<String>) -> FromItem {
        FromItem::aliased_table(self.clone(), name.into())
    }

    /// `SELECT` all columns of this table.
    pub fn select(&self) -> crate::sql::Select {
        crate::sql::select(self)
    }

    /// `INSERT INTO` this table.
    pub fn insert(&self) -> crate::sql::Insert {
        crate::sql::insert(self)
    }

    /// `UPDATE` this table.
    pub fn update(&self) -> crate::sql::Update {
        crate::sql::update(self)
    }

    /// `DELETE FROM` this table.
    pub fn delete(&self) -> crate::sql::Delete {
        crate::sql::delete(self)
    }
}

/// Builder for a [`Table`]; finish with [`TableBuilder::add_to`] or [`TableBuilder::finish`].
#[derive(Debug, Clone)]
pub struct TableBuilder {
    name: String,
    schema: Option<String>,
    columns: Vec<Column>,
    primary_key: Option<Vec<String>>,
    primary_key_name: Option<String>,
    foreign_keys: Vec<ForeignKey>,
    uniques: Vec<UniqueConstraint>,
    checks: Vec<CheckConstraint>,
    indexes: Vec<Index>,
    comment: Option<String>,
}

impl TableBuilder {
    /// Add a column.
    pub fn column(mut self, c: Column) -> Self {
        self.columns.push(c);
        self
    }

    /// Add several columns.
    pub fn columns(mut self, cs: impl IntoIterator<Item = Column>) -> Self {
        self.columns.extend(cs);
        self
    }

    /// Set the (possibly composite) primary key by column names.
    pub fn primary_key<C>(mut self, columns: C) -> Self
    where
        C: IntoIterator,
        C::Item: Into<String>,
    {
        self.primary_key = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Name the primary key constraint.
    pub fn primary_key_name(mut self, name: impl Into<String>) -> Self {
        self.primary_key_name = Some(name.into());
        self
    }

    /// Add a table-level foreign key.
    pub fn foreign_key(mut self, fk: ForeignKey) -> Self {
        self.foreign_keys.push(fk);
        self
    }

    /// Add a UNIQUE constraint.
    pub fn unique(mut self, u: UniqueConstraint) -> Self {
        self.uniques.push(u);
        self
    }

    /// Add a CHECK constraint.
    pub fn check(mut self, c: CheckConstraint) -> Self {
        self.checks.push(c);
        self
    }

    /// Add an index.
    pub fn index(mut self, i: Index) -> Self {
        self.indexes.push(i);
        self
    }

    /// Put the table in a schema.
    pub fn schema(mut self, s: impl Into<String>) -> Self {
        self.schema = Some(s.into());
        self
    }

    /// Set the table comment.
    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(c.into());
        self
    }

    /// Build the table and add it to `metadata` (which supplies the default schema and
    /// the naming convention). A second table of the same name is an error.
    pub fn add_to(self, metadata: &mut MetaData) -> Result<Table> {
        let schema = self
            .schema
            .clone()
            .or_else(|| metadata.schema().map(String::from));
        let table = self
            .schema_opt(schema)
            .finish_with(metadata.naming_convention())?;
        metadata.add_table(table.clone())?;
        Ok(table)
    }

    /// Build the table without a MetaData, using the default naming convention.
    pub fn finish(self) -> Result<Table> {
        self.finish_with(&NamingConvention::default())
    }

    fn schema_opt(mut self, schema: Option<String>) -> Self {
        self.schema = schema;
        self
    }

    fn finish_with(self, nc: &NamingConvention) -> Result<Table> {
        let TableBuilder {
            name,
            schema,
            columns: cols,
            primary_key,
            primary_key_name,
            mut foreign_keys,
            mut uniques,
            mut checks,
            mut indexes,
            comment,
        } = self;
        check_identifier(&name)?;
        if let Some(s) = &schema {
            check_identifier(s)?;
        }
        let fullname = match &schema {
            Some(s) => format!("{s}.{name}"),
            None => name.clone(),
        };
        if cols.is_empty() {
            return Err(Error::InvalidSchema(format!(
                "table {fullname:?} has no columns"
            )));
        }
        let mut columns: IndexMap<String, Column> = IndexMap::with_capacity(cols.len());
        for c in cols {
            check_identifier(&c.name)?;
            if columns.contains_key(&c.name) {
                return Err(Error::InvalidSchema(format!(
                    "table {fullname:?} has two columns named {:?}",
                    c.name
                )));
            }
            columns.insert(c.name.clone(), c);
        }
        // Primary key: explicit list, or the columns flagged primary_key.
        let primary_key = match primary_key {
            Some(pk) => {
                check_cols(&columns, &fullname, "primary key", &pk)?;
                pk
            }
            None => columns
                .values()
                .filter(|c| c.primary_key)
                .map(|c| c.name.clone())
                .collect(),
        };
        for pk in &primary_key {
            if let Some(c) = columns.get_mut(pk) {
                c.primary_key = true;
                if c.nullable == Some(true) {
                    return Err(Error::InvalidSchema(format!(
                        "primary key column {fullname}.{pk} cannot be nullable"
                    )));
                }
            }
        }
        // Column-level foreign keys, unique flags and index flags become table-level.
        for c in columns.values() {
            if let Some(target) = &c.foreign_key {
                let (table_part, col_part) = target.rsplit_once('.').ok_or_else(|| {
                    Error::InvalidSchema(format!(
                        "foreign key {target:?} on {fullname}.{} must be \"table.column\"",
                        c.name
                    ))
                })?;
                foreign_keys.push(ForeignKey::new([c.name.clone()], table_part, [col_part]));
            }
            if c.unique {
                uniques.push(UniqueConstraint::new([c.name.clone()]));
            }
            if c.index {
                indexes.push(Index::new([c.name.clone()]));
            }
        }
        for fk in &mut foreign_keys {
            check_cols(&columns, &fullname, "foreign key", &fk.columns)?;
            check_identifier(&fk.referred_table)?;
            if fk.columns.len() != fk.referred_columns.len() {
                return Err(Error::InvalidSchema(format!(
                    "foreign key on {fullname:?} has {} columns but refers to {}",
                    fk.columns.len(),
                    fk.referred_columns.len()
                )));
            }
            for rc in &fk.referred_columns {
                check_identifier(rc)?;
            }
            if fk.name.is_none() {
                fk.name = nc.foreign_key.as_deref().map(|t| {
                    NamingConvention::apply(t, &name, &fk.columns, Some(&fk.referred_table), 0)
                });
            }
        }
        for u in &mut uniques {
            check_cols(&columns, &fullname, "unique constraint", &u.columns)?;
            if u.name.is_none() {
                u.name = nc
                    .unique
                    .as_deref()
                    .map(|t| NamingConvention::apply(t, &name, &u.columns, None, 0));
            }
        }
        for (i, ck) in checks.iter_mut().enumerate() {
            if ck.name.is_none() {
                ck.name = nc
                    .check
                    .as_deref()
                    .map(|t| NamingConvention::apply(t, &name, &[], None, i));
            }
        }
        for ix in &mut indexes {
            check_cols(&columns, &fullname, "index", &ix.columns)?;
            if ix.name.is_none() {
                let template = nc
                    .index
                    .as_deref()
                    .unwrap_or("ix_{table_name}_{column_names}");
                ix.name = Some(NamingConvention::apply(
                    template,
                    &name,
                    &ix.columns,
                    None,
                    0,
                ));
            }
        }
        let primary_key_name = primary_key_name.or_else(|| {
            nc.primary_key
                .as_deref()
                .filter(|_| !primary_key.is_empty())
                .map(|t| NamingConvention::apply(t, &name, &primary_key, None, 0))
        });
        let autoincrement = find_autoincrement(&fullname, &columns, &primary_key, &foreign_keys)?;
        Ok(Table(Arc::new(TableData {
            name,
            schema,
            id: NEXT_TABLE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            has_client_defaults: columns.values().any(|c| c.default_value().is_some()),
            has_onupdates: columns.values().any(|c| c.onupdate_value().is_some()),
            columns,
            primary_key,
            primary_key_name,
            foreign_keys,
            uniques,
            checks,
            indexes,
            comment,
            autoincrement,
        })))
    }
}

fn find_autoincrement(
    fullname: &str,
    columns: &IndexMap<String, Column>,
    primary_key: &[String],
    foreign_keys: &[ForeignKey],
) -> Result<Option<String>> {
    for c in columns.values() {
        if c.autoincrement == Autoincrement::Yes
            && (!c.primary_key || !c.sql_type.is_integer() || primary_key.len() != 1)
        {
            return Err(Error::InvalidSchema(format!(
                "autoincrement column {fullname}.{} must be the table's single integer primary key column",
                c.name
            )));
        }
    }
    if primary_key.len() != 1 {
        return Ok(None);
    }
    let c = &columns[&primary_key[0]];
    let in_fk = foreign_keys.iter().any(|fk| fk.columns.contains(&c.name));
    let auto = match c.autoincrement {
        Autoincrement::Yes => true,
        Autoincrement::No => false,
        Autoincrement::Auto => {
            c.sql_type.is_integer() && !in_fk && c.default.is_none() && c.server_default.is_none()
        }
    };
    Ok(auto.then(|| c.name.clone()))
}

fn check_cols(
    columns: &IndexMap<String, Column>,
    fullname: &str,
    what: &str,
    list: &[String],
) -> Result<()> {
    if list.is_empty() {
        return Err(Error::InvalidSchema(format!(
            "{what} on table {fullname:?} names no columns"
        )));
    }
    for c in list {
        if !columns.contains_key(c) {
            return Err(Error::InvalidSchema(format!(
                "{what} on table {fullname:?} names unknown column {c:?}"
            )));
        }
    }
    Ok(())
}
