//! Running the built `handsync` against a scratch database, and reading what it stored.
#![allow(dead_code)] // each test binary uses its own subset

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use handsync::pim::calendar::Calendar;
use handsync::pim::identity::normalize_phone_number;
use handsync::pim::vcard::VCard;
use handsync::store::{Datastore, ItemRecord, Store};

/// Runs `handsync --db DB ARGS`, feeding `stdin` when given.
pub fn handsync(db: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
    command
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("HANDSYNC_DB")
        .env_remove("HANDSYNC_LOG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run handsync");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().expect("wait for handsync")
}

/// Like [`handsync`], but the command must succeed; returns its stdout.
pub fn handsync_ok(db: &Path, args: &[&str]) -> String {
    let output = handsync(db, args, None);
    assert!(
        output.status.success(),
        "handsync {args:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The live items of a datastore, read through the store library.
pub fn stored_items(db: &Path, datastore: Datastore) -> Vec<ItemRecord> {
    let mut store = Store::open(db).unwrap();
    store.read(|tx| tx.items(datastore, false)).unwrap()
}

/// What a contact must keep through any export and import: its name, numbers and birthday.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContactFields {
    pub name: String,
    pub numbers: Vec<String>,
    pub birthday: Option<String>,
}

pub fn contact_fields(canonical: &str) -> ContactFields {
    let card = VCard::parse(canonical.as_bytes()).unwrap();
    let mut numbers: Vec<String> = card
        .telephones()
        .iter()
        .map(|t| normalize_phone_number(&t.value))
        .filter(|n| !n.is_empty())
        .collect();
    numbers.sort();
    ContactFields {
        name: card.formatted_name().unwrap_or_default().trim().to_string(),
        numbers,
        birthday: card.birthday().map(|d| d.basic()),
    }
}

/// What an event, to-do or journal must keep: kind, summary and its times as written.
pub fn calendar_fields(canonical: &str) -> Vec<(String, String, String, String)> {
    let calendar = Calendar::parse(canonical.as_bytes()).unwrap();
    calendar
        .items()
        .iter()
        .map(|item| {
            let time = |name: &str| {
                item.component
                    .property(name)
                    .map(|p| p.text_value())
                    .unwrap_or_default()
            };
            (
                item.component.name.clone(),
                item.summary().unwrap_or_default(),
                time("DTSTART"),
                time("DUE"),
            )
        })
        .collect()
}

/// Every item's fields, sorted: two stores hold the same data when these are equal.
pub fn contacts_of(db: &Path) -> Vec<ContactFields> {
    let mut fields: Vec<ContactFields> = stored_items(db, Datastore::Contacts)
        .iter()
        .map(|i| contact_fields(&i.canonical))
        .collect();
    fields.sort();
    fields
}

pub fn calendar_items_of(
    db: &Path,
    datastore: Datastore,
) -> Vec<Vec<(String, String, String, String)>> {
    let mut fields: Vec<_> = stored_items(db, datastore)
        .iter()
        .map(|i| calendar_fields(&i.canonical))
        .collect();
    fields.sort();
    fields
}

/// A scratch folder with a database path in it.
pub fn scratch_db(name: &str) -> (PathBuf, PathBuf) {
    let dir = crate::support::scratch_dir(name);
    let db = dir.join("data").join("handsync.db");
    (dir, db)
}
