//! `chat-bench`: runs one benchmark mode against a server it starts or one already running.

use std::net::SocketAddr;
use std::process::ExitCode;

use chat::bench::fanout;
use clap::{Parser, Subcommand};

/// Load generator for chat-server. Loopback only; every mode is bounded and stops by itself.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// One member of an N-member group sends; a probe outside it measures how long its ping
    /// waits meanwhile (the delay a fan-out imposes on others).
    Fanout {
        /// Online members of the group.
        #[arg(long, default_value_t = 1_000)]
        members: usize,
        /// Group messages sent, one at a time.
        #[arg(long, default_value_t = 200)]
        rounds: usize,
        /// Start a server on this store (the chat-server binary beside this one).
        #[arg(long, value_parser = ["sled", "sqlite"], conflicts_with = "server")]
        spawn: Option<String>,
        /// Use the server already running here.
        #[arg(long)]
        server: Option<SocketAddr>,
        /// A flag for the server started with --spawn (repeat for more), e.g.
        /// --server-flag=--delivery-writes-per-turn=64.
        #[arg(long = "server-flag", allow_hyphen_values = true)]
        server_flags: Vec<String>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().mode {
        Mode::Fanout {
            members,
            rounds,
            spawn,
            server,
            server_flags,
        } => {
            raise_open_files_limit(members as u64 * 2 + 64);
            let options = fanout::Options {
                members,
                rounds,
                spawn: spawn.or_else(|| server.is_none().then(|| "sled".to_string())),
                server,
                server_flags,
            };
            match fanout::run(&options) {
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
    }
}

/// A run holds a socket per member, past the usual soft limit of 1,024 open files.
fn raise_open_files_limit(wanted: u64) {
    // SAFETY: getrlimit/setrlimit read and write one rlimit struct this function owns.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
