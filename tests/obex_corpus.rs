//! The OBEX responses of the shared corpus (buteo-syncml's test data), read at run time:
//! decoded, re-encoded byte for byte, and fed to the client machine.

mod support;

use std::time::Instant;

use handsync::machine::Machine;
use handsync::obex::{
    describe, ClientError, ClientEvent, ConnectFields, Header, ObexClient, ObexClientConfig,
    OperationKind, Response, ResponseCode, ResponseTo, SYNCML_TARGET,
};

fn corpus_file(name: &str) -> Vec<u8> {
    support::corpus_file(&format!("obex/{name}"))
}

#[test]
fn connect_success_with_who_and_connection_id() {
    let bytes = corpus_file("buteo-obexresp01.bin");
    let response = Response::decode(&bytes, ResponseTo::Connect).expect("decodes");
    assert_eq!(response.code, ResponseCode::Ok);
    assert_eq!(
        response.connect,
        Some(ConnectFields {
            version: 0x10,
            flags: 0,
            max_packet_length: 0xFFFF
        })
    );
    assert_eq!(
        response.headers,
        vec![Header::ConnectionId(1), Header::Who(SYNCML_TARGET.to_vec())]
    );
    assert_eq!(response.encode().expect("encodes"), bytes);

    let text = describe(&bytes);
    assert!(
        text.contains("response 0xA0 OK, Success, 26 bytes (to CONNECT)"),
        "{text}"
    );
    assert!(text.contains("max packet length 65535"), "{text}");
    assert!(text.contains("Who (0x4A): \"SYNCML-SYNC\""), "{text}");
}

#[test]
fn client_connects_on_the_corpus_response() {
    let now = Instant::now();
    let mut client = ObexClient::new(ObexClientConfig::default());
    client
        .connect(now, vec![Header::Target(SYNCML_TARGET.to_vec())])
        .expect("connects");
    client.poll_transmit().expect("CONNECT request");
    for byte in corpus_file("buteo-obexresp01.bin") {
        client.handle_input(now, &[byte]);
    }
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Connected {
            peer_max_packet_length: 0xFFFF,
            connection_id: Some(1),
            who: Some(SYNCML_TARGET.to_vec()),
        })
    );
}

#[test]
fn service_unavailable_is_a_busy_phone() {
    let bytes = corpus_file("buteo-obexresp02.bin");
    let response = Response::decode(&bytes, ResponseTo::Other).expect("decodes");
    assert_eq!(response.code, ResponseCode::ServiceUnavailable);
    assert!(response.headers.is_empty());
    assert_eq!(response.encode().expect("encodes"), bytes);
    assert!(describe(&bytes).contains("0xD3 Service Unavailable"));

    let now = Instant::now();
    let mut client = ObexClient::new(ObexClientConfig::default());
    client.connect(now, Vec::new()).expect("connects");
    client.poll_transmit().expect("CONNECT request");
    client.handle_input(now, &bytes);
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Failed {
            operation: OperationKind::Connect,
            error: ClientError::PeerBusy(ResponseCode::ServiceUnavailable)
        })
    );
}

#[test]
fn plain_success() {
    let bytes = corpus_file("buteo-obexresp03.bin");
    let response = Response::decode(&bytes, ResponseTo::Other).expect("decodes");
    assert_eq!(response, Response::new(ResponseCode::Ok, Vec::new()));
    assert_eq!(response.encode().expect("encodes"), bytes);
}
