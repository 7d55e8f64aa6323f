//! A probe beside a load: one more connection that pings the server every few milliseconds on
//! a thread of its own and times each round trip. Under a load with `--keep-data`, it shows
//! whether anyone waits on the disk while the server commits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chat_wire::{Reply, Request};
use hdrhistogram::Histogram;

use super::target::Target;
use super::wire_client::WireClient;

/// Between one answered ping and the next.
const PING_EVERY: Duration = Duration::from_millis(5);

pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<Histogram<u64>, String>>,
}

impl Probe {
    /// Connects and starts pinging (our protocol only).
    pub fn start(target: &Target) -> Result<Probe, String> {
        let mut client = WireClient::connect(target.addr).map_err(|e| format!("the probe: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut round_trips = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
                .map_err(|e| e.to_string())?;
            while !stopping.load(Ordering::SeqCst) {
                let asked = Instant::now();
                match client.request(Request::Ping) {
                    Ok(Reply::Pong) => {}
                    Ok(other) => return Err(format!("the probe: expected Pong, got {other:?}")),
                    Err(e) => return Err(format!("the probe: {e}")),
                }
                let nanos = u64::try_from(asked.elapsed().as_nanos()).unwrap_or(u64::MAX);
                // Past the histogram's minute, counted as a minute, never dropped.
                round_trips.saturating_record(nanos.max(1));
                std::thread::sleep(PING_EVERY);
            }
            Ok(round_trips)
        });
        Ok(Probe { stop, thread })
    }

    /// Stops pinging; the round trips it timed.
    pub fn finish(self) -> Result<Histogram<u64>, String> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .join()
            .map_err(|_| "the probe panicked".to_string())?
    }
}

/// `  probe ping round trip (us): p50 .. p99 .. max .. (N pings)`
pub fn describe(round_trips: &Histogram<u64>) -> String {
    let us = |q: f64| round_trips.value_at_quantile(q) as f64 / 1000.0;
    format!(
        "  probe ping round trip (us): p50 {:.0}  p99 {:.0}  max {:.0}  ({} pings)",
        us(0.5),
        us(0.99),
        round_trips.max() as f64 / 1000.0,
        round_trips.len()
    )
}
