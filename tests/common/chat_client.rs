//! Runs the real `chat-client` binary with its stdin and stdout as pipes: lines in, lines out,
//! every wait bounded by `READ_TIMEOUT`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{PASSWORD, READ_TIMEOUT};

pub struct ClientProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Every stdout line read so far, in order.
    pub seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

/// How a client process ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<String>,
    pub stderr: String,
}

/// The command for `chat-client` against `addr`, with times shown in UTC.
pub fn client_command(addr: SocketAddr) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-client"));
    command
        .args(["--server", &addr.to_string()])
        .env("TZ", "UTC");
    command
}

impl ClientProcess {
    /// Starts the client with `stdin` (a pipe unless given).
    pub fn start_with(mut command: Command, stdin: Stdio) -> Self {
        let mut child = command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chat-client starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        ClientProcess {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    pub fn start(addr: SocketAddr) -> Self {
        Self::start_with(client_command(addr), Stdio::piped())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn write_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("writes to the client");
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Reads stdout lines until one contains `text`; returns it. Fails the test on timeout or
    /// end of output.
    pub fn expect_line(&mut self, text: &str) -> String {
        self.expect(text, |line| line.contains(text))
    }

    /// Reads stdout lines until one satisfies `wanted` (described by `what`).
    pub fn expect(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no line like {what:?} in time; saw {:?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("output ended before {what:?}; saw {:?}", self.seen)
                }
            }
        }
    }

    /// Closes stdin and waits for the exit; every stdout line, including those already seen.
    pub fn finish(mut self) -> Finished {
        self.close_stdin();
        self.wait()
    }

    /// Waits for the client to exit by itself, stdin left open.
    pub fn wait(mut self) -> Finished {
        let deadline = Instant::now() + READ_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "chat-client did not exit; saw {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stdout = std::mem::take(&mut self.seen);
        while let Ok(line) = self.lines.recv_timeout(READ_TIMEOUT) {
            stdout.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default();
        Finished {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client logged in (or registered) as `name` with the shared password, stdin left open.
pub fn logged_in(addr: SocketAddr, name: &str) -> ClientProcess {
    let mut client = ClientProcess::start(addr);
    client.write_line(name);
    client.write_line(PASSWORD);
    let greeting = format!("ogged in as {name}.");
    client.expect(&greeting, |line| {
        line.starts_with(&format!("L{greeting}"))
            || line.starts_with(&format!("Registered and l{greeting}"))
    });
    client
}

/// Runs the client over `script` (written whole, then stdin closed) to its exit.
pub fn run_script(addr: SocketAddr, script: &str) -> Finished {
    let mut client = ClientProcess::start(addr);
    if let Some(stdin) = client.stdin.as_mut() {
        // A client that stops early (server missing, wrong password) may not read it all.
        let _ = stdin.write_all(script.as_bytes());
    }
    client.finish()
}

/// Username and password lines, then `commands`, one per line.
pub fn script(name: &str, commands: &[&str]) -> String {
    let mut text = format!("{name}\n{PASSWORD}\n");
    for command in commands {
        text.push_str(command);
        text.push('\n');
    }
    text
}
