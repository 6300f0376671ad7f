//! Naming conventions for constraints and indexes, as in SQLAlchemy's MetaData.

/// Templates that name unnamed constraints and indexes.
///
/// Placeholders: `{table_name}`, `{column_0_name}`, `{column_names}` (joined with `_`),
/// `{referred_table_name}`. A `None` template leaves that kind of constraint unnamed
/// (the database names it), except indexes, which always need a name.
///
/// ```
/// use strata_core::NamingConvention;
/// let nc = NamingConvention::default();
/// assert_eq!(nc.index.as_deref(), Some("ix_{table_name}_{column_names}"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NamingConvention {
    /// Index names.
    pub index: Option<String>,
    /// UNIQUE constraint names.
    pub unique: Option<String>,
    /// CHECK constraint names.
    pub check: Option<String>,
    /// FOREIGN KEY constraint names.
    pub foreign_key: Option<String>,
    /// PRIMARY KEY constraint names.
    pub primary_key: Option<String>,
}

impl Default for NamingConvention {
    fn default() -> Self {
        NamingConvention {
            index: Some("ix_{table_name}_{column_names}".into()),
            unique: None,
            check: None,
            foreign_key: None,
            primary_key: None,
        }
    }
}

impl NamingConvention {
    /// The convention recommended by Alembic's documentation: every constraint named.
    pub fn alembic() -> Self {
        NamingConvention {
            index: Some("ix_{table_name}_{column_names}".into()),
            unique: Some("uq_{table_name}_{column_names}".into()),
            check: Some("ck_{table_name}_{constraint_index}".into()),
            foreign_key: Some("fk_{table_name}_{column_0_name}_{referred_table_name}".into()),
            primary_key: Some("pk_{table_name}".into()),
        }
    }

    pub(crate) fn apply(
        template: &str,
        table: &str,
        columns: &[String],
        referred: Option<&str>,
        constraint_index: usize,
    ) -> String {
        template
            .replace("{table_name}", table)
            .replace(
                "{column_0_name}",
                columns.first().map(String::as_str).unwrap_or(""),
            )
            .replace("{column_names}", &columns.join("_"))
            .replace("{referred_table_name}", referred.unwrap_or(""))
            .replace("{constraint_index}", &constraint_index.to_string())
    }
}
