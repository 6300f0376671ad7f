//! The connection pool (r2d2) over any [`Driver`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

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

/// The pool's latest failed attempt to open a connection, cleared by a successful one.
#[derive(Debug, Default)]
pub(crate) struct ConnectFailures(Mutex<Option<(Instant, Error)>>);

impl ConnectFailures {
    fn record<T>(&self, opened: &Result<T, Error>) {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *last = opened.as_ref().err().map(|e| (Instant::now(), e.clone()));
    }

    /// The error of an attempt that failed after `start`, unless one succeeded since.
    pub(crate) fn since(&self, start: Instant) -> Option<Error> {
        let last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        last.as_ref()
            .filter(|(at, _)| *at >= start)
            .map(|(_, e)| e.clone())
    }
}

/// Opens the pool's connections; the generation is moved on when one is found lost.
#[derive(Debug)]
pub(crate) struct DriverManager {
    pub(crate) driver: Arc<dyn Driver>,
    pub(crate) generation: Arc<AtomicU64>,
    pub(crate) failures: Arc<ConnectFailures>,
}

impl r2d2::ManageConnection for DriverManager {
    type Connection = PoolConn;
    type Error = Error;

    fn connect(&self) -> Result<PoolConn, Error> {
        let generation = self.generation.load(Ordering::Acquire);
        let raw = self.driver.connect();
        self.failures.record(&raw);
        Ok(PoolConn {
            raw: raw?,
            broken: false,
            generation,
            pool_generation: self.generation.clone(),
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
