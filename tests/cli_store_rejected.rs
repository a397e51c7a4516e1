//! `handsync rejected`: what a phone sent and the sync refused, listed, shown and exported by
//! the built binary from a store a real engine session wrote.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod cli_store_support;
mod engine_phone;
mod support;

use std::sync::Arc;

use cli_store_support::*;
use engine_phone::*;
use handsync::engine::ServerConfig;
use handsync::markup::Version;
use handsync::store::Store;
use handsync::syncml::{
    AlertCode, Command, Data, Encoding, ItemCommand, MetInf, Source, StatusCode, Sync, Target,
};

/// A phone's Latin-1 record cut short: not UTF-8, no END.
const BROKEN: &[u8] = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:M\xfcller;J\xf6rg\r\n";
const NOT_A_VCARD: &str = "not a vCard at all";

/// One slow sync into the store at `db` whose Add carries a good card and two bad ones.
fn sync_with_bad_items(db: &std::path::Path) {
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let mut server = Server {
        store: Store::open(db).unwrap(),
        config: Arc::new(ServerConfig::default()),
        now: 1_700_000_000_000,
        transport: "obex-bluetooth".into(),
    };
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let mut session = server.session();
    let first = phone.first_message(AlertCode::SlowSync);
    server
        .exchange(&mut session, &encode(&first, Encoding::Wbxml))
        .unwrap();
    let data_item = |luid: &str, data: Data| {
        let mut one = item(None, Some(luid));
        one.data = Some(data);
        one
    };
    let add = Command::Add(ItemCommand {
        meta: meta(MetInf::with_type("text/x-vcard")),
        items: vec![
            data_item("1", Data::Text(vcard(1))),
            data_item("2", Data::Binary(BROKEN.to_vec())),
            data_item("3", Data::Text(NOT_A_VCARD.into())),
        ],
        ..ItemCommand::default()
    });
    let sync = Command::Sync(
        Sync {
            target: Some(Target::new("Contacts")),
            source: Some(Source::new("./contacts")),
            commands: vec![add],
            ..Sync::default()
        }
        .into(),
    );
    let message = phone.message(vec![sync], true, false);
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    let codes: Vec<StatusCode> = statuses(&reply.message)
        .into_iter()
        .filter(|s| s.cmd == "Add")
        .map(|s| s.data)
        .collect();
    assert_eq!(
        codes,
        [StatusCode::ItemAdded, StatusCode::UnsupportedMediaType]
    );
}

#[test]
fn refused_items_are_listed_shown_and_exported_byte_for_byte() {
    let (dir, db) = scratch_db("rejected");
    let empty = handsync_ok(&db, &["rejected", "list"]);
    assert!(empty.contains("no refused items"), "{empty}");

    sync_with_bad_items(&db);

    let listing = handsync_ok(&db, &["rejected", "list"]);
    let rows: Vec<&str> = listing.lines().collect();
    assert_eq!(rows.len(), 3, "a header and two items:\n{listing}");
    assert!(rows[0].starts_with("ID"), "{listing}");
    for row in &rows[1..] {
        for expected in ["contacts (./contacts)", "Add", "415", "not a vCard"] {
            assert!(row.contains(expected), "{expected:?} missing in {row}");
        }
    }
    // Newest first: the text item (LUID 3), then the broken record (LUID 2).
    let id_of = |row: &str| row.split_whitespace().next().unwrap().to_string();
    let (text_id, broken_id) = (id_of(rows[1]), id_of(rows[2]));
    assert!(
        rows[1].contains(&format!("{} bytes", NOT_A_VCARD.len())),
        "{}",
        rows[1]
    );
    assert!(
        rows[2].contains(&format!("{} bytes", BROKEN.len())),
        "{}",
        rows[2]
    );

    let shown = handsync_ok(&db, &["rejected", "show", &text_id]);
    assert!(shown.contains("LUID:         3"), "{shown}");
    assert!(shown.contains("status:       415"), "{shown}");
    assert!(shown.contains("reason:       not a vCard"), "{shown}");
    assert!(shown.ends_with(&format!("{NOT_A_VCARD}\n")), "{shown}");
    let shown = handsync_ok(&db, &["rejected", "show", &broken_id]);
    assert!(shown.contains("LUID:         2"), "{shown}");
    assert!(shown.contains("not UTF-8 text"), "{shown}");

    // Export: the bytes exactly as the phone sent them, to stdout or a file.
    let to_stdout = handsync(&db, &["rejected", "export", &broken_id], None);
    assert!(to_stdout.status.success(), "{}", text(&to_stdout.stderr));
    assert_eq!(to_stdout.stdout, BROKEN);
    let file = dir.join("recovered.vcf");
    handsync_ok(
        &db,
        &[
            "rejected",
            "export",
            &broken_id,
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&file).unwrap(), BROKEN);

    // The session that refused them says so.
    let history = handsync_ok(&db, &["history"]);
    assert!(
        history.contains("2 refused (handsync rejected list)"),
        "{history}"
    );

    // Only one phone's, and mistakes named precisely.
    let listing = handsync_ok(&db, &["rejected", "list", "--device", "1", "--limit", "1"]);
    assert_eq!(listing.lines().count(), 2, "{listing}");
    let missing = handsync(&db, &["rejected", "show", "999"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("rejected item 999 not found"),
        "{}",
        text(&missing.stderr)
    );
    let no_device = handsync(&db, &["rejected", "list", "--device", "42"], None);
    assert_eq!(no_device.status.code(), Some(2));
    assert!(
        text(&no_device.stderr).contains("device 42 not found"),
        "{}",
        text(&no_device.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
}
