//! A pseudo-terminal for the real `chat-client`: the test types keys on the master side and
//! reads everything the client draws.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::chat_client::client_command;
use super::{READ_TIMEOUT, ServerProcess};

/// A pseudo-terminal: the test holds the master side, the client gets the slave as its stdin,
/// stdout and stderr.
pub struct Pty {
    master: File,
    slave: File,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    pub fn open() -> Pty {
        // SAFETY: plain libc calls on a descriptor this function owns; ptsname_r writes a
        // NUL-terminated name into the buffer it is given.
        let master = unsafe {
            let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            assert!(fd >= 0, "posix_openpt");
            assert_eq!(libc::grantpt(fd), 0);
            assert_eq!(libc::unlockpt(fd), 0);
            OwnedFd::from_raw_fd(fd)
        };
        let mut name = [0 as libc::c_char; 128];
        let named = unsafe { libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()) };
        assert_eq!(named, 0);
        let name = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
            .to_str()
            .unwrap()
            .to_string();
        let slave = File::options().read(true).write(true).open(name).unwrap();
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize.
        assert_eq!(
            unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &size) },
            0
        );
        let master = File::from(master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Pty {
            master,
            slave,
            output,
        }
    }

    pub fn spawn_client(&self, server: &ServerProcess) -> Child {
        self.spawn(client_command(server.addr))
    }

    /// Runs `command` with the terminal as its stdin, stdout and stderr.
    pub fn spawn(&self, mut command: Command) -> Child {
        let stdio = || Stdio::from(self.slave.try_clone().unwrap());
        command
            .stdin(stdio())
            .stdout(stdio())
            .stderr(stdio())
            .spawn()
            .expect("chat-client starts")
    }

    pub fn type_keys(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
    }

    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until the terminal has shown `text`; returns everything shown so far.
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let shown = self.output();
            if shown.contains(text) {
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {text:?}; it shows {shown:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the terminal shows one of `texts`; returns which.
    pub fn wait_for_any(&self, texts: &[&str]) -> usize {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let shown = self.output();
            if let Some(at) = texts.iter().position(|text| shown.contains(text)) {
                return at;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never showed any of {texts:?}; it shows {shown:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// How much the terminal has shown so far: a mark for `wait_for_after`.
    pub fn mark(&self) -> usize {
        self.output.lock().unwrap().len()
    }

    /// Waits until the terminal shows `text` after `mark`; returns what it showed after it.
    pub fn wait_for_after(&self, mark: usize, text: &str) -> String {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let shown = {
                let output = self.output.lock().unwrap();
                String::from_utf8_lossy(&output[mark.min(output.len())..]).into_owned()
            };
            if shown.contains(text) {
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {text:?} after its mark; it shows {shown:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The terminal's local modes (ICANON, ECHO...).
    pub fn local_modes(&self) -> libc::tcflag_t {
        // SAFETY: tcgetattr fills the zeroed termios.
        let mut modes: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(
            unsafe { libc::tcgetattr(self.slave.as_raw_fd(), &mut modes) },
            0
        );
        modes.c_lflag
    }
}

pub fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "chat-client did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}
