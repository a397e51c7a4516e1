//! Truncated and corrupted OBEX packets and SANs: decoders return errors, never panic, and
//! the server machine never holds more than one packet of its maximum length.

mod support;

use std::time::Instant;

use handsync::machine::Machine;
use handsync::obex::{
    describe, Header, ObexClient, ObexClientConfig, ObexServer, ObexServerConfig, Opcode, Request,
    Response, ResponseTo, SyncmlServer, SYNCML_TARGET,
};
use handsync::syncml::san::{self, San};

const FLIPS: usize = 10_000;
const SERVER_MAX: u16 = 255;

fn corpus_file(name: &str) -> Vec<u8> {
    support::corpus_file(&format!("obex/{name}"))
}

fn obex_samples() -> Vec<(String, Vec<u8>)> {
    let mut samples: Vec<(String, Vec<u8>)> = [
        "buteo-obexresp01.bin",
        "buteo-obexresp02.bin",
        "buteo-obexresp03.bin",
    ]
    .iter()
    .map(|name| (name.to_string(), corpus_file(name)))
    .collect();
    // Requests too, so that the server's request paths see corruption.
    let connect = Request::connect(0x0400, vec![Header::Target(SYNCML_TARGET.to_vec())]);
    let put = Request::new(
        Opcode::Put { is_final: true },
        vec![
            Header::ConnectionId(1),
            Header::Name(Some("m".into())),
            Header::Type(b"application/vnd.syncml+wbxml".to_vec()),
            Header::Length(4),
            Header::EndOfBody(vec![0x02, 0xA4, 0x01, 0x6A]),
        ],
    );
    samples.push(("CONNECT".into(), connect.encode().expect("encodes")));
    samples.push(("PUT".into(), put.encode().expect("encodes")));
    samples
}

fn san_samples() -> Vec<Vec<u8>> {
    vec![
        corpus_file("buteo-SAN01.bin"),
        corpus_file("buteo-SAN02.bin"),
    ]
}

/// Decoding is stable: whatever decodes, encodes, and decodes again to the same value.
fn check_obex_decoders(bytes: &[u8]) {
    if let Ok(request) = Request::decode(bytes) {
        let encoded = request.encode().expect("a decoded request encodes");
        assert_eq!(Request::decode(&encoded).as_ref(), Ok(&request));
    }
    for answers in [ResponseTo::Connect, ResponseTo::Other] {
        if let Ok(response) = Response::decode(bytes, answers) {
            let encoded = response.encode().expect("a decoded response encodes");
            assert_eq!(Response::decode(&encoded, answers).as_ref(), Ok(&response));
        }
    }
    let _ = describe(bytes);
}

/// A SAN that decodes re-encodes to exactly its bytes.
fn check_san_decoder(bytes: &[u8]) {
    if let Ok(decoded) = San::decode(bytes) {
        assert_eq!(decoded.encode().expect("a decoded SAN encodes"), bytes);
    }
    let _ = san::describe(bytes);
}

fn server_config() -> ObexServerConfig {
    ObexServerConfig {
        max_packet_length: SERVER_MAX,
        required_target: Some(SYNCML_TARGET.to_vec()),
        ..ObexServerConfig::default()
    }
}

/// Feeds bytes one at a time; checks the bound on buffering and that every response fits
/// the peer's maximum and decodes.
fn feed_server(server: &mut ObexServer, bytes: &[u8]) {
    let now = Instant::now();
    for byte in bytes {
        server.handle_input(now, std::slice::from_ref(byte));
        assert!(server.buffered_len() <= SERVER_MAX as usize);
        while let Some(response) = server.poll_transmit() {
            assert!(response.len() <= server.peer_max_packet_length().max(255) as usize);
            let decodes = Response::decode(&response, ResponseTo::Other).is_ok()
                || Response::decode(&response, ResponseTo::Connect).is_ok();
            assert!(
                decodes,
                "the server sent an undecodable response {response:02x?}"
            );
        }
        while server.poll_event().is_some() {}
    }
}

#[test]
fn every_prefix_of_an_obex_packet_is_an_error() {
    for (name, packet) in obex_samples() {
        for length in 0..packet.len() {
            let prefix = &packet[..length];
            assert!(
                Request::decode(prefix).is_err(),
                "{name}[..{length}] as a request"
            );
            assert!(
                Response::decode(prefix, ResponseTo::Other).is_err(),
                "{name}[..{length}] as a response"
            );
            check_obex_decoders(prefix);
            let mut server = ObexServer::new(server_config());
            feed_server(&mut server, prefix);
        }
    }
}

#[test]
fn every_prefix_of_a_san_is_an_error() {
    for san_bytes in san_samples() {
        for length in 0..san_bytes.len() {
            assert!(
                San::decode(&san_bytes[..length]).is_err(),
                "prefix of {length} bytes"
            );
            check_san_decoder(&san_bytes[..length]);
        }
    }
}

fn mutate(rng: &mut support::XorShift, original: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..1 + rng.below(3) {
        let position = rng.below(bytes.len());
        let flip = 1 + rng.below(255) as u8;
        bytes[position] ^= flip;
    }
    bytes
}

#[test]
fn flipped_obex_packets_never_panic_nor_overfill_the_server() {
    let mut rng = support::XorShift(0x9E37_79B9_7F4A_7C15);
    for (_, packet) in obex_samples() {
        // One long-lived server sees every corrupted packet in a row: it must stay in step.
        let mut streaming_server = ObexServer::new(server_config());
        let mut syncml_server = SyncmlServer::new(server_config());
        for _ in 0..FLIPS {
            let corrupted = mutate(&mut rng, &packet);
            check_obex_decoders(&corrupted);
            let mut fresh_server = ObexServer::new(server_config());
            feed_server(&mut fresh_server, &corrupted);
            feed_server(&mut streaming_server, &corrupted);
            for byte in &corrupted {
                syncml_server.handle_input(Instant::now(), std::slice::from_ref(byte));
                assert!(syncml_server.obex().buffered_len() <= SERVER_MAX as usize);
            }
            while syncml_server.poll_transmit().is_some() {}
            while syncml_server.poll_event().is_some() {}
        }
    }
}

#[test]
fn flipped_sans_never_panic_and_re_encode_exactly() {
    let mut rng = support::XorShift(0x2545_F491_4F6C_DD1D);
    let mut decoded = 0;
    for san_bytes in san_samples() {
        for _ in 0..FLIPS {
            let corrupted = mutate(&mut rng, &san_bytes);
            check_san_decoder(&corrupted);
            if San::decode(&corrupted).is_ok() {
                decoded += 1;
            }
            // Corrupted SANs fed to a server as if they were OBEX.
            let mut server = ObexServer::new(server_config());
            feed_server(&mut server, &corrupted);
        }
    }
    // Flips in the digest or the text leave a decodable SAN: the check above did run.
    assert!(
        decoded > FLIPS / 10,
        "only {decoded} corrupted SANs decoded"
    );
}

/// A client connected to a peer with a 65535-byte maximum, waiting for a GET response.
fn client_awaiting_get(now: Instant) -> ObexClient {
    let mut client = ObexClient::new(ObexClientConfig {
        max_packet_length: SERVER_MAX,
        ..ObexClientConfig::default()
    });
    client.connect(now, Vec::new()).expect("connects");
    client.poll_transmit().expect("CONNECT");
    client.handle_input(now, &[0xA0, 0x00, 0x07, 0x10, 0x00, 0x00, 0xFF]);
    while client.poll_event().is_some() {}
    client.get(now, Vec::new()).expect("gets");
    client.poll_transmit().expect("GET");
    client
}

#[test]
fn flipped_responses_never_panic_nor_overfill_the_client() {
    let mut rng = support::XorShift(0xD1B5_4A32_D192_ED03);
    let now = Instant::now();
    for (_, packet) in obex_samples() {
        for _ in 0..FLIPS / 10 {
            let corrupted = mutate(&mut rng, &packet);
            let mut client = client_awaiting_get(now);
            for byte in &corrupted {
                client.handle_input(now, std::slice::from_ref(byte));
                assert!(client.buffered_len() <= SERVER_MAX as usize);
                while let Some(request) = client.poll_transmit() {
                    assert!(request.len() <= client.peer_max_packet_length() as usize);
                    assert!(Request::decode(&request).is_ok());
                }
                while client.poll_event().is_some() {}
            }
        }
    }
}
