//! `chat-bench idle`: holds N logged-in connections open and reports how much resident memory
//! the server gained per connection (from /proc/PID/status, before and after).

use std::time::Duration;

use super::load;
use super::server_process::resident_bytes_of;
use super::target::Target;

/// Time for the server to settle after the last login, before memory is read.
const SETTLE: Duration = Duration::from_secs(1);

pub struct Report {
    pub label: String,
    pub connections: usize,
    pub before_bytes: u64,
    pub after_bytes: u64,
}

pub fn run(target: &Target, connections: usize) -> Result<Report, String> {
    let pid = target
        .pid
        .ok_or("idle needs the server's PID: --spawn it, or give --server-pid")?;
    std::thread::sleep(SETTLE);
    let before_bytes = resident_bytes_of(pid).ok_or("cannot read the server's memory")?;
    let idle = load::open_idle(target, connections)?;
    std::thread::sleep(SETTLE);
    let after_bytes = resident_bytes_of(pid).ok_or("cannot read the server's memory")?;
    drop(idle);
    Ok(Report {
        label: target.label.clone(),
        connections,
        before_bytes,
        after_bytes,
    })
}

impl Report {
    pub fn bytes_per_connection(&self) -> f64 {
        self.after_bytes.saturating_sub(self.before_bytes) as f64 / self.connections.max(1) as f64
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        writeln!(
            f,
            "{}: {} idle logged-in connections: resident memory {:.1} MiB -> {:.1} MiB, {:.2} KiB a connection",
            self.label,
            self.connections,
            mib(self.before_bytes),
            mib(self.after_bytes),
            self.bytes_per_connection() / 1024.0
        )
    }
}
