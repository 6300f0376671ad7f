//! A throwaway MariaDB server, for tests of the MySQL dialect and driver on a real
//! server.
//!
//! [`require_mariadb`] initializes a data directory in a new temporary directory with
//! the machine's `mariadb-install-db`, starts `mariadbd` on a Unix socket there (no TCP
//! port), and returns a [`MariaDb`] whose drop stops the server and deletes the
//! directory. Without MariaDB binaries it prints a loud skip line and returns `None`;
//! when `CI` is set it panics instead (`.ci/run` installs them).
//!
//! [`fresh_database_url`] gives a test a database of its own on one server that all
//! tests of the process share. That server is stopped, and its directory removed, by
//! a watchdog process when the test process ends, however it ends.
//!
//! ```ignore
//! let Some(server) = mariadb::require_mariadb("my_test") else {
//!     return; // skipped: no MariaDB on this machine (and CI is not set)
//! };
//! assert_eq!(server.run(None, "SELECT 1").unwrap(), "1");
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::pg::{ci_is_set, find_on_path, is_executable, is_root};

/// How long the server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(60);

/// A running throwaway MariaDB server; dropping it stops the server.
pub struct MariaDb {
    dir: PathBuf,
    server: Child,
    client: PathBuf,
}

/// The server all tests of this process share, with the watchdog's stdin (held open
/// while the process lives).
struct Shared {
    server: MariaDb,
    _watchdog: Option<std::process::ChildStdin>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// A `mysql://` URL of a new, empty database on the shared server (started on first
/// use), or `None` (with a skip line) when the machine has no MariaDB and `CI` is not
/// set. Panics when CI is set and there is none, or when the server fails to start.
pub fn fresh_database_url(test_name: &str) -> Option<String> {
    let bins = binaries(test_name)?;
    let shared = SHARED.get_or_init(|| {
        let server = start_one_at_a_time(bins);
        let watchdog = server.watchdog();
        Shared {
            server,
            _watchdog: watchdog,
        }
    });
    let name = format!(
        "strata_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::SeqCst)
    );
    if let Err(e) = shared.server.run(None, &format!("CREATE DATABASE {name};")) {
        panic!("MariaDB test `{test_name}`: cannot create a database: {e:?}");
    }
    Some(shared.server.url(&name))
}

/// An error the server answered a statement with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    /// The server's error number (1064: syntax error), 0 when the client gave none.
    pub code: u32,
    /// The client's whole error output.
    pub message: String,
}

/// The MariaDB binary called `names[0]` (or one of its other names), on `PATH` or in
/// `/usr/sbin` and `/usr/bin`.
fn find_binary(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|name| {
        find_on_path(name).or_else(|| {
            ["/usr/sbin", "/usr/bin"]
                .iter()
                .map(|dir| Path::new(dir).join(name))
                .find(|p| is_executable(p))
        })
    })
}

/// A started server, or `None` (with a skip line) when the machine has no MariaDB and
/// `CI` is not set. Panics when CI is set and there is none, or when it fails to start.
pub fn require_mariadb(test_name: &str) -> Option<MariaDb> {
    binaries(test_name).map(start_one_at_a_time)
}

/// A server started from `(installer, server, client)`; panics when it fails to start.
/// One server starts at a time: two `mariadb-install-db` at once have failed.
fn start_one_at_a_time((install, server, client): (PathBuf, PathBuf, PathBuf)) -> MariaDb {
    static STARTING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = STARTING.lock().unwrap_or_else(|p| p.into_inner());
    MariaDb::start(&install, &server, client).unwrap_or_else(|e| panic!("{e}"))
}

/// The MariaDB binaries (installer, server, client), or `None` with a skip line when
/// there are none and `CI` is not set; panics when CI is set and there are none.
fn binaries(test_name: &str) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let binaries = (
        find_binary(&["mariadb-install-db", "mysql_install_db"]),
        find_binary(&["mariadbd", "mysqld"]),
        find_binary(&["mariadb", "mysql"]),
    );
    let (Some(install), Some(server), Some(client)) = binaries else {
        let reason = "no MariaDB binaries (mariadb-install-db, mariadbd, mariadb) found";
        if ci_is_set() {
            panic!("MariaDB test `{test_name}` cannot run: {reason}. CI is set, so a skip is a failure");
        }
        eprintln!("SKIPPED MariaDB test `{test_name}`: {reason}");
        return None;
    };
    Some((install, server, client))
}

impl MariaDb {
    fn start(install: &Path, server: &Path, client: PathBuf) -> Result<MariaDb, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("strata-mariadb-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {dir:?}: {e}"))?;
        let data = dir.join("data");
        // mariadbd refuses to run as root unless told to.
        let user: &[&str] = if is_root() { &["--user=root"] } else { &[] };
        let out = Command::new(install)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .args(user)
            .output()
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&dir);
                format!("running {install:?}: {e}")
            })?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(format!(
                "{install:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let log = dir.join("server.log");
        let server = Command::new(server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .arg(format!("--log-error={}", log.display()))
            .args([
                "--skip-networking",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
                "--innodb-flush-log-at-trx-commit=0",
            ])
            .args(user)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&dir);
                format!("starting {server:?}: {e}")
            })?;
        let mut db = MariaDb {
            dir,
            server,
            client,
        };
        let started = Instant::now();
        loop {
            if db.run(None, "SELECT 1").is_ok() {
                return Ok(db);
            }
            let exited = db.server.try_wait().ok().flatten();
            if exited.is_some() || started.elapsed() > STARTUP {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
                return Err(format!(
                    "MariaDB did not start ({}): last lines of its log, newest first:\n{tail}",
                    exited.map_or("timed out".to_string(), |s| s.to_string())
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A `mysql://` URL of `database` on this server, as root over its Unix socket.
    pub fn url(&self, database: &str) -> String {
        format!(
            "mysql://root@localhost/{database}?socket={}",
            self.dir.join("sock").display()
        )
    }

    /// A process that stops this server and removes its directory once the returned
    /// pipe closes, which the kernel does when this process ends, however it ends.
    fn watchdog(&self) -> Option<std::process::ChildStdin> {
        let script = format!(
            "cat >/dev/null; kill -TERM {pid} 2>/dev/null; i=0; \
             while kill -0 {pid} 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; \
             kill -KILL {pid} 2>/dev/null; rm -rf '{dir}'",
            pid = self.server.id(),
            dir = self.dir.display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        child.stdin.take()
    }

    /// Run `sql` (one or more statements, each ending in `;`) as root, in `database`
    /// when given, stopping at the first error. Returns the client's output (tab
    /// separated, no column names) or the server's error.
    pub fn run(&self, database: Option<&str>, sql: &str) -> Result<String, SqlError> {
        let mut cmd = Command::new(&self.client);
        cmd.arg("--no-defaults")
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .args(["--user=root", "--batch", "--skip-column-names"]);
        if let Some(db) = database {
            cmd.arg(format!("--database={db}"));
        }
        let failed = |message: String| SqlError { code: 0, message };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(format!("running {:?}: {e}", self.client)))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let written = stdin.write_all(sql.as_bytes());
        drop(stdin);
        let out = child
            .wait_with_output()
            .map_err(|e| failed(format!("waiting for {:?}: {e}", self.client)))?;
        written.map_err(|e| failed(format!("writing to {:?}: {e}", self.client)))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string());
        }
        // "ERROR 1064 (42000) at line 1: You have an error in your SQL syntax; ...",
        // after the statement between lines of dashes.
        let message = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
        let code = message
            .lines()
            .find_map(|l| l.strip_prefix("ERROR "))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        Err(SqlError { code, message })
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        // SIGTERM is mariadbd's clean shutdown; SIGKILL after 30 s.
        // SAFETY: kill has no memory preconditions; the pid is our own child's.
        unsafe {
            libc::kill(self.server.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.server.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.server.kill();
                let _ = self.server.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
