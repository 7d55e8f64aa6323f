//! `fsync`: how long this disk takes to make a small write durable, the floor under every
//! `--keep-data` commit, so that latency figures can be quoted beside it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use hdrhistogram::Histogram;

use super::server_process::temp_dir;

/// Bytes appended before each sync: one SQLite page of ours, about one commit of a quiet turn.
const WRITE_BYTES: usize = 16 * 1024;

pub struct Options {
    /// Appends and syncs timed.
    pub syncs: usize,
}

pub struct Report {
    dir: PathBuf,
    syncs: usize,
    micros: Histogram<u64>,
}

/// Appends `WRITE_BYTES` and calls `fdatasync` `syncs` times on a file in the directory the
/// spawned servers keep their data in, timing each pair.
pub fn run(options: &Options) -> Result<Report, String> {
    let dir = temp_dir("fsync");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let measured = measure(&dir, options.syncs);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Report {
        dir,
        syncs: options.syncs,
        micros: measured?,
    })
}

fn measure(dir: &std::path::Path, syncs: usize) -> Result<Histogram<u64>, String> {
    let path = dir.join("synced");
    let mut file: File = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut micros =
        Histogram::<u64>::new(3).map_err(|e| format!("cannot make a histogram: {e}"))?;
    let page = vec![0x5a_u8; WRITE_BYTES];
    for _ in 0..syncs {
        let started = Instant::now();
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
        writeln!(
            f,
            "fsync: {} appends of {} KiB, each followed by fdatasync, in {}",
            self.syncs,
            WRITE_BYTES / 1024,
            self.dir.display()
        )?;
        writeln!(
            f,
            "  write + fdatasync (us): p50 {}  p99 {}  max {}",
            self.micros.value_at_quantile(0.5),
            self.micros.value_at_quantile(0.99),
            self.micros.max()
        )
    }
}
