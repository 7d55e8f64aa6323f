//! `fsync`: how long this disk takes to make a small write durable, the floor under every
//! `--keep-data` commit, so that latency figures can be quoted beside it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::server_process::temp_dir;

/// Bytes appended before each sync: one SQLite page of ours, about one commit of a quiet turn.
const WRITE_BYTES: usize = 16 * 1024;

pub struct Options {
    /// Appends and syncs timed.
    pub syncs: usize,
    /// One started every 1/N s; `None`: back to back.
    pub per_second: Option<u32>,
}

pub struct Report {
    dir: PathBuf,
    syncs: usize,
    per_second: Option<u32>,
    micros: Histogram<u64>,
}

/// Appends `WRITE_BYTES` and calls `fdatasync` `syncs` times on a file in the directory the
/// spawned servers keep their data in, back to back or at a pace, timing each pair.
pub fn run(options: &Options) -> Result<Report, String> {
    let dir = temp_dir("fsync");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let measured = measure(&dir, options);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Report {
        dir,
        syncs: options.syncs,
        per_second: options.per_second,
        micros: measured?,
    })
}

fn measure(dir: &std::path::Path, options: &Options) -> Result<Histogram<u64>, String> {
    let path = dir.join("synced");
    let mut file: File = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut micros =
        Histogram::<u64>::new(3).map_err(|e| format!("cannot make a histogram: {e}"))?;
    let page = vec![0x5a_u8; WRITE_BYTES];
    let every = options
        .per_second
        .map(|n| Duration::from_secs(1) / n.max(1));
    let first = Instant::now();
    for n in 0..options.syncs {
        // On schedule: a sync that ran late is followed at once by the next, not later.
        let due = every
            .and_then(|every| every.checked_mul(u32::try_from(n).ok()?))
            .and_then(|offset| first.checked_add(offset));
        if let Some(due) = due {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        // Paced, a sync is timed from when it was due, as `rate` times a message from when
        // it was to be sent: a stall then counts once for every sync that waited behind it.
        let started = due.unwrap_or_else(Instant::now);
        file.write_all(&page)
            .and_then(|()| file.sync_data())
            .map_err(|e| format!("cannot write and sync {}: {e}", path.display()))?;
        let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        micros.saturating_record(elapsed);
    }
    Ok(micros)
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pace = match self.per_second {
            Some(n) => format!("{n} a second, each timed from when it was due"),
            None => "back to back".to_string(),
        };
        writeln!(
            f,
            "fsync: {} appends of {} KiB, each followed by fdatasync, {pace}, in {}",
            self.syncs,
            WRITE_BYTES / 1024,
            self.dir.display()
        )?;
        writeln!(
            f,
            "  write + fdatasync (us): p50 {}  p99 {}  p99.9 {}  max {}",
            self.micros.value_at_quantile(0.5),
            self.micros.value_at_quantile(0.99),
            self.micros.value_at_quantile(0.999),
            self.micros.max()
        )
    }
}
