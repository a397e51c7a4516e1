//! Items changed on both sides since the last sync, under each conflict policy.

use crate::engine_phone::*;
use handsync_engine::storage::{Datastore, Reason};
use handsync_engine::{ConflictPolicy, ServerConfig};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{AlertCode, Encoding, StatusCode};

/// A phone and a PC that share contact 1, then both edit it.
fn conflict(
    policy: ConflictPolicy,
) -> (
    Server,
    Phone,
    String,
    handsync_engine::storage::Guid,
    Outcome,
) {
    let mut server = Server::new(ServerConfig {
        conflicts: policy,
        ..ServerConfig::default()
    });
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let luid = phone.add(&vcard(1));
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
    let guid = server.contacts()[0].guid;
    server.replace_contact(
        guid,
        &vcard(1).replace("END:VCARD", "EMAIL:pc@example.com\r\nEND:VCARD"),
    );
    phone.edit(
        &luid,
        &vcard(1).replace("END:VCARD", "EMAIL:phone@example.com\r\nEND:VCARD"),
    );
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    (server, phone, luid, guid, outcome)
}

fn history_reasons(server: &mut Server, guid: handsync_engine::storage::Guid) -> Vec<Reason> {
    server
        .history(guid)
        .into_iter()
        .map(|v| v.cause.reason)
        .collect()
}

#[test]
fn phone_wins_by_default_and_the_pc_version_stays_in_history() {
    assert_eq!(ServerConfig::default().conflicts, ConflictPolicy::PhoneWins);
    let (mut server, phone, luid, guid, outcome) = conflict(ConflictPolicy::PhoneWins);
    assert_eq!(
        outcome.change_statuses,
        vec![StatusCode::ConflictResolvedWithClientWinning]
    );
    let item = server.item(guid);
    assert!(item.canonical.contains("phone@example.com"));
    assert!(phone.items[&luid].contains("phone@example.com"));
    let history = server.history(guid);
    assert!(history
        .iter()
        .any(|v| v.canonical.contains("pc@example.com")));
    assert!(history_reasons(&mut server, guid).contains(&Reason::ReplacedOnPc));
    assert!(outcome.received.is_empty());
}

#[test]
fn pc_wins_sends_the_pc_version_and_keeps_the_phone_version_as_loser() {
    let (mut server, phone, luid, guid, outcome) = conflict(ConflictPolicy::PcWins);
    assert_eq!(
        outcome.change_statuses,
        vec![StatusCode::ConflictResolvedWithServerData]
    );
    let item = server.item(guid);
    assert!(item.canonical.contains("pc@example.com"));
    assert_eq!(outcome.received, vec![("Replace".to_string(), 200)]);
    assert!(phone.items[&luid].contains("pc@example.com"));
    let history = server.history(guid);
    let loser = history
        .iter()
        .find(|v| v.cause.reason == Reason::ConflictLoser)
        .expect("the phone's version is kept");
    assert!(loser.canonical.contains("phone@example.com"));
    assert!(!loser.applied);
}

#[test]
fn keep_both_ends_with_both_versions_on_both_sides() {
    let (mut server, mut phone, _luid, _guid, outcome) = conflict(ConflictPolicy::KeepBoth);
    assert_eq!(
        outcome.change_statuses,
        vec![StatusCode::ConflictResolvedWithDuplicate]
    );
    let contacts = server.contacts();
    assert_eq!(contacts.len(), 2);
    assert!(contacts
        .iter()
        .any(|i| i.canonical.contains("pc@example.com")));
    assert!(contacts
        .iter()
        .any(|i| i.canonical.contains("phone@example.com")));
    assert_eq!(phone.items.len(), 2);
    assert_eq!(server.contact_keys(), phone.keys());
    let again = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(again.received.is_empty());
}

#[test]
fn a_phone_delete_of_an_item_the_pc_changed_follows_the_policy() {
    for policy in [ConflictPolicy::PhoneWins, ConflictPolicy::PcWins] {
        let mut server = Server::new(ServerConfig {
            conflicts: policy,
            ..ServerConfig::default()
        });
        let mut phone = Phone::new(Version::V1_1, Encoding::Xml);
        let luid = phone.add(&vcard(1));
        assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
        let guid = server.contacts()[0].guid;
        server.replace_contact(guid, &vcard(1).replace("Test Person1", "Changed on PC"));
        phone.remove(&luid);
        let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed);
        match policy {
            ConflictPolicy::PhoneWins => {
                assert!(server.contacts().is_empty());
                assert!(phone.items.is_empty());
            }
            _ => {
                assert_eq!(
                    outcome.change_statuses,
                    vec![StatusCode::ConflictResolvedWithServerData]
                );
                assert_eq!(server.contacts().len(), 1);
                assert_eq!(phone.items.len(), 1, "the PC's version came back");
                assert!(phone
                    .items
                    .values()
                    .next()
                    .unwrap()
                    .contains("Changed on PC"));
            }
        }
        let all = server.items(Datastore::Contacts, true);
        assert_eq!(all.len(), 1, "{policy:?}: nothing duplicated");
    }
}

#[test]
fn a_slow_sync_with_differing_versions_applies_the_policy() {
    for policy in [
        ConflictPolicy::PhoneWins,
        ConflictPolicy::PcWins,
        ConflictPolicy::KeepBoth,
    ] {
        let mut server = Server::new(ServerConfig {
            conflicts: policy,
            ..ServerConfig::default()
        });
        // Same person (same identity key), different e-mail on each side.
        server.add_contact(&vcard(1).replace("END:VCARD", "EMAIL:pc@example.com\r\nEND:VCARD"));
        let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
        phone.add(&vcard(1).replace("END:VCARD", "EMAIL:phone@example.com\r\nEND:VCARD"));
        let outcome = phone.sync(&mut server, AlertCode::SlowSync, None);
        assert!(outcome.completed);
        let contacts = server.contacts();
        match policy {
            ConflictPolicy::PhoneWins => {
                assert_eq!(contacts.len(), 1);
                assert!(contacts[0].canonical.contains("phone@example.com"));
                assert!(outcome.received.is_empty());
            }
            ConflictPolicy::PcWins => {
                assert_eq!(contacts.len(), 1);
                assert!(contacts[0].canonical.contains("pc@example.com"));
                assert_eq!(outcome.received, vec![("Replace".to_string(), 200)]);
            }
            ConflictPolicy::KeepBoth => {
                assert_eq!(contacts.len(), 2);
                assert_eq!(phone.items.len(), 2);
            }
            ConflictPolicy::NewerWins => unreachable!("not in this loop"),
        }
        assert_eq!(server.contact_keys(), phone.keys(), "{policy:?}");
    }
}

#[test]
fn newer_wins_judges_by_the_phone_timestamp() {
    for (rev, phone_should_win) in [("20060406T170000Z", false), ("20300101T000000Z", true)] {
        let mut server = Server::new(ServerConfig {
            conflicts: ConflictPolicy::NewerWins,
            ..ServerConfig::default()
        });
        let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
        let luid = phone.add(&vcard(1));
        assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
        let guid = server.contacts()[0].guid;
        server.replace_contact(
            guid,
            &vcard(1).replace("END:VCARD", "EMAIL:pc@example.com\r\nEND:VCARD"),
        );
        phone.edit(
            &luid,
            &vcard(1).replace(
                "END:VCARD",
                &format!("EMAIL:phone@example.com\r\nREV:{rev}\r\nEND:VCARD"),
            ),
        );
        let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed);
        let stored = server.item(guid);
        if phone_should_win {
            assert_eq!(
                outcome.change_statuses,
                vec![StatusCode::ConflictResolvedWithClientWinning]
            );
            assert!(stored.canonical.contains("phone@example.com"));
        } else {
            assert_eq!(
                outcome.change_statuses,
                vec![StatusCode::ConflictResolvedWithServerData]
            );
            assert!(stored.canonical.contains("pc@example.com"));
            assert!(phone.items[&luid].contains("pc@example.com"));
        }
    }
}
