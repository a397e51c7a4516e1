//! Sessions cut after any message, Maps arriving in a later session, and bad input.

use crate::engine_phone::*;
use handsync_engine::storage::{Datastore, SessionResult};
use handsync_engine::{EngineError, ServerConfig};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{AlertCode, Encoding, StatusCode};

fn setup() -> (Server, Phone) {
    let mut server = Server::new(ServerConfig::default());
    for n in 0..5 {
        server.add_contact(&vcard(n));
    }
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.max_msg_size = 1500;
    phone.items_per_message = 2;
    for n in 3..9 {
        phone.add(&vcard(n));
    }
    (server, phone)
}

fn assert_converged(server: &mut Server, phone: &mut Phone, what: &str) {
    let mut unique = phone.keys();
    unique.dedup();
    assert_eq!(
        unique.len(),
        phone.items.len(),
        "{what}: duplicates on the phone"
    );
    assert_eq!(server.contact_keys(), phone.keys(), "{what}: sides differ");
    // And a further sync has nothing left to do.
    let outcome = phone.sync(server, AlertCode::TwoWay, None);
    assert!(outcome.completed, "{what}");
    assert!(
        outcome.received.is_empty(),
        "{what}: {:?}",
        outcome.received
    );
    assert_eq!(server.contact_keys(), phone.keys(), "{what}");
}

#[test]
fn a_first_sync_cut_after_any_message_converges_in_the_next_session() {
    let (mut server, mut phone) = setup();
    let full = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(full.completed);
    let messages = full.messages_sent;
    assert!(messages >= 5, "{messages}");
    for resends_maps in [true, false] {
        for cut in 1..=messages {
            let (mut server, mut phone) = setup();
            phone.resends_maps = resends_maps;
            let outcome = phone.sync(&mut server, AlertCode::TwoWay, Some(cut));
            assert!(!outcome.completed || cut == messages, "cut {cut}");
            let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
            assert!(outcome.completed, "after cut {cut}");
            assert_converged(
                &mut server,
                &mut phone,
                &format!("cut after {cut}, maps {resends_maps}"),
            );
            assert_eq!(server.contacts().len(), 9, "cut after {cut}");
        }
    }
}

#[test]
fn a_two_way_sync_cut_after_any_message_converges_in_the_next_session() {
    let prepare = || {
        let (mut server, mut phone) = setup();
        assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
        let guid = server.contacts()[0].guid;
        server.replace_contact(guid, &vcard(0).replace("Test Person0", "Renamed on PC"));
        server.add_contact(&vcard(20));
        server.add_contact(&vcard(21));
        let luid = phone.items.keys().last().unwrap().clone();
        phone.edit(
            &luid,
            &phone.items[&luid].replace("END:VCARD", "EMAIL:x@example.com\r\nEND:VCARD"),
        );
        phone.add(&vcard(30));
        (server, phone)
    };
    let (mut server, mut phone) = prepare();
    let full = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(full.completed);
    for cut in 1..=full.messages_sent {
        let (mut server, mut phone) = prepare();
        phone.sync(&mut server, AlertCode::TwoWay, Some(cut));
        let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed, "after cut {cut}");
        assert_converged(&mut server, &mut phone, &format!("cut after {cut}"));
        assert_eq!(server.contacts().len(), 12, "cut after {cut}");
        assert!(server
            .contacts()
            .iter()
            .any(|i| i.canonical.contains("x@example.com")));
    }
}

#[test]
fn a_map_arriving_in_the_next_session_is_applied() {
    let mut server = Server::new(ServerConfig::default());
    for n in 0..3 {
        server.add_contact(&vcard(n));
    }
    let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
    let full = {
        let (mut server, mut phone) = (
            Server::new(ServerConfig::default()),
            Phone::new(Version::V1_2, Encoding::Xml),
        );
        for n in 0..3 {
            server.add_contact(&vcard(n));
        }
        phone.sync(&mut server, AlertCode::TwoWay, None)
    };
    // Cut right before package 5: the phone holds the items, the server waits for their Map.
    phone.reply_survives_cut = true;
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, Some(full.messages_sent - 1));
    assert!(!outcome.completed);
    assert_eq!(phone.items.len(), 3);
    assert_eq!(phone.pending_maps.len(), 3);
    // The statuses for those Adds were lost with package 5: the server knows only that it
    // sent them (no LUID, no revision confirmed), so it does not offer them as new again.
    let held = |server: &mut Server, phone: &Phone| {
        let device = server.device_by_uri(&phone.device_uri).unwrap().id;
        server.with(|store| Ok(store.device_items(device, Datastore::Contacts)?))
    };
    let sent = held(&mut server, &phone);
    assert_eq!(sent.len(), 3);
    assert!(sent
        .iter()
        .all(|h| h.luid.is_none() && h.seen_revision.0 == 0 && h.mapped_at.is_none()));
    phone.reply_survives_cut = false;
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    let map_status = statuses(&outcome.replies[0].message)
        .into_iter()
        .find(|s| s.cmd == "Map")
        .map(|s| s.data);
    assert_eq!(
        map_status,
        Some(StatusCode::Ok),
        "the owed Map came first and was applied"
    );
    // The Map sent first thing in the next session gave every item its LUID.
    let mut luids: Vec<String> = held(&mut server, &phone)
        .into_iter()
        .map(|h| h.luid.expect("mapped"))
        .collect();
    luids.sort();
    let mut phone_luids: Vec<String> = phone.items.keys().cloned().collect();
    phone_luids.sort();
    assert_eq!(luids, phone_luids);
    assert_eq!(phone.items.len(), 3);
    assert_converged(&mut server, &mut phone, "map in the next session");
}

/// A first sync cut after our Adds reached the phone and before their Statuses and Maps
/// came back, the phone not sending the Maps again; meanwhile the PC gives one contact a
/// title, another a new number and deletes a third. In the next sync, a slow one, the phone
/// sends back what it got, unchanged: that is no edit of its own, so each change of the PC's
/// stands and goes to the phone, and nothing is doubled.
#[test]
fn a_first_sync_cut_before_its_maps_keeps_what_the_pc_changed_meanwhile() {
    let mut server = Server::new(ServerConfig::default());
    let guids: Vec<_> = (0..4).map(|n| server.add_contact(&vcard(n))).collect();
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    phone.resends_maps = false;
    let full = {
        let mut server = Server::new(ServerConfig::default());
        let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
        for n in 0..4 {
            server.add_contact(&vcard(n));
        }
        phone.sync(&mut server, AlertCode::TwoWay, None)
    };
    phone.reply_survives_cut = true;
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, Some(full.messages_sent - 1));
    assert!(!outcome.completed);
    assert_eq!(phone.items.len(), 4, "the phone holds our Adds");
    phone.reply_survives_cut = false;
    phone.pending_maps.clear();

    let titled = vcard(0).replace("END:VCARD", "TITLE:Edited meanwhile\r\nEND:VCARD");
    let renumbered = vcard(1).replace("+4917000", "+4917999");
    server.replace_contact(guids[0], &titled);
    server.replace_contact(guids[1], &renumbered);
    server.delete_contact(guids[2]);

    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    // Only what the PC changed goes to the phone: the copy it holds of the fourth contact
    // is our newest, and is not sent again.
    let mut received: Vec<&str> = outcome.received.iter().map(|(c, _)| c.as_str()).collect();
    received.sort();
    assert_eq!(
        received,
        ["Delete", "Replace", "Replace"],
        "{:?}",
        outcome.received
    );
    let expected: Vec<String> = {
        let mut keys: Vec<String> = [titled.as_str(), renumbered.as_str(), &vcard(3)]
            .into_iter()
            .map(identity_key)
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(server.contact_keys(), expected, "the PC's changes stand");
    let texts: Vec<String> = server.contacts().into_iter().map(|i| i.canonical).collect();
    assert!(
        texts.iter().any(|t| t.contains("Edited meanwhile")),
        "the title stands: {texts:#?}"
    );
    assert_converged(&mut server, &mut phone, "the cut first sync's next");
    assert!(phone.items.values().any(|t| t.contains("Edited meanwhile")));
}

#[test]
fn garbage_and_truncated_messages_get_a_precise_error_and_leave_the_session_intact() {
    let mut server = Server::new(ServerConfig::default());
    let mut session = server.session();
    for garbage in [
        &b""[..],
        b"POST /sync HTTP/1.1\r\n",
        b"<SyncML><SyncHdr>",
        b"\x02\x00\x00\x6a\x00",
        b"\x03\x9f\x53\x6a\x00\x6d\x6c\x71\x03",
    ] {
        let error = server.exchange(&mut session, garbage).unwrap_err();
        assert!(matches!(error, EngineError::Decode(_)), "{error}");
        assert!(!error.to_string().is_empty());
    }
    // Every prefix of a real message is refused or answered, never a panic; then the real
    // message is answered as the first of the session.
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.add(&vcard(1));
    let reference = phone.sync(
        &mut Server::new(ServerConfig::default()),
        AlertCode::TwoWay,
        None,
    );
    assert!(reference.completed);
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.add(&vcard(1));
    let first = phone.first_message(AlertCode::TwoWay);
    let bytes = encode(&first, Encoding::Wbxml);
    for cut in 0..bytes.len() {
        let _ = server.exchange(&mut session, &bytes[..cut]);
    }
    let reply = server.exchange(&mut session, &bytes).unwrap();
    assert_eq!(
        reply.message.header.as_ref().unwrap().msg_id,
        1,
        "no message was used up"
    );
    assert_eq!(header_status(&reply.message).data, StatusCode::Ok);
}

/// Real session messages with bytes flipped, cut or inserted: the engine answers or refuses,
/// never panics; a refused message leaves the session able to take the real one; the store
/// stays consistent.
#[test]
fn mutated_session_messages_never_panic_and_refusals_leave_the_session_intact() {
    for encoding in [Encoding::Wbxml, Encoding::Xml] {
        let (mut server, mut phone) = setup();
        phone.encoding = encoding;
        let reference = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(reference.completed);
        let messages = reference.sent.clone();
        let mut random = crate::support::XorShift(0x5eed ^ messages.len() as u64);
        for index in 0..messages.len() {
            for round in 0..12 {
                let (mut server, _) = setup();
                let mut session = server.session();
                for earlier in &messages[..index] {
                    server.exchange(&mut session, earlier).unwrap();
                }
                let mut mutated = messages[index].clone();
                match round % 3 {
                    0 => {
                        for _ in 0..1 + random.below(4) {
                            let at = random.below(mutated.len());
                            mutated[at] ^= 1 << random.below(8);
                        }
                    }
                    1 => mutated.truncate(random.below(mutated.len())),
                    _ => {
                        let at = random.below(mutated.len());
                        let byte = random.below(256) as u8;
                        mutated.insert(at, byte);
                    }
                }
                if server.exchange(&mut session, &mutated).is_err() {
                    let reply = server.exchange(&mut session, &messages[index]);
                    assert!(
                        reply.is_ok(),
                        "message {index} refused after a refused mutation"
                    );
                }
                let problems = server.problems();
                assert!(problems.is_empty(), "{problems:?}");
            }
        }
    }
}

#[test]
fn of_the_devices_that_never_exchanged_anything_only_the_most_recent_stay() {
    let mut server = Server::new(ServerConfig {
        empty_devices_kept: 2,
        ..ServerConfig::default()
    });
    let mut known = Phone::new(Version::V1_2, Encoding::Xml);
    known.add(&vcard(1));
    assert!(known.sync(&mut server, AlertCode::TwoWay, None).completed);
    // The known phone starts again and goes away: recorded as cut, never removed.
    let mut session = server.session();
    let first = encode(&known.first_message(AlertCode::TwoWay), Encoding::Xml);
    server.exchange(&mut session, &first).unwrap();
    server.abandon(&mut session);

    // Strangers, one after the other: a first message, then gone. Each is recorded as cut;
    // only the two seen last stay.
    let strangers: Vec<String> = (0..5).map(|n| format!("IMEI:35999999990000{n}")).collect();
    for uri in &strangers {
        let mut stranger = Phone::new(Version::V1_2, Encoding::Wbxml);
        stranger.device_uri = uri.clone();
        let mut session = server.session();
        let first = encode(
            &stranger.first_message(AlertCode::SlowSync),
            Encoding::Wbxml,
        );
        server.exchange(&mut session, &first).unwrap();
        server.abandon(&mut session);
        assert_eq!(session_results(&mut server)[0], SessionResult::Cut, "{uri}");
    }
    let kept: Vec<&String> = strangers
        .iter()
        .filter(|uri| server.device_by_uri(uri).is_some())
        .collect();
    assert_eq!(kept, [&strangers[3], &strangers[4]]);
    assert!(server.device_by_uri(&known.device_uri).is_some());
    assert_eq!(
        session_results(&mut server),
        [
            SessionResult::Cut,
            SessionResult::Cut,
            SessionResult::Cut,
            SessionResult::Completed
        ]
    );
    // A stranger ended on our side (a fault) prunes nothing.
    let mut late = Phone::new(Version::V1_2, Encoding::Wbxml);
    late.device_uri = "IMEI:359999999900009".into();
    let mut session = server.session();
    let first = encode(&late.first_message(AlertCode::SlowSync), Encoding::Wbxml);
    server.exchange(&mut session, &first).unwrap();
    server.cut(&mut session);
    assert!(server.device_by_uri(&strangers[3]).is_some());
    assert!(server.problems().is_empty(), "{:?}", server.problems());
}

/// The results of the sessions recorded, newest first.
fn session_results(server: &mut Server) -> Vec<SessionResult> {
    server.sessions().iter().map(|s| s.result).collect()
}
