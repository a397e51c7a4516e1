//! `handsync export`: the store's items as vCard 3.0 / iCalendar 2.0 / text, to stdout, one
//! file, or a vdir (one file per item named by its UID, one subfolder per datastore: the
//! layout khard, khal and vdirsyncer read).

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::import::parse_datastore;
use super::objects::{self, export_component};
use super::support::{describe_count, keep_replaced, open_store, write_atomically, Progress};
use super::Failure;
use crate::desktop::files;
use crate::pim::calendar::Calendar;
use crate::pim::content::{self, Component, WriteOptions};
use crate::pim::note::Note;
use crate::pim::vcard::VCard;
use crate::pim::vdir;
use crate::store::{Datastore, ItemRecord, Tx};

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The datastore to export (for a vdir: every datastore when left out; for --ics:
    /// calendar and tasks).
    #[arg(long, value_parser = parse_datastore)]
    datastore: Option<Datastore>,
    /// Output format for stdout: vcf (contacts), ics (calendar, tasks, notes) or text.
    /// Default: vcf for contacts, ics otherwise.
    #[arg(long, value_enum, conflicts_with_all = ["vdir", "vcf", "ics"])]
    format: Option<Format>,
    /// Write a vdir into DIR: DIR/contacts/<UID>.vcf, DIR/calendar/<UID>.ics, DIR/tasks/,
    /// DIR/notes/. Files of items deleted in the store are removed; other files are left.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["vcf", "ics"])]
    vdir: Option<PathBuf>,
    /// Write every contact into one vCard file.
    #[arg(long, value_name = "FILE", conflicts_with = "ics")]
    vcf: Option<PathBuf>,
    /// Write the calendar (and tasks) into one iCalendar file.
    #[arg(long, value_name = "FILE")]
    ics: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Vcf,
    Ics,
    Text,
}

fn default_format(datastore: Datastore) -> Format {
    match datastore {
        Datastore::Contacts => Format::Vcf,
        _ => Format::Ics,
    }
}

fn check_format(datastore: Datastore, format: Format) -> Result<(), Failure> {
    match (datastore, format) {
        (Datastore::Contacts, Format::Ics) => Err(Failure::bad_input(
            "contacts are exported as vcf or text, not ics",
        )),
        (Datastore::Contacts, _) | (_, Format::Ics | Format::Text) => Ok(()),
        (other, Format::Vcf) => Err(Failure::bad_input(format!(
            "{other} is exported as ics or text, not vcf"
        ))),
    }
}

pub fn run(db: &Path, args: &ExportArgs) -> Result<(), Failure> {
    let mut store = open_store(db)?;
    if let Some(dir) = &args.vdir {
        let datastores = match args.datastore {
            Some(one) => vec![one],
            None => Datastore::ALL.to_vec(),
        };
        return store.read(|tx| export_vdir(tx, db, dir, &datastores));
    }
    let (datastores, format, file) = if let Some(file) = &args.vcf {
        let datastore = args.datastore.unwrap_or(Datastore::Contacts);
        check_format(datastore, Format::Vcf)?;
        (vec![datastore], Format::Vcf, Some(file))
    } else if let Some(file) = &args.ics {
        let datastores = match args.datastore {
            Some(one) => vec![one],
            None => vec![Datastore::Calendar, Datastore::Tasks],
        };
        for datastore in &datastores {
            check_format(*datastore, Format::Ics)?;
        }
        (datastores, Format::Ics, Some(file))
    } else {
        let datastore = args.datastore.ok_or_else(|| {
            Failure::bad_input(
                "export needs --datastore contacts|calendar|tasks|notes (or --vdir DIR, --vcf \
                 FILE, --ics FILE)",
            )
        })?;
        let format = args.format.unwrap_or(default_format(datastore));
        check_format(datastore, format)?;
        (vec![datastore], format, None)
    };
    let text = store.read(|tx| -> Result<String, Failure> {
        let mut items = Vec::new();
        for datastore in &datastores {
            items.extend(tx.items(*datastore, false)?);
        }
        render(&items, format)
    })?;
    match file {
        Some(path) => {
            if path.exists() && std::fs::read(path).is_ok_and(|old| old != text.as_bytes()) {
                let kept = keep_replaced(db, path, "files")?;
                eprintln!(
                    "handsync: the previous {} is kept at {}",
                    path.display(),
                    kept.display()
                );
            }
            write_atomically(path, text.as_bytes())?;
            eprintln!("exported to {}", path.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                // A reader that stops early (`| head`) is not a failure of the export.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(Failure::io(format!("cannot write to stdout: {e}")));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn components(items: &[ItemRecord]) -> Result<Vec<Component>, Failure> {
    let mut progress = Progress::new("exporting", Some(items.len()));
    let mut out = Vec::with_capacity(items.len());
    for (done, item) in items.iter().enumerate() {
        progress.tick(done);
        out.push(export_component(item).map_err(Failure::io)?);
    }
    progress.finish();
    Ok(out)
}

fn render(items: &[ItemRecord], format: Format) -> Result<String, Failure> {
    let components = components(items)?;
    Ok(match format {
        Format::Vcf => components
            .iter()
            .map(|c| content::write_component(c, &WriteOptions::modern()))
            .collect(),
        Format::Ics => {
            if components.is_empty() {
                String::new()
            } else {
                content::write_component(
                    &objects::merge_calendars(&components),
                    &WriteOptions::modern(),
                )
            }
        }
        Format::Text => items
            .iter()
            .zip(&components)
            .map(|(item, component)| text_of(item.datastore, component))
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

/// A time property as people read it: `2006-04-06 16:00 (Europe/Berlin)`.
fn time_text(component: &Component, name: &str) -> Option<String> {
    let property = component.property(name)?;
    let mut text = objects::human_time(property.text_value().trim());
    if let Some(zone) = property.param_value("TZID") {
        text.push_str(&format!(" ({zone})"));
    }
    Some(text)
}

/// The text form: one block per item, fields on indented lines.
fn text_of(datastore: Datastore, component: &Component) -> String {
    let mut out = String::new();
    match datastore {
        Datastore::Contacts => {
            let card = VCard {
                component: component.clone(),
            };
            let name = card.formatted_name().unwrap_or_else(|| "(no name)".into());
            out.push_str(&format!("{name}\n"));
            if let Some(organization) = card.organization() {
                let organization = organization.join(", ");
                if !organization.trim().is_empty() {
                    out.push_str(&format!("  organization: {organization}\n"));
                }
            }
            for tel in card.telephones() {
                let types = tel.types.join(",").to_lowercase();
                let label = if types.is_empty() {
                    "tel".into()
                } else {
                    format!("tel ({types})")
                };
                out.push_str(&format!("  {label}: {}\n", tel.value));
            }
            for email in card.emails() {
                out.push_str(&format!("  email: {}\n", email.value));
            }
            if let Some(birthday) = card.birthday() {
                out.push_str(&format!(
                    "  birthday: {}\n",
                    objects::human_time(&birthday.basic())
                ));
            }
            for note in card.notes() {
                out.push_str(&format!("  note: {}\n", note.replace('\n', " ")));
            }
        }
        Datastore::Calendar | Datastore::Tasks => {
            let calendar = Calendar {
                component: component.clone(),
            };
            for item in calendar.items() {
                let c = &item.component;
                let summary = item.summary().unwrap_or_else(|| "(no summary)".into());
                if c.name == "VTODO" {
                    let done = c.property("COMPLETED").is_some()
                        || c.text_of("STATUS")
                            .is_some_and(|s| s.eq_ignore_ascii_case("COMPLETED"));
                    out.push_str(&format!("[{}] {summary}\n", if done { "x" } else { " " }));
                    if let Some(due) = time_text(c, "DUE") {
                        out.push_str(&format!("  due: {due}\n"));
                    }
                } else {
                    out.push_str(&format!("{summary}\n"));
                    if let Some(start) = time_text(c, "DTSTART") {
                        out.push_str(&format!("  start: {start}\n"));
                    }
                    if let Some(end) = time_text(c, "DTEND") {
                        out.push_str(&format!("  end: {end}\n"));
                    }
                }
                if let Some(id) = time_text(c, "RECURRENCE-ID") {
                    out.push_str(&format!("  instead of: {id}\n"));
                }
                if let Some(rule) = c.property("RRULE") {
                    out.push_str(&format!("  repeats: {}\n", rule.text_value()));
                }
                if let Some(location) = item.location().filter(|l| !l.is_empty()) {
                    out.push_str(&format!("  location: {location}\n"));
                }
            }
        }
        Datastore::Notes => {
            let body = Note::from_journal(component).body().replace("\r\n", "\n");
            out.push_str(body.trim_end());
            out.push_str("\n----\n");
        }
    }
    out
}

/// What a vdir export did.
#[derive(Default)]
struct VdirReport {
    written: usize,
    unchanged: usize,
    removed: usize,
    kept_copies: Vec<PathBuf>,
    unknown: usize,
}

fn export_vdir(
    tx: &Tx<'_>,
    db: &Path,
    dir: &Path,
    datastores: &[Datastore],
) -> Result<(), Failure> {
    let mut report = VdirReport::default();
    for datastore in datastores {
        let collection = files::collection(dir, *datastore)?;
        export_collection(tx, db, &collection, *datastore, &mut report)?;
    }
    for copy in &report.kept_copies {
        eprintln!(
            "handsync: {} differed from every version in the store (edited on the desktop?); \
             the old file is kept there — `handsync import` it to keep its changes",
            copy.display()
        );
    }
    if report.unknown > 0 {
        eprintln!(
            "handsync: {} in {} not in the store were left alone (`handsync import --vdir {}` \
             takes them in)",
            describe_count(report.unknown, "file"),
            dir.display(),
            dir.display()
        );
    }
    println!(
        "exported to {}: {} written, {} unchanged, {} removed (deleted in the store)",
        dir.display(),
        report.written,
        report.unchanged,
        report.removed
    );
    Ok(())
}

/// What identifies a stored item in a file: its UID, else its canonical text.
fn item_key(item: &ItemRecord) -> String {
    content::parse_object(item.canonical.as_bytes())
        .ok()
        .and_then(|object| vdir::uid_of(&object.component))
        .map_or_else(
            || format!("canonical:{}", item.canonical),
            |uid| format!("uid:{uid}"),
        )
}

/// The items in files export did not name, by [`item_key`], with their file names.
fn items_in_other_files(collection: &Path, names: &[String]) -> HashMap<String, String> {
    let mut found = HashMap::new();
    for name in names {
        let Ok(bytes) = std::fs::read(collection.join(name)) else {
            continue;
        };
        let Ok(parsed) = content::parse_objects(&bytes) else {
            continue;
        };
        let (items, _) = objects::items_of(objects::source_objects(name, parsed).collect());
        if let [(_, item)] = items.as_slice() {
            let key = match &item.uid {
                Some(uid) => format!("uid:{uid}"),
                None => format!("canonical:{}", item.canonical),
            };
            found.insert(key, name.clone());
        }
    }
    found
}

/// Whether a file's content is one of the item's versions as exported: replacing or removing
/// it then loses nothing.
fn matches_history(tx: &Tx<'_>, item: &ItemRecord, bytes: &[u8]) -> Result<bool, Failure> {
    let Ok(file) = content::parse_object(bytes) else {
        return Ok(false);
    };
    for version in tx.item_history(item.guid)? {
        let as_item = ItemRecord {
            canonical: version.canonical,
            ..item.clone()
        };
        if export_component(&as_item).is_ok_and(|c| c == file.component) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn export_collection(
    tx: &Tx<'_>,
    db: &Path,
    collection: &Path,
    datastore: Datastore,
    report: &mut VdirReport,
) -> Result<(), Failure> {
    let ext = files::extension(datastore);
    let mut existing: BTreeSet<String> = std::fs::read_dir(collection)
        .map_err(|e| Failure::io(format!("cannot read {}: {e}", collection.display())))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.') && name.ends_with(&format!(".{ext}")))
        .collect();
    let items = tx.items(datastore, true)?;
    let mut progress = Progress::new("exporting", Some(items.len()));
    // Live items first take their names; a tombstone only removes a file no live item wrote.
    let mut written_names: BTreeSet<String> = BTreeSet::new();
    let (live, deleted): (Vec<&ItemRecord>, Vec<&ItemRecord>) =
        items.iter().partition(|i| !i.is_deleted());
    let mut planned = Vec::with_capacity(live.len());
    let mut named: BTreeSet<String> = BTreeSet::new();
    for item in &live {
        let component = export_component(item).map_err(Failure::io)?;
        let uid = objects::export_uid(item, &component);
        let mut name = vdir::file_name(&uid, ext);
        if !named.insert(name.clone()) {
            // Two live items share a UID (a conflict kept both): the later one (GUID order)
            // gets a file of its own, named stably, instead of overwriting the other's.
            name = vdir::file_name(&format!("{uid}-{}", item.guid), ext);
            named.insert(name.clone());
        }
        planned.push((*item, component, name));
    }
    let ours: BTreeSet<&str> = planned.iter().map(|(_, _, name)| name.as_str()).collect();
    let others: Vec<String> = existing
        .iter()
        .filter(|name| !ours.contains(name.as_str()))
        .cloned()
        .collect();
    let elsewhere = items_in_other_files(collection, &others);
    for (done, (item, component, name)) in planned.into_iter().enumerate() {
        progress.tick(done);
        // An item already in a file named otherwise (vdirsyncer hashes odd UIDs; a file
        // without UID was imported) keeps that file, so the folder never holds it twice.
        let name = elsewhere
            .get(&item_key(item))
            .filter(|other| !existing.contains(&name) && !written_names.contains(*other))
            .cloned()
            .unwrap_or(name);
        let path = collection.join(&name);
        let text = content::write_component(&component, &WriteOptions::modern());
        existing.remove(&name);
        written_names.insert(name);
        match std::fs::read(&path) {
            Ok(old) if old == text.as_bytes() => {
                report.unchanged += 1;
                continue;
            }
            Ok(old) => {
                if !matches_history(tx, item, &old)? {
                    report
                        .kept_copies
                        .push(keep_replaced(db, &path, datastore.as_str())?);
                }
            }
            Err(_) => {}
        }
        write_atomically(&path, text.as_bytes())?;
        report.written += 1;
    }
    progress.finish();
    for item in deleted {
        let Ok(component) = export_component(item) else {
            continue;
        };
        let name = vdir::file_name(&objects::export_uid(item, &component), ext);
        if written_names.contains(&name) || !existing.remove(&name) {
            continue;
        }
        let path = collection.join(&name);
        let old = std::fs::read(&path).unwrap_or_default();
        if !matches_history(tx, item, &old)? {
            report
                .kept_copies
                .push(keep_replaced(db, &path, datastore.as_str())?);
        }
        std::fs::remove_file(&path)
            .map_err(|e| Failure::io(format!("cannot remove {}: {e}", path.display())))?;
        report.removed += 1;
    }
    report.unknown += existing.len();
    Ok(())
}
