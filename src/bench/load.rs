//! `throughput` and `rate`: N clients send direct messages to random others, on one thread that
//! waits on every socket with `polling`. Throughput keeps at most W messages per client in
//! flight (sent, not yet delivered) and goes as fast as the server relays; rate sends a fixed
//! total rate for a fixed time and measures latency from each message's scheduled time, so a
//! stall is counted, not hidden. Every message is accounted for: delivered, lost or duplicated.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use polling::{Event, Events, PollMode, Poller};

use super::peer::{Codec, Incoming};
use super::probe::{self, Probe};
use super::server_process::{cpu_time_of, describe_steal, machine_steal_time, own_cpu_time, since};
use super::target::Target;

/// Waiting for one connection to be accepted, at most.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Waiting for the server to log everyone in, at most.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);
/// With nothing delivered for this long, what is missing is lost.
const STALL_TIMEOUT: Duration = Duration::from_secs(5);
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// How messages are paced.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// As fast as delivery allows, at most `window` in flight per client, `messages` each.
    Window { window: usize, messages: usize },
    /// `per_second` in total, spread over the clients, for `duration`.
    Rate { per_second: u64, duration: Duration },
}

#[derive(Debug, Clone)]
pub struct Options {
    pub clients: usize,
    pub pace: Pace,
    pub body_bytes: usize,
    /// Time a probe's pings beside the load (`probe.rs`).
    pub probe: bool,
    /// Each client writes only to this many clients after it (round the ring, at least 1, at
    /// most everyone else), so past the first messages each goes into a conversation that has
    /// some; `None`: to anyone, at random (in `rate --clients 1000`, 98 % of the messages open
    /// a conversation; with 4 partners, 20 %).
    pub partners: Option<usize>,
}

impl Options {
    /// `partners` as used: at least 1, at most everyone else.
    fn partners_each(&self) -> Option<usize> {
        let others = self.clients.saturating_sub(1).max(1);
        self.partners.map(|partners| partners.clamp(1, others))
    }
}

pub struct Report {
    pub label: String,
    pub options: Options,
    pub expected: u64,
    pub delivered: u64,
    pub duplicated: u64,
    pub elapsed: Duration,
    /// Send (or scheduled send) to delivery, in nanoseconds.
    pub latency: Histogram<u64>,
    pub server_cpu: Option<Duration>,
    pub bench_cpu: Option<Duration>,
    /// The machine's steal time during the run (`machine_steal_time`).
    pub steal: Option<Duration>,
    /// The probe's ping round trips, in nanoseconds, with `Options::probe`.
    pub probe: Option<Histogram<u64>>,
}

struct Client {
    stream: TcpStream,
    codec: Codec,
    name: String,
    out: Vec<u8>,
    ready: bool,
    /// Messages sent so far; the next one's sequence number.
    sent: usize,
    in_flight: usize,
    /// When each message was sent (or scheduled), by sequence number.
    sent_at: Vec<Instant>,
    delivered: Vec<bool>,
    /// Registered for writability: output is waiting.
    writable_interest: bool,
}

fn io_err(what: &'static str) -> impl Fn(io::Error) -> String {
    move |e| format!("{what}: {e}")
}

/// A small xorshift generator: reproducible runs without a dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A client other than `not`, out of `count` (at least 2): one of the `partners` after
    /// it (1 to `count - 1`), or any.
    fn other(&mut self, count: usize, not: usize, partners: Option<usize>) -> usize {
        let others = partners.unwrap_or(count - 1);
        assert!((1..count).contains(&others));
        let ahead = 1 + (self.next() % others as u64) as usize;
        (not + ahead) % count
    }
}

pub fn run(target: &Target, options: &Options) -> Result<Report, String> {
    if options.clients < 2 {
        return Err("at least 2 clients".into());
    }
    let poller = Poller::new().map_err(io_err("poller"))?;
    let mut clients = connect_all(target, options.clients, &poller)?;
    log_in_all(&poller, &mut clients)?;

    let expected = match options.pace {
        Pace::Window { messages, .. } => (messages * options.clients) as u64,
        Pace::Rate {
            per_second,
            duration,
        } => (per_second as f64 * duration.as_secs_f64()) as u64,
    };
    let mut latency =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())?;
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let partners = options.partners_each();
    let padding = "x".repeat(options.body_bytes.saturating_sub(16));
    let (mut delivered, mut duplicated, mut scheduled) = (0u64, 0u64, 0u64);
    let probe = options.probe.then(|| Probe::start(target)).transpose()?;
    let server_cpu_before = target.pid.and_then(cpu_time_of);
    let bench_cpu_before = own_cpu_time();
    let steal_before = machine_steal_time();
    let start = Instant::now();
    let mut last_progress = start;
    let mut last_delivery = start;
    let mut events = Events::new();
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    while delivered < expected {
        let now = Instant::now();
        // Send what is due.
        match options.pace {
            Pace::Window { window, messages } => {
                for i in 0..clients.len() {
                    while clients[i].sent < messages && clients[i].in_flight < window {
                        let to = random.other(clients.len(), i, partners);
                        queue_message(&mut clients, i, to, &padding, now);
                    }
                }
            }
            Pace::Rate { per_second, .. } => {
                // Message k is due at start + k / rate: k = 0 at once.
                let due = ((now - start).as_secs_f64() * per_second as f64) as u64 + 1;
                while scheduled < due.min(expected) {
                    let at = start + Duration::from_secs_f64(scheduled as f64 / per_second as f64);
                    let i = (scheduled % clients.len() as u64) as usize;
                    let to = random.other(clients.len(), i, partners);
                    queue_message(&mut clients, i, to, &padding, at);
                    scheduled += 1;
                }
            }
        }
        for (key, client) in clients.iter_mut().enumerate() {
            flush(&poller, key, client)?;
        }
        let timeout = match options.pace {
            Pace::Window { .. } => Duration::from_millis(50),
            // Wake exactly when the next message is due (polling times out with a timerfd, to
            // the microsecond): late sends would count as server latency.
            Pace::Rate { per_second, .. } if scheduled < expected => {
                let next = start + Duration::from_secs_f64(scheduled as f64 / per_second as f64);
                next.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(50))
            }
            Pace::Rate { .. } => Duration::from_millis(50),
        };
        events.clear();
        poller
            .wait(&mut events, Some(timeout))
            .map_err(io_err("poll"))?;
        let now = Instant::now();
        for event in events.iter() {
            let key = event.key;
            if event.writable {
                flush(&poller, key, &mut clients[key])?;
            }
            if !event.readable {
                continue;
            }
            let received = read_into(&mut clients[key], &mut buffer)?;
            for incoming in received {
                match incoming {
                    Incoming::Delivered(body) => {
                        let Some((from, seq)) = parse_body(&body) else {
                            continue;
                        };
                        let Some(sender) = clients.get_mut(from) else {
                            continue;
                        };
                        if seq >= sender.sent_at.len() {
                            continue;
                        }
                        if sender.delivered[seq] {
                            duplicated += 1;
                            continue;
                        }
                        sender.delivered[seq] = true;
                        sender.in_flight -= 1;
                        delivered += 1;
                        last_progress = now;
                        last_delivery = now;
                        let nanos = now
                            .saturating_duration_since(sender.sent_at[seq])
                            .as_nanos();
                        // Past the histogram's minute, counted as a minute, never dropped.
                        latency.saturating_record(u64::try_from(nanos).unwrap_or(u64::MAX).max(1));
                    }
                    Incoming::Answer(bytes) => clients[key].out.extend_from_slice(&bytes),
                    Incoming::Ready | Incoming::Other => {}
                }
            }
        }
        let sending_done = match options.pace {
            Pace::Window { messages, .. } => clients.iter().all(|c| c.sent >= messages),
            Pace::Rate { .. } => scheduled >= expected,
        };
        if sending_done && now - last_progress > STALL_TIMEOUT {
            break;
        }
    }
    let elapsed = last_delivery - start;
    let probe = probe.map(Probe::finish).transpose()?;
    let server_cpu = match (server_cpu_before, target.pid.and_then(cpu_time_of)) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    let bench_cpu = match (bench_cpu_before, own_cpu_time()) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    Ok(Report {
        label: target.label.clone(),
        options: options.clone(),
        expected,
        delivered,
        duplicated,
        elapsed,
        latency,
        server_cpu,
        bench_cpu,
        steal: since(steal_before, machine_steal_time),
        probe,
    })
}

/// Connections logged in and idle, for the `idle` mode: they stay open while this lives.
pub struct Idle {
    _poller: Poller,
    _clients: Vec<Client>,
}

/// Opens `count` connections to `target` and logs each in.
pub fn open_idle(target: &Target, count: usize) -> Result<Idle, String> {
    let poller = Poller::new().map_err(io_err("poller"))?;
    let mut clients = connect_all(target, count, &poller)?;
    log_in_all(&poller, &mut clients)?;
    Ok(Idle {
        _poller: poller,
        _clients: clients,
    })
}

fn connect_all(target: &Target, count: usize, poller: &Poller) -> Result<Vec<Client>, String> {
    (0..count)
        .map(|i| {
            // Bounded: a server that stops accepting ends the run instead of hanging it.
            let stream = TcpStream::connect_timeout(&target.addr, CONNECT_TIMEOUT)
                .map_err(|e| format!("connection {i}: {e}"))?;
            stream.set_nodelay(true).map_err(io_err("nodelay"))?;
            stream
                .set_nonblocking(true)
                .map_err(io_err("nonblocking"))?;
            // SAFETY: every client's socket lives until the run ends, after the poller is done
            // with it (the poller is dropped with the run).
            unsafe {
                poller
                    .add_with_mode(&stream, Event::readable(i), PollMode::Level)
                    .map_err(io_err("poll add"))?;
            }
            let mut codec = Codec::new(target.protocol);
            let name = format!("b{i:05}");
            let mut out = Vec::new();
            codec.login(&name, &mut out);
            Ok(Client {
                stream,
                codec,
                name,
                out,
                ready: false,
                sent: 0,
                in_flight: 0,
                sent_at: Vec::new(),
                delivered: Vec::new(),
                writable_interest: false,
            })
        })
        .collect()
}

/// Logins in flight at most: the server hashes each password on a bounded queue (256 jobs) and
/// answers `server_busy` past it, as it should.
const LOGINS_IN_FLIGHT_MAX: usize = 64;

fn log_in_all(poller: &Poller, clients: &mut [Client]) -> Result<(), String> {
    let deadline = Instant::now() + LOGIN_TIMEOUT;
    let mut events = Events::new();
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    // Clients below `started` have sent their login.
    let mut started = 0;
    loop {
        let ready = clients.iter().filter(|c| c.ready).count();
        while started < clients.len() && started - ready < LOGINS_IN_FLIGHT_MAX {
            flush(poller, started, &mut clients[started])?;
            started += 1;
        }
        if ready == clients.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let waiting = clients.iter().filter(|c| !c.ready).count();
            return Err(format!(
                "{waiting} clients were not logged in after {LOGIN_TIMEOUT:?}"
            ));
        }
        events.clear();
        poller
            .wait(&mut events, Some(Duration::from_millis(100)))
            .map_err(io_err("poll"))?;
        for event in events.iter() {
            let client = &mut clients[event.key];
            if event.writable {
                flush(poller, event.key, client)?;
            }
            if event.readable {
                for incoming in read_into(client, &mut buffer)? {
                    match incoming {
                        Incoming::Ready => client.ready = true,
                        Incoming::Answer(bytes) => client.out.extend_from_slice(&bytes),
                        _ => {}
                    }
                }
                flush(poller, event.key, client)?;
            }
        }
    }
}

fn queue_message(clients: &mut [Client], from: usize, to: usize, padding: &str, at: Instant) {
    let to_name = clients[to].name.clone();
    let client = &mut clients[from];
    let seq = client.sent;
    let body = format!("{from}:{seq}:{padding}");
    let Client { codec, out, .. } = client;
    codec.message(&to_name, &body, out);
    client.sent_at.push(at);
    client.delivered.push(false);
    client.sent += 1;
    client.in_flight += 1;
}

/// `from:seq:padding` back to `(from, seq)`.
fn parse_body(body: &str) -> Option<(usize, usize)> {
    let mut parts = body.splitn(3, ':');
    let from = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    Some((from, seq))
}

/// Writes what the socket takes; asks for writability while anything is left.
fn flush(poller: &Poller, key: usize, client: &mut Client) -> Result<(), String> {
    let mut written = 0;
    while written < client.out.len() {
        match client.stream.write(&client.out[written..]) {
            Ok(0) => return Err(format!("{}: the server stopped reading", client.name)),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{}: write: {e}", client.name)),
        }
    }
    client.out.drain(..written);
    let want = !client.out.is_empty();
    if want != client.writable_interest {
        let interest = if want {
            Event::all(key)
        } else {
            Event::readable(key)
        };
        poller
            .modify_with_mode(&client.stream, interest, PollMode::Level)
            .map_err(io_err("poll modify"))?;
        client.writable_interest = want;
    }
    Ok(())
}

/// Reads what has arrived (one chunk) and decodes it.
fn read_into(client: &mut Client, buffer: &mut [u8]) -> Result<Vec<Incoming>, String> {
    match client.stream.read(buffer) {
        Ok(0) => return Err(format!("{}: the server closed the connection", client.name)),
        Ok(n) => client.codec.feed(&buffer[..n]),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) => {}
        Err(e) => return Err(format!("{}: read: {e}", client.name)),
    }
    let mut received = Vec::new();
    while let Some(incoming) = client
        .codec
        .next_incoming()
        .map_err(|e| format!("{}: {e}", client.name))?
    {
        received.push(incoming);
    }
    Ok(received)
}

impl Report {
    pub fn messages_per_second(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pace = match self.options.pace {
            Pace::Window { window, messages } => {
                format!("{messages} messages each, window {window}")
            }
            Pace::Rate {
                per_second,
                duration,
            } => format!("{per_second} messages/s for {} s", duration.as_secs()),
        };
        let to = match self.options.partners_each() {
            Some(1) => "each writing to 1 partner".into(),
            Some(partners) => format!("each writing to {partners} partners"),
            None => "writing to anyone".into(),
        };
        writeln!(
            f,
            "{}: {} clients {to}, {pace}, {}-byte bodies",
            self.label, self.options.clients, self.options.body_bytes
        )?;
        writeln!(
            f,
            "  delivered {} of {} (lost {}, duplicated {}) in {:.2} s: {:.0} messages/s",
            self.delivered,
            self.expected,
            self.expected - self.delivered,
            self.duplicated,
            self.elapsed.as_secs_f64(),
            self.messages_per_second()
        )?;
        let us = |q: f64| self.latency.value_at_quantile(q) as f64 / 1000.0;
        writeln!(
            f,
            "  latency to delivery (us): p50 {:.0}  p90 {:.0}  p99 {:.0}  p99.9 {:.0}  max {:.0}",
            us(0.5),
            us(0.9),
            us(0.99),
            us(0.999),
            self.latency.max() as f64 / 1000.0
        )?;
        if let Some(round_trips) = &self.probe {
            writeln!(f, "{}", probe::describe(round_trips))?;
        }
        if let Some(cpu) = self.server_cpu {
            writeln!(
                f,
                "  server CPU {:.2} s: {:.2} us a message",
                cpu.as_secs_f64(),
                cpu.as_secs_f64() * 1e6 / self.delivered.max(1) as f64
            )?;
        }
        if let Some(cpu) = self.bench_cpu {
            writeln!(
                f,
                "  load generator CPU {:.0}% of one core",
                100.0 * cpu.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)
            )?;
        }
        if let Some(steal) = self.steal {
            writeln!(f, "{}", describe_steal(steal))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Options, Pace, Random};

    #[test]
    fn a_client_writes_to_its_partners_after_it_or_to_anyone_but_itself() {
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        let mut seen = [false; 10];
        for _ in 0..1_000 {
            let to = random.other(10, 8, Some(3));
            assert!([9, 0, 1].contains(&to), "{to}");
            seen[to] = true;
            let anyone = random.other(10, 4, None);
            assert_ne!(anyone, 4);
            seen[anyone] = true;
        }
        assert_eq!(
            seen,
            [true, true, true, true, false, true, true, true, true, true]
        );
        // More partners than others: everyone else.
        let options = Options {
            clients: 3,
            pace: Pace::Window {
                window: 1,
                messages: 1,
            },
            body_bytes: 32,
            probe: false,
            partners: Some(5),
        };
        assert_eq!(options.partners_each(), Some(2));
    }
}
