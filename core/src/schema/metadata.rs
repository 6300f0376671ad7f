//! `MetaData`: the collection of tables, in declaration order.

use std::collections::HashSet;

use indexmap::IndexMap;

use super::{NamingConvention, Table};
use crate::{Error, Result};

/// A collection of [`Table`]s with a default schema and a naming convention.
///
/// ```
/// use strata_core::{Column, MetaData, SqlType, Table};
/// let mut md = MetaData::new();
/// Table::build("addresses")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("user_id", SqlType::Integer).foreign_key("users.id"))
///     .add_to(&mut md).unwrap();
/// Table::build("users")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .add_to(&mut md).unwrap();
/// let order: Vec<_> = md.sorted_tables().unwrap().iter().map(|t| t.name().to_string()).collect();
/// assert_eq!(order, ["users", "addresses"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MetaData {
    tables: IndexMap<String, Table>,
    schema: Option<String>,
    naming_convention: NamingConvention,
}

impl MetaData {
    /// An empty MetaData with the default naming convention.
    pub fn new() -> Self {
        MetaData::default()
    }

    /// Set the default schema for tables added without one.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Set the naming convention for unnamed constraints and indexes.
    pub fn with_naming_convention(mut self, nc: NamingConvention) -> Self {
        self.naming_convention = nc;
        self
    }

    /// The default schema.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The naming convention.
    pub fn naming_convention(&self) -> &NamingConvention {
        &self.naming_convention
    }

    /// Add a built table. A table of the same full name is an error.
    pub fn add_table(&mut self, table: Table) -> Result<()> {
        let key = table.fullname();
        if self.tables.contains_key(&key) {
            return Err(Error::InvalidSchema(format!(
                "table {key:?} is already defined in this MetaData"
            )));
        }
        self.tables.insert(key, table);
        Ok(())
    }

    /// The table of this full name (`"name"` or `"schema.name"`).
    pub fn table(&self, fullname: &str) -> Option<&Table> {
        self.tables.get(fullname)
    }

    /// All tables in declaration order.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    /// Whether no table is defined.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Find the table a foreign key of `from` refers to.
    pub fn referred_table(&self, from: &Table, fk: &crate::ForeignKey) -> Option<&Table> {
        let schema = fk.referred_schema().or(from.schema()).or(self.schema());
        let key = match schema {
            Some(s) => format!("{s}.{}", fk.referred_table()),
            None => fk.referred_table().to_string(),
        };
        self.tables
            .get(&key)
            .or_else(|| self.tables.get(fk.referred_table()))
    }

    /// Tables ordered so that every table comes after the tables it refers to.
    ///
    /// Foreign keys marked `use_alter` and self-references are ignored for ordering.
    /// A cycle of other foreign keys is an [`Error::DependencyCycle`] naming its tables;
    /// mark one of its foreign keys `use_alter()` to break it.
    pub fn sorted_tables(&self) -> Result<Vec<Table>> {
        let names: Vec<String> = self.tables.keys().cloned().collect();
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
        for (i, t) in self.tables.values().enumerate() {
            for fk in t.foreign_keys() {
                if fk.is_use_alter() {
                    continue;
                }
                if let Some(target) = self.referred_table(t, fk) {
                    let j = self.tables.get_index_of(&target.fullname()).unwrap_or(i);
                    if j != i && !deps[i].contains(&j) {
                        deps[i].push(j);
                    }
                }
            }
        }
        // Kahn's algorithm, stable with respect to declaration order.
        let mut done = vec![false; names.len()];
        let mut out = Vec::with_capacity(names.len());
        loop {
            let mut progressed = false;
            for i in 0..names.len() {
                if !done[i] && deps[i].iter().all(|&d| done[d]) {
                    done[i] = true;
                    out.push(self.tables[i].clone());
                    progressed = true;
                }
            }
            if out.len() == names.len() {
                return Ok(out);
            }
            if !progressed {
                let stuck: HashSet<usize> = (0..names.len()).filter(|&i| !done[i]).collect();
                // Report only the tables that are part of a cycle, not their dependants.
                let in_cycle: Vec<String> = stuck
                    .iter()
                    .copied()
                    .filter(|&i| reaches(i, i, &deps, &stuck))
                    .map(|i| names[i].clone())
                    .collect();
                let mut in_cycle = if in_cycle.is_empty() {
                    stuck.iter().map(|&i| names[i].clone()).collect()
                } else {
                    in_cycle
                };
                in_cycle.sort();
                return Err(Error::DependencyCycle(in_cycle));
            }
        }
    }
}

fn reaches(from: usize, target: usize, deps: &[Vec<usize>], within: &HashSet<usize>) -> bool {
    let mut seen = HashSet::new();
    let mut stack: Vec<usize> = deps[from].clone();
    while let Some(n) = stack.pop() {
        if n == target {
            return true;
        }
        if within.contains(&n) && seen.insert(n) {
            stack.extend(deps[n].iter().copied());
        }
    }
    false
}
