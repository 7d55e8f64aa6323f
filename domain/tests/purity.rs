//! Proves the domain stays pure: no I/O crate in its dependency tree, no I/O or clock in its source.

use std::path::Path;
use std::process::Command;

/// Crates that do I/O, threads or event loops: none may ever be a dependency of the domain.
const FORBIDDEN_CRATES: &[&str] = &[
    "mio",
    "polling",
    "sled",
    "rusqlite",
    "libsqlite3-sys",
    "signal-hook",
    "signal-hook-mio",
    "tokio",
    "async-std",
    "socket2",
    "libc",
    "rustls",
    "tungstenite",
    "httparse",
    "argon2",
    "postcard",
];

/// Paths and calls that reach the outside world or the clock.
const FORBIDDEN_SOURCE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::thread",
    "std::process",
    "std::env",
    "std::io",
    "SystemTime",
    "Instant::now",
    "Timestamp::now",
    "Zoned::now",
    "ZonedDateTime::now",
    "unsafe",
];

#[test]
fn the_dependency_tree_has_no_io_crate() {
    let manifest_dir = env!("CARGO_MANIFEST_DIR");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .args(["--manifest-path", &format!("{manifest_dir}/Cargo.toml")])
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"chat-domain") && crates.contains(&"nom"),
        "unexpected tree:\n{tree}"
    );
    for name in &crates {
        assert!(
            !FORBIDDEN_CRATES.contains(name),
            "the domain depends on {name}:\n{tree}"
        );
    }
}

#[test]
fn the_source_has_no_io_and_reads_no_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("entry is readable").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source is UTF-8");
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for needle in FORBIDDEN_SOURCE {
                    assert!(
                        !code.contains(needle),
                        "{}:{}: {needle}: {line}",
                        path.display(),
                        number + 1
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} files checked");
}
