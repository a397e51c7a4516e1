//! The SyncML HTTP binding end to end: the scripted phone POSTs to a running daemon (hub
//! thread, hyper, a database file), every answer read by a small independent HTTP client.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod http_support;
mod support;

use std::time::Duration;

use engine_phone::*;
use handsync::engine::{AuthPolicy, ServerConfig};
use handsync::markup::Version;
use handsync::store::{Datastore, SessionResult, Timestamp};
use handsync::syncml::{self, AlertCode, Encoding, StatusCode};
use http_support::*;

const IDLE: Duration = Duration::from_secs(300);

fn versions() -> [Version; 3] {
    [Version::V1_0, Version::V1_1, Version::V1_2]
}

#[test]
fn every_sync_mode_over_http_in_both_encodings_and_all_versions() {
    for version in versions() {
        for encoding in [Encoding::Xml, Encoding::Wbxml] {
            let label = format!("{version:?} {encoding:?}");
            let mut wire = HttpWire::start(
                &format!("modes-{version:?}-{encoding:?}"),
                ServerConfig::default(),
                IDLE,
            );
            let pc_guid = wire.server.add_contact(&vcard(100));
            let mut phone = Phone::new(version, encoding);
            let edited = phone.add(&vcard(1));
            let doomed = phone.add(&vcard(2));

            // First sync: slow, both sides end with both sides' items.
            let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
            assert!(outcome.completed, "{label}");
            assert_eq!(outcome.server_alert, Some(AlertCode::SlowSync), "{label}");
            assert_eq!(wire.server.contacts().len(), 3, "{label}");
            assert_eq!(phone.keys(), wire.server.contact_keys(), "{label}");

            // Two-way with changes on both sides.
            wire.server
                .replace_contact(pc_guid, &vcard(100).replace("Test Person100", "Pc Edit"));
            phone.edit(&edited, &vcard(1).replace("Test Person1", "Phone Edit"));
            phone.remove(&doomed);
            let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
            assert!(outcome.completed, "{label}");
            assert_eq!(outcome.server_alert, Some(AlertCode::TwoWay), "{label}");
            assert_eq!(wire.server.contacts().len(), 2, "{label}");
            assert_eq!(phone.keys(), wire.server.contact_keys(), "{label}");

            // One-way from client: the PC takes the phone's new item, sends nothing back.
            wire.server.add_contact(&vcard(101));
            phone.add(&vcard(3));
            let outcome = phone.sync(&mut wire, AlertCode::OneWayFromClient, None);
            assert!(outcome.completed, "{label}");
            assert!(outcome.received.is_empty(), "{label}");
            assert_eq!(wire.server.contacts().len(), 4, "{label}");

            // Refresh from server: the phone ends with exactly the PC's items.
            let outcome = phone.sync(&mut wire, AlertCode::RefreshFromServer, None);
            assert!(outcome.completed, "{label}");
            assert_eq!(phone.keys(), wire.server.contact_keys(), "{label}");

            // Refresh from client: the PC ends with exactly the phone's items.
            let only = phone.keys().len();
            let outcome = phone.sync(&mut wire, AlertCode::RefreshFromClient, None);
            assert!(outcome.completed, "{label}");
            assert_eq!(wire.server.contacts().len(), only, "{label}");

            wire.stop();
            let sessions = wire.server.store.read(|tx| tx.sessions(None, 100)).unwrap();
            assert_eq!(sessions.len(), 5, "{label}");
            assert!(
                sessions
                    .iter()
                    .all(|s| s.result == SessionResult::Completed && s.transport == "http"),
                "{label}: {sessions:?}"
            );
        }
    }
}

#[test]
fn clients_that_ignore_resp_uri_are_matched_by_session_id_and_device() {
    let mut wire = HttpWire::start("no-respuri", ServerConfig::default(), IDLE);
    wire.follow_resp_uri = false;
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    for n in 0..20 {
        phone.add(&vcard(n));
    }
    phone.max_msg_size = 2000;
    phone.items_per_message = 4;
    let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert!(outcome.messages_sent > 3);
    assert_eq!(wire.server.contacts().len(), 20);

    // Two phones at once on the same URL stay apart.
    let mut other = Phone::new(Version::V1_2, Encoding::Xml);
    other.device_uri = "IMEI:350000000000002".into();
    other.add(&vcard(50));
    let mut first = wire.open();
    let mut second = wire.open();
    let hello = phone.first_message(AlertCode::TwoWay);
    let hello_other = other.first_message(AlertCode::SlowSync);
    let reply_one = wire
        .send(&mut first, &encode(&hello, Encoding::Wbxml))
        .unwrap();
    let reply_two = wire
        .send(&mut second, &encode(&hello_other, Encoding::Xml))
        .unwrap();
    let target_one = &reply_one.message.header.as_ref().unwrap().target.loc_uri;
    let target_two = &reply_two.message.header.as_ref().unwrap().target.loc_uri;
    assert_eq!(target_one.as_str(), phone.device_uri.as_str());
    assert_eq!(target_two.as_str(), "IMEI:350000000000002");
}

/// Behind a reverse proxy terminating TLS, the RespURI says https when, and only when, a
/// trusted proxy says the phone came over HTTPS: else the phone would send the rest of its
/// session in clear to port 80.
#[test]
fn resp_uri_is_https_when_a_trusted_proxy_says_the_phone_came_so() {
    let resp_uri = |wire: &HttpWire, proto: &str| {
        let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
        let hello = encode(&phone.first_message(AlertCode::TwoWay), Encoding::Xml);
        let forwarded = format!("X-Forwarded-Proto: {proto}");
        let response = request_with(
            wire.address,
            "POST",
            "/sync",
            Some("application/vnd.syncml+xml"),
            &[&forwarded, "X-Forwarded-For: 198.51.100.7"],
            &hello,
        );
        assert_eq!(response.status, 200, "{}", response.text());
        let message = syncml::decode(&response.body).unwrap();
        message.header.unwrap().resp_uri.unwrap()
    };
    let trusted =
        handsync::transport::http::client::TrustedProxies(vec!["127.0.0.1/32".parse().unwrap()]);
    let behind = HttpWire::start_trusting("respuri-proxy", ServerConfig::default(), IDLE, trusted);
    let host = behind.address;
    assert!(resp_uri(&behind, "https").starts_with(&format!("https://{host}/sync?sessionid=")));
    assert!(resp_uri(&behind, "http").starts_with(&format!("http://{host}/sync?sessionid=")));
    // Anybody else's header is not believed.
    let open = HttpWire::start("respuri-no-proxy", ServerConfig::default(), IDLE);
    let host = open.address;
    assert!(resp_uri(&open, "https").starts_with(&format!("http://{host}/sync?sessionid=")));
}

#[test]
fn resp_uri_names_the_session_and_keeps_the_client_host() {
    let wire = HttpWire::start("respuri", ServerConfig::default(), IDLE);
    let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
    let hello = phone.first_message(AlertCode::TwoWay);
    let response = post_syncml(wire.address, "/sync?user=x", &encode(&hello, Encoding::Xml));
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let message = syncml::decode(&response.body).unwrap();
    let resp_uri = message.header.as_ref().unwrap().resp_uri.clone().unwrap();
    let prefix = format!("http://{}/sync?user=x&sessionid=", wire.address);
    assert!(resp_uri.starts_with(&prefix), "{resp_uri}");
    assert_eq!(resp_uri.len(), prefix.len() + 16, "{resp_uri}");
}

#[test]
fn md5_and_basic_authentication_over_http_including_wrong_credentials() {
    for (policy, auth) in [
        (AuthPolicy::Md5, Auth::Md5),
        (AuthPolicy::Basic, Auth::Basic),
    ] {
        let mut config = ServerConfig::default();
        config.auth_by_transport.insert("http".into(), policy);
        let mut wire = HttpWire::start(&format!("auth-{policy:?}"), config, IDLE);
        wire.server
            .store
            .transaction(|tx| tx.add_account("anna", "s3cret", Timestamp(0)))
            .unwrap();

        let mut intruder = Phone::new(Version::V1_1, Encoding::Wbxml);
        intruder.credentials = Some(("anna".into(), "guess".into(), auth));
        intruder.add(&vcard(9));
        let outcome = intruder.sync(&mut wire, AlertCode::TwoWay, None);
        assert!(!outcome.completed);
        assert!(outcome
            .header_codes
            .iter()
            .all(|c| *c == StatusCode::InvalidCredentials));
        assert!(
            wire.server.contacts().is_empty(),
            "nothing from a refused phone"
        );

        let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
        phone.credentials = Some(("anna".into(), "s3cret".into(), auth));
        phone.add(&vcard(1));
        let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
        assert!(outcome.completed, "{policy:?}: {:?}", outcome.header_codes);
        assert!(outcome
            .header_codes
            .contains(&StatusCode::AuthenticationAccepted));
        assert_eq!(wire.server.contacts().len(), 1);
    }
}

#[test]
fn three_hundred_contacts_in_1500_byte_messages_over_http() {
    let mut wire = HttpWire::start("packages", ServerConfig::default(), IDLE);
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.max_msg_size = 1500;
    phone.items_per_message = 3;
    phone.send_devinf = false;
    for n in 0..300 {
        phone.add(&vcard(n));
    }
    assert!(phone.sync(&mut wire, AlertCode::TwoWay, None).completed);
    assert_eq!(wire.server.contacts().len(), 300);

    let mut other = Phone::new(Version::V1_2, Encoding::Xml);
    other.device_uri = "IMEI:350000000000002".into();
    other.max_msg_size = 1500;
    other.send_devinf = false;
    let outcome = other.sync(&mut wire, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(other.keys(), wire.server.contact_keys());
    assert!(outcome.replies.iter().all(|r| r.bytes.len() <= 1500));
    assert!(outcome.replies.iter().filter(|r| !r.is_final).count() > 20);
}

fn cut_setup(wire: &mut HttpWire) -> Phone {
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.max_msg_size = 1500;
    phone.items_per_message = 2;
    for n in 3..9 {
        phone.add(&vcard(n));
    }
    for n in 0..5 {
        wire.server.add_contact(&vcard(n));
    }
    phone
}

#[test]
fn a_session_cut_after_any_message_converges_in_the_next_one() {
    let mut wire = HttpWire::start("cuts-full", ServerConfig::default(), IDLE);
    let mut phone = cut_setup(&mut wire);
    let full = phone.sync(&mut wire, AlertCode::TwoWay, None);
    assert!(full.completed);
    assert!(full.messages_sent >= 5, "{}", full.messages_sent);
    for cut in 1..=full.messages_sent {
        let mut wire = HttpWire::start(&format!("cuts-{cut}"), ServerConfig::default(), IDLE);
        let mut phone = cut_setup(&mut wire);
        let outcome = phone.sync(&mut wire, AlertCode::TwoWay, Some(cut));
        assert!(!outcome.completed || cut == full.messages_sent, "cut {cut}");
        // The cut session is still open in the daemon (HTTP has no hang-up); the phone's
        // new session (MsgID 1, a new SessionID) goes on beside it.
        let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
        assert!(outcome.completed, "after cut {cut}");
        assert_eq!(
            wire.server.contacts().len(),
            9,
            "cut after {cut}: no loss, no duplicate"
        );
        assert_eq!(phone.keys(), wire.server.contact_keys(), "cut after {cut}");
        let again = phone.sync(&mut wire, AlertCode::TwoWay, None);
        assert!(
            again.completed && again.received.is_empty(),
            "cut after {cut}"
        );
    }
}

#[test]
fn garbage_gets_400_and_leaves_the_session_as_it_was() {
    let wire = HttpWire::start("garbage", ServerConfig::default(), IDLE);
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    let hello = phone.first_message(AlertCode::TwoWay);
    let bytes = encode(&hello, Encoding::Wbxml);
    let response = post_syncml(wire.address, "/sync", &bytes);
    assert_eq!(response.status, 200);
    let reply = syncml::decode(&response.body).unwrap();
    let session_path = path_of(reply.header.as_ref().unwrap().resp_uri.as_deref().unwrap());

    for bad in [
        &bytes[..bytes.len() / 2],
        b"\x02\x9f\x53\x6a\xff\xff".as_slice(),
        b"",
    ] {
        let response = post_syncml(wire.address, &session_path, bad);
        assert_eq!(response.status, 400, "{}", response.text());
        assert!(response.text().contains("unreadable SyncML message"));
    }
    let response = request(
        wire.address,
        "POST",
        &session_path,
        Some("application/vnd.syncml+xml"),
        b"<SyncML><SyncHdr><VerDTD>1.2",
    );
    assert_eq!(response.status, 400);
    assert!(
        response.text().contains("line 1, column"),
        "the position is named: {}",
        response.text()
    );
    // The session still answers its next message.
    let mut next = hello.clone();
    next.header.as_mut().unwrap().msg_id = 2;
    let response = post_syncml(wire.address, &session_path, &encode(&next, Encoding::Wbxml));
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn http_level_errors_are_precise() {
    let wire = HttpWire::start("http-errors", ServerConfig::default(), IDLE);
    let response = request(wire.address, "GET", "/", None, b"");
    assert_eq!(response.status, 200);
    assert!(response.text().contains("POST SyncML messages"));

    let response = request(wire.address, "PUT", "/sync", None, b"x");
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("POST, GET, HEAD"));

    let response = request(wire.address, "POST", "/sync", Some("text/plain"), b"x");
    assert_eq!(response.status, 415);
    assert!(response.text().contains("`text/plain`"));

    let huge = vec![b' '; 64 * 1024 + 16 * 1024 + 1];
    let response = request(
        wire.address,
        "POST",
        "/sync",
        Some("application/vnd.syncml+xml"),
        &huge,
    );
    assert_eq!(response.status, 413);

    // A charset parameter is fine.
    let mut phone = Phone::new(Version::V1_1, Encoding::Xml);
    let hello = encode(&phone.first_message(AlertCode::TwoWay), Encoding::Xml);
    let response = request(
        wire.address,
        "POST",
        "/sync",
        Some("application/vnd.syncml+xml; charset=UTF-8"),
        &hello,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.syncml+xml")
    );

    // A message in the middle of a session nobody opened.
    let mut stray = phone.first_message(AlertCode::TwoWay);
    stray.header.as_mut().unwrap().msg_id = 3;
    stray.header.as_mut().unwrap().session_id = "4242".into();
    let response = post_syncml(
        wire.address,
        "/sync?sessionid=0123456789abcdef",
        &encode(&stray, Encoding::Xml),
    );
    assert_eq!(response.status, 404);
    assert!(response.text().contains("no such SyncML session"));
}

#[test]
fn an_idle_session_is_cut_and_recorded() {
    let mut wire = HttpWire::start("idle", ServerConfig::default(), Duration::from_millis(300));
    let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
    phone.add(&vcard(1));
    let mut conversation = wire.open();
    let hello = phone.first_message(AlertCode::TwoWay);
    let reply = wire
        .send(&mut conversation, &encode(&hello, Encoding::Xml))
        .unwrap();
    assert_eq!(header_status(&reply.message).data, StatusCode::Ok);

    // Silent for longer than the idle timeout: the session is gone and recorded as cut.
    std::thread::sleep(Duration::from_millis(900));
    let mut next = hello.clone();
    next.header.as_mut().unwrap().msg_id = 2;
    let response = post_syncml(
        wire.address,
        &conversation.target,
        &encode(&next, Encoding::Xml),
    );
    assert_eq!(response.status, 404, "{}", response.text());
    let sessions = wire.server.store.read(|tx| tx.sessions(None, 10)).unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].result, SessionResult::Cut);

    // The phone's next session starts over and completes.
    assert!(phone.sync(&mut wire, AlertCode::TwoWay, None).completed);
    assert_eq!(wire.server.contacts().len(), 1);
}

/// A 200 KB photo travels as a large object over HTTP both ways (the emulated E51 over real
/// HTTP, 10,000-byte messages).
#[test]
fn a_200_kb_photo_crosses_http_as_a_large_object_both_ways() {
    use handsync::emulator::{
        generate, DataSetSpec, DeviceProfile, EmulatedPhone, PhoneConfig, PhoneStore,
        SyncMode as EmulatedMode, SyncRequest,
    };
    use handsync::transport::emulated::over_http;

    let mut wire = HttpWire::start("photo", ServerConfig::default(), IDLE);
    let url = format!("http://{}/sync", wire.address);
    let mut profile = DeviceProfile::builtin("nokia-e51").unwrap();
    profile.max_msg_size = 10_000;
    let spec = DataSetSpec {
        contacts: 2,
        events: 0,
        tasks: 0,
        notes: 0,
        photo_bytes: Some(200 * 1024),
        seed: 3,
    };
    let phone = EmulatedPhone::new(
        profile.clone(),
        generate(&profile, &spec),
        PhoneConfig::default(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let request = SyncRequest::all(&profile, EmulatedMode::TwoWay);
    let (_, result) = runtime.block_on(over_http(&url, phone, request, &mut |_| {}));
    let report = result.expect("the session runs");
    assert!(report.completed);
    assert!(report.messages_sent > 20, "{report:?}");
    let stored = wire.server.contacts();
    assert!(
        stored.iter().any(|item| item.raw.len() > 200 * 1024),
        "the photo arrived whole"
    );

    // Another phone of the kind gets it back, in chunks.
    let mut other = profile.clone();
    other.device_id = "IMEI:356954000000009".into();
    let receiver = EmulatedPhone::new(other.clone(), PhoneStore::new(), PhoneConfig::default());
    let request = SyncRequest::all(&other, EmulatedMode::TwoWay);
    let (receiver, result) = runtime.block_on(over_http(&url, receiver, request, &mut |_| {}));
    assert!(result.expect("the session runs").completed);
    let largest = receiver
        .store()
        .datastore(handsync::store::Datastore::Contacts)
        .items()
        .values()
        .map(|item| item.data.len())
        .max()
        .unwrap();
    assert!(largest > 200 * 1024, "{largest}");
    wire.stop();
}

/// A client that answers our last package with statuses, Alert 222 and Final, and sends its
/// Maps one round trip later: the finished session still takes them (not 404), and the PC
/// knows the phone's LUIDs of what it sent, so the next sync sends nothing again.
#[test]
fn maps_sent_after_the_session_completed_are_applied() {
    let mut wire = HttpWire::start("late-maps", ServerConfig::default(), IDLE);
    for n in 0..3 {
        wire.server.add_contact(&vcard(n));
    }
    let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
    phone.maps_one_round_late = true;
    let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(phone.keys(), wire.server.contact_keys());
    let device = wire.server.device_by_uri(&phone.device_uri).unwrap().id;
    let held = wire
        .server
        .store
        .read(|tx| tx.device_items(device, Datastore::Contacts))
        .unwrap();
    assert_eq!(held.len(), 3);
    assert!(held.iter().all(|h| h.luid.is_some()), "{held:?}");
    phone.maps_one_round_late = false;
    let again = phone.sync(&mut wire, AlertCode::TwoWay, None);
    assert!(again.completed);
    assert_eq!(again.alert_status, Some(StatusCode::Ok));
    assert!(again.received.is_empty(), "{:?}", again.received);
}
