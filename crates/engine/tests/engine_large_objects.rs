//! Large objects: items sent in chunks (MoreData, Meta Size).

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod support;

use engine_phone::*;
use handsync_engine::{ServerConfig, Session};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{
    AlertCode, Command, Data, Encoding, ItemCommand, MetInf, Source, Status, StatusCode, Sync,
    Target,
};

/// A contact with a photo, some 6 KB.
fn big_vcard() -> String {
    let photo: String = (0..6000).map(|i| (b'A' + (i % 26) as u8) as char).collect();
    format!(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Large;Object\r\nTEL:+4917012345\r\nPHOTO;ENCODING=BASE64;TYPE=JPEG:{photo}\r\nEND:VCARD\r\n"
    )
}

fn chunk_command(luid: &str, chunk: &str, size: Option<u64>, more: bool) -> Command {
    let mut data_item = item(None, Some(luid));
    data_item.data = Some(Data::Text(chunk.to_string()));
    data_item.more_data = more;
    if let Some(size) = size {
        data_item.meta = meta(MetInf {
            size: Some(size),
            ..MetInf::default()
        });
    }
    Command::Add(ItemCommand {
        meta: meta(MetInf::with_type("text/x-vcard")),
        items: vec![data_item],
        ..ItemCommand::default()
    })
}

fn sync_of(commands: Vec<Command>) -> Command {
    Command::Sync(
        Sync {
            target: Some(Target::new("Contacts")),
            source: Some(Source::new("./contacts")),
            commands,
            ..Sync::default()
        }
        .into(),
    )
}

fn add_status(reply: &handsync_engine::Reply) -> Vec<StatusCode> {
    statuses(&reply.message)
        .into_iter()
        .filter(|s: &&Status| s.cmd == "Add")
        .map(|s| s.data)
        .collect()
}

/// Starts a session and answers package 2; returns the session.
fn started(server: &mut Server, phone: &mut Phone) -> Session {
    let mut session = server.session();
    let first = phone.first_message(AlertCode::SlowSync);
    let reply = server
        .exchange(&mut session, &encode(&first, Encoding::Wbxml))
        .unwrap();
    assert!(reply.is_final);
    session
}

#[test]
fn an_item_in_chunks_is_reassembled() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let mut session = started(&mut server, &mut phone);
    let card = big_vcard();
    let size = card.len() as u64;
    let chunks: Vec<&str> = card
        .as_bytes()
        .chunks(2000)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    for (index, chunk) in chunks.iter().enumerate() {
        let first = index == 0;
        let last = index + 1 == chunks.len();
        let command = chunk_command("7", chunk, first.then_some(size), !last);
        let message = phone.message(vec![sync_of(vec![command])], last, false);
        let reply = server
            .exchange(&mut session, &encode(&message, Encoding::Wbxml))
            .unwrap();
        let expected = if last {
            StatusCode::ItemAdded
        } else {
            StatusCode::ChunkedItemAccepted
        };
        assert_eq!(add_status(&reply), vec![expected], "chunk {index}");
    }
    let contacts = server.contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].raw, card.as_bytes());
}

#[test]
fn chunks_without_size_or_with_the_wrong_size_are_refused() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let mut session = started(&mut server, &mut phone);
    let card = big_vcard();
    let (head, tail) = card.split_at(3000);

    let message = phone.message(
        vec![sync_of(vec![chunk_command("1", head, None, true)])],
        false,
        false,
    );
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    assert_eq!(add_status(&reply), vec![StatusCode::SizeRequired]);

    let declared = card.len() as u64 + 10;
    let message = phone.message(
        vec![sync_of(vec![chunk_command(
            "2",
            head,
            Some(declared),
            true,
        )])],
        false,
        false,
    );
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    assert_eq!(add_status(&reply), vec![StatusCode::ChunkedItemAccepted]);
    let message = phone.message(
        vec![sync_of(vec![chunk_command("2", tail, None, false)])],
        true,
        false,
    );
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    assert_eq!(add_status(&reply), vec![StatusCode::SizeMismatch]);
    assert!(server.contacts().is_empty(), "no fragment is stored");
}

#[test]
fn a_new_item_before_the_last_chunk_abandons_the_large_object_with_alert_223() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let mut session = started(&mut server, &mut phone);
    let card = big_vcard();
    let (head, _) = card.split_at(3000);
    let commands = vec![
        chunk_command("1", head, Some(card.len() as u64), true),
        chunk_command("2", &vcard(2), None, false),
    ];
    let message = phone.message(vec![sync_of(commands)], true, false);
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    assert_eq!(
        add_status(&reply),
        vec![StatusCode::ChunkedItemAccepted, StatusCode::ItemAdded]
    );
    let alert = reply.message.body.commands.iter().find_map(|c| match c {
        Command::Alert(a) if a.data == Some(AlertCode::NoEndOfData) => Some(a),
        _ => None,
    });
    assert!(alert.is_some());
    assert_eq!(server.contacts().len(), 1);
}

#[test]
fn an_item_larger_than_a_message_goes_to_the_phone_in_chunks() {
    for encoding in [Encoding::Wbxml, Encoding::Xml] {
        let mut server = Server::new(ServerConfig::default());
        let card = big_vcard();
        server.add_contact(&card);
        server.add_contact(&vcard(1));
        let mut phone = Phone::new(Version::V1_1, encoding);
        phone.max_msg_size = 1500;
        let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed);
        assert!(outcome.chunks_received >= 4, "{}", outcome.chunks_received);
        assert!(outcome.replies.iter().all(|r| r.bytes.len() <= 1500));
        assert_eq!(phone.items.len(), 2);
        assert_eq!(phone.keys(), server.contact_keys());
        let photo = phone.items.values().find(|v| v.contains("PHOTO")).unwrap();
        // The photo arrives whole (folding aside).
        let unfolded: String = photo.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(unfolded.contains(&"ABCDEFGHIJKLMNOPQRSTUVWXYZ".repeat(200)));
        // Delivered and mapped once: nothing is sent again.
        let again = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(again.received.is_empty());
    }
}

#[test]
fn a_phone_without_large_object_support_does_not_get_chunks() {
    let mut server = Server::new(ServerConfig::default());
    server.add_contact(&big_vcard());
    server.add_contact(&vcard(1));
    let mut phone = Phone::new(Version::V1_0, Encoding::Wbxml);
    phone.max_msg_size = 1500;
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(outcome.chunks_received, 0);
    assert_eq!(phone.items.len(), 1, "the large one stays on the PC");
}

/// A chunk applied inside an Atomic that then fails is rolled back with it (the session's
/// copy for the rollback shares the object's buffer, it does not copy it): the phone sends
/// that chunk again and the object is assembled once, byte for byte.
#[test]
fn a_chunk_rolled_back_with_a_failed_atomic_is_not_kept_twice() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let mut session = started(&mut server, &mut phone);
    let card = big_vcard();
    let size = card.len() as u64;
    let (first, rest) = card.split_at(2000);
    let (second, last) = rest.split_at(2000);
    let send = |server: &mut Server, session: &mut Session, phone: &mut Phone, commands, final_| {
        let message = phone.message(vec![sync_of(commands)], final_, false);
        server
            .exchange(session, &encode(&message, Encoding::Wbxml))
            .unwrap()
    };
    let reply = send(
        &mut server,
        &mut session,
        &mut phone,
        vec![chunk_command("9", first, Some(size), true)],
        false,
    );
    assert_eq!(add_status(&reply), [StatusCode::ChunkedItemAccepted]);
    // The second chunk inside an Atomic whose other Add is refused: all of it rolls back.
    let atomic = Command::Atomic(handsync_proto::syncml::Container {
        commands: vec![
            chunk_command("9", second, None, true),
            item_command(false, "10", "not a vCard at all", "text/x-vcard"),
        ],
        ..Default::default()
    });
    let reply = send(&mut server, &mut session, &mut phone, vec![atomic], false);
    assert!(
        add_status(&reply).contains(&StatusCode::AtomicRollBackOk),
        "{:?}",
        add_status(&reply)
    );
    // Sent again, then the last chunk: one object, exactly the card.
    let reply = send(
        &mut server,
        &mut session,
        &mut phone,
        vec![chunk_command("9", second, None, true)],
        false,
    );
    assert_eq!(add_status(&reply), [StatusCode::ChunkedItemAccepted]);
    let reply = send(
        &mut server,
        &mut session,
        &mut phone,
        vec![chunk_command("9", last, None, false)],
        true,
    );
    assert_eq!(add_status(&reply), [StatusCode::ItemAdded]);
    let contacts = server.contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].raw, card.as_bytes());
}

#[test]
fn a_large_object_over_what_the_servers_budget_leaves_is_refused_and_kept() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let mut session = started(&mut server, &mut phone);
    let card = big_vcard();
    let size = card.len() as u64;
    let (head, _) = card.split_at(2000);
    assert_eq!(session.large_object_reserved(), 0);

    // Other sessions hold all but a little of the server's budget: this object does not fit.
    session.set_large_object_allowance(size - 1);
    let message = phone.message(
        vec![sync_of(vec![chunk_command("1", head, Some(size), true)])],
        false,
        false,
    );
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    assert_eq!(add_status(&reply), vec![StatusCode::RequestEntityTooLarge]);
    assert_eq!(
        session.large_object_reserved(),
        0,
        "nothing reserved for it"
    );
    let rejected = server.rejected_items();
    assert_eq!(rejected.len(), 1, "the first chunk is kept");
    assert!(
        rejected[0].reason.contains("leave room for"),
        "{}",
        rejected[0].reason
    );

    // With room again, the next object is taken and its declared size reserved.
    session.set_large_object_allowance(size);
    let message = phone.message(
        vec![sync_of(vec![chunk_command("2", head, Some(size), true)])],
        false,
        false,
    );
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    assert_eq!(add_status(&reply), vec![StatusCode::ChunkedItemAccepted]);
    assert_eq!(session.large_object_reserved(), size);
}
