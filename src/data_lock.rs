//! The data directory's lock: a server holds an advisory lock on `DIR/chat-server.lock` for its
//! whole life, taken before it touches anything else in `DIR`, so a second server on the same
//! directory stops at once instead of wiping the first one's store.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory. A wipe never removes it: the stores remove
/// only their own paths.
pub const LOCK_FILE_NAME: &str = "chat-server.lock";

/// Held while the server runs; the kernel releases the lock when the process ends, however it
/// ends (`kill -9` included), so a stale file never blocks a restart.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Why the lock could not be taken.
#[derive(Debug, PartialEq, Eq)]
pub enum LockError {
    /// Another process holds it; its pid, if it had written it yet.
    Held { path: PathBuf, pid: Option<u32> },
    /// The directory or the file could not be made, opened or written.
    Io { path: PathBuf, error: String },
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held { path, pid } => {
                let who = match pid {
                    Some(pid) => format!("another chat-server (pid {pid})"),
                    None => "another chat-server".to_string(),
                };
                write!(
                    f,
                    "{who} is using this data directory ({} is locked); nothing was touched. \
                     Stop that server first, or give this one another --data directory",
                    path.display()
                )
            }
            LockError::Io { path, error } => write!(f, "cannot lock {}: {error}", path.display()),
        }
    }
}

impl DataDirLock {
    /// Creates `data_dir` if needed and locks it, writing this process's pid into the lock
    /// file for the next one to name.
    pub fn acquire(data_dir: &Path) -> Result<Self, LockError> {
        let path = data_dir.join(LOCK_FILE_NAME);
        let io = |error: std::io::Error| LockError::Io {
            path: path.clone(),
            error: error.to_string(),
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    pid: read_pid(&mut file),
                    path,
                });
            }
            Err(TryLockError::Error(error)) => return Err(io(error)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DataDirLock { _file: file })
    }
}

/// The pid the holder wrote, if it has written one yet.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chat-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_second_lock_on_one_directory_is_refused_naming_the_holder() {
        let dir = temp_dir("twice");
        let first = DataDirLock::acquire(&dir).unwrap();
        match DataDirLock::acquire(&dir) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        assert!(DataDirLock::acquire(&dir).is_ok(), "released on drop");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_directory_is_created_and_the_file_names_this_process() {
        let dir = temp_dir("create").join("nested");
        let _lock = DataDirLock::acquire(&dir).unwrap();
        let text = std::fs::read_to_string(dir.join(LOCK_FILE_NAME)).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}
