//! `create_engine(url)`: pick the driver for a URL and build an [`Engine`].

use std::sync::Arc;
use std::time::Duration;

use strata_core::engine::{DatabaseUrl, Driver, Engine, EngineOptions};
use strata_core::{Error, Result};
use strata_dialects::{MySqlDriver, PostgresDriver, SqliteDriver};

/// Create an engine for a database URL:
///
/// - `sqlite://` (in memory; every connection of the engine sees the same database),
///   `sqlite:///relative.db`, `sqlite:////absolute/path.db`
/// - `postgresql://user:password@host:port/database?sslmode=disable`
/// - `mysql://user:password@host:port/database` (MySQL or MariaDB; `mariadb://` too)
///
/// URL query options understood by the engine itself: `echo=true`, `pool_size=N`,
/// `pool_timeout=SECONDS`. SQLite database files also take `mode=ro|rw|rwc` and
/// `timeout=SECONDS` (the wait for another connection's lock); PostgreSQL takes
/// `sslmode=disable|prefer|allow`, `connect_timeout`, `application_name` and
/// `options`; MySQL takes `socket=PATH`, `connect_timeout` and `ssl_mode=DISABLED`.
/// An unknown option, a malformed URL or an unknown scheme is an error naming the
/// problem, never showing the password.
///
/// ```
/// use strata::{create_engine, text};
/// let engine = create_engine("sqlite://").unwrap();
/// let mut conn = engine.connect().unwrap();
/// let n: i64 = conn.execute(&text("SELECT 1 + :x").bind("x", 41)).unwrap().scalar_one().unwrap();
/// assert_eq!(n, 42);
/// assert!(create_engine("nosuchdb://x").is_err());
/// ```
pub fn create_engine(url: &str) -> Result<Engine> {
    create_engine_with(url, EngineOptions::default())
}

/// [`create_engine`] with explicit options (URL options override them).
pub fn create_engine_with(url: &str, mut options: EngineOptions) -> Result<Engine> {
    let parsed = DatabaseUrl::parse(url)?;
    let mut rest = Vec::new();
    for (k, v) in &parsed.query {
        match k.as_str() {
            "echo" => options.echo = parse_flag(k, v)?,
            "pool_size" => {
                options.pool_size = v
                    .parse()
                    .map_err(|_| Error::Url(format!("pool_size={v:?} is not a number")))?
            }
            "pool_timeout" => {
                let secs: f64 = v.parse().map_err(|_| {
                    Error::Url(format!("pool_timeout={v:?} is not a number of seconds"))
                })?;
                if !(secs > 0.0 && secs <= 86_400.0) {
                    return Err(Error::Url(format!(
                        "pool_timeout={v} must be more than 0 and at most 86400 seconds"
                    )));
                }
                options.pool_timeout = Duration::from_secs_f64(secs);
            }
            _ => rest.push((k.clone(), v.clone())),
        }
    }
    let driver_url = DatabaseUrl {
        query: rest,
        ..parsed
    };
    let driver: Arc<dyn Driver> = match driver_url.scheme.as_str() {
        "sqlite" => Arc::new(SqliteDriver::from_url(&driver_url)?),
        "postgresql" | "postgres" => Arc::new(PostgresDriver::from_url(&driver_url)?),
        "mysql" | "mariadb" => Arc::new(MySqlDriver::from_url(&driver_url)?),
        other => {
            return Err(Error::Url(format!(
                "unknown database scheme {other:?}: expected sqlite://, postgresql:// or mysql://"
            )))
        }
    };
    Engine::new(driver, options)
}

fn parse_flag(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::Url(format!("{key}={v:?} is not true or false"))),
    }
}
