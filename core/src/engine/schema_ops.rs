//! `MetaData::create_all` / `drop_all` against an engine.

use crate::engine::{Connection, Engine};
use crate::{MetaData, Result, Table};

/// Run `f` in a transaction where the dialect has transactional DDL.
fn ddl_transaction(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<()>,
) -> Result<()> {
    if conn.dialect().capabilities().transactional_ddl {
        let mut tx = conn.begin()?;
        f(&mut tx)?;
        tx.commit()
    } else {
        f(conn)
    }
}

impl MetaData {
    /// Create every table and index that does not exist yet, in foreign-key order, in
    /// one transaction where the database has transactional DDL.
    pub fn create_all(&self, engine: &Engine) -> Result<()> {
        self.create_all_with(engine, true)
    }

    /// `create_all`; with `checkfirst` false, every CREATE is sent (and fails if a
    /// table exists).
    pub fn create_all_with(&self, engine: &Engine, checkfirst: bool) -> Result<()> {
        let mut conn = engine.connect()?;
        ddl_transaction(&mut conn, |c| {
            let mut missing = MetaData::new();
            for t in self.sorted_tables()? {
                crate::compile::check_name_lengths(c.dialect(), &t)?;
                if !checkfirst || !has_table(c, &t)? {
                    missing.add_table(t)?;
                }
            }
            for sql in missing.create_all_sql(c.dialect(), false)? {
                c.exec_driver_sql(&sql, &[])?;
            }
            Ok(())
        })
    }

    /// Drop every table that exists, dependants first.
    pub fn drop_all(&self, engine: &Engine) -> Result<()> {
        self.drop_all_with(engine, true)
    }

    /// `drop_all`; with `checkfirst` false, every DROP is sent.
    pub fn drop_all_with(&self, engine: &Engine, checkfirst: bool) -> Result<()> {
        let mut conn = engine.connect()?;
        ddl_transaction(&mut conn, |c| {
            let mut present = MetaData::new();
            for t in self.sorted_tables()? {
                crate::compile::check_name_lengths(c.dialect(), &t)?;
                if !checkfirst || has_table(c, &t)? {
                    present.add_table(t)?;
                }
            }
            for sql in present.drop_all_sql(c.dialect(), false)? {
                c.exec_driver_sql(&sql, &[])?;
            }
            Ok(())
        })
    }
}

/// Whether `table` exists in the connected database.
pub fn has_table(conn: &mut Connection, table: &Table) -> Result<bool> {
    let q = conn.dialect().has_table_query(table.schema(), table.name());
    Ok(conn.execute(&q)?.first()?.is_some())
}
