//! Open sessions are limited: past `max-sessions` a new client is told to come back later
//! (HTTP 503 with Retry-After) and nothing is held for it; the phones already in a session go
//! on, and once one ends, the next is admitted.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod http_support;
mod support;

use std::time::Duration;

use engine_phone::*;
use handsync::engine::ServerConfig;
use handsync::markup::Version;
use handsync::syncml::{AlertCode, Encoding};
use http_support::*;

#[test]
fn a_session_past_the_limit_is_told_to_come_back_later() {
    let config = ServerConfig {
        max_sessions: 2,
        ..ServerConfig::default()
    };
    let mut wire = HttpWire::start("daemon-limits", config, Duration::from_secs(60));
    // Two phones start sessions and stay in them.
    let mut starts = Vec::new();
    for n in 0..3 {
        let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
        phone.device_uri = format!("IMEI:35000000000010{n}");
        let first = phone.first_message(AlertCode::SlowSync);
        let response = post_syncml(wire.address, "/sync", &encode(&first, Encoding::Wbxml));
        starts.push((phone, response));
    }
    assert_eq!(starts[0].1.status, 200);
    assert_eq!(starts[1].1.status, 200);
    let refused = &starts[2].1;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), Some("10"));
    assert!(wire.server.device_by_uri(&starts[2].0.device_uri).is_none());

    // A phone in a session is still served, to its end (its package 5 answered); a session
    // that completed no longer counts against the limit.
    let (phone, response) = &mut starts[0];
    let reply = reply_from_wire(response.body.clone());
    let target = path_of(
        reply
            .message
            .header
            .as_ref()
            .unwrap()
            .resp_uri
            .as_deref()
            .unwrap(),
    );
    let changes = phone.message(
        vec![handsync::syncml::Command::Sync(
            handsync::syncml::Sync {
                target: Some(handsync::syncml::Target::new("Contacts")),
                source: Some(handsync::syncml::Source::new("./contacts")),
                ..Default::default()
            }
            .into(),
        )],
        true,
        false,
    );
    let answer = post_syncml(wire.address, &target, &encode(&changes, Encoding::Wbxml));
    assert_eq!(answer.status, 200, "{}", answer.text());
    let done = phone.message(Vec::new(), true, false);
    let answer = post_syncml(wire.address, &target, &encode(&done, Encoding::Wbxml));
    assert_eq!(answer.status, 200, "{}", answer.text());

    // Now the third phone gets in, and syncs all the way.
    let mut third = Phone::new(Version::V1_2, Encoding::Xml);
    third.device_uri = starts[2].0.device_uri.clone();
    third.add(&vcard(5));
    let outcome = third.sync(&mut wire, AlertCode::TwoWay, None);
    assert!(outcome.completed);
}

/// A flood of session starts from one host takes `max-sessions-per-address` places, not all.
#[test]
fn one_host_opens_at_most_its_share_of_sessions() {
    let config = ServerConfig {
        max_sessions_per_address: 2,
        ..ServerConfig::default()
    };
    let wire = HttpWire::start("daemon-limits-address", config, Duration::from_secs(60));
    let statuses: Vec<u16> = (0..3)
        .map(|n| {
            let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
            phone.device_uri = format!("IMEI:35000000000020{n}");
            let first = phone.first_message(AlertCode::SlowSync);
            post_syncml(wire.address, "/sync", &encode(&first, Encoding::Wbxml)).status
        })
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 503],
        "the third device from the same address"
    );
}
