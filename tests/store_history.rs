//! Items, their history and restores (in memory).

use handsync::store::{
    Cause, Datastore, DeviceChange, DeviceId, Guid, ItemContent, NewSession, PointInTime, Reason,
    SessionResult, Store, StoreError, Timestamp, Tx,
};

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_700_000_000 + seconds)
}

fn card(text: &str) -> ItemContent<'_> {
    ItemContent {
        content_type: "text/x-vcard",
        raw: text.as_bytes(),
        canonical: text,
        identity_key: Some(text),
    }
}

fn add(tx: &Tx<'_>, text: &str, now: Timestamp) -> Guid {
    tx.add_item(
        Datastore::Contacts,
        card(text),
        &Cause::pc(Reason::AddedOnPc),
        now,
    )
    .unwrap()
    .guid
}

fn phone(tx: &Tx<'_>, uri: &str) -> DeviceId {
    let device = tx.upsert_device(uri, at(0)).unwrap();
    tx.set_up_device_datastore(device, Datastore::Contacts, "Contacts")
        .unwrap();
    device
}

#[test]
fn every_write_path_records_a_version_with_its_cause() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:100");
    let session = tx
        .begin_session(&NewSession {
            device,
            transport: "obex-bluetooth",
            syncml_session_id: Some("1"),
            started_at: at(10),
        })
        .unwrap();

    let guid = add(&tx, "a1", at(1));
    tx.replace_item(guid, card("a2"), &Cause::pc(Reason::ReplacedOnPc), at(2))
        .unwrap();
    tx.delete_item(guid, &Cause::pc(Reason::DeletedOnPc), at(3))
        .unwrap();
    tx.restore_item(
        guid,
        PointInTime::Revision(tx.item_history(guid).unwrap()[1].revision),
        at(4),
    )
    .unwrap();

    let from_phone = tx
        .apply_from_device(
            device,
            Datastore::Contacts,
            Some(session),
            DeviceChange::Add {
                luid: "7",
                content: card("p1"),
            },
            at(11),
        )
        .unwrap();
    let phone_guid = from_phone.guid.unwrap();
    tx.apply_from_device(
        device,
        Datastore::Contacts,
        Some(session),
        DeviceChange::Replace {
            luid: "7",
            content: card("p2"),
        },
        at(12),
    )
    .unwrap();
    tx.record_conflict_loser(
        phone_guid,
        card("pc-edit"),
        &Cause::pc(Reason::ReplacedOnPc),
        at(13),
    )
    .unwrap();
    tx.apply_from_device(
        device,
        Datastore::Contacts,
        Some(session),
        DeviceChange::Delete { luid: "7" },
        at(14),
    )
    .unwrap();

    let reasons = |guid| {
        tx.item_history(guid)
            .unwrap()
            .into_iter()
            .map(|v| (v.cause.reason, v.deleted, v.applied, v.canonical))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        reasons(guid),
        vec![
            (Reason::AddedOnPc, false, true, "a1".to_string()),
            (Reason::ReplacedOnPc, false, true, "a2".to_string()),
            (Reason::DeletedOnPc, true, true, "a2".to_string()),
            (Reason::Restored, false, true, "a2".to_string()),
        ]
    );
    assert_eq!(
        reasons(phone_guid),
        vec![
            (Reason::AddedByPhone, false, true, "p1".to_string()),
            (Reason::ReplacedByPhone, false, true, "p2".to_string()),
            (Reason::ConflictLoser, false, false, "pc-edit".to_string()),
            (Reason::DeletedByPhone, true, true, "p2".to_string()),
        ]
    );
    // The phone's versions say which device and session made them.
    for version in tx.item_history(phone_guid).unwrap() {
        if version.cause.reason != Reason::ConflictLoser {
            assert_eq!(version.cause.device, Some(device));
            assert_eq!(version.cause.session, Some(session));
        }
    }
    assert_eq!(tx.versions_of_session(session).unwrap().len(), 3);
    // The tombstone says who deleted it.
    let tombstone = tx.item(phone_guid).unwrap().deleted.unwrap();
    assert_eq!(tombstone.device, Some(device));
    assert_eq!(tombstone.reason, Reason::DeletedByPhone);
    assert_eq!(tombstone.at, at(14));
}

#[test]
fn restore_brings_back_a_deleted_and_an_overwritten_item() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let deleted = add(&tx, "deleted: original", at(1));
    let overwritten = add(&tx, "overwritten: original", at(2));
    let before = tx.current_revision().unwrap();
    tx.delete_item(deleted, &Cause::pc(Reason::DeletedOnPc), at(3))
        .unwrap();
    tx.replace_item(
        overwritten,
        card("overwritten: new"),
        &Cause::pc(Reason::ReplacedOnPc),
        at(4),
    )
    .unwrap();

    let report = tx
        .restore_item(deleted, PointInTime::Revision(before), at(5))
        .unwrap();
    assert_eq!(report.restored, vec![deleted]);
    let item = tx.item(deleted).unwrap();
    assert!(!item.is_deleted());
    assert_eq!(item.canonical, "deleted: original");

    // By time: as of second 2 the overwritten item had its original content.
    tx.restore_item(overwritten, PointInTime::Time(at(2)), at(6))
        .unwrap();
    assert_eq!(
        tx.item(overwritten).unwrap().canonical,
        "overwritten: original"
    );

    // The restore is itself a version: restoring the version before it undoes it.
    let history = tx.item_history(overwritten).unwrap();
    let restored = history.last().unwrap();
    assert_eq!(restored.cause.reason, Reason::Restored);
    assert_eq!(restored.restored_from, Some(history[0].revision));
    tx.restore_item_version(overwritten, history[1].revision, at(7))
        .unwrap();
    assert_eq!(tx.item(overwritten).unwrap().canonical, "overwritten: new");

    // Each restore is listed, newest first, with the point that undoes it.
    let restores = tx.restores().unwrap();
    assert_eq!(restores.len(), 3);
    assert_eq!(restores[0].guid, Some(overwritten));
    assert_eq!(restores[2].guid, Some(deleted));
    assert_eq!(restores[2].target, before);
    assert_eq!(restores[2].changed, 1);
    assert!(restores.iter().all(|r| r.datastore.is_none()));
}

#[test]
fn restoring_a_datastore_to_before_a_session_undoes_the_session_and_can_be_undone() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:200");
    let kept = add(&tx, "kept", at(1));
    let wiped = add(&tx, "wiped", at(1));
    let edited = add(&tx, "edited", at(1));
    let other_store = tx
        .add_item(
            Datastore::Notes,
            ItemContent {
                content_type: "text/plain",
                raw: b"note",
                canonical: "note",
                identity_key: None,
            },
            &Cause::pc(Reason::AddedOnPc),
            at(1),
        )
        .unwrap()
        .guid;
    for (guid, luid) in [(kept, "1"), (wiped, "2"), (edited, "3")] {
        let revision = tx.item(guid).unwrap().revision;
        tx.map_device_item(
            device,
            Datastore::Contacts,
            guid,
            luid,
            Some(revision),
            at(1),
        )
        .unwrap();
    }

    // A bad session: the phone wipes one contact, mangles another and adds junk.
    let session = tx
        .begin_session(&NewSession {
            device,
            transport: "usb",
            syncml_session_id: None,
            started_at: at(10),
        })
        .unwrap();
    let contacts = Datastore::Contacts;
    let apply = |change| {
        tx.apply_from_device(device, contacts, Some(session), change, at(11))
            .unwrap()
    };
    apply(DeviceChange::Delete { luid: "2" });
    apply(DeviceChange::Replace {
        luid: "3",
        content: card("EDITED BADLY"),
    });
    let junk = apply(DeviceChange::Add {
        luid: "4",
        content: card("junk"),
    })
    .guid
    .unwrap();
    tx.end_session(session, SessionResult::Completed, None, at(12))
        .unwrap();
    let after_session = tx.current_revision().unwrap();

    let report = tx
        .restore_datastore(contacts, PointInTime::BeforeSession(session), at(20))
        .unwrap();
    let mut restored = report.restored.clone();
    restored.sort();
    assert_eq!(restored, vec![wiped, edited]);
    assert_eq!(report.deleted, vec![junk]);
    assert_eq!(report.unchanged, 1);
    assert_eq!(report.undo_point, after_session);
    let live: Vec<String> = tx
        .items(contacts, false)
        .unwrap()
        .into_iter()
        .map(|item| item.canonical)
        .collect();
    assert_eq!(live, vec!["kept", "wiped", "edited"]);
    assert_eq!(
        tx.item(other_store).unwrap().revision.0,
        4,
        "other datastore touched"
    );

    // The phone is told: the restored items are changes it has not seen.
    let kinds: Vec<_> = tx
        .changes_for_device(device, contacts)
        .unwrap()
        .into_iter()
        .map(|change| (change.kind, change.item.guid))
        .collect();
    use handsync::store::ChangeKind::*;
    assert_eq!(kinds, vec![(Add, wiped), (Replace, edited), (Delete, junk)]);

    // Undo the restore.
    let undo = tx
        .restore_datastore(contacts, PointInTime::Revision(report.undo_point), at(21))
        .unwrap();
    assert_eq!(undo.restored.len() + undo.deleted.len(), 3);
    let live: Vec<String> = tx
        .items(contacts, false)
        .unwrap()
        .into_iter()
        .map(|item| item.canonical)
        .collect();
    assert_eq!(live, vec!["kept", "EDITED BADLY", "junk"]);
}

#[test]
fn identity_key_lookup_finds_live_items_of_the_datastore_only() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let key = "tel:+441234";
    let with_key = |datastore, text: &'static str| {
        tx.add_item(
            datastore,
            ItemContent {
                content_type: "text/x-vcard",
                raw: text.as_bytes(),
                canonical: text,
                identity_key: Some(key),
            },
            &Cause::pc(Reason::AddedOnPc),
            at(1),
        )
        .unwrap()
        .guid
    };
    let live = with_key(Datastore::Contacts, "live");
    let gone = with_key(Datastore::Contacts, "gone");
    with_key(Datastore::Notes, "elsewhere");
    add(&tx, "other key", at(1));
    tx.delete_item(gone, &Cause::pc(Reason::DeletedOnPc), at(2))
        .unwrap();

    let found: Vec<Guid> = tx
        .items_by_identity_key(Datastore::Contacts, key)
        .unwrap()
        .into_iter()
        .map(|item| item.guid)
        .collect();
    assert_eq!(found, vec![live]);
    assert!(tx
        .items_by_identity_key(Datastore::Contacts, "nobody")
        .unwrap()
        .is_empty());
}

#[test]
fn tombstones_and_missing_items_give_precise_errors() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let guid = add(&tx, "x", at(1));
    tx.delete_item(guid, &Cause::pc(Reason::DeletedOnPc), at(2))
        .unwrap();
    let err = tx
        .replace_item(guid, card("y"), &Cause::pc(Reason::ReplacedOnPc), at(3))
        .unwrap_err();
    assert!(matches!(err, StoreError::ItemDeleted(g) if g == guid));
    assert_eq!(err.to_string(), format!("item {guid} is deleted"));
    assert!(matches!(
        tx.delete_item(guid, &Cause::pc(Reason::DeletedOnPc), at(3)),
        Err(StoreError::ItemDeleted(_))
    ));
    assert!(matches!(
        tx.item(Guid(999)),
        Err(StoreError::ItemNotFound(Guid(999)))
    ));
    assert!(matches!(
        tx.item_version(guid, handsync::store::Revision(999)),
        Err(StoreError::VersionNotFound { .. })
    ));
    // Tombstones are listed only when asked for, and keep their content.
    assert!(tx.items(Datastore::Contacts, false).unwrap().is_empty());
    let all = tx.items(Datastore::Contacts, true).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].canonical, "x");
    assert_eq!(tx.item_count(Datastore::Contacts).unwrap(), 0);
}

#[test]
fn guids_are_short_decimal_text_and_parse_back() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let guid = add(&tx, "a", at(1));
    let text = guid.to_string();
    assert_eq!(text, "1");
    assert_eq!(text.parse::<Guid>().unwrap(), guid);
    assert!("abc".parse::<Guid>().is_err());
    assert!("0".parse::<Guid>().is_err());
    assert!("-3".parse::<Guid>().is_err());
}
