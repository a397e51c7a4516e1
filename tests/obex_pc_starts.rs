//! The PC starts: handsync's `call_phone` (OBEX client, SAN, then the SyncML session answered
//! by the hub) over a real TCP socket to a phone made of the OBEX server machine and the
//! scripted SyncML client. SAN 1.2, the fallback to the legacy SyncML 1.1 notification, and a
//! phone that refuses both.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_phone::*;
use handsync::daemon::hub::{Hub, HubOptions};
use handsync::engine::{Reply, ServerConfig};
use handsync::machine::Machine;
use handsync::markup::Version;
use handsync::obex::{
    ObexServerConfig, ResponseCode, SyncmlContentType, SyncmlEvent, SyncmlMessage, SyncmlServer,
};
use handsync::store::{SessionResult, Store};
use handsync::syncml::san::{San, SanSync, SyncType};
use handsync::syncml::{self, sniff_encoding, AlertCode, Encoding};
use handsync::transport::obex::{
    call_phone, CallError, CallOptions, CallReport, SanChoice, SanSent,
};

/// How the phone takes notifications.
#[derive(Clone, Copy, PartialEq)]
enum Accepts {
    Both,
    LegacyOnly,
    Neither,
}

/// The phone's end of the socket.
struct PhoneEnd {
    stream: TcpStream,
    machine: SyncmlServer,
}

impl PhoneEnd {
    fn next_event(&mut self) -> Option<SyncmlEvent> {
        let mut buffer = [0u8; 4096];
        loop {
            while let Some(packet) = self.machine.poll_transmit() {
                if self.stream.write_all(&packet).is_err() {
                    return None;
                }
            }
            if let Some(event) = self.machine.poll_event() {
                return Some(event);
            }
            match self.stream.read(&mut buffer) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.machine.handle_input(Instant::now(), &buffer[..n]),
            }
        }
    }

    fn next_message(&mut self) -> Option<SyncmlMessage> {
        loop {
            match self.next_event()? {
                SyncmlEvent::MessageReceived(message) => return Some(message),
                SyncmlEvent::SessionEnded => return None,
                _ => {}
            }
        }
    }
}

/// The phone side: waits for handsync's call, checks the notification, then lets the scripted
/// phone run its session (its messages answer handsync's GETs).
struct PcCalls {
    listener: TcpListener,
    accepts: Accepts,
    /// The notifications that arrived, decoded.
    notifications: Vec<San>,
}

impl Wire for PcCalls {
    type Conversation = PhoneEnd;

    fn open(&mut self) -> PhoneEnd {
        let (stream, _) = self.listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut phone = PhoneEnd {
            stream,
            machine: SyncmlServer::new(ObexServerConfig {
                max_packet_length: 512,
                ..ObexServerConfig::default()
            }),
        };
        assert_eq!(phone.next_event(), Some(SyncmlEvent::Connected));
        loop {
            let notification = phone.next_message().expect("a notification");
            let (san, legacy) = match notification.content_type {
                SyncmlContentType::Notification => {
                    (San::decode(&notification.bytes).expect("a SAN 1.2"), false)
                }
                SyncmlContentType::Wbxml => {
                    let message = syncml::decode(&notification.bytes).unwrap();
                    (
                        San::from_legacy_message(&message).expect("a legacy notification"),
                        true,
                    )
                }
                other => panic!("unexpected {other:?}"),
            };
            self.notifications.push(san);
            let accepted = match self.accepts {
                Accepts::Both => true,
                Accepts::LegacyOnly => legacy,
                Accepts::Neither => false,
            };
            if accepted {
                return phone;
            }
            phone
                .machine
                .refuse_reply(ResponseCode::UnsupportedMediaType)
                .unwrap();
            if legacy || self.accepts == Accepts::Neither && self.notifications.len() == 2 {
                // Nothing more will come but DISCONNECT.
                while phone.next_event().is_some() {}
                return phone;
            }
        }
    }

    fn send(&mut self, phone: &mut PhoneEnd, bytes: &[u8]) -> Option<Reply> {
        let content_type = match sniff_encoding(bytes) {
            Encoding::Wbxml => SyncmlContentType::Wbxml,
            Encoding::Xml => SyncmlContentType::Xml,
        };
        phone
            .machine
            .send_reply(SyncmlMessage::new(content_type, bytes.to_vec()))
            .unwrap();
        let answer = phone.next_message()?;
        let reply = reply_from_wire(answer.bytes);
        if reply.session_finished {
            // handsync sends its last answer without a GET, then DISCONNECT.
            while phone.next_event().is_some() {}
        }
        Some(reply)
    }

    fn cut(&mut self, phone: &mut PhoneEnd) {
        let _ = phone.stream.shutdown(std::net::Shutdown::Both);
    }
}

struct Pc {
    db: std::path::PathBuf,
    thread: std::thread::JoinHandle<Result<CallReport, CallError>>,
}

/// handsync calls the phone at `address` from its own thread, as `handsync sync` does.
fn call(db: &std::path::Path, address: std::net::SocketAddr, choice: SanChoice) -> Pc {
    let db = db.to_path_buf();
    let store = Store::open(&db).unwrap();
    let thread = std::thread::spawn(move || {
        let hub = Hub::start(
            store,
            Arc::new(ServerConfig::default()),
            HubOptions {
                idle_timeout: Duration::from_secs(300),
                ..HubOptions::default()
            },
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let san = San::new(
            "PC Suite",
            7,
            vec![SanSync {
                sync_type: SyncType::TwoWay,
                future_use: 0,
                content_type: 0x07,
                server_uri: "Contacts".into(),
            }],
        );
        let options = CallOptions {
            san,
            choice,
            san_password: Vec::new(),
            san_nonce: Vec::new(),
            max_packet_length: 1024,
            max_object_size: 1024 * 1024,
            response_timeout: Duration::from_secs(60),
        };
        let result = runtime.block_on(async {
            let stream = tokio::net::TcpStream::connect(address).await.unwrap();
            call_phone(stream, hub.handle(), "obex-tcp", &options).await
        });
        hub.shutdown();
        result
    });
    Pc { db, thread }
}

fn phone_side() -> (PcCalls, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    (
        PcCalls {
            listener,
            accepts: Accepts::Both,
            notifications: Vec::new(),
        },
        address,
    )
}

#[test]
fn the_pc_calls_with_san_1_2_and_the_whole_session_follows() {
    let dir = support::scratch_dir("pc-starts");
    let (mut wire, address) = phone_side();
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    phone.max_msg_size = 2000;
    phone.items_per_message = 3;
    for n in 0..10 {
        phone.add(&vcard(n));
    }
    let pc = call(&dir.join("db"), address, SanChoice::Auto);
    let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    let report = pc.thread.join().unwrap().expect("the call succeeds");
    assert_eq!(report.san, SanSent::V1_2);
    assert!(report.completed);
    assert_eq!(report.messages_received, outcome.messages_sent);

    let san = &wire.notifications[0];
    assert_eq!(san.header.server_identifier, "PC Suite");
    assert_eq!(san.header.session_id, 7);
    assert_eq!(san.syncs[0].server_uri, "Contacts");
    assert_eq!(san.syncs[0].sync_type, SyncType::TwoWay);
    assert!(San::verify_digest(&san.encode().unwrap(), b"", b"").unwrap());

    let mut server = Server::with_store(Store::open(&pc.db).unwrap(), ServerConfig::default());
    assert_eq!(server.contact_keys(), phone.keys());
    let sessions = server.store.read(|tx| tx.sessions(None, 10)).unwrap();
    assert_eq!(sessions[0].result, SessionResult::Completed);
    assert_eq!(sessions[0].transport, "obex-tcp");
}

#[test]
fn a_phone_that_refuses_san_1_2_gets_the_legacy_notification() {
    let dir = support::scratch_dir("pc-starts-legacy");
    let (mut wire, address) = phone_side();
    wire.accepts = Accepts::LegacyOnly;
    let mut phone = Phone::new(Version::V1_1, Encoding::Wbxml);
    phone.add(&vcard(1));
    let pc = call(&dir.join("db"), address, SanChoice::Auto);
    let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
    assert!(outcome.completed);
    let report = pc.thread.join().unwrap().expect("the call succeeds");
    assert_eq!(report.san, SanSent::Legacy);
    assert_eq!(wire.notifications.len(), 2);
    assert_eq!(wire.notifications[1].header.server_identifier, "PC Suite");
    assert_eq!(wire.notifications[1].syncs[0].server_uri, "Contacts");
    assert_eq!(wire.notifications[1].syncs[0].sync_type, SyncType::TwoWay);
    let mut server = Server::with_store(Store::open(&pc.db).unwrap(), ServerConfig::default());
    assert_eq!(server.contacts().len(), 1);
}

#[test]
fn a_phone_that_refuses_every_notification_gets_a_clear_error() {
    let dir = support::scratch_dir("pc-starts-refused");
    let (mut wire, address) = phone_side();
    wire.accepts = Accepts::Neither;
    let pc = call(&dir.join("db"), address, SanChoice::Auto);
    let _phone_end = wire.open();
    let error = pc.thread.join().unwrap().expect_err("refused");
    let text = error.to_string();
    assert!(matches!(error, CallError::SanRefused { ref tried } if tried.len() == 2));
    assert!(
        text.contains("SAN 1.2") && text.contains("legacy"),
        "{text}"
    );
    assert!(text.contains("Unsupported Media Type"), "{text}");
}
