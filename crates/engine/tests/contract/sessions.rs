//! Full SyncML sessions between a scripted phone and the engine, on a real (in-memory) store.

use crate::engine_phone::*;
use handsync_engine::ServerConfig;
use handsync_proto::markup::Version;
use handsync_proto::syncml::{AlertCode, Encoding, StatusCode};

#[test]
fn first_sync_is_slow_and_stores_every_corpus_contact() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    let cards = corpus_vcards();
    assert!(cards.len() >= 10);
    for card in &cards {
        phone.add(card);
    }
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(outcome.server_alert, Some(AlertCode::SlowSync));
    assert_eq!(server.contacts().len(), cards.len());
    assert_eq!(server.contact_keys(), phone.keys());
    assert!(
        outcome.received.is_empty(),
        "nothing to send back: {:?}",
        outcome.received
    );

    // The next sync is a fast one with nothing to do.
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(outcome.alert_status, Some(StatusCode::Ok));
    assert_eq!(outcome.server_alert, Some(AlertCode::TwoWay));
    assert!(outcome.received.is_empty());
    assert_eq!(server.contacts().len(), cards.len());
}

#[test]
fn a_slow_sync_matches_what_both_sides_have_without_duplicates() {
    let mut server = Server::new(ServerConfig::default());
    // The PC has 0..5; the phone has 3..8 (3 and 4 on both sides).
    for n in 0..5 {
        server.add_contact(&vcard(n));
    }
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    for n in 3..8 {
        phone.add(&vcard(n));
    }
    let outcome = phone.sync(&mut server, AlertCode::SlowSync, None);
    assert!(outcome.completed);
    assert_eq!(server.contacts().len(), 8);
    assert_eq!(phone.items.len(), 8);
    assert_eq!(server.contact_keys(), phone.keys());
    // Only what the phone lacked came to it.
    assert_eq!(outcome.received.len(), 3);
    assert!(outcome
        .received
        .iter()
        .all(|(name, code)| name == "Add" && *code == 201));
}

#[test]
fn a_two_way_sync_carries_changes_on_both_sides() {
    let mut server = Server::new(ServerConfig::default());
    let pc_guid = server.add_contact(&vcard(1));
    let mut phone = Phone::new(Version::V1_1, Encoding::Xml);
    let phone_luid = phone.add(&vcard(2));
    let doomed = phone.add(&vcard(3));
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
    assert_eq!(server.contacts().len(), 3);

    // The PC edits 1 and adds 4; the phone edits 2, adds 5 and deletes 3.
    server.replace_contact(pc_guid, &vcard(1).replace("Test Person1", "Edited On PC"));
    server.add_contact(&vcard(4));
    phone.edit(
        &phone_luid,
        &vcard(2).replace("TEL;CELL", "EMAIL:two@example.com\r\nTEL;CELL"),
    );
    phone.add(&vcard(5));
    phone.remove(&doomed);
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(outcome.server_alert, Some(AlertCode::TwoWay));
    let mut received: Vec<&str> = outcome.received.iter().map(|(n, _)| n.as_str()).collect();
    received.sort();
    assert_eq!(received, ["Add", "Replace"]);
    assert!(
        outcome.change_statuses.iter().all(|s| s.is_success()),
        "{:?}",
        outcome.change_statuses
    );
    assert_eq!(server.contacts().len(), 4);
    assert_eq!(server.contact_keys(), phone.keys());
    assert!(phone.items.values().any(|v| v.contains("Edited On PC")));
    assert!(server
        .contacts()
        .iter()
        .any(|i| i.canonical.contains("two@example.com")));
    // The phone's delete is a tombstone with history, not a loss.
    let all = server.items(handsync_engine::storage::Datastore::Contacts, true);
    assert_eq!(all.iter().filter(|i| i.is_deleted()).count(), 1);
}

#[test]
fn every_version_and_encoding_syncs() {
    for version in Version::ALL {
        for encoding in [Encoding::Xml, Encoding::Wbxml] {
            let mut server = Server::new(ServerConfig::default());
            server.add_contact(&vcard(1));
            let mut phone = Phone::new(version, encoding);
            phone.add(&vcard(2));
            let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
            assert!(outcome.completed, "{version:?} {encoding:?}");
            for reply in &outcome.replies {
                assert_eq!(reply.message.version, version);
                let header = reply.message.header.as_ref().unwrap();
                assert_eq!(
                    header.ver_proto.as_str(),
                    format!("SyncML/{}", version.as_str())
                );
            }
            assert_eq!(
                server.contact_keys(),
                phone.keys(),
                "{version:?} {encoding:?}"
            );
            assert_eq!(phone.items.len(), 2);
        }
    }
}

#[test]
fn refresh_from_server_replaces_the_phone_content() {
    let mut server = Server::new(ServerConfig::default());
    for n in 0..4 {
        server.add_contact(&vcard(n));
    }
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    phone.add(&vcard(9));
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
    assert_eq!(server.contacts().len(), 5);
    let outcome = phone.sync(&mut server, AlertCode::RefreshFromServer, None);
    assert!(outcome.completed);
    assert_eq!(outcome.server_alert, Some(AlertCode::RefreshFromServer));
    assert_eq!(outcome.received.len(), 5);
    assert_eq!(server.contact_keys(), phone.keys());
    // A two-way sync afterwards sends nothing again.
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert_eq!(outcome.server_alert, Some(AlertCode::TwoWay));
    assert!(outcome.received.is_empty(), "{:?}", outcome.received);
}

#[test]
fn refresh_from_client_makes_the_pc_hold_what_the_phone_holds() {
    let mut server = Server::new(ServerConfig::default());
    for n in 0..3 {
        server.add_contact(&vcard(n));
    }
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    phone.add(&vcard(1));
    phone.add(&vcard(7));
    let outcome = phone.sync(&mut server, AlertCode::RefreshFromClient, None);
    assert!(outcome.completed);
    assert_eq!(outcome.server_alert, Some(AlertCode::RefreshFromClient));
    assert!(outcome.received.is_empty());
    assert_eq!(server.contact_keys(), phone.keys());
    // What the PC dropped is in its history.
    let all = server.items(handsync_engine::storage::Datastore::Contacts, true);
    assert_eq!(all.iter().filter(|i| i.is_deleted()).count(), 2);
}

#[test]
fn one_way_syncs_move_changes_in_one_direction_only() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.add(&vcard(1));
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);

    server.add_contact(&vcard(2));
    phone.add(&vcard(3));
    let outcome = phone.sync(&mut server, AlertCode::OneWayFromClient, None);
    assert!(outcome.completed);
    assert_eq!(outcome.server_alert, Some(AlertCode::OneWayFromClient));
    assert!(outcome.received.is_empty());
    assert_eq!(server.contacts().len(), 3);
    assert_eq!(phone.items.len(), 2);

    phone.add(&vcard(4));
    let outcome = phone.sync(&mut server, AlertCode::OneWayFromServer, None);
    assert!(outcome.completed);
    assert_eq!(outcome.server_alert, Some(AlertCode::OneWayFromServer));
    assert_eq!(outcome.received.len(), 1);
    assert_eq!(phone.items.len(), 4);
    assert_eq!(
        server.contacts().len(),
        3,
        "a one-way sync from the server takes nothing"
    );
}

#[test]
fn an_anchor_mismatch_asks_for_a_slow_sync_and_creates_no_duplicates() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    for n in 0..5 {
        phone.add(&vcard(n));
    }
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
    phone.last_anchor = Some("something-else".into());
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(outcome.alert_status, Some(StatusCode::RefreshRequired));
    assert_eq!(outcome.server_alert, Some(AlertCode::SlowSync));
    assert_eq!(server.contacts().len(), 5);
    assert_eq!(phone.items.len(), 5);
    assert!(outcome.received.is_empty(), "{:?}", outcome.received);
}
