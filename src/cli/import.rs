//! `handsync import`: vCard, vCalendar/iCalendar, vNote and text files, vdirs or stdin into
//! the store, where the phones pick them up at their next sync.
//!
//! Each item is stored in the canonical form with its original bytes and identity key. An
//! item we exported before (its UID, or our `handsync-guid-N` UID) updates that item; one
//! whose identity key is already stored is a duplicate and is skipped. A malformed item is
//! reported with its file and line and the others are imported; any rejection makes the
//! exit status 2.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::objects::{self, NewItem, Piece};
use super::support::{describe_count, now, open_store, Progress};
use super::Failure;
use crate::pim::content;
use crate::store::{Cause, Datastore, Guid, ItemContent, ItemRecord, Reason, Timestamp, Tx};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Files or vdir folders to read (`-` for standard input). Each item goes to the datastore
    /// its kind belongs to (vCard: contacts, VEVENT: calendar, VTODO: tasks, VJOURNAL/vNote/
    /// text: notes).
    paths: Vec<PathBuf>,
    /// A vdir: one item per file, in DIR or its datastore subfolders (as `export --vdir`
    /// writes it).
    #[arg(long, value_name = "DIR")]
    vdir: Vec<PathBuf>,
    /// A vCard file (several cards in one file are fine).
    #[arg(long, value_name = "FILE")]
    vcf: Vec<PathBuf>,
    /// An iCalendar or vCalendar file.
    #[arg(long, value_name = "FILE")]
    ics: Vec<PathBuf>,
    /// Accept only items of this datastore; others are rejected.
    #[arg(long, value_parser = parse_datastore)]
    datastore: Option<Datastore>,
    /// How to read files: by content (default: vCard/vCalendar/vNote, `.txt` as a note) or
    /// every file as one text note.
    #[arg(long, value_enum, default_value = "auto")]
    format: ImportFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ImportFormat {
    Auto,
    Text,
}

pub fn parse_datastore(text: &str) -> Result<Datastore, String> {
    text.parse::<Datastore>()
        .map_err(|_| "expected contacts, calendar, tasks or notes".to_string())
}

/// One input: where it came from (for messages) and its bytes.
struct Source {
    label: String,
    bytes: Vec<u8>,
    text_note: bool,
}

#[derive(Default)]
struct Summary {
    added: usize,
    updated: usize,
    unchanged: usize,
    duplicates: usize,
    skipped_deleted: usize,
    rejected: usize,
}

pub fn run(db: &Path, args: &ImportArgs) -> Result<(), Failure> {
    let sources = read_sources(args)?;
    let mut rejections: Vec<String> = Vec::new();
    let mut items: Vec<(String, NewItem)> = Vec::new();
    for source in &sources {
        collect_items(source, &mut items, &mut rejections);
    }
    let mut store = open_store(db)?;
    let mut summary = Summary {
        rejected: rejections.len(),
        ..Summary::default()
    };
    let at = now();
    let mut notes: Vec<String> = Vec::new();
    store.transaction(|tx| -> Result<(), Failure> {
        let mut index = Index::load(tx)?;
        let mut progress = Progress::new("importing", Some(items.len()));
        // Two items of one import with the same UID are one item to the desktop: the later
        // one replaces the earlier (both stay in the history), and the user is told.
        let mut seen_uids: HashMap<(Datastore, &str), &str> = HashMap::new();
        for (done, (label, item)) in items.iter().enumerate() {
            progress.tick(done);
            if let Some(wanted) = args.datastore {
                if item.datastore != wanted {
                    rejections.push(format!(
                        "{label}: a {} item, not {wanted} (leave out --datastore to import it)",
                        item.datastore
                    ));
                    summary.rejected += 1;
                    continue;
                }
            }
            if let Some(uid) = item.uid.as_deref() {
                if let Some(earlier) = seen_uids.insert((item.datastore, uid), label) {
                    notes.push(format!(
                        "{label} has the same UID as {earlier} ({uid}): the later one wins"
                    ));
                }
            }
            import_one(tx, &mut index, label, item, at, &mut summary)?;
        }
        progress.finish();
        Ok(())
    })?;
    for note in &notes {
        eprintln!("handsync: note: {note}");
    }
    for rejection in &rejections {
        eprintln!("handsync: rejected {rejection}");
    }
    println!(
        "imported: {} added, {} updated, {} unchanged, {} duplicates skipped, {} deleted in the \
         store skipped, {} rejected",
        summary.added,
        summary.updated,
        summary.unchanged,
        summary.duplicates,
        summary.skipped_deleted,
        summary.rejected
    );
    if summary.skipped_deleted > 0 {
        eprintln!(
            "handsync: {} deleted in the store not brought back (`handsync restore --item UID` \
             does that)",
            describe_count(summary.skipped_deleted, "item")
        );
    }
    if summary.rejected > 0 {
        return Err(Failure::bad_input(format!(
            "{} rejected (see above); the rest was imported",
            describe_count(summary.rejected, "item")
        )));
    }
    Ok(())
}

fn read_sources(args: &ImportArgs) -> Result<Vec<Source>, Failure> {
    let text_everywhere = args.format == ImportFormat::Text;
    let mut sources = Vec::new();
    let mut paths: Vec<PathBuf> = args.paths.clone();
    paths.extend(args.vdir.iter().cloned());
    paths.extend(args.vcf.iter().cloned());
    paths.extend(args.ics.iter().cloned());
    if paths.is_empty() {
        return Err(Failure::bad_input(
            "import needs something to read: FILE, DIR, --vdir DIR, --vcf FILE, --ics FILE or -",
        ));
    }
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::io(format!("cannot read standard input: {e}")))?;
            sources.push(Source {
                label: "<stdin>".into(),
                bytes,
                text_note: text_everywhere,
            });
        } else if path.is_dir() {
            for file in vdir_files(&path)? {
                sources.push(read_file(&file, text_everywhere)?);
            }
        } else {
            sources.push(read_file(&path, text_everywhere)?);
        }
    }
    Ok(sources)
}

fn read_file(path: &Path, text_everywhere: bool) -> Result<Source, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", path.display())))?;
    let text_note = text_everywhere || path.extension().is_some_and(|e| e == "txt");
    Ok(Source {
        label: path.display().to_string(),
        bytes,
        text_note,
    })
}

/// The item files of a vdir: in DIR and in its (non-hidden) subfolders, sorted.
fn vdir_files(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    let mut depth = 0;
    while !folders.is_empty() && depth < 2 {
        let mut next = Vec::new();
        for folder in folders {
            let entries = std::fs::read_dir(&folder).map_err(|e| {
                Failure::bad_input(format!("cannot read {}: {e}", folder.display()))
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                if hidden {
                    continue;
                }
                if path.is_dir() {
                    next.push(path);
                } else if crate::desktop::files::is_item_path(&path) {
                    files.push(path);
                }
            }
        }
        folders = next;
        depth += 1;
    }
    files.sort();
    Ok(files)
}

/// The items of one source, each labelled `file:line`; what cannot be read goes to
/// `rejections` with its line.
fn collect_items(
    source: &Source,
    items: &mut Vec<(String, NewItem)>,
    rejections: &mut Vec<String>,
) {
    let bytes = without_bom(&source.bytes);
    let looks_like_objects = {
        let start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(bytes.len());
        bytes[start..].len() >= 6 && bytes[start..start + 6].eq_ignore_ascii_case(b"BEGIN:")
    };
    if source.text_note && !looks_like_objects {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            rejections.push(format!("{}: empty note", source.label));
        } else {
            items.push((format!("{}:1", source.label), objects::text_note(&bytes)));
        }
        return;
    }
    let pieces = objects::split_objects(&bytes);
    if pieces.is_empty() {
        rejections.push(format!(
            "{}: no vCard, vCalendar or vNote in it",
            source.label
        ));
        return;
    }
    let mut parsed_pieces = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Malformed { line, message } => {
                rejections.push(format!("{}:{line}: {message}", source.label));
            }
            Piece::Object(object) => match content::parse_objects(object.bytes) {
                Ok(parsed) => {
                    let label = format!("{}:{}", source.label, object.first_line);
                    parsed_pieces.extend(objects::source_objects(&label, parsed));
                }
                Err(error) => {
                    let line = object.first_line + error.line.saturating_sub(1);
                    let message = objects::parse_error_message(&error);
                    rejections.push(format!("{}:{line}: {message}", source.label));
                }
            },
        }
    }
    let (new_items, errors) = objects::items_of(parsed_pieces);
    items.extend(new_items);
    rejections.extend(errors);
}

/// UTF-8 with its byte order mark removed; UTF-16 (some Windows exports) as UTF-8.
fn without_bom(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match encoding_rs::Encoding::for_bom(bytes) {
        Some((encoding, length)) if encoding == encoding_rs::UTF_8 => {
            std::borrow::Cow::Borrowed(&bytes[length..])
        }
        Some((encoding, length)) => {
            let (text, _) = encoding.decode_without_bom_handling(&bytes[length..]);
            std::borrow::Cow::Owned(text.into_owned().into_bytes())
        }
        None => std::borrow::Cow::Borrowed(bytes),
    }
}

/// What is stored already, to find the item an import updates or duplicates.
struct Index {
    /// Live and deleted items by UID: an old export of a deleted item does not bring it back.
    by_uid: HashMap<(Datastore, String), Guid>,
    by_identity: HashMap<(Datastore, String), Vec<Guid>>,
}

impl Index {
    fn load(tx: &Tx<'_>) -> Result<Index, Failure> {
        let mut index = Index {
            by_uid: HashMap::new(),
            by_identity: HashMap::new(),
        };
        for datastore in Datastore::ALL {
            for item in tx.items(datastore, true)? {
                index.add(&item);
            }
        }
        Ok(index)
    }

    fn add(&mut self, item: &ItemRecord) {
        if let Ok(object) = content::parse_object(item.canonical.as_bytes()) {
            if let Some(uid) = crate::pim::vdir::uid_of(&object.component) {
                self.by_uid.insert((item.datastore, uid), item.guid);
            }
        }
        if let Some(key) = item.identity_key.as_ref().filter(|_| !item.is_deleted()) {
            self.by_identity
                .entry((item.datastore, key.clone()))
                .or_default()
                .push(item.guid);
        }
    }
}

/// A key with nothing but its kind (`contact||`: no name, number or e-mail) matches too much
/// to call two items the same.
fn is_weak_key(key: &str) -> bool {
    key.split('|').skip(1).all(|part| part.is_empty())
}

fn same_content(stored: &ItemRecord, item: &NewItem) -> bool {
    content::parse_object(stored.canonical.as_bytes())
        .is_ok_and(|object| object.component == item.component)
}

fn import_one(
    tx: &Tx<'_>,
    index: &mut Index,
    label: &str,
    item: &NewItem,
    at: Timestamp,
    summary: &mut Summary,
) -> Result<(), Failure> {
    let content = ItemContent {
        content_type: item.content_type,
        raw: &item.raw,
        canonical: &item.canonical,
        identity_key: Some(&item.identity_key),
    };
    let named = match item.guid_hint {
        Some(hint) => tx
            .find_item(hint.guid)?
            .filter(|i| i.datastore == item.datastore && i.created_at == hint.created_at),
        None => None,
    };
    let named = match named {
        Some(found) => Some(found),
        None => match &item.uid {
            Some(uid) => match index.by_uid.get(&(item.datastore, uid.clone())) {
                Some(guid) => tx.find_item(*guid)?,
                None => None,
            },
            None => None,
        },
    };
    if let Some(stored) = named {
        if stored.is_deleted() {
            // Deleted since it was exported: bringing it back is `handsync restore`'s job.
            tracing::info!(guid = %stored.guid, "import skips an item deleted in the store");
            summary.skipped_deleted += 1;
        } else if same_content(&stored, item) {
            summary.unchanged += 1;
        } else {
            tracing::info!(guid = %stored.guid, source = label, "import updates an item");
            tx.replace_item(stored.guid, content, &Cause::pc(Reason::ReplacedOnPc), at)?;
            summary.updated += 1;
        }
        return Ok(());
    }
    let key = (item.datastore, item.identity_key.clone());
    let duplicates = index.by_identity.get(&key).cloned().unwrap_or_default();
    for guid in duplicates {
        let stored = tx.item(guid)?;
        if !is_weak_key(&item.identity_key) || same_content(&stored, item) {
            tracing::debug!(%guid, "import skips a duplicate");
            summary.duplicates += 1;
            return Ok(());
        }
    }
    let added = tx.add_item(item.datastore, content, &Cause::pc(Reason::AddedOnPc), at)?;
    index.add(&added);
    summary.added += 1;
    Ok(())
}
