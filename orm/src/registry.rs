//! `Registry`: every mapped model, one MetaData, and the type map.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

use strata_core::{MetaData, SqlType, Table};

use crate::loading::rel_info;
use crate::model::{build_table_with, column_defs, ColumnDef, Model};
use crate::relationship::RelationshipDef;
use crate::{Error, InfoRef, Result};

/// Maps Rust types, and annotation names, to SQL types (SQLAlchemy's
/// `type_annotation_map`).
///
/// ```
/// use strata_orm::TypeMap;
/// use strata_core::SqlType;
/// let map = TypeMap::new()
///     .rust::<String>(SqlType::Text.with_variant(SqlType::String(Some(255)), "mysql"))
///     .annotation("bigint", SqlType::BigInteger);
/// assert_eq!(map.annotation_type("bigint"), Some(&SqlType::BigInteger));
/// ```
#[derive(Debug, Clone, Default)]
pub struct TypeMap {
    by_type: HashMap<TypeId, SqlType>,
    by_annotation: HashMap<String, SqlType>,
}

impl TypeMap {
    /// An empty map: every field gets its type's default SQL type.
    pub fn new() -> Self {
        TypeMap::default()
    }

    /// Map the Rust type `T` (and `Option<T>`) to `sql_type`.
    pub fn rust<T: 'static>(mut self, sql_type: SqlType) -> Self {
        self.by_type.insert(TypeId::of::<T>(), sql_type.clone());
        self.by_type.insert(TypeId::of::<Option<T>>(), sql_type);
        self
    }

    /// Map fields marked `#[column(annotation = "name")]` to `sql_type`.
    pub fn annotation(mut self, name: &str, sql_type: SqlType) -> Self {
        self.by_annotation.insert(name.to_string(), sql_type);
        self
    }

    /// The SQL type for a Rust type, if mapped.
    pub fn rust_type(&self, id: TypeId) -> Option<&SqlType> {
        self.by_type.get(&id)
    }

    /// The SQL type for an annotation name, if mapped.
    pub fn annotation_type(&self, name: &str) -> Option<&SqlType> {
        self.by_annotation.get(name)
    }
}

/// What the registry knows about one mapped model (SQLAlchemy's `Mapper`).
#[derive(Debug, Clone)]
pub struct Mapper {
    /// The model's Rust type name.
    pub type_name: &'static str,
    /// The model's `TypeId`.
    pub type_id: TypeId,
    /// The table in the registry's MetaData.
    pub table: Table,
    /// The column definitions, in field order.
    pub columns: Vec<ColumnDef>,
    /// Positions (in `columns`) of the primary key columns.
    pub primary_key: Vec<usize>,
    /// The relationships.
    pub relationships: Vec<RelationshipDef>,
    /// The model's runtime information, to resolve its relationships.
    info: InfoRef,
}

impl Mapper {
    /// The primary key column names.
    pub fn primary_key_names(&self) -> Vec<&'static str> {
        self.primary_key
            .iter()
            .map(|&i| self.columns[i].name)
            .collect()
    }

    /// The column names in field order.
    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }
}

/// The collection of mapped models, their MetaData and the type map.
///
/// Mapping errors (no primary key, a foreign key or relationship to an unknown table,
/// a bad type) are reported by [`Registry::map`] and [`Registry::configure`], not at
/// first use.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    metadata: MetaData,
    type_map: TypeMap,
    mappers: Vec<Arc<Mapper>>,
}

impl Registry {
    /// An empty registry with a default MetaData.
    pub fn new() -> Self {
        Registry::default()
    }

    /// A registry whose tables go into `metadata` (e.g. one with a schema or naming
    /// convention).
    pub fn with_metadata(metadata: MetaData) -> Self {
        Registry {
            metadata,
            ..Registry::default()
        }
    }

    /// Use `map` to choose SQL types for the models mapped after this call.
    pub fn type_map(mut self, map: TypeMap) -> Self {
        self.type_map = map;
        self
    }

    /// Map model `M`: build its table (with the type map) into the MetaData.
    pub fn map<M: Model>(mut self) -> Result<Self> {
        let type_name = std::any::type_name::<M>();
        let mapping = |message: String| Error::Mapping {
            model: type_name.to_string(),
            message,
        };
        if self.mappers.iter().any(|m| m.type_id == TypeId::of::<M>()) {
            return Err(mapping("is mapped twice".into()));
        }
        if let Some(ms) = self.metadata.schema() {
            if M::SCHEMA != Some(ms) {
                return Err(mapping(format!(
                    "the registry's MetaData puts tables in schema {ms:?} but the model's statements would not \
                     use it; declare #[model(schema = \"{ms}\")] on the model"
                )));
            }
        }
        let columns = column_defs::<M>();
        let primary_key: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.primary_key)
            .map(|(i, _)| i)
            .collect();
        if primary_key.is_empty() {
            return Err(mapping(format!(
                "table {:?} has no primary key: mark a field #[column(primary_key)]",
                M::TABLE
            )));
        }
        if columns.iter().filter(|c| c.version).count() > 1 {
            return Err(mapping("more than one version column".into()));
        }
        let table = build_table_with::<M>(Some(&self.type_map), &columns)
            .map_err(|e| mapping(e.to_string()))?;
        self.metadata
            .add_table(table.clone())
            .map_err(|e| mapping(e.to_string()))?;
        self.mappers.push(Arc::new(Mapper {
            type_name,
            type_id: TypeId::of::<M>(),
            table,
            columns,
            primary_key,
            relationships: M::relationships(),
            info: InfoRef::of::<M>(),
        }));
        Ok(self)
    }

    /// Check the whole mapping: every foreign key names a mapped table and column, and
    /// every relationship targets a mapped model, has a join its foreign keys decide,
    /// a `back_populates` the target has, and cascades its direction allows. Call after
    /// mapping all models ([`Registry::map`] cannot know what comes later).
    pub fn configure(self) -> Result<Self> {
        for m in &self.mappers {
            let model = || m.type_name.to_string();
            for fk in m.table.foreign_keys() {
                let target =
                    self.metadata
                        .referred_table(&m.table, fk)
                        .ok_or_else(|| Error::Mapping {
                            model: model(),
                            message: format!(
                                "foreign key to unknown table {:?}",
                                fk.referred_table()
                            ),
                        })?;
                for c in fk.referred_columns() {
                    if target.column(c).is_none() {
                        return Err(Error::Mapping {
                            model: model(),
                            message: format!("foreign key to unknown column {}.{c}", target.name()),
                        });
                    }
                }
            }
            for r in &m.relationships {
                if !self.mappers.iter().any(|t| (r.target_type)() == t.type_id) {
                    return Err(Error::Mapping {
                        model: model(),
                        message: format!(
                            "relationship {:?} targets {}, which is not mapped",
                            r.name, r.target_name
                        ),
                    });
                }
            }
        }
        // Every relationship's join, back-population and cascades, resolved now rather
        // than at first use.
        for m in &self.mappers {
            let info = (m.info.0)()?;
            for index in 0..m.relationships.len() {
                rel_info(info, index)?;
            }
        }
        self.metadata.sorted_tables().map_err(|e| Error::Mapping {
            model: "registry".into(),
            message: e.to_string(),
        })?;
        Ok(self)
    }

    /// The MetaData holding every mapped table.
    pub fn metadata(&self) -> &MetaData {
        &self.metadata
    }

    /// Every mapper, in mapping order.
    pub fn mappers(&self) -> impl Iterator<Item = &Mapper> {
        self.mappers.iter().map(|m| m.as_ref())
    }

    /// The mapper of `M`, if mapped (SQLAlchemy's `inspect(User)`).
    pub fn inspect<M: Model>(&self) -> Option<&Mapper> {
        self.mappers
            .iter()
            .find(|m| m.type_id == TypeId::of::<M>())
            .map(|m| m.as_ref())
    }

    /// The type map.
    pub fn types(&self) -> &TypeMap {
        &self.type_map
    }
}
