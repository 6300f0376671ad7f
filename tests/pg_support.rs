//! Self-test of the PostgreSQL test support (tests/support/pg.rs).

#[allow(dead_code)] // each test binary uses only part of the support code
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::pg;

/// Tests against `STRATA_TEST_PG_URL` cannot check the throwaway cluster's setup.
fn external_server() -> bool {
    std::env::var_os(pg::URL_ENV).is_some_and(|v| !v.is_empty())
}

/// (host, port, database) of a `postgresql://user@host:port/database` URL.
fn parse_url(url: &str) -> (String, u16, String) {
    let rest = url
        .strip_prefix("postgresql://")
        .unwrap_or_else(|| panic!("not a postgresql:// URL: {url}"));
    let (authority, database) = rest.split_once('/').expect("URL has a database");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = host_port.rsplit_once(':').expect("URL has a port");
    (
        host.to_string(),
        port.parse().expect("numeric port"),
        database.to_string(),
    )
}

/// The database of a URL: its last path segment, without a query string.
fn database_name(url: &str) -> &str {
    let path = url.split('?').next().unwrap();
    path.rsplit('/').next().unwrap()
}

fn sql(url: &str, query: &str) -> String {
    pg::psql(url, query).unwrap_or_else(|e| panic!("{e}"))
}

/// A test run in child processes by the tests below; on its own it is an ordinary
/// PostgreSQL test.
#[test]
fn probe_select_one() {
    let Some(url) = pg::require_fresh_database("probe_select_one") else {
        return;
    };
    assert_eq!(sql(&url, "SELECT 1"), "1");
}

#[test]
fn server_listens_only_on_loopback_with_fsync_off() {
    let Some(url) = pg::require_postgres("server_listens_only_on_loopback_with_fsync_off") else {
        return;
    };
    assert_eq!(sql(&url, "SELECT 1"), "1");
    if external_server() {
        return;
    }
    let (host, port, database) = parse_url(&url);
    assert_eq!(host, "127.0.0.1");
    assert_eq!(database, "postgres");
    assert!(url.starts_with("postgresql://postgres@127.0.0.1:"), "{url}");
    assert_eq!(sql(&url, "SHOW listen_addresses"), "127.0.0.1");
    assert_eq!(sql(&url, "SELECT host(inet_server_addr())"), "127.0.0.1");
    assert_eq!(sql(&url, "SELECT inet_server_port()"), port.to_string());
    assert_eq!(sql(&url, "SHOW fsync"), "off");
    assert_eq!(sql(&url, "SELECT current_user"), "postgres");
    assert_eq!(sql(&url, "SHOW server_encoding"), "UTF8");
    assert_eq!(sql(&url, "SHOW lc_collate"), "C");
}

#[test]
fn fresh_databases_are_separate() {
    let Some(first) = pg::require_fresh_database("fresh_databases_are_separate") else {
        return;
    };
    let second = pg::fresh_database().expect("second fresh database");
    assert_ne!(first, second);
    for url in [&first, &second] {
        assert_eq!(sql(url, "SELECT 1"), "1");
        let database = database_name(url);
        assert_eq!(sql(url, "SELECT current_database()"), database);
        assert_eq!(
            sql(
                url,
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ),
            "0"
        );
    }
    sql(
        &first,
        "CREATE TABLE t (x int); INSERT INTO t VALUES (41), (1)",
    );
    assert_eq!(sql(&first, "SELECT sum(x) FROM t"), "42");
    assert_eq!(sql(&second, "SELECT to_regclass('t') IS NULL"), "t");
    if !external_server() {
        let (host, port, _) = parse_url(&first);
        assert_eq!(host, "127.0.0.1");
        assert_eq!(parse_url(&second).1, port, "one server per process");
    }
}

#[test]
fn parallel_callers_share_one_server() {
    let Some(admin) = pg::require_postgres("parallel_callers_share_one_server") else {
        return;
    };
    let urls: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| pg::fresh_database().expect("fresh database")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut names: Vec<&str> = urls.iter().map(|u| database_name(u)).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 4, "{urls:?}");
    for url in &urls {
        assert_eq!(sql(url, "SELECT 2 + 2"), "4");
    }
    if !external_server() {
        let port = parse_url(&admin).1;
        assert!(urls.iter().all(|u| parse_url(u).1 == port), "{urls:?}");
    }
}

#[test]
fn cluster_directory_belongs_to_the_server_user() {
    let Some(url) = pg::require_postgres("cluster_directory_belongs_to_the_server_user") else {
        return;
    };
    if external_server() {
        assert_eq!(pg::cluster_dir(), None);
        return;
    }
    let dir = pg::cluster_dir().expect("throwaway cluster");
    let startup = pg::startup_time().expect("throwaway cluster");
    eprintln!("cluster in {} started in {startup:?}", dir.display());
    assert!(dir.join("data/PG_VERSION").is_file());
    assert!(dir.join("server.log").is_file());
    assert_eq!(
        sql(&url, "SHOW data_directory"),
        dir.join("data").to_str().unwrap()
    );
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&dir).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o700);
    let me = String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout).unwrap();
    if me.trim() == "0" {
        let postgres = Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .unwrap();
        let uid: u32 = String::from_utf8(postgres.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(
            meta.uid(),
            uid,
            "run as root: the postgres user owns the cluster"
        );
    } else {
        assert_eq!(me.trim(), meta.uid().to_string());
    }
}

#[test]
fn counter_counts_required_tests() {
    let before = pg::tests_run();
    if pg::require_postgres("counter_counts_required_tests").is_none() {
        assert_eq!(pg::tests_run(), before, "skipped tests are not counted");
        return;
    }
    assert!(pg::tests_run() > before);
}

/// Runs `probe_select_one` in a child process of this test binary.
fn run_probe(configure: impl FnOnce(&mut Command)) -> (Output, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "probe_select_one",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd.env_remove(pg::LOG_ENV);
    configure(&mut cmd);
    let out = cmd.output().expect("run the test binary");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

fn without_postgres(cmd: &mut Command) {
    cmd.env(pg::BINDIR_ENV, "/nonexistent/strata-pg-bin")
        .env_remove(pg::URL_ENV);
}

#[test]
fn missing_postgres_is_a_loud_skip_without_ci() {
    let (out, text) = run_probe(|cmd| {
        without_postgres(cmd);
        cmd.env_remove("CI");
    });
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("SKIPPED: PostgreSQL test `probe_select_one`: no initdb and pg_ctl in"),
        "{text}"
    );
    assert!(text.contains("1 passed"), "{text}");
}

#[test]
fn missing_postgres_fails_under_ci() {
    let (out, text) = run_probe(|cmd| {
        without_postgres(cmd);
        cmd.env("CI", "true");
    });
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("PostgreSQL test `probe_select_one` cannot run"),
        "{text}"
    );
    assert!(text.contains("CI is set"), "{text}");
    assert!(!text.contains("SKIPPED"), "{text}");
}

#[test]
fn child_logs_its_test_and_stops_its_cluster_at_exit() {
    if pg::require_postgres("child_logs_its_test_and_stops_its_cluster_at_exit").is_none() {
        return;
    }
    let log = std::env::temp_dir().join(format!("strata-selftest-{}.pglog", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let (out, text) = run_probe(|cmd| {
        cmd.env(pg::LOG_ENV, &log);
    });
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(out.status.success(), "{text}");
    assert_eq!(logged, "pg_support\tprobe_select_one\n", "{text}");
    if external_server() {
        return;
    }
    // The child announced its cluster: "... (dir: /tmp/strata-pg-...)".
    let dir = text
        .split("(dir: ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("child did not start a cluster:\n{text}"));
    assert_ne!(
        Some(&dir),
        pg::cluster_dir().as_ref(),
        "a cluster per process"
    );
    assert!(!dir.exists(), "{} left behind", dir.display());
    let left = processes_mentioning(&dir);
    assert!(left.is_empty(), "processes left running: {left:?}");
}

/// Command lines of live processes that mention `path`.
fn processes_mentioning(path: &Path) -> Vec<String> {
    let needle = path.to_str().unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(cmdline);
            }
        }
    }
    found
}
