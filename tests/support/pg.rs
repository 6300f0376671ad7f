//! A PostgreSQL server for integration tests (see DESIGN.md, "Testing").
//!
//! * If `STRATA_TEST_PG_URL` is set, tests use that server.
//! * Otherwise the first caller in a test process starts a throwaway cluster from the
//!   machine's PostgreSQL binaries (`initdb`, `pg_ctl`; found in `STRATA_TEST_PG_BINDIR`
//!   if set, else on `PATH`, else in `/usr/lib/postgresql/<newest>/bin`) in a fresh
//!   temporary directory, listening only on 127.0.0.1 on a free port, with fsync off.
//!   All tests of the process share it; it is stopped (`pg_ctl stop -m immediate`) and
//!   its directory removed when the process exits. A watchdog process does the same if
//!   the test process is killed before it can run its exit hook.
//! * When running as root, `initdb` and `postgres` run as the `postgres` system user,
//!   which owns the temporary directory.
//! * Without PostgreSQL binaries the `require_*` functions print a loud `SKIPPED:` line
//!   and return `None`; when `CI` is set they panic instead.
//! * Every test that gets a server is counted ([`tests_run`]) and, if
//!   `STRATA_PG_TEST_LOG` names a file, appended to it as one line
//!   (`<test binary>\t<test name>`); `.ci/count-pg-tests` counts those lines.
//!
//! No Rust database driver is needed: databases are created with the server's `psql`.
//!
//! ```ignore
//! #[allow(dead_code)]
//! mod support;
//! use support::pg;
//!
//! #[test]
//! fn inserts_rows() {
//!     let Some(url) = pg::require_fresh_database("inserts_rows") else {
//!         return; // skipped: no PostgreSQL on this machine (and CI is not set)
//!     };
//!     assert_eq!(pg::psql(&url, "SELECT 1").unwrap(), "1");
//! }
//! ```

use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Connection URL of an existing server to use instead of a throwaway cluster.
pub const URL_ENV: &str = "STRATA_TEST_PG_URL";
/// File that gets one line per PostgreSQL test that ran.
pub const LOG_ENV: &str = "STRATA_PG_TEST_LOG";
/// Directory holding `initdb` and `pg_ctl`; when set, no other place is searched.
pub const BINDIR_ENV: &str = "STRATA_TEST_PG_BINDIR";

/// Database user of the throwaway cluster (its superuser, trust authentication).
const SUPERUSER: &str = "postgres";
/// System user that runs the cluster when the tests run as root.
const SYSTEM_USER: &str = "postgres";
/// How many free ports to try when the chosen one is taken before the server binds it.
const START_ATTEMPTS: usize = 5;

/// The URL of the server's maintenance database (`postgres` for the throwaway cluster,
/// or `STRATA_TEST_PG_URL`), starting the throwaway cluster on first use.
///
/// `Err` explains why no server is available (no binaries, or startup failed). This
/// neither counts the test nor applies the skip/CI policy; see [`require_postgres`].
pub fn postgres_url() -> Result<String, String> {
    match server() {
        Ok(server) => Ok(server.admin_url.clone()),
        Err(unavailable) => Err(unavailable.message().to_string()),
    }
}

/// The URL of a new, empty database (`CREATE DATABASE` with a unique name) on the
/// shared server, so tests do not see each other's tables.
///
/// Databases on the throwaway cluster vanish with it; databases created on a
/// `STRATA_TEST_PG_URL` server are dropped when the test process exits.
pub fn fresh_database() -> Result<String, String> {
    let server = server().map_err(|u| u.message().to_string())?;
    let name = unique_database_name();
    server.psql(
        &server.admin_url,
        &format!("CREATE DATABASE {}", quote_ident(&name)),
    )?;
    if server.cluster.is_none() {
        lock(&CREATED_DATABASES).push(name.clone());
        register_exit_hook();
    }
    Ok(with_database(&server.admin_url, &name))
}

/// Entry point for a PostgreSQL test: the maintenance database URL, or `None` when
/// the test must be skipped.
///
/// * Server available: counts the test (see [`tests_run`], `STRATA_PG_TEST_LOG`).
/// * No PostgreSQL binaries: prints `SKIPPED: PostgreSQL test ...` to stderr (not
///   captured by the test harness) and returns `None`; panics instead when `CI` is set.
/// * Binaries present but the cluster does not start: panics with the server log tail.
pub fn require_postgres(test_name: &str) -> Option<String> {
    let server = require_server(test_name)?;
    Some(server.admin_url.clone())
}

/// Like [`require_postgres`], but returns the URL of a [`fresh_database`].
/// Panics if the database cannot be created.
pub fn require_fresh_database(test_name: &str) -> Option<String> {
    require_server(test_name)?;
    match fresh_database() {
        Ok(url) => Some(url),
        Err(e) => panic!("PostgreSQL test `{test_name}`: cannot create a fresh database: {e}"),
    }
}

/// Runs `sql` with the server's `psql` against `url` (unaligned, tuples only,
/// stopping at the first error) and returns its stdout without the final newline.
pub fn psql(url: &str, sql: &str) -> Result<String, String> {
    let server = server().map_err(|u| u.message().to_string())?;
    server.psql(url, sql)
}

/// How many tests of this process got a server from `require_postgres` or
/// `require_fresh_database`.
pub fn tests_run() -> usize {
    TESTS_RUN.load(Ordering::SeqCst)
}

/// The temporary directory of the throwaway cluster (holding `data/` and
/// `server.log`), or `None` when the tests use `STRATA_TEST_PG_URL` or no server.
pub fn cluster_dir() -> Option<PathBuf> {
    let cluster = server().ok()?.cluster.as_ref()?;
    Some(cluster.dir.clone())
}

/// How long starting the throwaway cluster took (`initdb` + `pg_ctl start`).
pub fn startup_time() -> Option<Duration> {
    Some(server().ok()?.cluster.as_ref()?.startup)
}

/// A throwaway cluster of a test's own, which the test may stop and start again (for
/// tests of a server going away). The shared cluster of [`require_postgres`] is never
/// stopped by a test; this one is, on the same port and data directory each time.
///
/// It is set up like the shared throwaway cluster (same binaries and options, `postgres`
/// system user when root, watchdog) and removed when dropped, except that its commits
/// are durable: committed rows survive `stop()`, which kills the server (see
/// `server_options`). It does not use `STRATA_TEST_PG_URL`: stopping a server needs a
/// cluster of one's own.
pub struct DedicatedCluster {
    cluster: Cluster,
    port: u16,
    running: bool,
}

/// Entry point for a test that needs a [`DedicatedCluster`]: `None` when the test must
/// be skipped (no PostgreSQL binaries and `CI` not set), with the same counting, skip
/// line and CI policy as [`require_postgres`]. Panics when the binaries are present but
/// the cluster does not start.
pub fn require_dedicated_cluster(test_name: &str) -> Option<DedicatedCluster> {
    let bins = match find_binaries() {
        Ok(bins) => bins,
        Err(reason) => {
            if ci_is_set() {
                panic!(
                    "PostgreSQL test `{test_name}` cannot run: {reason}. CI is set, so a \
                     missing PostgreSQL is a failure: install the PostgreSQL server binaries."
                );
            }
            stderr_line(&format!(
                "SKIPPED: PostgreSQL test `{test_name}`: {reason} (it needs its own \
                 cluster: install the PostgreSQL server binaries)"
            ));
            return None;
        }
    };
    let run_as = if is_root() {
        Some(lookup_user(SYSTEM_USER).unwrap_or_else(|| {
            panic!(
                "PostgreSQL test `{test_name}`: running as root, but there is no \
                 `{SYSTEM_USER}` system user to run initdb and postgres as"
            )
        }))
    } else {
        None
    };
    let (cluster, port) = Cluster::start(&bins, run_as, true).unwrap_or_else(|e| {
        panic!("PostgreSQL test `{test_name}`: cannot start its own cluster: {e}")
    });
    record_test(test_name);
    Some(DedicatedCluster {
        cluster,
        port,
        running: true,
    })
}

impl DedicatedCluster {
    /// The URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgresql://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The port the server listens on (the same after every [`DedicatedCluster::start`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the server is running.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Stop the server at once (`pg_ctl stop -m immediate`): open connections are cut
    /// and nothing is shut down cleanly, like a crash.
    pub fn stop(&mut self) {
        self.cluster.stop_server();
        if let Some(pid) = self.cluster.postmaster.take() {
            reap(pid);
        }
        self.running = false;
    }

    /// Start the server again, on the same port and data directory.
    pub fn start(&mut self) -> Result<(), String> {
        if self.running {
            return Ok(());
        }
        let log = self.cluster.dir.join("server.log");
        let subreaper = set_child_subreaper(true);
        let out = cluster_command(&self.cluster.pg_ctl, self.cluster.run_as, &self.cluster.dir)
            .arg("-D")
            .arg(&self.cluster.data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "30", "-o"])
            .arg(server_options(&self.cluster.dir, self.port, true))
            .arg("start")
            .output();
        if subreaper {
            set_child_subreaper(false);
        }
        let out = out.map_err(|e| format!("cannot run {}: {e}", self.cluster.pg_ctl.display()))?;
        if !out.status.success() {
            self.cluster.stop_server(); // in case it is half up
            return Err(format!(
                "{} start failed ({}) on port {}:\n{}\n--- tail of {} ---\n{}",
                self.cluster.pg_ctl.display(),
                out.status,
                self.port,
                output_text(&out),
                log.display(),
                log_tail(&log, 30)
            ));
        }
        if subreaper {
            self.cluster.postmaster = fs::read_to_string(self.cluster.data.join("postmaster.pid"))
                .ok()
                .and_then(|text| text.lines().next()?.trim().parse().ok());
        }
        self.running = true;
        Ok(())
    }

    /// The last `lines` lines of the server log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.cluster.dir.join("server.log"), lines)
    }
}

impl Drop for DedicatedCluster {
    fn drop(&mut self) {
        self.cluster.stop_and_remove();
    }
}

// ---------------------------------------------------------------------------------------

static SERVER: OnceLock<Result<Server, Unavailable>> = OnceLock::new();
static TESTS_RUN: AtomicUsize = AtomicUsize::new(0);
static DATABASE_COUNTER: AtomicUsize = AtomicUsize::new(0);
static CREATED_DATABASES: Mutex<Vec<String>> = Mutex::new(Vec::new());
static EXIT_HOOK: Once = Once::new();

enum Unavailable {
    /// No PostgreSQL server binaries: skip (or fail under CI).
    NotInstalled(String),
    /// Binaries present but no working server: always a failure.
    Broken(String),
}

impl Unavailable {
    fn message(&self) -> &str {
        match self {
            Unavailable::NotInstalled(m) | Unavailable::Broken(m) => m,
        }
    }
}

struct Server {
    /// URL of the maintenance database.
    admin_url: String,
    /// The `psql` to use (from the cluster's bindir, else from `PATH`).
    psql: Option<PathBuf>,
    /// The throwaway cluster, when not using `STRATA_TEST_PG_URL`.
    cluster: Option<Cluster>,
}

struct Cluster {
    dir: PathBuf,
    data: PathBuf,
    pg_ctl: PathBuf,
    run_as: Option<RunAs>,
    startup: Duration,
    /// The postmaster, when it is our child (see `set_child_subreaper`), to reap at exit.
    postmaster: Option<i32>,
    /// The watchdog, with the write end of its stdin: the kernel closes that when this
    /// process ends, however it ends, and the watchdog then stops the cluster.
    watchdog: Mutex<Option<Child>>,
}

#[derive(Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

struct Binaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    psql: Option<PathBuf>,
}

fn server() -> Result<&'static Server, &'static Unavailable> {
    SERVER.get_or_init(start_server).as_ref()
}

fn require_server(test_name: &str) -> Option<&'static Server> {
    match server() {
        Ok(server) => {
            record_test(test_name);
            Some(server)
        }
        Err(Unavailable::NotInstalled(reason)) => {
            if ci_is_set() {
                panic!(
                    "PostgreSQL test `{test_name}` cannot run: {reason}. CI is set, so a \
                     missing PostgreSQL is a failure: install the PostgreSQL server \
                     binaries or set {URL_ENV}."
                );
            }
            stderr_line(&format!(
                "SKIPPED: PostgreSQL test `{test_name}`: {reason} \
                 (install the PostgreSQL server binaries or set {URL_ENV})"
            ));
            None
        }
        Err(Unavailable::Broken(reason)) => {
            panic!("PostgreSQL test `{test_name}` cannot run: {reason}")
        }
    }
}

/// Whether `CI` is set (to anything but empty, `false` or `0`).
pub fn ci_is_set() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn record_test(test_name: &str) {
    TESTS_RUN.fetch_add(1, Ordering::SeqCst);
    let Some(log) = std::env::var_os(LOG_ENV).filter(|v| !v.is_empty()) else {
        return;
    };
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    // Test binaries are named `<target>-<hash>`.
    let binary = match binary.rsplit_once('-') {
        Some((target, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => target,
        _ => binary.as_str(),
    };
    let line = format!("{binary}\t{test_name}\n");
    // One write of a short line to an O_APPEND file: lines from parallel tests and
    // processes do not interleave.
    let written = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!(
            "cannot append to {LOG_ENV}={}: {e}",
            Path::new(&log).display()
        );
    }
}

/// Writes to the real stderr, bypassing the test harness's output capture.
fn stderr_line(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------
// Starting the server

fn start_server() -> Result<Server, Unavailable> {
    if let Some(url) = std::env::var(URL_ENV).ok().filter(|u| !u.trim().is_empty()) {
        let psql = find_binaries().map(|b| b.psql).unwrap_or(None);
        return Ok(Server {
            admin_url: url.trim().to_string(),
            psql: psql.or_else(|| find_on_path("psql")),
            cluster: None,
        });
    }
    let bins = find_binaries().map_err(Unavailable::NotInstalled)?;
    let run_as = if is_root() {
        Some(lookup_user(SYSTEM_USER).ok_or_else(|| {
            Unavailable::Broken(format!(
                "running as root, and initdb/postgres refuse to run as root, but there is \
                 no `{SYSTEM_USER}` system user to run them as; create one (e.g. \
                 `useradd --system --user-group {SYSTEM_USER}`) or set {URL_ENV}"
            ))
        })?)
    } else {
        None
    };
    let (cluster, port) = Cluster::start(&bins, run_as, false).map_err(Unavailable::Broken)?;
    let admin_url = format!("postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres");
    let version = fs::read_to_string(cluster.data.join("PG_VERSION")).unwrap_or_default();
    stderr_line(&format!(
        "strata test support: PostgreSQL {} cluster started in {:.2}s at {admin_url} (dir: {})",
        version.trim(),
        cluster.startup.as_secs_f64(),
        cluster.dir.display()
    ));
    let server = Server {
        admin_url,
        psql: bins.psql,
        cluster: Some(cluster),
    };
    register_exit_hook();
    Ok(server)
}

/// Finds `initdb` and `pg_ctl` (and `psql`) of one PostgreSQL installation.
fn find_binaries() -> Result<Binaries, String> {
    if let Some(dir) = std::env::var_os(BINDIR_ENV).filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return binaries_in(&dir).ok_or_else(|| {
            format!(
                "no initdb and pg_ctl in {BINDIR_ENV}={} (only that directory is searched \
                 when it is set)",
                dir.display()
            )
        });
    }
    // initdb on PATH: use the directory it really lives in (Debian only links some
    // binaries into /usr/bin or /usr/local/bin).
    if let Some(initdb) = find_on_path("initdb") {
        let real_dir = fs::canonicalize(&initdb)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        if let Some(bins) = real_dir.as_deref().and_then(binaries_in) {
            return Ok(bins);
        }
        if let Some(pg_ctl) = find_on_path("pg_ctl") {
            return Ok(Binaries {
                initdb,
                pg_ctl,
                psql: find_on_path("psql"),
            });
        }
    }
    let mut candidates = versioned_dirs("/usr/lib/postgresql", "", "bin");
    candidates.extend(versioned_dirs("/usr", "pgsql-", "bin"));
    candidates.push((Vec::new(), PathBuf::from("/usr/local/pgsql/bin")));
    candidates.sort_by(|a, b| b.0.cmp(&a.0)); // newest version first
    for (_, dir) in candidates {
        if let Some(bins) = binaries_in(&dir) {
            return Ok(bins);
        }
    }
    Err("no initdb found on PATH or in /usr/lib/postgresql/*/bin".to_string())
}

fn binaries_in(dir: &Path) -> Option<Binaries> {
    let initdb = dir.join("initdb");
    let pg_ctl = dir.join("pg_ctl");
    if !is_executable(&initdb) || !is_executable(&pg_ctl) {
        return None;
    }
    let psql = Some(dir.join("psql"))
        .filter(|p| is_executable(p))
        .or_else(|| find_on_path("psql"));
    Some(Binaries {
        initdb,
        pg_ctl,
        psql,
    })
}

/// `<parent>/<prefix><version>/<sub>` for each numeric version, with the version parsed.
fn versioned_dirs(parent: &str, prefix: &str, sub: &str) -> Vec<(Vec<u64>, PathBuf)> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name.strip_prefix(prefix)?;
            let parsed: Vec<u64> = version
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<_>>()?;
            Some((parsed, entry.path().join(sub)))
        })
        .collect()
}

/// The executable `name` in a directory of `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// Whether `path` is an executable file.
pub fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether the process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn lookup_user(name: &str) -> Option<RunAs> {
    let cname = CString::new(name).ok()?;
    // SAFETY: passwd is plain old data; getpwnam_r fills it, pointing into `buf`.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the stated length for the whole call.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    Some(RunAs {
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

/// The temporary directory's parent: the system one, unless the cluster runs as another
/// user who could not reach it (e.g. TMPDIR under /root), or its path needs quoting.
fn temp_base(run_as: Option<RunAs>) -> PathBuf {
    let base = std::env::temp_dir();
    let reachable = base
        .ancestors()
        .all(|dir| fs::metadata(dir).is_ok_and(|m| m.mode() & 0o001 != 0));
    let plain = !base.to_string_lossy().contains(['\'', '"', ' ', '\\']);
    if plain && (run_as.is_none() || reachable) {
        base
    } else {
        PathBuf::from("/tmp")
    }
}

impl Cluster {
    /// `durable`: see [`server_options`].
    fn start(
        bins: &Binaries,
        run_as: Option<RunAs>,
        durable: bool,
    ) -> Result<(Cluster, u16), String> {
        let started = Instant::now();
        let dir = make_temp_dir(&temp_base(run_as))?;
        if let Some(user) = run_as {
            std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))
                .map_err(|e| format!("cannot give {} to {SYSTEM_USER}: {e}", dir.display()))?;
        }
        let data = dir.join("data");
        let log = dir.join("server.log");
        let keep_note = format!("(directory {} kept for inspection)", dir.display());

        let out = cluster_command(&bins.initdb, run_as, &dir)
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", SUPERUSER, "-E", "UTF8"])
            .args(["--no-locale", "--no-sync"])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", bins.initdb.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed ({}) {keep_note}:\n{}",
                bins.initdb.display(),
                out.status,
                output_text(&out)
            ));
        }

        let mut cluster = Cluster {
            dir: dir.clone(),
            data: data.clone(),
            pg_ctl: bins.pg_ctl.clone(),
            run_as,
            startup: Duration::ZERO,
            postmaster: None,
            watchdog: Mutex::new(None),
        };
        let subreaper = set_child_subreaper(true);
        let started_on = cluster.pg_ctl_start(bins, &log, &keep_note, durable);
        if subreaper {
            set_child_subreaper(false);
        }
        let port = started_on?;
        if subreaper {
            cluster.postmaster = fs::read_to_string(data.join("postmaster.pid"))
                .ok()
                .and_then(|text| text.lines().next()?.trim().parse().ok());
        }
        cluster.startup = started.elapsed();
        cluster.watchdog = Mutex::new(cluster.spawn_watchdog());
        Ok((cluster, port))
    }

    /// `pg_ctl start` on a free port, retrying with another port if it was taken.
    fn pg_ctl_start(
        &self,
        bins: &Binaries,
        log: &Path,
        keep_note: &str,
        durable: bool,
    ) -> Result<u16, String> {
        let (dir, data, run_as) = (&self.dir, &self.data, self.run_as);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            let log_start = fs::metadata(log).map(|m| m.len()).unwrap_or(0);
            let options = server_options(dir, port, durable);
            let out = cluster_command(&bins.pg_ctl, run_as, dir)
                .arg("-D")
                .arg(data)
                .arg("-l")
                .arg(log)
                .args(["-w", "-t", "30", "-o", &options, "start"])
                .output()
                .map_err(|e| format!("cannot run {}: {e}", bins.pg_ctl.display()))?;
            if out.status.success() {
                return Ok(port);
            }
            let tail = log_tail(log, 30);
            let this_attempt = fs::read(log)
                .map(|bytes| {
                    let new = bytes.get(log_start as usize..).unwrap_or_default();
                    String::from_utf8_lossy(new).into_owned()
                })
                .unwrap_or_default();
            let port_taken = this_attempt.contains("Address already in use")
                || this_attempt.contains("could not bind")
                || this_attempt.contains("could not create any TCP/IP sockets");
            self.stop_server(); // in case it is half up
            if !(port_taken && attempt < START_ATTEMPTS) {
                return Err(format!(
                    "{} start failed ({}) on port {port}, attempt {attempt} {keep_note}:\n\
                     {}\n--- tail of {} ---\n{tail}",
                    bins.pg_ctl.display(),
                    out.status,
                    output_text(&out),
                    log.display()
                ));
            }
        }
    }

    /// A process that waits for EOF on its stdin (this process's end closes when this
    /// process ends, even when killed) and then stops the cluster and removes its
    /// directory. It runs in its own process group so Ctrl-C does not kill it first.
    fn spawn_watchdog(&self) -> Option<Child> {
        let script = r#"cat >/dev/null
if [ -d "$1" ]; then "$0" stop -D "$1" -m immediate >/dev/null 2>&1; fi
rm -rf "$2""#;
        let child = cluster_command(Path::new("/bin/sh"), self.run_as, Path::new("/"))
            .arg("-c")
            .arg(script)
            .arg(&self.pg_ctl)
            .arg(&self.data)
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        if let Err(e) = &child {
            stderr_line(&format!(
                "strata test support: no watchdog for the PostgreSQL cluster (it stays \
                 running if this process is killed): {e}"
            ));
        }
        child.ok()
    }

    fn stop_server(&self) {
        let _ = cluster_command(&self.pg_ctl, self.run_as, &self.dir)
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn stop_and_remove(&self) {
        self.stop_server();
        if let Some(pid) = self.postmaster {
            reap(pid);
        }
        if fs::remove_dir_all(&self.dir).is_err() {
            std::thread::sleep(Duration::from_millis(100));
            let _ = fs::remove_dir_all(&self.dir);
        }
        // Release the watchdog now (it finds nothing left to do) and reap it, so no
        // process of ours outlives this one.
        if let Some(mut watchdog) = lock(&self.watchdog).take() {
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
        }
    }
}

/// The `postgres` options of a test cluster listening on `port`.
///
/// `durable`: a commit is acknowledged only once its WAL is written, so committed rows
/// survive the server being killed (`pg_ctl stop -m immediate`). Otherwise commits are
/// asynchronous: faster, but the last ones are lost when the server is killed. Neither
/// waits for the disk (fsync is off): the machine itself is not expected to crash.
fn server_options(dir: &Path, port: u16, durable: bool) -> String {
    // -F: fsync off. Only TCP on loopback, plus a socket in our own directory.
    format!(
        "-h 127.0.0.1 -p {port} -k '{}' -F -c synchronous_commit={} \
         -c full_page_writes=off",
        dir.display(),
        if durable { "on" } else { "off" }
    )
}

/// A command for the cluster's binaries: run as `run_as` (when root), in `dir`, with a
/// C locale (so log messages are parseable) and without the caller's libpq settings.
fn cluster_command(program: &Path, run_as: Option<RunAs>, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir).stdin(Stdio::null()).env("LC_ALL", "C");
    for var in LIBPQ_ENV {
        cmd.env_remove(var);
    }
    cmd.env_remove("PGDATA");
    if let Some(user) = run_as {
        cmd.uid(user.uid).gid(user.gid);
        cmd.env("USER", SYSTEM_USER).env("LOGNAME", SYSTEM_USER);
        cmd.env("HOME", dir);
    }
    cmd
}

/// libpq environment variables that would change how we reach our own cluster.
const LIBPQ_ENV: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGSSLMODE",
    "PGREQUIRESSL",
    "PGGSSENCMODE",
    "PGTARGETSESSIONATTRS",
    "PGCHANNELBINDING",
];

/// While set, the postmaster (whose parent, pg_ctl, exits at once) becomes our child
/// instead of init's, so that we can reap it at exit and leave no zombie behind.
/// Returns whether it worked (Linux only).
fn set_child_subreaper(on: bool) -> bool {
    #[cfg(target_os = "linux")]
    {
        let flag: libc::c_ulong = on.into();
        // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, flag, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = on;
        false
    }
}

/// Waits (up to 10 s) for our child `pid` to exit; returns at once if it is not our child.
fn reap(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut status = 0;
        // SAFETY: waitpid only writes the status integer.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc != 0 || Instant::now() > deadline {
            return; // reaped, or not our child (-1)
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn make_temp_dir(base: &Path) -> Result<PathBuf, String> {
    let pid = std::process::id();
    for n in 0..100 {
        let dir = base.join(format!("strata-pg-{pid}-{:x}-{n}", nanos()));
        match fs::create_dir(&dir) {
            Ok(()) => {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .map_err(|e| format!("cannot chmod {}: {e}", dir.display()))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
    Err(format!(
        "cannot create a unique directory in {}",
        base.display()
    ))
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}

fn log_tail(path: &Path, lines: usize) -> String {
    match fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

fn output_text(out: &Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.trim().is_empty() {
        text.push('\n');
        text.push_str(stdout.trim_end());
    }
    text
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Stopping

fn register_exit_hook() {
    EXIT_HOOK.call_once(|| {
        // SAFETY: `at_exit` is a plain `extern "C" fn()` that never unwinds.
        let rc = unsafe { libc::atexit(at_exit) };
        if rc != 0 {
            stderr_line("strata test support: cannot register the PostgreSQL exit hook");
        }
    });
}

extern "C" fn at_exit() {
    // A panic must not unwind into libc.
    let _ = std::panic::catch_unwind(clean_up);
}

fn clean_up() {
    let Some(Ok(server)) = SERVER.get() else {
        return;
    };
    if let Some(cluster) = &server.cluster {
        cluster.stop_and_remove();
        return;
    }
    for name in lock(&CREATED_DATABASES).drain(..) {
        let sql = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&name)
        );
        if let Err(e) = server.psql(&server.admin_url, &sql) {
            stderr_line(&format!(
                "strata test support: cannot drop test database {name}: {e}"
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Databases and psql

impl Server {
    fn psql(&self, url: &str, sql: &str) -> Result<String, String> {
        let program = self.psql.as_deref().ok_or_else(|| {
            "no psql found (next to initdb or on PATH) to run SQL with".to_string()
        })?;
        let mut cmd = Command::new(program);
        if self.cluster.is_some() {
            for var in LIBPQ_ENV {
                cmd.env_remove(var);
            }
        }
        let out = cmd
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(url)
            .arg("-c")
            .arg(sql)
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if !out.status.success() {
            return Err(format!(
                "psql {} -c {sql:?} failed ({}):\n{}",
                redact(url),
                out.status,
                output_text(&out)
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        Ok(stdout.strip_suffix('\n').unwrap_or(&stdout).to_string())
    }
}

fn unique_database_name() -> String {
    let n = DATABASE_COUNTER.fetch_add(1, Ordering::SeqCst);
    // Unique across processes and runs; well below the 63-byte identifier limit.
    format!(
        "strata_test_{}_{:x}_{n}",
        std::process::id(),
        nanos() / 1000 % (1 << 44)
    )
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `url` with its database replaced by `database`: the path of a
/// `postgres[ql]://` URI, or a `dbname=` appended to a key/value connection string.
fn with_database(url: &str, database: &str) -> String {
    let Some(scheme_end) = ["postgresql://", "postgres://"]
        .iter()
        .find(|s| url.starts_with(*s))
        .map(|s| s.len())
    else {
        return format!("{url} dbname={database}");
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest[authority_end..]
        .find('?')
        .map(|i| &rest[authority_end + i..])
        .unwrap_or("");
    format!(
        "{}{}/{database}{query}",
        &url[..scheme_end],
        &rest[..authority_end]
    )
}

/// `url` without a password, for messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_string(),
    }
}
