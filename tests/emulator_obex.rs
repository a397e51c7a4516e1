//! The emulated phone over OBEX against handsync's engine, packets of 255 bytes moved in
//! memory: the phone starts (it is the OBEX client), or the PC starts with a notification
//! (SAN 1.2, or the SyncML 1.1 alert message) and the phone is the OBEX server. Sessions are
//! recorded as transcripts, written, read back and replayed. Credentials: basic and md5.

#[path = "support/emulator.rs"]
mod emulator_support;

use std::time::{Duration, Instant};

use handsync::emulator::{
    generate, replay, AuthKind, Credentials, DataSetSpec, DeviceProfile, EmulatedPhone,
    PcStartsObex, PhoneConfig, PhoneEvent, PhoneStartsObex, SessionReport, SyncMode, SyncRequest,
    Transcript, UnixMillis,
};
use handsync::engine::{AuthPolicy, ServerConfig, Session};
use handsync::machine::Machine;
use handsync::obex::{
    ObexClientConfig, ObexServerConfig, SyncmlClient, SyncmlContentType, SyncmlEvent,
    SyncmlMessage, SyncmlServer,
};
use handsync::store::{Datastore, Timestamp};
use handsync::syncml::san::{San, SanSync, SyncType};
use handsync::syncml::{
    self, Alert, AlertCode, Command, Encoding, Item, Message, SyncBody, SyncHdr, Target,
};

use emulator_support::{assert_converged, pc_vcard, Pc};

const PACKET: u16 = 255;

fn obex_client_config() -> ObexClientConfig {
    ObexClientConfig {
        max_packet_length: PACKET,
        max_object_size: 1024 * 1024,
        response_timeout: Some(Duration::from_secs(30)),
    }
}

fn obex_server_config() -> ObexServerConfig {
    ObexServerConfig {
        max_packet_length: PACKET,
        required_target: None,
        connection_id: 3,
        max_object_size: 1024 * 1024,
        idle_timeout: Some(Duration::from_secs(30)),
    }
}

fn obex_message(content_type: SyncmlContentType, bytes: Vec<u8>) -> SyncmlMessage {
    SyncmlMessage::new(content_type, bytes)
}

fn reply_type(encoding: Encoding) -> SyncmlContentType {
    match encoding {
        Encoding::Wbxml => SyncmlContentType::Wbxml,
        Encoding::Xml => SyncmlContentType::Xml,
    }
}

/// The phone starts: the emulator is the OBEX client, handsync the OBEX server + engine.
fn phone_starts(device: &mut PhoneStartsObex, pc: &mut Pc, request: SyncRequest) -> SessionReport {
    let now = Instant::now();
    let mut server = SyncmlServer::new(obex_server_config());
    let mut session: Session = pc.session();
    device.start(now, request).expect("starts");
    let mut report = None;
    let (mut phone_gone, mut pc_gone) = (false, false);
    for _ in 0..100_000 {
        let mut busy = false;
        while let Some(packet) = device.poll_transmit() {
            assert!(packet.len() <= PACKET as usize);
            server.handle_input(now, &packet);
            busy = true;
        }
        while let Some(packet) = server.poll_transmit() {
            device.handle_input(now, &packet);
            busy = true;
        }
        while let Some(event) = server.poll_event() {
            busy = true;
            match event {
                SyncmlEvent::Connected => {}
                SyncmlEvent::MessageReceived(message) => {
                    let reply = pc
                        .exchange(&mut session, &message.bytes)
                        .expect("the engine answers");
                    server
                        .send_reply(obex_message(reply_type(reply.encoding), reply.bytes))
                        .expect("one reply per message");
                }
                SyncmlEvent::SessionEnded => pc_gone = true,
                other => panic!("handsync's OBEX server: {other:?}"),
            }
        }
        while let Some(event) = device.poll_event() {
            busy = true;
            match event {
                PhoneEvent::Connected => {}
                PhoneEvent::SessionFinished(r) => report = Some(r),
                PhoneEvent::Failed(why) | PhoneEvent::NotificationRefused(why) => {
                    panic!("the phone failed: {why}")
                }
                PhoneEvent::Disconnected => phone_gone = true,
            }
        }
        if !busy {
            break;
        }
    }
    assert!(phone_gone && pc_gone, "both ends saw the disconnect");
    assert!(session.is_finished());
    report.expect("the session finished")
}

/// The PC starts: handsync is the OBEX client and sends `notification` first.
fn pc_starts(device: &mut PcStartsObex, pc: &mut Pc, notification: SyncmlMessage) -> SessionReport {
    let now = Instant::now();
    let mut client = SyncmlClient::new(obex_client_config());
    let mut session: Session = pc.session();
    client.connect(now).expect("connects");
    let mut report = None;
    let mut pc_gone = false;
    for _ in 0..100_000 {
        let mut busy = false;
        while let Some(packet) = client.poll_transmit() {
            assert!(packet.len() <= PACKET as usize);
            device.handle_input(now, &packet);
            busy = true;
        }
        while let Some(packet) = device.poll_transmit() {
            client.handle_input(now, &packet);
            busy = true;
        }
        while let Some(event) = client.poll_event() {
            busy = true;
            match event {
                SyncmlEvent::Connected => {
                    client.send(now, notification.clone(), true).expect("SAN")
                }
                SyncmlEvent::MessageReceived(message) => {
                    let reply = pc
                        .exchange(&mut session, &message.bytes)
                        .expect("the engine answers");
                    let expect_reply = !reply.session_finished;
                    client
                        .send(
                            now,
                            obex_message(reply_type(reply.encoding), reply.bytes),
                            expect_reply,
                        )
                        .expect("sends");
                }
                SyncmlEvent::MessageSent => client.disconnect(now).expect("disconnects"),
                SyncmlEvent::SessionEnded => pc_gone = true,
                SyncmlEvent::Error(e) => panic!("handsync's OBEX client: {e}"),
            }
        }
        while let Some(event) = device.poll_event() {
            busy = true;
            match event {
                PhoneEvent::Connected | PhoneEvent::Disconnected => {}
                PhoneEvent::SessionFinished(r) => report = Some(r),
                PhoneEvent::Failed(why) | PhoneEvent::NotificationRefused(why) => {
                    panic!("the phone failed: {why}")
                }
            }
        }
        if !busy {
            break;
        }
    }
    assert!(pc_gone, "handsync disconnected");
    report.expect("the session finished")
}

fn small_set(profile: &DeviceProfile) -> DataSetSpec {
    DataSetSpec {
        contacts: 15,
        events: 5,
        tasks: 3,
        notes: 3,
        photo_bytes: emulator_support::photo_for(profile, 4000),
        seed: 3,
    }
}

#[test]
fn every_profile_syncs_over_obex_when_the_phone_starts() {
    for profile in DeviceProfile::all() {
        let phone = EmulatedPhone::new(
            profile.clone(),
            generate(&profile, &small_set(&profile)),
            PhoneConfig::default(),
        );
        let mut device = PhoneStartsObex::new(
            phone,
            obex_client_config(),
            Instant::now(),
            UnixMillis(1_160_000_000_000),
        );
        let mut pc = Pc::new(ServerConfig::default());
        let report = phone_starts(
            &mut device,
            &mut pc,
            SyncRequest::all(&profile, SyncMode::TwoWay),
        );
        assert!(report.completed, "{}: {report:#?}", profile.name);
        pc.add(Datastore::Contacts, &pc_vcard("Obex", "+491719999999"));
        let report = phone_starts(
            &mut device,
            &mut pc,
            SyncRequest::all(&profile, SyncMode::TwoWay),
        );
        assert!(report.completed, "{}", profile.name);
        assert_eq!(report.datastores[0].added, 1, "{}", profile.name);
        assert_converged(device.phone(), &mut pc);
    }
}

fn san(syncs: Vec<SanSync>, session_id: u16) -> SyncmlMessage {
    let san = San::new("PC Suite", session_id, syncs);
    SyncmlMessage::new(
        SyncmlContentType::Notification,
        san.encode().expect("a SAN"),
    )
}

#[test]
fn a_san_starts_the_alerted_datastores_when_the_pc_starts() {
    for mut profile in DeviceProfile::all() {
        // About reading SANs: every model is given the binary form here (the SyncML 1.1
        // generation refuses it; see the test below).
        profile.binary_san = true;
        let phone = EmulatedPhone::new(
            profile.clone(),
            generate(&profile, &small_set(&profile)),
            PhoneConfig::default(),
        );
        let mut device = PcStartsObex::new(
            phone,
            obex_server_config(),
            Instant::now(),
            UnixMillis(1_160_000_000_000),
        );
        let mut pc = Pc::new(ServerConfig::default());
        let contacts = profile
            .datastore(Datastore::Contacts)
            .unwrap()
            .server_uri
            .clone();
        let calendar = profile
            .datastore(Datastore::Calendar)
            .unwrap()
            .server_uri
            .clone();
        let notification = san(
            vec![
                SanSync {
                    sync_type: SyncType::TwoWay,
                    future_use: 0,
                    content_type: 0x07,
                    server_uri: contacts,
                },
                SanSync {
                    sync_type: SyncType::RefreshFromClient,
                    future_use: 0,
                    content_type: 0x06,
                    server_uri: calendar,
                },
            ],
            42,
        );
        let report = pc_starts(&mut device, &mut pc, notification);
        assert!(report.completed, "{}: {report:#?}", profile.name);
        assert_eq!(report.session_id, "42");
        let modes: Vec<(Datastore, SyncMode)> =
            report.datastores.iter().map(|d| (d.kind, d.mode)).collect();
        assert_eq!(
            modes,
            vec![
                (Datastore::Contacts, SyncMode::Slow),
                (Datastore::Calendar, SyncMode::RefreshFromClient)
            ],
            "{}",
            profile.name
        );
        assert_eq!(pc.keys(Datastore::Contacts).len(), 15);
        assert_eq!(
            pc.keys(Datastore::Contacts),
            emulator_support::phone_keys(device.phone(), Datastore::Contacts)
        );
        // A SAN with no sync named asks for every datastore.
        let report = pc_starts(&mut device, &mut pc, san(Vec::new(), 43));
        assert!(report.completed, "{}", profile.name);
        assert_eq!(report.datastores.len(), profile.datastores.len());
        assert_converged(device.phone(), &mut pc);
    }
}

/// The SyncML 1.1 way of alerting: a SyncML message with Alert 206.
fn legacy_alert(profile: &DeviceProfile, session_id: &str) -> SyncmlMessage {
    let contacts = profile.datastore(Datastore::Contacts).unwrap();
    let message = Message {
        version: profile.version,
        header: Some(SyncHdr {
            ver_proto: format!("SyncML/{}", profile.version.as_str()).into(),
            session_id: session_id.into(),
            msg_id: 1,
            target: Target::new(profile.device_id.clone()),
            source: handsync::syncml::Source::new("PC Suite"),
            resp_uri: None,
            no_resp: false,
            cred: None,
            meta: None,
            extensions: Default::default(),
        }),
        body: SyncBody {
            commands: vec![Command::Alert(Alert {
                cmd_id: Some("1".into()),
                data: Some(AlertCode::TwoWayByServer),
                items: vec![Item {
                    target: Some(Target::new(contacts.local_uri.clone())),
                    source: Some(handsync::syncml::Source::new(contacts.server_uri.clone())),
                    ..Item::default()
                }],
                ..Alert::default()
            })],
            final_: true,
            ..SyncBody::default()
        },
        extensions: Default::default(),
    };
    let bytes = handsync::emulator::encode_message(profile, &message).unwrap();
    SyncmlMessage::new(reply_type(profile.encoding), bytes)
}

#[test]
fn a_syncml_1_1_alert_message_starts_a_session_too() {
    for profile in DeviceProfile::all() {
        let phone = EmulatedPhone::new(
            profile.clone(),
            generate(&profile, &small_set(&profile)),
            PhoneConfig::default(),
        );
        let mut device = PcStartsObex::new(
            phone,
            obex_server_config(),
            Instant::now(),
            UnixMillis(1_160_000_000_000),
        );
        let mut pc = Pc::new(ServerConfig::default());
        let report = pc_starts(&mut device, &mut pc, legacy_alert(&profile, "7"));
        assert!(report.completed, "{}: {report:#?}", profile.name);
        assert_eq!(report.datastores.len(), 1);
        assert_eq!(report.datastores[0].kind, Datastore::Contacts);
        assert_eq!(report.session_id, "7");
        assert_eq!(
            pc.keys(Datastore::Contacts),
            emulator_support::phone_keys(device.phone(), Datastore::Contacts)
        );
    }
}

#[test]
fn transcripts_are_written_read_back_and_replayed() {
    let dir = std::env::temp_dir().join(format!(
        "handsync-emulator-transcripts-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for profile in DeviceProfile::all() {
        let initial = generate(&profile, &small_set(&profile));
        let mut phone =
            EmulatedPhone::new(profile.clone(), initial.clone(), PhoneConfig::default());
        phone.record_transcripts(true);
        let mut pc = Pc::new(ServerConfig::default());
        emulator_support::sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        let transcripts = phone.take_transcripts();
        assert_eq!(transcripts.len(), 1);
        let path = transcripts[0].write_to_dir(&dir).expect("written");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("<SyncML"), "XML shown even for WBXML");
        assert!(text.contains("phone-to-pc") && text.contains("pc-to-phone"));
        let read = Transcript::read_file(&path).expect("read back");
        assert_eq!(read, transcripts[0], "{}", profile.name);
        assert!(read.completed);
        read.check_consistency().expect("XML and bytes agree");

        // The same phone state replays the same session exactly.
        let mut fresh =
            EmulatedPhone::new(profile.clone(), initial.clone(), PhoneConfig::default());
        replay(&mut fresh, &read).unwrap_or_else(|m| panic!("{}: {m}", profile.name));

        // A phone holding other data does not.
        let mut other = generate(&profile, &small_set(&profile));
        other.add(
            Datastore::Contacts,
            emulator_support::phone_vcard("Extra", "+491710000000"),
        );
        let mut different = EmulatedPhone::new(profile.clone(), other, PhoneConfig::default());
        let mismatch = replay(&mut different, &read).expect_err("a different phone differs");
        assert!(mismatch.entry > 0, "{}: {mismatch}", profile.name);

        // A tampered transcript is caught.
        let mut tampered = read.clone();
        tampered.entries[0].xml = tampered.entries[0].xml.replace("SyncHdr", "SyncHeader");
        assert!(tampered.check_consistency().is_err());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn with_account(policy: AuthPolicy) -> Pc {
    let mut pc = Pc::new(ServerConfig {
        auth: policy,
        ..ServerConfig::default()
    });
    pc.store
        .transaction(|tx| tx.add_account("anna", "s3cret", Timestamp(0)))
        .unwrap();
    pc
}

#[test]
fn credentials_basic_and_md5_are_accepted_and_wrong_ones_refused() {
    let profile = DeviceProfile::nokia_6230i();
    for (policy, kind) in [
        (AuthPolicy::Basic, AuthKind::Basic),
        (AuthPolicy::Md5, AuthKind::Md5),
    ] {
        let mut pc = with_account(policy);
        let config = PhoneConfig {
            credentials: Some(Credentials {
                user: "anna".into(),
                password: "s3cret".into(),
                kind,
            }),
            ..PhoneConfig::default()
        };
        let mut phone = EmulatedPhone::new(
            profile.clone(),
            generate(&profile, &DataSetSpec::contacts(5, 1)),
            config,
        );
        let report = emulator_support::sync_all(&mut phone, &mut pc, SyncMode::TwoWay);
        assert!(report.completed, "{policy:?}");
        // md5: the nonce of the last session is used in the next one, which needs no retry.
        let outcome = emulator_support::run_session(
            &mut phone,
            &mut pc,
            &SyncRequest::all(&profile, SyncMode::TwoWay),
            None,
        );
        assert!(outcome.report().completed);
        assert_eq!(outcome.report().datastores[0].mode, SyncMode::TwoWay);

        phone.config_mut().credentials.as_mut().unwrap().password = "wrong".into();
        let start = phone
            .start_sync(&SyncRequest::all(&profile, SyncMode::TwoWay), pc.tick())
            .unwrap();
        let mut session = pc.session();
        let mut bytes = start.bytes;
        let error = loop {
            let reply = pc.exchange(&mut session, &bytes).unwrap();
            match phone.receive(&reply.bytes, pc.tick()) {
                Ok(handsync::emulator::Step::Send(next)) => bytes = next.bytes,
                Ok(handsync::emulator::Step::Finished(r)) => {
                    panic!("finished with wrong credentials: {r:?}")
                }
                Err(e) => break e,
            }
        };
        assert!(
            error.to_string().contains("authentication failed"),
            "{error}"
        );
        assert!(!phone.in_session());
    }
}

#[test]
fn bad_server_input_is_an_error_never_a_panic() {
    let profile = DeviceProfile::sony_ericsson_k750i();
    let mut phone = EmulatedPhone::new(
        profile.clone(),
        generate(&profile, &DataSetSpec::contacts(3, 1)),
        PhoneConfig::default(),
    );
    let request = SyncRequest::all(&profile, SyncMode::TwoWay);
    assert!(phone.receive(b"x", UnixMillis(0)).is_err(), "no session");
    for garbage in [
        &b""[..],
        b"\x02\x00\x00",
        b"<SyncML>",
        b"POST / HTTP/1.1\r\n",
        b"\x03\x01\x6a\x00\x6d\x6c",
    ] {
        phone.start_sync(&request, UnixMillis(0)).unwrap();
        let error = phone.receive(garbage, UnixMillis(1)).expect_err("garbage");
        assert!(!error.to_string().is_empty());
        assert!(!phone.in_session(), "an error ends the session");
    }
    // A well-formed reply of another session.
    let first = phone.start_sync(&request, UnixMillis(0)).unwrap();
    let mut pc = Pc::new(ServerConfig::default());
    let mut session = pc.session();
    let reply = pc.exchange(&mut session, &first.bytes).unwrap();
    let mut message = syncml::decode(&reply.bytes).unwrap();
    message.header.as_mut().unwrap().session_id = "999".into();
    let bytes = handsync::emulator::encode_message(&profile, &message).unwrap();
    let error = phone
        .receive(&bytes, UnixMillis(1))
        .expect_err("wrong session");
    assert!(error.to_string().contains("SessionID"), "{error}");
    // Every prefix of a real reply: an error or a step, never a panic.
    for cut in 0..reply.bytes.len() {
        phone.abort();
        phone.start_sync(&request, UnixMillis(0)).unwrap();
        let _ = phone.receive(&reply.bytes[..cut], UnixMillis(1));
    }
    let notification = phone
        .notification_request(b"\x00\x01garbage")
        .expect_err("not a SAN");
    assert!(
        notification.to_string().contains("notification"),
        "{notification}"
    );
}

#[test]
fn a_cut_session_is_recorded_as_incomplete_and_replays_so() {
    let profile = DeviceProfile::nokia_e51();
    let initial = generate(&profile, &small_set(&profile));
    let mut phone = EmulatedPhone::new(profile.clone(), initial.clone(), PhoneConfig::default());
    phone.record_transcripts(true);
    let mut pc = Pc::new(ServerConfig::default());
    let request = SyncRequest::all(&profile, SyncMode::TwoWay);
    let cut = emulator_support::Cut {
        after: 2,
        phone_reads_reply: false,
    };
    let outcome = emulator_support::run_session(&mut phone, &mut pc, &request, Some(cut));
    assert!(outcome.cut);
    let dir = std::env::temp_dir().join(format!("handsync-emulator-cut-{}", std::process::id()));
    let written = phone.save_transcripts(&dir).unwrap();
    assert_eq!(written.len(), 1);
    let transcript = Transcript::read_file(&written[0]).unwrap();
    assert!(!transcript.completed);
    assert_eq!(
        transcript.entries.len(),
        3,
        "two sent, one received before the cut"
    );
    transcript.check_consistency().unwrap();
    let mut fresh = EmulatedPhone::new(profile, initial, PhoneConfig::default());
    replay(&mut fresh, &transcript).unwrap();
    assert!(!fresh.in_session());
    let _ = std::fs::remove_dir_all(&dir);
    // A transcript that is not one is refused with the line.
    let error = Transcript::parse("hello\n", "x.txt").unwrap_err();
    assert!(
        error.to_string().contains("x.txt") && error.to_string().contains("line 1"),
        "{error}"
    );
    let error = Transcript::parse(
        "handsync-emulator-transcript 1\nmessage 1 sideways +0ms a 1\n",
        "y.txt",
    )
    .unwrap_err();
    assert!(error.to_string().contains("sideways"), "{error}");
}

#[test]
fn a_pc_that_disconnects_mid_session_leaves_the_phone_ready_for_the_next_one() {
    let mut profile = DeviceProfile::siemens_s65();
    profile.binary_san = true;
    let phone = EmulatedPhone::new(
        profile.clone(),
        generate(&profile, &small_set(&profile)),
        PhoneConfig::default(),
    );
    let now = Instant::now();
    let mut device = PcStartsObex::new(
        phone,
        obex_server_config(),
        now,
        UnixMillis(1_160_000_000_000),
    );
    let mut pc = Pc::new(ServerConfig::default());
    let mut client = SyncmlClient::new(obex_client_config());
    let mut session = pc.session();
    client.connect(now).unwrap();
    let mut exchanges = 0;
    let mut failed = None;
    for _ in 0..10_000 {
        let mut busy = false;
        while let Some(packet) = client.poll_transmit() {
            device.handle_input(now, &packet);
            busy = true;
        }
        while let Some(packet) = device.poll_transmit() {
            client.handle_input(now, &packet);
            busy = true;
        }
        while let Some(event) = client.poll_event() {
            busy = true;
            match event {
                SyncmlEvent::Connected => client.send(now, san(Vec::new(), 5), true).unwrap(),
                SyncmlEvent::MessageReceived(message) => {
                    exchanges += 1;
                    if exchanges == 2 {
                        // handsync goes away in the middle of the session.
                        pc.cut(&mut session);
                        client.disconnect(now).unwrap();
                    } else {
                        let reply = pc.exchange(&mut session, &message.bytes).unwrap();
                        client
                            .send(
                                now,
                                obex_message(reply_type(reply.encoding), reply.bytes),
                                true,
                            )
                            .unwrap();
                    }
                }
                SyncmlEvent::SessionEnded | SyncmlEvent::MessageSent => {}
                SyncmlEvent::Error(e) => panic!("{e}"),
            }
        }
        while let Some(event) = device.poll_event() {
            busy = true;
            if let PhoneEvent::Failed(why) = event {
                failed = Some(why);
            }
        }
        if !busy {
            break;
        }
    }
    let why = failed.expect("the phone saw the session fail");
    assert!(why.contains("ended"), "{why}");
    assert!(!device.phone().in_session());
    // The next session, started by the PC again, converges.
    let report = pc_starts(&mut device, &mut pc, san(Vec::new(), 6));
    assert!(report.completed);
    assert_converged(device.phone(), &mut pc);
}

#[test]
fn a_silent_pc_times_the_phone_out() {
    let profile = DeviceProfile::sony_ericsson_k750i();
    let phone = EmulatedPhone::new(
        profile.clone(),
        generate(&profile, &small_set(&profile)),
        PhoneConfig::default(),
    );
    let start = Instant::now();
    let mut device = PhoneStartsObex::new(
        phone,
        obex_client_config(),
        start,
        UnixMillis(1_160_000_000_000),
    );
    let mut server = SyncmlServer::new(obex_server_config());
    device
        .start(start, SyncRequest::all(&profile, SyncMode::TwoWay))
        .unwrap();
    // The PC accepts the connection and the message, then never answers the GET.
    for _ in 0..1000 {
        let mut busy = false;
        while let Some(packet) = device.poll_transmit() {
            server.handle_input(start, &packet);
            busy = true;
        }
        while let Some(packet) = server.poll_transmit() {
            device.handle_input(start, &packet);
            busy = true;
        }
        while server.poll_event().is_some() {}
        if !busy {
            break;
        }
    }
    assert!(device.phone().in_session());
    let deadline = device
        .poll_timeout()
        .expect("the phone waits with a deadline");
    assert!(deadline <= start + Duration::from_secs(30));
    device.handle_timeout(deadline + Duration::from_millis(1));
    let events: Vec<PhoneEvent> = std::iter::from_fn(|| device.poll_event()).collect();
    assert!(
        events.iter().any(|e| matches!(e, PhoneEvent::Failed(_))),
        "{events:?}"
    );
    assert!(!device.phone().in_session());
}

#[test]
fn a_phone_of_the_syncml_1_1_generation_refuses_a_binary_san_and_stays_connected() {
    let profile = DeviceProfile::builtin("sonyericsson-k750i").unwrap();
    assert!(!profile.binary_san);
    let phone = EmulatedPhone::new(
        profile.clone(),
        generate(&profile, &small_set(&profile)),
        PhoneConfig::default(),
    );
    let now = Instant::now();
    let mut device = PcStartsObex::new(
        phone,
        ObexServerConfig {
            max_packet_length: PACKET,
            ..ObexServerConfig::default()
        },
        now,
        UnixMillis(1_160_000_000_000),
    );
    let mut client = SyncmlClient::new(ObexClientConfig {
        max_packet_length: PACKET,
        ..ObexClientConfig::default()
    });
    client.connect(now).unwrap();
    let san = San::new(
        "PC Suite",
        1,
        vec![SanSync {
            sync_type: SyncType::TwoWay,
            future_use: 0,
            content_type: 0x07,
            server_uri: "Contact".into(),
        }],
    )
    .encode()
    .unwrap();
    let mut refused = None;
    let mut phone_said = None;
    let mut sent = false;
    for _ in 0..200 {
        while let Some(packet) = client.poll_transmit() {
            device.handle_input(now, &packet);
        }
        while let Some(packet) = device.poll_transmit() {
            client.handle_input(now, &packet);
        }
        while let Some(event) = client.poll_event() {
            match event {
                SyncmlEvent::Connected if !sent => {
                    sent = true;
                    client
                        .send(
                            now,
                            SyncmlMessage::new(SyncmlContentType::Notification, san.clone()),
                            true,
                        )
                        .unwrap();
                }
                SyncmlEvent::Error(e) => refused = Some(e.to_string()),
                _ => {}
            }
        }
        while let Some(event) = device.poll_event() {
            if let PhoneEvent::NotificationRefused(why) = event {
                phone_said = Some(why);
            }
        }
        if refused.is_some() {
            break;
        }
    }
    let refused = refused.expect("the GET is refused");
    assert!(refused.contains("Unsupported Media Type"), "{refused}");
    assert!(phone_said.unwrap().contains("no binary SAN"));
    assert!(
        client.is_ready(),
        "the connection stays up for the legacy form"
    );
}
