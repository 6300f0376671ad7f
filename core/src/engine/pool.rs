//! The connection pool (r2d2) over any [`Driver`].

use std::sync::Arc;

use crate::engine::{Driver, DriverConnection};
use crate::Error;

pub(crate) struct PoolConn {
    raw: Box<dyn DriverConnection>,
    broken: bool,
}

#[derive(Debug)]
pub(crate) struct DriverManager(pub(crate) Arc<dyn Driver>);

impl r2d2::ManageConnection for DriverManager {
    type Connection = PoolConn;
    type Error = Error;

    fn connect(&self) -> Result<PoolConn, Error> {
        Ok(PoolConn {
            raw: self.0.connect()?,
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), Error> {
        conn.raw.ping()
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        conn.broken || conn.raw.is_broken() || conn.raw.in_transaction() == Some(true)
    }
}

/// A connection checked out of the pool.
pub(crate) struct PooledConnection(pub(crate) r2d2::PooledConnection<DriverManager>);

impl PooledConnection {
    pub(crate) fn get_mut(&mut self) -> &mut dyn DriverConnection {
        self.0.raw.as_mut()
    }

    /// Do not return this connection to the pool.
    pub(crate) fn mark_broken(&mut self) {
        self.0.broken = true;
    }
}
