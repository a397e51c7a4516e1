//! What the store commands share: where the database is, the clock, times as people read
//! them, and progress on a terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::Failure;
use crate::pim::datetime::DateTime;
use crate::store::{Store, StoreError, Timestamp};

/// The store path: `--db`, else `$HANDSYNC_DB`, else `$XDG_DATA_HOME/handsync/handsync.db`
/// (`~/.local/share/handsync/handsync.db`).
pub fn db_path(explicit: Option<PathBuf>) -> Result<PathBuf, Failure> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    if let Some(path) = std::env::var_os("HANDSYNC_DB").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| Path::new(p).is_absolute())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|home| PathBuf::from(home).join(".local/share"))
        })
        .ok_or_else(|| {
            Failure::bad_input(
                "no --db given and neither HANDSYNC_DB, XDG_DATA_HOME nor HOME is set",
            )
        })?;
    Ok(data_home.join("handsync").join("handsync.db"))
}

/// The store as messages name it: the file, or the PostgreSQL URL without its password.
pub fn describe_db(path: &Path) -> String {
    let text = path.to_string_lossy();
    if handsync_store::is_postgres_url(&text) {
        handsync_store::redact_url(&text)
    } else {
        path.display().to_string()
    }
}

/// The account named with `--account`, whose data the command works in.
static ACCOUNT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Remembers `--account` for [`open_store`] (once, as the command line is read).
pub fn set_account(account: Option<String>) {
    let _ = ACCOUNT.set(account);
}

/// Opens the store, creating its directory (owner-only: it holds account digests); a
/// `postgres://` URL opens that PostgreSQL database instead. With `--account`, the store
/// works in that account's data.
pub fn open_store(path: &Path) -> Result<Store, Failure> {
    let mut store = open_store_file(path)?;
    if let Some(Some(account)) = ACCOUNT.get() {
        store.use_account(account).map_err(store_failure)?;
    }
    Ok(store)
}

fn open_store_file(path: &Path) -> Result<Store, Failure> {
    if path.to_str().is_some_and(handsync_store::is_postgres_url) {
        return Store::open(path).map_err(store_failure);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(|e| {
                Failure::io(format!(
                    "cannot create the directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
    }
    let store = Store::open(path).map_err(store_failure)?;
    // A store file from before files were created private, and its WAL and shm files.
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        tighten(Path::new(&name), 0o600);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let replaced = dir.join("replaced");
        if replaced.is_dir() {
            tighten(&replaced, 0o700);
        }
    }
    Ok(store)
}

/// Ends as cut the sessions left running by processes that died (killed, crashed, the power
/// went), before this process serves any: else they would stay "running" for ever. Sessions a
/// live process serves (the daemon beside `handsync sync`, a serve process on another host
/// whose node heartbeat is less than `node_patience` old) are left alone. Returns how many
/// were cut.
pub fn cut_orphaned_sessions(
    store: &mut Store,
    node_patience: std::time::Duration,
) -> Result<usize, Failure> {
    let now = now();
    let patience = i64::try_from(node_patience.as_millis()).unwrap_or(i64::MAX / 2);
    let stale_before = Timestamp(now.0 - patience);
    let cut = store.transaction(|tx| tx.cut_orphaned_sessions_sparing_nodes(stale_before, now))?;
    tracing::info!(
        cut = cut.len(),
        "sessions left running by ended processes recorded as cut"
    );
    Ok(cut.len())
}

/// A store error as a command failure: a missing item, device or session is the user's
/// mistake (status 2); anything else is the store's (status 1).
pub fn store_failure(error: StoreError) -> Failure {
    match error {
        StoreError::ItemNotFound(_)
        | StoreError::ItemDeleted(_)
        | StoreError::WrongDatastore { .. }
        | StoreError::VersionNotFound { .. }
        | StoreError::DeviceNotFound(_)
        | StoreError::SessionNotFound(_)
        | StoreError::AccountExists(_)
        | StoreError::AccountNotFound(_)
        | StoreError::RejectedItemNotFound(_)
        | StoreError::InvalidInput(_) => Failure::bad_input(error.to_string()),
        other => Failure::io(other.to_string()),
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        store_failure(error)
    }
}

pub fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_millis(millis)
}

/// `2026-11-21 21:44 UTC`: the store keeps UTC and this build has no zone database.
pub fn format_time(at: Timestamp) -> String {
    let t = DateTime::from_timestamp(at.unix_millis().div_euclid(1000), true);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.date.year, t.date.month, t.date.day, t.hour, t.minute
    )
}

/// Reads `2026-11-21T21:44:00Z`, `2026-11-21 21:44`, `20261121T214400Z` or a date alone
/// (midnight), all as UTC.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim().trim_end_matches(" UTC");
    let normalized = text.replacen(' ', "T", 1);
    let seconds = match DateTime::parse(&normalized) {
        Some(t) => t.timestamp(),
        None => crate::pim::datetime::Date::parse(text)?.days_since_epoch() * 86_400,
    };
    Some(Timestamp::from_unix_seconds(seconds))
}

/// `1 item`, `3 items`.
pub fn describe_count(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Keeps a copy of a file we are about to replace or remove whose content the store has no
/// record of, under `<store dir>/replaced/<time>/`; returns where it went.
pub fn keep_replaced(db: &Path, file: &Path, label: &str) -> Result<PathBuf, Failure> {
    let base = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stamp = now().unix_millis();
    let replaced = base.join("replaced");
    let dir = replaced.join(stamp.to_string()).join(label);
    // Owner-only, like the store beside it: the copies are the user's data.
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .map_err(|e| Failure::io(format!("cannot create {}: {e}", dir.display())))?;
    tighten(&replaced, 0o700);
    let name = file.file_name().unwrap_or_default();
    let target = dir.join(name);
    std::fs::copy(file, &target).map_err(|e| {
        Failure::io(format!(
            "cannot keep a copy of {} in {}: {e}",
            file.display(),
            target.display()
        ))
    })?;
    Ok(target)
}

/// Takes group and other permissions away from a file or folder of ours made before we
/// did so (an older handsync, a umask of 022); logged when it cannot be done.
pub fn tighten(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(metadata) = std::fs::metadata(path) {
            if metadata.permissions().mode() & 0o077 != 0 {
                if let Err(e) =
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                {
                    tracing::warn!(path = %path.display(), error = %e, "cannot make it private");
                }
            }
        }
    }
}

/// Writes a file atomically (atomic-write-file: an unnamed temporary file beside it, fsynced,
/// then linked in its place and the folder fsynced), so that two exports at once or a crash
/// leave the old file or the new one, never a torn or lost one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write as _;
    let written = (|| {
        let mut file = atomic_write_file::AtomicWriteFile::open(beside_here(path))?;
        file.write_all(bytes)?;
        file.commit()
    })();
    written.map_err(|e| Failure::io(format!("cannot write {}: {e}", path.display())))
}

/// `path`, with `./` before a bare file name (whose folder is otherwise the empty path).
fn beside_here(path: &Path) -> std::path::PathBuf {
    match path.parent() {
        Some(folder) if folder.as_os_str().is_empty() => Path::new(".").join(path),
        _ => path.to_path_buf(),
    }
}

/// Progress of long work (export, import) on stderr through indicatif, only when stderr is a
/// terminal (never in pipes or logs).
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(label: &'static str, total: Option<usize>) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let (bar, template) = match total {
                Some(total) => (
                    indicatif::ProgressBar::new(total as u64),
                    "{prefix} [{bar:30}] {pos}/{len}, ~{eta} left",
                ),
                None => (indicatif::ProgressBar::no_length(), "{prefix} {pos}"),
            };
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                indicatif::ProgressStyle::with_template(template)
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(label);
            bar
        });
        Progress { bar }
    }

    pub fn tick(&mut self, done: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
        }
    }

    /// Clears the bar: the command's own summary line takes its place.
    pub fn finish(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_and_print_as_utc() {
        let at = parse_time("2026-11-21T21:44:00Z").unwrap();
        assert_eq!(format_time(at), "2026-11-21 21:44 UTC");
        assert_eq!(parse_time("2026-11-21 21:44"), Some(at));
        assert_eq!(parse_time("2026-11-21 21:44 UTC"), Some(at));
        assert_eq!(
            format_time(parse_time("2026-11-21").unwrap()),
            "2026-11-21 00:00 UTC"
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
