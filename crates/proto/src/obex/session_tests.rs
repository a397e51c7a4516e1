//! The client and server machines against each other and against raw bytes.

use std::time::{Duration, Instant};

use super::client::{ClientError, ClientEvent, ObexClient, ObexClientConfig, OperationKind};
use super::codes::{Opcode, ResponseCode};
use super::header::Header;
use super::packet::{Request, Response, ResponseTo};
use super::server::{GetAnswer, ObexServer, ObexServerConfig, Refusal, ServerEvent};
use crate::machine::Machine;

const TARGET: &[u8] = b"SYNCML-SYNC";

fn server_config(max_packet_length: u16) -> ObexServerConfig {
    ObexServerConfig {
        max_packet_length,
        required_target: Some(TARGET.to_vec()),
        connection_id: 0x0102_0304,
        max_object_size: 64 * 1024,
        idle_timeout: Some(Duration::from_secs(30)),
    }
}

fn client_config(max_packet_length: u16) -> ObexClientConfig {
    ObexClientConfig {
        max_packet_length,
        max_object_size: 64 * 1024,
        response_timeout: Some(Duration::from_secs(30)),
    }
}

/// Moves every queued packet across, one byte at a time, until both sides are quiet;
/// checks packet sizes against each side's announced maximum. Returns the packets sent
/// by the client and by the server.
fn pump(client: &mut ObexClient, server: &mut ObexServer, now: Instant) -> (usize, usize) {
    let (mut from_client, mut from_server) = (0, 0);
    loop {
        let mut moved = false;
        while let Some(packet) = client.poll_transmit() {
            assert!(packet.len() <= client.peer_max_packet_length().max(255) as usize);
            from_client += 1;
            for byte in &packet {
                server.handle_input(now, std::slice::from_ref(byte));
                assert!(server.buffered_len() <= server.config().max_packet_length as usize);
            }
            moved = true;
        }
        while let Some(packet) = server.poll_transmit() {
            assert!(packet.len() <= server.peer_max_packet_length() as usize);
            from_server += 1;
            for byte in &packet {
                client.handle_input(now, std::slice::from_ref(byte));
            }
            moved = true;
        }
        if !moved {
            return (from_client, from_server);
        }
    }
}

fn client_events(client: &mut ObexClient) -> Vec<ClientEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

fn server_events(server: &mut ObexServer) -> Vec<ServerEvent> {
    std::iter::from_fn(|| server.poll_event()).collect()
}

fn connected_pair(client_max: u16, server_max: u16) -> (ObexClient, ObexServer, Instant) {
    let now = Instant::now();
    let mut client = ObexClient::new(client_config(client_max));
    let mut server = ObexServer::new(server_config(server_max));
    client
        .connect(now, vec![Header::Target(TARGET.to_vec())])
        .expect("idle client connects");
    pump(&mut client, &mut server, now);
    assert_eq!(
        client_events(&mut client),
        vec![ClientEvent::Connected {
            peer_max_packet_length: server_max,
            connection_id: Some(0x0102_0304),
            who: Some(TARGET.to_vec()),
        }]
    );
    assert_eq!(
        server_events(&mut server),
        vec![ServerEvent::Connected {
            target: Some(TARGET.to_vec()),
            peer_max_packet_length: client_max,
        }]
    );
    (client, server, now)
}

fn raw_exchange(server: &mut ObexServer, request: &[u8]) -> Vec<u8> {
    server.handle_input(Instant::now(), request);
    server.poll_transmit().expect("a response")
}

fn connect_raw(server: &mut ObexServer) {
    let connect = Request::connect(255, vec![Header::Target(TARGET.to_vec())])
        .encode()
        .expect("encodes");
    let response = raw_exchange(server, &connect);
    assert_eq!(response[0], 0xA0);
}

#[test]
fn connect_negotiates_both_maximum_packet_lengths() {
    let (client, server, _) = connected_pair(255, 1000);
    assert_eq!(client.peer_max_packet_length(), 1000);
    assert_eq!(server.peer_max_packet_length(), 255);
    assert!(client.is_connected() && server.is_connected());
}

#[test]
fn connect_response_carries_connection_id_then_who() {
    let mut server = ObexServer::new(server_config(4096));
    let connect = Request::connect(0x4000, vec![Header::Target(TARGET.to_vec())])
        .encode()
        .expect("encodes");
    let wire = raw_exchange(&mut server, &connect);
    let response = Response::decode(&wire, ResponseTo::Connect).expect("decodes");
    assert_eq!(response.code, ResponseCode::Ok);
    assert_eq!(
        response.connect.map(|fields| fields.max_packet_length),
        Some(4096)
    );
    assert_eq!(
        response.headers,
        vec![
            Header::ConnectionId(0x0102_0304),
            Header::Who(TARGET.to_vec())
        ]
    );
}

#[test]
fn wrong_or_missing_target_is_not_found() {
    for headers in [vec![Header::Target(b"OBEXFTP".to_vec())], Vec::new()] {
        let now = Instant::now();
        let mut client = ObexClient::new(client_config(255));
        let mut server = ObexServer::new(server_config(255));
        client.connect(now, headers.clone()).expect("connects");
        pump(&mut client, &mut server, now);
        assert_eq!(
            client_events(&mut client),
            vec![ClientEvent::Failed {
                operation: OperationKind::Connect,
                error: ClientError::Refused(ResponseCode::NotFound),
            }]
        );
        let events = server_events(&mut server);
        assert!(matches!(
            events.as_slice(),
            [ServerEvent::Refused {
                code: ResponseCode::NotFound,
                reason: Refusal::WrongTarget(_)
            }]
        ));
        assert!(!client.is_connected());
    }
}

#[test]
fn connect_announcing_less_than_255_is_refused() {
    let mut server = ObexServer::new(server_config(255));
    let connect = Request::connect(254, vec![Header::Target(TARGET.to_vec())])
        .encode()
        .expect("encodes");
    let wire = raw_exchange(&mut server, &connect);
    assert_eq!(
        &wire[..3],
        &[0xC0, 0x00, 0x07],
        "Bad Request with CONNECT fields"
    );
    assert_eq!(
        server_events(&mut server),
        vec![ServerEvent::Refused {
            code: ResponseCode::BadRequest,
            reason: Refusal::MaxPacketLengthTooSmall(254)
        }]
    );
}

#[test]
fn client_refuses_a_peer_announcing_less_than_255() {
    let now = Instant::now();
    let mut client = ObexClient::new(client_config(255));
    client.connect(now, Vec::new()).expect("connects");
    client.poll_transmit().expect("CONNECT");
    client.handle_input(now, &[0xA0, 0x00, 0x07, 0x10, 0x00, 0x00, 0x80]);
    assert_eq!(
        client_events(&mut client),
        vec![ClientEvent::Failed {
            operation: OperationKind::Connect,
            error: ClientError::PeerMaxPacketLengthTooSmall(128)
        }]
    );
}

fn pattern(length: usize) -> Vec<u8> {
    (0..length).map(|index| (index * 7 % 251) as u8).collect()
}

#[test]
fn multi_packet_put_is_reassembled() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    let body = pattern(3000);
    client
        .put(
            now,
            vec![
                Header::Name(Some("contacts.vcf".into())),
                Header::Type(b"text/x-vcard".to_vec()),
                Header::Length(3000),
            ],
            Some(body.clone()),
        )
        .expect("puts");
    let (requests, responses) = pump(&mut client, &mut server, now);
    assert!(
        requests >= 13,
        "3000 bytes need at least 13 packets of 255, got {requests}"
    );
    assert_eq!(requests, responses);
    assert_eq!(
        client_events(&mut client),
        vec![ClientEvent::PutDone {
            headers: Vec::new()
        }]
    );
    match server_events(&mut server).as_slice() {
        [ServerEvent::PutReceived(object)] => {
            assert_eq!(object.body.as_deref(), Some(body.as_slice()));
            assert_eq!(object.name(), Some("contacts.vcf"));
            assert_eq!(object.media_type(), Some(&b"text/x-vcard"[..]));
            assert!(object.headers.contains(&Header::Length(3000)));
        }
        other => panic!("expected one PutReceived, got {other:?}"),
    }
}

#[test]
fn put_without_body_arrives_as_a_delete() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    client
        .put(now, vec![Header::Name(Some("old.vcf".into()))], None)
        .expect("puts");
    pump(&mut client, &mut server, now);
    match server_events(&mut server).as_slice() {
        [ServerEvent::PutReceived(object)] => assert_eq!(object.body, None),
        other => panic!("expected one PutReceived, got {other:?}"),
    }
}

#[test]
fn multi_packet_get_follows_continue_responses() {
    let (mut client, mut server, now) = connected_pair(255, 4096);
    client
        .get(now, vec![Header::Type(b"x-obex/folder-listing".to_vec())])
        .expect("gets");
    pump(&mut client, &mut server, now);
    assert_eq!(
        server_events(&mut server),
        vec![ServerEvent::GetRequested {
            headers: vec![Header::Type(b"x-obex/folder-listing".to_vec())]
        }]
    );
    assert!(server.is_get_pending());
    let body = pattern(2000);
    server
        .answer_get(GetAnswer::Object {
            headers: vec![Header::Length(2000)],
            body: body.clone(),
        })
        .expect("a GET is pending");
    let (requests, responses) = pump(&mut client, &mut server, now);
    assert!(
        responses >= 9,
        "2000 bytes in packets of 255 take 9, got {responses}"
    );
    assert_eq!(requests + 1, responses);
    assert_eq!(
        client_events(&mut client),
        vec![ClientEvent::GetDone {
            headers: vec![Header::Length(2000)],
            body
        }]
    );
}

#[test]
fn get_is_answered_only_once_the_object_is_handed_in() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    client.get(now, Vec::new()).expect("gets");
    pump(&mut client, &mut server, now);
    assert!(
        server.poll_transmit().is_none(),
        "nothing is sent before the answer"
    );
    assert!(client_events(&mut client).is_empty());
    assert!(matches!(
        server_events(&mut server).as_slice(),
        [ServerEvent::GetRequested { .. }]
    ));
    server
        .answer_get(GetAnswer::Object {
            headers: Vec::new(),
            body: b"late".to_vec(),
        })
        .expect("pending");
    pump(&mut client, &mut server, now);
    assert_eq!(
        client_events(&mut client),
        vec![ClientEvent::GetDone {
            headers: Vec::new(),
            body: b"late".to_vec()
        }]
    );
    assert_eq!(
        server.answer_get(GetAnswer::Refuse(ResponseCode::NotFound)),
        Err(super::server::ServerError::NoGetPending)
    );
}

#[test]
fn busy_phone_is_reported_as_peer_busy() {
    for code in [ResponseCode::ServiceUnavailable, ResponseCode::Forbidden] {
        let (mut client, mut server, now) = connected_pair(255, 255);
        client.get(now, Vec::new()).expect("gets");
        pump(&mut client, &mut server, now);
        server.answer_get(GetAnswer::Refuse(code)).expect("pending");
        pump(&mut client, &mut server, now);
        assert_eq!(
            client_events(&mut client),
            vec![ClientEvent::Failed {
                operation: OperationKind::Get,
                error: ClientError::PeerBusy(code)
            }]
        );
    }
}

#[test]
fn abort_in_the_middle_of_a_put() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    client
        .put(now, Vec::new(), Some(pattern(2000)))
        .expect("puts");
    // First packet across, its Continue back.
    let first = client.poll_transmit().expect("first PUT packet");
    assert_eq!(first[0], 0x02);
    server.handle_input(now, &first);
    client.abort();
    let continue_response = server.poll_transmit().expect("Continue");
    assert_eq!(continue_response, [0x90, 0x00, 0x03]);
    client.handle_input(now, &continue_response);
    let abort = client.poll_transmit().expect("ABORT");
    assert_eq!(abort[0], 0xFF);
    assert_eq!(
        Request::decode(&abort).expect("decodes").headers,
        vec![Header::ConnectionId(0x0102_0304)]
    );
    server.handle_input(now, &abort);
    pump(&mut client, &mut server, now);
    assert_eq!(client_events(&mut client), vec![ClientEvent::Aborted]);
    assert_eq!(server_events(&mut server), vec![ServerEvent::Aborted]);
    // The session goes on.
    client
        .put(now, Vec::new(), Some(b"next".to_vec()))
        .expect("puts again");
    pump(&mut client, &mut server, now);
    assert!(matches!(
        server_events(&mut server).as_slice(),
        [ServerEvent::PutReceived(object)] if object.body.as_deref() == Some(&b"next"[..])
    ));
}

#[test]
fn disconnect_ends_the_session_on_both_sides() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    client.disconnect(now).expect("disconnects");
    let packet = client.poll_transmit().expect("DISCONNECT");
    assert_eq!(&packet[..3], &[0x81, 0x00, 0x08]);
    server.handle_input(now, &packet);
    pump(&mut client, &mut server, now);
    assert_eq!(client_events(&mut client), vec![ClientEvent::Disconnected]);
    assert_eq!(server_events(&mut server), vec![ServerEvent::Disconnected]);
    assert!(!client.is_connected() && !server.is_connected());
    assert_eq!(
        client.put(now, Vec::new(), None),
        Err(ClientError::NotConnected)
    );
}

#[test]
fn malformed_packet_is_a_bad_request() {
    let mut server = ObexServer::new(server_config(255));
    connect_raw(&mut server);
    server_events(&mut server);
    // A PUT whose Body header claims 9 bytes in a 9-byte packet.
    let response = raw_exchange(&mut server, &[0x82, 0x00, 0x09, 0x48, 0x00, 0x09, 1, 2, 3]);
    assert_eq!(response, [0xC0, 0x00, 0x03]);
    match server_events(&mut server).as_slice() {
        [ServerEvent::Refused {
            code: ResponseCode::BadRequest,
            reason: Refusal::Malformed(error),
        }] => assert_eq!(
            error.to_string(),
            "at offset 3: packet ends inside header 0x48"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn over_long_packet_is_refused_without_buffering() {
    let mut server = ObexServer::new(server_config(255));
    connect_raw(&mut server);
    let mut packet = vec![0x82, 0x04, 0x00];
    packet.extend_from_slice(&[0x48, 0x03, 0xFD]);
    packet.resize(1024, 0xAB);
    for byte in &packet {
        server.handle_input(Instant::now(), std::slice::from_ref(byte));
        assert!(server.buffered_len() <= 255);
    }
    assert_eq!(server.poll_transmit(), Some(vec![0xC0, 0x00, 0x03]));
    assert!(server.poll_transmit().is_none());
    // The stream is still in step.
    let response = raw_exchange(&mut server, &[0x81, 0x00, 0x03]);
    assert_eq!(response, [0xA0, 0x00, 0x03]);
}

#[test]
fn put_over_the_object_limit_is_entity_too_large() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    client
        .put(now, Vec::new(), Some(vec![0; 70 * 1024]))
        .expect("puts");
    pump(&mut client, &mut server, now);
    assert_eq!(
        client_events(&mut client),
        vec![ClientEvent::Failed {
            operation: OperationKind::Put,
            error: ClientError::Refused(ResponseCode::RequestedEntityTooLarge)
        }]
    );
    assert_eq!(
        server_events(&mut server),
        vec![ServerEvent::Refused {
            code: ResponseCode::RequestedEntityTooLarge,
            reason: Refusal::ObjectTooLarge { limit: 64 * 1024 }
        }]
    );
}

#[test]
fn get_over_the_client_limit_is_aborted() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    client.get(now, Vec::new()).expect("gets");
    pump(&mut client, &mut server, now);
    server
        .answer_get(GetAnswer::Object {
            headers: Vec::new(),
            body: vec![1; 70 * 1024],
        })
        .expect("pending");
    pump(&mut client, &mut server, now);
    assert_eq!(
        client_events(&mut client),
        vec![ClientEvent::Failed {
            operation: OperationKind::Get,
            error: ClientError::ObjectTooLarge { limit: 64 * 1024 }
        }]
    );
    assert!(server_events(&mut server).contains(&ServerEvent::Aborted));
    assert!(client.is_idle());
}

#[test]
fn requests_before_connect_are_forbidden_when_a_target_is_required() {
    let mut server = ObexServer::new(server_config(255));
    let put = Request::new(
        Opcode::Put { is_final: true },
        vec![Header::EndOfBody(vec![1])],
    )
    .encode()
    .expect("encodes");
    assert_eq!(raw_exchange(&mut server, &put), [0xC3, 0x00, 0x03]);
}

#[test]
fn unknown_connection_id_is_service_unavailable() {
    let mut server = ObexServer::new(server_config(255));
    connect_raw(&mut server);
    let put = Request::new(
        Opcode::Put { is_final: true },
        vec![Header::ConnectionId(99), Header::EndOfBody(vec![1])],
    )
    .encode()
    .expect("encodes");
    assert_eq!(raw_exchange(&mut server, &put), [0xD3, 0x00, 0x03]);
}

#[test]
fn setpath_and_unknown_opcodes_are_not_implemented() {
    let mut server = ObexServer::new(server_config(255));
    connect_raw(&mut server);
    assert_eq!(
        raw_exchange(&mut server, &[0x85, 0x00, 0x05, 0x02, 0x00]),
        [0xD1, 0x00, 0x03]
    );
    assert_eq!(
        raw_exchange(&mut server, &[0x84, 0x00, 0x03]),
        [0xD1, 0x00, 0x03]
    );
}

#[test]
fn client_times_out_without_a_response() {
    let now = Instant::now();
    let mut client = ObexClient::new(client_config(255));
    client.connect(now, Vec::new()).expect("connects");
    let deadline = client.poll_timeout().expect("a deadline");
    assert_eq!(deadline, now + Duration::from_secs(30));
    client.handle_timeout(now + Duration::from_secs(29));
    assert!(client_events(&mut client).is_empty());
    client.handle_timeout(deadline);
    assert_eq!(
        client_events(&mut client),
        vec![ClientEvent::Failed {
            operation: OperationKind::Connect,
            error: ClientError::Timeout
        }]
    );
    assert!(client.poll_timeout().is_none());
}

#[test]
fn server_drops_a_put_left_silent_past_the_idle_timeout() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    client
        .put(now, Vec::new(), Some(pattern(1000)))
        .expect("puts");
    let first = client.poll_transmit().expect("first packet");
    server.handle_input(now, &first);
    server.poll_transmit().expect("Continue");
    let deadline = server.poll_timeout().expect("deadline while a PUT runs");
    server.handle_timeout(deadline);
    assert_eq!(server_events(&mut server), vec![ServerEvent::TimedOut]);
    assert!(server.poll_timeout().is_none());
}

#[test]
fn client_refuses_a_second_operation_while_one_runs() {
    let (mut client, _server, now) = connected_pair(255, 255);
    client.get(now, Vec::new()).expect("gets");
    assert_eq!(
        client.get(now, Vec::new()),
        Err(ClientError::OperationInProgress)
    );
}

#[test]
fn garbage_while_idle_is_ignored_by_the_client() {
    let (mut client, _server, now) = connected_pair(255, 255);
    client.handle_input(now, &[0xA0, 0x00, 0x01, 0xA0, 0x00, 0x03]);
    assert!(client_events(&mut client).is_empty());
    assert!(client.is_idle() && client.is_connected());
}

#[test]
fn put_response_arriving_in_one_chunk_with_trailing_bytes_is_handled_in_order() {
    // Two responses in one read: the client takes the first, and the second is unexpected.
    let (mut client, _server, now) = connected_pair(255, 255);
    client
        .put(now, Vec::new(), Some(b"x".to_vec()))
        .expect("puts");
    client.poll_transmit().expect("PUT");
    client.handle_input(now, &[0xA0, 0x00, 0x03, 0xA0, 0x00, 0x03]);
    assert_eq!(
        client_events(&mut client),
        vec![ClientEvent::PutDone {
            headers: Vec::new()
        }]
    );
}

#[test]
fn get_request_headers_larger_than_a_packet_go_in_non_final_gets() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    let long_name = "n".repeat(100);
    let headers = vec![
        Header::Name(Some(long_name.clone())),
        Header::Description(Some("d".repeat(100))),
    ];
    client.get(now, headers.clone()).expect("gets");
    let first = client.poll_transmit().expect("first GET packet");
    assert_eq!(first[0], 0x03, "not final: more request headers follow");
    server.handle_input(now, &first);
    assert_eq!(server.poll_transmit(), Some(vec![0x90, 0x00, 0x03]));
    client.handle_input(now, &[0x90, 0x00, 0x03]);
    let second = client.poll_transmit().expect("second GET packet");
    assert_eq!(second[0], 0x83);
    server.handle_input(now, &second);
    assert_eq!(
        server_events(&mut server),
        vec![ServerEvent::GetRequested { headers }]
    );
}

#[test]
fn put_headers_larger_than_a_packet_are_spread_over_packets() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    let headers = vec![
        Header::AppParameters(vec![1; 200]),
        Header::Description(Some("x".repeat(100))),
    ];
    client
        .put(now, headers.clone(), Some(b"body".to_vec()))
        .expect("puts");
    let (requests, _) = pump(&mut client, &mut server, now);
    assert_eq!(requests, 2);
    match server_events(&mut server).as_slice() {
        [ServerEvent::PutReceived(object)] => {
            assert_eq!(object.headers, headers);
            assert_eq!(object.body.as_deref(), Some(&b"body"[..]));
        }
        other => panic!("expected one PutReceived, got {other:?}"),
    }
}

#[test]
fn connect_that_does_not_fit_255_bytes_is_refused_before_sending() {
    let mut client = ObexClient::new(client_config(255));
    let result = client.connect(Instant::now(), vec![Header::Target(vec![0; 250])]);
    assert_eq!(result, Err(ClientError::HeaderTooLarge { id: 0x46 }));
    assert!(client.poll_transmit().is_none());
    assert!(client.is_idle());
}

#[test]
fn get_answer_with_a_header_too_large_is_an_internal_error() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    client.get(now, Vec::new()).expect("gets");
    pump(&mut client, &mut server, now);
    server_events(&mut server);
    let result = server.answer_get(GetAnswer::Object {
        headers: vec![Header::Http(vec![0; 300])],
        body: Vec::new(),
    });
    assert_eq!(
        result,
        Err(super::server::ServerError::HeaderTooLarge { id: 0x47 })
    );
    pump(&mut client, &mut server, now);
    assert_eq!(
        client_events(&mut client),
        vec![ClientEvent::Failed {
            operation: OperationKind::Get,
            error: ClientError::Refused(ResponseCode::InternalServerError)
        }]
    );
}

#[test]
fn abort_during_a_get_stops_the_transfer() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    client.get(now, Vec::new()).expect("gets");
    pump(&mut client, &mut server, now);
    server
        .answer_get(GetAnswer::Object {
            headers: Vec::new(),
            body: pattern(5000),
        })
        .expect("pending");
    let first = server.poll_transmit().expect("first part");
    client.abort();
    client.handle_input(now, &first);
    let abort = client.poll_transmit().expect("ABORT");
    assert_eq!(abort[0], 0xFF);
    server.handle_input(now, &abort);
    pump(&mut client, &mut server, now);
    assert_eq!(client_events(&mut client), vec![ClientEvent::Aborted]);
    assert!(server_events(&mut server).contains(&ServerEvent::Aborted));
    assert!(client.is_idle());
}

#[test]
fn a_second_connect_renegotiates() {
    let (mut client, mut server, now) = connected_pair(255, 255);
    client.disconnect(now).expect("disconnects");
    pump(&mut client, &mut server, now);
    client_events(&mut client);
    server_events(&mut server);
    let mut bigger = ObexClient::new(client_config(2048));
    bigger
        .connect(now, vec![Header::Target(TARGET.to_vec())])
        .expect("connects");
    pump(&mut bigger, &mut server, now);
    assert_eq!(server.peer_max_packet_length(), 2048);
    assert!(server.is_connected());
}

#[test]
fn server_without_a_required_target_accepts_plain_connect_and_bare_puts() {
    let now = Instant::now();
    let mut server = ObexServer::new(ObexServerConfig {
        required_target: None,
        ..server_config(255)
    });
    let put = Request::new(
        Opcode::Put { is_final: true },
        vec![Header::EndOfBody(vec![7])],
    )
    .encode()
    .expect("encodes");
    server.handle_input(now, &put);
    assert_eq!(server.poll_transmit(), Some(vec![0xA0, 0x00, 0x03]));
    let connect = Request::connect(255, Vec::new()).encode().expect("encodes");
    server.handle_input(now, &connect);
    let response = server.poll_transmit().expect("a response");
    assert_eq!(response, [0xA0, 0x00, 0x07, 0x10, 0x00, 0x00, 0xFF]);
}

#[test]
fn a_header_no_packet_can_carry_is_refused_before_sending() {
    let (mut client, _server, now) = connected_pair(255, 255);
    let too_long = vec![Header::Name(Some("n".repeat(130)))];
    assert_eq!(
        client.put(now, too_long.clone(), Some(Vec::new())),
        Err(ClientError::HeaderTooLarge { id: 0x01 })
    );
    assert_eq!(
        client.get(now, too_long),
        Err(ClientError::HeaderTooLarge { id: 0x01 })
    );
    assert!(client.poll_transmit().is_none());
    assert!(client.is_idle());
}
