//! `chat-client`: parses the command line and runs the client.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chat::server::config::DEFAULT_PORT;
use clap::Parser;

/// What `--help` shows after the options: the commands typed inside a session.
const AFTER_HELP: &str = "\
Inside a session (type /help for this list again):
  /send <user|#group> <text>      send <text> to a person or a group
  /query <user|#group>            send plain lines there; /query alone ends it
  /history <user|#group> [count]  show your last messages there (50 unless you give a count)
  /unread                         list the conversations with unread messages
  /create #group [user ...]       start a group, with these people in it
  /invite #group <user>           add someone (owner and admins)
  /kick #group <user>             remove someone (owner; admins remove plain members)
  /leave #group                   leave (an owner hands over first with /owner)
  /owner #group <user>            hand the group to another member (owner)
  /admin #group <user>            make a member an admin (owner)
  /members #group                 list the members, their roles, who is online
  /groups                         list your groups
  /help                           show the commands
  quit                            leave (or /quit, Ctrl-D; Ctrl-C on an empty line)

When the connection drops, the client reconnects by itself (2 s, then longer, up to 30 s
between tries), logs in again, sends what was typed meanwhile and shows what was missed.";

/// A terminal chat client. At a terminal it asks for a username and password; from a pipe or a
/// file it reads them as the first two lines, then one command per line.
#[derive(Parser, Debug)]
#[command(version, about, after_help = AFTER_HELP)]
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
    let args = Args::parse();
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
