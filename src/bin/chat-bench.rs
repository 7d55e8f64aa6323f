//! `chat-bench`: runs one benchmark mode against a server it starts or one already running.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use chat::bench::load::{self, Pace};
use chat::bench::target::{Target, TargetOptions};
// A run holds a socket per client, past the usual soft limit of 1,024 open files; servers
// started here inherit the raised limit.
use chat::bench::{fanout, flood, fsync, history, idle};
use chat::open_files;
use chat::store::StoreKind;
use clap::{Args, Parser, Subcommand};

/// Load generator for chat-server (and, for comparison, IRC servers). Loopback only; every mode
/// is bounded in count and time and stops by itself.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

/// Which server to measure.
#[derive(Args, Debug, Clone)]
struct ServerArgs {
    /// Start this server: chat-server on `sled` or `sqlite`, or `ngircd` (scripts/ngircd-bench.sh).
    #[arg(long, value_parser = ["sled", "sqlite", "ngircd"], conflicts_with = "server")]
    spawn: Option<String>,
    /// Use the server already running here instead.
    #[arg(long)]
    server: Option<SocketAddr>,
    /// The running server speaks IRC, not our protocol.
    #[arg(long, requires = "server")]
    irc: bool,
    /// The running server's PID, to report its CPU time.
    #[arg(long, requires = "server")]
    server_pid: Option<u32>,
    /// A flag for a chat-server started here (repeat for more), e.g.
    /// --server-flag=--keep-data.
    #[arg(long = "server-flag", allow_hyphen_values = true)]
    server_flags: Vec<String>,
}

impl ServerArgs {
    fn options(&self) -> TargetOptions {
        TargetOptions {
            spawn: self
                .spawn
                .clone()
                .or_else(|| self.server.is_none().then(|| "sled".to_string())),
            server: self.server,
            irc: self.irc,
            server_pid: self.server_pid,
            server_flags: self.server_flags.clone(),
        }
    }
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// N clients each send M direct messages to random others, at most W in flight (sent, not
    /// yet delivered) each, as fast as the server relays them.
    Throughput {
        #[arg(long, default_value_t = 100)]
        clients: usize,
        /// Messages each client sends.
        #[arg(long, default_value_t = 5_000)]
        messages: usize,
        /// Messages in flight per client at most.
        #[arg(long, default_value_t = 50)]
        window: usize,
        #[arg(long, default_value_t = 32)]
        body_bytes: usize,
        /// Each client writes only to the K clients after it: conversations with messages
        /// already, not new ones at random.
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
        partners: Option<u32>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// A fixed total rate of direct messages for a fixed time, spread over N clients: latency
    /// at a steady load, measured from each message's scheduled send time.
    Rate {
        #[arg(long, default_value_t = 1_000)]
        clients: usize,
        /// Messages per second, all clients together.
        #[arg(long, default_value_t = 2_000)]
        per_second: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 32)]
        body_bytes: usize,
        /// Also time a probe's pings (every 5 ms, on a connection of its own) beside the load:
        /// whether anyone waits while the server commits. Our protocol only.
        #[arg(long)]
        probe: bool,
        /// Each client writes only to the K clients after it: conversations with messages
        /// already, not new ones at random.
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
        partners: Option<u32>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Hold N logged-in connections open; report the server's resident memory per connection.
    Idle {
        #[arg(long, default_value_t = 5_000)]
        connections: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Fill a store with many messages in one conversation, start chat-server on it, and time
    /// history pages at the newest end, half way back, and at the very start.
    History {
        #[arg(long, value_parser = ["sled", "sqlite"], default_value = "sled")]
        store: String,
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        /// Pages timed at each depth.
        #[arg(long, default_value_t = 200)]
        reads: usize,
    },
    /// One member of an N-member group sends; a probe outside it measures how long its ping
    /// waits meanwhile (the delay a fan-out imposes on others).
    Fanout {
        /// Online members of the group.
        #[arg(long, default_value_t = 1_000)]
        members: usize,
        /// Group messages sent, one at a time.
        #[arg(long, default_value_t = 200)]
        rounds: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One connection sends pings (before logging in) or history requests (logged in) without
    /// reading the replies, while a bystander pings every 10 ms: its waits, the server's memory
    /// peak, and how long SIGTERM then takes.
    Flood {
        #[arg(long, value_parser = ["ping", "history"], default_value = "ping")]
        kind: String,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Time a 16 KiB append and fdatasync on the disk the spawned servers keep their data on:
    /// the floor under every `--keep-data` commit, to quote beside its latency.
    Fsync {
        #[arg(long, default_value_t = 500)]
        syncs: usize,
        /// Start one sync every 1/N s instead of back to back: the stream of syncs a kept
        /// `rate` run makes (one a commit), under which a disk may stall as it does not for a
        /// few hundred in a row
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        per_second: Option<u32>,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().mode {
        Mode::Throughput {
            clients,
            messages,
            window,
            body_bytes,
            partners,
            server,
        } => run_load(
            &server,
            load::Options {
                clients,
                pace: Pace::Window { window, messages },
                body_bytes,
                probe: false,
                partners: partners.map(|k| k as usize),
            },
        ),
        Mode::Rate {
            clients,
            per_second,
            seconds,
            body_bytes,
            probe,
            partners,
            server,
        } => run_load(
            &server,
            load::Options {
                clients,
                pace: Pace::Rate {
                    per_second,
                    duration: Duration::from_secs(seconds),
                },
                body_bytes,
                probe,
                partners: partners.map(|k| k as usize),
            },
        ),
        Mode::Idle {
            connections,
            server,
        } => {
            open_files::raise_limit(connections as u64 * 2 + 64);
            Target::start(&server.options())
                .and_then(|target| idle::run(&target, connections))
                .map(|report| report.to_string())
        }
        Mode::History {
            store,
            messages,
            reads,
        } => store
            .parse::<StoreKind>()
            .and_then(|store| {
                history::run(&history::Options {
                    store,
                    messages,
                    reads,
                })
            })
            .map(|report| report.to_string()),
        Mode::Fanout {
            members,
            rounds,
            server,
        } => {
            open_files::raise_limit(members as u64 * 2 + 64);
            let options = server.options();
            fanout::run(&fanout::Options {
                members,
                rounds,
                spawn: options.spawn,
                server: options.server,
                server_flags: options.server_flags,
            })
            .map(|report| report.to_string())
        }
        Mode::Flood {
            kind,
            seconds,
            server,
        } => {
            let kind = if kind == "history" {
                flood::Kind::History
            } else {
                flood::Kind::Ping
            };
            let options = flood::Options {
                kind,
                duration: Duration::from_secs(seconds),
            };
            Target::start(&server.options())
                .and_then(|target| flood::run(&target, &options))
                .map(|report| report.to_string())
        }
        Mode::Fsync { syncs, per_second } => {
            fsync::run(&fsync::Options { syncs, per_second }).map(|report| report.to_string())
        }
    };
    match result {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("chat-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_load(server: &ServerArgs, options: load::Options) -> Result<String, String> {
    open_files::raise_limit(options.clients as u64 * 2 + 64);
    let target = Target::start(&server.options())?;
    load::run(&target, &options).map(|report| report.to_string())
}
