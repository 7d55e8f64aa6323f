//! A store that cannot be written at startup is a clear error and a non-zero exit, never a
//! server that seems to run: a read-only data directory, and a full disk (simulated with the
//! file-size limit, which fails every write that grows a file, as a full disk does).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};

use chat_store_contract::TempDir;

/// Runs `chat-server` on `data` with `setup` applied to the command; it must exit by itself.
fn run_server(store: &str, data: &TempDir, setup: impl FnOnce(&mut Command)) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-server"));
    command
        .args(["--listen", "127.0.0.1:0", "--store", store])
        .arg("--data")
        .arg(data.path())
        .args(["--hash-memory-kib", "64", "--hash-passes", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    setup(&mut command);
    let child = command.spawn().expect("chat-server starts");
    // A server that started would wait forever: kill it after a while and fail below.
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(20));
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    let output = child.wait_with_output().expect("waits");
    drop(watchdog);
    output
}

fn assert_clear_failure(output: &Output, store: &str, expected: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        !stdout.contains("listening"),
        "it must not claim to serve: {stdout}"
    );
    assert!(
        stderr.contains(&format!("cannot open the {store} store")),
        "{stderr}"
    );
    assert!(
        expected.iter().any(|e| stderr.contains(e)),
        "none of {expected:?} in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn a_read_only_data_directory_is_a_clear_error(store: &'static str) {
    let data = TempDir::new("e2e-read-only");
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let output = run_server(store, &data, |command| {
        // Root writes anywhere: run the server as nobody, for whom 0555 means read-only.
        if root {
            command.uid(65534).gid(65534);
        }
    });
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod back");
    assert_clear_failure(&output, store, &["Permission denied", "unable to open"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("another server"), "not a lock: {stderr}");
}

fn a_full_disk_at_startup_is_a_clear_error(store: &'static str) {
    let data = TempDir::new("e2e-disk-full");
    let output = run_server(store, &data, |command| {
        // SAFETY: between fork and exec only async-signal-safe calls: setrlimit and signal.
        unsafe {
            command.pre_exec(|| {
                let none = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: libc::RLIM_INFINITY,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &none) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // Past the limit the kernel sends SIGXFSZ, whose default kills: ignored, the
                // write fails with EFBIG instead, as a write to a full disk fails.
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
    });
    assert_clear_failure(
        &output,
        store,
        &["File too large", "disk is full", "disk I/O error"],
    );
}

on_both_stores!(
    a_read_only_data_directory_is_a_clear_error,
    a_full_disk_at_startup_is_a_clear_error,
);
