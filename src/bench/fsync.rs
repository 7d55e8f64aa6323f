//! `fsync`: how long this disk takes to make a small write durable, the floor under every
//! `--keep-data` commit, so that latency figures can be quoted beside it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::server_process::{describe_steal, machine_steal_time, since, temp_dir};

/// Bytes appended before each sync: one SQLite page of ours, about one commit of a quiet turn.
const WRITE_BYTES: usize = 16 * 1024;
/// The longest sync the report tells apart: ten minutes.
const SYNC_MICROS_MAX: u64 = 600_000_000;

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
    timed: Timed,
    /// The machine's steal time during the run.
    steal: Option<Duration>,
}

/// What the syncs took: from when each was due (paced) or began, and each by itself.
struct Timed {
    from_due: Histogram<u64>,
    each: Histogram<u64>,
}

/// Appends `WRITE_BYTES` and calls `fdatasync` `syncs` times on a file in the directory the
/// spawned servers keep their data in, back to back or at a pace, timing each pair.
pub fn run(options: &Options) -> Result<Report, String> {
    let dir = temp_dir("fsync");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let steal_before = machine_steal_time();
    let measured = measure(&dir, options);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Report {
        dir,
        syncs: options.syncs,
        per_second: options.per_second,
        timed: measured?,
        steal: since(steal_before, machine_steal_time),
    })
}

fn measure(dir: &std::path::Path, options: &Options) -> Result<Timed, String> {
    let path = dir.join("synced");
    let mut file: File = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    // Bounds that hold any wait: a histogram that only grows as it records (`new`) clamped
    // every sync past 2 ms to its range, hiding the disk's stalls.
    let histogram = || {
        Histogram::<u64>::new_with_bounds(1, SYNC_MICROS_MAX, 3)
            .map_err(|e| format!("cannot make a histogram: {e}"))
    };
    let mut timed = Timed {
        from_due: histogram()?,
        each: histogram()?,
    };
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
        let began = Instant::now();
        file.write_all(&page)
            .and_then(|()| file.sync_data())
            .map_err(|e| format!("cannot write and sync {}: {e}", path.display()))?;
        let micros_since =
            |at: Instant| u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX);
        timed
            .from_due
            .saturating_record(micros_since(due.unwrap_or(began)).max(1));
        timed.each.saturating_record(micros_since(began).max(1));
    }
    Ok(timed)
}

/// `p50 ..  p99 ..  p99.9 ..  max ..` of `micros`.
fn quantiles(micros: &Histogram<u64>) -> String {
    format!(
        "p50 {}  p99 {}  p99.9 {}  max {}",
        micros.value_at_quantile(0.5),
        micros.value_at_quantile(0.99),
        micros.value_at_quantile(0.999),
        micros.max()
    )
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
            "  write + fdatasync (us): {}",
            quantiles(&self.timed.from_due)
        )?;
        if self.per_second.is_some() {
            // What one sync waited for the disk, without the queue behind a slow one: what a
            // commit that syncs waits at that pace.
            writeln!(f, "  each by itself (us): {}", quantiles(&self.timed.each))?;
        }
        if let Some(steal) = self.steal {
            writeln!(f, "{}", describe_steal(steal))?;
        }
        Ok(())
    }
}
