//! The files of one datastore's folder in the vdir, as the desktop sync reads and writes them.
//! Every write and removal first checks that the file is still what was read: an editor
//! saving in between wins, and the next round takes its change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use crate::cli::support::{keep_replaced, write_atomically};

/// The suffix of the hidden file a new version is written to before it is renamed over the
/// item's file (hidden: no vdir reader takes it; a crash's leftover is removed next run).
const NEW_SUFFIX: &str = ".handsync-new";
use crate::cli::Failure;
use crate::store::Datastore;

/// Extensions of item files, for the desktop sync and `import` alike; anything else
/// (vdirsyncer's `displayname` and `color`, editors' backups, `.swp`) is not an item.
const ITEM_EXTENSIONS: [&str; 7] = ["vcf", "vcard", "ics", "ical", "vcs", "vnt", "txt"];

/// A larger file is no vCard or event a phone could hold; it is reported, not read.
pub const MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// A file as found now.
#[derive(Debug, Clone)]
pub struct FoundFile {
    pub bytes: Vec<u8>,
    pub hash: String,
    /// Modification time, milliseconds since the epoch (for `newer-wins`).
    pub modified_millis: i64,
}

pub fn hash_of(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The extension a new file of this datastore gets: what khard (vCard) and khal (iCalendar)
/// read.
pub fn extension(datastore: Datastore) -> &'static str {
    match datastore {
        Datastore::Contacts => "vcf",
        _ => "ics",
    }
}

fn is_item_file(name: &str) -> bool {
    !name.starts_with('.')
        && Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ITEM_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Whether a path (as inotify reports it) can be an item file of a vdir.
pub fn is_item_path(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_item_file)
}

/// The folder of one datastore, created (with a `displayname` for vdirsyncer and khal) when
/// missing.
pub fn collection(vdir: &Path, datastore: Datastore) -> Result<PathBuf, Failure> {
    let folder = vdir.join(datastore.as_str());
    std::fs::create_dir_all(&folder)
        .map_err(|e| Failure::io(format!("cannot create {}: {e}", folder.display())))?;
    let displayname = folder.join("displayname");
    if !displayname.exists() {
        write_atomically(&displayname, format!("handsync {datastore}\n").as_bytes())?;
    }
    Ok(folder)
}

/// The item files of a folder by name; files too large to be items, or unreadable, go to
/// `problems`.
pub fn read_folder(
    folder: &Path,
    problems: &mut Vec<String>,
) -> Result<BTreeMap<String, FoundFile>, Failure> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| Failure::io(format!("cannot read {}: {e}", folder.display())))?;
    let mut files = BTreeMap::new();
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !is_item_file(&name) {
            continue;
        }
        let path = entry.path();
        match read_file(&path) {
            Ok(Some(found)) => {
                files.insert(name, found);
            }
            Ok(None) => {}
            Err(problem) => problems.push(problem),
        }
    }
    Ok(files)
}

/// A regular file's content; `None` for anything else (a folder named like an item).
fn read_file(path: &Path) -> Result<Option<FoundFile>, String> {
    let metadata = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !metadata.is_file() {
        return Ok(None);
    }
    if metadata.len() > MAX_FILE_SIZE {
        return Err(format!(
            "{}: {} bytes, larger than any item ({} MiB at most): left alone",
            path.display(),
            metadata.len(),
            MAX_FILE_SIZE / (1024 * 1024)
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let modified_millis = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Ok(Some(FoundFile {
        hash: hash_of(&bytes),
        bytes,
        modified_millis,
    }))
}

/// Whether the file still holds what was read (`None`: it did not exist).
fn still_as_read(path: &Path, expected: Option<&str>) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => expected == Some(hash_of(&bytes).as_str()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => expected.is_none(),
        Err(_) => false,
    }
}

/// What happened to a write or a removal.
#[derive(Debug, PartialEq, Eq)]
pub enum FileOutcome {
    Done,
    /// The file changed since it was read: left for the next round.
    ChangedMeanwhile,
}

/// Writes `text` over the file, if it still holds what was read (`expected`; `None`: the
/// file must not exist). A file the desktop wrote is first copied into the store's
/// `replaced/` folder when `keep_copy_under` names the store, so nothing it held is lost.
pub fn replace(
    path: &Path,
    expected: Option<&str>,
    text: &[u8],
    keep_copy_under: Option<&Path>,
    kept: &mut Vec<PathBuf>,
) -> Result<FileOutcome, Failure> {
    if !still_as_read(path, expected) {
        return Ok(FileOutcome::ChangedMeanwhile);
    }
    if let (Some(db), Some(_)) = (keep_copy_under, expected) {
        kept.push(keep_replaced(db, path, "desktop")?);
    }
    write_durably(path, text)
        .map_err(|e| Failure::io(format!("cannot write {}: {e}", path.display())))?;
    Ok(FileOutcome::Done)
}

fn new_version_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}{NEW_SUFFIX}"))
}

/// Writes the file whole or not at all: a hidden file beside it, synced, renamed over it (with
/// the old file's permissions). The folder is synced once per run ([`sync_folder`]) instead of
/// once per file: that halves the cost of a first run of thousands of files, and the run
/// syncs it before it records what it wrote.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let staged = new_version_path(path);
    let mode = std::fs::metadata(path).map_or(0o644, |m| {
        std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777
    });
    let _ = std::fs::remove_file(&staged);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&staged)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&staged, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    written
}

/// Makes the run's renames and removals in a folder durable: called before the store records
/// them, so a crash never leaves the store believing in a file the disk lost.
pub fn sync_folder(folder: &Path) -> Result<(), Failure> {
    std::fs::File::open(folder)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| Failure::io(format!("cannot sync {}: {e}", folder.display())))
}

/// Removes what an interrupted write left behind: only hidden files with our suffix.
pub fn remove_leftovers(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(NEW_SUFFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Removes the file, if it still holds what was read; a file the desktop wrote is kept in
/// the store's `replaced/` folder first (`keep_copy_under`).
pub fn remove(
    path: &Path,
    expected: &str,
    keep_copy_under: Option<&Path>,
    kept: &mut Vec<PathBuf>,
) -> Result<FileOutcome, Failure> {
    if !still_as_read(path, Some(expected)) {
        return Ok(FileOutcome::ChangedMeanwhile);
    }
    if let Some(db) = keep_copy_under {
        kept.push(keep_replaced(db, path, "desktop")?);
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(FileOutcome::Done),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileOutcome::Done),
        Err(e) => Err(Failure::io(format!(
            "cannot remove {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_item_files_are_read() {
        for name in ["a.vcf", "b.ICS", "c.vcard", "n.txt"] {
            assert!(is_item_file(name), "{name}");
        }
        for name in [
            "displayname",
            "color",
            ".a.vcf.swp",
            ".hidden.vcf",
            "a.vcf~",
        ] {
            assert!(!is_item_file(name), "{name}");
        }
    }

    #[test]
    fn a_write_or_removal_over_a_file_changed_meanwhile_does_nothing() {
        let dir = std::env::temp_dir().join(format!("handsync-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.vcf");
        std::fs::write(&path, b"one").unwrap();
        let read = hash_of(b"one");
        std::fs::write(&path, b"edited").unwrap();
        let mut kept = Vec::new();
        assert_eq!(
            replace(&path, Some(&read), b"ours", None, &mut kept).unwrap(),
            FileOutcome::ChangedMeanwhile
        );
        assert_eq!(
            remove(&path, &read, None, &mut kept).unwrap(),
            FileOutcome::ChangedMeanwhile
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"edited");
        // A file that appeared where none was expected is not overwritten either.
        assert_eq!(
            replace(&path, None, b"ours", None, &mut kept).unwrap(),
            FileOutcome::ChangedMeanwhile
        );
        let edited = hash_of(b"edited");
        assert_eq!(
            replace(&path, Some(&edited), b"ours", None, &mut kept).unwrap(),
            FileOutcome::Done
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"ours");
        // What an interrupted write leaves goes; nothing else does.
        std::fs::write(dir.join(".a.vcf.handsync-new"), b"half").unwrap();
        std::fs::write(dir.join(".a.vcf.swp"), b"editor").unwrap();
        remove_leftovers(&dir);
        assert!(!dir.join(".a.vcf.handsync-new").exists());
        assert!(dir.join(".a.vcf.swp").exists());
        sync_folder(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
