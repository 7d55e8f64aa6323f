//! Starts the server a benchmark runs against: `chat-server` (the binary beside `chat-bench`) on a
//! store, or Debian's ngircd through `scripts/ngircd-bench.sh`; on a free loopback port with a
//! temporary directory. Reads a process's CPU time and resident memory from /proc.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The ngircd launcher in this repository.
const NGIRCD_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/ngircd-bench.sh");
/// How long a started server has to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    dir: PathBuf,
}

/// The abuse limits lifted, as ngircd's flood limits are for it: a load generator is one
/// address sending as fast as it can, which is what the defaults exist to stop.
pub const ABUSE_LIMITS_LIFTED: [&str; 10] = [
    "--message-burst",
    "1000000",
    "--messages-per-sec",
    "1000000",
    "--max-connections-per-address",
    "1000000",
    "--registrations-per-hour",
    "1000000",
    "--login-failures-per-min",
    "1000000",
];

pub fn temp_dir(label: &str) -> PathBuf {
    std::env::temp_dir().join(format!("chat-bench-{label}-{}", std::process::id()))
}

impl ServerProcess {
    /// Starts chat-server on `store` with cheap password hashing (hashing is not what is
    /// measured, and a run registers many users) and the abuse limits lifted.
    pub fn spawn(store: &str, extra: &[&str]) -> Result<Self, String> {
        Self::spawn_on(store, temp_dir(store), extra)
    }

    /// Starts chat-server on `store` in `dir` (removed when the server is dropped).
    pub fn spawn_on(store: &str, dir: PathBuf, extra: &[&str]) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
        let server = exe.with_file_name("chat-server");
        let mut child = Command::new(&server)
            .args(["--listen", "127.0.0.1:0", "--store", store])
            .arg("--data")
            .arg(&dir)
            .args(["--hash-memory-kib", "64", "--hash-passes", "1"])
            .args(ABUSE_LIMITS_LIFTED)
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
        drain(child.stderr.take());
        Ok(ServerProcess { child, addr, dir })
    }

    /// Starts ngircd, the peer, through the repository's script, and waits until it listens.
    pub fn spawn_ngircd() -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        let dir = temp_dir("ngircd");
        let mut child = Command::new(NGIRCD_SCRIPT)
            .arg(port.to_string())
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {NGIRCD_SCRIPT}: {e}"))?;
        drain(child.stderr.take());
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(addr).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "ngircd exited at start ({status}); is it installed?"
                ));
            }
            if Instant::now() > deadline {
                return Err("ngircd did not start listening".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(ServerProcess { child, addr, dir })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn drain(stream: Option<impl Read + Send + 'static>) {
    if let Some(mut stream) = stream {
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stream.read_to_end(&mut sink);
        });
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// CPU time of process `pid` from /proc/PID/stat (fields 14 and 15, in clock ticks).
pub fn cpu_time_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = after_name.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    from_clock_ticks(ticks)
}

/// `ticks` of the kernel's clock (USER_HZ) as a duration.
fn from_clock_ticks(ticks: u64) -> Option<Duration> {
    // SAFETY: sysconf only reads a constant.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?;
    Some(Duration::from_micros(ticks * 1_000_000 / per_second.max(1)))
}

/// Steal time of the whole machine so far, all CPUs together: time a virtual CPU was ready to
/// run while the hypervisor ran something else (/proc/stat's `cpu` line, its eighth value).
/// On a VM it tells a run the host disturbed from one it did not.
pub fn machine_steal_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let total = stat.lines().next()?.strip_prefix("cpu ")?;
    from_clock_ticks(total.split_whitespace().nth(7)?.parse().ok()?)
}

/// The report's line for `steal` during a run.
pub fn describe_steal(steal: Duration) -> String {
    format!(
        "  machine steal time {} ms (CPUs ready while the hypervisor ran something else)",
        steal.as_millis()
    )
}

/// Time that passed on `read` between `before` (read earlier) and now.
pub fn since(before: Option<Duration>, read: fn() -> Option<Duration>) -> Option<Duration> {
    Some(read()?.saturating_sub(before?))
}

/// Resident memory of process `pid` in bytes, from /proc/PID/status (VmRSS).
pub fn resident_bytes_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The most resident memory process `pid` has had, in bytes, from /proc/PID/status (VmHWM).
pub fn peak_resident_bytes_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// This process's own CPU time.
pub fn own_cpu_time() -> Option<Duration> {
    cpu_time_of(std::process::id())
}
