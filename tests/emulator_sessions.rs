//! Every built-in phone profile against handsync's engine: first slow sync of a generated data
//! set, two-way syncs with changes on both sides, deletes, a conflict, refresh and one-way
//! modes. Both sides are compared by identity key after each session.

#[path = "support/emulator.rs"]
mod emulator_support;

use handsync::emulator::{generate, DataSetSpec, DeviceProfile, SyncMode, SyncRequest};
use handsync::engine::ServerConfig;
use handsync::store::Datastore;
use handsync::syncml::StatusCode;

use emulator_support::{
    assert_converged, pc_vcard, phone_keys, phone_vcard, phone_with, run_session, sync_all, Pc,
};

fn data_set() -> DataSetSpec {
    DataSetSpec {
        contacts: 40,
        events: 12,
        tasks: 6,
        notes: 5,
        photo_bytes: None,
        seed: 2006,
    }
}

#[test]
fn first_slow_sync_of_every_profile_puts_everything_on_the_pc() {
    for profile in DeviceProfile::all() {
        let store = generate(&profile, &data_set());
        let mut phone = phone_with(profile.clone(), store);
        let mut pc = Pc::new(ServerConfig::default());
        let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        for ds in &report.datastores {
            assert_eq!(
                ds.mode,
                SyncMode::Slow,
                "{}: a first sync is slow",
                profile.name
            );
            assert!(
                ds.sent_statuses.iter().all(|s| s.is_success()),
                "{}: {ds:?}",
                profile.name
            );
        }
        assert_eq!(pc.keys(Datastore::Contacts).len(), 40, "{}", profile.name);
        assert_converged(&phone, &mut pc);
        for kind in Datastore::ALL {
            assert!(
                phone.store().datastore(kind).changes().is_empty(),
                "{}",
                profile.name
            );
        }
    }
}

fn synced_phone(profile: &DeviceProfile) -> (handsync::emulator::EmulatedPhone, Pc) {
    let store = generate(profile, &data_set());
    let mut phone = phone_with(profile.clone(), store);
    let mut pc = Pc::new(ServerConfig::default());
    sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
    (phone, pc)
}

#[test]
fn two_way_sync_carries_changes_both_ways() {
    for profile in DeviceProfile::all() {
        let (mut phone, mut pc) = synced_phone(&profile);
        // Phone side: one added, one edited, one deleted.
        let added = phone
            .store_mut()
            .add(Datastore::Contacts, phone_vcard("Neu", "+491701111111"));
        let luids: Vec<String> = phone
            .store()
            .datastore(Datastore::Contacts)
            .items()
            .keys()
            .cloned()
            .collect();
        let edited = luids[3].clone();
        let mut text = phone
            .store()
            .datastore(Datastore::Contacts)
            .get(&edited)
            .unwrap()
            .data
            .clone();
        let at = text
            .windows(8)
            .position(|w| w == b"TEL;CELL")
            .expect("a mobile number");
        text.splice(at..at, b"NOTE:edited on the phone\r\n".iter().copied());
        assert!(phone
            .store_mut()
            .replace(Datastore::Contacts, &edited, text));
        assert!(phone.store_mut().delete(Datastore::Contacts, &luids[5]));
        // PC side: two added, one deleted.
        pc.add(Datastore::Contacts, &pc_vcard("Desktop", "+491702222222"));
        pc.add(Datastore::Contacts, &pc_vcard("Laptop", "+491703333333"));
        let victim = pc.items(Datastore::Contacts)[10].guid;
        pc.delete(victim);

        let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        let contacts = report
            .datastores
            .iter()
            .find(|d| d.kind == Datastore::Contacts)
            .unwrap();
        assert_eq!(contacts.mode, SyncMode::TwoWay, "{}", profile.name);
        assert_eq!(contacts.sent, 3, "{}: add, replace, delete", profile.name);
        assert_eq!(contacts.added, 2, "{}", profile.name);
        assert_eq!(contacts.deleted, 1, "{}", profile.name);
        assert_eq!(
            pc.keys(Datastore::Contacts).len(),
            40 + 1 - 1 + 2 - 1,
            "{}",
            profile.name
        );
        assert_converged(&phone, &mut pc);
        let edited_on_pc = pc
            .items(Datastore::Contacts)
            .into_iter()
            .filter(|i| i.canonical.contains("edited on the phone"))
            .count();
        assert_eq!(
            edited_on_pc, 1,
            "{}: the phone's edit reached the PC",
            profile.name
        );
        assert!(phone
            .store()
            .datastore(Datastore::Contacts)
            .get(&added)
            .is_some());

        // Nothing changed since: the next sync moves nothing.
        let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        for ds in &report.datastores {
            assert_eq!(
                (ds.mode, ds.sent, ds.added, ds.replaced, ds.deleted),
                (SyncMode::TwoWay, 0, 0, 0, 0),
                "{}",
                profile.name
            );
        }
        assert_converged(&phone, &mut pc);
    }
}

#[test]
fn a_conflict_is_settled_once_and_both_sides_agree() {
    for profile in DeviceProfile::all() {
        let (mut phone, mut pc) = synced_phone(&profile);
        // The same contact edited on both sides.
        let pc_item = pc
            .items(Datastore::Contacts)
            .into_iter()
            .find(|i| !i.canonical.contains("PHOTO"))
            .unwrap();
        let luid = phone
            .store()
            .datastore(Datastore::Contacts)
            .items()
            .iter()
            .find(|(_, item)| {
                let key = support_key(&phone, &item.data);
                Some(key) == pc_item.identity_key
            })
            .map(|(luid, _)| luid.clone())
            .expect("the phone holds the PC's contact");
        let mut phone_text = phone
            .store()
            .datastore(Datastore::Contacts)
            .get(&luid)
            .unwrap()
            .data
            .clone();
        let end = phone_text.len() - b"END:VCARD\r\n".len();
        phone_text.splice(end..end, b"TITLE:phone edit\r\n".iter().copied());
        assert!(phone
            .store_mut()
            .replace(Datastore::Contacts, &luid, phone_text));
        let pc_text = pc_item
            .canonical
            .replace("END:VCARD", "TITLE:pc edit\r\nEND:VCARD");
        pc.replace(pc_item.guid, Datastore::Contacts, &pc_text);

        let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        let contacts = report
            .datastores
            .iter()
            .find(|d| d.kind == Datastore::Contacts)
            .unwrap();
        assert!(
            contacts.sent_statuses.iter().all(|s| s.is_success()),
            "{}: {contacts:?}",
            profile.name
        );
        assert_converged(&phone, &mut pc);
        // The default policy: the phone wins, on both sides.
        let titles: Vec<String> = pc
            .items(Datastore::Contacts)
            .into_iter()
            .filter(|i| i.canonical.contains(" edit"))
            .map(|i| i.canonical)
            .collect();
        assert_eq!(titles.len(), 1, "{}", profile.name);
        assert!(
            titles[0].contains("phone edit"),
            "{}: {}",
            profile.name,
            titles[0]
        );
        let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        assert!(report
            .datastores
            .iter()
            .all(|d| d.sent == 0 && d.added + d.replaced + d.deleted == 0));
    }
}

fn support_key(phone: &handsync::emulator::EmulatedPhone, data: &[u8]) -> String {
    let devinf = phone.profile().devinf();
    let spec = phone.profile().datastore(Datastore::Contacts).unwrap();
    let reader = handsync::engine::content::phone_for(Some(&devinf), Some(&spec.local_uri));
    handsync::engine::content::from_phone(&reader, Datastore::Contacts, "text/x-vcard", data)
        .unwrap()
        .identity_key
        .unwrap()
}

#[test]
fn refresh_from_the_pc_replaces_what_the_phone_holds() {
    for profile in DeviceProfile::all() {
        let (mut phone, mut pc) = synced_phone(&profile);
        phone
            .store_mut()
            .add(Datastore::Contacts, phone_vcard("Lost", "+491704444444"));
        pc.add(Datastore::Contacts, &pc_vcard("Kept", "+491705555555"));
        let request = SyncRequest::only(Datastore::Contacts, SyncMode::RefreshFromServer);
        let report = run_session(&mut phone, &mut pc, &request, None)
            .report
            .unwrap();
        assert!(report.completed, "{}", profile.name);
        assert_eq!(report.datastores[0].mode, SyncMode::RefreshFromServer);
        assert_eq!(report.datastores[0].added, 41, "{}", profile.name);
        assert_eq!(
            phone_keys(&phone, Datastore::Contacts),
            pc.keys(Datastore::Contacts)
        );
        assert!(!phone_keys(&phone, Datastore::Contacts)
            .iter()
            .any(|k| k.contains("lost")));
        assert_converged(&phone, &mut pc);
    }
}

#[test]
fn refresh_from_the_phone_replaces_what_the_pc_holds() {
    for profile in DeviceProfile::all() {
        let (mut phone, mut pc) = synced_phone(&profile);
        pc.add(Datastore::Contacts, &pc_vcard("Dropped", "+491706666666"));
        let victim = phone
            .store()
            .datastore(Datastore::Contacts)
            .items()
            .keys()
            .next()
            .unwrap()
            .clone();
        phone.store_mut().delete(Datastore::Contacts, &victim);
        let request = SyncRequest::only(Datastore::Contacts, SyncMode::RefreshFromClient);
        let report = run_session(&mut phone, &mut pc, &request, None)
            .report
            .unwrap();
        assert!(report.completed, "{}", profile.name);
        assert_eq!(report.datastores[0].sent, 39, "{}", profile.name);
        assert_eq!(pc.keys(Datastore::Contacts).len(), 39, "{}", profile.name);
        assert_converged(&phone, &mut pc);
    }
}

#[test]
fn one_way_syncs_move_changes_in_one_direction_only() {
    for profile in DeviceProfile::all() {
        let (mut phone, mut pc) = synced_phone(&profile);
        phone.store_mut().add(
            Datastore::Contacts,
            phone_vcard("FromPhone", "+491707777777"),
        );
        pc.add(Datastore::Contacts, &pc_vcard("FromPc", "+491708888888"));

        let request = SyncRequest::only(Datastore::Contacts, SyncMode::OneWayFromClient);
        let report = run_session(&mut phone, &mut pc, &request, None)
            .report
            .unwrap();
        assert!(report.completed, "{}", profile.name);
        assert_eq!(
            (report.datastores[0].sent, report.datastores[0].added),
            (1, 0),
            "{}",
            profile.name
        );
        assert_eq!(pc.keys(Datastore::Contacts).len(), 42);
        assert_eq!(phone.store().datastore(Datastore::Contacts).len(), 41);

        let request = SyncRequest::only(Datastore::Contacts, SyncMode::OneWayFromServer);
        let report = run_session(&mut phone, &mut pc, &request, None)
            .report
            .unwrap();
        assert!(report.completed, "{}", profile.name);
        assert_eq!(
            (report.datastores[0].sent, report.datastores[0].added),
            (0, 1),
            "{}",
            profile.name
        );
        assert_converged(&phone, &mut pc);
    }
}

#[test]
fn deletes_on_both_sides_leave_both_sides_equal() {
    for profile in DeviceProfile::all() {
        let (mut phone, mut pc) = synced_phone(&profile);
        for kind in support_kinds(&profile) {
            let luids: Vec<String> = phone
                .store()
                .datastore(kind)
                .items()
                .keys()
                .take(2)
                .cloned()
                .collect();
            for luid in &luids {
                assert!(phone.store_mut().delete(kind, luid));
            }
            let guid = pc.items(kind).last().unwrap().guid;
            pc.delete(guid);
        }
        let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        for ds in &report.datastores {
            assert_eq!(ds.sent, 2, "{}: {ds:?}", profile.name);
            assert!(
                ds.sent_statuses
                    .iter()
                    .all(|s| *s == StatusCode::Ok || *s == StatusCode::ItemNotDeleted),
                "{ds:?}"
            );
        }
        assert_converged(&phone, &mut pc);
    }
}

fn support_kinds(profile: &DeviceProfile) -> Vec<Datastore> {
    profile.datastores.iter().map(|d| d.kind).collect()
}

#[test]
fn a_pc_that_lost_its_data_answers_508_and_a_slow_sync_restores_it() {
    for profile in DeviceProfile::all() {
        let (mut phone, _old_pc) = synced_phone(&profile);
        let mut pc = Pc::new(ServerConfig::default());
        let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        for ds in &report.datastores {
            assert_eq!(
                ds.alert_status,
                Some(StatusCode::RefreshRequired),
                "{}",
                profile.name
            );
            assert_eq!(
                (ds.requested, ds.mode),
                (SyncMode::TwoWay, SyncMode::Slow),
                "{}",
                profile.name
            );
        }
        assert_converged(&phone, &mut pc);
    }
}

#[test]
fn other_conflict_policies_converge_too() {
    use handsync::engine::ConflictPolicy;
    for policy in [
        ConflictPolicy::PcWins,
        ConflictPolicy::KeepBoth,
        ConflictPolicy::NewerWins,
    ] {
        for profile in DeviceProfile::all() {
            let store = generate(&profile, &data_set());
            let mut phone = phone_with(profile.clone(), store);
            let mut pc = Pc::new(ServerConfig {
                conflicts: policy,
                ..ServerConfig::default()
            });
            sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
            let pc_item = pc
                .items(Datastore::Contacts)
                .into_iter()
                .find(|i| !i.canonical.contains("PHOTO"))
                .unwrap();
            let luid = phone
                .store()
                .datastore(Datastore::Contacts)
                .items()
                .iter()
                .find(|(_, item)| Some(support_key(&phone, &item.data)) == pc_item.identity_key)
                .map(|(luid, _)| luid.clone())
                .unwrap();
            let mut phone_text = phone
                .store()
                .datastore(Datastore::Contacts)
                .get(&luid)
                .unwrap()
                .data
                .clone();
            let end = phone_text.len() - b"END:VCARD\r\n".len();
            phone_text.splice(end..end, b"TITLE:phone edit\r\n".iter().copied());
            phone
                .store_mut()
                .replace(Datastore::Contacts, &luid, phone_text);
            pc.replace(
                pc_item.guid,
                Datastore::Contacts,
                &pc_item
                    .canonical
                    .replace("END:VCARD", "TITLE:pc edit\r\nEND:VCARD"),
            );
            let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
            let contacts = report
                .datastores
                .iter()
                .find(|d| d.kind == Datastore::Contacts)
                .unwrap();
            let expected = match policy {
                ConflictPolicy::PcWins => StatusCode::ConflictResolvedWithServerData,
                ConflictPolicy::KeepBoth => StatusCode::ConflictResolvedWithDuplicate,
                _ => StatusCode::ConflictResolvedWithClientWinning,
            };
            assert_eq!(
                contacts.sent_statuses,
                vec![expected],
                "{} {policy:?}",
                profile.name
            );
            assert_converged(&phone, &mut pc);
            let edits: Vec<String> = pc
                .items(Datastore::Contacts)
                .into_iter()
                .filter(|i| i.canonical.contains(" edit"))
                .map(|i| i.canonical)
                .collect();
            let wanted = match policy {
                ConflictPolicy::PcWins => vec!["pc edit"],
                ConflictPolicy::KeepBoth => vec!["pc edit", "phone edit"],
                _ => vec!["phone edit"],
            };
            let mut found: Vec<&str> = wanted
                .iter()
                .copied()
                .filter(|w| edits.iter().any(|e| e.contains(w)))
                .collect();
            found.sort();
            assert_eq!(found, wanted, "{} {policy:?}: {edits:#?}", profile.name);
            assert_eq!(edits.len(), wanted.len(), "{} {policy:?}", profile.name);
            let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
            assert!(
                report
                    .datastores
                    .iter()
                    .all(|d| d.sent + d.added + d.replaced + d.deleted == 0),
                "{} {policy:?}: settled for good: {report:#?}",
                profile.name
            );
        }
    }
}

#[test]
fn a_full_phone_refuses_items_and_gets_them_once_it_has_room() {
    let mut profile = DeviceProfile::sony_ericsson_k750i();
    profile.datastores[0].max_items = Some(42);
    let (mut phone, mut pc) = synced_phone(&profile);
    for n in 0..4 {
        pc.add(
            Datastore::Contacts,
            &pc_vcard(&format!("Full{n}"), &format!("+49171400000{n}")),
        );
    }
    let report = sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
    let contacts = report
        .datastores
        .iter()
        .find(|d| d.kind == Datastore::Contacts)
        .unwrap();
    assert_eq!(contacts.added, 2, "room for two");
    assert_eq!(phone.store().datastore(Datastore::Contacts).len(), 42);
    // The user makes room; the refused ones come at the next sync.
    let luids: Vec<String> = phone
        .store()
        .datastore(Datastore::Contacts)
        .items()
        .keys()
        .take(2)
        .cloned()
        .collect();
    for luid in &luids {
        phone.store_mut().delete(Datastore::Contacts, luid);
    }
    sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
    assert_converged(&phone, &mut pc);
    assert_eq!(pc.keys(Datastore::Contacts).len(), 42);
}

#[test]
fn tiny_messages_split_every_package_and_still_complete() {
    for profile in DeviceProfile::all() {
        // As small as each encoding allows: a header, its status and an Alert 222 take
        // about 1,000 bytes of XML, 300 of WBXML.
        let tiny = match profile.encoding {
            handsync::syncml::Encoding::Xml => 1600,
            handsync::syncml::Encoding::Wbxml => 900,
        };
        let mut profile = profile.clone();
        profile.max_msg_size = tiny;
        let spec = DataSetSpec {
            photo_bytes: emulator_support::photo_for(&profile, 1500),
            ..data_set()
        };
        let mut phone = phone_with(profile.clone(), generate(&profile, &spec));
        let mut pc = Pc::new(ServerConfig {
            max_msg_size: tiny,
            ..ServerConfig::default()
        });
        let request = SyncRequest::all(&profile, SyncMode::TwoWay);
        let outcome = run_session(&mut phone, &mut pc, &request, None);
        assert!(
            outcome.report().completed,
            "{}: {:#?}",
            profile.name,
            outcome.report()
        );
        let non_final_replies = outcome.replies.iter().filter(|r| !r.is_final).count();
        assert!(
            non_final_replies > 3,
            "{}: the PC's packages were split",
            profile.name
        );
        for n in 0..20 {
            pc.add(
                Datastore::Contacts,
                &pc_vcard(&format!("Tiny{n}"), &format!("+4917300{n:05}")),
            );
        }
        let outcome = run_session(&mut phone, &mut pc, &request, None);
        assert!(outcome.report().completed, "{}", profile.name);
        assert_converged(&phone, &mut pc);
    }
}
