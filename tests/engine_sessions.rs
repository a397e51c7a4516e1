//! Full SyncML sessions between a scripted phone and the engine, on a real (in-memory) store.

mod engine_phone;
mod support;

use engine_phone::*;
use handsync::engine::ServerConfig;
use handsync::markup::Version;
use handsync::syncml::{AlertCode, Encoding, StatusCode};

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
    assert!(outcome.received.is_empty(), "nothing to send back: {:?}", outcome.received);

    // The next sync is a fast one with nothing to do.
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(outcome.alert_status, Some(StatusCode::Ok));
    assert_eq!(outcome.server_alert, Some(AlertCode::TwoWay));
    assert!(outcome.received.is_empty());
    assert_eq!(server.contacts().len(), cards.len());
}
