//! What a benchmark runs against: a server it starts (chat-server on a store, or ngircd), or one
//! already running at an address, with the PID to measure if given.

use std::net::SocketAddr;

use super::peer::Protocol;
use super::server_process::ServerProcess;

/// How the command line chose the server.
#[derive(Debug, Clone, Default)]
pub struct TargetOptions {
    /// `sled`, `sqlite` or `ngircd`: start it here.
    pub spawn: Option<String>,
    /// A running server.
    pub server: Option<SocketAddr>,
    /// The running server's protocol (`--server` only).
    pub irc: bool,
    /// The running server's PID, for its CPU time and memory.
    pub server_pid: Option<u32>,
    /// Extra flags for a chat-server started here.
    pub server_flags: Vec<String>,
}

pub struct Target {
    pub addr: SocketAddr,
    pub protocol: Protocol,
    pub pid: Option<u32>,
    /// What is measured, for the report: `chat-server (sled)`, `ngircd`, or an address.
    pub label: String,
    /// Kept alive for the run; stopped when dropped.
    _process: Option<ServerProcess>,
}

impl Target {
    pub fn start(options: &TargetOptions) -> Result<Target, String> {
        match (&options.spawn, options.server) {
            (Some(name), _) if name == "ngircd" => {
                let process = ServerProcess::spawn_ngircd()?;
                Ok(Target {
                    addr: process.addr,
                    protocol: Protocol::Irc,
                    pid: Some(process.pid()),
                    label: "ngircd".into(),
                    _process: Some(process),
                })
            }
            (Some(store), _) => {
                let flags: Vec<&str> = options.server_flags.iter().map(String::as_str).collect();
                let process = ServerProcess::spawn(store, &flags)?;
                let extra = if flags.is_empty() {
                    String::new()
                } else {
                    format!(" {}", flags.join(" "))
                };
                Ok(Target {
                    addr: process.addr,
                    protocol: Protocol::Chat,
                    pid: Some(process.pid()),
                    label: format!("chat-server --store {store}{extra}"),
                    _process: Some(process),
                })
            }
            (None, Some(addr)) => Ok(Target {
                addr,
                protocol: if options.irc {
                    Protocol::Irc
                } else {
                    Protocol::Chat
                },
                pid: options.server_pid,
                label: addr.to_string(),
                _process: None,
            }),
            (None, None) => Err("give --spawn sled|sqlite|ngircd, or --server ADDR".into()),
        }
    }
}
