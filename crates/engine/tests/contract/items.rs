//! Items one by one: each item of an Add, Replace or Delete gets its own outcome (one Status
//! per distinct code, naming the items it covers), a bad item costs only itself, and what the
//! engine refuses is kept in the store with its bytes.

use crate::engine_phone::*;
use handsync_engine::storage::{Datastore, StoredRejection, Timestamp};
use handsync_engine::{Reply, ServerConfig, Session};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{
    AlertCode, Command, Container, Data, Delete, Encoding, Item as SyncItem, ItemCommand, MetInf,
    Source, StatusCode, Sync, Target,
};

const NOT_A_VCARD: &str = "not a vCard at all";

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

/// An item naming `luid` (as its Source), carrying `data`.
fn data_item(luid: Option<&str>, data: Option<Data>) -> SyncItem {
    let mut one = item(None, luid);
    one.data = data;
    one
}

fn text(data: &str) -> Option<Data> {
    Some(Data::Text(data.to_string()))
}

fn items_command(replace: bool, items: Vec<SyncItem>) -> Command {
    let command = ItemCommand {
        meta: meta(MetInf::with_type("text/x-vcard")),
        items,
        ..ItemCommand::default()
    };
    if replace {
        Command::Replace(command)
    } else {
        Command::Add(command)
    }
}

/// The statuses answering `cmd` commands: code, SourceRefs, TargetRefs.
fn statuses_of(reply: &Reply, cmd: &str) -> Vec<(StatusCode, Vec<String>, Vec<String>)> {
    statuses(&reply.message)
        .into_iter()
        .filter(|s| s.cmd == cmd)
        .map(|s| {
            (
                s.data,
                s.source_refs.iter().map(|r| r.to_string()).collect(),
                s.target_refs.iter().map(|r| r.to_string()).collect(),
            )
        })
        .collect()
}

fn refs(luids: &[&str]) -> Vec<String> {
    luids.iter().map(|l| l.to_string()).collect()
}

/// Refused items as the store lists them, oldest first.
fn rejected(server: &mut Server) -> Vec<StoredRejection> {
    let mut items = server.rejected_items();
    items.reverse();
    items
}

/// Starts a session asking for `mode` and answers package 2.
fn started(server: &mut Server, phone: &mut Phone, mode: AlertCode) -> (Session, Reply) {
    let mut session = server.session();
    let first = phone.first_message(mode);
    let reply = server
        .exchange(&mut session, &encode(&first, phone.encoding))
        .unwrap();
    (session, reply)
}

fn send(
    server: &mut Server,
    session: &mut Session,
    phone: &mut Phone,
    commands: Vec<Command>,
) -> Reply {
    let message = phone.message(commands, true, false);
    server
        .exchange(session, &encode(&message, phone.encoding))
        .unwrap()
}

/// A phone that synced `cards` once: the server holds them, mapped to LUIDs "1", "2"...
fn synced_phone(server: &mut Server, cards: &[String]) -> Phone {
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    for card in cards {
        phone.add(card);
    }
    assert!(phone.sync(server, AlertCode::TwoWay, None).completed);
    assert_eq!(server.contacts().len(), cards.len());
    phone
}

#[test]
fn a_bad_item_costs_only_itself_and_is_kept_with_its_bytes() {
    for encoding in [Encoding::Xml, Encoding::Wbxml] {
        let mut server = Server::new(ServerConfig::default());
        let mut phone = Phone::new(Version::V1_2, encoding);
        let (mut session, _) = started(&mut server, &mut phone, AlertCode::SlowSync);
        let add = items_command(
            false,
            vec![
                data_item(Some("1"), text(&vcard(1))),
                data_item(Some("2"), text(NOT_A_VCARD)),
                data_item(Some("3"), text(&vcard(3))),
                data_item(None, text(&vcard(4))),
                data_item(Some("5"), None),
            ],
        );
        let reply = send(
            &mut server,
            &mut session,
            &mut phone,
            vec![sync_of(vec![add])],
        );

        assert_eq!(
            statuses_of(&reply, "Add"),
            [
                (StatusCode::ItemAdded, refs(&["1", "3"]), vec![]),
                (StatusCode::UnsupportedMediaType, refs(&["2"]), vec![]),
                (StatusCode::BadRequest, vec![], vec![]),
                (StatusCode::IncompleteCommand, refs(&["5"]), vec![]),
            ],
            "{encoding:?}"
        );
        let mut expected = vec![identity_key(&vcard(1)), identity_key(&vcard(3))];
        expected.sort();
        assert_eq!(server.contact_keys(), expected);

        let kept = rejected(&mut server);
        assert_eq!(kept.len(), 3, "{kept:#?}");
        let unreadable = &kept[0];
        assert_eq!(unreadable.luid.as_deref(), Some("2"));
        assert_eq!(unreadable.raw, NOT_A_VCARD.as_bytes());
        assert_eq!(unreadable.status, 415);
        assert!(
            unreadable.reason.starts_with("not a vCard"),
            "{}",
            unreadable.reason
        );
        assert_eq!(unreadable.datastore, Some(Datastore::Contacts));
        assert_eq!(unreadable.device_datastore, "./contacts");
        assert_eq!(unreadable.command, "Add");
        assert_eq!(unreadable.content_type, "text/x-vcard");
        assert_eq!(unreadable.session, session.store_session());
        assert_eq!(unreadable.device, session.device().unwrap());
        assert_eq!(unreadable.received_at, Timestamp(server.now));

        let nameless = &kept[1];
        assert_eq!(nameless.luid, None);
        assert_eq!(nameless.raw, vcard(4).as_bytes());
        assert_eq!(nameless.status, 400);
        assert!(nameless.reason.contains("no LUID"), "{}", nameless.reason);

        let empty = &kept[2];
        assert_eq!(empty.luid.as_deref(), Some("5"));
        assert!(empty.raw.is_empty());
        assert_eq!(empty.status, 412);
        assert!(empty.reason.contains("no data"), "{}", empty.reason);
    }
}

#[test]
fn items_with_one_outcome_share_one_status() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_1, Encoding::Xml);
    let (mut session, _) = started(&mut server, &mut phone, AlertCode::SlowSync);
    let add = items_command(
        false,
        (1..=3)
            .map(|n| data_item(Some(&n.to_string()), text(&vcard(n))))
            .collect(),
    );
    let reply = send(
        &mut server,
        &mut session,
        &mut phone,
        vec![sync_of(vec![add])],
    );
    assert_eq!(
        statuses_of(&reply, "Add"),
        [(StatusCode::ItemAdded, refs(&["1", "2", "3"]), vec![])]
    );
    assert_eq!(server.contacts().len(), 3);
    assert!(rejected(&mut server).is_empty());
}

#[test]
fn a_replace_with_mixed_outcomes_answers_each_item() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = synced_phone(&mut server, &[vcard(1), vcard(2)]);
    let (mut session, reply) = started(&mut server, &mut phone, AlertCode::TwoWay);
    assert_eq!(
        statuses_of(&reply, "Alert")[0].0,
        StatusCode::Ok,
        "a fast sync"
    );

    let edited = vcard(1).replace("+4917000", "+4930111");
    // Not UTF-8 and no END: a phone's broken Latin-1 record, sent as WBXML opaque data.
    let broken: &[u8] = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:M\xfcller;J\xf6rg\r\n";
    let replace = items_command(
        true,
        vec![
            data_item(Some("1"), text(&edited)),
            data_item(Some("2"), Some(Data::Binary(broken.to_vec()))),
            data_item(Some("7"), text(&vcard(7))),
        ],
    );
    let reply = send(
        &mut server,
        &mut session,
        &mut phone,
        vec![sync_of(vec![replace])],
    );
    let answered = statuses_of(&reply, "Replace");
    assert_eq!(answered.len(), 3, "{answered:?}");
    assert_eq!(answered[0], (StatusCode::Ok, refs(&["1"]), vec![]));
    assert_eq!(
        answered[1],
        (StatusCode::UnsupportedMediaType, refs(&["2"]), vec![])
    );
    // An item the PC does not hold under that LUID is added.
    assert_eq!(answered[2], (StatusCode::ItemAdded, refs(&["7"]), vec![]));

    let mut expected = vec![
        identity_key(&edited),
        identity_key(&vcard(2)),
        identity_key(&vcard(7)),
    ];
    expected.sort();
    assert_eq!(server.contact_keys(), expected, "item 2 kept as it was");

    let kept = rejected(&mut server);
    assert_eq!(kept.len(), 1, "{kept:#?}");
    assert_eq!(kept[0].luid.as_deref(), Some("2"));
    assert_eq!(kept[0].command, "Replace");
    assert_eq!(
        kept[0].raw, broken,
        "the bytes exactly as the phone sent them"
    );
    assert_eq!(kept[0].status, 415);
}

#[test]
fn a_delete_answers_each_item() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = synced_phone(&mut server, &[vcard(1), vcard(2)]);
    let (mut session, _) = started(&mut server, &mut phone, AlertCode::TwoWay);
    let delete = Command::Delete(Delete {
        items: vec![
            item(None, Some("1")),
            item(None, Some("99")),
            item(None, None),
        ],
        ..Delete::default()
    });
    let reply = send(
        &mut server,
        &mut session,
        &mut phone,
        vec![sync_of(vec![delete])],
    );
    assert_eq!(
        statuses_of(&reply, "Delete"),
        [
            (StatusCode::Ok, refs(&["1"]), vec![]),
            (StatusCode::ItemNotDeleted, refs(&["99"]), vec![]),
            (StatusCode::BadRequest, vec![], vec![]),
        ]
    );
    assert_eq!(server.contact_keys(), [identity_key(&vcard(2))]);
    assert!(rejected(&mut server).is_empty(), "a delete carries no data");
}

#[test]
fn an_item_refused_inside_a_failed_atomic_is_still_kept() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let (mut session, _) = started(&mut server, &mut phone, AlertCode::SlowSync);
    let atomic = Command::Atomic(Container {
        commands: vec![
            items_command(false, vec![data_item(Some("1"), text(&vcard(1)))]),
            items_command(false, vec![data_item(Some("2"), text(NOT_A_VCARD))]),
        ],
        ..Container::default()
    });
    let reply = send(
        &mut server,
        &mut session,
        &mut phone,
        vec![sync_of(vec![atomic])],
    );
    assert_eq!(statuses_of(&reply, "Atomic")[0].0, StatusCode::AtomicFailed);
    assert!(server.contacts().is_empty(), "rolled back");
    let kept = rejected(&mut server);
    assert_eq!(kept.len(), 1, "{kept:#?}");
    assert_eq!(kept[0].raw, NOT_A_VCARD.as_bytes());
}

#[test]
fn changes_a_sync_mode_does_not_take_are_kept() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
    let (mut session, reply) = started(&mut server, &mut phone, AlertCode::RefreshFromServer);
    assert_eq!(statuses_of(&reply, "Alert")[0].0, StatusCode::Ok);
    let add = items_command(false, vec![data_item(Some("1"), text(&vcard(1)))]);
    let reply = send(
        &mut server,
        &mut session,
        &mut phone,
        vec![sync_of(vec![add])],
    );
    assert_eq!(
        statuses_of(&reply, "Add")[0].0,
        StatusCode::CommandNotAllowed
    );
    assert!(server.contacts().is_empty());
    let kept = rejected(&mut server);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].raw, vcard(1).as_bytes());
    assert_eq!(kept[0].status, 405);
    assert!(kept[0].reason.contains("sync mode"), "{}", kept[0].reason);
}

#[test]
fn a_large_object_never_finished_is_kept_as_far_as_it_came() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let (mut session, _) = started(&mut server, &mut phone, AlertCode::SlowSync);
    let card = vcard(1);
    let (head, _) = card.split_at(20);
    let mut first_chunk = data_item(Some("1"), text(head));
    first_chunk.more_data = true;
    first_chunk.meta = meta(MetInf {
        size: Some(card.len() as u64),
        ..MetInf::default()
    });
    let message = phone.message(
        vec![sync_of(vec![items_command(false, vec![first_chunk])])],
        false,
        false,
    );
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    assert_eq!(
        statuses_of(&reply, "Add")[0].0,
        StatusCode::ChunkedItemAccepted
    );
    assert!(rejected(&mut server).is_empty(), "still coming");

    // Another item before the last chunk: the first is abandoned (Alert 223), not lost.
    let next = items_command(false, vec![data_item(Some("2"), text(&vcard(2)))]);
    let reply = send(
        &mut server,
        &mut session,
        &mut phone,
        vec![sync_of(vec![next])],
    );
    assert_eq!(statuses_of(&reply, "Add")[0].0, StatusCode::ItemAdded);
    let kept = rejected(&mut server);
    assert_eq!(kept.len(), 1, "{kept:#?}");
    assert_eq!(kept[0].luid.as_deref(), Some("1"));
    assert_eq!(kept[0].raw, head.as_bytes());
    assert_eq!(kept[0].status, 223);
    assert!(
        kept[0]
            .reason
            .contains(&format!("20 of {} bytes", card.len())),
        "{}",
        kept[0].reason
    );
}

/// `Meta Format b64` on an item (as Windows Mobile and some Nokia clients send): the data is
/// decoded before it is read, line breaks and all; data that is not base64 is refused with
/// 415 and kept as it came.
#[test]
fn base64_items_are_decoded_and_bad_base64_is_refused() {
    use base64::Engine as _;
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
    let (mut session, _) = started(&mut server, &mut phone, AlertCode::SlowSync);
    let encoded = base64::engine::general_purpose::STANDARD.encode(vcard(7));
    let wrapped: String = encoded
        .as_bytes()
        .chunks(60)
        .map(|line| format!("{}\r\n", String::from_utf8_lossy(line)))
        .collect();
    let in_b64 = |mut one: SyncItem| {
        one.meta = meta(MetInf {
            format: Some("b64".into()),
            ..MetInf::default()
        });
        one
    };
    let add = items_command(
        false,
        vec![
            in_b64(data_item(Some("1"), text(&wrapped))),
            in_b64(data_item(Some("2"), text("**not base64**"))),
        ],
    );
    let reply = send(
        &mut server,
        &mut session,
        &mut phone,
        vec![sync_of(vec![add])],
    );
    assert_eq!(
        statuses_of(&reply, "Add"),
        vec![
            (StatusCode::ItemAdded, refs(&["1"]), vec![]),
            (StatusCode::UnsupportedMediaType, refs(&["2"]), vec![]),
        ]
    );
    let contacts = server.contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].identity_key, Some(identity_key(&vcard(7))));
    let kept = rejected(&mut server);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].raw, b"**not base64**");
    assert_eq!(kept[0].status, 415);
}
