//! tshark judges the PDUs of this IrLMP, IAS and TinyTP: a PC and a phone machine talk, every
//! PDU is wrapped in an IrLAP I-frame and written to a capture, and Wireshark's IrDA
//! dissector (written from the specifications, independently of this code) must decode it
//! all without complaint.

use std::process::Command;
use std::time::{Duration, Instant};

use super::*;
use crate::irda::ias::{names, IasValue};
use crate::irda::pcap::{tshark_frame_layers, tshark_problems, Capture, Direction};
use crate::irda::ttp::{Ttp, TtpConfig};

const LINK_DATA_SIZE: usize = 64;
/// Connection address 0x5a with the command/response bit.
const CONNECTION_COMMAND: u8 = 0xb5;
const CONNECTION_RESPONSE: u8 = 0xb4;
const PC_ADDRESS: [u8; 4] = [0x11, 0x22, 0x33, 0x44];
const PHONE_ADDRESS: [u8; 4] = [0xa1, 0xb2, 0xc3, 0xd4];
const OBEX_LSAP: u8 = 0x05;
/// Wireshark follows TinyTP only to the classes it knows (IrCOMM among them), not OBEX.
const IRCOMM_LSAP: u8 = 0x06;

const LMP: &str = "IrDA Link Management Protocol";
const IAP: &str = "Information Access Protocol";
const TTP: &str = "Tiny Transport Protocol";

/// The PDUs of both sides in order, as IrLAP I-frames numbered as a connection numbers them.
struct Recorder {
    now: Instant,
    pc: Lmp,
    phone: Lmp,
    frames: Vec<(Direction, Vec<u8>)>,
    sent_by_pc: u8,
    sent_by_phone: u8,
    pc_events: Vec<LmpEvent>,
    phone_events: Vec<LmpEvent>,
}

impl Recorder {
    fn i_frame(&mut self, direction: Direction, pdu: &[u8]) {
        let (address, ns, nr) = match direction {
            Direction::Outgoing => {
                self.sent_by_pc = self.sent_by_pc.wrapping_add(1);
                (CONNECTION_COMMAND, self.sent_by_pc - 1, self.sent_by_phone)
            }
            Direction::Incoming => {
                self.sent_by_phone = self.sent_by_phone.wrapping_add(1);
                (CONNECTION_RESPONSE, self.sent_by_phone - 1, self.sent_by_pc)
            }
        };
        let mut frame = vec![address, (nr % 8) << 5 | 0x10 | (ns % 8) << 1];
        frame.extend_from_slice(pdu);
        self.frames.push((direction, frame));
    }

    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(pdu) = self.pc.poll_pdu() {
                self.i_frame(Direction::Outgoing, &pdu);
                self.phone.handle_pdu(self.now, &pdu).unwrap();
                moved = true;
            }
            while let Some(pdu) = self.phone.poll_pdu() {
                self.i_frame(Direction::Incoming, &pdu);
                self.pc.handle_pdu(self.now, &pdu).unwrap();
                moved = true;
            }
            self.pc_events
                .extend(std::iter::from_fn(|| self.pc.poll_event()));
            self.phone_events
                .extend(std::iter::from_fn(|| self.phone.poll_event()));
            if !moved {
                return;
            }
        }
    }
}

/// SNRM and UA with 9600 to 115200 bps, data sizes 64 to 2048, windows 1 to 7.
fn link_setup() -> Vec<(Direction, Vec<u8>)> {
    let parameters = [
        0x01, 0x01, 0x3e, 0x82, 0x01, 0x01, 0x83, 0x01, 0x3f, 0x84, 0x01, 0x7f, 0x85, 0x01, 0xff,
        0x86, 0x01, 0xff, 0x08, 0x01, 0x07,
    ];
    let mut snrm = vec![0xff, 0x93];
    snrm.extend_from_slice(&PC_ADDRESS);
    snrm.extend_from_slice(&PHONE_ADDRESS);
    snrm.push(CONNECTION_RESPONSE);
    snrm.extend_from_slice(&parameters);
    let mut ua = vec![CONNECTION_RESPONSE, 0x73];
    ua.extend_from_slice(&PHONE_ADDRESS);
    ua.extend_from_slice(&PC_ADDRESS);
    ua.extend_from_slice(&parameters);
    vec![(Direction::Outgoing, snrm), (Direction::Incoming, ua)]
}

/// Whether tshark is here; a missing oracle fails when HANDSYNC_REQUIRE_ORACLES is set.
fn tshark_available() -> bool {
    let found = Command::new("tshark").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("HANDSYNC_REQUIRE_ORACLES").is_none(),
            "oracle tshark is not installed"
        );
        eprintln!("skipping: oracle tshark is not installed");
    }
    found
}

fn tshark(file: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run tshark");
    assert!(
        output.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("tshark prints UTF-8")
}

/// Connects TinyTP from the PC to `lsap` on the phone; returns both ends.
fn connect_tinytp(
    recorder: &mut Recorder,
    lsap: u8,
    config: TtpConfig,
) -> ((ConnectionId, Ttp), (ConnectionId, Ttp)) {
    let mut pc = Ttp::new(config.clone());
    let mut phone = Ttp::new(config);
    let now = recorder.now;
    let pc_conn = recorder
        .pc
        .connect(now, Lsap(lsap), pc.connect_parameters())
        .unwrap();
    recorder.pump();
    let Some(LmpEvent::ConnectIndication {
        conn, user_data, ..
    }) = recorder.phone_events.pop()
    else {
        panic!("{:?}", recorder.phone_events);
    };
    phone.handle_connect_parameters(&user_data).unwrap();
    recorder
        .phone
        .accept(conn, phone.connect_parameters())
        .unwrap();
    recorder.pump();
    let Some(LmpEvent::Connected { user_data, .. }) = recorder.pc_events.pop() else {
        panic!("{:?}", recorder.pc_events);
    };
    pc.handle_connect_parameters(&user_data).unwrap();
    ((pc_conn, pc), (conn, phone))
}

/// Moves TinyTP PDUs both ways until both ends have delivered `expected` SDUs.
fn exchange(
    recorder: &mut Recorder,
    (pc_conn, pc): &mut (ConnectionId, Ttp),
    (phone_conn, phone): &mut (ConnectionId, Ttp),
    expected: usize,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut pc_got, mut phone_got) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        while let Some(pdu) = pc.poll_pdu() {
            recorder.pc.send(*pc_conn, pdu).unwrap();
        }
        while let Some(pdu) = phone.poll_pdu() {
            recorder.phone.send(*phone_conn, pdu).unwrap();
        }
        recorder.pump();
        for event in recorder.pc_events.drain(..) {
            if let LmpEvent::Data { data, .. } = event {
                pc.handle_pdu(&data).unwrap();
            }
        }
        for event in recorder.phone_events.drain(..) {
            if let LmpEvent::Data { data, .. } = event {
                phone.handle_pdu(&data).unwrap();
            }
        }
        pc_got.extend(std::iter::from_fn(|| pc.poll_sdu()));
        phone_got.extend(std::iter::from_fn(|| phone.poll_sdu()));
        if pc_got.len() >= expected && phone_got.len() >= expected {
            break;
        }
    }
    (pc_got, phone_got)
}

#[test]
fn tshark_decodes_ias_lookups_and_tinytp_connections_without_complaint() {
    if !tshark_available() {
        return;
    }
    let mut database = IasDatabase::with_device("phone");
    database
        .add_tinytp_service(names::OBEX_CLASS, OBEX_LSAP)
        .unwrap();
    database
        .add_tinytp_service("IrDA:IrCOMM", IRCOMM_LSAP)
        .unwrap();
    let now = Instant::now();
    let mut recorder = Recorder {
        now,
        pc: Lmp::new(LmpConfig::new(IasDatabase::with_device("pc"))),
        phone: Lmp::new(LmpConfig::new(database)),
        frames: link_setup(),
        sent_by_pc: 0,
        sent_by_phone: 0,
        pc_events: Vec::new(),
        phone_events: Vec::new(),
    };
    recorder.pc.link_up(now, LINK_DATA_SIZE);
    recorder.phone.link_up(now, LINK_DATA_SIZE);
    recorder.phone.listen(Lsap(OBEX_LSAP)).unwrap();
    recorder.phone.listen(Lsap(IRCOMM_LSAP)).unwrap();

    let setup_frames = recorder.frames.len();
    recorder
        .pc
        .ias_query(now, names::OBEX_CLASS, names::TINYTP_LSAP_SEL)
        .unwrap();
    recorder
        .pc
        .ias_query(now, "IrDA:IrCOMM", names::TINYTP_LSAP_SEL)
        .unwrap();
    recorder.pc.ias_query(now, "Device", "DeviceName").unwrap();
    recorder.pump();
    let answers: Vec<IasValue> = recorder
        .pc_events
        .drain(..)
        .map(|event| match event {
            LmpEvent::IasAnswer {
                result: Ok(entries),
                ..
            } => entries[0].value.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        answers,
        vec![
            IasValue::Integer(OBEX_LSAP.into()),
            IasValue::Integer(IRCOMM_LSAP.into()),
            IasValue::ascii("phone")
        ]
    );
    let ias_frames = recorder.frames.len();

    // OBEX over TinyTP with segmentation: a CONNECT split over PDUs of 8 bytes.
    let segment = 8;
    let obex_config = TtpConfig {
        initial_credit: 2,
        max_sdu_size: 0x400,
        ..TtpConfig::new(segment)
    };
    let (mut pc_obex, mut phone_obex) =
        connect_tinytp(&mut recorder, OBEX_LSAP, obex_config.clone());
    let connect = vec![
        0x80, 0x00, 0x0c, 0x10, 0x00, 0x04, 0x00, 0x46, 0x00, 0x03, 0x01, 0x02,
    ];
    pc_obex.1.send_sdu(connect.clone()).unwrap();
    let (_, phone_got) = exchange(&mut recorder, &mut pc_obex, &mut phone_obex, 0);
    assert_eq!(phone_got, vec![connect]);
    let obex_frames = recorder.frames.len();

    // IrCOMM over TinyTP without segmentation, credits running out and coming back.
    let ircomm_config = TtpConfig {
        initial_credit: 1,
        ..TtpConfig::new(TtpConfig::segment_size_for_link(LINK_DATA_SIZE))
    };
    let (mut pc_comm, mut phone_comm) = connect_tinytp(&mut recorder, IRCOMM_LSAP, ircomm_config);
    for line in [&b"ATZ\r"[..], b"AT+CGMI\r", b"AT+CGMM\r"] {
        // IrCOMM's own header: no control parameters (length 0), then the data.
        pc_comm.1.send_sdu([&[0x00][..], line].concat()).unwrap();
    }
    phone_comm.1.send_sdu(b"\x00OK\r\n".to_vec()).unwrap();
    let (pc_got, phone_got) = exchange(&mut recorder, &mut pc_comm, &mut phone_comm, 3);
    assert_eq!(phone_got.len(), 3);
    assert_eq!(pc_got, vec![b"\x00OK\r\n".to_vec()]);
    recorder
        .pc
        .disconnect(pc_comm.0, DisconnectReason::UserRequest)
        .unwrap();
    recorder
        .pc
        .disconnect(pc_obex.0, DisconnectReason::UserRequest)
        .unwrap();
    recorder.pump();

    let mut capture = Capture::new();
    let start = Duration::from_secs(1_700_000_000);
    for (index, (direction, frame)) in recorder.frames.iter().enumerate() {
        capture.push(
            start + Duration::from_millis(20 * index as u64),
            *direction,
            frame,
        );
    }
    let path = std::env::temp_dir().join(format!(
        "handsync-irda-lmp-oracle-{}.pcap",
        std::process::id()
    ));
    std::fs::write(&path, capture.bytes()).expect("write capture");
    let verbose = tshark(&path, &["-V"]);
    let flagged = tshark(
        &path,
        &["-Y", "_ws.malformed || _ws.expert.severity >= warning"],
    );
    let _ = std::fs::remove_file(&path);

    let problems = tshark_problems(&verbose);
    assert!(problems.is_empty(), "{problems:#?}\n{verbose}");
    assert!(flagged.trim().is_empty(), "{flagged}");
    let layers = tshark_frame_layers(&verbose);
    assert_eq!(layers.len(), recorder.frames.len());
    let has = |index: usize, layer: &str| layers[index].iter().any(|found| found == layer);
    for (index, found) in layers.iter().enumerate().skip(setup_frames) {
        assert!(has(index, LMP), "frame {}: {found:?}", index + 1);
    }
    // the IAS conversation: connect and confirm, then queries and answers
    let iap_frames = (setup_frames..ias_frames).filter(|&i| has(i, IAP)).count();
    assert_eq!(iap_frames, 6, "{:?}", &layers[setup_frames..ias_frames]);
    // every PDU on the IrCOMM connection after its connect decodes as TinyTP
    let ttp_frames = (obex_frames..recorder.frames.len())
        .filter(|&i| has(i, TTP))
        .count();
    assert!(ttp_frames >= 6, "{:?}", &layers[obex_frames..]);
    for decoded in [
        "Class Name: OBEX",
        "Class Name: IrDA:IrCOMM",
        "IrDA:TinyTP:LsapSel",
        "Value: 5",
        "Value: 6",
        "Connect Command",
        "Connect Confirm",
        "User Request",
        "Initial Credit: 1",
        "More Bit: Not set",
        "Delta Credit: 1",
    ] {
        assert!(
            verbose.contains(decoded),
            "{decoded} not decoded:\n{verbose}"
        );
    }
}
