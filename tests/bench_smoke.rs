//! `chat-bench` works end to end: a short fan-out run against a server it starts, which checks
//! every member got each message exactly once. No timing is asserted.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::signal_process;

#[test]
fn a_short_fanout_run_completes_and_reports() {
    let output = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args([
            "fanout",
            "--members",
            "20",
            "--rounds",
            "3",
            "--spawn",
            "sqlite",
        ])
        .output()
        .expect("chat-bench runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        report.contains("3 rounds, one message each to a group of 20 online members"),
        "{report}"
    );
    assert!(report.contains("probe ping, during a fan-out"), "{report}");
    assert!(report.contains("server CPU per fan-out"), "{report}");
}

fn bench(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(args)
        .output()
        .expect("chat-bench runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_short_throughput_run_accounts_for_every_message() {
    let report = bench(&[
        "throughput",
        "--clients",
        "5",
        "--messages",
        "40",
        "--window",
        "4",
        "--spawn",
        "sled",
    ]);
    assert!(
        report.contains("delivered 200 of 200 (lost 0, duplicated 0)"),
        "{report}"
    );
    assert!(report.contains("latency to delivery (us): p50"), "{report}");
}

#[test]
fn a_short_rate_run_accounts_for_every_message() {
    let report = bench(&[
        "rate",
        "--clients",
        "4",
        "--per-second",
        "200",
        "--seconds",
        "1",
        "--spawn",
        "sqlite",
    ]);
    assert!(
        report.contains("delivered 200 of 200 (lost 0, duplicated 0)"),
        "{report}"
    );
    assert_steal_reported(&report);
}

/// The run's steal time is reported as a number of milliseconds.
fn assert_steal_reported(report: &str) {
    let millis = report
        .split("machine steal time ")
        .nth(1)
        .and_then(|rest| rest.split(" ms").next())
        .and_then(|n| n.parse::<u64>().ok());
    assert!(millis.is_some(), "{report}");
}

#[test]
fn a_short_rate_run_among_fixed_partners_accounts_for_every_message() {
    let report = bench(&[
        "rate",
        "--clients",
        "4",
        "--partners",
        "1",
        "--per-second",
        "200",
        "--seconds",
        "1",
        "--spawn",
        "sled",
    ]);
    assert!(
        report.contains("4 clients each writing to 1 partner,"),
        "{report}"
    );
    assert!(
        report.contains("delivered 200 of 200 (lost 0, duplicated 0)"),
        "{report}"
    );
}

#[test]
fn a_short_idle_run_reports_memory_per_connection() {
    let report = bench(&["idle", "--connections", "100", "--spawn", "sqlite"]);
    assert!(
        report.contains("100 idle logged-in connections"),
        "{report}"
    );
    assert!(report.contains("KiB a connection"), "{report}");
}

#[test]
fn a_short_history_run_reads_full_pages_at_every_depth() {
    let report = bench(&[
        "history",
        "--store",
        "sled",
        "--messages",
        "300",
        "--reads",
        "3",
    ]);
    for depth in ["newest page", "50.0% back", "99.9% back"] {
        assert!(report.contains(depth), "{report}");
    }
}

#[test]
fn an_fsync_run_times_every_sync_and_leaves_no_file() {
    let report = bench(&["fsync", "--syncs", "5"]);
    assert!(
        report.contains("fsync: 5 appends of 16 KiB, each followed by fdatasync, back to back"),
        "{report}"
    );
    assert!(report.contains("write + fdatasync (us): p50"), "{report}");
    assert_steal_reported(&report);
    let dir = report
        .lines()
        .next()
        .and_then(|line| line.split(" in ").nth(1))
        .expect("the report names its directory");
    assert!(!std::path::Path::new(dir).exists(), "{dir} is left behind");
}

#[test]
fn a_paced_sync_that_waits_long_is_reported_as_long_as_it_waited() {
    // A paced sync is timed from when it was due: stopping the process for 300 ms makes the
    // syncs due meanwhile that late, on any disk. Once, the report counted them as 2 us.
    let child = Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(["fsync", "--syncs", "200", "--per-second", "100"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("chat-bench runs");
    // Stopped once its schedule has begun (its first sync written), well before it ends (2 s).
    let synced = std::env::temp_dir()
        .join(format!("chat-bench-fsync-{}", child.id()))
        .join("synced");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&synced).map_or(0, |m| m.len()) < 16 * 1024 {
        assert!(Instant::now() < deadline, "chat-bench never synced");
        std::thread::sleep(Duration::from_millis(5));
    }
    signal_process(child.id(), "STOP");
    std::thread::sleep(Duration::from_millis(300));
    signal_process(child.id(), "CONT");
    let output = child.wait_with_output().expect("chat-bench ends");
    assert!(output.status.success(), "{output:?}");
    let report = String::from_utf8_lossy(&output.stdout);
    let max_us: u64 = report
        .split("max ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|max| max.parse().ok())
        .unwrap_or_else(|| panic!("no max in {report}"));
    assert!(max_us >= 250_000, "{report}");
}

#[test]
fn a_paced_fsync_run_keeps_its_schedule() {
    let started = std::time::Instant::now();
    let report = bench(&["fsync", "--syncs", "20", "--per-second", "100"]);
    // The 20th sync starts 190 ms after the first, however fast the disk.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(190),
        "{report}"
    );
    assert!(
        report.contains("fsync: 20 appends of 16 KiB, each followed by fdatasync, 100 a second, each timed from when it was due"),
        "{report}"
    );
    assert!(report.contains("p99.9"), "{report}");
}
