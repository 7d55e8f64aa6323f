//! What sled's own flush leaves out of a kept commit. sled writes its log with
//! `sync_file_range`, which neither empties the disk's write cache nor records the file's new
//! length, and never syncs the file it writes for a value too big for its log (a blob), nor the
//! directory that names it. So a kept commit syncs them itself: an acknowledged message then
//! survives a power cut, not only a killed process.

use std::collections::HashSet;
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
    /// Blob files synced already, of those still there.
    blobs_synced: HashSet<u64>,
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
            blobs_synced: HashSet::new(),
        })
    }

    /// Makes durable what sled has written: new blobs first, then the log that points to them.
    pub(crate) fn sync(&mut self) -> std::io::Result<()> {
        self.sync_new_blobs()?;
        self.log.sync_data()
    }

    /// The blob files synced so far, of those still there.
    #[cfg(test)]
    pub(crate) fn blobs_synced(&self) -> &HashSet<u64> {
        &self.blobs_synced
    }

    fn sync_new_blobs(&mut self) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(&self.blobs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut present = HashSet::with_capacity(self.blobs_synced.len());
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
            if !self.blobs_synced.contains(&number) {
                match File::open(entry.path()) {
                    Ok(blob) => blob.sync_data()?,
                    // sled collected it meanwhile: nothing left to make durable.
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                synced_any = true;
            }
            present.insert(number);
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
