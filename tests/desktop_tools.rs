//! The desktop reads what `handsync export --vdir` writes: khard (contacts), khal (calendar)
//! and vdirsyncer (a filesystem-to-filesystem pair) take the exported vdir without an error
//! and show the same names, numbers and dates as the store, field by field.
//! Each tool runs with its own config in a scratch folder; without the tool the test skips,
//! unless HANDSYNC_REQUIRE_ORACLES is set.

mod cli_store_support;
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cli_store_support::*;
use handsync::pim::calendar::Calendar;
use handsync::pim::datetime::CalTime;
use handsync::pim::vcard::VCard;
use handsync::store::Datastore;
use support::{corpus_dir, corpus_files, oracle_available};

fn import_and_export(name: &str, inputs: &[PathBuf]) -> (PathBuf, PathBuf, PathBuf) {
    let (dir, db) = scratch_db(name);
    let mut args = vec!["import".to_string()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let imported = handsync(&db, &args, None);
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let vdir = dir.join("vdir");
    handsync_ok(&db, &["export", "--vdir", vdir.to_str().unwrap()]);
    (dir, db, vdir)
}

/// Runs a desktop tool; it must succeed without complaining on stderr.
fn run_tool(command: &mut Command) -> String {
    let output: Output = command.output().expect("run desktop tool");
    let stderr = text(&output.stderr);
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{stderr}",
        output.status,
        text(&output.stdout)
    );
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("error") || l.contains("warning") || l.contains("unparsable")
        })
        .collect();
    assert!(complaints.is_empty(), "{command:?} complained:\n{stderr}");
    text(&output.stdout)
}

fn contact_inputs() -> Vec<PathBuf> {
    let mut files = corpus_files("pim/gammu/vcards", ".vcf");
    files.push(corpus_dir().join("pim/syncevolution/vcard21.vcf"));
    files.push(corpus_dir().join("pim/syncevolution/eds_contact.vcf"));
    files
}

#[test]
fn khard_lists_and_shows_the_exported_contacts() {
    if !oracle_available("khard") {
        return;
    }
    let (dir, db, vdir) = import_and_export("khard", &contact_inputs());
    let config = dir.join("khard.conf");
    std::fs::write(
        &config,
        format!(
            "[addressbooks]\n[[handsync]]\npath = {}\n[general]\neditor = /bin/true\n\
             merge_editor = /bin/true\ndefault_action = list\n[contact table]\n\
             display = formatted_name\nshow_uids = yes\nlocalize_dates = no\n",
            vdir.join("contacts").display()
        ),
    )
    .unwrap();
    let khard = |args: &[&str]| {
        run_tool(
            Command::new("khard")
                .arg("-c")
                .arg(&config)
                .args(args)
                .env("HOME", &dir),
        )
    };
    let cards: Vec<VCard> = stored_items(&db, Datastore::Contacts)
        .iter()
        .map(|i| VCard::parse(i.canonical.as_bytes()).unwrap())
        .collect();
    let name_of = |card: &VCard| card.formatted_name().unwrap_or_default().trim().to_string();

    // list: one row per contact, with the store's names.
    // Rows end with the address book's name; a name may hold a line break (gammu's
    // quoted-printable-ascii.vcf), so rows are not lines.
    let listed = khard(&["list", "--parsable"]);
    let rows: Vec<Vec<&str>> = listed
        .split_terminator("\thandsync\n")
        .map(|row| row.splitn(2, '\t').collect())
        .collect();
    assert_eq!(rows.len(), cards.len(), "{listed}");
    let listed_names: BTreeSet<String> = rows.iter().map(|r| r[1].trim().to_string()).collect();
    for card in &cards {
        let name = name_of(card);
        if !name.is_empty() {
            assert!(listed_names.contains(&name), "khard lost {name:?}");
        }
    }

    // phone: every number of every contact, under its name.
    let phones = khard(&["phone", "--parsable"]);
    let shown: BTreeSet<(String, String)> = phones
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            (fields[0].trim().to_string(), fields[1].trim().to_string())
        })
        .collect();
    let mut numbers = 0;
    for card in &cards {
        for tel in card
            .telephones()
            .iter()
            .filter(|t| !t.value.trim().is_empty())
        {
            numbers += 1;
            let entry = (tel.value.trim().to_string(), name_of(card));
            assert!(shown.contains(&entry), "khard phone lacks {entry:?}");
        }
    }
    assert!(numbers > 500, "{numbers} numbers");

    // birthdays: the same dates.
    let birthdays = khard(&["birthdays", "--parsable"]);
    let shown: BTreeSet<(String, String)> = birthdays
        .lines()
        .map(|l| {
            let (date, name) = l.split_once('\t').unwrap();
            (date.replace('.', ""), name.trim().to_string())
        })
        .collect();
    let mut dated = 0;
    for card in &cards {
        if let Some(date) = card.birthday().filter(|_| !name_of(card).contains('\n')) {
            dated += 1;
            let entry = (date.basic(), name_of(card));
            assert!(
                shown.contains(&entry),
                "khard birthdays lacks {entry:?}:\n{birthdays}"
            );
        }
    }
    assert!(dated > 0);

    // show: one contact in full, found by the UID its file is named after.
    let card = cards
        .iter()
        .find(|c| name_of(c) == "Christelle DECHAMBRE")
        .or_else(|| cards.iter().find(|c| c.telephones().len() > 1))
        .unwrap();
    let uid = rows
        .iter()
        .find(|r| r[1].trim() == name_of(card))
        .map(|r| r[0].trim().to_string())
        .unwrap();
    let shown = khard(&["show", "--format", "yaml", &format!("uid:{uid}")]);
    assert!(
        shown.contains(&name_of(card)) || shown.contains("DECHAMBRE"),
        "{shown}"
    );
    for tel in card.telephones() {
        assert!(
            shown.contains(tel.value.trim()),
            "{} not in\n{shown}",
            tel.value
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The first start of an event as khal prints it with `local_timezone = UTC`: `YYYY-MM-DD`
/// for a date, `YYYY-MM-DD HH:MM` for a time. `None` when the zone is not in the item
/// (khal would resolve it from its own database).
fn khal_start(item: &handsync::pim::calendar::CalendarItem) -> Option<String> {
    let property = item.component.property("DTSTART")?;
    let time = item.time_in_utc("DTSTART")?;
    match time {
        CalTime::Date(d) => Some(format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)),
        CalTime::DateTime(t) => {
            let floating_with_zone = !t.utc && property.param_value("TZID").is_some();
            (!floating_with_zone).then(|| {
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}",
                    t.date.year, t.date.month, t.date.day, t.hour, t.minute
                )
            })
        }
    }
}

#[test]
fn khal_lists_the_exported_events_at_their_times() {
    if !oracle_available("khal") {
        return;
    }
    // Phone vCalendars and a holiday calendar; no unlimited daily rules, which khal would
    // expand for minutes.
    let mut inputs = corpus_files("pim/gammu/vcal", ".vcs");
    inputs.push(corpus_dir().join("pim/gammu/vcal/UK32Holidays.ics"));
    inputs.push(corpus_dir().join("pim/gammu/vcal/01.ics"));
    let (dir, db, vdir) = import_and_export("khal", &inputs);
    let config = dir.join("khal.conf");
    std::fs::write(
        &config,
        format!(
            "[calendars]\n[[handsync]]\npath = {}\ntype = calendar\n[locale]\n\
             timeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n\
             datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n\
             local_timezone = UTC\ndefault_timezone = UTC\n[sqlite]\npath = {}\n",
            vdir.join("calendar").display(),
            dir.join("khal.db").display()
        ),
    )
    .unwrap();
    let listed = run_tool(
        Command::new("khal")
            .arg("-c")
            .arg(&config)
            .args([
                "list",
                "--once",
                "--day-format",
                "",
                "--format",
                "{start}|{title}",
                "1970-01-01",
                "2015-01-01",
            ])
            .env("HOME", &dir),
    );
    let shown: Vec<&str> = listed.lines().filter(|l| !l.trim().is_empty()).collect();
    let shown_set: BTreeSet<&str> = shown.iter().copied().collect();
    let mut expected = 0;
    for item in stored_items(&db, Datastore::Calendar) {
        let calendar = Calendar::parse(item.canonical.as_bytes()).unwrap();
        for event in calendar.items() {
            if event.component.property("RECURRENCE-ID").is_some() {
                continue;
            }
            let Some(start) = khal_start(&event) else {
                continue;
            };
            if !("1970".."2015").contains(&&start[..4]) {
                continue;
            }
            expected += 1;
            let line = format!("{start}|{}", event.summary().unwrap_or_default());
            assert!(
                shown_set.contains(line.as_str()),
                "khal lacks {line:?}:\n{listed}"
            );
        }
    }
    assert!(expected > 70, "{expected} events compared");
    assert_eq!(
        shown.len(),
        expected,
        "khal shows events the store lacks:\n{listed}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn files_with(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

#[test]
fn vdirsyncer_syncs_the_exported_vdir_to_another_folder_unchanged() {
    if !oracle_available("vdirsyncer") {
        return;
    }
    let mut inputs = contact_inputs();
    inputs.extend(corpus_files("pim/gammu/vcal", ".vcs"));
    inputs.push(corpus_dir().join("pim/syncevolution/eds_event.ics"));
    inputs.push(corpus_dir().join("pim/syncevolution/eds_task.ics"));
    inputs.push(corpus_dir().join("pim/syncevolution/eds_memo.ics"));
    let (dir, db, vdir) = import_and_export("vdirsyncer", &inputs);
    let mirror = dir.join("mirror");
    // The other side's collections exist, so discover has nothing to ask.
    for datastore in Datastore::ALL {
        std::fs::create_dir_all(mirror.join(datastore.as_str())).unwrap();
    }
    let config = dir.join("vdirsyncer.conf");
    let storage = |name: &str, path: &Path, ext: &str| {
        format!(
            "[storage {name}]\ntype = \"filesystem\"\npath = \"{}\"\nfileext = \".{ext}\"\n\n",
            path.display()
        )
    };
    let mut text_config = format!(
        "[general]\nstatus_path = \"{}\"\n\n\
         [pair contacts]\na = \"handsync_contacts\"\nb = \"mirror_contacts\"\n\
         collections = [\"contacts\"]\n\n\
         [pair calendars]\na = \"handsync_calendars\"\nb = \"mirror_calendars\"\n\
         collections = [\"calendar\", \"tasks\", \"notes\"]\n\n",
        dir.join("status").display()
    );
    text_config.push_str(&storage("handsync_contacts", &vdir, "vcf"));
    text_config.push_str(&storage("mirror_contacts", &mirror, "vcf"));
    text_config.push_str(&storage("handsync_calendars", &vdir, "ics"));
    text_config.push_str(&storage("mirror_calendars", &mirror, "ics"));
    std::fs::write(&config, text_config).unwrap();
    let vdirsyncer = |args: &[&str]| {
        run_tool(
            Command::new("vdirsyncer")
                .arg("-c")
                .arg(&config)
                .args(args)
                .env("HOME", &dir)
                .stdin(std::process::Stdio::null()),
        )
    };
    vdirsyncer(&["discover"]);
    vdirsyncer(&["sync"]);

    // Every item reached the mirror with its names, numbers and dates.
    for (datastore, extension) in [
        (Datastore::Contacts, "vcf"),
        (Datastore::Calendar, "ics"),
        (Datastore::Tasks, "ics"),
        (Datastore::Notes, "ics"),
    ] {
        let mirrored = files_with(&mirror.join(datastore.as_str()), extension);
        let stored = stored_items(&db, datastore);
        assert_eq!(mirrored.len(), stored.len(), "{datastore}");
        assert!(!stored.is_empty(), "{datastore}");
        let read = |path: &PathBuf| String::from_utf8(std::fs::read(path).unwrap()).unwrap();
        if datastore == Datastore::Contacts {
            let mut from_mirror: Vec<ContactFields> =
                mirrored.iter().map(|p| contact_fields(&read(p))).collect();
            from_mirror.sort();
            assert_eq!(from_mirror, contacts_of(&db));
        } else {
            let mut from_mirror: Vec<_> =
                mirrored.iter().map(|p| calendar_fields(&read(p))).collect();
            from_mirror.sort();
            let mut from_store: Vec<_> = stored
                .iter()
                .map(|i| calendar_fields(&i.canonical))
                .collect();
            from_store.sort();
            assert_eq!(from_mirror, from_store, "{datastore}");
        }
    }

    // A second export changes no file, so a second sync has nothing to do.
    let again = handsync_ok(&db, &["export", "--vdir", vdir.to_str().unwrap()]);
    assert!(again.contains(" 0 written"), "{again}");
    let before: Vec<PathBuf> = files_with(&mirror.join("contacts"), "vcf");
    vdirsyncer(&["sync"]);
    assert_eq!(files_with(&mirror.join("contacts"), "vcf"), before);
    let _ = std::fs::remove_dir_all(dir);
}
