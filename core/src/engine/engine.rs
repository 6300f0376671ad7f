//! `Engine`: a driver, a connection pool and a compiled-statement cache.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::compile::Bound;
use crate::engine::pool::{ConnectFailures, DriverManager, PooledConnection};
use crate::engine::{Connection, Driver};
use crate::{Dialect, Error, Result, StatementCache, Value};

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Print every statement and its parameters, and emit a `tracing` event for it.
    pub echo: bool,
    /// Maximum number of pooled connections.
    pub pool_size: u32,
    /// How long `connect()` waits for a free connection.
    pub pool_timeout: Duration,
    /// How many compiled statements the cache keeps.
    pub cache_size: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            echo: false,
            pool_size: 5,
            pool_timeout: Duration::from_secs(30),
            cache_size: 500,
        }
    }
}

/// The largest `pool_size` an engine accepts.
const MAX_POOL_SIZE: u32 = 10_000;

/// How often a checkout that waits for a connection looks for a failed attempt to
/// open one.
const CONNECT_POLL: Duration = Duration::from_millis(20);

/// The longest delay between the pool's attempts to open a connection after one failed
/// (it retries while a checkout waits, and in the background until one succeeds): a
/// checkout while the server is down fails within it, and one after it came back
/// succeeds within it, without flooding the server with attempts meanwhile.
const CONNECT_RETRY: Duration = Duration::from_secs(1);

type Listener = Arc<dyn Fn(&str, &[&Value]) + Send + Sync>;

struct Inner {
    driver: Arc<dyn Driver>,
    dialect: &'static dyn Dialect,
    pool: r2d2::Pool<DriverManager>,
    /// Failed attempts of the pool to open a connection.
    failures: Arc<ConnectFailures>,
    cache: StatementCache,
    options: EngineOptions,
    statements: AtomicU64,
    has_listeners: AtomicBool,
    listeners: RwLock<Vec<Listener>>,
}

/// The starting point: a connection pool for one database and a statement cache.
/// Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Engine({})", self.0.driver.describe())
    }
}

impl Engine {
    /// An engine over `driver`. No connection is opened until one is needed.
    pub fn new(driver: Arc<dyn Driver>, options: EngineOptions) -> Result<Engine> {
        if options.pool_size == 0 {
            return Err(Error::Pool("pool_size must be at least 1".into()));
        }
        // The pool allocates room for every connection up front, and takes no zero
        // timeout: both would abort or panic instead of giving an error.
        if options.pool_size > MAX_POOL_SIZE {
            return Err(Error::Pool(format!(
                "pool_size must be at most {MAX_POOL_SIZE}, not {}",
                options.pool_size
            )));
        }
        if options.pool_timeout.is_zero() {
            return Err(Error::Pool("pool_timeout must be more than zero".into()));
        }
        let failures = Arc::new(ConnectFailures::default());
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size)
            .min_idle(Some(0))
            // No idle timeout and no maximum lifetime (SQLAlchemy recycles no connection
            // by default either): without them the pool schedules no reaper, whose
            // pending run would keep the pool's three threads alive for up to 30
            // seconds after the engine is dropped (r2d2 issue #99), so that a program
            // making engines one after another piles up threads until it cannot start
            // another.
            .idle_timeout(None)
            .max_lifetime(None)
            // Checkouts give their own timeout; this one caps the delay between the
            // pool's attempts to open a connection after one failed at half of it.
            .connection_timeout(CONNECT_RETRY * 2)
            .test_on_check_out(false)
            .build_unchecked(DriverManager {
                driver: driver.clone(),
                generation: Arc::new(AtomicU64::new(0)),
                failures: failures.clone(),
            });
        Ok(Engine(Arc::new(Inner {
            dialect: driver.dialect(),
            driver,
            pool,
            failures,
            cache: StatementCache::new(options.cache_size),
            options,
            statements: AtomicU64::new(0),
            has_listeners: AtomicBool::new(false),
            listeners: RwLock::new(Vec::new()),
        })))
    }

    /// Check a connection out of the pool.
    ///
    /// Once a connection was found lost (say the server restarted), the connections that
    /// were opened before it are not handed out again: new ones replace them.
    ///
    /// When no connection is open and opening one fails (a wrong address, a server
    /// that is down), that error is returned at once rather than after the pool's
    /// timeout: no connection could come back to the pool in the meantime.
    pub fn connect(&self) -> Result<Connection> {
        let checkout = || {
            let start = Instant::now();
            let timeout = self.0.options.pool_timeout;
            loop {
                let left = timeout.saturating_sub(start.elapsed());
                match self.0.pool.get_timeout(left.min(CONNECT_POLL)) {
                    Ok(c) => return Ok(PooledConnection(c)),
                    Err(e) => {
                        if self.0.pool.state().connections == 0 {
                            if let Some(failed) = self.0.failures.since(start) {
                                return Err(failed);
                            }
                        }
                        if left <= CONNECT_POLL {
                            return Err(Error::Pool(format!(
                                "no connection within {timeout:?}: {e}"
                            )));
                        }
                    }
                }
            }
        };
        let mut raw = checkout()?;
        for _ in 0..self.0.options.pool_size {
            if !raw.is_stale() {
                break;
            }
            raw.mark_broken();
            drop(raw);
            raw = checkout()?;
        }
        Ok(Connection::new(raw, self.clone()))
    }

    /// Run `f` in a transaction that commits when it returns `Ok` and rolls back on `Err`.
    ///
    /// ```no_run
    /// # fn demo(engine: &strata_core::engine::Engine, users: &strata_core::Table) -> strata_core::Result<()> {
    /// engine.begin(|conn| {
    ///     conn.execute(&strata_core::insert(users).value("name", "Anna"))?;
    ///     Ok(())
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn begin<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.connect()?;
        let mut tx = conn.begin()?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The dialect statements are compiled for.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.0.dialect
    }

    /// The compiled-statement cache.
    pub fn cache(&self) -> &StatementCache {
        &self.0.cache
    }

    /// The engine's settings.
    pub fn options(&self) -> &EngineOptions {
        &self.0.options
    }

    /// How many statements (including BEGIN/COMMIT/SAVEPOINT) this engine has sent.
    pub fn statements_executed(&self) -> u64 {
        self.0.statements.load(Ordering::Relaxed)
    }

    /// Call `f` with the SQL and parameters of every statement before it is sent.
    pub fn on_execute(&self, f: impl Fn(&str, &[&Value]) + Send + Sync + 'static) {
        if let Ok(mut l) = self.0.listeners.write() {
            l.push(Arc::new(f));
            self.0.has_listeners.store(true, Ordering::Release);
        }
    }

    /// (connections open, idle) in the pool.
    pub fn pool_status(&self) -> (u32, u32) {
        let s = self.0.pool.state();
        (s.connections, s.idle_connections)
    }

    pub(crate) fn before_execute(&self, sql: &str, params: &Bound<'_>) {
        self.0.statements.fetch_add(1, Ordering::Relaxed);
        let echo = self.0.options.echo;
        let listeners = self.0.has_listeners.load(Ordering::Acquire);
        if !(echo || listeners) {
            return;
        }
        let params = params.to_vec();
        if echo {
            let shown = shown_params(&params);
            println!("[strata] {sql}");
            println!("[strata] {shown}");
            tracing::info!(target: "strata::engine", sql, params = %shown, "execute");
        }
        if listeners {
            if let Ok(l) = self.0.listeners.read() {
                for f in l.iter() {
                    f(sql, &params);
                }
            }
        }
    }
}

/// The most parameters an echoed statement shows.
const ECHO_PARAMS: usize = 10;

/// The most characters of one echoed parameter value.
const ECHO_VALUE: usize = 300;

/// Parameters as echo prints them, like SQLAlchemy's log: the first [`ECHO_PARAMS`],
/// each cut to [`ECHO_VALUE`] characters (a 1000-row INSERT or a large blob would
/// otherwise print megabytes).
fn shown_params(params: &[&Value]) -> String {
    /// Keeps the first `left` characters written to it and counts the rest.
    struct Cut {
        out: String,
        left: usize,
        dropped: usize,
    }
    impl fmt::Write for Cut {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for c in s.chars() {
                if self.left > 0 {
                    self.out.push(c);
                    self.left -= 1;
                } else {
                    self.dropped += 1;
                }
            }
            Ok(())
        }
    }
    let mut out = String::from("[");
    for (i, v) in params.iter().take(ECHO_PARAMS).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let mut cut = Cut {
            out: String::new(),
            left: ECHO_VALUE,
            dropped: 0,
        };
        let _ = write!(cut, "{v:?}");
        out.push_str(&cut.out);
        if cut.dropped > 0 {
            let _ = write!(out, "... ({} characters truncated)", cut.dropped);
        }
    }
    if params.len() > ECHO_PARAMS {
        let _ = write!(
            out,
            ", ... (displaying {ECHO_PARAMS} of {} parameters)",
            params.len()
        );
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_shows_a_few_parameters_each_cut_short() {
        let few = [Value::Int(1), Value::Text("a".into())];
        let few: Vec<&Value> = few.iter().collect();
        assert_eq!(shown_params(&few), r#"[Int(1), Text("a")]"#);
        let many: Vec<Value> = (0..1000).map(Value::Int).collect();
        let many: Vec<&Value> = many.iter().collect();
        let shown = shown_params(&many);
        assert!(shown.starts_with("[Int(0), Int(1), "), "{shown}");
        assert!(
            shown.contains("Int(9), ... (displaying 10 of 1000 parameters)]"),
            "{shown}"
        );
        assert!(!shown.contains("Int(10)"), "{shown}");
        let blob = Value::Bytes(vec![7; 1_000_000]);
        let shown = shown_params(&[&blob]);
        assert!(shown.len() < 400, "{} characters", shown.len());
        assert!(shown.ends_with(" characters truncated)]"), "{shown}");
    }
}
