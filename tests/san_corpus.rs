//! The SANs of the shared corpus (buteo-syncml's test data, "PC Suite Data Sync"), read at
//! run time: decoded to their fields, re-encoded byte for byte, digests verified.

mod support;

use handsync::syncml::san::{self, Initiator, San, SyncType, UiMode, VERSION_1_2};

fn corpus_file(name: &str) -> Vec<u8> {
    support::corpus_file(&format!("obex/{name}"))
}

fn check(file: &str, server_uri: &str) {
    let bytes = corpus_file(file);
    let decoded = San::decode(&bytes).expect("corpus SAN decodes");
    assert_eq!(decoded.header.version, VERSION_1_2);
    assert_eq!(decoded.header.ui_mode, UiMode::Background);
    assert_eq!(decoded.header.initiator, Initiator::Server);
    assert_eq!(decoded.header.future_use, 0);
    assert_eq!(decoded.header.session_id, 0);
    assert_eq!(decoded.header.server_identifier, "PC Suite Data Sync");
    assert_eq!(decoded.syncs.len(), 1);
    let sync = &decoded.syncs[0];
    assert_eq!(sync.sync_type, SyncType::TwoWay);
    assert_eq!(sync.sync_type.alert_code(), 206);
    assert_eq!(
        sync.content_type, 0,
        "no content type: the data store decides"
    );
    assert_eq!(sync.server_uri, server_uri);
    assert!(decoded.vendor_specific.is_empty());

    assert_eq!(
        decoded.encode().expect("re-encodes"),
        bytes,
        "byte for byte"
    );
    // The digest was made with an empty password and nonce.
    assert_eq!(San::verify_digest(&bytes, b"", b""), Ok(true));
    assert_eq!(San::verify_digest(&bytes, b"wrong", b""), Ok(false));
    let mut rebuilt = San::new("PC Suite Data Sync", 0, decoded.syncs.clone());
    assert_eq!(rebuilt.encode_signed(b"", b"").expect("encodes"), bytes);

    let text = san::describe(&bytes);
    assert!(text.contains("version: 1.2"), "{text}");
    assert!(
        text.contains("server identifier: \"PC Suite Data Sync\""),
        "{text}"
    );
    assert!(
        text.contains(&format!("server URI \"{server_uri}\"")),
        "{text}"
    );
    assert!(text.contains("206 (TwoWay)"), "{text}");
}

#[test]
fn san01_contacts() {
    check("buteo-SAN01.bin", "Contacts");
}

#[test]
fn san02_calendar() {
    check("buteo-SAN02.bin", "Calendar");
}
