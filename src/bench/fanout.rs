//! `chat-bench fanout`: a group of N online members; one member sends, and a probe client
//! outside the group measures how long its ping waits meanwhile: the delay a fan-out imposes on
//! everyone else. Also reports the server's CPU time per fan-out and how soon every member has
//! the message.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chat_wire::{Event, Reply, Request, WireRecipient};

use super::server_process::{ServerProcess, cpu_time_of};
use super::wire_client::WireClient;

const PASSWORD: &str = "fan-out benchmark";
const GROUP: &str = "fanout";

pub struct Options {
    pub members: usize,
    pub rounds: usize,
    /// Start a server on this store; `None` with `server` set uses a running one.
    pub spawn: Option<String>,
    pub server: Option<SocketAddr>,
    /// Extra flags for a server started here.
    pub server_flags: Vec<String>,
}

/// Durations, sorted, with the quantiles a report quotes.
pub struct Sample(Vec<Duration>);

impl Sample {
    fn new(mut values: Vec<Duration>) -> Self {
        values.sort();
        Sample(values)
    }

    pub fn quantile(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let at = ((self.0.len() - 1) as f64 * q).round() as usize;
        self.0[at.min(self.0.len() - 1)]
    }

    pub fn max(&self) -> Duration {
        self.0.last().copied().unwrap_or_default()
    }
}

pub struct Report {
    pub members: usize,
    pub rounds: usize,
    /// Probe ping round trips with nothing else going on.
    pub idle_ping: Sample,
    /// Probe ping round trips sent right after each group message.
    pub loaded_ping: Sample,
    /// From the send until the last member had read the message.
    pub all_delivered: Sample,
    /// Server CPU time per fan-out, if the server was started here.
    pub server_cpu_per_fanout: Option<Duration>,
}

fn err(what: &str) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

pub fn run(options: &Options) -> Result<Report, String> {
    let spawned = match &options.spawn {
        Some(store) => {
            let flags: Vec<&str> = options.server_flags.iter().map(String::as_str).collect();
            Some(ServerProcess::spawn(store, &flags)?)
        }
        None => None,
    };
    let addr = match (&spawned, options.server) {
        (Some(server), _) => server.addr,
        (None, Some(addr)) => addr,
        (None, None) => return Err("give --spawn STORE or --server ADDR".into()),
    };
    let names: Vec<String> = (0..options.members).map(|i| format!("fan{i:05}")).collect();
    eprintln!("registering {} members...", names.len());
    let mut members = names
        .iter()
        .map(|name| register(addr, name))
        .collect::<Result<Vec<_>, _>>()?;
    let mut probe = register(addr, "fanprobe")?;
    let others: Vec<String> = names.iter().skip(1).cloned().collect();
    let created = members[0]
        .request(Request::CreateGroup {
            group: GROUP.into(),
            members: others,
        })
        .map_err(err("create"))?;
    if !matches!(created, Reply::GroupChanged(Some(_))) {
        return Err(format!("creating the group failed: {created:?}"));
    }
    for member in &mut members[1..] {
        member.next_event().map_err(err("creation notice"))?;
    }

    let idle_ping = Sample::new(
        (0..options.rounds)
            .map(|_| ping(&mut probe))
            .collect::<Result<_, _>>()?,
    );

    eprintln!("{} fan-outs to {} members...", options.rounds, names.len());
    let cpu_before = spawned.as_ref().and_then(|s| cpu_time_of(s.pid()));
    let mut loaded = Vec::with_capacity(options.rounds);
    let mut delivered = Vec::with_capacity(options.rounds);
    for round in 0..options.rounds {
        let start = Instant::now();
        let sent = members[0]
            .send(Request::Send {
                client_message_id: round as u64,
                to: WireRecipient::Group(GROUP.into()),
                body: format!("fan-out {round}"),
            })
            .map_err(err("send"))?;
        loaded.push(ping(&mut probe)?);
        let mut events = Vec::new();
        let ack = members[0].reply_to(sent, &mut events).map_err(err("ack"))?;
        let Reply::Sent { message_id, .. } = ack else {
            return Err(format!("the group message was refused: {ack:?}"));
        };
        for member in &mut members[1..] {
            match member.next_event().map_err(err("delivery"))? {
                Event::Message(m) if m.id == message_id => {}
                other => return Err(format!("expected message {message_id}, got {other:?}")),
            }
        }
        delivered.push(start.elapsed());
    }
    let cpu_after = spawned.as_ref().and_then(|s| cpu_time_of(s.pid()));
    let server_cpu_per_fanout = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) => {
            Some((after.saturating_sub(before)) / u32::try_from(options.rounds.max(1)).unwrap_or(1))
        }
        _ => None,
    };
    Ok(Report {
        members: options.members,
        rounds: options.rounds,
        idle_ping,
        loaded_ping: Sample::new(loaded),
        all_delivered: Sample::new(delivered),
        server_cpu_per_fanout,
    })
}

fn register(addr: SocketAddr, name: &str) -> Result<WireClient, String> {
    let mut client = WireClient::connect(addr).map_err(err("connect"))?;
    let reply = client
        .request(Request::Register {
            username: name.into(),
            password: PASSWORD.into(),
        })
        .map_err(err("register"))?;
    match reply {
        Reply::Registered { .. } => Ok(client),
        other => Err(format!("registering {name} failed: {other:?}")),
    }
}

fn ping(probe: &mut WireClient) -> Result<Duration, String> {
    let start = Instant::now();
    match probe.request(Request::Ping).map_err(err("ping"))? {
        Reply::Pong => Ok(start.elapsed()),
        other => Err(format!("expected Pong, got {other:?}")),
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        writeln!(
            f,
            "fan-out: {} rounds, one message each to a group of {} online members",
            self.rounds, self.members
        )?;
        for (label, sample) in [
            ("probe ping, idle server      ", &self.idle_ping),
            ("probe ping, during a fan-out ", &self.loaded_ping),
            ("send until all members had it", &self.all_delivered),
        ] {
            writeln!(
                f,
                "  {label}  p50 {:8.0} us  p99 {:8.0} us  max {:8.0} us",
                us(sample.quantile(0.5)),
                us(sample.quantile(0.99)),
                us(sample.max())
            )?;
        }
        if let Some(cpu) = self.server_cpu_per_fanout {
            let per_delivery = cpu.as_secs_f64() * 1e9 / self.members.max(1) as f64;
            writeln!(
                f,
                "  server CPU per fan-out {:.0} us ({per_delivery:.0} ns per member)",
                us(cpu)
            )?;
        }
        Ok(())
    }
}
