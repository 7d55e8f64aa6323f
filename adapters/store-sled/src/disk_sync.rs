//! What sled's own flush leaves out of a kept commit. sled writes its log with
//! `sync_file_range`, which neither empties the disk's write cache nor records the file's new
//! length, and never syncs the file it writes for a value too big for its log (a blob), nor the
//! directory that names it. So a kept commit syncs them itself, and what it acknowledges is on
//! the disk, not only in the kernel's cache. One window is left: sled's background thread may
//! rewrite a big node into a new blob between two commits, and its own `fsync` may make the log
//! record that points to it durable before the next commit syncs the blob (docs/security.md).

use std::collections::HashMap;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// sled's log, in its directory.
const LOG_FILE_NAME: &str = "db";
/// sled's settings, written once when it creates a store and never synced by it.
const CONFIG_FILE_NAME: &str = "conf";
/// sled's blobs, each in a file named by its log sequence number.
const BLOBS_DIR_NAME: &str = "blobs";

/// The sled files a kept commit makes durable.
pub(crate) struct DiskSync {
    log: File,
    blobs: PathBuf,
    /// Blob files synced already, of those still there, with the length each had then: sled's
    /// background thread may be writing one while a commit lists them, so a blob whose length
    /// has changed since is synced again.
    blobs_synced: HashMap<u64, u64>,
}

impl DiskSync {
    /// Opens the log of the sled store in `sled_dir` (sled has created it), and syncs its
    /// settings, the directory and the one holding it, so that the files and their names are
    /// durable too.
    pub(crate) fn open(sled_dir: &Path) -> std::io::Result<DiskSync> {
        let log = File::open(sled_dir.join(LOG_FILE_NAME))?;
        File::open(sled_dir.join(CONFIG_FILE_NAME))?.sync_data()?;
        sync_dir(sled_dir)?;
        match sled_dir.parent() {
            Some(data_dir) if !data_dir.as_os_str().is_empty() => sync_dir(data_dir)?,
            _ => sync_dir(Path::new("."))?,
        }
        Ok(DiskSync {
            log,
            blobs: sled_dir.join(BLOBS_DIR_NAME),
            blobs_synced: HashMap::new(),
        })
    }

    /// Makes durable what sled has written: new blobs first, then the log that points to them.
    pub(crate) fn sync(&mut self) -> std::io::Result<()> {
        self.sync_new_blobs()?;
        self.log.sync_data()
    }

    /// The blob files synced so far, of those still there, with their lengths then.
    #[cfg(test)]
    pub(crate) fn blobs_synced(&self) -> &HashMap<u64, u64> {
        &self.blobs_synced
    }

    fn sync_new_blobs(&mut self) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(&self.blobs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut present = HashMap::with_capacity(self.blobs_synced.len());
        let mut synced_any = false;
        for entry in entries {
            let entry = entry?;
            let Some(number) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            let blob = match File::open(entry.path()) {
                Ok(blob) => blob,
                // sled collected it meanwhile: nothing left to make durable.
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            // The length before the sync: what the sync covers at least.
            let length = blob.metadata()?.len();
            if self.blobs_synced.get(&number) != Some(&length) {
                blob.sync_data()?;
                synced_any = true;
            }
            present.insert(number, length);
        }
        if synced_any {
            sync_dir(&self.blobs)?;
        }
        self.blobs_synced = present;
        Ok(())
    }
}

/// Syncs a directory, making the names of the files in it durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}
