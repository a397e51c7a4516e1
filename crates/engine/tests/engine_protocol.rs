//! Protocol details of single messages: header and references, DevInf, datastore names,
//! commands the engine does not support, NoResp.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod support;

use engine_phone::*;
use handsync_engine::{content, ServerConfig, Session, SessionParams};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{
    Alert, AlertCode, Anchor, Command, Data, Encoding, Exec, GetPut, ItemCommand, MetInf, Status,
    StatusCode,
};

fn sync_alert(target: &str, source: &str) -> Command {
    let mut alert_item = item(Some(target), Some(source));
    alert_item.meta = meta(MetInf {
        anchor: Some(Anchor {
            next: "1".into(),
            ..Anchor::default()
        }),
        ..MetInf::default()
    });
    Command::Alert(Alert {
        data: Some(AlertCode::TwoWay),
        items: vec![alert_item],
        ..Alert::default()
    })
}

fn status_of<'a>(message: &'a handsync_proto::syncml::Message, cmd: &str) -> Vec<&'a Status> {
    statuses(message)
        .into_iter()
        .filter(|s| s.cmd == cmd)
        .collect()
}

#[test]
fn devinf_get_is_answered_with_results_in_the_session_version() {
    for (version, uri) in [
        (Version::V1_0, "./devinf10"),
        (Version::V1_1, "./devinf11"),
        (Version::V1_2, "./devinf12"),
    ] {
        for encoding in [Encoding::Xml, Encoding::Wbxml] {
            let mut server = Server::new(ServerConfig::default());
            let mut session = server.session();
            let mut phone = Phone::new(version, encoding);
            let get = Command::Get(GetPut {
                meta: meta(MetInf::with_type(encoding.devinf_content_type())),
                items: vec![item(Some(uri), None)],
                ..GetPut::default()
            });
            let message = phone.message(vec![get], true, false);
            let reply = server
                .exchange(&mut session, &encode(&message, encoding))
                .unwrap();
            assert_eq!(status_of(&reply.message, "Get")[0].data, StatusCode::Ok);
            // As the phone reads it off the wire (the CTCap layout is the writer's).
            let received = handsync_proto::syncml::decode(&reply.bytes).unwrap();
            let results = received
                .body
                .commands
                .iter()
                .find_map(|c| match c {
                    Command::Results(r) => Some(r),
                    _ => None,
                })
                .expect("Results");
            assert_eq!(results.cmd_ref.as_deref(), Some("1"));
            let Some(Data::DevInf(devinf)) = &results.items[0].data else {
                panic!("no DevInf in Results");
            };
            assert_eq!(devinf.ver_dtd, version);
            assert_eq!(devinf.model.as_deref(), Some("PC Suite"));
            let types: Vec<&str> = devinf
                .data_stores
                .iter()
                .flat_map(|d| d.rx_pref.iter().chain(&d.rx))
                .map(|c| c.ct_type.as_str())
                .collect();
            for wanted in [
                "text/x-vcard",
                "text/vcard",
                "text/x-vcalendar",
                "text/calendar",
                "text/plain",
            ] {
                assert!(types.contains(&wanted), "{wanted} missing");
            }
            // CTCap for every type but plain text, in the layout of the version (inside each
            // datastore in 1.2, flat at DevInf level before), read back by our reader.
            let layout_1_2 = version == Version::V1_2;
            assert_eq!(devinf.ct_caps.is_empty(), layout_1_2, "{version:?}");
            for store in &devinf.data_stores {
                assert_eq!(store.ct_caps.is_empty(), !layout_1_2, "{version:?}");
                let caps = devinf.ct_caps_for(store);
                for wanted in store.rx_pref.iter().chain(&store.rx) {
                    if wanted.ct_type == "text/plain" {
                        continue;
                    }
                    let cap = caps
                        .iter()
                        .find(|c| c.ct_type == wanted.ct_type)
                        .unwrap_or_else(|| panic!("{version:?}: no CTCap for {}", wanted.ct_type));
                    let version_values = &cap
                        .properties
                        .iter()
                        .find(|p| p.name == "VERSION")
                        .expect("VERSION")
                        .val_enums;
                    assert_eq!(version_values.len(), 1);
                    assert_eq!(version_values.first(), wanted.ver_ct.as_ref());
                }
            }
            let vcard = devinf
                .data_stores
                .iter()
                .flat_map(|s| devinf.ct_caps_for(s))
                .find(|c| c.ct_type == "text/x-vcard")
                .unwrap();
            let tel = vcard.properties.iter().find(|p| p.name == "TEL").unwrap();
            let types = &tel
                .params
                .iter()
                .find(|p| p.name == "TYPE")
                .unwrap()
                .val_enums;
            assert!(types.iter().any(|t| t == "CELL"), "{tel:?}");
        }
    }
}

#[test]
fn the_phone_devinf_is_stored_and_drives_the_pim_layer() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.add(&vcard(1));
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
    let device = server.device_by_uri(&phone.device_uri).unwrap();
    assert_eq!(device.summary.manufacturer.as_deref(), Some("Nokia"));
    assert_eq!(device.summary.model.as_deref(), Some("6230i"));
    assert_eq!(device.summary.software_version.as_deref(), Some("V 03.88"));
    // The stored bytes decode back to the DevInf the phone sent.
    let (document, _) =
        handsync_proto::syncml::decode_document(device.devinf_raw.as_ref().unwrap()).unwrap();
    let handsync_proto::syncml::Document::DevInf(stored) = document else {
        panic!("not a DevInf");
    };
    assert_eq!(stored, phone.devinf());
    let pim_phone = content::phone_for(Some(&stored), Some("./contacts"));
    assert!(
        pim_phone
            .profile
            .matched
            .iter()
            .any(|m| m.to_lowercase().contains("nokia")),
        "{:?}",
        pim_phone.profile.matched
    );
}

#[test]
fn a_phone_without_devinf_is_asked_for_it() {
    let mut server = Server::new(ServerConfig::default());
    let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
    phone.send_devinf = false;
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    let asked = outcome.replies[0]
        .message
        .body
        .commands
        .iter()
        .any(|c| matches!(c, Command::Get(g) if g.items[0].target.as_ref().unwrap().loc_uri.as_str() == "./devinf12"));
    assert!(asked);
    let device = server.device_by_uri(&phone.device_uri).unwrap();
    assert_eq!(device.summary.model.as_deref(), Some("6230i"));
}

#[test]
fn header_ids_and_references_follow_the_specification() {
    let mut server = Server::new(ServerConfig::default());
    let mut session = Session::new(
        server.config.clone(),
        SessionParams {
            transport: "http".into(),
            resp_uri: Some("http://192.168.1.2:8080/sync?s=1".into()),
            seed: 1,
        },
    );
    let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
    phone.send_devinf = false;
    let first = phone.first_message(AlertCode::TwoWay);
    let reply = server
        .exchange(&mut session, &encode(&first, Encoding::Xml))
        .unwrap();
    let header = reply.message.header.as_ref().unwrap();
    assert_eq!(header.msg_id, 1);
    assert_eq!(
        header.session_id.as_str(),
        first.header.as_ref().unwrap().session_id.as_str()
    );
    assert_eq!(header.source.loc_uri.as_str(), "PC Suite");
    assert_eq!(
        header.resp_uri.as_deref(),
        Some("http://192.168.1.2:8080/sync?s=1")
    );
    assert_eq!(meta_of(&header.meta).unwrap().max_msg_size, Some(64 * 1024));
    // The header's status comes first; CmdIDs count up from 1 in each message.
    let status = header_status(&reply.message);
    assert_eq!((status.msg_ref, status.cmd_ref.as_str()), (1, "0"));
    let ids: Vec<u32> = reply
        .message
        .body
        .commands
        .iter()
        .map(|c| c.cmd_id().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (1..=ids.len() as u32).collect::<Vec<_>>());
    // The Alert's status refers to the Alert and carries the phone's Next anchor.
    let alert_status = status_of(&reply.message, "Alert")[0];
    assert_eq!(alert_status.cmd_ref.as_str(), "1");
    assert_eq!(alert_status.target_refs[0].as_str(), "Contacts");
    let Some(Data::MetInf(anchor)) = &alert_status.items[0].data else {
        panic!("no anchor in the Alert status");
    };
    assert_eq!(anchor.anchor.as_ref().unwrap().next.as_str(), "phone-1");

    // The second message: MsgID 2, references to message 2.
    let next = phone.message(vec![], true, false);
    let reply = server
        .exchange(&mut session, &encode(&next, Encoding::Xml))
        .unwrap();
    assert_eq!(reply.message.header.as_ref().unwrap().msg_id, 2);
    assert_eq!(header_status(&reply.message).msg_ref, 2);
}

#[test]
fn unknown_datastores_and_unsupported_commands_get_statuses() {
    let mut server = Server::new(ServerConfig::default());
    let mut session = server.session();
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let commands = vec![
        sync_alert("./mails", "./Inbox"),
        sync_alert("./contacts", "./EriPBDB"),
        Command::Exec(
            Exec {
                item: item(Some("./vendor/reboot"), None),
                ..Exec::default()
            }
            .into(),
        ),
        Command::Add(ItemCommand {
            items: vec![item(None, Some("1"))],
            ..ItemCommand::default()
        }),
    ];
    let message = phone.message(commands, true, false);
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    let alerts = status_of(&reply.message, "Alert");
    assert_eq!(alerts[0].data, StatusCode::NotFound);
    assert_eq!(
        alerts[1].data,
        StatusCode::RefreshRequired,
        "first sync of EriPBDB"
    );
    assert_eq!(
        status_of(&reply.message, "Exec")[0].data,
        StatusCode::OptionalFeatureNotSupported
    );
    assert_eq!(
        status_of(&reply.message, "Add")[0].data,
        StatusCode::CommandNotAllowed
    );
    // Every command got its status.
    assert_eq!(statuses(&reply.message).len(), 5);
}

#[test]
fn no_resp_commands_get_no_status() {
    let mut server = Server::new(ServerConfig::default());
    let mut session = server.session();
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let mut alert = sync_alert("Contacts", "./contacts");
    if let Command::Alert(a) = &mut alert {
        a.no_resp = true;
    }
    let message = phone.message(vec![alert], true, false);
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    assert!(status_of(&reply.message, "Alert").is_empty());
    assert_eq!(statuses(&reply.message).len(), 1);
}

#[test]
fn an_unsupported_protocol_version_gets_513_and_ends_the_session() {
    let mut server = Server::new(ServerConfig::default());
    let mut session = server.session();
    let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
    let mut message = phone.message(vec![sync_alert("Contacts", "./c")], true, false);
    message.header.as_mut().unwrap().ver_proto = "DM/1.2".into();
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Xml))
        .unwrap();
    assert_eq!(
        header_status(&reply.message).data,
        StatusCode::ProtocolVersionNotSupported
    );
    assert!(reply.session_finished);
}

fn add(luid: &str, text: &str) -> Command {
    let mut data_item = item(None, Some(luid));
    data_item.data = Some(Data::Text(text.to_string()));
    Command::Add(ItemCommand {
        meta: meta(MetInf::with_type("text/x-vcard")),
        items: vec![data_item],
        ..ItemCommand::default()
    })
}

#[test]
fn an_atomic_is_all_or_nothing() {
    use handsync_proto::syncml::{Container, Source, Sync, Target};
    let mut server = Server::new(ServerConfig::default());
    let mut session = server.session();
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let first = phone.first_message(AlertCode::SlowSync);
    server
        .exchange(&mut session, &encode(&first, Encoding::Wbxml))
        .unwrap();
    let sync = |commands: Vec<Command>| {
        Command::Sync(
            Sync {
                target: Some(Target::new("Contacts")),
                source: Some(Source::new("./contacts")),
                commands,
                ..Sync::default()
            }
            .into(),
        )
    };
    let atomic = |commands: Vec<Command>| {
        Command::Atomic(Container {
            commands,
            ..Container::default()
        })
    };
    let failing = atomic(vec![add("1", &vcard(1)), add("2", "not a vCard at all")]);
    let message = phone.message(vec![sync(vec![failing])], false, false);
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    assert_eq!(
        status_of(&reply.message, "Atomic")[0].data,
        StatusCode::AtomicFailed
    );
    let adds: Vec<StatusCode> = status_of(&reply.message, "Add")
        .iter()
        .map(|s| s.data)
        .collect();
    assert_eq!(
        adds,
        [
            StatusCode::AtomicRollBackOk,
            StatusCode::UnsupportedMediaType
        ]
    );
    assert!(server.contacts().is_empty(), "rolled back");

    let passing = atomic(vec![add("3", &vcard(3)), add("4", &vcard(4))]);
    let message = phone.message(vec![sync(vec![passing])], true, false);
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Wbxml))
        .unwrap();
    assert_eq!(status_of(&reply.message, "Atomic")[0].data, StatusCode::Ok);
    assert_eq!(server.contacts().len(), 2);
}

#[test]
fn guids_longer_than_the_phone_max_guid_size_are_not_sent() {
    let mut server = Server::new(ServerConfig::default());
    for n in 0..12 {
        server.add_contact(&vcard(n));
    }
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.max_guid_size = Some(1);
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    for reply in &outcome.replies {
        for command in all_commands(&reply.message) {
            if let Command::Add(add) = command {
                let guid = add.items[0].source.as_ref().unwrap().loc_uri.as_str();
                assert!(guid.len() <= 1, "{guid}");
            }
        }
    }
    assert_eq!(phone.items.len(), 9);
}

#[test]
fn a_sync_for_a_datastore_not_alerted_gets_404_for_it_and_each_command() {
    use handsync_proto::syncml::{Source, Sync, Target};
    let mut server = Server::new(ServerConfig::default());
    let mut session = server.session();
    let mut phone = Phone::new(Version::V1_1, Encoding::Xml);
    let sync = Command::Sync(
        Sync {
            target: Some(Target::new("Calendar")),
            source: Some(Source::new("./calendar")),
            commands: vec![add("1", &vcard(1)), add("2", &vcard(2))],
            ..Sync::default()
        }
        .into(),
    );
    let message = phone.message(
        vec![sync_alert("Contacts", "./contacts"), sync],
        true,
        false,
    );
    let reply = server
        .exchange(&mut session, &encode(&message, Encoding::Xml))
        .unwrap();
    assert_eq!(
        status_of(&reply.message, "Sync")[0].data,
        StatusCode::NotFound
    );
    let adds: Vec<StatusCode> = status_of(&reply.message, "Add")
        .iter()
        .map(|s| s.data)
        .collect();
    assert_eq!(adds, [StatusCode::NotFound, StatusCode::NotFound]);
    assert!(server.contacts().is_empty());
}

/// A phone that sends its vCards in base64 (Meta Format b64) has them read, and gets ours in
/// base64 with Format b64 too; one that sends plain text gets plain text.
#[test]
fn base64_vcards_are_read_and_answered_in_base64() {
    for sends_b64 in [true, false] {
        let mut server = Server::new(ServerConfig::default());
        server.add_contact(&vcard(7));
        let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
        phone.sends_b64 = sends_b64;
        phone.add(&vcard(1));
        let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
        assert!(outcome.completed);
        assert_eq!(outcome.change_statuses, [StatusCode::ItemAdded]);
        assert_eq!(phone.keys(), server.contact_keys());
        let format = sends_b64.then(|| "b64".to_string());
        assert_eq!(
            phone.received_meta,
            [("text/x-vcard".to_string(), format)],
            "sends_b64: {sends_b64}"
        );
        assert!(phone.items.values().all(|v| v.starts_with("BEGIN:VCARD")));
    }
}

/// Our DevInf with its CTCaps is about 19 KB of XML: a phone announcing a smaller MaxMsgSize
/// gets it without CTCap (optional), within its limit; a roomier one gets the CTCaps.
#[test]
fn our_devinf_leaves_out_its_ctcap_rather_than_exceed_the_max_msg_size() {
    for (encoding, max_msg_size) in [
        (Encoding::Xml, 10_240u64),
        (Encoding::Xml, 64 * 1024),
        (Encoding::Wbxml, 2_000),
        (Encoding::Wbxml, 64 * 1024),
    ] {
        let mut server = Server::new(ServerConfig::default());
        let mut session = server.session();
        let mut phone = Phone::new(Version::V1_2, encoding);
        phone.max_msg_size = max_msg_size;
        let get = Command::Get(GetPut {
            meta: meta(MetInf::with_type(encoding.devinf_content_type())),
            items: vec![item(Some("./devinf12"), None)],
            ..GetPut::default()
        });
        let message = phone.message(vec![get], true, false);
        let reply = server
            .exchange(&mut session, &encode(&message, encoding))
            .unwrap();
        assert!(
            reply.bytes.len() as u64 <= max_msg_size,
            "{encoding:?} at {max_msg_size}"
        );
        let received = handsync_proto::syncml::decode(&reply.bytes).unwrap();
        let devinf = received
            .body
            .commands
            .iter()
            .find_map(|c| match c {
                Command::Results(r) => match &r.items[0].data {
                    Some(Data::DevInf(d)) => Some(d.clone()),
                    _ => None,
                },
                _ => None,
            })
            .expect("Results with our DevInf");
        let with_ctcap = devinf.data_stores.iter().any(|s| !s.ct_caps.is_empty());
        assert_eq!(
            with_ctcap,
            max_msg_size > 20_000,
            "{encoding:?} at {max_msg_size}"
        );
        assert_eq!(devinf.data_stores.len(), 4);
    }
}
