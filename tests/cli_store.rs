//! The store commands as users run them: the built binary against a scratch database,
//! with the phone vCards and vCalendars of the corpus.

mod cli_store_support;
mod support;

use std::path::{Path, PathBuf};

use cli_store_support::*;
use handsync::store::{
    Cause, Datastore, DevInfEncoding, DevInfSummary, DeviceChange, ItemContent, NewSession, Reason,
    SessionResult, Store, StoreError, Timestamp,
};
use support::{corpus_dir, corpus_files};

/// The phone files of the corpus: gammu's vCards and vCalendars, SyncEvolution's test items.
fn corpus_inputs() -> Vec<PathBuf> {
    let mut files = corpus_files("pim/gammu/vcards", ".vcf");
    files.extend(corpus_files("pim/gammu/vcal", ".vcs"));
    files.extend(corpus_files("pim/gammu/vcal", ".ics"));
    files.extend(corpus_files("pim/gammu/vnote", ".vnt"));
    for name in [
        "vcard21.vcf",
        "eds_contact.vcf",
        "vcal10.ics",
        "eds_event.ics",
        "eds_task.ics",
        "eds_memo.ics",
    ] {
        files.push(corpus_dir().join("pim/syncevolution").join(name));
    }
    files
}

fn import_paths(db: &Path, paths: &[PathBuf]) -> std::process::Output {
    let mut args = vec!["import".to_string()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    handsync(db, &args, None)
}

/// `imported: 3 added, ...` as numbers by name.
fn summary_count(stdout: &str, what: &str) -> usize {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("imported:"))
        .unwrap_or_else(|| panic!("no summary in {stdout}"));
    line.split(", ")
        .find(|part| part.trim_end().ends_with(what) || part.contains(&format!(" {what}")))
        .and_then(|part| {
            part.trim_start_matches("imported: ")
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {what:?} count in {line}"))
}

fn filled_store(name: &str) -> (PathBuf, PathBuf) {
    let (dir, db) = scratch_db(name);
    let output = import_paths(&db, &corpus_inputs());
    assert!(
        output.status.success(),
        "corpus import failed:\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    (dir, db)
}

#[test]
fn accounts_are_added_listed_and_removed_and_the_password_is_nowhere() {
    let (dir, db) = scratch_db("accounts");
    let password = "Zq7-unlikely-secret";
    let added = handsync(
        &db,
        &["account", "add", "ada", "--password", password],
        None,
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let from_stdin = handsync(
        &db,
        &["account", "add", "bob", "--password-stdin"],
        Some(format!("{password}-bob\n").as_bytes()),
    );
    assert!(from_stdin.status.success(), "{}", text(&from_stdin.stderr));
    let again = handsync(&db, &["account", "add", "ada", "--password", "x"], None);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
    let listed = handsync(&db, &["-vv", "account", "list"], None);
    let listing = text(&listed.stdout);
    assert!(
        listing.contains("ada") && listing.contains("bob"),
        "{listing}"
    );
    for output in [&added, &from_stdin, &again, &listed] {
        let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
        assert!(!all.contains(password), "password printed: {all}");
    }
    // Neither the database nor its WAL holds the password.
    for entry in std::fs::read_dir(db.parent().unwrap()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes
            .windows(password.len())
            .any(|w| w == password.as_bytes()));
    }
    let store = Store::open(&db).unwrap();
    drop(store);
    handsync_ok(&db, &["account", "remove", "bob"]);
    let listing = handsync_ok(&db, &["account", "list"]);
    assert!(
        listing.contains("ada") && !listing.contains("bob"),
        "{listing}"
    );
    let missing = handsync(&db, &["account", "remove", "bob"], None);
    assert_eq!(missing.status.code(), Some(2));
    let no_password = handsync(&db, &["account", "add", "carol"], None);
    assert_eq!(no_password.status.code(), Some(2));
    // --account names whose data a listing or an import works in; to the commands that
    // manage or serve every account it means nothing, and is refused rather than ignored.
    for args in [
        &["--account", "ada", "account", "list"][..],
        &["--account", "ada", "serve", "--no-bluetooth"][..],
        &["--account", "ada", "devices", "--usb"][..],
    ] {
        let refused = handsync(&db, args, None);
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        assert!(
            text(&refused.stderr).contains("--account works with devices, history"),
            "{args:?}: {}",
            text(&refused.stderr)
        );
    }
    let listed = handsync_ok(&db, &["--account", "ada", "history"]);
    assert!(!listed.contains("--account works"), "{listed}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_corpus_imports_and_a_second_import_creates_no_duplicates() {
    let (dir, db) = filled_store("reimport");
    let contacts = stored_items(&db, Datastore::Contacts);
    let events = stored_items(&db, Datastore::Calendar);
    // se-3.vcf alone holds 499 cards, UK32Holidays.ics 69 events.
    assert!(contacts.len() > 500, "{} contacts", contacts.len());
    assert!(events.len() > 90, "{} events", events.len());
    assert!(!stored_items(&db, Datastore::Tasks).is_empty());
    assert!(!stored_items(&db, Datastore::Notes).is_empty());
    // Stored canonical (vCard 3.0, iCalendar 2.0) with the phone's bytes and identity keys.
    for item in &contacts {
        assert!(item.canonical.contains("VERSION:3.0"), "{}", item.canonical);
        assert!(item
            .identity_key
            .as_deref()
            .unwrap()
            .starts_with("contact|"));
        assert!(!item.raw.is_empty());
    }
    for item in &events {
        assert!(item.canonical.contains("VERSION:2.0"), "{}", item.canonical);
        assert!(!item.canonical.contains("VERSION:1.0"));
    }
    let counts: Vec<usize> = Datastore::ALL
        .iter()
        .map(|d| stored_items(&db, *d).len())
        .collect();
    let again = import_paths(&db, &corpus_inputs());
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(summary_count(&text(&again.stdout), "added"), 0);
    let counts_after: Vec<usize> = Datastore::ALL
        .iter()
        .map(|d| stored_items(&db, *d).len())
        .collect();
    assert_eq!(counts, counts_after);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn exports_to_vcf_ics_and_vdir_import_back_with_the_same_names_numbers_and_dates() {
    let (dir, db) = filled_store("roundtrip");
    let contacts = contacts_of(&db);
    let calendar = calendar_items_of(&db, Datastore::Calendar);
    let tasks = calendar_items_of(&db, Datastore::Tasks);
    let notes = calendar_items_of(&db, Datastore::Notes);

    // One vCard file and one iCalendar file (calendar and tasks), and notes through stdout.
    let vcf = dir.join("all.vcf");
    let ics = dir.join("all.ics");
    handsync_ok(&db, &["export", "--vcf", vcf.to_str().unwrap()]);
    handsync_ok(&db, &["export", "--ics", ics.to_str().unwrap()]);
    let notes_ics = handsync_ok(&db, &["export", "--datastore", "notes"]);
    let stdout_vcf = handsync_ok(&db, &["export", "--datastore", "contacts"]);
    assert_eq!(stdout_vcf.as_bytes(), std::fs::read(&vcf).unwrap());
    let files_db = dir.join("files").join("handsync.db");
    let imported = import_paths(&files_db, &[vcf.clone(), ics.clone()]);
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let from_stdin = handsync(&files_db, &["import", "-"], Some(notes_ics.as_bytes()));
    assert!(from_stdin.status.success(), "{}", text(&from_stdin.stderr));
    assert_eq!(contacts_of(&files_db), contacts);
    assert_eq!(calendar_items_of(&files_db, Datastore::Calendar), calendar);
    assert_eq!(calendar_items_of(&files_db, Datastore::Tasks), tasks);
    assert_eq!(calendar_items_of(&files_db, Datastore::Notes), notes);

    // A vdir: one file per item named by UID, the same names on a second export.
    let vdir = dir.join("vdir");
    let first = handsync_ok(&db, &["export", "--vdir", vdir.to_str().unwrap()]);
    assert!(first.contains("written"), "{first}");
    let names = |folder: &str| {
        let mut names: Vec<String> = std::fs::read_dir(vdir.join(folder))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".vcf") || n.ends_with(".ics"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("contacts").len(), contacts.len());
    assert_eq!(names("calendar").len(), calendar.len());
    let before = names("contacts");
    let second = handsync_ok(&db, &["export", "--vdir", vdir.to_str().unwrap()]);
    assert!(second.contains(" 0 written"), "{second}");
    assert_eq!(names("contacts"), before);
    let vdir_db = dir.join("vdir-db").join("handsync.db");
    let imported = handsync(
        &vdir_db,
        &["import", "--vdir", vdir.to_str().unwrap()],
        None,
    );
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    assert_eq!(contacts_of(&vdir_db), contacts);
    assert_eq!(calendar_items_of(&vdir_db, Datastore::Calendar), calendar);
    assert_eq!(calendar_items_of(&vdir_db, Datastore::Tasks), tasks);
    assert_eq!(calendar_items_of(&vdir_db, Datastore::Notes), notes);
    // Importing the vdir into the store it came from changes nothing.
    let back = handsync_ok(&db, &["import", "--vdir", vdir.to_str().unwrap()]);
    assert_eq!(summary_count(&back, "added"), 0, "{back}");
    assert_eq!(summary_count(&back, "updated"), 0, "{back}");

    // Text: every name, number and date is there to read.
    let contacts_text = handsync_ok(
        &db,
        &["export", "--datastore", "contacts", "--format", "text"],
    );
    for item in stored_items(&db, Datastore::Contacts) {
        let card = handsync::pim::vcard::VCard::parse(item.canonical.as_bytes()).unwrap();
        if let Some(name) = card.formatted_name().filter(|n| !n.trim().is_empty()) {
            assert!(contacts_text.contains(name.trim()), "{name} missing");
        }
        for tel in card.telephones() {
            assert!(contacts_text.contains(&tel.value), "{} missing", tel.value);
        }
    }
    let calendar_text = handsync_ok(
        &db,
        &["export", "--datastore", "calendar", "--format", "text"],
    );
    // vcal10.ics's UTC "phone meeting" came first; eds_event.ics's Berlin one is the same
    // event (same identity key) and was skipped as a duplicate.
    assert!(
        calendar_text.contains("phone meeting\n  start: 2006-04-06 14:00Z\n"),
        "{calendar_text}"
    );
    assert!(calendar_text.contains("  start: 2002-10-28 14:00 (US/Pacific)\n"));
    let notes_text = handsync_ok(&db, &["export", "--datastore", "notes", "--format", "text"]);
    let note_db = dir.join("note-db").join("handsync.db");
    let note = handsync(
        &note_db,
        &["import", "--format", "text", "-"],
        Some(b"Shopping\nmilk\nbread\n"),
    );
    assert!(note.status.success(), "{}", text(&note.stderr));
    assert!(handsync_ok(
        &note_db,
        &["export", "--datastore", "notes", "--format", "text"]
    )
    .contains("Shopping\nmilk\nbread"));
    assert!(!notes_text.is_empty());

    // Formats that do not fit the datastore are refused.
    let wrong = handsync(
        &db,
        &["export", "--datastore", "calendar", "--format", "vcf"],
        None,
    );
    assert_eq!(wrong.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_malformed_file_is_reported_by_file_and_line_and_the_rest_is_imported() {
    let (dir, db) = scratch_db("malformed");
    let file = dir.join("mixed.vcf");
    std::fs::write(
        &file,
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:One;Good\r\nTEL;CELL:+491701111111\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bad\r\nthis line has no colon\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Unterminated\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good Two\r\nTEL:+491702222222\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let ics = dir.join("bad.ics");
    std::fs::write(&ics, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n").unwrap();
    let output = import_paths(&db, &[file.clone(), ics.clone()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    let name = file.display().to_string();
    assert!(
        stderr.contains(&format!("{name}:9: content line has no ':'")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:11: VCARD has no END:VCARD")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{}:5: END:VTODO while VEVENT is open",
            ics.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("3 items rejected"), "{stderr}");
    assert_eq!(summary_count(&text(&output.stdout), "added"), 2);
    let names: Vec<String> = contacts_of(&db).into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Good One", "Good Two"]);
    // A datastore filter rejects items of other kinds, with their file.
    let events = dir.join("event.ics");
    std::fs::write(&events, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nDTSTART:20100101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").unwrap();
    let filtered = handsync(
        &db,
        &[
            "import",
            "--datastore",
            "contacts",
            events.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(filtered.status.code(), Some(2));
    assert!(text(&filtered.stderr).contains("a calendar item, not contacts"));
    let _ = std::fs::remove_dir_all(dir);
}

fn card(name: &str, number: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:restore-test-1\r\nFN:{name}\r\nN:{name};;;;\r\nTEL;TYPE=CELL:{number}\r\nEND:VCARD\r\n")
}

#[test]
fn an_overwritten_item_is_restored_and_the_restore_undone() {
    let (dir, db) = scratch_db("restore");
    let first = handsync(
        &db,
        &["import", "-"],
        Some(card("Original", "+491701234567").as_bytes()),
    );
    assert!(first.status.success());
    let second = handsync(
        &db,
        &["import", "-"],
        Some(card("Overwritten", "+491709999999").as_bytes()),
    );
    assert_eq!(summary_count(&text(&second.stdout), "updated"), 1);
    let guid = stored_items(&db, Datastore::Contacts)[0].guid.to_string();
    assert_eq!(contacts_of(&db)[0].name, "Overwritten");

    let restored = handsync_ok(&db, &["restore", "--item", &guid]);
    assert!(
        restored.contains(&format!("restored contacts item {guid}: Original")),
        "{restored}"
    );
    assert_eq!(contacts_of(&db)[0].name, "Original");
    assert_eq!(contacts_of(&db)[0].numbers, ["701234567"]);

    // The printed undo command brings the overwrite back.
    let undo = restored
        .lines()
        .find_map(|l| l.strip_prefix("undo it with: handsync "))
        .unwrap_or_else(|| panic!("no undo line in {restored}"));
    let undo_args: Vec<&str> = undo.split_whitespace().collect();
    handsync_ok(&db, &undo_args);
    assert_eq!(contacts_of(&db)[0].name, "Overwritten");
    // The item's own UID names it too, as khard shows it.
    let by_uid = handsync_ok(&db, &["restore", "--item", "restore-test-1"]);
    assert!(by_uid.contains("Original"), "{by_uid}");
    handsync_ok(&db, &undo_args);

    // By time: the state as of now is the current one, nothing changes.
    let now = handsync_ok(
        &db,
        &["restore", "--item", &guid, "--at", "2999-01-01T00:00:00Z"],
    );
    assert!(now.contains("0 restored, 0 deleted, 1 unchanged"), "{now}");
    let bad = handsync(
        &db,
        &["restore", "--item", &guid, "--at", "last tuesday"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    let missing = handsync(&db, &["restore", "--item", "999"], None);
    assert_eq!(missing.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

/// A phone that synced once and added a contact, written through the store as the engine
/// will write it.
fn record_a_sync(db: &Path) -> (i64, i64) {
    let mut store = Store::open(db).unwrap();
    let at = Timestamp::from_unix_seconds(1_700_000_000);
    store
        .transaction(|tx| {
            let device = tx.upsert_device("IMEI:350123451234560", at)?;
            tx.set_device_info(
                device,
                b"<DevInf/>",
                DevInfEncoding::Xml,
                &DevInfSummary {
                    manufacturer: Some("Nokia".into()),
                    model: Some("6230i".into()),
                    ..DevInfSummary::default()
                },
            )?;
            let session = tx.begin_session(&NewSession {
                device,
                transport: "obex-bluetooth",
                syncml_session_id: Some("1"),
                started_at: at,
            })?;
            tx.set_up_device_datastore(device, Datastore::Contacts, "./C\\System\\Data\\Contacts.cdb")?;
            tx.begin_datastore_sync(device, Datastore::Contacts, session, "1", "1", at)?;
            let vcard = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Phone;Added\r\nTEL;CELL:+4917055555\r\nEND:VCARD\r\n";
            let canonical = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Phone;Added;;;\r\nFN:Added Phone\r\nTEL;TYPE=CELL:+4917055555\r\nEND:VCARD\r\n";
            tx.apply_from_device(
                device,
                Datastore::Contacts,
                Some(session),
                DeviceChange::Add {
                    luid: "17",
                    content: ItemContent {
                        content_type: "text/x-vcard",
                        raw: vcard,
                        canonical,
                        identity_key: Some("contact|added phone|tel:17055555"),
                    },
                },
                at,
            )?;
            tx.complete_datastore_sync(device, Datastore::Contacts, session, None, at)?;
            tx.end_session(session, SessionResult::Completed, None, Timestamp::from_unix_seconds(1_700_000_060))?;
            Ok::<_, StoreError>((device.0, session.0))
        })
        .unwrap()
}

#[test]
fn devices_history_and_undoing_a_session_on_an_empty_and_a_filled_store() {
    let (dir, db) = scratch_db("devices");
    assert!(handsync_ok(&db, &["devices"]).contains("no phones have synced yet"));
    assert!(handsync_ok(&db, &["history"]).contains("no sync sessions yet"));
    // An item made on the PC before the sync, which undoing the session must keep.
    let pc = handsync(
        &db,
        &["import", "-"],
        Some(card("On the PC", "+4930123456").as_bytes()),
    );
    assert!(pc.status.success());
    let (device, session) = record_a_sync(&db);

    let devices = handsync_ok(&db, &["devices"]);
    let row = devices.lines().nth(1).unwrap_or_default();
    for expected in [
        "Nokia",
        "6230i",
        "2023-11-14 22:13 UTC (completed)",
        "contacts 1",
        "IMEI:350123451234560",
    ] {
        assert!(row.contains(expected), "{expected} missing in\n{devices}");
    }
    let history = handsync_ok(&db, &["history"]);
    for expected in [
        "2023-11-14 22:13 UTC",
        "2023-11-14 22:14 UTC",
        "obex-bluetooth",
        "completed",
        "contacts from phone +1 ~0 -0",
        "Nokia 6230i",
    ] {
        assert!(
            history.contains(expected),
            "{expected} missing in\n{history}"
        );
    }
    let limited = handsync_ok(
        &db,
        &["history", "--device", &device.to_string(), "--limit", "1"],
    );
    assert_eq!(limited.lines().count(), 2, "{limited}");
    let unknown = handsync(&db, &["history", "--device", "99"], None);
    assert_eq!(unknown.status.code(), Some(2));

    let undone = handsync_ok(
        &db,
        &[
            "restore",
            "--datastore",
            "contacts",
            "--before-session",
            &session.to_string(),
        ],
    );
    assert!(undone.contains("deleted contacts item"), "{undone}");
    assert!(undone.contains("Added Phone"), "{undone}");
    let names: Vec<String> = contacts_of(&db).into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["On the PC"]);
    // ... and undoing the undo brings the phone's contact back.
    let undo = undone
        .lines()
        .find_map(|l| l.strip_prefix("undo it with: handsync "))
        .unwrap();
    handsync_ok(&db, &undo.split_whitespace().collect::<Vec<_>>());
    assert_eq!(contacts_of(&db).len(), 2);
    let no_point = handsync(&db, &["restore", "--datastore", "contacts"], None);
    assert_eq!(no_point.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_vdir_export_removes_files_of_deleted_items_and_keeps_desktop_edits() {
    let (dir, db) = scratch_db("vdir-safety");
    let pc = handsync(
        &db,
        &["import", "-"],
        Some(card("Kept", "+4930111111").as_bytes()),
    );
    assert!(pc.status.success());
    let vdir = dir.join("vdir");
    handsync_ok(
        &db,
        &[
            "export",
            "--vdir",
            vdir.to_str().unwrap(),
            "--datastore",
            "contacts",
        ],
    );
    let file = vdir.join("contacts").join("restore-test-1.vcf");
    assert!(file.exists());
    // Edited on the desktop, then the store's version is exported over it: the edit is kept
    // in the store's folder and the export says where.
    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace("Kept", "Edited");
    std::fs::write(&file, &edited).unwrap();
    std::fs::write(
        vdir.join("contacts").join("stranger.vcf"),
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Stranger\r\nTEL:+1555\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let output = handsync(&db, &["export", "--vdir", vdir.to_str().unwrap()], None);
    assert!(output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("differed from every version"), "{stderr}");
    assert!(stderr.contains("1 file in"), "{stderr}");
    let kept = std::fs::read_dir(db.parent().unwrap().join("replaced"))
        .unwrap()
        .flat_map(|stamp| std::fs::read_dir(stamp.unwrap().path().join("contacts")).unwrap())
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(kept, [edited]);
    assert!(vdir.join("contacts").join("stranger.vcf").exists());
    // Deleted in the store: its file goes on the next export.
    let guid = stored_items(&db, Datastore::Contacts)[0].guid;
    let mut store = Store::open(&db).unwrap();
    store
        .transaction(|tx| tx.delete_item(guid, &Cause::pc(Reason::DeletedOnPc), Timestamp(1)))
        .unwrap();
    drop(store);
    // Importing the old file does not bring the deleted item back; the stranger comes in.
    let reimport = handsync(&db, &["import", vdir.to_str().unwrap()], None);
    assert!(reimport.status.success(), "{}", text(&reimport.stderr));
    let summary = text(&reimport.stdout);
    assert_eq!(summary_count(&summary, "added"), 1, "{summary}");
    assert!(
        summary.contains("1 deleted in the store skipped"),
        "{summary}"
    );
    assert!(text(&reimport.stderr).contains("restore --item"));
    let names: Vec<String> = contacts_of(&db).into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Stranger"]);
    let output = handsync_ok(&db, &["export", "--vdir", vdir.to_str().unwrap()]);
    assert!(output.contains("1 removed"), "{output}");
    assert!(!file.exists());
    // The stranger, imported from its own file, is written back there, not a second time.
    let files: Vec<String> = std::fs::read_dir(vdir.join("contacts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".vcf"))
        .collect();
    assert_eq!(files, ["stranger.vcf"]);
    let stranger = std::fs::read_to_string(vdir.join("contacts").join("stranger.vcf")).unwrap();
    assert!(stranger.contains("UID:handsync-guid-"), "{stranger}");
    let again = handsync_ok(&db, &["export", "--vdir", vdir.to_str().unwrap()]);
    assert!(again.contains(" 0 written"), "{again}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_store_is_found_by_flag_environment_and_xdg_data_home() {
    let (dir, _) = scratch_db("paths");
    let run = |envs: &[(&str, &Path)], args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_handsync"));
        command
            .args(args)
            .env_remove("HANDSYNC_DB")
            .env_remove("XDG_DATA_HOME");
        for (name, value) in envs {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    };
    // XDG_DATA_HOME: the directory is created.
    let xdg = dir.join("xdg");
    run(
        &[("XDG_DATA_HOME", &xdg), ("HOME", &dir)],
        &["account", "list"],
    );
    assert!(xdg.join("handsync/handsync.db").exists());
    // HOME alone: ~/.local/share.
    let home = dir.join("home");
    run(&[("HOME", &home)], &["devices"]);
    assert!(home.join(".local/share/handsync/handsync.db").exists());
    // HANDSYNC_DB over both, --db over everything.
    let from_env = dir.join("env/store.db");
    run(
        &[("HANDSYNC_DB", &from_env), ("XDG_DATA_HOME", &xdg)],
        &["history"],
    );
    assert!(from_env.exists());
    let from_flag = dir.join("flag.db");
    run(
        &[("HANDSYNC_DB", &from_env)],
        &["--db", from_flag.to_str().unwrap(), "devices"],
    );
    assert!(from_flag.exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// Two live items with one UID (a conflict settled by keeping both makes them) get a vdir
/// file each, every export: neither overwrites the other, and a second export changes nothing.
#[test]
fn items_sharing_a_uid_get_a_vdir_file_each() {
    let (dir, db) = scratch_db("vdir-same-uid");
    let imported = handsync(
        &db,
        &["import", "-"],
        Some(card("Twin", "+4930222222").as_bytes()),
    );
    assert!(imported.status.success());
    let first = stored_items(&db, Datastore::Contacts).remove(0);
    let other = first.canonical.replace("+4930222222", "+4930333333");
    let mut store = Store::open(&db).unwrap();
    store
        .transaction(|tx| {
            let content = ItemContent {
                content_type: &first.content_type,
                raw: other.as_bytes(),
                canonical: &other,
                identity_key: first.identity_key.as_deref(),
            };
            tx.add_item(
                Datastore::Contacts,
                content,
                &Cause::pc(Reason::AddedOnPc),
                Timestamp(2),
            )
        })
        .unwrap();
    drop(store);
    let vdir = dir.join("vdir");
    let export = || handsync_ok(&db, &["export", "--vdir", vdir.to_str().unwrap()]);
    export();
    let mut files: Vec<String> = std::fs::read_dir(vdir.join("contacts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vcf"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files.iter().any(|f| f.contains("+4930222222")));
    assert!(files.iter().any(|f| f.contains("+4930333333")));
    let again = export();
    assert!(again.contains(" 0 written"), "{again}");
    let _ = std::fs::remove_dir_all(dir);
}
