//! Dropping an engine lets go of everything it holds: its pool's threads end at once,
//! so a program that makes engines one after another does not pile them up.
//!
//! Alone in its test binary: it counts the process's threads.

/// The process's thread count.
fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads line")
}

#[test]
fn a_dropped_engine_leaves_no_thread_behind() {
    let before = threads();
    for _ in 0..20 {
        let engine = strata::create_engine("sqlite://").unwrap();
        let mut conn = engine.connect().unwrap();
        conn.exec_driver_sql("SELECT 1", &[]).unwrap();
        drop(conn);
        drop(engine);
    }
    // The pools' threads see the shutdown and end; give them a moment, not the 30
    // seconds a pending reaper would keep them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while threads() > before && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        threads() <= before,
        "{} threads before, {} after dropping 20 engines",
        before,
        threads()
    );
}
