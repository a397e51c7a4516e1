//! Packages over several messages: the phone's MaxMsgSize, measured in the encoding used.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod support;

use engine_phone::*;
use handsync_engine::ServerConfig;
use handsync_proto::markup::Version;
use handsync_proto::syncml::{AlertCode, Command, Encoding};

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
