//! A readable account of a captured OBEX stream, for `handsync decode`.

use std::fmt::Write as _;

use super::codes::{Opcode, ResponseCode};
use super::header::Header;
use super::packet::{Request, Response, ResponseTo, PACKET_PREFIX_LEN};
use super::syncml::SyncmlContentType;

/// Describes a sequence of OBEX packets, one block per packet, stopping at the first
/// packet that does not decode (with the error and its offset in the stream).
///
/// A response that follows a CONNECT is read with the CONNECT fields. A stream that starts
/// with a response is read as a CONNECT response when its fourth byte is an OBEX version
/// (0x10..=0x1F) and it decodes that way.
pub fn describe(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut offset = 0;
    let mut index = 1;
    let mut after_connect = None;
    // Writing to a String cannot fail, hence the ignored results below.
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        if rest.len() < PACKET_PREFIX_LEN {
            let _ = writeln!(
                out,
                "error at offset {offset}: {} trailing bytes are too few for a packet",
                rest.len()
            );
            break;
        }
        let declared = u16::from_be_bytes([rest[1], rest[2]]) as usize;
        if declared < PACKET_PREFIX_LEN || declared > rest.len() {
            let _ = writeln!(
                out,
                "error at offset {}: packet length {declared} does not fit the {} bytes left",
                offset + 1,
                rest.len()
            );
            break;
        }
        let packet = &rest[..declared];
        if Opcode::is_request_byte(packet[0]) {
            match Request::decode(packet) {
                Ok(request) => {
                    let _ = write!(
                        out,
                        "#{index} @{offset} request {}, {declared} bytes",
                        request.opcode
                    );
                    if let Some(fields) = request.connect {
                        let _ = write!(
                            out,
                            ": OBEX {}.{}, flags 0x{:02X}, max packet length {}",
                            fields.version >> 4,
                            fields.version & 0x0F,
                            fields.flags,
                            fields.max_packet_length
                        );
                    }
                    if let Some(fields) = request.setpath {
                        let _ = write!(
                            out,
                            ": flags 0x{:02X}, constants 0x{:02X}",
                            fields.flags, fields.constants
                        );
                    }
                    out.push('\n');
                    for header in &request.headers {
                        let _ = writeln!(out, "    {header}");
                    }
                    describe_embedded_san(&mut out, &request.headers);
                    after_connect = Some(request.opcode == Opcode::Connect);
                }
                Err(error) => {
                    let _ = writeln!(
                        out,
                        "#{index} @{offset} request: error {}",
                        error.shifted(offset)
                    );
                    break;
                }
            }
        } else {
            let answers = match after_connect {
                Some(true) => ResponseTo::Connect,
                Some(false) => ResponseTo::Other,
                None if (0x10..=0x1F).contains(&packet.get(3).copied().unwrap_or(0))
                    && Response::decode(packet, ResponseTo::Connect).is_ok() =>
                {
                    ResponseTo::Connect
                }
                None => ResponseTo::Other,
            };
            match Response::decode(packet, answers) {
                Ok(response) => {
                    let code: ResponseCode = response.code;
                    let _ = write!(out, "#{index} @{offset} response {code}, {declared} bytes");
                    if let Some(fields) = response.connect {
                        let _ = write!(
                            out,
                            " (to CONNECT): OBEX {}.{}, flags 0x{:02X}, max packet length {}",
                            fields.version >> 4,
                            fields.version & 0x0F,
                            fields.flags,
                            fields.max_packet_length
                        );
                    }
                    out.push('\n');
                    for header in &response.headers {
                        let _ = writeln!(out, "    {header}");
                    }
                    after_connect = Some(false);
                }
                Err(error) => {
                    let _ = writeln!(
                        out,
                        "#{index} @{offset} response: error {}",
                        error.shifted(offset)
                    );
                    break;
                }
            }
        }
        offset += declared;
        index += 1;
    }
    out
}

/// A SAN fits one packet: when a packet carries a notification whole, show it decoded.
fn describe_embedded_san(out: &mut String, headers: &[Header]) {
    let is_notification = headers.iter().any(|header| {
        matches!(header, Header::Type(media_type)
            if SyncmlContentType::from_media_type(media_type) == SyncmlContentType::Notification)
    });
    let body = headers.iter().find_map(|header| match header {
        Header::EndOfBody(bytes) => Some(bytes),
        _ => None,
    });
    if let (true, Some(body)) = (is_notification, body) {
        for line in crate::syncml::san::describe(body).lines() {
            let _ = writeln!(out, "      | {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connect_exchange_and_a_put_are_described() {
        let mut stream = Request::connect(0x0400, vec![Header::Target(b"SYNCML-SYNC".to_vec())])
            .encode()
            .expect("encodes");
        stream.extend(
            Response {
                code: ResponseCode::Ok,
                connect: Some(crate::obex::ConnectFields::new(0x2000)),
                headers: vec![Header::ConnectionId(1)],
            }
            .encode()
            .expect("encodes"),
        );
        stream.extend(
            Request::new(
                Opcode::Put { is_final: true },
                vec![
                    Header::Type(b"application/vnd.syncml+wbxml".to_vec()),
                    Header::EndOfBody(vec![0x02, 0xA4]),
                ],
            )
            .encode()
            .expect("encodes"),
        );
        stream.extend([0xA0, 0x00, 0x03]);
        let text = describe(&stream);
        assert!(
            text.contains(
                "#1 @0 request CONNECT, 21 bytes: OBEX 1.0, flags 0x00, max packet length 1024"
            ),
            "{text}"
        );
        assert!(text.contains("Target (0x46): \"SYNCML-SYNC\""), "{text}");
        assert!(
            text.contains("#2 @21 response 0xA0 OK, Success, 12 bytes (to CONNECT)"),
            "{text}"
        );
        assert!(text.contains("Connection ID (0xCB): 0x00000001"), "{text}");
        assert!(text.contains("request PUT (final)"), "{text}");
        assert!(
            text.contains("Type (0x42): \"application/vnd.syncml+wbxml\""),
            "{text}"
        );
        assert!(text.contains("End-of-Body (0x49): 2 bytes 02a4"), "{text}");
        assert!(text.contains("#4 @"), "{text}");
    }

    #[test]
    fn a_san_carried_whole_is_decoded_inline() {
        let mut san = crate::syncml::san::San::new("PC Suite", 3, Vec::new());
        let san_bytes = san.encode_signed(b"", b"").expect("encodes");
        let stream = Request::new(
            Opcode::Put { is_final: true },
            vec![
                Header::Type(b"application/vnd.syncml.ds.notification".to_vec()),
                Header::EndOfBody(san_bytes),
            ],
        )
        .encode()
        .expect("encodes");
        let text = describe(&stream);
        assert!(
            text.contains("      |   server identifier: \"PC Suite\""),
            "{text}"
        );
        assert!(text.contains("      |   session id: 3"), "{text}");
    }

    #[test]
    fn errors_stop_the_account_with_their_stream_offset() {
        let text = describe(&[0xA0, 0x00, 0x03, 0x82, 0x00, 0x06, 0x48, 0x00, 0x09]);
        assert!(
            text.contains("#2 @3 request: error at offset 6: packet ends inside header 0x48"),
            "{text}"
        );
        let text = describe(&[0xA0, 0x00, 0x03, 0x81]);
        assert!(
            text.contains("error at offset 3: 1 trailing bytes"),
            "{text}"
        );
        let text = describe(&[0x81, 0x01, 0x00]);
        assert!(
            text.contains("packet length 256 does not fit the 3 bytes left"),
            "{text}"
        );
    }
}
