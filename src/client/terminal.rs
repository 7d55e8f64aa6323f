//! The terminal's modes: whether stdin is one, raw mode for the line editor (restored on drop),
//! and the window's width. The only unsafe code of the client, each call a plain libc one.

use std::io;

const STDIN_FD: libc::c_int = 0;
const STDOUT_FD: libc::c_int = 1;

/// True if stdin is a terminal.
pub fn stdin_is_terminal() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(STDIN_FD) == 1 }
}

/// Columns of the terminal on stdout, or 80 when it does not say (a pseudo-terminal nobody
/// sized, or not a terminal at all).
pub fn columns() -> usize {
    // SAFETY: TIOCGWINSZ writes one winsize into the zeroed struct we pass.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(STDOUT_FD, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        80
    }
}

/// Raw mode while it lives: keys arrive one by one, unechoed, Ctrl-C and Ctrl-D as bytes. Output
/// processing stays on, so `\n` still starts a new line. Dropping it restores the old mode, also
/// when the client unwinds from a panic.
pub struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    pub fn enter() -> io::Result<RawMode> {
        // SAFETY: tcgetattr fills the zeroed termios we pass.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(STDIN_FD, &mut saved) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut raw = saved;
        raw.c_iflag &= !(libc::BRKINT | libc::ICRNL | libc::INPCK | libc::ISTRIP | libc::IXON);
        raw.c_cflag |= libc::CS8;
        raw.c_lflag &= !(libc::ECHO | libc::ICANON | libc::IEXTEN | libc::ISIG);
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        // TCSADRAIN keeps keys typed ahead; TCSAFLUSH would throw them away.
        // SAFETY: raw is a valid termios copied from the current one.
        if unsafe { libc::tcsetattr(STDIN_FD, libc::TCSADRAIN, &raw) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the termios tcgetattr gave us. Nothing to do if it fails: the
        // terminal is gone.
        unsafe {
            libc::tcsetattr(STDIN_FD, libc::TCSADRAIN, &self.saved);
        }
    }
}
