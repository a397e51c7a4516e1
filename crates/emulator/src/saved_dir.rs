//! Files of a phone saved in a directory the user may share with other tools (the README
//! points `--data` at `export --vdir` folders): the emulator writes its own files there,
//! each whole or not at all (an unnamed temporary file, fsync, link in place, fsync of the
//! folder), records them in its state file, and removes only files that state says it wrote.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;

use super::error::EmulatorError;

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one
/// (atomic-write-file: an unnamed temporary file, fsync, link in place, fsync of the folder).
/// `path` is always inside the data directory, so it has a folder.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), EmulatorError> {
    let written = (|| {
        let mut file = atomic_write_file::AtomicWriteFile::open(path)?;
        file.write_all(bytes)?;
        file.commit()
    })();
    written.map_err(|e| EmulatorError::io(path, e))
}

/// The files (`kind/name`, relative to the directory) a saved state says the emulator
/// wrote: its `item` lines; a state from before those lines (every file in the datastore
/// folders was the emulator's then) names every file of those folders.
pub(crate) fn files_written(
    dir: &Path,
    state: Option<&str>,
    kinds: &[&str],
) -> Result<BTreeSet<String>, EmulatorError> {
    let Some(state) = state else {
        return Ok(BTreeSet::new());
    };
    let listed: BTreeSet<String> = state
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.trim().split(' ').collect();
            match fields.as_slice() {
                ["item", kind, _luid, name] => Some(format!("{kind}/{name}")),
                _ => None,
            }
        })
        .collect();
    if !listed.is_empty() || state.lines().any(|l| l.starts_with("item ")) {
        return Ok(listed);
    }
    let mut legacy = BTreeSet::new();
    for kind in kinds {
        let folder = dir.join(kind);
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let entry = entry.map_err(|e| EmulatorError::io(&folder, e))?;
            if entry.path().is_file() {
                legacy.insert(format!("{kind}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    Ok(legacy)
}
