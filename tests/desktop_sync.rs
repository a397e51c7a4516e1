//! `handsync desktop sync`: the store and a vdir in step both ways, case by case: a change on
//! one side, on both (each conflict policy, the loser in the item's history), a delete
//! against an edit, files that are no items, files that do not parse, and files the desktop
//! wrote, which are never removed without a copy.

mod cli_store_support;
mod support;

use std::path::{Path, PathBuf};

use cli_store_support::*;
use handsync::store::{Cause, Datastore, ItemContent, Reason, Store, Timestamp};

const ADA: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ada-1\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nTEL;TYPE=CELL:+44 20 1111\r\nEND:VCARD\r\n";
const ALAN: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:alan-1\r\nFN:Alan Turing\r\nN:Turing;Alan;;;\r\nTEL;TYPE=CELL:+44 20 2222\r\nEND:VCARD\r\n";

/// A store holding Ada and Alan, and its vdir after a first desktop sync.
fn synced(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let (dir, db) = scratch_db(name);
    std::fs::create_dir_all(&dir).unwrap();
    let cards = dir.join("cards.vcf");
    std::fs::write(&cards, format!("{ADA}{ALAN}")).unwrap();
    handsync_ok(&db, &["import", cards.to_str().unwrap()]);
    let vdir = dir.join("vdir");
    let out = desktop_sync(&db, &vdir, &[]);
    assert!(out.contains("to the desktop 2 added"), "{out}");
    (dir, db, vdir)
}

fn desktop_sync(db: &Path, vdir: &Path, more: &[&str]) -> String {
    let mut args = vec!["desktop", "sync", "--vdir", vdir.to_str().unwrap()];
    args.extend_from_slice(more);
    handsync_ok(db, &args)
}

fn contact_file(vdir: &Path, uid: &str) -> PathBuf {
    vdir.join("contacts").join(format!("{uid}.vcf"))
}

fn names(db: &Path) -> Vec<String> {
    let mut names: Vec<String> = stored_items(db, Datastore::Contacts)
        .iter()
        .map(|i| contact_fields(&i.canonical).name)
        .collect();
    names.sort();
    names
}

fn contact_with_uid(
    tx: &handsync::store::Tx<'_>,
    uid: &str,
    deleted_too: bool,
) -> Result<handsync::store::ItemRecord, handsync::store::StoreError> {
    Ok(tx
        .items(Datastore::Contacts, deleted_too)?
        .into_iter()
        .find(|i| i.canonical.contains(&format!("UID:{uid}")))
        .expect("the item"))
}

/// Changes an item in the store as a phone's sync would.
fn phone_changes(db: &Path, uid: &str, from: &str, to: &str) {
    let mut store = Store::open(db).unwrap();
    store
        .transaction(|tx| {
            let item = contact_with_uid(tx, uid, false)?;
            let canonical = item.canonical.replace(from, to);
            assert_ne!(canonical, item.canonical, "{from} is in the item");
            let content = ItemContent {
                content_type: &item.content_type,
                raw: canonical.as_bytes(),
                canonical: &canonical,
                identity_key: item.identity_key.as_deref(),
            };
            tx.replace_item(
                item.guid,
                content,
                &Cause::pc(Reason::ReplacedByPhone),
                Timestamp(item.modified_at.0 + 1),
            )
            .map(|_| ())
        })
        .unwrap();
}

fn phone_deletes(db: &Path, uid: &str) {
    let mut store = Store::open(db).unwrap();
    store
        .transaction(|tx| {
            let item = contact_with_uid(tx, uid, false)?;
            tx.delete_item(
                item.guid,
                &Cause::pc(Reason::DeletedByPhone),
                Timestamp(item.modified_at.0 + 1),
            )
            .map(|_| ())
        })
        .unwrap();
}

fn edit_file(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} in {}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

/// The reasons of an item's versions, oldest first, with their canonical text.
fn history(db: &Path, uid: &str) -> Vec<(String, String)> {
    let mut store = Store::open(db).unwrap();
    store
        .read(|tx| {
            let item = contact_with_uid(tx, uid, true)?;
            Ok::<_, handsync::store::StoreError>(
                tx.item_history(item.guid)?
                    .into_iter()
                    .map(|v| (v.cause.reason.to_string(), v.canonical))
                    .collect(),
            )
        })
        .unwrap()
}

#[test]
fn a_change_on_one_side_reaches_the_other_and_a_second_run_does_nothing() {
    let (_dir, db, vdir) = synced("desktop-one-side");
    assert_eq!(names(&db), ["Ada Lovelace", "Alan Turing"]);
    assert!(std::fs::read_to_string(contact_file(&vdir, "ada-1"))
        .unwrap()
        .contains("FN:Ada Lovelace"));
    // The phone renamed Ada; the desktop changed Alan's number and added Grace.
    phone_changes(&db, "ada-1", "FN:Ada Lovelace", "FN:Ada King");
    edit_file(&contact_file(&vdir, "alan-1"), "+44 20 2222", "+44 20 9999");
    std::fs::write(
        vdir.join("contacts/grace.vcf"),
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:grace-1\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let out = desktop_sync(&db, &vdir, &[]);
    assert!(
        out.contains("to the desktop 0 added, 1 changed, 0 deleted; from the desktop 1 added, 1 changed, 0 deleted"),
        "{out}"
    );
    assert!(std::fs::read_to_string(contact_file(&vdir, "ada-1"))
        .unwrap()
        .contains("FN:Ada King"));
    assert_eq!(names(&db), ["Ada King", "Alan Turing", "Grace Hopper"]);
    let alan = contacts_of(&db)
        .into_iter()
        .find(|c| c.name == "Alan Turing")
        .unwrap();
    assert!(
        alan.numbers.iter().any(|n| n.contains("209999")),
        "{alan:?}"
    );
    // Everything agrees now: nothing more to do, and the desktop's own file name is kept.
    let again = desktop_sync(&db, &vdir, &[]);
    assert!(
        again.contains("to the desktop 0 added, 0 changed, 0 deleted; from the desktop 0 added, 0 changed, 0 deleted"),
        "{again}"
    );
    assert!(vdir.join("contacts/grace.vcf").exists());
    assert!(!contact_file(&vdir, "grace-1").exists());
}

#[test]
fn deletes_travel_both_ways_and_lose_to_an_edit_on_the_other_side() {
    let (dir, db, vdir) = synced("desktop-deletes");
    // Deleted on the desktop, unchanged in the store: deleted in the store (a tombstone whose
    // content stays in history).
    std::fs::remove_file(contact_file(&vdir, "alan-1")).unwrap();
    let out = desktop_sync(&db, &vdir, &[]);
    assert!(
        out.contains("from the desktop 0 added, 0 changed, 1 deleted"),
        "{out}"
    );
    assert_eq!(names(&db), ["Ada Lovelace"]);
    let alan = history(&db, "alan-1");
    assert_eq!(alan.last().unwrap().0, "deleted_on_pc");

    // Deleted by the phone, unchanged on the desktop: the file goes.
    phone_deletes(&db, "ada-1");
    let out = desktop_sync(&db, &vdir, &[]);
    assert!(
        out.contains("to the desktop 0 added, 0 changed, 1 deleted"),
        "{out}"
    );
    assert!(!contact_file(&vdir, "ada-1").exists());

    // A new pair: the desktop deletes what the phone changed -> the change wins and the
    // file is written again; the phone deletes what the desktop edited -> the edit comes
    // back as an item.
    let more = dir.join("more.vcf");
    std::fs::write(
        &more,
        ADA.replace("ada-1", "ada-2")
            .replace("Ada Lovelace", "Ada Two")
            .replace("Lovelace;Ada", "Two;Ada")
            + &ALAN
                .replace("alan-1", "alan-2")
                .replace("Alan Turing", "Alan Two")
                .replace("Turing;Alan", "Two;Alan"),
    )
    .unwrap();
    handsync_ok(&db, &["import", more.to_str().unwrap()]);
    desktop_sync(&db, &vdir, &[]);
    phone_changes(&db, "ada-2", "+44 20 1111", "+44 20 1112");
    std::fs::remove_file(contact_file(&vdir, "ada-2")).unwrap();
    phone_deletes(&db, "alan-2");
    edit_file(&contact_file(&vdir, "alan-2"), "+44 20 2222", "+44 20 2223");
    let out = handsync(
        &db,
        &["desktop", "sync", "--vdir", vdir.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("deleted on the desktop but changed in the store; written again"),
        "{stderr}"
    );
    assert!(
        stderr.contains("edited on the desktop but deleted in the store; kept as a new item"),
        "{stderr}"
    );
    assert!(std::fs::read_to_string(contact_file(&vdir, "ada-2"))
        .unwrap()
        .contains("+44 20 1112"));
    assert_eq!(names(&db), ["Ada Two", "Alan Two"]);
}

#[test]
fn a_file_the_desktop_wrote_is_copied_aside_before_the_phone_s_delete_removes_it() {
    let (dir, db, vdir) = synced("desktop-foreign-file");
    let mine = vdir.join("contacts/written-by-khard.vcf");
    std::fs::write(
        &mine,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:kh-1\r\nFN:Kay Hard\r\nN:Hard;Kay;;;\r\nEND:VCARD\r\n",
    )
    .unwrap();
    desktop_sync(&db, &vdir, &[]);
    phone_deletes(&db, "kh-1");
    let out = handsync(
        &db,
        &["desktop", "sync", "--vdir", vdir.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!mine.exists());
    let stderr = text(&out.stderr);
    let kept = stderr
        .lines()
        .find_map(|l| l.strip_prefix("handsync: a copy of the desktop's file is kept at "))
        .unwrap_or_else(|| panic!("no copy reported: {stderr}"));
    assert!(kept.starts_with(dir.join("data/replaced").to_str().unwrap()));
    assert!(std::fs::read_to_string(kept)
        .unwrap()
        .contains("FN:Kay Hard"));
}

#[test]
fn both_sides_changed_is_settled_by_the_policy_with_the_loser_in_history() {
    for (policy, winner) in [("store", "Ada Phone"), ("desktop", "Ada Desk")] {
        let (_dir, db, vdir) = synced(&format!("desktop-conflict-{policy}"));
        phone_changes(&db, "ada-1", "FN:Ada Lovelace", "FN:Ada Phone");
        edit_file(
            &contact_file(&vdir, "ada-1"),
            "FN:Ada Lovelace",
            "FN:Ada Desk",
        );
        let out = handsync(
            &db,
            &[
                "desktop",
                "sync",
                "--vdir",
                vdir.to_str().unwrap(),
                "--conflicts",
                policy,
            ],
            None,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("changed on both sides"),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(names(&db), [winner, "Alan Turing"], "{policy}");
        let file = std::fs::read_to_string(contact_file(&vdir, "ada-1")).unwrap();
        assert!(file.contains(&format!("FN:{winner}")), "{policy}: {file}");
        // The loser is a version of the item: restorable.
        let loser = if winner == "Ada Phone" {
            "Ada Desk"
        } else {
            "Ada Phone"
        };
        let versions = history(&db, "ada-1");
        assert!(
            versions
                .iter()
                .any(|(_, c)| c.contains(&format!("FN:{loser}"))),
            "{policy}: {versions:?}"
        );
        if policy == "store" {
            assert!(versions.iter().any(|(r, _)| r == "conflict_loser"));
        }
        // Settled: the next run changes nothing.
        let again = desktop_sync(&db, &vdir, &[]);
        assert!(
            again.contains("from the desktop 0 added, 0 changed, 0 deleted"),
            "{again}"
        );
        assert!(
            again.contains("to the desktop 0 added, 0 changed, 0 deleted"),
            "{again}"
        );
    }

    // Both: the desktop's version becomes an item of its own, the store's gets another file.
    let (_dir, db, vdir) = synced("desktop-conflict-both");
    phone_changes(&db, "ada-1", "FN:Ada Lovelace", "FN:Ada Phone");
    edit_file(
        &contact_file(&vdir, "ada-1"),
        "FN:Ada Lovelace",
        "FN:Ada Desk",
    );
    desktop_sync(&db, &vdir, &["--conflicts", "both"]);
    assert_eq!(names(&db), ["Ada Desk", "Ada Phone", "Alan Turing"]);
    let files: Vec<String> = std::fs::read_dir(vdir.join("contacts"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(files.iter().any(|f| f.contains("FN:Ada Desk")));
    assert!(files.iter().any(|f| f.contains("FN:Ada Phone")));
}

#[test]
fn a_file_that_does_not_parse_is_reported_with_its_line_and_left_alone() {
    let (_dir, db, vdir) = synced("desktop-bad-file");
    let bad = vdir.join("contacts/broken.vcf");
    let broken =
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken\r\nthis line is no property\r\nEND:VCARD\r\n";
    std::fs::write(&bad, broken).unwrap();
    // Not items: left alone whatever they hold.
    std::fs::write(vdir.join("contacts/.ada-1.vcf.swp"), "swap").unwrap();
    std::fs::write(vdir.join("contacts/color"), "#ff0000").unwrap();
    edit_file(&contact_file(&vdir, "alan-1"), "+44 20 2222", "+44 20 3333");
    let out = handsync(
        &db,
        &["desktop", "sync", "--vdir", vdir.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("not taken in: {}:4:", bad.display())),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("from the desktop 0 added, 1 changed"));
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), broken);
    assert_eq!(
        std::fs::read_to_string(vdir.join("contacts/color")).unwrap(),
        "#ff0000"
    );
    assert!(vdir.join("contacts/.ada-1.vcf.swp").exists());
    assert_eq!(names(&db), ["Ada Lovelace", "Alan Turing"]);
}

#[test]
fn an_earlier_export_is_adopted_not_duplicated() {
    // Users of `export --vdir` (before the two-way sync) have a vdir already: its files are
    // matched to their items by UID, older versions are brought up to date.
    let (dir, db) = scratch_db("desktop-adopt");
    std::fs::create_dir_all(&dir).unwrap();
    let cards = dir.join("cards.vcf");
    std::fs::write(&cards, format!("{ADA}{ALAN}")).unwrap();
    handsync_ok(&db, &["import", cards.to_str().unwrap()]);
    let vdir = dir.join("vdir");
    handsync_ok(&db, &["export", "--vdir", vdir.to_str().unwrap()]);
    phone_changes(&db, "ada-1", "FN:Ada Lovelace", "FN:Ada King");
    let out = desktop_sync(&db, &vdir, &[]);
    assert!(
        out.contains("to the desktop 0 added, 1 changed, 0 deleted; from the desktop 0 added, 0 changed, 0 deleted"),
        "{out}"
    );
    assert_eq!(names(&db), ["Ada King", "Alan Turing"]);
    assert!(std::fs::read_to_string(contact_file(&vdir, "ada-1"))
        .unwrap()
        .contains("FN:Ada King"));
}

#[test]
fn the_configuration_names_the_vdir_and_its_conflict_policy() {
    let (dir, db, vdir) = synced("desktop-config");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nconflicts = \"phone-wins\"\n[desktop]\nvdir = \"{}\"\nconflicts = \"pc-wins\"\n",
            vdir.display()
        ),
    )
    .unwrap();
    phone_changes(&db, "ada-1", "FN:Ada Lovelace", "FN:Ada Phone");
    edit_file(
        &contact_file(&vdir, "ada-1"),
        "FN:Ada Lovelace",
        "FN:Ada Desk",
    );
    // No --vdir: the configuration's; its [desktop] policy over [server]'s.
    let out = handsync_ok(
        &db,
        &["desktop", "sync", "--config", config.to_str().unwrap()],
    );
    assert!(
        out.contains(&format!("desktop {}:", vdir.display())),
        "{out}"
    );
    assert_eq!(names(&db), ["Ada Desk", "Alan Turing"]);

    // A key the section does not know is refused with its position.
    std::fs::write(&config, "[desktop]\nvdirr = \"/tmp\"\n").unwrap();
    let out = handsync(
        &db,
        &["desktop", "sync", "--config", config.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("config.toml:2:1:"), "{stderr}");
    assert!(stderr.contains("vdirr"), "{stderr}");
}

#[test]
fn a_vdir_serves_one_store_and_a_second_store_is_refused() {
    let (dir, _db, vdir) = synced("desktop-one-store");
    let other = dir.join("other.db");
    let out = handsync(
        &other,
        &["desktop", "sync", "--vdir", vdir.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("one vdir serves one store"), "{stderr}");
    // Nothing of the first store's vdir went into the second store.
    let mut store = Store::open(&other).unwrap();
    let held = store
        .read(|tx| tx.items(Datastore::Contacts, true))
        .unwrap();
    assert!(held.is_empty(), "{held:?}");
}
