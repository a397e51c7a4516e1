//! Authentication: none, syncml:auth-basic and syncml:auth-md5 with a NextNonce per device.

use crate::engine_phone::*;
use handsync_engine::{AuthPolicy, ServerConfig};
use handsync_proto::markup::Version;
use handsync_proto::syncml::{AlertCode, Encoding, StatusCode};

fn server_with_account(policy: AuthPolicy) -> Server {
    let mut server = Server::new(ServerConfig {
        auth: policy,
        ..ServerConfig::default()
    });
    server.add_account("anna", "s3cret");
    server
}

#[test]
fn basic_credentials_are_accepted_with_212() {
    let mut server = server_with_account(AuthPolicy::Basic);
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.credentials = Some(("anna".into(), "s3cret".into(), Auth::Basic));
    phone.add(&vcard(1));
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(outcome.header_codes[0], StatusCode::AuthenticationAccepted);
    // Authenticated for the session: later messages need no credentials.
    assert!(outcome.header_codes[1..]
        .iter()
        .all(|c| *c == StatusCode::Ok));
    assert_eq!(server.contacts().len(), 1);
}

#[test]
fn missing_credentials_get_407_with_a_challenge_then_md5_succeeds() {
    let mut server = server_with_account(AuthPolicy::Md5);
    let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
    phone.credentials = Some(("anna".into(), "s3cret".into(), Auth::Md5));
    phone.add(&vcard(1));
    // The phone has no nonce yet: its first attempt is refused, it retries with ours.
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed, "{:?}", outcome.header_codes);
    assert_eq!(outcome.header_codes[0], StatusCode::InvalidCredentials);
    let chal = header_status(&outcome.replies[0].message)
        .chal
        .as_ref()
        .unwrap();
    assert_eq!(chal.meta.type_.as_deref(), Some("syncml:auth-md5"));
    assert_eq!(chal.meta.format.as_deref(), Some("b64"));
    assert!(chal.meta.next_nonce.is_some());
    assert_eq!(outcome.header_codes[1], StatusCode::AuthenticationAccepted);
    assert_eq!(server.contacts().len(), 1);

    // The nonce handed out with 212 serves the next session at once.
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(outcome.header_codes[0], StatusCode::AuthenticationAccepted);

    // Without credentials at all: 407 and a challenge.
    phone.credentials = None;
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(!outcome.completed);
    assert_eq!(outcome.header_codes[0], StatusCode::MissingCredentials);
    assert!(header_status(&outcome.replies[0].message).chal.is_some());
}

#[test]
fn wrong_credentials_are_refused_and_repeated_failures_end_the_session() {
    let mut server = server_with_account(AuthPolicy::Basic);
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.credentials = Some(("anna".into(), "wrong".into(), Auth::Basic));
    phone.add(&vcard(1));
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(!outcome.completed);
    assert_eq!(
        outcome.header_codes,
        vec![StatusCode::InvalidCredentials; 3],
        "three tries, then the session ends"
    );
    let last = outcome.replies.last().unwrap();
    assert!(last.session_finished);
    // Nothing but the header status was answered, nothing was stored.
    assert!(outcome
        .replies
        .iter()
        .all(|r| r.message.body.commands.len() == 1));
    assert!(server.contacts().is_empty());
    // A client that never authenticated leaves no record: no device, no session.
    assert!(server.sessions().is_empty());
    assert!(server.device_by_uri(&phone.device_uri).is_none());
}

/// Challenges to a client that has not authenticated are kept in the session, not stored:
/// someone who knows a phone's URI cannot replace the nonce that phone got with its last 212,
/// and the phone's next session authenticates with it at once.
#[test]
fn a_challenge_to_a_stranger_leaves_the_phones_nonce_alone() {
    let mut server = server_with_account(AuthPolicy::Md5);
    let mut phone = Phone::new(Version::V1_2, Encoding::Xml);
    phone.credentials = Some(("anna".into(), "s3cret".into(), Auth::Md5));
    assert!(phone.sync(&mut server, AlertCode::TwoWay, None).completed);
    let stored = server.device_by_uri(&phone.device_uri).unwrap().next_nonce;
    assert!(stored.is_some());

    // A stranger using the phone's URI, without credentials, then with wrong ones.
    let mut stranger = Phone::new(Version::V1_2, Encoding::Xml);
    stranger.device_uri = phone.device_uri.clone();
    let outcome = stranger.sync(&mut server, AlertCode::TwoWay, None);
    assert!(!outcome.completed);
    assert_eq!(outcome.header_codes[0], StatusCode::MissingCredentials);
    stranger.credentials = Some(("anna".into(), "guess".into(), Auth::Md5));
    let outcome = stranger.sync(&mut server, AlertCode::TwoWay, None);
    assert!(!outcome.completed);
    assert_eq!(
        server.device_by_uri(&phone.device_uri).unwrap().next_nonce,
        stored,
        "the phone's nonce is untouched"
    );
    assert_eq!(
        server.sessions().len(),
        1,
        "the stranger's sessions left no record"
    );

    // The phone's next session: accepted at once with the nonce it holds.
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(outcome.header_codes[0], StatusCode::AuthenticationAccepted);
}

#[test]
fn md5_is_required_when_the_policy_says_so() {
    let mut server = server_with_account(AuthPolicy::Md5);
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.credentials = Some(("anna".into(), "s3cret".into(), Auth::Basic));
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(!outcome.completed);
    assert_eq!(outcome.header_codes[0], StatusCode::InvalidCredentials);
}

#[test]
fn a_transport_can_need_no_authentication() {
    let mut config = ServerConfig {
        auth: AuthPolicy::Md5,
        ..ServerConfig::default()
    };
    config
        .auth_by_transport
        .insert("obex-usb".into(), AuthPolicy::None);
    let mut server = Server::new(config);
    server.transport = "obex-usb".into();
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.add(&vcard(1));
    let outcome = phone.sync(&mut server, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    assert_eq!(outcome.header_codes[0], StatusCode::Ok);
}

/// A Sony Ericsson Z600's first message (a Horde capture): no Cred in its header, basic
/// credentials in its Alert. They count for the session; wrong ones are refused.
#[test]
fn credentials_in_an_alert_count_for_the_session() {
    let first = std::fs::read(crate::support::corpus_dir().join("wbxml/horde-z600_client_0.wbxml"))
        .expect("the Z600 capture");
    for (password, accepted) in [("MyD0ZE", true), ("wrong", false)] {
        let mut server = Server::new(ServerConfig {
            auth: AuthPolicy::Basic,
            ..ServerConfig::default()
        });
        server.add_account("root", password);
        let mut session = server.session();
        let reply = server.exchange(&mut session, &first).expect("an answer");
        let header = header_status(&reply.message);
        if accepted {
            assert_eq!(header.data, StatusCode::AuthenticationAccepted);
            let alert = reply
                .message
                .body
                .commands
                .iter()
                .find_map(|c| match c {
                    handsync_proto::syncml::Command::Status(s) if s.cmd == "Alert" => Some(s),
                    _ => None,
                })
                .expect("the Alert is answered");
            assert!(alert.data.is_success(), "{:?}", alert.data);
        } else {
            assert_eq!(header.data, StatusCode::InvalidCredentials);
            assert!(header.chal.is_some());
        }
    }
}
