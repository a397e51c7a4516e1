//! The SyncML OBEX binding end to end in memory: a SyncmlClient against a SyncmlServer,
//! packets of at most 255 bytes moved one byte at a time, fake SyncML engines on both ends.
//!
//! - Phone starts: the "phone" is the client (PUT message, GET reply), handsync the server,
//!   whose engine hands each reply in only after the phone's GET is already waiting.
//! - PC starts: handsync is the client and opens with a signed SAN; the "phone" is the
//!   server, checks the SAN's digest, and answers with its first message.

use std::time::{Duration, Instant};

use handsync::machine::Machine;
use handsync::obex::{
    ObexClientConfig, ObexServerConfig, SyncmlClient, SyncmlContentType, SyncmlEvent,
    SyncmlMessage, SyncmlServer,
};
use handsync::syncml::san::{San, SanSync, SyncType, DEFAULT_SERVER_IDENTIFIER};

const MAX_PACKET: u16 = 255;

fn client() -> SyncmlClient {
    SyncmlClient::new(ObexClientConfig {
        max_packet_length: MAX_PACKET,
        max_object_size: 1024 * 1024,
        response_timeout: Some(Duration::from_secs(30)),
    })
}

fn server() -> SyncmlServer {
    SyncmlServer::new(ObexServerConfig {
        max_packet_length: MAX_PACKET,
        required_target: None,
        connection_id: 7,
        max_object_size: 1024 * 1024,
        idle_timeout: Some(Duration::from_secs(30)),
    })
}

/// Moves every queued packet across one byte at a time until both sides are quiet; returns
/// the number of packets moved.
fn pump(client: &mut SyncmlClient, server: &mut SyncmlServer, now: Instant) -> usize {
    let mut moved = 0;
    loop {
        let before = moved;
        while let Some(packet) = client.poll_transmit() {
            assert!(
                packet.len() <= MAX_PACKET as usize,
                "client packet of {}",
                packet.len()
            );
            for byte in &packet {
                server.handle_input(now, std::slice::from_ref(byte));
            }
            moved += 1;
        }
        while let Some(packet) = server.poll_transmit() {
            assert!(
                packet.len() <= MAX_PACKET as usize,
                "server packet of {}",
                packet.len()
            );
            for byte in &packet {
                client.handle_input(now, std::slice::from_ref(byte));
            }
            moved += 1;
        }
        if moved == before {
            return moved;
        }
    }
}

/// A SyncML-looking message: a WBXML or XML prefix, then `length` patterned bytes.
fn message(content_type: SyncmlContentType, seed: u8, length: usize) -> SyncmlMessage {
    let mut bytes = match content_type {
        SyncmlContentType::Xml => b"<SyncML>".to_vec(),
        _ => vec![0x02, 0xA4, 0x01, 0x6A],
    };
    bytes.extend((0..length).map(|index| (index as u8).wrapping_mul(31).wrapping_add(seed)));
    SyncmlMessage::new(content_type, bytes)
}

#[test]
fn phone_starts_and_handsync_answers_each_get_once_the_reply_is_ready() {
    let now = Instant::now();
    let mut phone = client();
    let mut handsync = server();
    let phone_messages = [
        message(SyncmlContentType::Wbxml, 1, 900),
        message(SyncmlContentType::Wbxml, 2, 1500),
        message(SyncmlContentType::Wbxml, 3, 300),
    ];
    // The PC's engine: one reply per message, twice the size.
    let mut pc_engine = |received: &SyncmlMessage| {
        message(
            received.content_type.clone(),
            received.bytes[5],
            received.bytes.len() * 2,
        )
    };
    let mut received_by_pc = Vec::new();
    let mut received_by_phone = Vec::new();
    let mut delayed_reply: Option<SyncmlMessage> = None;
    let (mut phone_ended, mut pc_ended) = (false, false);
    let mut packets = 0;

    phone.connect(now).expect("connects");
    for _ in 0..100 {
        packets += pump(&mut phone, &mut handsync, now);
        if let Some(reply) = delayed_reply.take() {
            // The phone's GET arrived first and waits; nothing went out meanwhile.
            assert!(handsync.obex().is_get_pending());
            handsync.send_reply(reply).expect("no reply queued");
        }
        while let Some(event) = handsync.poll_event() {
            match event {
                SyncmlEvent::Connected => {}
                SyncmlEvent::MessageReceived(received) => {
                    delayed_reply = Some(pc_engine(&received));
                    received_by_pc.push(received);
                }
                SyncmlEvent::SessionEnded => pc_ended = true,
                other => panic!("handsync: unexpected {other:?}"),
            }
        }
        while let Some(event) = phone.poll_event() {
            match event {
                SyncmlEvent::Connected => phone
                    .send(now, phone_messages[0].clone(), true)
                    .expect("sends"),
                SyncmlEvent::MessageReceived(reply) => {
                    received_by_phone.push(reply);
                    match phone_messages.get(received_by_phone.len()) {
                        Some(next) => phone.send(now, next.clone(), true).expect("sends"),
                        None => phone.disconnect(now).expect("disconnects"),
                    }
                }
                SyncmlEvent::SessionEnded => phone_ended = true,
                other => panic!("phone: unexpected {other:?}"),
            }
        }
        if phone_ended && pc_ended {
            break;
        }
    }
    assert!(phone_ended && pc_ended, "the session did not end");
    assert_eq!(received_by_pc, phone_messages);
    let expected_replies: Vec<SyncmlMessage> = phone_messages.iter().map(&mut pc_engine).collect();
    assert_eq!(received_by_phone, expected_replies);
    assert!(
        packets > 40,
        "everything went multi-packet ({packets} packets)"
    );
}

#[test]
fn pc_starts_with_a_san_and_the_phone_answers() {
    let now = Instant::now();
    let password = b"phone-password";
    let nonce = b"\x00\x01nonce";
    let mut handsync = client();
    let mut phone = server();
    let mut notification = San::new(
        DEFAULT_SERVER_IDENTIFIER,
        42,
        vec![
            SanSync {
                sync_type: SyncType::TwoWay,
                future_use: 0,
                content_type: 0x07,
                server_uri: "Contacts".into(),
            },
            SanSync {
                sync_type: SyncType::TwoWay,
                future_use: 0,
                content_type: 0x06,
                server_uri: "Calendar".into(),
            },
        ],
    );
    let san_bytes = notification
        .encode_signed(password, nonce)
        .expect("encodes");

    // The phone: checks the SAN, then one message per reply; two rounds after the SAN.
    let phone_messages = [
        message(SyncmlContentType::Xml, 10, 1200),
        message(SyncmlContentType::Xml, 11, 700),
    ];
    let pc_replies = [
        message(SyncmlContentType::Xml, 20, 2000),
        message(SyncmlContentType::Xml, 21, 500),
    ];
    let mut received_by_phone = Vec::new();
    let mut received_by_pc = Vec::new();
    let (mut pc_ended, mut phone_ended, mut final_sent) = (false, false, false);

    handsync.connect(now).expect("connects");
    for _ in 0..100 {
        pump(&mut handsync, &mut phone, now);
        while let Some(event) = phone.poll_event() {
            match event {
                SyncmlEvent::Connected => {}
                SyncmlEvent::MessageReceived(received) => {
                    if received.content_type == SyncmlContentType::Notification {
                        let san = San::decode(&received.bytes).expect("a SAN");
                        assert_eq!(san.header.server_identifier, "PC Suite");
                        assert_eq!(san.header.session_id, 42);
                        assert_eq!(
                            San::verify_digest(&received.bytes, password, nonce),
                            Ok(true)
                        );
                        assert_eq!(
                            San::verify_digest(&received.bytes, b"guess", nonce),
                            Ok(false)
                        );
                    }
                    received_by_phone.push(received);
                    if let Some(next) = phone_messages.get(received_by_phone.len() - 1) {
                        // Replied before the GET arrives: queued until then.
                        phone.send_reply(next.clone()).expect("no reply queued");
                    }
                }
                SyncmlEvent::SessionEnded => phone_ended = true,
                other => panic!("phone: unexpected {other:?}"),
            }
        }
        while let Some(event) = handsync.poll_event() {
            match event {
                SyncmlEvent::Connected => handsync
                    .send(
                        now,
                        SyncmlMessage::new(SyncmlContentType::Notification, san_bytes.clone()),
                        true,
                    )
                    .expect("sends the SAN"),
                SyncmlEvent::MessageReceived(received) => {
                    received_by_pc.push(received);
                    let reply = pc_replies[received_by_pc.len() - 1].clone();
                    // The last reply closes the SyncML session: no GET after it.
                    let expect_reply = received_by_pc.len() < phone_messages.len();
                    final_sent = !expect_reply;
                    handsync.send(now, reply, expect_reply).expect("sends");
                }
                SyncmlEvent::MessageSent => {
                    assert!(final_sent);
                    handsync.disconnect(now).expect("disconnects");
                }
                SyncmlEvent::SessionEnded => pc_ended = true,
                other => panic!("handsync: unexpected {other:?}"),
            }
        }
        if pc_ended && phone_ended {
            break;
        }
    }
    assert!(pc_ended && phone_ended, "the session did not end");
    assert_eq!(received_by_pc, phone_messages);
    let mut expected_by_phone = vec![SyncmlMessage::new(
        SyncmlContentType::Notification,
        san_bytes,
    )];
    expected_by_phone.extend(pc_replies);
    assert_eq!(received_by_phone, expected_by_phone);
}

#[test]
fn busy_phone_fails_the_connect_with_peer_busy() {
    let now = Instant::now();
    let mut handsync = client();
    handsync.connect(now).expect("connects");
    handsync.poll_transmit().expect("CONNECT");
    // A phone in a call answers 0xD3 Service Unavailable, CONNECT fields included.
    handsync.handle_input(now, &[0xD3, 0x00, 0x07, 0x10, 0x00, 0x00, 0xFF]);
    match handsync.poll_event() {
        Some(SyncmlEvent::Error(error)) => {
            assert!(error.to_string().contains("the phone is busy"), "{error}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
}
