//! `chat-bench` works end to end: a short fan-out run against a server it starts, which checks
//! every member got each message exactly once. No timing is asserted.

use std::process::Command;

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
