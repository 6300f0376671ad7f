//! The connection pool (r2d2) over any [`Driver`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::engine::{Driver, DriverConnection};
use crate::Error;

pub(crate) struct PoolConn {
    raw: Box<dyn DriverConnection>,
    broken: bool,
    /// The pool generation this connection was opened in.
    generation: u64,
    /// The pool's current generation, shared by all its connections.
    pool_generation: Arc<AtomicU64>,
}

impl PoolConn {
    /// Whether the connection was lost (checked when it is given back to the pool). Then
    /// the server may have gone away or restarted, and every connection opened before
    /// is suspect: the pool's generation moves on, so that those are replaced at checkout
    /// instead of being handed out (SQLAlchemy's pool invalidation on disconnect).
    fn check_lost(&mut self) -> bool {
        if !self.raw.is_broken() {
            return false;
        }
        self.broken = true;
        self.pool_generation
            .fetch_max(self.generation + 1, Ordering::AcqRel);
        true
    }

    /// Opened before a lost connection was seen.
    fn is_stale(&self) -> bool {
        self.generation < self.pool_generation.load(Ordering::Acquire)
    }
}

/// Opens the pool's connections; the generation is moved on when one is found lost.
#[derive(Debug)]
pub(crate) struct DriverManager(pub(crate) Arc<dyn Driver>, pub(crate) Arc<AtomicU64>);

impl r2d2::ManageConnection for DriverManager {
    type Connection = PoolConn;
    type Error = Error;

    fn connect(&self) -> Result<PoolConn, Error> {
        let generation = self.1.load(Ordering::Acquire);
        Ok(PoolConn {
            raw: self.0.connect()?,
            broken: false,
            generation,
            pool_generation: self.1.clone(),
        })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), Error> {
        conn.raw.ping()
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        conn.check_lost()
            || conn.broken
            || conn.is_stale()
            || conn.raw.in_transaction() == Some(true)
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

    /// Whether the connection was opened before a lost connection was seen.
    pub(crate) fn is_stale(&self) -> bool {
        self.0.is_stale()
    }
}
