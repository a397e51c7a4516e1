//! The desktop kept in step with the store, both ways, through a vdir (one folder per
//! datastore, one file per item: what khard, khal, todoman and vdirsyncer read and write).
//!
//! Each file the sync knows has a row in the store ([`crate::store::DesktopFile`]): its item,
//! the item's revision and the file's hash when both last agreed. A run compares both sides
//! with that row: only the store changed, write the file; only the file changed, import it;
//! both changed, the conflict policy settles it and the loser stays in the item's history;
//! a side that deleted while the other edited loses to the edit, so nothing is lost. New
//! files become items, new items become files. Phones then get the desktop's changes at
//! their next sync, as they get any change made on the PC.
//!
//! - [`files`]: reading and writing the folder, never over a file changed meanwhile;
//! - [`watch`]: the daemon's watcher (inotify) that runs a sync when the desktop edits and
//!   after every phone session.

pub mod files;
mod plan;
pub mod watch;

use std::path::{Path, PathBuf};

use crate::cli::support::open_store;
use crate::cli::Failure;
use crate::engine::ConflictPolicy;
use crate::store::{Datastore, Store, Timestamp};

/// What a desktop sync runs with.
#[derive(Debug, Clone)]
pub struct DesktopSettings {
    /// The vdir: one folder per datastore inside.
    pub vdir: PathBuf,
    /// The store's file (copies of desktop files handsync replaces go beside it).
    pub db: PathBuf,
    pub conflicts: ConflictPolicy,
    pub datastores: Vec<Datastore>,
}

impl DesktopSettings {
    /// The default vdir: `vdir/` beside the default store `handsync.db` (so
    /// `$XDG_DATA_HOME/handsync/vdir`), `<name>-vdir/` beside any other (`phone.db`:
    /// `phone-vdir/`), so that two stores in one folder never share a desktop: each would
    /// take the other's files for the desktop's own new items.
    pub fn default_vdir(db: &Path) -> PathBuf {
        let folder = db
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let stem = db
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if stem.is_empty() || stem == "handsync" {
            folder.join("vdir")
        } else {
            folder.join(format!("{stem}-vdir"))
        }
    }
}

/// Changes counted on one side.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub added: usize,
    pub changed: usize,
    pub deleted: usize,
}

impl Tally {
    pub fn is_empty(&self) -> bool {
        self.added + self.changed + self.deleted == 0
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} added, {} changed, {} deleted",
            self.added, self.changed, self.deleted
        )
    }
}

/// What a desktop sync did.
#[derive(Debug, Default)]
pub struct DesktopReport {
    /// Store changes written to the vdir.
    pub to_desktop: Tally,
    /// Desktop changes taken into the store.
    pub from_desktop: Tally,
    /// Items changed on both sides, and how each was settled.
    pub conflicts: Vec<String>,
    /// Copies of desktop files kept before handsync replaced or removed them.
    pub kept: Vec<PathBuf>,
    /// Files that could not be taken in (`file:line: why`), left as they are.
    pub problems: Vec<String>,
    /// Files edited while the sync ran: the next round takes them.
    pub busy: usize,
}

impl DesktopReport {
    pub fn changed_anything(&self) -> bool {
        !self.to_desktop.is_empty() || !self.from_desktop.is_empty()
    }
}

/// The vdir's key in the store: its absolute path, so one store can keep several.
fn vdir_key(vdir: &Path) -> Result<String, Failure> {
    let absolute = std::path::absolute(vdir)
        .map_err(|e| Failure::io(format!("cannot resolve {}: {e}", vdir.display())))?;
    absolute
        .to_str()
        .map(str::to_string)
        .ok_or_else(|| Failure::bad_input(format!("{} is not UTF-8", absolute.display())))
}

/// The file at the vdir's root naming the store it is kept in step with (hidden: vdirsyncer,
/// khard and khal look into the datastore folders only).
const OWNER_FILE: &str = ".handsync-store";

/// Makes sure the vdir is this store's: two stores syncing one vdir would each take the
/// other's files for new desktop items and duplicate them. A vdir nobody claimed yet
/// becomes this store's.
fn claim(vdir: &Path, db: &Path) -> Result<(), Failure> {
    let ours = std::path::absolute(db)
        .map_err(|e| Failure::io(format!("cannot resolve {}: {e}", db.display())))?;
    let ours = ours.to_string_lossy().into_owned();
    let marker = vdir.join(OWNER_FILE);
    match std::fs::read_to_string(&marker) {
        Ok(text) => {
            let owner = text.trim();
            if owner == ours {
                Ok(())
            } else {
                Err(Failure::bad_input(format!(
                    "{} is kept in step with the store {owner}, not with {ours}: one vdir serves \
                     one store (another --vdir, or [desktop] vdir); if that store was moved \
                     to {ours}, remove {} and sync again",
                    vdir.display(),
                    marker.display()
                )))
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::cli::support::write_atomically(&marker, format!("{ours}\n").as_bytes())
        }
        Err(e) => Err(Failure::io(format!(
            "cannot read {}: {e}",
            marker.display()
        ))),
    }
}

/// One desktop sync of every configured datastore, each in a transaction of its own.
pub fn sync(settings: &DesktopSettings, now: Timestamp) -> Result<DesktopReport, Failure> {
    let mut store = open_store(&settings.db)?;
    sync_with(&mut store, settings, now)
}

pub fn sync_with(
    store: &mut Store,
    settings: &DesktopSettings,
    now: Timestamp,
) -> Result<DesktopReport, Failure> {
    std::fs::create_dir_all(&settings.vdir)
        .map_err(|e| Failure::io(format!("cannot create {}: {e}", settings.vdir.display())))?;
    let key = vdir_key(&settings.vdir)?;
    claim(&settings.vdir, &settings.db)?;
    let mut report = DesktopReport::default();
    for &datastore in &settings.datastores {
        let folder = files::collection(&settings.vdir, datastore)?;
        store.transaction(|tx| {
            plan::Collection {
                tx,
                settings,
                vdir: &key,
                folder: &folder,
                datastore,
                now,
            }
            .sync(&mut report)
        })?;
    }
    tracing::info!(
        vdir = %settings.vdir.display(),
        to_desktop = %report.to_desktop,
        from_desktop = %report.from_desktop,
        conflicts = report.conflicts.len(),
        problems = report.problems.len(),
        "desktop sync"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_stores_in_one_folder_get_a_vdir_each() {
        let default = DesktopSettings::default_vdir(Path::new("/d/handsync/handsync.db"));
        assert_eq!(default, Path::new("/d/handsync/vdir"));
        let phone = DesktopSettings::default_vdir(Path::new("/d/phone.db"));
        let other = DesktopSettings::default_vdir(Path::new("/d/other.sqlite"));
        assert_eq!(phone, Path::new("/d/phone-vdir"));
        assert_eq!(other, Path::new("/d/other-vdir"));
        assert_eq!(
            DesktopSettings::default_vdir(Path::new("bare.db")),
            Path::new("./bare-vdir")
        );
    }
}
