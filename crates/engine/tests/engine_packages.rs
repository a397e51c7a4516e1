//! Packages over several messages: the phone's MaxMsgSize, measured in the encoding used.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod support;

use engine_phone::*;
use handsync_engine::storage::SessionResult;
use handsync_engine::ServerConfig;
use handsync_proto::markup::Version;
use handsync_proto::syncml::{AlertCode, Command, Encoding, StatusCode};

/// 300 contacts each way through messages of at most 1,500 bytes (checked on every reply by
/// the phone helper), in both encodings.
#[test]
fn three_hundred_contacts_fit_in_1500_byte_messages() {
    for encoding in [Encoding::Wbxml, Encoding::Xml] {
        let mut server = Server::new(ServerConfig::default());
        let mut phone = Phone::new(Version::V1_1, encoding);
        phone.max_msg_size = 1500;
        phone.items_per_message = 3;
        phone.send_devinf = false;
        for n in 0..300 {
            phone.add(&vcard(n));
        }
        let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed, "{encoding:?}");
        assert_eq!(server.contacts().len(), 300);
        assert!(outcome.replies.iter().all(|r| r.bytes.len() <= 1500));

        // A second phone gets all 300 from the server, over many messages.
        let mut other = Phone::new(Version::V1_2, encoding);
        other.device_uri = "IMEI:350000000000002".into();
        other.max_msg_size = 1500;
        other.send_devinf = false;
        let outcome = other.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed, "{encoding:?}");
        assert_eq!(other.items.len(), 300);
        assert_eq!(other.keys(), server.contact_keys());
        assert!(outcome.replies.iter().all(|r| r.bytes.len() <= 1500));
        let non_final = outcome.replies.iter().filter(|r| !r.is_final).count();
        assert!(non_final > 20, "{non_final} messages without Final");
        // Final only at the end of a package: every non-final reply has changes or statuses.
        for reply in outcome.replies.iter().filter(|r| !r.is_final) {
            assert!(reply.message.body.commands.len() > 1);
            assert!(!reply.message.body.final_);
        }
        // Every Add went through exactly once, and every one was mapped.
        let adds: usize = outcome
            .replies
            .iter()
            .flat_map(|r| all_commands(&r.message))
            .filter(|c| matches!(c, Command::Add(_)))
            .count();
        assert_eq!(adds, 300);
        // Our changes are listed a page at a time; the first Sync still announces them all.
        let first_sync = outcome
            .replies
            .iter()
            .flat_map(|r| r.message.body.commands.iter())
            .find_map(|c| match c {
                Command::Sync(sync) => Some(sync.number_of_changes),
                _ => None,
            });
        assert_eq!(first_sync, Some(Some(300)));
        let again = other.sync(&mut server, AlertCode::TwoWay, None);
        assert!(again.received.is_empty());
    }
}

#[test]
fn a_non_final_message_from_the_phone_gets_statuses_and_a_next_message_alert() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    phone.items_per_message = 2;
    for n in 0..5 {
        phone.add(&vcard(n));
    }
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    // Package 1 answer, then three messages of package 3: the first two are not final.
    let middle = &outcome.replies[1];
    assert!(!middle.is_final);
    let alert = middle.message.body.commands.iter().find_map(|c| match c {
        Command::Alert(a) => a.data,
        _ => None,
    });
    assert_eq!(alert, Some(AlertCode::NextMessage));
    assert_eq!(server.contacts().len(), 5);
}

/// Two-way syncs with changes on both sides at every MaxMsgSize from 150 bytes to 3,000 in
/// steps of 10, in both encodings. At each size the session either completes, both sides
/// holding all items and no reply over the phone's MaxMsgSize (the phone helper checks each),
/// or, below the smallest message that makes progress (our header, its status and two
/// statuses), ends at once: 500 on the header, the session failed in history, nothing changed.
/// The failing sizes are exactly those below a floor, which lies under 350 bytes of WBXML and
/// 1,000 of XML (so every size a phone of the era announces works).
#[test]
fn every_small_max_msg_size_progresses_or_ends_at_once() {
    for (encoding, floor_at_most) in [(Encoding::Wbxml, 350u64), (Encoding::Xml, 1000)] {
        let mut floor = None;
        for size in (150..=3000).step_by(10) {
            let mut server = Server::new(ServerConfig::default());
            for n in 100..106 {
                server.add_contact(&vcard(n));
            }
            let mut phone = Phone::new(Version::V1_1, encoding);
            phone.max_msg_size = size;
            phone.items_per_message = 1;
            phone.send_devinf = false;
            for n in 0..6 {
                phone.add(&vcard(n));
            }
            let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
            if !outcome.completed {
                assert_eq!(
                    floor, None,
                    "{encoding:?}: {size} fails above a size that works"
                );
                assert_eq!(outcome.header_codes, [StatusCode::CommandFailed]);
                assert_eq!(server.sessions()[0].result, SessionResult::Failed);
                assert_eq!(server.contact_keys().len(), 6, "{encoding:?} at {size}");
                continue;
            }
            floor.get_or_insert(size);
            assert_eq!(phone.items.len(), 12, "{encoding:?} at {size}");
            assert_eq!(
                phone.keys(),
                server.contact_keys(),
                "{encoding:?} at {size}"
            );
            assert!(outcome.replies.iter().all(|r| r.bytes.len() as u64 <= size));
        }
        let floor = floor.expect("some size works");
        assert!(
            floor > 150 && floor <= floor_at_most,
            "{encoding:?}: floor {floor}"
        );
    }
}

/// A slow sync of 1,800 contacts to a phone announcing the sizes real phones announce: no
/// reply is over the phone's MaxMsgSize (the helper checks each), and the replies use the
/// room they have (on average more than half of it).
#[test]
fn large_slow_syncs_at_the_sizes_phones_announce() {
    let mut server = Server::new(ServerConfig::default());
    for n in 0..1800 {
        server.add_contact(&vcard(n));
    }
    for (index, size) in [10_000u64, 20_000, 65_535].into_iter().enumerate() {
        for encoding in [Encoding::Wbxml, Encoding::Xml] {
            let mut phone = Phone::new(Version::V1_2, encoding);
            phone.device_uri = format!("IMEI:35000000000{index}{}", encoding as u8);
            phone.max_msg_size = size;
            phone.send_devinf = false;
            let outcome = phone.sync(&mut server, AlertCode::SlowSync, None);
            assert!(outcome.completed, "{encoding:?} at {size}");
            assert_eq!(phone.items.len(), 1800);
            let full: Vec<usize> = outcome
                .replies
                .iter()
                .filter(|r| !r.is_final)
                .map(|r| r.bytes.len())
                .collect();
            assert!(full.iter().all(|len| *len as u64 <= size));
            let average = full.iter().sum::<usize>() as u64 / full.len().max(1) as u64;
            assert!(
                average * 2 > size,
                "{encoding:?} at {size}: replies average {average} bytes"
            );
        }
    }
}

/// Package 1 over two messages (the Alert in the first, the DevInf in the second, which
/// alone is final): our answer to the first carries statuses and an Alert 222 only, our
/// Alert comes in the answer to the package's last message, and the session completes.
#[test]
fn package_1_over_several_messages_gets_our_alert_after_its_end() {
    for encoding in [Encoding::Wbxml, Encoding::Xml] {
        let mut server = Server::new(ServerConfig::default());
        let mut session = server.session();
        let mut phone = Phone::new(Version::V1_2, encoding);
        let first = phone.first_message(AlertCode::SlowSync);
        let (alerts, rest): (Vec<Command>, Vec<Command>) = first
            .body
            .commands
            .iter()
            .cloned()
            .partition(|c| matches!(c, Command::Alert(_)));
        assert!(
            !rest.is_empty(),
            "the DevInf Put goes in the second message"
        );
        let mut opening = first.clone();
        opening.body.commands = alerts;
        opening.body.final_ = false;
        let reply = server
            .exchange(&mut session, &encode(&opening, encoding))
            .unwrap();
        assert!(!reply.is_final);
        let alert_codes: Vec<Option<AlertCode>> = all_commands(&reply.message)
            .into_iter()
            .filter_map(|c| match c {
                Command::Alert(a) => Some(a.data),
                _ => None,
            })
            .collect();
        assert_eq!(alert_codes, [Some(AlertCode::NextMessage)]);

        let closing = phone.message(rest, true, false);
        let reply = server
            .exchange(&mut session, &encode(&closing, encoding))
            .unwrap();
        assert!(reply.is_final);
        let alert_codes: Vec<Option<AlertCode>> = all_commands(&reply.message)
            .into_iter()
            .filter_map(|c| match c {
                Command::Alert(a) => Some(a.data),
                _ => None,
            })
            .collect();
        assert_eq!(alert_codes, [Some(AlertCode::SlowSync)]);

        // Package 3: one contact; package 4 has nothing for the phone, and the phone's
        // package 5 ends the session.
        let sync = Command::Sync(
            handsync_proto::syncml::Sync {
                target: Some(handsync_proto::syncml::Target::new("Contacts")),
                source: Some(handsync_proto::syncml::Source::new("./contacts")),
                commands: vec![item_command(false, "1", &vcard(1), "text/x-vcard")],
                ..Default::default()
            }
            .into(),
        );
        let changes = phone.message(vec![sync], true, false);
        let reply = server
            .exchange(&mut session, &encode(&changes, encoding))
            .unwrap();
        assert!(reply.is_final);
        let done = phone.message(Vec::new(), true, false);
        let reply = server
            .exchange(&mut session, &encode(&done, encoding))
            .unwrap();
        assert!(reply.is_final && reply.session_finished);
        assert_eq!(server.contacts().len(), 1);
        assert_eq!(server.sessions()[0].result, SessionResult::Completed);
    }
}
