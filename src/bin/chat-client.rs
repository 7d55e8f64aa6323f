//! `chat-client`: parses the command line and runs the client.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chat::server::config::DEFAULT_PORT;
use clap::{CommandFactory, FromArgMatches, Parser};

/// A terminal chat client. At a terminal it asks for a username and password; from a pipe or a
/// file it reads them as the first two lines, then one command per line.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The server's address, host:port. Give it more than once (or a comma list) to name
    /// several servers: the client tries them in turn, at start and when it reconnects.
    #[arg(long, value_delimiter = ',', default_values_t = [format!("127.0.0.1:{DEFAULT_PORT}")])]
    server: Vec<String>,
    /// Speak TLS, and check the server's certificate (its name or IP must be the host given
    /// in --server).
    #[arg(long)]
    tls: bool,
    /// With --tls: trust the certificate authorities in this PEM file rather than the
    /// system's.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// From a pipe or a file (not at a terminal): how long to keep reconnecting after the
    /// connection is lost before exiting 1 with what was not delivered. At a terminal the
    /// client keeps trying until you quit.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    reconnect_for: u64,
}

fn main() -> ExitCode {
    // `--help` ends with the commands used inside a session, as `/help` shows them.
    let matches = Args::command()
        .after_help(format!("In a session:\n{}", chat::client::help()))
        .get_matches();
    let args = match Args::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    if args.ca.is_some() && !args.tls {
        eprintln!(
            "chat-client: --ca needs --tls: it names the authorities that sign the server's TLS certificate. Add --tls, or leave --ca out."
        );
        return ExitCode::from(2);
    }
    let tls = if args.tls {
        let ca = args
            .ca
            .unwrap_or_else(|| PathBuf::from(chat::tls::SYSTEM_CA_FILE));
        match chat::tls::client_config(&ca) {
            Ok(config) => Some(config),
            Err(e) => {
                eprintln!("chat-client: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let servers: Vec<String> = args
        .server
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if servers.is_empty() {
        eprintln!("chat-client: --server needs an address, host:port.");
        return ExitCode::from(2);
    }
    let exit = chat::client::run(
        chat::client::Endpoint { servers, tls },
        Duration::from_secs(args.reconnect_for),
    );
    if let Some(reason) = &exit.reason {
        eprintln!("chat-client: {reason}");
    }
    ExitCode::from(exit.status)
}
