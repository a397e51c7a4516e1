//! Per-device state: what changed for a device, what it sent, maps, anchors, sessions.

use handsync::store::{
    AppliedOutcome, Cause, ChangeKind, Datastore, DevInfEncoding, DevInfSummary, DeviceChange,
    DeviceId, Direction, Guid, ItemContent, NewSession, Reason, SessionId, SessionResult, Store,
    StoreError, Timestamp, Tx,
};

const CONTACTS: Datastore = Datastore::Contacts;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_700_000_000 + seconds)
}

fn card(text: &str) -> ItemContent<'_> {
    ItemContent {
        content_type: "text/x-vcard",
        raw: text.as_bytes(),
        canonical: text,
        identity_key: None,
    }
}

fn phone(tx: &Tx<'_>, uri: &str) -> DeviceId {
    let device = tx.upsert_device(uri, at(0)).unwrap();
    tx.set_up_device_datastore(device, CONTACTS, "./EriPBDB")
        .unwrap();
    device
}

fn session(tx: &Tx<'_>, device: DeviceId, started: i64) -> SessionId {
    tx.begin_session(&NewSession {
        device,
        transport: "obex-bluetooth",
        syncml_session_id: Some("1"),
        started_at: at(started),
    })
    .unwrap()
}

/// (kind, guid, luid) of each change waiting for the device.
fn pending(tx: &Tx<'_>, device: DeviceId) -> Vec<(ChangeKind, Guid, Option<String>)> {
    tx.changes_for_device(device, CONTACTS)
        .unwrap()
        .into_iter()
        .map(|change| (change.kind, change.item.guid, change.luid))
        .collect()
}

/// The engine's side of delivering every pending change, with the phone's Map for Adds.
fn deliver_all(tx: &Tx<'_>, device: DeviceId, session: Option<SessionId>, luid_prefix: &str) {
    for change in tx.changes_for_device(device, CONTACTS).unwrap() {
        tx.record_delivered(
            device,
            CONTACTS,
            session,
            change.kind,
            change.item.guid,
            change.item.revision,
        )
        .unwrap();
        if change.kind == ChangeKind::Add {
            let luid = format!("{luid_prefix}{}", change.item.guid);
            tx.map_device_item(device, CONTACTS, change.item.guid, &luid, None, at(1))
                .unwrap();
        }
    }
}

#[test]
fn pc_edits_become_adds_replaces_and_deletes_reported_until_delivered() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:1");
    let pc = |reason| Cause::pc(reason);
    let a = tx
        .add_item(CONTACTS, card("a"), &pc(Reason::AddedOnPc), at(1))
        .unwrap()
        .guid;
    let b = tx
        .add_item(CONTACTS, card("b"), &pc(Reason::AddedOnPc), at(1))
        .unwrap()
        .guid;
    // Added and deleted before the phone ever saw it: nothing to tell.
    let c = tx
        .add_item(CONTACTS, card("c"), &pc(Reason::AddedOnPc), at(1))
        .unwrap()
        .guid;
    tx.delete_item(c, &pc(Reason::DeletedOnPc), at(2)).unwrap();

    assert_eq!(
        pending(&tx, device),
        vec![(ChangeKind::Add, a, None), (ChangeKind::Add, b, None)]
    );
    deliver_all(&tx, device, None, "L");
    assert!(pending(&tx, device).is_empty());

    tx.replace_item(a, card("a2"), &pc(Reason::ReplacedOnPc), at(3))
        .unwrap();
    tx.delete_item(b, &pc(Reason::DeletedOnPc), at(3)).unwrap();
    let luid = |guid: Guid| Some(format!("L{guid}"));
    assert_eq!(
        pending(&tx, device),
        vec![
            (ChangeKind::Replace, a, luid(a)),
            (ChangeKind::Delete, b, luid(b))
        ]
    );
    // Not delivered yet (session cut): still reported.
    assert_eq!(pending(&tx, device).len(), 2);
    deliver_all(&tx, device, None, "L");
    // The tombstone is reported once: after its delivery, never again.
    assert!(pending(&tx, device).is_empty());
    assert_eq!(tx.device_items(device, CONTACTS).unwrap().len(), 1);
}

#[test]
fn a_devices_own_changes_are_not_echoed_but_reach_other_devices() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let nokia = phone(&tx, "IMEI:nokia");
    let sony = phone(&tx, "IMEI:sony");

    let added = tx
        .apply_from_device(
            nokia,
            CONTACTS,
            None,
            DeviceChange::Add {
                luid: "1001",
                content: card("from nokia"),
            },
            at(1),
        )
        .unwrap();
    assert_eq!(added.outcome, AppliedOutcome::Added);
    let guid = added.guid.unwrap();
    assert!(pending(&tx, nokia).is_empty());
    assert_eq!(pending(&tx, sony), vec![(ChangeKind::Add, guid, None)]);
    deliver_all(&tx, sony, None, "S");

    tx.apply_from_device(
        nokia,
        CONTACTS,
        None,
        DeviceChange::Replace {
            luid: "1001",
            content: card("edited on nokia"),
        },
        at(2),
    )
    .unwrap();
    assert!(pending(&tx, nokia).is_empty());
    assert_eq!(
        pending(&tx, sony),
        vec![(ChangeKind::Replace, guid, Some(format!("S{guid}")))]
    );
    deliver_all(&tx, sony, None, "S");

    let deleted = tx
        .apply_from_device(
            sony,
            CONTACTS,
            None,
            DeviceChange::Delete {
                luid: &format!("S{guid}"),
            },
            at(3),
        )
        .unwrap();
    assert_eq!(deleted.outcome, AppliedOutcome::Deleted);
    assert!(pending(&tx, sony).is_empty());
    assert_eq!(
        pending(&tx, nokia),
        vec![(ChangeKind::Delete, guid, Some("1001".into()))]
    );
    assert!(tx.item(guid).unwrap().is_deleted());
}

#[test]
fn a_map_arriving_in_a_later_session_completes_the_pending_mapping() {
    let mut store = Store::open_in_memory().unwrap();
    let device = store
        .transaction(|tx| Ok::<_, StoreError>(phone(tx, "IMEI:3")))
        .unwrap();
    let guid = store
        .transaction(|tx| {
            tx.add_item(CONTACTS, card("x"), &Cause::pc(Reason::AddedOnPc), at(1))
                .map(|item| item.guid)
        })
        .unwrap();

    // Session 1: our Add gets its Status, then the connection drops before the Map.
    store
        .transaction(|tx| {
            let first = session(tx, device, 10);
            let change = tx.changes_for_device(device, CONTACTS)?.remove(0);
            tx.record_delivered(
                device,
                CONTACTS,
                Some(first),
                change.kind,
                change.item.guid,
                change.item.revision,
            )?;
            tx.end_session(first, SessionResult::Cut, Some("OBEX link lost"), at(11))
        })
        .unwrap();

    // Session 2: the item is not sent again; it waits for its Map, which now comes.
    store
        .transaction(|tx| {
            assert!(pending(tx, device).is_empty());
            let waiting = tx.pending_maps(device, CONTACTS)?;
            assert_eq!(waiting.len(), 1);
            assert_eq!(waiting[0].guid, guid);
            assert_eq!(waiting[0].luid, None);
            session(tx, device, 20);
            tx.map_device_item(device, CONTACTS, guid, "55", None, at(21))
        })
        .unwrap();

    store
        .transaction(|tx| {
            assert!(tx.pending_maps(device, CONTACTS)?.is_empty());
            let held = tx.device_item_by_luid(device, CONTACTS, "55")?.unwrap();
            assert_eq!(held.guid, guid);
            tx.replace_item(guid, card("x2"), &Cause::pc(Reason::ReplacedOnPc), at(30))?;
            assert_eq!(
                pending(tx, device),
                vec![(ChangeKind::Replace, guid, Some("55".into()))]
            );
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

#[test]
fn a_resent_add_after_a_cut_session_does_not_duplicate() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:4");
    let change = DeviceChange::Add {
        luid: "9",
        content: card("once"),
    };
    let first = tx
        .apply_from_device(device, CONTACTS, None, change, at(1))
        .unwrap();
    let again = tx
        .apply_from_device(device, CONTACTS, None, change, at(2))
        .unwrap();
    assert_eq!(again.outcome, AppliedOutcome::Replaced);
    assert_eq!(again.guid, first.guid);
    assert_eq!(tx.items(CONTACTS, true).unwrap().len(), 1);

    // A Replace of a LUID we do not know adds; a Delete of one is reported as not found.
    let unknown = tx
        .apply_from_device(
            device,
            CONTACTS,
            None,
            DeviceChange::Replace {
                luid: "10",
                content: card("new"),
            },
            at(3),
        )
        .unwrap();
    assert_eq!(unknown.outcome, AppliedOutcome::Added);
    let missing = tx
        .apply_from_device(
            device,
            CONTACTS,
            None,
            DeviceChange::Delete { luid: "404" },
            at(3),
        )
        .unwrap();
    assert_eq!(missing.outcome, AppliedOutcome::NotFound);
    assert_eq!(missing.guid, None);
}

#[test]
fn a_phone_edit_of_a_pc_edited_or_pc_deleted_item_is_a_conflict_and_keeps_both() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:5");
    let guid = tx
        .apply_from_device(
            device,
            CONTACTS,
            None,
            DeviceChange::Add {
                luid: "1",
                content: card("v1"),
            },
            at(1),
        )
        .unwrap()
        .guid
        .unwrap();
    tx.replace_item(guid, card("pc"), &Cause::pc(Reason::ReplacedOnPc), at(2))
        .unwrap();
    let phone_edit = DeviceChange::Replace {
        luid: "1",
        content: card("phone"),
    };
    let applied = tx
        .apply_from_device(device, CONTACTS, None, phone_edit, at(3))
        .unwrap();
    assert!(applied.conflict);
    assert!(!applied.revived);
    assert_eq!(tx.item(guid).unwrap().canonical, "phone");
    let history: Vec<String> = tx
        .item_history(guid)
        .unwrap()
        .into_iter()
        .map(|v| v.canonical)
        .collect();
    assert_eq!(history, vec!["v1", "pc", "phone"]);

    tx.delete_item(guid, &Cause::pc(Reason::DeletedOnPc), at(4))
        .unwrap();
    let applied = tx
        .apply_from_device(device, CONTACTS, None, phone_edit, at(5))
        .unwrap();
    assert!(applied.revived);
    assert!(applied.conflict);
    assert!(!tx.item(guid).unwrap().is_deleted());
    assert!(pending(&tx, device).is_empty());

    // No conflict when the phone had seen the latest PC version.
    let applied = tx
        .apply_from_device(device, CONTACTS, None, phone_edit, at(6))
        .unwrap();
    assert!(!applied.conflict);
}

#[test]
fn anchors_move_only_when_the_sync_completes() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:6");

    let first = session(&tx, device, 10);
    tx.begin_datastore_sync(device, CONTACTS, first, "c1", "s1", at(10))
        .unwrap();
    tx.complete_datastore_sync(device, CONTACTS, first, None, at(11))
        .unwrap();
    tx.end_session(first, SessionResult::Completed, None, at(11))
        .unwrap();
    let state = tx.device_datastore(device, CONTACTS).unwrap().unwrap();
    assert_eq!(state.client_last_anchor.as_deref(), Some("c1"));
    assert_eq!(state.server_last_anchor.as_deref(), Some("s1"));
    assert!(state.last_session_completed);
    assert_eq!(state.last_result, Some(SessionResult::Completed));
    assert_eq!(state.device_uri, "./EriPBDB");

    let second = session(&tx, device, 20);
    tx.begin_datastore_sync(device, CONTACTS, second, "c2", "s2", at(20))
        .unwrap();
    tx.end_session(second, SessionResult::Cut, Some("link lost"), at(21))
        .unwrap();
    let state = tx.device_datastore(device, CONTACTS).unwrap().unwrap();
    assert_eq!(state.client_last_anchor.as_deref(), Some("c1"));
    assert_eq!(state.server_last_anchor.as_deref(), Some("s1"));
    assert!(!state.last_session_completed);
    assert_eq!(state.last_result, Some(SessionResult::Cut));
    assert_eq!(state.last_session, Some(second));

    // Completing from a session that did not begin the sync is refused.
    assert!(matches!(
        tx.complete_datastore_sync(device, CONTACTS, first, None, at(22)),
        Err(StoreError::InvalidInput(_))
    ));
    // An ended session cannot end again.
    assert!(matches!(
        tx.end_session(second, SessionResult::Completed, None, at(23)),
        Err(StoreError::SessionEnded(s)) if s == second
    ));
}

#[test]
fn sessions_count_changes_both_ways_and_keep_resume_state() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:7");
    tx.add_item(CONTACTS, card("pc"), &Cause::pc(Reason::AddedOnPc), at(1))
        .unwrap();
    let id = session(&tx, device, 10);
    for luid in ["1", "2"] {
        tx.apply_from_device(
            device,
            CONTACTS,
            Some(id),
            DeviceChange::Add {
                luid,
                content: card(luid),
            },
            at(11),
        )
        .unwrap();
    }
    tx.apply_from_device(
        device,
        CONTACTS,
        Some(id),
        DeviceChange::Delete { luid: "2" },
        at(12),
    )
    .unwrap();
    deliver_all(&tx, device, Some(id), "L");
    tx.suspend_session(id, b"engine state", at(13)).unwrap();

    let record = tx.session(id).unwrap();
    assert_eq!(record.result, SessionResult::Suspended);
    assert_eq!(record.transport, "obex-bluetooth");
    assert!(record.has_resume_state);
    let counts: Vec<_> = record
        .counts
        .iter()
        .map(|c| (c.direction, c.added, c.replaced, c.deleted))
        .collect();
    assert_eq!(
        counts,
        vec![
            (Direction::FromPhone, 2, 0, 1),
            (Direction::ToPhone, 1, 0, 0)
        ]
    );
    assert_eq!(
        tx.suspended_session(device).unwrap(),
        Some((id, b"engine state".to_vec()))
    );
    assert_eq!(
        tx.take_resume_state(id).unwrap(),
        Some(b"engine state".to_vec())
    );
    assert_eq!(tx.suspended_session(device).unwrap(), None);

    let listed = tx.sessions(Some(device), 10).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert!(tx.sessions(None, 0).unwrap().is_empty());
}

#[test]
fn devices_list_shows_devinf_settings_and_held_items() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:350000000000001");
    assert_eq!(
        tx.upsert_device("IMEI:350000000000001", at(50)).unwrap(),
        device
    );
    let summary = DevInfSummary {
        manufacturer: Some("Nokia".into()),
        model: Some("6230i".into()),
        software_version: Some("V 03.88".into()),
        dev_id: Some("IMEI:350000000000001".into()),
        device_type: Some("phone".into()),
        ..DevInfSummary::default()
    };
    tx.set_device_info(device, b"\x02\xa4\x01\x6a", DevInfEncoding::Wbxml, &summary)
        .unwrap();
    tx.set_next_nonce(device, b"nonce-1").unwrap();
    tx.set_device_setting(device, "conflict", "pc-wins")
        .unwrap();
    tx.set_device_setting(device, "conflict", "phone-wins")
        .unwrap();
    tx.apply_from_device(
        device,
        CONTACTS,
        None,
        DeviceChange::Add {
            luid: "1",
            content: card("x"),
        },
        at(51),
    )
    .unwrap();

    let devices = tx.devices().unwrap();
    assert_eq!(devices.len(), 1);
    let listed = &devices[0];
    assert_eq!(listed.device.summary, summary);
    assert_eq!(listed.device.devinf_encoding, Some(DevInfEncoding::Wbxml));
    assert_eq!(
        listed.device.devinf_raw.as_deref(),
        Some(&b"\x02\xa4\x01\x6a"[..])
    );
    assert_eq!(listed.device.next_nonce.as_deref(), Some(&b"nonce-1"[..]));
    assert_eq!(listed.device.first_seen, at(0));
    assert_eq!(listed.device.last_seen, at(50));
    assert_eq!(listed.datastores.len(), 1);
    assert_eq!(listed.datastores[0].held_items, 1);
    assert_eq!(
        tx.device_settings(device).unwrap(),
        vec![("conflict".to_string(), "phone-wins".to_string())]
    );
    assert!(matches!(
        tx.set_device_info(DeviceId(99), b"", DevInfEncoding::Xml, &summary),
        Err(StoreError::DeviceNotFound(DeviceId(99)))
    ));
}

#[test]
fn maps_check_datastores_and_drop_stale_luids() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:8");
    let pc = Cause::pc(Reason::AddedOnPc);
    let first = tx.add_item(CONTACTS, card("1"), &pc, at(1)).unwrap().guid;
    let second = tx.add_item(CONTACTS, card("2"), &pc, at(1)).unwrap().guid;
    let event = tx
        .add_item(Datastore::Calendar, card("event"), &pc, at(1))
        .unwrap()
        .guid;

    tx.map_device_item(device, CONTACTS, first, "A", None, at(2))
        .unwrap();
    // The phone reuses LUID "A" for another item: the old mapping is gone.
    tx.map_device_item(device, CONTACTS, second, "A", None, at(3))
        .unwrap();
    assert_eq!(
        tx.device_item_by_luid(device, CONTACTS, "A")
            .unwrap()
            .unwrap()
            .guid,
        second
    );
    assert!(tx
        .device_item_by_guid(device, CONTACTS, first)
        .unwrap()
        .is_none());

    assert!(matches!(
        tx.map_device_item(device, CONTACTS, event, "B", None, at(4)),
        Err(StoreError::WrongDatastore { .. })
    ));
    assert!(matches!(
        tx.changes_for_device(device, Datastore::Tasks),
        Err(StoreError::DeviceDatastoreNotFound { .. })
    ));

    // Before a slow sync the engine forgets what the device holds; the items stay.
    assert_eq!(tx.forget_device_items(device, CONTACTS).unwrap(), 1);
    assert_eq!(tx.items(CONTACTS, false).unwrap().len(), 2);
    assert_eq!(pending(&tx, device).len(), 2);
}

#[test]
fn identical_content_makes_no_new_revision_and_no_conflict() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:9");
    let guid = tx
        .apply_from_device(
            device,
            CONTACTS,
            None,
            DeviceChange::Add {
                luid: "1",
                content: card("same"),
            },
            at(1),
        )
        .unwrap()
        .guid
        .unwrap();
    let revision = tx.item(guid).unwrap().revision;
    let unchanged = tx
        .replace_item(guid, card("same"), &Cause::pc(Reason::ReplacedOnPc), at(2))
        .unwrap();
    assert_eq!(unchanged.revision, revision);

    // The PC and the phone make the same edit: the phone's Replace is no conflict.
    tx.replace_item(guid, card("both"), &Cause::pc(Reason::ReplacedOnPc), at(3))
        .unwrap();
    let applied = tx
        .apply_from_device(
            device,
            CONTACTS,
            None,
            DeviceChange::Replace {
                luid: "1",
                content: card("both"),
            },
            at(4),
        )
        .unwrap();
    assert!(!applied.conflict);
    assert_eq!(tx.item_history(guid).unwrap().len(), 2);
    assert!(pending(&tx, device).is_empty());
}

#[test]
fn slow_sync_matches_by_identity_key_items_the_device_does_not_hold() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:10");
    let keyed = |text: &'static str| ItemContent {
        content_type: "text/x-vcard",
        raw: text.as_bytes(),
        canonical: text,
        identity_key: Some("n:turing;alan"),
    };
    let pc = Cause::pc(Reason::AddedOnPc);
    let first = tx.add_item(CONTACTS, keyed("a"), &pc, at(1)).unwrap();
    let second = tx.add_item(CONTACTS, keyed("b"), &pc, at(1)).unwrap();
    let candidates = |tx: &Tx<'_>| -> Vec<Guid> {
        tx.unheld_items_by_identity_key(device, CONTACTS, "n:turing;alan")
            .unwrap()
            .into_iter()
            .map(|item| item.guid)
            .collect()
    };
    assert_eq!(candidates(&tx), vec![first.guid, second.guid]);
    // The phone's copy matches the first: linked as seen, no longer a candidate or an Add.
    tx.map_device_item(
        device,
        CONTACTS,
        first.guid,
        "77",
        Some(first.revision),
        at(2),
    )
    .unwrap();
    assert_eq!(candidates(&tx), vec![second.guid]);
    assert_eq!(
        pending(&tx, device),
        vec![(ChangeKind::Add, second.guid, None)]
    );
}

#[test]
fn a_completed_session_with_an_unfinished_datastore_sync_records_it_as_failed() {
    let mut store = Store::open_in_memory().unwrap();
    let tx = store.begin().unwrap();
    let device = phone(&tx, "IMEI:11");
    let id = session(&tx, device, 1);
    tx.begin_datastore_sync(device, CONTACTS, id, "c1", "s1", at(1))
        .unwrap();
    tx.end_session(id, SessionResult::Completed, None, at(2))
        .unwrap();
    let state = tx.device_datastore(device, CONTACTS).unwrap().unwrap();
    assert_eq!(state.last_result, Some(SessionResult::Failed));
    assert_eq!(state.client_last_anchor, None);
    assert!(!state.last_session_completed);
}

/// An engine's own error type works with `Store::transaction`.
#[derive(Debug)]
enum EngineError {
    Store(StoreError),
    Protocol(&'static str),
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> Self {
        EngineError::Store(error)
    }
}

#[test]
fn transactions_take_the_callers_error_type_and_roll_back_on_it() {
    let mut store = Store::open_in_memory().unwrap();
    let result: Result<(), EngineError> = store.transaction(|tx| {
        tx.upsert_device("IMEI:12", at(1))?;
        Err(EngineError::Protocol("bad Status"))
    });
    assert!(matches!(result, Err(EngineError::Protocol("bad Status"))));
    let found = store.read(|tx| tx.device_by_uri("IMEI:12")).unwrap();
    assert!(found.is_none());
    let result: Result<(), EngineError> = store.transaction(|tx| {
        tx.end_session(SessionId(5), SessionResult::Cut, None, at(1))
            .map_err(Into::into)
    });
    assert!(matches!(
        result,
        Err(EngineError::Store(StoreError::SessionNotFound(SessionId(
            5
        ))))
    ));
}

#[test]
fn a_session_cut_within_a_message_loses_nothing_and_the_next_session_converges() {
    let mut store = Store::open_in_memory().unwrap();
    let device = store
        .transaction(|tx| Ok::<_, StoreError>(phone(tx, "IMEI:13")))
        .unwrap();
    let first = store
        .transaction(|tx| {
            let id = session(tx, device, 1);
            tx.begin_datastore_sync(device, CONTACTS, id, "c1", "s1", at(1))?;
            Ok::<_, StoreError>(id)
        })
        .unwrap();
    let phone_changes = [
        DeviceChange::Add {
            luid: "1",
            content: card("one"),
        },
        DeviceChange::Add {
            luid: "2",
            content: card("two"),
        },
        DeviceChange::Add {
            luid: "3",
            content: card("three"),
        },
    ];
    // Message 1 (change 1) commits; message 2 (changes 2 and 3) is cut after change 2.
    store
        .transaction(|tx| {
            tx.apply_from_device(device, CONTACTS, Some(first), phone_changes[0], at(2))
        })
        .unwrap();
    let cut: Result<(), StoreError> = store.transaction(|tx| {
        tx.apply_from_device(device, CONTACTS, Some(first), phone_changes[1], at(3))?;
        Err(StoreError::InvalidInput("transport closed".into()))
    });
    assert!(cut.is_err());
    store
        .transaction(|tx| tx.end_session(first, SessionResult::Cut, None, at(4)))
        .unwrap();

    let live = |store: &mut Store| -> Vec<String> {
        store
            .read(|tx| tx.items(CONTACTS, true))
            .unwrap()
            .into_iter()
            .map(|item| item.canonical)
            .collect()
    };
    assert_eq!(live(&mut store), vec!["one"]);
    let state = store
        .read(|tx| tx.device_datastore(device, CONTACTS))
        .unwrap()
        .unwrap();
    assert_eq!(state.client_last_anchor, None);
    assert_eq!(state.last_result, Some(SessionResult::Cut));

    // The phone did not get our final status either, so it sends everything again.
    store
        .transaction(|tx| {
            let second = session(tx, device, 10);
            tx.begin_datastore_sync(device, CONTACTS, second, "c1", "s2", at(10))?;
            for change in phone_changes {
                tx.apply_from_device(device, CONTACTS, Some(second), change, at(11))?;
            }
            tx.complete_datastore_sync(device, CONTACTS, second, None, at(12))?;
            tx.end_session(second, SessionResult::Completed, None, at(12))
        })
        .unwrap();
    assert_eq!(live(&mut store), vec!["one", "two", "three"]);
    let (held, changes) = store
        .read(|tx| {
            Ok::<_, StoreError>((
                tx.device_items(device, CONTACTS)?.len(),
                tx.changes_for_device(device, CONTACTS)?.len(),
            ))
        })
        .unwrap();
    assert_eq!((held, changes), (3, 0));
}
