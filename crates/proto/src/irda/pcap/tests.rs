use super::*;
use std::process::Command;

#[test]
fn file_header_names_the_linux_irda_link_type() {
    let header = file_header();
    assert_eq!(header.len(), 24);
    assert_eq!(&header[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    assert_eq!(u32::from_le_bytes(header[20..24].try_into().unwrap()), 144);
}

#[test]
fn record_carries_direction_protocol_and_the_frame_without_fcs() {
    let frame = [0xff, 0x3f, 0x01];
    let out = record(
        Duration::new(1_000_000_000, 250_000_000),
        Direction::Outgoing,
        &frame,
    );
    assert_eq!(
        u32::from_le_bytes(out[0..4].try_into().unwrap()),
        1_000_000_000
    );
    assert_eq!(u32::from_le_bytes(out[4..8].try_into().unwrap()), 250_000);
    assert_eq!(u32::from_le_bytes(out[8..12].try_into().unwrap()), 19);
    assert_eq!(u32::from_le_bytes(out[12..16].try_into().unwrap()), 19);
    let pseudo = &out[16..32];
    assert_eq!(&pseudo[0..2], &[0, 4], "PACKET_OUTGOING");
    assert_eq!(&pseudo[2..4], &783u16.to_be_bytes(), "ARPHRD_IRDA");
    assert_eq!(&pseudo[14..16], &[0x00, 0x17], "ETH_P_IRDA");
    assert_eq!(&out[32..], &frame);
    let incoming = record(Duration::ZERO, Direction::Incoming, &frame);
    assert_eq!(&incoming[16..18], &[0, 0], "PACKET_HOST");
}

#[test]
fn an_oversized_frame_is_cut_to_the_snap_length_keeping_its_length() {
    let frame = vec![0x55; SNAPLEN as usize];
    let out = record(Duration::ZERO, Direction::Incoming, &frame);
    assert_eq!(out.len(), 16 + SNAPLEN as usize);
    assert_eq!(u32::from_le_bytes(out[8..12].try_into().unwrap()), SNAPLEN);
    assert_eq!(
        u32::from_le_bytes(out[12..16].try_into().unwrap()),
        SNAPLEN + 16
    );
}

#[test]
fn tshark_problems_reports_malformed_and_warnings_by_frame() {
    let output = "Frame 1: 20 bytes on wire\n    IrLAP\nFrame 2: 9 bytes on wire\n    \
        [Malformed Packet: IrLMP]\n        [Expert Info (Error/Malformed): Malformed Packet]\n\
        Frame 3: 9 bytes\n    [Expert Info (Warning/Sequence): odd]\n    \
        [Expert Info (Chat/Sequence): fine]\n";
    let problems = tshark_problems(output);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("frame 2: [Malformed Packet"));
    assert!(problems[2].starts_with("frame 3: [Expert Info (Warning"));
    assert!(tshark_problems("Frame 1: 3 bytes\n    IrLAP\n").is_empty());
}

#[test]
fn tshark_frame_layers_lists_top_level_entries_per_frame() {
    let output = "Frame 1: 3 bytes on wire (24 bits)\n    Encapsulation type: IrDA (44)\n\
        IrDA Link Access Protocol\n    Address Field: 0xff\n\
        Frame 2: 6 bytes on wire (48 bits)\nIrDA Link Access Protocol\n\
        IrDA Link Management Protocol\nData (2 bytes)\n\n0000  01 80  ..\n";
    let layers = tshark_frame_layers(output);
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0], ["IrDA Link Access Protocol"]);
    assert_eq!(
        layers[1],
        [
            "IrDA Link Access Protocol",
            "IrDA Link Management Protocol",
            "Data (2 bytes)"
        ]
    );
}

// Hand-built frames of a discovery, connection and the start of an OBEX session, from the
// IrLAP 1.1, IrLMP 1.1 and TinyTP 1.1 specifications (constants only: this does not use
// the stack's own codec, so tshark judges the bytes independently).
const PRIMARY: [u8; 4] = [0x11, 0x22, 0x33, 0x44];
const SECONDARY: [u8; 4] = [0xa1, 0xb2, 0xc3, 0xd4];
/// Connection address 0x5a, shifted left with the command/response bit in bit 0.
const CONN_COMMAND: u8 = 0xb5;
const CONN_RESPONSE: u8 = 0xb4;
/// The IAS answers LSAP selector of the OBEX service.
const OBEX_LSAP: u8 = 0x03;
const PC_LSAP: u8 = 0x10;
const IRCOMM_LSAP: u8 = 0x04;

fn negotiation_parameters() -> Vec<u8> {
    vec![
        0x01, 0x01, 0x3e, // baud rates: 9600 to 115200
        0x82, 0x01, 0x01, // maximum turn time: 500 ms
        0x83, 0x01, 0x3f, // data sizes: 64 to 2048
        0x84, 0x01, 0x7f, // window sizes: 1 to 7
        0x85, 0x01, 0xff, // additional BOFs
        0x86, 0x01, 0xff, // minimum turn times
        0x08, 0x01, 0x07, // link disconnect: up to 12 s (three lowest bits)
    ]
}

/// I-frames numbered as a connection would number them, both ways.
#[derive(Default)]
struct Numbering {
    sent_by_primary: u8,
    sent_by_secondary: u8,
}

impl Numbering {
    /// Control field: N(R) << 5 | P/F << 4 | N(S) << 1 (bit 0 clear: an I-frame).
    fn i_frame(&mut self, direction: Direction, payload: &[u8]) -> Vec<u8> {
        let (address, ns, nr) = match direction {
            Direction::Outgoing => {
                self.sent_by_primary += 1;
                (
                    CONN_COMMAND,
                    self.sent_by_primary - 1,
                    self.sent_by_secondary,
                )
            }
            Direction::Incoming => {
                self.sent_by_secondary += 1;
                (
                    CONN_RESPONSE,
                    self.sent_by_secondary - 1,
                    self.sent_by_primary,
                )
            }
        };
        let mut frame = vec![address, (nr % 8) << 5 | 0x10 | (ns % 8) << 1];
        frame.extend_from_slice(payload);
        frame
    }
}

fn ias_query(class: &str, attribute: &str) -> Vec<u8> {
    // LSAP header (data: no control bit), then IAS: last frame, GetValueByClass (4).
    let mut query = vec![0x00, PC_LSAP, 0x84, class.len() as u8];
    query.extend_from_slice(class.as_bytes());
    query.push(attribute.len() as u8);
    query.extend_from_slice(attribute.as_bytes());
    query
}

fn ias_integer_answer(object_id: u16, value: u8) -> Vec<u8> {
    // Success, a list of one: object id, type integer (1), 32-bit value.
    let mut answer = vec![PC_LSAP, 0x00, 0x84, 0x00, 0x00, 0x01];
    answer.extend_from_slice(&object_id.to_be_bytes());
    answer.extend_from_slice(&[0x01, 0x00, 0x00, 0x00, value]);
    answer
}

const LAP: &str = "IrDA Link Access Protocol";
const LMP: &str = "IrDA Link Management Protocol";
const IAP: &str = "Information Access Protocol";
const TTP: &str = "Tiny Transport Protocol";

/// The frames, each with the innermost layer tshark must find in it.
fn session_frames() -> Vec<(Direction, Vec<u8>, &'static str)> {
    use Direction::{Incoming, Outgoing};
    let mut frames = Vec::new();
    // XID discovery command, broadcast, 8 slots, slot 0.
    let mut xid_command = vec![0xff, 0x3f, 0x01];
    xid_command.extend_from_slice(&PRIMARY);
    xid_command.extend_from_slice(&[0xff; 4]);
    xid_command.extend_from_slice(&[0x02, 0x00, 0x00]);
    frames.push((Outgoing, xid_command, LAP));
    // XID response from a phone in slot 3: hints (PDA, extension; telephony, OBEX), ASCII,
    // nickname.
    let mut xid_response = vec![0xfe, 0xbf, 0x01];
    xid_response.extend_from_slice(&SECONDARY);
    xid_response.extend_from_slice(&PRIMARY);
    xid_response.extend_from_slice(&[0x02, 0x03, 0x00]);
    xid_response.extend_from_slice(&[0x82, 0x21, 0x00]);
    xid_response.extend_from_slice(b"Nokia 6230");
    frames.push((Incoming, xid_response, LMP));
    // SNRM: source, destination, new connection address, our parameters.
    let mut snrm = vec![0xff, 0x93];
    snrm.extend_from_slice(&PRIMARY);
    snrm.extend_from_slice(&SECONDARY);
    snrm.push(CONN_RESPONSE); // the 7-bit address in bits 1-7
    snrm.extend_from_slice(&negotiation_parameters());
    frames.push((Outgoing, snrm, LAP));
    let mut ua = vec![CONN_RESPONSE, 0x73];
    ua.extend_from_slice(&SECONDARY);
    ua.extend_from_slice(&PRIMARY);
    ua.extend_from_slice(&negotiation_parameters());
    frames.push((Incoming, ua, LAP));

    let mut numbering = Numbering::default();
    let mut i_frame = |direction, payload: &[u8], layer| {
        frames.push((direction, numbering.i_frame(direction, payload), layer));
    };
    // IrLMP connect to the IAS (LSAP 0): control bit, opcode 1, reserved parameter; and
    // its confirm (opcode 0x81).
    i_frame(Outgoing, &[0x80, PC_LSAP, 0x01, 0x00], LMP);
    i_frame(Incoming, &[0x80 | PC_LSAP, 0x00, 0x81, 0x00], LMP);
    i_frame(Outgoing, &ias_query("OBEX", "IrDA:TinyTP:LsapSel"), IAP);
    i_frame(Incoming, &ias_integer_answer(0x0001, OBEX_LSAP), IAP);
    // Wireshark follows TinyTP only to the IAS classes it knows (IrCOMM, IrLPT), not to
    // OBEX: ask for IrCOMM as well so that a TinyTP connection is decoded.
    i_frame(
        Outgoing,
        &ias_query("IrDA:IrCOMM", "IrDA:TinyTP:LsapSel"),
        IAP,
    );
    i_frame(Incoming, &ias_integer_answer(0x0002, IRCOMM_LSAP), IAP);
    // IrLMP connect to the OBEX LSAP with TinyTP's connect: P bit (parameters follow),
    // initial credit 7, MaxSduSize (PI 1) of 0: no limit.
    i_frame(
        Outgoing,
        &[
            0x80 | OBEX_LSAP,
            PC_LSAP,
            0x01,
            0x00,
            0x80 | 7,
            0x04,
            0x01,
            0x02,
            0x00,
            0x00,
        ],
        LMP,
    );
    // A TinyTP data PDU there: credit 1, last segment, an OBEX CONNECT.
    i_frame(
        Outgoing,
        &[
            OBEX_LSAP, PC_LSAP, 0x01, 0x80, 0x00, 0x07, 0x10, 0x00, 0x04, 0x00,
        ],
        LMP,
    );
    // The same TinyTP PDUs to the IrCOMM LSAP: initial credit 7 without parameters, then
    // credit 2 with IrCOMM's own header (no control parameters) and two data bytes.
    i_frame(
        Outgoing,
        &[0x80 | IRCOMM_LSAP, PC_LSAP, 0x01, 0x00, 0x07, 0x00],
        TTP,
    );
    i_frame(
        Incoming,
        &[0x80 | PC_LSAP, IRCOMM_LSAP, 0x81, 0x00, 0x07, 0x00],
        TTP,
    );
    i_frame(
        Outgoing,
        &[IRCOMM_LSAP, PC_LSAP, 0x02, 0x00, b'A', b'T'],
        TTP,
    );
    frames
}

/// Whether tshark is here; a missing oracle fails when HANDSYNC_REQUIRE_ORACLES is set.
fn tshark_available() -> bool {
    let found = Command::new("tshark").arg("--version").output().is_ok();
    if !found {
        if std::env::var_os("HANDSYNC_REQUIRE_ORACLES").is_some() {
            panic!("oracle tshark is not installed (scripts/test-all installs it as root)");
        }
        eprintln!("skipping: oracle tshark is not installed");
    }
    found
}

fn tshark(file: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(args)
        .env("HOME", std::env::temp_dir()) // no personal profile
        .output()
        .expect("run tshark");
    assert!(
        output.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("tshark prints UTF-8")
}

#[test]
fn tshark_decodes_a_hand_built_session_without_complaint() {
    if !tshark_available() {
        return;
    }
    let frames = session_frames();
    let mut capture = Capture::new();
    let start = Duration::from_secs(1_700_000_000);
    for (i, (direction, frame, _)) in frames.iter().enumerate() {
        capture.push(
            start + Duration::from_millis(20 * i as u64),
            *direction,
            frame,
        );
    }
    let path = std::env::temp_dir().join(format!("handsync-irda-pcap-{}.pcap", std::process::id()));
    std::fs::write(&path, capture.bytes()).expect("write capture");

    let verbose = tshark(&path, &["-V"]);
    let problems = tshark_problems(&verbose);
    let layers = tshark_frame_layers(&verbose);
    let flagged = tshark(
        &path,
        &["-Y", "_ws.malformed || _ws.expert.severity >= warning"],
    );
    let _ = std::fs::remove_file(&path);

    assert!(problems.is_empty(), "{problems:#?}\n{verbose}");
    assert!(flagged.trim().is_empty(), "{flagged}");
    assert_eq!(layers.len(), frames.len(), "{layers:?}");
    for (i, ((_, _, expected), found)) in frames.iter().zip(&layers).enumerate() {
        assert!(
            found.iter().any(|layer| layer == expected),
            "frame {}: expected {expected} in {found:?}\n{verbose}",
            i + 1
        );
    }
    for decoded in [
        "Nokia 6230",
        "Exchange Station Identification",
        "Set Normal Response Mode",
        "Baud Rate (9600, 19200, 38400, 57600, 115200 bps)",
        "Connect Command",
        "Class Name: OBEX",
        "IrDA:TinyTP:LsapSel",
        "Value: 3",
    ] {
        assert!(
            verbose.contains(decoded),
            "{decoded} not decoded:\n{verbose}"
        );
    }
}
