//! One datastore's folder against the store: who changed what since the two last agreed, and
//! what each case does.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::files::{self, FileOutcome, FoundFile};
use super::{DesktopReport, DesktopSettings};
use crate::cli::objects::{self, export_component, NewItem};
use crate::cli::Failure;
use crate::engine::ConflictPolicy;
use crate::pim::content::{self, WriteOptions};
use crate::pim::vdir;
use crate::store::{
    Cause, Datastore, DesktopFile, Guid, ItemContent, ItemRecord, Reason, Timestamp, Tx,
};

pub(super) struct Collection<'a, 't> {
    pub tx: &'a Tx<'t>,
    pub settings: &'a DesktopSettings,
    pub vdir: &'a str,
    pub folder: &'a Path,
    pub datastore: Datastore,
    pub now: Timestamp,
}

fn content_of(item: &NewItem) -> ItemContent<'_> {
    ItemContent {
        content_type: item.content_type,
        raw: &item.raw,
        canonical: &item.canonical,
        identity_key: Some(&item.identity_key),
    }
}

/// The stored item as its file holds it.
fn file_text(item: &ItemRecord) -> Result<String, Failure> {
    let component = export_component(item).map_err(Failure::io)?;
    Ok(content::write_component(
        &component,
        &WriteOptions::modern(),
    ))
}

/// Whether the file's item is the stored item's content (as stored or as exported).
fn holds(item: &ItemRecord, new: &NewItem) -> bool {
    content::parse_object(item.canonical.as_bytes()).is_ok_and(|o| o.component == new.component)
        || export_component(item).is_ok_and(|c| c == new.component)
}

/// A key with nothing but its kind (`contact||`) matches too much to call two items one.
fn is_weak_key(key: &str) -> bool {
    key.split('|').skip(1).all(|part| part.is_empty())
}

/// Who wins a conflict between the store's version and the desktop's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Winner {
    Store,
    Desktop,
    Both,
}

impl Collection<'_, '_> {
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.folder.join(name)
    }

    /// The one item a file holds, or why it cannot be taken in (`name:line: why`).
    fn parse(&self, name: &str, file: &FoundFile) -> Result<NewItem, String> {
        let label = self.path(name).display().to_string();
        let bytes = &file.bytes;
        let text_note = name.to_ascii_lowercase().ends_with(".txt")
            && !bytes.trim_ascii_start().starts_with(b"BEGIN:");
        if text_note {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Err(format!("{label}: empty note"));
            }
            return Ok(objects::text_note(bytes));
        }
        let parsed = content::parse_objects(bytes).map_err(|e| {
            let message = objects::parse_error_message(&e);
            format!("{label}:{}: {message}", e.line.max(1))
        })?;
        let (mut items, errors) =
            objects::items_of(objects::source_objects(&label, parsed).collect());
        if let Some(error) = errors.into_iter().next() {
            return Err(error);
        }
        match items.len() {
            1 => {
                let (_, item) = items.remove(0);
                if item.datastore != self.datastore {
                    return Err(format!(
                        "{label}: a {} item in the {} folder (move it to {})",
                        item.datastore, self.datastore, item.datastore
                    ));
                }
                Ok(item)
            }
            0 => Err(format!("{label}: no item in it")),
            n => Err(format!(
                "{label}: {n} items in one file; a vdir holds one per file \
                 (`handsync import` takes such files)"
            )),
        }
    }

    fn record(
        &self,
        name: &str,
        item: &ItemRecord,
        hash: String,
        written_by_us: bool,
    ) -> Result<(), Failure> {
        self.tx.set_desktop_file(
            self.vdir,
            &DesktopFile {
                datastore: self.datastore,
                name: name.to_string(),
                guid: item.guid,
                revision: item.revision,
                file_hash: hash,
                written_by_us,
            },
        )?;
        Ok(())
    }

    /// Writes the item's file over what was read (`expected`), and records it.
    fn write(
        &self,
        name: &str,
        item: &ItemRecord,
        expected: Option<&str>,
        keep_copy: bool,
        report: &mut DesktopReport,
    ) -> Result<bool, Failure> {
        let text = file_text(item)?;
        let keep_under = keep_copy.then_some(self.settings.db.as_path());
        let outcome = files::replace(
            &self.path(name),
            expected,
            text.as_bytes(),
            keep_under,
            &mut report.kept,
        )?;
        if outcome == FileOutcome::ChangedMeanwhile {
            report.busy += 1;
            return Ok(false);
        }
        self.record(name, item, files::hash_of(text.as_bytes()), true)?;
        Ok(true)
    }

    /// A name for a new item's file: its UID, else with its GUID when that name is taken.
    fn new_name(&self, item: &ItemRecord, taken: &HashSet<String>) -> Result<String, Failure> {
        let component = export_component(item).map_err(Failure::io)?;
        let uid = objects::export_uid(item, &component);
        let ext = files::extension(self.datastore);
        let name = vdir::file_name(&uid, ext);
        if !taken.contains(&name) && !self.path(&name).exists() {
            return Ok(name);
        }
        Ok(vdir::file_name(&format!("{uid}-{}", item.guid), ext))
    }

    fn winner(&self, item: &ItemRecord, file: &FoundFile) -> Winner {
        match self.settings.conflicts {
            // The store's side of a conflict holds what phones sent.
            ConflictPolicy::PhoneWins => Winner::Store,
            ConflictPolicy::PcWins => Winner::Desktop,
            ConflictPolicy::KeepBoth => Winner::Both,
            ConflictPolicy::NewerWins => {
                if file.modified_millis > item.modified_at.unix_millis() {
                    Winner::Desktop
                } else {
                    Winner::Store
                }
            }
        }
    }

    /// Both sides changed the item: settle it by the policy, the loser kept in history.
    fn settle(
        &self,
        name: &str,
        item: &ItemRecord,
        file: &FoundFile,
        new: &NewItem,
        taken: &mut HashSet<String>,
        report: &mut DesktopReport,
    ) -> Result<(), Failure> {
        let label = self.path(name).display().to_string();
        let what = objects::describe(self.datastore, &item.canonical);
        match self.winner(item, file) {
            Winner::Desktop => {
                // The store's version stays in the item's history.
                self.take_in_edit(name, item, file, new, report)?;
                report.conflicts.push(format!(
                    "{label} ({what}): changed on both sides; the desktop's version was kept, \
                     the store's is in its history (handsync restore)"
                ));
            }
            Winner::Store => {
                let loser = self.tx.record_conflict_loser(
                    item.guid,
                    content_of(new),
                    &Cause::pc(Reason::ReplacedOnPc),
                    self.now,
                )?;
                if self.write(name, item, Some(&file.hash), false, report)? {
                    report.to_desktop.changed += 1;
                    report.conflicts.push(format!(
                        "{label} ({what}): changed on both sides; the store's version was \
                         kept, the desktop's is in its history as revision {loser} (handsync \
                         restore)"
                    ));
                }
            }
            Winner::Both => {
                self.take_in_new(name, file, new, report)?;
                let other = self.new_name(item, taken)?;
                taken.insert(other.clone());
                if self.write(&other, item, None, false, report)? {
                    report.to_desktop.added += 1;
                }
                report.conflicts.push(format!(
                    "{label} ({what}): changed on both sides; both kept, the store's version \
                     in {other}"
                ));
            }
        }
        Ok(())
    }

    pub(super) fn sync(&self, report: &mut DesktopReport) -> Result<(), Failure> {
        files::remove_leftovers(self.folder);
        self.compare(report)?;
        // Before the transaction commits the rows that describe them.
        files::sync_folder(self.folder)
    }

    fn compare(&self, report: &mut DesktopReport) -> Result<(), Failure> {
        let mut found = files::read_folder(self.folder, &mut report.problems)?;
        let rows = self.tx.desktop_files(self.vdir, self.datastore)?;
        let items: BTreeMap<Guid, ItemRecord> = self
            .tx
            .items(self.datastore, true)?
            .into_iter()
            .map(|item| (item.guid, item))
            .collect();
        let mut bound: HashSet<Guid> = HashSet::new();
        let mut taken: HashSet<String> = found.keys().cloned().collect();
        for row in rows {
            taken.insert(row.name.clone());
            let Some(item) = items.get(&row.guid) else {
                self.tx
                    .remove_desktop_file(self.vdir, self.datastore, &row.name)?;
                continue;
            };
            bound.insert(row.guid);
            let file = found.remove(&row.name);
            self.known(&row, item, file.as_ref(), &mut taken, report)?;
        }
        self.unknown_files(found, &items, &mut bound, &mut taken, report)?;
        for item in items.values() {
            if item.is_deleted() || bound.contains(&item.guid) {
                continue;
            }
            let name = self.new_name(item, &taken)?;
            taken.insert(name.clone());
            if self.write(&name, item, None, false, report)? {
                report.to_desktop.added += 1;
            }
        }
        Ok(())
    }

    /// A file the sync knows: compare both sides with what they last agreed on.
    fn known(
        &self,
        row: &DesktopFile,
        item: &ItemRecord,
        file: Option<&FoundFile>,
        taken: &mut HashSet<String>,
        report: &mut DesktopReport,
    ) -> Result<(), Failure> {
        let store_changed = item.revision != row.revision;
        let name = row.name.as_str();
        let Some(file) = file else {
            if item.is_deleted() {
                self.tx
                    .remove_desktop_file(self.vdir, self.datastore, name)?;
            } else if store_changed {
                // Deleted on the desktop, changed in the store: the change wins.
                if self.write(name, item, None, false, report)? {
                    report.to_desktop.added += 1;
                    report.conflicts.push(format!(
                        "{} ({}): deleted on the desktop but changed in the store; written \
                         again",
                        self.path(name).display(),
                        objects::describe(self.datastore, &item.canonical)
                    ));
                }
            } else {
                self.tx
                    .delete_item(item.guid, &Cause::pc(Reason::DeletedOnPc), self.now)?;
                self.tx
                    .remove_desktop_file(self.vdir, self.datastore, name)?;
                report.from_desktop.deleted += 1;
            }
            return Ok(());
        };
        if file.hash == row.file_hash {
            if !store_changed {
                return Ok(());
            }
            if item.is_deleted() {
                // The item's content is in its history; a file the desktop wrote is copied
                // aside too, since handsync never removes such a file without a copy.
                let keep = (!row.written_by_us).then_some(self.settings.db.as_path());
                match files::remove(&self.path(name), &file.hash, keep, &mut report.kept)? {
                    FileOutcome::Done => {
                        self.tx
                            .remove_desktop_file(self.vdir, self.datastore, name)?;
                        report.to_desktop.deleted += 1;
                    }
                    FileOutcome::ChangedMeanwhile => report.busy += 1,
                }
            } else if self.write(name, item, Some(&file.hash), !row.written_by_us, report)? {
                report.to_desktop.changed += 1;
            }
            return Ok(());
        }
        let new = match self.parse(name, file) {
            Ok(new) => new,
            Err(problem) => {
                report.problems.push(problem);
                return Ok(());
            }
        };
        if item.is_deleted() {
            // Edited on the desktop, deleted in the store: the edit comes back as an item.
            let added = self.take_in_new(name, file, &new, report)?;
            report.conflicts.push(format!(
                "{} ({}): edited on the desktop but deleted in the store; kept as a new item",
                self.path(name).display(),
                objects::describe(self.datastore, &added.canonical)
            ));
        } else if holds(item, &new) {
            self.record(name, item, file.hash.clone(), false)?;
        } else if !store_changed {
            self.take_in_edit(name, item, file, &new, report)?;
        } else {
            self.settle(name, item, file, &new, taken, report)?;
        }
        Ok(())
    }

    /// Files the sync does not know yet: a desktop's new items, or an earlier export's files
    /// of items the store holds (matched by UID, then by identity key).
    fn unknown_files(
        &self,
        found: BTreeMap<String, FoundFile>,
        items: &BTreeMap<Guid, ItemRecord>,
        bound: &mut HashSet<Guid>,
        taken: &mut HashSet<String>,
        report: &mut DesktopReport,
    ) -> Result<(), Failure> {
        if found.is_empty() {
            // The usual case after the first run: no need to index every item.
            return Ok(());
        }
        let mut by_uid: HashMap<String, Guid> = HashMap::new();
        let mut by_key: HashMap<&str, Vec<Guid>> = HashMap::new();
        for item in items.values() {
            if let Ok(object) = content::parse_object(item.canonical.as_bytes()) {
                if let Some(uid) = vdir::uid_of(&object.component) {
                    by_uid.insert(uid, item.guid);
                }
            }
            if let Some(key) = item.identity_key.as_deref().filter(|_| !item.is_deleted()) {
                by_key.entry(key).or_default().push(item.guid);
            }
        }
        for (name, file) in found {
            let new = match self.parse(&name, &file) {
                Ok(new) => new,
                Err(problem) => {
                    report.problems.push(problem);
                    continue;
                }
            };
            let named = new
                .guid_hint
                .and_then(|hint| {
                    items
                        .get(&hint.guid)
                        .filter(|i| i.created_at == hint.created_at)
                })
                .or_else(|| {
                    new.uid
                        .as_ref()
                        .and_then(|uid| by_uid.get(uid))
                        .and_then(|g| items.get(g))
                });
            let matched = named.or_else(|| {
                by_key
                    .get(new.identity_key.as_str())
                    .into_iter()
                    .flatten()
                    .filter_map(|g| items.get(g))
                    .find(|i| !is_weak_key(&new.identity_key) || holds(i, &new))
            });
            match matched.filter(|i| !bound.contains(&i.guid)) {
                Some(item) if item.is_deleted() => {
                    // An old export of an item deleted since: kept in the store's history,
                    // so the file goes only when it is one of the item's versions.
                    if self.matches_history(item, &new)? {
                        let keep = Some(self.settings.db.as_path());
                        if files::remove(&self.path(&name), &file.hash, keep, &mut report.kept)?
                            == FileOutcome::Done
                        {
                            report.to_desktop.deleted += 1;
                        }
                    } else {
                        self.add(&name, &file, &new, bound, report)?;
                    }
                }
                Some(item) => {
                    bound.insert(item.guid);
                    if holds(item, &new) {
                        self.record(&name, item, file.hash.clone(), false)?;
                    } else if self.matches_history(item, &new)? {
                        // An older export: the store is newer.
                        if self.write(&name, item, Some(&file.hash), false, report)? {
                            report.to_desktop.changed += 1;
                        }
                    } else {
                        self.settle(&name, item, &file, &new, taken, report)?;
                    }
                }
                None => self.add(&name, &file, &new, bound, report)?,
            }
        }
        Ok(())
    }

    fn add(
        &self,
        name: &str,
        file: &FoundFile,
        new: &NewItem,
        bound: &mut HashSet<Guid>,
        report: &mut DesktopReport,
    ) -> Result<(), Failure> {
        let added = self.take_in_new(name, file, new, report)?;
        bound.insert(added.guid);
        Ok(())
    }

    /// The file's item as a new item of the store, the file recorded as holding it.
    fn take_in_new(
        &self,
        name: &str,
        file: &FoundFile,
        new: &NewItem,
        report: &mut DesktopReport,
    ) -> Result<ItemRecord, Failure> {
        let added = self.tx.add_item(
            self.datastore,
            content_of(new),
            &Cause::pc(Reason::AddedOnPc),
            self.now,
        )?;
        self.record(name, &added, file.hash.clone(), false)?;
        report.from_desktop.added += 1;
        Ok(added)
    }

    /// The file's item over the stored one (whose version stays in its history).
    fn take_in_edit(
        &self,
        name: &str,
        item: &ItemRecord,
        file: &FoundFile,
        new: &NewItem,
        report: &mut DesktopReport,
    ) -> Result<(), Failure> {
        let updated = self.tx.replace_item(
            item.guid,
            content_of(new),
            &Cause::pc(Reason::ReplacedOnPc),
            self.now,
        )?;
        self.record(name, &updated, file.hash.clone(), false)?;
        report.from_desktop.changed += 1;
        Ok(())
    }

    /// Whether the file holds one of the item's earlier versions.
    fn matches_history(&self, item: &ItemRecord, new: &NewItem) -> Result<bool, Failure> {
        for version in self.tx.item_history(item.guid)? {
            let as_item = ItemRecord {
                canonical: version.canonical,
                ..item.clone()
            };
            if holds(&as_item, new) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
