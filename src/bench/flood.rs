//! `chat-bench flood`: one connection sends requests without reading their replies (pings
//! before logging in, or history pages of 64 KiB once logged in) while a bystander pings the
//! server every 10 ms; reports how long the bystander waited, the server's memory peak, and how
//! long SIGTERM took to end it afterwards. Measures what `tests/floods.rs` asserts by order.

use std::fmt;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chat_wire::{ClientFrame, FRAME_BYTES_MAX, Reply, Request, WireRecipient, encode_frame};

use super::server_process::{peak_resident_bytes_of, resident_bytes_of};
use super::target::Target;
use super::wire_client::WireClient;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Pings after the Hello, never logged in.
    Ping,
    /// Logged in, with 50 notes of 4,000 wide characters to self: history pages of a whole frame.
    History,
}

pub struct Options {
    pub kind: Kind,
    pub duration: Duration,
}

pub struct Report {
    label: String,
    kind: Kind,
    flood_bytes: u64,
    pings: usize,
    wait_p50: Duration,
    wait_max: Duration,
    memory_before: Option<u64>,
    memory_peak: Option<u64>,
    stopped_in: Option<Duration>,
}

/// Pings the bystander sends, at most: a bound on the run whatever the server does.
const PINGS_MAX: usize = 100_000;

pub fn run(target: &Target, options: &Options) -> Result<Report, String> {
    let mut bystander = WireClient::connect(target.addr).map_err(|e| format!("bystander: {e}"))?;
    let flooder = flooder(target, options.kind)?;
    let memory_before = target.pid.and_then(resident_bytes_of);
    let chunk = flood_chunk(options.kind)?;
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let flood = spawn_flood(flooder, chunk, Arc::clone(&stop), Arc::clone(&written))?;
    let deadline = Instant::now() + options.duration;
    let mut waits = Vec::new();
    while Instant::now() < deadline && waits.len() < PINGS_MAX {
        let asked = Instant::now();
        match bystander.request(Request::Ping) {
            Ok(Reply::Pong) => waits.push(asked.elapsed()),
            Ok(other) => return Err(format!("bystander: expected Pong, got {other:?}")),
            // Unanswered for the client's whole read timeout: count it as that long.
            Err(_) => {
                waits.push(asked.elapsed());
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let memory_peak = target.pid.and_then(peak_resident_bytes_of);
    let stopped_in = target.pid.and_then(stop_and_time);
    stop.store(true, Ordering::SeqCst);
    let _ = flood.join();
    waits.sort_unstable();
    Ok(Report {
        label: target.label.clone(),
        kind: options.kind,
        flood_bytes: written.load(Ordering::SeqCst),
        pings: waits.len(),
        wait_p50: waits.get(waits.len() / 2).copied().unwrap_or_default(),
        wait_max: waits.last().copied().unwrap_or_default(),
        memory_before,
        memory_peak,
        stopped_in,
    })
}

/// The flooding connection, ready to flood.
fn flooder(target: &Target, kind: Kind) -> Result<TcpStream, String> {
    let mut client = WireClient::connect(target.addr).map_err(|e| format!("flooder: {e}"))?;
    if kind == Kind::History {
        let name = format!("flooder{}", std::process::id());
        let reply = client
            .request(Request::Register {
                username: name.clone(),
                password: "flood password".into(),
            })
            .map_err(|e| format!("flooder: {e}"))?;
        if !matches!(reply, Reply::Registered { .. }) {
            return Err(format!("flooder: cannot register: {reply:?}"));
        }
        let body = "\u{4e2d}".repeat(4000);
        for n in 1..=50 {
            let reply = client
                .request(Request::Send {
                    client_message_id: n,
                    to: WireRecipient::User(name.clone()),
                    body: body.clone(),
                })
                .map_err(|e| format!("flooder: {e}"))?;
            if !matches!(reply, Reply::Sent { .. }) {
                return Err(format!("flooder: cannot send: {reply:?}"));
            }
        }
    }
    Ok(client.into_stream())
}

/// About 64 KiB of the flood's request, repeated.
fn flood_chunk(kind: Kind) -> Result<Vec<u8>, String> {
    let request = match kind {
        Kind::Ping => Request::Ping,
        Kind::History => Request::History {
            with: WireRecipient::User(format!("flooder{}", std::process::id())),
            before: None,
            limit: Some(500),
        },
    };
    let frame = ClientFrame::Request { id: 1, request };
    let mut chunk = Vec::new();
    while chunk.len() < 64 * 1024 {
        encode_frame(&frame, FRAME_BYTES_MAX, &mut chunk).map_err(|e| e.to_string())?;
    }
    Ok(chunk)
}

/// Writes `chunk` over and over on a thread, never reading, until `stop` or an error (which
/// the thread returns: the server closed the connection). Whole chunks, however writes are cut.
pub fn spawn_flood(
    mut stream: TcpStream,
    chunk: Vec<u8>,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
) -> Result<std::thread::JoinHandle<std::io::Result<()>>, String> {
    stream
        .set_write_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    Ok(std::thread::spawn(move || {
        let mut offset = 0;
        while !stop.load(Ordering::SeqCst) {
            match stream.write(&chunk[offset..]) {
                Ok(n) => {
                    offset = (offset + n) % chunk.len();
                    written.fetch_add(n as u64, Ordering::SeqCst);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }))
}

/// Sends SIGTERM to `pid` during the flood and times how long it takes to exit (30 s at most).
fn stop_and_time(pid: u32) -> Option<Duration> {
    let pid_t = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: kill sends a signal to a process id; it touches no memory of ours.
    if unsafe { libc::kill(pid_t, libc::SIGTERM) } != 0 {
        return None;
    }
    let sent = Instant::now();
    while sent.elapsed() < Duration::from_secs(30) {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for its parent: it has exited.
        let after_name = state.rfind(')').and_then(|i| state.get(i + 2..i + 3));
        if after_name.is_none_or(|s| s == "Z") {
            return Some(sent.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |bytes: Option<u64>| {
            bytes.map_or("?".to_string(), |b| {
                format!("{:.1} MiB", b as f64 / 1048576.0)
            })
        };
        writeln!(f, "flood ({:?}) against {}", self.kind, self.label)?;
        writeln!(
            f,
            "  flood written: {:.1} MiB",
            self.flood_bytes as f64 / 1048576.0
        )?;
        writeln!(
            f,
            "  bystander: {} pings, wait p50 {:.2} ms, max {:.2} ms",
            self.pings,
            self.wait_p50.as_secs_f64() * 1e3,
            self.wait_max.as_secs_f64() * 1e3
        )?;
        writeln!(
            f,
            "  server memory: {} before, {} peak",
            mib(self.memory_before),
            mib(self.memory_peak)
        )?;
        match self.stopped_in {
            Some(time) => writeln!(f, "  SIGTERM during the flood: exited in {time:.2?}"),
            None => writeln!(
                f,
                "  SIGTERM during the flood: no exit within 30 s (or no pid)"
            ),
        }
    }
}
