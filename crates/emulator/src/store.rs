//! The phone's memory: items per datastore under local ids (LUIDs), the changes made since the
//! last completed sync, sync anchors, and Maps still owed to the server from a cut session.
//!
//! Two kinds of writes: the user's ([`PhoneStore::add`], [`PhoneStore::replace`],
//! [`PhoneStore::delete`]), which are tracked as changes to send, and the sync session's
//! (`apply_*`), which are not.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::error::EmulatorError;
use super::saved_dir;
use handsync_proto::pim::Datastore;

/// One item as the phone holds it: its content type and bytes in the phone's own format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneItem {
    pub content_type: String,
    pub data: Vec<u8>,
}

impl PhoneItem {
    pub fn new(content_type: impl Into<String>, data: impl Into<Vec<u8>>) -> PhoneItem {
        PhoneItem {
            content_type: content_type.into(),
            data: data.into(),
        }
    }
}

/// A change the user made since the last completed sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Replaced,
    Deleted,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Replaced => "replaced",
            Change::Deleted => "deleted",
        }
    }

    fn parse(text: &str) -> Option<Change> {
        match text {
            "added" => Some(Change::Added),
            "replaced" => Some(Change::Replaced),
            "deleted" => Some(Change::Deleted),
            _ => None,
        }
    }
}

/// One datastore of the phone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneDatastore {
    items: BTreeMap<String, PhoneItem>,
    changes: BTreeMap<String, Change>,
    /// The anchor of the last completed sync (sent as `Last`).
    pub last_anchor: Option<String>,
    /// Maps (server GUID, our LUID) not yet acknowledged by the server.
    pub pending_maps: Vec<(String, String)>,
    next_luid: u64,
}

impl PhoneDatastore {
    pub fn items(&self) -> &BTreeMap<String, PhoneItem> {
        &self.items
    }

    pub fn get(&self, luid: &str) -> Option<&PhoneItem> {
        self.items.get(luid)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The changes since the last completed sync, by LUID.
    pub fn changes(&self) -> &BTreeMap<String, Change> {
        &self.changes
    }

    fn new_luid(&mut self) -> String {
        self.next_luid += 1;
        self.next_luid.to_string()
    }

    fn insert_new(&mut self, item: PhoneItem) -> String {
        let mut luid = self.new_luid();
        while self.items.contains_key(&luid) {
            luid = self.new_luid();
        }
        self.items.insert(luid.clone(), item);
        luid
    }
}

/// All datastores of a phone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneStore {
    datastores: BTreeMap<Datastore, PhoneDatastore>,
    /// Counter for counter-style anchors.
    pub anchor_counter: u64,
}

/// The state file kept beside the item files of a saved store.
const STATE_FILE: &str = "emulator-state.txt";

impl PhoneStore {
    /// An empty store.
    pub fn new() -> PhoneStore {
        PhoneStore::default()
    }

    /// A datastore (empty if nothing was ever put in it).
    pub fn datastore(&self, kind: Datastore) -> &PhoneDatastore {
        static EMPTY: std::sync::OnceLock<PhoneDatastore> = std::sync::OnceLock::new();
        self.datastores
            .get(&kind)
            .unwrap_or_else(|| EMPTY.get_or_init(PhoneDatastore::default))
    }

    pub fn datastore_mut(&mut self, kind: Datastore) -> &mut PhoneDatastore {
        self.datastores.entry(kind).or_default()
    }

    /// The user adds an item; returns its LUID.
    pub fn add(&mut self, kind: Datastore, item: PhoneItem) -> String {
        let store = self.datastore_mut(kind);
        let luid = store.insert_new(item);
        store.changes.insert(luid.clone(), Change::Added);
        luid
    }

    /// The user edits an item; false if there is no such item.
    pub fn replace(&mut self, kind: Datastore, luid: &str, data: impl Into<Vec<u8>>) -> bool {
        let store = self.datastore_mut(kind);
        let Some(item) = store.items.get_mut(luid) else {
            return false;
        };
        item.data = data.into();
        store
            .changes
            .entry(luid.to_string())
            .and_modify(|change| {
                if *change != Change::Added {
                    *change = Change::Replaced
                }
            })
            .or_insert(Change::Replaced);
        true
    }

    /// The user deletes an item; false if there is no such item.
    pub fn delete(&mut self, kind: Datastore, luid: &str) -> bool {
        let store = self.datastore_mut(kind);
        if store.items.remove(luid).is_none() {
            return false;
        }
        // An item the server never saw leaves no trace.
        if store.changes.get(luid) == Some(&Change::Added) {
            store.changes.remove(luid);
        } else {
            store.changes.insert(luid.to_string(), Change::Deleted);
        }
        true
    }

    /// The server adds an item: a new LUID, no change recorded.
    pub fn apply_add(&mut self, kind: Datastore, item: PhoneItem) -> String {
        self.datastore_mut(kind).insert_new(item)
    }

    /// The server replaces an item; false if there is no such item.
    pub fn apply_replace(&mut self, kind: Datastore, luid: &str, item: PhoneItem) -> bool {
        match self.datastore_mut(kind).items.get_mut(luid) {
            Some(stored) => {
                *stored = item;
                true
            }
            None => false,
        }
    }

    /// The server deletes an item; false if there is no such item.
    pub fn apply_delete(&mut self, kind: Datastore, luid: &str) -> bool {
        let store = self.datastore_mut(kind);
        store.changes.remove(luid);
        store.items.remove(luid).is_some()
    }

    /// Refresh from server: everything goes, changes included.
    pub fn apply_clear(&mut self, kind: Datastore) {
        let store = self.datastore_mut(kind);
        store.items.clear();
        store.changes.clear();
    }

    /// The item's Add went out in a session that did not complete: the server may hold it,
    /// so it stays pending as a Replace (which adds it where it is missing), and deleting it
    /// is reported.
    pub fn mark_sent(&mut self, kind: Datastore, luid: &str) {
        if let Some(change) = self.datastore_mut(kind).changes.get_mut(luid) {
            if *change == Change::Added {
                *change = Change::Replaced;
            }
        }
    }

    /// The server has the item as it is now: forget its change.
    pub fn mark_synced(&mut self, kind: Datastore, luid: &str) {
        self.datastore_mut(kind).changes.remove(luid);
    }

    /// Loads a directory: either one saved by [`PhoneStore::save_dir`] (item files named by
    /// LUID under `contacts/`, `calendar/`, `tasks/`, `notes/`, and the state file), or any
    /// directory of `.vcf`, `.vcs`, `.ics`, `.vnt` and `.txt` files, one item or many per
    /// file, read recursively: then every item is new to the phone (a first sync is slow).
    /// `tasks_in_calendar` puts to-dos in the calendar (phones without a task datastore).
    pub fn load_dir(dir: &Path, tasks_in_calendar: bool) -> Result<PhoneStore, EmulatorError> {
        let state_path = dir.join(STATE_FILE);
        if state_path.exists() {
            return PhoneStore::load_saved(dir, &state_path);
        }
        let mut store = PhoneStore::new();
        store.add_files(dir, tasks_in_calendar)?;
        Ok(store)
    }

    fn load_saved(dir: &Path, state_path: &Path) -> Result<PhoneStore, EmulatorError> {
        let mut store = PhoneStore::new();
        let text =
            std::fs::read_to_string(state_path).map_err(|e| EmulatorError::io(state_path, e))?;
        // A state that lists its files is read from them alone: other files in the folders
        // belong to the user or other tools. An older state owned its folders whole.
        let lists_files = text.lines().any(|l| l.starts_with("item "));
        for kind in Datastore::ALL.into_iter().filter(|_| !lists_files) {
            let sub = dir.join(kind.as_str());
            if !sub.is_dir() {
                continue;
            }
            let entries = std::fs::read_dir(&sub).map_err(|e| EmulatorError::io(&sub, e))?;
            for entry in entries {
                let path = entry.map_err(|e| EmulatorError::io(&sub, e))?.path();
                let (Some(luid), Some(extension)) = (
                    path.file_stem().and_then(|s| s.to_str()),
                    path.extension().and_then(|e| e.to_str()),
                ) else {
                    continue;
                };
                let data = std::fs::read(&path).map_err(|e| EmulatorError::io(&path, e))?;
                let item = PhoneItem::new(content_type_for_extension(extension, &data), data);
                let ds = store.datastore_mut(kind);
                if let Ok(number) = luid.parse::<u64>() {
                    ds.next_luid = ds.next_luid.max(number);
                }
                ds.items.insert(luid.to_string(), item);
            }
        }
        let bad = |line: &str| EmulatorError::Format {
            path: state_path.display().to_string(),
            message: format!("unreadable line {line:?}"),
        };
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split(' ').collect();
            let kind_of = |name: &str| {
                Datastore::ALL
                    .into_iter()
                    .find(|k| k.as_str() == name)
                    .ok_or_else(|| bad(line))
            };
            match fields.as_slice() {
                ["anchor-counter", value] => {
                    store.anchor_counter = value.parse().map_err(|_| bad(line))?
                }
                ["last-anchor", kind, anchor] => {
                    store.datastore_mut(kind_of(kind)?).last_anchor = Some(anchor.to_string())
                }
                ["next-luid", kind, value] => {
                    let value: u64 = value.parse().map_err(|_| bad(line))?;
                    let ds = store.datastore_mut(kind_of(kind)?);
                    ds.next_luid = ds.next_luid.max(value);
                }
                ["change", kind, luid, change] => {
                    let change = Change::parse(change).ok_or_else(|| bad(line))?;
                    store
                        .datastore_mut(kind_of(kind)?)
                        .changes
                        .insert(luid.to_string(), change);
                }
                ["item", kind, luid, name] => {
                    let kind = kind_of(kind)?;
                    if name.contains('/') || name.contains('\\') || name.starts_with('.') {
                        return Err(bad(line));
                    }
                    let path = dir.join(kind.as_str()).join(name);
                    let data = std::fs::read(&path).map_err(|e| EmulatorError::io(&path, e))?;
                    let extension = Path::new(name)
                        .extension()
                        .and_then(|e| e.to_str())
                        .unwrap_or("");
                    let item = PhoneItem::new(content_type_for_extension(extension, &data), data);
                    let ds = store.datastore_mut(kind);
                    if let Ok(number) = luid.parse::<u64>() {
                        ds.next_luid = ds.next_luid.max(number);
                    }
                    ds.items.insert(luid.to_string(), item);
                }
                ["pending-map", kind, guid, luid] => store
                    .datastore_mut(kind_of(kind)?)
                    .pending_maps
                    .push((guid.to_string(), luid.to_string())),
                _ => return Err(bad(line)),
            }
        }
        Ok(store)
    }

    /// The phone's user adds the entries of a file, or of every file under a directory (as
    /// new entries, sent at the next sync); returns how many.
    pub fn add_files(
        &mut self,
        path: &Path,
        tasks_in_calendar: bool,
    ) -> Result<usize, EmulatorError> {
        let mut files = Vec::new();
        if path.is_dir() {
            collect_files(path, &mut files)?;
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let mut added = 0;
        for file in files {
            let extension = file
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            let bytes = std::fs::read(&file).map_err(|e| EmulatorError::io(&file, e))?;
            for (kind, item) in split_file(&extension, &bytes, tasks_in_calendar) {
                self.add(kind, item);
                added += 1;
            }
        }
        Ok(added)
    }

    /// Saves the items (one file per item, named by LUID) and the state (anchors, changes,
    /// Maps owed, the files written) so that [`PhoneStore::load_dir`] gives the same phone
    /// back. Files it did not write are never touched: an item whose file name is taken by
    /// one gets another name; of the files a previous save wrote, those no item needs any
    /// more are removed once the new state is on disk.
    pub fn save_dir(&self, dir: &Path) -> Result<(), EmulatorError> {
        let state_path = dir.join(STATE_FILE);
        let previous_state = match std::fs::read_to_string(&state_path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(EmulatorError::io(&state_path, e)),
        };
        let kinds: Vec<&str> = Datastore::ALL.iter().map(|k| k.as_str()).collect();
        let ours_before = saved_dir::files_written(dir, previous_state.as_deref(), &kinds)?;
        let mut ours_now = std::collections::BTreeSet::new();
        let mut state = String::from(
            "# handsync emulator phone state: anchors, changes since the last sync, Maps owed, \
             the files it wrote\n",
        );
        let _ = writeln!(state, "anchor-counter {}", self.anchor_counter);
        for (kind, ds) in &self.datastores {
            let sub = dir.join(kind.as_str());
            std::fs::create_dir_all(&sub).map_err(|e| EmulatorError::io(&sub, e))?;
            for (luid, item) in &ds.items {
                let extension = extension_for(*kind, &item.content_type);
                let mut name = format!("{luid}.{extension}");
                let mut attempt = 0;
                while sub.join(&name).exists() && !ours_before.contains(&format!("{kind}/{name}")) {
                    attempt += 1;
                    name = format!("{luid}.phone-{attempt}.{extension}");
                }
                saved_dir::write_atomically(&sub.join(&name), &item.data)?;
                let _ = writeln!(state, "item {kind} {luid} {name}");
                ours_now.insert(format!("{kind}/{name}"));
            }
            if let Some(anchor) = &ds.last_anchor {
                let _ = writeln!(state, "last-anchor {kind} {anchor}");
            }
            let _ = writeln!(state, "next-luid {kind} {}", ds.next_luid);
            for (luid, change) in &ds.changes {
                let _ = writeln!(state, "change {kind} {luid} {}", change.as_str());
            }
            for (guid, luid) in &ds.pending_maps {
                let _ = writeln!(state, "pending-map {kind} {guid} {luid}");
            }
        }
        saved_dir::write_atomically(&state_path, state.as_bytes())?;
        for stale in ours_before.difference(&ours_now) {
            let path = dir.join(stale);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(EmulatorError::io(&path, e)),
            }
        }
        Ok(())
    }
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), EmulatorError> {
    let entries = std::fs::read_dir(dir).map_err(|e| EmulatorError::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| EmulatorError::io(dir, e))?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn extension_for(kind: Datastore, content_type: &str) -> &'static str {
    match kind {
        Datastore::Contacts => "vcf",
        Datastore::Calendar | Datastore::Tasks => {
            if content_type.eq_ignore_ascii_case("text/calendar") {
                "ics"
            } else {
                "vcs"
            }
        }
        Datastore::Notes => {
            if content_type.eq_ignore_ascii_case("text/x-vnote") {
                "vnt"
            } else {
                "txt"
            }
        }
    }
}

fn content_type_for_extension(extension: &str, data: &[u8]) -> &'static str {
    match extension.to_ascii_lowercase().as_str() {
        "vcf" if contains(data, b"VERSION:3.0") => "text/vcard",
        "vcf" => "text/x-vcard",
        "ics" if contains(data, b"VERSION:2.0") => "text/calendar",
        "ics" | "vcs" => "text/x-vcalendar",
        "vnt" => "text/x-vnote",
        _ => "text/plain",
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Lines of a text file with their line ends.
fn lines_with_ends(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (index, byte) in bytes.iter().enumerate() {
        if *byte == b'\n' {
            lines.push(&bytes[start..=index]);
            start = index + 1;
        }
    }
    if start < bytes.len() {
        lines.push(&bytes[start..]);
    }
    lines
}

fn line_is(line: &[u8], wanted: &str) -> bool {
    let text = String::from_utf8_lossy(line);
    text.trim().eq_ignore_ascii_case(wanted)
}

fn line_starts(line: &[u8], prefix: &str) -> bool {
    line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// `BEGIN:X` .. `END:X` blocks of a file.
fn blocks(bytes: &[u8], name: &str) -> Vec<Vec<u8>> {
    let (begin, end) = (format!("BEGIN:{name}"), format!("END:{name}"));
    let mut out = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in lines_with_ends(bytes) {
        if line_is(line, &begin) {
            current = Some(Vec::new());
        }
        if let Some(block) = current.as_mut() {
            block.extend_from_slice(line);
            if line_starts(line, &end) {
                out.extend(current.take());
            }
        }
    }
    out
}

/// A file's items: vCards, each event or to-do of a vCalendar wrapped in its own calendar
/// (with the calendar's own properties: VERSION, TZ, DAYLIGHT...), vNotes, or a text note.
fn split_file(
    extension: &str,
    bytes: &[u8],
    tasks_in_calendar: bool,
) -> Vec<(Datastore, PhoneItem)> {
    match extension {
        "vcf" => blocks(bytes, "VCARD")
            .into_iter()
            .map(|card| {
                let content_type = content_type_for_extension("vcf", &card);
                (Datastore::Contacts, PhoneItem::new(content_type, card))
            })
            .collect(),
        "vcs" | "ics" => {
            let mut out = Vec::new();
            for calendar in blocks(bytes, "VCALENDAR") {
                let content_type = content_type_for_extension(extension, &calendar);
                let lines = lines_with_ends(&calendar);
                // The calendar's own lines: outside any component.
                let mut header: Vec<u8> = Vec::new();
                let mut depth = 0usize;
                let mut line_end: &[u8] = b"\r\n";
                for line in &lines[..lines.len().saturating_sub(1)] {
                    if line.ends_with(b"\n") && !line.ends_with(b"\r\n") {
                        line_end = b"\n";
                    }
                    if line_starts(line, "BEGIN:") && !line_is(line, "BEGIN:VCALENDAR") {
                        depth += 1;
                    }
                    if depth == 0 {
                        header.extend_from_slice(line);
                    }
                    if line_starts(line, "END:") && depth > 0 {
                        depth -= 1;
                    }
                }
                for (component, kind) in
                    [("VEVENT", Datastore::Calendar), ("VTODO", Datastore::Tasks)]
                {
                    for block in blocks(&calendar, component) {
                        let mut item = header.clone();
                        item.extend_from_slice(&block);
                        item.extend_from_slice(b"END:VCALENDAR");
                        item.extend_from_slice(line_end);
                        let kind = if tasks_in_calendar {
                            Datastore::Calendar
                        } else {
                            kind
                        };
                        out.push((kind, PhoneItem::new(content_type, item)));
                    }
                }
            }
            out
        }
        "vnt" => blocks(bytes, "VNOTE")
            .into_iter()
            .map(|note| (Datastore::Notes, PhoneItem::new("text/x-vnote", note)))
            .collect(),
        "txt" if !bytes.is_empty() => {
            vec![(
                Datastore::Notes,
                PhoneItem::new("text/plain", bytes.to_vec()),
            )]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_follow_what_the_user_did() {
        let mut store = PhoneStore::new();
        let a = store.add(Datastore::Contacts, PhoneItem::new("text/x-vcard", "A"));
        assert!(store.replace(Datastore::Contacts, &a, "A2"));
        assert_eq!(
            store.datastore(Datastore::Contacts).changes()[&a],
            Change::Added
        );
        store.mark_synced(Datastore::Contacts, &a);
        assert!(store.replace(Datastore::Contacts, &a, "A3"));
        assert_eq!(
            store.datastore(Datastore::Contacts).changes()[&a],
            Change::Replaced
        );
        assert!(store.delete(Datastore::Contacts, &a));
        assert_eq!(
            store.datastore(Datastore::Contacts).changes()[&a],
            Change::Deleted
        );
        let b = store.add(Datastore::Contacts, PhoneItem::new("text/x-vcard", "B"));
        assert!(store.delete(Datastore::Contacts, &b));
        assert!(!store
            .datastore(Datastore::Contacts)
            .changes()
            .contains_key(&b));
        assert!(!store.delete(Datastore::Contacts, "404"));
    }

    #[test]
    fn a_calendar_file_splits_into_one_item_per_component() {
        let file = b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nTZ:+01\r\nBEGIN:VEVENT\r\nSUMMARY:a\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nSUMMARY:b\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
        let items = split_file("vcs", file, false);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].0, Datastore::Calendar);
        assert_eq!(
            items[0].1.data,
            b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nTZ:+01\r\nBEGIN:VEVENT\r\nSUMMARY:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        assert_eq!(items[1].0, Datastore::Tasks);
        assert_eq!(split_file("vcs", file, true)[1].0, Datastore::Calendar);
    }
}
