//! Starts `chat-server` for a benchmark run (the binary beside `chat-bench`), on a free
//! loopback port with a temporary data directory, and reads its CPU time from /proc.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    data_dir: PathBuf,
}

impl ServerProcess {
    /// Starts the server on `store` with cheap password hashing (hashing is not what is
    /// measured, and a run registers many users).
    pub fn spawn(store: &str, extra: &[&str]) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
        let server = exe.with_file_name("chat-server");
        let data_dir = std::env::temp_dir().join(format!("chat-bench-{}", std::process::id()));
        let mut child = Command::new(&server)
            .args(["--listen", "127.0.0.1:0", "--store", store])
            .arg("--data")
            .arg(&data_dir)
            .args(["--hash-memory-kib", "64", "--hash-passes", "1"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the server's first line: {e}"))?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("unexpected first line from the server: {line:?}"))?;
        let mut stderr = child.stderr.take().ok_or("no stderr")?;
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
        Ok(ServerProcess {
            child,
            addr,
            data_dir,
        })
    }

    /// User plus system CPU time the server has used so far.
    pub fn cpu_time(&self) -> Option<Duration> {
        cpu_time_of(self.child.id())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// CPU time of process `pid` from /proc/PID/stat (fields 14 and 15, in clock ticks).
pub fn cpu_time_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = after_name.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a constant.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?;
    Some(Duration::from_micros(ticks * 1_000_000 / per_second.max(1)))
}
