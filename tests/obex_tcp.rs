//! SyncML over OBEX on TCP, the phone starting: the scripted phone's messages carried by the
//! OBEX client machine over a real socket to `handsync serve`'s OBEX-TCP listener (daemon,
//! hub, engine, database file). Small OBEX packets, so every message spans several PUT and GET
//! packets.

#![allow(clippy::useless_conversion)] // model values built with `.into()` (see engine_phone)

mod engine_phone;
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use engine_phone::*;
use handsync::daemon::{Daemon, Settings};
use handsync::engine::{Reply, ServerConfig};
use handsync::machine::Machine;
use handsync::markup::Version;
use handsync::obex::{
    ObexClientConfig, SyncmlClient, SyncmlContentType, SyncmlEvent, SyncmlMessage,
};
use handsync::store::{SessionResult, Store};
use handsync::syncml::{self, sniff_encoding, AlertCode, Encoding};

struct ObexTcpWire {
    daemon: Option<Daemon>,
    address: SocketAddr,
    server: Server,
    packet: u16,
}

impl ObexTcpWire {
    fn start(name: &str, packet: u16) -> ObexTcpWire {
        let dir = support::scratch_dir(name);
        let db = dir.join("handsync.db");
        let daemon = Daemon::start(
            Store::open(&db).unwrap(),
            Settings {
                server: ServerConfig::default(),
                http_listen: Vec::new(),
                obex_tcp_listen: vec!["127.0.0.1:0".parse().unwrap()],
                idle_timeout: Duration::from_secs(300),
                limits: Default::default(),
                cluster: Default::default(),
                trusted_proxies: Default::default(),
            },
        )
        .unwrap();
        let address = daemon.obex_tcp_addresses()[0];
        let mut server = Server::with_store(Store::open(&db).unwrap(), ServerConfig::default());
        server.transport = "obex-tcp".into();
        ObexTcpWire {
            daemon: Some(daemon),
            address,
            server,
            packet,
        }
    }

    fn stop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            daemon.shutdown();
        }
    }
}

struct Link {
    stream: TcpStream,
    client: SyncmlClient,
    disconnect: bool,
}

impl Link {
    /// Moves packets both ways until an event arrives.
    fn next_event(&mut self) -> Option<SyncmlEvent> {
        let mut buffer = [0u8; 4096];
        loop {
            while let Some(packet) = self.client.poll_transmit() {
                self.stream.write_all(&packet).unwrap();
            }
            if let Some(event) = self.client.poll_event() {
                return Some(event);
            }
            match self.stream.read(&mut buffer) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.client.handle_input(Instant::now(), &buffer[..n]),
            }
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // A phone that finished says goodbye; one that is cut just goes away.
        if self.disconnect && self.client.disconnect(Instant::now()).is_ok() {
            while let Some(event) = self.next_event() {
                if event == SyncmlEvent::SessionEnded {
                    break;
                }
            }
        }
    }
}

impl Wire for ObexTcpWire {
    type Conversation = Link;

    fn open(&mut self) -> Link {
        let stream = TcpStream::connect(self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut link = Link {
            stream,
            client: SyncmlClient::new(ObexClientConfig {
                max_packet_length: self.packet,
                max_object_size: 1024 * 1024,
                response_timeout: Some(Duration::from_secs(60)),
            }),
            disconnect: true,
        };
        link.client.connect(Instant::now()).unwrap();
        assert_eq!(link.next_event(), Some(SyncmlEvent::Connected));
        link
    }

    fn send(&mut self, link: &mut Link, bytes: &[u8]) -> Option<Reply> {
        let content_type = match sniff_encoding(bytes) {
            Encoding::Wbxml => SyncmlContentType::Wbxml,
            Encoding::Xml => SyncmlContentType::Xml,
        };
        link.client
            .send(
                Instant::now(),
                SyncmlMessage::new(content_type.clone(), bytes.to_vec()),
                true,
            )
            .unwrap();
        loop {
            match link.next_event()? {
                SyncmlEvent::MessageReceived(reply) => {
                    assert_eq!(reply.content_type, content_type, "answered in kind");
                    return Some(reply_from_wire(reply.bytes));
                }
                SyncmlEvent::Error(error) => panic!("OBEX error: {error}"),
                _ => {}
            }
        }
    }

    fn cut(&mut self, link: &mut Link) {
        link.disconnect = false;
        let _ = link.stream.shutdown(std::net::Shutdown::Both);
    }
}

#[test]
fn sessions_over_obex_tcp_in_both_encodings_with_small_packets() {
    for (encoding, version) in [
        (Encoding::Wbxml, Version::V1_1),
        (Encoding::Xml, Version::V1_2),
    ] {
        let mut wire = ObexTcpWire::start(&format!("obex-{encoding:?}"), 255);
        let pc = wire.server.add_contact(&vcard(100));
        let mut phone = Phone::new(version, encoding);
        phone.max_msg_size = 3000;
        phone.items_per_message = 3;
        for n in 0..15 {
            phone.add(&vcard(n));
        }
        let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
        assert!(outcome.completed, "{encoding:?}");
        assert_eq!(wire.server.contacts().len(), 16);
        assert_eq!(phone.keys(), wire.server.contact_keys());

        wire.server
            .replace_contact(pc, &vcard(100).replace("Test Person100", "Changed On Pc"));
        let first = phone.items.keys().next().unwrap().clone();
        phone.remove(&first);
        let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
        assert!(outcome.completed);
        assert_eq!(outcome.received.len(), 1, "{:?}", outcome.received);
        assert_eq!(phone.keys(), wire.server.contact_keys());

        wire.stop();
        let sessions = wire.server.store.read(|tx| tx.sessions(None, 10)).unwrap();
        assert_eq!(sessions.len(), 2);
        assert!(sessions
            .iter()
            .all(|s| s.result == SessionResult::Completed && s.transport == "obex-tcp"));
    }
}

#[test]
fn a_connection_dropped_after_any_message_is_recorded_as_cut_and_the_next_sync_converges() {
    let setup = |wire: &mut ObexTcpWire| {
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
    };
    let mut wire = ObexTcpWire::start("obex-cut-full", 512);
    let mut phone = setup(&mut wire);
    let full = phone.sync(&mut wire, AlertCode::TwoWay, None);
    assert!(full.completed);
    for cut in 1..full.messages_sent {
        let mut wire = ObexTcpWire::start(&format!("obex-cut-{cut}"), 512);
        let mut phone = setup(&mut wire);
        let outcome = phone.sync(&mut wire, AlertCode::TwoWay, Some(cut));
        assert!(!outcome.completed, "cut {cut}");
        let outcome = phone.sync(&mut wire, AlertCode::TwoWay, None);
        assert!(outcome.completed, "after cut {cut}");
        assert_eq!(
            wire.server.contacts().len(),
            9,
            "cut {cut}: no loss, no duplicate"
        );
        assert_eq!(phone.keys(), wire.server.contact_keys(), "cut {cut}");
        wire.stop();
        let sessions = wire.server.store.read(|tx| tx.sessions(None, 10)).unwrap();
        assert_eq!(sessions.len(), 2, "cut {cut}");
        // Newest first: the cut one is the older.
        assert_eq!(sessions[1].result, SessionResult::Cut, "cut {cut}");
        assert_eq!(sessions[0].result, SessionResult::Completed, "cut {cut}");
    }
}

#[test]
fn garbage_in_a_put_gets_its_get_refused_and_the_connection_goes_on() {
    let mut wire = ObexTcpWire::start("obex-garbage", 1024);
    let mut link = wire.open();
    link.client
        .send(
            Instant::now(),
            SyncmlMessage::new(SyncmlContentType::Wbxml, b"\x02\x9f\x53\x6a\xff".to_vec()),
            true,
        )
        .unwrap();
    match link.next_event() {
        Some(SyncmlEvent::Error(error)) => {
            assert!(error.to_string().contains("Bad Request"), "{error}")
        }
        other => panic!("expected the GET refused, got {other:?}"),
    }
    // The same connection then carries a whole session.
    let mut phone = Phone::new(Version::V1_2, Encoding::Wbxml);
    phone.add(&vcard(1));
    let hello = encode(&phone.first_message(AlertCode::TwoWay), Encoding::Wbxml);
    let reply = wire.send(&mut link, &hello).expect("an answer");
    assert_eq!(header_status(&reply.message).data, syncml::StatusCode::Ok);
}
